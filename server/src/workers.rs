//! AI workers: storing heartbeats, the panel's view, and the sweep that counts workers by
//! state each few seconds (for the chart) and announces the ones just lost on the live
//! stream.

use std::collections::BTreeMap;

use app::types::{
    live::WorkersTopic,
    workers::{StateCounts, Worker, WorkerState, WorkersTick},
};
use chrono::{DateTime, Duration, DurationRound, Utc};

use crate::{
    domain::worker::{batch_efficiency, lost_between, verdict, Beat},
    state::AppState,
    store::{self, workers::WorkerRow},
};

/// How long the per-minute counts are kept.
pub const KEEP_COUNTS: Duration = Duration::days(30);
/// A worker silent this long is forgotten (it was lost for days: gone, not down).
pub const FORGET_AFTER: Duration = Duration::days(7);

/// A stored worker as shown at `now`.
pub fn view(row: WorkerRow, now: DateTime<Utc>, lost_after: Duration) -> Worker {
    // The table's CHECK allows only the reported states.
    let reported = WorkerState::parse(&row.state).unwrap_or(WorkerState::Error);
    Worker {
        state: verdict(reported, row.last_seen, now, lost_after),
        reported_state: reported,
        name: row.name,
        role: row.role,
        task: row.task,
        tasks_done: row.tasks_done.map(|n| n.max(0) as u64),
        cpu_percent: row.cpu_percent,
        batch_efficiency: batch_efficiency(row.batch_size, row.batch_capacity),
        batch_size: row.batch_size,
        batch_capacity: row.batch_capacity.map(|c| c.max(0) as u32),
        first_seen: row.first_seen,
        last_seen: row.last_seen,
    }
}

/// Every worker as shown at `now`.
pub async fn all(
    state: &AppState,
    role: Option<&str>,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<Worker>> {
    let lost_after = state.config.worker_lost_after;
    Ok(store::workers::list(&state.pool, role)
        .await?
        .into_iter()
        .map(|r| view(r, now, lost_after))
        .collect())
}

/// Stores checked heartbeats (a later one of the same name in a batch wins) and tells the
/// live stream. Returns how many workers were updated.
pub async fn heartbeat(state: &AppState, beats: Vec<Beat>) -> sqlx::Result<usize> {
    let unique: BTreeMap<String, Beat> = beats.into_iter().map(|b| (b.name.clone(), b)).collect();
    let beats: Vec<Beat> = unique.into_values().collect();
    let now = Utc::now();
    let rows = store::workers::upsert(&state.pool, &beats, now).await?;
    let n = rows.len();
    if state.live.has_subscribers() {
        let counts = StateCounts::of(&all(state, None, now).await?);
        let lost_after = state.config.worker_lost_after;
        let workers = rows.into_iter().map(|r| view(r, now, lost_after)).collect();
        state.live.publish::<WorkersTopic, _>(|| WorkersTick {
            time: now,
            counts,
            workers,
        });
    }
    Ok(n)
}

/// The counts of `workers` as the minute table stores them.
fn count_rows(counts: &StateCounts) -> Vec<(&'static str, i32)> {
    WorkerState::ALL
        .iter()
        .map(|s| (s.as_str(), counts.get(*s) as i32))
        .collect()
}

/// One sweep at `now` (the previous at `before`): record the minute's counts and announce
/// the workers lost since `before`.
async fn sweep(state: &AppState, before: DateTime<Utc>, now: DateTime<Utc>) -> sqlx::Result<()> {
    let lost_after = state.config.worker_lost_after;
    store::workers::forget_silent(&state.pool, now - FORGET_AFTER).await?;
    let workers = all(state, None, now).await?;
    let counts = StateCounts::of(&workers);
    if counts.total() == 0 {
        return Ok(());
    }
    let bucket = now.duration_trunc(Duration::minutes(1)).unwrap_or(now);
    store::workers::record_counts(&state.pool, bucket, &count_rows(&counts), now - KEEP_COUNTS)
        .await?;
    let lost: Vec<Worker> = workers
        .into_iter()
        .filter(|w| lost_between(w.last_seen, before, now, lost_after))
        .collect();
    if !lost.is_empty() {
        state.live.publish::<WorkersTopic, _>(|| WorkersTick {
            time: now,
            counts,
            workers: lost,
        });
    }
    Ok(())
}

/// How often the sweep runs: a fifth of the lost threshold, between 1 and 10 seconds.
pub fn sweep_interval(lost_after: Duration) -> std::time::Duration {
    let ms = (lost_after.num_milliseconds() / 5).clamp(1000, 10_000);
    std::time::Duration::from_millis(ms as u64)
}

/// Sweeps until the server stops.
pub async fn run(state: AppState) {
    let mut tick = tokio::time::interval(sweep_interval(state.config.worker_lost_after));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stopping = state.stopping();
    tokio::pin!(stopping);
    let mut before = Utc::now();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = &mut stopping => return,
        }
        let now = Utc::now();
        match sweep(&state, before, now).await {
            Ok(()) => before = now,
            Err(e) => tracing::warn!(error = %e, "workers not swept"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_runs_often_enough_to_see_a_loss_soon() {
        assert_eq!(
            sweep_interval(Duration::seconds(60)),
            std::time::Duration::from_secs(10)
        );
        assert_eq!(
            sweep_interval(Duration::seconds(2)),
            std::time::Duration::from_secs(1)
        );
        assert_eq!(
            sweep_interval(Duration::seconds(20)),
            std::time::Duration::from_secs(4)
        );
    }
}
