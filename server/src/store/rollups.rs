//! The rollup tables `llm_rollup_minute`, `llm_rollup_hour` and `llm_user_hour` (the same
//! figures per hour and user): additive upserts from the ingest writer and feedback, reads
//! for analytics, and rebuilds from raw rows after calls change.

use chrono::{DateTime, Duration, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder, Transaction};

pub use crate::analytics::rollup::RollupRow;
use crate::analytics::{
    bucket::RollupTier,
    closed,
    histogram::Histogram,
    people,
    rollup::{Deltas, RollupKey},
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

/// Adds `d` to every rollup table in one statement (one round trip where five separate
/// upserts took five, while the commit's row locks are held). Tables are written in a fixed
/// order (minute, hour, user hours, then users and sessions, as [`rebuild`] deletes them) and
/// keys are sorted within each, so concurrent writers lock rows in one order. Late calls (buckets before [`closed::late_before`]) first move the generation on,
/// which like [`rebuild`] makes the generation row the first rollup lock taken.
///
/// Large deltas (calls spread over many days) go in parts of [`ROWS_PER_STATEMENT`] rows, in
/// that same order: the connection keeps its write buffer as large as the largest statement
/// it sent, and one statement of a round over 30 days held tens of MiB for good.
pub async fn add(tx: &mut Transaction<'_, Postgres>, d: Deltas) -> sqlx::Result<()> {
    for part in d.into_parts(ROWS_PER_STATEMENT) {
        add_part(tx, &part).await?;
    }
    Ok(())
}

/// Rows of the rollups in one statement at most (a few hundred bytes each as bound).
const ROWS_PER_STATEMENT: usize = 2_000;

async fn add_part(tx: &mut Transaction<'_, Postgres>, d: &Deltas) -> sqlx::Result<()> {
    if d.is_empty() {
        return Ok(());
    }
    // Keys are sorted by bucket first, so the first is the oldest.
    let oldest = d.minute.keys().next().map(|k| k.bucket);
    if oldest.is_some_and(|b| b < closed::late_before(Utc::now())) {
        bump_generation(tx).await?;
    }
    // Built once (every ingest commit runs it); table names come from code, never input.
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(add_sql);
    let mut q = sqlx::query(&SQL);
    for tier in [&d.minute, &d.hour] {
        let keys = tier.keys();
        q = q
            .bind(keys.clone().map(|k| k.bucket).collect::<Vec<_>>())
            .bind(
                keys.clone()
                    .map(|k| k.provider.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(keys.clone().map(|k| k.model.as_str()).collect::<Vec<_>>())
            .bind(keys.map(|k| k.feature.as_str()).collect::<Vec<_>>());
        q = bind_stats(q, tier.values());
    }
    q = q
        .bind(d.users.keys().map(|k| k.0).collect::<Vec<_>>())
        .bind(d.users.keys().map(|k| k.1.as_str()).collect::<Vec<_>>());
    q = bind_stats(q, d.users.values());
    let sessions = d.sessions.values();
    q.bind(d.last_seen.keys().map(String::as_str).collect::<Vec<_>>())
        .bind(d.last_seen.values().copied().collect::<Vec<_>>())
        .bind(d.sessions.keys().map(String::as_str).collect::<Vec<_>>())
        .bind(
            sessions
                .clone()
                .map(|s| s.user_id.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(sessions.clone().map(|s| s.first).collect::<Vec<_>>())
        .bind(sessions.clone().map(|s| s.last).collect::<Vec<_>>())
        .bind(sessions.map(|s| s.calls).collect::<Vec<_>>())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The statement of [`add`]: one data-modifying CTE per table, in the order [`add`] binds
/// them. A table given empty arrays is left alone. The final SELECT reads the CTEs in that
/// order, which makes PostgreSQL run them in it: CTEs nothing reads run last to first.
fn add_sql() -> String {
    let dims = [("provider", "text"), ("model", "text"), ("feature", "text")];
    // Each summary table binds its bucket, its key columns and the summary columns.
    let tier_params = 1 + dims.len() + STAT_COLUMNS.len();
    let minute = upsert_sql(RollupTier::Minute.table(), &dims, None, 1);
    let hour = upsert_sql(RollupTier::Hour.table(), &dims, None, 1 + tier_params);
    let users = upsert_sql(
        "llm_user_hour",
        &[("user_id", "text")],
        Some(("tokens", "sat_add(input_tokens, output_tokens)")),
        1 + 2 * tier_params,
    );
    let p = 2 * tier_params + 2 + STAT_COLUMNS.len();
    let [l1, l2, s1, s2, s3, s4, s5] = std::array::from_fn::<_, 7, _>(|i| p + 1 + i);
    format!(
        "WITH minute AS ({minute} RETURNING 1), hour AS ({hour} RETURNING 1),
         users AS ({users} RETURNING 1),
         last_seen AS (
            INSERT INTO llm_user_last AS r (user_id, last_seen)
            SELECT * FROM UNNEST(${l1}::text[], ${l2}::timestamptz[])
            ON CONFLICT (user_id) DO UPDATE SET
                last_seen = GREATEST(r.last_seen, excluded.last_seen)
            RETURNING 1
         ), sessions AS (
            INSERT INTO llm_session_spans AS r (session_id, user_id, first_call, last_call, calls)
            SELECT * FROM UNNEST(${s1}::text[], ${s2}::text[], ${s3}::timestamptz[],
                ${s4}::timestamptz[], ${s5}::int8[])
            ON CONFLICT (session_id) DO UPDATE SET
                user_id = CASE WHEN excluded.user_id IS NOT NULL
                    AND excluded.last_call >= r.last_call THEN excluded.user_id
                    ELSE coalesce(r.user_id, excluded.user_id) END,
                first_call = LEAST(r.first_call, excluded.first_call),
                last_call = GREATEST(r.last_call, excluded.last_call),
                calls = r.calls + excluded.calls
            RETURNING 1
         )
         SELECT (SELECT count(*) FROM minute), (SELECT count(*) FROM hour),
            (SELECT count(*) FROM users), (SELECT count(*) FROM last_seen),
            (SELECT count(*) FROM sessions)"
    )
}

/// How a summary column of two rows merges.
#[derive(Clone, Copy)]
enum Merge {
    Add,
    /// `sat_add`: sums that could overflow (tokens, cost).
    Saturating,
    /// `sl_hist_merge` of two packed histograms.
    Histogram,
}

/// The summary columns every rollup table keeps (those of [`Stats`]), in bind order.
const STAT_COLUMNS: [(&str, &str, Merge); 24] = [
    ("calls", "int8", Merge::Saturating),
    ("ok", "int8", Merge::Add),
    ("err_4xx", "int8", Merge::Add),
    ("err_5xx", "int8", Merge::Add),
    ("err_timeout", "int8", Merge::Add),
    ("err_other", "int8", Merge::Add),
    ("cancelled", "int8", Merge::Add),
    ("input_tokens", "int8", Merge::Saturating),
    ("output_tokens", "int8", Merge::Saturating),
    ("cached_tokens", "int8", Merge::Saturating),
    ("cost_micros", "int8", Merge::Saturating),
    ("priced_calls", "int8", Merge::Add),
    ("latency_sum_ms", "float8", Merge::Add),
    ("ttft_sum_ms", "float8", Merge::Add),
    ("ttft_calls", "int8", Merge::Add),
    ("tps_sum", "float8", Merge::Add),
    ("tps_calls", "int8", Merge::Add),
    ("quality_sum", "float8", Merge::Add),
    ("quality_calls", "int8", Merge::Add),
    ("rating_sum", "float8", Merge::Add),
    ("rating_calls", "int8", Merge::Add),
    ("tool_calls", "int8", Merge::Saturating),
    ("latency_hist", "text", Merge::Histogram),
    ("ttft_hist", "text", Merge::Histogram),
];

/// The additive upsert into `table` of rows keyed by `bucket` and `keys` (bound as arrays
/// from parameter `first` on, then the [`STAT_COLUMNS`]); `extra` is a further summed column
/// computed from them.
fn upsert_sql(
    table: &str,
    keys: &[(&str, &str)],
    extra: Option<(&str, &str)>,
    first: usize,
) -> String {
    let key_cols: Vec<(&str, &str)> = [("bucket", "timestamptz")]
        .into_iter()
        .chain(keys.iter().copied())
        .collect();
    let all: Vec<(&str, &str)> = key_cols
        .iter()
        .copied()
        .chain(STAT_COLUMNS.iter().map(|(c, t, _)| (*c, *t)))
        .collect();
    let names = |cols: &[(&str, &str)]| cols.iter().map(|c| c.0).collect::<Vec<_>>().join(", ");
    let arrays = all
        .iter()
        .enumerate()
        .map(|(i, (_, t))| format!("${}::{t}[]", i + first))
        .collect::<Vec<_>>()
        .join(", ");
    let select = all
        .iter()
        .map(|(c, _)| match STAT_COLUMNS.iter().find(|s| s.0 == *c) {
            Some((_, _, Merge::Histogram)) => format!("{c}::int8[]"),
            _ => (*c).to_owned(),
        })
        .chain(extra.map(|(_, e)| e.to_owned()))
        .collect::<Vec<_>>()
        .join(", ");
    let updates = STAT_COLUMNS
        .iter()
        .map(|(c, _, m)| (*c, *m))
        .chain(extra.map(|(c, _)| (c, Merge::Saturating)))
        .map(|(c, m)| match m {
            Merge::Add => format!("{c} = r.{c} + excluded.{c}"),
            Merge::Saturating => format!("{c} = sat_add(r.{c}, excluded.{c})"),
            Merge::Histogram => format!("{c} = sl_hist_merge(r.{c}, excluded.{c})"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let extra_col = extra.map(|(c, _)| format!(", {c}")).unwrap_or_default();
    format!(
        "INSERT INTO {table} AS r ({}{extra_col}) SELECT {select} FROM UNNEST({arrays}) AS t({})
         ON CONFLICT ({}) DO UPDATE SET {updates}",
        names(&all),
        names(&all),
        names(&key_cols),
    )
}

/// Binds the [`STAT_COLUMNS`] of `stats`, in order, after the keys.
fn bind_stats<'q, 's>(
    q: sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
    stats: impl Iterator<Item = &'s Stats> + Clone,
) -> sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments> {
    macro_rules! col {
        ($f:expr) => {
            stats.clone().map($f).collect::<Vec<_>>()
        };
    }
    q.bind(col!(|s| s.calls))
        .bind(col!(|s| s.ok))
        .bind(col!(|s| s.err_4xx))
        .bind(col!(|s| s.err_5xx))
        .bind(col!(|s| s.err_timeout))
        .bind(col!(|s| s.err_other))
        .bind(col!(|s| s.cancelled))
        .bind(col!(|s| s.input_tokens))
        .bind(col!(|s| s.output_tokens))
        .bind(col!(|s| s.cached_tokens))
        .bind(col!(|s| s.cost_micros))
        .bind(col!(|s| s.priced_calls))
        .bind(col!(|s| s.latency_sum_ms))
        .bind(col!(|s| s.ttft_sum_ms))
        .bind(col!(|s| s.ttft_calls))
        .bind(col!(|s| s.tps_sum))
        .bind(col!(|s| s.tps_calls))
        .bind(col!(|s| s.quality_sum))
        .bind(col!(|s| s.quality_calls))
        .bind(col!(|s| s.rating_sum))
        .bind(col!(|s| s.rating_calls))
        .bind(col!(|s| s.tool_calls))
        .bind(col!(|s| s.latency.to_pg_literal()))
        .bind(col!(|s| s.ttft.to_pg_literal()))
}

/// Optional dimension filters of an analytics query.
#[derive(Debug, Default, Clone)]
pub struct DimFilter {
    pub provider: Option<String>,
    pub model: Option<String>,
    pub feature: Option<String>,
}

impl DimFilter {
    /// Whether no dimension is filtered on.
    pub fn is_empty(&self) -> bool {
        self.provider.is_none() && self.model.is_none() && self.feature.is_none()
    }

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

/// The summary columns of a rollup row, as read.
#[derive(sqlx::FromRow)]
struct StatsRow {
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

/// What [`StatsRow`] selects.
const STATS_SELECT: &str = "calls, ok, err_4xx, err_5xx, err_timeout, err_other, cancelled,
    input_tokens, output_tokens, cached_tokens, cost_micros, priced_calls, latency_sum_ms,
    ttft_sum_ms, ttft_calls, tps_sum, tps_calls, quality_sum, quality_calls, rating_sum,
    rating_calls, tool_calls, latency_hist, ttft_hist";

impl StatsRow {
    /// The summary (histograms empty) and the packed histograms, merged later.
    fn split(self) -> (Stats, Vec<i64>, Vec<i64>) {
        let stats = Stats {
            calls: self.calls,
            ok: self.ok,
            err_4xx: self.err_4xx,
            err_5xx: self.err_5xx,
            err_timeout: self.err_timeout,
            err_other: self.err_other,
            cancelled: self.cancelled,
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            cached_tokens: self.cached_tokens,
            cost_micros: self.cost_micros,
            priced_calls: self.priced_calls,
            latency_sum_ms: self.latency_sum_ms,
            ttft_sum_ms: self.ttft_sum_ms,
            ttft_calls: self.ttft_calls,
            tps_sum: self.tps_sum,
            tps_calls: self.tps_calls,
            quality_sum: self.quality_sum,
            quality_calls: self.quality_calls,
            rating_sum: self.rating_sum,
            rating_calls: self.rating_calls,
            tool_calls: self.tool_calls,
            latency: Histogram::new(),
            ttft: Histogram::new(),
        };
        (stats, self.latency_hist, self.ttft_hist)
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    bucket: DateTime<Utc>,
    provider: String,
    model: String,
    feature: String,
    #[sqlx(flatten)]
    stats: StatsRow,
}

impl From<Row> for RollupRow {
    fn from(r: Row) -> Self {
        let (stats, latency_packed, ttft_packed) = r.stats.split();
        RollupRow {
            key: RollupKey {
                bucket: r.bucket,
                provider: r.provider,
                model: r.model,
                feature: r.feature,
            },
            stats,
            latency_packed,
            ttft_packed,
        }
    }
}

/// One user's summary of one hour.
pub struct UserHourRow {
    pub bucket: DateTime<Utc>,
    pub user_id: String,
    pub stats: Stats,
    pub latency_packed: Vec<i64>,
    pub ttft_packed: Vec<i64>,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    bucket: DateTime<Utc>,
    user_id: String,
    #[sqlx(flatten)]
    stats: StatsRow,
}

/// From when `llm_user_hour` holds every figure (hours before an upgrade hold counts only).
pub async fn users_complete_since(pool: &PgPool) -> sqlx::Result<DateTime<Utc>> {
    sqlx::query_scalar("SELECT since FROM llm_user_hour_complete")
        .fetch_one(pool)
        .await
}

/// The user hours with buckets in [from, to).
pub async fn fetch_users(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Vec<UserHourRow>> {
    let rows: Vec<UserRow> = sqlx::query_as(&format!(
        "SELECT bucket, user_id, {STATS_SELECT} FROM llm_user_hour
         WHERE bucket >= $1 AND bucket < $2"
    ))
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let (stats, latency_packed, ttft_packed) = r.stats.split();
            UserHourRow {
                bucket: r.bucket,
                user_id: r.user_id,
                stats,
                latency_packed,
                ttft_packed,
            }
        })
        .collect())
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
        "SELECT bucket, provider, model, feature, {STATS_SELECT} FROM {} WHERE bucket >= ",
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
/// calls there were re-costed or deleted. Pending calls are folded first (see
/// [`super::rollup_pending::settle`]), so none is counted twice.
pub async fn rebuild(
    tx: &mut Transaction<'_, Postgres>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<()> {
    super::rollup_pending::settle(tx).await?;
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
    super::people::clear_users(tx, from, to).await?;
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
        let mut d = Deltas::default();
        for r in &rows {
            for (tier, map) in [
                (RollupTier::Minute, &mut d.minute),
                (RollupTier::Hour, &mut d.hour),
            ] {
                let key = RollupKey::of(tier, r.time, &r.provider, &r.model, r.feature.as_deref());
                map.entry(key).or_default().add(&r.facts);
            }
            d.users
                .entry(people::user_hour(r.time, r.user_id.as_deref()))
                .or_default()
                .add(&r.facts);
        }
        add(tx, d).await?;
        start = end;
    }
    Ok(())
}
