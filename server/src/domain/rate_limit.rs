//! Rate limits' pure rules: which limits a call falls under, and a fixed one-minute window
//! per limit and subject that counts requests and tokens. Free of IO and clocks: the caller
//! passes the time.
//!
//! Each server counts its own traffic and enforces its share of each limit (the limit
//! divided by the servers alive, rounded up), so N servers behind a balancer allow about the
//! configured rate together without a database round trip per call.

use std::collections::HashMap;

use app::types::{RateLimit, RateSubject};

use super::budget::Facts;
use super::pricing::pattern_matches;

/// The window a limit counts a call in (the key id, user or model, or the model pattern);
/// None when the limit does not apply (a per-user limit skips calls without a user).
fn subject_of(limit: &RateLimit, f: &Facts) -> Option<String> {
    let have = match limit.subject {
        RateSubject::ApiKey => f.api_key_id.map(|k| k.to_string()),
        RateSubject::User => f.user.map(str::to_owned),
        RateSubject::Model => Some(f.model.to_owned()),
    }?;
    match (limit.subject, limit.value.as_str()) {
        // `*`: each key, user or model has a window of its own.
        (_, "*") => Some(have),
        // A pattern pools every model it matches in one window.
        (RateSubject::Model, pattern) => {
            pattern_matches(pattern, &have).then(|| pattern.to_owned())
        }
        (_, want) => (want == have).then_some(have),
    }
}

/// OpenAI's `x-ratelimit-*` figures for the most constrained limit of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Quota {
    pub limit: u64,
    pub remaining: u64,
    /// Seconds until the window resets.
    pub reset_secs: u64,
}

/// What the limiter decided about one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Verdict {
    /// Seconds to wait when refused; None when allowed.
    pub retry_after: Option<u64>,
    pub requests: Option<Quota>,
    pub tokens: Option<Quota>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Count {
    requests: u64,
    tokens: u64,
}

/// Counts per (limit, subject) in the current minute. The map is cleared when the minute
/// changes, so memory holds one minute's subjects at most.
#[derive(Debug, Default)]
pub struct Windows {
    minute: i64,
    counts: HashMap<(usize, String), Count>,
}

/// A server's share of `limit` when `servers` are alive: rounded up, at least 1.
pub fn share(limit: u64, servers: u32) -> u64 {
    limit.div_ceil(u64::from(servers.max(1))).max(1)
}

impl Windows {
    /// Counts a call of `tokens` (its worst case) at `now_secs` against every limit it falls
    /// under, unless one of them is full: then nothing is counted and the call is refused.
    pub fn check(
        &mut self,
        limits: &[RateLimit],
        facts: &Facts,
        tokens: u64,
        now_secs: i64,
        servers: u32,
    ) -> Verdict {
        let minute = now_secs.div_euclid(60);
        if minute != self.minute {
            self.minute = minute;
            self.counts.clear();
        }
        let reset_secs = (60 - now_secs.rem_euclid(60)) as u64;
        let applying: Vec<(usize, String)> = limits
            .iter()
            .enumerate()
            .filter_map(|(i, l)| subject_of(l, facts).map(|s| (i, s)))
            .collect();
        let mut verdict = Verdict::default();
        let mut refused = false;
        for (i, subject) in &applying {
            let l = &limits[*i];
            let c = self
                .counts
                .get(&(*i, subject.clone()))
                .copied()
                .unwrap_or_default();
            let mut tighter = |slot: &mut Option<Quota>, max: Option<u64>, used: u64, add: u64| {
                let Some(max) = max else { return };
                let max = share(max, servers);
                if used + add > max {
                    refused = true;
                }
                let q = Quota {
                    limit: max,
                    remaining: max.saturating_sub(used + add),
                    reset_secs,
                };
                if slot.is_none_or(|s| q.remaining < s.remaining) {
                    *slot = Some(q);
                }
            };
            tighter(
                &mut verdict.requests,
                l.requests_per_minute.map(u64::from),
                c.requests,
                1,
            );
            tighter(&mut verdict.tokens, l.tokens_per_minute, c.tokens, tokens);
        }
        if refused {
            verdict.retry_after = Some(reset_secs);
            return verdict;
        }
        for key in applying {
            let c = self.counts.entry(key).or_default();
            c.requests += 1;
            c.tokens += tokens;
        }
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(user: Option<&'a str>, model: &'a str) -> Facts<'a> {
        Facts {
            provider: "openai",
            model,
            feature: None,
            user,
            api_key_id: Some(7),
        }
    }

    fn limit(subject: RateSubject, value: &str, rpm: Option<u32>, tpm: Option<u64>) -> RateLimit {
        RateLimit {
            subject,
            value: value.into(),
            requests_per_minute: rpm,
            tokens_per_minute: tpm,
        }
    }

    #[test]
    fn requests_per_minute_refuse_until_the_minute_turns() {
        let limits = [limit(RateSubject::ApiKey, "7", Some(3), None)];
        let mut w = Windows::default();
        let f = facts(None, "gpt-4o");
        for left in [2, 1, 0] {
            let v = w.check(&limits, &f, 10, 120, 1);
            assert_eq!(v.retry_after, None);
            assert_eq!(v.requests.unwrap().remaining, left);
        }
        let v = w.check(&limits, &f, 10, 135, 1);
        assert_eq!(v.retry_after, Some(45));
        assert_eq!(v.requests.unwrap().reset_secs, 45);
        // The next minute starts empty.
        assert_eq!(w.check(&limits, &f, 10, 180, 1).retry_after, None);
    }

    #[test]
    fn a_star_counts_each_subject_apart_and_refusals_count_nothing() {
        let limits = [
            limit(RateSubject::User, "*", None, Some(100)),
            limit(RateSubject::Model, "gpt-4o*", Some(1000), None),
        ];
        let mut w = Windows::default();
        assert_eq!(
            w.check(&limits, &facts(Some("a"), "gpt-4o"), 80, 0, 1)
                .retry_after,
            None
        );
        // Alice has 20 tokens left; Bob his own 100.
        let refused = w.check(&limits, &facts(Some("a"), "gpt-4o"), 30, 1, 1);
        assert_eq!(refused.retry_after, Some(59));
        assert_eq!(
            w.check(&limits, &facts(Some("b"), "gpt-4o"), 90, 2, 1)
                .retry_after,
            None
        );
        // The refused call did not count against the model limit: 2 requests so far.
        let v = w.check(&limits, &facts(None, "gpt-4o-mini"), 1, 3, 1);
        assert_eq!(v.requests.unwrap().remaining, 1000 - 3);
        // Calls without a user are not under a per-user limit.
        assert_eq!(v.tokens, None);
    }

    #[test]
    fn servers_share_a_limit() {
        assert_eq!(share(10, 3), 4);
        assert_eq!(share(1, 5), 1);
        assert_eq!(share(10, 0), 10);
        let limits = [limit(RateSubject::Model, "*", Some(4), None)];
        let mut w = Windows::default();
        let f = facts(None, "m");
        assert_eq!(w.check(&limits, &f, 0, 0, 2).retry_after, None);
        assert_eq!(w.check(&limits, &f, 0, 0, 2).retry_after, None);
        assert!(w.check(&limits, &f, 0, 0, 2).retry_after.is_some());
    }
}
