//! The model health page (`/ai/models`): per model over the range, context-window use,
//! prompt-cache hit rate, speed, time to first token, quality and rating, each with its
//! drift against the baseline before the range; charts for the model picked.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    api, charts,
    components::{
        chart::{EChart, Palette},
        layout::AiTabs,
        load::{Load, LoadStatus},
        range::{Range, RangePicker, HEALTH_PRESETS},
    },
    format,
    pages::gpu_use::GpuUse,
    types::models::{DriftFinding, ModelHealth, ModelHealthOverview},
};

/// Baselines offered; drift is judged against the chosen one.
const BASELINES: &[(&str, &str)] = &[
    ("1d", "the day before"),
    ("7d", "the 7 days before"),
    ("30d", "the 30 days before"),
];

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{:.1} %", v * 100.0))
}

fn metric_title(m: &str) -> &'static str {
    match m {
        "quality" => "Quality",
        "rating" => "Rating",
        "tokens_per_second" => "Speed",
        "ttft_p95_ms" => "TTFT p95",
        "cache_hit_rate" => "Cache hits",
        _ => "Metric",
    }
}

fn drift_text(d: &DriftFinding) -> String {
    let arrow = if d.change >= 0.0 { "↑" } else { "↓" };
    format!(
        "{} {arrow} {:.0} % ({} → {})",
        metric_title(&d.metric),
        d.change.abs() * 100.0,
        format::plain_number(d.baseline),
        format::plain_number(d.recent)
    )
}

#[component]
fn DriftBadges(drift: Vec<DriftFinding>) -> impl IntoView {
    let drifted: Vec<DriftFinding> = drift.into_iter().filter(|d| d.drifted).collect();
    if drifted.is_empty() {
        return view! { <span class="badge badge-ok">"steady"</span> }.into_any();
    }
    view! {
        <span class="badges">
            {drifted
                .iter()
                .map(|d| view! { <span class="badge badge-warn" data-testid="drift">{drift_text(d)}</span> })
                .collect_view()}
        </span>
    }
    .into_any()
}

#[component]
pub fn ModelsPage() -> impl IntoView {
    let url = use_query_map();
    let range = Signal::derive(move || {
        url.with(|m| Range::from_query_in(HEALTH_PRESETS, "24h", |k| m.get_str(k)))
    });
    let baseline = RwSignal::new("7d".to_owned());
    let picked = RwSignal::new(None::<String>);
    let data = RwSignal::new(None::<ModelHealthOverview>);
    let load = RwSignal::new(Load::Loading);

    let fetch = move || {
        let mut params = match range.get_untracked() {
            Range::Preset(p) => vec![("range", p)],
            Range::Days { .. } => vec![("range", "24h".to_owned())],
        };
        params.push(("baseline", baseline.get_untracked()));
        spawn_local(async move {
            match api::model_health(params).await {
                Ok(d) => {
                    data.set(Some(d));
                    load.set(Load::Ready);
                }
                Err(e) => load.set(Load::Failed(e.message().to_owned())),
            }
        });
    };
    Effect::new(move |_| {
        range.track();
        baseline.track();
        load.set(Load::Loading);
        fetch();
    });

    // The model the charts show: the one picked, else the busiest.
    let shown = Memo::new(move |_| {
        data.with(|d| {
            let d = d.as_ref()?;
            let key = picked.get();
            d.models
                .iter()
                .find(|m| key.as_deref() == Some(&format!("{}/{}", m.provider, m.model)))
                .or_else(|| d.models.first())
                .cloned()
        })
    });
    let span = move || {
        data.with(|d| {
            d.as_ref().map_or((0.0, 0.0), |d| {
                (
                    d.from.timestamp_millis() as f64,
                    d.to.timestamp_millis() as f64,
                )
            })
        })
    };
    let chart = move |f: fn(&ModelHealth, (f64, f64), &Palette) -> charming::Chart| {
        move |p: &Palette| {
            shown.with(|m| {
                m.as_ref()
                    .map(|m| f(m, span(), p))
                    .unwrap_or_else(charming::Chart::new)
            })
        }
    };
    let label = move |what: &'static str| {
        Signal::derive(move || {
            let model = shown.with(|m| m.as_ref().map(|m| m.model.clone()).unwrap_or_default());
            format!(
                "{what} of {model}, {}",
                range.get().describe().to_lowercase()
            )
        })
    };
    let ready = move || load.get().is_ready() || data.with(Option::is_some);
    let preset = Signal::derive(move || match range.get() {
        Range::Preset(p) => p,
        Range::Days { .. } => "24h".to_owned(),
    });
    let empty = move || data.with(|d| d.as_ref().is_some_and(|d| d.models.is_empty()));
    let baseline_text = move || {
        let b = baseline.get();
        BASELINES
            .iter()
            .find(|(k, _)| *k == b)
            .map_or("the baseline", |(_, l)| l)
    };

    view! {
        <Title text="Model health" />
        <AiTabs />
        <div class="page-header page-header-row">
            <div>
                <h1>"Model health"</h1>
                <p class="muted">
                    {move || range.get().describe()} " · drift against " {baseline_text}
                </p>
            </div>
            <div class="toolbar">
                <label class="host-picker">
                    <span class="muted">"Baseline"</span>
                    <select
                        aria-label="Baseline"
                        data-testid="baseline-picker"
                        prop:value=move || baseline.get()
                        on:change=move |ev| baseline.set(event_target_value(&ev))
                    >
                        {BASELINES.iter().map(|(k, l)| view! { <option value=*k>{*l}</option> }).collect_view()}
                    </select>
                </label>
                <RangePicker range presets=HEALTH_PRESETS days=false />
            </div>
        </div>
        <LoadStatus load what="model health" retry=Callback::new(move |_| fetch()) />
        <Show when=ready>
            <Show
                when=move || !empty()
                fallback=|| view! {
                    <section class="card empty-state" data-testid="no-models">
                        <p>"No model answered a call in this range."</p>
                        <p class="muted">"Calls recorded through the API, OTLP or the proxy show here per model."</p>
                    </section>
                }
            >
                <section class="card" data-testid="models-table">
                    <div class="card-head">
                        <h2>"Models"</h2>
                        <span class="muted">"select a model for its charts"</span>
                    </div>
                    <div class="table-wrap">
                        <table class="table">
                            <thead><tr>
                                <th scope="col">"Model"</th>
                                <th scope="col" class="num">"Calls"</th>
                                <th scope="col" class="num">"Context used"</th>
                                <th scope="col" class="num">"Cache hits"</th>
                                <th scope="col" class="num">"Tokens/s"</th>
                                <th scope="col" class="num">"TTFT p95"</th>
                                <th scope="col" class="num">"Quality"</th>
                                <th scope="col" class="num">"Rating"</th>
                                <th scope="col">"Drift"</th>
                            </tr></thead>
                            <tbody>
                                {move || data.with(|d| d.as_ref().map(|d| d.models.clone()).unwrap_or_default())
                                    .into_iter()
                                    .map(|m| {
                                        let key = format!("{}/{}", m.provider, m.model);
                                        let k2 = key.clone();
                                        let selected = Signal::derive(move || shown.with(|s| s.as_ref().is_some_and(|s| format!("{}/{}", s.provider, s.model) == k2)));
                                        let window = m.context_window.map(|w| format!("of {} tokens", format::count(w))).unwrap_or_else(|| "window unknown".into());
                                        view! {
                                            <tr data-testid="model-row" class:selected=selected>
                                                <td data-label="Model">
                                                    <button type="button" class="link-button"
                                                        aria-pressed=move || selected.get().to_string()
                                                        on:click=move |_| picked.set(Some(key.clone()))>
                                                        {m.model.clone()}
                                                    </button>
                                                    <span class="muted">" · " {m.provider.clone()}</span>
                                                </td>
                                                <td class="num" data-label="Calls">{format::count(m.requests as i64)}</td>
                                                <td class="num" data-label="Context used" title=window>{pct(m.context_use)}</td>
                                                <td class="num" data-label="Cache hits" data-testid="cache-hit-rate">{pct(m.cache_hit_rate)}</td>
                                                <td class="num" data-label="Tokens/s">{m.tokens_per_second.map_or_else(|| "—".into(), |v| format!("{v:.1}"))}</td>
                                                <td class="num" data-label="TTFT p95">{m.ttft_p95_ms.map_or_else(|| "—".into(), format::latency)}</td>
                                                <td class="num" data-label="Quality">{m.avg_quality.map_or_else(|| "—".into(), |v| format!("{v:.1}"))}</td>
                                                <td class="num" data-label="Rating">{m.avg_rating.map_or_else(|| "—".into(), |v| format!("{v:.2} ({})", m.rated_calls))}</td>
                                                <td data-label="Drift">
                                                    <DriftBadges drift=m.drift.clone() />
                                                    {(m.ttft_anomalies > 0).then(|| view! {
                                                        <span class="badge badge-error" data-testid="ttft-anomalies">
                                                            {format!("{} unusual TTFT", m.ttft_anomalies)}
                                                        </span>
                                                    })}
                                                </td>
                                            </tr>
                                        }
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                    </div>
                </section>
                <h2 class="section-title">{move || shown.with(|m| m.as_ref().map(|m| format!("{} · {}", m.model, m.provider)).unwrap_or_default())}</h2>
                <div class="chart-grid">
                    <section class="card chart-card">
                        <h2>"Cache hits and context use"</h2>
                        <EChart id="chart-model-cache" label=label("Prompt-cache hit rate and context-window use in percent") option=chart(charts::model_cache) />
                    </section>
                    <section class="card chart-card">
                        <h2>"Time to first token"</h2>
                        <EChart id="chart-model-ttft" label=label("Time to first token, p50 and p95, in milliseconds") option=chart(charts::model_ttft) />
                    </section>
                    <section class="card chart-card">
                        <h2>"Output speed"</h2>
                        <EChart id="chart-model-speed" label=label("Output tokens per second") option=chart(charts::model_speed) />
                    </section>
                    <section class="card chart-card">
                        <h2>"Quality and rating"</h2>
                        <EChart id="chart-model-quality" label=label("Mean quality score and user rating scaled to 100") option=chart(charts::model_quality) />
                    </section>
                </div>
            </Show>
            <GpuUse range=preset />
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_reads_as_a_direction_and_a_change() {
        let d = DriftFinding {
            metric: "quality".into(),
            baseline: 90.0,
            recent: 72.0,
            change: -0.2,
            z: -9.0,
            drifted: true,
        };
        assert_eq!(drift_text(&d), "Quality ↓ 20 % (90 → 72)");
        assert_eq!(pct(Some(0.753)), "75.3 %");
        assert_eq!(pct(None), "—");
    }
}
