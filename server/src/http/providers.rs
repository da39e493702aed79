//! `/api/v1/providers`: the proxy's upstreams. Reading and changing them needs a logged-in
//! user: an API key must not be able to read where keys go or redirect traffic.

use app::types::{ProviderInfo, ProviderUpsert, ProxyRecordStats};
use axum::{
    extract::{Path, State},
    Json,
};

use super::{
    error::{ApiError, ApiJson},
    principal::{Reader, SessionUser},
};
use crate::{
    domain::provider::{self, Provider},
    state::AppState,
    store,
};

fn info(p: &Provider) -> ProviderInfo {
    ProviderInfo {
        name: p.name.clone(),
        kind: p.kind,
        base_url: p.base_url.to_string(),
        key_hint: p.api_key.as_deref().map(|k| {
            let tail: String = k
                .chars()
                .rev()
                .take(4)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            format!("…{tail}")
        }),
        pass_through: p.pass_through,
        proxy_path: format!("/proxy/{}/v1", p.name),
    }
}

/// `GET /api/v1/providers`
#[utoipa::path(
    get,
    path = "/api/v1/providers",
    operation_id = "list_providers",
    summary = "List proxy providers",
    tag = "providers",
    responses((status = 200, description = "Every provider, keys masked", body = Vec<ProviderInfo>)),
    security(("session" = []))
)]
pub async fn list(_user: SessionUser, State(state): State<AppState>) -> Json<Vec<ProviderInfo>> {
    let mut all: Vec<ProviderInfo> = state.all_providers().iter().map(|p| info(p)).collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    Json(all)
}

/// `PUT /api/v1/providers/{name}`: create or replace.
#[utoipa::path(
    put,
    path = "/api/v1/providers/{name}",
    operation_id = "put_provider",
    summary = "Create or replace a proxy provider",
    tag = "providers",
    params(("name" = String, Path, description = "The provider's name")),
    request_body = ProviderUpsert,
    responses((status = 200, description = "The provider as stored", body = ProviderInfo)),
    security(("session" = []))
)]
pub async fn put(
    _user: SessionUser,
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<ProviderUpsert>,
) -> Result<Json<ProviderInfo>, ApiError> {
    if !provider::valid_name(&name) {
        return Err(ApiError::invalid(
            "name",
            "name must be 1 to 63 lowercase letters, digits, '-' or '_', starting with a letter or digit",
        ));
    }
    let kind = req.kind;
    let base_url = provider::parse_base_url(&req.base_url)
        .map_err(|e| ApiError::invalid("base_url", format!("base_url {e}")))?;
    if let Some(k) = &req.api_key {
        if k.len() > 4096 || k.chars().any(char::is_control) {
            return Err(ApiError::invalid(
                "api_key",
                "api_key must be at most 4096 characters without control characters",
            ));
        }
    }
    // A stored key goes only to the host it was entered for: moving the provider to another
    // host needs the key again, or a changed URL would send it somewhere new.
    let new_key = req.api_key.as_deref().map(str::trim);
    if let Some(old) = state.provider(&name) {
        let keeps_key = new_key.is_none() && old.api_key.is_some();
        if keeps_key && old.base_url.origin() != base_url.origin() {
            return Err(ApiError::invalid(
                "api_key",
                "the host changed: enter the provider's API key again (or an empty one to send none)",
            ));
        }
    }
    let provider = Provider {
        name: name.clone(),
        kind,
        base_url,
        api_key: None,
        pass_through: req.pass_through,
    };
    let sealed = new_key.map(|k| {
        if k.is_empty() {
            String::new()
        } else {
            state.sealer.seal(k)
        }
    });
    store::providers::upsert(&state.pool, &provider, sealed.as_deref(), "api").await?;
    state.reload_providers().await?;
    let stored = state.provider(&name).ok_or_else(ApiError::internal)?;
    Ok(Json(info(&stored)))
}

/// `DELETE /api/v1/providers/{name}`: answers with the provider as it was.
#[utoipa::path(
    delete,
    path = "/api/v1/providers/{name}",
    operation_id = "delete_provider",
    summary = "Delete a proxy provider",
    tag = "providers",
    params(("name" = String, Path, description = "The provider's name")),
    responses((status = 200, description = "The provider as it was", body = ProviderInfo)),
    security(("session" = []))
)]
pub async fn delete(
    _user: SessionUser,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<ProviderInfo>, ApiError> {
    let gone = state
        .provider(&name)
        .ok_or_else(|| ApiError::not_found(format!("no provider named '{name}'")))?;
    if !store::providers::delete(&state.pool, &name).await? {
        return Err(ApiError::not_found(format!("no provider named '{name}'")));
    }
    state.reload_providers().await?;
    Ok(Json(info(&gone)))
}

/// `GET /api/v1/proxy/records`: how the proxy's call records are doing since start (stored,
/// waiting in the spool, dropped). Dropped should stay 0; anything else is spend unseen.
#[utoipa::path(
    get,
    path = "/api/v1/proxy/records",
    operation_id = "proxy_records",
    summary = "The proxy's call records",
    tag = "providers",
    responses((status = 200, description = "The proxy's call records since start", body = ProxyRecordStats)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn records(_p: Reader, State(state): State<AppState>) -> Json<ProxyRecordStats> {
    Json(state.ingest.record_stats())
}
