//! `/api/v1/requests` (services report the HTTP requests they answered) and `/api/v1/apps`
//! (per service: totals, a series and every route, from the rollups).

use app::types::apps::{
    AppsOverview, AppsQuery, RequestBatch, RequestBatchAccepted, ServiceSummary,
};
use axum::{extract::State, Json};
use chrono::{Duration, Utc};

use super::{
    error::{ApiError, ApiJson},
    params::{ApiQuery, RangeParams},
    principal::{Ingester, Reader},
};
use crate::{
    apps::view,
    domain::app_request::{check, plan, AppRequest, Tier, MAX_BATCH},
    state::AppState,
    store,
};

/// Largest batch body: 5000 requests of a few hundred bytes each.
pub const MAX_BATCH_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Chart buckets the overview aims at.
const POINTS: i64 = 120;

/// Checks a whole batch; the first bad request refuses it, naming `requests[i].field`.
pub fn check_batch(batch: &RequestBatch, state: &AppState) -> Result<Vec<AppRequest>, ApiError> {
    if batch.requests.is_empty() || batch.requests.len() > MAX_BATCH {
        return Err(ApiError::invalid(
            "requests",
            format!("send 1 to {MAX_BATCH} requests per batch"),
        ));
    }
    let now = Utc::now();
    let oldest = now - state.config.system.retention.raw;
    batch
        .requests
        .iter()
        .enumerate()
        .map(|(i, r)| {
            check(r, now, oldest)
                .map_err(|e| ApiError::invalid(&format!("requests[{i}].{}", e.field), e.message))
        })
        .collect()
}

/// `POST /api/v1/requests`: a batch of requests a service answered (API key with the
/// ingest scope, or a logged-in user). Answered after the commit.
#[utoipa::path(
    post,
    path = "/api/v1/requests",
    operation_id = "ingest_requests",
    summary = "Report application requests",
    tag = "apps",
    request_body = RequestBatch,
    responses((status = 200, description = "Every request stored", body = RequestBatchAccepted)),
    security(("api_key" = ["ingest"]), ("session" = []))
)]
pub async fn ingest(
    Ingester(_principal): Ingester,
    State(state): State<AppState>,
    ApiJson(batch): ApiJson<RequestBatch>,
) -> Result<Json<RequestBatchAccepted>, ApiError> {
    let rows = check_batch(&batch, &state)?;
    let accepted = state.apps.write(&rows).await?;
    Ok(Json(RequestBatchAccepted { accepted }))
}

/// `GET /api/v1/apps?range=1h&service=&route=&method=`
#[utoipa::path(
    get,
    path = "/api/v1/apps",
    operation_id = "apps_overview",
    summary = "Application traffic, latency and errors",
    tag = "apps",
    params(AppsQuery),
    responses((status = 200, description = "Services' traffic, latency and errors", body = AppsOverview)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn overview(
    _p: Reader,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<AppsQuery>,
) -> Result<Json<AppsOverview>, ApiError> {
    let (from, to) =
        RangeParams::new(q.from, q.to, q.range).resolve(Duration::hours(1), Utc::now())?;
    if q.method.is_some() && q.route.is_none() {
        return Err(ApiError::bad_param(
            "method",
            "method narrows a route: give route too",
        ));
    }
    let (tier, step_s) = plan(from, to, POINTS);
    // Hour rows cover whole hours: read from the hour holding `from`.
    let read_from = match tier {
        Tier::Hour => crate::domain::app_request::bucket_of(from, Duration::hours(1)),
        Tier::Minute => crate::domain::app_request::bucket_of(from, Duration::minutes(1)),
    };
    let services: Vec<ServiceSummary> =
        store::app_requests::services(&state.pool, tier, read_from, to)
            .await?
            .into_iter()
            .map(|(service, requests, last_seen)| ServiceSummary {
                service,
                requests: requests.max(0) as u64,
                last_seen,
            })
            .collect();
    let service = match q.service.filter(|s| !s.is_empty()) {
        Some(s) => Some(s),
        None => services.first().map(|s| s.service.clone()),
    };
    let rows = match &service {
        Some(s) => store::app_requests::rollups(&state.pool, tier, s, read_from, to).await?,
        None => Vec::new(),
    };
    let only = q.route.as_deref().map(|r| (r, q.method.as_deref()));
    let folded = view::fold(&rows, from, to, step_s, only);
    Ok(Json(AppsOverview {
        from,
        to,
        step_s,
        services,
        service,
        route: q.route,
        method: q.method,
        totals: folded.totals,
        series: folded.series,
        routes: folded.routes,
    }))
}
