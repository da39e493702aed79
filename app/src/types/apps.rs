//! Monitored applications: the HTTP requests other services (and Sightline itself) report,
//! and the figures the Apps page draws from their rollups.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One HTTP request a service answered. `route` is the route template (`/users/{id}`), not
/// the raw path, so figures group by endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RequestReport {
    pub service: String,
    pub route: String,
    pub method: String,
    /// The HTTP status answered (100 to 599).
    pub status: u16,
    pub duration_ms: f64,
    /// When the request arrived; now when absent.
    #[serde(default)]
    pub time: Option<DateTime<Utc>>,
    /// The request gave up waiting (a client or upstream timeout); a 504 counts as one too.
    #[serde(default)]
    pub timeout: bool,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub trace_id: Option<String>,
}

/// `POST /api/v1/requests`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RequestBatch {
    pub requests: Vec<RequestReport>,
}

/// The answer to a batch: every request was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RequestBatchAccepted {
    pub accepted: usize,
}

/// `GET /api/v1/apps` query: the range, and optionally one service and route.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct AppsQuery {
    #[serde(default)]
    pub range: Option<String>,
    #[serde(default)]
    pub from: Option<DateTime<Utc>>,
    #[serde(default)]
    pub to: Option<DateTime<Utc>>,
    /// Accepted for symmetry with the other dashboards; buckets are UTC.
    #[serde(default)]
    pub tz: Option<String>,
    #[serde(default)]
    pub service: Option<String>,
    /// Narrows the series to one route (with `method`, to one endpoint).
    #[serde(default)]
    pub route: Option<String>,
    #[serde(default)]
    pub method: Option<String>,
}

/// Request figures over some span of time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RequestFigures {
    pub requests: u64,
    /// Requests per second over the span.
    pub rps: f64,
    /// Latency percentiles in ms (None without requests).
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    pub err_4xx: u64,
    pub err_5xx: u64,
    pub timeouts: u64,
    /// Average requests in flight (Little's law: time spent in requests over wall time).
    pub concurrency: f64,
}

impl RequestFigures {
    fn share(&self, n: u64) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            n as f64 / self.requests as f64
        }
    }
    pub fn rate_4xx(&self) -> f64 {
        self.share(self.err_4xx)
    }
    pub fn rate_5xx(&self) -> f64 {
        self.share(self.err_5xx)
    }
    pub fn timeout_rate(&self) -> f64 {
        self.share(self.timeouts)
    }
    /// Answers that failed the caller: 5xx and timeouts (a timeout may also be a 5xx, so
    /// this is the larger of the two, never their sum).
    pub fn failure_rate(&self) -> f64 {
        self.share(self.err_5xx.max(self.timeouts))
    }
}

/// A service that reported in the range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ServiceSummary {
    pub service: String,
    pub requests: u64,
    pub last_seen: DateTime<Utc>,
}

/// One route of the chosen service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RouteFigures {
    pub route: String,
    pub method: String,
    pub figures: RequestFigures,
}

/// One time bucket of the series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RequestBucket {
    pub start: DateTime<Utc>,
    pub figures: RequestFigures,
}

/// `GET /api/v1/apps`: the services, and for the chosen one its totals, series and routes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AppsOverview {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub step_s: i64,
    pub services: Vec<ServiceSummary>,
    /// The service the figures are for: the one asked for, else the busiest.
    pub service: Option<String>,
    /// The route the series is narrowed to, if any.
    pub route: Option<String>,
    pub method: Option<String>,
    pub totals: RequestFigures,
    pub series: Vec<RequestBucket>,
    /// Every route of the service, busiest first.
    pub routes: Vec<RouteFigures>,
}

/// Requests just committed, per service (one event per commit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RequestsTick {
    pub services: Vec<String>,
    pub requests: usize,
}
