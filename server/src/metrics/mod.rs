//! Sightline's own metrics for Prometheus, served at `/metrics` in the text exposition
//! format by `prometheus-client` (a registry per server, so servers in one process, as in
//! the tests, keep their own counts).
//!
//! Counters and histograms are updated where things happen (the request layer, the ingest
//! writer, the proxy, the collector); figures that are a state rather than an event (queue
//! depth, open streams, pool connections) are read when scraped.

pub mod requests;

use std::sync::{Mutex, OnceLock};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram, info::Info},
    registry::{Registry, Unit},
};
use sqlx::PgPool;

pub use requests::{track_requests, HttpMetrics};

/// Bucket bounds for latencies, in seconds: 1 ms to 10 s.
const LATENCY_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Bucket bounds for rows per group commit.
const BATCH_BUCKETS: [f64; 9] = [
    1.0, 10.0, 100.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0, 20000.0,
];

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    source: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabels {
    provider: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderErrorLabels {
    provider: String,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolStateLabels {
    pool: &'static str,
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

/// Where calls came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallSource {
    /// `POST /api/v1/llm/calls`.
    Api,
    /// `completed` and `failed` events.
    Events,
    /// Starts that never ended, stored as timeouts.
    Timeouts,
    /// OTLP spans at `/v1/traces`.
    Otlp,
    /// The proxy's records.
    Proxy,
}

impl CallSource {
    pub fn as_str(self) -> &'static str {
        match self {
            CallSource::Api => "api",
            CallSource::Events => "events",
            CallSource::Timeouts => "timeouts",
            CallSource::Otlp => "otlp",
            CallSource::Proxy => "proxy",
        }
    }
}

/// How a proxied request failed before a whole answer came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamError {
    Timeout,
    Unreachable,
    /// The answer broke off or was too large.
    Cut,
}

impl UpstreamError {
    fn as_str(self) -> &'static str {
        match self {
            UpstreamError::Timeout => "timeout",
            UpstreamError::Unreachable => "unreachable",
            UpstreamError::Cut => "cut",
        }
    }
}

/// The registry and every metric in it. Shared by `Arc`; updates are lock-free atomics
/// (families take a read lock to find their series).
pub struct Metrics {
    registry: Registry,
    pub http: HttpMetrics,
    /// Answered requests, for Sightline's own entry on the Apps page.
    pub own_requests: std::sync::Arc<crate::apps::own::OwnRequests>,
    calls_stored: Family<SourceLabels, Counter>,
    ingest_batch_rows: Histogram,
    ingest_commit_seconds: Histogram,
    ingest_commit_failures: Counter,
    ingest_queue_rows: Gauge,
    upstream_seconds: Family<ProviderLabels, Histogram, fn() -> Histogram>,
    upstream_errors: Family<ProviderErrorLabels, Counter>,
    sse_clients: Gauge,
    collector_seconds: Histogram,
    pool_connections: Family<PoolStateLabels, Gauge>,
    pool_max: Family<PoolLabels, Gauge>,
    /// The pools to report, named; set once at start.
    pools: OnceLock<Vec<(&'static str, PgPool, u32)>>,
    /// One scrape encodes at a time, so the read-at-scrape gauges are not interleaved.
    scrape: Mutex<()>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// What is read at scrape time from the rest of the server.
#[derive(Debug, Clone, Copy, Default)]
pub struct Snapshot {
    pub ingest_queue_rows: usize,
    pub sse_clients: usize,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("sightline");
        let http = HttpMetrics::register(&mut registry);
        let calls_stored = Family::<SourceLabels, Counter>::default();
        registry.register(
            "llm_calls_stored",
            "LLM calls committed to the database, by the way they came in",
            calls_stored.clone(),
        );
        let ingest_batch_rows = Histogram::new(BATCH_BUCKETS);
        registry.register(
            "ingest_batch_rows",
            "Calls written per group commit",
            ingest_batch_rows.clone(),
        );
        let ingest_commit_seconds = latency_histogram();
        registry.register_with_unit(
            "ingest_commit",
            "Time to write and commit one group of calls",
            Unit::Seconds,
            ingest_commit_seconds.clone(),
        );
        let ingest_commit_failures = Counter::default();
        registry.register(
            "ingest_commit_failures",
            "Group commits that failed (each request is then retried alone)",
            ingest_commit_failures.clone(),
        );
        let ingest_queue_rows = Gauge::default();
        registry.register(
            "ingest_queue_rows",
            "Calls accepted and waiting for their commit",
            ingest_queue_rows.clone(),
        );
        let upstream_seconds: Family<ProviderLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "proxy_upstream",
            "Time until a provider's response headers arrive, by provider",
            Unit::Seconds,
            upstream_seconds.clone(),
        );
        let upstream_errors = Family::<ProviderErrorLabels, Counter>::default();
        registry.register(
            "proxy_upstream_errors",
            "Proxied requests without a whole answer from the provider, by provider and reason",
            upstream_errors.clone(),
        );
        let sse_clients = Gauge::default();
        registry.register(
            "sse_clients",
            "Open server-sent event streams",
            sse_clients.clone(),
        );
        let collector_seconds = latency_histogram();
        registry.register_with_unit(
            "system_collect",
            "Time the built-in collector takes to sample this host",
            Unit::Seconds,
            collector_seconds.clone(),
        );
        let pool_connections = Family::<PoolStateLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database connections open, by pool and state (idle or in_use)",
            pool_connections.clone(),
        );
        let pool_max = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_pool_max_connections",
            "The most connections each pool opens",
            pool_max.clone(),
        );
        registry.register(
            "build",
            "The running build",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            }),
        );
        Self {
            registry,
            http,
            own_requests: Default::default(),
            calls_stored,
            ingest_batch_rows,
            ingest_commit_seconds,
            ingest_commit_failures,
            ingest_queue_rows,
            upstream_seconds,
            upstream_errors,
            sse_clients,
            collector_seconds,
            pool_connections,
            pool_max,
            pools: OnceLock::new(),
            scrape: Mutex::new(()),
        }
    }

    /// Names the pools whose connections `/metrics` reports (the first call wins).
    pub fn watch_pools(&self, pools: Vec<(&'static str, PgPool, u32)>) {
        let _ = self.pools.set(pools);
    }

    pub fn calls_stored(&self, source: CallSource, n: u64) {
        if n > 0 {
            self.calls_stored
                .get_or_create(&SourceLabels {
                    source: source.as_str(),
                })
                .inc_by(n);
        }
    }

    pub fn group_committed(&self, rows: usize, seconds: f64) {
        self.ingest_batch_rows.observe(rows as f64);
        self.ingest_commit_seconds.observe(seconds);
    }

    pub fn group_commit_failed(&self) {
        self.ingest_commit_failures.inc();
    }

    pub fn upstream_answered(&self, provider: &str, seconds: f64) {
        self.upstream_seconds
            .get_or_create(&ProviderLabels {
                provider: provider.to_owned(),
            })
            .observe(seconds);
    }

    pub fn upstream_failed(&self, provider: &str, error: UpstreamError) {
        self.upstream_errors
            .get_or_create(&ProviderErrorLabels {
                provider: provider.to_owned(),
                reason: error.as_str(),
            })
            .inc();
    }

    pub fn collected(&self, seconds: f64) {
        self.collector_seconds.observe(seconds);
    }

    /// The exposition text, with the state gauges read now.
    pub fn encode(&self, now: Snapshot) -> Result<String, std::fmt::Error> {
        let _one = self.scrape.lock().unwrap_or_else(|p| p.into_inner());
        self.ingest_queue_rows.set(gauge(now.ingest_queue_rows));
        self.sse_clients.set(gauge(now.sse_clients));
        for (name, pool, max) in self.pools.get().map(Vec::as_slice).unwrap_or_default() {
            let open = pool.size();
            let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX).min(open);
            for (state, n) in [("idle", idle), ("in_use", open - idle)] {
                self.pool_connections
                    .get_or_create(&PoolStateLabels { pool: name, state })
                    .set(i64::from(n));
            }
            self.pool_max
                .get_or_create(&PoolLabels { pool: name })
                .set(i64::from(*max));
        }
        let mut out = String::with_capacity(16 * 1024);
        prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

fn gauge(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_appear_under_prometheus_names_with_units() {
        let m = Metrics::new();
        m.calls_stored(CallSource::Otlp, 3);
        m.calls_stored(CallSource::Otlp, 2);
        m.calls_stored(CallSource::Api, 0);
        m.group_committed(5, 0.004);
        m.upstream_failed("openai", UpstreamError::Timeout);
        m.upstream_answered("openai", 0.2);
        let text = m
            .encode(Snapshot {
                ingest_queue_rows: 7,
                sse_clients: 2,
            })
            .unwrap();
        assert!(text.contains("sightline_llm_calls_stored_total{source=\"otlp\"} 5"));
        // No series is made for a source that stored nothing.
        assert!(!text.contains("source=\"api\""));
        assert!(text.contains("# TYPE sightline_ingest_commit_seconds histogram"));
        assert!(text.contains("sightline_ingest_commit_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains("sightline_ingest_batch_rows_sum 5"));
        assert!(text.contains(
            "sightline_proxy_upstream_errors_total{provider=\"openai\",reason=\"timeout\"} 1"
        ));
        assert!(text.contains("sightline_proxy_upstream_seconds_count{provider=\"openai\"} 1"));
        assert!(text.contains("sightline_ingest_queue_rows 7"));
        assert!(text.contains("sightline_sse_clients 2"));
        assert!(text.contains(&format!(
            "sightline_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        )));
    }

    #[test]
    fn state_gauges_follow_the_latest_scrape() {
        let m = Metrics::new();
        let first = m.encode(Snapshot {
            ingest_queue_rows: 100,
            sse_clients: 0,
        });
        assert!(first.unwrap().contains("sightline_ingest_queue_rows 100"));
        let second = m.encode(Snapshot::default()).unwrap();
        assert!(second.contains("sightline_ingest_queue_rows 0"));
    }
}
