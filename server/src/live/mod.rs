//! The live hub: what was just committed, fanned out to SSE subscribers by topic.
//!
//! Publishing never waits on subscribers: a broadcast channel keeps the last
//! [`BUFFER`] events and a subscriber that falls further behind is told to resynchronise
//! (`resync` event) instead of slowing the pipeline.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use app::types::live::{SameJson, Topic, TOPICS};
use tokio::sync::broadcast;

/// Events kept for slow subscribers before they lag.
pub const BUFFER: usize = 1024;

/// One event: its topic and its JSON payload, serialised once for every subscriber.
#[derive(Debug, Clone)]
pub struct LiveEvent {
    pub topic: &'static str,
    pub data: Arc<str>,
}

/// Open streams at most, in all and per credential (an API key or a user).
pub const MAX_STREAMS: usize = 512;
pub const MAX_STREAMS_PER_OWNER: usize = 32;

#[derive(Clone)]
pub struct LiveHub {
    tx: broadcast::Sender<LiveEvent>,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

/// A stream's place among the open ones, given back when the stream ends.
pub struct StreamSlot {
    owner: String,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.owner) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.owner);
            }
        }
    }
}

/// Why a stream was not opened.
#[derive(Debug, PartialEq, Eq)]
pub enum StreamLimit {
    Total,
    Owner,
}

impl Default for LiveHub {
    fn default() -> Self {
        Self::new()
    }
}

impl LiveHub {
    pub fn new() -> Self {
        Self {
            tx: broadcast::channel(BUFFER).0,
            open: Arc::default(),
        }
    }

    /// Takes a place for one more stream of `owner`, within [`MAX_STREAMS`] and
    /// [`MAX_STREAMS_PER_OWNER`].
    pub fn open_stream(&self, owner: String) -> Result<StreamSlot, StreamLimit> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.values().sum::<usize>() >= MAX_STREAMS {
            return Err(StreamLimit::Total);
        }
        let n = open.entry(owner.clone()).or_default();
        if *n >= MAX_STREAMS_PER_OWNER {
            return Err(StreamLimit::Owner);
        }
        *n += 1;
        Ok(StreamSlot {
            owner,
            open: Arc::clone(&self.open),
        })
    }

    /// Whether any stream is open, to skip work whose only use is an event.
    pub fn has_subscribers(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    /// Publishes on topic `T` what `payload` makes (the payload or a borrowed view with the
    /// same JSON); without subscribers nothing is made.
    pub fn publish<T: Topic, P: SameJson<T::Payload>>(&self, payload: impl FnOnce() -> P) {
        if self.tx.receiver_count() == 0 {
            return;
        }
        let topic = T::NAME;
        match serde_json::to_string(&payload()) {
            Ok(json) => {
                let _ = self.tx.send(LiveEvent {
                    topic,
                    data: json.into(),
                });
            }
            Err(e) => tracing::error!(topic, error = %e, "cannot serialise live event"),
        }
    }

    /// Streams open now.
    pub fn open_streams(&self) -> usize {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.values().sum()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.tx.subscribe()
    }
}

/// Parses `topics=calls,system` into known topics; unknown names are an error naming them.
pub fn parse_topics(raw: &str) -> Result<Vec<&'static str>, String> {
    let mut out = Vec::new();
    for name in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match TOPICS.iter().find(|t| **t == name) {
            Some(t) if !out.contains(t) => out.push(*t),
            Some(_) => {}
            None => {
                return Err(format!(
                    "unknown topic '{name}'; known: {}",
                    TOPICS.join(", ")
                ))
            }
        }
    }
    if out.is_empty() {
        return Err("name at least one topic".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_checked() {
        assert_eq!(parse_topics("calls, calls").unwrap(), vec!["calls"]);
        assert!(parse_topics("calls,nope").unwrap_err().contains("nope"));
        assert!(parse_topics("").is_err());
    }

    #[test]
    fn streams_are_capped_per_owner_and_given_back() {
        let hub = LiveHub::new();
        let slots: Vec<_> = (0..MAX_STREAMS_PER_OWNER)
            .map(|_| hub.open_stream("key:1".into()).unwrap())
            .collect();
        assert_eq!(
            hub.open_stream("key:1".into()).err(),
            Some(StreamLimit::Owner)
        );
        assert!(hub.open_stream("key:2".into()).is_ok());
        drop(slots);
        assert!(hub.open_stream("key:1".into()).is_ok());
    }

    #[tokio::test]
    async fn subscribers_get_events_and_publishing_without_them_is_free() {
        use app::types::{live::CallsTopic, Call};
        let hub = LiveHub::new();
        // Nobody listening: the payload is never even made.
        hub.publish::<CallsTopic, Vec<Call>>(|| unreachable!("made without subscribers"));
        let mut rx = hub.subscribe();
        hub.publish::<CallsTopic, Vec<Call>>(Vec::new);
        let ev = rx.recv().await.unwrap();
        assert_eq!((ev.topic, &*ev.data), ("calls", "[]"));
    }
}
