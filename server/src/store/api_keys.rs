//! The `api_keys` table.

use app::types::{ApiKey, KeyScope};
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::domain::grant::{parse_scopes, KeyGrant};

#[derive(sqlx::FromRow)]
struct ApiKeyRow {
    id: i64,
    name: String,
    prefix: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    scopes: Vec<String>,
    host: Option<String>,
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
            scopes: parse_scopes(&r.scopes),
            host: r.host,
        }
    }
}

const COLUMNS: &str = "id, name, prefix, created_at, last_used_at, revoked_at, scopes, host";

/// What a new key is: its label, its secret's prefix and digest, and what it may do.
pub struct NewKey<'a> {
    pub name: &'a str,
    pub prefix: &'a str,
    pub key_hash: &'a [u8],
    pub scopes: &'a [KeyScope],
    pub host: Option<&'a str>,
    pub created_by: i64,
}

pub async fn insert(pool: &PgPool, new: NewKey<'_>) -> sqlx::Result<ApiKey> {
    let scopes: Vec<&str> = new.scopes.iter().map(|s| s.as_str()).collect();
    let row: ApiKeyRow = sqlx::query_as(&format!(
        "INSERT INTO api_keys (name, prefix, key_hash, created_by, scopes, host)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
    ))
    .bind(new.name)
    .bind(new.prefix)
    .bind(new.key_hash)
    .bind(new.created_by)
    .bind(scopes)
    .bind(new.host)
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
pub async fn authenticate(pool: &PgPool, key_hash: &[u8]) -> sqlx::Result<Option<KeyGrant>> {
    type Found = (
        i64,
        String,
        Option<DateTime<Utc>>,
        Vec<String>,
        Option<String>,
    );
    let found: Option<Found> = sqlx::query_as(
        "SELECT id, name, last_used_at, scopes, host FROM api_keys
         WHERE key_hash = $1 AND revoked_at IS NULL",
    )
    .bind(key_hash)
    .fetch_optional(pool)
    .await?;
    let Some((id, name, last_used, scopes, host)) = found else {
        return Ok(None);
    };
    if last_used.is_none_or(|t| Utc::now() - t > chrono::Duration::minutes(1)) {
        sqlx::query("UPDATE api_keys SET last_used_at = now() WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await?;
    }
    Ok(Some(KeyGrant {
        id,
        name,
        scopes: parse_scopes(&scopes),
        host,
    }))
}
