//! The browser layer's HTTP surface: `/sdk/vitals.js` (the script sites include),
//! `POST /api/v1/vitals` (what it reports, from allowed origins only, rate-limited per
//! client address) and `GET /api/v1/frontend` (the Frontend page's figures).

use std::net::SocketAddr;

use app::types::{
    frontend::{
        BrowserReport, BrowserReportAccepted, FrontendOverview, FrontendQuery, SiteSummary,
    },
    KeyScope,
};
use axum::{
    body::Bytes,
    extract::{rejection::BytesRejection, ConnectInfo, FromRequestParts, State},
    http::{header, request::Parts, HeaderMap, HeaderValue, StatusCode},
    response::IntoResponse,
    Json,
};
use chrono::{Duration, Utc};
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::{
    error::ApiError,
    params::{ApiQuery, RangeParams},
    principal::{Principal, Reader},
};
use crate::{
    browser::view,
    domain::{app_request::bucket_of, browser, grant::KeyGrant},
    state::AppState,
};

/// Largest report body: a page view's vitals and a few errors with stacks.
pub const MAX_REPORT_BYTES: usize = 64 * 1024;

/// The script sites include with one tag (see its header for the attributes it reads).
const SDK: &str = include_str!("../../sdk/vitals.js");

/// `GET /sdk/vitals.js`: public, cached for an hour, usable from any site.
pub async fn sdk() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (
                header::HeaderName::from_static("cross-origin-resource-policy"),
                "cross-origin",
            ),
        ],
        SDK,
    )
}

/// CORS for `/api/v1/vitals`: the configured origins may post (no cookies: their key is in
/// the body); others get no CORS headers, so their browsers refuse.
pub fn cors(state: &AppState) -> CorsLayer {
    let origins = state.config.browser.origins.clone();
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin: &HeaderValue, _| {
            origin
                .to_str()
                .is_ok_and(|o| origins.iter().any(|a| a.eq_ignore_ascii_case(o)))
        }))
        .allow_methods([axum::http::Method::POST])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
        .max_age(std::time::Duration::from_secs(86_400))
}

/// Whether a request's `Origin` may report: none (not a browser), our own, or configured.
fn origin_allowed(headers: &HeaderMap, state: &AppState) -> Result<Option<String>, ApiError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(None);
    };
    let origin = origin.to_str().unwrap_or_default().to_ascii_lowercase();
    // Our own pages: the same check that guards cookie writes (public URL or Host).
    let ours = super::principal::same_site_request(headers, &state.config.public_url);
    if ours || state.config.browser.origins.contains(&origin) {
        return Ok(Some(origin));
    }
    Err(ApiError::forbidden(
        "origin_not_allowed",
        format!("{origin} may not report; add it to --browser-origins"),
    ))
}

/// The host of an origin, to name a site that did not name itself.
fn host_of(origin: &str) -> Option<String> {
    url::Url::parse(origin)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
}

fn refuse_key(grant: &KeyGrant) -> Result<(), ApiError> {
    if grant.allows(KeyScope::Browser) || grant.allows(KeyScope::Ingest) {
        return Ok(());
    }
    Err(ApiError::forbidden(
        "missing_scope",
        "this API key may not report from browsers; create a key with the browser scope",
    ))
}

/// Parses a report body (JSON, sent as `text/plain` by `sendBeacon`), naming the bad field.
fn parse_report(body: &[u8]) -> Result<BrowserReport, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("the body is not JSON: {inner}"),
            );
        }
        let field = if path == "." { "body".to_owned() } else { path };
        ApiError::invalid(&field, format!("{field}: {inner}"))
    })
}

/// `POST /api/v1/vitals` `{ key?, site?, events: [...] }`: a page's vitals, errors and
/// failed API calls. Authenticated by a `browser` (or `ingest`) key in the body or the
/// headers, or by the dashboard's session. Answered after the commit.
#[utoipa::path(
    post,
    path = "/api/v1/vitals",
    operation_id = "ingest_browser_report",
    summary = "Report Web Vitals and JavaScript errors",
    tag = "browser",
    request_body = BrowserReport,
    responses((status = 200, description = "The report stored", body = BrowserReportAccepted)),
    security((), ("session" = []))
)]
pub async fn ingest(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<BrowserReportAccepted>, ApiError> {
    state.browser_limiter.check(client.ip()).map_err(|wait| {
        let secs = wait.as_secs_f64().ceil() as u64;
        ApiError {
            retry_after_secs: Some(secs),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many reports from this address; try again in {secs} s"),
            )
        }
    })?;
    let origin = origin_allowed(&headers, &state)?;
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("a report is at most {MAX_REPORT_BYTES} bytes"),
            )
        } else {
            ApiError::new(r.status(), "bad_request", r.body_text())
        }
    })?;
    let report = parse_report(&body)?;
    match report
        .key
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
    {
        Some(key) => match state.authenticate_key(key).await? {
            Some(grant) => refuse_key(&grant)?,
            None => {
                return Err(ApiError::unauthorized(
                    "invalid_api_key",
                    "the API key is unknown or has been revoked",
                ))
            }
        },
        None => {
            let mut parts = request_parts(headers);
            if let Principal::ApiKey(grant) =
                Principal::from_request_parts(&mut parts, &state).await?
            {
                refuse_key(&grant)?;
            }
        }
    }
    let fallback = origin.as_deref().and_then(host_of);
    let checked = browser::check(&report, fallback.as_deref(), Utc::now())
        .map_err(|e| ApiError::invalid(&e.field, e.message))?;
    let accepted = state.browser.write(&checked).await?;
    Ok(Json(BrowserReportAccepted { accepted }))
}

/// Request parts carrying `headers`, for the credential extractors (a POST, so the
/// cross-site check for cookies applies).
fn request_parts(headers: HeaderMap) -> Parts {
    let mut req = axum::http::Request::new(());
    *req.method_mut() = axum::http::Method::POST;
    *req.headers_mut() = headers;
    req.into_parts().0
}

/// `GET /api/v1/frontend?range=24h&site=&page=`
#[utoipa::path(
    get,
    path = "/api/v1/frontend",
    operation_id = "frontend_overview",
    summary = "Web Vitals and JavaScript errors",
    tag = "browser",
    params(FrontendQuery),
    responses((status = 200, description = "Web Vitals and JavaScript errors", body = FrontendOverview)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn overview(
    _p: Reader,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<FrontendQuery>,
) -> Result<Json<FrontendOverview>, ApiError> {
    let (from, to) =
        RangeParams::new(q.from, q.to, q.range).resolve(Duration::hours(24), Utc::now())?;
    // Rows are hourly: read from the hour holding `from`.
    let read_from = bucket_of(from, Duration::seconds(browser::STEP));
    let sites: Vec<SiteSummary> = crate::store::browser::sites(&state.pool, read_from, to)
        .await?
        .into_iter()
        .map(|(site, views, errors, last_seen)| SiteSummary {
            site,
            views: views.max(0) as u64,
            errors: errors.max(0) as u64,
            last_seen,
        })
        .collect();
    let site = match q.site.filter(|s| !s.is_empty()) {
        Some(s) => Some(s),
        None => sites.first().map(|s| s.site.clone()),
    };
    let (vitals, errors) = match &site {
        Some(s) => tokio::try_join!(
            crate::store::browser::vitals(&state.pool, s, read_from, to),
            crate::store::browser::errors(&state.pool, s, read_from, to),
        )?,
        None => (Vec::new(), Vec::new()),
    };
    let page = q.page.filter(|p| !p.is_empty());
    let step_s = view::step(from, to);
    let (groups, series) = view::errors(&errors, from, to, step_s, page.as_deref());
    Ok(Json(FrontendOverview {
        from,
        to,
        step_s,
        sites,
        site,
        vitals: view::vitals(&vitals, page.as_deref()),
        pages: view::pages(&vitals, &errors),
        page,
        errors: groups,
        series,
    }))
}
