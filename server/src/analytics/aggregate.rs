//! Folding summaries (rollup rows or raw calls) into totals, previous-period totals and
//! per-group time series. Pure: the HTTP layer fetches, this decides.

use std::collections::HashMap;

use app::types::{BucketFigures, BucketSize, GroupFigures};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::{
    bucket::{bucket_start, next_bucket},
    stats::{CallFacts, Stats},
};

/// What to compute: the period [from, to), the previous one [previous_from, from), and the
/// buckets of the series.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub previous_from: DateTime<Utc>,
    pub size: BucketSize,
    pub tz: Tz,
}

impl Window {
    /// The window of `[from, to)` and its previous period of equal length.
    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>, size: BucketSize, tz: Tz) -> Self {
        Self {
            from,
            to,
            previous_from: from - (to - from),
            size,
            tz,
        }
    }

    fn seconds(a: DateTime<Utc>, b: DateTime<Utc>) -> f64 {
        (b - a).num_milliseconds().max(0) as f64 / 1000.0
    }
}

#[derive(Debug, Default)]
struct Group {
    totals: Stats,
    previous: Stats,
    buckets: HashMap<DateTime<Utc>, Stats>,
}

impl Group {
    fn merge(&mut self, o: &Group) {
        self.totals.merge(&o.totals);
        self.previous.merge(&o.previous);
        for (b, s) in &o.buckets {
            self.buckets.entry(*b).or_default().merge(s);
        }
    }
}

/// The running aggregate.
#[derive(Debug)]
pub struct Aggregate {
    window: Window,
    /// Whether groups keep a series (the overview's per-model figures do not).
    series: bool,
    totals: Stats,
    previous: Stats,
    /// The previous period per bucket (with a series): the history the bands are read from.
    previous_buckets: HashMap<DateTime<Utc>, Stats>,
    /// Hashed, not ordered: a row finds its group in one hash, where an ordered map compared
    /// strings at every level (a profile of analytics by user found a sixth of the time there).
    /// Everything that reads them in order sorts first.
    groups: HashMap<String, Group>,
}

/// Groups answered at most: the busiest, then one [`OTHER`] with the rest.
pub const MAX_GROUPS: usize = 50;
/// Distinct groups kept while folding; later new keys go to [`OTHER`] at once.
pub const MAX_TRACKED_GROUPS: usize = 1000;
/// The key of the group that holds what the named groups do not.
pub const OTHER: &str = "(other)";

impl Aggregate {
    pub fn new(window: Window) -> Self {
        Self::with_series(window, true)
    }

    /// Totals per group only, no time series.
    pub fn totals_only(window: Window) -> Self {
        Self::with_series(window, false)
    }

    fn with_series(window: Window, series: bool) -> Self {
        Self {
            window,
            series,
            totals: Stats::default(),
            previous: Stats::default(),
            previous_buckets: HashMap::new(),
            groups: HashMap::new(),
        }
    }

    /// Adds the summary of calls at `time` (a rollup bucket's start or a call's time) in
    /// `group`. Anything outside both periods is ignored.
    pub fn add(&mut self, time: DateTime<Utc>, group: &str, stats: &Stats) {
        self.apply(time, group, |s| s.merge(stats));
    }

    /// Adds one raw call.
    pub fn add_call(&mut self, time: DateTime<Utc>, group: &str, call: &CallFacts) {
        self.apply(time, group, |s| s.add(call));
    }

    /// Adds a rollup row: its summary and its packed histograms.
    pub fn add_rollup(
        &mut self,
        time: DateTime<Utc>,
        group: &str,
        stats: &Stats,
        latency: &[i64],
        ttft: &[i64],
    ) {
        self.apply(time, group, |s| {
            s.merge(stats);
            s.latency.merge_packed(latency);
            s.ttft.merge_packed(ttft);
        });
    }

    fn apply(&mut self, time: DateTime<Utc>, group: &str, f: impl Fn(&mut Stats)) {
        let w = self.window;
        let current = (w.from..w.to).contains(&time);
        if !current && !(w.previous_from..w.from).contains(&time) {
            return;
        }
        let key = self.group_key(group);
        // Looked up by reference: a key is allocated once, not once per row added.
        if !self.groups.contains_key(key) {
            self.groups.insert(key.to_owned(), Group::default());
        }
        let series = self.series.then(|| bucket_start(time, w.size, w.tz));
        let Some(g) = self.groups.get_mut(key) else {
            return;
        };
        if current {
            f(&mut self.totals);
            f(&mut g.totals);
            if let Some(b) = series {
                f(g.buckets.entry(b).or_default());
            }
        } else {
            f(&mut self.previous);
            f(&mut g.previous);
            if let Some(b) = series {
                f(self.previous_buckets.entry(b).or_default());
            }
        }
    }

    /// The group `key` is counted in: once [`MAX_TRACKED_GROUPS`] exist, new keys fold into
    /// [`OTHER`], so invented names cannot grow memory without bound.
    fn group_key<'k>(&self, key: &'k str) -> &'k str {
        if self.groups.contains_key(key) || self.groups.len() < MAX_TRACKED_GROUPS {
            key
        } else {
            OTHER
        }
    }

    pub fn totals(&self) -> app::types::Figures {
        let w = self.window;
        self.totals.figures(Window::seconds(w.from, w.to))
    }

    pub fn previous(&self) -> app::types::Figures {
        let w = self.window;
        self.previous
            .figures(Window::seconds(w.previous_from, w.from))
    }

    /// The groups, busiest first; with `starts` each gets the full series (empty buckets
    /// included, so charts have a continuous axis). Figures are computed only for the groups
    /// answered: past MAX_GROUPS - 1 named ones, the rest (and what was folded while adding)
    /// become one OTHER group over exactly those calls.
    pub fn groups(&self, starts: Option<&[DateTime<Utc>]>) -> Vec<GroupFigures> {
        let w = self.window;
        let figures = |key: &str, g: &Group| GroupFigures {
            key: key.to_owned(),
            totals: g.totals.figures(Window::seconds(w.from, w.to)),
            previous: g.previous.figures(Window::seconds(w.previous_from, w.from)),
            buckets: starts
                .map(|s| series(&w, s, |b| g.buckets.get(&b)))
                .unwrap_or_default(),
        };
        let mut named: Vec<(&String, &Group)> =
            self.groups.iter().filter(|(k, _)| *k != OTHER).collect();
        named.sort_by(|a, b| {
            b.1.totals
                .calls
                .cmp(&a.1.totals.calls)
                .then_with(|| a.0.cmp(b.0))
        });
        let folded = self.groups.get(OTHER);
        if named.len() <= MAX_GROUPS && folded.is_none() {
            return named.into_iter().map(|(k, g)| figures(k, g)).collect();
        }
        let keep = named.len().min(MAX_GROUPS - 1);
        let mut merged = Group::default();
        for g in named[keep..].iter().map(|(_, g)| *g).chain(folded) {
            merged.merge(g);
        }
        named[..keep]
            .iter()
            .map(|(k, g)| figures(k, g))
            .chain(std::iter::once(figures(OTHER, &merged)))
            .collect()
    }

    /// The series of all groups together.
    pub fn series(&self, starts: &[DateTime<Utc>]) -> Vec<BucketFigures> {
        let mut all: HashMap<DateTime<Utc>, Stats> = HashMap::new();
        // In key order, so float sums come out the same every time.
        let mut groups: Vec<(&String, &Group)> = self.groups.iter().collect();
        groups.sort_by(|a, b| a.0.cmp(b.0));
        for (_, g) in groups {
            for (b, s) in &g.buckets {
                all.entry(*b).or_default().merge(s);
            }
        }
        series(&self.window, starts, |b| all.get(&b))
    }
}

impl Aggregate {
    /// The previous period's series over `starts` (its bucket starts).
    pub fn previous_series(&self, starts: &[DateTime<Utc>]) -> Vec<BucketFigures> {
        let w = Window {
            from: self.window.previous_from,
            to: self.window.from,
            ..self.window
        };
        series(&w, starts, |b| self.previous_buckets.get(&b))
    }
}

fn series<'a>(
    w: &Window,
    starts: &[DateTime<Utc>],
    get: impl Fn(DateTime<Utc>) -> Option<&'a Stats>,
) -> Vec<BucketFigures> {
    let empty = Stats::default();
    starts
        .iter()
        .map(|start| {
            let end = next_bucket(*start, w.size, w.tz).min(w.to);
            let seconds = Window::seconds((*start).max(w.from), end);
            BucketFigures {
                start: *start,
                figures: get(*start).unwrap_or(&empty).figures(seconds),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::bucket;
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn one(ms: f64, cost: i64) -> Stats {
        let mut s = Stats::default();
        s.add(&CallFacts {
            status: "ok".into(),
            http_status: Some(200),
            duration_ms: ms,
            ttft_ms: None,
            input_tokens: 10,
            output_tokens: 5,
            cached_tokens: 0,
            cost_total_micros: Some(cost),
            tokens_per_second: None,
            quality_score: None,
            user_rating: None,
            tool_calls: 0,
        });
        s
    }

    #[test]
    fn current_and_previous_periods_are_split_and_compared() {
        let w = Window::new(
            utc("2026-05-02T00:00:00Z"),
            utc("2026-05-03T00:00:00Z"),
            BucketSize::Hour,
            chrono_tz::UTC,
        );
        assert_eq!(w.previous_from, utc("2026-05-01T00:00:00Z"));
        let mut a = Aggregate::new(w);
        a.add(utc("2026-05-02T10:00:00Z"), "gpt", &one(100.0, 10));
        a.add(utc("2026-05-02T10:01:00Z"), "gpt", &one(300.0, 10));
        a.add(utc("2026-05-02T11:00:00Z"), "claude", &one(200.0, 30));
        a.add(utc("2026-05-01T11:00:00Z"), "gpt", &one(200.0, 40));
        a.add(utc("2026-04-30T11:00:00Z"), "gpt", &one(200.0, 1000)); // outside both
        let t = a.totals();
        let p = a.previous();
        assert_eq!((t.requests, t.cost_micros), (3, 50));
        assert_eq!((p.requests, p.cost_micros), (1, 40));
        assert_eq!(
            app::types::change(t.cost_micros as f64, p.cost_micros as f64),
            Some(0.25)
        );
        assert!((t.requests_per_second - 3.0 / 86_400.0).abs() < 1e-12);

        let starts = bucket::series(w.from, w.to, w.size, w.tz, 100).unwrap();
        let groups = a.groups(Some(&starts));
        assert_eq!(groups[0].key, "gpt");
        assert_eq!(groups[0].totals.requests, 2);
        assert_eq!(groups[0].previous.requests, 1);
        assert_eq!(groups[0].buckets.len(), 24);
        assert_eq!(groups[0].buckets[10].figures.requests, 2);
        assert_eq!(groups[0].buckets[10].figures.avg_latency_ms, Some(200.0));
        assert_eq!(groups[1].buckets[11].figures.requests, 1);
        let all = a.series(&starts);
        assert_eq!(all.iter().map(|b| b.figures.requests).sum::<u64>(), 3);
        assert!((all[10].figures.requests_per_second - 2.0 / 3600.0).abs() < 1e-12);
    }

    #[test]
    fn invented_names_fold_into_other_and_nothing_is_lost() {
        let w = Window::new(
            utc("2026-05-02T00:00:00Z"),
            utc("2026-05-03T00:00:00Z"),
            BucketSize::Hour,
            chrono_tz::UTC,
        );
        let mut a = Aggregate::new(w);
        let n = MAX_TRACKED_GROUPS + 500;
        for i in 0..n {
            // The first model is the busiest, so it stays named.
            let times = if i == 0 { 10 } else { 1 };
            for _ in 0..times {
                a.add(
                    utc("2026-05-02T10:00:00Z"),
                    &format!("m{i}"),
                    &one(100.0, 1),
                );
            }
        }
        assert_eq!(a.groups.len(), MAX_TRACKED_GROUPS + 1);
        let starts = bucket::series(w.from, w.to, w.size, w.tz, 100).unwrap();
        let groups = a.groups(Some(&starts));
        assert_eq!(groups.len(), MAX_GROUPS);
        assert_eq!(groups[0].key, "m0");
        let last = groups.last().unwrap();
        assert_eq!(last.key, OTHER);
        let total: u64 = groups.iter().map(|g| g.totals.requests).sum();
        assert_eq!(total, a.totals().requests);
        let in_buckets: u64 = last.buckets.iter().map(|b| b.figures.requests).sum();
        assert_eq!(in_buckets, last.totals.requests);
    }

    #[test]
    fn day_buckets_follow_the_time_zone() {
        let tz = chrono_tz::America::New_York;
        let w = Window::new(
            utc("2026-05-01T04:00:00Z"),
            utc("2026-05-03T04:00:00Z"),
            BucketSize::Day,
            tz,
        );
        let mut a = Aggregate::new(w);
        // 23:30 local on May 1st is 03:30Z on May 2nd: still the first local day.
        a.add(utc("2026-05-02T03:30:00Z"), "", &one(1.0, 1));
        a.add(utc("2026-05-02T04:30:00Z"), "", &one(1.0, 1));
        let starts = bucket::series(w.from, w.to, w.size, w.tz, 10).unwrap();
        let s = a.series(&starts);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].figures.requests, 1);
        assert_eq!(s[1].figures.requests, 1);
    }
}
