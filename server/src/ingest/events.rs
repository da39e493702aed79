//! Calls reported in steps (`started`, then `completed` or `failed`), merged into one call
//! input, free of IO. The call's id is the correlation id and its time the start's, so a
//! timeout written by the sweeper and a late end for the same call collide on the primary
//! key: whichever is stored first stays.

use app::types::{CallInput, CallStatus, EndEvent, StartedEvent};
use chrono::{DateTime, Utc};

use super::call::FieldError;

fn end_status(end: &EndEvent, failed: bool) -> CallStatus {
    match (failed, end.status) {
        (false, s) => s.unwrap_or(CallStatus::Ok),
        (true, Some(s)) if s != CallStatus::Ok => s,
        (true, _) => CallStatus::Error,
    }
}

fn merge_metadata(
    a: Option<serde_json::Value>,
    b: Option<serde_json::Value>,
) -> Option<serde_json::Value> {
    match (a, b) {
        (Some(serde_json::Value::Object(mut x)), Some(serde_json::Value::Object(y))) => {
            x.extend(y);
            Some(serde_json::Value::Object(x))
        }
        (x, None) => x,
        (_, y) => y,
    }
}

/// A start and its end as one call. The duration is the end's own, or the time between the
/// two events.
pub fn merge(
    start: StartedEvent,
    start_time: DateTime<Utc>,
    end: EndEvent,
    end_time: DateTime<Utc>,
    failed: bool,
) -> CallInput {
    let status = end_status(&end, failed);
    let elapsed_ms =
        ((end_time - start_time).num_microseconds().unwrap_or(0) as f64 / 1000.0).max(0.0);
    CallInput {
        id: Some(start.id),
        time: Some(start_time),
        trace_id: start.trace_id,
        session_id: start.session_id,
        user_id: start.user_id,
        feature: start.feature,
        provider: start.provider,
        model: start.model,
        response_model: end.response_model.or(end.model),
        status,
        error_type: end.error_type,
        error_message: end.error_message,
        http_status: end.http_status,
        ttft_ms: end.ttft_ms,
        streaming_ms: end.streaming_ms,
        duration_ms: end.duration_ms.unwrap_or(elapsed_ms),
        input_tokens: end.input_tokens,
        output_tokens: end.output_tokens,
        cached_tokens: end.cached_tokens,
        reasoning_tokens: end.reasoning_tokens,
        cost: end.cost,
        tool_calls: end.tool_calls,
        quality_score: end.quality_score,
        user_rating: end.user_rating,
        metadata: merge_metadata(start.metadata, end.metadata),
    }
}

/// An end without a start: a whole call if it says what and how long.
pub fn standalone(
    end: EndEvent,
    end_time: DateTime<Utc>,
    failed: bool,
) -> Result<CallInput, FieldError> {
    let missing = |field: &'static str| FieldError {
        field,
        message: "is required when no started event with this id is pending".into(),
    };
    let provider = end.provider.clone().ok_or_else(|| missing("provider"))?;
    let model = end.model.clone().ok_or_else(|| missing("model"))?;
    let duration_ms = end.duration_ms.ok_or_else(|| missing("duration_ms"))?;
    let start_time = end_time
        - chrono::Duration::microseconds((duration_ms.clamp(0.0, 86_400_000.0) * 1000.0) as i64);
    let start = StartedEvent {
        id: end.id.clone(),
        time: Some(start_time),
        provider,
        model,
        ..Default::default()
    };
    let mut end = end;
    end.model = None;
    Ok(merge(start, start_time, end, end_time, failed))
}

/// A start whose end never came within `timeout`.
pub fn timed_out(
    start: StartedEvent,
    start_time: DateTime<Utc>,
    timeout: std::time::Duration,
) -> CallInput {
    let secs = timeout.as_secs();
    merge(
        start,
        start_time,
        EndEvent {
            status: Some(CallStatus::Timeout),
            error_type: Some("no_end_event".into()),
            error_message: Some(format!("no completed or failed event within {secs} s")),
            duration_ms: Some(timeout.as_secs_f64() * 1000.0),
            ..Default::default()
        },
        start_time,
        true,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn start() -> StartedEvent {
        StartedEvent {
            id: "c1".into(),
            provider: "openai".into(),
            model: "gpt-4o".into(),
            session_id: Some("s".into()),
            metadata: Some(serde_json::json!({"a": 1})),
            ..Default::default()
        }
    }

    #[test]
    fn a_completed_call_takes_its_duration_from_the_two_events() {
        let t0 = Utc::now();
        let end = EndEvent {
            id: "c1".into(),
            output_tokens: 5,
            metadata: Some(serde_json::json!({"b": 2})),
            ..Default::default()
        };
        let c = merge(start(), t0, end, t0 + Duration::milliseconds(1500), false);
        assert_eq!(c.time, Some(t0));
        assert_eq!(c.status, CallStatus::Ok);
        assert!((c.duration_ms - 1500.0).abs() < 1e-6);
        assert_eq!(c.session_id.as_deref(), Some("s"));
        assert_eq!(c.metadata, Some(serde_json::json!({"a": 1, "b": 2})));
    }

    #[test]
    fn failed_defaults_to_error_but_keeps_timeout_and_cancelled() {
        let t0 = Utc::now();
        let end = |status| EndEvent {
            id: "c1".into(),
            status,
            ..Default::default()
        };
        assert_eq!(
            merge(start(), t0, end(None), t0, true).status,
            CallStatus::Error
        );
        assert_eq!(
            merge(start(), t0, end(Some(CallStatus::Ok)), t0, true).status,
            CallStatus::Error
        );
        assert_eq!(
            merge(start(), t0, end(Some(CallStatus::Cancelled)), t0, true).status,
            CallStatus::Cancelled
        );
    }

    #[test]
    fn an_end_alone_needs_what_a_start_would_give() {
        let t = Utc::now();
        let e = standalone(
            EndEvent {
                id: "x".into(),
                ..Default::default()
            },
            t,
            false,
        )
        .unwrap_err();
        assert_eq!(e.field, "provider");
        let c = standalone(
            EndEvent {
                id: "x".into(),
                provider: Some("openai".into()),
                model: Some("gpt-4o".into()),
                duration_ms: Some(250.0),
                ..Default::default()
            },
            t,
            false,
        )
        .unwrap();
        assert_eq!(c.time, Some(t - Duration::milliseconds(250)));
        assert_eq!(c.model, "gpt-4o");
        assert_eq!(c.response_model, None);
    }

    #[test]
    fn a_start_without_end_becomes_a_timeout_of_the_timeout_length() {
        let t0 = Utc::now();
        let c = timed_out(start(), t0, std::time::Duration::from_secs(30));
        assert_eq!(c.status, CallStatus::Timeout);
        assert_eq!(c.error_type.as_deref(), Some("no_end_event"));
        assert!((c.duration_ms - 30_000.0).abs() < 1e-9);
        assert_eq!(c.id.as_deref(), Some("c1"));
    }
}
