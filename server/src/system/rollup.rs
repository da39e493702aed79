//! Per-minute and per-hour rollups of sample series: min, max, sum, count and last, folded
//! from samples as they arrive and merged with what is stored (a late or replayed batch
//! lands in its own buckets, whatever order it comes in).

use std::collections::BTreeMap;

use app::types::system::MetricSeries;
use chrono::{DateTime, Utc};

use crate::domain::system::Agg;

/// The start of the `size_s`-second bucket holding `t` (UTC, aligned to the epoch).
pub fn bucket_of(t: DateTime<Utc>, size_s: i64) -> DateTime<Utc> {
    let s = t.timestamp().div_euclid(size_s) * size_s;
    DateTime::from_timestamp(s, 0).unwrap_or(t)
}

/// Folds samples (time and named values) into buckets of `size_s` seconds.
pub fn fold<'a>(
    samples: impl IntoIterator<Item = (DateTime<Utc>, &'a [(String, f64)])>,
    size_s: i64,
) -> BTreeMap<(DateTime<Utc>, String), Agg> {
    let mut out: BTreeMap<(DateTime<Utc>, String), Agg> = BTreeMap::new();
    for (t, values) in samples {
        let b = bucket_of(t, size_s);
        for (name, v) in values {
            let a = Agg::of(*v, t);
            match out.get_mut(&(b, name.clone())) {
                Some(agg) => agg.merge(&a),
                None => {
                    out.insert((b, name.clone()), a);
                }
            }
        }
    }
    out
}

/// Re-buckets points (raw values as one-sample aggregates, or rollup rows) into `step_s`
/// steps per series: `[unix_ms, avg, min, max]`, series by name, points oldest first.
pub fn downsample(
    points: impl IntoIterator<Item = (DateTime<Utc>, String, Agg)>,
    step_s: i64,
) -> Vec<MetricSeries> {
    let mut by_series: BTreeMap<String, BTreeMap<DateTime<Utc>, Agg>> = BTreeMap::new();
    for (t, name, agg) in points {
        let steps = by_series.entry(name).or_default();
        match steps.entry(bucket_of(t, step_s)) {
            std::collections::btree_map::Entry::Occupied(mut e) => e.get_mut().merge(&agg),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(agg);
            }
        }
    }
    by_series
        .into_iter()
        .map(|(name, steps)| MetricSeries {
            name,
            points: steps
                .into_iter()
                .map(|(t, a)| [t.timestamp_millis() as f64, a.avg(), a.min, a.max])
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }

    #[test]
    fn samples_fold_into_aligned_buckets() {
        let a = [("cpu".to_owned(), 10.0)];
        let b = [("cpu".to_owned(), 30.0), ("mem".to_owned(), 5.0)];
        let c = [("cpu".to_owned(), 20.0)];
        // 1_700_000_000 is 20 s past a minute boundary.
        let f = fold([(t(0), &a[..]), (t(30), &b[..]), (t(50), &c[..])], 60);
        let cpu0 = f[&(bucket_of(t(0), 60), "cpu".to_owned())];
        assert_eq!(
            (cpu0.min, cpu0.max, cpu0.count, cpu0.last),
            (10.0, 30.0, 2, 30.0)
        );
        assert_eq!(cpu0.avg(), 20.0);
        let cpu1 = f[&(bucket_of(t(50), 60), "cpu".to_owned())];
        assert_eq!((cpu1.count, cpu1.last), (1, 20.0));
        assert_eq!(f.len(), 3);
        assert_eq!(bucket_of(t(0), 60).timestamp() % 60, 0);
    }

    #[test]
    fn merging_in_any_order_gives_the_same_aggregate() {
        let xs = [(3.0, t(1)), (9.0, t(5)), (1.0, t(3)), (4.0, t(2))];
        let mut forward = Agg::of(xs[0].0, xs[0].1);
        for (v, at) in &xs[1..] {
            forward.merge(&Agg::of(*v, *at));
        }
        let mut backward = Agg::of(xs[3].0, xs[3].1);
        for (v, at) in xs[..3].iter().rev() {
            backward.merge(&Agg::of(*v, *at));
        }
        assert_eq!(forward, backward);
        assert_eq!(
            (forward.min, forward.max, forward.last, forward.count),
            (1.0, 9.0, 9.0, 4)
        );
    }

    #[test]
    fn downsampling_merges_steps_per_series() {
        let pts = vec![
            (t(40), "cpu".to_owned(), Agg::of(10.0, t(40))),
            (t(45), "cpu".to_owned(), Agg::of(30.0, t(45))),
            (t(100), "cpu".to_owned(), Agg::of(50.0, t(100))),
            (t(41), "mem".to_owned(), Agg::of(7.0, t(41))),
        ];
        let s = downsample(pts, 60);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name, "cpu");
        let first = s[0].points[0];
        assert_eq!(first[0], (bucket_of(t(40), 60).timestamp_millis()) as f64);
        assert_eq!(&first[1..], &[20.0, 10.0, 30.0]);
        assert_eq!(s[0].points[1][1], 50.0);
        assert_eq!(s[1].points.len(), 1);
    }
}
