//! The streamed body of a proxied answer: passes whole events on as they arrive, reads
//! each for usage, and records the call when the stream ends.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use app::types::CallStatus;
use axum::body::Bytes;
use futures_util::{stream::BoxStream, Stream, StreamExt};

use super::{
    record::{record, Draft, Outcome},
    sse::{self, EventSplitter},
    usage::{Pass, StreamTally},
};
use crate::ingest::service::Ingest;

/// The streamed body: passes whole events on as they arrive, reads each, hides the
/// usage-only chunk the proxy asked for, and records the call when the stream ends, breaks
/// off upstream (`stream_cut`), or is dropped because the client went away (`cancelled`).
pub struct Tap {
    upstream: BoxStream<'static, reqwest::Result<Bytes>>,
    splitter: EventSplitter,
    tally: StreamTally,
    ttfb: Option<Duration>,
    pending_record: Option<(Ingest, Draft)>,
    http_status: u16,
    /// Resolves when the server begins to stop: the stream ends then, recorded as cancelled,
    /// so shutdown never waits on a long generation.
    stopping: Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl Tap {
    pub fn new(
        upstream: BoxStream<'static, reqwest::Result<Bytes>>,
        tally: StreamTally,
        pending_record: Option<(Ingest, Draft)>,
        http_status: u16,
        stopping: Pin<Box<dyn Future<Output = ()> + Send>>,
    ) -> Self {
        Tap {
            upstream,
            splitter: EventSplitter::default(),
            tally,
            ttfb: None,
            pending_record,
            http_status,
            stopping,
        }
    }

    fn pass(&mut self, raw: Vec<u8>, out: &mut Vec<u8>) {
        let ev = sse::parse(&raw);
        if self.tally.observe(ev.name.as_deref(), &ev.data) == Pass::Forward {
            out.extend_from_slice(&raw);
        }
    }

    fn finish(&mut self, status: CallStatus, error: Option<(&str, String)>) {
        let Some((ingest, draft)) = self.pending_record.take() else {
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
        record(&ingest, draft, outcome);
    }
}

impl Stream for Tap {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.stopping.as_mut().poll(cx).is_ready() {
            this.finish(
                CallStatus::Cancelled,
                Some((
                    "server_stopping",
                    "Sightline stopped while the stream was running".into(),
                )),
            );
            return Poll::Ready(None);
        }
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
                Poll::Ready(Some(Err(e))) if e.is_timeout() => {
                    this.finish(
                        CallStatus::Timeout,
                        Some((
                            "upstream_idle",
                            "the upstream stream sent nothing for too long".into(),
                        )),
                    );
                    return Poll::Ready(Some(Err(std::io::Error::other(e))));
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
