//! Model health: per model over time, context-window use, prompt-cache hits, speed, time to
//! first token, quality and ratings, with drift against a baseline.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `GET /api/v1/models/health?range=24h&baseline=7d`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct ModelHealthQuery {
    /// The recent window (`24h` by default, at most 30 days).
    #[serde(default)]
    pub range: Option<String>,
    /// The baseline before it that drift is judged against (`7d` by default, at most 30
    /// days).
    #[serde(default)]
    pub baseline: Option<String>,
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
}

/// One bucket of a model's health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HealthPoint {
    pub time: DateTime<Utc>,
    pub requests: u64,
    /// Mean input tokens per call over the context window (0 to 1).
    pub context_use: Option<f64>,
    /// Cached input tokens over input tokens (0 to 1).
    pub cache_hit_rate: Option<f64>,
    pub tokens_per_second: Option<f64>,
    pub ttft_p50_ms: Option<f64>,
    pub ttft_p95_ms: Option<f64>,
    pub avg_quality: Option<f64>,
    pub avg_rating: Option<f64>,
    /// The usual band of TTFT p95 here (rolling median ± 4 MADs of the points before).
    #[serde(default)]
    pub ttft_p95_low: Option<f64>,
    #[serde(default)]
    pub ttft_p95_high: Option<f64>,
    /// TTFT p95 fell outside its band.
    #[serde(default)]
    pub ttft_anomaly: bool,
}

/// One metric's recent window against its baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DriftFinding {
    /// `quality`, `rating`, `tokens_per_second`, `ttft_p95_ms` or `cache_hit_rate`.
    pub metric: String,
    pub baseline: f64,
    pub recent: f64,
    /// Relative change: (recent − baseline) / baseline.
    pub change: f64,
    /// Standard errors between the two means.
    pub z: f64,
    pub drifted: bool,
}

/// One model (per provider) over the range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ModelHealth {
    pub provider: String,
    pub model: String,
    pub requests: u64,
    /// From the price table; None when unknown.
    pub context_window: Option<i64>,
    pub avg_input_tokens: Option<f64>,
    pub context_use: Option<f64>,
    pub cache_hit_rate: Option<f64>,
    pub tokens_per_second: Option<f64>,
    pub ttft_p50_ms: Option<f64>,
    pub ttft_p95_ms: Option<f64>,
    pub avg_quality: Option<f64>,
    pub avg_rating: Option<f64>,
    pub rated_calls: u64,
    /// Buckets of the range whose TTFT p95 was outside its usual band.
    #[serde(default)]
    pub ttft_anomalies: u64,
    pub series: Vec<HealthPoint>,
    /// Only metrics with enough points on both sides are judged.
    pub drift: Vec<DriftFinding>,
}

/// `GET /api/v1/models/health`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ModelHealthOverview {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub baseline_from: DateTime<Utc>,
    /// Seconds per series point (60 or 3600).
    pub bucket_s: i64,
    pub models: Vec<ModelHealth>,
}
