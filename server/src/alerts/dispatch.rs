//! The dispatcher, on every server: it claims due messages in PostgreSQL (so each is sent by
//! one server, and one that was due when a server stopped is sent after the restart),
//! sends each in a task of its own (a dead channel never holds up the others) and retries
//! failures with exponential backoff and jitter.

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use rand::Rng;

use super::send;
use crate::{
    state::AppState,
    store::{
        self,
        alerts::{Attempt, Claimed},
    },
};

/// Attempts before a message is given up (about 17 minutes of retries).
pub const MAX_ATTEMPTS: i32 = 8;
/// How long a claim holds: longer than any attempt.
pub const CLAIM: Duration = Duration::seconds(60);
const POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// The wait before attempt `n + 1` after `n` failures: 2 s doubling, at most 5 minutes,
/// times a random factor in [0.5, 1.5) so receivers that come back are not stampeded.
pub fn backoff(failures: i32, jitter: f64) -> Duration {
    let base = 2f64 * 2f64.powi(failures.clamp(1, 16) - 1);
    let secs = base.min(300.0) * (0.5 + jitter.clamp(0.0, 1.0));
    Duration::milliseconds((secs * 1000.0) as i64)
}

pub fn retry_at(m: &Claimed, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let failures = m.attempts + 1;
    (!m.test && failures < MAX_ATTEMPTS)
        .then(|| now + backoff(failures, rand::rng().random::<f64>()))
}

/// Sends one claimed message and records the attempt.
pub async fn deliver(state: AppState, m: Claimed) {
    let channel = match store::alerts::channel(&state.pool, m.channel_id).await {
        Ok(Some(c)) => c,
        // Deleted: its messages went with it.
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read an alert channel; the message waits");
            return;
        }
    };
    let started = Instant::now();
    let outcome = send::send(
        &state,
        &channel,
        &format!("{}/{}", channel.id, m.id),
        &m.items,
    )
    .await;
    let attempt = Attempt {
        ok: outcome.ok,
        status: outcome.status,
        error: outcome.error,
        duration_ms: started.elapsed().as_millis() as i64,
    };
    let retry = if attempt.ok {
        None
    } else {
        retry_at(&m, Utc::now())
    };
    if !attempt.ok {
        tracing::warn!(
            channel = %channel.name,
            attempt = m.attempts + 1,
            error = attempt.error.as_deref().unwrap_or(""),
            retry = retry.is_some(),
            "alert delivery failed"
        );
    }
    if let Err(e) = store::alerts::finish_attempt(&state.pool, &m, &attempt, retry).await {
        tracing::warn!(error = %e, "cannot record an alert delivery");
    }
}

/// Runs until the server stops.
pub async fn run(state: AppState) {
    let stopping = state.stopping();
    tokio::pin!(stopping);
    let mut failing = false;
    loop {
        tokio::select! {
            _ = &mut stopping => return,
            _ = tokio::time::sleep(POLL) => {}
            _ = state.alerts.wake_dispatch.notified() => {}
        }
        match store::alerts::claim_due(&state.pool, 50, CLAIM).await {
            Ok(claimed) => {
                failing = false;
                for m in claimed {
                    tokio::spawn(deliver(state.clone(), m));
                }
            }
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "cannot claim alert messages; retrying");
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_a_ceiling() {
        assert_eq!(backoff(1, 0.5), Duration::seconds(2));
        assert_eq!(backoff(2, 0.5), Duration::seconds(4));
        assert_eq!(backoff(3, 0.5), Duration::seconds(8));
        assert_eq!(backoff(1, 0.0), Duration::seconds(1));
        assert_eq!(backoff(1, 1.0), Duration::seconds(3));
        assert_eq!(backoff(20, 0.5), Duration::seconds(300));
    }
}
