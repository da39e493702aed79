//! AI workers: the heartbeats apps send for their agents and inference workers, and the
//! Workers panel's view of them (state counts over time, the list).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A worker's state. Apps report the first four; `lost` is Sightline's verdict on a worker
/// whose heartbeats stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WorkerState {
    Active,
    Idle,
    Busy,
    Error,
    Lost,
}

impl WorkerState {
    pub const ALL: [WorkerState; 5] = [
        WorkerState::Active,
        WorkerState::Busy,
        WorkerState::Idle,
        WorkerState::Error,
        WorkerState::Lost,
    ];
    /// The states a heartbeat may report.
    pub const REPORTED: [WorkerState; 4] = [
        WorkerState::Active,
        WorkerState::Busy,
        WorkerState::Idle,
        WorkerState::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WorkerState::Active => "active",
            WorkerState::Idle => "idle",
            WorkerState::Busy => "busy",
            WorkerState::Error => "error",
            WorkerState::Lost => "lost",
        }
    }

    pub fn parse(s: &str) -> Option<WorkerState> {
        WorkerState::ALL.into_iter().find(|w| w.as_str() == s)
    }
}

/// One worker's heartbeat. `state` is one of `active`, `idle`, `busy` or `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Heartbeat {
    /// Unique among workers: a later heartbeat with the same name updates it.
    pub name: String,
    #[serde(default)]
    pub role: Option<String>,
    pub state: String,
    /// What it is working on now.
    #[serde(default)]
    pub task: Option<String>,
    /// Tasks finished since the worker started.
    #[serde(default)]
    pub tasks_done: Option<u64>,
    /// CPU use in percent of one core.
    #[serde(default)]
    pub cpu_percent: Option<f64>,
    /// Inference servers that batch: requests in the current batch (or the mean since the
    /// last heartbeat).
    #[serde(default)]
    pub batch_size: Option<f64>,
    /// The most requests a batch may hold (vLLM's `max_num_seqs`, TGI's max batch size).
    #[serde(default)]
    pub batch_capacity: Option<u32>,
}

/// `POST /api/v1/workers/heartbeats`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HeartbeatBatch {
    pub workers: Vec<Heartbeat>,
}

/// The answer to a batch of heartbeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HeartbeatAccepted {
    pub accepted: usize,
    /// Seconds without a heartbeat after which a worker is lost.
    pub lost_after_s: u64,
}

/// A worker as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Worker {
    pub name: String,
    /// Empty when none was reported.
    pub role: String,
    /// The reported state, or `lost` when heartbeats stopped.
    pub state: WorkerState,
    /// The last state it reported (differs from `state` when lost).
    pub reported_state: WorkerState,
    pub task: Option<String>,
    pub tasks_done: Option<u64>,
    pub cpu_percent: Option<f64>,
    pub batch_size: Option<f64>,
    pub batch_capacity: Option<u32>,
    /// `batch_size / batch_capacity` (0 to 1) where both were reported.
    pub batch_efficiency: Option<f64>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

/// Workers per state at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StateCounts {
    pub active: u32,
    pub busy: u32,
    pub idle: u32,
    pub error: u32,
    pub lost: u32,
}

impl StateCounts {
    pub fn of<'a>(workers: impl IntoIterator<Item = &'a Worker>) -> StateCounts {
        let mut c = StateCounts::default();
        for w in workers {
            *c.get_mut(w.state) += 1;
        }
        c
    }

    pub fn get(&self, s: WorkerState) -> u32 {
        match s {
            WorkerState::Active => self.active,
            WorkerState::Busy => self.busy,
            WorkerState::Idle => self.idle,
            WorkerState::Error => self.error,
            WorkerState::Lost => self.lost,
        }
    }

    pub fn get_mut(&mut self, s: WorkerState) -> &mut u32 {
        match s {
            WorkerState::Active => &mut self.active,
            WorkerState::Busy => &mut self.busy,
            WorkerState::Idle => &mut self.idle,
            WorkerState::Error => &mut self.error,
            WorkerState::Lost => &mut self.lost,
        }
    }

    pub fn total(&self) -> u32 {
        WorkerState::ALL.iter().map(|s| self.get(*s)).sum()
    }
}

/// Counts by state for one minute (the last count taken in it).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CountsPoint {
    pub time: DateTime<Utc>,
    #[serde(flatten)]
    pub counts: StateCounts,
}

/// `GET /api/v1/workers?range=`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct WorkersQuery {
    /// The history's range (`1h` by default, at most 30 days).
    #[serde(default)]
    pub range: Option<String>,
    #[serde(default)]
    pub from: Option<DateTime<Utc>>,
    #[serde(default)]
    pub to: Option<DateTime<Utc>>,
    /// Only workers of this role.
    #[serde(default)]
    pub role: Option<String>,
}

/// The Workers panel: every worker, the counts now and per minute over the range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WorkersOverview {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub lost_after_s: u64,
    pub counts: StateCounts,
    pub series: Vec<CountsPoint>,
    pub roles: Vec<String>,
    pub workers: Vec<Worker>,
    /// Mean batch efficiency of the workers not lost that report batches (0 to 1).
    pub batch_efficiency: Option<f64>,
}

/// Mean batch efficiency of the workers not lost that report one.
pub fn mean_batch_efficiency(workers: &[Worker]) -> Option<f64> {
    let e: Vec<f64> = workers
        .iter()
        .filter(|w| w.state != WorkerState::Lost)
        .filter_map(|w| w.batch_efficiency)
        .collect();
    (!e.is_empty()).then(|| e.iter().sum::<f64>() / e.len() as f64)
}

/// The live topic's payload: workers whose heartbeat arrived or who were just lost, and the
/// counts after the change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkersTick {
    pub time: DateTime<Utc>,
    pub counts: StateCounts,
    pub workers: Vec<Worker>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_unknown_is_none() {
        for s in WorkerState::ALL {
            assert_eq!(WorkerState::parse(s.as_str()), Some(s));
        }
        assert_eq!(WorkerState::parse("sleeping"), None);
        assert_eq!(WorkerState::parse("Active"), None);
    }

    #[test]
    fn counts_add_up_by_state() {
        let w = |state| Worker {
            name: "w".into(),
            role: String::new(),
            state,
            reported_state: WorkerState::Active,
            task: None,
            tasks_done: None,
            cpu_percent: None,
            batch_size: None,
            batch_capacity: None,
            batch_efficiency: None,
            first_seen: Utc::now(),
            last_seen: Utc::now(),
        };
        let list = [
            w(WorkerState::Active),
            w(WorkerState::Active),
            w(WorkerState::Lost),
            w(WorkerState::Error),
        ];
        let c = StateCounts::of(&list);
        assert_eq!((c.active, c.lost, c.error, c.busy, c.idle), (2, 1, 1, 0, 0));
        assert_eq!(c.total(), 4);
    }
}
