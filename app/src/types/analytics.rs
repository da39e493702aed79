//! Aggregated figures on the wire: `/api/v1/analytics` and `/api/v1/analytics/overview`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Failed calls by class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ErrorCounts {
    /// The provider refused the request (HTTP 4xx).
    pub client_4xx: u64,
    /// The provider failed (HTTP 5xx).
    pub server_5xx: u64,
    pub timeout: u64,
    /// Errors without an HTTP status (network, parsing, cut streams).
    pub other: u64,
}

impl ErrorCounts {
    pub fn total(&self) -> u64 {
        self.client_4xx + self.server_5xx + self.timeout + self.other
    }
}

/// The figures of a set of calls. Latencies in milliseconds, money in micro-USD.
/// Percentiles come from merged histograms (see `relative_error` on the answer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Figures {
    pub requests: u64,
    pub successes: u64,
    pub errors: ErrorCounts,
    /// Calls the client abandoned; neither successes nor errors.
    pub cancelled: u64,
    /// Errors / requests (0 when there were none).
    pub error_rate: f64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub total_tokens: i64,
    pub cached_tokens: i64,
    pub cost_micros: i64,
    /// Calls with a known cost; the others have no price.
    pub priced_requests: u64,
    pub avg_latency_ms: Option<f64>,
    pub p50_latency_ms: Option<f64>,
    pub p95_latency_ms: Option<f64>,
    pub p99_latency_ms: Option<f64>,
    pub avg_ttft_ms: Option<f64>,
    pub p50_ttft_ms: Option<f64>,
    pub p95_ttft_ms: Option<f64>,
    pub p99_ttft_ms: Option<f64>,
    /// Mean output speed over the calls that reported one.
    pub tokens_per_second: Option<f64>,
    /// Requests over the length of the period (or bucket).
    pub requests_per_second: f64,
    pub avg_quality: Option<f64>,
    /// Mean user rating (1 to 5) over the calls rated.
    #[serde(default)]
    pub avg_rating: Option<f64>,
    pub tool_calls: i64,
}

/// One time bucket of a series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BucketFigures {
    pub start: DateTime<Utc>,
    #[serde(flatten)]
    pub figures: Figures,
}

/// One group (a model, a provider, …) with its totals, the previous period's, and a series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GroupFigures {
    /// The group's value; empty when the calls did not name one (or with no grouping).
    pub key: String,
    pub totals: Figures,
    pub previous: Figures,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buckets: Vec<BucketFigures>,
}

/// `GET /api/v1/analytics`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Aggregation {
    /// The range, widened to whole minutes.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The previous period of equal length: [previous_from, from).
    pub previous_from: DateTime<Utc>,
    pub tz: String,
    pub bucket: BucketSize,
    pub group_by: GroupBy,
    pub source: AnalyticsSource,
    /// Largest relative error of the percentiles.
    pub relative_error: f64,
    pub totals: Figures,
    pub previous: Figures,
    pub groups: Vec<GroupFigures>,
}

/// `GET /api/v1/analytics/overview`: everything the Overview page draws, in one answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Overview {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub previous_from: DateTime<Utc>,
    pub tz: String,
    pub bucket: BucketSize,
    pub relative_error: f64,
    pub totals: Figures,
    pub previous: Figures,
    pub series: Vec<BucketFigures>,
    /// Per model, busiest first (no series).
    pub by_model: Vec<GroupFigures>,
    pub by_provider: Vec<GroupFigures>,
    /// The usual band of cost, tokens, p95 latency and error rate at each bucket of
    /// `series`, from the buckets before it (the previous period included).
    #[serde(default)]
    pub bands: Vec<BucketBands>,
}

/// A figure's usual range at one bucket: the rolling median ± 4 scaled MADs of the buckets
/// before it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Band {
    pub lower: f64,
    pub upper: f64,
}

impl Band {
    /// Above the band: what the Overview marks (a cost or latency unusually low is no news).
    pub fn above(&self, v: f64) -> bool {
        v > self.upper
    }
}

/// The bands at one bucket; None where the buckets before it are too few or empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BucketBands {
    pub start: DateTime<Utc>,
    pub cost_usd: Option<Band>,
    pub total_tokens: Option<Band>,
    pub p95_latency_ms: Option<Band>,
    /// A fraction, as `error_rate`.
    pub error_rate: Option<Band>,
}

/// The change from `previous` to `current` as a fraction (0.12 = +12 %); None when there
/// is nothing to compare with.
pub fn change(current: f64, previous: f64) -> Option<f64> {
    if previous == 0.0 || !previous.is_finite() || !current.is_finite() {
        return None;
    }
    Some((current - previous) / previous)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_against_the_previous_period() {
        assert_eq!(change(112.0, 100.0), Some(0.12));
        assert_eq!(change(50.0, 100.0), Some(-0.5));
        assert_eq!(change(5.0, 0.0), None);
        assert_eq!(change(0.0, 4.0), Some(-1.0));
    }

    #[test]
    fn error_totals() {
        let e = ErrorCounts {
            client_4xx: 1,
            server_5xx: 2,
            timeout: 3,
            other: 4,
        };
        assert_eq!(e.total(), 10);
    }
}

/// The size of a time bucket; days, weeks (from Monday) and months follow the calendar of
/// the query's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BucketSize {
    Minute,
    Hour,
    Day,
    Week,
    Month,
}

impl BucketSize {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Minute => "minute",
            Self::Hour => "hour",
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
        }
    }
}

/// What `GET /api/v1/analytics` groups by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    #[default]
    None,
    Model,
    Provider,
    Feature,
    Session,
    User,
    /// The API key that reported the calls (shown by name); calls sent by a logged-in person
    /// or the proxy without a key are the empty group.
    ApiKey,
}

/// Where figures came from: the rollups, or raw calls (session, user and API-key groupings,
/// which rollups do not keep).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AnalyticsSource {
    Rollups,
    Raw,
}

/// `GET /api/v1/analytics/users?range=7d`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct UsersQuery {
    /// The range of the session figures and top users (`7d` by default, at most 400 days).
    #[serde(default)]
    pub range: Option<String>,
    #[serde(default)]
    pub from: Option<DateTime<Utc>>,
    #[serde(default)]
    pub to: Option<DateTime<Utc>>,
    /// Top users listed (10 by default, at most 100).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Accepted like the other analytics queries; users are counted in UTC hours.
    #[serde(default)]
    pub tz: Option<String>,
}

/// A user's calls, tokens and cost over the range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserFigures {
    pub user_id: String,
    pub calls: i64,
    pub tokens: i64,
    pub cost_micros: i64,
}

/// Sessions whose last call is in the range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SessionFigures {
    pub sessions: i64,
    pub avg_duration_s: Option<f64>,
    pub p50_duration_s: Option<f64>,
    pub p95_duration_s: Option<f64>,
    pub avg_calls: Option<f64>,
}

/// Active users now, sessions and the top users over the range, from rollups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UsersOverview {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Users with a call in the last hour, day and week.
    pub active_1h: i64,
    pub active_24h: i64,
    pub active_7d: i64,
    pub sessions: SessionFigures,
    pub top_by_cost: Vec<UserFigures>,
    pub top_by_tokens: Vec<UserFigures>,
}
