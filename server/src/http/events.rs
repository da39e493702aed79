//! `POST /api/v1/llm/events`: calls reported as `started`, then `completed` or `failed`,
//! tied by the correlation id `id`.
//!
//! Unlike `/llm/calls`, this answers per event (200 when all were taken, 207 when some were
//! rejected): events of one batch often belong to different calls, and a bad one must not
//! hold back the rest. Events are applied in order, so a batch may hold a start and its end.

use app::types::{CallEvent, EndEvent, EventBatch, EventResult, EventResults, StartedEvent};
use axum::{extract::State, http::StatusCode, Json};
use chrono::{DateTime, Utc};

use super::{
    calls::store_calls,
    error::{ApiError, ApiJson},
    principal::Principal,
};
use crate::{
    ingest::{call, events},
    state::AppState,
    store,
};

/// Events in one request at most (413 beyond).
pub const MAX_EVENTS: usize = 1000;

fn result(index: usize, id: &str, outcome: &str) -> EventResult {
    EventResult {
        index,
        id: id.to_owned(),
        outcome: outcome.to_owned(),
        field: None,
        message: None,
    }
}

fn rejected(index: usize, id: &str, field: &str, message: String) -> EventResult {
    EventResult {
        field: Some(format!("events[{index}].{field}")),
        message: Some(message),
        ..result(index, id, "rejected")
    }
}

pub async fn ingest(
    principal: Principal,
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
    let mut results = Vec::with_capacity(batch.events.len());
    for (i, event) in batch.events.into_iter().enumerate() {
        let r = match event {
            CallEvent::Started(s) => started(&state, &principal, i, s).await?,
            CallEvent::Completed(e) => ended(&state, &principal, i, e, false).await?,
            CallEvent::Failed(e) => ended(&state, &principal, i, e, true).await?,
        };
        results.push(r);
    }
    let status = if results.iter().any(|r| r.outcome == "rejected") {
        StatusCode::MULTI_STATUS
    } else {
        StatusCode::OK
    };
    Ok((status, Json(EventResults { results })))
}

fn check_id(i: usize, id: &str) -> Result<(), EventResult> {
    let trimmed = id.trim();
    if trimmed.is_empty() || trimmed.len() > 128 || trimmed.chars().any(char::is_control) {
        return Err(rejected(
            i,
            id,
            "id",
            "id must be 1 to 128 characters without control characters".into(),
        ));
    }
    Ok(())
}

async fn started(
    state: &AppState,
    principal: &Principal,
    i: usize,
    s: StartedEvent,
) -> Result<EventResult, ApiError> {
    if let Err(r) = check_id(i, &s.id) {
        return Ok(r);
    }
    let now = Utc::now();
    let time = s.time.unwrap_or(now);
    // Validate what the start says now, as the call it will become, so a bad start is
    // refused at once rather than at its end.
    let probe = events::timed_out(s.clone(), time, state.config.event_timeout);
    if let Err(e) = call::validate(probe, now, &[], None, String::new) {
        return Ok(rejected(
            i,
            &s.id,
            e.field,
            format!("{} {}", e.field, e.message),
        ));
    }
    let deadline = time.max(now) + state.config.event_timeout;
    let fresh =
        store::pending_calls::insert(&state.pool, &s, time, deadline, principal.api_key_id())
            .await?;
    Ok(result(
        i,
        &s.id,
        if fresh { "pending" } else { "duplicate" },
    ))
}

async fn ended(
    state: &AppState,
    principal: &Principal,
    i: usize,
    e: EndEvent,
    failed: bool,
) -> Result<EventResult, ApiError> {
    if let Err(r) = check_id(i, &e.id) {
        return Ok(r);
    }
    let id = e.id.clone();
    let now = Utc::now();
    let end_time: DateTime<Utc> = e.time.unwrap_or(now);
    let pending = store::pending_calls::find(&state.pool, &id).await?;
    let (input, api_key_id) = match pending {
        Some(p) if p.timed_out_at.is_some() => {
            return Ok(rejected(
                i,
                &id,
                "id",
                "its start timed out before this end arrived; the timeout call stands".into(),
            ))
        }
        Some(p) => (
            events::merge(p.start, p.started_at, e, end_time, failed),
            p.api_key_id.or(principal.api_key_id()),
        ),
        None => match events::standalone(e, end_time, failed) {
            Ok(input) => (input, principal.api_key_id()),
            Err(err) => {
                return Ok(rejected(
                    i,
                    &id,
                    err.field,
                    format!("{} {}", err.field, err.message),
                ))
            }
        },
    };
    let call = match call::validate(input, now, &state.prices(), api_key_id, String::new) {
        Ok(c) => c,
        Err(err) => {
            return Ok(rejected(
                i,
                &id,
                err.field,
                format!("{} {}", err.field, err.message),
            ))
        }
    };
    let stored = store_calls(state, vec![call]).await?;
    // Only after the call is committed: a crash before this leaves the start pending, and
    // its timeout would collide with the stored call and be skipped.
    store::pending_calls::remove(&state.pool, &id).await?;
    Ok(result(
        i,
        &id,
        if stored.inserted > 0 {
            "stored"
        } else {
            "duplicate"
        },
    ))
}

/// Turns starts past their deadline into timeout calls. Run periodically.
pub async fn sweep_timeouts(state: &AppState) -> Result<usize, ApiError> {
    let mut total = 0;
    loop {
        let expired = store::pending_calls::expired(&state.pool, Utc::now(), 500).await?;
        if expired.is_empty() {
            return Ok(total);
        }
        let now = Utc::now();
        let prices = state.prices();
        let mut calls = Vec::with_capacity(expired.len());
        let ids: Vec<String> = expired.iter().map(|p| p.start.id.clone()).collect();
        for p in expired {
            let input = events::timed_out(p.start, p.started_at, state.config.event_timeout);
            match call::validate(input, now, &prices, p.api_key_id, String::new) {
                Ok(c) => calls.push(c),
                Err(e) => {
                    tracing::warn!(field = e.field, reason = %e.message, "timed-out start dropped")
                }
            }
        }
        total += calls.len();
        store_calls(state, calls).await?;
        store::pending_calls::mark_timed_out(&state.pool, &ids).await?;
    }
}
