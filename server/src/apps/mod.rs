//! Monitored applications: where reported requests go (the batch API, OTLP server spans and
//! Sightline's own request layer), and the figures read back for the Apps page.

pub mod own;
pub mod view;

use app::types::{apps::RequestsTick, live::RequestsTopic};
use chrono::Duration;
use sqlx::PgPool;

use crate::{
    domain::app_request::{fold, AppRequest, Tier},
    live::LiveHub,
    store,
};

/// One transaction per batch: the raw requests and both rollup tiers, then a live tick.
#[derive(Clone)]
pub struct AppRequestWriter {
    pool: PgPool,
    live: LiveHub,
    /// Days whose partitions exist (made on first use, so late requests have them).
    days: store::partitions::KnownDays,
}

impl AppRequestWriter {
    pub fn new(pool: PgPool, live: LiveHub) -> Self {
        Self {
            pool,
            live,
            days: Default::default(),
        }
    }

    async fn ensure_days(&self, rows: &[AppRequest]) -> sqlx::Result<()> {
        self.days
            .ensure(rows.iter().map(|r| r.time.date_naive()), |day| {
                store::app_requests::ensure_partitions(&self.pool, day, day)
            })
            .await
    }

    /// Stores checked requests; returns how many, once they are committed.
    pub async fn write(&self, rows: &[AppRequest]) -> sqlx::Result<usize> {
        if rows.is_empty() {
            return Ok(0);
        }
        self.ensure_days(rows).await?;
        let minutes = fold(rows, Duration::minutes(1));
        let hours = fold(rows, Duration::hours(1));
        let mut tx = self.pool.begin().await?;
        store::app_requests::insert(&mut tx, rows).await?;
        store::app_requests::upsert_rollups(&mut tx, Tier::Minute, &minutes).await?;
        store::app_requests::upsert_rollups(&mut tx, Tier::Hour, &hours).await?;
        tx.commit().await?;
        self.live.publish::<RequestsTopic, _>(|| {
            let mut services: Vec<String> = rows.iter().map(|r| r.service.clone()).collect();
            services.sort();
            services.dedup();
            RequestsTick {
                services,
                requests: rows.len(),
            }
        });
        Ok(rows.len())
    }
}
