//! The frame around every signed-in page: header with navigation, theme and logout.

use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_location};

use super::{bell::NoticeBell, brand::Brand, chart::ThemeEpoch, theme::ThemeToggle};

/// Pages in the header. Only pages that work are listed; each feature adds its own.
const NAV: &[(&str, &str)] = &[
    ("/", "Overview"),
    ("/calls", "Calls"),
    ("/sessions", "Sessions"),
    ("/budgets", "Budgets"),
    ("/alerts", "Alerts"),
    ("/apps", "Apps"),
    ("/frontend", "Frontend"),
    ("/system", "System"),
    ("/database", "Database"),
    ("/reports", "Reports"),
    ("/benchmarks", "Benchmarks"),
];

/// The AI serving layer's pages, reached through one "AI" entry and tabs on each of them.
const AI: &[(&str, &str)] = &[("/ai/workers", "Workers"), ("/ai/models", "Model health")];

/// Tabs between the AI serving layer's pages, above each one's header.
#[component]
pub fn AiTabs() -> impl IntoView {
    view! {
        <nav class="tabs" aria-label="AI serving">
            {AI
                .iter()
                .map(|(href, label)| view! { <A href=*href exact=true>{*label}</A> })
                .collect_view()}
        </nav>
    }
}

/// The settings pages, reached through one "Settings" entry and tabs on each of them.
const SETTINGS: &[(&str, &str)] = &[
    ("/settings/api-keys", "API keys"),
    ("/settings/providers", "Providers"),
    ("/settings/channels", "Alert channels"),
];

/// Tabs between the settings pages, above each one's header.
#[component]
pub fn SettingsTabs() -> impl IntoView {
    view! {
        <nav class="tabs" aria-label="Settings">
            {SETTINGS
                .iter()
                .map(|(href, label)| view! { <A href=*href exact=true>{*label}</A> })
                .collect_view()}
        </nav>
    }
}

#[component]
pub fn Layout(children: Children) -> impl IntoView {
    provide_context(ThemeEpoch(RwSignal::new(0)));
    let location = use_location();
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="topbar">
            <a class="brand-link" href="/" aria-label="Sightline home">
                <Brand />
            </a>
            <nav class="nav" aria-label="Main">
                {NAV
                    .iter()
                    .map(|(href, label)| view! { <A href=*href exact=true>{*label}</A> })
                    .collect_view()}
                <a
                    href=AI[0].0
                    aria-current=move || {
                        location.pathname.get().starts_with("/ai/").then_some("page")
                    }
                >
                    "AI"
                </a>
                <a
                    href=SETTINGS[0].0
                    aria-current=move || {
                        location.pathname.get().starts_with("/settings/").then_some("page")
                    }
                >
                    "Settings"
                </a>
            </nav>
            <div class="topbar-actions">
                <NoticeBell />
                <ThemeToggle />
                <form method="post" action="/auth/logout">
                    <button type="submit" class="button button-ghost">"Log out"</button>
                </form>
            </div>
        </header>
        <main id="main" class="page">{children()}</main>
    }
}
