//! The write path shared by every source: a bounded queue in front of a batch writer.
//!
//! A request hands its validated calls to [`Pipeline::submit`] and waits. The writer takes
//! what is queued (up to [`MAX_ROWS_PER_COMMIT`] rows), inserts each request's calls with one
//! statement and commits them with a pending row (their rollups to come) and their budgets'
//! counters, and answers the requests: what was acknowledged is stored and counted against
//! its budgets. Up to [`WRITERS`] group commits run at once. The folder ([`super::fold`])
//! then adds the rollups of the commits of the last round in one statement; readers of the
//! rollups wait for it with [`Pipeline::settled`]. A failed group commit is retried request
//! by request, so a bad request fails only itself. A full queue answers at once with
//! [`SubmitError::Busy`] (the API turns it into 503 + Retry-After) instead of letting memory
//! grow.

use app::types::live::CallsTopic;
use std::{sync::Arc, time::Instant};

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

use super::fold::{self, Committed, Progress};
use crate::domain::call::NewCall;
use crate::{
    analytics::rollup,
    live::LiveHub,
    metrics::{CallSource, Metrics},
    store,
};

/// Calls waiting for the writer before new ones are refused: the queue is bounded by what
/// it holds, so many one-call requests (the proxy's records) fit where a few large batches
/// would not.
pub const QUEUE_ROWS: usize = 100_000;
/// Requests waiting at most (a bound on the channel, far above what the rows allow in
/// practice).
const QUEUE_REQUESTS: usize = 16_384;
/// Rows written in one transaction at most.
pub const MAX_ROWS_PER_COMMIT: usize = 20_000;

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("the ingest queue is full")]
    Busy,
    #[error("the ingest writer has stopped")]
    Stopped,
    #[error("storing the batch failed: {0}")]
    Storage(String),
}

/// What happened to one submitted batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub inserted: u64,
    pub duplicates: u64,
}

struct Job {
    calls: Vec<NewCall>,
    source: CallSource,
    done: oneshot::Sender<Result<Stored, String>>,
    /// The job's share of [`QUEUE_ROWS`], given back when its rollups are folded (not at
    /// its answer): a folder that falls behind fills the queue, and new requests get 503
    /// rather than memory growing with deltas waiting to be folded.
    rows: Option<OwnedSemaphorePermit>,
}

/// Handle to the writer; cheap to clone. The writer stops when every handle is dropped,
/// after writing what was queued.
#[derive(Clone)]
pub struct Pipeline {
    tx: mpsc::Sender<Job>,
    rows: Arc<Semaphore>,
    progress: Arc<Progress>,
}

impl Pipeline {
    /// Starts the writer task.
    pub fn start(
        pool: PgPool,
        live: LiveHub,
        metrics: Arc<Metrics>,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE_REQUESTS);
        let progress = Progress::new();
        // Unbounded: it holds deltas only (the calls are stored and answered), at most a
        // round's worth while the folder keeps up, and it merges whatever has gathered.
        let (fold_tx, fold_rx) = mpsc::unbounded_channel();
        let folder = tokio::spawn(fold::folder(pool.clone(), Arc::clone(&progress), fold_rx));
        let out = Out {
            live,
            metrics,
            fold: fold_tx,
            progress: Arc::clone(&progress),
        };
        let handle = tokio::spawn(async move {
            writer(pool, out, rx).await;
            let _ = folder.await;
        });
        let rows = Arc::new(Semaphore::new(QUEUE_ROWS));
        (Self { tx, rows, progress }, handle)
    }

    /// Calls queued, being committed, or committed and waiting for the folder.
    pub fn waiting(&self) -> usize {
        QUEUE_ROWS.saturating_sub(self.rows.available_permits())
    }

    /// Waits until the calls of every request answered before this call are in the rollups
    /// (a few milliseconds while calls stream in; one query when none are in flight). Every
    /// read of the rollups comes after it, so a client sees what it was told is stored.
    pub async fn settled(&self, pool: &PgPool) {
        self.progress.settled(pool).await;
    }

    /// Queues `calls` (counted as coming from `source`) and waits until they are committed.
    pub async fn submit(
        &self,
        calls: Vec<NewCall>,
        source: CallSource,
    ) -> Result<Stored, SubmitError> {
        if calls.is_empty() {
            return Ok(Stored {
                inserted: 0,
                duplicates: 0,
            });
        }
        let n = u32::try_from(calls.len()).unwrap_or(u32::MAX);
        let rows = Arc::clone(&self.rows)
            .try_acquire_many_owned(n)
            .map_err(|_| SubmitError::Busy)?;
        let (done, answer) = oneshot::channel();
        let job = Job {
            calls,
            source,
            done,
            rows: Some(rows),
        };
        self.tx.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => SubmitError::Busy,
            mpsc::error::TrySendError::Closed(_) => SubmitError::Stopped,
        })?;
        answer
            .await
            .map_err(|_| SubmitError::Stopped)?
            .map_err(SubmitError::Storage)
    }
}

/// Group commits in flight at once. While one waits on its commit (the WAL flush), the others
/// copy their rows, so small batches are not bound by one commit at a time. The commits
/// touch no shared rollup row (the folder adds those) and each adds to its own budget counter
/// shard, so they do not wait on each other (another server's commits may share a shard:
/// counters are locked in one order, sorted keys, so they never deadlock). Four
/// measured faster than two once the rollups left the commits (batches of 100: 51.6–52.4 %
/// of the COPY ceiling against 47.6 %; docs/BENCHMARKS.md).
pub const WRITERS: usize = 4;

/// Where a group commit's outcome goes: the requests' answers, live subscribers and
/// metrics, and the folder.
struct Out {
    live: LiveHub,
    metrics: Arc<Metrics>,
    fold: mpsc::UnboundedSender<Committed>,
    progress: Arc<Progress>,
}

async fn writer(pool: PgPool, out: Out, mut rx: mpsc::Receiver<Job>) {
    let out = Arc::new(out);
    // The free slots, each a budget counter shard: a commit adds to its slot's shard, so
    // commits in flight never wait on each other's counter rows.
    let (free, mut slots) = mpsc::channel::<i16>(WRITERS);
    for shard in 0..WRITERS as i16 {
        let _ = free.try_send(shard);
    }
    let mut commits = tokio::task::JoinSet::new();
    // A free slot first, then the jobs: what arrives while every slot is busy waits in the
    // channel and goes into the next group whole.
    while let Some(shard) = slots.recv().await {
        let Some(first) = rx.recv().await else { break };
        let mut rows = first.calls.len();
        let mut jobs = vec![first];
        while rows < MAX_ROWS_PER_COMMIT {
            match rx.try_recv() {
                Ok(job) => {
                    rows += job.calls.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let (pool, out, free) = (pool.clone(), Arc::clone(&out), free.clone());
        commits.spawn(async move {
            write_jobs(&pool, &out, jobs, shard).await;
            let _ = free.send(shard).await;
        });
        while commits.try_join_next().is_some() {}
    }
    // Every handle is gone: finish what is being written (the folder ends after the last
    // sender, in `out` and the commits' clones of it, is dropped).
    while commits.join_next().await.is_some() {}
}

/// Commits the jobs together, hands them to the folder and answers them; when that fails
/// and there were several, each is retried in a transaction of its own, so one bad request
/// fails only itself.
async fn write_jobs(pool: &PgPool, out: &Out, jobs: Vec<Job>, shard: i16) {
    match timed_commit(pool, &out.metrics, &jobs, shard).await {
        Ok(stored) => hand_over(out, jobs, stored),
        Err(e) if jobs.len() > 1 => {
            tracing::warn!(error = %e, requests = jobs.len(), "group commit failed; retrying each request alone");
            for job in jobs {
                match timed_commit(pool, &out.metrics, std::slice::from_ref(&job), shard).await {
                    Ok(stored) => hand_over(out, vec![job], stored),
                    Err(e) => fail(job, &e),
                }
            }
        }
        Err(e) => {
            for job in jobs {
                fail(job, &e);
            }
        }
    }
}

/// What one commit stored: the calls each job added, the pending row of those calls (none
/// when every call was stored before) and what they add to the rollups.
struct Written {
    inserted: Vec<u64>,
    pending: Option<i64>,
    deltas: rollup::Deltas,
}

/// Sends the commit's rollups to the folder, then answers its jobs (in that order: see
/// [`Progress::settled`]).
fn hand_over(out: &Out, mut jobs: Vec<Job>, s: Written) {
    let committed = Committed {
        pending: s.pending,
        deltas: s.deltas,
        _rows: jobs.iter_mut().filter_map(|j| j.rows.take()).collect(),
    };
    out.progress.hand_over(&out.fold, committed);
    for (job, inserted) in jobs.into_iter().zip(s.inserted) {
        answer(&out.live, &out.metrics, job, inserted);
    }
}

/// [`commit`], measured: rows per group and commit time, or a failure.
async fn timed_commit(
    pool: &PgPool,
    metrics: &Metrics,
    jobs: &[Job],
    shard: i16,
) -> Result<Written, sqlx::Error> {
    let started = Instant::now();
    let outcome = commit(pool, jobs, shard).await;
    match &outcome {
        Ok(_) => metrics.group_committed(
            jobs.iter().map(|j| j.calls.len()).sum(),
            started.elapsed().as_secs_f64(),
        ),
        Err(_) => metrics.group_commit_failed(),
    }
    outcome
}

/// Inserts each job's calls, marks the new ones pending for the rollups and adds them to
/// their budgets' counters (in `shard`), in one transaction.
async fn commit(pool: &PgPool, jobs: &[Job], shard: i16) -> Result<Written, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let mut new_calls: Vec<&NewCall> = jobs.iter().flat_map(|j| &j.calls).collect();
    // Nearly every batch is new calls only, which one COPY stores fastest. A batch with a
    // retried call aborts that first statement; it starts again with the insert that skips
    // what is stored.
    let inserted: Vec<u64> = if store::calls::copy_new(&mut tx, &new_calls).await? {
        jobs.iter().map(|j| j.calls.len() as u64).collect()
    } else {
        tx.rollback().await?;
        tx = pool.begin().await?;
        new_calls.clear();
        let mut inserted = Vec::with_capacity(jobs.len());
        for job in jobs {
            let fresh = store::calls::insert_batch(&mut tx, &job.calls).await?;
            inserted.push(fresh.iter().filter(|f| **f).count() as u64);
            new_calls.extend(
                job.calls
                    .iter()
                    .zip(&fresh)
                    .filter(|(_, f)| **f)
                    .map(|(n, _)| n),
            );
        }
        inserted
    };
    // Only calls that were new count, so a retried batch is not counted twice. Budget
    // counters move with the calls (enforcement reads them); the rollups follow in the
    // folder's round, from the pending row, which commits with the calls, so a stop in
    // between loses nothing.
    let pending = if new_calls.is_empty() {
        None
    } else {
        Some(store::rollup_pending::mark(&mut tx, &new_calls).await?)
    };
    store::budgets::count_calls(&mut tx, &new_calls, shard).await?;
    tx.commit().await?;
    Ok(Written {
        inserted,
        pending,
        deltas: rollup::Deltas::of_new_calls(new_calls.iter().map(|n| &n.call)),
    })
}

/// Answers a job whose calls are stored and counted.
fn answer(live: &LiveHub, metrics: &Metrics, job: Job, inserted: u64) {
    let duplicates = job.calls.len() as u64 - inserted;
    metrics.calls_stored(job.source, inserted);
    if inserted > 0 {
        // A batch mixing new and retried calls is published whole; clients key rows by
        // (time, id).
        live.publish::<CallsTopic, Vec<&app::types::Call>>(|| {
            job.calls.iter().map(|n| &n.call).collect()
        });
    }
    let _ = job.done.send(Ok(Stored {
        inserted,
        duplicates,
    }));
}

fn fail(job: Job, e: &sqlx::Error) {
    tracing::error!(error = %e, calls = job.calls.len(), "ingest commit failed");
    let _ = job.done.send(Err(e.to_string()));
}
