//! The rollup tables `llm_rollup_minute` and `llm_rollup_hour`: additive upserts from the
//! ingest writer, reads for analytics, and rebuilds from raw rows after calls change.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder, Transaction};

pub use crate::analytics::rollup::RollupRow;
use crate::analytics::{
    bucket::RollupTier,
    closed,
    histogram::Histogram,
    rollup::RollupKey,
    stats::{CallFacts, Stats},
};

/// The current rollup generation (see [`crate::analytics::closed`]).
pub async fn generation(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT generation FROM llm_rollup_generation")
        .fetch_one(pool)
        .await
}

/// Moves the generation on, in the transaction that changes closed rollups.
async fn bump_generation(tx: &mut Transaction<'_, Postgres>) -> sqlx::Result<()> {
    sqlx::query("UPDATE llm_rollup_generation SET generation = generation + 1")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Adds `deltas` to `tier`'s rows (creating missing ones), in key order. Late calls (buckets
/// before [`closed::late_before`]) move the generation on, checked with the minute tier: it is
/// written first, so like [`rebuild`] the generation row is the first rollup lock taken.
pub async fn upsert(
    tx: &mut Transaction<'_, Postgres>,
    tier: RollupTier,
    deltas: &BTreeMap<RollupKey, Stats>,
) -> sqlx::Result<()> {
    let Some(first) = deltas.keys().next() else {
        return Ok(());
    };
    // Keys are sorted by bucket first, so the first is the oldest.
    if tier == RollupTier::Minute && first.bucket < closed::late_before(Utc::now()) {
        bump_generation(tx).await?;
    }
    macro_rules! col {
        ($f:expr) => {
            deltas.iter().map($f).collect::<Vec<_>>()
        };
    }
    // The table name comes from the RollupTier enum, never from input.
    let sql = format!(
        "INSERT INTO {t} AS r (bucket, provider, model, feature, calls, ok, err_4xx, err_5xx,
            err_timeout, err_other, cancelled, input_tokens, output_tokens, cached_tokens,
            cost_micros, priced_calls, latency_sum_ms, ttft_sum_ms, ttft_calls, tps_sum,
            tps_calls, quality_sum, quality_calls, tool_calls, latency_hist, ttft_hist,
            rating_sum, rating_calls)
         SELECT bucket, provider, model, feature, calls, ok, err_4xx, err_5xx, err_timeout,
            err_other, cancelled, input_tokens, output_tokens, cached_tokens, cost_micros,
            priced_calls, latency_sum_ms, ttft_sum_ms, ttft_calls, tps_sum, tps_calls,
            quality_sum, quality_calls, tool_calls, latency_hist::int8[], ttft_hist::int8[],
            rating_sum, rating_calls
         FROM UNNEST($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::int8[],
            $6::int8[], $7::int8[], $8::int8[], $9::int8[], $10::int8[], $11::int8[],
            $12::int8[], $13::int8[], $14::int8[], $15::int8[], $16::int8[], $17::float8[],
            $18::float8[], $19::int8[], $20::float8[], $21::int8[], $22::float8[], $23::int8[],
            $24::int8[], $25::text[], $26::text[], $27::float8[], $28::int8[])
         AS t(bucket, provider, model, feature, calls, ok, err_4xx, err_5xx, err_timeout,
            err_other, cancelled, input_tokens, output_tokens, cached_tokens, cost_micros,
            priced_calls, latency_sum_ms, ttft_sum_ms, ttft_calls, tps_sum, tps_calls,
            quality_sum, quality_calls, tool_calls, latency_hist, ttft_hist, rating_sum,
            rating_calls)
         ON CONFLICT (bucket, provider, model, feature) DO UPDATE SET
            calls = sat_add(r.calls, excluded.calls), ok = r.ok + excluded.ok,
            err_4xx = r.err_4xx + excluded.err_4xx, err_5xx = r.err_5xx + excluded.err_5xx,
            err_timeout = r.err_timeout + excluded.err_timeout,
            err_other = r.err_other + excluded.err_other,
            cancelled = r.cancelled + excluded.cancelled,
            input_tokens = sat_add(r.input_tokens, excluded.input_tokens),
            output_tokens = sat_add(r.output_tokens, excluded.output_tokens),
            cached_tokens = sat_add(r.cached_tokens, excluded.cached_tokens),
            cost_micros = sat_add(r.cost_micros, excluded.cost_micros),
            priced_calls = r.priced_calls + excluded.priced_calls,
            latency_sum_ms = r.latency_sum_ms + excluded.latency_sum_ms,
            ttft_sum_ms = r.ttft_sum_ms + excluded.ttft_sum_ms,
            ttft_calls = r.ttft_calls + excluded.ttft_calls,
            tps_sum = r.tps_sum + excluded.tps_sum, tps_calls = r.tps_calls + excluded.tps_calls,
            quality_sum = r.quality_sum + excluded.quality_sum,
            quality_calls = r.quality_calls + excluded.quality_calls,
            rating_sum = r.rating_sum + excluded.rating_sum,
            rating_calls = r.rating_calls + excluded.rating_calls,
            tool_calls = sat_add(r.tool_calls, excluded.tool_calls),
            latency_hist = sl_hist_merge(r.latency_hist, excluded.latency_hist),
            ttft_hist = sl_hist_merge(r.ttft_hist, excluded.ttft_hist)",
        t = tier.table()
    );
    sqlx::query(&sql)
        .bind(col!(|(k, _)| k.bucket))
        .bind(col!(|(k, _)| k.provider.clone()))
        .bind(col!(|(k, _)| k.model.clone()))
        .bind(col!(|(k, _)| k.feature.clone()))
        .bind(col!(|(_, s)| s.calls))
        .bind(col!(|(_, s)| s.ok))
        .bind(col!(|(_, s)| s.err_4xx))
        .bind(col!(|(_, s)| s.err_5xx))
        .bind(col!(|(_, s)| s.err_timeout))
        .bind(col!(|(_, s)| s.err_other))
        .bind(col!(|(_, s)| s.cancelled))
        .bind(col!(|(_, s)| s.input_tokens))
        .bind(col!(|(_, s)| s.output_tokens))
        .bind(col!(|(_, s)| s.cached_tokens))
        .bind(col!(|(_, s)| s.cost_micros))
        .bind(col!(|(_, s)| s.priced_calls))
        .bind(col!(|(_, s)| s.latency_sum_ms))
        .bind(col!(|(_, s)| s.ttft_sum_ms))
        .bind(col!(|(_, s)| s.ttft_calls))
        .bind(col!(|(_, s)| s.tps_sum))
        .bind(col!(|(_, s)| s.tps_calls))
        .bind(col!(|(_, s)| s.quality_sum))
        .bind(col!(|(_, s)| s.quality_calls))
        .bind(col!(|(_, s)| s.tool_calls))
        .bind(col!(|(_, s)| s.latency.to_pg_literal()))
        .bind(col!(|(_, s)| s.ttft.to_pg_literal()))
        .bind(col!(|(_, s)| s.rating_sum))
        .bind(col!(|(_, s)| s.rating_calls))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Optional dimension filters of an analytics query.
#[derive(Debug, Default, Clone)]
pub struct DimFilter {
    pub provider: Option<String>,
    pub model: Option<String>,
    pub feature: Option<String>,
}

impl DimFilter {
    fn push(&self, q: &mut QueryBuilder<'_, Postgres>, feature_empty_as_null: bool) {
        if let Some(p) = &self.provider {
            q.push(" AND provider = ").push_bind(p.clone());
        }
        if let Some(m) = &self.model {
            q.push(" AND model = ").push_bind(m.clone());
        }
        if let Some(f) = &self.feature {
            if feature_empty_as_null {
                q.push(" AND coalesce(feature, '') = ");
            } else {
                q.push(" AND feature = ");
            }
            q.push_bind(f.clone());
        }
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    bucket: DateTime<Utc>,
    provider: String,
    model: String,
    feature: String,
    calls: i64,
    ok: i64,
    err_4xx: i64,
    err_5xx: i64,
    err_timeout: i64,
    err_other: i64,
    cancelled: i64,
    input_tokens: i64,
    output_tokens: i64,
    cached_tokens: i64,
    cost_micros: i64,
    priced_calls: i64,
    latency_sum_ms: f64,
    ttft_sum_ms: f64,
    ttft_calls: i64,
    tps_sum: f64,
    tps_calls: i64,
    quality_sum: f64,
    quality_calls: i64,
    rating_sum: f64,
    rating_calls: i64,
    tool_calls: i64,
    latency_hist: Vec<i64>,
    ttft_hist: Vec<i64>,
}

impl From<Row> for RollupRow {
    fn from(r: Row) -> Self {
        RollupRow {
            key: RollupKey {
                bucket: r.bucket,
                provider: r.provider,
                model: r.model,
                feature: r.feature,
            },
            stats: Stats {
                calls: r.calls,
                ok: r.ok,
                err_4xx: r.err_4xx,
                err_5xx: r.err_5xx,
                err_timeout: r.err_timeout,
                err_other: r.err_other,
                cancelled: r.cancelled,
                input_tokens: r.input_tokens,
                output_tokens: r.output_tokens,
                cached_tokens: r.cached_tokens,
                cost_micros: r.cost_micros,
                priced_calls: r.priced_calls,
                latency_sum_ms: r.latency_sum_ms,
                ttft_sum_ms: r.ttft_sum_ms,
                ttft_calls: r.ttft_calls,
                tps_sum: r.tps_sum,
                tps_calls: r.tps_calls,
                quality_sum: r.quality_sum,
                quality_calls: r.quality_calls,
                rating_sum: r.rating_sum,
                rating_calls: r.rating_calls,
                tool_calls: r.tool_calls,
                latency: Histogram::new(),
                ttft: Histogram::new(),
            },
            latency_packed: r.latency_hist,
            ttft_packed: r.ttft_hist,
        }
    }
}

/// The rows of `tier` with buckets in [from, to) matching `filter`.
pub async fn fetch(
    pool: &PgPool,
    tier: RollupTier,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    filter: &DimFilter,
) -> sqlx::Result<Vec<RollupRow>> {
    let mut q = QueryBuilder::<Postgres>::new(format!(
        "SELECT bucket, provider, model, feature, calls, ok, err_4xx, err_5xx, err_timeout,
            err_other, cancelled, input_tokens, output_tokens, cached_tokens, cost_micros,
            priced_calls, latency_sum_ms, ttft_sum_ms, ttft_calls, tps_sum, tps_calls,
            quality_sum, quality_calls, rating_sum, rating_calls, tool_calls, latency_hist,
            ttft_hist
         FROM {} WHERE bucket >= ",
        tier.table()
    ));
    q.push_bind(from).push(" AND bucket < ").push_bind(to);
    filter.push(&mut q, false);
    let rows: Vec<Row> = q.build_query_as().fetch_all(pool).await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// The columns of [`RawFacts`].
const RAW_COLUMNS: &str = "time, provider, model, feature, session_id, user_id, api_key_id,
    status, http_status, duration_ms, ttft_ms, input_tokens, output_tokens, cached_tokens,
    cost_total_micros, tokens_per_second, quality_score, user_rating, tool_calls";

/// A raw call's time, dimensions and facts, for groupings rollups do not keep.
#[derive(sqlx::FromRow)]
pub struct RawFacts {
    pub time: DateTime<Utc>,
    pub provider: String,
    pub model: String,
    pub feature: Option<String>,
    pub session_id: Option<String>,
    pub user_id: Option<String>,
    pub api_key_id: Option<i64>,
    #[sqlx(flatten)]
    pub facts: CallFacts,
}

/// Raw calls in [from, to) matching `filter`, handed to `each` without holding them all.
pub async fn scan_raw(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    filter: &DimFilter,
    mut each: impl FnMut(RawFacts),
) -> sqlx::Result<()> {
    use futures_util::TryStreamExt;
    let mut q = QueryBuilder::<Postgres>::new(format!(
        "SELECT {RAW_COLUMNS} FROM llm_calls WHERE time >= "
    ));
    q.push_bind(from).push(" AND time < ").push_bind(to);
    filter.push(&mut q, true);
    let mut rows = q.build_query_as::<RawFacts>().fetch(pool);
    while let Some(r) = rows.try_next().await? {
        each(r);
    }
    Ok(())
}

/// Recomputes both tiers for the whole hours covering [from, to) from the raw calls, after
/// calls there were re-costed or deleted.
pub async fn rebuild(
    tx: &mut Transaction<'_, Postgres>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<()> {
    bump_generation(tx).await?;
    let from = RollupTier::Hour.truncate(from);
    let to = {
        let t = RollupTier::Hour.truncate(to);
        if t == to {
            t
        } else {
            t + Duration::hours(1)
        }
    };
    for tier in [RollupTier::Minute, RollupTier::Hour] {
        sqlx::query(&format!(
            "DELETE FROM {} WHERE bucket >= $1 AND bucket < $2",
            tier.table()
        ))
        .bind(from)
        .bind(to)
        .execute(&mut **tx)
        .await?;
    }
    super::people::rebuild_users(tx, from, to).await?;
    // A day at a time keeps memory bounded over long ranges.
    let mut start = from;
    while start < to {
        let end = (start + Duration::days(1)).min(to);
        let rows: Vec<RawFacts> = sqlx::query_as(&format!(
            "SELECT {RAW_COLUMNS} FROM llm_calls WHERE time >= $1 AND time < $2"
        ))
        .bind(start)
        .bind(end)
        .fetch_all(&mut **tx)
        .await?;
        for tier in [RollupTier::Minute, RollupTier::Hour] {
            let mut deltas: BTreeMap<RollupKey, Stats> = BTreeMap::new();
            for r in &rows {
                let key = RollupKey::of(tier, r.time, &r.provider, &r.model, r.feature.as_deref());
                deltas.entry(key).or_default().add(&r.facts);
            }
            upsert(tx, tier, &deltas).await?;
        }
        start = end;
    }
    Ok(())
}
