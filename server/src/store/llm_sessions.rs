//! Sessions of LLM calls (calls sharing a `session_id`), aggregated on read.

use app::types::SessionSummary;

use crate::analytics::bucket::RollupTier;
use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder};

const SUMMARY_COLUMNS: &str = "session_id,
    (array_agg(user_id ORDER BY time DESC) FILTER (WHERE user_id IS NOT NULL))[1] AS user_id,
    min(time) AS first_call, max(time) AS last_call, count(*) AS calls,
    count(*) FILTER (WHERE status <> 'ok') AS errors,
    sum(input_tokens)::int8 AS input_tokens, sum(output_tokens)::int8 AS output_tokens,
    sum(cost_total_micros)::int8 AS cost_micros,
    count(*) FILTER (WHERE cost_total_micros IS NULL) AS unpriced_calls,
    avg(duration_ms) AS avg_duration_ms, avg(ttft_ms) AS avg_ttft_ms,
    avg(tokens_per_second) AS avg_tokens_per_second, sum(tool_calls)::int8 AS tool_calls,
    array_agg(DISTINCT model ORDER BY model) AS models";

#[derive(sqlx::FromRow)]
struct Row {
    session_id: String,
    user_id: Option<String>,
    first_call: DateTime<Utc>,
    last_call: DateTime<Utc>,
    calls: i64,
    errors: i64,
    input_tokens: i64,
    output_tokens: i64,
    cost_micros: Option<i64>,
    unpriced_calls: i64,
    avg_duration_ms: f64,
    avg_ttft_ms: Option<f64>,
    avg_tokens_per_second: Option<f64>,
    tool_calls: i64,
    models: Vec<String>,
}

impl From<Row> for SessionSummary {
    fn from(r: Row) -> Self {
        SessionSummary {
            session_id: r.session_id,
            user_id: r.user_id,
            first_call: r.first_call,
            last_call: r.last_call,
            calls: r.calls,
            errors: r.errors,
            input_tokens: r.input_tokens,
            output_tokens: r.output_tokens,
            cost_micros: r.cost_micros,
            unpriced_calls: r.unpriced_calls,
            avg_duration_ms: r.avg_duration_ms,
            avg_ttft_ms: r.avg_ttft_ms,
            avg_tokens_per_second: r.avg_tokens_per_second,
            tool_calls: r.tool_calls,
            models: r.models,
        }
    }
}

pub struct SessionFilter {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub user_id: Option<String>,
    /// Keyset cursor: sessions whose last call is before this (time, id).
    pub before: Option<(DateTime<Utc>, String)>,
}

/// Sessions with calls in the range, most recently active first, each with its totals.
/// The page is chosen from the session spans (kept at ingest), so only its sessions' calls
/// are read; the user filter is the session's latest user.
pub async fn list(
    pool: &PgPool,
    f: &SessionFilter,
    limit: i64,
) -> sqlx::Result<Vec<SessionSummary>> {
    let mut q = QueryBuilder::<Postgres>::new(
        "WITH page AS (SELECT session_id, first_call, last_call FROM llm_session_spans
         WHERE last_call >= ",
    );
    q.push_bind(f.from)
        .push(" AND first_call < ")
        .push_bind(f.to);
    if let Some(u) = &f.user_id {
        q.push(" AND user_id = ").push_bind(u.clone());
    }
    if let Some((t, id)) = &f.before {
        q.push(" AND (last_call, session_id) < (")
            .push_bind(*t)
            .push(", ")
            .push_bind(id.clone())
            .push(")");
    }
    q.push(" ORDER BY last_call DESC, session_id DESC LIMIT ")
        .push_bind(limit);
    // The time bounds let PostgreSQL skip the day partitions the page does not touch.
    q.push(format!(
        ") SELECT {SUMMARY_COLUMNS} FROM llm_calls
         WHERE session_id IN (SELECT session_id FROM page)
           AND time >= (SELECT min(first_call) FROM page)
           AND time <= (SELECT max(last_call) FROM page)
         GROUP BY session_id ORDER BY max(time) DESC, session_id DESC"
    ));
    let rows: Vec<Row> = q.build_query_as().fetch_all(pool).await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn summary(pool: &PgPool, session_id: &str) -> sqlx::Result<Option<SessionSummary>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {SUMMARY_COLUMNS} FROM llm_calls WHERE session_id = $1 GROUP BY session_id"
    ))
    .bind(session_id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(Into::into))
}

/// Deletes every call of the session and any of its pending starts.
pub async fn delete(pool: &PgPool, session_id: &str) -> sqlx::Result<u64> {
    let mut tx = pool.begin().await?;
    let times: Vec<(DateTime<Utc>, Option<String>)> =
        sqlx::query_as("DELETE FROM llm_calls WHERE session_id = $1 RETURNING time, user_id")
            .bind(session_id)
            .fetch_all(&mut *tx)
            .await?;
    let n = times.len() as u64;
    // The hours the session touched are recomputed from what is left.
    let mut hours: Vec<DateTime<Utc>> = times
        .iter()
        .map(|t| RollupTier::Hour.truncate(t.0))
        .collect();
    hours.sort();
    hours.dedup();
    for h in hours {
        super::rollups::rebuild(&mut tx, h, h + chrono::Duration::hours(1)).await?;
    }
    super::people::delete_session(&mut tx, session_id).await?;
    let mut users: Vec<String> = times.into_iter().filter_map(|t| t.1).collect();
    users.sort();
    users.dedup();
    super::people::refresh_last_seen(&mut tx, &users).await?;
    sqlx::query("DELETE FROM pending_calls WHERE start_event->>'session_id' = $1")
        .bind(session_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(n)
}
