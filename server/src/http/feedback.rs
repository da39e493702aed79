//! `POST /api/v1/feedback`: a user rating or quality score for calls already stored, by
//! call id or trace id.

use app::types::{FeedbackAccepted, FeedbackInput};
use axum::{extract::State, Json};

use super::{
    error::{ApiError, ApiJson},
    principal::Ingester,
};
use crate::{
    domain::feedback::{check, Target},
    state::AppState,
    store,
};

/// Largest feedback body.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

#[utoipa::path(
    post,
    path = "/api/v1/feedback",
    operation_id = "call_feedback",
    summary = "Rate a call or score its quality after the fact",
    tag = "calls",
    request_body = FeedbackInput,
    responses(
        (status = 200, description = "Attached to these calls", body = FeedbackAccepted),
        (status = 404, description = "No such call or trace", body = app::types::ErrorBody),
        (status = 422, description = "Refused, naming the field", body = app::types::ErrorBody)
    ),
    security(("api_key" = ["ingest"]), ("session" = []))
)]
pub async fn feedback(
    _p: Ingester,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<FeedbackInput>,
) -> Result<Json<FeedbackAccepted>, ApiError> {
    let f = check(&input).map_err(|e| ApiError::invalid(e.field, e.message))?;
    let ids = store::feedback::apply(&state.pool, &f).await?;
    if ids.is_empty() {
        return Err(match &f.target {
            Target::Call(id) => {
                ApiError::not_found(format!("no call with id {id:?}")).with_field("call_id")
            }
            Target::Trace(t) => {
                ApiError::not_found(format!("no call with trace id {t:?}")).with_field("trace_id")
            }
        });
    }
    Ok(Json(FeedbackAccepted {
        calls: ids.len() as u64,
        call_ids: ids,
    }))
}
