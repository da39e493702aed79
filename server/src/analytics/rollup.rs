//! What a batch of new calls adds to the rollups: one summary per (bucket, provider, model,
//! feature) and tier. Keys come out sorted, so concurrent writers lock rows in one order.

use std::collections::BTreeMap;

use app::types::Call;
use chrono::{DateTime, Utc};

use super::{
    bucket::RollupTier,
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
}
