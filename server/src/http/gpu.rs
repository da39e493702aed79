//! `/api/v1/gpu`: providers tied to a monitored host's GPU, and the GPU time and energy
//! their calls used (per-request attribution).

use app::types::gpu::{GpuAttribution, GpuAttributionQuery, GpuBinding, GpuBindingInput};
use axum::{
    extract::{Path, State},
    Json,
};
use chrono::{Duration, Utc};

use super::{
    error::{ApiError, ApiJson},
    params::{ApiQuery, RangeParams},
    principal::{Reader, SessionUser},
};
use crate::{attribution, state::AppState, store};

/// Attribution reads raw GPU samples: a day at most.
const MAX_RANGE_HOURS: i64 = 24;

fn name_ok(s: &str, max: usize) -> bool {
    !s.is_empty() && s.chars().count() <= max && !s.chars().any(char::is_control)
}

#[utoipa::path(
    get,
    path = "/api/v1/gpu/bindings",
    operation_id = "list_gpu_bindings",
    summary = "Providers tied to a host's GPU",
    tag = "gpu",
    responses((status = 200, description = "Every binding", body = Vec<GpuBinding>)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn bindings(
    _p: Reader,
    State(state): State<AppState>,
) -> Result<Json<Vec<GpuBinding>>, ApiError> {
    Ok(Json(store::gpu::bindings(&state.pool).await?))
}

#[utoipa::path(
    put,
    path = "/api/v1/gpu/bindings/{provider}",
    operation_id = "put_gpu_binding",
    summary = "Tie a provider's models to one GPU of a monitored host",
    tag = "gpu",
    params(("provider" = String, Path, description = "The provider name calls carry")),
    request_body = GpuBindingInput,
    responses(
        (status = 200, description = "The binding", body = GpuBinding),
        (status = 422, description = "Refused, naming the field", body = app::types::ErrorBody)
    ),
    security(("session" = []))
)]
pub async fn put_binding(
    _u: SessionUser,
    State(state): State<AppState>,
    Path(provider): Path<String>,
    ApiJson(input): ApiJson<GpuBindingInput>,
) -> Result<Json<GpuBinding>, ApiError> {
    let provider = provider.trim().to_owned();
    if !name_ok(&provider, 100) {
        return Err(ApiError::invalid(
            "provider",
            "provider must be 1 to 100 characters",
        ));
    }
    let host = input.host.trim().to_owned();
    if !name_ok(&host, 253) {
        return Err(ApiError::invalid(
            "host",
            "host must be 1 to 253 characters",
        ));
    }
    let gpu = u32::try_from(input.gpu)
        .ok()
        .filter(|g| *g < 1024)
        .ok_or_else(|| ApiError::invalid("gpu", "gpu is the GPU's index on the host: 0 to 1023"))?;
    let b = GpuBinding {
        provider,
        host,
        gpu,
    };
    store::gpu::put_binding(&state.pool, &b).await?;
    Ok(Json(b))
}

#[utoipa::path(
    delete,
    path = "/api/v1/gpu/bindings/{provider}",
    operation_id = "delete_gpu_binding",
    summary = "Untie a provider from its GPU",
    tag = "gpu",
    params(("provider" = String, Path, description = "The provider name")),
    responses(
        (status = 200, description = "The binding removed", body = GpuBinding),
        (status = 404, description = "The provider has no binding", body = app::types::ErrorBody)
    ),
    security(("session" = []))
)]
pub async fn delete_binding(
    _u: SessionUser,
    State(state): State<AppState>,
    Path(provider): Path<String>,
) -> Result<Json<GpuBinding>, ApiError> {
    store::gpu::delete_binding(&state.pool, &provider)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("{provider:?} is not tied to a GPU")))
}

#[utoipa::path(
    get,
    path = "/api/v1/gpu/attribution",
    operation_id = "gpu_attribution",
    summary = "GPU-seconds and energy per model, from GPU samples joined with calls",
    tag = "gpu",
    params(GpuAttributionQuery),
    responses((status = 200, description = "Per model and per GPU", body = GpuAttribution)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn attribution(
    _p: Reader,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<GpuAttributionQuery>,
) -> Result<Json<GpuAttribution>, ApiError> {
    let (from, to) =
        RangeParams::new(q.from, q.to, q.range).resolve(Duration::hours(1), Utc::now())?;
    if to - from > Duration::hours(MAX_RANGE_HOURS) {
        return Err(ApiError::bad_param(
            "range",
            format!("attribution reads raw GPU samples: {MAX_RANGE_HOURS} hours at most"),
        ));
    }
    Ok(Json(attribution::attribution(&state, from, to).await?))
}
