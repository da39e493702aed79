//! A mergeable log-bucket histogram for latencies (the DDSketch bucket scheme).
//!
//! A value `v` (milliseconds) falls in bucket `k = ceil(ln v / ln γ)`, i.e. `γ^(k-1) < v ≤ γ^k`,
//! and a bucket is reported as `2γ^k / (γ + 1)`. Every value in the bucket is then within
//! [`RELATIVE_ERROR`] = (γ − 1) / (γ + 1) of the reported one, so a nearest-rank percentile
//! read from merged buckets is within that relative error of the exact percentile of the raw
//! values. Buckets are counts, so merging two histograms is adding counts: rollups of any
//! range merge without touching raw rows.
//!
//! Stored sparse, as `BIGINT[]` whose elements pack `(key + KEY_OFFSET) << 32 | count`; the
//! SQL function `sl_hist_merge` (migration 0005) merges two such arrays the same way.

/// Bucket growth factor.
pub const GAMMA: f64 = 1.04;
/// The largest relative error of a reported value: (γ − 1) / (γ + 1) ≈ 1.96 %.
pub const RELATIVE_ERROR: f64 = (GAMMA - 1.0) / (GAMMA + 1.0);
/// Values at or below this (ms) share the lowest bucket; nothing that fast is a network call.
const MIN_VALUE: f64 = 0.001;
/// Keys are shifted so the packed form stays non-negative.
const KEY_OFFSET: i32 = 1 << 12;

/// `key_of(MIN_VALUE)`, as a constant for the hot paths (a test checks it).
const MIN_KEY: i32 = -176;

fn min_key() -> i32 {
    MIN_KEY
}

fn key_of(v: f64) -> i32 {
    (v.ln() / GAMMA.ln()).ceil() as i32
}

/// Counts per bucket, dense from the lowest bucket used to the highest (so merging is adding
/// slices). Starting at the lowest one used rather than at [`MIN_KEY`] keeps a histogram of
/// LLM latencies (100 ms to a minute) about a third as long: merges are that much cheaper.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    counts: Vec<u64>,
    /// The key of `counts[0]` (while `counts` is empty: 0).
    base: i32,
    count: u64,
}

impl Histogram {
    pub fn new() -> Self {
        Self::default()
    }

    fn slot(&mut self, key: i32) -> &mut u64 {
        let key = key.max(min_key());
        if self.counts.is_empty() {
            self.base = key;
        } else if key < self.base {
            let grow = (self.base - key) as usize;
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.base = key;
        }
        let i = (key - self.base) as usize;
        if i >= self.counts.len() {
            self.counts.resize(i + 1, 0);
        }
        &mut self.counts[i]
    }

    /// Adds one value; negative and non-finite values are not latencies and are ignored.
    pub fn record(&mut self, v: f64) {
        if !v.is_finite() || v < 0.0 {
            return;
        }
        let key = if v <= MIN_VALUE { min_key() } else { key_of(v) };
        *self.slot(key) += 1;
        self.count += 1;
    }

    pub fn merge(&mut self, other: &Histogram) {
        if other.counts.is_empty() {
            return;
        }
        // Widen to cover the other's range, then add slice to slice.
        self.slot(other.base);
        self.slot(other.base + other.counts.len() as i32 - 1);
        let from = (other.base - self.base) as usize;
        for (a, b) in self.counts[from..].iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.count += other.count;
    }

    /// Merges the packed (stored) form without building a histogram for it.
    pub fn merge_packed(&mut self, packed: &[i64]) {
        for e in packed {
            let key = (e >> 32) as i32 - KEY_OFFSET;
            let count = (e & 0xFFFF_FFFF) as u64;
            if count > 0 {
                *self.slot(key) += count;
                self.count += count;
            }
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    fn buckets(&self) -> impl Iterator<Item = (i32, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, c)| (i as i32 + self.base, *c))
    }

    /// Each used bucket's reported value and count, smallest first (for distributions).
    pub fn values(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        self.buckets().map(|(k, c)| (representative(k), c))
    }

    /// The nearest-rank `q`-quantile (0 < q ≤ 1): the value of rank ⌈q·n⌉, within
    /// [`RELATIVE_ERROR`]. None when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        let mut last = None;
        for (k, c) in self.buckets() {
            seen += c;
            last = Some(k);
            if seen >= rank {
                return Some(representative(k));
            }
        }
        last.map(representative)
    }

    /// The packed form stored in PostgreSQL. A count beyond 32 bits (possible once days of
    /// rollups are merged) is split over several elements of the same key, which every reader
    /// adds up.
    pub fn to_packed(&self) -> Vec<i64> {
        const MAX: u64 = 0xFFFF_FFFF;
        let mut out = Vec::new();
        for (k, mut c) in self.buckets() {
            let key = i64::from(k + KEY_OFFSET) << 32;
            while c > MAX {
                out.push(key | MAX as i64);
                c -= MAX;
            }
            out.push(key | c as i64);
        }
        out
    }

    /// Reads the packed form; malformed elements are skipped.
    pub fn from_packed(packed: &[i64]) -> Self {
        let mut h = Histogram::new();
        h.merge_packed(packed);
        h
    }

    /// The packed form as a PostgreSQL array literal, for binding through `text[]`.
    pub fn to_pg_literal(&self) -> String {
        let parts: Vec<String> = self.to_packed().iter().map(i64::to_string).collect();
        format!("{{{}}}", parts.join(","))
    }
}

fn representative(key: i32) -> f64 {
    if key <= min_key() {
        return MIN_VALUE;
    }
    2.0 * GAMMA.powi(key) / (GAMMA + 1.0)
}

/// The exact nearest-rank quantile of `values` (sorted in place); the reference the
/// histogram is held to in tests.
pub fn exact_quantile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((q * values.len() as f64).ceil() as usize).max(1);
    Some(values[rank.min(values.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_of_any_ranges_in_any_order_equal_recording_everything() {
        let low = [0.0005, 0.5, 3.0];
        let high = [250.0, 900.0, 42_000.0];
        let mid = [1.0, 120.0];
        let hist = |vs: &[f64]| {
            let mut h = Histogram::new();
            vs.iter().for_each(|v| h.record(*v));
            h
        };
        let all: Vec<f64> = low.iter().chain(&high).chain(&mid).copied().collect();
        let mut up = hist(&high);
        up.merge(&hist(&low));
        up.merge(&hist(&mid));
        let mut down = hist(&mid);
        down.merge(&hist(&high));
        down.merge(&Histogram::new());
        down.merge(&hist(&low));
        assert_eq!(up, hist(&all));
        assert_eq!(down, hist(&all));
        let mut packed = Histogram::new();
        packed.merge_packed(&hist(&high).to_packed());
        packed.merge_packed(&hist(&low).to_packed());
        packed.merge_packed(&hist(&mid).to_packed());
        assert_eq!(packed, hist(&all));
        assert_eq!(packed.quantile(1.0), hist(&high).quantile(1.0));
    }

    /// A deterministic spread of latencies over six orders of magnitude.
    fn sample(n: usize, seed: u64) -> Vec<f64> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let u = (x % 1_000_000) as f64 / 1_000_000.0;
                0.5 * 10f64.powf(u * 6.0)
            })
            .collect()
    }

    fn within(estimate: f64, exact: f64) -> bool {
        ((estimate - exact) / exact).abs() <= RELATIVE_ERROR + 1e-9
    }

    #[test]
    fn quantiles_are_within_the_stated_relative_error() {
        let mut values = sample(20_000, 42);
        let mut h = Histogram::new();
        values.iter().for_each(|v| h.record(*v));
        for q in [0.01, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
            let exact = exact_quantile(&mut values, q).unwrap();
            let est = h.quantile(q).unwrap();
            assert!(within(est, exact), "q={q}: {est} vs {exact}");
        }
    }

    #[test]
    fn merged_histograms_equal_one_histogram_of_all_values() {
        let a_vals = sample(5_000, 1);
        let b_vals = sample(7_000, 2);
        let (mut a, mut b, mut all) = (Histogram::new(), Histogram::new(), Histogram::new());
        a_vals.iter().for_each(|v| a.record(*v));
        b_vals.iter().for_each(|v| b.record(*v));
        a_vals.iter().chain(&b_vals).for_each(|v| all.record(*v));
        a.merge(&b);
        assert_eq!(a, all);
        let mut both: Vec<f64> = a_vals.into_iter().chain(b_vals).collect();
        let exact = exact_quantile(&mut both, 0.95).unwrap();
        assert!(within(a.quantile(0.95).unwrap(), exact));
    }

    #[test]
    fn packed_form_round_trips() {
        let mut h = Histogram::new();
        for v in [0.0, 0.0005, 0.2, 1.0, 1.0, 250.0, 86_400_000.0] {
            h.record(v);
        }
        let packed = h.to_packed();
        assert!(packed.iter().all(|e| *e > 0));
        assert_eq!(Histogram::from_packed(&packed), h);
        assert_eq!(h.to_pg_literal().matches(',').count(), packed.len() - 1);
    }

    #[test]
    fn counts_beyond_32_bits_survive_packing() {
        let mut h = Histogram::from_packed(&[(i64::from(KEY_OFFSET) << 32) | 0xFFFF_FFFF]);
        h.merge(&h.clone());
        h.merge(&Histogram::from_packed(
            &[(i64::from(KEY_OFFSET) << 32) | 3],
        ));
        assert_eq!(h.count(), 2 * 0xFFFF_FFFF + 3);
        let packed = h.to_packed();
        assert_eq!(packed.len(), 3, "one key, split in three elements");
        assert_eq!(Histogram::from_packed(&packed), h);
    }

    #[test]
    fn empty_and_invalid_values() {
        let mut h = Histogram::new();
        assert_eq!(h.quantile(0.5), None);
        h.record(f64::NAN);
        h.record(-1.0);
        assert_eq!(h.count(), 0);
        h.record(100.0);
        assert!(within(h.quantile(0.01).unwrap(), 100.0));
        assert_eq!(Histogram::new().to_pg_literal(), "{}");
    }

    #[test]
    fn the_lowest_key_matches_the_lowest_value() {
        assert_eq!(MIN_KEY, key_of(MIN_VALUE));
    }

    #[test]
    fn stated_error_is_about_two_percent() {
        assert!((RELATIVE_ERROR - 0.0196).abs() < 0.0001);
    }
}
