//! Sightline monitors itself as the service `sightline`: the request layer notes each
//! answered request here, and a task stores them once a second through the same writer as
//! any other service's. The buffer is bounded, so a flood of requests while the database is
//! away costs memory once, not without end.

use std::{sync::Mutex, time::Duration};

use chrono::{DateTime, Utc};

use super::AppRequestWriter;
use crate::{domain::app_request::AppRequest, log_throttle::Throttle};

/// The service name Sightline reports itself as.
pub const SERVICE: &str = "sightline";
/// Requests kept between flushes at most; beyond it they are counted as dropped.
const MAX_BUFFERED: usize = 50_000;
const FLUSH_EVERY: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct OwnRequests {
    buffer: Mutex<Vec<AppRequest>>,
    dropped: std::sync::atomic::AtomicU64,
}

impl OwnRequests {
    /// Notes one answered request.
    pub fn note(
        &self,
        time: DateTime<Utc>,
        route: &str,
        method: &str,
        status: u16,
        duration_ms: f64,
    ) {
        let mut buffer = self.buffer.lock().unwrap_or_else(|p| p.into_inner());
        if buffer.len() >= MAX_BUFFERED {
            self.dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return;
        }
        buffer.push(AppRequest {
            time,
            service: SERVICE.to_owned(),
            route: route.to_owned(),
            method: method.to_owned(),
            status: status.min(599) as i16,
            duration_ms,
            timeout: status == 504,
            user_id: None,
            trace_id: None,
        });
    }

    fn take(&self) -> Vec<AppRequest> {
        std::mem::take(&mut *self.buffer.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Requests not stored because the buffer was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Stores what was noted, once a second, until `shutdown` turns true (then once more).
pub async fn run(
    own: std::sync::Arc<OwnRequests>,
    writer: AppRequestWriter,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let stopping = tokio::select! {
            _ = tick.tick() => false,
            _ = shutdown.wait_for(|s| *s) => true,
        };
        let rows = own.take();
        if let Err(e) = writer.write(&rows).await {
            static THROTTLE: Throttle = Throttle::new(Duration::from_secs(60));
            if let Some(times) = THROTTLE.hit(std::time::Instant::now()) {
                tracing::warn!(error = %e, times, "cannot store Sightline's own requests");
            }
        }
        if stopping {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_buffer_is_bounded_and_taken_whole() {
        let own = OwnRequests::default();
        let now = Utc::now();
        for _ in 0..MAX_BUFFERED + 3 {
            own.note(now, "/api/v1/llm/calls", "POST", 200, 1.5);
        }
        assert_eq!(own.dropped(), 3);
        let rows = own.take();
        assert_eq!(rows.len(), MAX_BUFFERED);
        assert_eq!(rows[0].service, SERVICE);
        assert!(own.take().is_empty());
        own.note(now, "/x", "GET", 504, 1.0);
        assert!(own.take()[0].timeout);
    }
}
