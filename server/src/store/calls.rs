//! The `llm_calls` table: bulk inserts, daily partitions, filtered keyset listing.

use std::collections::HashSet;

use app::types::{Call, CallStatus};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder, Transaction};

use crate::domain::call::NewCall;

/// The columns a stored call is written with, in the order [`copy_new`] sends them.
const COLUMNS: &str = "id, time, trace_id, session_id, user_id, feature, provider, model,
    response_model, status, error_type, error_message, http_status, ttft_ms, streaming_ms,
    duration_ms, input_tokens, output_tokens, cached_tokens, reasoning_tokens,
    tokens_per_second, cost_input_micros, cost_output_micros, cost_total_micros, tool_calls,
    quality_score, user_rating, metadata, api_key_id, cost_source";
const COLUMN_COUNT: i16 = 30;

/// Stores calls none of which is stored yet, with one binary `COPY`: about twice as fast
/// as an `INSERT … ON CONFLICT` (docs/BENCHMARKS.md). `COPY` cannot skip duplicates: when
/// any call is already stored, or repeated in `calls`, this answers `false` and the
/// transaction is aborted, for the caller to roll back and use [`insert_batch`] in a new
/// one. (No savepoint: it would cost every commit two more round trips for a rare case.)
pub async fn copy_new(
    tx: &mut Transaction<'_, Postgres>,
    calls: &[&NewCall],
) -> sqlx::Result<bool> {
    if calls.is_empty() {
        return Ok(true);
    }
    match copy_rows(tx, copy_payload(calls)).await {
        Ok(()) => Ok(true),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e),
    }
}

async fn copy_rows(tx: &mut Transaction<'_, Postgres>, payload: Vec<u8>) -> sqlx::Result<()> {
    let mut copy = tx
        .copy_in_raw(&format!(
            "COPY llm_calls ({COLUMNS}) FROM STDIN (FORMAT binary)"
        ))
        .await?;
    copy.send(payload).await?;
    copy.finish().await?;
    Ok(())
}

/// The binary `COPY` rows of `calls`, in [`COLUMNS`] order.
fn copy_payload(calls: &[&NewCall]) -> Vec<u8> {
    let mut b = super::copy_binary::CopyBuffer::new(calls.len() * 320);
    for n in calls {
        let c = &n.call;
        b.row(COLUMN_COUNT);
        b.text(Some(&c.id));
        b.timestamptz(c.time);
        b.text(c.trace_id.as_deref());
        b.text(c.session_id.as_deref());
        b.text(c.user_id.as_deref());
        b.text(c.feature.as_deref());
        b.text(Some(&c.provider));
        b.text(Some(&c.model));
        b.text(c.response_model.as_deref());
        b.text(Some(c.status.as_str()));
        b.text(c.error_type.as_deref());
        b.text(c.error_message.as_deref());
        b.int2(c.http_status.map(|s| s as i16));
        b.float8(c.ttft_ms);
        b.float8(c.streaming_ms);
        b.float8(Some(c.duration_ms));
        b.int8(Some(c.input_tokens));
        b.int8(Some(c.output_tokens));
        b.int8(Some(c.cached_tokens));
        b.int8(Some(c.reasoning_tokens));
        b.float8(c.tokens_per_second);
        b.int8(c.cost_input_micros);
        b.int8(c.cost_output_micros);
        b.int8(c.cost_total_micros);
        b.int4(Some(c.tool_calls));
        b.float8(c.quality_score);
        b.int2(c.user_rating);
        b.jsonb(c.metadata.as_ref().map(|m| m.to_string()).as_deref());
        b.int8(n.api_key_id);
        b.text(n.cost_source.map(|s| s.as_str()));
    }
    b.finish()
}

/// Inserts calls with one statement (arrays unnested server-side); calls already stored
/// (same time and id) are skipped. Returns which of `calls` were new.
pub async fn insert_batch(
    tx: &mut Transaction<'_, Postgres>,
    calls: &[NewCall],
) -> sqlx::Result<Vec<bool>> {
    macro_rules! col {
        ($f:expr) => {
            calls.iter().map(|n| &n.call).map($f).collect::<Vec<_>>()
        };
    }
    let inserted: Vec<(DateTime<Utc>, String)> = sqlx::query_as(
        "INSERT INTO llm_calls (id, time, trace_id, session_id, user_id, feature, provider, model,
            response_model, status, error_type, error_message, http_status, ttft_ms, streaming_ms,
            duration_ms, input_tokens, output_tokens, cached_tokens, reasoning_tokens,
            tokens_per_second, cost_input_micros, cost_output_micros, cost_total_micros,
            tool_calls, quality_score, user_rating, metadata, api_key_id, cost_source)
         SELECT id, time, trace_id, session_id, user_id, feature, provider, model,
            response_model, status, error_type, error_message, http_status, ttft_ms, streaming_ms,
            duration_ms, input_tokens, output_tokens, cached_tokens, reasoning_tokens,
            tokens_per_second, cost_input_micros, cost_output_micros, cost_total_micros,
            tool_calls, quality_score, user_rating, metadata::jsonb, api_key_id, cost_source
         FROM UNNEST($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[],
            $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
            $13::smallint[], $14::float8[], $15::float8[], $16::float8[], $17::int8[], $18::int8[],
            $19::int8[], $20::int8[], $21::float8[], $22::int8[], $23::int8[], $24::int8[],
            $25::int4[], $26::float8[], $27::smallint[], $28::text[], $29::int8[], $30::text[])
         AS t(id, time, trace_id, session_id, user_id, feature, provider, model,
            response_model, status, error_type, error_message, http_status, ttft_ms, streaming_ms,
            duration_ms, input_tokens, output_tokens, cached_tokens, reasoning_tokens,
            tokens_per_second, cost_input_micros, cost_output_micros, cost_total_micros,
            tool_calls, quality_score, user_rating, metadata, api_key_id, cost_source)
         ON CONFLICT DO NOTHING
         RETURNING time, id",
    )
    .bind(col!(|c| c.id.clone()))
    .bind(col!(|c| c.time))
    .bind(col!(|c| c.trace_id.clone()))
    .bind(col!(|c| c.session_id.clone()))
    .bind(col!(|c| c.user_id.clone()))
    .bind(col!(|c| c.feature.clone()))
    .bind(col!(|c| c.provider.clone()))
    .bind(col!(|c| c.model.clone()))
    .bind(col!(|c| c.response_model.clone()))
    .bind(col!(|c| c.status.as_str().to_owned()))
    .bind(col!(|c| c.error_type.clone()))
    .bind(col!(|c| c.error_message.clone()))
    .bind(col!(|c| c.http_status.map(|s| s as i16)))
    .bind(col!(|c| c.ttft_ms))
    .bind(col!(|c| c.streaming_ms))
    .bind(col!(|c| c.duration_ms))
    .bind(col!(|c| c.input_tokens))
    .bind(col!(|c| c.output_tokens))
    .bind(col!(|c| c.cached_tokens))
    .bind(col!(|c| c.reasoning_tokens))
    .bind(col!(|c| c.tokens_per_second))
    .bind(col!(|c| c.cost_input_micros))
    .bind(col!(|c| c.cost_output_micros))
    .bind(col!(|c| c.cost_total_micros))
    .bind(col!(|c| c.tool_calls))
    .bind(col!(|c| c.quality_score))
    .bind(col!(|c| c.user_rating))
    .bind(col!(|c| c.metadata.as_ref().map(|m| m.to_string())))
    .bind(calls.iter().map(|n| n.api_key_id).collect::<Vec<_>>())
    .bind(
        calls
            .iter()
            .map(|n| n.cost_source.map(|s| s.as_str()))
            .collect::<Vec<_>>(),
    )
    .fetch_all(&mut **tx)
    .await?;
    if inserted.len() == calls.len() {
        return Ok(vec![true; calls.len()]);
    }
    // A call repeated inside the batch was inserted once: only its first copy is new.
    let mut new: HashSet<(DateTime<Utc>, String)> = inserted.into_iter().collect();
    Ok(calls
        .iter()
        .map(|n| new.remove(&(n.call.time, n.call.id.clone())))
        .collect())
}

/// Creates the daily partitions from `from` to `to` (inclusive) that do not exist yet.
pub async fn ensure_partitions(pool: &PgPool, from: NaiveDate, to: NaiveDate) -> sqlx::Result<()> {
    super::partitions::ensure(pool, "llm_calls", super::partitions::Period::Day, from, to).await
}

/// Filters of the calls list; all optional, combined with AND.
#[derive(Debug, Default, Clone)]
pub struct CallFilter {
    pub model: Option<String>,
    pub provider: Option<String>,
    pub status: Option<CallStatus>,
    pub session_id: Option<String>,
    pub user_id: Option<String>,
    pub feature: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Keyset cursor: calls strictly before this (time, id), newest first.
    pub before: Option<(DateTime<Utc>, String)>,
}

#[derive(sqlx::FromRow)]
struct CallRow {
    id: String,
    time: DateTime<Utc>,
    trace_id: Option<String>,
    session_id: Option<String>,
    user_id: Option<String>,
    feature: Option<String>,
    provider: String,
    model: String,
    response_model: Option<String>,
    status: String,
    error_type: Option<String>,
    error_message: Option<String>,
    http_status: Option<i16>,
    ttft_ms: Option<f64>,
    streaming_ms: Option<f64>,
    duration_ms: f64,
    input_tokens: i64,
    output_tokens: i64,
    cached_tokens: i64,
    reasoning_tokens: i64,
    tokens_per_second: Option<f64>,
    cost_input_micros: Option<i64>,
    cost_output_micros: Option<i64>,
    cost_total_micros: Option<i64>,
    tool_calls: i32,
    quality_score: Option<f64>,
    user_rating: Option<i16>,
    metadata: Option<String>,
}

impl From<CallRow> for Call {
    fn from(r: CallRow) -> Self {
        Call {
            id: r.id,
            time: r.time,
            trace_id: r.trace_id,
            session_id: r.session_id,
            user_id: r.user_id,
            feature: r.feature,
            provider: r.provider,
            model: r.model,
            response_model: r.response_model,
            status: CallStatus::parse(&r.status).unwrap_or(CallStatus::Error),
            error_type: r.error_type,
            error_message: r.error_message,
            http_status: r.http_status.map(|s| s as u16),
            ttft_ms: r.ttft_ms,
            streaming_ms: r.streaming_ms,
            duration_ms: r.duration_ms,
            input_tokens: r.input_tokens,
            output_tokens: r.output_tokens,
            cached_tokens: r.cached_tokens,
            reasoning_tokens: r.reasoning_tokens,
            tokens_per_second: r.tokens_per_second,
            cost_input_micros: r.cost_input_micros,
            cost_output_micros: r.cost_output_micros,
            cost_total_micros: r.cost_total_micros,
            tool_calls: r.tool_calls,
            quality_score: r.quality_score,
            user_rating: r.user_rating,
            metadata: r.metadata.and_then(|m| serde_json::from_str(&m).ok()),
        }
    }
}

/// The columns a [`CallRow`] is read from; `metadata` NULL where the caller does not show it.
fn read_columns(metadata: bool) -> String {
    let metadata = if metadata {
        "metadata::text"
    } else {
        "NULL::text"
    };
    format!(
        "id, time, trace_id, session_id, user_id, feature, provider, model, response_model,
            status, error_type, error_message, http_status, ttft_ms, streaming_ms, duration_ms,
            input_tokens, output_tokens, cached_tokens, reasoning_tokens, tokens_per_second,
            cost_input_micros, cost_output_micros, cost_total_micros, tool_calls, quality_score,
            user_rating, {metadata} AS metadata"
    )
}

/// The stored calls among the keys (`times[i]`, `ids[i]`), without metadata.
pub async fn by_keys(
    tx: &mut Transaction<'_, Postgres>,
    times: &[DateTime<Utc>],
    ids: &[String],
) -> sqlx::Result<Vec<Call>> {
    let rows: Vec<CallRow> = sqlx::query_as(&format!(
        "SELECT {} FROM llm_calls c
         JOIN UNNEST($1::timestamptz[], $2::text[]) AS k(time, id) USING (time, id)",
        read_columns(false)
    ))
    .bind(times)
    .bind(ids)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Calls matching `filter`, newest first, at most `limit`.
pub async fn list(pool: &PgPool, filter: &CallFilter, limit: i64) -> sqlx::Result<Vec<Call>> {
    list_with(pool, filter, limit, true).await
}

/// As [`list`]; without `metadata` (None) when the caller does not show it, which saves
/// reading and parsing it per call (the CSV export).
pub async fn list_with(
    pool: &PgPool,
    filter: &CallFilter,
    limit: i64,
    metadata: bool,
) -> sqlx::Result<Vec<Call>> {
    let mut q = QueryBuilder::<Postgres>::new(format!(
        "SELECT {} FROM llm_calls WHERE true",
        read_columns(metadata)
    ));
    let text_filters = [
        ("model", &filter.model),
        ("provider", &filter.provider),
        ("session_id", &filter.session_id),
        ("user_id", &filter.user_id),
        ("feature", &filter.feature),
    ];
    for (column, value) in text_filters {
        if let Some(v) = value {
            q.push(format_args!(" AND {column} = "))
                .push_bind(v.clone());
        }
    }
    if let Some(s) = filter.status {
        q.push(" AND status = ").push_bind(s.as_str());
    }
    if let Some(from) = filter.from {
        q.push(" AND time >= ").push_bind(from);
    }
    if let Some(to) = filter.to {
        q.push(" AND time < ").push_bind(to);
    }
    if let Some((t, id)) = &filter.before {
        q.push(" AND (time, id) < (")
            .push_bind(*t)
            .push(", ")
            .push_bind(id.clone())
            .push(")");
    }
    q.push(" ORDER BY time DESC, id DESC LIMIT ")
        .push_bind(limit);
    let rows: Vec<CallRow> = q.build_query_as().fetch_all(pool).await?;
    Ok(rows.into_iter().map(Into::into).collect())
}
