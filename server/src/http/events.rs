//! `POST /api/v1/llm/events`: calls reported as `started`, then `completed` or `failed`,
//! tied by the correlation id `id`.
//!
//! Unlike `/llm/calls`, this answers per event (200 when all were taken, 207 when some were
//! rejected): events of one batch often belong to different calls, and a bad one must not
//! hold back the rest. Events are applied in order, so a batch may hold a start and its end.

use app::types::{CallEvent, EventBatch, EventOutcome, EventResult, EventResults};
use axum::{extract::State, http::StatusCode, Json};

use super::{
    error::{field_at, ApiError, ApiJson},
    principal::Ingester,
};
use crate::state::AppState;

/// Events in one request at most (413 beyond).
pub const MAX_EVENTS: usize = 1000;

#[utoipa::path(
    post,
    path = "/api/v1/llm/events",
    operation_id = "ingest_call_events",
    summary = "Report LLM calls as events",
    tag = "llm",
    request_body = EventBatch,
    responses((status = 200, description = "Every event accepted", body = EventResults), (status = 207, description = "Some events refused; each result says why", body = EventResults)),
    security(("api_key" = ["ingest"]), ("session" = []))
)]
pub async fn ingest(
    Ingester(principal): Ingester,
    State(state): State<AppState>,
    ApiJson(batch): ApiJson<EventBatch>,
) -> Result<(StatusCode, Json<EventResults>), ApiError> {
    if batch.events.len() > MAX_EVENTS {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!("at most {MAX_EVENTS} events per request; split the batch"),
        )
        .with_field("events"));
    }
    let key = principal.api_key_id();
    let mut results = Vec::with_capacity(batch.events.len());
    for (index, event) in batch.events.into_iter().enumerate() {
        let (id, verdict) = match event {
            CallEvent::Started(s) => (s.id.clone(), state.ingest.start(s, key).await?),
            CallEvent::Completed(e) => (e.id.clone(), state.ingest.end(e, false, key).await?),
            CallEvent::Failed(e) => (e.id.clone(), state.ingest.end(e, true, key).await?),
        };
        let (field, message) = verdict
            .error
            .map(|e| field_at(&format!("events[{index}]"), &e))
            .unzip();
        results.push(EventResult {
            index,
            id,
            outcome: verdict.outcome,
            field,
            message,
        });
    }
    let status = if results.iter().any(|r| r.outcome == EventOutcome::Rejected) {
        StatusCode::MULTI_STATUS
    } else {
        StatusCode::OK
    };
    Ok((status, Json(EventResults { results })))
}
