//! The Apps page: the HTTP requests of monitored services (Sightline itself included): rate,
//! latency percentiles, error and timeout rates and concurrency over time, the slowest and
//! the most failing routes, and every route. Service, route and range live in the URL;
//! figures reload while requests of the shown service are committed.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::{
    api::{self, live, url_encode_component},
    charts,
    components::{
        chart::{EChart, Palette},
        load::{Load, LoadStatus},
        range::{Range, RangePicker, PRESETS},
        throttle::Throttle,
    },
    format,
    types::{
        apps::{AppsOverview, RequestFigures, RouteFigures},
        live::RequestsTopic,
    },
};

/// Live ticks reload the figures at most this often.
const RELOAD_EVERY_MS: i64 = 3000;
/// Routes in each of the two short lists.
const TOP: usize = 5;

fn latency(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), format::latency)
}

/// The routes with the highest p95, slowest first.
fn slowest(routes: &[RouteFigures]) -> Vec<RouteFigures> {
    let mut r: Vec<RouteFigures> = routes
        .iter()
        .filter(|r| r.figures.p95_ms.is_some())
        .cloned()
        .collect();
    r.sort_by(|a, b| {
        b.figures
            .p95_ms
            .unwrap_or(0.0)
            .total_cmp(&a.figures.p95_ms.unwrap_or(0.0))
    });
    r.truncate(TOP);
    r
}

/// The routes with failing answers (5xx or timeouts), then client errors, worst first.
fn failing(routes: &[RouteFigures]) -> Vec<RouteFigures> {
    let mut r: Vec<RouteFigures> = routes
        .iter()
        .filter(|r| r.figures.err_5xx + r.figures.timeouts + r.figures.err_4xx > 0)
        .cloned()
        .collect();
    r.sort_by(|a, b| {
        let key = |f: &RequestFigures| (f.failure_rate(), f.rate_4xx());
        let (ka, kb) = (key(&a.figures), key(&b.figures));
        kb.0.total_cmp(&ka.0).then(kb.1.total_cmp(&ka.1))
    });
    r.truncate(TOP);
    r
}

#[component]
fn Stat(
    id: &'static str,
    label: &'static str,
    value: Signal<String>,
    foot: Signal<String>,
) -> impl IntoView {
    view! {
        <section class="card stat" data-testid=id>
            <h2 class="stat-label">{label}</h2>
            <p class="stat-value">{move || value.get()}</p>
            <p class="stat-foot muted">{move || foot.get()}</p>
        </section>
    }
}

#[component]
pub fn AppsPage() -> impl IntoView {
    let url = use_query_map();
    let navigate = use_navigate();
    let range =
        Signal::derive(move || url.with(|m| Range::from_query_in(PRESETS, "1h", |k| m.get_str(k))));
    let wanted_service = Signal::derive(move || url.with(|m| m.get("service")));
    let route = Signal::derive(move || url.with(|m| m.get("route")));
    let method = Signal::derive(move || url.with(|m| m.get("method")));
    let data = RwSignal::new(None::<AppsOverview>);
    let load = RwSignal::new(Load::Loading);
    let throttle = Throttle::new(RELOAD_EVERY_MS);

    let fetch = move || {
        let mut params = range.get_untracked().api_params();
        for (k, v) in [
            ("service", wanted_service.get_untracked()),
            ("route", route.get_untracked()),
            ("method", method.get_untracked()),
        ] {
            if let Some(v) = v {
                params.push((k, v));
            }
        }
        throttle.mark();
        spawn_local(async move {
            match api::apps_overview(params).await {
                Ok(a) => {
                    data.set(Some(a));
                    load.set(Load::Ready);
                }
                Err(e) => load.set(Load::Failed(e.message().to_owned())),
            }
        });
    };
    Effect::new(move |_| {
        range.track();
        wanted_service.track();
        route.track();
        method.track();
        load.set(Load::Loading);
        fetch();
    });
    Effect::new(move |_| {
        live::subscribe::<RequestsTopic>(move |msg| match msg {
            live::LiveMessage::Data(tick) => {
                if !range.get_untracked().ends_now() {
                    return;
                }
                let shown = data.with_untracked(|d| d.as_ref().and_then(|d| d.service.clone()));
                let relevant = shown.is_none_or(|s| tick.services.contains(&s));
                if relevant {
                    throttle.tick(fetch);
                }
            }
            live::LiveMessage::Resync => fetch(),
        });
    });

    let go = move |service: Option<String>, route: Option<(String, String)>| {
        let mut q = range.get_untracked().url_query();
        if let Some(s) = service {
            q.push_str(&format!("&service={}", url_encode_component(&s)));
        }
        if let Some((r, m)) = route {
            q.push_str(&format!(
                "&route={}&method={}",
                url_encode_component(&r),
                url_encode_component(&m)
            ));
        }
        navigate(&format!("/apps{q}"), Default::default());
    };
    let go_service = go.clone();
    let pick_service = move |ev: leptos::ev::Event| go_service(Some(event_target_value(&ev)), None);
    let go_route = StoredValue::new(go.clone());
    let open_route = Callback::new(move |(r, m): (String, String)| {
        let s = data.with_untracked(|d| d.as_ref().and_then(|d| d.service.clone()));
        go_route.with_value(|g| g(s, Some((r, m))));
    });
    let go_clear = StoredValue::new(go);
    let clear_route = move |_| {
        let s = data.with_untracked(|d| d.as_ref().and_then(|d| d.service.clone()));
        go_clear.with_value(|g| g(s, None));
    };

    let totals = move || data.with(|d| d.as_ref().map(|d| d.totals).unwrap_or_default());
    let has_services = move || data.with(|d| d.as_ref().is_some_and(|d| !d.services.is_empty()));
    let no_services = move || load.get().is_ready() && !has_services();
    let card = move |f: fn(&RequestFigures) -> String| Signal::derive(move || f(&totals()));
    let chart = move |f: fn(&AppsOverview, &Palette) -> charming::Chart| {
        move |p: &Palette| {
            data.with(|d| {
                d.as_ref()
                    .map(|d| f(d, p))
                    .unwrap_or_else(charming::Chart::new)
            })
        }
    };
    let label = move |what: &'static str| {
        Signal::derive(move || format!("{what}, {}", range.get().describe().to_lowercase()))
    };
    let routes = move || data.with(|d| d.as_ref().map(|d| d.routes.clone()).unwrap_or_default());

    view! {
        <Title text="Apps" />
        <div class="page-header page-header-row">
            <div>
                <h1>"Apps"</h1>
                <p class="muted">
                    {move || range.get().describe()}
                    {move || range.get().ends_now().then(|| view! {
                        " · " <span class="live-dot" aria-hidden="true"></span> " live"
                    })}
                </p>
            </div>
            <div class="toolbar">
                <Show when=has_services>
                    <label class="host-picker">
                        <span class="muted">"Service"</span>
                        <select on:change=pick_service.clone() aria-label="Service" data-testid="service-picker">
                            {move || data.with(|d| d.as_ref().map(|d| {
                                let chosen = d.service.clone();
                                d.services.iter().map(|s| {
                                    let selected = chosen.as_deref() == Some(s.service.as_str());
                                    view! { <option value=s.service.clone() selected=selected>{s.service.clone()}</option> }
                                }).collect_view()
                            }))}
                        </select>
                    </label>
                </Show>
                <RangePicker range presets=PRESETS />
            </div>
        </div>
        <LoadStatus load what="application figures" retry=Callback::new(move |_| fetch()) />
        <Show when=no_services>
            <section class="card empty-state" data-testid="no-services">
                <h2>"No service has reported requests in this range"</h2>
                <p class="muted">
                    "Services report the requests they answer with " <code>"POST /api/v1/requests"</code>
                    " (an API key with the ingest scope) or as OpenTelemetry server spans to "
                    <code>"/v1/traces"</code> ". Sightline reports its own as " <code>"sightline"</code> "."
                </p>
            </section>
        </Show>
        <Show when=has_services>
            {move || route.get().map(|r| view! {
                <p class="filter-chip" data-testid="route-filter">
                    <span>"Route: " <span class="mono">{format!("{} {r}", method.get().unwrap_or_default())}</span></span>
                    <button type="button" class="button button-ghost" on:click=clear_route>"Show all routes"</button>
                </p>
            })}
            <div class="stat-grid">
                <Stat id="card-rps" label="Requests" value=card(|f| format::per_second(f.rps)) foot=card(|f| format!("{} requests", format::count(f.requests as i64))) />
                <Stat id="card-p95" label="p95 latency" value=card(|f| latency(f.p95_ms)) foot=card(|f| format!("p50 {} · p99 {}", latency(f.p50_ms), latency(f.p99_ms))) />
                <Stat id="card-errors" label="5xx rate" value=card(|f| format::percent(f.rate_5xx())) foot=card(|f| format!("timeouts {}", format::percent(f.timeout_rate()))) />
                <Stat id="card-4xx" label="4xx rate" value=card(|f| format::percent(f.rate_4xx())) foot=card(|f| format!("{} client errors", format::count(f.err_4xx as i64))) />
                <Stat id="card-concurrency" label="Concurrency" value=card(|f| format!("{:.2}", f.concurrency)) foot=card(|_| "average requests in flight".to_owned()) />
            </div>
            <div class="chart-grid">
                <section class="card chart-card">
                    <h2>"Throughput"</h2>
                    <EChart id="chart-rps" label=label("Requests per second and failing requests per second") option=chart(charts::request_rate) />
                </section>
                <section class="card chart-card">
                    <h2>"Latency"</h2>
                    <EChart id="chart-latency" label=label("p50, p95 and p99 latency in milliseconds") option=chart(charts::request_latency) />
                </section>
                <section class="card chart-card">
                    <h2>"Errors and timeouts"</h2>
                    <EChart id="chart-errors" label=label("4xx, 5xx and timeout rates in percent of requests") option=chart(charts::request_errors) />
                </section>
                <section class="card chart-card">
                    <h2>"Concurrency"</h2>
                    <EChart id="chart-concurrency" label=label("Average requests in flight") option=chart(charts::request_concurrency) />
                </section>
            </div>
            <div class="two-col">
                <section class="card" data-testid="slowest-routes">
                    <div class="card-head"><h2>"Slowest routes"</h2><span class="muted">"by p95"</span></div>
                    <ShortList rows=Signal::derive(move || slowest(&routes())) empty="No requests in this range." value=|f: &RequestFigures| latency(f.p95_ms) open_route />
                </section>
                <section class="card" data-testid="failing-routes">
                    <div class="card-head"><h2>"Most failing routes"</h2><span class="muted">"5xx and timeouts, then 4xx"</span></div>
                    <ShortList rows=Signal::derive(move || failing(&routes())) empty="No failed requests in this range." value=|f: &RequestFigures| format!("{} · {}", format::percent(f.failure_rate()), format::percent(f.rate_4xx())) open_route />
                </section>
            </div>
            <section class="card">
                <div class="card-head"><h2>"Routes"</h2><span class="muted">"Choose a route to chart it alone"</span></div>
                <div class="table-wrap">
                    <table class="table" data-testid="routes-table">
                        <thead><tr>
                            <th scope="col">"Route"</th>
                            <th scope="col" class="num">"Requests"</th>
                            <th scope="col" class="num">"Rate"</th>
                            <th scope="col" class="num">"p50"</th>
                            <th scope="col" class="num">"p95"</th>
                            <th scope="col" class="num">"p99"</th>
                            <th scope="col" class="num">"4xx"</th>
                            <th scope="col" class="num">"5xx"</th>
                            <th scope="col" class="num">"Timeouts"</th>
                            <th scope="col" class="num">"In flight"</th>
                        </tr></thead>
                        <tbody>
                            {move || routes().into_iter().map(|r| {
                                let f = r.figures;
                                let key = (r.route.clone(), r.method.clone());
                                view! {
                                    <tr>
                                        <td data-label="Route">
                                            <button type="button" class="link-button mono" on:click=move |_| open_route.run(key.clone())>
                                                <span class="badge badge-method">{r.method.clone()}</span> " " {r.route.clone()}
                                            </button>
                                        </td>
                                        <td class="num" data-label="Requests">{format::count(f.requests as i64)}</td>
                                        <td class="num" data-label="Rate">{format::per_second(f.rps)}</td>
                                        <td class="num" data-label="p50">{latency(f.p50_ms)}</td>
                                        <td class="num" data-label="p95">{latency(f.p95_ms)}</td>
                                        <td class="num" data-label="p99">{latency(f.p99_ms)}</td>
                                        <td class="num" data-label="4xx">{format::percent(f.rate_4xx())}</td>
                                        <td class="num" data-label="5xx">{format::percent(f.rate_5xx())}</td>
                                        <td class="num" data-label="Timeouts">{format::percent(f.timeout_rate())}</td>
                                        <td class="num" data-label="In flight">{format!("{:.2}", f.concurrency)}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </section>
        </Show>
    }
}

#[component]
fn ShortList(
    rows: Signal<Vec<RouteFigures>>,
    empty: &'static str,
    value: fn(&RequestFigures) -> String,
    open_route: Callback<(String, String)>,
) -> impl IntoView {
    move || {
        let rows = rows.get();
        if rows.is_empty() {
            return view! { <p class="muted">{empty}</p> }.into_any();
        }
        view! {
            <ol class="rank-list">
                {rows.into_iter().map(|r| {
                    let key = (r.route.clone(), r.method.clone());
                    view! {
                        <li>
                            <button type="button" class="link-button mono ellipsis" on:click=move |_| open_route.run(key.clone())>
                                {format!("{} {}", r.method, r.route)}
                            </button>
                            <span class="num">{value(&r.figures)}</span>
                        </li>
                    }
                }).collect_view()}
            </ol>
        }
        .into_any()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(name: &str, p95: Option<f64>, requests: u64, e5: u64, e4: u64) -> RouteFigures {
        RouteFigures {
            route: name.into(),
            method: "GET".into(),
            figures: RequestFigures {
                requests,
                p95_ms: p95,
                err_5xx: e5,
                err_4xx: e4,
                ..Default::default()
            },
        }
    }

    #[test]
    fn short_lists_rank_slowest_and_failing_routes() {
        let routes = vec![
            route("/a", Some(10.0), 100, 0, 0),
            route("/b", Some(900.0), 10, 1, 0),
            route("/c", Some(50.0), 10, 5, 0),
            route("/d", Some(5.0), 10, 0, 9),
            route("/e", None, 0, 0, 0),
        ];
        let s: Vec<_> = slowest(&routes).into_iter().map(|r| r.route).collect();
        assert_eq!(s, ["/b", "/c", "/a", "/d"]);
        let f: Vec<_> = failing(&routes).into_iter().map(|r| r.route).collect();
        assert_eq!(f, ["/c", "/b", "/d"]);
    }
}
