//! `/api/v1/prices`: the price table, models without a price, and audited re-costs.
//! Reading needs any credential; changing prices or re-costing needs a logged-in user.

use app::types::{ModelPrice, NewModelPrice, RangeQuery, Recost, RecostRequest, UnpricedModel};
use axum::{extract::State, http::StatusCode, Json};
use chrono::{Duration, Utc};

use super::{
    error::{ApiError, ApiJson},
    params::{ApiQuery, RangeParams},
    principal::{Reader, SessionUser},
};
use crate::{domain::pricing::Price, state::AppState, store};

/// Longest range one re-cost may cover.
const MAX_RECOST_DAYS: i64 = 400;
/// $1000 per million tokens: anything above is a unit mistake.
const MAX_PER_MTOK_MICROS: i64 = 1_000_000_000;

/// `GET /api/v1/prices`: every version, newest first within a pattern.
#[utoipa::path(
    get,
    path = "/api/v1/prices",
    operation_id = "list_prices",
    summary = "List model prices",
    tag = "prices",
    responses((status = 200, description = "Every price version", body = Vec<ModelPrice>)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn list(
    _p: Reader,
    State(state): State<AppState>,
) -> Result<Json<Vec<ModelPrice>>, ApiError> {
    Ok(Json(store::prices::list(&state.pool).await?))
}

fn per_mtok(field: &str, v: i64) -> Result<i64, ApiError> {
    if !(0..=MAX_PER_MTOK_MICROS).contains(&v) {
        return Err(ApiError::invalid(
            field,
            format!("{field} must be from 0 to {MAX_PER_MTOK_MICROS} micro-USD per million tokens"),
        ));
    }
    Ok(v)
}

/// `POST /api/v1/prices`: adds a version (201); 409 when the pattern already has one at
/// that instant.
#[utoipa::path(
    post,
    path = "/api/v1/prices",
    operation_id = "create_price",
    summary = "Add a model price version",
    tag = "prices",
    request_body = NewModelPrice,
    responses((status = 201, description = "The new price version", body = ModelPrice)),
    security(("session" = []))
)]
pub async fn create(
    _user: SessionUser,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<NewModelPrice>,
) -> Result<(StatusCode, Json<ModelPrice>), ApiError> {
    let pattern = req.model_pattern.trim();
    if pattern.is_empty() || pattern.len() > 200 || pattern.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "model_pattern",
            "model_pattern must be 1 to 200 characters",
        ));
    }
    let provider = req
        .provider
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty());
    if provider.as_ref().is_some_and(|p| p.len() > 100) {
        return Err(ApiError::invalid(
            "provider",
            "provider must be at most 100 characters",
        ));
    }
    let price = Price {
        provider,
        model_pattern: pattern.to_owned(),
        input_per_mtok_micros: per_mtok("input_per_mtok_micros", req.input_per_mtok_micros)?,
        output_per_mtok_micros: per_mtok("output_per_mtok_micros", req.output_per_mtok_micros)?,
        cached_input_per_mtok_micros: req
            .cached_input_per_mtok_micros
            .map(|v| per_mtok("cached_input_per_mtok_micros", v))
            .transpose()?,
        effective_from: req.effective_from.unwrap_or_else(Utc::now),
        context_window: match req.context_window {
            Some(w) if !(1..=100_000_000).contains(&w) => {
                return Err(ApiError::invalid(
                    "context_window",
                    "context_window must be 1 to 100000000 tokens",
                ))
            }
            w => w,
        },
    };
    let Some(id) = store::prices::insert(&state.pool, &price).await? else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "price_exists",
            "this pattern already has a price taking effect at that instant",
        )
        .with_field("effective_from"));
    };
    state.ingest.reload_prices().await?;
    Ok((
        StatusCode::CREATED,
        Json(ModelPrice {
            id,
            provider: price.provider,
            model_pattern: price.model_pattern,
            input_per_mtok_micros: price.input_per_mtok_micros,
            output_per_mtok_micros: price.output_per_mtok_micros,
            cached_input_per_mtok_micros: price.cached_input_per_mtok_micros,
            effective_from: price.effective_from,
            context_window: price.context_window,
            source: "api".into(),
        }),
    ))
}

/// `GET /api/v1/prices/unpriced?from=&to=` (default: the last 30 days).
#[utoipa::path(
    get,
    path = "/api/v1/prices/unpriced",
    operation_id = "list_unpriced_models",
    summary = "Models without a price",
    tag = "prices",
    params(RangeQuery),
    responses((status = 200, description = "Models seen without a price", body = Vec<UnpricedModel>)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn unpriced(
    _p: Reader,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> Result<Json<Vec<UnpricedModel>>, ApiError> {
    let (from, to) =
        RangeParams::new(q.from, q.to, q.range).resolve(Duration::days(30), Utc::now())?;
    Ok(Json(store::prices::unpriced(&state.pool, from, to).await?))
}

/// `POST /api/v1/prices/recost` with `{from, to}`: recomputes table-priced costs in the
/// range with the current table; the run is recorded for the audit list.
#[utoipa::path(
    post,
    path = "/api/v1/prices/recost",
    operation_id = "recost",
    summary = "Recompute costs over a range",
    tag = "prices",
    request_body = RecostRequest,
    responses((status = 200, description = "What the recost changed", body = Recost)),
    security(("session" = []))
)]
pub async fn recost(
    user: SessionUser,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RecostRequest>,
) -> Result<Json<Recost>, ApiError> {
    if req.to <= req.from {
        return Err(ApiError::invalid("to", "to must be after from"));
    }
    if req.to - req.from > Duration::days(MAX_RECOST_DAYS) {
        return Err(ApiError::invalid(
            "to",
            format!("a re-cost covers at most {MAX_RECOST_DAYS} days; split the range"),
        ));
    }
    let prices = state.ingest.prices();
    let report =
        store::prices::recost(&state.pool, &prices, req.from, req.to, &user.username).await?;
    tracing::info!(
        by = %user.username,
        examined = report.calls_examined,
        changed = report.calls_changed,
        "re-cost done"
    );
    Ok(Json(report))
}

/// `GET /api/v1/prices/recosts`: the audit trail, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/prices/recosts",
    operation_id = "list_recosts",
    summary = "Past recosts",
    tag = "prices",
    responses((status = 200, description = "Past recosts, newest first", body = Vec<Recost>)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn recosts(
    _p: Reader,
    State(state): State<AppState>,
) -> Result<Json<Vec<Recost>>, ApiError> {
    Ok(Json(store::prices::recosts(&state.pool).await?))
}
