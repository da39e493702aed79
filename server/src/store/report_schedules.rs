//! The `report_schedules` table: scheduled reports and the last period each has sent.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScheduleRow {
    pub id: i64,
    pub name: String,
    pub cadence: String,
    pub timezone: String,
    pub channel_ids: Vec<i64>,
    pub created_at: DateTime<Utc>,
    pub last_period_start: Option<DateTime<Utc>>,
    pub last_sent_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

const COLUMNS: &str = "id, name, cadence, timezone, channel_ids, created_at, last_period_start, \
     last_sent_at, last_error";

/// Stores a schedule; `current_start` is the period already closed when it was made, which
/// is not sent (the first report is for the next period).
pub async fn insert(
    pool: &PgPool,
    name: &str,
    cadence: &str,
    timezone: &str,
    channel_ids: &[i64],
    current_start: DateTime<Utc>,
) -> sqlx::Result<ScheduleRow> {
    sqlx::query_as(&format!(
        "INSERT INTO report_schedules (name, cadence, timezone, channel_ids, last_period_start)
         VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
    ))
    .bind(name)
    .bind(cadence)
    .bind(timezone)
    .bind(channel_ids)
    .bind(current_start)
    .fetch_one(pool)
    .await
}

pub async fn list(pool: &PgPool) -> sqlx::Result<Vec<ScheduleRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM report_schedules ORDER BY id"
    ))
    .fetch_all(pool)
    .await
}

pub async fn get(pool: &PgPool, id: i64) -> sqlx::Result<Option<ScheduleRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM report_schedules WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

pub async fn delete(pool: &PgPool, id: i64) -> sqlx::Result<Option<ScheduleRow>> {
    sqlx::query_as(&format!(
        "DELETE FROM report_schedules WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// Takes the period starting at `start` for sending: true for the one server whose update
/// moved the schedule on.
pub async fn claim(pool: &PgPool, id: i64, start: DateTime<Utc>) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE report_schedules SET last_period_start = $2
         WHERE id = $1 AND (last_period_start IS NULL OR last_period_start < $2)",
    )
    .bind(id)
    .bind(start)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Notes a sending: when, and why it failed on some channel (None when all went).
pub async fn sent(pool: &PgPool, id: i64, error: Option<&str>) -> sqlx::Result<()> {
    sqlx::query("UPDATE report_schedules SET last_sent_at = now(), last_error = $2 WHERE id = $1")
        .bind(id)
        .bind(error)
        .execute(pool)
        .await?;
    Ok(())
}
