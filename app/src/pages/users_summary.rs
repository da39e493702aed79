//! Users on the Sessions page: active users over the last hour, day and week, session
//! lengths and calls per session over the range, and the top users by cost and by tokens,
//! all from rollups.

use leptos::{prelude::*, task::spawn_local};

use crate::{
    api,
    components::{
        load::{Load, LoadStatus},
        range::Range,
    },
    format,
    types::{UserFigures, UsersOverview},
};

/// A length in seconds as people read it: "42 s", "12 min", "3.5 h".
fn span(secs: Option<f64>) -> String {
    match secs {
        None => "—".into(),
        Some(s) if s < 60.0 => format!("{s:.0} s"),
        Some(s) if s < 3600.0 => format!("{:.0} min", s / 60.0),
        Some(s) => format!("{:.1} h", s / 3600.0),
    }
}

#[component]
fn TopList(title: &'static str, users: Vec<UserFigures>, tokens_first: bool) -> impl IntoView {
    view! {
        <div class="top-users">
            <h3>{title}</h3>
            {if users.is_empty() {
                view! { <p class="empty">"No calls named a user in this range."</p> }.into_any()
            } else {
                view! {
                    <ol class="rank-list">
                        {users.into_iter().map(|u| {
                            let (main, other) = if tokens_first {
                                (format!("{} tokens", format::count(u.tokens)), format::usd_micros(Some(u.cost_micros)))
                            } else {
                                (format::usd_micros(Some(u.cost_micros)), format!("{} tokens", format::count(u.tokens)))
                            };
                            let href = format!("/sessions?user={}", crate::api::url_encode_component(&u.user_id));
                            view! {
                                <li>
                                    <a href=href>{u.user_id.clone()}</a>
                                    <span class="num">{main}</span>
                                    <span class="muted">{format!("{other} · {} calls", format::count(u.calls))}</span>
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                }.into_any()
            }}
        </div>
    }
}

#[component]
pub fn UsersSummary(range: Signal<Range>) -> impl IntoView {
    let data = RwSignal::new(None::<UsersOverview>);
    let load = RwSignal::new(Load::Loading);
    let fetch = move || {
        let params = range.get_untracked().api_params();
        spawn_local(async move {
            match api::users_overview(params).await {
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
        fetch();
    });
    let stat = move |label: &'static str,
                     testid: &'static str,
                     value: fn(&UsersOverview) -> String| {
        view! {
            <section class="card stat" data-testid=testid>
                <h2 class="stat-label">{label}</h2>
                <p class="stat-value">{move || data.with(|d| d.as_ref().map(value).unwrap_or_else(|| "—".into()))}</p>
            </section>
        }
    };
    view! {
        <LoadStatus load what="users" retry=Callback::new(move |_| fetch()) />
        <div class="stat-grid" aria-label="Users">
            {stat("Active users, 1 h", "active-1h", |d| format::count(d.active_1h))}
            {stat("Active users, 24 h", "active-24h", |d| format::count(d.active_24h))}
            {stat("Active users, 7 d", "active-7d", |d| format::count(d.active_7d))}
            {stat("Session length, median", "session-p50", |d| span(d.sessions.p50_duration_s))}
            {stat("Calls per session", "session-calls", |d| d.sessions.avg_calls.map_or_else(|| "—".into(), |c| format!("{c:.1}")))}
        </div>
        <section class="card" data-testid="top-users">
            <div class="card-head">
                <h2>"Top users"</h2>
                <span class="muted">{move || data.with(|d| d.as_ref().map(|d| format!(
                    "{} sessions ended in this range · p95 length {}",
                    format::count(d.sessions.sessions),
                    span(d.sessions.p95_duration_s)
                )))}</span>
            </div>
            {move || data.with(|d| d.as_ref().map(|d| view! {
                <div class="top-users-grid">
                    <TopList title="By cost" users=d.top_by_cost.clone() tokens_first=false />
                    <TopList title="By tokens" users=d.top_by_tokens.clone() tokens_first=true />
                </div>
            }))}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_read_in_a_fitting_unit() {
        assert_eq!(span(None), "—");
        assert_eq!(span(Some(42.0)), "42 s");
        assert_eq!(span(Some(720.0)), "12 min");
        assert_eq!(span(Some(12_600.0)), "3.5 h");
    }
}
