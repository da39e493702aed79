//! Watches Sightline's own database pools. sqlx reports each slow statement and each connection
//! acquire as a tracing event; [`DbLayer`] reads them. The two pools log at different
//! levels ([`instrument`]), which is how an event tells which pool it came from.
//! A sampler reads each pool's size and idle count every second. Everything is kept in
//! memory ([`crate::domain::db_watch`]), for a day; it is this process's view of its pools.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        LazyLock, Mutex, OnceLock,
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tracing::{field::Visit, Level};
use tracing_subscriber::{
    filter::{filter_fn, Filtered},
    layer::{Context, SubscriberExt},
    Layer,
};

use crate::{
    domain::db_watch::{PoolKind, PoolMinute, PoolWatch, SlowLog, SlowStatement, DEFAULT_SLOW_MS},
    store::Instrument,
};

/// How often the pools' size and idle count are read.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);

/// How a pool of `kind` reports to the watch: the level its statements and acquires log
/// at, and the threshold from which sqlx calls a statement slow.
pub fn instrument(kind: PoolKind) -> Instrument {
    let level = match kind {
        PoolKind::Api => log::LevelFilter::Debug,
        PoolKind::Writer => log::LevelFilter::Trace,
    };
    Instrument {
        level,
        slow: Duration::from_millis(WATCH.slow_ms.load(Ordering::Relaxed)),
    }
}

fn pool_of(level: &Level) -> Option<PoolKind> {
    match *level {
        Level::DEBUG => Some(PoolKind::Api),
        Level::TRACE => Some(PoolKind::Writer),
        _ => None,
    }
}

struct Watched {
    kind: PoolKind,
    pool: PgPool,
    max_connections: u32,
}

/// What the process has seen of its pools.
pub struct DbWatch {
    slow_ms: AtomicU64,
    pools: Mutex<Vec<Watched>>,
    minutes: Mutex<[PoolWatch; 2]>,
    slow: Mutex<SlowLog>,
}

/// One per process: tracing's subscriber is global, so the watch it feeds is too. Test
/// binaries that run several servers see them all.
static WATCH: LazyLock<DbWatch> = LazyLock::new(|| DbWatch {
    slow_ms: AtomicU64::new(DEFAULT_SLOW_MS),
    pools: Mutex::new(Vec::new()),
    minutes: Mutex::new([PoolWatch::default(), PoolWatch::default()]),
    slow: Mutex::new(SlowLog::default()),
});

pub fn watch() -> &'static DbWatch {
    &WATCH
}

fn index(kind: PoolKind) -> usize {
    match kind {
        PoolKind::Api => 0,
        PoolKind::Writer => 1,
    }
}

/// A pool's state now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoolNow {
    pub kind: PoolKind,
    pub open: u32,
    pub idle: u32,
    pub max_connections: u32,
}

impl DbWatch {
    pub fn set_slow_threshold(&self, ms: u64) {
        self.slow_ms.store(ms, Ordering::Relaxed);
    }

    pub fn slow_threshold_ms(&self) -> u64 {
        self.slow_ms.load(Ordering::Relaxed)
    }

    /// Watches `pool` as `kind`, replacing an earlier pool of that kind.
    pub fn register(&self, kind: PoolKind, pool: PgPool, max_connections: u32) {
        let mut pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        pools.retain(|w| w.kind != kind);
        pools.push(Watched {
            kind,
            pool,
            max_connections,
        });
    }

    pub fn now(&self) -> Vec<PoolNow> {
        let pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<PoolNow> = pools
            .iter()
            .map(|w| PoolNow {
                kind: w.kind,
                open: w.pool.size(),
                idle: w.pool.num_idle() as u32,
                max_connections: w.max_connections,
            })
            .collect();
        v.sort_by_key(|p| p.kind);
        v
    }

    fn with_minutes<T>(&self, f: impl FnOnce(&mut [PoolWatch; 2]) -> T) -> T {
        f(&mut self.minutes.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Reads every pool's connections in use into the current minute.
    pub fn sample(&self, at: DateTime<Utc>) {
        let now = self.now();
        self.with_minutes(|m| {
            for p in now {
                let in_use = p.open.saturating_sub(p.idle);
                m[index(p.kind)].sampled(at, in_use, p.max_connections);
            }
        });
    }

    /// Each pool's minutes from `since` on.
    pub fn minutes(&self, since: DateTime<Utc>) -> Vec<(PoolKind, Vec<PoolMinute>)> {
        self.with_minutes(|m| {
            PoolKind::ALL
                .into_iter()
                .map(|k| (k, m[index(k)].since(since).copied().collect()))
                .collect()
        })
    }

    pub fn slow_statements(&self, since: DateTime<Utc>, limit: usize) -> Vec<SlowStatement> {
        self.slow
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .since(since, limit)
    }

    fn acquired(&self, kind: PoolKind, secs: f64) {
        self.with_minutes(|m| m[index(kind)].acquired(Utc::now(), secs));
    }

    fn statement(&self, kind: PoolKind, sql: &str, secs: f64) {
        if secs * 1000.0 < self.slow_threshold_ms() as f64 {
            return;
        }
        let at = Utc::now();
        self.with_minutes(|m| m[index(kind)].slow(at));
        self.slow
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(kind, sql, secs, at);
    }
}

/// Reads sqlx's `sqlx::query` and `sqlx::pool::acquire` events into [`WATCH`].
pub struct DbLayer;

/// The layer with its own filter, so it sees sqlx's debug and trace events whatever the
/// log filter of the console output says.
pub fn layer<S>() -> Filtered<DbLayer, impl tracing_subscriber::layer::Filter<S>, S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    DbLayer.with_filter(filter_fn(|m| {
        matches!(m.target(), "sqlx::query" | "sqlx::pool::acquire")
    }))
}

#[derive(Default)]
struct Fields {
    summary: String,
    statement: String,
    elapsed_secs: Option<f64>,
    acquired_secs: Option<f64>,
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        match field.name() {
            "elapsed_secs" => self.elapsed_secs = Some(value),
            // sqlx spells it so.
            "aquired_after_secs" | "acquired_after_secs" => self.acquired_secs = Some(value),
            _ => {}
        }
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        match field.name() {
            "summary" => self.summary = value.to_owned(),
            "db.statement" => self.statement = value.to_owned(),
            _ => {}
        }
    }

    fn record_debug(&mut self, _field: &tracing::field::Field, _value: &dyn std::fmt::Debug) {}
}

impl<S: tracing::Subscriber> Layer<S> for DbLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let Some(kind) = pool_of(event.metadata().level()) else {
            return;
        };
        let mut f = Fields::default();
        event.record(&mut f);
        if let Some(secs) = f.acquired_secs {
            WATCH.acquired(kind, secs);
        } else if let Some(secs) = f.elapsed_secs {
            // sqlx gives a short statement whole as its summary, a long one in full apart.
            let sql = if f.statement.trim().is_empty() {
                f.summary.as_str()
            } else {
                f.statement.trim()
            };
            WATCH.statement(kind, sql, secs);
        }
    }
}

/// Installs a subscriber with only the watch's layer when the process has none yet (tests,
/// embedders); `startup::init_tracing` installs it beside the console output.
pub fn install_fallback() {
    let subscriber = tracing_subscriber::registry().with(layer());
    let _ = tracing::subscriber::set_global_default(subscriber);
}

static SAMPLER: OnceLock<()> = OnceLock::new();

/// Starts the once-per-process sampler of the pools' size. A thread rather than a task:
/// reading a pool's size needs no runtime, and a runtime may end before the process does.
pub fn start_sampler() {
    SAMPLER.get_or_init(|| {
        let spawned = std::thread::Builder::new()
            .name("dbwatch-sampler".into())
            .spawn(|| loop {
                std::thread::sleep(SAMPLE_EVERY);
                WATCH.sample(Utc::now());
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot start the database pool sampler: {e}");
        }
    });
}
