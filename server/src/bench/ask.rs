//! One benchmark request: a prompt sent to a model through the proxy's own path, its answer
//! streamed and timed.

use std::{sync::Arc, time::Instant};

use app::types::ProviderKind;
use axum::{
    body::{Body, Bytes},
    http::{header, HeaderValue, Method, Request, StatusCode, Uri},
    response::Response,
};
use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::{
    domain::{
        pricing::{price_call, Usage},
        provider::Provider,
    },
    proxy::{
        endpoints,
        forward::proxied,
        sse::{self, EventSplitter},
        usage::{estimate_tokens, summarize_body, StreamTally},
    },
    state::AppState,
};

/// Most answer text kept per request.
pub const MAX_ANSWER_CHARS: usize = 4000;
/// Most of an error answer read.
const MAX_ERROR_BYTES: usize = 64 * 1024;

/// What to send.
pub struct Question<'a> {
    pub model: &'a str,
    /// A system message (the judge's rubric).
    pub system: Option<&'a str>,
    pub prompt: &'a str,
    pub max_tokens: u32,
    pub temperature: f64,
    /// Tags for the recorded call.
    pub session: &'a str,
    pub feature: &'a str,
}

/// How a request went.
#[derive(Debug, Default)]
pub struct Asked {
    pub ttfb_ms: Option<f64>,
    pub total_ms: f64,
    pub text: String,
    pub usage: Usage,
    pub cost: Option<f64>,
    pub error: Option<String>,
}

fn body_of(kind: ProviderKind, q: &Question) -> (&'static str, Value) {
    match kind {
        ProviderKind::OpenAi => {
            let mut messages = Vec::new();
            if let Some(s) = q.system {
                messages.push(json!({"role": "system", "content": s}));
            }
            messages.push(json!({"role": "user", "content": q.prompt}));
            (
                "v1/chat/completions",
                json!({"model": q.model, "messages": messages, "stream": true,
                       "stream_options": {"include_usage": true},
                       "max_tokens": q.max_tokens, "temperature": q.temperature}),
            )
        }
        ProviderKind::Anthropic => {
            let mut body = json!({"model": q.model, "stream": true, "max_tokens": q.max_tokens,
                "temperature": q.temperature,
                "messages": [{"role": "user", "content": q.prompt}]});
            if let Some(s) = q.system {
                body["system"] = json!(s);
            }
            ("v1/messages", body)
        }
    }
}

/// Sends `q` to `provider` as the proxy sends a client's request (limits, budgets and the
/// call's record included) and reads the streamed answer.
pub async fn ask(state: &AppState, provider: &Arc<Provider>, q: &Question<'_>) -> Asked {
    let started = Instant::now();
    let kind = provider.kind;
    let (path, body) = body_of(kind, q);
    let endpoint = match endpoints::route(kind, path, &Method::POST) {
        Ok(e) => e,
        Err(_) => return failed(started, "the endpoint is not forwarded".into()),
    };
    let (mut parts, ()) = Request::new(()).into_parts();
    parts.method = Method::POST;
    let h = &mut parts.headers;
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
    for (name, value) in [
        ("x-sightline-session", q.session),
        ("x-sightline-feature", q.feature),
    ] {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    }
    let bytes = Body::from(Bytes::from(body.to_string()));
    let response = proxied(state, provider, endpoint, parts, bytes, None, started).await;
    let mut asked = read(kind, response, started).await;
    if asked.error.is_none() {
        let at = chrono::Utc::now();
        let prices = state.ingest.prices();
        asked.cost = price_call(&prices, &provider.name, q.model, None, at, asked.usage)
            .map(|c| c.total_micros as f64 / 1e6);
    }
    asked
}

fn failed(started: Instant, error: String) -> Asked {
    Asked {
        total_ms: ms(started),
        error: Some(error),
        ..Asked::default()
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// Reads the answer: an event stream as it arrives, or a whole body (an error, or a server
/// that ignored `stream`).
async fn read(kind: ProviderKind, response: Response, started: Instant) -> Asked {
    let status = response.status();
    let is_stream = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/event-stream"));
    let mut body = response.into_body().into_data_stream();
    if !is_stream || !status.is_success() {
        let mut bytes = Vec::new();
        let mut ttfb = None;
        while let Some(chunk) = body.next().await {
            let Ok(chunk) = chunk else {
                return failed(started, "the answer was cut off".into());
            };
            ttfb.get_or_insert_with(|| ms(started));
            bytes.extend_from_slice(&chunk);
            if bytes.len() > MAX_ERROR_BYTES && !status.is_success() {
                break;
            }
        }
        return whole(kind, status, &bytes, ttfb, started);
    }
    let mut tally = StreamTally::new(kind, false).keeping_text();
    let mut splitter = EventSplitter::default();
    let mut ttfb = None;
    while let Some(chunk) = body.next().await {
        let Ok(chunk) = chunk else {
            let mut a = failed(started, "the answer stream was cut off".into());
            a.ttfb_ms = ttfb;
            return a;
        };
        ttfb.get_or_insert_with(|| ms(started));
        for raw in splitter.push(&chunk) {
            let ev = sse::parse(&raw);
            tally.observe(ev.name.as_deref(), &ev.data);
        }
    }
    if let Some(raw) = splitter.finish() {
        let ev = sse::parse(&raw);
        tally.observe(ev.name.as_deref(), &ev.data);
    }
    let text = tally.text.take().unwrap_or_default();
    let usage = tally.usage.unwrap_or(Usage {
        output: estimate_tokens(tally.content_chars),
        ..Usage::default()
    });
    let error = tally.error.take().or_else(|| {
        (!tally.finished).then(|| "the answer stream ended before its end event".to_owned())
    });
    Asked {
        ttfb_ms: ttfb,
        total_ms: ms(started),
        text: text.chars().take(MAX_ANSWER_CHARS).collect(),
        usage,
        cost: None,
        error,
    }
}

/// A whole answer: the error it holds, or its text and usage.
fn whole(
    kind: ProviderKind,
    status: StatusCode,
    bytes: &[u8],
    ttfb: Option<f64>,
    started: Instant,
) -> Asked {
    let summary = summarize_body(kind, bytes);
    if !status.is_success() {
        let why = summary
            .error
            .unwrap_or_else(|| String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into());
        let mut a = failed(started, format!("HTTP {}: {why}", status.as_u16()));
        a.ttfb_ms = ttfb;
        return a;
    }
    let v: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
    let text = v
        .pointer("/choices/0/message/content")
        .or_else(|| v.pointer("/content/0/text"))
        .and_then(Value::as_str)
        .unwrap_or("");
    Asked {
        ttfb_ms: ttfb,
        total_ms: ms(started),
        text: text.chars().take(MAX_ANSWER_CHARS).collect(),
        usage: summary.usage.unwrap_or_default(),
        cost: None,
        error: None,
    }
}

/// The model ids a provider lists at `v1/models` (OpenAI and Anthropic answer alike), read
/// through the proxy's path with the provider's key.
pub async fn list_models(
    state: &AppState,
    provider: &Arc<Provider>,
) -> Result<Vec<String>, String> {
    let started = Instant::now();
    let endpoint = endpoints::route(provider.kind, "v1/models", &Method::GET)
        .map_err(|_| "listing models is not forwarded".to_owned())?;
    let (mut parts, ()) = Request::new(()).into_parts();
    // Only the query of this URI goes upstream; the path is the endpoint's.
    parts.uri = Uri::from_static("/v1/models?limit=1000");
    parts
        .headers
        .insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
    let response = proxied(
        state,
        provider,
        endpoint,
        parts,
        Body::empty(),
        None,
        started,
    )
    .await;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 8 * 1024 * 1024)
        .await
        .map_err(|_| "the model list was cut off or too large".to_owned())?;
    if !status.is_success() {
        let why = summarize_body(provider.kind, &bytes)
            .error
            .unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
        return Err(why);
    }
    let v: Value =
        serde_json::from_slice(&bytes).map_err(|_| "the model list is not JSON".to_owned())?;
    let ids = v
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| "the model list has no data array".to_owned())?
        .iter()
        .filter_map(|m| m.get("id").and_then(Value::as_str).map(str::to_owned))
        .collect();
    Ok(ids)
}
