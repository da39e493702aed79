//! The Frontend page's figures (pure): rollup rows of one site folded into each vital's
//! distribution and 75th percentile, every page's percentiles, and error groups over time.

use std::collections::{BTreeMap, HashMap};

use app::types::frontend::{ErrorBucket, ErrorGroup, PageVitals, VitalBin, VitalSummary};
use chrono::{DateTime, Duration, Utc};

use crate::{
    domain::browser::{ErrorKind, Vital, VitalAgg, STEP},
    store::browser::{ErrorRollup, VitalRollup},
};

/// Buckets the error chart aims at.
const POINTS: i64 = 72;
/// Pages and error groups listed at most.
pub const MAX_PAGES: usize = 100;
pub const MAX_GROUPS: usize = 50;

/// The error chart's step: whole hours, about [`POINTS`] of them over the range.
pub fn step(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    let hours = ((to - from).num_seconds().max(1) + STEP - 1) / STEP;
    ((hours + POINTS - 1) / POINTS).max(1) * STEP
}

/// A vital's distribution bars; the count of each histogram bucket goes to the bar holding
/// its reported value (so a bar's edge is as sharp as the histogram's 2 %).
pub fn bins(vital: Vital, agg: &VitalAgg) -> Vec<VitalBin> {
    let (width, n) = vital.bins();
    let mut counts = vec![0u64; n + 1];
    for (v, c) in agg.hist.values() {
        let value = v / vital.hist_scale();
        let i = ((value / width).floor().max(0.0) as usize).min(n);
        counts[i] += c;
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(i, count)| {
            let lo = i as f64 * width;
            let hi = (i < n).then(|| (i + 1) as f64 * width);
            VitalBin {
                lo: round(lo),
                hi: hi.map(round),
                count,
                // A bar is rated by its upper edge: bars end on the thresholds.
                rating: vital.rate(hi.map_or(f64::INFINITY, |h| h - width / 2.0)),
            }
        })
        .collect()
}

fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn summary(vital: Vital, agg: &VitalAgg) -> VitalSummary {
    let (good_max, poor_above) = vital.thresholds();
    let p75 = agg.quantile(vital, 0.75).map(round);
    VitalSummary {
        name: vital.name().to_owned(),
        unit: vital.unit().to_owned(),
        samples: agg.samples,
        p75,
        rating: p75.map(|v| vital.rate(v)),
        good: agg.good,
        needs_improvement: agg.needs_improvement,
        poor: agg.poor,
        good_max,
        poor_above,
        bins: bins(vital, agg),
    }
}

/// Every vital over the rows (of one page when `only_page`), in [`Vital::ALL`] order, the
/// ones without samples included.
pub fn vitals(rows: &[VitalRollup], only_page: Option<&str>) -> Vec<VitalSummary> {
    let mut merged: BTreeMap<Vital, VitalAgg> = BTreeMap::new();
    for r in rows
        .iter()
        .filter(|r| only_page.is_none_or(|p| p == r.page))
    {
        merged.entry(r.vital).or_default().merge(&r.agg);
    }
    Vital::ALL
        .into_iter()
        .map(|v| summary(v, merged.get(&v).unwrap_or(&VitalAgg::default())))
        .collect()
}

/// Every page with its 75th percentiles and errors, most viewed first.
pub fn pages(vitals: &[VitalRollup], errors: &[ErrorRollup]) -> Vec<PageVitals> {
    let mut by_page: HashMap<&str, BTreeMap<Vital, VitalAgg>> = HashMap::new();
    for r in vitals {
        by_page
            .entry(r.page.as_str())
            .or_default()
            .entry(r.vital)
            .or_default()
            .merge(&r.agg);
    }
    let mut error_counts: HashMap<&str, u64> = HashMap::new();
    for e in errors.iter().filter(|e| e.key.kind == ErrorKind::Script) {
        *error_counts.entry(e.key.page.as_str()).or_default() += e.agg.count;
    }
    for page in error_counts.keys() {
        by_page.entry(page).or_default();
    }
    let mut out: Vec<PageVitals> = by_page
        .into_iter()
        .map(|(page, aggs)| {
            let p75: Vec<Option<f64>> = Vital::ALL
                .iter()
                .map(|v| aggs.get(v).and_then(|a| a.quantile(*v, 0.75)).map(round))
                .collect();
            PageVitals {
                page: page.to_owned(),
                views: aggs.values().map(|a| a.samples).max().unwrap_or(0),
                ratings: Vital::ALL
                    .iter()
                    .zip(&p75)
                    .map(|(v, p)| p.map(|p| v.rate(p)))
                    .collect(),
                p75,
                errors: error_counts.get(page).copied().unwrap_or(0),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.views
            .cmp(&a.views)
            .then(b.errors.cmp(&a.errors))
            .then(a.page.cmp(&b.page))
    });
    out.truncate(MAX_PAGES);
    out
}

/// Error groups (message and stack top, over every page unless `only_page`), most frequent
/// first, each with its counts per bucket; and the chart's buckets.
pub fn errors(
    rows: &[ErrorRollup],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    step_s: i64,
    only_page: Option<&str>,
) -> (Vec<ErrorGroup>, Vec<ErrorBucket>) {
    let step = Duration::seconds(step_s.max(1));
    let start = crate::domain::app_request::bucket_of(from, Duration::seconds(STEP));
    let n = (((to - start).num_seconds() + step_s - 1) / step_s.max(1)).clamp(1, 10_000) as usize;
    let slot = |t: DateTime<Utc>| {
        ((t - start).num_seconds() / step_s.max(1)).clamp(0, n as i64 - 1) as usize
    };
    let mut series: Vec<ErrorBucket> = (0..n)
        .map(|i| ErrorBucket {
            start: start + step * i as i32,
            errors: 0,
            api_failures: 0,
        })
        .collect();
    let mut groups: HashMap<(ErrorKind, &str, &str), ErrorGroup> = HashMap::new();
    for r in rows
        .iter()
        .filter(|r| only_page.is_none_or(|p| p == r.key.page))
    {
        let i = slot(r.key.bucket);
        match r.key.kind {
            ErrorKind::Script => series[i].errors += r.agg.count,
            ErrorKind::Api => series[i].api_failures += r.agg.count,
        }
        let g = groups
            .entry((r.key.kind, r.key.message.as_str(), r.key.stack_top.as_str()))
            .or_insert_with(|| ErrorGroup {
                kind: r.key.kind.as_str().to_owned(),
                message: r.key.message.clone(),
                stack_top: r.key.stack_top.clone(),
                count: 0,
                first_seen: r.agg.first_seen,
                last_seen: r.agg.last_seen,
                last_page: r.key.page.clone(),
                sample_stack: r.agg.sample_stack.clone(),
                counts: vec![0; n],
            });
        g.count += r.agg.count;
        g.counts[i] += r.agg.count;
        g.first_seen = g.first_seen.min(r.agg.first_seen);
        if r.agg.last_seen >= g.last_seen {
            g.last_seen = r.agg.last_seen;
            g.last_page.clone_from(&r.key.page);
            if r.agg.sample_stack.is_some() {
                g.sample_stack.clone_from(&r.agg.sample_stack);
            }
        }
    }
    let mut groups: Vec<ErrorGroup> = groups.into_values().collect();
    groups.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(b.last_seen.cmp(&a.last_seen))
            .then(a.message.cmp(&b.message))
    });
    groups.truncate(MAX_GROUPS);
    (groups, series)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::browser::{ErrorAgg, ErrorKey};

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn vital_row(page: &str, vital: Vital, values: &[f64]) -> VitalRollup {
        let mut agg = VitalAgg::default();
        for v in values {
            agg.add(vital, *v, t("2026-12-01T10:00:00Z"));
        }
        VitalRollup {
            bucket: t("2026-12-01T10:00:00Z"),
            page: page.into(),
            vital,
            agg,
        }
    }

    fn error_row(bucket: &str, page: &str, kind: ErrorKind, msg: &str, count: u64) -> ErrorRollup {
        let at = t(bucket);
        ErrorRollup {
            key: ErrorKey {
                site: "shop".into(),
                bucket: at,
                page: page.into(),
                kind,
                message: msg.into(),
                stack_top: "f (/a.js:1:1)".into(),
            },
            agg: ErrorAgg {
                count,
                first_seen: at,
                last_seen: at + Duration::minutes(5),
                sample_stack: Some(format!("{msg} at {page}")),
            },
        }
    }

    #[test]
    fn distributions_split_at_the_thresholds() {
        let row = vital_row(
            "/",
            Vital::Lcp,
            &[1200.0, 2400.0, 2600.0, 3900.0, 4100.0, 9000.0],
        );
        let v = vitals(&[row], None);
        assert_eq!(v.len(), 5);
        let lcp = &v[0];
        assert_eq!(lcp.name, "LCP");
        assert_eq!((lcp.good, lcp.needs_improvement, lcp.poor), (2, 2, 2));
        assert_eq!(lcp.bins.len(), 17);
        let count = |lo: f64| lcp.bins.iter().find(|b| b.lo == lo).unwrap().count;
        assert_eq!(count(1000.0), 1);
        assert_eq!(count(2000.0), 1);
        assert_eq!(count(2500.0), 1);
        assert_eq!(count(3500.0), 1);
        assert_eq!(count(4000.0), 1);
        assert_eq!(count(8000.0), 1, "the open-ended last bar");
        assert_eq!(lcp.bins.iter().map(|b| b.count).sum::<u64>(), 6);
        let rating = |lo: f64| lcp.bins.iter().find(|b| b.lo == lo).unwrap().rating;
        use app::types::frontend::Rating::*;
        assert_eq!(rating(2000.0), Good);
        assert_eq!(rating(2500.0), NeedsImprovement);
        assert_eq!(rating(3500.0), NeedsImprovement);
        assert_eq!(rating(4000.0), Poor);
        // p75 of six values is the fifth: 4100 (within 2 %), which is poor.
        let p75 = lcp.p75.unwrap();
        assert!((p75 - 4100.0).abs() / 4100.0 < 0.02, "{p75}");
        assert_eq!(lcp.rating, Some(Poor));
        assert_eq!(v[1].samples, 0);
        assert_eq!(v[1].p75, None);
    }

    #[test]
    fn pages_rank_by_views_with_their_percentiles_and_errors() {
        let rows = vec![
            vital_row("/", Vital::Lcp, &[1000.0, 1200.0, 1300.0]),
            vital_row("/", Vital::Cls, &[0.01, 0.3, 0.3]),
            vital_row("/cart", Vital::Lcp, &[5000.0]),
        ];
        let errs = vec![
            error_row(
                "2026-12-01T10:00:00Z",
                "/cart",
                ErrorKind::Script,
                "Boom",
                4,
            ),
            error_row(
                "2026-12-01T10:00:00Z",
                "/cart",
                ErrorKind::Api,
                "GET /x → 500",
                9,
            ),
            error_row(
                "2026-12-01T10:00:00Z",
                "/checkout",
                ErrorKind::Script,
                "Boom",
                1,
            ),
        ];
        let p = pages(&rows, &errs);
        let names: Vec<_> = p.iter().map(|p| p.page.as_str()).collect();
        assert_eq!(names, ["/", "/cart", "/checkout"]);
        assert_eq!(p[0].views, 3);
        assert_eq!(
            p[0].ratings[2],
            Some(app::types::frontend::Rating::Poor),
            "CLS"
        );
        assert_eq!(p[1].errors, 4, "failed API calls are not page errors");
        assert_eq!(p[2].views, 0);
        assert_eq!(p[2].p75, vec![None; 5]);
        // One page narrows the vitals.
        assert_eq!(vitals(&rows, Some("/cart"))[0].samples, 1);
    }

    #[test]
    fn errors_group_by_message_and_stack_over_pages_and_time() {
        let from = t("2026-12-01T09:30:00Z");
        let to = t("2026-12-01T13:30:00Z");
        let rows = vec![
            error_row("2026-12-01T10:00:00Z", "/a", ErrorKind::Script, "Boom", 2),
            error_row("2026-12-01T12:00:00Z", "/b", ErrorKind::Script, "Boom", 3),
            error_row(
                "2026-12-01T12:00:00Z",
                "/b",
                ErrorKind::Api,
                "GET /x → 500",
                1,
            ),
        ];
        let step_s = step(from, to);
        assert_eq!(step_s, 3600);
        let (groups, series) = errors(&rows, from, to, step_s, None);
        assert_eq!(series.len(), 5, "09:00 to 13:00");
        assert_eq!(series[1].errors, 2);
        assert_eq!(series[3].errors, 3);
        assert_eq!(series[3].api_failures, 1);
        assert_eq!(groups.len(), 2);
        let boom = &groups[0];
        assert_eq!((boom.count, boom.counts.clone()), (5, vec![0, 2, 0, 3, 0]));
        assert_eq!(boom.last_page, "/b");
        assert_eq!(boom.sample_stack.as_deref(), Some("Boom at /b"));
        assert_eq!(boom.first_seen, t("2026-12-01T10:00:00Z"));
        let (only_a, _) = errors(&rows, from, to, step_s, Some("/a"));
        assert_eq!(only_a.len(), 1);
        assert_eq!(only_a[0].count, 2);
        // Thirty days step by ten hours (72 points).
        assert_eq!(step(from, from + Duration::days(30)), 10 * 3600);
    }
}
