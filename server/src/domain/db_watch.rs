//! Sightline's own database use, folded in memory: per pool and minute the connections in
//! use, the time to acquire one, and the statements slower than a threshold, grouped by
//! their normalised SQL. Pure: `dbwatch` feeds it from sqlx's events and pool samples.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Duration, DurationRound, Utc};

/// Default threshold above which a statement counts as slow, in milliseconds.
pub const DEFAULT_SLOW_MS: u64 = 100;
/// Minutes of history kept per pool (a day; the page shows up to 24 hours).
pub const MINUTES_KEPT: usize = 1440;
/// Distinct slow statements remembered; the least recently seen one goes first.
pub const SLOW_KEPT: usize = 200;
/// Longest normalised statement kept, in characters.
const SQL_MAX_CHARS: usize = 2000;
/// An acquire slower than this waited for a connection (an idle one takes microseconds).
pub const WAIT_THRESHOLD_SECS: f64 = 0.001;

/// Sightline's two pools: reads and housekeeping, and the ingest writers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PoolKind {
    Api,
    Writer,
}

impl PoolKind {
    pub const ALL: [PoolKind; 2] = [PoolKind::Api, PoolKind::Writer];

    pub fn as_str(self) -> &'static str {
        match self {
            PoolKind::Api => "api",
            PoolKind::Writer => "writer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Reduces a statement to its shape: comments dropped, whitespace collapsed, string and
/// number literals replaced by `?`, and a list of placeholders (`IN (?, ?, ?)`) by one,
/// so the same query with other values groups together.
pub fn normalize_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len().min(SQL_MAX_CHARS));
    let mut chars = sql.chars().peekable();
    let mut pending_space = false;
    let push = |out: &mut String, pending: &mut bool, s: &str| {
        if *pending && !out.is_empty() {
            out.push(' ');
        }
        *pending = false;
        out.push_str(s);
    };
    while let Some(c) = chars.next() {
        if out.len() >= SQL_MAX_CHARS {
            out.push('…');
            break;
        }
        match c {
            c if c.is_whitespace() => pending_space = true,
            '-' if chars.peek() == Some(&'-') => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        break;
                    }
                }
                pending_space = true;
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                for n in chars.by_ref() {
                    if prev == '*' && n == '/' {
                        break;
                    }
                    prev = n;
                }
                pending_space = true;
            }
            '\'' => {
                // A literal; '' inside is an escaped quote.
                loop {
                    match chars.next() {
                        None => break,
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                        }
                        Some('\'') => break,
                        Some(_) => {}
                    }
                }
                push(&mut out, &mut pending_space, "?");
            }
            c if c.is_ascii_digit() && !ends_in_word(&out, pending_space) => {
                while chars
                    .peek()
                    .is_some_and(|n| n.is_ascii_digit() || *n == '.')
                {
                    chars.next();
                }
                push(&mut out, &mut pending_space, "?");
            }
            c => {
                let mut buf = [0u8; 4];
                push(&mut out, &mut pending_space, c.encode_utf8(&mut buf));
            }
        }
    }
    collapse_lists(&out)
}

/// Whether the next character continues an identifier or a `$1` placeholder.
fn ends_in_word(out: &str, pending_space: bool) -> bool {
    !pending_space
        && out
            .chars()
            .last()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
}

/// `(?, ?, ?)` → `(?)`.
fn collapse_lists(s: &str) -> String {
    let mut out = s.to_owned();
    for from in ["?, ?", "?,?"] {
        while out.contains(from) {
            out = out.replace(from, "?");
        }
    }
    out
}

/// One minute of one pool.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PoolMinute {
    pub bucket: DateTime<Utc>,
    pub acquires: u64,
    pub acquire_total_secs: f64,
    pub acquire_max_secs: f64,
    /// Acquires that found no idle connection and waited.
    pub waits: u64,
    pub in_use_sum: u64,
    pub in_use_max: u32,
    pub samples: u32,
    pub max_connections: u32,
    pub slow_queries: u64,
}

impl PoolMinute {
    pub fn in_use_avg(&self) -> f64 {
        if self.samples == 0 {
            0.0
        } else {
            self.in_use_sum as f64 / self.samples as f64
        }
    }

    pub fn acquire_avg_secs(&self) -> f64 {
        if self.acquires == 0 {
            0.0
        } else {
            self.acquire_total_secs / self.acquires as f64
        }
    }

    /// Connections in use as a percentage of the pool's size, on average over the minute.
    pub fn usage_percent(&self) -> f64 {
        if self.max_connections == 0 {
            0.0
        } else {
            100.0 * self.in_use_avg() / self.max_connections as f64
        }
    }
}

/// The last [`MINUTES_KEPT`] minutes of one pool, oldest first.
#[derive(Debug, Clone, Default)]
pub struct PoolWatch {
    minutes: VecDeque<PoolMinute>,
}

fn minute_of(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(Duration::minutes(1)).unwrap_or(at)
}

impl PoolWatch {
    /// The minute `at` falls in, created when new. A time before the newest minute (a
    /// clock step back) counts in the newest.
    fn minute(&mut self, at: DateTime<Utc>) -> &mut PoolMinute {
        let bucket = minute_of(at);
        let newest = self.minutes.back().map(|m| m.bucket);
        if newest.is_none_or(|b| bucket > b) && self.minutes.len() == MINUTES_KEPT {
            self.minutes.pop_front();
        }
        match self.minutes.back_mut() {
            Some(m) if m.bucket >= bucket => {}
            _ => self.minutes.push_back(PoolMinute {
                bucket,
                ..Default::default()
            }),
        }
        let last = self.minutes.len() - 1;
        &mut self.minutes[last]
    }

    pub fn acquired(&mut self, at: DateTime<Utc>, secs: f64) {
        let m = self.minute(at);
        m.acquires += 1;
        m.acquire_total_secs += secs;
        m.acquire_max_secs = m.acquire_max_secs.max(secs);
        if secs > WAIT_THRESHOLD_SECS {
            m.waits += 1;
        }
    }

    pub fn sampled(&mut self, at: DateTime<Utc>, in_use: u32, max_connections: u32) {
        let m = self.minute(at);
        m.in_use_sum += u64::from(in_use);
        m.in_use_max = m.in_use_max.max(in_use);
        m.samples += 1;
        m.max_connections = max_connections;
    }

    pub fn slow(&mut self, at: DateTime<Utc>) {
        self.minute(at).slow_queries += 1;
    }

    /// The minutes from `since` on.
    pub fn since(&self, since: DateTime<Utc>) -> impl Iterator<Item = &PoolMinute> {
        let start = minute_of(since);
        self.minutes.iter().filter(move |m| m.bucket >= start)
    }
}

/// Totals over a run of minutes.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PoolTotals {
    pub acquires: u64,
    pub acquire_avg_secs: f64,
    pub acquire_max_secs: f64,
    pub waits: u64,
    pub slow_queries: u64,
}

pub fn totals<'a>(minutes: impl IntoIterator<Item = &'a PoolMinute>) -> PoolTotals {
    let mut t = PoolTotals::default();
    let mut total_secs = 0.0;
    for m in minutes {
        t.acquires += m.acquires;
        total_secs += m.acquire_total_secs;
        t.acquire_max_secs = t.acquire_max_secs.max(m.acquire_max_secs);
        t.waits += m.waits;
        t.slow_queries += m.slow_queries;
    }
    if t.acquires > 0 {
        t.acquire_avg_secs = total_secs / t.acquires as f64;
    }
    t
}

/// One statement shape that ran slower than the threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct SlowStatement {
    pub pool: PoolKind,
    pub sql: String,
    pub count: u64,
    pub total_secs: f64,
    pub max_secs: f64,
    pub last_secs: f64,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
}

/// Slow statements grouped by pool and normalised SQL, bounded to [`SLOW_KEPT`].
#[derive(Debug, Clone, Default)]
pub struct SlowLog {
    by_sql: HashMap<(PoolKind, String), SlowStatement>,
}

impl SlowLog {
    pub fn record(&mut self, pool: PoolKind, sql: &str, secs: f64, at: DateTime<Utc>) {
        let key = (pool, normalize_sql(sql));
        if let Some(s) = self.by_sql.get_mut(&key) {
            s.count += 1;
            s.total_secs += secs;
            s.max_secs = s.max_secs.max(secs);
            s.last_secs = secs;
            s.last_at = s.last_at.max(at);
            return;
        }
        if self.by_sql.len() >= SLOW_KEPT {
            let oldest = self
                .by_sql
                .iter()
                .min_by_key(|(_, s)| s.last_at)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.by_sql.remove(&k);
            }
        }
        self.by_sql.insert(
            key.clone(),
            SlowStatement {
                pool,
                sql: key.1,
                count: 1,
                total_secs: secs,
                max_secs: secs,
                last_secs: secs,
                first_at: at,
                last_at: at,
            },
        );
    }

    /// Statements last seen at or after `since`, the most total time first.
    pub fn since(&self, since: DateTime<Utc>, limit: usize) -> Vec<SlowStatement> {
        let mut v: Vec<SlowStatement> = self
            .by_sql
            .values()
            .filter(|s| s.last_at >= since)
            .cloned()
            .collect();
        v.sort_by(|a, b| b.total_secs.total_cmp(&a.total_secs));
        v.truncate(limit);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn literals_comments_and_space_are_normalised() {
        assert_eq!(
            normalize_sql("SELECT *\n  FROM calls -- recent\n WHERE id = 42 AND name = 'it''s'"),
            "SELECT * FROM calls WHERE id = ? AND name = ?"
        );
        assert_eq!(
            normalize_sql("/* why */ SELECT 1.5, x FROM t WHERE y IN (1, 2, 3)"),
            "SELECT ?, x FROM t WHERE y IN (?)"
        );
    }

    #[test]
    fn placeholders_and_identifiers_keep_their_digits() {
        assert_eq!(
            normalize_sql("SELECT col2 FROM llm_calls_p20261205 WHERE a = $1 AND b = $12"),
            "SELECT col2 FROM llm_calls_p20261205 WHERE a = $1 AND b = $12"
        );
    }

    #[test]
    fn an_unterminated_literal_does_not_panic() {
        assert_eq!(normalize_sql("SELECT 'abc"), "SELECT ?");
        assert_eq!(normalize_sql(""), "");
        assert_eq!(normalize_sql("SELECT é FROM ü"), "SELECT é FROM ü");
    }

    #[test]
    fn long_statements_are_cut() {
        let long = format!("SELECT {} FROM t", "a, ".repeat(2000));
        let n = normalize_sql(&long);
        assert!(n.chars().count() <= SQL_MAX_CHARS + 1);
        assert!(n.ends_with('…'));
    }

    #[test]
    fn minutes_fold_acquires_samples_and_slow_statements() {
        let mut w = PoolWatch::default();
        w.acquired(t("2026-12-06T10:00:05Z"), 0.0001);
        w.acquired(t("2026-12-06T10:00:30Z"), 0.0200);
        w.sampled(t("2026-12-06T10:00:10Z"), 2, 10);
        w.sampled(t("2026-12-06T10:00:20Z"), 4, 10);
        w.slow(t("2026-12-06T10:00:40Z"));
        w.acquired(t("2026-12-06T10:01:01Z"), 0.002);
        let minutes: Vec<_> = w.since(t("2026-12-06T09:00:00Z")).copied().collect();
        assert_eq!(minutes.len(), 2);
        let m = minutes[0];
        assert_eq!(m.bucket, t("2026-12-06T10:00:00Z"));
        assert_eq!((m.acquires, m.waits, m.slow_queries), (2, 1, 1));
        assert!((m.acquire_avg_secs() - 0.01005).abs() < 1e-9);
        assert_eq!(m.acquire_max_secs, 0.02);
        assert_eq!((m.in_use_avg(), m.in_use_max), (3.0, 4));
        assert_eq!(m.usage_percent(), 30.0);
        let tot = totals(&minutes);
        assert_eq!((tot.acquires, tot.waits, tot.slow_queries), (3, 2, 1));
        assert_eq!(w.since(t("2026-12-06T10:01:30Z")).count(), 1);
    }

    #[test]
    fn the_ring_keeps_a_day_and_a_clock_step_back_counts_in_the_newest_minute() {
        let mut w = PoolWatch::default();
        let start = t("2026-12-01T00:00:00Z");
        for i in 0..(MINUTES_KEPT as i64 + 10) {
            w.sampled(start + Duration::minutes(i), 1, 4);
        }
        let all: Vec<_> = w.since(start).collect();
        assert_eq!(all.len(), MINUTES_KEPT);
        assert_eq!(all[0].bucket, start + Duration::minutes(10));
        w.acquired(start, 0.5);
        assert_eq!(w.minutes.back().unwrap().acquires, 1);
    }

    #[test]
    fn slow_statements_group_by_shape_and_stay_bounded() {
        let mut log = SlowLog::default();
        let at = t("2026-12-06T10:00:00Z");
        log.record(PoolKind::Api, "SELECT pg_sleep(0.2)", 0.2, at);
        log.record(
            PoolKind::Api,
            "SELECT pg_sleep(0.4)",
            0.4,
            at + Duration::seconds(5),
        );
        log.record(PoolKind::Writer, "SELECT pg_sleep(0.3)", 0.3, at);
        let v = log.since(at, 10);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].pool, PoolKind::Api);
        assert_eq!(v[0].sql, "SELECT pg_sleep(?)");
        assert_eq!((v[0].count, v[0].max_secs, v[0].last_secs), (2, 0.4, 0.4));
        assert!((v[0].total_secs - 0.6).abs() < 1e-9);
        for i in 0..(SLOW_KEPT + 5) {
            log.record(
                PoolKind::Api,
                &format!("SELECT * FROM t{i}"),
                0.2,
                at + Duration::minutes(i as i64 + 1),
            );
        }
        assert_eq!(log.by_sql.len(), SLOW_KEPT);
        assert!(log.since(at + Duration::minutes(1), 1000).len() < SLOW_KEPT + 1);
        assert!(log.since(at + Duration::days(1), 10).is_empty());
    }
}
