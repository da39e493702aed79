//! Proxied calls on their way to storage. The proxy answers its client before its call is
//! stored, so the record must outlive a full queue, a database outage and a crash:
//!
//! - records reach a spooler task through a large channel, and storage in batches, not
//!   one request each;
//! - the spooler appends each batch to a spool file in the data directory (a write that
//!   survives the process being killed) and hands it to a storer task; it keeps spooling
//!   while the storer waits on a slow or absent database. The file is emptied once all it
//!   holds is stored;
//! - the spool is replayed at start. A record's id is fixed when it is accepted, so a replay
//!   of records already stored only counts duplicates;
//! - a failed store is retried with backoff, and what is given up is counted.

use std::{
    fs::{File, OpenOptions},
    io::{self, Write},
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use app::types::{Call, ProxyRecordStats};
use serde::{Deserialize, Serialize};
use tokio::{sync::mpsc, task::JoinHandle};

use super::pipeline::{Pipeline, SubmitError};
use crate::{
    domain::call::{CostSource, NewCall},
    log_throttle::Throttle,
    metrics::CallSource,
};

/// Records waiting for the recorder task; past it a record is dropped (and counted).
const CHANNEL: usize = 65_536;
/// Records submitted to the pipeline at once.
const BATCH: usize = 1_000;
/// Records held in memory while storage lags; more wait in the spool file only.
const MAX_IN_MEMORY: usize = 200_000;
/// How long a stopping server keeps trying to store what is left (the spool keeps the rest).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

static DROPPED: Throttle = Throttle::new(Duration::from_secs(60));
static FAILING: Throttle = Throttle::new(Duration::from_secs(60));

/// The spool file's name in the data directory.
pub const SPOOL_FILE: &str = "proxy-spool.jsonl";

/// Counters of the record path, since start.
#[derive(Default)]
struct Counters {
    stored: AtomicU64,
    duplicates: AtomicU64,
    dropped: AtomicU64,
    replayed: AtomicU64,
    waiting: AtomicU64,
}

/// Hands proxied calls to the recorder. Cheap to clone; its tasks store what is left and
/// end when every handle is gone.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<NewCall>,
    counters: Arc<Counters>,
}

impl Recorder {
    /// Opens (or creates) the spool at `spool`, queues what it holds for storage, and starts
    /// the spooler and the storer. The handle returned ends when both have.
    pub fn start(pipeline: Pipeline, spool: &Path) -> io::Result<(Recorder, JoinHandle<()>)> {
        let (spool, replay) = Spool::open(spool)?;
        let counters = Arc::new(Counters::default());
        if !replay.is_empty() {
            tracing::info!(records = replay.len(), "replaying spooled proxy records");
            let n = replay.len() as u64;
            counters.replayed.store(n, Ordering::Relaxed);
            counters.waiting.store(n, Ordering::Relaxed);
        }
        let shared = Arc::new(Mutex::new(Shared {
            outstanding: replay.len(),
            in_memory: replay.len(),
            spool,
            overflow: false,
        }));
        let (tx, rx) = mpsc::channel(CHANNEL);
        let (to_store, batches) = mpsc::unbounded_channel();
        if !replay.is_empty() {
            let _ = to_store.send(replay);
        }
        let spooler = tokio::spawn(spooler(
            rx,
            to_store,
            Arc::clone(&shared),
            Arc::clone(&counters),
        ));
        let storer = Storer {
            pipeline,
            batches,
            shared,
            counters: Arc::clone(&counters),
        };
        let storer = tokio::spawn(storer.run());
        let both = tokio::spawn(async move {
            let _ = spooler.await;
            let _ = storer.await;
        });
        Ok((Recorder { tx, counters }, both))
    }

    /// Queues a validated call without waiting.
    pub fn record(&self, call: NewCall) {
        if self.tx.try_send(call).is_err() {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            if let Some(n) = DROPPED.hit(Instant::now()) {
                tracing::warn!(
                    calls = n,
                    "proxied calls not recorded: the recorder is full"
                );
            }
        }
    }

    pub fn stats(&self) -> ProxyRecordStats {
        let c = &self.counters;
        ProxyRecordStats {
            stored: c.stored.load(Ordering::Relaxed),
            duplicates: c.duplicates.load(Ordering::Relaxed),
            waiting: c.waiting.load(Ordering::Relaxed) + self.queued(),
            dropped: c.dropped.load(Ordering::Relaxed),
            replayed: c.replayed.load(Ordering::Relaxed),
        }
    }

    fn queued(&self) -> u64 {
        (self.tx.max_capacity() - self.tx.capacity()) as u64
    }
}

/// The spool and what the two tasks agree on about it, changed only under its lock.
struct Shared {
    spool: Spool,
    /// Records in the file not yet confirmed stored; the file is emptied at 0.
    outstanding: usize,
    /// Records handed to the storer and not yet stored.
    in_memory: usize,
    /// Some spooled records were not handed over (memory was full): the storer re-reads
    /// the file once it has stored what it holds, and nothing is handed over until then.
    overflow: bool,
}

fn lock(shared: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

/// Appends what arrives to the spool and hands it to the storer, in batches.
async fn spooler(
    mut rx: mpsc::Receiver<NewCall>,
    to_store: mpsc::UnboundedSender<Vec<NewCall>>,
    shared: Arc<Mutex<Shared>>,
    counters: Arc<Counters>,
) {
    loop {
        let mut arrived = Vec::new();
        if rx.recv_many(&mut arrived, BATCH).await == 0 {
            return;
        }
        let n = arrived.len();
        let hand_over = {
            let mut s = lock(&shared);
            let spooled = match s.spool.append(&arrived) {
                Ok(()) => {
                    s.outstanding += n;
                    true
                }
                Err(e) => {
                    if let Some(times) = FAILING.hit(Instant::now()) {
                        tracing::warn!(error = %e, times, "cannot write the proxy spool");
                    }
                    false
                }
            };
            let hand_over = if !s.overflow && s.in_memory + n <= MAX_IN_MEMORY {
                s.in_memory += n;
                true
            } else if spooled {
                s.overflow = true;
                false
            } else {
                counters.dropped.fetch_add(n as u64, Ordering::Relaxed);
                false
            };
            if hand_over || spooled {
                counters.waiting.fetch_add(n as u64, Ordering::Relaxed);
            }
            hand_over
        };
        if hand_over && to_store.send(arrived).is_err() {
            return;
        }
    }
}

struct Storer {
    pipeline: Pipeline,
    batches: mpsc::UnboundedReceiver<Vec<NewCall>>,
    shared: Arc<Mutex<Shared>>,
    counters: Arc<Counters>,
}

impl Storer {
    async fn run(mut self) {
        loop {
            let batch = match self.batches.try_recv() {
                Ok(b) => b,
                Err(mpsc::error::TryRecvError::Empty) => match self.reload() {
                    Some(b) => b,
                    None => match self.batches.recv().await {
                        Some(b) => b,
                        None => return,
                    },
                },
                Err(mpsc::error::TryRecvError::Disconnected) => return,
            };
            // Under load the spooler hands over many small batches while a commit is in
            // flight: take them all, so each commit carries up to BATCH records, not a few.
            let mut batch = batch;
            while batch.len() < BATCH {
                match self.batches.try_recv() {
                    Ok(more) => batch.extend(more),
                    Err(_) => break,
                }
            }
            for chunk in batch.chunks(BATCH) {
                if !self.store(chunk).await {
                    tracing::warn!(
                        "stopping with proxy records not stored; they stay spooled for the next start"
                    );
                    return;
                }
            }
        }
    }

    /// After an overflow, what the file holds (stored records again included: a replay
    /// only counts duplicates).
    fn reload(&mut self) -> Option<Vec<NewCall>> {
        let mut s = lock(&self.shared);
        if !s.overflow {
            return None;
        }
        match s.spool.read_all() {
            Ok(all) => {
                s.overflow = false;
                s.outstanding = all.len();
                s.in_memory = all.len();
                self.counters
                    .waiting
                    .store(all.len() as u64, Ordering::Relaxed);
                Some(all)
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot re-read the proxy spool");
                None
            }
        }
    }

    /// Stores one chunk, retrying with backoff; false only when the server is stopping and
    /// storage still refuses after [`SHUTDOWN_GRACE`].
    async fn store(&mut self, chunk: &[NewCall]) -> bool {
        let mut backoff = Duration::from_millis(50);
        let mut give_up_at: Option<Instant> = None;
        loop {
            match self
                .pipeline
                .submit(chunk.to_vec(), CallSource::Proxy)
                .await
            {
                Ok(stored) => {
                    let c = &self.counters;
                    c.stored.fetch_add(stored.inserted, Ordering::Relaxed);
                    c.duplicates.fetch_add(stored.duplicates, Ordering::Relaxed);
                    c.waiting.fetch_sub(
                        (chunk.len() as u64).min(c.waiting.load(Ordering::Relaxed)),
                        Ordering::Relaxed,
                    );
                    let mut s = lock(&self.shared);
                    s.in_memory = s.in_memory.saturating_sub(chunk.len());
                    s.outstanding = s.outstanding.saturating_sub(chunk.len());
                    if s.outstanding == 0 && !s.overflow {
                        s.spool.clear();
                    }
                    return true;
                }
                Err(SubmitError::Stopped) => return false,
                Err(e) => {
                    if !matches!(e, SubmitError::Busy) {
                        if let Some(n) = FAILING.hit(Instant::now()) {
                            tracing::warn!(error = %e, times = n, "proxy records not stored yet; retrying");
                        }
                    }
                    if self.batches.is_closed() {
                        let at = *give_up_at.get_or_insert(Instant::now() + SHUTDOWN_GRACE);
                        if Instant::now() >= at {
                            return false;
                        }
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}

/// One spooled record: the call as it will be stored, and who sent it.
#[derive(Serialize, Deserialize)]
struct SpoolLine {
    call: Call,
    api_key_id: Option<i64>,
    cost_source: Option<String>,
}

impl From<&NewCall> for SpoolLine {
    fn from(c: &NewCall) -> Self {
        SpoolLine {
            call: c.call.clone(),
            api_key_id: c.api_key_id,
            cost_source: c.cost_source.map(|s| s.as_str().to_owned()),
        }
    }
}

impl From<SpoolLine> for NewCall {
    fn from(l: SpoolLine) -> Self {
        NewCall {
            call: l.call,
            api_key_id: l.api_key_id,
            cost_source: l.cost_source.as_deref().and_then(CostSource::parse),
        }
    }
}

/// Every record in a spool's bytes; a line that does not parse (a torn write) is skipped.
fn parse_lines(data: &[u8]) -> Vec<NewCall> {
    let mut out = Vec::new();
    let mut bad = 0usize;
    for line in data.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        match serde_json::from_slice::<SpoolLine>(line) {
            Ok(l) => out.push(l.into()),
            Err(_) => bad += 1,
        }
    }
    if bad > 0 {
        tracing::warn!(lines = bad, "skipped unreadable lines in the proxy spool");
    }
    out
}

/// The append-only spool file. Written with one `write` per batch and no fsync: that
/// survives the process being killed (the kernel holds the data), not a power cut.
struct Spool {
    file: File,
    path: PathBuf,
    len: u64,
}

impl Spool {
    /// Opens the file (0600, created when absent) and reads what an earlier run left.
    fn open(path: &Path) -> io::Result<(Spool, Vec<NewCall>)> {
        let mut options = OpenOptions::new();
        options.create(true).append(true).read(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path)?;
        let data = std::fs::read(path)?;
        // A write torn by a crash must not swallow the next record into its line.
        let torn = !data.is_empty() && !data.ends_with(b"\n");
        if torn {
            file.write_all(b"\n")?;
        }
        let spool = Spool {
            file,
            path: path.to_owned(),
            len: (data.len() + usize::from(torn)) as u64,
        };
        Ok((spool, parse_lines(&data)))
    }

    fn append(&mut self, calls: &[NewCall]) -> io::Result<()> {
        let mut buf = Vec::with_capacity(calls.len() * 512);
        for c in calls {
            serde_json::to_writer(&mut buf, &SpoolLine::from(c))?;
            buf.push(b'\n');
        }
        self.file.write_all(&buf)?;
        self.len += buf.len() as u64;
        Ok(())
    }

    fn read_all(&self) -> io::Result<Vec<NewCall>> {
        Ok(parse_lines(&std::fs::read(&self.path)?))
    }

    /// Empties the file once everything in it is stored.
    fn clear(&mut self) {
        if self.len == 0 {
            return;
        }
        match self.file.set_len(0) {
            Ok(()) => self.len = 0,
            Err(e) => tracing::warn!(error = %e, "cannot empty the proxy spool"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(id: &str) -> NewCall {
        NewCall {
            call: Call {
                id: id.into(),
                model: "gpt-4o".into(),
                ..Default::default()
            },
            api_key_id: Some(3),
            cost_source: Some(CostSource::Table),
        }
    }

    #[test]
    fn the_spool_keeps_records_across_opens_and_skips_torn_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SPOOL_FILE);
        let (mut spool, left) = Spool::open(&path).unwrap();
        assert!(left.is_empty());
        spool.append(&[call("a"), call("b")]).unwrap();
        spool.file.write_all(b"{\"call\": {\"id\"").unwrap();
        drop(spool);

        let (mut spool, left) = Spool::open(&path).unwrap();
        assert_eq!(left, vec![call("a"), call("b")]);
        spool.append(&[call("after-tear")]).unwrap();
        drop(spool);
        let (mut spool, left) = Spool::open(&path).unwrap();
        assert_eq!(left, vec![call("a"), call("b"), call("after-tear")]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        spool.clear();
        spool.append(&[call("c")]).unwrap();
        drop(spool);
        let (_, left) = Spool::open(&path).unwrap();
        assert_eq!(left, vec![call("c")]);
    }
}
