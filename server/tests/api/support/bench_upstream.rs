//! An OpenAI-compatible upstream for benchmark tests, with known speeds and answers. The
//! model name says how it behaves:
//! - `good-*` answers the prompt in upper case, `bad-*` answers "no idea";
//! - `*-fast`: first byte after 20 ms, then 5 chunks 10 ms apart;
//!   `*-slow`: first byte after 150 ms, then 5 chunks 30 ms apart;
//! - `judge` rates any answer "7";
//! - `stall` sends one chunk and then nothing, with the connection open;
//! - `fail` answers 500.
//!
//! Usage is 10 input tokens and one output token per chunk. Streams in flight are counted
//! until their connection closes, to see that cancelling stops them.

#![allow(dead_code)]

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::{
    body::{Body, Bytes},
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
    serve::ListenerExt,
    Json, Router,
};
use futures_util::stream;
use serde_json::{json, Value};

pub const MODELS: [&str; 7] = [
    "good-fast",
    "good-slow",
    "bad-fast",
    "bad-slow",
    "judge",
    "stall",
    "fail",
];

#[derive(Clone, Default)]
pub struct Counters {
    /// Streams whose body is still being sent.
    pub in_flight: Arc<AtomicUsize>,
    /// Requests received.
    pub received: Arc<AtomicUsize>,
}

pub struct BenchUpstream {
    pub addr: SocketAddr,
    pub counters: Counters,
}

impl BenchUpstream {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn in_flight(&self) -> usize {
        self.counters.in_flight.load(Ordering::SeqCst)
    }

    pub fn received(&self) -> usize {
        self.counters.received.load(Ordering::SeqCst)
    }
}

/// Decrements the in-flight count when the body is dropped (sent or cut off).
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn chunk(model: &str, content: &str) -> String {
    let c = json!({"id": "b", "object": "chat.completion.chunk", "created": 1, "model": model,
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]});
    format!("data: {c}\n\n")
}

async fn chat(State(c): State<Counters>, Json(body): Json<Value>) -> Response {
    c.received.fetch_add(1, Ordering::SeqCst);
    let model = body["model"].as_str().unwrap_or("").to_owned();
    let prompt = body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["content"].as_str())
        .unwrap_or("")
        .to_owned();
    if model == "fail" {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": {"message": "the model crashed", "type": "server_error"}})),
        )
            .into_response();
    }
    let (first, gap) = if model.ends_with("-slow") {
        (150, 30)
    } else {
        (20, 10)
    };
    let answer = if model.starts_with("good-") {
        prompt.to_uppercase()
    } else if model == "judge" {
        "7".to_owned()
    } else {
        "no idea".to_owned()
    };
    // The answer in five pieces (by characters), the last ones possibly empty.
    let chars: Vec<char> = answer.chars().collect();
    let size = chars.len().div_ceil(5).max(1);
    let mut pieces: Vec<String> = chars.chunks(size).map(|p| p.iter().collect()).collect();
    pieces.resize(5, String::new());
    let stall = model == "stall";
    let usage = body["stream_options"]["include_usage"].as_bool() == Some(true);
    c.in_flight.fetch_add(1, Ordering::SeqCst);
    let guard = Arc::new(InFlight(Arc::clone(&c.in_flight)));
    let events = stream::unfold((0usize, guard), move |(i, guard)| {
        let model = model.clone();
        let pieces = pieces.clone();
        async move {
            if stall && i == 1 {
                std::future::pending::<()>().await;
            }
            let wait = if i == 0 { first } else { gap };
            let text = match i {
                0..=4 => chunk(&model, &pieces[i]),
                5 if usage => format!(
                    "data: {}\n\n",
                    json!({"id": "b", "object": "chat.completion.chunk", "model": model, "choices": [],
                           "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}})
                ),
                5 | 6 => "data: [DONE]\n\n".to_owned(),
                _ => return None,
            };
            let next = if i == 5 && !usage { 7 } else { i + 1 };
            if i <= 4 {
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
            Some((Ok::<_, std::io::Error>(Bytes::from(text)), (next, guard)))
        }
    });
    (
        [("content-type", "text/event-stream")],
        Body::from_stream(events),
    )
        .into_response()
}

async fn models() -> Json<Value> {
    let data: Vec<Value> = MODELS
        .iter()
        .map(|m| json!({"id": m, "object": "model", "owned_by": "test"}))
        .collect();
    Json(json!({"object": "list", "data": data}))
}

pub async fn start() -> BenchUpstream {
    let counters = Counters::default();
    let app = Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/models", get(models))
        .with_state(counters.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Each chunk goes out when written, as a real streaming server sends it (no Nagle delay
    // merging the first chunks).
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    BenchUpstream { addr, counters }
}
