//! The Overview dashboard: cards with their change against the previous period, charts of
//! tokens, cost, models and providers, and the latest calls; live over the `calls` topic.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::budgets::BudgetsCard;

use crate::{
    analytics::{apply_call, follow_now},
    api::{self, live},
    charts::{self, ModelMetric},
    components::{
        chart::{EChart, Palette},
        load::{Load, LoadStatus},
        range::{Range, RangePicker},
    },
    format,
    types::{change, live::CallsTopic, Call, Overview},
};

/// Whether a rise is good news (requests), bad news (latency, errors, cost) or neither.
#[derive(Clone, Copy, PartialEq)]
enum Direction {
    UpIsGood,
    UpIsBad,
}

#[component]
fn StatCard(
    id: &'static str,
    label: &'static str,
    value: Signal<String>,
    change: Signal<Option<f64>>,
    direction: Direction,
    #[prop(optional)] hint: &'static str,
) -> impl IntoView {
    let badge = move || {
        let Some(c) = change.get() else {
            return view! { <span class="muted">"No data in the previous period"</span> }
                .into_any();
        };
        {
            let up = c >= 0.0;
            let class = match (up, direction, c.abs() < 0.005) {
                (_, _, true) => "delta",
                (true, Direction::UpIsGood, _) | (false, Direction::UpIsBad, _) => {
                    "delta delta-good"
                }
                _ => "delta delta-bad",
            };
            view! {
                <span class=class title="Change against the previous period of equal length">
                    <span aria-hidden="true">{if up { "▲ " } else { "▼ " }}</span>
                    {format::change(c)}
                    <span class="visually-hidden">" against the previous period"</span>
                </span>
            }
            .into_any()
        }
    };
    view! {
        <section class="card stat" data-testid=id aria-labelledby=format!("{id}-label")>
            <h2 class="stat-label" id=format!("{id}-label")>{label}</h2>
            <p class="stat-value">{move || value.get()}</p>
            <p class="stat-foot">
                {badge}
                {(!hint.is_empty()).then(|| view! { <span class="muted">{hint}</span> })}
            </p>
        </section>
    }
}

/// Rows of the recent-calls table kept in memory.
const RECENT_ROWS: usize = 500;
const ROW_HEIGHT: f64 = 40.0;
const VIEWPORT_ROWS: usize = 10;

/// The latest calls in a fixed-height box that only renders the rows in view, so it stays
/// smooth however many arrive.
#[component]
fn RecentCalls(calls: RwSignal<Vec<Call>>) -> impl IntoView {
    let scroll = RwSignal::new(0.0f64);
    let window = move || {
        let first = (scroll.get() / ROW_HEIGHT).floor().max(0.0) as usize;
        calls.with(|c| {
            let end = (first + VIEWPORT_ROWS + 4).min(c.len());
            (first.min(end), c[first.min(end)..end].to_vec())
        })
    };
    view! {
        <div class="vtable" role="table" aria-label="Recent calls" aria-rowcount=move || calls.with(Vec::len) + 1>
            <div class="vrow vhead" role="row">
                <span role="columnheader">"Time"</span>
                <span role="columnheader">"Model"</span>
                <span role="columnheader">"Status"</span>
                <span role="columnheader" class="num">"Latency"</span>
                <span role="columnheader" class="num">"Tokens"</span>
                <span role="columnheader" class="num">"Cost"</span>
            </div>
            <Show
                when=move || calls.with(|c| !c.is_empty())
                fallback=|| view! { <p class="muted vempty">"No calls in this range yet."</p> }
            >
                <div
                    class="vbody"
                    style=format!("height:{}px", ROW_HEIGHT as usize * VIEWPORT_ROWS)
                    on:scroll=move |ev| {
                        let top = event_target::<leptos::web_sys::Element>(&ev).scroll_top();
                        scroll.set(f64::from(top));
                    }
                >
                    <div
                        class="vspace"
                        style=move || format!("height:{}px", calls.with(Vec::len) as f64 * ROW_HEIGHT)
                    >
                        {move || {
                            let (first, rows) = window();
                            rows.into_iter()
                                .enumerate()
                                .map(|(i, c)| {
                                    let top = (first + i) as f64 * ROW_HEIGHT;
                                    let status = c.status.as_str();
                                    view! {
                                        <div
                                            class="vrow"
                                            role="row"
                                            aria-rowindex=first + i + 2
                                            style=format!("top:{top}px")
                                        >
                                            <span role="cell" class="mono">
                                                {c.time.format("%m-%d %H:%M:%S").to_string()}
                                            </span>
                                            <span role="cell" class="ellipsis" title=c.model.clone()>
                                                {c.model.clone()}
                                            </span>
                                            <span role="cell">
                                                <span class=format!("badge badge-{status}")>{status}</span>
                                            </span>
                                            <span role="cell" class="num">{format::millis(c.duration_ms)}</span>
                                            <span role="cell" class="num">
                                                {format::count(c.input_tokens + c.output_tokens)}
                                            </span>
                                            <span role="cell" class="num">
                                                {format::usd_micros(c.cost_total_micros)}
                                            </span>
                                        </div>
                                    }
                                })
                                .collect_view()
                        }}
                    </div>
                </div>
            </Show>
        </div>
    }
}

#[component]
pub fn OverviewPage() -> impl IntoView {
    let url = use_query_map();
    let range = Signal::derive(move || url.with(|m| Range::from_query(|k| m.get_str(k))));
    let data = RwSignal::new(None::<Overview>);
    let recent = RwSignal::new(Vec::<Call>::new());
    let load = RwSignal::new(Load::Loading);
    let metric = RwSignal::new(ModelMetric::LatencyP95);

    let fetch = move || {
        let r = range.get_untracked();
        spawn_local(async move {
            let params = r.api_params();
            let ov = api::overview(params).await;
            let calls = api::recent_calls(200).await;
            match ov {
                Ok(ov) => {
                    let (from, to) = (ov.from, ov.to);
                    data.set(Some(ov));
                    if let Ok(page) = calls {
                        recent.set(
                            page.calls
                                .into_iter()
                                .filter(|c| c.time >= from && c.time < to)
                                .collect(),
                        );
                    }
                    load.set(Load::Ready);
                }
                Err(e) => load.set(Load::Failed(e.message().to_owned())),
            }
        });
    };
    // In the browser: fetch whenever the URL's range changes...
    Effect::new(move |_| {
        range.track();
        load.set(Load::Loading);
        fetch();
    });
    // ...and fold live calls in for as long as the page is open.
    Effect::new(move |_| {
        live::subscribe::<CallsTopic>(move |msg| match msg {
            live::LiveMessage::Data(calls) => {
                let ends_now = range.get_untracked().ends_now();
                let mut shown = Vec::new();
                data.update(|d| {
                    if let Some(ov) = d {
                        for c in &calls {
                            if ends_now {
                                follow_now(ov, c.time);
                            }
                            if apply_call(ov, c) {
                                shown.push(c.clone());
                            }
                        }
                    }
                });
                if !shown.is_empty() {
                    shown.sort_by_key(|c| std::cmp::Reverse(c.time));
                    recent.update(|r| {
                        shown.append(r);
                        shown.truncate(RECENT_ROWS);
                        *r = shown;
                    });
                }
            }
            live::LiveMessage::Resync => fetch(),
        });
    });

    let figure = move |f: fn(&Overview) -> String| {
        Signal::derive(move || data.with(|d| d.as_ref().map_or_else(|| "—".to_owned(), f)))
    };
    let delta = move |f: fn(&crate::types::Figures) -> f64| {
        Signal::derive(move || {
            data.with(|d| {
                d.as_ref()
                    .and_then(|ov| change(f(&ov.totals), f(&ov.previous)))
            })
        })
    };
    let empty = move || data.with(|d| d.as_ref().is_some_and(|ov| ov.totals.requests == 0));
    let chart_label = move |what: &'static str| {
        Signal::derive(move || format!("{what}, {}", range.get().describe().to_lowercase()))
    };
    let with_data = move |f: fn(&Overview, &Palette) -> charming::Chart| {
        move |p: &Palette| {
            data.with(|d| match d {
                Some(ov) => f(ov, p),
                None => charming::Chart::new(),
            })
        }
    };

    view! {
        <Title text="Overview" />
        <div class="page-header page-header-row">
            <div>
                <h1>"Overview"</h1>
                <p class="muted">
                    {move || range.get().describe()}
                    {move || data.with(|d| d.as_ref().map(|ov| format!(" · per {} · {}", ov.bucket.as_str(), ov.tz)))}
                    " · "
                    <span class="live-dot" aria-hidden="true"></span>
                    " live"
                </p>
            </div>
            <RangePicker range />
        </div>
        <LoadStatus load what="figures" retry=Callback::new(move |_| fetch()) />
        <Show when=empty>
            <section class="card empty-state">
                <h2>"No calls in this range"</h2>
                <p class="muted">
                    "Send calls with an API key (" <a href="/settings/api-keys">"create one"</a>
                    "), point an OpenAI-compatible client at " <code>"/proxy/<provider>/v1"</code>
                    ", or fill a demo with " <code>"sightline seed-demo"</code> "."
                </p>
            </section>
        </Show>
        <div class="stat-grid">
            <StatCard
                id="card-requests"
                label="Requests"
                value=figure(|ov| format::count(ov.totals.requests as i64))
                change=delta(|f| f.requests as f64)
                direction=Direction::UpIsGood
            />
            <StatCard
                id="card-tokens"
                label="Tokens"
                value=figure(|ov| format::compact(ov.totals.total_tokens as f64))
                change=delta(|f| f.total_tokens as f64)
                direction=Direction::UpIsGood
            />
            <StatCard
                id="card-cost"
                label="Cost"
                value=figure(|ov| format::usd_micros(Some(ov.totals.cost_micros)))
                change=delta(|f| f.cost_micros as f64)
                direction=Direction::UpIsBad
            />
            <StatCard
                id="card-latency"
                label="Avg response time"
                value=figure(|ov| ov.totals.avg_latency_ms.map_or_else(|| "—".to_owned(), format::millis))
                change=delta(|f| f.avg_latency_ms.unwrap_or(0.0))
                direction=Direction::UpIsBad
            />
            <StatCard
                id="card-errors"
                label="Error rate"
                value=figure(|ov| format::percent(ov.totals.error_rate))
                change=delta(|f| f.error_rate)
                direction=Direction::UpIsBad
            />
        </div>
        <BudgetsCard />
        <div class="chart-grid">
            <section class="card chart-card">
                <h2>"Tokens over time"</h2>
                <EChart id="chart-tokens" label=chart_label("Input, output and total tokens over time, with the total's usual band") option=with_data(charts::tokens_over_time) />
            </section>
            <section class="card chart-card">
                <h2>"Cost over time"</h2>
                <EChart id="chart-cost" label=chart_label("Cost in US dollars over time, with its usual band") option=with_data(charts::cost_over_time) />
            </section>
            <section class="card chart-card">
                <h2>"Latency p95 over time"</h2>
                <EChart id="chart-latency" label=chart_label("95th percentile latency in milliseconds over time, with its usual band") option=with_data(charts::latency_over_time) />
            </section>
            <section class="card chart-card">
                <h2>"Error rate over time"</h2>
                <EChart id="chart-errors" label=chart_label("Error rate in percent over time, with its usual band") option=with_data(charts::errors_over_time) />
            </section>
            <section class="card chart-card chart-wide">
                <div class="card-head">
                    <h2>"Model comparison"</h2>
                    <div class="segmented" role="group" aria-label="Model metric">
                        {ModelMetric::ALL
                            .into_iter()
                            .map(|m| view! {
                                <button
                                    type="button"
                                    class:active=move || metric.get() == m
                                    aria-pressed=move || (metric.get() == m).to_string()
                                    on:click=move |_| metric.set(m)
                                >
                                    {m.label()}
                                </button>
                            })
                            .collect_view()}
                    </div>
                </div>
                <EChart
                    id="chart-models"
                    label=Signal::derive(move || format!("{} per model", metric.get().label()))
                    option=move |p| {
                        let m = metric.get();
                        data.with(|d| d.as_ref().map_or_else(charming::Chart::new, |ov| charts::model_comparison(ov, m, p)))
                    }
                />
            </section>
            <section class="card chart-card">
                <h2>"Requests by provider"</h2>
                <EChart id="chart-provider-requests" label=chart_label("Share of requests per provider") option=with_data(charts::requests_by_provider) />
            </section>
            <section class="card chart-card">
                <h2>"Cost by provider"</h2>
                <EChart id="chart-provider-cost" label=chart_label("Share of cost per provider") option=with_data(charts::cost_by_provider) />
            </section>
            <section class="card chart-card">
                <h2>"Speed vs quality"</h2>
                <EChart id="chart-quality" label=chart_label("Output tokens per second against average quality score, per model") option=with_data(charts::speed_vs_quality) />
            </section>
            <section class="card chart-card">
                <div class="card-head">
                    <h2>"Recent calls"</h2>
                    <a href="/calls">"All calls →"</a>
                </div>
                <RecentCalls calls=recent />
            </section>
        </div>
    }
}
