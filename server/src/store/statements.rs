//! `pg_stat_statements`, when the database has the extension: the statements that took the
//! most time in Sightline's database, as PostgreSQL itself counts them.

use sqlx::PgPool;

/// One statement as `pg_stat_statements` normalises it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StatementRow {
    pub query: String,
    pub calls: i64,
    pub total_ms: f64,
    pub mean_ms: f64,
    pub rows: i64,
}

/// Why no figures are available, or the top statements by total time.
pub enum Statements {
    Unavailable(String),
    Top(Vec<StatementRow>),
}

/// The `limit` statements of this database with the most total execution time. Statements
/// of other roles that this role may not see (`<insufficient privilege>`) are left out.
pub async fn top(pool: &PgPool, limit: i64) -> sqlx::Result<Statements> {
    let schema: Option<String> = sqlx::query_scalar(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
         WHERE e.extname = 'pg_stat_statements'",
    )
    .fetch_optional(pool)
    .await?;
    let Some(schema) = schema else {
        return Ok(Statements::Unavailable(
            "the pg_stat_statements extension is not installed in this database".into(),
        ));
    };
    // The schema comes from the catalogue; quote it as an identifier all the same.
    let sql = format!(
        "SELECT query, calls, total_exec_time AS total_ms, mean_exec_time AS mean_ms, rows
         FROM \"{}\".pg_stat_statements
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND query <> '<insufficient privilege>'
         ORDER BY total_exec_time DESC
         LIMIT $1",
        schema.replace('"', "\"\"")
    );
    match sqlx::query_as::<_, StatementRow>(&sql)
        .bind(limit)
        .fetch_all(pool)
        .await
    {
        Ok(rows) => Ok(Statements::Top(rows)),
        // Installed but not preloaded: reading it fails until the server restarts.
        Err(sqlx::Error::Database(e)) => Ok(Statements::Unavailable(format!(
            "pg_stat_statements cannot be read: {}",
            e.message()
        ))),
        Err(e) => Err(e),
    }
}
