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

fn bands_of(all: &[&Figures], at: usize, figure: &Figure) -> Option<Band> {
    let past: Vec<f64> = all[at.saturating_sub(WINDOW)..at]
        .iter()
        .map(|f| (figure.value)(f).unwrap_or(f64::NAN))
        .collect();
    drift::band(&past, WINDOW / 2, MADS, figure.floor).map(|b| Band {
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
            BucketBands {
                start: b.start,
                cost_usd: bands_of(&all, at, &COST),
                total_tokens: bands_of(&all, at, &TOKENS),
                p95_latency_ms: bands_of(&all, at, &LATENCY),
                error_rate: bands_of(&all, at, &ERRORS),
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
    fn without_history_there_is_no_band() {
        let current: Vec<_> = (0..30).map(|h| bucket(h, 1.0, None)).collect();
        let bands = overview_bands(&[], &current);
        assert!(bands[..12].iter().all(|b| b.cost_usd.is_none()));
        assert!(bands[12].cost_usd.is_some(), "half a window is enough");
        assert!(bands.iter().all(|b| b.p95_latency_ms.is_none()));
    }
}
