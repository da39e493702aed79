//! The Apps page's figures, folded from rollup rows (pure): totals, one bucket per chart
//! step, and one line per route.

use std::collections::BTreeMap;

use app::types::apps::{RequestBucket, RequestFigures, RouteFigures};
use chrono::{DateTime, Duration, Utc};

use crate::{
    domain::app_request::{bucket_of, RequestAgg},
    store::app_requests::RollupRow,
};

/// What a range of rollup rows adds up to.
pub struct Folded {
    pub totals: RequestFigures,
    pub series: Vec<RequestBucket>,
    pub routes: Vec<RouteFigures>,
}

/// Folds `rows` of `[from, to)` into buckets of `step_s` (every bucket present, empty ones
/// too, so charts show gaps as zero traffic) and routes. `only` narrows the series and the
/// totals to one route (and method); the route list always holds every route.
pub fn fold(
    rows: &[RollupRow],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    step_s: i64,
    only: Option<(&str, Option<&str>)>,
) -> Folded {
    let step = Duration::seconds(step_s.max(60));
    let wall = (to - from).num_milliseconds().max(1) as f64 / 1000.0;
    let mut buckets: BTreeMap<DateTime<Utc>, RequestAgg> = BTreeMap::new();
    let mut t = bucket_of(from, step);
    while t < to {
        buckets.insert(t, RequestAgg::default());
        t += step;
    }
    let mut routes: BTreeMap<(&str, &str), RequestAgg> = BTreeMap::new();
    let mut total = RequestAgg::default();
    for r in rows {
        routes
            .entry((r.route.as_str(), r.method.as_str()))
            .or_default()
            .merge(&r.agg);
        let chosen = only
            .is_none_or(|(route, method)| route == r.route && method.is_none_or(|m| m == r.method));
        if !chosen {
            continue;
        }
        total.merge(&r.agg);
        buckets
            .entry(bucket_of(r.bucket, step))
            .or_default()
            .merge(&r.agg);
    }
    let series = buckets
        .into_iter()
        .map(|(start, agg)| {
            // The first and last buckets may be cut by the range.
            let span_from = start.max(from);
            let span_to = (start + step).min(to);
            let secs = (span_to - span_from).num_milliseconds().max(1) as f64 / 1000.0;
            RequestBucket {
                start,
                figures: agg.figures(secs),
            }
        })
        .collect();
    let mut routes: Vec<RouteFigures> = routes
        .into_iter()
        .map(|((route, method), agg)| RouteFigures {
            route: route.to_owned(),
            method: method.to_owned(),
            figures: agg.figures(wall),
        })
        .collect();
    routes.sort_by(|a, b| {
        b.figures
            .requests
            .cmp(&a.figures.requests)
            .then_with(|| a.route.cmp(&b.route))
    });
    Folded {
        totals: total.figures(wall),
        series,
        routes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn row(min: u32, route: &str, n: u64, err_5xx: u64, ms: f64) -> RollupRow {
        let mut agg = RequestAgg::default();
        for i in 0..n {
            agg.record(if i < err_5xx { 500 } else { 200 }, ms, false);
        }
        RollupRow {
            bucket: Utc.with_ymd_and_hms(2026, 12, 4, 12, min, 0).unwrap(),
            route: route.into(),
            method: "GET".into(),
            agg,
        }
    }

    #[test]
    fn buckets_routes_and_totals_add_up() {
        let from = Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).unwrap();
        let to = from + Duration::minutes(10);
        let rows = vec![
            row(0, "/a", 60, 0, 10.0),
            row(1, "/a", 120, 6, 10.0),
            row(1, "/b", 30, 30, 100.0),
            row(7, "/b", 30, 0, 100.0),
        ];
        let f = fold(&rows, from, to, 300, None);
        assert_eq!(f.series.len(), 2);
        assert_eq!(f.series[0].figures.requests, 210);
        assert_eq!(f.series[1].figures.requests, 30);
        assert!((f.series[0].figures.rps - 210.0 / 300.0).abs() < 1e-9);
        assert_eq!(f.totals.requests, 240);
        assert_eq!(f.totals.err_5xx, 36);
        assert_eq!(f.routes[0].route, "/a");
        assert_eq!(f.routes[0].figures.requests, 180);
        assert_eq!(f.routes[1].figures.err_5xx, 30);
        // 60 requests of 100 ms on /b over 600 s: 0.01 in flight on average.
        assert!((f.routes[1].figures.concurrency - 0.01).abs() < 1e-9);

        let only_b = fold(&rows, from, to, 60, Some(("/b", Some("GET"))));
        assert_eq!(only_b.series.len(), 10);
        assert_eq!(only_b.totals.requests, 60);
        assert_eq!(only_b.series[1].figures.requests, 30);
        assert_eq!(only_b.series[0].figures.requests, 0);
        assert_eq!(only_b.routes.len(), 2, "the route list stays whole");
        let none = fold(&rows, from, to, 60, Some(("/b", Some("POST"))));
        assert_eq!(none.totals.requests, 0);
    }
}
