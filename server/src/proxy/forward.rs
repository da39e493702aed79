//! The proxy handler: `ANY /proxy/{provider}/{*path}`.
//!
//! Clients authenticate with a Sightline API key (Bearer, `x-api-key` or `x-sightline-key`);
//! Sightline then sends the provider's key, so that key never leaves the server. A provider
//! set to pass-through forwards the client's own key and takes the Sightline key from
//! `x-sightline-key` only. Upstream answers, errors included, reach the client unchanged,
//! except the usage-only stream chunk that the proxy itself asked for.

use std::{
    pin::Pin,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use app::types::{CallInput, CallStatus};
use axum::{
    body::{Body, Bytes},
    extract::{Path, Request, State},
    http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use futures_util::{stream::BoxStream, Stream, StreamExt};
use serde_json::{json, Value};

use super::{
    sse::{self, EventSplitter},
    usage::{self, Pass, StreamTally, Usage},
    Provider, ProviderKind,
};
use crate::{ingest::call, state::AppState};

/// Largest request body forwarded.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// How long an upstream may take to send its response headers.
const HEADERS_TIMEOUT: Duration = Duration::from_secs(600);

/// An error in the dialect of the provider, so SDKs show its message.
fn proxy_error(kind: ProviderKind, status: StatusCode, code: &str, message: &str) -> Response {
    let body = match kind {
        ProviderKind::OpenAi => {
            json!({"error": {"message": message, "type": "sightline_error", "code": code}})
        }
        ProviderKind::Anthropic => {
            json!({"type": "error", "error": {"type": code, "message": message}})
        }
    };
    (status, axum::Json(body)).into_response()
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The Sightline key a proxy request presents.
fn sightline_key(headers: &HeaderMap, pass_through: bool) -> Option<&str> {
    if let Some(k) = header_str(headers, "x-sightline-key") {
        return Some(k);
    }
    if pass_through {
        return None;
    }
    if let Some(auth) = header_str(headers, "authorization") {
        if let Some((scheme, v)) = auth.split_once(' ') {
            if scheme.eq_ignore_ascii_case("bearer") {
                return Some(v.trim());
            }
        }
    }
    header_str(headers, "x-api-key")
}

/// Request headers that are the connection's, or Sightline's, and never go upstream.
fn drop_request_header(name: &HeaderName, pass_through: bool) -> bool {
    let n = name.as_str();
    matches!(
        n,
        "host"
            | "content-length"
            | "connection"
            | "keep-alive"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "cookie"
            // Upstream bodies must arrive uncompressed so usage can be read.
            | "accept-encoding"
    ) || n.starts_with("proxy-")
        || n.starts_with("x-sightline-")
        || (!pass_through && matches!(n, "authorization" | "x-api-key"))
}

fn drop_response_header(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "transfer-encoding"
            | "content-length"
            | "trailer"
            | "upgrade"
    )
}

/// The parts of a call known before the answer.
struct Draft {
    provider: String,
    endpoint: String,
    model: String,
    stream: bool,
    prompt_chars: usize,
    time: DateTime<Utc>,
    started: Instant,
    session_id: Option<String>,
    user_id: Option<String>,
    feature: Option<String>,
    trace_id: Option<String>,
    api_key_id: i64,
}

/// How an exchange ended, for the record.
struct Outcome {
    status: CallStatus,
    http_status: Option<u16>,
    error_type: Option<String>,
    error_message: Option<String>,
    ttfb: Option<Duration>,
    usage: Option<Usage>,
    /// Generated characters, for an estimate when no usage came.
    content_chars: Option<usize>,
    response_model: Option<String>,
    tool_calls: u32,
}

impl Draft {
    fn into_input(self, o: Outcome) -> CallInput {
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
            id: None,
            time: Some(self.time),
            trace_id: self.trace_id,
            session_id: self.session_id,
            user_id: self.user_id,
            feature: self.feature,
            provider: self.provider,
            model: if self.model.is_empty() {
                o.response_model.clone().unwrap_or_else(|| "unknown".into())
            } else {
                self.model
            },
            response_model: o.response_model,
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

/// Validates and stores a proxied call in the background: the client's answer never
/// waits for the database. A full queue is retried for a while before the record is given
/// up, with a warning.
fn record(state: &AppState, draft: Draft, outcome: Outcome) {
    let api_key_id = draft.api_key_id;
    let input = draft.into_input(outcome);
    let prices = state.prices();
    let new = match call::validate(input, Utc::now(), &prices, Some(api_key_id), || {
        uuid::Uuid::now_v7().to_string()
    }) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(field = e.field, reason = %e.message, "proxied call not recordable");
            return;
        }
    };
    let pipeline = state.pipeline.clone();
    tokio::spawn(async move {
        for attempt in 0..50 {
            match pipeline.submit(vec![new.clone()]).await {
                Ok(_) => return,
                Err(crate::ingest::pipeline::SubmitError::Busy) => {
                    tokio::time::sleep(Duration::from_millis(20 * (attempt + 1).min(10))).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "proxied call not recorded");
                    return;
                }
            }
        }
        tracing::warn!("proxied call not recorded: the ingest queue stayed full");
    });
}

fn tag(headers: &HeaderMap, name: &str) -> Option<String> {
    header_str(headers, name).map(|v| v.chars().take(256).collect())
}

/// The trace id of a W3C `traceparent` header.
fn trace_id(headers: &HeaderMap) -> Option<String> {
    tag(headers, "x-sightline-trace").or_else(|| {
        let tp = header_str(headers, "traceparent")?;
        let id = tp.split('-').nth(1)?;
        (id.len() == 32).then(|| id.to_owned())
    })
}

pub async fn forward(
    State(state): State<AppState>,
    Path((name, path)): Path<(String, String)>,
    req: Request,
) -> Response {
    let started = Instant::now();
    let time = Utc::now();
    let Some(provider) = state.provider(&name) else {
        return proxy_error(
            ProviderKind::OpenAi,
            StatusCode::NOT_FOUND,
            "unknown_provider",
            &format!("no provider named '{name}' is configured in Sightline"),
        );
    };
    let kind = provider.kind;
    if !kind.allows(&path) {
        return proxy_error(
            kind,
            StatusCode::NOT_FOUND,
            "unsupported_endpoint",
            &format!(
                "the proxy does not forward '/{path}' for {} providers",
                kind.as_str()
            ),
        );
    }

    let (parts, body) = req.into_parts();
    let Some(key) = sightline_key(&parts.headers, provider.pass_through) else {
        let how = if provider.pass_through {
            "send your Sightline API key in 'x-sightline-key'"
        } else {
            "send your Sightline API key as the bearer token"
        };
        return proxy_error(kind, StatusCode::UNAUTHORIZED, "unauthenticated", how);
    };
    let api_key_id = match state.authenticate_key(key).await {
        Ok(Some((id, _))) => id,
        Ok(None) => {
            return proxy_error(
                kind,
                StatusCode::UNAUTHORIZED,
                "invalid_api_key",
                "the Sightline API key is unknown or has been revoked",
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "api key lookup failed");
            return proxy_error(
                kind,
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_unavailable",
                "Sightline cannot check API keys right now",
            );
        }
    };
    // A provider without a key (a local llama.cpp or Ollama server) gets no credentials.
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return proxy_error(
                kind,
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "the request body is larger than 16 MiB",
            )
        }
    };

    // Read what the record needs, and ask for stream usage when the client did not.
    let mut json: Option<Value> = (parts.method == Method::POST && !body.is_empty())
        .then(|| serde_json::from_slice(&body).ok())
        .flatten();
    let stream = json
        .as_ref()
        .and_then(|v| v.get("stream"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut hide_usage_chunk = false;
    let mut upstream_body = body.clone();
    if let (ProviderKind::OpenAi, true, Some(v)) = (kind, stream, json.as_mut()) {
        let asked = v
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if !asked && path != "v1/embeddings" {
            if let Some(obj) = v.as_object_mut() {
                let opts = obj.entry("stream_options").or_insert_with(|| json!({}));
                if let Some(o) = opts.as_object_mut() {
                    o.insert("include_usage".into(), true.into());
                    hide_usage_chunk = true;
                    upstream_body = Bytes::from(v.to_string());
                }
            }
        }
    }
    let records = kind.records(&path);
    let draft = Draft {
        provider: provider.name.clone(),
        endpoint: path.clone(),
        model: json
            .as_ref()
            .and_then(|v| v.get("model"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .chars()
            .take(256)
            .collect(),
        stream,
        prompt_chars: json.as_ref().map(usage::prompt_chars).unwrap_or(0),
        time,
        started,
        session_id: tag(&parts.headers, "x-sightline-session"),
        user_id: tag(&parts.headers, "x-sightline-user"),
        feature: tag(&parts.headers, "x-sightline-feature"),
        trace_id: trace_id(&parts.headers),
        api_key_id,
    };

    let mut url = match provider.base_url.join(&path) {
        Ok(u) => u,
        Err(_) => {
            return proxy_error(
                kind,
                StatusCode::BAD_REQUEST,
                "bad_path",
                "the path is not valid",
            )
        }
    };
    url.set_query(parts.uri.query());
    let mut headers = HeaderMap::with_capacity(parts.headers.len());
    for (n, v) in &parts.headers {
        if !drop_request_header(n, provider.pass_through) {
            headers.append(n.clone(), v.clone());
        }
    }
    if !provider.pass_through {
        add_provider_key(&provider, &mut headers);
    }

    let send = state
        .http_client
        .request(parts.method.clone(), url)
        .headers(headers)
        .body(upstream_body)
        .send();
    let upstream = match tokio::time::timeout(HEADERS_TIMEOUT, send).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            let (status, code, call_status) = if e.is_timeout() {
                (
                    StatusCode::GATEWAY_TIMEOUT,
                    "upstream_timeout",
                    CallStatus::Timeout,
                )
            } else {
                (
                    StatusCode::BAD_GATEWAY,
                    "upstream_unreachable",
                    CallStatus::Error,
                )
            };
            let message = format!("provider '{name}' could not be reached");
            tracing::warn!(provider = %name, error = %e, "{message}");
            if records {
                record(&state, draft, failure(call_status, code, &message, None));
            }
            return proxy_error(kind, status, code, &message);
        }
        Err(_) => {
            let message = format!("provider '{name}' sent no answer within 600 s");
            if records {
                record(
                    &state,
                    draft,
                    failure(CallStatus::Timeout, "upstream_timeout", &message, None),
                );
            }
            return proxy_error(
                kind,
                StatusCode::GATEWAY_TIMEOUT,
                "upstream_timeout",
                &message,
            );
        }
    };

    let status = upstream.status();
    let mut response_headers = HeaderMap::with_capacity(upstream.headers().len());
    for (n, v) in upstream.headers() {
        if !drop_response_header(n) {
            response_headers.append(n.clone(), v.clone());
        }
    }
    let is_event_stream = upstream
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/event-stream"));

    let body = if is_event_stream && status.is_success() {
        let tap = Tap {
            upstream: upstream.bytes_stream().boxed(),
            splitter: EventSplitter::default(),
            tally: StreamTally::new(kind, hide_usage_chunk),
            ttfb: None,
            pending_record: records.then(|| (state.clone(), draft)),
            http_status: status.as_u16(),
        };
        Body::from_stream(tap)
    } else {
        let bytes = match upstream.bytes().await {
            Ok(b) => b,
            Err(e) => {
                let message = format!("the answer from provider '{name}' was cut off");
                tracing::warn!(provider = %name, error = %e, "{message}");
                if records {
                    let mut o = failure(CallStatus::Error, "stream_cut", &message, None);
                    o.http_status = Some(status.as_u16());
                    record(&state, draft, o);
                }
                return proxy_error(kind, StatusCode::BAD_GATEWAY, "upstream_cut", &message);
            }
        };
        if records {
            let s = usage::summarize_body(kind, &bytes);
            let ok = status.is_success();
            record(
                &state,
                draft,
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
                },
            );
        }
        Body::from(bytes)
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = response_headers;
    response
}

fn add_provider_key(provider: &Provider, headers: &mut HeaderMap) {
    let Some(key) = provider.api_key.as_deref() else {
        return;
    };
    let (name, value) = match provider.kind {
        ProviderKind::OpenAi => (header::AUTHORIZATION, format!("Bearer {key}")),
        ProviderKind::Anthropic => (HeaderName::from_static("x-api-key"), key.to_owned()),
    };
    if let Ok(mut v) = HeaderValue::from_str(&value) {
        v.set_sensitive(true);
        headers.insert(name, v);
    }
}

fn failure(status: CallStatus, code: &str, message: &str, ttfb: Option<Duration>) -> Outcome {
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

/// The streamed body: passes whole events on as they arrive, reads each, hides the
/// usage-only chunk the proxy asked for, and records the call when the stream ends, breaks
/// off upstream (`stream_cut`), or is dropped because the client went away (`cancelled`).
struct Tap {
    upstream: BoxStream<'static, reqwest::Result<Bytes>>,
    splitter: EventSplitter,
    tally: StreamTally,
    ttfb: Option<Duration>,
    pending_record: Option<(AppState, Draft)>,
    http_status: u16,
}

impl Tap {
    fn pass(&mut self, raw: Vec<u8>, out: &mut Vec<u8>) {
        let ev = sse::parse(&raw);
        if self.tally.observe(ev.name.as_deref(), &ev.data) == Pass::Forward {
            out.extend_from_slice(&raw);
        }
    }

    fn finish(&mut self, status: CallStatus, error: Option<(&str, String)>) {
        let Some((state, draft)) = self.pending_record.take() else {
            return;
        };
        let (status, error_type, error_message) = match (error, self.tally.error.take()) {
            (Some((code, message)), _) => (status, Some(code.to_owned()), Some(message)),
            (None, Some(message)) => (
                CallStatus::Error,
                Some("stream_error".into()),
                Some(message),
            ),
            (None, None) => (status, None, None),
        };
        let outcome = Outcome {
            status,
            http_status: Some(self.http_status),
            error_type,
            error_message,
            ttfb: self.ttfb,
            usage: self.tally.usage,
            content_chars: Some(self.tally.content_chars),
            response_model: self.tally.model.take(),
            tool_calls: self.tally.tool_calls,
        };
        record(&state, draft, outcome);
    }
}

impl Stream for Tap {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            match this.upstream.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(chunk))) => {
                    if this.ttfb.is_none() {
                        this.ttfb = this
                            .pending_record
                            .as_ref()
                            .map(|(_, d)| d.started.elapsed());
                    }
                    let mut out = Vec::with_capacity(chunk.len());
                    for raw in this.splitter.push(&chunk) {
                        this.pass(raw, &mut out);
                    }
                    if !out.is_empty() {
                        return Poll::Ready(Some(Ok(Bytes::from(out))));
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    this.finish(
                        CallStatus::Error,
                        Some(("stream_cut", format!("the upstream stream broke off: {e}"))),
                    );
                    return Poll::Ready(Some(Err(std::io::Error::other(e))));
                }
                Poll::Ready(None) => {
                    let mut out = Vec::new();
                    if let Some(rest) = this.splitter.finish() {
                        this.pass(rest, &mut out);
                    }
                    if this.tally.finished {
                        this.finish(CallStatus::Ok, None);
                    } else {
                        this.finish(
                            CallStatus::Error,
                            Some((
                                "stream_cut",
                                "the upstream stream ended before its last event".into(),
                            )),
                        );
                    }
                    return Poll::Ready((!out.is_empty()).then(|| Ok(Bytes::from(out))));
                }
            }
        }
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        // Still unrecorded: the client hung up before the end.
        if self.pending_record.is_some() {
            self.finish(
                CallStatus::Cancelled,
                Some((
                    "client_disconnected",
                    "the client closed the stream early".into(),
                )),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn the_sightline_key_comes_from_the_right_header() {
        let h = headers(&[("authorization", "Bearer sl_a_b")]);
        assert_eq!(sightline_key(&h, false), Some("sl_a_b"));
        assert_eq!(sightline_key(&h, true), None);
        let h = headers(&[("x-api-key", "sl_c_d")]);
        assert_eq!(sightline_key(&h, false), Some("sl_c_d"));
        let h = headers(&[
            ("authorization", "Bearer sk-own"),
            ("x-sightline-key", "sl_e_f"),
        ]);
        assert_eq!(sightline_key(&h, true), Some("sl_e_f"));
    }

    #[test]
    fn client_credentials_go_upstream_only_when_passed_through() {
        let auth = HeaderName::from_static("authorization");
        assert!(drop_request_header(&auth, false));
        assert!(!drop_request_header(&auth, true));
        assert!(drop_request_header(
            &HeaderName::from_static("x-sightline-session"),
            true
        ));
        assert!(drop_request_header(
            &HeaderName::from_static("accept-encoding"),
            true
        ));
        assert!(!drop_request_header(
            &HeaderName::from_static("anthropic-version"),
            false
        ));
    }

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
