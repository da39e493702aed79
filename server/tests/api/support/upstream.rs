//! A local stand-in for LLM providers, for the proxy tests: OpenAI chat/completions,
//! embeddings and models, and Anthropic messages, streamed or not. The model name picks
//! how stream usage is reported, as real servers differ:
//! - `openai-*`: a final chunk with empty `choices`, only when `include_usage` is asked;
//! - `litellm-*`: usage on the last chunk that still has `choices`;
//! - `llamacpp-*`: no usage at all;
//! - `cut-*`: two chunks, then the connection breaks;
//! - `stall-*`: two chunks, then silence with the connection open;
//! - `ratelimited-*`: 429 with an OpenAI error body.

#![allow(dead_code)]

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use futures_util::{stream, StreamExt};
use serde_json::{json, Value};

/// What the upstream saw, for assertions.
#[derive(Default, Clone)]
pub struct Seen {
    pub requests: Arc<Mutex<Vec<(String, HeaderMap, Value)>>>,
}

impl Seen {
    pub fn last(&self) -> (String, HeaderMap, Value) {
        self.requests
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("no request reached the upstream")
    }
}

pub struct Upstream {
    pub addr: SocketAddr,
    pub seen: Seen,
}

impl Upstream {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

pub const WORDS: [&str; 4] = ["Hello", " there", ", friend", "!"];

fn sse(events: Vec<String>, cut: bool) -> Response {
    let items: Vec<Result<Bytes, std::io::Error>> =
        events.into_iter().map(|e| Ok(Bytes::from(e))).collect();
    // The break comes a moment later, as a real one would, after the chunks went out.
    let tail = stream::iter(cut.then_some(())).then(|_| async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        Err(std::io::Error::other("upstream died"))
    });
    let body = Body::from_stream(stream::iter(items).chain(tail));
    ([("content-type", "text/event-stream")], body).into_response()
}

fn data(v: Value) -> String {
    format!("data: {v}\n\n")
}

async fn chat(State(seen): State<Seen>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    seen.requests
        .lock()
        .unwrap()
        .push(("chat".into(), headers, body.clone()));
    let model = body["model"].as_str().unwrap_or("").to_owned();
    if model.starts_with("slow") {
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    if model.starts_with("ratelimited") {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}})),
        )
            .into_response();
    }
    let usage = json!({"prompt_tokens": 11, "completion_tokens": 4, "total_tokens": 15,
        "prompt_tokens_details": {"cached_tokens": 3}});
    if !body["stream"].as_bool().unwrap_or(false) {
        return Json(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": format!("{model}-0001"),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": WORDS.concat()}}],
            "usage": usage,
        }))
        .into_response();
    }
    let include = body["stream_options"]["include_usage"]
        .as_bool()
        .unwrap_or(false);
    let chunk = |content: &str, finish: Value| {
        json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
               "model": format!("{model}-0001"),
               "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}]})
    };
    let mut events: Vec<String> = WORDS
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let finish = if i == WORDS.len() - 1 {
                json!("stop")
            } else {
                Value::Null
            };
            let mut c = chunk(w, finish);
            if model.starts_with("litellm") && i == WORDS.len() - 1 {
                c["usage"] = usage.clone();
            }
            data(c)
        })
        .collect();
    if model.starts_with("cut") {
        events.truncate(2);
        return sse(events, true);
    }
    if model.starts_with("stall") {
        events.truncate(2);
        let items = events
            .into_iter()
            .map(|e| Ok::<_, std::io::Error>(Bytes::from(e)));
        let body = Body::from_stream(stream::iter(items).chain(stream::pending()));
        return ([("content-type", "text/event-stream")], body).into_response();
    }
    if model.starts_with("openai") && include {
        events.push(data(
            json!({"id": "chatcmpl-1", "object": "chat.completion.chunk",
            "created": 1, "model": format!("{model}-0001"), "choices": [], "usage": usage}),
        ));
    }
    events.push("data: [DONE]\n\n".into());
    sse(events, false)
}

async fn embeddings(
    State(seen): State<Seen>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    seen.requests
        .lock()
        .unwrap()
        .push(("embeddings".into(), headers, body.clone()));
    Json(json!({"object": "list", "model": body["model"],
        "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
        "usage": {"prompt_tokens": 5, "total_tokens": 5}}))
    .into_response()
}

async fn models(State(seen): State<Seen>, headers: HeaderMap) -> Response {
    seen.requests
        .lock()
        .unwrap()
        .push(("models".into(), headers, Value::Null));
    Json(json!({"object": "list", "data": [{"id": "openai-small", "object": "model", "created": 1, "owned_by": "test"}]}))
        .into_response()
}

async fn messages(
    State(seen): State<Seen>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    seen.requests
        .lock()
        .unwrap()
        .push(("messages".into(), headers, body.clone()));
    let model = body["model"].as_str().unwrap_or("").to_owned();
    if !body["stream"].as_bool().unwrap_or(false) {
        return Json(json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": WORDS.concat()}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 12, "cache_read_input_tokens": 30, "cache_creation_input_tokens": 0, "output_tokens": 6}
        }))
        .into_response();
    }
    let ev = |name: &str, v: Value| format!("event: {name}\ndata: {v}\n\n");
    let mut events = vec![
        ev(
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_1", "type": "message",
            "role": "assistant", "model": model, "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 12, "cache_read_input_tokens": 30, "output_tokens": 1}}}),
        ),
        ev(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}}),
        ),
    ];
    for w in WORDS {
        events.push(ev(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": w}}),
        ));
    }
    events.push(ev(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    ));
    events.push(ev("message_delta", json!({"type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 6}})));
    events.push(ev("message_stop", json!({"type": "message_stop"})));
    sse(events, false)
}

/// Any other request: recorded (a proxy must never let it through), then 404.
async fn fallback(
    State(seen): State<Seen>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let what = format!("fallback {method} {}", uri.path());
    seen.requests
        .lock()
        .unwrap()
        .push((what, headers, Value::Null));
    StatusCode::NOT_FOUND.into_response()
}

/// A model whose lookup answers with a redirect to another host.
async fn redirect(State(seen): State<Seen>, headers: HeaderMap) -> Response {
    seen.requests
        .lock()
        .unwrap()
        .push(("redirect".into(), headers, Value::Null));
    (
        StatusCode::TEMPORARY_REDIRECT,
        [(axum::http::header::LOCATION, "http://127.0.0.1:9/elsewhere")],
    )
        .into_response()
}

/// Starts the stand-in on a free loopback port.
pub async fn start() -> Upstream {
    let seen = Seen::default();
    let app = Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/embeddings", post(embeddings))
        .route("/v1/models", get(models))
        .route("/v1/messages", post(messages))
        .route("/v1/models/redirect-me", get(redirect))
        .fallback(fallback)
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    tokio::time::sleep(Duration::from_millis(5)).await;
    Upstream { addr, seen }
}
