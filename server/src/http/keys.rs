//! API keys for machines: create (secret shown once), list, revoke. Managing keys needs a
//! logged-in user; a key cannot mint or revoke keys.

use app::types::{ApiKey, CreateApiKey, CreatedApiKey, KeyScope};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};

use super::{
    error::{ApiError, ApiJson},
    principal::SessionUser,
};
use crate::{auth::token, state::AppState, store};

const MAX_NAME_CHARS: usize = 100;

/// A key's display name: trimmed, 1 to 100 characters, no control characters.
fn parse_name(raw: &str) -> Result<String, ApiError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(ApiError::invalid("name", "name is required"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::invalid(
            "name",
            format!("name must be at most {MAX_NAME_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "name",
            "name must not contain control characters",
        ));
    }
    Ok(name.to_owned())
}

/// The scopes asked for: `ingest` alone unless said otherwise, and never none.
fn parse_scopes(asked: Option<Vec<KeyScope>>) -> Result<Vec<KeyScope>, ApiError> {
    let mut scopes = asked.unwrap_or_else(|| vec![KeyScope::Ingest]);
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        return Err(ApiError::invalid(
            "scopes",
            "choose at least one scope: ingest, read or browser",
        ));
    }
    // A browser key is published in page source: it must not be able to do anything else.
    if scopes.contains(&KeyScope::Browser) && scopes.len() > 1 {
        return Err(ApiError::invalid(
            "scopes",
            "a browser key is public (it sits in page source) and may have no other scope",
        ));
    }
    Ok(scopes)
}

/// The host an agent's key is bound to: trimmed, 1 to 253 printable characters, or none.
fn parse_host(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(host) = raw.map(str::trim).filter(|h| !h.is_empty()) else {
        return Ok(None);
    };
    if host.len() > 253 || host.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ApiError::invalid(
            "host",
            "host must be 1 to 253 characters with no spaces or control characters",
        ));
    }
    Ok(Some(host.to_owned()))
}

/// `GET /api/v1/keys`
#[utoipa::path(
    get,
    path = "/api/v1/keys",
    operation_id = "list_keys",
    summary = "List API keys",
    tag = "keys",
    responses((status = 200, description = "Every API key, never a secret", body = Vec<ApiKey>)),
    security(("session" = []))
)]
pub async fn list(
    _user: SessionUser,
    State(state): State<AppState>,
) -> Result<Json<Vec<ApiKey>>, ApiError> {
    Ok(Json(store::api_keys::list(&state.pool).await?))
}

/// `POST /api/v1/keys` with `{ "name", "scopes"?, "host"? }`: 201 with the secret, which is
/// never shown again.
#[utoipa::path(
    post,
    path = "/api/v1/keys",
    operation_id = "create_key",
    summary = "Create an API key",
    tag = "keys",
    request_body = CreateApiKey,
    responses((status = 201, description = "The key and its secret, shown this once", body = CreatedApiKey)),
    security(("session" = []))
)]
pub async fn create(
    user: SessionUser,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<CreateApiKey>,
) -> Result<(StatusCode, Json<CreatedApiKey>), ApiError> {
    let name = parse_name(&req.name)?;
    let scopes = parse_scopes(req.scopes)?;
    let host = parse_host(req.host.as_deref())?;
    let new = token::NewApiKey::generate();
    let key = store::api_keys::insert(
        &state.pool,
        store::api_keys::NewKey {
            name: &name,
            prefix: &new.prefix,
            key_hash: &token::digest(&new.secret),
            scopes: &scopes,
            host: host.as_deref(),
            created_by: user.id,
        },
    )
    .await?;
    tracing::info!(
        key_id = key.id,
        prefix = %key.prefix,
        scopes = ?key.scopes,
        by = %user.username,
        "API key created"
    );
    Ok((
        StatusCode::CREATED,
        Json(CreatedApiKey {
            key,
            secret: new.secret,
        }),
    ))
}

/// `DELETE /api/v1/keys/{id}`: 200 with the revoked key; 404 when there is none.
#[utoipa::path(
    delete,
    path = "/api/v1/keys/{id}",
    operation_id = "revoke_key",
    summary = "Revoke an API key",
    tag = "keys",
    params(("id" = String, Path, description = "The key's id")),
    responses((status = 200, description = "The revoked key", body = ApiKey)),
    security(("session" = []))
)]
pub async fn revoke(
    user: SessionUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ApiKey>, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_param("id", "id must be an integer"))?;
    let revoked = store::api_keys::revoke(&state.pool, id).await?;
    // Revoking takes effect at once: forget every cached verification.
    state.key_cache.clear();
    match revoked {
        Some(key) => {
            tracing::info!(key_id = id, by = %user.username, "API key revoked");
            Ok(Json(key))
        }
        None => Err(ApiError::not_found(format!("no API key with id {id}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_default_to_ingest_and_are_never_empty() {
        assert_eq!(parse_scopes(None).unwrap(), vec![KeyScope::Ingest]);
        assert_eq!(
            parse_scopes(Some(vec![KeyScope::Read, KeyScope::Ingest, KeyScope::Read])).unwrap(),
            vec![KeyScope::Ingest, KeyScope::Read]
        );
        assert_eq!(
            parse_scopes(Some(vec![])).unwrap_err().field.as_deref(),
            Some("scopes")
        );
        assert_eq!(
            parse_scopes(Some(vec![KeyScope::Browser])).unwrap(),
            vec![KeyScope::Browser]
        );
        assert!(parse_scopes(Some(vec![KeyScope::Browser, KeyScope::Read])).is_err());
    }

    #[test]
    fn hosts_are_optional_and_printable() {
        assert_eq!(parse_host(None).unwrap(), None);
        assert_eq!(parse_host(Some("  ")).unwrap(), None);
        assert_eq!(
            parse_host(Some(" gpu-01 ")).unwrap().as_deref(),
            Some("gpu-01")
        );
        assert!(parse_host(Some("a b")).is_err());
        assert!(parse_host(Some(&"h".repeat(254))).is_err());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(parse_name("  ci runner ").unwrap(), "ci runner");
        assert_eq!(
            parse_name("   ").unwrap_err().field.as_deref(),
            Some("name")
        );
        assert!(parse_name(&"x".repeat(101)).is_err());
        assert!(parse_name(&"é".repeat(100)).is_ok());
        assert!(parse_name("a\u{7}b").is_err());
    }
}
