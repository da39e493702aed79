//! The `api_keys` table.

use app::types::ApiKey;
use chrono::{DateTime, Utc};
use sqlx::PgPool;

#[derive(sqlx::FromRow)]
struct ApiKeyRow {
    id: i64,
    name: String,
    prefix: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKeyRow> for ApiKey {
    fn from(r: ApiKeyRow) -> Self {
        ApiKey {
            id: r.id,
            name: r.name,
            prefix: r.prefix,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        }
    }
}

const COLUMNS: &str = "id, name, prefix, created_at, last_used_at, revoked_at";

pub async fn insert(
    pool: &PgPool,
    name: &str,
    prefix: &str,
    key_hash: &[u8],
    created_by: i64,
) -> sqlx::Result<ApiKey> {
    let row: ApiKeyRow = sqlx::query_as(
        "INSERT INTO api_keys (name, prefix, key_hash, created_by) VALUES ($1, $2, $3, $4)
         RETURNING id, name, prefix, created_at, last_used_at, revoked_at",
    )
    .bind(name)
    .bind(prefix)
    .bind(key_hash)
    .bind(created_by)
    .fetch_one(pool)
    .await?;
    Ok(row.into())
}

/// All keys, newest first, revoked ones included (they stay listed as revoked).
pub async fn list(pool: &PgPool) -> sqlx::Result<Vec<ApiKey>> {
    let rows: Vec<ApiKeyRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM api_keys ORDER BY created_at DESC, id DESC"
    ))
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Marks a key revoked. Returns the key, or None when no such key exists. Revoking twice
/// keeps the first revocation time.
pub async fn revoke(pool: &PgPool, id: i64) -> sqlx::Result<Option<ApiKey>> {
    let row: Option<ApiKeyRow> = sqlx::query_as(&format!(
        "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(Into::into))
}

/// The active key with this hash, if any. Records use at most once a minute so a busy
/// ingest client does not turn every request into a row update.
pub async fn authenticate(pool: &PgPool, key_hash: &[u8]) -> sqlx::Result<Option<(i64, String)>> {
    let found: Option<(i64, String, Option<DateTime<Utc>>)> = sqlx::query_as(
        "SELECT id, name, last_used_at FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
    )
    .bind(key_hash)
    .fetch_optional(pool)
    .await?;
    let Some((id, name, last_used)) = found else {
        return Ok(None);
    };
    if last_used.is_none_or(|t| Utc::now() - t > chrono::Duration::minutes(1)) {
        sqlx::query("UPDATE api_keys SET last_used_at = now() WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await?;
    }
    Ok(Some((id, name)))
}
