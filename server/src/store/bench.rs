//! The `bench_runs` and `bench_answers` tables: benchmark runs and every answer they got.

use app::types::bench::{BenchAnswer, BenchCategory, BenchRunInput, BenchStatus, ScoreMethod};
use chrono::{DateTime, Utc};
use sqlx::{types::Json, PgPool};

/// A run as stored.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub id: i64,
    pub name: String,
    pub category: BenchCategory,
    pub scoring: ScoreMethod,
    pub status: BenchStatus,
    pub input: BenchRunInput,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub wall_ms: Option<f64>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    name: String,
    category: String,
    scoring: String,
    status: String,
    input: Json<BenchRunInput>,
    created_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    wall_ms: Option<f64>,
}

impl From<Row> for RunRow {
    fn from(r: Row) -> Self {
        RunRow {
            id: r.id,
            name: r.name,
            category: BenchCategory::parse(&r.category).unwrap_or_default(),
            scoring: ScoreMethod::parse(&r.scoring).unwrap_or_default(),
            status: BenchStatus::parse(&r.status).unwrap_or(BenchStatus::Interrupted),
            input: r.input.0,
            created_at: r.created_at,
            finished_at: r.finished_at,
            wall_ms: r.wall_ms,
        }
    }
}

const RUN_COLUMNS: &str =
    "id, name, category, scoring, status, input, created_at, finished_at, wall_ms";

/// Stores a new run as running: its id and start time.
pub async fn insert_run(
    pool: &PgPool,
    input: &BenchRunInput,
) -> sqlx::Result<(i64, DateTime<Utc>)> {
    sqlx::query_as(
        "INSERT INTO bench_runs (name, category, scoring, status, input)
         VALUES ($1, $2, $3, 'running', $4) RETURNING id, created_at",
    )
    .bind(&input.name)
    .bind(input.category.as_str())
    .bind(input.scoring.as_str())
    .bind(Json(input))
    .fetch_one(pool)
    .await
}

/// Stores one answer; `finished_ms` is from the run's start to the answer's end.
pub async fn insert_answer(
    pool: &PgPool,
    run_id: i64,
    a: &BenchAnswer,
    finished_ms: f64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO bench_answers (run_id, model, prompt, repetition, ttfb_ms, total_ms,
             output_tokens, tokens_per_s, cost, error, score, answer, finished_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT DO NOTHING",
    )
    .bind(run_id)
    .bind(&a.model)
    .bind(a.prompt as i32)
    .bind(a.repetition as i32)
    .bind(a.ttfb_ms)
    .bind(a.total_ms)
    .bind(i64::try_from(a.output_tokens).unwrap_or(i64::MAX))
    .bind(a.tokens_per_s)
    .bind(a.cost)
    .bind(&a.error)
    .bind(a.score)
    .bind(&a.answer)
    .bind(finished_ms)
    .execute(pool)
    .await?;
    Ok(())
}

/// Ends a run.
pub async fn finish(pool: &PgPool, id: i64, status: BenchStatus, wall_ms: f64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE bench_runs SET status = $2, finished_at = now(), wall_ms = $3
         WHERE id = $1 AND status = 'running'",
    )
    .bind(id)
    .bind(status.as_str())
    .bind(wall_ms)
    .execute(pool)
    .await?;
    Ok(())
}

/// Marks runs that were going when the server stopped: nothing runs them any more.
pub async fn interrupt_running(pool: &PgPool) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "UPDATE bench_runs SET status = 'interrupted', finished_at = now()
         WHERE status = 'running'",
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// The latest runs, newest first.
pub async fn list(pool: &PgPool, limit: i64) -> sqlx::Result<Vec<RunRow>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {RUN_COLUMNS} FROM bench_runs ORDER BY created_at DESC, id DESC LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(RunRow::from).collect())
}

pub async fn get(pool: &PgPool, id: i64) -> sqlx::Result<Option<RunRow>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {RUN_COLUMNS} FROM bench_runs WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(RunRow::from))
}

#[derive(sqlx::FromRow)]
struct AnswerRow {
    run_id: i64,
    model: String,
    prompt: i32,
    repetition: i32,
    ttfb_ms: Option<f64>,
    total_ms: f64,
    output_tokens: i64,
    tokens_per_s: Option<f64>,
    cost: Option<f64>,
    error: Option<String>,
    score: Option<f64>,
    answer: String,
    finished_ms: f64,
}

/// An answer with its run and its end from the run's start.
pub struct StoredAnswer {
    pub run_id: i64,
    pub answer: BenchAnswer,
    pub finished_ms: f64,
}

/// The answers of `runs`, in prompt order; with the text only when `text` (lists leave it).
pub async fn answers(pool: &PgPool, runs: &[i64], text: bool) -> sqlx::Result<Vec<StoredAnswer>> {
    let rows: Vec<AnswerRow> = sqlx::query_as(
        "SELECT run_id, model, prompt, repetition, ttfb_ms, total_ms, output_tokens,
             tokens_per_s, cost, error, score,
             CASE WHEN $2 THEN answer ELSE '' END AS answer, finished_ms
         FROM bench_answers WHERE run_id = ANY($1)
         ORDER BY run_id, model, prompt, repetition",
    )
    .bind(runs)
    .bind(text)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| StoredAnswer {
            run_id: r.run_id,
            finished_ms: r.finished_ms,
            answer: BenchAnswer {
                model: r.model,
                prompt: r.prompt.max(0) as u32,
                repetition: r.repetition.max(0) as u32,
                ttfb_ms: r.ttfb_ms,
                total_ms: r.total_ms,
                output_tokens: r.output_tokens.max(0) as u64,
                tokens_per_s: r.tokens_per_s,
                cost: r.cost,
                error: r.error,
                score: r.score,
                answer: r.answer,
            },
        })
        .collect())
}

/// Deletes a run and its answers (not its calls, which belong to the call history).
pub async fn delete(pool: &PgPool, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM bench_runs WHERE id = $1 AND status <> 'running'")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}
