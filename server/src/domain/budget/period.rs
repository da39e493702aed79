//! Budgets' calendar periods (in a time zone, with a monthly reset day) and the projection
//! of spend to the period's end.

use chrono::{DateTime, Datelike, Duration, DurationRound, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::analytics::bucket::start_of_day;

/// How long a budget's period is. Months start on `reset_day` (1–28, so every month has it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    /// Monday to Monday, as ISO weeks.
    Week,
    Month {
        reset_day: u32,
    },
}

/// The instants `[start, end)` of one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// The first local date of the period holding `date`.
fn first_date(date: NaiveDate, period: Period) -> NaiveDate {
    match period {
        Period::Day => date,
        Period::Week => date - Duration::days(i64::from(date.weekday().num_days_from_monday())),
        Period::Month { reset_day } => {
            let day = reset_day.clamp(1, 28);
            let this_month = date.with_day(day).unwrap_or(date);
            if date.day() >= day {
                this_month
            } else {
                months_later(this_month, -1)
            }
        }
    }
}

/// `date` moved by whole months; the day must exist in every month (at most 28).
fn months_later(date: NaiveDate, months: i32) -> NaiveDate {
    let index = date.year() * 12 + date.month0() as i32 + months;
    NaiveDate::from_ymd_opt(
        index.div_euclid(12),
        index.rem_euclid(12) as u32 + 1,
        date.day(),
    )
    .unwrap_or(date)
}

/// The first local date of the period after the one starting on `first`.
fn next_first(first: NaiveDate, period: Period) -> NaiveDate {
    match period {
        Period::Day => first + Duration::days(1),
        Period::Week => first + Duration::days(7),
        Period::Month { .. } => months_later(first, 1),
    }
}

/// The period holding `at`, with boundaries at local midnight in `tz` (a day across a DST
/// change lasts 23 or 25 hours).
pub fn window(at: DateTime<Utc>, period: Period, tz: Tz) -> Window {
    let first = first_date(at.with_timezone(&tz).date_naive(), period);
    Window {
        start: start_of_day(first, tz),
        end: start_of_day(next_first(first, period), tz),
    }
}

/// The `n` periods before the one holding `at`, oldest first, then that one.
pub fn recent_windows(at: DateTime<Utc>, period: Period, tz: Tz, n: usize) -> Vec<Window> {
    let mut out = vec![window(at, period, tz)];
    for _ in 0..n {
        let earlier = window(out[out.len() - 1].start - Duration::seconds(1), period, tz);
        out.push(earlier);
    }
    out.reverse();
    out
}

/// Where spend is heading by the end of the period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projection {
    /// Spend at the period's end if the recent rate goes on.
    pub at_end: f64,
    /// When the limit will be reached at that rate, if before the period ends (None when it
    /// will not be, or already was).
    pub limit_at: Option<DateTime<Utc>>,
}

/// How far back the burn rate looks: recent enough to follow a change, long enough not to
/// jump with each call.
pub const RATE_WINDOW: Duration = Duration::hours(6);

/// Where the burn rate starts counting: [`RATE_WINDOW`] back, rounded down to the hour
/// (spend is kept per hour), or the period's start if that is later.
pub fn rate_since(w: Window, now: DateTime<Utc>) -> DateTime<Utc> {
    let back = now - RATE_WINDOW;
    let hour = back.duration_trunc(Duration::hours(1)).unwrap_or(back);
    hour.max(w.start)
}

/// Projects `spent` (so far in `w`) to the period's end at the rate of `recent` (spent since
/// [`rate_since`]).
pub fn project(spent: f64, recent: f64, limit: f64, w: Window, now: DateTime<Utc>) -> Projection {
    let now = now.clamp(w.start, w.end);
    let looked = now - rate_since(w, now).min(now);
    let secs = looked.num_milliseconds() as f64 / 1000.0;
    let rate = if secs >= 60.0 {
        recent.max(0.0) / secs
    } else {
        0.0
    };
    let left = (w.end - now).num_milliseconds() as f64 / 1000.0;
    let at_end = spent + rate * left;
    let limit_at = (spent < limit && rate > 0.0 && at_end >= limit).then(|| {
        let ms = ((limit - spent) / rate * 1000.0).ceil() as i64;
        now + Duration::milliseconds(ms)
    });
    Projection { at_end, limit_at }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    const BERLIN: Tz = chrono_tz::Europe::Berlin;

    #[test]
    fn days_follow_local_midnight_across_dst() {
        // 29 March 2026: Berlin springs forward, the day lasts 23 hours.
        let w = window(utc("2026-03-29T12:00:00Z"), Period::Day, BERLIN);
        assert_eq!(w.start, utc("2026-03-28T23:00:00Z"));
        assert_eq!(w.end, utc("2026-03-29T22:00:00Z"));
        // 25 October 2026: it falls back, 25 hours.
        let w = window(utc("2026-10-25T12:00:00Z"), Period::Day, BERLIN);
        assert_eq!(w.end - w.start, Duration::hours(25));
    }

    #[test]
    fn weeks_start_on_monday_in_the_zone() {
        // Sunday 23:30 UTC is already Monday in Berlin.
        let w = window(utc("2026-11-22T23:30:00Z"), Period::Week, BERLIN);
        assert_eq!(w.start, utc("2026-11-22T23:00:00Z"));
        assert_eq!(w.end, utc("2026-11-29T23:00:00Z"));
    }

    #[test]
    fn months_reset_on_their_day() {
        let p = Period::Month { reset_day: 15 };
        let w = window(utc("2026-11-23T10:00:00Z"), p, chrono_tz::UTC);
        assert_eq!(
            (w.start, w.end),
            (utc("2026-11-15T00:00:00Z"), utc("2026-12-15T00:00:00Z"))
        );
        let w = window(utc("2026-01-10T10:00:00Z"), p, chrono_tz::UTC);
        assert_eq!(
            (w.start, w.end),
            (utc("2025-12-15T00:00:00Z"), utc("2026-01-15T00:00:00Z"))
        );
        // The first is a plain calendar month.
        let w = window(
            utc("2026-02-28T23:59:59Z"),
            Period::Month { reset_day: 1 },
            chrono_tz::UTC,
        );
        assert_eq!(
            (w.start, w.end),
            (utc("2026-02-01T00:00:00Z"), utc("2026-03-01T00:00:00Z"))
        );
    }

    #[test]
    fn recent_windows_are_contiguous_and_oldest_first() {
        let all = recent_windows(
            utc("2026-11-23T10:00:00Z"),
            Period::Month { reset_day: 1 },
            BERLIN,
            12,
        );
        assert_eq!(all.len(), 13);
        for pair in all.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
        }
        assert_eq!(all[0].start, utc("2025-10-31T23:00:00Z"));
    }

    #[test]
    fn projection_extends_the_recent_rate_to_the_end() {
        let w = Window {
            start: utc("2026-11-01T00:00:00Z"),
            end: utc("2026-12-01T00:00:00Z"),
        };
        let now = utc("2026-11-21T00:00:00Z");
        // $60 in the last 6 hours: $10 an hour; 10 days = 240 hours left.
        let p = project(500.0, 60.0, 3000.0, w, now);
        assert!((p.at_end - 2900.0).abs() < 1e-6);
        assert_eq!(p.limit_at, None);
        let p = project(500.0, 60.0, 1000.0, w, now);
        assert_eq!(p.limit_at, Some(utc("2026-11-23T02:00:00Z")));
        // Already over: nothing left to predict. No spend: no projection beyond what is spent.
        assert_eq!(project(1200.0, 60.0, 1000.0, w, now).limit_at, None);
        assert_eq!(project(0.0, 0.0, 1000.0, w, now).at_end, 0.0);
    }

    #[test]
    fn a_fresh_period_uses_the_time_since_it_began() {
        let w = Window {
            start: utc("2026-11-23T00:00:00Z"),
            end: utc("2026-11-24T00:00:00Z"),
        };
        // One hour in, $5 spent: $5 an hour for 23 more hours.
        let p = project(5.0, 5.0, 100.0, w, utc("2026-11-23T01:00:00Z"));
        assert!((p.at_end - 120.0).abs() < 1e-6);
        assert_eq!(p.limit_at, Some(utc("2026-11-23T20:00:00Z")));
        // Under a minute in: too little to extrapolate from.
        assert_eq!(
            project(5.0, 5.0, 100.0, w, utc("2026-11-23T00:00:30Z")).at_end,
            5.0
        );
    }
}
