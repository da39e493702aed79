//! LLM call telemetry on the wire.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    #[default]
    Ok,
    Error,
    Timeout,
    Cancelled,
}

impl CallStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Ok => "ok",
            CallStatus::Error => "error",
            CallStatus::Timeout => "timeout",
            CallStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ok" => CallStatus::Ok,
            "error" => CallStatus::Error,
            "timeout" => CallStatus::Timeout,
            "cancelled" => CallStatus::Cancelled,
            _ => return None,
        })
    }
}

/// Cost a client already knows (it wins over the price table), in USD.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CostInput {
    pub input_usd: Option<f64>,
    pub output_usd: Option<f64>,
    pub total_usd: Option<f64>,
}

/// One completed call as sent to `POST /api/v1/llm/calls`. Durations in milliseconds.
/// Cached tokens are part of `input_tokens`, reasoning tokens part of `output_tokens`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CallInput {
    /// Client-chosen id (idempotency key): the same id and time sent twice is stored once.
    pub id: Option<String>,
    /// When the call started; defaults to the time it is received.
    pub time: Option<DateTime<Utc>>,
    pub trace_id: Option<String>,
    pub session_id: Option<String>,
    pub user_id: Option<String>,
    /// The app's endpoint or feature that made the call.
    pub feature: Option<String>,
    pub provider: String,
    /// The model asked for.
    pub model: String,
    /// The model that answered, when the provider says so.
    pub response_model: Option<String>,
    #[serde(default)]
    pub status: CallStatus,
    pub error_type: Option<String>,
    pub error_message: Option<String>,
    pub http_status: Option<u16>,
    pub ttft_ms: Option<f64>,
    pub streaming_ms: Option<f64>,
    pub duration_ms: f64,
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default)]
    pub cached_tokens: u64,
    #[serde(default)]
    pub reasoning_tokens: u64,
    pub cost: Option<CostInput>,
    #[serde(default)]
    pub tool_calls: u32,
    /// 0 to 100.
    pub quality_score: Option<f64>,
    /// 1 to 5.
    pub user_rating: Option<u8>,
    pub metadata: Option<serde_json::Value>,
}

/// `POST /api/v1/llm/calls`
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CallBatch {
    pub calls: Vec<CallInput>,
}

/// The answer to an accepted batch: every call is stored when this is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BatchAccepted {
    /// Calls newly stored.
    pub accepted: u64,
    /// Calls already stored earlier (same id and time), not stored again.
    pub duplicates: u64,
}

/// A stored call as listed and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Call {
    pub id: String,
    pub time: DateTime<Utc>,
    pub trace_id: Option<String>,
    pub session_id: Option<String>,
    pub user_id: Option<String>,
    pub feature: Option<String>,
    pub provider: String,
    pub model: String,
    pub response_model: Option<String>,
    pub status: CallStatus,
    pub error_type: Option<String>,
    pub error_message: Option<String>,
    pub http_status: Option<u16>,
    pub ttft_ms: Option<f64>,
    pub streaming_ms: Option<f64>,
    pub duration_ms: f64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cached_tokens: i64,
    pub reasoning_tokens: i64,
    pub tokens_per_second: Option<f64>,
    /// Costs in micro-USD (exact integers); None when the model has no known price.
    pub cost_input_micros: Option<i64>,
    pub cost_output_micros: Option<i64>,
    pub cost_total_micros: Option<i64>,
    pub tool_calls: i32,
    pub quality_score: Option<f64>,
    pub user_rating: Option<i16>,
    pub metadata: Option<serde_json::Value>,
}

/// A page of calls, newest first; `next` is the cursor for the following page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CallPage {
    pub calls: Vec<Call>,
    pub next: Option<String>,
}

/// One event of `POST /api/v1/llm/events`: a call reported in steps, tied by `id` (the
/// correlation id). A `started` call with no `completed` or `failed` within the server's
/// event timeout is stored as a timeout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CallEvent {
    Started(StartedEvent),
    Completed(EndEvent),
    Failed(EndEvent),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StartedEvent {
    pub id: String,
    /// Defaults to the time it is received.
    pub time: Option<DateTime<Utc>>,
    pub provider: String,
    pub model: String,
    pub trace_id: Option<String>,
    pub session_id: Option<String>,
    pub user_id: Option<String>,
    pub feature: Option<String>,
    pub metadata: Option<serde_json::Value>,
}

/// The end of a call. Without a matching `started` it must carry `provider`, `model` and
/// `duration_ms` itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EndEvent {
    pub id: String,
    /// When the call ended; defaults to the time it is received.
    pub time: Option<DateTime<Utc>>,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub response_model: Option<String>,
    /// `failed` defaults to `error`; `timeout` and `cancelled` may be given.
    pub status: Option<CallStatus>,
    pub error_type: Option<String>,
    pub error_message: Option<String>,
    pub http_status: Option<u16>,
    pub ttft_ms: Option<f64>,
    pub streaming_ms: Option<f64>,
    /// Defaults to the time between the two events.
    pub duration_ms: Option<f64>,
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default)]
    pub cached_tokens: u64,
    #[serde(default)]
    pub reasoning_tokens: u64,
    pub cost: Option<CostInput>,
    #[serde(default)]
    pub tool_calls: u32,
    pub quality_score: Option<f64>,
    pub user_rating: Option<u8>,
    pub metadata: Option<serde_json::Value>,
}

/// `POST /api/v1/llm/events`
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EventBatch {
    pub events: Vec<CallEvent>,
}

/// What became of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EventOutcome {
    /// A start, waiting for its end.
    Pending,
    /// The call is stored.
    Stored,
    /// The start or the call was already there.
    Duplicate,
    /// Refused; `field` and `message` say why.
    Rejected,
}

/// What became of one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EventResult {
    pub index: usize,
    pub id: String,
    pub outcome: EventOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The answer to `POST /api/v1/llm/events`: 200 when every event was taken, 207 when some
/// were rejected (the others are stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EventResults {
    pub results: Vec<EventResult>,
}

/// A price version. Money is in micro-USD per million tokens: $2.50 per million is
/// `2500000`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ModelPrice {
    pub id: i64,
    /// None: any provider serving a model that matches.
    pub provider: Option<String>,
    /// Anchored glob on the model name: `gpt-4o-mini*` matches `gpt-4o-mini-2024-07-18`.
    pub model_pattern: String,
    pub input_per_mtok_micros: i64,
    pub output_per_mtok_micros: i64,
    /// None: cached input is charged as input.
    pub cached_input_per_mtok_micros: Option<i64>,
    pub effective_from: DateTime<Utc>,
    /// The model's context window in tokens, when known.
    #[serde(default)]
    pub context_window: Option<i64>,
    /// `bundled` or `api`.
    pub source: String,
}

/// `POST /api/v1/prices`: a new price version. Earlier calls keep their cost until a
/// re-cost is asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewModelPrice {
    pub provider: Option<String>,
    pub model_pattern: String,
    pub input_per_mtok_micros: i64,
    pub output_per_mtok_micros: i64,
    pub cached_input_per_mtok_micros: Option<i64>,
    /// Defaults to now.
    pub effective_from: Option<DateTime<Utc>>,
    /// The model's context window in tokens (1 to 100 million), for context-window use.
    #[serde(default)]
    pub context_window: Option<i64>,
}

/// A model seen in calls without a known price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UnpricedModel {
    pub provider: String,
    pub model: String,
    pub calls: i64,
    pub last_seen: DateTime<Utc>,
}

/// `POST /api/v1/prices/recost`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RecostRequest {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// One re-cost as audited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Recost {
    pub id: i64,
    pub requested_by: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Calls whose cost came from the price table (client-given costs are never touched).
    pub calls_examined: i64,
    pub calls_changed: i64,
    pub cost_before_micros: i64,
    pub cost_after_micros: i64,
    pub created_at: DateTime<Utc>,
}

/// A session's totals (seed 004's session metrics).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SessionSummary {
    pub session_id: String,
    /// The user of the session's latest call.
    pub user_id: Option<String>,
    pub first_call: DateTime<Utc>,
    pub last_call: DateTime<Utc>,
    pub calls: i64,
    pub errors: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    /// Sum over priced calls; None when no call was priced.
    pub cost_micros: Option<i64>,
    pub unpriced_calls: i64,
    pub avg_duration_ms: f64,
    pub avg_ttft_ms: Option<f64>,
    pub avg_tokens_per_second: Option<f64>,
    pub tool_calls: i64,
    pub models: Vec<String>,
}

/// `GET /api/v1/sessions`: newest activity first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SessionPage {
    pub sessions: Vec<SessionSummary>,
    pub next: Option<String>,
}

/// `GET /api/v1/sessions/{id}`: totals and the calls, oldest first (at most 1000; `truncated`
/// says when there were more).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SessionDetail {
    pub summary: SessionSummary,
    pub calls: Vec<Call>,
    pub truncated: bool,
}

/// `DELETE /api/v1/sessions/{id}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SessionDeleted {
    pub calls_deleted: u64,
}

/// `POST /api/v1/feedback`: a user rating or a quality score for a call after the fact, by
/// the call's id or by its trace id (every call of the trace). At least one of `rating` and
/// `quality_score`; a later feedback replaces the earlier one.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FeedbackInput {
    #[serde(default)]
    pub call_id: Option<String>,
    #[serde(default)]
    pub trace_id: Option<String>,
    /// 1 to 5.
    #[serde(default)]
    pub rating: Option<i64>,
    /// 0 to 100.
    #[serde(default)]
    pub quality_score: Option<f64>,
}

/// The answer to a feedback: the calls it was attached to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FeedbackAccepted {
    pub calls: u64,
    pub call_ids: Vec<String>,
}
