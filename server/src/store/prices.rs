//! The `model_prices` table.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::pricing::Price;

#[derive(sqlx::FromRow)]
struct PriceRow {
    provider: Option<String>,
    model_pattern: String,
    input_per_mtok_micros: i64,
    output_per_mtok_micros: i64,
    cached_input_per_mtok_micros: Option<i64>,
    effective_from: DateTime<Utc>,
}

pub async fn load(pool: &PgPool) -> sqlx::Result<Vec<Price>> {
    let rows: Vec<PriceRow> = sqlx::query_as(
        "SELECT provider, model_pattern, input_per_mtok_micros, output_per_mtok_micros,
                cached_input_per_mtok_micros, effective_from
         FROM model_prices",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Price {
            provider: r.provider,
            model_pattern: r.model_pattern,
            input_per_mtok_micros: r.input_per_mtok_micros,
            output_per_mtok_micros: r.output_per_mtok_micros,
            cached_input_per_mtok_micros: r.cached_input_per_mtok_micros,
            effective_from: r.effective_from,
        })
        .collect())
}

/// Inserts the bundled table when no price is stored yet (first start).
pub async fn seed_if_empty(pool: &PgPool, prices: &[Price]) -> sqlx::Result<u64> {
    let mut tx = pool.begin().await?;
    let existing: i64 = sqlx::query_scalar("SELECT count(*) FROM model_prices")
        .fetch_one(&mut *tx)
        .await?;
    if existing > 0 {
        return Ok(0);
    }
    for p in prices {
        sqlx::query(
            "INSERT INTO model_prices (provider, model_pattern, input_per_mtok_micros,
                 output_per_mtok_micros, cached_input_per_mtok_micros, effective_from, source)
             VALUES ($1, $2, $3, $4, $5, $6, 'bundled')",
        )
        .bind(&p.provider)
        .bind(&p.model_pattern)
        .bind(p.input_per_mtok_micros)
        .bind(p.output_per_mtok_micros)
        .bind(p.cached_input_per_mtok_micros)
        .bind(p.effective_from)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(prices.len() as u64)
}
