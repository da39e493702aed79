//! The budgets loop, on every server: each second it re-reads the definitions (and the rate
//! limits, and says this server is alive so servers share the limits), builds every
//! budget's status, records the events that are due (once per budget, period and kind,
//! whichever server sees it first: the table's unique key decides) and streams the status.
//! Each minute it sweeps expired reservations and old hourly counters.

use std::{sync::Arc, time::Duration};

use app::types::{
    live::{BudgetEventsTopic, BudgetsTopic},
    Budget, BudgetEventKind,
};
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::{
    rate_limits::RateLimiter,
    status::{self, event_to_api, oldest_start, to_api},
    Book,
};
use crate::{
    domain::budget::{self, Due},
    live::LiveHub,
    store,
};

const TICK: Duration = Duration::from_secs(1);
const SWEEP_EVERY: u32 = 60;

/// Every budget with its status at `now` (four queries, whatever the number of budgets).
pub async fn all_with_status(
    pool: &PgPool,
    book: &Book,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<Budget>> {
    let budgets = book.all();
    if budgets.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = budgets.iter().map(|b| b.id).collect();
    let since = now - budget::RATE_WINDOW - chrono::Duration::hours(1);
    let usage = store::budgets::usage(pool, &ids, oldest_start(&budgets, now), since).await?;
    Ok(budgets
        .iter()
        .map(|b| to_api(b, status::status(b, &usage, now)))
        .collect())
}

/// Records the events `b` owes now; publishes the new ones.
async fn record_due(
    pool: &PgPool,
    live: &LiveHub,
    b: &Budget,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    if !b.enabled {
        return Ok(());
    }
    let kind = b.limit_kind;
    let spent = budget::to_base(kind, b.status.spent);
    let limit = budget::to_base(kind, b.limit);
    let projected = budget::to_base(kind, b.status.projected) as f64;
    for due in budget::due_events(&b.thresholds, spent, limit, projected) {
        let (event_kind, threshold, percent) = match due {
            Due::Threshold(t) => (BudgetEventKind::Threshold, t, b.status.percent),
            Due::Projection => (BudgetEventKind::Projection, 0, b.status.projected_percent),
        };
        let new = store::budgets::record_event(
            pool,
            b.id,
            b.status.period_start,
            event_kind,
            threshold,
            percent,
            spent,
            now,
        )
        .await?;
        if new {
            tracing::info!(budget = %b.name, ?event_kind, threshold, percent, "budget event");
            if let Some(e) = store::budgets::events(pool, Some(b.id), 1)
                .await?
                .into_iter()
                .next()
            {
                live.publish::<BudgetEventsTopic, _>(|| event_to_api(e));
            }
        }
    }
    Ok(())
}

async fn tick(
    pool: &PgPool,
    live: &LiveHub,
    book: &Book,
    limiter: &RateLimiter,
    n: u32,
) -> sqlx::Result<()> {
    book.reload(pool).await?;
    limiter.reload(pool).await?;
    limiter.heartbeat(pool).await?;
    let now = Utc::now();
    if n.is_multiple_of(SWEEP_EVERY) {
        store::budgets::sweep(pool, now).await?;
    }
    let budgets = all_with_status(pool, book, now).await?;
    for b in &budgets {
        record_due(pool, live, b, now).await?;
    }
    if !budgets.is_empty() {
        live.publish::<BudgetsTopic, _>(|| budgets);
    }
    Ok(())
}

/// Runs until the task is dropped; a failed tick is logged (once per outage) and retried.
pub async fn run(pool: PgPool, live: LiveHub, book: Book, limiter: Arc<RateLimiter>) {
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    for n in 0u32.. {
        interval.tick().await;
        match tick(&pool, &live, &book, &limiter, n).await {
            Ok(()) => failing = false,
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "budget evaluation failed; retrying each second");
            }
            Err(_) => {}
        }
    }
}
