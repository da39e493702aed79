//! The `pending_calls` table: started calls waiting for their end.

use app::types::StartedEvent;
use chrono::{DateTime, Utc};
use sqlx::{types::Json, PgPool};

/// A pending start as stored.
pub struct Pending {
    pub start: StartedEvent,
    pub started_at: DateTime<Utc>,
    pub api_key_id: Option<i64>,
    /// When its timeout call was stored, if it was.
    pub timed_out_at: Option<DateTime<Utc>>,
}

/// Stores a start; false when one with this id is already pending.
pub async fn insert(
    pool: &PgPool,
    start: &StartedEvent,
    started_at: DateTime<Utc>,
    deadline: DateTime<Utc>,
    api_key_id: Option<i64>,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "INSERT INTO pending_calls (id, started_at, deadline, start_event, api_key_id)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&start.id)
    .bind(started_at)
    .bind(deadline)
    .bind(Json(start))
    .bind(api_key_id)
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

type Row = (
    Json<StartedEvent>,
    DateTime<Utc>,
    Option<i64>,
    Option<DateTime<Utc>>,
);

fn pending((Json(start), started_at, api_key_id, timed_out_at): Row) -> Pending {
    Pending {
        start,
        started_at,
        api_key_id,
        timed_out_at,
    }
}

pub async fn find(pool: &PgPool, id: &str) -> sqlx::Result<Option<Pending>> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT start_event, started_at, api_key_id, timed_out_at FROM pending_calls WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(pending))
}

/// Removes a start once its call is stored.
pub async fn remove(pool: &PgPool, id: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM pending_calls WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Starts past their deadline, oldest first, at most `limit`. They are marked by
/// [`mark_timed_out`] after their timeout calls are stored, so a crash in between loses
/// nothing.
pub async fn expired(pool: &PgPool, now: DateTime<Utc>, limit: i64) -> sqlx::Result<Vec<Pending>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT start_event, started_at, api_key_id, timed_out_at FROM pending_calls
         WHERE deadline < $1 AND timed_out_at IS NULL ORDER BY deadline LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(pending).collect())
}

pub async fn mark_timed_out(pool: &PgPool, ids: &[String]) -> sqlx::Result<()> {
    sqlx::query("UPDATE pending_calls SET timed_out_at = now() WHERE id = ANY($1)")
        .bind(ids)
        .execute(pool)
        .await?;
    Ok(())
}

/// Forgets timed-out starts after a day.
pub async fn prune_timed_out(pool: &PgPool) -> sqlx::Result<u64> {
    let r = sqlx::query("DELETE FROM pending_calls WHERE timed_out_at < now() - interval '1 day'")
        .execute(pool)
        .await?;
    Ok(r.rows_affected())
}
