//! GPU bindings, and the reads GPU attribution joins: one GPU's raw samples and a
//! provider's calls.

use std::collections::HashMap;

use app::types::gpu::GpuBinding;
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::domain::gpu_attribution::GpuSample;

type BindingRow = (String, String, i32);

fn binding((provider, host, gpu): BindingRow) -> GpuBinding {
    GpuBinding {
        provider,
        host,
        gpu: gpu.max(0) as u32,
    }
}

pub async fn bindings(pool: &PgPool) -> sqlx::Result<Vec<GpuBinding>> {
    let rows: Vec<BindingRow> =
        sqlx::query_as("SELECT provider, host, gpu FROM gpu_bindings ORDER BY provider")
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().map(binding).collect())
}

pub async fn put_binding(pool: &PgPool, b: &GpuBinding) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO gpu_bindings (provider, host, gpu) VALUES ($1, $2, $3)
         ON CONFLICT (provider) DO UPDATE SET host = excluded.host, gpu = excluded.gpu",
    )
    .bind(&b.provider)
    .bind(&b.host)
    .bind(b.gpu as i32)
    .execute(pool)
    .await?;
    Ok(())
}

/// Removes a binding, returning it; None when the provider had none.
pub async fn delete_binding(pool: &PgPool, provider: &str) -> sqlx::Result<Option<GpuBinding>> {
    let row: Option<BindingRow> = sqlx::query_as(
        "DELETE FROM gpu_bindings WHERE provider = $1 RETURNING provider, host, gpu",
    )
    .bind(provider)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(binding))
}

/// GPU `gpu` of `host` in [from, to), oldest first, from the raw samples (at most
/// `max_rows`). Samples without that GPU's utilisation are skipped.
pub async fn samples(
    pool: &PgPool,
    host: &str,
    gpu: u32,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    max_rows: i64,
) -> sqlx::Result<Vec<GpuSample>> {
    let rows = super::system::raw(pool, host, from, to, max_rows).await?;
    let (util, power) = (format!("gpu.util:{gpu}"), format!("gpu.power:{gpu}"));
    // Where each series set keeps the two values (sets change only when hardware does).
    let mut slots: HashMap<i32, (Option<usize>, Option<usize>)> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for (time, set_id, vals) in rows {
        let (u, p) = match slots.get(&set_id) {
            Some(found) => *found,
            None => {
                let names = super::system::set_names(pool, set_id).await?;
                let at = |n: &str| names.iter().position(|x| x == n);
                *slots.entry(set_id).or_insert((at(&util), at(&power)))
            }
        };
        let Some(utilization) = u.and_then(|i| vals.get(i).copied()) else {
            continue;
        };
        out.push(GpuSample {
            time,
            utilization,
            power_w: p
                .and_then(|i| vals.get(i).copied())
                .filter(|v| v.is_finite()),
        });
    }
    Ok(out)
}

/// A provider's call as attribution needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CallSpan {
    pub model: String,
    pub time: DateTime<Utc>,
    pub duration_ms: f64,
    pub cost_total_micros: Option<i64>,
}

/// `provider`'s calls that started in [from, to), at most `max_rows`.
pub async fn calls(
    pool: &PgPool,
    provider: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    max_rows: i64,
) -> sqlx::Result<Vec<CallSpan>> {
    sqlx::query_as(
        "SELECT model, time, duration_ms, cost_total_micros FROM llm_calls
         WHERE provider = $1 AND time >= $2 AND time < $3 ORDER BY time LIMIT $4",
    )
    .bind(provider)
    .bind(from)
    .bind(to)
    .bind(max_rows)
    .fetch_all(pool)
    .await
}
