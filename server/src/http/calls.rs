//! `POST /api/v1/llm/calls` (report completed calls) and `GET /api/v1/llm/calls` (list them).
//!
//! A batch is accepted or rejected whole: the first invalid call is named as
//! `calls[i].field` with the reason (422), and nothing of that batch is stored.

use std::collections::HashMap;

use app::types::{BatchAccepted, CallBatch, CallPage, CallStatus};
use axum::{
    extract::{Query, State},
    http::StatusCode,
    Json,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Utc};

use super::{
    error::{field_at, ApiError, ApiJson},
    principal::Principal,
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

pub async fn ingest(
    principal: Principal,
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
    let stored = state.ingest.store(accepted.calls).await?;
    Ok(Json(BatchAccepted {
        accepted: stored.inserted,
        duplicates: stored.duplicates,
    }))
}

pub fn encode_cursor(time: DateTime<Utc>, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{id}", time.timestamp_micros()))
}

pub fn decode_cursor(raw: &str) -> Option<(DateTime<Utc>, String)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(raw).ok()?).ok()?;
    let (micros, id) = text.split_once('|')?;
    Some((
        DateTime::from_timestamp_micros(micros.parse().ok()?)?,
        id.to_owned(),
    ))
}

/// The `limit` query parameter: 1 to `max`, `default` when absent.
pub fn limit_param(q: &HashMap<String, String>, default: i64, max: i64) -> Result<i64, ApiError> {
    match q.get("limit") {
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                ApiError::bad_param("limit", format!("limit must be an integer from 1 to {max}"))
            }),
        None => Ok(default),
    }
}

/// `from` and `to` query parameters (or `range=24h` back from `to`), defaulting to the
/// `default_days` before now.
pub fn range_param(
    q: &HashMap<String, String>,
    default_days: i64,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let to = q
        .get("to")
        .map(|v| parse_time("to", v))
        .transpose()?
        .unwrap_or_else(Utc::now);
    let back = match q.get("range") {
        Some(r) => parse_since(r).ok_or_else(|| {
            ApiError::bad_param(
                "range",
                "range must be a number and a unit (15m, 24h, 7d), at most 400 days",
            )
        })?,
        None => chrono::Duration::days(default_days),
    };
    let from = q
        .get("from")
        .map(|v| parse_time("from", v))
        .transpose()?
        .unwrap_or(to - back);
    Ok((from, to))
}

/// A look-back like `15m`, `24h` or `7d` (at most 400 days).
pub fn parse_since(raw: &str) -> Option<chrono::Duration> {
    let (n, unit) = raw.split_at(raw.len().checked_sub(1)?);
    let n: i64 = n.parse().ok().filter(|n| *n > 0)?;
    let d = match unit {
        "m" => chrono::Duration::minutes(n),
        "h" => chrono::Duration::hours(n),
        "d" => chrono::Duration::days(n),
        _ => return None,
    };
    (d <= chrono::Duration::days(400)).then_some(d)
}

pub fn parse_time(field: &str, raw: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| ApiError::bad_param(field, format!("{field} must be an RFC 3339 time")))
}

/// `GET /api/v1/llm/calls?model=&provider=&status=&session_id=&user_id=&feature=&from=&to=&since=&limit=&cursor=`
pub async fn list(
    _principal: Principal,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<CallPage>, ApiError> {
    let bad = ApiError::bad_param;
    let text = |k: &str| {
        q.get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let limit = limit_param(&q, 50, 500)?;
    let filter =
        CallFilter {
            model: text("model"),
            provider: text("provider"),
            status: match text("status") {
                Some(s) => Some(CallStatus::parse(&s).ok_or_else(|| {
                    bad("status", "status must be ok, error, timeout or cancelled")
                })?),
                None => None,
            },
            session_id: text("session_id"),
            user_id: text("user_id"),
            feature: text("feature"),
            from: match (text("from"), text("since")) {
                (Some(v), _) => Some(parse_time("from", &v)?),
                (None, Some(v)) => Some(
                    Utc::now()
                        - parse_since(&v).ok_or_else(|| {
                            bad(
                                "since",
                                "since must be a number and m, h or d, like 15m or 7d",
                            )
                        })?,
                ),
                (None, None) => None,
            },
            to: text("to").map(|v| parse_time("to", &v)).transpose()?,
            before: match text("cursor") {
                Some(c) => Some(
                    decode_cursor(&c)
                        .ok_or_else(|| bad("cursor", "cursor is not one this API returned"))?,
                ),
                None => None,
            },
        };
    // One extra row tells whether another page exists.
    let mut calls = store::calls::list(&state.pool, &filter, limit + 1).await?;
    let next = if calls.len() as i64 > limit {
        calls.truncate(limit as usize);
        calls.last().map(|c| encode_cursor(c.time, &c.id))
    } else {
        None
    };
    Ok(Json(CallPage { calls, next }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let t = DateTime::from_timestamp_micros(1_763_000_000_123_456).unwrap();
        let c = encode_cursor(t, "id|with|bars");
        assert_eq!(decode_cursor(&c), Some((t, "id|with|bars".to_owned())));
        assert_eq!(decode_cursor("!!!"), None);
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode("nope")), None);
    }

    #[test]
    fn look_backs_parse() {
        assert_eq!(parse_since("15m"), Some(chrono::Duration::minutes(15)));
        assert_eq!(parse_since("7d"), Some(chrono::Duration::days(7)));
        for bad in ["", "h", "0h", "-1h", "3w", "1000d", "1.5h"] {
            assert_eq!(parse_since(bad), None, "{bad}");
        }
    }
}
