//! `/api/v1/budgets`: definitions with their live status, events, and the check and reserve
//! endpoints for apps that do not use the proxy. Reading needs any credential, changing a
//! budget a logged-in user, checking and reserving an ingest credential.

use app::budget_form::BudgetFormValues;
use app::types::{
    Budget, BudgetCheckRequest, BudgetDecision, BudgetEvent, BudgetInput, BudgetSeries, PeriodSpend,
};
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    Form, Json,
};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use super::{
    error::{ApiError, ApiJson},
    principal::{Ingester, Reader, SessionUser},
};
use crate::{
    budgets::{self, evaluator::all_with_status, status::event_to_api},
    domain::budget::{self as rules, Amounts, Facts, Spec},
    state::AppState,
    store::{self, budgets::WriteError},
};

/// `POST /budgets/form`: the Budgets page's form when the WASM has not (or never) loaded.
/// Saves and returns to the page; a refused form returns with what was typed and the
/// error beside its field, as the page shows it after a JSON call.
pub async fn form_post(
    user: SessionUser,
    State(state): State<AppState>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let values = BudgetFormValues::from_pairs(get);
    let id = get("id").and_then(|v| v.parse::<i64>().ok());
    let result = match values.to_input() {
        Err((field, message)) => Err(ApiError::invalid(&field, message)),
        Ok(input) => match id {
            Some(id) => update_budget(&state, id, &input).await,
            None => create_budget(&state, &input).await,
        },
    };
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    match result {
        Ok(b) => {
            tracing::info!(by = %user.username, budget = %b.name, "budget saved from the form");
            query.append_pair("saved", &b.name);
        }
        Err(e) if e.status.is_client_error() => {
            for (k, v) in values.to_pairs() {
                query.append_pair(k, &v);
            }
            if let Some(id) = id {
                query.append_pair("id", &id.to_string());
            }
            query.append_pair("error_field", e.field.as_deref().unwrap_or(""));
            query.append_pair("error", &e.message);
        }
        Err(e) => return e.into_response(),
    }
    Redirect::to(&format!("/budgets?{}", query.finish())).into_response()
}

/// Longest a reservation may be held.
const MAX_TTL_SECS: u64 = 24 * 3600;
const DEFAULT_TTL_SECS: u64 = 600;

fn spec_of(input: &BudgetInput) -> Result<Spec, ApiError> {
    rules::validate(input).map_err(|e| ApiError::invalid(&e.field, e.message))
}

fn write_failed(e: WriteError) -> ApiError {
    match e {
        WriteError::DuplicateName => {
            ApiError::invalid("name", "another budget already has this name")
        }
        WriteError::Db(e) => e.into(),
    }
}

async fn one(state: &AppState, id: i64) -> Result<Budget, ApiError> {
    all_with_status(&state.pool, &state.budgets, Utc::now())
        .await?
        .into_iter()
        .find(|b| b.id == id)
        .ok_or_else(|| ApiError::not_found(format!("no budget with id {id}")))
}

/// `GET /api/v1/budgets`: every budget with its status.
#[utoipa::path(
    get,
    path = "/api/v1/budgets",
    operation_id = "list_budgets",
    summary = "List budgets",
    tag = "budgets",
    responses((status = 200, description = "Every budget with its status", body = Vec<Budget>)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn list(
    _p: Reader,
    State(state): State<AppState>,
) -> Result<Json<Vec<Budget>>, ApiError> {
    state.budgets.reload(&state.pool).await?;
    Ok(Json(
        all_with_status(&state.pool, &state.budgets, Utc::now()).await?,
    ))
}

/// `GET /api/v1/budgets/{id}`.
#[utoipa::path(
    get,
    path = "/api/v1/budgets/{id}",
    operation_id = "get_budget",
    summary = "Get a budget",
    tag = "budgets",
    params(("id" = i64, Path, description = "The budget's id")),
    responses((status = 200, description = "The budget with its status", body = Budget)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn get(
    _p: Reader,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Budget>, ApiError> {
    state.budgets.reload(&state.pool).await?;
    Ok(Json(one(&state, id).await?))
}

/// Creates a budget from a checked definition; shared by the API and the form.
pub async fn create_budget(state: &AppState, input: &BudgetInput) -> Result<Budget, ApiError> {
    let spec = spec_of(input)?;
    let id = store::budgets::insert(&state.pool, &spec, Utc::now())
        .await
        .map_err(write_failed)?;
    state.budgets.reload(&state.pool).await?;
    one(state, id).await
}

/// Replaces a budget's definition; shared by the API and the form.
pub async fn update_budget(
    state: &AppState,
    id: i64,
    input: &BudgetInput,
) -> Result<Budget, ApiError> {
    let spec = spec_of(input)?;
    if !store::budgets::update(&state.pool, id, &spec, Utc::now())
        .await
        .map_err(write_failed)?
    {
        return Err(ApiError::not_found(format!("no budget with id {id}")));
    }
    state.budgets.reload(&state.pool).await?;
    one(state, id).await
}

/// `POST /api/v1/budgets` (201).
#[utoipa::path(
    post,
    path = "/api/v1/budgets",
    operation_id = "create_budget",
    summary = "Create a budget",
    tag = "budgets",
    request_body = BudgetInput,
    responses((status = 201, description = "The new budget", body = Budget)),
    security(("session" = []))
)]
pub async fn create(
    user: SessionUser,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<BudgetInput>,
) -> Result<(StatusCode, Json<Budget>), ApiError> {
    let b = create_budget(&state, &input).await?;
    tracing::info!(by = %user.username, budget = %b.name, "budget created");
    Ok((StatusCode::CREATED, Json(b)))
}

/// `PUT /api/v1/budgets/{id}`.
#[utoipa::path(
    put,
    path = "/api/v1/budgets/{id}",
    operation_id = "update_budget",
    summary = "Change a budget",
    tag = "budgets",
    params(("id" = i64, Path, description = "The budget's id")),
    request_body = BudgetInput,
    responses((status = 200, description = "The budget as changed", body = Budget)),
    security(("session" = []))
)]
pub async fn update(
    user: SessionUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<BudgetInput>,
) -> Result<Json<Budget>, ApiError> {
    let b = update_budget(&state, id, &input).await?;
    tracing::info!(by = %user.username, budget = %b.name, "budget changed");
    Ok(Json(b))
}

/// `DELETE /api/v1/budgets/{id}`: answers with the budget as it was.
#[utoipa::path(
    delete,
    path = "/api/v1/budgets/{id}",
    operation_id = "delete_budget",
    summary = "Delete a budget",
    tag = "budgets",
    params(("id" = i64, Path, description = "The budget's id")),
    responses((status = 200, description = "The budget as it was", body = Budget)),
    security(("session" = []))
)]
pub async fn delete(
    user: SessionUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Budget>, ApiError> {
    state.budgets.reload(&state.pool).await?;
    let gone = one(&state, id).await?;
    if !store::budgets::delete(&state.pool, id).await? {
        return Err(ApiError::not_found(format!("no budget with id {id}")));
    }
    state.budgets.reload(&state.pool).await?;
    tracing::info!(by = %user.username, id, "budget deleted");
    Ok(Json(gone))
}

/// `GET /api/v1/budgets/{id}/series`: spend over the current period, for its chart.
#[utoipa::path(
    get,
    path = "/api/v1/budgets/{id}/series",
    operation_id = "budget_series",
    summary = "Spend over the current period",
    tag = "budgets",
    params(("id" = i64, Path, description = "The budget's id")),
    responses((status = 200, description = "Spend over the current period", body = BudgetSeries)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn series(
    _p: Reader,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<BudgetSeries>, ApiError> {
    state.budgets.reload(&state.pool).await?;
    let budget = one(&state, id).await?;
    let all = state.budgets.all();
    let Some(stored) = all.iter().find(|b| b.id == id) else {
        return Err(ApiError::not_found(format!("no budget with id {id}")));
    };
    let w = rules::Window {
        start: budget.status.period_start,
        end: budget.status.resets_at,
    };
    let daily = budget.period != app::types::BudgetPeriod::Day;
    let kind = budget.limit_kind;
    let points = store::budgets::series(&state.pool, &stored.spec, w, daily)
        .await?
        .into_iter()
        .map(|(start, a)| PeriodSpend {
            start,
            date: start.with_timezone(&stored.spec.tz).date_naive(),
            spent: rules::from_base(kind, a.of(kind)),
        })
        .collect();
    Ok(Json(BudgetSeries { budget, points }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    budget_id: Option<i64>,
    /// 1 to 500; 50 when absent.
    limit: Option<i64>,
}

/// `GET /api/v1/budgets/events?budget_id=&limit=`: newest first (default 50, at most 500).
#[utoipa::path(
    get,
    path = "/api/v1/budgets/events",
    operation_id = "list_budget_events",
    summary = "Budget events",
    tag = "budgets",
    params(EventsQuery),
    responses((status = 200, description = "Budget events, newest first", body = Vec<BudgetEvent>)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn events(
    _p: Reader,
    State(state): State<AppState>,
    Query(q): Query<EventsQuery>,
) -> Result<Json<Vec<BudgetEvent>>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_param("limit", "limit must be from 1 to 500"));
    }
    let rows = store::budgets::events(&state.pool, q.budget_id, limit).await?;
    Ok(Json(rows.into_iter().map(event_to_api).collect()))
}

/// What a check or reservation is about, checked.
struct Ask<'a> {
    facts: Facts<'a>,
    need: Amounts,
}

fn ask<'a>(req: &'a BudgetCheckRequest, caller_key: Option<i64>) -> Result<Ask<'a>, ApiError> {
    if !req.cost_usd.is_finite() || req.cost_usd < 0.0 || req.cost_usd > 1e9 {
        return Err(ApiError::invalid(
            "cost_usd",
            "cost_usd must be from 0 to a billion",
        ));
    }
    let tokens = i64::try_from(req.tokens)
        .map_err(|_| ApiError::invalid("tokens", "tokens is too large"))?;
    Ok(Ask {
        facts: Facts {
            provider: req.provider.as_deref().unwrap_or(""),
            model: req.model.as_deref().unwrap_or(""),
            feature: req.feature.as_deref(),
            user: req.user.as_deref(),
            api_key_id: req.api_key_id.or(caller_key),
        },
        need: Amounts {
            cost_micros: rules::to_base(app::types::LimitKind::Usd, req.cost_usd),
            tokens,
            requests: 1,
        },
    })
}

/// `POST /api/v1/budgets/check`: would this call fit every hard budget in its scope? Holds
/// nothing; the deciding budget is the one that refuses, or the one with the least room.
#[utoipa::path(
    post,
    path = "/api/v1/budgets/check",
    operation_id = "check_budgets",
    summary = "Check a call against hard budgets",
    tag = "budgets",
    request_body = BudgetCheckRequest,
    responses((status = 200, description = "Whether the call fits", body = BudgetDecision)),
    security(("api_key" = ["ingest"]), ("session" = []))
)]
pub async fn check(
    Ingester(principal): Ingester,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<BudgetCheckRequest>,
) -> Result<Json<BudgetDecision>, ApiError> {
    let a = ask(&req, principal.api_key_id())?;
    let now = Utc::now();
    let all = all_with_status(&state.pool, &state.budgets, now).await?;
    let in_scope = state
        .budgets
        .all()
        .iter()
        .filter(|b| b.spec.enabled && rules::matches(&b.spec.scope, &a.facts))
        .map(|b| b.id)
        .collect::<Vec<_>>();
    let mut allowed = true;
    let mut deciding: Option<(f64, app::types::DecidingBudget)> = None;
    for b in all.iter().filter(|b| in_scope.contains(&b.id)) {
        let kind = b.limit_kind;
        let limit = rules::to_base(kind, b.limit);
        let used = rules::to_base(kind, b.status.spent) + rules::to_base(kind, b.status.reserved);
        let fits = rules::fits(used, a.need.of(kind), limit);
        let hard = b.mode == app::types::BudgetMode::Hard;
        let room = (limit - used) as f64 / limit as f64;
        let candidate = app::types::DecidingBudget {
            id: b.id,
            name: b.name.clone(),
            limit_kind: kind,
            limit: b.limit,
            remaining: rules::from_base(kind, (limit - used).max(0)),
            resets_at: b.status.resets_at,
        };
        if hard && !fits {
            if allowed {
                deciding = Some((room, candidate));
            }
            allowed = false;
        } else if allowed && deciding.as_ref().is_none_or(|(r, _)| room < *r) {
            deciding = Some((room, candidate));
        }
    }
    Ok(Json(BudgetDecision {
        allowed,
        budget: deciding.map(|(_, b)| b),
        reservation_id: None,
        expires_at: None,
    }))
}

/// `POST /api/v1/budgets/reserve`: holds the call's cost or tokens against every hard budget
/// in its scope (all or nothing). Answers 200 with a reservation id, or 429 naming the
/// budget. Reporting the call with the reservation id as its `id` settles it.
#[utoipa::path(
    post,
    path = "/api/v1/budgets/reserve",
    operation_id = "reserve_budgets",
    summary = "Reserve a call against hard budgets",
    tag = "budgets",
    request_body = BudgetCheckRequest,
    responses((status = 200, description = "The hold, or why the call does not fit", body = BudgetDecision)),
    security(("api_key" = ["ingest"]), ("session" = []))
)]
pub async fn reserve(
    Ingester(principal): Ingester,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<BudgetCheckRequest>,
) -> Result<Json<BudgetDecision>, ApiError> {
    let a = ask(&req, principal.api_key_id())?;
    let ttl_secs = req.ttl_secs.unwrap_or(DEFAULT_TTL_SECS);
    if !(1..=MAX_TTL_SECS).contains(&ttl_secs) {
        return Err(ApiError::invalid(
            "ttl_secs",
            format!("ttl_secs must be from 1 to {MAX_TTL_SECS}"),
        ));
    }
    let now = Utc::now();
    let ttl = Duration::seconds(ttl_secs as i64);
    match budgets::reserve(&state.pool, &state.budgets, &a.facts, a.need, ttl, now).await? {
        Ok(id) => Ok(Json(BudgetDecision {
            allowed: true,
            budget: None,
            // No hard budget applies: an id is still given, so the client's flow is one.
            reservation_id: Some(id.unwrap_or_else(budgets::reservation_id)),
            expires_at: Some(now + ttl),
        })),
        Err(refusal) => Err(over_budget(&refusal.budget, now)),
    }
}

/// 429 naming the budget, with Retry-After until it resets.
pub fn over_budget(b: &app::types::DecidingBudget, now: DateTime<Utc>) -> ApiError {
    let wait = (b.resets_at - now).num_seconds().max(1) as u64;
    ApiError {
        retry_after_secs: Some(wait),
        ..ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "budget_exceeded",
            refusal_message(b),
        )
    }
}

/// What a refused caller reads, in the API and in the proxy's provider-shaped errors.
pub fn refusal_message(b: &app::types::DecidingBudget) -> String {
    format!(
        "budget '{}' has no room for this call ({} left of {}); it resets at {}",
        b.name,
        amount(b.limit_kind, b.remaining),
        amount(b.limit_kind, b.limit),
        b.resets_at.format("%Y-%m-%d %H:%M UTC"),
    )
}

fn amount(kind: app::types::LimitKind, v: f64) -> String {
    match kind {
        app::types::LimitKind::Usd => format!("${v:.2}"),
        app::types::LimitKind::Tokens => format!("{v:.0} tokens"),
        app::types::LimitKind::Requests => format!("{v:.0} requests"),
    }
}
