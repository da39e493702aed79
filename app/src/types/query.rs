//! Query parameters of the read endpoints, one struct per endpoint, shared by the server
//! (which deserialises them; a bad value is a 400 naming its parameter) and the browser.
//! Empty values count as absent, as the forms send them.

use chrono::{DateTime, Utc};
use serde::{de::IntoDeserializer, Deserialize, Deserializer, Serialize};

use super::{BucketSize, CallStatus, GroupBy};

/// An empty or blank parameter is no parameter; anything else must parse as `T`.
fn blank_as_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    match Option::<String>::deserialize(d)? {
        Some(s) if !s.trim().is_empty() => {
            T::deserialize(s.trim().to_owned().into_deserializer()).map(Some)
        }
        _ => Ok(None),
    }
}

/// `bucket=auto` (or none) lets the server choose by the range's length.
fn auto_as_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<BucketSize>, D::Error> {
    match Option::<String>::deserialize(d)?.as_deref().map(str::trim) {
        None | Some("") | Some("auto") => Ok(None),
        Some(s) => BucketSize::deserialize(s.to_owned().into_deserializer()).map(Some),
    }
}

/// `GET /api/v1/llm/calls`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct CallListQuery {
    #[serde(default, deserialize_with = "blank_as_none")]
    pub model: Option<String>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub provider: Option<String>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub status: Option<CallStatus>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub session_id: Option<String>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub user_id: Option<String>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub feature: Option<String>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub from: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub to: Option<DateTime<Utc>>,
    /// A look-back from now: `15m`, `24h`, `7d`.
    #[serde(default, deserialize_with = "blank_as_none")]
    pub since: Option<String>,
    pub limit: Option<u32>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub cursor: Option<String>,
}

/// A range: `from`/`to` (RFC 3339), or `range` (`24h`, `7d`) back from `to` or now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct RangeQuery {
    #[serde(default, deserialize_with = "blank_as_none")]
    pub from: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub to: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub range: Option<String>,
}

/// `GET /api/v1/sessions`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct SessionListQuery {
    #[serde(default, deserialize_with = "blank_as_none")]
    pub from: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub to: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub range: Option<String>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub user_id: Option<String>,
    pub limit: Option<u32>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub cursor: Option<String>,
}

/// `GET /api/v1/analytics` and `/api/v1/analytics/overview`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct AnalyticsQuery {
    #[serde(default, deserialize_with = "blank_as_none")]
    pub from: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub to: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub range: Option<String>,
    /// IANA time zone of the buckets; UTC when absent.
    #[serde(default, deserialize_with = "blank_as_none")]
    pub tz: Option<String>,
    /// Chosen by the range's length when absent or `auto`.
    #[serde(default, deserialize_with = "auto_as_none")]
    pub bucket: Option<BucketSize>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub group_by: Option<GroupBy>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub model: Option<String>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub provider: Option<String>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub feature: Option<String>,
}

/// How `GET /api/v1/system/hosts/{host}/processes` orders processes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProcessSort {
    #[default]
    Cpu,
    Memory,
}

/// `GET /api/v1/system/hosts/{host}/processes`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct ProcessQuery {
    #[serde(default, deserialize_with = "blank_as_none")]
    pub sort: Option<ProcessSort>,
    pub limit: Option<u32>,
}

/// `GET /api/v1/system/hosts/{host}/metrics`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct MetricsQuery {
    #[serde(default, deserialize_with = "blank_as_none")]
    pub from: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub to: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub range: Option<String>,
    /// Comma-separated series names; `*` at the end matches a prefix.
    #[serde(default, deserialize_with = "blank_as_none")]
    pub series: Option<String>,
    pub points: Option<u32>,
}

/// `GET /api/v1/stream`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct StreamQuery {
    /// Comma-separated topic names.
    #[serde(default, deserialize_with = "blank_as_none")]
    pub topics: Option<String>,
}

/// `GET /api/v1/alerts/history`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct AlertHistoryQuery {
    pub rule_id: Option<i64>,
    /// The state an alert went to.
    #[serde(default, deserialize_with = "blank_as_none")]
    pub state: Option<super::alert::AlertState>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub severity: Option<super::alert::Severity>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub since: Option<DateTime<Utc>>,
    pub limit: Option<u32>,
}

/// `GET /api/v1/alerts/deliveries`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    pub channel_id: Option<i64>,
    pub limit: Option<u32>,
}

/// What `GET /api/v1/reports/export` writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    #[default]
    Csv,
    Json,
    /// A two-page summary of aggregates: figures, charts, tables by model and provider,
    /// budgets.
    Pdf,
}

/// What `GET /api/v1/reports/export` exports: figures per group and bucket, or every call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExportKind {
    #[default]
    Aggregates,
    Calls,
}

/// `GET /api/v1/reports/export`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `csv` (the default), `json`, or `pdf` (aggregates only).
    #[serde(default, deserialize_with = "blank_as_none")]
    pub format: Option<ExportFormat>,
    /// `aggregates` (the default) or `calls`.
    #[serde(default, deserialize_with = "blank_as_none")]
    pub kind: Option<ExportKind>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub from: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub to: Option<DateTime<Utc>>,
    /// A look-back such as `24h`, `7d` or `30d`; the last 24 hours when nothing is given.
    #[serde(default, deserialize_with = "blank_as_none")]
    pub range: Option<String>,
    /// IANA time zone of the buckets (aggregates); UTC when absent.
    #[serde(default, deserialize_with = "blank_as_none")]
    pub tz: Option<String>,
    /// Aggregates only: chosen by the range's length when absent or `auto`.
    #[serde(default, deserialize_with = "auto_as_none")]
    pub bucket: Option<BucketSize>,
    /// Aggregates only: model, provider, feature, session, user or api_key.
    #[serde(default, deserialize_with = "blank_as_none")]
    pub group_by: Option<GroupBy>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub model: Option<String>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub provider: Option<String>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub feature: Option<String>,
}

impl ExportQuery {
    /// The aggregates part as the analytics query it is.
    pub fn analytics(&self) -> AnalyticsQuery {
        AnalyticsQuery {
            from: self.from,
            to: self.to,
            range: self.range.clone(),
            tz: self.tz.clone(),
            bucket: self.bucket,
            group_by: self.group_by,
            model: self.model.clone(),
            provider: self.provider.clone(),
            feature: self.feature.clone(),
        }
    }
}
