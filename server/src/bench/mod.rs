//! Model benchmark runs: the same prompts sent to several models through the proxy's path,
//! timed, scored and compared.
//!
//! - [`ask`] sends one prompt and reads the streamed answer.
//! - [`runner`] runs a whole run: models in parallel, each at its concurrency, live
//!   progress on the hub, answers stored as they come, cancellable.
//!
//! A run is held by the server that started it: cancelling reaches only that server, and a
//! run that was going when its server stopped is marked `interrupted` at the next start.

pub mod ask;
pub mod runner;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use app::types::bench::{BenchAnswer, BenchRunSummary};
use tokio_util::sync::CancellationToken;

use crate::{
    domain::bench,
    store::bench::{RunRow, StoredAnswer},
};

/// The runs going on this server, by id, with the token that cancels each.
#[derive(Clone, Default)]
pub struct Runs {
    going: Arc<Mutex<HashMap<i64, CancellationToken>>>,
}

impl Runs {
    fn add(&self, id: i64) -> CancellationToken {
        let token = CancellationToken::new();
        self.lock().insert(id, token.clone());
        token
    }

    fn remove(&self, id: i64) {
        self.lock().remove(&id);
    }

    /// Cancels a run going on this server; false when none is.
    pub fn cancel(&self, id: i64) -> bool {
        match self.lock().get(&id) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, CancellationToken>> {
        self.going.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A run's summary from its row and its answers so far; `now_ms` is the time since its
/// start while it runs.
pub fn summarize(row: &RunRow, answers: &[&StoredAnswer], now_ms: Option<f64>) -> BenchRunSummary {
    let per_model = row.input.prompts.len() as u32 * row.input.repetitions;
    let models = row
        .input
        .models
        .iter()
        .map(|m| {
            let mine: Vec<&StoredAnswer> = answers
                .iter()
                .copied()
                .filter(|a| &a.answer.model == m)
                .collect();
            let last = mine
                .iter()
                .max_by(|a, b| a.finished_ms.total_cmp(&b.finished_ms));
            let list: Vec<&BenchAnswer> = mine.iter().map(|a| &a.answer).collect();
            bench::summarize(
                m,
                per_model,
                &list,
                last.map(|a| &a.answer),
                last.map(|a| a.finished_ms),
            )
        })
        .collect();
    BenchRunSummary {
        id: row.id,
        name: row.name.clone(),
        category: row.category,
        scoring: row.scoring,
        status: row.status,
        created_at: row.created_at,
        finished_at: row.finished_at,
        wall_ms: row.wall_ms.or(now_ms),
        prompts: row.input.prompts.len() as u32,
        repetitions: row.input.repetitions,
        models,
    }
}
