//! The live hub: what was just committed, fanned out to SSE subscribers by topic.
//!
//! Publishing never waits on subscribers: a broadcast channel keeps the last
//! [`BUFFER`] events and a subscriber that falls further behind is told to resynchronise
//! (`resync` event) instead of slowing the pipeline.

use std::sync::Arc;

use app::types::live::{Topic, TOPICS};
use tokio::sync::broadcast;

/// Events kept for slow subscribers before they lag.
pub const BUFFER: usize = 1024;

/// One event: its topic and its JSON payload, serialised once for every subscriber.
#[derive(Debug, Clone)]
pub struct LiveEvent {
    pub topic: &'static str,
    pub data: Arc<str>,
}

#[derive(Clone)]
pub struct LiveHub {
    tx: broadcast::Sender<LiveEvent>,
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
        }
    }

    /// Publishes on topic `T` what `payload` makes; without subscribers nothing is made.
    pub fn publish<T: Topic>(&self, payload: impl FnOnce() -> T::Payload) {
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

    #[tokio::test]
    async fn subscribers_get_events_and_publishing_without_them_is_free() {
        use app::types::live::CallsTopic;
        let hub = LiveHub::new();
        // Nobody listening: the payload is never even made.
        hub.publish::<CallsTopic>(|| unreachable!("made without subscribers"));
        let mut rx = hub.subscribe();
        hub.publish::<CallsTopic>(Vec::new);
        let ev = rx.recv().await.unwrap();
        assert_eq!((ev.topic, &*ev.data), ("calls", "[]"));
    }
}
