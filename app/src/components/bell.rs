//! The bell in the header: the unread count of in-app notices, a list of the newest, and a
//! toast when a notice arrives, all live over the `notices` topic.

use leptos::{prelude::*, task::spawn_local};

use crate::{
    api::{self, live},
    types::{
        alert::{Notice, Severity},
        live::NoticesTopic,
    },
};

#[component]
pub fn NoticeBell() -> impl IntoView {
    let unread = RwSignal::new(0i64);
    let notices = RwSignal::new(Vec::<Notice>::new());
    let open = RwSignal::new(false);
    let toasts = RwSignal::new(Vec::<Notice>::new());
    let fetch = move || {
        spawn_local(async move {
            if let Ok(inbox) = api::alerts::notices().await {
                unread.set(inbox.unread);
                notices.set(inbox.notices);
            }
        })
    };
    Effect::new(move |_| {
        fetch();
        live::subscribe::<NoticesTopic>(move |msg| match msg {
            live::LiveMessage::Data(n) => {
                unread.update(|u| *u += 1);
                notices.update(|l| {
                    l.insert(0, n.clone());
                    l.truncate(30);
                });
                let id = n.id;
                toasts.update(|t| t.push(n));
                set_timeout(
                    move || toasts.update(|t| t.retain(|x| x.id != id)),
                    std::time::Duration::from_secs(8),
                );
            }
            live::LiveMessage::Resync => fetch(),
        });
    });
    let mark_read = move |_| {
        spawn_local(async move {
            if let Ok(inbox) = api::alerts::mark_read().await {
                unread.set(inbox.unread);
                notices.set(inbox.notices);
            }
        })
    };
    let class = |s: Severity| match s {
        Severity::Critical => "toast toast-critical",
        Severity::Warning => "toast toast-warning",
        Severity::Info => "toast",
    };
    view! {
        <div class="bell">
            <button type="button" class="button button-ghost bell-button" id="bell"
                aria-haspopup="true" aria-expanded=move || open.get().to_string()
                aria-label=move || format!("Notifications, {} unread", unread.get())
                on:click=move |_| open.update(|o| *o = !*o)>
                <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true"><path fill="currentColor" d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1Z"/></svg>
                {move || (unread.get() > 0).then(|| view! { <span class="bell-count" id="bell-count">{unread.get().to_string()}</span> })}
            </button>
            {move || open.get().then(|| view! {
                <div class="bell-panel" role="dialog" aria-label="Notifications">
                    <div class="bell-head">
                        <strong>"Notifications"</strong>
                        <button type="button" class="link-button" on:click=mark_read>"Mark all read"</button>
                    </div>
                    {move || if notices.with(Vec::is_empty) {
                        view! { <p class="muted">"No notifications yet."</p> }.into_any()
                    } else {
                        view! {
                            <ul class="bell-list">
                                {notices.get().into_iter().map(|n| view! {
                                    <li class:unread=!n.read>
                                        <div class="bell-title">{n.title.clone()}</div>
                                        <div class="sub">{n.body.clone()}</div>
                                        <div class="sub muted">{n.at.format("%Y-%m-%d %H:%M:%S UTC").to_string()}</div>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }}
                    <p><a href="/alerts">"All alerts"</a> " · " <a href="/settings/channels">"Channels"</a></p>
                </div>
            })}
        </div>
        <div class="toasts" aria-live="polite" aria-label="New notifications">
            {move || toasts.get().into_iter().map(|n| view! {
                <div class=class(n.severity)>
                    <div class="bell-title">{n.title.clone()}</div>
                    <div class="sub">{n.body.clone()}</div>
                </div>
            }).collect_view()}
        </div>
    }
}
