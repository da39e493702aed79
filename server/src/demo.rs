//! Realistic synthetic calls for demos and benchmarks: several providers and models with
//! their own speed, size, quality and failure rates, features, users with sessions, and a
//! daily rhythm. Deterministic for a seed and a `now`. Pure: `cli` sends them to a server.

use app::types::{CallInput, CallStatus};
use chrono::{DateTime, Duration, Timelike, Utc};
use rand::{rngs::SmallRng, Rng, SeedableRng};

struct Model {
    provider: &'static str,
    name: &'static str,
    /// Relative share of traffic.
    weight: u32,
    /// Median time to first token (ms) and output speed (tokens/s).
    ttft_ms: f64,
    tps: f64,
    /// Median output tokens.
    output: f64,
    quality: f64,
}

const MODELS: &[Model] = &[
    Model {
        provider: "openai",
        name: "gpt-4o-mini",
        weight: 30,
        ttft_ms: 380.0,
        tps: 95.0,
        output: 220.0,
        quality: 78.0,
    },
    Model {
        provider: "openai",
        name: "gpt-4.1",
        weight: 10,
        ttft_ms: 620.0,
        tps: 62.0,
        output: 380.0,
        quality: 88.0,
    },
    Model {
        provider: "openai",
        name: "o4-mini",
        weight: 6,
        ttft_ms: 2400.0,
        tps: 120.0,
        output: 900.0,
        quality: 90.0,
    },
    Model {
        provider: "anthropic",
        name: "claude-sonnet-4",
        weight: 15,
        ttft_ms: 900.0,
        tps: 58.0,
        output: 450.0,
        quality: 91.0,
    },
    Model {
        provider: "anthropic",
        name: "claude-haiku-4",
        weight: 12,
        ttft_ms: 420.0,
        tps: 110.0,
        output: 260.0,
        quality: 80.0,
    },
    Model {
        provider: "google",
        name: "gemini-2.5-flash",
        weight: 12,
        ttft_ms: 350.0,
        tps: 160.0,
        output: 300.0,
        quality: 82.0,
    },
    Model {
        provider: "google",
        name: "gemini-2.5-pro",
        weight: 5,
        ttft_ms: 1500.0,
        tps: 75.0,
        output: 600.0,
        quality: 92.0,
    },
    Model {
        provider: "ollama",
        name: "llama3.1:8b",
        weight: 10,
        ttft_ms: 150.0,
        tps: 45.0,
        output: 200.0,
        quality: 65.0,
    },
];

const FEATURES: &[(&str, u32)] = &[
    ("chat", 45),
    ("search", 20),
    ("summarize", 15),
    ("code-review", 12),
    ("support-bot", 8),
];

/// Share of traffic by hour of day (UTC): quiet nights, busy afternoons.
const HOURLY: [u32; 24] = [
    3, 2, 2, 2, 2, 3, 5, 8, 12, 15, 16, 16, 15, 16, 17, 17, 16, 14, 11, 9, 7, 6, 5, 4,
];

fn pick<T>(rng: &mut SmallRng, items: &[T], weight: impl Fn(&T) -> u32) -> usize {
    let total: u32 = items.iter().map(&weight).sum();
    let mut x = rng.random_range(0..total.max(1));
    for (i, it) in items.iter().enumerate() {
        let w = weight(it);
        if x < w {
            return i;
        }
        x -= w;
    }
    0
}

/// A log-normal factor around 1 with spread `sigma` (Box–Muller).
fn spread(rng: &mut SmallRng, sigma: f64) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random_range(0.0..1.0);
    let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    (sigma * z).exp()
}

/// `n` calls between `now - days` and `now`, oldest first.
pub struct Generator {
    rng: SmallRng,
    now: DateTime<Utc>,
    start: DateTime<Utc>,
    /// Running sum of each hour's share of traffic, from `start`.
    cumulative: Vec<f64>,
    seed: u64,
    made: u64,
    n: u64,
    session: Option<(String, String, u32)>,
}

impl Generator {
    pub fn new(n: u64, days: i64, now: DateTime<Utc>, seed: u64) -> Self {
        let hours = days.max(1) * 24;
        let start = now - Duration::hours(hours);
        let mut sum = 0.0;
        let cumulative = (0..hours)
            .map(|h| {
                let t = start + Duration::hours(h);
                let trend = 0.6 + 0.4 * h as f64 / hours as f64;
                sum += f64::from(HOURLY[t.hour() as usize]) * trend;
                sum
            })
            .collect();
        Self {
            rng: SmallRng::seed_from_u64(seed),
            now,
            start,
            cumulative,
            seed,
            made: 0,
            n,
            session: None,
        }
    }

    /// Calls come out in time order (as real traffic, and batches stay within minutes),
    /// spread over the hours by the daily rhythm and a slight upward trend.
    fn time(&mut self) -> DateTime<Utc> {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let u = (self.made as f64 + self.rng.random_range(0.0..1.0)) / self.n.max(1) as f64;
        let hour = self.cumulative.partition_point(|c| *c < u * total);
        let start = self.start + Duration::hours(hour as i64);
        let t = start + Duration::milliseconds(self.rng.random_range(0..3_600_000));
        t.min(self.now)
    }

    fn session(&mut self) -> (String, String) {
        match &mut self.session {
            Some((s, u, left)) if *left > 0 => {
                *left -= 1;
                (s.clone(), u.clone())
            }
            _ => {
                let user = format!("user-{:03}", self.rng.random_range(1..=240));
                let id = format!("demo-s{}-{}", self.seed, self.made);
                let len = self.rng.random_range(0..12);
                self.session = Some((id.clone(), user.clone(), len));
                (id, user)
            }
        }
    }

    fn call(&mut self) -> CallInput {
        let m = &MODELS[pick(&mut self.rng, MODELS, |m| m.weight)];
        let feature = FEATURES[pick(&mut self.rng, FEATURES, |f| f.1)].0;
        let (session, user) = self.session();
        let time = self.time();
        let input = (self.rng.random_range(200.0..2400.0) * spread(&mut self.rng, 0.5)) as i64;
        let mut output = (m.output * spread(&mut self.rng, 0.6)).max(1.0) as i64;
        let ttft = m.ttft_ms * spread(&mut self.rng, 0.35);
        let tps = m.tps * spread(&mut self.rng, 0.2);
        let mut duration = ttft + output as f64 * 1000.0 / tps;
        let roll: f64 = self.rng.random_range(0.0..1.0);
        let (status, http, error_type) = match roll {
            r if r < 0.012 => (CallStatus::Error, Some(429), Some("rate_limit")),
            r if r < 0.016 => (CallStatus::Error, Some(400), Some("invalid_request")),
            r if r < 0.024 => (CallStatus::Error, Some(503), Some("overloaded")),
            r if r < 0.027 => (CallStatus::Timeout, None, Some("timeout")),
            r if r < 0.030 => (CallStatus::Error, None, Some("connection_reset")),
            r if r < 0.035 => (CallStatus::Cancelled, None, None),
            _ => (CallStatus::Ok, Some(200), None),
        };
        if status != CallStatus::Ok {
            output = 0;
            duration = match status {
                CallStatus::Timeout => 60_000.0,
                _ => ttft * 0.6,
            };
        }
        let ok = status == CallStatus::Ok;
        let cached = if ok && self.rng.random_range(0..4) == 0 {
            input / 2
        } else {
            0
        };
        let id = format!("demo-{}-{}", self.seed, self.made);
        self.made += 1;
        CallInput {
            id: Some(id),
            time: Some(time),
            session_id: Some(session),
            user_id: Some(user),
            feature: Some(feature.to_owned()),
            provider: m.provider.to_owned(),
            model: m.name.to_owned(),
            status,
            http_status: http,
            error_type: error_type.map(str::to_owned),
            ttft_ms: ok.then_some((ttft * 10.0).round() / 10.0),
            duration_ms: (duration * 10.0).round() / 10.0,
            input_tokens: input.max(1) as u64,
            output_tokens: output as u64,
            cached_tokens: cached as u64,
            tool_calls: if ok && feature == "support-bot" {
                self.rng.random_range(0..3)
            } else {
                0
            },
            quality_score: ok
                .then(|| (m.quality + 6.0 * (spread(&mut self.rng, 0.5) - 1.0)).clamp(0.0, 100.0)),
            ..Default::default()
        }
    }
}

impl Iterator for Generator {
    type Item = CallInput;

    fn next(&mut self) -> Option<CallInput> {
        (self.made < self.n).then(|| self.call())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-11-22T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn calls_are_valid_varied_and_inside_the_range() {
        let calls: Vec<CallInput> = Generator::new(5_000, 30, now(), 7).collect();
        assert_eq!(calls.len(), 5_000);
        let start = now() - Duration::days(30);
        for c in &calls {
            let t = c.time.unwrap();
            assert!(t >= start && t <= now(), "{t}");
            let v = crate::ingest::call::validate(
                c.clone(),
                now(),
                &crate::domain::pricing::bundled_prices(),
                None,
                crate::ingest::call::IdPolicy::Generate,
            );
            assert!(v.is_ok(), "{c:?}: {v:?}");
        }
        let models: std::collections::HashSet<_> = calls.iter().map(|c| &c.model).collect();
        assert_eq!(models.len(), MODELS.len());
        let errors = calls.iter().filter(|c| c.status != CallStatus::Ok).count();
        assert!((50..400).contains(&errors), "{errors} errors");
        let ids: std::collections::HashSet<_> = calls.iter().map(|c| c.id.clone()).collect();
        assert_eq!(ids.len(), calls.len());
        // Oldest first, hour by hour; afternoons busier than nights.
        let hours: Vec<_> = calls
            .iter()
            .map(|c| c.time.unwrap().timestamp() / 3600)
            .collect();
        assert!(hours.windows(2).all(|w| w[0] <= w[1]));
        let at = |h: u32| calls.iter().filter(|c| c.time.unwrap().hour() == h).count();
        assert!(at(15) > 3 * at(3), "{} vs {}", at(15), at(3));
    }

    #[test]
    fn the_same_seed_gives_the_same_calls() {
        let a: Vec<CallInput> = Generator::new(50, 7, now(), 1).collect();
        let b: Vec<CallInput> = Generator::new(50, 7, now(), 1).collect();
        let c: Vec<CallInput> = Generator::new(50, 7, now(), 2).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
