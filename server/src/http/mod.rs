//! The HTTP surface: one router for the versioned JSON API, form posts, probes and the
//! server-rendered UI. Handlers parse and authorise, then call `store` or domain modules.

pub mod alerts;
pub mod analytics;
pub mod apps;
pub mod bench;
pub mod browser;
pub mod budgets;
pub mod calls;
pub mod database;
pub mod error;
pub mod events;
pub mod feedback;
pub mod gpu;
pub mod health;
pub mod keys;
pub mod login;
pub mod metrics;
pub mod models;
pub mod openapi;
pub mod otlp;
pub mod pages;
pub mod params;
pub mod prices;
pub mod principal;
pub mod providers;
pub mod rate_limits;
pub mod reports;
pub mod schedules;
pub mod sessions;
pub mod stream;
pub mod system;
pub mod users;
pub mod workers;

use axum::{
    extract::{DefaultBodyLimit, Request},
    http::{header, HeaderValue},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{any, delete, get, post, put},
    Router,
};
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::{
    catch_panic::CatchPanicLayer, set_header::SetResponseHeaderLayer, trace::TraceLayer,
};

use crate::state::AppState;
use error::ApiError;

/// Largest request body accepted anywhere (413 beyond it).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

async fn api_not_found() -> error::ApiError {
    error::ApiError::not_found("no such API endpoint")
}

/// `/api/v1`: the public, versioned API used by the UI and by scripts alike.
fn api(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi::openapi_json))
        .route("/auth/login", post(login::login_json))
        .route("/auth/logout", post(login::logout_json))
        .route("/auth/me", get(login::me))
        .route("/keys", get(keys::list).post(keys::create))
        .route("/keys/{id}", delete(keys::revoke))
        .route(
            "/llm/calls",
            get(calls::list)
                .post(calls::ingest)
                .layer(DefaultBodyLimit::max(calls::MAX_INGEST_BODY_BYTES)),
        )
        .route("/prices", get(prices::list).post(prices::create))
        .route("/prices/unpriced", get(prices::unpriced))
        .route("/prices/recost", post(prices::recost))
        .route("/prices/recosts", get(prices::recosts))
        .route("/budgets", get(budgets::list).post(budgets::create))
        .route("/budgets/events", get(budgets::events))
        .route("/budgets/check", post(budgets::check))
        .route("/budgets/reserve", post(budgets::reserve))
        .route("/budgets/{id}/series", get(budgets::series))
        .route(
            "/budgets/{id}",
            get(budgets::get)
                .put(budgets::update)
                .delete(budgets::delete),
        )
        .route(
            "/alerts/rules",
            get(alerts::list_rules).post(alerts::create_rule),
        )
        .route(
            "/alerts/rules/{id}",
            get(alerts::get_rule)
                .put(alerts::update_rule)
                .delete(alerts::delete_rule),
        )
        .route("/alerts/rules/{id}/series", get(alerts::rule_series))
        .route("/alerts/metrics", get(alerts::metrics))
        .route("/alerts/status", get(alerts::status))
        .route("/alerts/history", get(alerts::history))
        .route(
            "/alerts/silences",
            get(alerts::list_silences).post(alerts::create_silence),
        )
        .route("/alerts/silences/{id}", delete(alerts::end_silence))
        .route(
            "/alerts/channels",
            get(alerts::list_channels).post(alerts::create_channel),
        )
        .route(
            "/alerts/channels/{id}",
            axum::routing::put(alerts::update_channel).delete(alerts::delete_channel),
        )
        .route("/alerts/channels/{id}/test", post(alerts::test_channel))
        .route("/alerts/deliveries", get(alerts::deliveries))
        .route("/alerts/notices", get(alerts::notices))
        .route("/alerts/notices/read", post(alerts::mark_read))
        .route("/rate-limits", get(rate_limits::get).put(rate_limits::put))
        .route("/analytics", get(analytics::aggregate))
        .route("/analytics/overview", get(analytics::overview))
        .route("/analytics/users", get(users::users))
        .route("/reports/export", get(reports::export))
        .route(
            "/reports/schedules",
            get(schedules::list).post(schedules::create),
        )
        .route("/reports/schedules/{id}", delete(schedules::delete))
        .route("/reports/schedules/{id}/send", post(schedules::send_now))
        .route(
            "/benchmarks",
            get(bench::list)
                .post(bench::start)
                .layer(DefaultBodyLimit::max(bench::MAX_RUN_BODY_BYTES)),
        )
        .route("/benchmarks/models", get(bench::models))
        .route("/benchmarks/{id}", get(bench::get).delete(bench::delete))
        .route("/benchmarks/{id}/cancel", post(bench::cancel))
        .route("/sessions", get(sessions::list))
        .route(
            "/sessions/{id}",
            get(sessions::detail).delete(sessions::delete),
        )
        .route("/providers", get(providers::list))
        .route("/proxy/records", get(providers::records))
        .route(
            "/providers/{name}",
            axum::routing::put(providers::put).delete(providers::delete),
        )
        .route(
            "/llm/events",
            post(events::ingest).layer(DefaultBodyLimit::max(calls::MAX_INGEST_BODY_BYTES)),
        )
        .route("/system/hosts", get(system::hosts))
        .route("/system/hosts/{host}", get(system::host))
        .route("/system/hosts/{host}/metrics", get(system::metrics))
        .route("/system/hosts/{host}/processes", get(system::processes))
        .route("/system/hosts/{host}/gpus", get(system::gpus))
        .route(
            "/system/samples",
            post(system::ingest).layer(DefaultBodyLimit::max(system::MAX_BATCH_BODY_BYTES)),
        )
        .route(
            "/requests",
            post(apps::ingest).layer(DefaultBodyLimit::max(apps::MAX_BATCH_BODY_BYTES)),
        )
        .route("/apps", get(apps::overview))
        .merge(
            Router::new()
                .route("/vitals", post(browser::ingest))
                .layer(DefaultBodyLimit::max(browser::MAX_REPORT_BYTES))
                .layer(browser::cors(state)),
        )
        .route("/frontend", get(browser::overview))
        .route("/database", get(database::overview))
        .route(
            "/workers/heartbeats",
            post(workers::heartbeats).layer(DefaultBodyLimit::max(workers::MAX_BATCH_BODY_BYTES)),
        )
        .route("/workers", get(workers::overview))
        .route("/models/health", get(models::health))
        .route("/gpu/bindings", get(gpu::bindings))
        .route(
            "/gpu/bindings/{provider}",
            put(gpu::put_binding).delete(gpu::delete_binding),
        )
        .route("/gpu/attribution", get(gpu::attribution))
        .route(
            "/feedback",
            post(feedback::feedback).layer(DefaultBodyLimit::max(feedback::MAX_BODY_BYTES)),
        )
        .route("/workers/{name}", delete(workers::delete))
        .route("/stream", get(stream::stream))
        .fallback(api_not_found)
        .layer(middleware::from_fn_with_state(state.clone(), settle_reads))
}

/// Reads wait until the calls already acknowledged are in the rollups, which the ingest
/// folder adds a moment after their commit: one way for every endpoint that reads them (and
/// nothing to wait for when no calls are in flight).
async fn settle_reads(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    if req.method() == axum::http::Method::GET {
        state.ingest.settled().await;
    }
    next.run(req).await
}

/// A NUL in the path or the query (`%00`) is refused at the door: PostgreSQL cannot store
/// or compare it, and no name in Sightline contains one.
async fn refuse_nul(req: Request, next: Next) -> Response {
    let has_nul = |s: &str| s.contains('\0') || s.to_ascii_lowercase().contains("%00");
    let uri = req.uri();
    if has_nul(uri.path()) {
        return ApiError::bad_param("path", "the path must not contain NUL").into_response();
    }
    if uri.query().is_some_and(has_nul) {
        return ApiError::bad_param("query", "query parameters must not contain NUL")
            .into_response();
    }
    next.run(req).await
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::internal().into_response()
}

/// What pages may load: only this origin's scripts, styles, data and WebAssembly; no
/// framing, no foreign form targets, no plugins. Inline scripts stay allowed because the
/// hydration bootstrap and the theme switch are inline (a per-response nonce would tighten
/// this).
const CSP: &str = "default-src 'self'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; \
    connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
    frame-ancestors 'none'";

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let options = state.leptos_options.clone();
    // Served over https: browsers must never come back over plain http (a year, as the
    // HSTS preload list asks).
    let hsts = state
        .config
        .secure_cookies()
        .then(|| HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .route("/auth/login", post(login::login_form))
        .route("/auth/logout", post(login::logout_form))
        .route("/budgets/form", post(budgets::form_post))
        .route(
            "/v1/traces",
            post(otlp::traces).layer(DefaultBodyLimit::max(otlp::MAX_WIRE_BYTES)),
        )
        .route(
            "/proxy/{provider}/{*path}",
            any(crate::proxy::forward::forward)
                .layer(DefaultBodyLimit::max(crate::proxy::forward::MAX_BODY_BYTES)),
        )
        .route("/sdk/vitals.js", get(browser::sdk))
        .nest("/api/v1", api(&state))
        .leptos_routes(&state, routes, move || app::shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            app::shell,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            pages::require_login,
        ))
        .layer(middleware::from_fn(refuse_nul))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            move |_: &Response| hsts.clone(),
        ))
        .layer(TraceLayer::new_for_http())
        // A panic anywhere is a logged 500 with the usual JSON body, never a reset connection.
        .layer(CatchPanicLayer::custom(panic_response))
        // Outermost, so every request is counted with the status it finally got.
        .layer(middleware::from_fn_with_state(
            std::sync::Arc::clone(&state.metrics),
            crate::metrics::track_requests,
        ))
        .with_state(state)
}
