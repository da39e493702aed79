//! Sessions (calls sharing a `session_id`): a list with totals, and one session's timeline
//! and calls.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use crate::{
    api,
    components::{
        load::{Load, LoadStatus},
        range::{Range, RangePicker},
    },
    format,
    pages::users_summary::UsersSummary,
    types::{Call, SessionDetail, SessionSummary},
};

fn cost(s: &SessionSummary) -> String {
    format::usd_micros(s.cost_micros)
}

#[component]
pub fn SessionsPage() -> impl IntoView {
    let url = use_query_map();
    let range = Signal::derive(move || url.with(|m| Range::from_query(|k| m.get_str(k))));
    let rows = RwSignal::new(Vec::<SessionSummary>::new());
    let next = RwSignal::new(None::<String>);
    let load = RwSignal::new(Load::Loading);
    // A link from the top users opens their sessions.
    let user = RwSignal::new(url.with_untracked(|m| m.get("user").unwrap_or_default()));

    let fetch = move |cursor: Option<String>| {
        let params = range.get_untracked().api_params();
        let more = cursor.is_some();
        spawn_local(async move {
            match api::list_sessions(params, user.get_untracked(), cursor).await {
                Ok(page) => {
                    if more {
                        rows.update(|r| r.extend(page.sessions));
                    } else {
                        rows.set(page.sessions);
                    }
                    next.set(page.next);
                    load.set(Load::Ready);
                }
                Err(e) => load.set(Load::Failed(e.message().to_owned())),
            }
        });
    };
    Effect::new(move |_| {
        range.track();
        // A top user's link (`?user=`) narrows the list to them.
        if let Some(u) = url.with(|m| m.get("user")) {
            user.set(u);
        }
        load.set(Load::Loading);
        fetch(None);
    });

    view! {
        <Title text="Sessions" />
        <div class="page-header page-header-row">
            <div>
                <h1>"Sessions"</h1>
                <p class="muted">"Calls grouped by session id, latest activity first · " {move || range.get().describe()}</p>
            </div>
            <RangePicker range />
        </div>
        <UsersSummary range />
        <form
            class="card form form-inline filters"
            aria-label="Filter sessions"
            on:submit=move |ev| {
                ev.prevent_default();
                load.set(Load::Loading);
                fetch(None);
            }
        >
            <label class="field">
                <span>"User"</span>
                <input type="text" prop:value=user on:input=move |ev| user.set(event_target_value(&ev)) />
            </label>
            <button type="submit" class="button button-primary">"Apply"</button>
        </form>
        <section class="card" aria-live="polite">
            <LoadStatus load what="sessions" retry=Callback::new(move |_| fetch(None)) />
            {move || match load.get() {
                Load::Loading | Load::Failed(_) => ().into_any(),
                Load::Ready if rows.with(Vec::is_empty) => view! {
                    <div class="empty">
                        <p>"No sessions in this range. Calls join a session when they carry a "
                        <code>"session_id"</code> "."</p>
                    </div>
                }.into_any(),
                Load::Ready => view! {
                    <div class="table-wrap">
                        <table class="table sessions-table">
                            <thead>
                                <tr>
                                    <th scope="col">"Session"</th>
                                    <th scope="col">"User"</th>
                                    <th scope="col">"Last call"</th>
                                    <th scope="col" class="num">"Calls"</th>
                                    <th scope="col" class="num">"Errors"</th>
                                    <th scope="col" class="num">"Tokens"</th>
                                    <th scope="col" class="num">"Avg latency"</th>
                                    <th scope="col" class="num">"Cost"</th>
                                </tr>
                            </thead>
                            <tbody>
                                <For
                                    each=move || rows.get()
                                    key=|s| s.session_id.clone()
                                    children=move |s| {
                                        let href = format!("/sessions/{}", api::url_encode_component(&s.session_id));
                                        view! {
                                            <tr>
                                                <td data-label="Session"><a href=href class="mono">{s.session_id.clone()}</a></td>
                                                <td data-label="User">{s.user_id.clone().unwrap_or_else(|| "—".into())}</td>
                                                <td data-label="Last call" class="mono">{s.last_call.format("%Y-%m-%d %H:%M:%S").to_string()}</td>
                                                <td data-label="Calls" class="num">{format::count(s.calls)}</td>
                                                <td data-label="Errors" class="num">{format::count(s.errors)}</td>
                                                <td data-label="Tokens" class="num">{format::count(s.input_tokens + s.output_tokens)}</td>
                                                <td data-label="Avg latency" class="num">{format::millis(s.avg_duration_ms)}</td>
                                                <td data-label="Cost" class="num">{cost(&s)}</td>
                                            </tr>
                                        }
                                    }
                                />
                            </tbody>
                        </table>
                    </div>
                }.into_any(),
            }}
            <Show when=move || next.with(Option::is_some)>
                <button type="button" class="button load-more" on:click=move |_| fetch(next.get_untracked())>"Load more"</button>
            </Show>
        </section>
    }
}

/// Where each call sits on the session's timeline, as percentages of its span.
fn timeline(calls: &[Call]) -> Vec<(f64, f64)> {
    let Some(start) = calls.iter().map(|c| c.time).min() else {
        return Vec::new();
    };
    let end = calls
        .iter()
        .map(|c| c.time.timestamp_millis() as f64 + c.duration_ms)
        .fold(start.timestamp_millis() as f64 + 1.0, f64::max);
    let span = end - start.timestamp_millis() as f64;
    calls
        .iter()
        .map(|c| {
            let left = (c.time.timestamp_millis() - start.timestamp_millis()) as f64 / span * 100.0;
            let width = (c.duration_ms / span * 100.0).max(0.4);
            (left, width.min(100.0 - left).max(0.4))
        })
        .collect()
}

#[component]
pub fn SessionPage() -> impl IntoView {
    let params = use_params_map();
    let id = Signal::derive(move || params.with(|p| p.get("id").unwrap_or_default()));
    let detail = RwSignal::new(None::<SessionDetail>);
    let load = RwSignal::new(Load::Loading);
    let confirm = RwSignal::new(false);
    let navigate = use_navigate();
    // Bumped by Retry to fetch again.
    let reload = RwSignal::new(());
    Effect::new(move |_| {
        reload.track();
        let id = id.get();
        load.set(Load::Loading);
        spawn_local(async move {
            match api::session(id).await {
                Ok(d) => {
                    detail.set(Some(d));
                    load.set(Load::Ready);
                }
                Err(e) => load.set(Load::Failed(e.message().to_owned())),
            }
        });
    });
    let delete = move |_| {
        let navigate = navigate.clone();
        spawn_local(async move {
            match api::delete_session(id.get_untracked()).await {
                Ok(_) => navigate("/sessions", Default::default()),
                Err(e) => load.set(Load::Failed(e.message().to_owned())),
            }
        });
    };

    view! {
        <Title text="Session" />
        <div class="page-header page-header-row">
            <div>
                <p class="muted"><a href="/sessions">"← Sessions"</a></p>
                <h1 class="mono session-title">{move || id.get()}</h1>
            </div>
            <div class="confirm">
                <Show
                    when=move || confirm.get()
                    fallback=move || view! {
                        <button type="button" class="button button-danger-ghost" on:click=move |_| confirm.set(true)>
                            "Delete session data"
                        </button>
                    }
                >
                    <span>"Delete every call of this session?"</span>
                    <button type="button" class="button button-danger" on:click=delete.clone()>"Delete"</button>
                    <button type="button" class="button button-ghost" on:click=move |_| confirm.set(false)>"Keep"</button>
                </Show>
            </div>
        </div>
        <LoadStatus load what="the session" retry=Callback::new(move |_| reload.notify()) />
        {move || load.get().is_ready().then(|| detail.get().map(|d| view! { <SessionView d /> }))}
    }
}

#[component]
fn SessionView(d: SessionDetail) -> impl IntoView {
    let s = d.summary.clone();
    let bars = timeline(&d.calls);
    let stat = |label: &'static str, value: String| {
        view! {
            <section class="card stat">
                <h2 class="stat-label">{label}</h2>
                <p class="stat-value">{value}</p>
            </section>
        }
    };
    view! {
        <div class="stat-grid">
            {stat("Calls", format::count(s.calls))}
            {stat("Errors", format::count(s.errors))}
            {stat("Tokens", format::compact((s.input_tokens + s.output_tokens) as f64))}
            {stat("Cost", cost(&s))}
            {stat("Avg latency", format::millis(s.avg_duration_ms))}
        </div>
        <section class="card">
            <div class="card-head">
                <h2>"Timeline"</h2>
                <span class="muted">
                    {s.first_call.format("%Y-%m-%d %H:%M:%S").to_string()} " → "
                    {s.last_call.format("%H:%M:%S").to_string()} " UTC · "
                    {s.models.join(", ")}
                    {s.user_id.clone().map(|u| format!(" · user {u}"))}
                </span>
            </div>
            <ol class="timeline" aria-label="Calls over the session, by start and duration">
                {d.calls.iter().zip(bars).map(|(c, (left, width))| {
                    let status = c.status.as_str();
                    let tip = format!("{} · {} · {} · {} tokens", c.time.format("%H:%M:%S"), c.model, format::millis(c.duration_ms), c.input_tokens + c.output_tokens);
                    let sr_text = tip.clone();
                    view! {
                        <li class="timeline-row">
                            <span class="timeline-label ellipsis">{c.model.clone()}</span>
                            <span class="timeline-track">
                                <span class=format!("timeline-bar timeline-{status}") style=format!("left:{left:.2}%;width:{width:.2}%") title=tip>
                                    <span class="visually-hidden">{sr_text}</span>
                                </span>
                            </span>
                        </li>
                    }
                }).collect_view()}
            </ol>
            {d.truncated.then(|| view! { <p class="muted">"Showing the first 1000 calls."</p> })}
        </section>
        <section class="card">
            <h2>"Calls"</h2>
            <div class="table-wrap">
                <table class="table">
                    <thead>
                        <tr>
                            <th scope="col">"Time (UTC)"</th>
                            <th scope="col">"Model"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col" class="num">"Duration"</th>
                            <th scope="col" class="num">"Tokens in / out"</th>
                            <th scope="col" class="num">"Cost"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {d.calls.into_iter().map(|c| {
                            let status = c.status.as_str();
                            view! {
                                <tr>
                                    <td data-label="Time" class="mono">{c.time.format("%H:%M:%S%.3f").to_string()}</td>
                                    <td data-label="Model">{c.model.clone()}</td>
                                    <td data-label="Status"><span class=format!("badge badge-{status}")>{status}</span></td>
                                    <td data-label="Duration" class="num">{format::millis(c.duration_ms)}</td>
                                    <td data-label="Tokens" class="num">{format!("{} / {}", format::count(c.input_tokens), format::count(c.output_tokens))}</td>
                                    <td data-label="Cost" class="num">{format::usd_micros(c.cost_total_micros)}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_places_calls_by_start_and_duration() {
        let t0: chrono::DateTime<chrono::Utc> = "2026-05-01T10:00:00Z".parse().unwrap();
        let call = |secs: i64, ms: f64| Call {
            time: t0 + chrono::Duration::seconds(secs),
            duration_ms: ms,
            ..Default::default()
        };
        let bars = timeline(&[call(0, 1000.0), call(5, 5000.0)]);
        assert_eq!(bars.len(), 2);
        assert_eq!(bars[0].0, 0.0);
        assert!((bars[0].1 - 10.0).abs() < 1e-9);
        assert!((bars[1].0 - 50.0).abs() < 1e-9);
        assert!((bars[1].1 - 50.0).abs() < 1e-9);
        assert!(timeline(&[]).is_empty());
    }
}
