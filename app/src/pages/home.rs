//! The landing page after login: server status and the first steps. The Overview dashboard
//! takes its place once analytics land.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api;

#[component]
pub fn HomePage() -> impl IntoView {
    let ready = LocalResource::new(api::readiness);
    view! {
        <Title text="Home" />
        <div class="page-header">
            <h1>"Welcome to Sightline"</h1>
            <p class="muted">"Every token, millisecond and dollar your AI stack spends."</p>
        </div>
        <section class="card" aria-labelledby="status-title">
            <h2 id="status-title">"Server status"</h2>
            {move || match ready.get() {
                None => view! { <p class="muted" aria-busy="true">"Checking…"</p> }.into_any(),
                Some(Ok(r)) if r.status == "ready" => view! {
                    <p><span class="badge badge-ok">"Ready"</span>" Database connected and migrated · version "{r.version}</p>
                }.into_any(),
                Some(Ok(r)) => view! {
                    <p><span class="badge badge-error">"Not ready"</span>" "{r.reason.unwrap_or_default()}</p>
                }.into_any(),
                Some(Err(e)) => view! {
                    <p><span class="badge badge-error">"Unreachable"</span>" "{e.message().to_owned()}</p>
                }.into_any(),
            }}
        </section>
        <section class="card" aria-labelledby="start-title">
            <h2 id="start-title">"Get started"</h2>
            <ol class="steps">
                <li>
                    <a href="/settings/api-keys">"Create an API key"</a>
                    " for each application or host that sends telemetry."
                </li>
                <li>"Send it as " <code>"Authorization: Bearer sl_…"</code> " with every request to the API."</li>
            </ol>
        </section>
    }
}
