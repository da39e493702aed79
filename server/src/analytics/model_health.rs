//! Model health from rollup rows (pure): per model, each bucket's context-window use,
//! prompt-cache hit rate, speed, time to first token, quality and rating, and each of them
//! in the recent window judged for drift against the baseline buckets before it.

use std::collections::BTreeMap;

use app::types::models::{DriftFinding, HealthPoint, ModelHealth};
use chrono::{DateTime, Utc};

use super::{histogram::Histogram, rollup::RollupRow, stats::Stats};
use crate::domain::drift::{bands, compare, is_anomaly, DriftRule};

/// One bucket of one model: its summary and its time-to-first-token histogram.
#[derive(Default)]
struct Bucket {
    stats: Stats,
    ttft: Histogram,
}

fn ratio(num: f64, den: f64) -> Option<f64> {
    (den > 0.0).then(|| num / den)
}

fn avg(sum: f64, n: i64) -> Option<f64> {
    (n > 0).then(|| sum / n as f64)
}

fn point(time: DateTime<Utc>, b: &Bucket, window: Option<i64>) -> HealthPoint {
    let s = &b.stats;
    let avg_input = avg(s.input_tokens as f64, s.calls);
    HealthPoint {
        time,
        requests: s.calls.max(0) as u64,
        context_use: avg_input.zip(window).and_then(|(a, w)| ratio(a, w as f64)),
        cache_hit_rate: ratio(s.cached_tokens as f64, s.input_tokens as f64),
        tokens_per_second: avg(s.tps_sum, s.tps_calls),
        ttft_p50_ms: b.ttft.quantile(0.50),
        ttft_p95_ms: b.ttft.quantile(0.95),
        avg_quality: avg(s.quality_sum, s.quality_calls),
        avg_rating: avg(s.rating_sum, s.rating_calls),
        ttft_p95_low: None,
        ttft_p95_high: None,
        ttft_anomaly: false,
    }
}

/// Points before each one that make its usual band, and how wide it is.
const BAND_WINDOW: usize = 24;
const BAND_MADS: f64 = 4.0;
/// A band is at least this wide on each side (ms): a perfectly steady history must not
/// flag a millisecond's wobble.
const BAND_FLOOR_MS: f64 = 5.0;

/// Marks each recent point's TTFT p95 band from the points before it (baseline included),
/// and whether it fell outside; returns how many did.
fn mark_ttft_bands(base: &[HealthPoint], recent: &mut [HealthPoint]) -> u64 {
    let values: Vec<f64> = base
        .iter()
        .chain(recent.iter())
        .map(|p| p.ttft_p95_ms.unwrap_or(f64::NAN))
        .collect();
    let bands = bands(&values, BAND_WINDOW, BAND_MADS, BAND_FLOOR_MS);
    let mut anomalies = 0;
    for (p, band) in recent.iter_mut().zip(&bands[base.len()..]) {
        let Some(b) = band else { continue };
        p.ttft_p95_low = Some(b.lower.max(0.0));
        p.ttft_p95_high = Some(b.upper);
        p.ttft_anomaly = p.ttft_p95_ms.is_some_and(|v| is_anomaly(v, b));
        anomalies += u64::from(p.ttft_anomaly);
    }
    anomalies
}

/// How a metric reads off a point.
type Read = fn(&HealthPoint) -> Option<f64>;

/// The metrics judged for drift.
const DRIFTING: &[(&str, Read)] = &[
    ("quality", |p| p.avg_quality),
    ("rating", |p| p.avg_rating),
    ("tokens_per_second", |p| p.tokens_per_second),
    ("ttft_p95_ms", |p| p.ttft_p95_ms),
    ("cache_hit_rate", |p| p.cache_hit_rate),
];

/// Health per (provider, model) with calls in [from, to); buckets in [baseline_from, from)
/// form the baseline. `window` gives a model's context window. Busiest model first.
pub fn health(
    rows: &[RollupRow],
    baseline_from: DateTime<Utc>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    window: impl Fn(&str, &str) -> Option<i64>,
    rule: DriftRule,
) -> Vec<ModelHealth> {
    let mut models: BTreeMap<(&str, &str), BTreeMap<DateTime<Utc>, Bucket>> = BTreeMap::new();
    for r in rows {
        if r.key.bucket < baseline_from || r.key.bucket >= to {
            continue;
        }
        let b = models
            .entry((r.key.provider.as_str(), r.key.model.as_str()))
            .or_default()
            .entry(r.key.bucket)
            .or_default();
        b.stats.merge(&r.stats);
        b.ttft.merge_packed(&r.ttft_packed);
    }
    let mut out: Vec<ModelHealth> = models
        .into_iter()
        .filter_map(|((provider, model), buckets)| {
            let w = window(provider, model);
            let mut total = Bucket::default();
            let (mut base, mut recent) = (Vec::new(), Vec::new());
            for (t, b) in &buckets {
                let p = point(*t, b, w);
                if *t < from {
                    base.push(p);
                } else {
                    total.stats.merge(&b.stats);
                    total.ttft.merge(&b.ttft);
                    recent.push(p);
                }
            }
            if total.stats.calls == 0 {
                return None;
            }
            let ttft_anomalies = mark_ttft_bands(&base, &mut recent);
            let t = point(from, &total, w);
            let drift = DRIFTING
                .iter()
                .filter_map(|(metric, read)| {
                    let b: Vec<f64> = base.iter().filter_map(read).collect();
                    let r: Vec<f64> = recent.iter().filter_map(read).collect();
                    compare(&b, &r, rule).map(|v| DriftFinding {
                        metric: (*metric).to_owned(),
                        baseline: v.baseline,
                        recent: v.recent,
                        change: v.change,
                        z: if v.z.is_finite() {
                            v.z
                        } else {
                            1e9_f64.copysign(v.z)
                        },
                        drifted: v.drifted,
                    })
                })
                .collect();
            Some(ModelHealth {
                provider: provider.to_owned(),
                model: model.to_owned(),
                requests: t.requests,
                context_window: w,
                avg_input_tokens: avg(total.stats.input_tokens as f64, total.stats.calls),
                context_use: t.context_use,
                cache_hit_rate: t.cache_hit_rate,
                tokens_per_second: t.tokens_per_second,
                ttft_p50_ms: t.ttft_p50_ms,
                ttft_p95_ms: t.ttft_p95_ms,
                avg_quality: t.avg_quality,
                avg_rating: t.avg_rating,
                rated_calls: total.stats.rating_calls.max(0) as u64,
                ttft_anomalies,
                series: recent,
                drift,
            })
        })
        .collect();
    out.sort_by(|a, b| b.requests.cmp(&a.requests).then(a.model.cmp(&b.model)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::{rollup::RollupKey, stats::CallFacts};
    use chrono::Duration;

    fn t0() -> DateTime<Utc> {
        "2026-12-01T00:00:00Z".parse().unwrap()
    }

    /// One hour of `n` calls of `model`, each with the given input, cached tokens, TTFT and
    /// quality.
    fn hour(h: i64, model: &str, n: usize, input: i64, cached: i64, quality: f64) -> RollupRow {
        let mut stats = Stats::default();
        for _ in 0..n {
            stats.add(&CallFacts {
                status: "ok".into(),
                http_status: Some(200),
                duration_ms: 900.0,
                ttft_ms: Some(200.0),
                input_tokens: input,
                output_tokens: 50,
                cached_tokens: cached,
                cost_total_micros: None,
                tokens_per_second: Some(40.0),
                quality_score: Some(quality),
                user_rating: None,
                tool_calls: 0,
            });
        }
        let ttft_packed = std::mem::take(&mut stats.ttft).to_packed();
        stats.latency = Histogram::new();
        RollupRow {
            key: RollupKey {
                bucket: t0() + Duration::hours(h),
                provider: "openai".into(),
                model: model.into(),
                feature: String::new(),
            },
            stats,
            latency_packed: Vec::new(),
            ttft_packed,
        }
    }

    #[test]
    fn cache_hits_context_use_and_drift_read_off_the_rollups() {
        let mut rows = Vec::new();
        // 48 baseline hours at quality 90 (with a little wobble), 12 recent hours at 70.
        for h in 0..48 {
            rows.push(hour(h, "gpt-4o", 10, 32_000, 8_000, 90.0 + (h % 3) as f64));
        }
        for h in 48..60 {
            rows.push(hour(h, "gpt-4o", 10, 64_000, 48_000, 70.0 + (h % 3) as f64));
        }
        rows.push(hour(59, "small", 2, 1_000, 0, 50.0));
        let from = t0() + Duration::hours(48);
        let to = t0() + Duration::hours(60);
        let win = |_: &str, m: &str| (m == "gpt-4o").then_some(128_000);
        let h = health(&rows, t0(), from, to, win, DriftRule::default());
        assert_eq!(h.len(), 2);
        let g = &h[0];
        assert_eq!(g.model, "gpt-4o");
        assert_eq!(g.requests, 120, "the recent window only");
        assert_eq!(g.series.len(), 12);
        assert_eq!(g.cache_hit_rate, Some(0.75));
        assert_eq!(g.context_use, Some(0.5));
        assert_eq!(g.avg_input_tokens, Some(64_000.0));
        let q = g.drift.iter().find(|d| d.metric == "quality").unwrap();
        assert!(q.drifted, "{q:?}");
        assert!(
            (q.baseline - 91.0).abs() < 0.1 && (q.recent - 71.0).abs() < 0.1,
            "{q:?}"
        );
        let c = g
            .drift
            .iter()
            .find(|d| d.metric == "cache_hit_rate")
            .unwrap();
        assert!(c.drifted && (c.change - 2.0).abs() < 1e-9, "{c:?}");
        let s = g
            .drift
            .iter()
            .find(|d| d.metric == "tokens_per_second")
            .unwrap();
        assert!(!s.drifted, "speed did not move: {s:?}");
        // No ratings: rating is not judged.
        assert!(g.drift.iter().all(|d| d.metric != "rating"));
        // A model without a known window and without a baseline.
        let small = &h[1];
        assert_eq!(small.context_use, None);
        assert_eq!(small.cache_hit_rate, Some(0.0));
        assert!(small.drift.is_empty());
        assert!((small.ttft_p95_ms.unwrap() - 200.0).abs() < 200.0 * 0.02);
        // A steady TTFT has its band and no anomaly.
        assert_eq!(g.ttft_anomalies, 0);
        assert!(g
            .series
            .iter()
            .all(|p| p.ttft_p95_low.is_some() && !p.ttft_anomaly));
    }

    #[test]
    fn a_ttft_spike_is_flagged_against_the_band() {
        let mut rows: Vec<RollupRow> = (0..40).map(|h| hour(h, "m", 5, 100, 0, 80.0)).collect();
        // Hour 38 answers ten times slower.
        let mut slow = Stats::default();
        for _ in 0..5 {
            slow.add(&CallFacts {
                status: "ok".into(),
                http_status: Some(200),
                duration_ms: 9000.0,
                ttft_ms: Some(2000.0),
                input_tokens: 100,
                output_tokens: 50,
                cached_tokens: 0,
                cost_total_micros: None,
                tokens_per_second: Some(40.0),
                quality_score: Some(80.0),
                user_rating: None,
                tool_calls: 0,
            });
        }
        rows[38].ttft_packed = std::mem::take(&mut slow.ttft).to_packed();
        let from = t0() + Duration::hours(30);
        let to = t0() + Duration::hours(40);
        let h = health(&rows, t0(), from, to, |_, _| None, DriftRule::default());
        let m = &h[0];
        assert_eq!(m.ttft_anomalies, 1);
        let spike = m.series.iter().find(|p| p.ttft_anomaly).unwrap();
        assert_eq!(spike.time, t0() + Duration::hours(38));
        assert!(spike.ttft_p95_high.unwrap() < 300.0);
    }
}
