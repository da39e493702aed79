//! `llm_rollup_pending`: group commits whose calls are stored but not yet in the rollups.
//!
//! The ingest writer stores one row per commit, in the commit, and hands the commit's
//! deltas to the folder (`ingest::fold`), which adds many commits' deltas in one statement.
//! A row's calls are added to the rollups exactly once, by the transaction that deletes the
//! row: the folder ([`claim`]), or [`fold_stored`], which reads the calls back (after a
//! failed round or a stop, for rows a stopped replica left, and before every rebuild).

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};

use crate::analytics::rollup::Deltas;
use crate::domain::call::NewCall;

/// Taken shared by every commit that marks calls pending and exclusively by [`settle`], so
/// a rebuild runs between commits: each committed call's row is visible to it, and no call
/// commits while it reads.
const LOCK: i64 = 0x534c_524f_4c4c_5550;

/// In the calls' commit: records `calls` (all newly stored) as pending; the row's id.
pub async fn mark(tx: &mut Transaction<'_, Postgres>, calls: &[&NewCall]) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "WITH l AS (SELECT pg_advisory_xact_lock_shared($1))
         INSERT INTO llm_rollup_pending (times, ids) SELECT $2, $3 FROM l RETURNING id",
    )
    .bind(LOCK)
    .bind(calls.iter().map(|n| n.call.time).collect::<Vec<_>>())
    .bind(calls.iter().map(|n| n.call.id.as_str()).collect::<Vec<_>>())
    .fetch_one(&mut **tx)
    .await
}

/// The newest pending row committed less than `orphaned` ago (older ones were left by a
/// stopped server and wait for a folder's sweep), if any.
pub async fn newest(pool: &PgPool, orphaned: Duration) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "SELECT max(id) FROM llm_rollup_pending WHERE marked_at >= now() - make_interval(secs => $1)",
    )
    .bind(orphaned.as_secs_f64())
    .fetch_one(pool)
    .await
}

/// Whether a row up to `id` is still pending.
pub async fn any_up_to(pool: &PgPool, id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM llm_rollup_pending WHERE id <= $1)")
        .bind(id)
        .fetch_one(pool)
        .await
}

/// Deletes the rows `ids` that are still there and answers those: the caller adds their
/// deltas in this transaction. A row another transaction folded is not answered (its
/// delete waits for that one to end first).
pub async fn claim(tx: &mut Transaction<'_, Postgres>, ids: &[i64]) -> sqlx::Result<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_scalar("DELETE FROM llm_rollup_pending WHERE id = ANY($1) RETURNING id")
        .bind(ids)
        .fetch_all(&mut **tx)
        .await
}

/// Adds the calls of every pending row (or of those marked more than `older_than` ago) to
/// the rollups, read back from `llm_calls` (a call deleted since is skipped), and deletes
/// the rows; the calls added.
pub async fn fold_stored(
    tx: &mut Transaction<'_, Postgres>,
    older_than: Option<Duration>,
) -> sqlx::Result<usize> {
    let rows: Vec<(Vec<DateTime<Utc>>, Vec<String>)> = sqlx::query_as(
        "DELETE FROM llm_rollup_pending
         WHERE $1::float8 IS NULL OR marked_at < now() - make_interval(secs => $1)
         RETURNING times, ids",
    )
    .bind(older_than.map(|d| d.as_secs_f64()))
    .fetch_all(&mut **tx)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let (mut times, mut ids) = (Vec::new(), Vec::new());
    for (t, i) in rows {
        times.extend(t);
        ids.extend(i);
    }
    let calls = super::calls::by_keys(tx, &times, &ids).await?;
    super::rollups::add(tx, Deltas::of_new_calls(&calls)).await?;
    Ok(calls.len())
}

/// Before a rebuild reads raw calls: waits for the commits storing calls to end, holds new
/// ones until this transaction ends, and adds what is pending. Otherwise a call committed
/// but not yet folded would be counted by the rebuild and again by the folder.
pub async fn settle(tx: &mut Transaction<'_, Postgres>) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(LOCK)
        .execute(&mut **tx)
        .await?;
    fold_stored(tx, None).await?;
    Ok(())
}
