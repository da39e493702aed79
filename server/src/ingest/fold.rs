//! The write path's second stage: the rollups. Each group commit stores its calls with a
//! pending row and hands its deltas here; one folder merges every commit that finished since
//! its last round into one rollup statement, then answers their requests.
//!
//! Why a stage of its own: the rollup rows are shared (every commit of a busy hour touches
//! the same user hours, users and sessions), so commits that upserted them themselves waited
//! on each other's WAL flush, and at batches of 100 they made about one upsert per call.
//! One folder never waits on another, and a round's upserts cover all its commits.

use std::{sync::Arc, time::Duration};

use sqlx::PgPool;
use tokio::sync::mpsc;

use super::pipeline::{answer, Job};
use crate::{analytics::rollup::Deltas, live::LiveHub, metrics::Metrics, store};

/// One group commit whose calls are stored and whose rollups are not added yet.
pub(super) struct Committed {
    /// Its row in `llm_rollup_pending`; none when it stored no new call.
    pub pending: Option<i64>,
    pub deltas: Deltas,
    /// Each job with the calls it added.
    pub jobs: Vec<(Job, u64)>,
}

/// After a failed round the folder tries again this soon, even with no new commit.
const RETRY: Duration = Duration::from_secs(2);

/// Runs until every sender is dropped and what was sent is folded. Requests are answered
/// after their round whether it succeeded or not: their calls are stored, and a failed
/// round's pending rows are folded from the database by a later one.
pub(super) async fn folder(
    pool: PgPool,
    live: LiveHub,
    metrics: Arc<Metrics>,
    mut rx: mpsc::UnboundedReceiver<Committed>,
) {
    // What a stopped process left pending is folded in the first round.
    let mut recover = true;
    loop {
        let first = if recover {
            match tokio::time::timeout(RETRY, rx.recv()).await {
                Ok(first) => first,
                Err(_) => {
                    recover = !fold_round(&pool, &mut [], true).await;
                    continue;
                }
            }
        } else {
            rx.recv().await
        };
        let Some(first) = first else { break };
        let mut round = vec![first];
        while let Ok(c) = rx.try_recv() {
            round.push(c);
        }
        recover = !fold_round(&pool, &mut round, recover).await;
        for c in round {
            for (job, inserted) in c.jobs {
                answer(&live, &metrics, job, inserted);
            }
        }
    }
    if recover {
        fold_round(&pool, &mut [], true).await;
    }
}

/// Adds the round's deltas (and, when `recover`, every pending row's calls read back);
/// whether it committed.
async fn fold_round(pool: &PgPool, round: &mut [Committed], recover: bool) -> bool {
    match try_fold(pool, round, recover).await {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, "adding calls to the rollups failed; retrying from their pending rows");
            false
        }
    }
}

async fn try_fold(pool: &PgPool, round: &mut [Committed], recover: bool) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    if recover {
        let n = store::rollup_pending::fold_stored(&mut tx).await?;
        if n > 0 {
            tracing::info!(calls = n, "added pending calls to the rollups");
        }
    }
    let ids: Vec<i64> = round.iter().filter_map(|c| c.pending).collect();
    let claimed = store::rollup_pending::claim(&mut tx, &ids).await?;
    // A commit whose row a rebuild (or the recovery above) took is counted already.
    let mut deltas = Deltas::default();
    for c in round.iter_mut() {
        if c.pending.is_some_and(|id| claimed.contains(&id)) {
            deltas.merge(std::mem::take(&mut c.deltas));
        }
    }
    store::rollups::add(&mut tx, &deltas).await?;
    tx.commit().await
}
