//! `GET /api/v1/database`: Sightline's own pools over the last hours (in memory, a day at
//! most), its slow statements, and `pg_stat_statements` when the database has it.

use app::types::database::{
    DatabaseOverview, DatabaseQuery, PoolPoint, PoolSummary, SlowQuery, StatementStat, Statements,
};
use axum::{extract::State, Json};
use chrono::{Duration, Utc};

use super::{
    error::ApiError,
    params::{parse_look_back, ApiQuery},
    principal::Reader,
};
use crate::{
    dbwatch,
    domain::db_watch::{totals, MINUTES_KEPT},
    state::AppState,
    store::{self, statements::Statements as Stored},
};

/// Slow statement shapes and `pg_stat_statements` rows listed.
const TOP: usize = 20;

/// `GET /api/v1/database?range=1h`
#[utoipa::path(
    get,
    path = "/api/v1/database",
    operation_id = "database_overview",
    summary = "Sightline's database pools and slow statements",
    tag = "database",
    params(DatabaseQuery),
    responses((status = 200, description = "Sightline's pools and slow statements", body = DatabaseOverview)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn overview(
    _p: Reader,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<DatabaseQuery>,
) -> Result<Json<DatabaseOverview>, ApiError> {
    let to = Utc::now();
    let span = match &q.range {
        Some(r) => parse_look_back("range", r)?,
        None => Duration::hours(1),
    };
    if span > Duration::minutes(MINUTES_KEPT as i64) {
        return Err(ApiError::bad_param(
            "range",
            "the server keeps its pools' figures for 24 hours: ask for 24h at most",
        ));
    }
    let from = to - span;
    let watch = dbwatch::watch();
    let minutes = watch.minutes(from);
    let mut pools = Vec::new();
    for now in watch.now() {
        let mins = minutes
            .iter()
            .find(|(k, _)| *k == now.kind)
            .map(|(_, m)| m.as_slice())
            .unwrap_or_default();
        let t = totals(mins);
        pools.push(PoolSummary {
            pool: now.kind.as_str().to_owned(),
            max_connections: now.max_connections,
            open: now.open,
            idle: now.idle,
            in_use: now.open.saturating_sub(now.idle),
            acquires: t.acquires,
            acquire_avg_ms: t.acquire_avg_secs * 1000.0,
            acquire_max_ms: t.acquire_max_secs * 1000.0,
            waits: t.waits,
            slow_queries: t.slow_queries,
        });
    }
    let series = minutes
        .iter()
        .flat_map(|(kind, mins)| {
            mins.iter().map(move |m| PoolPoint {
                pool: kind.as_str().to_owned(),
                bucket: m.bucket,
                in_use_avg: m.in_use_avg(),
                in_use_max: m.in_use_max,
                max_connections: m.max_connections,
                acquires: m.acquires,
                acquire_avg_ms: m.acquire_avg_secs() * 1000.0,
                acquire_max_ms: m.acquire_max_secs * 1000.0,
                waits: m.waits,
                slow_queries: m.slow_queries,
            })
        })
        .collect();
    let slow_queries = watch
        .slow_statements(from, TOP)
        .into_iter()
        .map(|s| SlowQuery {
            pool: s.pool.as_str().to_owned(),
            query: s.sql,
            count: s.count,
            mean_ms: s.total_secs * 1000.0 / s.count.max(1) as f64,
            max_ms: s.max_secs * 1000.0,
            last_ms: s.last_secs * 1000.0,
            last_at: s.last_at,
        })
        .collect();
    let statements = match store::statements::top(&state.pool, TOP as i64).await? {
        Stored::Unavailable(reason) => Statements {
            available: false,
            reason: Some(reason),
            top: Vec::new(),
        },
        Stored::Top(rows) => Statements {
            available: true,
            reason: None,
            top: rows
                .into_iter()
                .map(|r| StatementStat {
                    query: r.query,
                    calls: r.calls,
                    total_ms: r.total_ms,
                    mean_ms: r.mean_ms,
                    rows: r.rows,
                })
                .collect(),
        },
    };
    Ok(Json(DatabaseOverview {
        from,
        to,
        slow_threshold_ms: watch.slow_threshold_ms(),
        pools,
        series,
        slow_queries,
        statements,
    }))
}
