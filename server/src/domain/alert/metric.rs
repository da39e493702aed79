//! The metrics a rule may watch: their names (OpenTelemetry's where one exists), units,
//! labels and the aggregations that make sense for them, and how their values are computed
//! from rollup rows. Pure: the evaluator fetches the rows, this folds them.

use std::collections::BTreeMap;

use app::types::{
    alert::{Aggregation, Labels},
    workers::WorkerState,
};
use chrono::{DateTime, Utc};

use crate::analytics::{histogram::Histogram, stats::Stats};

/// Where a metric's values come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A host series from the system rollups: `num` (a series name, or the prefix before
    /// `:thing`), optionally divided by `den` (same thing) and scaled to percent.
    System {
        num: &'static str,
        den: Option<&'static str>,
        /// The label the part after `:` becomes (`mount`, `gpu`, `interface`).
        thing: Option<&'static str>,
    },
    /// Seconds since a host's last sample.
    HostSilence,
    /// A figure of LLM calls from the LLM rollups.
    Llm(LlmFigure),
    /// Budget use in percent, from the budgets' status.
    Budget { projected: bool },
    /// Calls waiting in this server's ingest queue.
    IngestQueue,
    /// A figure of monitored applications' requests, from their rollups.
    App(AppFigure),
    /// A figure of Sightline's own database pools, from the in-memory watch.
    Database(DbFigure),
    /// AI workers in each state now (from their heartbeats).
    Workers,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbFigure {
    /// Connections in use, in percent of the pool's size.
    PoolUsage,
    /// Statements slower than the threshold.
    SlowQueries,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppFigure {
    /// Seconds.
    Latency,
    /// 5xx and timeouts, in percent of requests.
    ErrorRate,
    Requests,
    /// Average requests in flight.
    Concurrency,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LlmFigure {
    /// Seconds.
    Latency,
    /// Seconds.
    Ttft,
    ErrorRate,
    Requests,
    Tokens,
    Cost,
    TokensPerSecond,
}

#[derive(Debug, Clone, Copy)]
pub struct Metric {
    pub name: &'static str,
    pub title: &'static str,
    pub unit: &'static str,
    pub source: Source,
    pub labels: &'static [&'static str],
    pub aggregations: &'static [Aggregation],
    pub default_aggregation: Aggregation,
}

use Aggregation::{Avg, Last, Max, Min, Rate, Sum, P95, P99};

const GAUGE: &[Aggregation] = &[Avg, Min, Max, Last];
const COUNTER: &[Aggregation] = &[Sum, Rate];
const LLM_LABELS: &[&str] = &["provider", "model", "feature"];
const APP_LABELS: &[&str] = &["service", "route", "method"];

const fn app(
    name: &'static str,
    title: &'static str,
    unit: &'static str,
    figure: AppFigure,
    aggregations: &'static [Aggregation],
    default_aggregation: Aggregation,
) -> Metric {
    Metric {
        name,
        title,
        unit,
        source: Source::App(figure),
        labels: APP_LABELS,
        aggregations,
        default_aggregation,
    }
}

const fn system(
    name: &'static str,
    title: &'static str,
    unit: &'static str,
    num: &'static str,
    den: Option<&'static str>,
    thing: Option<&'static str>,
    labels: &'static [&'static str],
) -> Metric {
    Metric {
        name,
        title,
        unit,
        source: Source::System { num, den, thing },
        labels,
        aggregations: GAUGE,
        default_aggregation: Avg,
    }
}

const fn llm(
    name: &'static str,
    title: &'static str,
    unit: &'static str,
    figure: LlmFigure,
    aggregations: &'static [Aggregation],
    default_aggregation: Aggregation,
) -> Metric {
    Metric {
        name,
        title,
        unit,
        source: Source::Llm(figure),
        labels: LLM_LABELS,
        aggregations,
        default_aggregation,
    }
}

pub const METRICS: &[Metric] = &[
    system(
        "system.cpu.utilization",
        "CPU utilisation",
        "%",
        "cpu.total",
        None,
        None,
        &["host"],
    ),
    system(
        "system.memory.utilization",
        "Memory utilisation",
        "%",
        "mem.used",
        Some("mem.total"),
        None,
        &["host"],
    ),
    system(
        "system.filesystem.utilization",
        "Disk use per mount",
        "%",
        "fs.used",
        Some("fs.total"),
        Some("mount"),
        &["host", "mount"],
    ),
    system(
        "system.cpu.load_average.1m",
        "Load average (1 min)",
        "",
        "load.1",
        None,
        None,
        &["host"],
    ),
    system(
        "system.network.receive",
        "Network received",
        "B/s",
        "net.rx_bytes",
        None,
        Some("interface"),
        &["host", "interface"],
    ),
    system(
        "system.network.transmit",
        "Network sent",
        "B/s",
        "net.tx_bytes",
        None,
        Some("interface"),
        &["host", "interface"],
    ),
    system(
        "gpu.utilization",
        "GPU utilisation",
        "%",
        "gpu.util",
        None,
        Some("gpu"),
        &["host", "gpu"],
    ),
    system(
        "gpu.memory.utilization",
        "GPU memory utilisation",
        "%",
        "gpu.mem_util",
        None,
        Some("gpu"),
        &["host", "gpu"],
    ),
    system(
        "gpu.temperature",
        "GPU temperature",
        "°C",
        "gpu.temp",
        None,
        Some("gpu"),
        &["host", "gpu"],
    ),
    Metric {
        name: "system.host.silence",
        title: "No data from host (seconds since its last sample)",
        unit: "s",
        source: Source::HostSilence,
        labels: &["host"],
        aggregations: &[Last],
        default_aggregation: Last,
    },
    llm(
        "gen_ai.client.operation.duration",
        "LLM latency",
        "s",
        LlmFigure::Latency,
        &[P95, P99, Avg, Max],
        P95,
    ),
    llm(
        "gen_ai.server.time_to_first_token",
        "LLM time to first token",
        "s",
        LlmFigure::Ttft,
        &[P95, P99, Avg, Max],
        P95,
    ),
    llm(
        "llm.error_rate",
        "LLM error rate",
        "%",
        LlmFigure::ErrorRate,
        &[Avg],
        Avg,
    ),
    llm(
        "llm.requests",
        "LLM requests",
        "calls",
        LlmFigure::Requests,
        COUNTER,
        Sum,
    ),
    llm(
        "gen_ai.client.token.usage",
        "LLM tokens (input + output)",
        "tokens",
        LlmFigure::Tokens,
        COUNTER,
        Sum,
    ),
    llm("llm.cost", "LLM cost", "USD", LlmFigure::Cost, COUNTER, Sum),
    llm(
        "llm.tokens_per_second",
        "LLM output tokens per second",
        "tokens/s",
        LlmFigure::TokensPerSecond,
        &[Avg],
        Avg,
    ),
    Metric {
        name: "budget.utilization",
        title: "Budget used",
        unit: "%",
        source: Source::Budget { projected: false },
        labels: &["budget"],
        aggregations: &[Last],
        default_aggregation: Last,
    },
    Metric {
        name: "budget.projected_utilization",
        title: "Budget projected at the period's end",
        unit: "%",
        source: Source::Budget { projected: true },
        labels: &["budget"],
        aggregations: &[Last],
        default_aggregation: Last,
    },
    app(
        "http.server.request.duration",
        "App request latency",
        "s",
        AppFigure::Latency,
        &[P95, P99, Avg, Max],
        P95,
    ),
    app(
        "http.server.error_rate",
        "App error rate (5xx and timeouts)",
        "%",
        AppFigure::ErrorRate,
        &[Avg],
        Avg,
    ),
    app(
        "http.server.requests",
        "App requests",
        "requests",
        AppFigure::Requests,
        COUNTER,
        Sum,
    ),
    app(
        "http.server.active_requests",
        "App requests in flight (average)",
        "requests",
        AppFigure::Concurrency,
        &[Avg],
        Avg,
    ),
    Metric {
        name: "sightline.db.pool.usage",
        title: "Sightline's database pool in use",
        unit: "%",
        source: Source::Database(DbFigure::PoolUsage),
        labels: &["pool"],
        aggregations: &[Avg, Max, Last],
        default_aggregation: Avg,
    },
    Metric {
        name: "sightline.db.slow_queries",
        title: "Sightline's slow database statements",
        unit: "statements",
        source: Source::Database(DbFigure::SlowQueries),
        labels: &["pool"],
        aggregations: COUNTER,
        default_aggregation: Sum,
    },
    Metric {
        name: "ai.workers",
        title: "AI workers by state",
        unit: "workers",
        source: Source::Workers,
        labels: &["state", "role"],
        aggregations: &[Last],
        default_aggregation: Last,
    },
    Metric {
        name: "sightline.ingest.queue",
        title: "Sightline's ingest queue (calls waiting)",
        unit: "calls",
        source: Source::IngestQueue,
        labels: &[],
        aggregations: &[Last],
        default_aggregation: Last,
    },
];

pub fn find(name: &str) -> Option<&'static Metric> {
    METRICS.iter().find(|m| m.name == name)
}

/// Workers per state (every state, zero included, so "active below 2" fires when none is
/// active), among `workers` (role, state) matching the `state` and `role` filters.
pub fn worker_values(filters: &Labels, workers: &[(String, WorkerState)]) -> Vec<(Labels, f64)> {
    let role = filters.get("role");
    WorkerState::ALL
        .iter()
        .filter(|s| filters.get("state").is_none_or(|f| f == s.as_str()))
        .map(|s| {
            let n = workers
                .iter()
                .filter(|(r, w)| w == s && role.is_none_or(|f| f == r))
                .count();
            let mut labels = Labels::from([("state".to_owned(), s.as_str().to_owned())]);
            if let Some(r) = role {
                labels.insert("role".to_owned(), r.clone());
            }
            (labels, n as f64)
        })
        .collect()
}

/// One minute of one host series, as the system rollups keep it.
#[derive(Debug, Clone)]
pub struct SystemPoint {
    pub host: String,
    pub bucket: DateTime<Utc>,
    pub series: String,
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    pub count: i64,
    pub last: f64,
    pub last_time: DateTime<Utc>,
}

/// One minute of LLM calls for a provider, model and feature.
#[derive(Debug, Clone)]
pub struct LlmPoint {
    pub bucket: DateTime<Utc>,
    pub provider: String,
    pub model: String,
    pub feature: String,
    pub stats: Stats,
    pub latency: Vec<i64>,
    pub ttft: Vec<i64>,
}

fn split(series: &str) -> (&str, Option<&str>) {
    match series.split_once(':') {
        Some((a, b)) => (a, Some(b)),
        None => (series, None),
    }
}

fn matches(filters: &Labels, labels: &Labels) -> bool {
    filters.iter().all(|(k, v)| labels.get(k) == Some(v))
}

#[derive(Default)]
struct Fold {
    min: f64,
    max: f64,
    sum: f64,
    count: i64,
    last: f64,
    last_time: Option<DateTime<Utc>>,
}

impl Fold {
    fn add(&mut self, p: &SystemPoint) {
        if self.count == 0 {
            self.min = p.min;
            self.max = p.max;
        } else {
            self.min = self.min.min(p.min);
            self.max = self.max.max(p.max);
        }
        self.sum += p.sum;
        self.count += p.count;
        if self.last_time.is_none_or(|t| p.last_time >= t) {
            self.last = p.last;
            self.last_time = Some(p.last_time);
        }
    }

    fn value(&self, agg: Aggregation) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        Some(match agg {
            Min => self.min,
            Max => self.max,
            Last => self.last,
            _ => self.sum / self.count as f64,
        })
    }
}

/// A system metric's value per label set over the points given (already limited to the
/// window), filtered by `filters`.
pub fn system_values<'a>(
    metric: &Metric,
    agg: Aggregation,
    filters: &Labels,
    points: impl IntoIterator<Item = &'a SystemPoint>,
) -> Vec<(Labels, f64)> {
    let Source::System { num, den, thing } = metric.source else {
        return Vec::new();
    };
    let host = filters.get("host");
    // (host, thing) -> (numerator, denominator)
    let mut folds: BTreeMap<(&str, Option<&str>), (Fold, Fold)> = BTreeMap::new();
    for p in points {
        // Evaluation calls this once per rule over every host's points: skip other hosts
        // before any work.
        if host.is_some_and(|h| *h != p.host) {
            continue;
        }
        let (name, part) = split(&p.series);
        let is_num = name == num;
        let is_den = den == Some(name);
        if !is_num && !is_den {
            continue;
        }
        if thing.is_some() != part.is_some() {
            continue;
        }
        let entry = folds.entry((&p.host, part)).or_default();
        if is_num {
            entry.0.add(p);
        } else {
            entry.1.add(p);
        }
    }
    let mut out = Vec::new();
    for ((host, part), (n, d)) in folds {
        let mut labels = Labels::new();
        labels.insert("host".into(), host.to_owned());
        if let (Some(label), Some(part)) = (thing, part) {
            labels.insert(label.into(), part.to_owned());
        }
        if !matches(filters, &labels) {
            continue;
        }
        let Some(v) = n.value(agg) else { continue };
        let value = match den {
            None => v,
            Some(_) => match d.value(if agg == Last { Last } else { Avg }) {
                Some(total) if total > 0.0 => v / total * 100.0,
                _ => continue,
            },
        };
        if value.is_finite() {
            out.push((labels, value));
        }
    }
    out
}

/// The labels a point's value is grouped under: the rule's filters and the `group_by`
/// labels the point has.
fn group_key(filters: &Labels, group_by: &[String], all: &Labels) -> Labels {
    filters
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .chain(
            group_by
                .iter()
                .filter_map(|g| all.get(g).map(|v| (g.clone(), v.clone()))),
        )
        .collect()
}

#[derive(Default)]
struct LlmFold {
    stats: Stats,
    latency: Histogram,
    ttft: Histogram,
}

/// An LLM metric's value per group over the points given (limited to the window of
/// `window_secs`), filtered by `filters` and split by `group_by`. Counters without calls are
/// 0 for the whole (ungrouped) set; other figures have no value without calls.
pub fn llm_values<'a>(
    figure: LlmFigure,
    agg: Aggregation,
    filters: &Labels,
    group_by: &[String],
    window_secs: f64,
    points: impl IntoIterator<Item = &'a LlmPoint>,
) -> Vec<(Labels, f64)> {
    let mut groups: BTreeMap<Labels, LlmFold> = BTreeMap::new();
    for p in points {
        let all = Labels::from([
            ("provider".to_owned(), p.provider.clone()),
            ("model".to_owned(), p.model.clone()),
            ("feature".to_owned(), p.feature.clone()),
        ]);
        if !matches(filters, &all) {
            continue;
        }
        let key = group_key(filters, group_by, &all);
        let f = groups.entry(key).or_default();
        f.stats.merge(&p.stats);
        f.latency.merge_packed(&p.latency);
        f.ttft.merge_packed(&p.ttft);
    }
    if groups.is_empty() && group_by.is_empty() {
        groups.insert(filters.clone(), LlmFold::default());
    }
    let counter = |total: f64| match agg {
        Rate => total / window_secs.max(1.0),
        _ => total,
    };
    groups
        .into_iter()
        .filter_map(|(labels, f)| {
            let s = &f.stats;
            let calls = s.calls as f64;
            let v = match figure {
                LlmFigure::Requests => Some(counter(calls)),
                LlmFigure::Tokens => Some(counter((s.input_tokens + s.output_tokens) as f64)),
                LlmFigure::Cost => Some(counter(s.cost_micros as f64 / 1e6)),
                _ if s.calls == 0 => None,
                LlmFigure::ErrorRate => Some((s.calls - s.ok - s.cancelled) as f64 / calls * 100.0),
                LlmFigure::TokensPerSecond => {
                    (s.tps_calls > 0).then(|| s.tps_sum / s.tps_calls as f64)
                }
                LlmFigure::Latency => latency(&f.latency, s.latency_sum_ms, s.calls, agg),
                LlmFigure::Ttft => latency(&f.ttft, s.ttft_sum_ms, s.ttft_calls, agg),
            }?;
            v.is_finite().then_some((labels, v))
        })
        .collect()
}

/// Seconds, from a histogram of milliseconds.
/// One minute of one of Sightline's database pools.
#[derive(Debug, Clone, PartialEq)]
pub struct DbPoint {
    pub bucket: DateTime<Utc>,
    pub pool: String,
    /// Average connections in use over the minute, in percent of the pool's size.
    pub usage_percent: f64,
    /// The most in use at one sample, in percent.
    pub peak_percent: f64,
    pub slow_queries: u64,
}

/// A database metric's value per pool over the points given (limited to the window of
/// `window_secs`), filtered by `filters`. A pool without samples has no usage value; slow
/// statements count 0.
pub fn db_values<'a>(
    figure: DbFigure,
    agg: Aggregation,
    filters: &Labels,
    window_secs: f64,
    points: impl IntoIterator<Item = &'a DbPoint>,
) -> Vec<(Labels, f64)> {
    let mut pools: BTreeMap<&str, Vec<&DbPoint>> = BTreeMap::new();
    for p in points {
        pools.entry(p.pool.as_str()).or_default().push(p);
    }
    pools
        .into_iter()
        .filter_map(|(pool, mut pts)| {
            let labels = Labels::from([("pool".to_owned(), pool.to_owned())]);
            if !matches(filters, &labels) {
                return None;
            }
            pts.sort_by_key(|p| p.bucket);
            let v = match figure {
                DbFigure::SlowQueries => {
                    let n = pts.iter().map(|p| p.slow_queries).sum::<u64>() as f64;
                    match agg {
                        Rate => n / window_secs.max(1.0),
                        _ => n,
                    }
                }
                DbFigure::PoolUsage => match agg {
                    Max => pts.iter().map(|p| p.peak_percent).fold(0.0, f64::max),
                    Last => pts.last()?.usage_percent,
                    _ => pts.iter().map(|p| p.usage_percent).sum::<f64>() / pts.len() as f64,
                },
            };
            v.is_finite().then_some((labels, v))
        })
        .collect()
}

/// One minute of one route's requests, as the application rollups keep it.
#[derive(Debug, Clone)]
pub struct AppPoint {
    pub bucket: DateTime<Utc>,
    pub service: String,
    pub route: String,
    pub method: String,
    pub agg: crate::domain::app_request::RequestAgg,
}

/// An application metric's value per group over the points given (limited to the window
/// of `window_secs`), filtered by `filters` and split by `group_by`; as for LLM metrics,
/// requests are 0 for the whole set without traffic, the other figures have no value.
pub fn app_values<'a>(
    figure: AppFigure,
    agg: Aggregation,
    filters: &Labels,
    group_by: &[String],
    window_secs: f64,
    points: impl IntoIterator<Item = &'a AppPoint>,
) -> Vec<(Labels, f64)> {
    let mut groups: BTreeMap<Labels, crate::domain::app_request::RequestAgg> = BTreeMap::new();
    for p in points {
        let all = Labels::from([
            ("service".to_owned(), p.service.clone()),
            ("route".to_owned(), p.route.clone()),
            ("method".to_owned(), p.method.clone()),
        ]);
        if !matches(filters, &all) {
            continue;
        }
        let key = group_key(filters, group_by, &all);
        groups.entry(key).or_default().merge(&p.agg);
    }
    if groups.is_empty() && group_by.is_empty() {
        groups.insert(filters.clone(), Default::default());
    }
    let secs = window_secs.max(1.0);
    groups
        .into_iter()
        .filter_map(|(labels, a)| {
            let n = a.requests;
            let v = match figure {
                AppFigure::Requests => Some(match agg {
                    Rate => n as f64 / secs,
                    _ => n as f64,
                }),
                AppFigure::Concurrency => Some(a.duration_sum_ms / 1000.0 / secs),
                _ if n == 0 => None,
                AppFigure::ErrorRate => Some(a.err_5xx.max(a.timeouts) as f64 / n as f64 * 100.0),
                AppFigure::Latency => latency(&a.hist, a.duration_sum_ms, n as i64, agg),
            }?;
            v.is_finite().then_some((labels, v))
        })
        .collect()
}

fn latency(h: &Histogram, sum_ms: f64, n: i64, agg: Aggregation) -> Option<f64> {
    if n == 0 {
        return None;
    }
    let ms = match agg {
        P95 => h.quantile(0.95)?,
        P99 => h.quantile(0.99)?,
        Max => h.quantile(1.0)?,
        _ => sum_ms / n as f64,
    };
    Some(ms / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, min, 0).unwrap()
    }

    #[test]
    fn workers_count_per_state_with_zeros() {
        use WorkerState::*;
        let ws = vec![
            ("embed".to_owned(), Active),
            ("embed".to_owned(), Lost),
            ("chat".to_owned(), Active),
            ("chat".to_owned(), Busy),
        ];
        let all = worker_values(&Labels::new(), &ws);
        assert_eq!(all.len(), 5);
        let get = |v: &[(Labels, f64)], s: &str| v.iter().find(|(l, _)| l["state"] == s).unwrap().1;
        assert_eq!(get(&all, "active"), 2.0);
        assert_eq!(get(&all, "idle"), 0.0);
        let f = Labels::from([
            ("state".to_owned(), "active".to_owned()),
            ("role".to_owned(), "embed".to_owned()),
        ]);
        let v = worker_values(&f, &ws);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].1, 1.0);
        assert_eq!(v[0].0["role"], "embed");
        // A role with no workers still answers 0, so a "below N" rule can fire.
        let none = worker_values(
            &Labels::from([
                ("state".to_owned(), "active".to_owned()),
                ("role".to_owned(), "ocr".to_owned()),
            ]),
            &ws,
        );
        assert_eq!(none[0].1, 0.0);
    }

    fn app_point(service: &str, route: &str, statuses: &[(i16, f64)]) -> AppPoint {
        let mut agg = crate::domain::app_request::RequestAgg::default();
        for (s, ms) in statuses {
            agg.record(*s, *ms, *s == 504);
        }
        AppPoint {
            bucket: t(0),
            service: service.into(),
            route: route.into(),
            method: "GET".into(),
            agg,
        }
    }

    #[test]
    fn app_metrics_fold_per_service_and_route() {
        let pts = [
            app_point("shop", "/a", &[(200, 100.0), (500, 300.0), (504, 30_000.0)]),
            app_point("shop", "/b", &[(200, 50.0), (200, 50.0)]),
            app_point("blog", "/", &[(404, 5.0)]),
        ];
        let shop = Labels::from([("service".to_owned(), "shop".to_owned())]);
        let err = app_values(AppFigure::ErrorRate, Avg, &shop, &[], 60.0, &pts);
        assert_eq!(err.len(), 1);
        assert!(
            (err[0].1 - 40.0).abs() < 1e-9,
            "two failing of five: {err:?}"
        );
        let per_route = app_values(
            AppFigure::Requests,
            Sum,
            &shop,
            &["route".into()],
            60.0,
            &pts,
        );
        assert_eq!(per_route.len(), 2);
        assert_eq!(per_route[0].0.get("route").map(String::as_str), Some("/a"));
        assert_eq!(per_route[0].1, 3.0);
        let rate = app_values(AppFigure::Requests, Rate, &Labels::new(), &[], 60.0, &pts);
        assert!((rate[0].1 - 6.0 / 60.0).abs() < 1e-9);
        let busy = app_values(AppFigure::Concurrency, Avg, &shop, &[], 60.0, &pts);
        assert!((busy[0].1 - 30.5 / 60.0).abs() < 1e-9);
        let p99 = app_values(AppFigure::Latency, P99, &shop, &[], 60.0, &pts);
        assert!((p99[0].1 - 30.0).abs() / 30.0 < 0.02, "{p99:?}");
        // No traffic: no latency, zero requests.
        let none = Labels::from([("service".to_owned(), "nope".to_owned())]);
        assert!(app_values(AppFigure::Latency, P95, &none, &[], 60.0, &pts).is_empty());
        assert_eq!(
            app_values(AppFigure::Requests, Sum, &none, &[], 60.0, &pts)[0].1,
            0.0
        );
    }

    fn point(host: &str, min: u32, series: &str, vals: &[f64]) -> SystemPoint {
        SystemPoint {
            host: host.into(),
            bucket: t(min),
            series: series.into(),
            min: vals.iter().cloned().fold(f64::INFINITY, f64::min),
            max: vals.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
            sum: vals.iter().sum(),
            count: vals.len() as i64,
            last: *vals.last().unwrap(),
            last_time: t(min) + chrono::Duration::seconds(vals.len() as i64),
        }
    }

    #[test]
    fn every_metric_has_a_default_among_its_aggregations() {
        for m in METRICS {
            assert!(
                m.aggregations.contains(&m.default_aggregation),
                "{}",
                m.name
            );
        }
        assert!(find("system.cpu.utilization").is_some());
        assert!(find("cpu").is_none());
    }

    #[test]
    fn cpu_per_host_with_each_aggregation() {
        let m = find("system.cpu.utilization").unwrap();
        let pts = [
            point("a", 0, "cpu.total", &[10.0, 20.0]),
            point("a", 1, "cpu.total", &[30.0, 40.0]),
            point("b", 0, "cpu.total", &[90.0]),
            point("a", 0, "cpu.core:0", &[99.0]),
        ];
        let none = Labels::new();
        let avg = system_values(m, Avg, &none, &pts);
        assert_eq!(avg.len(), 2);
        assert_eq!(avg[0].0["host"], "a");
        assert_eq!(avg[0].1, 25.0);
        assert_eq!(avg[1].1, 90.0);
        assert_eq!(system_values(m, Max, &none, &pts)[0].1, 40.0);
        assert_eq!(system_values(m, Min, &none, &pts)[0].1, 10.0);
        assert_eq!(system_values(m, Last, &none, &pts)[0].1, 40.0);
        let only_b = Labels::from([("host".to_owned(), "b".to_owned())]);
        assert_eq!(system_values(m, Avg, &only_b, &pts).len(), 1);
    }

    #[test]
    fn ratios_per_mount_are_percent() {
        let m = find("system.filesystem.utilization").unwrap();
        let pts = [
            point("a", 0, "fs.used:/", &[50.0]),
            point("a", 0, "fs.total:/", &[200.0]),
            point("a", 0, "fs.used:/data", &[9.0]),
            point("a", 0, "fs.total:/data", &[10.0]),
        ];
        let v = system_values(m, Avg, &Labels::new(), &pts);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].0["mount"], "/");
        assert_eq!(v[0].1, 25.0);
        assert_eq!(v[1].1, 90.0);
    }

    fn llm_point(model: &str, calls: i64, ok: i64, latencies_ms: &[f64]) -> LlmPoint {
        let mut h = Histogram::new();
        for l in latencies_ms {
            h.record(*l);
        }
        LlmPoint {
            bucket: t(0),
            provider: "openai".into(),
            model: model.into(),
            feature: String::new(),
            stats: Stats {
                calls,
                ok,
                err_5xx: calls - ok,
                latency_sum_ms: latencies_ms.iter().sum(),
                input_tokens: 10 * calls,
                output_tokens: 5 * calls,
                cost_micros: 1_000_000 * calls,
                ..Stats::default()
            },
            latency: h.to_packed(),
            ttft: Vec::new(),
        }
    }

    #[test]
    fn llm_figures_whole_and_grouped() {
        let pts = [
            llm_point("a", 4, 3, &[100.0, 200.0, 300.0, 8000.0]),
            llm_point("b", 1, 1, &[50.0]),
        ];
        let none = Labels::new();
        let err = llm_values(LlmFigure::ErrorRate, Avg, &none, &[], 300.0, &pts);
        assert_eq!(err, vec![(none.clone(), 20.0)]);
        let by_model = llm_values(
            LlmFigure::ErrorRate,
            Avg,
            &none,
            &["model".to_owned()],
            300.0,
            &pts,
        );
        assert_eq!(by_model.len(), 2);
        assert_eq!(by_model[0].1, 25.0);
        let p99 = llm_values(LlmFigure::Latency, P99, &none, &[], 300.0, &pts)[0].1;
        assert!((p99 - 8.0).abs() / 8.0 < 0.03, "{p99}");
        let rate = llm_values(LlmFigure::Requests, Rate, &none, &[], 5.0, &pts)[0].1;
        assert_eq!(rate, 1.0);
        assert_eq!(
            llm_values(LlmFigure::Cost, Sum, &none, &[], 300.0, &pts)[0].1,
            5.0
        );
    }

    #[test]
    fn no_calls_is_zero_for_counters_and_no_data_for_the_rest() {
        let none = Labels::new();
        assert_eq!(
            llm_values(LlmFigure::Requests, Sum, &none, &[], 60.0, &[]),
            vec![(none.clone(), 0.0)]
        );
        assert!(llm_values(LlmFigure::Latency, P95, &none, &[], 60.0, &[]).is_empty());
        assert!(llm_values(LlmFigure::ErrorRate, Avg, &none, &[], 60.0, &[]).is_empty());
    }

    #[test]
    fn database_figures_fold_per_pool() {
        let pt = |min, pool: &str, usage, peak, slow| DbPoint {
            bucket: t(min),
            pool: pool.into(),
            usage_percent: usage,
            peak_percent: peak,
            slow_queries: slow,
        };
        let pts = [
            pt(1, "api", 20.0, 40.0, 2),
            pt(0, "api", 10.0, 90.0, 1),
            pt(0, "writer", 50.0, 75.0, 0),
        ];
        let none = Labels::new();
        let usage = |agg| db_values(DbFigure::PoolUsage, agg, &none, 120.0, &pts);
        let api = |v: Vec<(Labels, f64)>| v.iter().find(|(l, _)| l["pool"] == "api").unwrap().1;
        assert_eq!(api(usage(Avg)), 15.0);
        assert_eq!(api(usage(Max)), 90.0);
        assert_eq!(
            api(usage(Last)),
            20.0,
            "the newest minute, whatever the order"
        );
        let slow = db_values(DbFigure::SlowQueries, Sum, &none, 120.0, &pts);
        assert_eq!(slow.len(), 2);
        assert_eq!(api(slow), 3.0);
        let rate = db_values(DbFigure::SlowQueries, Rate, &none, 120.0, &pts);
        assert_eq!(api(rate), 0.025);
        let writer = Labels::from([("pool".to_owned(), "writer".to_owned())]);
        let only = db_values(DbFigure::PoolUsage, Avg, &writer, 120.0, &pts);
        assert_eq!(only, vec![(writer, 50.0)]);
    }
}
