//! Closed periods: the whole buckets (days, weeks, months) of a range that ended long enough
//! ago that no call normally arrives for them any more. They are merged once, one row per
//! key and bucket, and kept in memory, so a 30-day Overview reads only its open edges from
//! the database instead of every hour row of 60 days.
//!
//! What was kept becomes wrong when rollups of a closed hour change: a late call, a re-cost or
//! a deletion. Each of those bumps a generation counter in the database in the same
//! transaction (`store::rollups`), and a reader that sees a new generation drops everything it
//! kept. Calls within [`LATE_AFTER`] of the current hour do not bump it; what is kept ends at
//! least an hour before that, which leaves room for clocks that differ between servers.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::{Arc, Mutex},
};

use app::types::BucketSize;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use super::{
    bucket::{bucket_start, next_bucket, RollupTier},
    rollup::{RollupKey, RollupRow},
    stats::Stats,
};

/// A call older than this before the start of the current hour is late: storing it bumps
/// the generation.
pub const LATE_AFTER: Duration = Duration::hours(1);

/// The first instant of the current hour less [`LATE_AFTER`]: calls before it are late.
pub fn late_before(now: DateTime<Utc>) -> DateTime<Utc> {
    RollupTier::Hour.truncate(now) - LATE_AFTER
}

/// Buckets ending at or before this may be kept: an hour before [`late_before`].
pub fn horizon(now: DateTime<Utc>) -> DateTime<Utc> {
    late_before(now) - Duration::hours(1)
}

/// A range cut into the parts read from the database and the whole buckets that may be kept.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Split {
    /// At most a head before the closed buckets and a tail after them.
    pub open: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    /// Whole buckets of the range that end at or before the horizon, in order.
    pub closed: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

/// Splits [from, to) for buckets of `size` in `tz`. Minute and hour buckets are already one
/// rollup row per key, so nothing is gained by keeping them: all of it is open.
pub fn split(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    size: BucketSize,
    tz: Tz,
    horizon: DateTime<Utc>,
) -> Split {
    let mut out = Split::default();
    if from >= to {
        return out;
    }
    if !matches!(size, BucketSize::Minute | BucketSize::Hour) {
        let start = bucket_start(from, size, tz);
        let first = if start == from {
            start
        } else {
            next_bucket(start, size, tz)
        };
        let mut b = first;
        loop {
            let next = next_bucket(b, size, tz);
            if next > to || next > horizon || next <= b {
                break;
            }
            out.closed.push((b, next));
            b = next;
        }
        if let (Some(&(c0, _)), Some(&(_, c1))) = (out.closed.first(), out.closed.last()) {
            if from < c0 {
                out.open.push((from, c0));
            }
            if c1 < to {
                out.open.push((c1, to));
            }
            return out;
        }
    }
    out.open.push((from, to));
    out
}

/// Merges rollup rows into one row per (bucket of `size` in `tz`, provider, model, feature),
/// keyed by bucket start; each merged row's bucket is its bucket's start.
pub fn merge_by_bucket(
    rows: &[RollupRow],
    size: BucketSize,
    tz: Tz,
) -> BTreeMap<DateTime<Utc>, Vec<RollupRow>> {
    let mut acc: BTreeMap<RollupKey, Stats> = BTreeMap::new();
    for r in rows {
        let key = RollupKey {
            bucket: bucket_start(r.key.bucket, size, tz),
            ..r.key.clone()
        };
        let s = acc.entry(key).or_default();
        s.merge(&r.stats);
        s.latency.merge_packed(&r.latency_packed);
        s.ttft.merge_packed(&r.ttft_packed);
    }
    let mut out: BTreeMap<DateTime<Utc>, Vec<RollupRow>> = BTreeMap::new();
    for (key, mut stats) in acc {
        let latency_packed = std::mem::take(&mut stats.latency).to_packed();
        let ttft_packed = std::mem::take(&mut stats.ttft).to_packed();
        out.entry(key.bucket).or_default().push(RollupRow {
            key,
            stats,
            latency_packed,
            ttft_packed,
        });
    }
    out
}

/// What one kept bucket is for: its zone, size, bounds and the query's filters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    pub tz: &'static str,
    pub size: BucketSize,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub filter: [Option<String>; 3],
}

/// Merged closed buckets, bounded by the histogram elements and rows they hold; the oldest
/// kept entry goes first when full.
pub struct ClosedCache {
    limit: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    generation: Option<i64>,
    entries: HashMap<CacheKey, Arc<Vec<RollupRow>>>,
    order: VecDeque<CacheKey>,
    weight: usize,
}

fn weight(rows: &[RollupRow]) -> usize {
    rows.iter()
        .map(|r| 8 + r.latency_packed.len() + r.ttft_packed.len())
        .sum::<usize>()
        + 1
}

impl Inner {
    /// Empties what was kept when the database's generation moved on.
    fn at(&mut self, generation: i64) {
        if self.generation != Some(generation) {
            self.entries.clear();
            self.order.clear();
            self.weight = 0;
            self.generation = Some(generation);
        }
    }
}

/// About 8 MB of histogram elements.
pub const DEFAULT_LIMIT: usize = 1_000_000;

impl Default for ClosedCache {
    fn default() -> Self {
        Self::new(DEFAULT_LIMIT)
    }
}

impl ClosedCache {
    /// A cache holding at most about `limit` weight (histogram elements plus 8 per row).
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves at worst a partly filled map: still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The rows kept for `key` under `generation`. A reader still at an older generation
    /// than the newest seen gets nothing (and drops nothing).
    pub fn get(&self, generation: i64, key: &CacheKey) -> Option<Arc<Vec<RollupRow>>> {
        let mut inner = self.lock();
        if inner.generation.is_some_and(|g| g > generation) {
            return None;
        }
        inner.at(generation);
        inner.entries.get(key).cloned()
    }

    /// Keeps `rows` for `key`, read under `generation`; returns them shared. Rows read under
    /// an older generation than the newest seen are returned but not kept.
    pub fn put(&self, generation: i64, key: CacheKey, rows: Vec<RollupRow>) -> Arc<Vec<RollupRow>> {
        let rows = Arc::new(rows);
        let w = weight(&rows);
        let mut inner = self.lock();
        if inner.generation.is_some_and(|g| g > generation) || w > self.limit {
            return rows;
        }
        inner.at(generation);
        while inner.weight + w > self.limit {
            let Some(old) = inner.order.pop_front() else {
                break;
            };
            if let Some(gone) = inner.entries.remove(&old) {
                inner.weight -= weight(&gone);
            }
        }
        if let Some(prev) = inner.entries.insert(key.clone(), rows.clone()) {
            inner.weight -= weight(&prev);
        } else {
            inner.order.push_back(key);
        }
        inner.weight += w;
        rows
    }

    /// Buckets kept now.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::{histogram::Histogram, stats::CallFacts};

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    const BERLIN: Tz = chrono_tz::Europe::Berlin;

    fn row(bucket: &str, model: &str, durations: &[f64]) -> RollupRow {
        let mut stats = Stats::default();
        for d in durations {
            stats.add(&CallFacts {
                status: "ok".into(),
                http_status: None,
                duration_ms: *d,
                ttft_ms: Some(d / 2.0),
                input_tokens: 10,
                output_tokens: 5,
                cached_tokens: 0,
                cost_total_micros: Some(7),
                tokens_per_second: None,
                quality_score: None,
                user_rating: None,
                tool_calls: 0,
            });
        }
        let latency_packed = std::mem::take(&mut stats.latency).to_packed();
        let ttft_packed = std::mem::take(&mut stats.ttft).to_packed();
        RollupRow {
            key: RollupKey {
                bucket: utc(bucket),
                provider: "openai".into(),
                model: model.into(),
                feature: String::new(),
            },
            stats,
            latency_packed,
            ttft_packed,
        }
    }

    #[test]
    fn whole_days_before_the_horizon_are_closed_the_edges_open() {
        // 30 days in Berlin ending 2026-11-30 10:17Z; kept up to 08:00Z that day.
        let now = utc("2026-11-30T10:17:00Z");
        let s = split(
            utc("2026-10-31T10:17:00Z"),
            now,
            BucketSize::Day,
            BERLIN,
            horizon(now),
        );
        assert_eq!(horizon(now), utc("2026-11-30T08:00:00Z"));
        // Head: the rest of Berlin's 31 October; tail: Berlin's 30 November so far.
        assert_eq!(
            s.open,
            vec![
                (utc("2026-10-31T10:17:00Z"), utc("2026-10-31T23:00:00Z")),
                (utc("2026-11-29T23:00:00Z"), now),
            ]
        );
        assert_eq!(s.closed.len(), 29);
        assert_eq!(
            s.closed[0],
            (utc("2026-10-31T23:00:00Z"), utc("2026-11-01T23:00:00Z"))
        );
        assert!(s.closed.windows(2).all(|w| w[0].1 == w[1].0));
    }

    #[test]
    fn a_day_ending_after_the_horizon_stays_open() {
        // 00:30Z: Berlin's day ended at 23:00Z, but the horizon is 22:00Z the day before.
        let now = utc("2026-11-30T00:30:00Z");
        let s = split(
            utc("2026-11-28T23:00:00Z"),
            now,
            BucketSize::Day,
            BERLIN,
            horizon(now),
        );
        assert!(s.closed.is_empty());
        assert_eq!(s.open, vec![(utc("2026-11-28T23:00:00Z"), now)]);
    }

    #[test]
    fn hour_buckets_and_empty_ranges_keep_nothing() {
        let now = utc("2026-11-30T10:00:00Z");
        let from = utc("2026-11-29T10:00:00Z");
        let s = split(from, now, BucketSize::Hour, BERLIN, horizon(now));
        assert_eq!(s.open, vec![(from, now)]);
        assert!(s.closed.is_empty());
        assert_eq!(
            split(now, now, BucketSize::Day, BERLIN, now),
            Split::default()
        );
    }

    #[test]
    fn merged_buckets_hold_exactly_what_their_rows_held() {
        // Two Berlin days (23:00Z boundaries), two models.
        let rows = vec![
            row("2026-11-01T23:00:00Z", "a", &[100.0, 200.0]),
            row("2026-11-02T05:00:00Z", "a", &[300.0]),
            row("2026-11-02T05:00:00Z", "b", &[50.0]),
            row("2026-11-02T23:00:00Z", "a", &[400.0]),
        ];
        let merged = merge_by_bucket(&rows, BucketSize::Day, BERLIN);
        let days: Vec<_> = merged.keys().copied().collect();
        assert_eq!(
            days,
            vec![utc("2026-11-01T23:00:00Z"), utc("2026-11-02T23:00:00Z")]
        );
        let first = &merged[&days[0]];
        assert_eq!(first.len(), 2, "one row per model");
        let a = &first[0];
        assert_eq!((a.key.model.as_str(), a.stats.calls), ("a", 3));
        assert_eq!(a.key.bucket, days[0]);
        assert_eq!(a.stats.input_tokens, 30);
        let mut want = Histogram::new();
        for v in [100.0, 200.0, 300.0] {
            want.record(v);
        }
        assert_eq!(Histogram::from_packed(&a.latency_packed), want);
        assert_eq!(Histogram::from_packed(&a.ttft_packed).count(), 3);
        assert!(a.stats.latency.count() == 0, "histograms travel packed");
        assert_eq!(merged[&days[1]][0].stats.calls, 1);
    }

    fn key(start: &str) -> CacheKey {
        CacheKey {
            tz: "UTC",
            size: BucketSize::Day,
            start: utc(start),
            end: utc(start) + Duration::days(1),
            filter: [None, None, None],
        }
    }

    #[test]
    fn a_new_generation_drops_what_was_kept() {
        let c = ClosedCache::default();
        let k = key("2026-11-01T00:00:00Z");
        c.put(1, k.clone(), vec![row("2026-11-01T00:00:00Z", "a", &[1.0])]);
        assert_eq!(c.get(1, &k).map(|r| r.len()), Some(1));
        assert!(c.get(2, &k).is_none(), "a late call moved the generation");
        assert!(c.is_empty());
        // A reader that started before the bump must not put back what it read.
        c.put(1, k.clone(), vec![]);
        assert!(c.get(2, &k).is_none());
    }

    #[test]
    fn the_oldest_entry_goes_first_when_full() {
        let one = || vec![row("2026-11-01T00:00:00Z", "a", &[1.0])];
        let w = weight(&one());
        let c = ClosedCache::new(2 * w);
        let (a, b, d) = (
            key("2026-11-01T00:00:00Z"),
            key("2026-11-02T00:00:00Z"),
            key("2026-11-03T00:00:00Z"),
        );
        c.put(1, a.clone(), one());
        c.put(1, b.clone(), one());
        c.put(1, d.clone(), one());
        assert!(c.get(1, &a).is_none());
        assert!(c.get(1, &b).is_some() && c.get(1, &d).is_some());
        assert_eq!(c.len(), 2);
    }
}
