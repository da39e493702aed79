//! Budgets at run time: the definitions every server keeps in memory (so the proxy knows
//! at once whether a call is in a hard budget's scope), their status, reservations, and the
//! loop that records events and streams status.
//!
//! The guarantee that spent + reserved never passes a hard limit lives in PostgreSQL
//! (`sl_budget_reserve`), so it holds across servers; memory only decides whether a call
//! needs to ask.

pub mod evaluator;
pub mod rate_limits;
pub mod status;

use std::sync::{Arc, RwLock};

use app::types::{BudgetMode, DecidingBudget};
use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use crate::{
    domain::budget::{self, Amounts, Facts},
    store::{
        self,
        budgets::{Need, Standing, Stored, RESERVATION_PREFIX},
    },
};

/// The budget definitions, refreshed from the database every second and at once after a
/// change made through this server.
#[derive(Clone, Default)]
pub struct Book {
    budgets: Arc<RwLock<Arc<Vec<Stored>>>>,
}

impl Book {
    pub fn all(&self) -> Arc<Vec<Stored>> {
        Arc::clone(&self.budgets.read().unwrap_or_else(|p| p.into_inner()))
    }

    pub async fn reload(&self, pool: &PgPool) -> sqlx::Result<()> {
        let loaded = store::budgets::list(pool).await?;
        *self.budgets.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(loaded);
        Ok(())
    }

    /// What a call with `facts` would need from each enabled hard budget in its scope.
    pub fn hard_needs(&self, facts: &Facts, worst: Amounts, now: DateTime<Utc>) -> Vec<Need> {
        self.all()
            .iter()
            .filter(|b| b.spec.enabled && b.spec.mode == BudgetMode::Hard)
            .filter(|b| budget::matches(&b.spec.scope, facts))
            .map(|b| Need {
                budget_id: b.id,
                period: budget::window(now, b.spec.calendar(), b.spec.tz),
                amount: worst.of(b.spec.limit_kind),
            })
            .collect()
    }

    /// The budget behind a standing, as a client is told about it.
    pub fn deciding(&self, s: &Standing, now: DateTime<Utc>) -> Option<DecidingBudget> {
        let all = self.all();
        let b = all.iter().find(|b| b.id == s.budget_id)?;
        let kind = b.spec.limit_kind;
        Some(DecidingBudget {
            id: b.id,
            name: b.spec.name.clone(),
            limit_kind: kind,
            limit: budget::from_base(kind, s.limit),
            remaining: budget::from_base(kind, (s.limit - s.used).max(0)),
            resets_at: budget::window(now, b.spec.calendar(), b.spec.tz).end,
        })
    }
}

/// A new reservation id; a call stored with this id settles it.
pub fn reservation_id() -> String {
    format!("{RESERVATION_PREFIX}{}", uuid::Uuid::now_v7())
}

/// Why a reservation was refused.
#[derive(Debug)]
pub struct Refusal {
    pub budget: DecidingBudget,
}

/// Reserves a call's worst case against every hard budget in its scope. `Ok(None)` when no
/// hard budget applies (nothing is held, and no round trip is made).
pub async fn reserve(
    pool: &PgPool,
    book: &Book,
    facts: &Facts<'_>,
    worst: Amounts,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<Result<Option<String>, Refusal>, sqlx::Error> {
    let needs = book.hard_needs(facts, worst, now);
    if needs.is_empty() {
        return Ok(Ok(None));
    }
    let id = reservation_id();
    let (granted, standing) = store::budgets::reserve(pool, &id, &needs, ttl).await?;
    if granted {
        return Ok(Ok(Some(id)));
    }
    let refusing = standing
        .iter()
        .find(|s| !budget::fits(s.used, s.need, s.limit))
        .and_then(|s| book.deciding(s, now));
    Ok(match refusing {
        Some(budget) => Err(Refusal { budget }),
        // The refusing budget was deleted in between: nothing holds the call back.
        None => Ok(None),
    })
}
