//! Storage: the connection pool, migrations and one module of queries per table.
//! This is the only module that speaks SQL; every query binds its parameters.

pub mod api_keys;
pub mod calls;
pub mod embedded;
pub mod llm_sessions;
pub mod partitions;
pub mod pending_calls;
pub mod prices;
pub mod providers;
pub mod rollups;
pub mod sessions;
pub mod system;
pub mod users;

use std::time::Duration;

use sqlx::{postgres::PgPoolOptions, PgPool};

use crate::config::describe_database_url;

/// Connects to `url`; with `retry` keeps trying with back-off (up to 30 s between tries).
/// Errors say which host/port/database failed, never the password.
pub async fn connect(url: &str, max_connections: u32, retry: bool) -> anyhow::Result<PgPool> {
    let target = describe_database_url(url);
    let mut delay = Duration::from_millis(500);
    loop {
        let attempt = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await;
        match attempt {
            Ok(pool) => return Ok(pool),
            Err(e) if retry => {
                tracing::warn!(database = %target, retry_in_ms = delay.as_millis() as u64, "cannot connect to PostgreSQL: {e}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
            Err(e) => anyhow::bail!("cannot connect to PostgreSQL at {target}: {e}"),
        }
    }
}

/// Applies the embedded migrations (forward-only).
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sqlx::migrate!("./migrations").run(pool).await
}

/// Whether the database answers and every embedded migration has been applied.
pub async fn readiness(pool: &PgPool) -> Result<(), String> {
    let expected = sqlx::migrate!("./migrations").iter().count() as i64;
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await
        .map_err(|e| format!("database unreachable: {e}"))?;
    if applied < expected {
        return Err(format!(
            "migrations pending: {applied} of {expected} applied"
        ));
    }
    Ok(())
}
