//! When scheduled reports go out, free of IO: the periods are whole local days, weeks
//! (Monday to Sunday) and months in the schedule's time zone, and a report covers the last
//! one that has closed.

use app::types::schedule::ReportCadence;
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// Local midnight of `day` in `tz` (the first instant of the day, where a zone skips
/// midnight).
fn midnight(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    let naive = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    match tz.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
            t.with_timezone(&Utc)
        }
        // No midnight that day (a jump forward at 00:00): the first hour that exists.
        chrono::LocalResult::None => tz
            .from_local_datetime(&(naive + Duration::hours(1)))
            .earliest()
            .map_or_else(|| naive.and_utc(), |t| t.with_timezone(&Utc)),
    }
}

/// The first day of the period that holds `day`.
fn period_start(cadence: ReportCadence, day: NaiveDate) -> NaiveDate {
    match cadence {
        ReportCadence::Daily => day,
        ReportCadence::Weekly => {
            day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
        }
        ReportCadence::Monthly => day.with_day(1).unwrap_or(day),
    }
}

/// The first day of the period after the one starting on `start`.
fn next_start(cadence: ReportCadence, start: NaiveDate) -> NaiveDate {
    match cadence {
        ReportCadence::Daily => start + Duration::days(1),
        ReportCadence::Weekly => start + Duration::days(7),
        ReportCadence::Monthly => start
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(start),
    }
}

fn previous_start(cadence: ReportCadence, start: NaiveDate) -> NaiveDate {
    match cadence {
        ReportCadence::Daily => start - Duration::days(1),
        ReportCadence::Weekly => start - Duration::days(7),
        ReportCadence::Monthly => start
            .checked_sub_months(chrono::Months::new(1))
            .unwrap_or(start),
    }
}

/// The last whole period before `now`: [from, to).
pub fn last_closed(
    cadence: ReportCadence,
    tz: Tz,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let today = now.with_timezone(&tz).date_naive();
    let current = period_start(cadence, today);
    let previous = previous_start(cadence, current);
    (midnight(tz, previous), midnight(tz, current))
}

/// When the period running at `now` closes, so its report goes out.
pub fn next_send(cadence: ReportCadence, tz: Tz, now: DateTime<Utc>) -> DateTime<Utc> {
    let today = now.with_timezone(&tz).date_naive();
    midnight(tz, next_start(cadence, period_start(cadence, today)))
}

/// Whether a report is due: the last closed period is newer than the last one sent.
pub fn due(
    cadence: ReportCadence,
    tz: Tz,
    last_sent_start: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let (from, to) = last_closed(cadence, tz, now);
    last_sent_start
        .is_none_or(|s| s < from)
        .then_some((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn monthly_reports_cover_the_month_before_in_the_zone() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // 2026-11-30 22:30 UTC is 23:30 in Berlin: November is still open there.
        let (from, to) = last_closed(ReportCadence::Monthly, berlin, at("2026-11-30T22:30:00Z"));
        assert_eq!(from, at("2026-09-30T22:00:00Z"));
        assert_eq!(to, at("2026-10-31T23:00:00Z"));
        // 2026-11-30 23:30 UTC is December 1st in Berlin: November has closed.
        let (from, to) = last_closed(ReportCadence::Monthly, berlin, at("2026-11-30T23:30:00Z"));
        assert_eq!(
            (from, to),
            (at("2026-10-31T23:00:00Z"), at("2026-11-30T23:00:00Z"))
        );
        assert_eq!(
            next_send(ReportCadence::Monthly, berlin, at("2026-12-06T10:00:00Z")),
            at("2026-12-31T23:00:00Z")
        );
        // January wraps the year.
        let (from, _) = last_closed(
            ReportCadence::Monthly,
            chrono_tz::UTC,
            at("2027-01-01T00:00:01Z"),
        );
        assert_eq!(from, at("2026-12-01T00:00:00Z"));
    }

    #[test]
    fn weeks_run_monday_to_sunday_and_days_follow_daylight_saving() {
        // 2026-12-06 is a Sunday: the last closed week is Nov 23–30.
        let (from, to) = last_closed(
            ReportCadence::Weekly,
            chrono_tz::UTC,
            at("2026-12-06T12:00:00Z"),
        );
        assert_eq!(
            (from, to),
            (at("2026-11-23T00:00:00Z"), at("2026-11-30T00:00:00Z"))
        );
        assert_eq!(
            next_send(
                ReportCadence::Weekly,
                chrono_tz::UTC,
                at("2026-12-06T12:00:00Z")
            ),
            at("2026-12-07T00:00:00Z")
        );
        // The day clocks go back in New York lasts 25 hours.
        let ny: Tz = "America/New_York".parse().unwrap();
        let (from, to) = last_closed(ReportCadence::Daily, ny, at("2026-11-02T12:00:00Z"));
        assert_eq!(to - from, Duration::hours(25));
    }

    #[test]
    fn a_period_is_due_once() {
        let now = at("2026-12-06T12:00:00Z");
        let (from, _) = due(ReportCadence::Daily, chrono_tz::UTC, None, now).unwrap();
        assert_eq!(from, at("2026-12-05T00:00:00Z"));
        assert_eq!(
            due(ReportCadence::Daily, chrono_tz::UTC, Some(from), now),
            None
        );
        let next_day = at("2026-12-07T00:00:05Z");
        assert_eq!(
            due(ReportCadence::Daily, chrono_tz::UTC, Some(from), next_day).map(|p| p.0),
            Some(at("2026-12-06T00:00:00Z"))
        );
    }
}
