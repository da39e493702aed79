//! Sightline's own database: its connection pools, its slow statements and, when the
//! database has `pg_stat_statements`, PostgreSQL's own figures.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `GET /api/v1/database` query: the range (at most the day the server keeps).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct DatabaseQuery {
    #[serde(default)]
    pub range: Option<String>,
}

/// One pool now, with totals over the range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PoolSummary {
    /// `api` (reads, settings, housekeeping) or `writer` (ingest commits).
    pub pool: String,
    pub max_connections: u32,
    /// Connections open now, idle or in use.
    pub open: u32,
    pub idle: u32,
    pub in_use: u32,
    /// Connections handed out over the range.
    pub acquires: u64,
    pub acquire_avg_ms: f64,
    pub acquire_max_ms: f64,
    /// Acquires that found no idle connection and waited.
    pub waits: u64,
    pub slow_queries: u64,
}

/// One minute of one pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PoolPoint {
    pub pool: String,
    pub bucket: DateTime<Utc>,
    pub in_use_avg: f64,
    pub in_use_max: u32,
    pub max_connections: u32,
    pub acquires: u64,
    pub acquire_avg_ms: f64,
    pub acquire_max_ms: f64,
    pub waits: u64,
    pub slow_queries: u64,
}

/// Statements of one shape that ran slower than the threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SlowQuery {
    pub pool: String,
    /// Normalised: literals replaced by `?`, whitespace collapsed.
    pub query: String,
    pub count: u64,
    pub mean_ms: f64,
    pub max_ms: f64,
    pub last_ms: f64,
    pub last_at: DateTime<Utc>,
}

/// One statement as `pg_stat_statements` counts it (since its last reset).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StatementStat {
    pub query: String,
    pub calls: i64,
    pub total_ms: f64,
    pub mean_ms: f64,
    pub rows: i64,
}

/// `pg_stat_statements`' top statements, or why there are none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Statements {
    pub available: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub top: Vec<StatementStat>,
}

/// `GET /api/v1/database`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DatabaseOverview {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub slow_threshold_ms: u64,
    pub pools: Vec<PoolSummary>,
    pub series: Vec<PoolPoint>,
    pub slow_queries: Vec<SlowQuery>,
    pub statements: Statements,
}
