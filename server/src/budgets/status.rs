//! A budget's status from its counters: spent, reserved, remaining, the reset, the
//! projection and the last periods, in the budget's unit. Pure: the counters come in.

use app::types::{Budget, BudgetEvent, BudgetMode, BudgetStatus, PeriodSpend};
use chrono::{DateTime, Utc};

use crate::{
    domain::budget::{self, from_base},
    store::budgets::{EventRow, Stored, Usage},
};

/// How many periods before the current one the status shows.
pub const HISTORY: usize = 12;

/// The status of `b` at `now`, from `usage` (which must cover its last [`HISTORY`] periods
/// and the burn-rate hours).
pub fn status(b: &Stored, usage: &Usage, now: DateTime<Utc>) -> BudgetStatus {
    let spec = &b.spec;
    let kind = spec.limit_kind;
    let windows = budget::recent_windows(now, spec.calendar(), spec.tz, HISTORY);
    let current = windows[windows.len() - 1];
    let spent_in = |start| usage.periods.get(&(b.id, start)).map_or(0, |a| a.of(kind));
    let spent = spent_in(current.start);
    let since = budget::rate_since(current, now);
    let recent: i64 = usage.hours.get(&b.id).map_or(0, |hours| {
        hours
            .iter()
            .filter(|(h, _)| *h >= since && *h < current.end)
            .map(|(_, a)| a.of(kind))
            .sum()
    });
    let held = usage.held.get(&b.id).copied().unwrap_or(0);
    let p = budget::project(spent as f64, recent as f64, spec.limit as f64, current, now);
    let limit = from_base(kind, spec.limit);
    let projected = p.at_end / unit(kind);
    BudgetStatus {
        period_start: current.start,
        resets_at: current.end,
        spent: from_base(kind, spent),
        reserved: from_base(kind, held),
        limit,
        percent: budget::percent(spent, spec.limit),
        remaining: from_base(kind, (spec.limit - spent).max(0)),
        projected,
        projected_percent: if limit > 0.0 {
            projected * 100.0 / limit
        } else {
            0.0
        },
        limit_reached_at: p.limit_at,
        blocking: spec.enabled
            && spec.mode == BudgetMode::Hard
            && !budget::fits(spent.saturating_add(held), 1, spec.limit),
        history: windows
            .iter()
            .map(|w| PeriodSpend {
                start: w.start,
                date: w.start.with_timezone(&spec.tz).date_naive(),
                spent: from_base(kind, spent_in(w.start)),
            })
            .collect(),
    }
}

/// Base units per unit people read.
fn unit(kind: app::types::LimitKind) -> f64 {
    from_base(kind, 1).recip()
}

/// The oldest period start any of `budgets` shows at `now`.
pub fn oldest_start(budgets: &[Stored], now: DateTime<Utc>) -> DateTime<Utc> {
    budgets
        .iter()
        .map(|b| budget::recent_windows(now, b.spec.calendar(), b.spec.tz, HISTORY)[0].start)
        .min()
        .unwrap_or(now)
}

/// A budget as the API answers it.
pub fn to_api(b: &Stored, status: BudgetStatus) -> Budget {
    let s = &b.spec;
    Budget {
        id: b.id,
        name: s.name.clone(),
        scope: s.scope.clone(),
        period: s.period,
        timezone: s.tz.name().to_owned(),
        reset_day: s.reset_day,
        limit_kind: s.limit_kind,
        limit: from_base(s.limit_kind, s.limit),
        thresholds: s.thresholds.clone(),
        mode: s.mode,
        enabled: s.enabled,
        created_at: b.created_at,
        status,
    }
}

pub fn event_to_api(e: EventRow) -> BudgetEvent {
    BudgetEvent {
        id: e.id,
        budget_id: e.budget_id,
        budget_name: e.budget_name,
        period_start: e.period_start,
        kind: e.kind,
        threshold: (e.threshold > 0).then_some(e.threshold),
        percent: e.percent,
        spent: from_base(e.limit_kind, e.spent),
        at: e.at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::budget::{validate, Amounts};
    use app::types::{BudgetInput, BudgetPeriod, BudgetScope, LimitKind};
    use chrono::TimeZone;

    fn stored(mode: BudgetMode) -> Stored {
        let spec = validate(&BudgetInput {
            name: "b".into(),
            scope: BudgetScope::default(),
            period: BudgetPeriod::Day,
            timezone: "UTC".into(),
            reset_day: None,
            limit_kind: LimitKind::Usd,
            limit: 10.0,
            thresholds: vec![50, 80, 100],
            mode,
            enabled: true,
        })
        .unwrap();
        Stored {
            id: 1,
            spec,
            created_at: Utc.timestamp_opt(0, 0).unwrap(),
        }
    }

    #[test]
    fn status_reads_spend_holds_and_the_rate() {
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap();
        let today = Utc.with_ymd_and_hms(2026, 11, 24, 0, 0, 0).unwrap();
        let yesterday = Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap();
        let usd = |d: f64| Amounts {
            cost_micros: (d * 1e6) as i64,
            tokens: 0,
            requests: 0,
        };
        let mut u = Usage::default();
        u.periods.insert((1, today), usd(6.0));
        u.periods.insert((1, yesterday), usd(9.0));
        // $3 in the last six hours: $0.50 an hour for the 12 hours left.
        u.hours
            .insert(1, vec![(now - chrono::Duration::hours(3), usd(3.0))]);
        u.held.insert(1, 1_000_000);
        let s = status(&stored(BudgetMode::Hard), &u, now);
        assert_eq!(s.spent, 6.0);
        assert_eq!(s.reserved, 1.0);
        assert_eq!(s.remaining, 4.0);
        assert_eq!(s.percent, 60.0);
        assert!((s.projected - 12.0).abs() < 1e-9, "{}", s.projected);
        assert_eq!(
            s.limit_reached_at,
            Some(Utc.with_ymd_and_hms(2026, 11, 24, 20, 0, 0).unwrap())
        );
        assert_eq!(s.history.len(), HISTORY + 1);
        assert_eq!(s.history[HISTORY - 1].spent, 9.0);
        assert_eq!(s.resets_at, today + chrono::Duration::days(1));
        assert!(!s.blocking);
        // $4 more held: nothing left, a hard budget blocks and a soft one does not.
        u.held.insert(1, 4_000_000);
        assert!(status(&stored(BudgetMode::Hard), &u, now).blocking);
        assert!(!status(&stored(BudgetMode::Soft), &u, now).blocking);
    }
}
