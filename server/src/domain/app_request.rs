//! Application requests (pure): checking a reported request, folding requests into
//! per-bucket rollups, choosing a chart step, and reading figures back from rollups.

use std::collections::BTreeMap;

use app::types::apps::{RequestFigures, RequestReport};
use chrono::{DateTime, Duration, DurationRound, Utc};

use crate::analytics::histogram::Histogram;

/// Requests per batch at most.
pub const MAX_BATCH: usize = 5000;
/// Longest service name, route template, user or trace id (characters).
pub const MAX_SERVICE: usize = 128;
pub const MAX_ROUTE: usize = 512;
pub const MAX_ID: usize = 256;
/// A request longer than a day is a measurement error.
pub const MAX_DURATION_MS: f64 = 86_400_000.0;
/// How far in the future a request may be stamped (clock skew).
pub const MAX_FUTURE_S: i64 = 300;

/// A checked request, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct AppRequest {
    pub time: DateTime<Utc>,
    pub service: String,
    pub route: String,
    pub method: String,
    pub status: i16,
    pub duration_ms: f64,
    pub timeout: bool,
    pub user_id: Option<String>,
    pub trace_id: Option<String>,
}

/// Why a reported request was refused: the field and a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: &'static str,
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> Invalid {
    Invalid {
        field,
        message: message.into(),
    }
}

fn printable(s: &str, max: usize) -> bool {
    !s.trim().is_empty() && s.chars().count() <= max && !s.chars().any(char::is_control)
}

fn optional_id(v: &Option<String>, field: &'static str) -> Result<Option<String>, Invalid> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) if printable(s, MAX_ID) => Ok(Some(s.to_owned())),
        Some(_) => Err(invalid(
            field,
            format!("{field} must be at most {MAX_ID} printable characters"),
        )),
    }
}

/// Checks one reported request against `now` and the oldest time still kept.
pub fn check(
    r: &RequestReport,
    now: DateTime<Utc>,
    oldest: DateTime<Utc>,
) -> Result<AppRequest, Invalid> {
    if !printable(&r.service, MAX_SERVICE) {
        return Err(invalid(
            "service",
            format!("service must be 1 to {MAX_SERVICE} printable characters"),
        ));
    }
    if !printable(&r.route, MAX_ROUTE) {
        return Err(invalid(
            "route",
            format!("route must be 1 to {MAX_ROUTE} printable characters (a route template such as /users/{{id}})"),
        ));
    }
    let method = r.method.trim().to_ascii_uppercase();
    if method.is_empty() || method.len() > 16 || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(invalid(
            "method",
            "method must be an HTTP method name such as GET (letters only, at most 16)",
        ));
    }
    if !(100..=599).contains(&r.status) {
        return Err(invalid(
            "status",
            "status must be an HTTP status, 100 to 599",
        ));
    }
    if !r.duration_ms.is_finite() || !(0.0..=MAX_DURATION_MS).contains(&r.duration_ms) {
        return Err(invalid(
            "duration_ms",
            "duration_ms must be a number of milliseconds from 0 to 86400000",
        ));
    }
    let time = r.time.unwrap_or(now);
    if time > now + Duration::seconds(MAX_FUTURE_S) {
        return Err(invalid(
            "time",
            "time is more than 5 minutes in the future (check the clock)",
        ));
    }
    if time < oldest {
        return Err(invalid("time", "time is older than the request retention"));
    }
    Ok(AppRequest {
        time,
        service: r.service.trim().to_owned(),
        route: r.route.trim().to_owned(),
        method,
        status: r.status as i16,
        duration_ms: r.duration_ms,
        timeout: r.timeout || r.status == 504,
        user_id: optional_id(&r.user_id, "user_id")?,
        trace_id: optional_id(&r.trace_id, "trace_id")?,
    })
}

/// The key of one rollup row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RollupKey {
    pub bucket: DateTime<Utc>,
    pub service: String,
    pub route: String,
    pub method: String,
}

/// What one rollup row holds; merging two is adding them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestAgg {
    pub requests: u64,
    pub err_4xx: u64,
    pub err_5xx: u64,
    pub timeouts: u64,
    pub duration_sum_ms: f64,
    pub duration_max_ms: f64,
    pub hist: Histogram,
}

impl RequestAgg {
    pub fn record(&mut self, status: i16, duration_ms: f64, timeout: bool) {
        self.requests += 1;
        match status {
            400..=499 => self.err_4xx += 1,
            500..=599 => self.err_5xx += 1,
            _ => {}
        }
        if timeout {
            self.timeouts += 1;
        }
        self.duration_sum_ms += duration_ms;
        self.duration_max_ms = self.duration_max_ms.max(duration_ms);
        self.hist.record(duration_ms);
    }

    pub fn merge(&mut self, o: &RequestAgg) {
        self.requests += o.requests;
        self.err_4xx += o.err_4xx;
        self.err_5xx += o.err_5xx;
        self.timeouts += o.timeouts;
        self.duration_sum_ms += o.duration_sum_ms;
        self.duration_max_ms = self.duration_max_ms.max(o.duration_max_ms);
        self.hist.merge(&o.hist);
    }

    /// The figures of this aggregate over `seconds` of wall time.
    pub fn figures(&self, seconds: f64) -> RequestFigures {
        let seconds = seconds.max(1.0);
        let any = self.requests > 0;
        RequestFigures {
            requests: self.requests,
            rps: self.requests as f64 / seconds,
            p50_ms: self.hist.quantile(0.50),
            p95_ms: self.hist.quantile(0.95),
            p99_ms: self.hist.quantile(0.99),
            max_ms: any.then_some(self.duration_max_ms),
            err_4xx: self.err_4xx,
            err_5xx: self.err_5xx,
            timeouts: self.timeouts,
            concurrency: self.duration_sum_ms / 1000.0 / seconds,
        }
    }
}

/// The start of the bucket of `step` holding `t`.
pub fn bucket_of(t: DateTime<Utc>, step: Duration) -> DateTime<Utc> {
    t.duration_trunc(step).unwrap_or(t)
}

/// Folds requests into rollup rows of `step` (a minute or an hour), in key order, so one
/// upsert per row follows and concurrent writers lock rows in the same order.
pub fn fold(requests: &[AppRequest], step: Duration) -> BTreeMap<RollupKey, RequestAgg> {
    let mut out: BTreeMap<RollupKey, RequestAgg> = BTreeMap::new();
    for r in requests {
        let key = RollupKey {
            bucket: bucket_of(r.time, step),
            service: r.service.clone(),
            route: r.route.clone(),
            method: r.method.clone(),
        };
        out.entry(key)
            .or_default()
            .record(r.status, r.duration_ms, r.timeout);
    }
    out
}

/// Which rollup tier a range reads, and the chart step: about `points` buckets, never finer
/// than the tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Minute,
    Hour,
}

/// Steps a chart may use, in seconds.
const STEPS: &[i64] = &[
    60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400,
];

pub fn plan(from: DateTime<Utc>, to: DateTime<Utc>, points: i64) -> (Tier, i64) {
    let span = (to - from).num_seconds().max(1);
    let wanted = span / points.max(1);
    let step = STEPS
        .iter()
        .copied()
        .find(|s| *s >= wanted)
        .unwrap_or(86400);
    // Minute rows of more than two days would be thousands per route: use hours there.
    let tier = if step >= 3600 || span > 2 * 86400 {
        Tier::Hour
    } else {
        Tier::Minute
    };
    let step = if tier == Tier::Hour {
        step.max(3600)
    } else {
        step
    };
    (tier, step)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn report(status: u16, ms: f64) -> RequestReport {
        RequestReport {
            service: "shop".into(),
            route: "/cart/{id}".into(),
            method: "get".into(),
            status,
            duration_ms: ms,
            time: None,
            timeout: false,
            user_id: None,
            trace_id: None,
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 4, 12, 30, 15).unwrap()
    }

    fn ok(r: &RequestReport) -> AppRequest {
        check(r, now(), now() - Duration::days(7)).unwrap()
    }

    fn err(r: &RequestReport) -> &'static str {
        check(r, now(), now() - Duration::days(7))
            .unwrap_err()
            .field
    }

    #[test]
    fn a_request_is_normalised_and_a_504_is_a_timeout() {
        let r = ok(&report(200, 12.5));
        assert_eq!(r.method, "GET");
        assert_eq!(r.time, now());
        assert!(!r.timeout);
        assert!(ok(&report(504, 30_000.0)).timeout);
        let mut t = report(499, 5.0);
        t.timeout = true;
        assert!(ok(&t).timeout);
    }

    #[test]
    fn bad_fields_are_named() {
        assert_eq!(err(&report(99, 1.0)), "status");
        assert_eq!(err(&report(600, 1.0)), "status");
        assert_eq!(err(&report(200, -1.0)), "duration_ms");
        assert_eq!(err(&report(200, f64::NAN)), "duration_ms");
        let mut r = report(200, 1.0);
        r.service = " ".into();
        assert_eq!(err(&r), "service");
        let mut r = report(200, 1.0);
        r.route = "/a\nb".into();
        assert_eq!(err(&r), "route");
        let mut r = report(200, 1.0);
        r.method = "GE T".into();
        assert_eq!(err(&r), "method");
        let mut r = report(200, 1.0);
        r.time = Some(now() + Duration::minutes(10));
        assert_eq!(err(&r), "time");
        let mut r = report(200, 1.0);
        r.time = Some(now() - Duration::days(8));
        assert_eq!(err(&r), "time");
        let mut r = report(200, 1.0);
        r.trace_id = Some("x".repeat(300));
        assert_eq!(err(&r), "trace_id");
        let mut r = report(200, 1.0);
        r.user_id = Some("".into());
        assert_eq!(ok(&r).user_id, None);
    }

    #[test]
    fn folding_counts_status_classes_timeouts_and_latency_per_minute() {
        let mut reqs = Vec::new();
        for (i, (status, ms)) in [(200, 10.0), (404, 20.0), (500, 30.0), (504, 40.0)]
            .into_iter()
            .enumerate()
        {
            let mut r = report(status, ms);
            r.time = Some(now() + Duration::seconds(i as i64 * 20));
            reqs.push(ok(&r));
        }
        let rows = fold(&reqs, Duration::minutes(1));
        // 12:30:15, :35, :55 fall in 12:30; 12:31:15 in the next minute.
        assert_eq!(rows.len(), 2);
        let first = rows.values().next().unwrap();
        assert_eq!(first.requests, 3);
        assert_eq!(first.err_4xx, 1);
        assert_eq!(first.err_5xx, 1);
        assert_eq!(first.timeouts, 0);
        assert_eq!(first.duration_max_ms, 30.0);
        let second = rows.values().nth(1).unwrap();
        assert_eq!((second.err_5xx, second.timeouts), (1, 1));
        let hour = fold(&reqs, Duration::hours(1));
        assert_eq!(hour.len(), 1);
        let key = hour.keys().next().unwrap();
        assert_eq!(
            key.bucket,
            Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).unwrap()
        );
    }

    #[test]
    fn figures_give_rates_percentiles_and_littles_law_concurrency() {
        let mut agg = RequestAgg::default();
        for i in 1..=100 {
            agg.record(if i <= 5 { 503 } else { 200 }, i as f64 * 10.0, false);
        }
        // 100 requests of 10..1000 ms over 60 s: 50.5 s spent in requests.
        let f = agg.figures(60.0);
        assert_eq!(f.requests, 100);
        assert!((f.rps - 100.0 / 60.0).abs() < 1e-9);
        assert!((f.concurrency - 50.5 / 60.0).abs() < 1e-9);
        assert!((f.rate_5xx() - 0.05).abs() < 1e-9);
        assert_eq!(f.failure_rate(), 0.05);
        let p50 = f.p50_ms.unwrap();
        assert!((p50 - 500.0).abs() / 500.0 < 0.02, "{p50}");
        let p99 = f.p99_ms.unwrap();
        assert!((p99 - 990.0).abs() / 990.0 < 0.02, "{p99}");
        assert_eq!(f.max_ms, Some(1000.0));
        let empty = RequestAgg::default().figures(60.0);
        assert_eq!(
            (empty.p50_ms, empty.max_ms, empty.rate_4xx()),
            (None, None, 0.0)
        );
        let mut merged = agg.clone();
        merged.merge(&agg);
        assert_eq!(merged.requests, 200);
        assert_eq!(merged.figures(60.0).p50_ms, f.p50_ms);
    }

    #[test]
    fn plans_pick_minutes_for_short_ranges_and_hours_for_long_ones() {
        let to = now();
        assert_eq!(plan(to - Duration::hours(1), to, 60), (Tier::Minute, 60));
        assert_eq!(plan(to - Duration::hours(24), to, 120), (Tier::Minute, 900));
        assert_eq!(plan(to - Duration::days(7), to, 120), (Tier::Hour, 7200));
        assert_eq!(plan(to - Duration::days(30), to, 120), (Tier::Hour, 21600));
        assert_eq!(plan(to - Duration::minutes(5), to, 120), (Tier::Minute, 60));
    }
}
