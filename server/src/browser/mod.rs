//! The browser layer: where page reports go (from `/sdk/vitals.js` on any allowed site, and
//! from the dashboard itself), and the figures read back for the Frontend page.

pub mod view;

use app::types::{frontend::BrowserTick, live::BrowserTopic};
use sqlx::PgPool;

use crate::{
    domain::browser::{fold_errors, fold_vitals, Checked},
    live::LiveHub,
    store,
};

/// One transaction per report: vital and error rollups and raw errors, then a live tick.
#[derive(Clone)]
pub struct BrowserWriter {
    pool: PgPool,
    live: LiveHub,
    days: store::partitions::KnownDays,
}

impl BrowserWriter {
    pub fn new(pool: PgPool, live: LiveHub) -> Self {
        Self {
            pool,
            live,
            days: Default::default(),
        }
    }

    /// Stores a checked report; returns how many events, once they are committed.
    pub async fn write(&self, report: &Checked) -> sqlx::Result<usize> {
        if report.is_empty() {
            return Ok(0);
        }
        let days = report
            .vitals
            .iter()
            .map(|v| v.time)
            .chain(report.errors.iter().map(|e| e.time))
            .map(|t| t.date_naive());
        self.days
            .ensure(days, |day| {
                store::browser::ensure_partitions(&self.pool, day, day)
            })
            .await?;
        let vitals = fold_vitals(&report.vitals);
        let errors = fold_errors(&report.errors);
        let mut tx = self.pool.begin().await?;
        store::browser::upsert_vitals(&mut tx, &vitals).await?;
        store::browser::insert_errors(&mut tx, &report.errors).await?;
        store::browser::upsert_errors(&mut tx, &errors).await?;
        tx.commit().await?;
        self.live.publish::<BrowserTopic, _>(|| {
            let mut sites: Vec<String> = vitals
                .keys()
                .map(|k| k.site.clone())
                .chain(errors.keys().map(|k| k.site.clone()))
                .collect();
            sites.sort();
            sites.dedup();
            BrowserTick {
                sites,
                events: report.len(),
            }
        });
        Ok(report.len())
    }
}
