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
        self.minute.is_empty()
            && self.hour.is_empty()
            && self.users.is_empty()
            && self.last_seen.is_empty()
            && self.sessions.is_empty()
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
}
