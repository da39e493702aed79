//! The additive summary of a set of calls: what a rollup row holds and what every figure of
//! the analytics API is derived from. Summaries of disjoint sets merge by addition.

use app::types::{Call, CallStatus, ErrorCounts, Figures};

use super::histogram::Histogram;

/// The facts of one call that analytics needs (a raw row or a call being ingested).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CallFacts {
    pub status: String,
    pub http_status: Option<i16>,
    pub duration_ms: f64,
    pub ttft_ms: Option<f64>,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cached_tokens: i64,
    pub cost_total_micros: Option<i64>,
    pub tokens_per_second: Option<f64>,
    pub quality_score: Option<f64>,
    pub user_rating: Option<i16>,
    pub tool_calls: i32,
}

impl From<&Call> for CallFacts {
    fn from(c: &Call) -> Self {
        CallFacts {
            status: c.status.as_str().to_owned(),
            http_status: c.http_status.map(|s| s as i16),
            duration_ms: c.duration_ms,
            ttft_ms: c.ttft_ms,
            input_tokens: c.input_tokens,
            output_tokens: c.output_tokens,
            cached_tokens: c.cached_tokens,
            cost_total_micros: c.cost_total_micros,
            tokens_per_second: c.tokens_per_second,
            quality_score: c.quality_score,
            user_rating: c.user_rating,
            tool_calls: c.tool_calls,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    pub calls: i64,
    pub ok: i64,
    pub err_4xx: i64,
    pub err_5xx: i64,
    pub err_timeout: i64,
    pub err_other: i64,
    pub cancelled: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cached_tokens: i64,
    pub cost_micros: i64,
    pub priced_calls: i64,
    pub latency_sum_ms: f64,
    pub ttft_sum_ms: f64,
    pub ttft_calls: i64,
    pub tps_sum: f64,
    pub tps_calls: i64,
    pub quality_sum: f64,
    pub quality_calls: i64,
    /// Sum and count of user ratings (1 to 5).
    pub rating_sum: f64,
    pub rating_calls: i64,
    pub tool_calls: i64,
    pub latency: Histogram,
    pub ttft: Histogram,
}

impl Stats {
    pub fn add(&mut self, c: &CallFacts) {
        self.calls += 1;
        match CallStatus::parse(&c.status).unwrap_or(CallStatus::Error) {
            CallStatus::Ok => self.ok += 1,
            CallStatus::Timeout => self.err_timeout += 1,
            CallStatus::Cancelled => self.cancelled += 1,
            CallStatus::Error => match c.http_status {
                Some(400..=499) => self.err_4xx += 1,
                Some(500..=599) => self.err_5xx += 1,
                _ => self.err_other += 1,
            },
        }
        self.input_tokens += c.input_tokens;
        self.output_tokens += c.output_tokens;
        self.cached_tokens += c.cached_tokens;
        if let Some(cost) = c.cost_total_micros {
            self.cost_micros += cost;
            self.priced_calls += 1;
        }
        self.latency_sum_ms += c.duration_ms;
        self.latency.record(c.duration_ms);
        if let Some(t) = c.ttft_ms {
            self.ttft_sum_ms += t;
            self.ttft_calls += 1;
            self.ttft.record(t);
        }
        if let Some(tps) = c.tokens_per_second.filter(|v| v.is_finite()) {
            self.tps_sum += tps;
            self.tps_calls += 1;
        }
        if let Some(q) = c.quality_score.filter(|v| v.is_finite()) {
            self.quality_sum += q;
            self.quality_calls += 1;
        }
        if let Some(r) = c.user_rating {
            self.rating_sum += f64::from(r);
            self.rating_calls += 1;
        }
        self.tool_calls += i64::from(c.tool_calls);
    }

    pub fn merge(&mut self, o: &Stats) {
        self.calls += o.calls;
        self.ok += o.ok;
        self.err_4xx += o.err_4xx;
        self.err_5xx += o.err_5xx;
        self.err_timeout += o.err_timeout;
        self.err_other += o.err_other;
        self.cancelled += o.cancelled;
        self.input_tokens += o.input_tokens;
        self.output_tokens += o.output_tokens;
        self.cached_tokens += o.cached_tokens;
        self.cost_micros += o.cost_micros;
        self.priced_calls += o.priced_calls;
        self.latency_sum_ms += o.latency_sum_ms;
        self.ttft_sum_ms += o.ttft_sum_ms;
        self.ttft_calls += o.ttft_calls;
        self.tps_sum += o.tps_sum;
        self.tps_calls += o.tps_calls;
        self.quality_sum += o.quality_sum;
        self.quality_calls += o.quality_calls;
        self.rating_sum += o.rating_sum;
        self.rating_calls += o.rating_calls;
        self.tool_calls += o.tool_calls;
        self.latency.merge(&o.latency);
        self.ttft.merge(&o.ttft);
    }

    /// The wire figures; `seconds` is the length of the period, for requests per second.
    pub fn figures(&self, seconds: f64) -> Figures {
        let avg = |sum: f64, n: i64| (n > 0).then(|| sum / n as f64);
        let n = |v: i64| v.max(0) as u64;
        let errors = ErrorCounts {
            client_4xx: n(self.err_4xx),
            server_5xx: n(self.err_5xx),
            timeout: n(self.err_timeout),
            other: n(self.err_other),
        };
        Figures {
            requests: n(self.calls),
            successes: n(self.ok),
            error_rate: if self.calls > 0 {
                errors.total() as f64 / self.calls as f64
            } else {
                0.0
            },
            errors,
            cancelled: n(self.cancelled),
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            total_tokens: self.input_tokens + self.output_tokens,
            cached_tokens: self.cached_tokens,
            cost_micros: self.cost_micros,
            priced_requests: n(self.priced_calls),
            avg_latency_ms: avg(self.latency_sum_ms, self.calls),
            p50_latency_ms: self.latency.quantile(0.50),
            p95_latency_ms: self.latency.quantile(0.95),
            p99_latency_ms: self.latency.quantile(0.99),
            avg_ttft_ms: avg(self.ttft_sum_ms, self.ttft_calls),
            p50_ttft_ms: self.ttft.quantile(0.50),
            p95_ttft_ms: self.ttft.quantile(0.95),
            p99_ttft_ms: self.ttft.quantile(0.99),
            tokens_per_second: avg(self.tps_sum, self.tps_calls),
            requests_per_second: if seconds > 0.0 {
                self.calls as f64 / seconds
            } else {
                0.0
            },
            avg_quality: avg(self.quality_sum, self.quality_calls),
            avg_rating: avg(self.rating_sum, self.rating_calls),
            tool_calls: self.tool_calls,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(status: &str, http: Option<i16>, ms: f64) -> CallFacts {
        CallFacts {
            status: status.into(),
            http_status: http,
            duration_ms: ms,
            ttft_ms: Some(ms / 4.0),
            input_tokens: 100,
            output_tokens: 50,
            cached_tokens: 10,
            cost_total_micros: (status == "ok").then_some(1_500),
            tokens_per_second: Some(40.0),
            quality_score: None,
            user_rating: None,
            tool_calls: 1,
        }
    }

    #[test]
    fn errors_are_classified_and_rates_derived() {
        let mut s = Stats::default();
        for f in [
            facts("ok", Some(200), 100.0),
            facts("ok", None, 300.0),
            facts("error", Some(429), 20.0),
            facts("error", Some(503), 20.0),
            facts("error", None, 20.0),
            facts("timeout", None, 600_000.0),
            facts("cancelled", None, 50.0),
        ] {
            s.add(&f);
        }
        let f = s.figures(7.0);
        assert_eq!(f.requests, 7);
        assert_eq!(f.successes, 2);
        assert_eq!(f.cancelled, 1);
        assert_eq!(
            f.errors,
            ErrorCounts {
                client_4xx: 1,
                server_5xx: 1,
                timeout: 1,
                other: 1
            }
        );
        assert!((f.error_rate - 4.0 / 7.0).abs() < 1e-12);
        assert_eq!(f.total_tokens, 7 * 150);
        assert_eq!(f.cost_micros, 3_000);
        assert_eq!(f.priced_requests, 2);
        assert_eq!(f.requests_per_second, 1.0);
        assert_eq!(f.tool_calls, 7);
        assert_eq!(f.avg_quality, None);
        assert_eq!(f.tokens_per_second, Some(40.0));
    }

    #[test]
    fn merging_equals_adding_everything_to_one() {
        let all: Vec<CallFacts> = (1..=50)
            .map(|i| facts(if i % 7 == 0 { "error" } else { "ok" }, None, i as f64))
            .collect();
        let (mut a, mut b, mut one) = (Stats::default(), Stats::default(), Stats::default());
        all[..20].iter().for_each(|f| a.add(f));
        all[20..].iter().for_each(|f| b.add(f));
        all.iter().for_each(|f| one.add(f));
        a.merge(&b);
        assert_eq!(a, one);
        assert_eq!(a.figures(1.0).avg_latency_ms, Some(25.5));
    }

    #[test]
    fn an_empty_period_has_no_averages() {
        let f = Stats::default().figures(60.0);
        assert_eq!(f.requests, 0);
        assert_eq!(f.error_rate, 0.0);
        assert_eq!(f.avg_latency_ms, None);
        assert_eq!(f.p95_latency_ms, None);
    }
}
