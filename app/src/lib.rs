//! Sightline's UI: the HTML shell, the router and the pages. Compiled twice: with `ssr` into
//! the server (rendering) and with `hydrate` into the WASM (interactivity).

// Leptos' typed views nest deeply; each lazy page turns its whole view type into an `AnyView`
// here, which the release WASM build needs the headroom for.
#![recursion_limit = "256"]

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
    components::{Outlet, ParentRoute, Route, Router, Routes},
    lazy_route, path, Lazy, LazyRoute,
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

/// Declares a page whose code the release WASM loads only when it is first shown
/// (`cargo leptos build --split`): the first load carries the shell, the router, the frame
/// and the Overview (where people land, so it hydrates without fetching chunks), not every
/// page. On the server the page renders as before.
macro_rules! lazy_pages {
    ($($route:ident => $page:ident),* $(,)?) => {$(
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                $page().into_any()
            }
        }
    )*};
}

lazy_pages! {
    CallsRoute => CallsPage,
    SessionsRoute => SessionsPage,
    SessionRoute => SessionPage,
    BudgetsRoute => BudgetsPage,
    BudgetRoute => BudgetPage,
    SystemRoute => SystemPage,
    AppsRoute => AppsPage,
    FrontendRoute => FrontendPage,
    DatabaseRoute => DatabasePage,
    ReportsRoute => ReportsPage,
    BenchmarksRoute => BenchmarksPage,
    WorkersRoute => WorkersPage,
    ModelsRoute => ModelsPage,
    AlertsRoute => AlertsPage,
    AlertHistoryRoute => AlertHistoryPage,
    AlertRuleRoute => AlertRulePage,
    ChannelsRoute => ChannelsPage,
    ApiKeysRoute => ApiKeysPage,
    ProvidersRoute => ProvidersPage,
}

/// The frame around every signed-in page, kept while the pages inside it change.
#[component]
fn Framed() -> impl IntoView {
    view! {
        <Layout>
            <Outlet />
        </Layout>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/sightline.css" />
        <Title formatter=|page: String| {
            if page.is_empty() { "Sightline".to_owned() } else { format!("{page} · Sightline") }
        } />
        <Router>
            <Routes fallback=|| view! { <Layout><NotFound /></Layout> }>
                <Route path=path!("/login") view=LoginPage />
                <ParentRoute path=path!("") view=Framed>
                    <Route path=path!("") view=OverviewPage />
                    <Route path=path!("/calls") view={Lazy::<CallsRoute>::new()} />
                    <Route path=path!("/sessions") view={Lazy::<SessionsRoute>::new()} />
                    <Route path=path!("/sessions/:id") view={Lazy::<SessionRoute>::new()} />
                    <Route path=path!("/budgets") view={Lazy::<BudgetsRoute>::new()} />
                    <Route path=path!("/budgets/:id") view={Lazy::<BudgetRoute>::new()} />
                    <Route path=path!("/system") view={Lazy::<SystemRoute>::new()} />
                    <Route path=path!("/apps") view={Lazy::<AppsRoute>::new()} />
                    <Route path=path!("/frontend") view={Lazy::<FrontendRoute>::new()} />
                    <Route path=path!("/database") view={Lazy::<DatabaseRoute>::new()} />
                    <Route path=path!("/reports") view={Lazy::<ReportsRoute>::new()} />
                    <Route path=path!("/benchmarks") view={Lazy::<BenchmarksRoute>::new()} />
                    <Route path=path!("/ai/workers") view={Lazy::<WorkersRoute>::new()} />
                    <Route path=path!("/ai/models") view={Lazy::<ModelsRoute>::new()} />
                    <Route path=path!("/alerts") view={Lazy::<AlertsRoute>::new()} />
                    <Route path=path!("/alerts/history") view={Lazy::<AlertHistoryRoute>::new()} />
                    <Route path=path!("/alerts/rules/:id") view={Lazy::<AlertRuleRoute>::new()} />
                    <Route path=path!("/settings/channels") view={Lazy::<ChannelsRoute>::new()} />
                    <Route path=path!("/settings/api-keys") view={Lazy::<ApiKeysRoute>::new()} />
                    <Route path=path!("/settings/providers") view={Lazy::<ProvidersRoute>::new()} />
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// Hydrates the server-rendered page (the WASM entry point calls it). Pages are split from
/// the main WASM (`lazy_pages!`), so hydration waits for the shown page's code and runs as a
/// task; the body is marked `data-hydrated` after it, which end-to-end tests wait for before
/// interacting.
#[cfg(feature = "hydrate")]
pub fn hydrate() {
    wasm_bindgen_futures::spawn_local(async {
        let Some(body) = document().body() else {
            return;
        };
        leptos::mount::hydrate_from_async(body.clone(), App)
            .await
            .forget();
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
