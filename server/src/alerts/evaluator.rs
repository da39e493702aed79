//! The evaluator: every interval, the server holding the advisory lock runs a cycle. The
//! lock is held on a connection of its own, taken out of the pool; when that server dies
//! its connection closes, PostgreSQL frees the lock, and another server takes it at its
//! next try (within one interval). Alert state lives in PostgreSQL, so a new leader goes
//! on where the old one stopped.

use std::collections::BTreeMap;
use std::time::Instant;

use app::types::live::AlertsTopic;
use chrono::{DateTime, Duration, Utc};
use sqlx::{pool::PoolConnection, Connection, PgConnection, PgPool, Postgres};

use super::cycle::{self, Inputs, BUCKET};
use crate::{
    domain::alert::metric::{DbPoint, Source},
    state::AppState,
    store::{self, alerts::StoredRule},
};

/// The advisory lock's key: "sightline alerts".
const LOCK_KEY: i64 = 0x5349_4748_5441_4c45;

/// Holds (or tries to take) the evaluator's lock.
#[derive(Default)]
pub struct Leader {
    conn: Option<PgConnection>,
}

impl Leader {
    /// Whether this server leads now: keeps a held lock (checking its connection still
    /// answers) or tries to take it.
    pub async fn ensure(&mut self, pool: &PgPool) -> sqlx::Result<bool> {
        if let Some(conn) = self.conn.as_mut() {
            if sqlx::query("SELECT 1").execute(&mut *conn).await.is_ok() {
                return Ok(true);
            }
            self.conn = None;
        }
        let pooled: PoolConnection<Postgres> = pool.acquire().await?;
        let mut conn = pooled.detach();
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(LOCK_KEY)
            .fetch_one(&mut conn)
            .await?;
        if got {
            self.conn = Some(conn);
        } else {
            let _ = conn.close().await;
        }
        Ok(got)
    }

    /// Gives the lock up (closing its connection frees it).
    pub async fn release(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = conn.close().await;
        }
    }
}

/// What one cycle did, for logs and the benchmark.
#[derive(Debug, Default)]
pub struct CycleReport {
    pub rules: usize,
    pub alerts_written: usize,
    pub transitions: usize,
    pub notifications: usize,
    pub messages: u64,
}

/// How far back the rules of one source read (their window, and any history they judge).
fn max_window(rules: &[&StoredRule], f: impl Fn(&Source) -> bool) -> Option<Duration> {
    rules
        .iter()
        .filter(|r| f(&r.spec.metric.source))
        .map(|r| r.spec.reach())
        .max()
}

/// Reads what the enabled rules need: one query per kind of source, run together.
pub async fn gather(
    state: &AppState,
    rules: &[StoredRule],
    now: DateTime<Utc>,
) -> sqlx::Result<Inputs> {
    let enabled: Vec<&StoredRule> = rules.iter().filter(|r| r.spec.enabled).collect();
    // Each system series is read back as far as the rules naming it reach, so a 6-hour
    // forecast on disk use does not make every CPU rule's series read 6 hours.
    let mut reach: BTreeMap<&str, Duration> = BTreeMap::new();
    for r in &enabled {
        if let Source::System { num, den, .. } = r.spec.metric.source {
            for name in std::iter::once(num).chain(den) {
                let e = reach.entry(name).or_insert(r.spec.reach());
                *e = (*e).max(r.spec.reach());
            }
        }
    }
    let mut by_reach: BTreeMap<Duration, Vec<&str>> = BTreeMap::new();
    for (name, d) in reach {
        by_reach.entry(d).or_default().push(name);
    }
    let pool = &state.pool;
    let llm_since = max_window(&enabled, |s| matches!(s, Source::Llm(_)));
    let app_since = max_window(&enabled, |s| matches!(s, Source::App(_)));
    let hosts = enabled
        .iter()
        .any(|r| r.spec.metric.source == Source::HostSilence);
    let budgets = enabled
        .iter()
        .any(|r| matches!(r.spec.metric.source, Source::Budget { .. }));
    let (system, hosts, llm, app, budgets) = tokio::try_join!(
        async {
            let reads = by_reach
                .iter()
                .map(|(w, names)| store::alerts::system_points(pool, now - *w - BUCKET, names));
            let parts = futures_util::future::try_join_all(reads).await?;
            Ok::<_, sqlx::Error>(parts.into_iter().flatten().collect::<Vec<_>>())
        },
        async {
            if hosts {
                store::alerts::host_last_seen(pool).await
            } else {
                Ok(Vec::new())
            }
        },
        async {
            match llm_since {
                Some(w) => store::alerts::llm_points(pool, now - w - BUCKET).await,
                None => Ok(Vec::new()),
            }
        },
        async {
            match app_since {
                Some(w) => store::alerts::app_points(pool, now - w - BUCKET).await,
                None => Ok(Vec::new()),
            }
        },
        async {
            if !budgets {
                return Ok(Vec::new());
            }
            let all = crate::budgets::evaluator::all_with_status(pool, &state.budgets, now).await?;
            Ok(all
                .into_iter()
                .filter(|b| b.enabled)
                .map(|b| (b.name, b.status.percent, b.status.projected_percent))
                .collect())
        },
    )?;
    let workers = if enabled
        .iter()
        .any(|r| r.spec.metric.source == Source::Workers)
    {
        crate::workers::all(state, None, now)
            .await?
            .into_iter()
            .map(|w| (w.role, w.state))
            .collect()
    } else {
        Vec::new()
    };
    let db = match max_window(&enabled, |s| matches!(s, Source::Database(_))) {
        Some(w) => db_points(now - w - BUCKET),
        None => Vec::new(),
    };
    let mut inputs = Inputs {
        system,
        hosts,
        llm,
        app,
        db,
        budgets,
        ingest_queue: state.ingest.waiting() as f64,
        workers,
    };
    inputs.sort();
    Ok(inputs)
}

/// Sightline's pools per minute from `since`, as the database watch keeps them.
fn db_points(since: DateTime<Utc>) -> Vec<DbPoint> {
    crate::dbwatch::watch()
        .minutes(since)
        .into_iter()
        .flat_map(|(kind, minutes)| {
            minutes.into_iter().map(move |m| DbPoint {
                bucket: m.bucket,
                pool: kind.as_str().to_owned(),
                usage_percent: m.usage_percent(),
                peak_percent: if m.max_connections == 0 {
                    0.0
                } else {
                    100.0 * f64::from(m.in_use_max) / f64::from(m.max_connections)
                },
                slow_queries: m.slow_queries,
            })
        })
        .collect()
}

/// One cycle at `now`: read, plan, write, group, publish.
pub async fn run_cycle(state: &AppState, now: DateTime<Utc>) -> sqlx::Result<CycleReport> {
    // Rules on calls read the rollups: count every call stored so far.
    state.ingest.settled().await;
    let pool = &state.pool;
    let (rules, stored, silences, channels) = tokio::try_join!(
        store::alerts::rules(pool),
        store::alerts::instances(pool),
        store::alerts::silences(pool, now),
        store::alerts::channels(pool),
    )?;
    let inputs = gather(state, &rules, now).await?;
    let (writes, changed) = cycle::plan(&rules, &stored, &inputs, &silences, &channels, now);
    store::alerts::write_cycle(pool, &writes).await?;
    let messages = store::alerts::group_outbox(pool, state.config.alerts.group_window).await?;
    if messages > 0 {
        state.alerts.wake_dispatch.notify_one();
    }
    if !changed.is_empty() {
        state.live.publish::<AlertsTopic, _>(|| changed);
    }
    Ok(CycleReport {
        rules: rules.len(),
        alerts_written: writes.instances.len(),
        transitions: writes.events.len(),
        notifications: writes.outbox.len(),
        messages,
    })
}

/// Runs until the server stops; then gives the lock up at once, so another server takes
/// over without waiting for the connection to time out.
pub async fn run(state: AppState) {
    let mut leader = Leader::default();
    let stopping = state.stopping();
    tokio::pin!(stopping);
    let mut interval = tokio::time::interval(state.config.alerts.interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            _ = &mut stopping => break,
            _ = interval.tick() => {}
            _ = state.alerts.evaluate_now.notified() => {}
        }
        let result = async {
            let lead = leader.ensure(&state.pool).await?;
            state.alerts.set_leader(lead);
            if !lead {
                return Ok(None);
            }
            let started = Instant::now();
            let report = run_cycle(&state, Utc::now()).await?;
            Ok::<_, sqlx::Error>(Some((report, started.elapsed())))
        }
        .await;
        match result {
            Ok(Some((report, took))) => {
                failing = false;
                if report.transitions > 0 {
                    tracing::info!(?report, ms = took.as_millis() as u64, "alert cycle");
                }
            }
            Ok(None) => failing = false,
            Err(e) if !failing => {
                failing = true;
                state.alerts.set_leader(false);
                tracing::warn!(error = %e, "alert evaluation failed; retrying each interval");
            }
            Err(_) => {}
        }
    }
    state.alerts.set_leader(false);
    leader.release().await;
}
