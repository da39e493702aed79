//! `/api/v1/workers`: heartbeats from apps' AI workers, the Workers panel's view, and
//! forgetting a worker.

use std::collections::BTreeMap;

use app::types::workers::{
    mean_batch_efficiency, CountsPoint, HeartbeatAccepted, HeartbeatBatch, StateCounts, Worker,
    WorkerState, WorkersOverview, WorkersQuery,
};
use axum::{
    extract::{Path, State},
    Json,
};
use chrono::{Duration, Utc};

use super::{
    error::{ApiError, ApiJson},
    params::{ApiQuery, RangeParams},
    principal::{Ingester, Reader, SessionUser},
};
use crate::{
    domain::worker::{check, MAX_BATCH},
    state::AppState,
    store, workers,
};

/// Largest heartbeat body: a thousand workers of a few hundred bytes each.
pub const MAX_BATCH_BODY_BYTES: usize = 1024 * 1024;
/// The history covers at most this long (the minute counts are kept 30 days).
const MAX_HISTORY_DAYS: i64 = 30;

/// `POST /api/v1/workers/heartbeats`: the workers' states now (API key with the ingest
/// scope, or a logged-in user). The first bad heartbeat refuses the batch, naming
/// `workers[i].field`.
#[utoipa::path(
    post,
    path = "/api/v1/workers/heartbeats",
    operation_id = "worker_heartbeats",
    summary = "Report AI workers' heartbeats",
    tag = "workers",
    request_body = HeartbeatBatch,
    responses(
        (status = 200, description = "Every heartbeat stored", body = HeartbeatAccepted),
        (status = 422, description = "A heartbeat was refused", body = app::types::ErrorBody)
    ),
    security(("api_key" = ["ingest"]), ("session" = []))
)]
pub async fn heartbeats(
    _p: Ingester,
    State(state): State<AppState>,
    ApiJson(batch): ApiJson<HeartbeatBatch>,
) -> Result<Json<HeartbeatAccepted>, ApiError> {
    if batch.workers.is_empty() || batch.workers.len() > MAX_BATCH {
        return Err(ApiError::invalid(
            "workers",
            format!("send 1 to {MAX_BATCH} heartbeats per batch"),
        ));
    }
    let beats = batch
        .workers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            check(h).map_err(|e| ApiError::invalid(&format!("workers[{i}].{}", e.field), e.message))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let accepted = workers::heartbeat(&state, beats).await?;
    Ok(Json(HeartbeatAccepted {
        accepted,
        lost_after_s: state.config.worker_lost_after.num_seconds().max(0) as u64,
    }))
}

/// `GET /api/v1/workers?range=1h&role=`
#[utoipa::path(
    get,
    path = "/api/v1/workers",
    operation_id = "workers_overview",
    summary = "AI workers: the list, counts by state now and per minute",
    tag = "workers",
    params(WorkersQuery),
    responses((status = 200, description = "Workers and their states", body = WorkersOverview)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn overview(
    _p: Reader,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<WorkersQuery>,
) -> Result<Json<WorkersOverview>, ApiError> {
    let now = Utc::now();
    let (from, to) = RangeParams::new(q.from, q.to, q.range).resolve(Duration::hours(1), now)?;
    if to - from > Duration::days(MAX_HISTORY_DAYS) {
        return Err(ApiError::bad_param(
            "range",
            format!("worker counts are kept {MAX_HISTORY_DAYS} days: ask for 30d at most"),
        ));
    }
    let role = q.role.as_deref().filter(|r| !r.is_empty());
    let (list, rows, roles) = tokio::try_join!(
        workers::all(&state, role, now),
        store::workers::counts(&state.pool, from, to),
        store::workers::roles(&state.pool),
    )?;
    let mut by_minute: BTreeMap<_, StateCounts> = BTreeMap::new();
    for (bucket, s, n) in rows {
        if let Some(s) = WorkerState::parse(&s) {
            *by_minute.entry(bucket).or_default().get_mut(s) = n.max(0) as u32;
        }
    }
    Ok(Json(WorkersOverview {
        from,
        to,
        lost_after_s: state.config.worker_lost_after.num_seconds().max(0) as u64,
        counts: StateCounts::of(&list),
        series: by_minute
            .into_iter()
            .map(|(time, counts)| CountsPoint { time, counts })
            .collect(),
        roles,
        batch_efficiency: mean_batch_efficiency(&list),
        workers: list,
    }))
}

/// `DELETE /api/v1/workers/{name}`: forgets a worker (a logged-in user); its next
/// heartbeat brings it back.
#[utoipa::path(
    delete,
    path = "/api/v1/workers/{name}",
    operation_id = "delete_worker",
    summary = "Forget a worker",
    tag = "workers",
    params(("name" = String, Path, description = "The worker's name")),
    responses(
        (status = 200, description = "Forgotten: the worker as it was", body = Worker),
        (status = 404, description = "No such worker", body = app::types::ErrorBody)
    ),
    security(("session" = []))
)]
pub async fn delete(
    _u: SessionUser,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Worker>, ApiError> {
    let row = store::workers::delete(&state.pool, &name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no worker named {name:?}")))?;
    Ok(Json(workers::view(
        row,
        Utc::now(),
        state.config.worker_lost_after,
    )))
}
