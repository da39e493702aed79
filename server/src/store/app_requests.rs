//! The application-request tables: raw requests by day, minute and hour rollups by service,
//! route and method, and their retention.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgPool, Postgres, Transaction};

use super::partitions::{self, Period};
use crate::analytics::histogram::Histogram;
use crate::domain::app_request::{AppRequest, RequestAgg, RollupKey, Tier};
use crate::domain::system::Retention;

pub const RAW: (&str, &str, Period) = ("app_requests", "time", Period::Day);
pub const MINUTE: (&str, &str, Period) = ("app_rollup_minute", "bucket", Period::Day);
pub const HOUR: (&str, &str, Period) = ("app_rollup_hour", "bucket", Period::Month);

fn rollup_table(tier: Tier) -> &'static str {
    match tier {
        Tier::Minute => MINUTE.0,
        Tier::Hour => HOUR.0,
    }
}

/// Makes the partitions of every tier for the days `from` to `to` (inclusive).
pub async fn ensure_partitions(pool: &PgPool, from: NaiveDate, to: NaiveDate) -> sqlx::Result<()> {
    for (table, _, period) in [RAW, MINUTE, HOUR] {
        partitions::ensure(pool, table, period, from, to).await?;
    }
    Ok(())
}

/// Inserts raw requests, one statement for the batch.
pub async fn insert(tx: &mut Transaction<'_, Postgres>, rows: &[AppRequest]) -> sqlx::Result<()> {
    macro_rules! col {
        ($f:expr) => {
            rows.iter().map($f).collect::<Vec<_>>()
        };
    }
    sqlx::query(
        "INSERT INTO app_requests
           (time, service, route, method, status, duration_ms, timeout, user_id, trace_id)
         SELECT * FROM UNNEST($1::timestamptz[], $2::text[], $3::text[], $4::text[],
                              $5::int2[], $6::float8[], $7::bool[], $8::text[], $9::text[])",
    )
    .bind(col!(|r| r.time))
    .bind(col!(|r| r.service.as_str()))
    .bind(col!(|r| r.route.as_str()))
    .bind(col!(|r| r.method.as_str()))
    .bind(col!(|r| r.status))
    .bind(col!(|r| r.duration_ms))
    .bind(col!(|r| r.timeout))
    .bind(col!(|r| r.user_id.as_deref()))
    .bind(col!(|r| r.trace_id.as_deref()))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Merges folded rows into a tier, in key order (so concurrent writers never deadlock).
pub async fn upsert_rollups(
    tx: &mut Transaction<'_, Postgres>,
    tier: Tier,
    rows: &BTreeMap<RollupKey, RequestAgg>,
) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    macro_rules! col {
        ($f:expr) => {
            rows.iter().map($f).collect::<Vec<_>>()
        };
    }
    let sql = format!(
        "INSERT INTO {} AS r (bucket, service, route, method, requests, err_4xx, err_5xx,
                              timeouts, duration_sum_ms, duration_max_ms, duration_hist)
         SELECT b, s, ro, m, n, e4, e5, t, ds, dm, h::int8[]
         FROM UNNEST($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::int8[],
                     $6::int8[], $7::int8[], $8::int8[], $9::float8[], $10::float8[], $11::text[])
              AS u(b, s, ro, m, n, e4, e5, t, ds, dm, h)
         ON CONFLICT (service, bucket, route, method) DO UPDATE SET
           requests = r.requests + EXCLUDED.requests,
           err_4xx = r.err_4xx + EXCLUDED.err_4xx,
           err_5xx = r.err_5xx + EXCLUDED.err_5xx,
           timeouts = r.timeouts + EXCLUDED.timeouts,
           duration_sum_ms = r.duration_sum_ms + EXCLUDED.duration_sum_ms,
           duration_max_ms = GREATEST(r.duration_max_ms, EXCLUDED.duration_max_ms),
           duration_hist = sl_hist_merge(r.duration_hist, EXCLUDED.duration_hist)",
        rollup_table(tier)
    );
    sqlx::query(&sql)
        .bind(col!(|(k, _)| k.bucket))
        .bind(col!(|(k, _)| k.service.as_str()))
        .bind(col!(|(k, _)| k.route.as_str()))
        .bind(col!(|(k, _)| k.method.as_str()))
        .bind(col!(|(_, a)| a.requests as i64))
        .bind(col!(|(_, a)| a.err_4xx as i64))
        .bind(col!(|(_, a)| a.err_5xx as i64))
        .bind(col!(|(_, a)| a.timeouts as i64))
        .bind(col!(|(_, a)| a.duration_sum_ms))
        .bind(col!(|(_, a)| a.duration_max_ms))
        .bind(col!(|(_, a)| a.hist.to_pg_literal()))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Services with requests in `[from, to)` of a tier: name, requests, newest bucket.
pub async fn services(
    pool: &PgPool,
    tier: Tier,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Vec<(String, i64, DateTime<Utc>)>> {
    let sql = format!(
        "SELECT service, sum(requests)::int8, max(bucket) FROM {}
         WHERE bucket >= $1 AND bucket < $2 GROUP BY service ORDER BY 2 DESC, 1",
        rollup_table(tier)
    );
    sqlx::query_as(&sql)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await
}

/// One stored rollup row of a service.
pub struct RollupRow {
    pub bucket: DateTime<Utc>,
    pub route: String,
    pub method: String,
    pub agg: RequestAgg,
}

type Row = (
    String,
    DateTime<Utc>,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    f64,
    f64,
    Vec<i64>,
);

const COLUMNS: &str = "service, bucket, route, method, requests, err_4xx, err_5xx, timeouts,
    duration_sum_ms, duration_max_ms, duration_hist";

fn row((service, bucket, route, method, n, e4, e5, t, ds, dm, h): Row) -> (String, RollupRow) {
    (
        service,
        RollupRow {
            bucket,
            route,
            method,
            agg: RequestAgg {
                requests: n.max(0) as u64,
                err_4xx: e4.max(0) as u64,
                err_5xx: e5.max(0) as u64,
                timeouts: t.max(0) as u64,
                duration_sum_ms: ds,
                duration_max_ms: dm,
                hist: Histogram::from_packed(&h),
            },
        },
    )
}

/// The rollup rows of `service` in `[from, to)`, oldest first.
pub async fn rollups(
    pool: &PgPool,
    tier: Tier,
    service: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Vec<RollupRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM {} WHERE service = $1 AND bucket >= $2 AND bucket < $3
         ORDER BY bucket",
        rollup_table(tier)
    );
    let rows: Vec<Row> = sqlx::query_as(&sql)
        .bind(service)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().map(|r| row(r).1).collect())
}

/// Minute rows of every service since `since`, with their service (for alert rules).
pub async fn rollups_since(
    pool: &PgPool,
    since: DateTime<Utc>,
) -> sqlx::Result<Vec<(String, RollupRow)>> {
    let sql = format!("SELECT {COLUMNS} FROM {} WHERE bucket >= $1", MINUTE.0);
    let rows: Vec<Row> = sqlx::query_as(&sql).bind(since).fetch_all(pool).await?;
    Ok(rows.into_iter().map(row).collect())
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
