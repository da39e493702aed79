//! The System page: a host's info, live cards and charts (CPU, memory, disks, network,
//! GPUs) and its busiest processes; the host and the range live in the URL.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::{
    api::{self, live, url_encode_component},
    components::{
        chart::EChart,
        load::{Load, LoadStatus},
        range::{Range, RangePicker, SYSTEM_PRESETS},
    },
    format,
    system_view::{self, append_live, from_response, SeriesMap, Window, SERIES},
    types::{
        live::SystemTopic,
        system::{HostDetail, HostSummary, ProcessSample, SystemSample},
    },
};

/// Live points are folded in only while a step is this fine; coarser ranges reload.
const LIVE_STEP_S: i64 = 5;

#[derive(Clone, Copy, PartialEq, Eq)]
enum SortKey {
    Name,
    Pid,
    Cpu,
    Memory,
}

fn sorted(mut rows: Vec<ProcessSample>, key: SortKey, desc: bool) -> Vec<ProcessSample> {
    rows.sort_by(|a, b| {
        let o = match key {
            SortKey::Name => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
            SortKey::Pid => a.pid.cmp(&b.pid),
            SortKey::Cpu => a.cpu.total_cmp(&b.cpu),
            SortKey::Memory => a.memory.cmp(&b.memory),
        };
        if desc {
            o.reverse()
        } else {
            o
        }
    });
    rows
}

#[component]
fn ProcessTable(latest: Signal<Option<SystemSample>>) -> impl IntoView {
    let sort = RwSignal::new((SortKey::Cpu, true));
    let header = move |label: &'static str, key: SortKey, numeric: bool| {
        let state = move || {
            let (k, desc) = sort.get();
            match (k == key, desc) {
                (false, _) => "none",
                (true, true) => "descending",
                (true, false) => "ascending",
            }
        };
        view! {
            <th scope="col" class:num=numeric aria-sort=state>
                <button
                    type="button"
                    class="sort"
                    on:click=move |_| sort.update(|(k, desc)| {
                        if *k == key { *desc = !*desc } else { *k = key; *desc = numeric }
                    })
                >
                    {label}
                    <span aria-hidden="true">
                        {move || match state() { "descending" => " ▼", "ascending" => " ▲", _ => "" }}
                    </span>
                </button>
            </th>
        }
    };
    view! {
        <table class="table" data-testid="process-table">
            <thead>
                <tr>
                    {header("Process", SortKey::Name, false)}
                    {header("PID", SortKey::Pid, true)}
                    {header("CPU", SortKey::Cpu, true)}
                    {header("Memory", SortKey::Memory, true)}
                </tr>
            </thead>
            <tbody>
                {move || {
                    let (key, desc) = sort.get();
                    let rows = latest.with(|l| l.as_ref().map(|s| s.processes.clone()).unwrap_or_default());
                    if rows.is_empty() {
                        return view! { <tr><td colspan="4" class="muted">"No process data yet."</td></tr> }.into_any();
                    }
                    sorted(rows, key, desc)
                        .into_iter()
                        .map(|p| view! {
                            <tr>
                                <td class="ellipsis" title=p.name.clone()>{p.name.clone()}</td>
                                <td class="num mono">{p.pid}</td>
                                <td class="num">{format!("{:.1} %", p.cpu)}</td>
                                <td class="num">{format::bytes(p.memory as f64)}</td>
                            </tr>
                        })
                        .collect_view()
                        .into_any()
                }}
            </tbody>
        </table>
    }
}

#[component]
fn HostCard(detail: Signal<Option<HostDetail>>) -> impl IntoView {
    let row = |label: &'static str, value: String| {
        view! { <div><dt>{label}</dt><dd>{value}</dd></div> }
    };
    view! {
        <section class="card host-card" data-testid="host-info" aria-label="Host">
            {move || detail.get().map(|d| {
                let i = d.summary.info;
                view! {
                    <div class="card-head">
                        <h2 class="mono">{d.summary.host.clone()}</h2>
                        {if d.summary.online {
                            view! { <span class="badge badge-ok">"online"</span> }.into_any()
                        } else {
                            view! { <span class="badge badge-error">"offline"</span> }.into_any()
                        }}
                    </div>
                    <dl class="facts">
                        {row("OS", format!("{} {}", i.os, i.os_version).trim().to_owned())}
                        {row("Kernel", i.kernel)}
                        {row("Architecture", i.arch)}
                        {row("CPU", format!("{} · {} cores", i.cpu_model, i.cores))}
                        {row("Memory", format::bytes(i.memory_total as f64))}
                        {row("Uptime", format::uptime(i.uptime_s))}
                        {row("Last sample", d.summary.last_seen.format("%Y-%m-%d %H:%M:%S UTC").to_string())}
                    </dl>
                }
            })}
        </section>
    }
}

#[component]
fn Gpus(
    latest: Signal<Option<SystemSample>>,
    series: RwSignal<SeriesMap>,
    window: RwSignal<Window>,
) -> impl IntoView {
    let has_gpu = move || latest.with(|l| l.as_ref().is_some_and(|s| !s.gpus.is_empty()));
    let chart = move |pattern: &'static str, div: f64, unit: &'static str, label: &'static str| {
        move |p: &crate::components::chart::Palette| {
            let w = window.get();
            series.with(|m| system_view::per_gpu(m, p, w, pattern, div, unit, label))
        }
    };
    view! {
        <Show
            when=has_gpu
            fallback=|| view! {
                <section class="card empty-state" data-testid="no-gpu">
                    <h2>"No GPU detected"</h2>
                    <p class="muted">"GPU utilisation, memory and temperature appear here when the host has an NVIDIA GPU and driver."</p>
                </section>
            }
        >
            <section class="card">
                <h2>"GPUs"</h2>
                <table class="table">
                    <thead><tr>
                        <th scope="col">"GPU"</th>
                        <th scope="col" class="num">"Utilisation"</th>
                        <th scope="col" class="num">"Memory"</th>
                        <th scope="col" class="num">"Temperature"</th>
                        <th scope="col" class="num">"Power"</th>
                        <th scope="col" class="num">"Processes"</th>
                    </tr></thead>
                    <tbody>
                        {move || latest.get().map(|s| s.gpus.into_iter().map(|g| view! {
                            <tr>
                                <td>{format!("{} · {}", g.index, g.name)}</td>
                                <td class="num">{format!("{:.0} %", g.utilization)}</td>
                                <td class="num">{format!("{} of {}", format::bytes(g.memory_used as f64), format::bytes(g.memory_total as f64))}</td>
                                <td class="num">{g.temperature_c.map_or("—".to_owned(), |t| format!("{t:.0} °C"))}</td>
                                <td class="num">{match (g.power_w, g.power_limit_w) {
                                    (Some(w), Some(l)) => format!("{w:.0} W of {l:.0} W"),
                                    (Some(w), None) => format!("{w:.0} W"),
                                    _ => "—".to_owned(),
                                }}</td>
                                <td class="num">{g.processes.len()}</td>
                            </tr>
                        }).collect_view())}
                    </tbody>
                </table>
            </section>
            <div class="chart-grid">
                <section class="card chart-card">
                    <h2>"GPU utilisation"</h2>
                    <EChart id="chart-gpu-util" label=Signal::derive(|| "GPU utilisation in percent over time".to_owned()) option=chart("gpu.util:*", 1.0, "%", "{value} %") />
                </section>
                <section class="card chart-card">
                    <h2>"GPU memory used"</h2>
                    <EChart id="chart-gpu-mem" label=Signal::derive(|| "GPU memory used in GiB over time".to_owned()) option=chart("gpu.mem_used:*", 1024.0 * 1024.0 * 1024.0, "GiB", "{value}") />
                </section>
                <section class="card chart-card">
                    <h2>"GPU temperature"</h2>
                    <EChart id="chart-gpu-temp" label=Signal::derive(|| "GPU temperature in degrees Celsius over time".to_owned()) option=chart("gpu.temp:*", 1.0, "°C", "{value} °C") />
                </section>
            </div>
        </Show>
    }
}

#[component]
pub fn SystemPage() -> impl IntoView {
    let url = use_query_map();
    let navigate = use_navigate();
    let range = Signal::derive(move || {
        url.with(|m| Range::from_query_in(SYSTEM_PRESETS, "5m", |k| m.get_str(k)))
    });
    let wanted_host = Signal::derive(move || url.with(|m| m.get("host")));
    let hosts = RwSignal::new(Vec::<HostSummary>::new());
    let host = RwSignal::new(None::<String>);
    let detail = RwSignal::new(None::<HostDetail>);
    let series = RwSignal::new(SeriesMap::new());
    let window = RwSignal::new(Window {
        from_ms: 0.0,
        to_ms: 0.0,
    });
    let step = RwSignal::new(1i64);
    let load = RwSignal::new(Load::Loading);
    // Loaded, but no host has reported yet.
    let no_hosts = RwSignal::new(false);

    let fetch = move || {
        let r = range.get_untracked();
        let wanted = wanted_host.get_untracked();
        spawn_local(async move {
            let list = match api::system_hosts().await {
                Ok(l) => l,
                Err(e) => return load.set(Load::Failed(e.message().to_owned())),
            };
            hosts.set(list.clone());
            let chosen = wanted
                .filter(|w| list.iter().any(|h| &h.host == w))
                .or_else(|| list.first().map(|h| h.host.clone()));
            let Some(h) = chosen else {
                no_hosts.set(true);
                return load.set(Load::Ready);
            };
            no_hosts.set(false);
            host.set(Some(h.clone()));
            let d = api::system_host(h.clone()).await;
            let m = api::system_metrics(h, r.api_params(), SERIES).await;
            match (d, m) {
                (Ok(d), Ok(m)) => {
                    window.set(Window {
                        from_ms: m.from.timestamp_millis() as f64,
                        to_ms: m.to.timestamp_millis() as f64,
                    });
                    step.set(m.step_s);
                    series.set(from_response(&m));
                    detail.set(Some(d));
                    load.set(Load::Ready);
                }
                (Err(e), _) | (_, Err(e)) => load.set(Load::Failed(e.message().to_owned())),
            }
        });
    };
    Effect::new(move |_| {
        range.track();
        wanted_host.track();
        load.set(Load::Loading);
        fetch();
    });
    Effect::new(move |_| {
        live::subscribe::<SystemTopic>(move |msg| match msg {
            live::LiveMessage::Data(ls) => {
                if host.get_untracked().as_deref() != Some(ls.host.as_str()) {
                    return;
                }
                detail.update(|d| {
                    if let Some(d) = d {
                        if d.latest.as_ref().is_none_or(|l| l.time <= ls.sample.time) {
                            d.summary.last_seen = ls.sample.time;
                            d.summary.online = true;
                            d.latest = Some(ls.sample.clone());
                        }
                    }
                });
                if range.get_untracked().ends_now() && step.get_untracked() <= LIVE_STEP_S {
                    let t = ls.sample.time.timestamp_millis() as f64;
                    let w = window.get_untracked();
                    let to = w.to_ms.max(t);
                    let from = to - (w.to_ms - w.from_ms);
                    window.set(Window {
                        from_ms: from,
                        to_ms: to,
                    });
                    series.update(|m| append_live(m, &ls.sample, from));
                }
            }
            live::LiveMessage::Resync => fetch(),
        });
    });
    // Ranges too long to fold single samples into reload once a minute while they end now.
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(
            move || {
                if range.get_untracked().ends_now() && step.get_untracked() > LIVE_STEP_S {
                    fetch();
                }
            },
            std::time::Duration::from_secs(60),
        );
        if let Ok(h) = handle {
            on_cleanup(move || h.clear());
        }
    }

    let latest = Signal::derive(move || detail.with(|d| d.as_ref().and_then(|d| d.latest.clone())));
    let card = move |f: fn(&SystemSample) -> String| {
        move || latest.with(|l| l.as_ref().map_or_else(|| "—".to_owned(), f))
    };
    let chart =
        move |f: fn(&SeriesMap, &crate::components::chart::Palette, Window) -> charming::Chart| {
            move |p: &crate::components::chart::Palette| {
                let w = window.get();
                series.with(|m| f(m, p, w))
            }
        };
    let label = move |what: &'static str| {
        Signal::derive(move || format!("{what}, {}", range.get().describe().to_lowercase()))
    };
    let pick_host = move |ev: leptos::ev::Event| {
        let h = event_target_value(&ev);
        let q = range.get_untracked().url_query();
        navigate(
            &format!("/system{q}&host={}", url_encode_component(&h)),
            Default::default(),
        );
    };

    view! {
        <Title text="System" />
        <div class="page-header page-header-row">
            <div>
                <h1>"System"</h1>
                <p class="muted">
                    {move || range.get().describe()}
                    {move || (range.get().ends_now() && step.get() <= LIVE_STEP_S).then(|| view! {
                        " · " <span class="live-dot" aria-hidden="true"></span> " live"
                    })}
                </p>
            </div>
            <div class="toolbar">
                <label class="host-picker">
                    <span class="muted">"Host"</span>
                    <select on:change=pick_host aria-label="Host" data-testid="host-picker">
                        {move || hosts.get().into_iter().map(|h| {
                            let selected = host.get().as_deref() == Some(h.host.as_str());
                            let text = if h.online { h.host.clone() } else { format!("{} (offline)", h.host) };
                            view! { <option value=h.host.clone() selected=selected>{text}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <RangePicker range presets=SYSTEM_PRESETS />
            </div>
        </div>
        <LoadStatus load what="system metrics" retry=Callback::new(move |_| fetch()) />
        {move || no_hosts.get().then(|| view! {
                <section class="card empty-state">
                    <h2>"No host has reported yet"</h2>
                    <p class="muted">
                        "The server samples its own host every second unless " <code>"--system-interval off"</code>
                        " is set. Other hosts report with " <code>"sightline agent --server URL --api-key KEY"</code> "."
                    </p>
                </section>
            })}
        <div class="stat-grid">
            <section class="card stat" data-testid="card-cpu">
                <h2 class="stat-label">"CPU"</h2>
                <p class="stat-value">{card(|s| format!("{:.1} %", s.cpu.total))}</p>
                <p class="stat-foot muted">{card(|s| format!("load {:.2} · {:.2} · {:.2}", s.cpu.load1, s.cpu.load5, s.cpu.load15))}</p>
            </section>
            <section class="card stat" data-testid="card-memory">
                <h2 class="stat-label">"Memory used"</h2>
                <p class="stat-value">{card(|s| format!("{:.1} %", s.memory.used as f64 / s.memory.total.max(1) as f64 * 100.0))}</p>
                <p class="stat-foot muted">{card(|s| format!("{} of {}", format::bytes(s.memory.used as f64), format::bytes(s.memory.total as f64)))}</p>
            </section>
            <section class="card stat" data-testid="card-network">
                <h2 class="stat-label">"Network"</h2>
                <p class="stat-value">{card(|s| format!("{}/s", format::bytes(s.networks.iter().map(|n| n.rx_bytes + n.tx_bytes).sum())))}</p>
                <p class="stat-foot muted">{card(|s| format!("{} TCP connections established", s.tcp.get("established").copied().unwrap_or(0)))}</p>
            </section>
            <section class="card stat" data-testid="card-self">
                <h2 class="stat-label">"Sightline itself"</h2>
                <p class="stat-value">{card(|s| format::bytes(s.own.memory as f64))}</p>
                <p class="stat-foot muted">{card(|s| format!("{:.1} % of a core", s.own.cpu))}</p>
            </section>
        </div>
        <HostCard detail=detail.into() />
        <div class="chart-grid">
            <section class="card chart-card chart-wide">
                <h2>"CPU"</h2>
                <EChart id="chart-cpu" label=label("CPU busy percent, all cores and per core") option=chart(system_view::cpu) />
            </section>
            <section class="card chart-card">
                <h2>"Memory"</h2>
                <EChart id="chart-memory" label=label("Memory in GiB, stacked: used, cache, free, swap") option=chart(system_view::memory) />
            </section>
            <section class="card chart-card">
                <h2>"Disk use"</h2>
                <EChart
                    id="chart-disk-use"
                    label=Signal::derive(|| "Used percent of each mounted filesystem".to_owned())
                    option=move |p| latest.with(|l| system_view::disk_use(l.as_ref(), p))
                />
            </section>
            <section class="card chart-card">
                <h2>"Disk I/O"</h2>
                <EChart id="chart-disk-io" label=label("Disk read and write throughput per device") option=chart(|m, p, w| system_view::throughput(m, p, w, ("disk.read_bytes:*", "read"), ("disk.write_bytes:*", "write"))) />
            </section>
            <section class="card chart-card">
                <h2>"Network"</h2>
                <EChart id="chart-network" label=label("Network received and sent per interface") option=chart(|m, p, w| system_view::throughput(m, p, w, ("net.rx_bytes:*", "in"), ("net.tx_bytes:*", "out"))) />
            </section>
        </div>
        <Gpus latest series window />
        <section class="card">
            <div class="card-head">
                <h2>"Top processes"</h2>
                <span class="muted">"Busiest by CPU and largest by memory, from the latest sample"</span>
            </div>
            <ProcessTable latest />
        </section>
    }
}
