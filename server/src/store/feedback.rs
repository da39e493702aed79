//! Feedback after the fact: a call's rating and quality score replaced, and its rollup rows
//! moved by the difference, in one transaction.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::rollups;
use crate::analytics::bucket::RollupTier;
use crate::analytics::people;
use crate::analytics::rollup::{Deltas, RollupKey};
use crate::domain::feedback::{delta, Feedback, Target};

#[derive(sqlx::FromRow)]
struct Rated {
    id: String,
    time: DateTime<Utc>,
    provider: String,
    model: String,
    feature: Option<String>,
    user_id: Option<String>,
    user_rating: Option<i16>,
    quality_score: Option<f64>,
}

/// Applies `f` to its calls; returns their ids (none when no call matched).
pub async fn apply(pool: &PgPool, f: &Feedback) -> sqlx::Result<Vec<String>> {
    let mut tx = pool.begin().await?;
    let (column, value) = match &f.target {
        Target::Call(id) => ("id", id),
        Target::Trace(t) => ("trace_id", t),
    };
    // The column comes from the Target enum, never from input. Locked so two feedbacks on
    // one call move the rollups by consistent differences.
    let calls: Vec<Rated> = sqlx::query_as(&format!(
        "SELECT id, time, provider, model, feature, user_id, user_rating, quality_score
         FROM llm_calls WHERE {column} = $1 ORDER BY time, id FOR UPDATE"
    ))
    .bind(value)
    .fetch_all(&mut *tx)
    .await?;
    if calls.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query(
        "UPDATE llm_calls c SET user_rating = coalesce($3, c.user_rating),
            quality_score = coalesce($4, c.quality_score)
         FROM UNNEST($1::timestamptz[], $2::text[]) AS t(time, id)
         WHERE c.time = t.time AND c.id = t.id",
    )
    .bind(calls.iter().map(|c| c.time).collect::<Vec<_>>())
    .bind(calls.iter().map(|c| c.id.clone()).collect::<Vec<_>>())
    .bind(f.rating)
    .bind(f.quality_score)
    .execute(&mut *tx)
    .await?;
    let mut d = Deltas::default();
    for c in &calls {
        let change = delta((c.user_rating, c.quality_score), f);
        for (tier, map) in [
            (RollupTier::Minute, &mut d.minute),
            (RollupTier::Hour, &mut d.hour),
        ] {
            let key = RollupKey::of(tier, c.time, &c.provider, &c.model, c.feature.as_deref());
            map.entry(key).or_default().merge(&change);
        }
        d.users
            .entry(people::user_hour(c.time, c.user_id.as_deref()))
            .or_default()
            .merge(&change);
    }
    rollups::add(&mut tx, d).await?;
    tx.commit().await?;
    Ok(calls.into_iter().map(|c| c.id).collect())
}
