//! `GET/PUT /api/v1/rate-limits`: the proxy's limits per API key, user or model. Reading
//! needs any credential, replacing them a logged-in user.

use std::collections::HashSet;

use app::types::{RateLimit, RateLimits, RateSubject};
use axum::{extract::State, Json};

use super::{
    error::{ApiError, ApiJson},
    principal::{Reader, SessionUser},
};
use crate::{state::AppState, store};

const MAX_LIMITS: usize = 1000;
const MAX_VALUE_CHARS: usize = 200;

fn current(state: &AppState) -> RateLimits {
    RateLimits {
        limits: state.rate_limits.limits().as_ref().clone(),
        servers: state.rate_limits.servers(),
    }
}

/// `GET /api/v1/rate-limits`.
#[utoipa::path(
    get,
    path = "/api/v1/rate-limits",
    operation_id = "get_rate_limits",
    summary = "Get rate limits",
    tag = "rate-limits",
    responses((status = 200, description = "Every rate limit", body = RateLimits)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn get(_p: Reader, State(state): State<AppState>) -> Result<Json<RateLimits>, ApiError> {
    state.rate_limits.reload(&state.pool).await?;
    Ok(Json(current(&state)))
}

/// Checks a set of limits; the error names the offending entry (`limits[2].value`).
pub fn validate(limits: &[RateLimit]) -> Result<Vec<RateLimit>, ApiError> {
    if limits.len() > MAX_LIMITS {
        return Err(ApiError::invalid(
            "limits",
            format!("at most {MAX_LIMITS} limits"),
        ));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(limits.len());
    for (i, l) in limits.iter().enumerate() {
        let field = |f: &str| format!("limits[{i}].{f}");
        let value = l.value.trim();
        if value.is_empty()
            || value.chars().count() > MAX_VALUE_CHARS
            || value.chars().any(char::is_control)
        {
            return Err(ApiError::invalid(
                &field("value"),
                format!("must be 1 to {MAX_VALUE_CHARS} characters, or * for each one apart"),
            ));
        }
        if l.subject == RateSubject::ApiKey && value != "*" && value.parse::<i64>().is_err() {
            return Err(ApiError::invalid(
                &field("value"),
                "must be an API key's id, or *",
            ));
        }
        if l.requests_per_minute.is_none() && l.tokens_per_minute.is_none() {
            return Err(ApiError::invalid(
                &field("requests_per_minute"),
                "set requests or tokens per minute, or both",
            ));
        }
        if l.requests_per_minute
            .is_some_and(|v| v == 0 || v > 10_000_000)
        {
            return Err(ApiError::invalid(
                &field("requests_per_minute"),
                "must be from 1 to 10,000,000",
            ));
        }
        if l.tokens_per_minute
            .is_some_and(|v| v == 0 || v > 1_000_000_000_000)
        {
            return Err(ApiError::invalid(
                &field("tokens_per_minute"),
                "must be from 1 to a trillion",
            ));
        }
        if !seen.insert((l.subject, value.to_owned())) {
            return Err(ApiError::invalid(
                &field("value"),
                "this subject already has a limit in the list",
            ));
        }
        out.push(RateLimit {
            value: value.to_owned(),
            ..l.clone()
        });
    }
    Ok(out)
}

/// `PUT /api/v1/rate-limits`: replaces every limit.
#[utoipa::path(
    put,
    path = "/api/v1/rate-limits",
    operation_id = "put_rate_limits",
    summary = "Replace rate limits",
    tag = "rate-limits",
    request_body = RateLimits,
    responses((status = 200, description = "The limits as stored", body = RateLimits)),
    security(("session" = []))
)]
pub async fn put(
    user: SessionUser,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RateLimits>,
) -> Result<Json<RateLimits>, ApiError> {
    let limits = validate(&req.limits)?;
    store::rate_limits::replace(&state.pool, &limits).await?;
    state.rate_limits.reload(&state.pool).await?;
    tracing::info!(by = %user.username, limits = limits.len(), "rate limits replaced");
    Ok(Json(current(&state)))
}
