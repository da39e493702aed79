//! The Database page: Sightline's own connection pools (in use, waits, time to acquire),
//! the statements slower than the threshold, and PostgreSQL's `pg_stat_statements` figures
//! when the database has the extension. Reloads every few seconds while it ends now.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    api, charts,
    components::{
        chart::{EChart, Palette},
        load::{Load, LoadStatus},
        range::{Range, RangePicker, DB_PRESETS},
    },
    format,
    types::database::{DatabaseOverview, PoolSummary},
};

/// How often the figures reload.
#[cfg(feature = "hydrate")]
const RELOAD_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

fn pool_title(pool: &str) -> &'static str {
    match pool {
        "api" => "API pool",
        "writer" => "Ingest writers",
        _ => "Pool",
    }
}

fn pool_help(pool: &str) -> &'static str {
    match pool {
        "api" => "reads, settings and housekeeping",
        "writer" => "group commits of calls, samples and requests",
        _ => "",
    }
}

#[component]
fn PoolCard(p: PoolSummary) -> impl IntoView {
    let used = if p.max_connections == 0 {
        0.0
    } else {
        f64::from(p.in_use) / f64::from(p.max_connections)
    };
    view! {
        <section class="card stat pool-card" data-testid=format!("pool-{}", p.pool)>
            <h2 class="stat-label">{pool_title(&p.pool)}</h2>
            <p class="stat-value">
                {format!("{} / {}", p.in_use, p.max_connections)}
                <span class="stat-unit">" in use"</span>
            </p>
            <div class="meter" role="meter" aria-label=format!("{} connections in use", pool_title(&p.pool))
                aria-valuemin="0" aria-valuemax=p.max_connections.to_string() aria-valuenow=p.in_use.to_string()>
                <div class="meter-fill" style=format!("width: {:.0}%", used * 100.0)></div>
            </div>
            <dl class="facts">
                <div><dt>"Open"</dt><dd>{format!("{} ({} idle)", p.open, p.idle)}</dd></div>
                <div><dt>"Acquire"</dt><dd>{format!("{} avg · {} max", format::latency(p.acquire_avg_ms), format::latency(p.acquire_max_ms))}</dd></div>
                <div><dt>"Waits"</dt><dd>{format!("{} of {}", format::count(p.waits as i64), format::count(p.acquires as i64))}</dd></div>
                <div><dt>"Slow"</dt><dd>{format::count(p.slow_queries as i64)}</dd></div>
            </dl>
            <p class="stat-foot muted">{pool_help(&p.pool)}</p>
        </section>
    }
}

#[component]
pub fn DatabasePage() -> impl IntoView {
    let url = use_query_map();
    let range = Signal::derive(move || {
        url.with(|m| Range::from_query_in(DB_PRESETS, "1h", |k| m.get_str(k)))
    });
    let data = RwSignal::new(None::<DatabaseOverview>);
    let load = RwSignal::new(Load::Loading);

    let fetch = move || {
        let params = match range.get_untracked() {
            Range::Preset(p) => vec![("range", p)],
            Range::Days { .. } => vec![("range", "1h".to_owned())],
        };
        spawn_local(async move {
            match api::database_overview(params).await {
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
        load.set(Load::Loading);
        fetch();
    });
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(fetch, RELOAD_EVERY);
        if let Ok(h) = handle {
            on_cleanup(move || h.clear());
        }
    }

    let chart = move |f: fn(&DatabaseOverview, &Palette) -> charming::Chart| {
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
    let threshold = move || data.with(|d| d.as_ref().map_or(0, |d| d.slow_threshold_ms));
    let ready = move || load.get().is_ready() || data.with(Option::is_some);

    view! {
        <Title text="Database" />
        <div class="page-header page-header-row">
            <div>
                <h1>"Database"</h1>
                <p class="muted">
                    "Sightline's own PostgreSQL use · " {move || range.get().describe()}
                    " · " <span class="live-dot" aria-hidden="true"></span> " live"
                </p>
            </div>
            <div class="toolbar">
                <RangePicker range presets=DB_PRESETS days=false />
            </div>
        </div>
        <LoadStatus load what="database figures" retry=Callback::new(move |_| fetch()) />
        <Show when=ready>
            <div class="stat-grid">
                {move || data.with(|d| d.as_ref().map(|d| {
                    d.pools.iter().cloned().map(|p| view! { <PoolCard p /> }).collect_view()
                }))}
            </div>
            <div class="chart-grid">
                <section class="card chart-card">
                    <h2>"Connections in use"</h2>
                    <EChart id="chart-db-connections" label=label("Connections in use per pool, minute average and peak") option=chart(charts::db_connections) />
                </section>
                <section class="card chart-card">
                    <h2>"Time to acquire a connection"</h2>
                    <EChart id="chart-db-acquire" label=label("Average and longest acquire time per pool in milliseconds") option=chart(charts::db_acquire) />
                </section>
                <section class="card chart-card">
                    <h2>"Slow statements"</h2>
                    <EChart id="chart-db-slow" label=label("Statements over the slow threshold per minute and pool") option=chart(charts::db_slow) />
                </section>
            </div>
            <section class="card" data-testid="slow-queries">
                <div class="card-head">
                    <h2>"Slow statements"</h2>
                    <span class="muted">{move || format!("slower than {} ms, grouped by shape", threshold())}</span>
                </div>
                {move || data.with(|d| {
                    let rows = d.as_ref().map(|d| d.slow_queries.clone()).unwrap_or_default();
                    if rows.is_empty() {
                        return view! {
                            <p class="muted" data-testid="no-slow-queries">
                                {format!("No statement took longer than {} ms in this range.", threshold())}
                            </p>
                        }.into_any();
                    }
                    view! {
                        <div class="table-wrap">
                            <table class="table">
                                <thead><tr>
                                    <th scope="col">"Statement"</th>
                                    <th scope="col">"Pool"</th>
                                    <th scope="col" class="num">"Count"</th>
                                    <th scope="col" class="num">"Mean"</th>
                                    <th scope="col" class="num">"Max"</th>
                                    <th scope="col" class="num">"Last seen"</th>
                                </tr></thead>
                                <tbody>
                                    {rows.into_iter().map(|q| view! {
                                        <tr>
                                            <td data-label="Statement"><code class="sql" title=q.query.clone()>{q.query.clone()}</code></td>
                                            <td data-label="Pool">{q.pool.clone()}</td>
                                            <td class="num" data-label="Count">{format::count(q.count as i64)}</td>
                                            <td class="num" data-label="Mean">{format::latency(q.mean_ms)}</td>
                                            <td class="num" data-label="Max">{format::latency(q.max_ms)}</td>
                                            <td class="num" data-label="Last seen">{q.last_at.format("%H:%M:%S UTC").to_string()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any()
                })}
            </section>
            <section class="card" data-testid="statements">
                <div class="card-head">
                    <h2>"Top statements"</h2>
                    <span class="muted">"by total time, from pg_stat_statements"</span>
                </div>
                {move || data.with(|d| {
                    let Some(s) = d.as_ref().map(|d| d.statements.clone()) else {
                        return ().into_any();
                    };
                    if !s.available {
                        return view! {
                            <p class="muted" data-testid="statements-unavailable">
                                {s.reason.unwrap_or_default()}
                                ". Add pg_stat_statements to shared_preload_libraries and run "
                                <code>"CREATE EXTENSION pg_stat_statements"</code>
                                " to see PostgreSQL's own figures here."
                            </p>
                        }.into_any();
                    }
                    view! {
                        <div class="table-wrap">
                            <table class="table">
                                <thead><tr>
                                    <th scope="col">"Statement"</th>
                                    <th scope="col" class="num">"Calls"</th>
                                    <th scope="col" class="num">"Total"</th>
                                    <th scope="col" class="num">"Mean"</th>
                                    <th scope="col" class="num">"Rows"</th>
                                </tr></thead>
                                <tbody>
                                    {s.top.into_iter().map(|q| view! {
                                        <tr>
                                            <td data-label="Statement"><code class="sql" title=q.query.clone()>{q.query.clone()}</code></td>
                                            <td class="num" data-label="Calls">{format::count(q.calls)}</td>
                                            <td class="num" data-label="Total">{format::millis(q.total_ms)}</td>
                                            <td class="num" data-label="Mean">{format::latency(q.mean_ms)}</td>
                                            <td class="num" data-label="Rows">{format::count(q.rows)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any()
                })}
            </section>
        </Show>
    }
}
