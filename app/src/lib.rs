//! Sightline's UI: the HTML shell, the router and the pages. Compiled twice: with `ssr` into
//! the server (rendering) and with `hydrate` into the WASM (interactivity).

pub mod alert_form;
pub mod analytics;
pub mod api;
pub mod budget_form;
pub mod charts;
pub mod components;
pub mod format;
pub mod pages;
pub mod system_view;
pub mod types;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

use components::layout::Layout;
use pages::{
    alert_history::AlertHistoryPage,
    alerts::{AlertRulePage, AlertsPage},
    api_keys::ApiKeysPage,
    apps::AppsPage,
    benchmarks::BenchmarksPage,
    budgets::{BudgetPage, BudgetsPage},
    calls::CallsPage,
    channels::ChannelsPage,
    database::DatabasePage,
    frontend::FrontendPage,
    login::LoginPage,
    models::ModelsPage,
    not_found::NotFound,
    overview::OverviewPage,
    providers::ProvidersPage,
    reports::ReportsPage,
    sessions::{SessionPage, SessionsPage},
    system::SystemPage,
    workers::WorkersPage,
};

/// Applies the saved theme before the first paint, so a dark-mode user never sees a flash
/// of light. Mirrors `components::theme`.
const THEME_BOOT: &str = "try{var t=localStorage.getItem('sightline-theme');if(t==='light'||t==='dark')document.documentElement.dataset.theme=t}catch(e){}";

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <script>{THEME_BOOT}</script>
                // ECharts (from the npm registry, see scripts/setup.sh) must exist before the
                // WASM draws the first chart.
                <script src="/vendor/echarts.min.js"></script>
                // The dashboard reports its own Web Vitals, errors and failed API calls (the
                // Frontend page, site `sightline`) with the same script other sites include.
                <script async src="/sdk/vitals.js" data-site="sightline"></script>
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Marks the page as hydrated (effects only run in the browser): end-to-end tests wait
    // for it before interacting.
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(body) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.body())
        {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Stylesheet id="leptos" href="/pkg/sightline.css" />
        <Title formatter=|page: String| {
            if page.is_empty() { "Sightline".to_owned() } else { format!("{page} · Sightline") }
        } />
        <Router>
            <Routes fallback=|| view! { <Layout><NotFound /></Layout> }>
                <Route path=path!("/login") view=LoginPage />
                <Route path=path!("/") view=|| view! { <Layout><OverviewPage /></Layout> } />
                <Route path=path!("/calls") view=|| view! { <Layout><CallsPage /></Layout> } />
                <Route path=path!("/sessions") view=|| view! { <Layout><SessionsPage /></Layout> } />
                <Route
                    path=path!("/sessions/:id")
                    view=|| view! { <Layout><SessionPage /></Layout> }
                />
                <Route path=path!("/budgets") view=|| view! { <Layout><BudgetsPage /></Layout> } />
                <Route path=path!("/budgets/:id") view=|| view! { <Layout><BudgetPage /></Layout> } />
                <Route path=path!("/system") view=|| view! { <Layout><SystemPage /></Layout> } />
                <Route path=path!("/apps") view=|| view! { <Layout><AppsPage /></Layout> } />
                <Route path=path!("/frontend") view=|| view! { <Layout><FrontendPage /></Layout> } />
                <Route path=path!("/database") view=|| view! { <Layout><DatabasePage /></Layout> } />
                <Route path=path!("/reports") view=|| view! { <Layout><ReportsPage /></Layout> } />
                <Route path=path!("/benchmarks") view=|| view! { <Layout><BenchmarksPage /></Layout> } />
                <Route path=path!("/ai/workers") view=|| view! { <Layout><WorkersPage /></Layout> } />
                <Route path=path!("/ai/models") view=|| view! { <Layout><ModelsPage /></Layout> } />
                <Route path=path!("/alerts") view=|| view! { <Layout><AlertsPage /></Layout> } />
                <Route
                    path=path!("/alerts/history")
                    view=|| view! { <Layout><AlertHistoryPage /></Layout> }
                />
                <Route
                    path=path!("/alerts/rules/:id")
                    view=|| view! { <Layout><AlertRulePage /></Layout> }
                />
                <Route
                    path=path!("/settings/channels")
                    view=|| view! { <Layout><ChannelsPage /></Layout> }
                />
                <Route
                    path=path!("/settings/api-keys")
                    view=|| view! { <Layout><ApiKeysPage /></Layout> }
                />
                <Route
                    path=path!("/settings/providers")
                    view=|| view! { <Layout><ProvidersPage /></Layout> }
                />
            </Routes>
        </Router>
    }
}
