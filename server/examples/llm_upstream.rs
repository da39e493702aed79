//! A stand-in OpenAI-compatible server with known speeds, for scripts/bench-runs.sh, and
//! the peer it is measured against: the same requests sent straight to it, one model at a
//! time, with no Sightline in between.
//!
//!   llm_upstream serve PORT
//!   llm_upstream direct URL MODEL PROMPTS CONCURRENCY    # prints the wall time in ms
//!
//! Model `speed-N` (N = 1, 2, 3, ...): first byte after 50·N ms, then 20 chunks 10·N ms
//! apart; usage 12 input tokens and 20 output tokens.

// A measuring tool: a broken port or upstream should stop it loudly.
#![allow(clippy::expect_used)]

use std::time::{Duration, Instant};

use axum::{
    body::{Body, Bytes},
    response::IntoResponse,
    routing::{get, post},
    serve::ListenerExt,
    Json, Router,
};
use futures_util::{stream, StreamExt};
use serde_json::{json, Value};

const CHUNKS: u64 = 20;

fn speed(model: &str) -> u64 {
    model
        .strip_prefix("speed-")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

async fn chat(Json(body): Json<Value>) -> impl IntoResponse {
    let model = body["model"].as_str().unwrap_or("speed-1").to_owned();
    let n = speed(&model);
    let events = stream::unfold(0u64, move |i| {
        let model = model.clone();
        async move {
            let text = match i {
                0..CHUNKS => {
                    let wait = if i == 0 { 50 * n } else { 10 * n };
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                    let c = json!({"model": model, "choices": [{"index": 0, "delta": {"content": "word "}}]});
                    format!("data: {c}\n\n")
                }
                CHUNKS => {
                    let u = json!({"model": model, "choices": [],
                        "usage": {"prompt_tokens": 12, "completion_tokens": CHUNKS}});
                    format!("data: {u}\n\ndata: [DONE]\n\n")
                }
                _ => return None,
            };
            Some((Ok::<_, std::io::Error>(Bytes::from(text)), i + 1))
        }
    });
    (
        [("content-type", "text/event-stream")],
        Body::from_stream(events),
    )
}

async fn models() -> Json<Value> {
    let data: Vec<Value> = (1..=5)
        .map(|n| json!({"id": format!("speed-{n}")}))
        .collect();
    Json(json!({"object": "list", "data": data}))
}

async fn serve(port: u16) {
    let app = Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/models", get(models));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("the port is free")
        .tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
    axum::serve(listener, app).await.expect("serving");
}

/// Sends `prompts` streamed requests for `model`, `concurrency` at a time, reading each
/// answer to its end: the wall time of one model on its own.
async fn direct(url: &str, model: &str, prompts: usize, concurrency: usize) -> f64 {
    let client = reqwest::Client::new();
    let started = Instant::now();
    stream::iter(0..prompts)
        .for_each_concurrent(concurrency, |i| {
            let client = client.clone();
            async move {
                let body = json!({"model": model, "stream": true,
                    "messages": [{"role": "user", "content": format!("prompt {i}")}]});
                let r = client
                    .post(format!("{url}/v1/chat/completions"))
                    .json(&body)
                    .send()
                    .await
                    .expect("the upstream answers");
                let mut s = r.bytes_stream();
                while s.next().await.is_some() {}
            }
        })
        .await;
    started.elapsed().as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["serve", port] => serve(port.parse().expect("a port")).await,
        ["direct", url, model, prompts, concurrency] => {
            let ms = direct(
                url,
                model,
                prompts.parse().expect("a count"),
                concurrency.parse().expect("a count"),
            )
            .await;
            println!("{ms:.1}");
        }
        _ => {
            eprintln!("usage: llm_upstream serve PORT | direct URL MODEL PROMPTS CONCURRENCY");
            std::process::exit(2);
        }
    }
}
