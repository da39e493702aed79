//! The Overview's usual bands (pure): for each bucket of the range, the rolling median ±
//! 4 scaled MADs of the buckets before it, the previous period included, so the first
//! bucket of the range has a band too. A bucket above its band is unusual cost, token use,
//! latency or error rate for this time range.

use app::types::{Band, BucketBands, BucketFigures, Figures};

use crate::domain::drift;

/// Buckets a band is read from: a day of hours, a week of 7-hour buckets.
pub const WINDOW: usize = 24;
const MADS: f64 = 4.0;

/// One figure: how it is read from a bucket, and the band's least half-width, so a flat
/// history does not flag a cent or a millisecond.
struct Figure {
    value: fn(&Figures) -> Option<f64>,
    floor: f64,
}

/// The error rate's least half-width at a bucket of `n` calls: 3 binomial standard errors
/// at the history's pooled rate. On a quiet service most buckets have no error at all (a
/// median and MAD of 0), and one failed call out of 20 is chance, not an anomaly.
fn error_floor(history: &[&Figures], n: u64) -> f64 {
    let (errors, calls) = history.iter().fold((0.0, 0.0), |(e, c), f| {
        (e + f.error_rate * f.requests as f64, c + f.requests as f64)
    });
    if calls == 0.0 || n == 0 {
        return ERRORS.floor;
    }
    let p = errors / calls;
    (3.0 * (p * (1.0 - p) / n as f64).sqrt()).max(ERRORS.floor)
}

const COST: Figure = Figure {
    value: |f| Some(f.cost_micros as f64 / 1e6),
    floor: 0.01,
};
const TOKENS: Figure = Figure {
    value: |f| Some(f.total_tokens as f64),
    floor: 100.0,
};
const LATENCY: Figure = Figure {
    value: |f| f.p95_latency_ms,
    floor: 5.0,
};
const ERRORS: Figure = Figure {
    // A bucket without calls has no error rate, not a rate of zero.
    value: |f| (f.requests > 0).then_some(f.error_rate),
    floor: 0.005,
};

fn bands_of(all: &[&Figures], at: usize, figure: &Figure, floor: f64) -> Option<Band> {
    let past: Vec<f64> = all[at.saturating_sub(WINDOW)..at]
        .iter()
        .map(|f| (figure.value)(f).unwrap_or(f64::NAN))
        .collect();
    drift::band(&past, WINDOW / 2, MADS, floor).map(|b| Band {
        lower: b.lower.max(0.0),
        upper: b.upper,
    })
}

/// The bands of each bucket of `current`, with `previous` (the period before, oldest first)
/// as the history of its first buckets.
pub fn overview_bands(previous: &[BucketFigures], current: &[BucketFigures]) -> Vec<BucketBands> {
    let all: Vec<&Figures> = previous.iter().chain(current).map(|b| &b.figures).collect();
    current
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let at = previous.len() + i;
            let history = &all[at.saturating_sub(WINDOW)..at];
            BucketBands {
                start: b.start,
                cost_usd: bands_of(&all, at, &COST, COST.floor),
                total_tokens: bands_of(&all, at, &TOKENS, TOKENS.floor),
                p95_latency_ms: bands_of(&all, at, &LATENCY, LATENCY.floor),
                error_rate: bands_of(&all, at, &ERRORS, error_floor(history, b.figures.requests)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};

    fn bucket(h: i64, cost_usd: f64, p95: Option<f64>) -> BucketFigures {
        BucketFigures {
            start: Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap() + Duration::hours(h),
            figures: Figures {
                requests: 100,
                cost_micros: (cost_usd * 1e6) as i64,
                total_tokens: 10_000,
                p95_latency_ms: p95,
                ..Default::default()
            },
        }
    }

    #[test]
    fn a_cost_spike_leaves_its_band_drawn_from_the_previous_period() {
        // $2 ± 0.1 an hour for a day, then today's buckets with a $9 hour at 5.
        let previous: Vec<_> = (0..24)
            .map(|h| bucket(h, 2.0 + 0.1 * ((h % 3) as f64 - 1.0), Some(800.0)))
            .collect();
        let current: Vec<_> = (24..48)
            .map(|h| bucket(h, if h == 29 { 9.0 } else { 2.0 }, Some(800.0)))
            .collect();
        let bands = overview_bands(&previous, &current);
        assert_eq!(bands.len(), 24);
        let first = bands[0]
            .cost_usd
            .expect("the previous period is its history");
        assert!(
            first.lower < 2.0 && first.upper > 2.0 && first.upper < 3.0,
            "{first:?}"
        );
        assert!(bands[5].cost_usd.unwrap().above(9.0));
        assert!(
            !bands[6].cost_usd.unwrap().above(2.0),
            "the spike does not stay"
        );
        assert!(!bands[7].cost_usd.unwrap().above(2.05));
        // Flat tokens keep the floor; no latency band from buckets without latency.
        let t = bands[3].total_tokens.unwrap();
        assert_eq!((t.lower, t.upper), (9_900.0, 10_100.0));
        assert!(bands[0].p95_latency_ms.is_some());
    }

    #[test]
    fn one_failed_call_of_twenty_is_chance_but_a_failing_hour_is_not() {
        // 2 % of calls fail on average; most hours have none.
        let hour = |h: i64, requests: u64, errors: u64| {
            let mut b = bucket(h, 1.0, Some(800.0));
            b.figures.requests = requests;
            b.figures.error_rate = errors as f64 / requests as f64;
            b
        };
        let previous: Vec<_> = (0..24)
            .map(|h| hour(h, 20, u64::from(h % 3 == 0)))
            .collect();
        let current = vec![hour(24, 20, 1), hour(25, 20, 8)];
        let bands = overview_bands(&previous, &current);
        let one = bands[0].error_rate.unwrap();
        assert!(!one.above(0.05), "1 of 20: {one:?}");
        let eight = bands[1].error_rate.unwrap();
        assert!(eight.above(0.4), "8 of 20: {eight:?}");
    }

    #[test]
    fn without_history_there_is_no_band() {
        let current: Vec<_> = (0..30).map(|h| bucket(h, 1.0, None)).collect();
        let bands = overview_bands(&[], &current);
        assert!(bands[..12].iter().all(|b| b.cost_usd.is_none()));
        assert!(bands[12].cost_usd.is_some(), "half a window is enough");
        assert!(bands.iter().all(|b| b.p95_latency_ms.is_none()));
    }
}
