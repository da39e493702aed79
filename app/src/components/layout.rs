//! The frame around every signed-in page: header with navigation, theme and logout.

use leptos::prelude::*;
use leptos_router::components::A;

use super::theme::ThemeToggle;

/// Pages in the header. Only pages that work are listed; each feature adds its own.
const NAV: &[(&str, &str)] = &[("/", "Home"), ("/settings/api-keys", "API keys")];

#[component]
pub fn Layout(children: Children) -> impl IntoView {
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="topbar">
            <a class="brand" href="/" aria-label="Sightline home">
                <svg class="brand-mark" viewBox="0 0 24 24" aria-hidden="true">
                    <path d="M2 12s3.6-7 10-7 10 7 10 7-3.6 7-10 7S2 12 2 12z" fill="none" stroke="currentColor" stroke-width="2" />
                    <circle cx="12" cy="12" r="3" fill="currentColor" />
                </svg>
                <span>"Sightline"</span>
            </a>
            <nav class="nav" aria-label="Main">
                {NAV
                    .iter()
                    .map(|(href, label)| view! { <A href=*href exact=true>{*label}</A> })
                    .collect_view()}
            </nav>
            <div class="topbar-actions">
                <ThemeToggle />
                <form method="post" action="/auth/logout">
                    <button type="submit" class="button button-ghost">"Log out"</button>
                </form>
            </div>
        </header>
        <main id="main" class="page">{children()}</main>
    }
}
