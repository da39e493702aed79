//! Per-request GPU attribution: providers tied to a monitored host's GPU, and the GPU time
//! and energy their calls used.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A provider whose models run on one GPU of a monitored host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GpuBinding {
    pub provider: String,
    pub host: String,
    /// The GPU's index on the host (as the System page lists it).
    pub gpu: u32,
}

/// `PUT /api/v1/gpu/bindings/{provider}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GpuBindingInput {
    pub host: String,
    pub gpu: i64,
}

/// `GET /api/v1/gpu/attribution?range=1h`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct GpuAttributionQuery {
    /// At most 24 hours (raw GPU samples); `1h` by default.
    #[serde(default)]
    pub range: Option<String>,
    #[serde(default)]
    pub from: Option<DateTime<Utc>>,
    #[serde(default)]
    pub to: Option<DateTime<Utc>>,
}

/// A model's share of its GPU over the range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ModelGpuUse {
    pub provider: String,
    pub model: String,
    pub host: String,
    pub gpu: u32,
    pub calls: u64,
    /// Calls with GPU samples during them.
    pub covered_calls: u64,
    /// Seconds of the whole GPU (utilisation × time).
    pub gpu_seconds: f64,
    pub energy_wh: f64,
    pub gpu_seconds_per_call: Option<f64>,
    pub wh_per_call: Option<f64>,
    /// The calls' cost from the price table, for comparison.
    pub cost_micros: i64,
}

/// A GPU's totals over the range: what went to calls and what ran with none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GpuTotals {
    pub host: String,
    pub gpu: u32,
    pub samples: u64,
    pub attributed_gpu_seconds: f64,
    pub attributed_energy_wh: f64,
    pub idle_gpu_seconds: f64,
    pub idle_energy_wh: f64,
}

/// `GET /api/v1/gpu/attribution`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GpuAttribution {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub bindings: Vec<GpuBinding>,
    pub models: Vec<ModelGpuUse>,
    pub gpus: Vec<GpuTotals>,
}
