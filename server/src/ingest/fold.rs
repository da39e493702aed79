//! The write path's second stage: the rollups. Each group commit stores its calls with a
//! pending row, answers its requests and hands its deltas here; one folder merges every
//! commit that arrived in the last [`FOLD_EVERY`] into one rollup statement.
//!
//! Why a stage of its own: the rollup rows are shared (every commit of a busy hour touches
//! the same user hours, users and sessions), so commits that upserted them themselves waited
//! on each other's WAL flush, and at batches of 100 they made about one upsert per call.
//! One folder never waits on another, and a round's upserts cover all its commits.
//!
//! Requests are answered at their commit, so the rollups trail the calls by up to a round.
//! Readers of the rollups first wait on [`Progress::settled`]: it nudges the folder and
//! returns once every commit answered before the call (by any server on the database) is
//! folded, so whoever holds an acknowledgement sees its calls counted.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use sqlx::PgPool;
use tokio::sync::{mpsc, watch, Notify};

use crate::{analytics::rollup::Deltas, store};

/// One group commit whose calls are stored (and acknowledged) and whose rollups are not
/// added yet.
pub(super) struct Committed {
    /// Its row in `llm_rollup_pending`; none when it stored no new call.
    pub pending: Option<i64>,
    pub deltas: Deltas,
    /// Its jobs' shares of the ingest queue, given back once it is folded.
    pub _rows: Vec<tokio::sync::OwnedSemaphorePermit>,
}

/// How long commits gather before a round, unless a reader waits: long enough that a round
/// covers many commits at batches of 100, short enough that dashboards stay live.
const FOLD_EVERY: Duration = Duration::from_millis(100);
/// After a failed round the folder tries again this soon, even with no new commit.
const RETRY: Duration = Duration::from_secs(2);
/// A reader waits this long at most for the folders; past it (a fold failing) it reads what
/// is there rather than hanging. Far above a round's time, even on a loaded machine.
const SETTLE_LIMIT: Duration = Duration::from_secs(10);

/// Where the folder stands, shared by the writer (which counts commits handed over), the
/// folder (which publishes how many it has folded) and readers (which wait between them).
pub(super) struct Progress {
    handed: AtomicU64,
    folded: watch::Sender<u64>,
    nudge: Notify,
}

impl Progress {
    pub fn new() -> Arc<Self> {
        Arc::new(Progress {
            handed: AtomicU64::new(0),
            folded: watch::Sender::new(0),
            nudge: Notify::new(),
        })
    }

    /// Counts a commit and sends it to the folder; called before its requests are answered.
    /// The count moves first, so a reader that saw an answer waits for this commit too.
    pub fn hand_over(&self, fold: &mpsc::UnboundedSender<Committed>, c: Committed) {
        self.handed.fetch_add(1, Ordering::SeqCst);
        // The folder outlives every sender; should it have stopped (the process is ending),
        // the rollups are added from the pending row at the next start.
        let _ = fold.send(c);
    }

    /// Waits until every commit answered before this call, by this server or another on
    /// the same database, is in the rollups.
    ///
    /// The database says what is pending: every answered commit's row is visible, and a row
    /// goes when its calls are added. This server's own commits are folded at once (see
    /// [`Self::catch_up`]); another server's within its folder's round.
    pub async fn settled(&self, pool: &PgPool) {
        let own = self.catch_up();
        let newest = match store::rollup_pending::newest(pool, ORPHANED).await {
            Ok(Some(id)) => id,
            // Nothing pending (or the database is failing, and the read will say so).
            Ok(None) | Err(_) => return,
        };
        let waited = tokio::time::timeout(SETTLE_LIMIT, async {
            own.await;
            while store::rollup_pending::any_up_to(pool, newest)
                .await
                .unwrap_or(false)
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        if waited.is_err() {
            tracing::warn!("rollups are behind the stored calls; reading them as they are");
        }
    }

    /// This server's part, started now: when the folder is behind, nudges it to fold at
    /// once, and the future ends when it has folded every commit counted so far. Commits
    /// reach the folder in the order they were sent, and each is counted before it is sent
    /// and answered, so the folder's count says when this server's answered commits are
    /// folded without asking the database again.
    fn catch_up(&self) -> impl std::future::Future<Output = ()> + '_ {
        let target = self.handed.load(Ordering::SeqCst);
        let mut folded = self.folded.subscribe();
        let behind = *folded.borrow_and_update() < target;
        if behind {
            self.nudge.notify_one();
        }
        async move {
            if behind {
                let _ = folded.wait_for(|f| *f >= target).await;
            }
        }
    }
}

/// What a round reads back from the pending rows besides its own commits.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ReadBack {
    Nothing,
    /// Rows older than [`ORPHANED`]: a replica that stopped left them.
    Orphaned,
    /// Every row: the first round after a start, and the one after a failed round.
    All,
}

/// A pending row this old has no folder (its own adds it within a round), so any server's
/// folder adds it; each folder looks for such rows this often.
const ORPHANED: Duration = Duration::from_secs(10);

/// Runs until every sender is dropped and what was sent is folded.
pub(super) async fn folder(
    pool: PgPool,
    progress: Arc<Progress>,
    mut rx: mpsc::UnboundedReceiver<Committed>,
) {
    // What a stopped process left pending is folded in the first round.
    let mut recover = true;
    // Commits received; every one is folded once a round succeeds.
    let mut received = 0u64;
    let mut swept = Instant::now();
    loop {
        let idle = if recover { RETRY } else { ORPHANED };
        let mut round = Vec::new();
        match tokio::time::timeout(idle, rx.recv()).await {
            Ok(None) => break,
            Ok(Some(first)) => {
                // Let the round gather commits, unless a reader is waiting for this one.
                tokio::select! {
                    () = tokio::time::sleep(FOLD_EVERY) => {}
                    () = progress.nudge.notified() => {}
                }
                round.push(first);
                while let Ok(c) = rx.try_recv() {
                    round.push(c);
                }
                received += round.len() as u64;
            }
            Err(_) => {}
        }
        let read_back = if recover {
            ReadBack::All
        } else if swept.elapsed() >= ORPHANED {
            swept = Instant::now();
            ReadBack::Orphaned
        } else if round.is_empty() {
            continue;
        } else {
            ReadBack::Nothing
        };
        recover = !fold_round(&pool, &mut round, read_back).await;
        // A failed round's commits stay pending; the round that recovers them folds all.
        if !recover {
            progress.folded.send_replace(received);
        }
    }
    if recover && fold_round(&pool, &mut [], ReadBack::All).await {
        progress.folded.send_replace(received);
    }
}

/// Adds the round's deltas (and the calls of the pending rows `read_back` names); whether
/// it committed.
async fn fold_round(pool: &PgPool, round: &mut [Committed], read_back: ReadBack) -> bool {
    match try_fold(pool, round, read_back).await {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, "adding calls to the rollups failed; retrying from their pending rows");
            false
        }
    }
}

async fn try_fold(pool: &PgPool, round: &mut [Committed], read_back: ReadBack) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    let read = match read_back {
        ReadBack::Nothing => 0,
        ReadBack::Orphaned => store::rollup_pending::fold_stored(&mut tx, Some(ORPHANED)).await?,
        ReadBack::All => store::rollup_pending::fold_stored(&mut tx, None).await?,
    };
    if read > 0 {
        tracing::info!(calls = read, "added pending calls to the rollups");
    }
    let ids: Vec<i64> = round.iter().filter_map(|c| c.pending).collect();
    let claimed = store::rollup_pending::claim(&mut tx, &ids).await?;
    // A commit whose row a rebuild (or the read-back above) took is counted already.
    let mut deltas = Deltas::default();
    for c in round.iter_mut() {
        if c.pending.is_some_and(|id| claimed.contains(&id)) {
            deltas.merge(std::mem::take(&mut c.deltas));
        }
    }
    store::rollups::add(&mut tx, deltas).await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit() -> Committed {
        Committed {
            pending: None,
            deltas: Deltas::default(),
            _rows: Vec::new(),
        }
    }

    #[tokio::test]
    async fn a_reader_waits_for_every_commit_handed_over_before_it() {
        let p = Progress::new();
        let (tx, _rx) = mpsc::unbounded_channel();
        // Nothing in flight: no wait, and no nudge.
        tokio::time::timeout(Duration::from_millis(10), p.catch_up())
            .await
            .expect("nothing to wait for");
        p.hand_over(&tx, commit());
        p.hand_over(&tx, commit());
        let reader = tokio::spawn({
            let p = Arc::clone(&p);
            async move { p.catch_up().await }
        });
        // The reader nudges the folder rather than waiting for its timer.
        tokio::time::timeout(Duration::from_secs(1), p.nudge.notified())
            .await
            .expect("the reader nudged the folder");
        p.folded.send_replace(1);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!reader.is_finished(), "one of two commits folded");
        // Counted after the reader came: not waited for.
        p.hand_over(&tx, commit());
        p.folded.send_replace(2);
        tokio::time::timeout(Duration::from_secs(1), reader)
            .await
            .expect("the reader went on once the commits before it were folded")
            .unwrap();
    }
}
