//! The browser tables: hourly vital rollups, raw errors by day and hourly error groups, and
//! their retention.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgPool, Postgres, Transaction};

use super::partitions::{self, Period};
use crate::analytics::histogram::Histogram;
use crate::domain::browser::{ErrorAgg, ErrorKey, ErrorKind, ErrorRow, Vital, VitalAgg, VitalKey};
use crate::domain::system::Retention;

pub const ERRORS: (&str, &str, Period) = ("browser_errors", "time", Period::Day);
pub const VITALS_HOUR: (&str, &str, Period) = ("browser_vitals_hour", "bucket", Period::Month);
pub const ERRORS_HOUR: (&str, &str, Period) = ("browser_error_hour", "bucket", Period::Month);

/// Makes the partitions of every table for the days `from` to `to` (inclusive).
pub async fn ensure_partitions(pool: &PgPool, from: NaiveDate, to: NaiveDate) -> sqlx::Result<()> {
    for (table, _, period) in [ERRORS, VITALS_HOUR, ERRORS_HOUR] {
        partitions::ensure(pool, table, period, from, to).await?;
    }
    Ok(())
}

macro_rules! col {
    ($rows:expr, $f:expr) => {
        $rows.iter().map($f).collect::<Vec<_>>()
    };
}

/// Merges folded vitals, in key order.
pub async fn upsert_vitals(
    tx: &mut Transaction<'_, Postgres>,
    rows: &BTreeMap<VitalKey, VitalAgg>,
) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO browser_vitals_hour AS r (bucket, site, page, vital, samples, good,
                                               needs_improvement, poor, value_sum, hist, last_seen)
         SELECT b, s, p, v, n, g, ni, po, vs, h::int8[], ls
         FROM UNNEST($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::int8[],
                     $6::int8[], $7::int8[], $8::int8[], $9::float8[], $10::text[],
                     $11::timestamptz[])
              AS u(b, s, p, v, n, g, ni, po, vs, h, ls)
         ON CONFLICT (site, bucket, page, vital) DO UPDATE SET
           samples = r.samples + EXCLUDED.samples,
           good = r.good + EXCLUDED.good,
           needs_improvement = r.needs_improvement + EXCLUDED.needs_improvement,
           poor = r.poor + EXCLUDED.poor,
           value_sum = r.value_sum + EXCLUDED.value_sum,
           hist = sl_hist_merge(r.hist, EXCLUDED.hist),
           last_seen = GREATEST(r.last_seen, EXCLUDED.last_seen)",
    )
    .bind(col!(rows, |(k, _)| k.bucket))
    .bind(col!(rows, |(k, _)| k.site.as_str()))
    .bind(col!(rows, |(k, _)| k.page.as_str()))
    .bind(col!(rows, |(k, _)| k.vital.name()))
    .bind(col!(rows, |(_, a)| a.samples as i64))
    .bind(col!(rows, |(_, a)| a.good as i64))
    .bind(col!(rows, |(_, a)| a.needs_improvement as i64))
    .bind(col!(rows, |(_, a)| a.poor as i64))
    .bind(col!(rows, |(_, a)| a.sum))
    .bind(col!(rows, |(_, a)| a.hist.to_pg_literal()))
    .bind(col!(rows, |(k, a)| a.last_seen.unwrap_or(k.bucket)))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Inserts raw error occurrences, one statement for the report.
pub async fn insert_errors(
    tx: &mut Transaction<'_, Postgres>,
    rows: &[ErrorRow],
) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO browser_errors (time, site, page, kind, message, stack_top, stack)
         SELECT * FROM UNNEST($1::timestamptz[], $2::text[], $3::text[], $4::text[],
                              $5::text[], $6::text[], $7::text[])",
    )
    .bind(col!(rows, |r| r.time))
    .bind(col!(rows, |r| r.site.as_str()))
    .bind(col!(rows, |r| r.page.as_str()))
    .bind(col!(rows, |r| r.kind.as_str()))
    .bind(col!(rows, |r| r.message.as_str()))
    .bind(col!(rows, |r| r.stack_top.as_str()))
    .bind(col!(rows, |r| r.stack.as_deref()))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Merges folded error groups, in key order; the latest occurrence's stack is kept.
pub async fn upsert_errors(
    tx: &mut Transaction<'_, Postgres>,
    rows: &BTreeMap<ErrorKey, ErrorAgg>,
) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO browser_error_hour AS r (bucket, site, page, kind, message, stack_top,
                                              count, first_seen, last_seen, sample_stack)
         SELECT * FROM UNNEST($1::timestamptz[], $2::text[], $3::text[], $4::text[],
                              $5::text[], $6::text[], $7::int8[], $8::timestamptz[],
                              $9::timestamptz[], $10::text[])
         ON CONFLICT (site, bucket, page, kind, message, stack_top) DO UPDATE SET
           count = r.count + EXCLUDED.count,
           first_seen = LEAST(r.first_seen, EXCLUDED.first_seen),
           sample_stack = CASE WHEN EXCLUDED.last_seen >= r.last_seen
                               THEN COALESCE(EXCLUDED.sample_stack, r.sample_stack)
                               ELSE r.sample_stack END,
           last_seen = GREATEST(r.last_seen, EXCLUDED.last_seen)",
    )
    .bind(col!(rows, |(k, _)| k.bucket))
    .bind(col!(rows, |(k, _)| k.site.as_str()))
    .bind(col!(rows, |(k, _)| k.page.as_str()))
    .bind(col!(rows, |(k, _)| k.kind.as_str()))
    .bind(col!(rows, |(k, _)| k.message.as_str()))
    .bind(col!(rows, |(k, _)| k.stack_top.as_str()))
    .bind(col!(rows, |(_, a)| a.count as i64))
    .bind(col!(rows, |(_, a)| a.first_seen))
    .bind(col!(rows, |(_, a)| a.last_seen))
    .bind(col!(rows, |(_, a)| a.sample_stack.as_deref()))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Sites that reported in `[from, to)`: page loads (the most samples of any vital), errors
/// and the latest report.
pub async fn sites(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Vec<(String, i64, i64, DateTime<Utc>)>> {
    sqlx::query_as(
        "WITH v AS (
           SELECT site, vital, sum(samples) AS n, max(last_seen) AS seen
           FROM browser_vitals_hour WHERE bucket >= $1 AND bucket < $2 GROUP BY site, vital
         ), vs AS (
           SELECT site, max(n) AS views, max(seen) AS seen FROM v GROUP BY site
         ), e AS (
           SELECT site, sum(count) AS errors, max(last_seen) AS seen
           FROM browser_error_hour WHERE bucket >= $1 AND bucket < $2 GROUP BY site
         )
         SELECT COALESCE(vs.site, e.site), COALESCE(vs.views, 0)::int8,
                COALESCE(e.errors, 0)::int8, GREATEST(vs.seen, e.seen)
         FROM vs FULL JOIN e ON e.site = vs.site
         ORDER BY 2 DESC, 3 DESC, 1",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
}

/// One stored vital row of a site.
pub struct VitalRollup {
    pub bucket: DateTime<Utc>,
    pub page: String,
    pub vital: Vital,
    pub agg: VitalAgg,
}

type VitalDbRow = (
    DateTime<Utc>,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    f64,
    Vec<i64>,
    DateTime<Utc>,
);

/// The vital rows of `site` in `[from, to)`.
pub async fn vitals(
    pool: &PgPool,
    site: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Vec<VitalRollup>> {
    let rows: Vec<VitalDbRow> = sqlx::query_as(
        "SELECT bucket, page, vital, samples, good, needs_improvement, poor, value_sum, hist,
                last_seen
         FROM browser_vitals_hour WHERE site = $1 AND bucket >= $2 AND bucket < $3",
    )
    .bind(site)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(bucket, page, vital, n, g, ni, p, sum, h, seen)| {
            Some(VitalRollup {
                bucket,
                page,
                vital: Vital::parse(&vital)?,
                agg: VitalAgg {
                    samples: n.max(0) as u64,
                    good: g.max(0) as u64,
                    needs_improvement: ni.max(0) as u64,
                    poor: p.max(0) as u64,
                    sum,
                    hist: Histogram::from_packed(&h),
                    last_seen: Some(seen),
                },
            })
        })
        .collect())
}

/// One stored error group row of a site.
pub struct ErrorRollup {
    pub key: ErrorKey,
    pub agg: ErrorAgg,
}

type ErrorDbRow = (
    DateTime<Utc>,
    String,
    String,
    String,
    String,
    i64,
    DateTime<Utc>,
    DateTime<Utc>,
    Option<String>,
);

/// The error group rows of `site` in `[from, to)`.
pub async fn errors(
    pool: &PgPool,
    site: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Vec<ErrorRollup>> {
    let rows: Vec<ErrorDbRow> = sqlx::query_as(
        "SELECT bucket, page, kind, message, stack_top, count, first_seen, last_seen,
                sample_stack
         FROM browser_error_hour WHERE site = $1 AND bucket >= $2 AND bucket < $3",
    )
    .bind(site)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(
            |(bucket, page, kind, message, stack_top, count, first_seen, last_seen, stack)| {
                Some(ErrorRollup {
                    key: ErrorKey {
                        site: site.to_owned(),
                        bucket,
                        page,
                        kind: ErrorKind::parse(&kind)?,
                        message,
                        stack_top,
                    },
                    agg: ErrorAgg {
                        count: count.max(0) as u64,
                        first_seen,
                        last_seen,
                        sample_stack: stack,
                    },
                })
            },
        )
        .collect())
}

/// Drops raw errors older than the raw retention and rollups older than the hour
/// retention; returns the partitions dropped.
pub async fn enforce_retention(
    pool: &PgPool,
    now: DateTime<Utc>,
    retention: &Retention,
) -> sqlx::Result<Vec<String>> {
    partitions::drop_tiers(
        pool,
        now,
        [
            (ERRORS, retention.raw),
            (VITALS_HOUR, retention.hour),
            (ERRORS_HOUR, retention.hour),
        ],
    )
    .await
}
