//! `/api/v1/benchmarks`: start a model benchmark run, follow it (live on the stream's
//! `benchmarks` topic), cancel it, and read the history.

use std::collections::{BTreeSet, HashMap};

use app::types::bench::{
    BenchModels, BenchRunDetail, BenchRunInput, BenchRunSummary, BenchStatus, ProviderModelsError,
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};

use super::{
    error::{ApiError, ApiJson},
    principal::{Ingester, Reader},
};
use crate::{
    bench::{ask::list_models, runner, summarize},
    domain::bench::{check, split_model},
    state::AppState,
    store,
};

/// Largest body of a run: 10 MB of prompts, with room for JSON escaping, so the check that
/// names `prompts` is what answers an oversized prompt file.
pub const MAX_RUN_BODY_BYTES: usize = 24 * 1024 * 1024;

/// How long a provider may take to list its models.
const LIST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs listed at most.
const HISTORY: i64 = 100;

/// `GET /api/v1/benchmarks`: the latest runs, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/benchmarks",
    operation_id = "list_benchmarks",
    summary = "List benchmark runs",
    tag = "benchmarks",
    responses((status = 200, description = "The latest 100 runs, newest first", body = Vec<BenchRunSummary>)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn list(
    _r: Reader,
    State(state): State<AppState>,
) -> Result<Json<Vec<BenchRunSummary>>, ApiError> {
    let runs = store::bench::list(&state.pool, HISTORY).await?;
    let ids: Vec<i64> = runs.iter().map(|r| r.id).collect();
    let answers = store::bench::answers(&state.pool, &ids, false).await?;
    let mut by_run: HashMap<i64, Vec<&store::bench::StoredAnswer>> = HashMap::new();
    for a in &answers {
        by_run.entry(a.run_id).or_default().push(a);
    }
    let now = chrono::Utc::now();
    Ok(Json(
        runs.iter()
            .map(|r| {
                let running = (r.status == BenchStatus::Running)
                    .then(|| (now - r.created_at).num_milliseconds() as f64);
                summarize(r, by_run.get(&r.id).map_or(&[][..], Vec::as_slice), running)
            })
            .collect(),
    ))
}

/// `GET /api/v1/benchmarks/{id}`: a run, what it asked, and every answer.
#[utoipa::path(
    get,
    path = "/api/v1/benchmarks/{id}",
    operation_id = "get_benchmark",
    summary = "Get a benchmark run with its answers",
    tag = "benchmarks",
    params(("id" = i64, Path, description = "The run's id")),
    responses((status = 200, description = "The run", body = BenchRunDetail)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn get(
    _r: Reader,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<BenchRunDetail>, ApiError> {
    Ok(Json(detail(&state, id).await?))
}

async fn detail(state: &AppState, id: i64) -> Result<BenchRunDetail, ApiError> {
    let Some(row) = store::bench::get(&state.pool, id).await? else {
        return Err(ApiError::not_found(format!(
            "no benchmark run with id {id}"
        )));
    };
    let answers = store::bench::answers(&state.pool, &[id], true).await?;
    let refs: Vec<&store::bench::StoredAnswer> = answers.iter().collect();
    let running = (row.status == BenchStatus::Running)
        .then(|| (chrono::Utc::now() - row.created_at).num_milliseconds() as f64);
    Ok(BenchRunDetail {
        run: summarize(&row, &refs, running),
        input: row.input,
        answers: answers.into_iter().map(|a| a.answer).collect(),
    })
}

/// `POST /api/v1/benchmarks` (201): checks the run and starts it in the background.
#[utoipa::path(
    post,
    path = "/api/v1/benchmarks",
    operation_id = "start_benchmark",
    summary = "Start a benchmark run",
    tag = "benchmarks",
    request_body = BenchRunInput,
    responses((status = 201, description = "The run, started; follow it on the stream's `benchmarks` topic", body = BenchRunSummary)),
    security(("api_key" = ["ingest"]), ("session" = []))
)]
pub async fn start(
    _i: Ingester,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<BenchRunInput>,
) -> Result<(StatusCode, Json<BenchRunSummary>), ApiError> {
    let plan = check(input, |name| match state.provider(name) {
        None => Err(format!("no provider named '{name}' is configured")),
        Some(p) if p.pass_through => Err(format!(
            "provider '{name}' passes clients' own keys through; a benchmark needs a provider with a stored key"
        )),
        Some(_) => Ok(()),
    })
    .map_err(|r| ApiError::invalid(&r.field, r.message))?;
    check_offered(
        &state,
        &plan.input.models,
        plan.input.judge_model.as_deref(),
    )
    .await?;
    let summary = runner::start(&state, plan).await?;
    Ok((StatusCode::CREATED, Json(summary)))
}

/// Refuses a model its provider does not list. A provider whose list cannot be read is
/// given the benefit of the doubt: its failures show in the run.
async fn check_offered(
    state: &AppState,
    models: &[String],
    judge: Option<&str>,
) -> Result<(), ApiError> {
    let named: Vec<(String, &str)> = models
        .iter()
        .enumerate()
        .map(|(i, m)| (format!("models[{i}]"), m.as_str()))
        .chain(judge.map(|j| ("judge_model".to_owned(), j)))
        .collect();
    let mut lists: HashMap<&str, Option<Vec<String>>> = HashMap::new();
    for (field, name) in &named {
        let Some((provider_name, model)) = split_model(name) else {
            continue;
        };
        if !lists.contains_key(provider_name) {
            let listed = match state.provider(provider_name) {
                Some(p) => tokio::time::timeout(LIST_TIMEOUT, list_models(state, &p))
                    .await
                    .ok()
                    .and_then(Result::ok),
                None => None,
            };
            lists.insert(provider_name, listed);
        }
        if let Some(Some(ids)) = lists.get(provider_name) {
            if !ids.iter().any(|id| id == model) {
                return Err(ApiError::invalid(
                    field,
                    format!("provider '{provider_name}' does not offer a model '{model}'"),
                ));
            }
        }
    }
    Ok(())
}

/// `POST /api/v1/benchmarks/{id}/cancel`: stops every request in flight; the run ends as
/// cancelled with the answers it has.
#[utoipa::path(
    post,
    path = "/api/v1/benchmarks/{id}/cancel",
    operation_id = "cancel_benchmark",
    summary = "Cancel a running benchmark",
    tag = "benchmarks",
    params(("id" = i64, Path, description = "The run's id")),
    responses((status = 202, description = "Cancelling: the run ends as `cancelled` in a moment", body = BenchRunSummary)),
    security(("api_key" = ["ingest"]), ("session" = []))
)]
pub async fn cancel(
    _i: Ingester,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<(StatusCode, Json<BenchRunSummary>), ApiError> {
    let d = detail(&state, id).await?;
    if d.run.status != BenchStatus::Running || !state.bench.cancel(id) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_running",
            format!(
                "run {id} is not running on this server ({})",
                d.run.status.as_str()
            ),
        ));
    }
    Ok((StatusCode::ACCEPTED, Json(d.run)))
}

/// `DELETE /api/v1/benchmarks/{id}` (204): forgets a finished run (its calls stay in the
/// call history).
#[utoipa::path(
    delete,
    path = "/api/v1/benchmarks/{id}",
    operation_id = "delete_benchmark",
    summary = "Delete a finished benchmark run",
    tag = "benchmarks",
    params(("id" = i64, Path, description = "The run's id")),
    responses((status = 204, description = "Deleted")),
    security(("api_key" = ["ingest"]), ("session" = []))
)]
pub async fn delete(
    _i: Ingester,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    if store::bench::delete(&state.pool, id).await? {
        return Ok(StatusCode::NO_CONTENT);
    }
    match store::bench::get(&state.pool, id).await? {
        Some(_) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "running",
            format!("run {id} is still running; cancel it first"),
        )),
        None => Err(ApiError::not_found(format!(
            "no benchmark run with id {id}"
        ))),
    }
}

/// `GET /api/v1/benchmarks/models`: what the configured providers offer, for the form.
#[utoipa::path(
    get,
    path = "/api/v1/benchmarks/models",
    operation_id = "benchmark_models",
    summary = "List the models the providers offer",
    tag = "benchmarks",
    responses((status = 200, description = "`provider/model` names, and the providers whose list could not be read", body = BenchModels)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn models(_r: Reader, State(state): State<AppState>) -> Json<BenchModels> {
    let mut providers = state.all_providers();
    providers.sort_by(|a, b| a.name.cmp(&b.name));
    let lists = futures_util::future::join_all(providers.iter().filter(|p| !p.pass_through).map(
        |p| async {
            let listed = tokio::time::timeout(LIST_TIMEOUT, list_models(&state, p))
                .await
                .unwrap_or_else(|_| Err("no answer within 10 s".into()));
            (p.name.clone(), listed)
        },
    ))
    .await;
    let mut models = BTreeSet::new();
    let mut unavailable = Vec::new();
    for (provider, listed) in lists {
        match listed {
            Ok(ids) => models.extend(ids.into_iter().map(|id| format!("{provider}/{id}"))),
            Err(message) => unavailable.push(ProviderModelsError { provider, message }),
        }
    }
    Json(BenchModels {
        models: models.into_iter().collect(),
        unavailable,
    })
}
