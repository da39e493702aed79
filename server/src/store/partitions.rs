//! Range partitions by day or month: made ahead of the data, dropped whole for retention.
//! Table names and bounds are formatted here from dates, never taken from input.

use chrono::{Datelike, Months, NaiveDate};
use sqlx::PgPool;

/// How much time one partition holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    Month,
}

impl Period {
    /// The first day of the partition holding `day`.
    pub fn start(self, day: NaiveDate) -> NaiveDate {
        match self {
            Period::Day => day,
            Period::Month => day.with_day(1).unwrap_or(day),
        }
    }

    /// The first day after the partition starting at `start`.
    pub fn next(self, start: NaiveDate) -> NaiveDate {
        match self {
            Period::Day => start + chrono::Duration::days(1),
            Period::Month => start + Months::new(1),
        }
    }

    fn suffix(self, start: NaiveDate) -> String {
        match self {
            Period::Day => start.format("%Y%m%d").to_string(),
            Period::Month => start.format("%Y%m").to_string(),
        }
    }

    /// The start date named by a partition's suffix.
    fn parse_suffix(self, s: &str) -> Option<NaiveDate> {
        match self {
            Period::Day => NaiveDate::parse_from_str(s, "%Y%m%d").ok(),
            Period::Month => NaiveDate::parse_from_str(&format!("{s}01"), "%Y%m%d").ok(),
        }
    }
}

/// Days whose partitions a writer has made, so each day's are made once per process (and
/// late rows find theirs).
#[derive(Debug, Clone, Default)]
pub struct KnownDays(std::sync::Arc<std::sync::Mutex<std::collections::HashSet<NaiveDate>>>);

impl KnownDays {
    /// Runs `make` for each of `days` not made yet, oldest first, remembering each success.
    pub async fn ensure<F, Fut>(
        &self,
        days: impl IntoIterator<Item = NaiveDate>,
        make: F,
    ) -> sqlx::Result<()>
    where
        F: Fn(NaiveDate) -> Fut,
        Fut: std::future::Future<Output = sqlx::Result<()>>,
    {
        let mut wanted: Vec<NaiveDate> = {
            let known = self.0.lock().unwrap_or_else(|p| p.into_inner());
            days.into_iter().filter(|d| !known.contains(d)).collect()
        };
        wanted.sort();
        wanted.dedup();
        for day in wanted {
            make(day).await?;
            self.0.lock().unwrap_or_else(|p| p.into_inner()).insert(day);
        }
        Ok(())
    }
}

/// The name of `table`'s partition starting at `start`.
pub fn name(table: &str, period: Period, start: NaiveDate) -> String {
    format!("{table}_p{}", period.suffix(start))
}

/// Creates the partitions of `table` covering `from` to `to` (inclusive) that do not exist
/// yet. A period whose rows already sit in the default partition is left there.
pub async fn ensure(
    pool: &PgPool,
    table: &str,
    period: Period,
    from: NaiveDate,
    to: NaiveDate,
) -> sqlx::Result<()> {
    let mut start = period.start(from);
    while start <= to {
        let next = period.next(start);
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {} PARTITION OF {table} FOR VALUES FROM ('{}') TO ('{}')",
            name(table, period, start),
            start.format("%Y-%m-%d"),
            next.format("%Y-%m-%d")
        );
        if let Err(e) = sqlx::query(&sql).execute(pool).await {
            tracing::debug!(table, start = %start, error = %e, "partition not created");
        }
        start = next;
    }
    Ok(())
}

/// Drops the partitions of `table` that end on or before `cutoff` and deletes older rows
/// from its default partition (`column` is the partition key). Returns the dropped names.
pub async fn drop_before(
    pool: &PgPool,
    table: &str,
    column: &str,
    period: Period,
    cutoff: NaiveDate,
) -> sqlx::Result<Vec<String>> {
    let children: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i
         JOIN pg_class c ON c.oid = i.inhrelid
         JOIN pg_class p ON p.oid = i.inhparent
         WHERE p.relname = $1",
    )
    .bind(table)
    .fetch_all(pool)
    .await?;
    let prefix = format!("{table}_p");
    let mut dropped = Vec::new();
    for child in children {
        let Some(start) = child
            .strip_prefix(&prefix)
            .and_then(|s| period.parse_suffix(s))
        else {
            continue;
        };
        if period.next(start) <= cutoff {
            sqlx::query(&format!("DROP TABLE IF EXISTS {child}"))
                .execute(pool)
                .await?;
            dropped.push(child);
        }
    }
    let cutoff_at = cutoff.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    sqlx::query(&format!("DELETE FROM {table}_default WHERE {column} < $1"))
        .bind(cutoff_at)
        .execute(pool)
        .await?;
    Ok(dropped)
}

/// Applies each tier's retention: drops the partitions of `(table, column, period)` older
/// than its `keep`. Returns the names dropped.
pub async fn drop_tiers(
    pool: &PgPool,
    now: chrono::DateTime<chrono::Utc>,
    tiers: [((&str, &str, Period), chrono::Duration); 3],
) -> sqlx::Result<Vec<String>> {
    let mut dropped = Vec::new();
    for ((table, column, period), keep) in tiers {
        let cutoff = (now - keep).date_naive();
        dropped.extend(drop_before(pool, table, column, period, cutoff).await?);
    }
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_named_and_bounded_by_period() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 7).unwrap();
        assert_eq!(name("llm_calls", Period::Day, d), "llm_calls_p20260307");
        let m = Period::Month.start(d);
        assert_eq!(name("h", Period::Month, m), "h_p202603");
        assert_eq!(
            Period::Month.next(m),
            NaiveDate::from_ymd_opt(2026, 4, 1).unwrap()
        );
        assert_eq!(Period::Month.parse_suffix("202603"), Some(m));
        assert_eq!(Period::Day.parse_suffix("20260307"), Some(d));
        assert_eq!(Period::Day.parse_suffix("default"), None);
    }
}
