//! Where samples go, from the server's own collector and from agents alike: one transaction
//! per batch stores the raw samples, merges them into the minute and hour rollups and
//! updates the host; then each new sample is published on the live `system` topic.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
};

use app::types::live::SystemTopic;
use app::types::system::{series_of, HostInfo, LiveSample, SystemSample, SystemTier};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::rollup;
use crate::{live::LiveHub, store};

/// Samples per batch at most (an agent's replay is split into batches of this size).
pub const MAX_BATCH: usize = 1000;

#[derive(Clone)]
pub struct SystemWriter {
    pool: PgPool,
    live: LiveHub,
    /// Days whose partitions exist (made on first use, so a replay of old samples has them).
    days: store::partitions::KnownDays,
    /// Series-name lists already stored, by digest.
    sets: Arc<Mutex<HashMap<String, i32>>>,
}

fn digest(names: &[String]) -> String {
    let mut h = Sha256::new();
    for n in names {
        h.update(n.as_bytes());
        h.update([0]);
    }
    format!("{:x}", h.finalize())
}

impl SystemWriter {
    pub fn new(pool: PgPool, live: LiveHub) -> Self {
        Self {
            pool,
            live,
            days: Default::default(),
            sets: Arc::default(),
        }
    }

    async fn ensure_days(&self, samples: &[&SystemSample]) -> sqlx::Result<()> {
        self.days
            .ensure(samples.iter().map(|s| s.time.date_naive()), |day| {
                store::system::ensure_partitions(&self.pool, day, day)
            })
            .await
    }

    async fn set_id(&self, names: &[String]) -> sqlx::Result<i32> {
        let d = digest(names);
        if let Some(id) = self.sets.lock().unwrap_or_else(|p| p.into_inner()).get(&d) {
            return Ok(*id);
        }
        let id = store::system::series_set(&self.pool, &d, names).await?;
        self.sets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(d, id);
        Ok(id)
    }

    /// Stores a batch of one host's samples (any order; duplicates of stored samples are
    /// skipped). Returns how many were new.
    pub async fn write(
        &self,
        host: &HostInfo,
        samples: &[SystemSample],
        local: bool,
    ) -> sqlx::Result<usize> {
        if samples.is_empty() {
            return Ok(0);
        }
        // Two samples of one host at the same microsecond are one sample.
        let mut seen = HashSet::new();
        let samples: Vec<&SystemSample> = samples
            .iter()
            .filter(|s| seen.insert(s.time.timestamp_micros()))
            .collect();
        self.ensure_days(&samples).await?;
        let mut times = Vec::with_capacity(samples.len());
        let mut set_ids = Vec::with_capacity(samples.len());
        let mut values = Vec::with_capacity(samples.len());
        let mut series = Vec::with_capacity(samples.len());
        for s in &samples {
            let named = series_of(s);
            let names: Vec<String> = named.iter().map(|(n, _)| n.clone()).collect();
            set_ids.push(self.set_id(&names).await?);
            values.push(named.iter().map(|(_, v)| *v).collect::<Vec<f64>>());
            times.push(s.time);
            series.push(named);
        }
        let name = host.hostname.as_str();
        let mut tx = self.pool.begin().await?;
        // PostgreSQL keeps microseconds: compare times at that precision.
        let inserted: HashSet<i64> =
            store::system::insert_samples(&mut tx, name, &times, &set_ids, &values)
                .await?
                .into_iter()
                .map(|t| t.timestamp_micros())
                .collect();
        let fresh = || {
            samples
                .iter()
                .zip(&series)
                .filter(|(s, _)| inserted.contains(&s.time.timestamp_micros()))
                .map(|(s, v)| (s.time, v.as_slice()))
        };
        for tier in [SystemTier::Minute, SystemTier::Hour] {
            let aggs = rollup::fold(fresh(), tier.resolution_s());
            store::system::upsert_rollups(&mut tx, tier, name, &aggs).await?;
        }
        if let Some(newest) = samples.iter().max_by_key(|s| s.time) {
            store::system::upsert_host(&mut tx, name, host, newest, local).await?;
        }
        tx.commit().await?;
        let mut published: Vec<&SystemSample> = samples
            .into_iter()
            .filter(|s| inserted.contains(&s.time.timestamp_micros()))
            .collect();
        published.sort_by_key(|s| s.time);
        for s in published {
            self.live.publish::<SystemTopic, _>(|| LiveSample {
                host: name.to_owned(),
                sample: s.clone(),
            });
        }
        Ok(inserted.len())
    }
}
