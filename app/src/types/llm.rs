//! LLM call telemetry on the wire.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
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
pub struct CostInput {
    pub input_usd: Option<f64>,
    pub output_usd: Option<f64>,
    pub total_usd: Option<f64>,
}

/// One completed call as sent to `POST /api/v1/llm/calls`. Durations in milliseconds.
/// Cached tokens are part of `input_tokens`, reasoning tokens part of `output_tokens`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
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
pub struct CallBatch {
    pub calls: Vec<CallInput>,
}

/// The answer to an accepted batch: every call is stored when this is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchAccepted {
    /// Calls newly stored.
    pub accepted: u64,
    /// Calls already stored earlier (same id and time), not stored again.
    pub duplicates: u64,
}

/// A stored call as listed and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
pub struct CallPage {
    pub calls: Vec<Call>,
    pub next: Option<String>,
}
