//! Time buckets in a time zone: where a bucket starts, where the next one starts, and which
//! rollup tier can serve a range. Days, weeks (from Monday) and months follow the zone's
//! calendar, so a day across a DST change lasts 23 or 25 hours.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use app::types::BucketSize;

/// A bucket that gives a readable chart (tens to a few hundred points) for a range.
pub fn auto_size(range: Duration) -> BucketSize {
    if range <= Duration::hours(3) {
        BucketSize::Minute
    } else if range <= Duration::days(3) {
        BucketSize::Hour
    } else if range <= Duration::days(120) {
        BucketSize::Day
    } else {
        BucketSize::Week
    }
}

/// The rollup tables, finest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RollupTier {
    Minute,
    Hour,
}

impl RollupTier {
    pub fn table(self) -> &'static str {
        match self {
            RollupTier::Minute => "llm_rollup_minute",
            RollupTier::Hour => "llm_rollup_hour",
        }
    }

    /// The length of one bucket in seconds.
    pub fn seconds(self) -> i64 {
        match self {
            RollupTier::Minute => 60,
            RollupTier::Hour => 3600,
        }
    }

    pub fn truncate(self, t: DateTime<Utc>) -> DateTime<Utc> {
        let secs = self.seconds();
        let ts = t.timestamp();
        DateTime::from_timestamp(ts - ts.rem_euclid(secs), 0).unwrap_or(t)
    }
}

fn offset_secs(t: DateTime<Utc>, tz: Tz) -> i64 {
    i64::from(
        tz.offset_from_utc_datetime(&t.naive_utc())
            .fix()
            .local_minus_utc(),
    )
}

/// The first instant of `day` in `tz` (midnight, or the first time after a gap at midnight).
pub fn start_of_day(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let mut local = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    for _ in 0..4 {
        if let Some(t) = tz.from_local_datetime(&local).earliest() {
            return t.with_timezone(&Utc);
        }
        local += Duration::minutes(30);
    }
    Utc.from_utc_datetime(&local)
}

/// Where the bucket holding `t` starts.
pub fn bucket_start(t: DateTime<Utc>, size: BucketSize, tz: Tz) -> DateTime<Utc> {
    match size {
        BucketSize::Minute => RollupTier::Minute.truncate(t),
        BucketSize::Hour => {
            // In UTC with the local offset, so the repeated hour of a DST change stays two
            // buckets and half-hour zones get their own hour boundaries.
            let ts = t.timestamp();
            let local = ts + offset_secs(t, tz);
            DateTime::from_timestamp(ts - local.rem_euclid(3600), 0).unwrap_or(t)
        }
        BucketSize::Day | BucketSize::Week | BucketSize::Month => {
            let date = t.with_timezone(&tz).date_naive();
            let first = match size {
                BucketSize::Week => {
                    date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
                }
                BucketSize::Month => date.with_day(1).unwrap_or(date),
                _ => date,
            };
            start_of_day(first, tz)
        }
    }
}

/// Where the bucket after the one starting at `start` starts.
pub fn next_bucket(start: DateTime<Utc>, size: BucketSize, tz: Tz) -> DateTime<Utc> {
    match size {
        BucketSize::Minute => start + Duration::minutes(1),
        BucketSize::Hour => bucket_start(start + Duration::minutes(61), size, tz),
        BucketSize::Day | BucketSize::Week | BucketSize::Month => {
            let date = start.with_timezone(&tz).date_naive();
            let next = match size {
                BucketSize::Day => date + Duration::days(1),
                BucketSize::Week => date + Duration::days(7),
                _ => {
                    let (y, m) = if date.month() == 12 {
                        (date.year() + 1, 1)
                    } else {
                        (date.year(), date.month() + 1)
                    };
                    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(date + Duration::days(31))
                }
            };
            start_of_day(next, tz)
        }
    }
}

/// The starts of every bucket overlapping [from, to), at most `max` (None beyond that).
pub fn series(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    size: BucketSize,
    tz: Tz,
    max: usize,
) -> Option<Vec<DateTime<Utc>>> {
    let mut out = Vec::new();
    let mut b = bucket_start(from, size, tz);
    while b < to {
        if out.len() == max {
            return None;
        }
        out.push(b);
        let next = next_bucket(b, size, tz);
        if next <= b {
            break;
        }
        b = next;
    }
    Some(out)
}

/// Rounds a range out to whole minutes, the finest rollup.
pub fn widen_to_minutes(from: DateTime<Utc>, to: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let from = RollupTier::Minute.truncate(from);
    let to_floor = RollupTier::Minute.truncate(to);
    let to = if to_floor == to {
        to
    } else {
        to_floor + Duration::minutes(1)
    };
    (from, to)
}

/// Which tier serves which part of a minute-aligned [from, to): whole hours from the hour
/// rollups, the edges from the minute rollups. Minute buckets, and zones whose offset is not
/// a whole number of hours, need minute rollups throughout.
pub fn plan(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    size: BucketSize,
    tz: Tz,
) -> Vec<(RollupTier, DateTime<Utc>, DateTime<Utc>)> {
    if from >= to {
        return Vec::new();
    }
    let whole_hours = [from, to, from + (to - from) / 2]
        .iter()
        .all(|t| offset_secs(*t, tz) % 3600 == 0);
    if size == BucketSize::Minute || !whole_hours {
        return vec![(RollupTier::Minute, from, to)];
    }
    let h0 = {
        let t = RollupTier::Hour.truncate(from);
        if t == from {
            t
        } else {
            t + Duration::hours(1)
        }
    };
    let h1 = RollupTier::Hour.truncate(to);
    if h0 >= h1 {
        return vec![(RollupTier::Minute, from, to)];
    }
    let mut out = Vec::new();
    if from < h0 {
        out.push((RollupTier::Minute, from, h0));
    }
    out.push((RollupTier::Hour, h0, h1));
    if h1 < to {
        out.push((RollupTier::Minute, h1, to));
    }
    out
}

/// Whether a time is on a whole minute (rollup bucket keys always are).
pub fn is_minute(t: DateTime<Utc>) -> bool {
    t.second() == 0 && t.nanosecond() == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    const BERLIN: Tz = chrono_tz::Europe::Berlin;

    #[test]
    fn days_across_dst_changes_last_23_and_25_hours() {
        // Berlin springs forward on 2026-03-29 and falls back on 2026-10-25.
        let spring = bucket_start(utc("2026-03-29T12:00:00Z"), BucketSize::Day, BERLIN);
        assert_eq!(spring, utc("2026-03-28T23:00:00Z"));
        assert_eq!(
            next_bucket(spring, BucketSize::Day, BERLIN) - spring,
            Duration::hours(23)
        );
        let autumn = bucket_start(utc("2026-10-25T12:00:00Z"), BucketSize::Day, BERLIN);
        assert_eq!(autumn, utc("2026-10-24T22:00:00Z"));
        assert_eq!(
            next_bucket(autumn, BucketSize::Day, BERLIN) - autumn,
            Duration::hours(25)
        );
    }

    #[test]
    fn the_repeated_hour_of_a_fall_back_is_two_buckets() {
        // 02:00-03:00 local happens twice: 00:00-01:00Z (CEST) and 01:00-02:00Z (CET).
        let a = bucket_start(utc("2026-10-25T00:30:00Z"), BucketSize::Hour, BERLIN);
        let b = bucket_start(utc("2026-10-25T01:30:00Z"), BucketSize::Hour, BERLIN);
        assert_eq!(a, utc("2026-10-25T00:00:00Z"));
        assert_eq!(b, utc("2026-10-25T01:00:00Z"));
        let s = series(a, utc("2026-10-25T03:00:00Z"), BucketSize::Hour, BERLIN, 10).unwrap();
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn half_hour_zones_have_their_own_hours_and_need_minute_rollups() {
        let kolkata: Tz = chrono_tz::Asia::Kolkata;
        assert_eq!(
            bucket_start(utc("2026-05-01T10:10:00Z"), BucketSize::Hour, kolkata),
            utc("2026-05-01T09:30:00Z")
        );
        let p = plan(
            utc("2026-05-01T00:00:00Z"),
            utc("2026-05-03T00:00:00Z"),
            BucketSize::Day,
            kolkata,
        );
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].0, RollupTier::Minute);
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        let t = utc("2026-11-22T15:00:00Z"); // a Sunday
        assert_eq!(
            bucket_start(t, BucketSize::Week, chrono_tz::UTC),
            utc("2026-11-16T00:00:00Z")
        );
        let m = bucket_start(t, BucketSize::Month, BERLIN);
        assert_eq!(m, utc("2026-10-31T23:00:00Z"));
        assert_eq!(
            next_bucket(m, BucketSize::Month, BERLIN),
            utc("2026-11-30T23:00:00Z")
        );
        let dec = bucket_start(
            utc("2026-12-15T00:00:00Z"),
            BucketSize::Month,
            chrono_tz::UTC,
        );
        assert_eq!(
            next_bucket(dec, BucketSize::Month, chrono_tz::UTC),
            utc("2027-01-01T00:00:00Z")
        );
    }

    #[test]
    fn whole_hours_come_from_hour_rollups_and_edges_from_minutes() {
        let p = plan(
            utc("2026-05-01T10:17:00Z"),
            utc("2026-05-01T14:42:00Z"),
            BucketSize::Hour,
            chrono_tz::UTC,
        );
        assert_eq!(
            p,
            vec![
                (
                    RollupTier::Minute,
                    utc("2026-05-01T10:17:00Z"),
                    utc("2026-05-01T11:00:00Z")
                ),
                (
                    RollupTier::Hour,
                    utc("2026-05-01T11:00:00Z"),
                    utc("2026-05-01T14:00:00Z")
                ),
                (
                    RollupTier::Minute,
                    utc("2026-05-01T14:00:00Z"),
                    utc("2026-05-01T14:42:00Z")
                ),
            ]
        );
        let minute = plan(
            utc("2026-05-01T10:00:00Z"),
            utc("2026-05-01T14:00:00Z"),
            BucketSize::Minute,
            chrono_tz::UTC,
        );
        assert_eq!(minute.len(), 1);
        assert_eq!(minute[0].0, RollupTier::Minute);
        let inside_one_hour = plan(
            utc("2026-05-01T10:05:00Z"),
            utc("2026-05-01T10:55:00Z"),
            BucketSize::Hour,
            chrono_tz::UTC,
        );
        assert_eq!(inside_one_hour[0].0, RollupTier::Minute);
    }

    #[test]
    fn ranges_widen_to_whole_minutes_and_series_are_capped() {
        let (f, t) = widen_to_minutes(utc("2026-05-01T10:17:30Z"), utc("2026-05-01T10:20:01Z"));
        assert_eq!(f, utc("2026-05-01T10:17:00Z"));
        assert_eq!(t, utc("2026-05-01T10:21:00Z"));
        assert!(is_minute(f) && is_minute(t));
        assert!(series(f, t, BucketSize::Minute, chrono_tz::UTC, 3).is_none());
        assert_eq!(
            series(f, t, BucketSize::Minute, chrono_tz::UTC, 4)
                .unwrap()
                .len(),
            4
        );
    }

    #[test]
    fn auto_buckets_by_range() {
        assert_eq!(auto_size(Duration::hours(1)), BucketSize::Minute);
        assert_eq!(auto_size(Duration::hours(24)), BucketSize::Hour);
        assert_eq!(auto_size(Duration::days(30)), BucketSize::Day);
        assert_eq!(auto_size(Duration::days(365)), BucketSize::Week);
    }
}
