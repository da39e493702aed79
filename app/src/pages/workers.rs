//! The Workers panel (`/ai/workers`): apps' AI workers from their heartbeats, live. Counts
//! by state now and per minute, and the list with each worker's state, task and last
//! heartbeat; a lost worker can be forgotten.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    api::{
        self,
        live::{subscribe, LiveMessage},
    },
    charts,
    components::{
        chart::{EChart, Palette},
        layout::AiTabs,
        load::{Load, LoadStatus},
        range::{Range, RangePicker, DB_PRESETS},
    },
    format,
    types::{
        live::WorkersTopic,
        workers::{
            mean_batch_efficiency, CountsPoint, StateCounts, Worker, WorkerState, WorkersOverview,
            WorkersTick,
        },
    },
};

/// How often "last seen" ages on screen.
#[cfg(feature = "hydrate")]
const AGE_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

fn state_title(s: WorkerState) -> &'static str {
    match s {
        WorkerState::Active => "Active",
        WorkerState::Busy => "Busy",
        WorkerState::Idle => "Idle",
        WorkerState::Error => "Error",
        WorkerState::Lost => "Lost",
    }
}

fn badge_class(s: WorkerState) -> &'static str {
    match s {
        WorkerState::Active | WorkerState::Busy => "badge badge-ok",
        WorkerState::Idle => "badge badge-muted",
        WorkerState::Error => "badge badge-error",
        WorkerState::Lost => "badge badge-warn",
    }
}

/// "12 s ago", "4 min ago", "3 h ago".
fn ago(secs: i64) -> String {
    match secs.max(0) {
        s if s < 60 => format!("{s} s ago"),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3600),
        s => format!("{} d ago", s / 86_400),
    }
}

/// A worker's batch as "12 / 32 (38 %)"; a dash when it does not report batches.
fn batch_text(w: &Worker) -> String {
    match (w.batch_size, w.batch_capacity, w.batch_efficiency) {
        (Some(s), Some(c), Some(e)) => {
            format!("{} / {c} ({:.0} %)", format::plain_number(s), e * 100.0)
        }
        (Some(s), None, _) => format::plain_number(s),
        _ => "—".into(),
    }
}

/// Folds a live tick into the view: workers replaced by name, the counts, and the minute's
/// point of the chart.
fn apply(d: &mut WorkersOverview, tick: WorkersTick, role: Option<&str>) {
    for w in tick.workers {
        if role.is_some_and(|r| r != w.role) {
            continue;
        }
        match d.workers.iter_mut().find(|o| o.name == w.name) {
            Some(o) => *o = w,
            None => {
                let at = d.workers.partition_point(|o| o.name < w.name);
                d.workers.insert(at, w);
            }
        }
    }
    d.batch_efficiency = mean_batch_efficiency(&d.workers);
    d.counts = if role.is_some() {
        StateCounts::of(&d.workers)
    } else {
        tick.counts
    };
    let minute = tick.time.timestamp() / 60 * 60;
    let Some(time) = chrono::DateTime::from_timestamp(minute, 0) else {
        return;
    };
    // The chart counts every worker, whatever the role filter.
    match d.series.last_mut() {
        Some(p) if p.time == time => p.counts = tick.counts,
        _ => d.series.push(CountsPoint {
            time,
            counts: tick.counts,
        }),
    }
    d.to = d.to.max(tick.time);
}

#[component]
fn StateCard(state: WorkerState, data: RwSignal<Option<WorkersOverview>>) -> impl IntoView {
    let n = move || data.with(|d| d.as_ref().map_or(0, |d| d.counts.get(state)));
    view! {
        <section class="card stat" data-testid=format!("workers-{}", state.as_str())>
            <h2 class="stat-label">{state_title(state)}</h2>
            <p class="stat-value">{move || n().to_string()}</p>
        </section>
    }
}

#[component]
fn WorkerRow(
    w: Worker,
    now: RwSignal<chrono::DateTime<chrono::Utc>>,
    on_forget: Callback<String>,
) -> impl IntoView {
    let last_seen = w.last_seen;
    let lost = w.state == WorkerState::Lost;
    let name = w.name.clone();
    let reported = (w.state != w.reported_state)
        .then(|| format!("last reported {}", w.reported_state.as_str()));
    view! {
        <tr data-testid="worker-row" data-state=w.state.as_str()>
            <td data-label="Worker"><strong>{w.name.clone()}</strong></td>
            <td data-label="Role">{if w.role.is_empty() { "—".to_owned() } else { w.role.clone() }}</td>
            <td data-label="State">
                <span class=badge_class(w.state) title=reported>{w.state.as_str()}</span>
            </td>
            <td data-label="Task">{w.task.clone().unwrap_or_else(|| "—".into())}</td>
            <td class="num" data-label="Tasks done">{w.tasks_done.map_or_else(|| "—".into(), |n| format::count(n as i64))}</td>
            <td class="num" data-label="CPU">{w.cpu_percent.map_or_else(|| "—".into(), |c| format!("{c:.1} %"))}</td>
            <td class="num" data-label="Batch" title="requests in the batch / the most it holds">{batch_text(&w)}</td>
            <td class="num" data-label="Last heartbeat" title=last_seen.format("%Y-%m-%d %H:%M:%S UTC").to_string()>
                {move || ago((now.get() - last_seen).num_seconds())}
            </td>
            <td class="actions">
                {lost.then(|| view! {
                    <button type="button" class="button button-ghost"
                        aria-label=format!("Forget worker {name}")
                        on:click=move |_| on_forget.run(name.clone())>
                        "Forget"
                    </button>
                })}
            </td>
        </tr>
    }
}

#[component]
pub fn WorkersPage() -> impl IntoView {
    let url = use_query_map();
    let range = Signal::derive(move || {
        url.with(|m| Range::from_query_in(DB_PRESETS, "1h", |k| m.get_str(k)))
    });
    let role = RwSignal::new(String::new());
    let data = RwSignal::new(None::<WorkersOverview>);
    let load = RwSignal::new(Load::Loading);
    let action_error = RwSignal::new(None::<String>);
    let now = RwSignal::new(format::now());

    let fetch = move || {
        let mut params = match range.get_untracked() {
            Range::Preset(p) => vec![("range", p)],
            Range::Days { .. } => vec![("range", "1h".to_owned())],
        };
        let r = role.get_untracked();
        if !r.is_empty() {
            params.push(("role", r));
        }
        spawn_local(async move {
            match api::workers_overview(params).await {
                Ok(d) => {
                    now.set(format::now());
                    data.set(Some(d));
                    load.set(Load::Ready);
                }
                Err(e) => load.set(Load::Failed(e.message().to_owned())),
            }
        });
    };
    Effect::new(move |_| {
        range.track();
        role.track();
        load.set(Load::Loading);
        fetch();
    });
    subscribe::<WorkersTopic>(move |m| match m {
        LiveMessage::Data(tick) => {
            let r = role.get_untracked();
            let r = (!r.is_empty()).then_some(r);
            now.set(format::now());
            data.update(|d| {
                if let Some(d) = d {
                    apply(d, tick, r.as_deref());
                }
            });
        }
        LiveMessage::Resync => fetch(),
    });
    #[cfg(feature = "hydrate")]
    {
        if let Ok(h) = set_interval_with_handle(move || now.set(format::now()), AGE_EVERY) {
            on_cleanup(move || h.clear());
        }
    }

    let forget = Callback::new(move |name: String| {
        action_error.set(None);
        spawn_local(async move {
            match api::delete_worker(&name).await {
                Ok(_) => data.update(|d| {
                    if let Some(d) = d {
                        d.workers.retain(|w| w.name != name);
                        d.counts = StateCounts::of(&d.workers);
                    }
                }),
                Err(e) => action_error.set(Some(e.message().to_owned())),
            }
        });
    });

    let chart = move |p: &Palette| {
        data.with(|d| {
            d.as_ref()
                .map(|d| charts::worker_states(d, p))
                .unwrap_or_else(charming::Chart::new)
        })
    };
    let label = Signal::derive(move || {
        format!(
            "Workers by state per minute, {}",
            range.get().describe().to_lowercase()
        )
    });
    let ready = move || load.get().is_ready() || data.with(Option::is_some);
    let lost_after = move || data.with(|d| d.as_ref().map_or(0, |d| d.lost_after_s));
    let roles = move || data.with(|d| d.as_ref().map(|d| d.roles.clone()).unwrap_or_default());

    view! {
        <Title text="Workers" />
        <AiTabs />
        <div class="page-header page-header-row">
            <div>
                <h1>"Workers"</h1>
                <p class="muted">
                    "AI workers from their heartbeats · lost after "
                    {move || format!("{} s", lost_after())} " of silence · "
                    <span class="live-dot" aria-hidden="true"></span> " live"
                </p>
            </div>
            <div class="toolbar">
                <label class="host-picker">
                    <span class="muted">"Role"</span>
                    <select
                        aria-label="Role"
                        prop:value=move || role.get()
                        on:change=move |ev| role.set(event_target_value(&ev))
                    >
                        <option value="">"All roles"</option>
                        {move || roles().into_iter().map(|r| view! { <option value=r.clone()>{r.clone()}</option> }).collect_view()}
                    </select>
                </label>
                <RangePicker range presets=DB_PRESETS days=false />
            </div>
        </div>
        <LoadStatus load what="workers" retry=Callback::new(move |_| fetch()) />
        {move || action_error.get().map(|e| view! { <p class="alert alert-error" role="alert">{e}</p> })}
        <Show when=ready>
            <div class="stat-grid">
                {WorkerState::ALL.into_iter().map(|state| view! { <StateCard state data /> }).collect_view()}
            </div>
            <section class="card chart-card">
                <h2>"Workers by state"</h2>
                <EChart id="chart-workers" label option=chart />
            </section>
            <section class="card" data-testid="workers-list">
                <div class="card-head">
                    <h2>"Workers"</h2>
                    <span class="muted" data-testid="workers-summary">{move || data.with(|d| d.as_ref().map_or(String::new(), |d| {
                        let batches = d.batch_efficiency.map(|e| format!(" · batches {:.0} % full on average", e * 100.0)).unwrap_or_default();
                        format!("{} in all{batches}", d.workers.len())
                    }))}</span>
                </div>
                {move || data.with(|d| {
                    let list = d.as_ref().map(|d| d.workers.clone()).unwrap_or_default();
                    if list.is_empty() {
                        return view! {
                            <div class="empty-state" data-testid="no-workers">
                                <p>"No worker has sent a heartbeat yet."</p>
                                <p class="muted">
                                    "Each worker posts its state every few seconds with an API key that has the ingest scope:"
                                </p>
                                <pre class="snippet"><code>{r#"curl -X POST http://HOST/api/v1/workers/heartbeats \
    -H "Authorization: Bearer $SIGHTLINE_KEY" -H "Content-Type: application/json" \
    -d '{"workers":[{"name":"embedder-1","role":"embedder","state":"busy","task":"batch 42","tasks_done":17,"cpu_percent":63.5}]}'"#}</code></pre>
                            </div>
                        }.into_any();
                    }
                    view! {
                        <div class="table-wrap">
                            <table class="table">
                                <thead><tr>
                                    <th scope="col">"Worker"</th>
                                    <th scope="col">"Role"</th>
                                    <th scope="col">"State"</th>
                                    <th scope="col">"Task"</th>
                                    <th scope="col" class="num">"Tasks done"</th>
                                    <th scope="col" class="num">"CPU"</th>
                                    <th scope="col" class="num">"Batch"</th>
                                    <th scope="col" class="num">"Last heartbeat"</th>
                                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|w| view! { <WorkerRow w now on_forget=forget /> }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any()
                })}
            </section>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn worker(name: &str, role: &str, state: WorkerState) -> Worker {
        let t: DateTime<Utc> = "2026-12-01T12:00:30Z".parse().unwrap();
        Worker {
            name: name.into(),
            role: role.into(),
            state,
            reported_state: state,
            task: None,
            tasks_done: None,
            cpu_percent: None,
            batch_size: None,
            batch_capacity: None,
            batch_efficiency: None,
            first_seen: t,
            last_seen: t,
        }
    }

    fn overview() -> WorkersOverview {
        let t: DateTime<Utc> = "2026-12-01T12:00:00Z".parse().unwrap();
        WorkersOverview {
            from: t,
            to: t,
            lost_after_s: 60,
            counts: StateCounts::default(),
            series: vec![],
            roles: vec![],
            batch_efficiency: None,
            workers: vec![
                worker("a", "chat", WorkerState::Idle),
                worker("c", "embed", WorkerState::Busy),
            ],
        }
    }

    #[test]
    fn a_tick_replaces_adds_in_order_and_extends_the_minute() {
        let mut d = overview();
        let time: DateTime<Utc> = "2026-12-01T12:01:10Z".parse().unwrap();
        let counts = StateCounts {
            busy: 2,
            lost: 1,
            ..Default::default()
        };
        apply(
            &mut d,
            WorkersTick {
                time,
                counts,
                workers: vec![
                    worker("b", "chat", WorkerState::Busy),
                    worker("a", "chat", WorkerState::Lost),
                ],
            },
            None,
        );
        let names: Vec<&str> = d.workers.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(d.workers[0].state, WorkerState::Lost);
        assert_eq!(d.counts, counts);
        assert_eq!(d.series.len(), 1);
        assert_eq!(d.series[0].time.to_rfc3339(), "2026-12-01T12:01:00+00:00");
        // A second tick in the same minute updates that point.
        apply(
            &mut d,
            WorkersTick {
                time: time + chrono::Duration::seconds(20),
                counts: StateCounts::default(),
                workers: vec![],
            },
            None,
        );
        assert_eq!(d.series.len(), 1);
        assert_eq!(d.series[0].counts, StateCounts::default());
    }

    #[test]
    fn a_role_filter_keeps_other_roles_out() {
        let mut d = overview();
        d.workers.retain(|w| w.role == "chat");
        apply(
            &mut d,
            WorkersTick {
                time: Utc::now(),
                counts: StateCounts::default(),
                workers: vec![worker("z", "embed", WorkerState::Busy)],
            },
            Some("chat"),
        );
        assert_eq!(d.workers.len(), 1);
        assert_eq!(d.counts.idle, 1);
    }

    #[test]
    fn ages_read_in_the_largest_unit() {
        assert_eq!(ago(5), "5 s ago");
        assert_eq!(ago(125), "2 min ago");
        assert_eq!(ago(7200), "2 h ago");
        assert_eq!(ago(-3), "0 s ago");
    }
}
