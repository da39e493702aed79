//! AI workers (pure): checking a heartbeat, and the verdict on a worker whose heartbeats
//! stopped. A worker is lost when its last heartbeat is older than `lost_after`; the state
//! is derived when read, so no sweep has to run for the list to be right.

use app::types::workers::{Heartbeat, WorkerState};
use chrono::{DateTime, Duration, Utc};

use super::app_request::Invalid;

/// Heartbeats per batch at most.
pub const MAX_BATCH: usize = 1000;
pub const MAX_NAME: usize = 200;
pub const MAX_ROLE: usize = 100;
pub const MAX_TASK: usize = 500;
/// CPU in percent of one core: 1000 cores is beyond any host.
pub const MAX_CPU_PERCENT: f64 = 100_000.0;
/// The largest batch capacity accepted (vLLM's default is 256).
pub const MAX_BATCH_CAPACITY: u32 = 1_000_000;

/// A checked heartbeat, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Beat {
    pub name: String,
    pub role: Option<String>,
    pub state: WorkerState,
    pub task: Option<String>,
    pub tasks_done: Option<i64>,
    pub cpu_percent: Option<f64>,
    pub batch_size: Option<f64>,
    pub batch_capacity: Option<i32>,
}

/// A batch's fill: `size / capacity`, where both are known.
pub fn batch_efficiency(size: Option<f64>, capacity: Option<i32>) -> Option<f64> {
    match (size, capacity) {
        (Some(s), Some(c)) if c > 0 => Some((s / f64::from(c)).clamp(0.0, 1.0)),
        _ => None,
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> Invalid {
    Invalid {
        field,
        message: message.into(),
    }
}

fn text(v: &str, max: usize) -> bool {
    v.chars().count() <= max && !v.chars().any(char::is_control)
}

fn optional(
    v: &Option<String>,
    field: &'static str,
    max: usize,
) -> Result<Option<String>, Invalid> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) if text(s, max) => Ok(Some(s.to_owned())),
        Some(_) => Err(invalid(
            field,
            format!("{field} must be at most {max} characters, without control characters"),
        )),
    }
}

pub fn check(h: &Heartbeat) -> Result<Beat, Invalid> {
    let name = h.name.trim();
    if name.is_empty() || !text(name, MAX_NAME) {
        return Err(invalid(
            "name",
            format!("name must be 1 to {MAX_NAME} characters, without control characters"),
        ));
    }
    let state = WorkerState::parse(h.state.trim())
        .filter(|s| WorkerState::REPORTED.contains(s))
        .ok_or_else(|| {
            invalid(
                "state",
                format!(
                    "unknown state {:?}: one of active, idle, busy or error",
                    h.state
                ),
            )
        })?;
    let cpu_percent = match h.cpu_percent {
        Some(c) if !(0.0..=MAX_CPU_PERCENT).contains(&c) || !c.is_finite() => {
            return Err(invalid(
                "cpu_percent",
                format!("cpu_percent must be between 0 and {MAX_CPU_PERCENT}"),
            ))
        }
        c => c,
    };
    let batch_capacity = match h.batch_capacity {
        Some(c) if c == 0 || c > MAX_BATCH_CAPACITY => {
            return Err(invalid(
                "batch_capacity",
                format!("batch_capacity must be between 1 and {MAX_BATCH_CAPACITY}"),
            ))
        }
        c => c.map(|c| c as i32),
    };
    let batch_size = match h.batch_size {
        Some(b) if !b.is_finite() || b < 0.0 => {
            return Err(invalid(
                "batch_size",
                "batch_size must be a number of at least 0",
            ))
        }
        Some(b) if batch_capacity.is_some_and(|c| b > f64::from(c)) => {
            return Err(invalid(
                "batch_size",
                "batch_size cannot exceed batch_capacity",
            ))
        }
        b => b,
    };
    let tasks_done = match h.tasks_done {
        Some(n) => Some(i64::try_from(n).map_err(|_| invalid("tasks_done", "too large"))?),
        None => None,
    };
    Ok(Beat {
        name: name.to_owned(),
        role: optional(&h.role, "role", MAX_ROLE)?,
        state,
        task: optional(&h.task, "task", MAX_TASK)?,
        tasks_done,
        cpu_percent,
        batch_size,
        batch_capacity,
    })
}

/// The state shown for a worker that last reported `reported` at `last_seen`.
pub fn verdict(
    reported: WorkerState,
    last_seen: DateTime<Utc>,
    now: DateTime<Utc>,
    lost_after: Duration,
) -> WorkerState {
    if now - last_seen > lost_after {
        WorkerState::Lost
    } else {
        reported
    }
}

/// Whether a worker last seen at `last_seen` turned lost after the sweep at `before` and by
/// the one at `now`: each loss is announced once.
pub fn lost_between(
    last_seen: DateTime<Utc>,
    before: DateTime<Utc>,
    now: DateTime<Utc>,
    lost_after: Duration,
) -> bool {
    before - last_seen <= lost_after && now - last_seen > lost_after
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beat(state: &str) -> Heartbeat {
        Heartbeat {
            name: " worker-1 ".into(),
            role: Some("embedder".into()),
            state: state.into(),
            task: Some("".into()),
            tasks_done: Some(3),
            cpu_percent: Some(12.5),
            batch_size: Some(12.0),
            batch_capacity: Some(32),
        }
    }

    #[test]
    fn batches_are_checked_and_their_fill_computed() {
        let b = check(&beat("busy")).unwrap();
        assert_eq!(
            batch_efficiency(b.batch_size, b.batch_capacity),
            Some(0.375)
        );
        assert_eq!(batch_efficiency(Some(3.0), None), None);
        let mut h = beat("busy");
        h.batch_size = Some(40.0);
        assert_eq!(check(&h).unwrap_err().field, "batch_size", "over capacity");
        let mut h = beat("busy");
        h.batch_capacity = Some(0);
        assert_eq!(check(&h).unwrap_err().field, "batch_capacity");
        let mut h = beat("busy");
        h.batch_size = Some(-1.0);
        assert_eq!(check(&h).unwrap_err().field, "batch_size");
    }

    #[test]
    fn a_good_heartbeat_is_trimmed() {
        let b = check(&beat("busy")).unwrap();
        assert_eq!(b.name, "worker-1");
        assert_eq!(b.state, WorkerState::Busy);
        assert_eq!(b.task, None);
        assert_eq!(b.tasks_done, Some(3));
    }

    #[test]
    fn refusals_name_the_field() {
        assert_eq!(check(&beat("sleeping")).unwrap_err().field, "state");
        // Lost is Sightline's verdict, not something a worker says of itself.
        assert_eq!(check(&beat("lost")).unwrap_err().field, "state");
        let mut h = beat("idle");
        h.name = "  ".into();
        assert_eq!(check(&h).unwrap_err().field, "name");
        let mut h = beat("idle");
        h.cpu_percent = Some(-1.0);
        assert_eq!(check(&h).unwrap_err().field, "cpu_percent");
        let mut h = beat("idle");
        h.cpu_percent = Some(f64::NAN);
        assert_eq!(check(&h).unwrap_err().field, "cpu_percent");
        let mut h = beat("idle");
        h.task = Some("x".repeat(MAX_TASK + 1));
        assert_eq!(check(&h).unwrap_err().field, "task");
        let mut h = beat("idle");
        h.tasks_done = Some(u64::MAX);
        assert_eq!(check(&h).unwrap_err().field, "tasks_done");
    }

    #[test]
    fn a_worker_is_lost_only_after_the_threshold() {
        let t0: DateTime<Utc> = "2026-12-01T12:00:00Z".parse().unwrap();
        let after = Duration::seconds(30);
        let s = |secs| verdict(WorkerState::Busy, t0, t0 + Duration::seconds(secs), after);
        assert_eq!(s(0), WorkerState::Busy);
        assert_eq!(s(30), WorkerState::Busy);
        assert_eq!(s(31), WorkerState::Lost);
    }

    #[test]
    fn each_loss_is_announced_by_one_sweep() {
        let t0: DateTime<Utc> = "2026-12-01T12:00:00Z".parse().unwrap();
        let after = Duration::seconds(30);
        let sweeps: Vec<DateTime<Utc>> = (0..20).map(|i| t0 + Duration::seconds(i * 5)).collect();
        let announced = sweeps
            .windows(2)
            .filter(|w| lost_between(t0, w[0], w[1], after))
            .count();
        assert_eq!(announced, 1);
    }
}
