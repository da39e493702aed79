//! Which storage tier answers a metrics query, and at what step: the coarsest tier fine
//! enough for the points a chart can show, moved to a coarser one when the range starts
//! before the finer tier's retention.

use app::types::system::SystemTier;
use chrono::{DateTime, Utc};

use crate::domain::system::Retention;

/// Steps of a minute or more read the minute tier; of half an hour or more, the hour tier.
const MINUTE_FROM_S: i64 = 60;
const HOUR_FROM_S: i64 = 1800;
/// Raw samples one query may read at most (6 hours at the default 1 s interval).
pub const MAX_RAW_ROWS: i64 = 21_600;

/// The tier and step (seconds, a multiple of the tier's resolution, at least `min_step_s`)
/// for `[from, to)` drawn with at most `max_points` points.
pub fn plan(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
    max_points: i64,
    min_step_s: i64,
    retention: &Retention,
) -> (SystemTier, i64) {
    let span = (to - from).num_seconds().max(1);
    let wanted = ((span + max_points.max(1) - 1) / max_points.max(1)).max(min_step_s.max(1));
    let mut tier = if wanted >= HOUR_FROM_S {
        SystemTier::Hour
    } else if wanted >= MINUTE_FROM_S {
        SystemTier::Minute
    } else {
        SystemTier::Raw
    };
    // Raw rows are read whole (every series of a sample in one row): past a bound the
    // minute rollups answer instead, so one query cannot pull days of raw samples.
    if tier == SystemTier::Raw
        && (from < now - retention.raw || span / min_step_s.max(1) > MAX_RAW_ROWS)
    {
        tier = SystemTier::Minute;
    }
    if tier == SystemTier::Minute && from < now - retention.minute {
        tier = SystemTier::Hour;
    }
    let res = tier.resolution_s();
    let step = (wanted + res - 1) / res * res;
    (tier, step)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration as D;

    fn plan_for(span: D, ago: D) -> (SystemTier, i64) {
        let now = Utc::now();
        let to = now - ago;
        plan(to - span, to, now, 300, 1, &Retention::default())
    }

    #[test]
    fn long_raw_spans_fall_back_to_minutes() {
        let now = Utc::now();
        let r = Retention::default();
        // 5000 points over 12 h would be 9 s steps on raw samples: 43,200 rows.
        assert_eq!(
            plan(now - D::hours(12), now, now, 5000, 1, &r),
            (SystemTier::Minute, 60)
        );
        // With a 10 s interval, 12 h is 4,320 raw rows: fine.
        assert_eq!(
            plan(now - D::hours(12), now, now, 5000, 10, &r).0,
            SystemTier::Raw
        );
    }

    #[test]
    fn the_tier_follows_the_step() {
        assert_eq!(plan_for(D::minutes(5), D::zero()), (SystemTier::Raw, 1));
        assert_eq!(plan_for(D::hours(1), D::zero()), (SystemTier::Raw, 12));
        assert_eq!(plan_for(D::hours(24), D::zero()), (SystemTier::Minute, 300));
        assert_eq!(plan_for(D::days(7), D::zero()), (SystemTier::Hour, 3600));
        assert_eq!(
            plan_for(D::days(365), D::zero()),
            (SystemTier::Hour, 108_000)
        );
    }

    #[test]
    fn retention_moves_old_ranges_to_coarser_tiers() {
        // An hour from 10 days ago: the raw samples are gone, minutes remain.
        assert_eq!(plan_for(D::hours(1), D::days(10)), (SystemTier::Minute, 60));
        // Half a day from 100 days ago: only hours remain.
        assert_eq!(
            plan_for(D::hours(12), D::days(100)),
            (SystemTier::Hour, 3600)
        );
    }

    #[test]
    fn the_step_is_never_below_the_sampling_interval() {
        let now = Utc::now();
        let r = Retention::default();
        assert_eq!(
            plan(now - D::minutes(5), now, now, 300, 10, &r),
            (SystemTier::Raw, 10)
        );
        assert_eq!(
            plan(now - D::minutes(5), now, now, 0, 1, &r).0,
            SystemTier::Minute
        );
    }
}
