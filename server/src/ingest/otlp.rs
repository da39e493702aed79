//! OTLP spans to calls, free of IO.
//!
//! A span is an LLM call when it names a model: `gen_ai.request.model` or
//! `gen_ai.response.model` (OpenTelemetry GenAI conventions) or `llm.model_name`
//! (OpenInference). Other spans (HTTP handlers, tool runs, agent steps) are not calls and are
//! skipped; the answer counts them. The span id is the call id and the start time its time,
//! so a re-exported span is stored once.
//!
//! A server span (kind SERVER) with an HTTP method is a request the service answered: it
//! goes to the Apps page by `service.name`, `http.route` (else the span name), method and
//! status (HTTP semantic conventions, current and older names).

use std::collections::HashMap;

use app::types::{apps::RequestReport, CallInput, CallStatus};
use chrono::DateTime;
use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest,
    common::v1::{any_value::Value, KeyValue},
    trace::v1::{span::SpanKind, status::StatusCode, Span},
};

/// An attribute value reduced to what calls need.
#[derive(Debug, Clone, PartialEq)]
enum Attr {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl Attr {
    fn text(&self) -> Option<String> {
        match self {
            Attr::Str(s) => Some(s.clone()),
            Attr::Int(i) => Some(i.to_string()),
            Attr::Float(f) => Some(f.to_string()),
            Attr::Bool(b) => Some(b.to_string()),
        }
    }

    fn count(&self) -> Option<u64> {
        match self {
            Attr::Int(i) => u64::try_from(*i).ok(),
            Attr::Float(f) if f.is_finite() && *f >= 0.0 => Some(f.round() as u64),
            Attr::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            Attr::Int(i) => Some(*i as f64),
            Attr::Float(f) => Some(*f),
            Attr::Str(s) => s.trim().parse().ok(),
            Attr::Bool(_) => None,
        }
    }
}

/// Span and resource attributes, span first.
struct Attrs<'a> {
    span: HashMap<&'a str, Attr>,
    resource: &'a HashMap<&'a str, Attr>,
}

impl Attrs<'_> {
    fn get(&self, keys: &[&str]) -> Option<&Attr> {
        keys.iter()
            .find_map(|k| self.span.get(*k).or_else(|| self.resource.get(*k)))
    }
    fn text(&self, keys: &[&str]) -> Option<String> {
        self.get(keys)
            .and_then(Attr::text)
            .filter(|s| !s.is_empty())
    }
    fn count(&self, keys: &[&str]) -> Option<u64> {
        self.get(keys).and_then(Attr::count)
    }
}

fn attr_map(kvs: &[KeyValue]) -> HashMap<&str, Attr> {
    kvs.iter()
        .filter_map(|kv| {
            let v = match kv.value.as_ref()?.value.as_ref()? {
                Value::StringValue(s) => Attr::Str(s.clone()),
                Value::IntValue(i) => Attr::Int(*i),
                Value::DoubleValue(d) => Attr::Float(*d),
                Value::BoolValue(b) => Attr::Bool(*b),
                _ => return None,
            };
            Some((kv.key.as_str(), v))
        })
        .collect()
}

const REQUEST_MODEL: &[&str] = &["gen_ai.request.model", "llm.model_name"];
const RESPONSE_MODEL: &[&str] = &["gen_ai.response.model"];
const PROVIDER: &[&str] = &[
    "gen_ai.provider.name",
    "gen_ai.system",
    "llm.provider",
    "llm.system",
];
const INPUT_TOKENS: &[&str] = &[
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "llm.token_count.prompt",
];
const OUTPUT_TOKENS: &[&str] = &[
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
];
const CACHED_TOKENS: &[&str] = &[
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "gen_ai.usage.cached_tokens",
    "llm.token_count.prompt_details.cache_read",
];
const REASONING_TOKENS: &[&str] = &[
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.usage.reasoning_tokens",
    "llm.token_count.completion_details.reasoning",
];
const SESSION: &[&str] = &["session.id", "gen_ai.conversation.id", "sightline.session"];
const USER: &[&str] = &["user.id", "enduser.id", "sightline.user"];
const FEATURE: &[&str] = &["sightline.feature", "feature"];

/// What one export request turned into.
#[derive(Debug, Default)]
pub struct Mapped {
    /// Each call with the index of its span in the request, for error messages.
    pub calls: Vec<(usize, CallInput)>,
    /// Server spans: requests the service answered, with their span's index.
    pub requests: Vec<(usize, RequestReport)>,
    /// Spans that are neither.
    pub skipped: usize,
}

fn hex(bytes: &[u8]) -> Option<String> {
    (!bytes.is_empty() && bytes.iter().any(|b| *b != 0))
        .then(|| bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Maps every span of an export request; spans are numbered in request order.
pub fn map_request(req: &ExportTraceServiceRequest) -> Mapped {
    let mut out = Mapped::default();
    let mut index = 0;
    for rs in &req.resource_spans {
        let resource_attrs = rs
            .resource
            .as_ref()
            .map(|r| attr_map(&r.attributes))
            .unwrap_or_default();
        for ss in &rs.scope_spans {
            for span in &ss.spans {
                if let Some(call) = map_span(span, &resource_attrs) {
                    out.calls.push((index, call));
                } else if let Some(request) = map_server_span(span, &resource_attrs) {
                    out.requests.push((index, request));
                } else {
                    out.skipped += 1;
                }
                index += 1;
            }
        }
    }
    out
}

fn map_span(span: &Span, resource: &HashMap<&str, Attr>) -> Option<CallInput> {
    let a = Attrs {
        span: attr_map(&span.attributes),
        resource,
    };
    let request_model = a.text(REQUEST_MODEL);
    let response_model = a.text(RESPONSE_MODEL);
    let model = request_model.clone().or_else(|| response_model.clone())?;

    let start = i64::try_from(span.start_time_unix_nano).ok()?;
    let end = i64::try_from(span.end_time_unix_nano)
        .unwrap_or(start)
        .max(start);
    let duration_ms = (end - start) as f64 / 1e6;

    let mut input_tokens = a.count(INPUT_TOKENS).unwrap_or(0);
    let output_tokens = a.count(OUTPUT_TOKENS).unwrap_or(0);
    let cached_tokens = a.count(CACHED_TOKENS).unwrap_or(0);
    // The conventions count cache reads inside input_tokens; some instrumentations (those
    // following Anthropic's usage) report them beside it. Then add them in, so they are
    // priced once either way.
    if cached_tokens > input_tokens {
        input_tokens += cached_tokens;
    }
    let reasoning_tokens = a.count(REASONING_TOKENS).unwrap_or(0).min(output_tokens);

    let error_type = a.text(&["error.type"]);
    let failed = span
        .status
        .as_ref()
        .is_some_and(|s| s.code == StatusCode::Error as i32)
        || error_type.is_some();
    let status = match error_type.as_deref().map(str::to_ascii_lowercase) {
        Some(t) if t.contains("timeout") => CallStatus::Timeout,
        Some(t) if t.contains("cancel") => CallStatus::Cancelled,
        _ if failed => CallStatus::Error,
        _ => CallStatus::Ok,
    };
    let error_message = failed
        .then(|| span.status.as_ref().map(|s| s.message.clone()))
        .flatten()
        .filter(|m| !m.is_empty());

    let mut metadata = serde_json::Map::new();
    metadata.insert("span.name".into(), span.name.clone().into());
    for key in ["gen_ai.operation.name", "service.name"] {
        if let Some(v) = a.text(&[key]) {
            metadata.insert(key.into(), v.into());
        }
    }

    Some(CallInput {
        id: hex(&span.span_id),
        time: Some(DateTime::from_timestamp_nanos(start)),
        trace_id: hex(&span.trace_id),
        session_id: a.text(SESSION),
        user_id: a.text(USER),
        feature: a.text(FEATURE),
        provider: a.text(PROVIDER).unwrap_or_else(|| "unknown".into()),
        model,
        response_model: response_model.filter(|r| Some(r) != request_model.as_ref()),
        status,
        error_type,
        error_message,
        http_status: a
            .count(&["http.response.status_code", "http.status_code"])
            .and_then(|s| u16::try_from(s).ok()),
        // The GenAI attribute is in seconds; Sightline's own in milliseconds.
        ttft_ms: a
            .get(&["gen_ai.response.time_to_first_chunk"])
            .and_then(Attr::number)
            .map(|secs| secs * 1000.0)
            .or_else(|| a.get(&["sightline.ttft_ms"]).and_then(Attr::number))
            .filter(|t| (0.0..=duration_ms).contains(t)),
        streaming_ms: None,
        duration_ms,
        input_tokens,
        output_tokens,
        cached_tokens,
        reasoning_tokens,
        cost: None,
        tool_calls: 0,
        quality_score: None,
        user_rating: None,
        metadata: Some(serde_json::Value::Object(metadata)),
    })
}

fn map_server_span(span: &Span, resource: &HashMap<&str, Attr>) -> Option<RequestReport> {
    if span.kind != SpanKind::Server as i32 {
        return None;
    }
    let a = Attrs {
        span: attr_map(&span.attributes),
        resource,
    };
    let method = a.text(&["http.request.method", "http.method"])?;
    let start = i64::try_from(span.start_time_unix_nano).ok()?;
    let end = i64::try_from(span.end_time_unix_nano)
        .unwrap_or(start)
        .max(start);
    let failed = span
        .status
        .as_ref()
        .is_some_and(|s| s.code == StatusCode::Error as i32);
    let status = a
        .count(&["http.response.status_code", "http.status_code"])
        .and_then(|s| u16::try_from(s).ok())
        // No status recorded: the span's own status says whether it failed.
        .unwrap_or(if failed { 500 } else { 200 });
    let timeout = a
        .text(&["error.type"])
        .is_some_and(|t| t.to_ascii_lowercase().contains("timeout"));
    Some(RequestReport {
        service: a
            .text(&["service.name"])
            .unwrap_or_else(|| "unknown_service".into()),
        route: a.text(&["http.route"]).unwrap_or_else(|| span.name.clone()),
        method,
        status,
        duration_ms: (end - start) as f64 / 1e6,
        time: Some(DateTime::from_timestamp_nanos(start)),
        timeout,
        user_id: a.text(USER),
        trace_id: hex(&span.trace_id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::{
        common::v1::AnyValue,
        resource::v1::Resource,
        trace::v1::{ResourceSpans, ScopeSpans, Status},
    };

    fn kv(key: &str, v: Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(v) }),
        }
    }
    fn s(key: &str, v: &str) -> KeyValue {
        kv(key, Value::StringValue(v.into()))
    }
    fn i(key: &str, v: i64) -> KeyValue {
        kv(key, Value::IntValue(v))
    }

    fn span(attrs: Vec<KeyValue>) -> Span {
        Span {
            trace_id: vec![0xab; 16],
            span_id: vec![1, 2, 3, 4, 5, 6, 7, 8],
            name: "chat gpt-4o".into(),
            start_time_unix_nano: 1_763_000_000_000_000_000,
            end_time_unix_nano: 1_763_000_001_500_000_000,
            attributes: attrs,
            ..Default::default()
        }
    }

    fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![s("service.name", "chatbot"), s("user.id", "res-user")],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn server_spans_become_requests_of_their_service() {
        let mut server = span(vec![
            s("http.route", "/orders/{id}"),
            s("http.request.method", "POST"),
            i("http.response.status_code", 503),
            s("error.type", "TimeoutError"),
        ]);
        server.kind = SpanKind::Server as i32;
        let mut old_names = span(vec![s("http.method", "GET")]);
        old_names.kind = SpanKind::Server as i32;
        old_names.name = "GET /health".into();
        old_names.status = Some(Status {
            code: StatusCode::Error as i32,
            message: String::new(),
        });
        let mut client = span(vec![s("http.request.method", "GET")]);
        client.kind = SpanKind::Client as i32;
        let m = map_request(&request(vec![server, old_names, client]));
        assert_eq!(m.skipped, 1, "a client span is not a request answered");
        assert_eq!(m.requests.len(), 2);
        let (idx, r) = &m.requests[0];
        assert_eq!(*idx, 0);
        assert_eq!(
            (
                r.service.as_str(),
                r.route.as_str(),
                r.method.as_str(),
                r.status
            ),
            ("chatbot", "/orders/{id}", "POST", 503)
        );
        assert!(r.timeout);
        assert_eq!(r.duration_ms, 1500.0);
        assert_eq!(r.user_id.as_deref(), Some("res-user"));
        assert_eq!(r.trace_id.as_deref(), Some(&"ab".repeat(16)[..]));
        let (_, r) = &m.requests[1];
        assert_eq!((r.route.as_str(), r.status), ("GET /health", 500));
    }

    #[test]
    fn genai_spans_become_calls_and_others_are_skipped() {
        let req = request(vec![
            span(vec![s("http.route", "/chat")]),
            span(vec![
                s("gen_ai.provider.name", "openai"),
                s("gen_ai.operation.name", "chat"),
                s("gen_ai.request.model", "gpt-4o"),
                s("gen_ai.response.model", "gpt-4o-2024-08-06"),
                i("gen_ai.usage.input_tokens", 1000),
                i("gen_ai.usage.output_tokens", 200),
                i("gen_ai.usage.cache_read.input_tokens", 400),
                s("session.id", "sess-1"),
            ]),
        ]);
        let m = map_request(&req);
        assert_eq!(m.skipped, 1);
        assert_eq!(m.calls.len(), 1);
        let (idx, c) = &m.calls[0];
        assert_eq!(*idx, 1);
        assert_eq!(c.provider, "openai");
        assert_eq!(c.model, "gpt-4o");
        assert_eq!(c.response_model.as_deref(), Some("gpt-4o-2024-08-06"));
        assert_eq!(
            (c.input_tokens, c.output_tokens, c.cached_tokens),
            (1000, 200, 400)
        );
        assert_eq!(c.id.as_deref(), Some("0102030405060708"));
        assert_eq!(c.trace_id.as_deref(), Some(&"ab".repeat(16)[..]));
        assert_eq!(c.session_id.as_deref(), Some("sess-1"));
        // Resource attributes fill what the span lacks.
        assert_eq!(c.user_id.as_deref(), Some("res-user"));
        assert!((c.duration_ms - 1500.0).abs() < 1e-9);
        assert_eq!(c.status, CallStatus::Ok);
        let meta = c.metadata.as_ref().unwrap();
        assert_eq!(meta["service.name"], "chatbot");
    }

    #[test]
    fn older_names_and_openinference_are_understood() {
        let m = map_request(&request(vec![
            span(vec![
                s("gen_ai.system", "anthropic"),
                s("gen_ai.request.model", "claude-3-5-haiku"),
                i("gen_ai.usage.prompt_tokens", 10),
                s("gen_ai.usage.completion_tokens", "20"),
            ]),
            span(vec![
                s("openinference.span.kind", "LLM"),
                s("llm.provider", "mistralai"),
                s("llm.model_name", "mistral-small"),
                i("llm.token_count.prompt", 30),
                i("llm.token_count.completion", 40),
                i("llm.token_count.completion_details.reasoning", 5),
            ]),
        ]));
        let a = &m.calls[0].1;
        assert_eq!(
            (a.provider.as_str(), a.input_tokens, a.output_tokens),
            ("anthropic", 10, 20)
        );
        let b = &m.calls[1].1;
        assert_eq!(b.provider, "mistralai");
        assert_eq!(b.model, "mistral-small");
        assert_eq!(
            (b.input_tokens, b.output_tokens, b.reasoning_tokens),
            (30, 40, 5)
        );
    }

    #[test]
    fn errors_come_from_status_and_error_type() {
        let mut failed = span(vec![
            s("gen_ai.request.model", "gpt-4o"),
            s("error.type", "TimeoutError"),
        ]);
        failed.status = Some(Status {
            code: StatusCode::Error as i32,
            message: "read timed out".into(),
        });
        let mut plain = span(vec![
            s("gen_ai.request.model", "gpt-4o"),
            i("http.response.status_code", 500),
        ]);
        plain.status = Some(Status {
            code: StatusCode::Error as i32,
            message: String::new(),
        });
        let m = map_request(&request(vec![failed, plain]));
        let a = &m.calls[0].1;
        assert_eq!(a.status, CallStatus::Timeout);
        assert_eq!(a.error_message.as_deref(), Some("read timed out"));
        let b = &m.calls[1].1;
        assert_eq!(b.status, CallStatus::Error);
        assert_eq!(b.http_status, Some(500));
        assert_eq!(b.provider, "unknown");
    }

    #[test]
    fn cache_reads_reported_beside_input_are_added_in() {
        let m = map_request(&request(vec![span(vec![
            s("gen_ai.request.model", "claude-sonnet-4"),
            i("gen_ai.usage.input_tokens", 50),
            i("gen_ai.usage.cache_read.input_tokens", 2000),
        ])]));
        let c = &m.calls[0].1;
        assert_eq!((c.input_tokens, c.cached_tokens), (2050, 2000));
    }

    #[test]
    fn otlp_json_decodes_with_hex_ids_and_string_ints() {
        let body = r#"{"resourceSpans":[{"resource":{"attributes":[]},"scopeSpans":[{"spans":[{
            "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
            "name":"chat","startTimeUnixNano":"1763000000000000000","endTimeUnixNano":"1763000000250000000",
            "attributes":[{"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o-mini"}},
                          {"key":"gen_ai.usage.input_tokens","value":{"intValue":"12"}}]}]}]}]}"#;
        let req: ExportTraceServiceRequest = serde_json::from_str(body).unwrap();
        let m = map_request(&req);
        let c = &m.calls[0].1;
        assert_eq!(c.id.as_deref(), Some("eee19b7ec3c1b174"));
        assert_eq!(c.input_tokens, 12);
        assert!((c.duration_ms - 250.0).abs() < 1e-9);
    }
}
