//! `GET /api/v1/models/health`: per model over a recent window, with drift against the
//! baseline before it, read from the rollups.

use app::types::models::{ModelHealthOverview, ModelHealthQuery};
use axum::{extract::State, Json};
use chrono::{Duration, Utc};

use super::{
    error::ApiError,
    params::{parse_look_back, ApiQuery},
    principal::Reader,
};
use crate::{
    analytics::{bucket::RollupTier, model_health},
    domain::{
        drift::DriftRule,
        pricing::{find_price, Price},
    },
    state::AppState,
    store::{self, rollups::DimFilter},
};

const MAX_DAYS: i64 = 30;

/// A model's context window: from the price in force, or another version of its pattern.
fn window(prices: &[Price], provider: &str, model: &str) -> Option<i64> {
    let p = find_price(prices, provider, model, Utc::now())?;
    p.context_window.or_else(|| {
        prices
            .iter()
            .filter(|q| q.model_pattern == p.model_pattern && q.provider == p.provider)
            .find_map(|q| q.context_window)
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/models/health",
    operation_id = "model_health",
    summary = "Model health: context use, cache hits, speed, TTFT, quality, drift",
    tag = "analytics",
    params(ModelHealthQuery),
    responses((status = 200, description = "Per model, with drift against the baseline", body = ModelHealthOverview)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn health(
    _p: Reader,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ModelHealthQuery>,
) -> Result<Json<ModelHealthOverview>, ApiError> {
    let span = |field: &str, v: &Option<String>, default: Duration| match v {
        Some(r) => {
            let d = parse_look_back(field, r)?;
            if d > Duration::days(MAX_DAYS) {
                return Err(ApiError::bad_param(
                    field,
                    format!("{field} covers at most {MAX_DAYS} days"),
                ));
            }
            Ok(d)
        }
        None => Ok(default),
    };
    let range = span("range", &q.range, Duration::hours(24))?;
    let baseline = span("baseline", &q.baseline, Duration::days(7))?;
    // Hours for a day or more, minutes below: about 24 to 720 points either way.
    let tier = if range >= Duration::hours(6) {
        RollupTier::Hour
    } else {
        RollupTier::Minute
    };
    let now = Utc::now();
    // Whole buckets: the current one is the last point.
    let to = tier.truncate(now) + Duration::seconds(tier.seconds());
    let from = tier.truncate(to - range);
    let baseline_from = tier.truncate(from - baseline);
    let filter = DimFilter {
        provider: q.provider.filter(|s| !s.is_empty()),
        model: q.model.filter(|s| !s.is_empty()),
        feature: None,
    };
    let rows = store::rollups::fetch(&state.pool, tier, baseline_from, to, &filter).await?;
    let prices = state.ingest.prices();
    let models = model_health::health(
        &rows,
        baseline_from,
        from,
        to,
        |p, m| window(&prices, p, m),
        DriftRule::default(),
    );
    Ok(Json(ModelHealthOverview {
        from,
        to,
        baseline_from,
        bucket_s: tier.seconds(),
        models,
    }))
}
