//! Who may use the proxy, and how it says no: a Sightline key checked before anything goes
//! upstream, and errors in the provider's own dialect so SDKs show the message.

use app::types::{KeyScope, ProviderKind};
use axum::{
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::json;

use super::endpoints::Refusal;
use crate::{
    auth::credential::{presented_key, KeyHeaders},
    state::AppState,
};

/// An error in the dialect of the provider, so SDKs show its message.
pub fn proxy_error(kind: ProviderKind, status: StatusCode, code: &str, message: &str) -> Response {
    let body = match kind {
        ProviderKind::OpenAi => {
            json!({"error": {"message": message, "type": "sightline_error", "code": code}})
        }
        ProviderKind::Anthropic => {
            json!({"type": "error", "error": {"type": code, "message": message}})
        }
    };
    (status, axum::Json(body)).into_response()
}

/// The Sightline key the request presents, checked: its id, or the answer to give.
pub async fn authenticate(
    state: &AppState,
    kind: ProviderKind,
    pass_through: bool,
    headers: &HeaderMap,
) -> Result<i64, Response> {
    let from = if pass_through {
        KeyHeaders::SIGHTLINE_ONLY
    } else {
        KeyHeaders::PROXY
    };
    let Some(key) = presented_key(headers, from) else {
        let how = if pass_through {
            "send your Sightline API key in 'x-sightline-key'"
        } else {
            "send your Sightline API key as the bearer token"
        };
        return Err(proxy_error(
            kind,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            how,
        ));
    };
    match state.authenticate_key(key).await {
        Ok(Some(grant)) if grant.allows(KeyScope::Ingest) => Ok(grant.id),
        Ok(Some(_)) => Err(proxy_error(
            kind,
            StatusCode::FORBIDDEN,
            "missing_scope",
            "this Sightline API key lacks the 'ingest' scope the proxy needs",
        )),
        Ok(None) => Err(proxy_error(
            kind,
            StatusCode::UNAUTHORIZED,
            "invalid_api_key",
            "the Sightline API key is unknown or has been revoked",
        )),
        Err(e) => {
            tracing::error!(error = %e, "api key lookup failed");
            Err(proxy_error(
                kind,
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_unavailable",
                "Sightline cannot check API keys right now",
            ))
        }
    }
}

/// The answer to a path or method the proxy does not forward; nothing goes upstream.
pub fn refused(kind: ProviderKind, raw_path: &str, refusal: Refusal) -> Response {
    let shown: String = raw_path.chars().take(200).collect();
    match refusal {
        Refusal::NotAllowed => proxy_error(
            kind,
            StatusCode::NOT_FOUND,
            "unsupported_endpoint",
            &format!(
                "the proxy does not forward '/{shown}' for {} providers",
                kind.as_str()
            ),
        ),
        Refusal::Method(allowed) => {
            let allow = allowed
                .iter()
                .map(Method::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            let mut r = proxy_error(
                kind,
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                &format!("'/{shown}' takes {allow} through the proxy"),
            );
            if let Ok(v) = HeaderValue::from_str(&allow) {
                r.headers_mut().insert(header::ALLOW, v);
            }
            r
        }
    }
}
