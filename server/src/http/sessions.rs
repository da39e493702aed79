//! `/api/v1/sessions`: calls grouped by `session_id` — list, one session's totals and
//! calls, and deleting a session's data (a logged-in user only).

use app::types::{SessionDeleted, SessionDetail, SessionListQuery, SessionPage};
use axum::{
    extract::{Path, State},
    Json,
};
use chrono::{Duration, Utc};

use super::{
    error::ApiError,
    params::{page, ApiQuery, Cursor, Limit, RangeParams},
    principal::{Reader, SessionUser},
};
use crate::{
    state::AppState,
    store::{self, calls::CallFilter, llm_sessions::SessionFilter},
};

/// Calls returned with one session at most.
const MAX_SESSION_CALLS: i64 = 1000;

/// `GET /api/v1/sessions?from=&to=&user_id=&limit=&cursor=` (default: the last 7 days).
#[utoipa::path(
    get,
    path = "/api/v1/sessions",
    operation_id = "list_sessions",
    summary = "List sessions",
    tag = "sessions",
    params(SessionListQuery),
    responses((status = 200, description = "A page of sessions", body = SessionPage)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn list(
    _p: Reader,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<SessionListQuery>,
) -> Result<Json<SessionPage>, ApiError> {
    let (from, to) =
        RangeParams::new(q.from, q.to, q.range).resolve(Duration::days(7), Utc::now())?;
    let limit = Limit(q.limit).resolve(50, 200)?;
    let filter = SessionFilter {
        from,
        to,
        user_id: q.user_id,
        before: Cursor::param(q.cursor.as_deref())?,
    };
    let rows = store::llm_sessions::list(&state.pool, &filter, limit + 1).await?;
    let (sessions, next) = page(rows, limit, |s| (s.last_call, &s.session_id));
    Ok(Json(SessionPage { sessions, next }))
}

/// `GET /api/v1/sessions/{id}`
#[utoipa::path(
    get,
    path = "/api/v1/sessions/{id}",
    operation_id = "get_session",
    summary = "A session with its calls",
    tag = "sessions",
    params(("id" = String, Path, description = "The session's id")),
    responses((status = 200, description = "The session with its calls", body = SessionDetail)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn detail(
    _p: Reader,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<SessionDetail>, ApiError> {
    let Some(summary) = store::llm_sessions::summary(&state.pool, &id).await? else {
        return Err(ApiError::not_found(format!(
            "no calls with session_id '{id}'"
        )));
    };
    let filter = CallFilter {
        session_id: Some(id),
        ..CallFilter::default()
    };
    let mut calls = store::calls::list(&state.pool, &filter, MAX_SESSION_CALLS + 1).await?;
    let truncated = calls.len() as i64 > MAX_SESSION_CALLS;
    calls.truncate(MAX_SESSION_CALLS as usize);
    calls.reverse();
    Ok(Json(SessionDetail {
        summary,
        calls,
        truncated,
    }))
}

/// `DELETE /api/v1/sessions/{id}`
#[utoipa::path(
    delete,
    path = "/api/v1/sessions/{id}",
    operation_id = "delete_session",
    summary = "Delete a session's calls",
    tag = "sessions",
    params(("id" = String, Path, description = "The session's id")),
    responses((status = 200, description = "What was deleted", body = SessionDeleted)),
    security(("session" = []))
)]
pub async fn delete(
    user: SessionUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<SessionDeleted>, ApiError> {
    let n = store::llm_sessions::delete(&state.pool, &id).await?;
    if n == 0 {
        return Err(ApiError::not_found(format!(
            "no calls with session_id '{id}'"
        )));
    }
    tracing::info!(by = %user.username, calls = n, "session data deleted");
    Ok(Json(SessionDeleted { calls_deleted: n }))
}
