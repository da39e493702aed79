//! `/alerts/history`: every alert transition, filtered by rule, state and severity (the
//! filters live in the URL, so a view can be shared).

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

use super::alerts::HistoryTable;
use crate::{
    api::{self, live},
    types::{alert::AlertEvent, live::AlertsTopic},
};

#[component]
pub fn AlertHistoryPage() -> impl IntoView {
    let query = use_query_map();
    let navigate = use_navigate();
    let param = move |k: &str| query.with(|q| q.get(k).unwrap_or_default());
    let events = RwSignal::new(None::<Result<Vec<AlertEvent>, String>>);
    let rules = LocalResource::new(api::alerts::rules);
    let fetch = move || {
        let params: Vec<(&'static str, String)> = [
            ("rule_id", param("rule_id")),
            ("state", param("state")),
            ("severity", param("severity")),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .chain(std::iter::once(("limit", "200".to_owned())))
        .collect();
        spawn_local(async move {
            events.set(Some(
                api::alerts::history(params)
                    .await
                    .map_err(|e| e.message().to_owned()),
            ));
        });
    };
    Effect::new(move |_| {
        query.track();
        fetch();
    });
    Effect::new(move |_| live::subscribe::<AlertsTopic>(move |_| fetch()));
    let set = move |k: &'static str, v: String| {
        let mut pairs: Vec<(String, String)> = ["rule_id", "state", "severity"]
            .into_iter()
            .map(|n| (n.to_owned(), if n == k { v.clone() } else { param(n) }))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        pairs.sort();
        let q = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", api::url_encode_component(v)))
            .collect::<Vec<_>>()
            .join("&");
        navigate(
            &format!("/alerts/history{}{q}", if q.is_empty() { "" } else { "?" }),
            Default::default(),
        );
    };
    let set = StoredValue::new(set);
    view! {
        <Title text="Alert history" />
        <div class="page-header page-header-row">
            <div>
                <p><a href="/alerts">"← Alerts"</a></p>
                <h1>"Alert history"</h1>
                <p class="muted">"Every change of every alert, with its value and threshold."</p>
            </div>
            <span class="live-badge"><span class="live-dot" aria-hidden="true"></span>" live"</span>
        </div>
        <section class="card">
            <div class="filters">
                <div class="field">
                    <label for="history-rule">"Rule"</label>
                    <select id="history-rule" on:change=move |ev| set.with_value(|s| s("rule_id", event_target_value(&ev)))>
                        <option value="">"All rules"</option>
                        {move || rules.get().and_then(|r| r.ok()).map(|list| list.into_iter().map(|r| {
                            let id = r.id.to_string();
                            let sel = { let id = id.clone(); move || param("rule_id") == id };
                            view! { <option value=id selected=sel>{r.name}</option> }
                        }).collect_view())}
                    </select>
                </div>
                <div class="field">
                    <label for="history-state">"Went to"</label>
                    <select id="history-state" on:change=move |ev| set.with_value(|s| s("state", event_target_value(&ev)))>
                        {[("", "Any state"), ("firing", "Firing"), ("pending", "Pending"), ("resolved", "Resolved"), ("no_data", "No data"), ("inactive", "Inactive")]
                            .into_iter().map(|(v, t)| view! { <option value=v selected=move || param("state") == v>{t}</option> }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="history-severity">"Severity"</label>
                    <select id="history-severity" on:change=move |ev| set.with_value(|s| s("severity", event_target_value(&ev)))>
                        {[("", "Any"), ("critical", "Critical"), ("warning", "Warning"), ("info", "Info")]
                            .into_iter().map(|(v, t)| view! { <option value=v selected=move || param("severity") == v>{t}</option> }).collect_view()}
                    </select>
                </div>
            </div>
            {move || match events.get() {
                None => view! { <p class="muted" aria-busy="true">"Loading history…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="alert alert-error" role="alert">"Could not load history: " {e}</p> }.into_any(),
                Some(Ok(list)) => view! { <HistoryTable events=Signal::derive(move || list.clone()) /> }.into_any(),
            }}
        </section>
    }
}
