//! What a batch of new calls adds to the rollups: one summary per (bucket, provider, model,
//! feature) and tier. Keys come out sorted, so concurrent writers lock rows in one order.

use std::collections::BTreeMap;

use app::types::Call;
use chrono::{DateTime, Utc};

use super::{
    bucket::RollupTier,
    people::{self, LastSeen, SessionSpan, UserHours},
    stats::{CallFacts, Stats},
};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RollupKey {
    pub bucket: DateTime<Utc>,
    pub provider: String,
    pub model: String,
    /// Empty when the call named no feature.
    pub feature: String,
}

impl RollupKey {
    pub fn of(
        tier: RollupTier,
        time: DateTime<Utc>,
        provider: &str,
        model: &str,
        feature: Option<&str>,
    ) -> Self {
        RollupKey {
            bucket: tier.truncate(time),
            provider: provider.to_owned(),
            model: model.to_owned(),
            feature: feature.unwrap_or_default().to_owned(),
        }
    }
}

/// One rollup row, as stored or merged over a longer bucket. Its histograms stay packed
/// (merged straight into accumulators), so `stats` has empty ones.
#[derive(Debug, Clone)]
pub struct RollupRow {
    pub key: RollupKey,
    pub stats: Stats,
    pub latency_packed: Vec<i64>,
    pub ttft_packed: Vec<i64>,
}

/// The summaries `calls` add to `tier`.
pub fn deltas<'a>(
    tier: RollupTier,
    calls: impl IntoIterator<Item = &'a Call>,
) -> BTreeMap<RollupKey, Stats> {
    let mut out: BTreeMap<RollupKey, Stats> = BTreeMap::new();
    for c in calls {
        let key = RollupKey::of(tier, c.time, &c.provider, &c.model, c.feature.as_deref());
        out.entry(key).or_default().add(&CallFacts::from(c));
    }
    out
}

/// Everything one write adds to the rollups, stored together in one statement: the call
/// summaries of both tiers and per (hour, user), and, for new calls, each user's last call
/// and the sessions' spans. Feedback and rebuilds fill only the summaries.
#[derive(Debug, Default, PartialEq)]
pub struct Deltas {
    pub minute: BTreeMap<RollupKey, Stats>,
    pub hour: BTreeMap<RollupKey, Stats>,
    pub users: UserHours,
    pub last_seen: LastSeen,
    pub sessions: BTreeMap<String, SessionSpan>,
}

impl Deltas {
    /// What new `calls` add to every rollup.
    pub fn of_new_calls<'a>(calls: impl IntoIterator<Item = &'a Call> + Clone) -> Self {
        let (users, last_seen) = people::user_deltas(calls.clone());
        Deltas {
            minute: deltas(RollupTier::Minute, calls.clone()),
            hour: deltas(RollupTier::Hour, calls.clone()),
            users,
            last_seen,
            sessions: people::session_deltas(calls),
        }
    }

    /// Adds another write's deltas, as adding both to the rollups one after the other would.
    pub fn merge(&mut self, o: Deltas) {
        for (mine, theirs) in [(&mut self.minute, o.minute), (&mut self.hour, o.hour)] {
            merge_stats(mine, theirs);
        }
        merge_stats(&mut self.users, o.users);
        for (user, at) in o.last_seen {
            let l = self.last_seen.entry(user).or_insert(at);
            *l = (*l).max(at);
        }
        for (session, span) in o.sessions {
            match self.sessions.entry(session) {
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(span);
                }
                std::collections::btree_map::Entry::Occupied(mut e) => e.get_mut().merge(&span),
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rows() == 0
    }

    /// Rows this adds to the rollup tables, all tables together.
    pub fn rows(&self) -> usize {
        self.minute.len()
            + self.hour.len()
            + self.users.len()
            + self.last_seen.len()
            + self.sessions.len()
    }

    /// Splits into parts of at most `max_rows` rows, in the order the rollups are written
    /// (minute, hour, user hours, last seen, sessions, each by key), so adding the parts one
    /// after the other takes row locks in the order adding the whole would.
    pub fn into_parts(self, max_rows: usize) -> Vec<Deltas> {
        let max_rows = max_rows.max(1);
        if self.rows() <= max_rows {
            return vec![self];
        }
        let mut parts = Vec::with_capacity(self.rows().div_ceil(max_rows));
        let mut part = Deltas::default();
        spill(
            self.minute,
            |d| &mut d.minute,
            &mut part,
            &mut parts,
            max_rows,
        );
        spill(self.hour, |d| &mut d.hour, &mut part, &mut parts, max_rows);
        spill(
            self.users,
            |d| &mut d.users,
            &mut part,
            &mut parts,
            max_rows,
        );
        spill(
            self.last_seen,
            |d| &mut d.last_seen,
            &mut part,
            &mut parts,
            max_rows,
        );
        spill(
            self.sessions,
            |d| &mut d.sessions,
            &mut part,
            &mut parts,
            max_rows,
        );
        parts.push(part);
        parts
    }
}

/// Moves `from` into `part` (the field `field` picks), starting a new part whenever it holds
/// `max_rows`.
fn spill<K: Ord, V>(
    from: BTreeMap<K, V>,
    field: fn(&mut Deltas) -> &mut BTreeMap<K, V>,
    part: &mut Deltas,
    parts: &mut Vec<Deltas>,
    max_rows: usize,
) {
    for (k, v) in from {
        if part.rows() >= max_rows {
            parts.push(std::mem::take(part));
        }
        field(part).insert(k, v);
    }
}

fn merge_stats<K: Ord>(into: &mut BTreeMap<K, Stats>, from: BTreeMap<K, Stats>) {
    for (k, v) in from {
        into.entry(k).or_default().merge(&v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(time: &str, model: &str, feature: Option<&str>) -> Call {
        Call {
            id: format!("{time}-{model}"),
            time: time.parse().unwrap(),
            provider: "openai".into(),
            model: model.into(),
            feature: feature.map(str::to_owned),
            duration_ms: 100.0,
            input_tokens: 3,
            output_tokens: 4,
            ..Default::default()
        }
    }

    #[test]
    fn calls_are_summed_per_bucket_and_dimension() {
        let calls = [
            call("2026-05-01T10:00:05Z", "a", None),
            call("2026-05-01T10:00:59Z", "a", None),
            call("2026-05-01T10:01:00Z", "a", None),
            call("2026-05-01T10:00:10Z", "a", Some("chat")),
            call("2026-05-01T10:00:10Z", "b", None),
        ];
        let minute = deltas(RollupTier::Minute, &calls);
        assert_eq!(minute.len(), 4);
        let first = minute.values().next().unwrap();
        assert_eq!(first.calls, 2);
        assert_eq!(first.input_tokens, 6);
        let hour = deltas(RollupTier::Hour, &calls);
        assert_eq!(hour.len(), 3);
        assert_eq!(hour.values().map(|s| s.calls).sum::<i64>(), 5);
        let keys: Vec<_> = hour.keys().cloned().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn new_calls_fill_every_rollup() {
        let mut calls = [
            call("2026-05-01T10:00:05Z", "a", None),
            call("2026-05-01T10:01:00Z", "a", None),
            call("2026-05-01T11:00:00Z", "b", None),
        ];
        calls[0].user_id = Some("u1".into());
        calls[1].user_id = Some("u1".into());
        calls[1].session_id = Some("s1".into());
        let d = Deltas::of_new_calls(&calls);
        assert_eq!((d.minute.len(), d.hour.len()), (3, 2));
        assert_eq!(d.users.len(), 2, "u1 at 10 and no user at 11");
        assert_eq!(d.last_seen["u1"], calls[1].time);
        assert_eq!(d.sessions["s1"].calls, 1);
        assert!(!d.is_empty());
        assert!(Deltas::default().is_empty());
    }

    #[test]
    fn merged_deltas_equal_the_deltas_of_all_calls() {
        let mut calls = vec![
            call("2026-05-01T10:00:05Z", "a", None),
            call("2026-05-01T10:00:30Z", "a", None),
            call("2026-05-01T10:01:00Z", "b", Some("chat")),
            call("2026-05-01T11:00:00Z", "a", None),
        ];
        for (i, c) in calls.iter_mut().enumerate() {
            c.user_id = Some(format!("u{}", i % 2));
            c.session_id = Some("s1".into());
            c.duration_ms = 100.0 * (i + 1) as f64;
        }
        let whole = Deltas::of_new_calls(&calls);
        let mut merged = Deltas::of_new_calls(&calls[..1]);
        merged.merge(Deltas::of_new_calls(&calls[1..3]));
        merged.merge(Deltas::of_new_calls(&calls[3..]));
        assert_eq!(whole, merged);
        assert_eq!(merged.minute.values().map(|s| s.calls).sum::<i64>(), 4);
        assert_eq!(merged.sessions["s1"].calls, 4);
        assert_eq!(merged.last_seen["u1"], calls[3].time);
    }

    #[test]
    fn parts_hold_every_row_once_in_write_order() {
        let mut calls: Vec<Call> = (0..40)
            .map(|i| call(&format!("2026-05-01T{:02}:{:02}:00Z", i % 24, i), "a", None))
            .collect();
        for (i, c) in calls.iter_mut().enumerate() {
            c.user_id = Some(format!("u{}", i % 3));
            c.session_id = Some(format!("s{}", i % 5));
        }
        let whole = Deltas::of_new_calls(&calls);
        let rows = whole.rows();
        assert_eq!(rows, 40 + 24 + whole.users.len() + 3 + 5);
        let parts = Deltas::of_new_calls(&calls).into_parts(7);
        assert_eq!(parts.len(), rows.div_ceil(7));
        assert!(parts.iter().all(|p| p.rows() <= 7 && !p.is_empty()));
        // Merged back they are the whole, and each table's keys run on from part to part.
        let mut merged = Deltas::default();
        let (mut last_minute, mut hours_begun) = (None, false);
        for p in parts {
            if let Some(first) = p.minute.keys().next() {
                assert!(last_minute.as_ref() < Some(first));
                assert!(!hours_begun, "every minute row before the hours");
            }
            hours_begun |= !p.hour.is_empty();
            last_minute = p.minute.keys().last().cloned().or(last_minute);
            merged.merge(p);
        }
        assert_eq!(merged, whole);
        // Small enough: one part, the deltas themselves.
        let one = Deltas::of_new_calls(&calls).into_parts(rows);
        assert_eq!(one, vec![whole]);
    }
}
