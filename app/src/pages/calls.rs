//! LLM calls: newest first, live, filterable, paged by cursor, each expandable to its details.

use leptos::{ev::SubmitEvent, prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::{
    hooks::{use_navigate, use_query_map},
    NavigateOptions,
};

use crate::{
    api::{self, live, CallQuery},
    components::load::{Load, LoadStatus},
    format,
    types::{live::CallsTopic, Call, CallStatus},
};

/// Rows kept in the page; older ones drop off as live calls arrive.
const MAX_ROWS: usize = 500;

/// Whether a live call belongs in a list filtered by `q`.
fn matches(q: &CallQuery, c: &Call) -> bool {
    let eq = |want: &str, have: Option<&str>| want.trim().is_empty() || have == Some(want.trim());
    eq(&q.model, Some(&c.model))
        && eq(&q.provider, Some(&c.provider))
        && eq(&q.status, Some(c.status.as_str()))
        && eq(&q.session_id, c.session_id.as_deref())
        && eq(&q.user_id, c.user_id.as_deref())
        && eq(&q.feature, c.feature.as_deref())
}

/// Puts live calls on top, newest first, without duplicates, keeping at most MAX_ROWS.
fn merge_live(rows: &mut Vec<Call>, mut new: Vec<Call>) {
    new.retain(|c| !rows.iter().any(|r| r.id == c.id && r.time == c.time));
    new.sort_by(|a, b| b.time.cmp(&a.time).then_with(|| b.id.cmp(&a.id)));
    new.append(rows);
    new.truncate(MAX_ROWS);
    *rows = new;
}

#[component]
pub fn CallsPage() -> impl IntoView {
    let rows = RwSignal::new(Vec::<Call>::new());
    let next = RwSignal::new(None::<String>);
    let load = RwSignal::new(Load::Loading);
    // The filters live in the URL, so a filtered view can be shared and survives reloads.
    let url = use_query_map();
    let from_url = move || url.with(|m| CallQuery::from_pairs(|k| m.get_str(k)));
    let applied = RwSignal::new(from_url());
    let draft = RwSignal::new(from_url());
    let navigate = use_navigate();
    let open = RwSignal::new(None::<(String, i64)>);
    // Live calls heard since the last first page was asked for: a page read before their
    // commit must not drop them when it arrives after them.
    let heard = RwSignal::new(Vec::<Call>::new());

    let fetch_first = move || {
        load.set(Load::Loading);
        heard.set(Vec::new());
        spawn_local(async move {
            match api::list_calls(applied.get_untracked()).await {
                Ok(page) => {
                    rows.set(page.calls);
                    let since = heard.get_untracked();
                    if !since.is_empty() {
                        rows.update(|r| merge_live(r, since));
                    }
                    next.set(page.next);
                    load.set(Load::Ready);
                }
                Err(e) => load.set(Load::Failed(e.message().to_owned())),
            }
        });
    };
    // Runs in the browser only: a first page whenever the URL's filters change...
    Effect::new(move |_| {
        let q = from_url();
        draft.set(q.clone());
        applied.set(q);
        fetch_first();
    });
    // ...and one live subscription for the page's lifetime.
    Effect::new(move |_| {
        live::subscribe::<CallsTopic>(move |msg| match msg {
            live::LiveMessage::Data(calls) => {
                let q = applied.get_untracked();
                let fresh: Vec<Call> = calls.into_iter().filter(|c| matches(&q, c)).collect();
                if !fresh.is_empty() {
                    heard.update(|h| {
                        h.extend(fresh.iter().cloned());
                        let over = h.len().saturating_sub(MAX_ROWS);
                        h.drain(..over);
                    });
                    rows.update(|r| merge_live(r, fresh));
                }
            }
            live::LiveMessage::Resync => fetch_first(),
        });
    });

    let apply = move |ev: SubmitEvent| {
        ev.prevent_default();
        let target = format!("/calls{}", draft.get_untracked().url_query());
        navigate(&target, NavigateOptions::default());
    };
    let load_more = move |_| {
        let Some(cursor) = next.get_untracked() else {
            return;
        };
        let q = CallQuery {
            cursor: Some(cursor),
            ..applied.get_untracked()
        };
        spawn_local(async move {
            match api::list_calls(q).await {
                Ok(page) => {
                    rows.update(|r| r.extend(page.calls));
                    next.set(page.next);
                }
                Err(e) => load.set(Load::Failed(e.message().to_owned())),
            }
        });
    };
    let field = move |label: &'static str,
                      get: fn(&CallQuery) -> String,
                      set: fn(&mut CallQuery, String)| {
        view! {
            <label class="field">
                <span>{label}</span>
                <input
                    type="text"
                    prop:value=move || draft.with(get)
                    on:input=move |ev| draft.update(|d| set(d, event_target_value(&ev)))
                />
            </label>
        }
    };

    view! {
        <Title text="LLM calls" />
        <div class="page-header page-header-row">
            <div>
                <h1>"LLM calls"</h1>
                <p class="muted">"Every call your apps report, newest first. New calls appear as they are stored."</p>
            </div>
            <span class="badge badge-ok live-badge" title="Updates stream in live">"● Live"</span>
        </div>

        <form class="card form form-inline filters" on:submit=apply aria-label="Filter calls">
            {field("Model", |q| q.model.clone(), |q, v| q.model = v)}
            {field("Provider", |q| q.provider.clone(), |q, v| q.provider = v)}
            <label class="field">
                <span>"Status"</span>
                <select
                    prop:value=move || draft.with(|d| d.status.clone())
                    on:change=move |ev| draft.update(|d| d.status = event_target_value(&ev))
                >
                    <option value="">"Any"</option>
                    <option value="ok">"OK"</option>
                    <option value="error">"Error"</option>
                    <option value="timeout">"Timeout"</option>
                    <option value="cancelled">"Cancelled"</option>
                </select>
            </label>
            {field("Session", |q| q.session_id.clone(), |q, v| q.session_id = v)}
            {field("User", |q| q.user_id.clone(), |q, v| q.user_id = v)}
            {field("Feature", |q| q.feature.clone(), |q, v| q.feature = v)}
            <label class="field">
                <span>"Time"</span>
                <select
                    prop:value=move || draft.with(|d| d.since.clone())
                    on:change=move |ev| draft.update(|d| d.since = event_target_value(&ev))
                >
                    <option value="">"All time"</option>
                    <option value="15m">"Last 15 minutes"</option>
                    <option value="1h">"Last hour"</option>
                    <option value="24h">"Last 24 hours"</option>
                    <option value="7d">"Last 7 days"</option>
                    <option value="30d">"Last 30 days"</option>
                </select>
            </label>
            <button type="submit" class="button button-primary">"Apply"</button>
        </form>

        <section class="card" aria-label="Calls">
            <LoadStatus load what="calls" retry=Callback::new(move |_| fetch_first()) />
            {move || match load.get() {
                Load::Loading | Load::Failed(_) => ().into_any(),
                Load::Ready if rows.with(Vec::is_empty) => view! {
                    <div class="empty">
                        <p>"No calls match yet. Report one with an API key:"</p>
                        <pre class="snippet">"curl -X POST /api/v1/llm/calls -H 'Authorization: Bearer sl_…' \\\n  -H 'Content-Type: application/json' \\\n  -d '{\"calls\":[{\"provider\":\"openai\",\"model\":\"gpt-4o-mini\",\"duration_ms\":850,\"input_tokens\":1000,\"output_tokens\":200}]}'"</pre>
                    </div>
                }.into_any(),
                Load::Ready => view! { <CallTable rows open /> }.into_any(),
            }}
            <Show when=move || next.with(Option::is_some)>
                <button type="button" class="button load-more" on:click=load_more>"Load more"</button>
            </Show>
        </section>
    }
}

#[component]
fn CallTable(rows: RwSignal<Vec<Call>>, open: RwSignal<Option<(String, i64)>>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table calls-table">
                <thead>
                    <tr>
                        <th scope="col">"Time (UTC)"</th>
                        <th scope="col">"Model"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col" class="num">"Duration"</th>
                        <th scope="col" class="num">"TTFT"</th>
                        <th scope="col" class="num">"Tokens in / out"</th>
                        <th scope="col" class="num">"Tokens/s"</th>
                        <th scope="col" class="num">"Cost"</th>
                        <th scope="col">"Session"</th>
                    </tr>
                </thead>
                <For
                    each=move || rows.get()
                    key=|c| (c.id.clone(), c.time.timestamp_micros())
                    children=move |c| view! { <CallRows call=c open /> }
                />
            </table>
        </div>
    }
}

/// A call's summary row and, when opened, its details.
#[component]
fn CallRows(call: Call, open: RwSignal<Option<(String, i64)>>) -> impl IntoView {
    let key = (call.id.clone(), call.time.timestamp_micros());
    let is_open = {
        let key = key.clone();
        Memo::new(move |_| open.get().as_ref() == Some(&key))
    };
    let toggle = move |_| {
        open.update(|o| {
            *o = if o.as_ref() == Some(&key) {
                None
            } else {
                Some(key.clone())
            }
        })
    };
    let (badge, label) = match call.status {
        CallStatus::Ok => ("badge badge-ok", "OK"),
        CallStatus::Error => ("badge badge-error", "Error"),
        CallStatus::Timeout => ("badge badge-error", "Timeout"),
        CallStatus::Cancelled => ("badge badge-muted", "Cancelled"),
    };
    let details = call.clone();
    view! {
        <tbody class="call">
            <tr>
                <td data-label="Time">
                    <button
                        type="button"
                        class="link-button"
                        aria-expanded=move || is_open.get().to_string()
                        on:click=toggle
                    >
                        {call.time.format("%Y-%m-%d %H:%M:%S").to_string()}
                    </button>
                </td>
                <td data-label="Model">
                    <span class="model">{call.model.clone()}</span>
                    <span class="muted sub">{call.provider.clone()}</span>
                </td>
                <td data-label="Status"><span class=badge>{label}</span></td>
                <td data-label="Duration" class="num">{format::millis(call.duration_ms)}</td>
                <td data-label="TTFT" class="num">{call.ttft_ms.map(format::millis).unwrap_or_else(|| "–".into())}</td>
                <td data-label="Tokens" class="num">
                    {format!("{} / {}", format::count(call.input_tokens), format::count(call.output_tokens))}
                </td>
                <td data-label="Tokens/s" class="num">
                    {call.tokens_per_second.map(|t| format!("{t:.1}")).unwrap_or_else(|| "–".into())}
                </td>
                <td data-label="Cost" class="num">{format::usd_micros(call.cost_total_micros)}</td>
                <td data-label="Session">{call.session_id.clone().unwrap_or_else(|| "–".into())}</td>
            </tr>
            <Show when=move || is_open.get()>
                <tr class="call-detail">
                    <td colspan="9">{view! { <CallDetail call=details.clone() /> }.into_any()}</td>
                </tr>
            </Show>
        </tbody>
    }
}

#[component]
fn CallDetail(call: Call) -> impl IntoView {
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "–".into());
    let items: Vec<(&str, String)> = vec![
        ("Call id", call.id.clone()),
        ("Trace id", opt(&call.trace_id)),
        ("User", opt(&call.user_id)),
        ("Feature", opt(&call.feature)),
        ("Response model", opt(&call.response_model)),
        (
            "HTTP status",
            call.http_status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "–".into()),
        ),
        (
            "Streaming",
            call.streaming_ms
                .map(format::millis)
                .unwrap_or_else(|| "–".into()),
        ),
        ("Cached tokens", format::count(call.cached_tokens)),
        ("Reasoning tokens", format::count(call.reasoning_tokens)),
        ("Input cost", format::usd_micros(call.cost_input_micros)),
        ("Output cost", format::usd_micros(call.cost_output_micros)),
        ("Tool calls", call.tool_calls.to_string()),
        (
            "Quality",
            call.quality_score
                .map(|q| format!("{q:.0} / 100"))
                .unwrap_or_else(|| "–".into()),
        ),
        (
            "User rating",
            call.user_rating
                .map(|r| format!("{r} / 5"))
                .unwrap_or_else(|| "–".into()),
        ),
    ];
    let error = call.error_message.clone().or(call.error_type.clone());
    let metadata = call
        .metadata
        .as_ref()
        .and_then(|m| serde_json::to_string_pretty(m).ok());
    view! {
        <div class="detail">
            <dl class="detail-grid">
                {items
                    .into_iter()
                    .map(|(k, v)| view! { <div><dt>{k}</dt><dd>{v}</dd></div> })
                    .collect_view()}
            </dl>
            {error.map(|e| view! { <p class="alert alert-error">{e}</p> })}
            {metadata.map(|m| view! { <pre class="snippet" aria-label="Metadata">{m}</pre> })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn call(id: &str, secs: u32, model: &str) -> Call {
        Call {
            id: id.into(),
            time: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, secs).unwrap(),
            trace_id: None,
            session_id: Some("s1".into()),
            user_id: None,
            feature: None,
            provider: "openai".into(),
            model: model.into(),
            response_model: None,
            status: CallStatus::Ok,
            error_type: None,
            error_message: None,
            http_status: None,
            ttft_ms: None,
            streaming_ms: None,
            duration_ms: 1.0,
            input_tokens: 0,
            output_tokens: 0,
            cached_tokens: 0,
            reasoning_tokens: 0,
            tokens_per_second: None,
            cost_input_micros: None,
            cost_output_micros: None,
            cost_total_micros: None,
            tool_calls: 0,
            quality_score: None,
            user_rating: None,
            metadata: None,
        }
    }

    #[test]
    fn live_calls_go_on_top_once() {
        let mut rows = vec![call("b", 2, "m"), call("a", 1, "m")];
        merge_live(
            &mut rows,
            vec![call("c", 3, "m"), call("b", 2, "m"), call("d", 4, "m")],
        );
        let ids: Vec<&str> = rows.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, vec!["d", "c", "b", "a"]);
    }

    #[test]
    fn live_calls_respect_the_filters() {
        let q = CallQuery {
            model: "gpt-4o".into(),
            status: "ok".into(),
            ..Default::default()
        };
        assert!(matches(&q, &call("x", 1, "gpt-4o")));
        assert!(!matches(&q, &call("x", 1, "claude")));
        let q = CallQuery {
            session_id: "other".into(),
            ..Default::default()
        };
        assert!(!matches(&q, &call("x", 1, "gpt-4o")));
    }
}
