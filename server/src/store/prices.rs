//! The `model_prices` table.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use app::types::{ModelPrice, Recost, UnpricedModel};

use crate::domain::pricing::{self, Price};

#[derive(sqlx::FromRow)]
struct PriceRow {
    provider: Option<String>,
    model_pattern: String,
    input_per_mtok_micros: i64,
    output_per_mtok_micros: i64,
    cached_input_per_mtok_micros: Option<i64>,
    effective_from: DateTime<Utc>,
    context_window: Option<i64>,
}

impl From<PriceRow> for Price {
    fn from(r: PriceRow) -> Self {
        Price {
            provider: r.provider,
            model_pattern: r.model_pattern,
            input_per_mtok_micros: r.input_per_mtok_micros,
            output_per_mtok_micros: r.output_per_mtok_micros,
            cached_input_per_mtok_micros: r.cached_input_per_mtok_micros,
            effective_from: r.effective_from,
            context_window: r.context_window,
        }
    }
}

pub async fn load(pool: &PgPool) -> sqlx::Result<Vec<Price>> {
    let rows: Vec<PriceRow> = sqlx::query_as(
        "SELECT provider, model_pattern, input_per_mtok_micros, output_per_mtok_micros,
                cached_input_per_mtok_micros, effective_from, context_window
         FROM model_prices",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(Price::from).collect())
}

/// Inserts the bundled table when no price is stored yet (first start).
pub async fn seed_if_empty(pool: &PgPool, prices: &[Price]) -> sqlx::Result<u64> {
    let mut tx = pool.begin().await?;
    let existing: i64 = sqlx::query_scalar("SELECT count(*) FROM model_prices")
        .fetch_one(&mut *tx)
        .await?;
    if existing > 0 {
        // Tables seeded before context windows were bundled get them once.
        for p in prices.iter().filter(|p| p.context_window.is_some()) {
            sqlx::query(
                "UPDATE model_prices SET context_window = $2
                 WHERE source = 'bundled' AND model_pattern = $1 AND context_window IS NULL",
            )
            .bind(&p.model_pattern)
            .bind(p.context_window)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        return Ok(0);
    }
    for p in prices {
        sqlx::query(
            "INSERT INTO model_prices (provider, model_pattern, input_per_mtok_micros,
                 output_per_mtok_micros, cached_input_per_mtok_micros, effective_from, source,
                 context_window)
             VALUES ($1, $2, $3, $4, $5, $6, 'bundled', $7)",
        )
        .bind(&p.provider)
        .bind(&p.model_pattern)
        .bind(p.input_per_mtok_micros)
        .bind(p.output_per_mtok_micros)
        .bind(p.cached_input_per_mtok_micros)
        .bind(p.effective_from)
        .bind(p.context_window)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(prices.len() as u64)
}

#[derive(sqlx::FromRow)]
struct PriceListRow {
    id: i64,
    #[sqlx(flatten)]
    price: PriceRow,
    source: String,
}

pub async fn list(pool: &PgPool) -> sqlx::Result<Vec<ModelPrice>> {
    let rows: Vec<PriceListRow> = sqlx::query_as(
        "SELECT id, provider, model_pattern, input_per_mtok_micros, output_per_mtok_micros,
                    cached_input_per_mtok_micros, effective_from, context_window, source
             FROM model_prices ORDER BY model_pattern, provider NULLS FIRST, effective_from DESC",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let p = Price::from(r.price);
            ModelPrice {
                id: r.id,
                provider: p.provider,
                model_pattern: p.model_pattern,
                input_per_mtok_micros: p.input_per_mtok_micros,
                output_per_mtok_micros: p.output_per_mtok_micros,
                cached_input_per_mtok_micros: p.cached_input_per_mtok_micros,
                effective_from: p.effective_from,
                context_window: p.context_window,
                source: r.source,
            }
        })
        .collect())
}

/// Adds a price version; None when that pattern already has a version at that instant.
pub async fn insert(pool: &PgPool, p: &Price) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "INSERT INTO model_prices (provider, model_pattern, input_per_mtok_micros,
             output_per_mtok_micros, cached_input_per_mtok_micros, effective_from, source,
             context_window)
         VALUES ($1, $2, $3, $4, $5, $6, 'api', $7)
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(&p.provider)
    .bind(&p.model_pattern)
    .bind(p.input_per_mtok_micros)
    .bind(p.output_per_mtok_micros)
    .bind(p.cached_input_per_mtok_micros)
    .bind(p.effective_from)
    .bind(p.context_window)
    .fetch_optional(pool)
    .await
}

#[derive(sqlx::FromRow)]
struct UnpricedRow {
    provider: String,
    model: String,
    calls: i64,
    last_seen: DateTime<Utc>,
}

/// Models with calls in the range that have no price.
pub async fn unpriced(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Vec<UnpricedModel>> {
    let rows: Vec<UnpricedRow> = sqlx::query_as(
        "SELECT provider, model, count(*) AS calls, max(time) AS last_seen FROM llm_calls
         WHERE cost_total_micros IS NULL AND time >= $1 AND time < $2
         GROUP BY provider, model ORDER BY count(*) DESC LIMIT 500",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| UnpricedModel {
            provider: r.provider,
            model: r.model,
            calls: r.calls,
            last_seen: r.last_seen,
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct RecostRow {
    id: String,
    time: DateTime<Utc>,
    provider: String,
    model: String,
    response_model: Option<String>,
    input_tokens: i64,
    output_tokens: i64,
    cached_tokens: i64,
    cost_total_micros: Option<i64>,
}

/// Recomputes the cost of every call in `[from, to)` whose cost did not come from the
/// client, with `prices`, in one transaction that also writes the audit row.
pub async fn recost(
    pool: &PgPool,
    prices: &[Price],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    requested_by: &str,
) -> sqlx::Result<Recost> {
    let mut tx = pool.begin().await?;
    let (mut examined, mut before, mut after) = (0i64, 0i64, 0i64);
    let mut changed: Vec<(String, DateTime<Utc>, Option<pricing::Cost>)> = Vec::new();
    let mut cursor: Option<(DateTime<Utc>, String)> = None;
    loop {
        // Keyset pages keep memory flat over long ranges.
        let rows: Vec<RecostRow> = sqlx::query_as(
            "SELECT id, time, provider, model, response_model, input_tokens, output_tokens,
                    cached_tokens, cost_total_micros
             FROM llm_calls
             WHERE time >= $1 AND time < $2 AND cost_source IS DISTINCT FROM 'client'
               AND ($3::timestamptz IS NULL OR (time, id) > ($3, $4))
             ORDER BY time, id LIMIT 5000 FOR UPDATE",
        )
        .bind(from)
        .bind(to)
        .bind(cursor.as_ref().map(|c| c.0))
        .bind(cursor.as_ref().map(|c| c.1.clone()))
        .fetch_all(&mut *tx)
        .await?;
        let Some(last) = rows.last() else { break };
        cursor = Some((last.time, last.id.clone()));
        for r in rows {
            examined += 1;
            let old = r.cost_total_micros;
            let new = pricing::price_call(
                prices,
                &r.provider,
                &r.model,
                r.response_model.as_deref(),
                r.time,
                pricing::Usage::priced(
                    r.input_tokens.max(0) as u64,
                    r.output_tokens.max(0) as u64,
                    r.cached_tokens.max(0) as u64,
                ),
            );
            before += old.unwrap_or(0);
            after += new.map_or(0, |c| c.total_micros);
            if new.map(|c| c.total_micros) != old {
                changed.push((r.id, r.time, new));
            }
        }
    }
    for chunk in changed.chunks(5000) {
        sqlx::query(
            "UPDATE llm_calls c SET cost_input_micros = u.ci, cost_output_micros = u.co,
                 cost_total_micros = u.ct,
                 cost_source = CASE WHEN u.ct IS NULL THEN NULL ELSE 'table' END
             FROM UNNEST($1::text[], $2::timestamptz[], $3::int8[], $4::int8[], $5::int8[])
                  AS u(id, time, ci, co, ct)
             WHERE c.id = u.id AND c.time = u.time",
        )
        .bind(chunk.iter().map(|c| c.0.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|c| c.1).collect::<Vec<_>>())
        .bind(
            chunk
                .iter()
                .map(|c| c.2.map(|x| x.input_micros))
                .collect::<Vec<_>>(),
        )
        .bind(
            chunk
                .iter()
                .map(|c| c.2.map(|x| x.output_micros))
                .collect::<Vec<_>>(),
        )
        .bind(
            chunk
                .iter()
                .map(|c| c.2.map(|x| x.total_micros))
                .collect::<Vec<_>>(),
        )
        .execute(&mut *tx)
        .await?;
    }
    if !changed.is_empty() {
        super::rollups::rebuild(&mut tx, from, to).await?;
    }
    let (id, created_at): (i64, DateTime<Utc>) = sqlx::query_as(
        "INSERT INTO price_recosts (requested_by, range_from, range_to, calls_examined,
             calls_changed, cost_before_micros, cost_after_micros)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, created_at",
    )
    .bind(requested_by)
    .bind(from)
    .bind(to)
    .bind(examined)
    .bind(changed.len() as i64)
    .bind(before)
    .bind(after)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Recost {
        id,
        requested_by: requested_by.to_owned(),
        from,
        to,
        calls_examined: examined,
        calls_changed: changed.len() as i64,
        cost_before_micros: before,
        cost_after_micros: after,
        created_at,
    })
}

#[derive(sqlx::FromRow)]
struct RecostListRow {
    id: i64,
    requested_by: String,
    range_from: DateTime<Utc>,
    range_to: DateTime<Utc>,
    calls_examined: i64,
    calls_changed: i64,
    cost_before_micros: i64,
    cost_after_micros: i64,
    created_at: DateTime<Utc>,
}

pub async fn recosts(pool: &PgPool) -> sqlx::Result<Vec<Recost>> {
    let rows: Vec<RecostListRow> = sqlx::query_as(
        "SELECT id, requested_by, range_from, range_to, calls_examined, calls_changed,
                    cost_before_micros, cost_after_micros, created_at
             FROM price_recosts ORDER BY id DESC LIMIT 200",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Recost {
            id: r.id,
            requested_by: r.requested_by,
            from: r.range_from,
            to: r.range_to,
            calls_examined: r.calls_examined,
            calls_changed: r.calls_changed,
            cost_before_micros: r.cost_before_micros,
            cost_after_micros: r.cost_after_micros,
            created_at: r.created_at,
        })
        .collect())
}
