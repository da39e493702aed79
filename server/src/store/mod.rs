//! Storage: the connection pool, migrations and one module of queries per table.
//! This is the only module that speaks SQL; every query binds its parameters.

pub mod alerts;
pub mod api_keys;
pub mod app_requests;
pub mod bench;
pub mod browser;
pub mod budgets;
pub mod calls;
pub mod copy_binary;
pub mod feedback;
pub mod gpu;
pub mod llm_sessions;
pub mod partitions;
pub mod pending_calls;
pub mod people;
pub mod prices;
pub mod providers;
pub mod rate_limits;
pub mod report_schedules;
pub mod rollup_pending;
pub mod rollups;
pub mod sessions;
pub mod statements;
pub mod system;
pub mod users;
pub mod workers;

use std::time::Duration;

use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    ConnectOptions, PgPool,
};

/// Statements of the shared pool (reads, settings, housekeeping) end after this, so no
/// query can hold a connection for long. The writers' pool has no limit.
pub const STATEMENT_TIMEOUT: &str = "60s";

/// A connection idle this long is closed. Each keeps the buffers of the
/// largest batch or result it carried, so after a burst the server gives that memory back
/// within a minute instead of sqlx's default ten.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// How a pool reports its statements and connection acquires as tracing events (which
/// `dbwatch` reads) at `level`: every acquire, and the statements slower than `slow`.
#[derive(Debug, Clone, Copy)]
pub struct Instrument {
    pub level: log::LevelFilter,
    pub slow: Duration,
}

/// Connects to `url`; with `retry` keeps trying with back-off (up to 30 s between tries).
/// `statement_timeout` bounds each statement. Errors say which host/port/database failed,
/// never the password.
pub async fn connect(
    url: &str,
    max_connections: u32,
    retry: bool,
    statement_timeout: Option<&str>,
    instrument: Instrument,
) -> anyhow::Result<PgPool> {
    let target = describe_database_url(url);
    let mut options: PgConnectOptions = url
        .parse()
        .map_err(|e| anyhow::anyhow!("cannot use the database URL for {target}: {e}"))?;
    if let Some(t) = statement_timeout {
        options = options.options([("statement_timeout", t)]);
    }
    // Only slow statements are reported: sqlx formats each one it logs, which every fast
    // statement on the ingest path need not pay for. The level names the pool.
    options = options
        .log_statements(log::LevelFilter::Off)
        .log_slow_statements(instrument.level, instrument.slow);
    let mut delay = Duration::from_millis(500);
    loop {
        let attempt = PgPoolOptions::new()
            .max_connections(max_connections)
            .idle_timeout(IDLE_TIMEOUT)
            .acquire_timeout(Duration::from_secs(5))
            .acquire_time_level(instrument.level)
            .acquire_slow_level(instrument.level)
            .connect_with(options.clone())
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

/// Describes a database URL for messages: host, port and database, never the password.
pub fn describe_database_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(url) => {
            let host = url.host_str().unwrap_or("localhost");
            let port = url.port().unwrap_or(5432);
            let db = url.path().trim_start_matches('/');
            let db = if db.is_empty() { "postgres" } else { db };
            format!("{host}:{port}/{db}")
        }
        Err(_) => "an unparsable URL".to_owned(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_description_hides_password() {
        let d = describe_database_url("postgres://u:hunter2@db.internal:6543/app");
        assert_eq!(d, "db.internal:6543/app");
    }

    /// The layering rule of docs/ARCHITECTURE.md: storage depends downward only, on the
    /// domain types, the pure analytics and the wire types, never on a module that calls it.
    #[test]
    fn store_depends_downward_only() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store");
        let allowed = ["crate::domain", "crate::analytics", "crate::store"];
        let mut offences = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            // Tests may reach anywhere; this one names modules in strings.
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            for (n, line) in code.lines().enumerate() {
                let mut rest = line;
                while let Some(i) = rest.find("crate::") {
                    let tail = &rest[i..];
                    let module: String = tail
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                        .collect();
                    let module = module.trim_end_matches(':');
                    let top = module
                        .splitn(3, "::")
                        .take(2)
                        .collect::<Vec<_>>()
                        .join("::");
                    if !allowed.contains(&top.as_str()) {
                        offences.push(format!("{}:{}: {line}", path.display(), n + 1));
                    }
                    rest = &tail["crate::".len()..];
                }
                // A grouped import (`use crate::{a, b}`) hides its modules from this scan.
                if line.contains(concat!("crate", "::{")) {
                    offences.push(format!(
                        "{}:{}: grouped crate import",
                        path.display(),
                        n + 1
                    ));
                }
            }
        }
        assert!(
            offences.is_empty(),
            "store/ reaches up:\n{}",
            offences.join("\n")
        );
    }
}
