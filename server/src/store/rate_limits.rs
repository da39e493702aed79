//! Rate limits and the servers that share them.

use app::types::{RateLimit, RateSubject};
use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

pub async fn list(pool: &PgPool) -> sqlx::Result<Vec<RateLimit>> {
    let rows: Vec<(String, String, Option<i32>, Option<i64>)> = sqlx::query_as(
        "SELECT subject, value, requests_per_minute, tokens_per_minute FROM rate_limits
         ORDER BY subject, value",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(subject, value, rpm, tpm)| {
            Some(RateLimit {
                subject: RateSubject::parse(&subject)?,
                value,
                requests_per_minute: rpm.and_then(|v| u32::try_from(v).ok()),
                tokens_per_minute: tpm.and_then(|v| u64::try_from(v).ok()),
            })
        })
        .collect())
}

/// Replaces every limit with `limits` in one transaction.
pub async fn replace(pool: &PgPool, limits: &[RateLimit]) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM rate_limits")
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO rate_limits (subject, value, requests_per_minute, tokens_per_minute)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::int4[], $4::int8[])",
    )
    .bind(
        limits
            .iter()
            .map(|l| l.subject.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(limits.iter().map(|l| l.value.clone()).collect::<Vec<_>>())
    .bind(
        limits
            .iter()
            .map(|l| l.requests_per_minute.map(|v| v as i32))
            .collect::<Vec<_>>(),
    )
    .bind(
        limits
            .iter()
            .map(|l| l.tokens_per_minute.map(|v| v as i64))
            .collect::<Vec<_>>(),
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Marks this server alive and counts the servers seen in the last 10 seconds.
pub async fn heartbeat(pool: &PgPool, id: &str, now: DateTime<Utc>) -> sqlx::Result<u32> {
    sqlx::query(
        "INSERT INTO live_servers (id, seen_at) VALUES ($1, $2)
         ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
    )
    .bind(id)
    .bind(now)
    .execute(pool)
    .await?;
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM live_servers WHERE seen_at > $1")
        .bind(now - Duration::seconds(10))
        .fetch_one(pool)
        .await?;
    sqlx::query("DELETE FROM live_servers WHERE seen_at < $1")
        .bind(now - Duration::hours(1))
        .execute(pool)
        .await?;
    Ok(u32::try_from(n).unwrap_or(1).max(1))
}
