//! Alerts at run time: the evaluator (one server at a time, chosen by a PostgreSQL advisory
//! lock), the dispatcher (every server; messages are claimed in the database, so each is
//! sent once), the senders per channel kind and the defaults installed at first start.
//! The rules themselves, the state machine and the message bodies are pure, in
//! `domain::alert`.

pub mod cycle;
pub mod defaults;
pub mod dispatch;
pub mod evaluator;
pub mod send;

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

use tokio::sync::Notify;

/// Handles shared by the HTTP handlers and the loops.
#[derive(Clone, Default)]
pub struct Alerts {
    /// Wakes the dispatcher: a message was made.
    pub wake_dispatch: Arc<Notify>,
    /// Asks the evaluator for a cycle now (a rule or silence changed).
    pub evaluate_now: Arc<Notify>,
    leader: Arc<AtomicBool>,
}

impl Alerts {
    /// Whether this server holds the evaluator's lock.
    pub fn is_leader(&self) -> bool {
        self.leader.load(Ordering::Relaxed)
    }

    fn set_leader(&self, v: bool) {
        self.leader.store(v, Ordering::Relaxed);
    }
}
