//! The AI worker tables: each worker's last heartbeat, and the per-minute state counts.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::domain::worker::Beat;

/// A worker as stored: its last reported state (never `lost`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WorkerRow {
    pub name: String,
    pub role: String,
    pub state: String,
    pub task: Option<String>,
    pub tasks_done: Option<i64>,
    pub cpu_percent: Option<f64>,
    pub batch_size: Option<f64>,
    pub batch_capacity: Option<i32>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

const COLUMNS: &str = "name, role, state, task, tasks_done, cpu_percent, batch_size,
    batch_capacity, first_seen, last_seen";

/// Stores `beats` as heard at `now` (names unique within the batch), returning the rows.
/// A heartbeat without a role or a tasks-done count keeps the one known.
pub async fn upsert(
    pool: &PgPool,
    beats: &[Beat],
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<WorkerRow>> {
    let col = |f: fn(&Beat) -> Option<String>| beats.iter().map(f).collect::<Vec<_>>();
    sqlx::query_as(&format!(
        "INSERT INTO ai_workers AS w (name, role, state, task, tasks_done, cpu_percent,
            batch_size, batch_capacity, first_seen, last_seen)
         SELECT name, coalesce(role, ''), state, task, tasks_done, cpu_percent, batch_size,
            batch_capacity, $7, $7
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::float8[],
            $8::float8[], $9::int4[])
            AS t(name, role, state, task, tasks_done, cpu_percent, batch_size, batch_capacity)
         ON CONFLICT (name) DO UPDATE SET
            role = CASE WHEN excluded.role = '' THEN w.role ELSE excluded.role END,
            state = excluded.state, task = excluded.task,
            tasks_done = coalesce(excluded.tasks_done, w.tasks_done),
            cpu_percent = excluded.cpu_percent, batch_size = excluded.batch_size,
            batch_capacity = coalesce(excluded.batch_capacity, w.batch_capacity),
            last_seen = excluded.last_seen
         RETURNING {COLUMNS}"
    ))
    .bind(col(|b| Some(b.name.clone())))
    .bind(col(|b| b.role.clone()))
    .bind(col(|b| Some(b.state.as_str().to_owned())))
    .bind(col(|b| b.task.clone()))
    .bind(beats.iter().map(|b| b.tasks_done).collect::<Vec<_>>())
    .bind(beats.iter().map(|b| b.cpu_percent).collect::<Vec<_>>())
    .bind(now)
    .bind(beats.iter().map(|b| b.batch_size).collect::<Vec<_>>())
    .bind(beats.iter().map(|b| b.batch_capacity).collect::<Vec<_>>())
    .fetch_all(pool)
    .await
}

/// Every worker (of `role` when given), by name.
pub async fn list(pool: &PgPool, role: Option<&str>) -> sqlx::Result<Vec<WorkerRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM ai_workers WHERE $1::text IS NULL OR role = $1 ORDER BY name"
    ))
    .bind(role)
    .fetch_all(pool)
    .await
}

/// The roles workers reported, for the panel's filter.
pub async fn roles(pool: &PgPool) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT DISTINCT role FROM ai_workers WHERE role <> '' ORDER BY role")
        .fetch_all(pool)
        .await
}

/// Forgets a worker, returning it; None when there was none of that name.
pub async fn delete(pool: &PgPool, name: &str) -> sqlx::Result<Option<WorkerRow>> {
    sqlx::query_as(&format!(
        "DELETE FROM ai_workers WHERE name = $1 RETURNING {COLUMNS}"
    ))
    .bind(name)
    .fetch_optional(pool)
    .await
}

/// Records the counts taken in the minute `bucket` (the last count of a minute wins), and
/// drops minutes before `keep_from`.
pub async fn record_counts(
    pool: &PgPool,
    bucket: DateTime<Utc>,
    counts: &[(&str, i32)],
    keep_from: DateTime<Utc>,
) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO ai_worker_minute (bucket, state, workers)
         SELECT $1, state, workers FROM UNNEST($2::text[], $3::int4[]) AS t(state, workers)
         ON CONFLICT (bucket, state) DO UPDATE SET workers = excluded.workers",
    )
    .bind(bucket)
    .bind(counts.iter().map(|(s, _)| *s).collect::<Vec<_>>())
    .bind(counts.iter().map(|(_, n)| *n).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM ai_worker_minute WHERE bucket < $1")
        .bind(keep_from)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Forgets workers silent since before `before` (autoscaled workers come and go by name).
pub async fn forget_silent(pool: &PgPool, before: DateTime<Utc>) -> sqlx::Result<u64> {
    let done = sqlx::query("DELETE FROM ai_workers WHERE last_seen < $1")
        .bind(before)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

/// The recorded counts in [from, to), as (minute, state, workers), by minute.
pub async fn counts(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Vec<(DateTime<Utc>, String, i32)>> {
    sqlx::query_as(
        "SELECT bucket, state, workers FROM ai_worker_minute
         WHERE bucket >= $1 AND bucket < $2 ORDER BY bucket",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
}
