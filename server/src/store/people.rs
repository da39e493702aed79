//! The user and session rollups (written with the calls by [`super::rollups::add`]): cleared
//! and refreshed when calls change, and read for active users, session lengths and top users.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};

/// Forgets the user hours in [from, to) (whole hours), which [`super::rollups::rebuild`]
/// then adds again from the raw calls.
pub async fn clear_users(
    tx: &mut Transaction<'_, Postgres>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM llm_user_hour WHERE bucket >= $1 AND bucket < $2")
        .bind(from)
        .bind(to)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Forgets a deleted session.
pub async fn delete_session(
    tx: &mut Transaction<'_, Postgres>,
    session_id: &str,
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM llm_session_spans WHERE session_id = $1")
        .bind(session_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// After calls of `users` were deleted (and the user hours rebuilt): each one's last call
/// again, read in the latest hour the rollup still holds for them; a user with no calls
/// left is forgotten, so active-user counts stop counting them at once.
pub async fn refresh_last_seen(
    tx: &mut Transaction<'_, Postgres>,
    users: &[String],
) -> sqlx::Result<()> {
    if users.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "WITH latest AS (
            SELECT user_id, max(bucket) AS hour FROM llm_user_hour
            WHERE user_id = ANY($1) GROUP BY user_id
         ), seen AS (
            SELECT l.user_id, (SELECT max(c.time) FROM llm_calls c
                               WHERE c.user_id = l.user_id AND c.time >= l.hour
                                 AND c.time < l.hour + interval '1 hour') AS last_seen
            FROM latest l
         ), gone AS (
            DELETE FROM llm_user_last u WHERE u.user_id = ANY($1)
              AND NOT EXISTS (SELECT 1 FROM seen s WHERE s.user_id = u.user_id)
         )
         UPDATE llm_user_last u SET last_seen = s.last_seen FROM seen s
         WHERE u.user_id = s.user_id AND s.last_seen IS NOT NULL",
    )
    .bind(users)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Users whose last call is at or after each of `since` (in order).
pub async fn active_users(pool: &PgPool, since: &[DateTime<Utc>]) -> sqlx::Result<Vec<i64>> {
    let mut out = Vec::with_capacity(since.len());
    for s in since {
        out.push(
            sqlx::query_scalar("SELECT count(*) FROM llm_user_last WHERE last_seen >= $1")
                .bind(s)
                .fetch_one(pool)
                .await?,
        );
    }
    Ok(out)
}

/// Sessions whose last call is in [from, to): how many, their mean, median and p95 length
/// in seconds, and mean calls.
pub async fn session_stats(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<(i64, Option<f64>, Option<f64>, Option<f64>, Option<f64>)> {
    sqlx::query_as(
        "SELECT count(*),
            avg(extract(epoch FROM last_call - first_call))::float8,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM last_call - first_call))::float8,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM last_call - first_call))::float8,
            avg(calls)::float8
         FROM llm_session_spans WHERE last_call >= $1 AND last_call < $2",
    )
    .bind(from)
    .bind(to)
    .fetch_one(pool)
    .await
}

/// The top `limit` users over the hours in [from, to), by cost or by tokens:
/// (user, calls, tokens, cost).
pub async fn top_users(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    by_cost: bool,
    limit: i64,
) -> sqlx::Result<Vec<(String, i64, i64, i64)>> {
    // The order comes from a bool, never from input.
    let order = if by_cost {
        "4 DESC, 3 DESC"
    } else {
        "3 DESC, 4 DESC"
    };
    sqlx::query_as(&format!(
        "SELECT user_id, sum(calls)::int8, sum(tokens)::int8, sum(cost_micros)::int8
         FROM llm_user_hour WHERE bucket >= $1 AND bucket < $2 AND user_id <> ''
         GROUP BY user_id ORDER BY {order}, 1 LIMIT $3"
    ))
    .bind(from)
    .bind(to)
    .bind(limit)
    .fetch_all(pool)
    .await
}
