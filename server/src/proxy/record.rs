//! The record of one proxied exchange: what is known before the answer ([`Draft`]), how it
//! ended ([`Outcome`]), and the call they make together, handed to the ingest service.

use std::time::{Duration, Instant};

use app::types::ProviderKind;
use app::types::{CallInput, CallStatus};
use axum::{
    body::Bytes,
    http::{HeaderMap, StatusCode},
};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::usage;
use crate::{auth::credential::header_str, domain::pricing::Usage, ingest::service::Ingest};

/// The parts of a call known before the answer.
pub struct Draft {
    /// The call's id when a budget reservation was made: storing the call settles it.
    pub(super) id: Option<String>,
    pub(super) provider: String,
    pub(super) endpoint: String,
    pub(super) model: String,
    pub(super) stream: bool,
    pub(super) prompt_chars: usize,
    pub(super) time: DateTime<Utc>,
    pub(super) started: Instant,
    pub(super) session_id: Option<String>,
    pub(super) user_id: Option<String>,
    pub(super) feature: Option<String>,
    pub(super) trace_id: Option<String>,
    /// The client's key; None for Sightline's own calls (benchmark runs).
    pub(super) api_key_id: Option<i64>,
}

/// How an exchange ended, for the record.
pub struct Outcome {
    pub(super) status: CallStatus,
    pub(super) http_status: Option<u16>,
    pub(super) error_type: Option<String>,
    pub(super) error_message: Option<String>,
    pub(super) ttfb: Option<Duration>,
    pub(super) usage: Option<Usage>,
    /// Generated characters, for an estimate when no usage came.
    pub(super) content_chars: Option<usize>,
    pub(super) response_model: Option<String>,
    pub(super) tool_calls: u32,
}

impl Draft {
    pub fn into_input(self, o: Outcome) -> CallInput {
        let duration = self.started.elapsed();
        let duration_ms = duration.as_secs_f64() * 1000.0;
        let ttft_ms = o.ttfb.map(|t| t.as_secs_f64() * 1000.0);
        let mut metadata = serde_json::Map::new();
        metadata.insert("source".into(), "proxy".into());
        metadata.insert("endpoint".into(), self.endpoint.clone().into());
        metadata.insert("stream".into(), self.stream.into());
        let usage = match (o.usage, o.content_chars) {
            (Some(u), _) => u,
            // No usage from the server: estimate, and say so.
            (None, Some(chars)) if o.status != CallStatus::Error || chars > 0 => {
                metadata.insert("usage_estimated".into(), true.into());
                Usage {
                    input: usage::estimate_tokens(self.prompt_chars),
                    output: usage::estimate_tokens(chars),
                    ..Usage::default()
                }
            }
            (None, _) => Usage::default(),
        };
        CallInput {
            id: self.id,
            time: Some(self.time),
            trace_id: self.trace_id,
            session_id: self.session_id,
            user_id: self.user_id,
            feature: self.feature,
            provider: self.provider,
            model: if self.model.is_empty() {
                o.response_model
                    .as_deref()
                    .map(label)
                    .unwrap_or_else(|| "unknown".into())
            } else {
                self.model
            },
            response_model: o.response_model.as_deref().map(label),
            status: o.status,
            error_type: o.error_type,
            error_message: o.error_message,
            http_status: o.http_status,
            ttft_ms: if self.stream { ttft_ms } else { None },
            streaming_ms: if self.stream {
                ttft_ms.map(|t| (duration_ms - t).max(0.0))
            } else {
                None
            },
            duration_ms,
            input_tokens: usage.input,
            output_tokens: usage.output,
            cached_tokens: usage.cached,
            reasoning_tokens: usage.reasoning,
            cost: None,
            tool_calls: o.tool_calls,
            quality_score: None,
            user_rating: None,
            metadata: Some(Value::Object(metadata)),
        }
    }
}

/// Hands the finished record to the ingest service, which stores it in the background.
pub fn record(ingest: &Ingest, draft: Draft, outcome: Outcome) {
    let api_key_id = draft.api_key_id;
    ingest.record_detached(draft.into_input(outcome), api_key_id);
}

pub fn failure(status: CallStatus, code: &str, message: &str, ttfb: Option<Duration>) -> Outcome {
    Outcome {
        status,
        http_status: None,
        error_type: Some(code.to_owned()),
        error_message: Some(message.to_owned()),
        ttfb,
        usage: None,
        content_chars: None,
        response_model: None,
        tool_calls: 0,
    }
}

/// A label from a client header: at most 256 characters, control characters removed, so a
/// proxied call is stored whatever the client sent.
pub fn tag(headers: &HeaderMap, name: &str) -> Option<String> {
    header_str(headers, name).map(label)
}

/// A label as the proxy records it: without control characters, at most 256 characters.
pub fn label(raw: &str) -> String {
    raw.chars().filter(|c| !c.is_control()).take(256).collect()
}

/// The trace id of a W3C `traceparent` header.
pub fn trace_id(headers: &HeaderMap) -> Option<String> {
    tag(headers, "x-sightline-trace").or_else(|| {
        let tp = header_str(headers, "traceparent")?;
        let id = tp.split('-').nth(1)?;
        (id.len() == 32).then(|| id.to_owned())
    })
}

/// How a whole (not streamed) answer ended, read from its body.
pub fn answered(kind: ProviderKind, status: StatusCode, bytes: &Bytes) -> Outcome {
    let s = usage::summarize_body(kind, bytes);
    let ok = status.is_success();
    Outcome {
        status: if ok {
            CallStatus::Ok
        } else {
            CallStatus::Error
        },
        http_status: Some(status.as_u16()),
        error_type: (!ok).then(|| format!("http_{}", status.as_u16())),
        error_message: (!ok).then(|| {
            s.error.clone().unwrap_or_else(|| {
                String::from_utf8_lossy(&bytes[..bytes.len().min(2048)]).into_owned()
            })
        }),
        ttfb: None,
        usage: s.usage,
        content_chars: None,
        response_model: s.model,
        tool_calls: s.tool_calls,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::credential::test_headers as headers;

    #[test]
    fn trace_ids_come_from_traceparent() {
        let h = headers(&[(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )]);
        assert_eq!(
            trace_id(&h).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(trace_id(&headers(&[("traceparent", "junk")])), None);
    }
}
