//! Live topics of `/api/v1/stream`: each pairs its event name with its payload's type, so
//! the server publishes and the browser subscribes to the same thing.

use serde::{de::DeserializeOwned, Serialize};

use super::{
    alert::{Alert, Notice},
    apps::RequestsTick,
    frontend::BrowserTick,
    system::LiveSample,
    Budget, BudgetEvent, Call,
};

/// A topic: the SSE event name and what its data holds (JSON).
pub trait Topic {
    const NAME: &'static str;
    type Payload: Serialize + DeserializeOwned;
}

/// Types whose JSON is that of `T`, so a borrowed view can be published for an owned
/// payload without copying it (`Vec<&Call>` for `Vec<Call>`).
pub trait SameJson<T>: Serialize {}

impl<T: Serialize> SameJson<T> for T {}
impl SameJson<Vec<Call>> for Vec<&Call> {}

/// Calls just committed (one event per ingest request).
pub struct CallsTopic;

impl Topic for CallsTopic {
    const NAME: &'static str = "calls";
    type Payload = Vec<Call>;
}

/// One host's sample just committed.
pub struct SystemTopic;

impl Topic for SystemTopic {
    const NAME: &'static str = "system";
    type Payload = LiveSample;
}

/// Every budget with its status, about once a second while calls arrive.
pub struct BudgetsTopic;

impl Topic for BudgetsTopic {
    const NAME: &'static str = "budgets";
    type Payload = Vec<Budget>;
}

/// A budget event just recorded.
pub struct BudgetEventsTopic;

impl Topic for BudgetEventsTopic {
    const NAME: &'static str = "budget_events";
    type Payload = BudgetEvent;
}

/// Alerts whose state changed in an evaluation cycle.
pub struct AlertsTopic;

impl Topic for AlertsTopic {
    const NAME: &'static str = "alerts";
    type Payload = Vec<Alert>;
}

/// An in-app notification just delivered (the toast and the bell).
pub struct NoticesTopic;

impl Topic for NoticesTopic {
    const NAME: &'static str = "notices";
    type Payload = Notice;
}

/// Application requests just committed (one event per commit).
pub struct RequestsTopic;

impl Topic for RequestsTopic {
    const NAME: &'static str = "requests";
    type Payload = RequestsTick;
}

/// A benchmark run's progress: its summary after each finished request and when it ends.
pub struct BenchTopic;

impl Topic for BenchTopic {
    const NAME: &'static str = "benchmarks";
    type Payload = super::bench::BenchRunSummary;
}

/// Browser reports (vitals, errors, failed calls) just committed.
pub struct BrowserTopic;

impl Topic for BrowserTopic {
    const NAME: &'static str = "browser";
    type Payload = BrowserTick;
}

/// AI workers whose heartbeat just arrived or who were just lost, with the counts.
pub struct WorkersTopic;

impl Topic for WorkersTopic {
    const NAME: &'static str = "workers";
    type Payload = super::workers::WorkersTick;
}

/// Every topic a client may subscribe to.
pub const TOPICS: &[&str] = &[
    CallsTopic::NAME,
    SystemTopic::NAME,
    BudgetsTopic::NAME,
    BudgetEventsTopic::NAME,
    AlertsTopic::NAME,
    NoticesTopic::NAME,
    RequestsTopic::NAME,
    BrowserTopic::NAME,
    BenchTopic::NAME,
    WorkersTopic::NAME,
];
