//! Alerts: what fires now, every rule with its state, the one-minute rule form (the metrics
//! that exist, with units and current values), silences, and one rule's page with its
//! metric's last hour against the threshold and its history.

use leptos::{ev::SubmitEvent, prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::{
    alert_form::{RuleFormValues, LABELS},
    api::{self, live},
    charts,
    components::chart::EChart,
    format,
    types::{
        alert::{
            Alert, AlertEvent, AlertRule, AlertState, Channel, Comparator, Labels, MetricInfo,
            RuleKind, RuleSeries, Severity, Silence, SilenceInput,
        },
        live::AlertsTopic,
    },
};

pub fn when(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

pub fn labels_text(l: &Labels) -> String {
    if l.is_empty() {
        return "all".into();
    }
    l.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn state_badge(s: AlertState) -> impl IntoView {
    let (class, text) = match s {
        AlertState::Firing => ("badge badge-error", "firing"),
        AlertState::Pending => ("badge badge-warn", "pending"),
        AlertState::NoData => ("badge badge-muted", "no data"),
        AlertState::Resolved => ("badge badge-ok", "resolved"),
        AlertState::Inactive => ("badge badge-ok", "ok"),
    };
    view! { <span class=class>{text}</span> }
}

pub fn severity_badge(s: Severity) -> impl IntoView {
    let class = match s {
        Severity::Critical => "badge badge-error",
        Severity::Warning => "badge badge-warn",
        Severity::Info => "badge badge-muted",
    };
    view! { <span class=class>{s.as_str()}</span> }
}

/// The worst state among a rule's alerts.
fn rule_state(r: &AlertRule) -> AlertState {
    let has = |s: AlertState| r.alerts.iter().any(|a| a.state == s);
    if has(AlertState::Firing) {
        AlertState::Firing
    } else if has(AlertState::Pending) {
        AlertState::Pending
    } else if !r.alerts.is_empty() && r.alerts.iter().all(|a| a.state == AlertState::NoData) {
        AlertState::NoData
    } else {
        AlertState::Inactive
    }
}

fn condition(r: &AlertRule, unit: &str) -> String {
    let for_ = if r.for_ == "0s" {
        String::new()
    } else {
        format!(", for {}", r.for_)
    };
    let agg = r.aggregation.as_str();
    let baseline = r.baseline.clone().unwrap_or_default();
    match r.kind {
        RuleKind::Threshold => format!(
            "{agg} {} {} {unit} over {}{for_}",
            r.comparator.as_str(),
            format::plain_number(r.threshold),
            r.window,
        ),
        RuleKind::Anomaly => format!(
            "{agg} over {} {} its usual band ({} MADs of the last {baseline}){for_}",
            r.window,
            if matches!(r.comparator, Comparator::Gt | Comparator::Ge) {
                "above"
            } else {
                "below"
            },
            format::plain_number(r.threshold),
        ),
        RuleKind::Forecast => format!(
            "{agg} over {} predicted {} {} {unit} within {} (trend of the last {baseline}){for_}",
            r.window,
            r.comparator.as_str(),
            format::plain_number(r.threshold),
            r.horizon.clone().unwrap_or_default(),
        ),
    }
}

type Loaded<T> = RwSignal<Option<Result<T, String>>>;

fn loader<T: Send + Sync + 'static, F>(
    load: impl Fn() -> F + Copy + Send + Sync + 'static,
) -> (Loaded<T>, Callback<()>)
where
    F: std::future::Future<Output = api::ApiResult<T>> + 'static,
{
    let data: Loaded<T> = RwSignal::new(None);
    let fetch = Callback::new(move |_| {
        spawn_local(async move {
            data.set(Some(load().await.map_err(|e| e.message().to_owned())));
        });
    });
    (data, fetch)
}

#[component]
pub fn AlertsPage() -> impl IntoView {
    let (rules, fetch_rules) = loader(api::alerts::rules);
    let (metrics, fetch_metrics) = loader(api::alerts::metrics);
    let (channels, fetch_channels) = loader(api::alerts::channels);
    let (silences, fetch_silences) = loader(api::alerts::silences);
    Effect::new(move |_| {
        fetch_rules.run(());
        fetch_metrics.run(());
        fetch_channels.run(());
        fetch_silences.run(());
        live::subscribe::<AlertsTopic>(move |_| fetch_rules.run(()));
    });
    let form = RwSignal::new(RuleFormValues::default());
    let editing = RwSignal::new(None::<i64>);
    let notice = RwSignal::new(None::<String>);
    let page_error = RwSignal::new(None::<String>);
    let confirming = RwSignal::new(None::<i64>);
    let unit_of = move |metric: &str| {
        metrics.with(|m| match m {
            Some(Ok(list)) => list
                .iter()
                .find(|x| x.name == metric)
                .map(|x| x.unit.clone())
                .unwrap_or_default(),
            _ => String::new(),
        })
    };
    let edit = Callback::new(move |r: AlertRule| {
        form.set(RuleFormValues::from_rule(&r));
        editing.set(Some(r.id));
        notice.set(None);
        #[cfg(feature = "hydrate")]
        if let Some(el) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id("rule-name"))
        {
            use wasm_bindgen::JsCast;
            if let Ok(input) = el.dyn_into::<web_sys::HtmlElement>() {
                let _ = input.focus();
            }
        }
    });
    let remove = Callback::new(move |id: i64| {
        spawn_local(async move {
            match api::alerts::delete_rule(id).await {
                Ok(r) => {
                    confirming.set(None);
                    notice.set(Some(format!("Rule “{}” deleted.", r.name)));
                    fetch_rules.run(());
                }
                Err(e) => page_error.set(Some(format!("Could not delete: {}", e.message()))),
            }
        });
    });

    view! {
        <Title text="Alerts" />
        <div class="page-header page-header-row">
            <div>
                <h1>"Alerts"</h1>
                <p class="muted">
                    "Rules over system, LLM and budget metrics, evaluated like Prometheus: pending for their "
                    <code>"for"</code> " time, then firing; resolved when the condition stops. "
                    <a href="/alerts/history">"History"</a> " · " <a href="/settings/channels">"Channels"</a>
                </p>
            </div>
            <span class="live-badge"><span class="live-dot" aria-hidden="true"></span>" live"</span>
        </div>
        {move || notice.get().map(|n| view! { <p class="alert alert-ok" role="status">{n}</p> })}
        {move || page_error.get().map(|e| view! { <p class="alert alert-error" role="alert">{e}</p> })}

        <section class="card" aria-labelledby="active-title">
            <h2 id="active-title">"Firing and pending"</h2>
            {move || match rules.get() {
                None => view! { <p class="muted" aria-busy="true">"Loading alerts…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="alert alert-error" role="alert">"Could not load alerts: " {e}</p> }.into_any(),
                Some(Ok(list)) => {
                    let active: Vec<(AlertRule, Alert)> = list
                        .iter()
                        .flat_map(|r| r.alerts.iter().filter(|a| matches!(a.state, AlertState::Firing | AlertState::Pending)).map(move |a| (r.clone(), a.clone())))
                        .collect();
                    if active.is_empty() {
                        view! { <p class="empty" id="no-active">"Nothing is firing. All rules are quiet."</p> }.into_any()
                    } else {
                        view! {
                            <div class="table-wrap"><table class="table" id="active-alerts">
                                <thead><tr><th>"State"</th><th>"Rule"</th><th>"Labels"</th><th class="num">"Value"</th><th>"Since"</th></tr></thead>
                                <tbody>
                                    {active.into_iter().map(|(r, a)| {
                                        let unit = unit_of(&r.metric);
                                        view! {
                                            <tr>
                                                <td>{state_badge(a.state)} " " {severity_badge(r.severity)} {a.silenced.then(|| view! { " " <span class="badge badge-muted">"silenced"</span> })}</td>
                                                <td><a href=format!("/alerts/rules/{}", r.id)>{r.name.clone()}</a></td>
                                                <td class="mono">{labels_text(&a.labels)}</td>
                                                <td class="num">{a.value.map(|v| format::with_unit(v, &unit)).unwrap_or_else(|| "—".into())}</td>
                                                <td>{a.active_since.map(|t| when(&t)).unwrap_or_default()}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table></div>
                        }.into_any()
                    }
                }
            }}
        </section>

        <section class="card" aria-labelledby="rules-title">
            <h2 id="rules-title">"Rules"</h2>
            {move || match rules.get() {
                None => view! { <p class="muted" aria-busy="true">"Loading rules…"</p> }.into_any(),
                Some(Err(e)) => view! {
                    <div class="alert alert-error" role="alert">
                        <span>"Could not load rules: " {e}</span>
                        <button type="button" class="button" on:click=move |_| fetch_rules.run(())>"Retry"</button>
                    </div>
                }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <p class="empty">"No rules. Create one below."</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <div class="table-wrap"><table class="table" id="rules">
                        <thead><tr><th>"Rule"</th><th>"Metric"</th><th>"Condition"</th><th>"Severity"</th><th>"State"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                        <tbody>
                            {list.into_iter().map(|r| {
                                let unit = unit_of(&r.metric);
                                let id = r.id;
                                let state = rule_state(&r);
                                let cond = condition(&r, &unit);
                                let for_edit = r.clone();
                                view! {
                                    <tr class:muted=!r.enabled>
                                        <td><a href=format!("/alerts/rules/{id}")>{r.name.clone()}</a>{(!r.labels.is_empty()).then(|| view! { <div class="sub mono">{labels_text(&r.labels)}</div> })}</td>
                                        <td class="mono">{r.metric.clone()}</td>
                                        <td>{cond}</td>
                                        <td>{severity_badge(r.severity)}</td>
                                        <td>{if r.enabled { state_badge(state).into_any() } else { view! { <span class="badge badge-muted">"disabled"</span> }.into_any() }}</td>
                                        <td class="actions"><div class="confirm">
                                            <button type="button" class="button button-ghost" on:click=move |_| edit.run(for_edit.clone())>"Edit"</button>
                                            {move || if confirming.get() == Some(id) {
                                                view! {
                                                    <button type="button" class="button button-danger" on:click=move |_| remove.run(id)>"Delete"</button>
                                                    <button type="button" class="button button-ghost" on:click=move |_| confirming.set(None)>"Keep"</button>
                                                }.into_any()
                                            } else {
                                                view! { <button type="button" class="button button-danger-ghost" on:click=move |_| confirming.set(Some(id))>"Delete…"</button> }.into_any()
                                            }}
                                        </div></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table></div>
                }.into_any(),
            }}
        </section>

        <RuleForm form editing notice metrics channels on_saved=fetch_rules />
        <Silences silences rules on_change=fetch_silences />
    }
}

#[component]
fn RuleForm(
    form: RwSignal<RuleFormValues>,
    editing: RwSignal<Option<i64>>,
    notice: RwSignal<Option<String>>,
    metrics: Loaded<Vec<MetricInfo>>,
    channels: Loaded<Vec<Channel>>,
    on_saved: Callback<()>,
) -> impl IntoView {
    let field_error = RwSignal::new(None::<(String, String)>);
    let busy = RwSignal::new(false);
    let chosen = move || {
        let name = form.with(|f| f.metric.clone());
        metrics.with(|m| match m {
            Some(Ok(list)) => list.iter().find(|x| x.name == name).cloned(),
            _ => None,
        })
    };
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let input = match form.with_untracked(|f| f.to_input()) {
            Ok(i) => i,
            Err(e) => {
                field_error.set(Some(e));
                return;
            }
        };
        busy.set(true);
        let id = editing.get_untracked();
        spawn_local(async move {
            let r = match id {
                Some(id) => api::alerts::update_rule(id, input).await,
                None => api::alerts::create_rule(input).await,
            };
            busy.set(false);
            match r {
                Ok(rule) => {
                    field_error.set(None);
                    notice.set(Some(format!("Rule “{}” saved.", rule.name)));
                    editing.set(None);
                    form.set(RuleFormValues::default());
                    on_saved.run(());
                }
                Err(e) => field_error.set(Some((
                    e.body.field.clone().unwrap_or_default(),
                    e.message().to_owned(),
                ))),
            }
        });
    };
    let error_for = move |f: &'static str| {
        move || {
            field_error
                .get()
                .and_then(|(k, m)| (k == f || k.starts_with(&format!("{f}."))).then_some(m))
        }
    };
    let invalid = move |f: &'static str| {
        move || {
            field_error
                .get()
                .is_some_and(|(k, _)| k == f || k.starts_with(&format!("{f}.")))
                .to_string()
        }
    };
    let other_error = move || {
        field_error.get().and_then(|(f, m)| {
            let shown = [
                "name",
                "metric",
                "labels",
                "aggregation",
                "window",
                "comparator",
                "threshold",
                "kind",
                "baseline",
                "min_delta",
                "horizon",
                "for",
                "keep_firing_for",
                "severity",
                "repeat_interval",
                "message",
            ];
            (!shown
                .iter()
                .any(|s| f == *s || f.starts_with(&format!("{s}."))))
            .then_some(m)
        })
    };
    macro_rules! text_field {
        ($label:expr, $id:literal, $api:literal, $field:ident, $placeholder:expr) => {
            view! {
                <div class="field">
                    <label for=concat!("rule-", $id)>{$label}</label>
                    <input type="text" id=concat!("rule-", $id) placeholder=$placeholder
                        prop:value=move || form.with(|f| f.$field.clone())
                        on:input=move |ev| form.update(|f| f.$field = event_target_value(&ev))
                        aria-invalid=invalid($api)
                        aria-describedby=concat!("rule-", $id, "-error") />
                    <span class="field-error" id=concat!("rule-", $id, "-error") role="alert">{error_for($api)}</span>
                </div>
            }
        };
    }
    // Options carry `selected` for the server's HTML and `prop:selected` after hydration: the
    // attribute alone no longer moves a select a person has already changed (Edit).
    view! {
        <section class="card" aria-labelledby="rule-form-title">
            <h2 id="rule-form-title">{move || if editing.get().is_some() { "Edit rule" } else { "New rule" }}</h2>
            <form class="form" on:submit=on_submit novalidate>
                <div class="form-grid">
                    <div class="field field-wide">
                        <label for="rule-name">"Name"</label>
                        <input type="text" id="rule-name" placeholder="e.g. API hosts CPU high"
                            prop:value=move || form.with(|f| f.name.clone())
                            on:input=move |ev| form.update(|f| f.name = event_target_value(&ev))
                            aria-invalid=invalid("name") aria-describedby="rule-name-error" />
                        <span class="field-error" id="rule-name-error" role="alert">{error_for("name")}</span>
                    </div>
                    <div class="field field-wide">
                        <label for="rule-metric">"Metric"</label>
                        <select id="rule-metric"
                            on:change=move |ev| form.update(|f| { f.metric = event_target_value(&ev); f.aggregation.clear(); })
                            aria-invalid=invalid("metric") aria-describedby="rule-metric-error rule-metric-now">
                            {move || match metrics.get() {
                                Some(Ok(list)) => list.into_iter().map(|m| {
                                    let name = m.name.clone();
                                    let sel = move || form.with(|f| f.metric == name);
                                    let text = format!("{} — {}{}", m.title, m.name, if m.unit.is_empty() { String::new() } else { format!(" ({})", m.unit) });
                                    view! { <option value=m.name.clone() selected=sel.clone() prop:selected=sel>{text}</option> }
                                }).collect_view().into_any(),
                                _ => view! { <option value="system.cpu.utilization">"CPU utilisation — system.cpu.utilization (%)"</option> }.into_any(),
                            }}
                        </select>
                        <span class="hint" id="rule-metric-now">{move || chosen().map(|m| {
                            if m.current.is_empty() {
                                "No data for this metric yet.".to_owned()
                            } else {
                                let vals: Vec<String> = m.current.iter().take(4).map(|v| format!("{}: {}", labels_text(&v.labels), format::with_unit(v.value, &m.unit))).collect();
                                format!("Now: {}{}", vals.join(" · "), if m.current.len() > 4 { " …" } else { "" })
                            }
                        })}</span>
                        <span class="field-error" id="rule-metric-error" role="alert">{error_for("metric")}</span>
                    </div>
                    <div class="field">
                        <label for="rule-kind">"Kind"</label>
                        <select id="rule-kind" on:change=move |ev| form.update(|f| f.kind = event_target_value(&ev))
                            aria-invalid=invalid("kind") aria-describedby="rule-kind-error rule-kind-hint">
                            {[("threshold", "Threshold"), ("anomaly", "Anomaly: unusual for its history"), ("forecast", "Forecast: predicted to cross")].into_iter().map(|(v, t)| {
                                view! { <option value=v selected=move || form.with(|f| f.kind == v) prop:selected=move || form.with(|f| f.kind == v)>{t}</option> }
                            }).collect_view()}
                        </select>
                        <span class="hint" id="rule-kind-hint">{move || match form.with(|f| f.kind.clone()).as_str() {
                            "anomaly" => "Fires when the value leaves the band of its own recent values (median ± MADs).",
                            "forecast" => "Fires when the trend of recent values reaches the threshold within the horizon.",
                            _ => "Fires when the value crosses a fixed threshold.",
                        }}</span>
                        <span class="field-error" id="rule-kind-error" role="alert">{error_for("kind")}</span>
                    </div>
                    {LABELS.iter().enumerate().map(|(i, l)| {
                        let l: &'static str = l;
                        let shown = move || chosen().is_none_or(|m| m.labels.iter().any(|x| x == l));
                        let id = format!("rule-label-{l}");
                        let err_id = format!("{id}-error");
                        view! {
                            <div class="field" class:visually-hidden=move || !shown()>
                                <label for=id.clone()>{format!("{} ", capital(l))}<span class="muted">"(any)"</span></label>
                                <input type="text" id=id placeholder=format!("every {l}")
                                    prop:value=move || form.with(|f| f.labels[i].clone())
                                    on:input=move |ev| form.update(|f| f.labels[i] = event_target_value(&ev))
                                    aria-describedby=err_id.clone() />
                                <span class="field-error" id=err_id role="alert">{move || field_error.get().and_then(|(k, m)| (k == format!("labels.{l}")).then_some(m))}</span>
                            </div>
                        }
                    }).collect_view()}
                    <div class="field">
                        <label for="rule-aggregation">"Aggregation"</label>
                        <select id="rule-aggregation" on:change=move |ev| form.update(|f| f.aggregation = event_target_value(&ev))
                            aria-invalid=invalid("aggregation") aria-describedby="rule-aggregation-error">
                            {move || chosen().map(|m| m.aggregations.iter().map(|a| {
                                let v = a.as_str();
                                let default = *a == m.default_aggregation;
                                let sel = move || form.with(|f| f.aggregation == v || (f.aggregation.is_empty() && default));
                                view! { <option value=v selected=sel prop:selected=sel>{v}</option> }
                            }).collect_view())}
                        </select>
                        <span class="field-error" id="rule-aggregation-error" role="alert">{error_for("aggregation")}</span>
                    </div>
                    {text_field!("Window", "window", "window", window, "5m")}
                    <div class="field">
                        <label for="rule-comparator">"Comparator"</label>
                        <select id="rule-comparator" on:change=move |ev| form.update(|f| f.comparator = event_target_value(&ev))>
                            {[">", ">=", "<", "<="].into_iter().map(|c| view! { <option value=c selected=move || form.with(|f| f.comparator == c) prop:selected=move || form.with(|f| f.comparator == c)>{c}</option> }).collect_view()}
                        </select>
                    </div>
                    <div class="field">
                        <label for="rule-threshold">{move || if form.with(|f| f.kind == "anomaly") {
                            "Sensitivity (MADs from the median)".to_owned()
                        } else {
                            format!("Threshold{}", chosen().map(|m| if m.unit.is_empty() { String::new() } else { format!(" ({})", m.unit) }).unwrap_or_default())
                        }}</label>
                        <input type="text" inputmode="decimal" id="rule-threshold"
                            placeholder=move || if form.with(|f| f.kind == "anomaly") { "e.g. 4" } else { "e.g. 80" }
                            prop:value=move || form.with(|f| f.threshold.clone())
                            on:input=move |ev| form.update(|f| f.threshold = event_target_value(&ev))
                            aria-invalid=invalid("threshold") aria-describedby="rule-threshold-error" />
                        <span class="field-error" id="rule-threshold-error" role="alert">{error_for("threshold")}</span>
                    </div>
                    {move || form.with(|f| f.kind != "threshold").then(|| text_field!("Baseline (history judged from)", "baseline", "baseline", baseline, "2h for anomalies, 6h for forecasts"))}
                    {move || form.with(|f| f.kind == "anomaly").then(|| view! {
                        <div class="field">
                            <label for="rule-min-delta">{move || format!("Least departure{}", chosen().map(|m| if m.unit.is_empty() { String::new() } else { format!(" ({})", m.unit) }).unwrap_or_default())}</label>
                            <input type="text" inputmode="decimal" id="rule-min-delta" placeholder="0"
                                prop:value=move || form.with(|f| f.min_delta.clone())
                                on:input=move |ev| form.update(|f| f.min_delta = event_target_value(&ev))
                                aria-invalid=invalid("min_delta") aria-describedby="rule-min-delta-error" />
                            <span class="field-error" id="rule-min-delta-error" role="alert">{error_for("min_delta")}</span>
                        </div>
                    })}
                    {move || form.with(|f| f.kind == "forecast").then(|| text_field!("Horizon (how far ahead)", "horizon", "horizon", horizon, "24h"))}
                    {text_field!("For (pending before firing)", "for", "for", for_, "5m, or 0s to fire at once")}
                    {text_field!("Keep firing for", "keep-firing", "keep_firing_for", keep_firing_for, "0s")}
                    <div class="field">
                        <label for="rule-severity">"Severity"</label>
                        <select id="rule-severity" on:change=move |ev| form.update(|f| f.severity = event_target_value(&ev))>
                            {["info", "warning", "critical"].into_iter().map(|s| view! { <option value=s selected=move || form.with(|f| f.severity == s) prop:selected=move || form.with(|f| f.severity == s)>{s}</option> }).collect_view()}
                        </select>
                    </div>
                    {text_field!("Repeat while firing every", "repeat", "repeat_interval", repeat_interval, "4h")}
                    <fieldset class="field field-wide">
                        <legend>"Send to"</legend>
                        {move || match channels.get() {
                            Some(Ok(list)) if !list.is_empty() => list.into_iter().map(|c| {
                                let id = c.id;
                                view! {
                                    <label class="check">
                                        <input type="checkbox"
                                            prop:checked=move || form.with(|f| f.channels.contains(&id))
                                            on:change=move |ev| {
                                                let on = event_target_checked(&ev);
                                                form.update(|f| { f.channels.retain(|x| *x != id); if on { f.channels.push(id); } });
                                            } />
                                        <span>{c.name.clone()} {(c.name != c.kind.label()).then(|| view! { " " <span class="muted">{format!("({})", c.kind.label())}</span> })}</span>
                                    </label>
                                }
                            }).collect_view().into_any(),
                            _ => view! { <p class="muted">"No channels yet: " <a href="/settings/channels">"add one"</a> "."</p> }.into_any(),
                        }}
                    </fieldset>
                    <div class="field field-wide">
                        <label for="rule-message">"Message " <span class="muted">"(optional: {{value}}, {{threshold}}, {{labels.host}}, {{rule}})"</span></label>
                        <input type="text" id="rule-message" placeholder="{{rule}}: {{metric}} is {{value}}{{unit}}"
                            prop:value=move || form.with(|f| f.message.clone())
                            on:input=move |ev| form.update(|f| f.message = event_target_value(&ev))
                            aria-invalid=invalid("message") aria-describedby="rule-message-error" />
                        <span class="field-error" id="rule-message-error" role="alert">{error_for("message")}</span>
                    </div>
                    <label class="check field-wide">
                        <input type="checkbox" prop:checked=move || form.with(|f| f.enabled)
                            on:change=move |ev| form.update(|f| f.enabled = event_target_checked(&ev)) />
                        <span>"Enabled"</span>
                    </label>
                </div>
                <p class="field-error" role="alert">{other_error}</p>
                <div class="form-actions">
                    <button type="submit" class="button button-primary" disabled=move || busy.get()>
                        {move || match (busy.get(), editing.get().is_some()) {
                            (true, _) => "Saving…",
                            (false, true) => "Save changes",
                            (false, false) => "Create rule",
                        }}
                    </button>
                    {move || editing.get().is_some().then(|| view! {
                        <button type="button" class="button button-ghost" on:click=move |_| {
                            editing.set(None);
                            field_error.set(None);
                            form.set(RuleFormValues::default());
                        }>"Cancel"</button>
                    })}
                </div>
            </form>
        </section>
    }
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

#[component]
fn Silences(
    silences: Loaded<Vec<Silence>>,
    rules: Loaded<Vec<AlertRule>>,
    on_change: Callback<()>,
) -> impl IntoView {
    let rule = RwSignal::new(String::new());
    let host = RwSignal::new(String::new());
    let duration = RwSignal::new("2h".to_owned());
    let comment = RwSignal::new(String::new());
    let error = RwSignal::new(None::<(String, String)>);
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let mut matchers = Labels::new();
        if !host.get_untracked().trim().is_empty() {
            matchers.insert("host".into(), host.get_untracked().trim().to_owned());
        }
        let input = SilenceInput {
            rule_id: rule.get_untracked().parse().ok(),
            matchers,
            starts_at: None,
            ends_at: None,
            duration: Some(duration.get_untracked()),
            comment: comment.get_untracked(),
        };
        spawn_local(async move {
            match api::alerts::create_silence(input).await {
                Ok(_) => {
                    error.set(None);
                    comment.set(String::new());
                    on_change.run(());
                }
                Err(e) => error.set(Some((
                    e.body.field.clone().unwrap_or_default(),
                    e.message().to_owned(),
                ))),
            }
        });
    };
    let end = move |id: i64| {
        spawn_local(async move {
            let _ = api::alerts::end_silence(id).await;
            on_change.run(());
        });
    };
    let rule_name = move |id: Option<i64>| match id {
        None => "any rule".to_owned(),
        Some(id) => rules.with(|r| match r {
            Some(Ok(list)) => list
                .iter()
                .find(|x| x.id == id)
                .map(|x| x.name.clone())
                .unwrap_or_else(|| format!("rule #{id}")),
            _ => format!("rule #{id}"),
        }),
    };
    view! {
        <section class="card" aria-labelledby="silences-title">
            <h2 id="silences-title">"Silences"</h2>
            <p class="muted">"A silenced alert still changes state and is recorded, but nothing is sent."</p>
            {move || match silences.get() {
                None => view! { <p class="muted" aria-busy="true">"Loading silences…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="alert alert-error" role="alert">{e}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <p class="empty">"No silences."</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <ul class="event-list" id="silences">
                        {list.into_iter().map(|s| {
                            let id = s.id;
                            let active = s.starts_at <= format::now();
                            view! {
                                <li>
                                    <span class=if active { "badge badge-warn" } else { "badge badge-muted" }>{if active { "active" } else { "scheduled" }}</span>
                                    " " <strong>{rule_name(s.rule_id)}</strong>
                                    {(!s.matchers.is_empty()).then(|| view! { " · " <span class="mono">{labels_text(&s.matchers)}</span> })}
                                    <span class="muted">{format!(" until {} by {}", when(&s.ends_at), s.author)}</span>
                                    {(!s.comment.is_empty()).then(|| view! { <span>{format!(" — {}", s.comment)}</span> })}
                                    " " <button type="button" class="button button-ghost" on:click=move |_| end(id)>"End now"</button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any(),
            }}
            <form class="form form-inline" on:submit=on_submit novalidate>
                <div class="field">
                    <label for="silence-rule">"Rule"</label>
                    <select id="silence-rule" on:change=move |ev| rule.set(event_target_value(&ev))>
                        <option value="">"Any rule"</option>
                        {move || match rules.get() {
                            Some(Ok(list)) => list.into_iter().map(|r| view! { <option value=r.id.to_string()>{r.name}</option> }).collect_view().into_any(),
                            _ => ().into_any(),
                        }}
                    </select>
                </div>
                <div class="field">
                    <label for="silence-host">"Host " <span class="muted">"(any)"</span></label>
                    <input type="text" id="silence-host" placeholder="e.g. web-1" prop:value=move || host.get() on:input=move |ev| host.set(event_target_value(&ev)) />
                </div>
                <div class="field">
                    <label for="silence-duration">"For"</label>
                    <input type="text" id="silence-duration" prop:value=move || duration.get() on:input=move |ev| duration.set(event_target_value(&ev))
                        aria-invalid=move || error.get().is_some_and(|(f, _)| f == "duration").to_string() />
                </div>
                <div class="field field-grow">
                    <label for="silence-comment">"Comment"</label>
                    <input type="text" id="silence-comment" placeholder="e.g. kernel upgrade" prop:value=move || comment.get() on:input=move |ev| comment.set(event_target_value(&ev)) />
                </div>
                <button type="submit" class="button">"Silence"</button>
            </form>
            <p class="field-error" role="alert">{move || error.get().map(|(_, m)| m)}</p>
        </section>
    }
}

/// `/alerts/rules/:id`: the rule, its metric over the last hour with the threshold line,
/// its alerts and its history.
#[component]
pub fn AlertRulePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").and_then(|v| v.parse::<i64>().ok()));
    let rule = RwSignal::new(None::<Result<AlertRule, api::ApiError>>);
    let series = RwSignal::new(None::<RuleSeries>);
    let events = RwSignal::new(Vec::<AlertEvent>::new());
    let fetch = move || {
        if let Some(id) = id() {
            spawn_local(async move {
                rule.set(Some(api::alerts::rule(id).await));
                series.set(api::alerts::rule_series(id).await.ok());
                events.set(
                    api::alerts::history(vec![("rule_id", id.to_string()), ("limit", "50".into())])
                        .await
                        .unwrap_or_default(),
                );
            });
        }
    };
    Effect::new(move |_| {
        fetch();
        live::subscribe::<AlertsTopic>(move |_| fetch());
    });
    let title = move || {
        rule.with(|r| match r {
            Some(Ok(r)) => r.name.clone(),
            _ => "Alert rule".into(),
        })
    };
    view! {
        <Title text=title />
        <div class="page-header">
            <p><a href="/alerts">"← Alerts"</a></p>
            <h1>{title}</h1>
        </div>
        {move || match rule.get() {
            None => view! { <p class="muted" aria-busy="true">"Loading the rule…"</p> }.into_any(),
            Some(Err(e)) if e.status == 404 => view! { <p class="empty">"There is no such rule. It may have been deleted."</p> }.into_any(),
            Some(Err(e)) => view! { <p class="alert alert-error" role="alert">"Could not load the rule: " {e.message().to_owned()}</p> }.into_any(),
            Some(Ok(r)) => {
                let unit = series.with(|s| s.as_ref().map(|s| s.unit.clone()).unwrap_or_default());
                view! {
                    <section class="card">
                        <p>
                            <span class="mono">{r.metric.clone()}</span> " · " {condition(&r, &unit)} " · " {severity_badge(r.severity)}
                            {(!r.enabled).then(|| view! { " " <span class="badge badge-muted">"disabled"</span> })}
                        </p>
                        {if r.alerts.is_empty() {
                            view! { <p class="muted">"Not evaluated yet."</p> }.into_any()
                        } else {
                            view! {
                                <ul class="event-list" id="rule-alerts">
                                    {r.alerts.iter().map(|a| view! {
                                        <li>{state_badge(a.state)} " " <span class="mono">{labels_text(&a.labels)}</span> " "
                                            <span class="muted">{a.value.map(|v| format::with_unit(v, &unit)).unwrap_or_else(|| "no data".into())}</span>
                                            {a.silenced.then(|| view! { " " <span class="badge badge-muted">"silenced"</span> })}
                                        </li>
                                    }).collect_view()}
                                </ul>
                            }.into_any()
                        }}
                    </section>
                }.into_any()
            }
        }}
        <section class="card chart-card">
            <h2>"Last hour"</h2>
            <EChart
                id="chart-rule"
                label=Signal::derive(move || "The rule's value over the last hour against its threshold".to_owned())
                option=move |p| series.with(|s| match s {
                    Some(s) => charts::rule_series(s, p),
                    None => charming::Chart::new(),
                })
            />
        </section>
        <section class="card">
            <h2>"History"</h2>
            <HistoryTable events=Signal::derive(move || events.get()) />
        </section>
    }
}

/// Transitions, newest first.
#[component]
pub fn HistoryTable(events: Signal<Vec<AlertEvent>>) -> impl IntoView {
    move || {
        let list = events.get();
        if list.is_empty() {
            return view! { <p class="empty">"No transitions yet."</p> }.into_any();
        }
        view! {
            <div class="table-wrap"><table class="table" id="history">
                <thead><tr><th>"Time"</th><th>"Rule"</th><th>"Labels"</th><th>"Change"</th><th class="num">"Value"</th><th class="num">"Threshold"</th></tr></thead>
                <tbody>
                    {list.into_iter().map(|e| view! {
                        <tr>
                            <td data-label="Time">{when(&e.at)}</td>
                            <td data-label="Rule"><a href=format!("/alerts/rules/{}", e.rule_id)>{e.rule_name.clone()}</a> " " {severity_badge(e.severity)}</td>
                            <td class="mono" data-label="Labels">{labels_text(&e.labels)}</td>
                            <td data-label="Change">{state_badge(e.from)} " → " {state_badge(e.to)} {e.silenced.then(|| view! { " " <span class="badge badge-muted">"silenced"</span> })}</td>
                            <td class="num" data-label="Value">{e.value.map(format::plain_number).unwrap_or_else(|| "—".into())}</td>
                            <td class="num" data-label="Threshold">{format::plain_number(e.threshold)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table></div>
        }.into_any()
    }
}
