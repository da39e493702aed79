//! `POST /api/v1/llm/calls` (report completed calls) and `GET /api/v1/llm/calls` (list them).
//!
//! A batch is accepted or rejected whole: the first invalid call is named as
//! `calls[i].field` with the reason (422), and nothing of that batch is stored.

use app::types::{BatchAccepted, CallBatch, CallListQuery, CallPage};
use axum::{extract::State, http::StatusCode, Json};
use chrono::Utc;

use super::{
    error::{field_at, ApiError, ApiJson},
    params::{page, parse_look_back, ApiQuery, Cursor, Limit},
    principal::{Ingester, Reader},
};
use crate::{
    ingest::call::IdPolicy,
    state::AppState,
    store::{self, calls::CallFilter},
};

/// Calls in one request at most (413 beyond).
pub const MAX_BATCH: usize = 1000;
/// Body limit of the ingest route: a full batch with metadata.
pub const MAX_INGEST_BODY_BYTES: usize = 8 * 1024 * 1024;

#[utoipa::path(
    post,
    path = "/api/v1/llm/calls",
    operation_id = "ingest_calls",
    summary = "Report finished LLM calls",
    tag = "llm",
    request_body = CallBatch,
    responses((status = 200, description = "Every call stored (or already stored)", body = BatchAccepted)),
    security(("api_key" = ["ingest"]), ("session" = []))
)]
pub async fn ingest(
    Ingester(principal): Ingester,
    State(state): State<AppState>,
    ApiJson(batch): ApiJson<CallBatch>,
) -> Result<Json<BatchAccepted>, ApiError> {
    if batch.calls.len() > MAX_BATCH {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!("at most {MAX_BATCH} calls per request; split the batch"),
        )
        .with_field("calls"));
    }
    let accepted = state
        .ingest
        .accept(batch.calls, IdPolicy::Generate, principal.api_key_id());
    // The batch is taken or refused whole: the first bad call is named.
    if let Some((i, e)) = accepted.rejected.first() {
        let (field, message) = field_at(&format!("calls[{i}]"), e);
        return Err(ApiError::invalid(&field, message));
    }
    let stored = state
        .ingest
        .store(accepted.calls, crate::metrics::CallSource::Api)
        .await?;
    Ok(Json(BatchAccepted {
        accepted: stored.inserted,
        duplicates: stored.duplicates,
    }))
}

/// `GET /api/v1/llm/calls?model=&provider=&status=&session_id=&user_id=&feature=&from=&to=&since=&limit=&cursor=`
#[utoipa::path(
    get,
    path = "/api/v1/llm/calls",
    operation_id = "list_calls",
    summary = "List LLM calls",
    tag = "llm",
    params(CallListQuery),
    responses((status = 200, description = "A page of calls, newest first", body = CallPage)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn list(
    _p: Reader,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<CallListQuery>,
) -> Result<Json<CallPage>, ApiError> {
    let limit = Limit(q.limit).resolve(50, 500)?;
    let from = match (q.from, &q.since) {
        (Some(from), _) => Some(from),
        (None, Some(since)) => Some(Utc::now() - parse_look_back("since", since)?),
        (None, None) => None,
    };
    let filter = CallFilter {
        model: q.model,
        provider: q.provider,
        status: q.status,
        session_id: q.session_id,
        user_id: q.user_id,
        feature: q.feature,
        from,
        to: q.to,
        before: Cursor::param(q.cursor.as_deref())?,
    };
    // One extra row tells whether another page exists.
    let rows = store::calls::list(&state.pool, &filter, limit + 1).await?;
    let (calls, next) = page(rows, limit, |c| (c.time, &c.id));
    Ok(Json(CallPage { calls, next }))
}
