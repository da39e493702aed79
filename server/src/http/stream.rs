//! `GET /api/v1/stream?topics=calls`: server-sent events from the live hub.
//!
//! The stream opens with a `ready` event naming the topics, then sends each committed change
//! as an event named after its topic. A client that fell behind gets `resync` (reload what
//! it shows). Keep-alive comments every 15 s; the stream ends when the server shuts down.

use std::{convert::Infallible, time::Duration};

use app::types::StreamQuery;

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::sse::{Event, KeepAlive, Sse},
};
use futures_util::{stream, Stream, StreamExt};
use tokio_stream::wrappers::{errors::BroadcastStreamRecvError, BroadcastStream};

use super::{
    error::ApiError,
    params::ApiQuery,
    principal::{still_valid, Reader},
};
use crate::{
    live::{self, StreamLimit},
    state::AppState,
};

/// How often an open stream checks that its credential still holds.
const RECHECK: Duration = Duration::from_secs(15);

#[utoipa::path(
    get,
    path = "/api/v1/stream",
    operation_id = "stream",
    summary = "Live updates (server-sent events)",
    tag = "live",
    params(StreamQuery),
    responses((status = 200, description = "Server-sent events: `ready`, then one event per change on the chosen topics", content_type = "text/event-stream")),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn stream(
    Reader(principal): Reader,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<StreamQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let topics = live::parse_topics(q.topics.as_deref().unwrap_or(""))
        .map_err(|m| ApiError::bad_param("topics", m))?;
    let slot = state.live.open_stream(principal.owner()).map_err(|limit| {
        let message = match limit {
            StreamLimit::Total => "the server has as many live streams open as it allows",
            StreamLimit::Owner => "this credential has as many live streams open as it may",
        };
        ApiError {
            retry_after_secs: Some(30),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_streams", message)
        }
    })?;
    let ready = Event::default()
        .event("ready")
        .data(serde_json::json!({ "topics": topics }).to_string());
    let events = BroadcastStream::new(state.live.subscribe()).filter_map(move |item| {
        let topics = topics.clone();
        async move {
            match item {
                Ok(ev) if topics.contains(&ev.topic) => {
                    Some(Event::default().event(ev.topic).data(&*ev.data))
                }
                Ok(_) => None,
                Err(BroadcastStreamRecvError::Lagged(n)) => Some(
                    Event::default()
                        .event("resync")
                        .data(format!("{{\"missed\":{n}}}")),
                ),
            }
        }
    });
    let mut shutdown = state.shutdown.clone();
    // The stream ends when the server stops or the credential is revoked or logged out; it
    // holds its slot until then.
    let until_ended = async move {
        let _slot = slot;
        let revoked = async {
            loop {
                tokio::time::sleep(RECHECK).await;
                if !still_valid(&state, &headers).await {
                    return;
                }
            }
        };
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => {}
            _ = revoked => {}
        }
    };
    let body = stream::once(async { ready })
        .chain(events)
        .take_until(until_ended)
        .map(Ok);
    Ok(Sse::new(body).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
