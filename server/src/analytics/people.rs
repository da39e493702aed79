//! What a batch of new calls adds to the user and session rollups (pure). Keys come out
//! sorted, so concurrent writers lock rows in one order.

use std::collections::BTreeMap;

use app::types::Call;
use chrono::{DateTime, Utc};

use super::{
    bucket::RollupTier,
    stats::{CallFacts, Stats},
};

/// A session's part in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSpan {
    /// The user of its latest call that named one.
    pub user_id: Option<String>,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
    pub calls: i64,
}

impl SessionSpan {
    /// Adds a later write's part of the same session, as the session rollup's upsert does:
    /// the user comes from the part whose last call is latest, when it names one.
    pub fn merge(&mut self, o: &SessionSpan) {
        if o.user_id.is_some() && (o.last >= self.last || self.user_id.is_none()) {
            self.user_id.clone_from(&o.user_id);
        }
        self.first = self.first.min(o.first);
        self.last = self.last.max(o.last);
        self.calls += o.calls;
    }
}

/// Summaries per (hour, user): the call rollups' figures, so analytics by user read them.
/// Calls without a user are summed under the user `""` (ingest turns an empty id into none;
/// see [`user_hour`]).
pub type UserHours = BTreeMap<(DateTime<Utc>, String), Stats>;
/// Each user's latest call.
pub type LastSeen = BTreeMap<String, DateTime<Utc>>;

/// The user-hours key of a call: its hour and its user, `""` when it names none.
pub fn user_hour(time: DateTime<Utc>, user: Option<&str>) -> (DateTime<Utc>, String) {
    (
        RollupTier::Hour.truncate(time),
        user.unwrap_or_default().to_owned(),
    )
}

/// Per (hour, user) summaries, and each user's latest call.
pub fn user_deltas<'a>(calls: impl IntoIterator<Item = &'a Call>) -> (UserHours, LastSeen) {
    let mut hours = UserHours::new();
    let mut last: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    for c in calls {
        hours
            .entry(user_hour(c.time, c.user_id.as_deref()))
            .or_default()
            .add(&CallFacts::from(c));
        let Some(u) = c.user_id.as_deref() else {
            continue;
        };
        let l = last.entry(u.to_owned()).or_insert(c.time);
        *l = (*l).max(c.time);
    }
    (hours, last)
}

/// Per session: its first and last call in the batch, and how many.
pub fn session_deltas<'a>(
    calls: impl IntoIterator<Item = &'a Call>,
) -> BTreeMap<String, SessionSpan> {
    // With each span, when its user was seen, so the latest call naming one wins.
    let mut out: BTreeMap<String, (SessionSpan, Option<DateTime<Utc>>)> = BTreeMap::new();
    for c in calls {
        let Some(s) = c.session_id.as_deref() else {
            continue;
        };
        let (span, user_at) = out.entry(s.to_owned()).or_insert_with(|| {
            let span = SessionSpan {
                user_id: None,
                first: c.time,
                last: c.time,
                calls: 0,
            };
            (span, None)
        });
        span.calls += 1;
        span.first = span.first.min(c.time);
        span.last = span.last.max(c.time);
        if c.user_id.is_some() && user_at.is_none_or(|t| c.time >= t) {
            span.user_id = c.user_id.clone();
            *user_at = Some(c.time);
        }
    }
    out.into_iter().map(|(k, (span, _))| (k, span)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_session_spans_keep_the_latest_user_and_the_widest_span() {
        let at = |t: &str| t.parse::<DateTime<Utc>>().unwrap();
        let span = |user: Option<&str>, first: &str, last: &str, calls| SessionSpan {
            user_id: user.map(str::to_owned),
            first: at(first),
            last: at(last),
            calls,
        };
        let mut a = span(
            Some("u1"),
            "2026-05-01T10:00:00Z",
            "2026-05-01T10:05:00Z",
            3,
        );
        a.merge(&span(
            Some("u2"),
            "2026-05-01T09:00:00Z",
            "2026-05-01T10:01:00Z",
            2,
        ));
        assert_eq!(a.user_id.as_deref(), Some("u1"), "u2's calls are older");
        assert_eq!(
            (a.first, a.last, a.calls),
            (at("2026-05-01T09:00:00Z"), at("2026-05-01T10:05:00Z"), 5)
        );
        a.merge(&span(
            None,
            "2026-05-01T11:00:00Z",
            "2026-05-01T11:00:00Z",
            1,
        ));
        assert_eq!(
            a.user_id.as_deref(),
            Some("u1"),
            "a part naming no user keeps the user"
        );
        a.merge(&span(
            Some("u3"),
            "2026-05-01T11:30:00Z",
            "2026-05-01T11:30:00Z",
            1,
        ));
        assert_eq!(a.user_id.as_deref(), Some("u3"));
        assert_eq!(a.calls, 7);
        let mut b = span(None, "2026-05-01T10:00:00Z", "2026-05-01T12:00:00Z", 1);
        b.merge(&span(
            Some("u4"),
            "2026-05-01T10:00:00Z",
            "2026-05-01T10:00:00Z",
            1,
        ));
        assert_eq!(
            b.user_id.as_deref(),
            Some("u4"),
            "a user is better than none"
        );
    }

    fn call(t: &str, user: Option<&str>, session: Option<&str>, cost: Option<i64>) -> Call {
        Call {
            id: format!("{t}-{user:?}"),
            time: t.parse().unwrap(),
            provider: "openai".into(),
            model: "m".into(),
            user_id: user.map(str::to_owned),
            session_id: session.map(str::to_owned),
            input_tokens: 10,
            output_tokens: 5,
            cost_total_micros: cost,
            ..Default::default()
        }
    }

    #[test]
    fn users_sum_per_hour_and_keep_their_latest_call() {
        let calls = [
            call("2026-12-01T10:05:00Z", Some("u1"), None, Some(100)),
            call("2026-12-01T10:55:00Z", Some("u1"), None, None),
            call("2026-12-01T11:01:00Z", Some("u1"), None, Some(7)),
            call("2026-12-01T10:30:00Z", Some("u2"), None, Some(1)),
            call("2026-12-01T10:30:00Z", None, None, Some(1)),
        ];
        let (hours, last) = user_deltas(&calls);
        let h10: DateTime<Utc> = "2026-12-01T10:00:00Z".parse().unwrap();
        let u1 = &hours[&(h10, "u1".to_owned())];
        assert_eq!(
            (u1.calls, u1.input_tokens + u1.output_tokens, u1.cost_micros),
            (2, 30, 100)
        );
        assert_eq!((u1.priced_calls, u1.latency.count()), (1, 2));
        assert_eq!(hours.len(), 4, "u1 at 10 and 11, u2 and no user at 10");
        assert_eq!(hours[&(h10, String::new())].calls, 1);
        assert!(!last.contains_key(""));
        assert_eq!(last["u1"].to_rfc3339(), "2026-12-01T11:01:00+00:00");
    }

    #[test]
    fn sessions_span_their_calls_in_any_order() {
        let calls = [
            call("2026-12-01T10:20:00Z", Some("late-user"), Some("s1"), None),
            call("2026-12-01T10:00:00Z", Some("u1"), Some("s1"), None),
            call("2026-12-01T10:10:00Z", None, Some("s1"), None),
            call("2026-12-01T10:10:00Z", None, None, None),
        ];
        let s = session_deltas(&calls);
        assert_eq!(s.len(), 1);
        let s1 = &s["s1"];
        assert_eq!(s1.calls, 3);
        assert_eq!((s1.last - s1.first).num_minutes(), 20);
        assert_eq!(s1.user_id.as_deref(), Some("late-user"));
    }
}
