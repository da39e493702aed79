//! The system-metrics tables: hosts, raw samples (one row per sample, values in an array
//! against a shared list of series names), minute and hour rollups, and retention.

use std::collections::BTreeMap;

use app::types::system::{HostInfo, HostSummary, SystemSample, SystemTier};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgPool, Postgres, Transaction};

use super::partitions::{self, Period};
use crate::domain::system::{Agg, Retention};

/// The raw and rollup tables with their partitioning.
pub const RAW: (&str, &str, Period) = ("system_samples", "time", Period::Day);
pub const MINUTE: (&str, &str, Period) = ("system_rollup_minute", "bucket", Period::Day);
pub const HOUR: (&str, &str, Period) = ("system_rollup_hour", "bucket", Period::Month);

fn rollup_table(tier: SystemTier) -> &'static str {
    match tier {
        SystemTier::Hour => HOUR.0,
        _ => MINUTE.0,
    }
}

/// Makes the partitions of every tier for the days `from` to `to` (inclusive).
pub async fn ensure_partitions(pool: &PgPool, from: NaiveDate, to: NaiveDate) -> sqlx::Result<()> {
    for (table, _, period) in [RAW, MINUTE, HOUR] {
        partitions::ensure(pool, table, period, from, to).await?;
    }
    Ok(())
}

/// The id of a list of series names, created on first use.
pub async fn series_set(pool: &PgPool, digest: &str, names: &[String]) -> sqlx::Result<i32> {
    sqlx::query_scalar(
        "INSERT INTO system_series_sets (digest, names) VALUES ($1, $2)
         ON CONFLICT (digest) DO UPDATE SET digest = EXCLUDED.digest
         RETURNING id",
    )
    .bind(digest)
    .bind(names)
    .fetch_one(pool)
    .await
}

/// Inserts raw samples (time, set id, values); returns the times that were new (a sample
/// already stored for that host and time is skipped).
pub async fn insert_samples(
    tx: &mut Transaction<'_, Postgres>,
    host: &str,
    times: &[DateTime<Utc>],
    set_ids: &[i32],
    values: &[Vec<f64>],
) -> sqlx::Result<Vec<DateTime<Utc>>> {
    // Arrays of arrays must be rectangular in PostgreSQL: send each row's values as text.
    let vals: Vec<String> = values
        .iter()
        .map(|v| {
            let inner: Vec<String> = v.iter().map(|x| x.to_string()).collect();
            format!("{{{}}}", inner.join(","))
        })
        .collect();
    sqlx::query_scalar(
        "INSERT INTO system_samples (host, time, set_id, vals)
         SELECT $1, t, s, v::float8[] FROM UNNEST($2::timestamptz[], $3::int[], $4::text[]) AS u(t, s, v)
         ON CONFLICT DO NOTHING
         RETURNING time",
    )
    .bind(host)
    .bind(times)
    .bind(set_ids)
    .bind(&vals)
    .fetch_all(&mut **tx)
    .await
}

/// Merges aggregates into a rollup tier, in key order (so concurrent writers never
/// deadlock).
pub async fn upsert_rollups(
    tx: &mut Transaction<'_, Postgres>,
    tier: SystemTier,
    host: &str,
    aggs: &BTreeMap<(DateTime<Utc>, String), Agg>,
) -> sqlx::Result<()> {
    if aggs.is_empty() {
        return Ok(());
    }
    macro_rules! col {
        ($f:expr) => {
            aggs.iter().map($f).collect::<Vec<_>>()
        };
    }
    let table = rollup_table(tier);
    let sql = format!(
        "INSERT INTO {table} AS r (host, bucket, series, min, max, sum, count, last, last_time)
         SELECT $1, * FROM UNNEST($2::timestamptz[], $3::text[], $4::float8[], $5::float8[],
                                  $6::float8[], $7::int8[], $8::float8[], $9::timestamptz[])
         ON CONFLICT (host, bucket, series) DO UPDATE SET
           min = LEAST(r.min, EXCLUDED.min),
           max = GREATEST(r.max, EXCLUDED.max),
           sum = r.sum + EXCLUDED.sum,
           count = r.count + EXCLUDED.count,
           last = CASE WHEN EXCLUDED.last_time >= r.last_time THEN EXCLUDED.last ELSE r.last END,
           last_time = GREATEST(r.last_time, EXCLUDED.last_time)"
    );
    sqlx::query(&sql)
        .bind(host)
        .bind(col!(|((b, _), _)| *b))
        .bind(col!(|((_, s), _)| s.clone()))
        .bind(col!(|(_, a)| a.min))
        .bind(col!(|(_, a)| a.max))
        .bind(col!(|(_, a)| a.sum))
        .bind(col!(|(_, a)| a.count))
        .bind(col!(|(_, a)| a.last))
        .bind(col!(|(_, a)| a.last_time))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Records a host's info and, when it is newer than what is stored, its latest sample.
pub async fn upsert_host(
    tx: &mut Transaction<'_, Postgres>,
    host: &str,
    info: &HostInfo,
    latest: &SystemSample,
    local: bool,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO system_hosts AS h (host, info, last_seen, latest, local)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (host) DO UPDATE SET
           info = EXCLUDED.info,
           local = h.local OR EXCLUDED.local,
           latest = CASE WHEN EXCLUDED.last_seen >= h.last_seen THEN EXCLUDED.latest ELSE h.latest END,
           last_seen = GREATEST(h.last_seen, EXCLUDED.last_seen)",
    )
    .bind(host)
    .bind(sqlx::types::Json(info))
    .bind(latest.time)
    .bind(sqlx::types::Json(latest))
    .bind(local)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct HostRow {
    host: String,
    info: sqlx::types::Json<HostInfo>,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    local: bool,
}

impl HostRow {
    fn summary(self, now: DateTime<Utc>) -> HostSummary {
        HostSummary {
            online: now - self.last_seen < chrono::Duration::seconds(60),
            host: self.host,
            info: self.info.0,
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            local: self.local,
        }
    }
}

/// Every host, the server's own first, then by name.
pub async fn hosts(pool: &PgPool) -> sqlx::Result<Vec<HostSummary>> {
    let rows: Vec<HostRow> = sqlx::query_as(
        "SELECT host, info, first_seen, last_seen, local FROM system_hosts
         ORDER BY local DESC, host",
    )
    .fetch_all(pool)
    .await?;
    let now = Utc::now();
    Ok(rows.into_iter().map(|r| r.summary(now)).collect())
}

/// One host and its latest sample.
pub async fn host(
    pool: &PgPool,
    host: &str,
) -> sqlx::Result<Option<(HostSummary, Option<SystemSample>)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        host: HostRow,
        latest: Option<sqlx::types::Json<SystemSample>>,
    }
    let row: Option<Row> = sqlx::query_as(
        "SELECT host, info, first_seen, last_seen, local, latest FROM system_hosts WHERE host = $1",
    )
    .bind(host)
    .fetch_optional(pool)
    .await?;
    let now = Utc::now();
    Ok(row.map(|r| (r.host.summary(now), r.latest.map(|j| j.0))))
}

/// Raw samples of `host` in `[from, to)`: time, the series names and the values.
/// Raw samples in `[from, to)`, oldest first, at most `max_rows`.
pub async fn raw(
    pool: &PgPool,
    host: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    max_rows: i64,
) -> sqlx::Result<Vec<(DateTime<Utc>, i32, Vec<f64>)>> {
    sqlx::query_as(
        "SELECT time, set_id, vals FROM system_samples
         WHERE host = $1 AND time >= $2 AND time < $3 ORDER BY time LIMIT $4",
    )
    .bind(host)
    .bind(from)
    .bind(to)
    .bind(max_rows)
    .fetch_all(pool)
    .await
}

/// The names of a series set.
pub async fn set_names(pool: &PgPool, id: i32) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT names FROM system_series_sets WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
}

/// Rollup rows of `host` in `[from, to)` whose series match one of the LIKE `patterns`.
pub async fn rollups(
    pool: &PgPool,
    tier: SystemTier,
    host: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    patterns: &[String],
) -> sqlx::Result<Vec<(DateTime<Utc>, String, Agg)>> {
    type Row = (
        DateTime<Utc>,
        String,
        f64,
        f64,
        f64,
        i64,
        f64,
        DateTime<Utc>,
    );
    let sql = format!(
        "SELECT bucket, series, min, max, sum, count, last, last_time FROM {}
         WHERE host = $1 AND bucket >= $2 AND bucket < $3 AND series LIKE ANY($4)
         ORDER BY bucket",
        rollup_table(tier)
    );
    let rows: Vec<Row> = sqlx::query_as(&sql)
        .bind(host)
        .bind(from)
        .bind(to)
        .bind(patterns)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(b, s, min, max, sum, count, last, last_time)| {
            (
                b,
                s,
                Agg {
                    min,
                    max,
                    sum,
                    count,
                    last,
                    last_time,
                },
            )
        })
        .collect())
}

/// Drops what is older than each tier's retention; returns the partitions dropped.
pub async fn enforce_retention(
    pool: &PgPool,
    now: DateTime<Utc>,
    retention: &Retention,
) -> sqlx::Result<Vec<String>> {
    partitions::drop_tiers(
        pool,
        now,
        [
            (RAW, retention.raw),
            (MINUTE, retention.minute),
            (HOUR, retention.hour),
        ],
    )
    .await
}
