//! The Reports page: pick a range, what to export (figures per group and bucket, or every
//! call) and a breakdown; a preview of the figures; CSV, JSON and PDF downloads straight
//! from `GET /api/v1/reports/export` (plain links: the browser streams the file with the
//! session).

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    api,
    components::{
        load::{Load, LoadStatus},
        range::{Range, RangePicker},
    },
    format,
    types::{Aggregation, Figures},
};

const GROUPINGS: &[(&str, &str)] = &[
    ("none", "Nothing (totals)"),
    ("model", "Model"),
    ("provider", "Provider"),
    ("feature", "Feature"),
    ("user", "User"),
    ("api_key", "API key"),
];

const BUCKETS: &[(&str, &str)] = &[
    ("auto", "Automatic"),
    ("hour", "Hour"),
    ("day", "Day"),
    ("week", "Week"),
    ("month", "Month"),
];

fn group_label(key: &str) -> String {
    if key.is_empty() {
        "(none)".to_owned()
    } else {
        key.to_owned()
    }
}

#[component]
fn Summary(totals: Figures) -> impl IntoView {
    let stat = |label: &'static str, value: String| {
        view! {
            <section class="card stat">
                <h2 class="stat-label">{label}</h2>
                <p class="stat-value">{value}</p>
            </section>
        }
    };
    let p95 = totals
        .p95_latency_ms
        .map_or_else(|| "—".to_owned(), format::latency);
    view! {
        <div class="stat-grid" data-testid="report-summary">
            {stat("Requests", format::count(totals.requests as i64))}
            {stat("Tokens", format::compact(totals.total_tokens as f64))}
            {stat("Cost", format::usd_micros(Some(totals.cost_micros)))}
            {stat("p95 latency", p95)}
            {stat("Error rate", format::percent(totals.error_rate))}
        </div>
    }
}

#[component]
pub fn ReportsPage() -> impl IntoView {
    let url = use_query_map();
    let range = Signal::derive(move || url.with(|m| Range::from_query(|k| m.get_str(k))));
    let kind = RwSignal::new("aggregates".to_owned());
    let group_by = RwSignal::new("model".to_owned());
    let bucket = RwSignal::new("auto".to_owned());
    let data = RwSignal::new(None::<Aggregation>);
    let load = RwSignal::new(Load::Loading);

    let aggregate_params = move || {
        let mut p = range.get().api_params();
        p.push(("group_by", group_by.get()));
        p.push(("bucket", bucket.get()));
        p
    };
    let fetch = move || {
        let params = aggregate_params();
        spawn_local(async move {
            match api::aggregation(params).await {
                Ok(a) => {
                    data.set(Some(a));
                    load.set(Load::Ready);
                }
                Err(e) => load.set(Load::Failed(e.message().to_owned())),
            }
        });
    };
    Effect::new(move |_| {
        load.set(Load::Loading);
        fetch();
    });

    // A calls export lists every call; the breakdown and buckets are for figures.
    let is_calls = move || kind.get() == "calls";
    let download = move |format: &'static str| {
        let mut p = if is_calls() {
            range
                .get()
                .api_params()
                .into_iter()
                .filter(|(k, _)| *k != "tz")
                .collect()
        } else {
            aggregate_params()
        };
        if format == "pdf" {
            // The PDF breaks down by model and by provider itself.
            p.retain(|(k, _)| *k != "group_by");
        }
        p.push(("kind", kind.get()));
        p.push(("format", format.to_owned()));
        api::export_url(&p)
    };
    let select = move |label: &'static str,
                       id: &'static str,
                       value: RwSignal<String>,
                       options: &'static [(&'static str, &'static str)]| {
        view! {
            <label class="field" for=id>
                <span>{label}</span>
                <select id=id prop:value=move || value.get()
                    on:change=move |ev| value.set(event_target_value(&ev))
                    disabled=is_calls>
                    {options.iter().map(|(v, l)| view! { <option value=*v>{*l}</option> }).collect_view()}
                </select>
            </label>
        }
    };

    view! {
        <Title text="Reports" />
        <div class="page-header page-header-row">
            <div>
                <h1>"Reports"</h1>
                <p class="muted">"Export cost, tokens and latency · " {move || range.get().describe()}</p>
            </div>
            <div class="toolbar">
                <RangePicker range />
            </div>
        </div>

        <form class="card form form-inline" aria-label="Report export" on:submit=|ev| ev.prevent_default()>
            <label class="field" for="report-kind">
                <span>"Export"</span>
                <select id="report-kind" prop:value=move || kind.get()
                    on:change=move |ev| kind.set(event_target_value(&ev))>
                    <option value="aggregates">"Figures by group and time"</option>
                    <option value="calls">"Every call"</option>
                </select>
            </label>
            {select("Break down by", "report-group", group_by, GROUPINGS)}
            {select("Buckets", "report-bucket", bucket, BUCKETS)}
            <div class="form-actions">
                <a class="button button-primary" data-testid="download-csv" href=move || download("csv") download="">"Download CSV"</a>
                <a class="button" data-testid="download-json" href=move || download("json") download="">"Download JSON"</a>
                <Show when=move || !is_calls()>
                    <a class="button" data-testid="download-pdf" href=move || download("pdf") download=""
                        title="Summary, cost and token charts, tables by model, provider and budget">"Download PDF"</a>
                </Show>
            </div>
            <p class="muted form-help">
                {move || if is_calls() {
                    "One row per call, newest first: time, ids, model, status, latency, tokens and cost in USD. Streamed, so any range downloads."
                } else {
                    "A total row per group, then one row per time bucket, in your time zone. Costs in USD."
                }}
            </p>
        </form>

        <LoadStatus load what="the report" retry=Callback::new(move |_| fetch()) />
        {move || data.get().map(|a| {
            let groups = a.groups.clone();
            let grouped = a.group_by != crate::types::GroupBy::None;
            view! {
                <Summary totals=a.totals.clone() />
                <section class="card" data-testid="report-groups">
                    <div class="card-head">
                        <h2>{if grouped { "By group" } else { "Totals" }}</h2>
                        <span class="muted">"what the export holds, before its time buckets"</span>
                    </div>
                    {if groups.iter().all(|g| g.totals.requests == 0) {
                        view! { <p class="muted" data-testid="report-empty">"No calls in this range."</p> }.into_any()
                    } else {
                        view! {
                            <div class="table-wrap">
                                <table class="table">
                                    <thead><tr>
                                        <th scope="col">"Group"</th>
                                        <th scope="col" class="num">"Requests"</th>
                                        <th scope="col" class="num">"Tokens"</th>
                                        <th scope="col" class="num">"Cost"</th>
                                        <th scope="col" class="num">"p95 latency"</th>
                                        <th scope="col" class="num">"Errors"</th>
                                    </tr></thead>
                                    <tbody>
                                        {groups.into_iter().map(|g| view! {
                                            <tr>
                                                <td data-label="Group">{group_label(&g.key)}</td>
                                                <td class="num" data-label="Requests">{format::count(g.totals.requests as i64)}</td>
                                                <td class="num" data-label="Tokens">{format::compact(g.totals.total_tokens as f64)}</td>
                                                <td class="num" data-label="Cost">{format::usd_micros(Some(g.totals.cost_micros))}</td>
                                                <td class="num" data-label="p95 latency">{g.totals.p95_latency_ms.map_or_else(|| "—".to_owned(), format::latency)}</td>
                                                <td class="num" data-label="Errors">{format::percent(g.totals.error_rate)}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any()
                    }}
                </section>
            }
        })}
        <super::report_schedules::ReportSchedules />
    }
}
