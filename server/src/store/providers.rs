//! The `providers` table: the proxy's upstreams.

use sqlx::PgPool;

use app::types::ProviderKind;

use crate::domain::provider::{self, Provider};

#[derive(sqlx::FromRow)]
struct Row {
    name: String,
    kind: String,
    base_url: String,
    api_key: Option<String>,
    pass_through: bool,
}

/// Every provider, its key as stored (sealed); rows that no longer parse (edited by hand)
/// are skipped with a warning.
pub async fn load(pool: &PgPool) -> sqlx::Result<Vec<Provider>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT name, kind, base_url, api_key, pass_through FROM providers ORDER BY name",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let kind = ProviderKind::parse(&r.kind)?;
            match provider::parse_base_url(&r.base_url) {
                Ok(base_url) => Some(Provider {
                    name: r.name,
                    kind,
                    base_url,
                    api_key: r.api_key,
                    pass_through: r.pass_through,
                }),
                Err(e) => {
                    tracing::warn!(provider = %r.name, "stored base URL {e}; provider skipped");
                    None
                }
            }
        })
        .collect())
}

/// Creates or replaces a provider; `api_key` is the sealed key. `None` keeps the stored key (so editing the URL
/// does not require typing the key again); `Some("")` removes it.
pub async fn upsert(
    pool: &PgPool,
    p: &Provider,
    api_key: Option<&str>,
    source: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO providers (name, kind, base_url, api_key, pass_through, source)
         VALUES ($1, $2, $3, NULLIF($4, ''), $5, $6)
         ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, base_url = EXCLUDED.base_url,
             api_key = CASE WHEN $4 IS NULL THEN providers.api_key ELSE NULLIF($4, '') END,
             pass_through = EXCLUDED.pass_through, source = EXCLUDED.source, updated_at = now()",
    )
    .bind(&p.name)
    .bind(p.kind.as_str())
    .bind(p.base_url.as_str())
    .bind(api_key)
    .bind(p.pass_through)
    .bind(source)
    .execute(pool)
    .await?;
    Ok(())
}

/// Replaces a provider's stored key (to re-seal a value stored before sealing existed).
pub async fn set_key(pool: &PgPool, name: &str, sealed: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE providers SET api_key = $2 WHERE name = $1")
        .bind(name)
        .bind(sealed)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn delete(pool: &PgPool, name: &str) -> sqlx::Result<bool> {
    let r = sqlx::query("DELETE FROM providers WHERE name = $1")
        .bind(name)
        .execute(pool)
        .await?;
    Ok(r.rows_affected() > 0)
}
