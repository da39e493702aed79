//! Who is calling: extractors that authenticate a request by API key or session cookie.
//!
//! Handlers take [`Reader`] (may read: a person, or a key with the `read` scope),
//! [`Ingester`] (may write telemetry: a person, or a key with `ingest`), [`Principal`]
//! (any credential) or [`SessionUser`] (a person logged in to the UI). A request with a
//! cookie but an unsafe method from another site is refused, on top of the cookie's
//! SameSite=Strict.

use app::types::KeyScope;
use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts, HeaderMap, Method},
};
use axum_extra::extract::CookieJar;

use super::error::ApiError;
use crate::{
    auth::{
        credential::{presented_key, KeyHeaders},
        token::digest,
    },
    domain::grant::KeyGrant,
    state::AppState,
    store,
};

pub const SESSION_COOKIE: &str = "sightline_session";

/// A person logged in through the UI.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub id: i64,
    pub username: String,
}

/// Any authenticated caller.
#[derive(Debug, Clone)]
pub enum Principal {
    User(SessionUser),
    ApiKey(KeyGrant),
}

impl Principal {
    /// The API key behind the request, for per-key spend; None for a person in the UI.
    pub fn api_key_id(&self) -> Option<i64> {
        match self {
            Principal::ApiKey(k) => Some(k.id),
            Principal::User(_) => None,
        }
    }

    /// Refuses a key without `scope`; a person may do everything.
    fn require(self, scope: KeyScope) -> Result<Self, ApiError> {
        match &self {
            Principal::ApiKey(k) if !k.allows(scope) => Err(ApiError::forbidden(
                "missing_scope",
                format!(
                    "this API key lacks the '{}' scope; create a key with it on the API keys page",
                    scope.as_str()
                ),
            )),
            _ => Ok(self),
        }
    }

    /// Whether this caller may report system samples for `host`: a key bound to another
    /// host may not.
    pub fn may_report_for(&self, host: &str) -> bool {
        match self {
            Principal::ApiKey(k) => k.may_report_for(host),
            Principal::User(_) => true,
        }
    }
}

/// A caller allowed to read: a person, or a key with the `read` scope.
#[derive(Debug, Clone)]
pub struct Reader(pub Principal);

/// A caller allowed to write telemetry: a person, or a key with the `ingest` scope.
#[derive(Debug, Clone)]
pub struct Ingester(pub Principal);

impl FromRequestParts<AppState> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let p = Principal::from_request_parts(parts, state).await?;
        Ok(Reader(p.require(KeyScope::Read)?))
    }
}

impl FromRequestParts<AppState> for Ingester {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let p = Principal::from_request_parts(parts, state).await?;
        Ok(Ingester(p.require(KeyScope::Ingest)?))
    }
}

/// The user behind the request's session cookie, if it is valid.
pub async fn session_user(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<SessionUser>, sqlx::Error> {
    let jar = CookieJar::from_headers(headers);
    let Some(cookie) = jar.get(SESSION_COOKIE) else {
        return Ok(None);
    };
    let user = store::sessions::find_user(&state.pool, &digest(cookie.value())).await?;
    Ok(user.map(|u| SessionUser {
        id: u.id,
        username: u.username,
    }))
}

/// Cookie-authenticated writes must come from our own pages: refuse when the browser says
/// the request is cross-site or names a foreign Origin.
pub fn same_site_request(headers: &HeaderMap, public_url: &url::Url) -> bool {
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
    {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    // Behind a proxy the Host header may be internal; the public URL's origin is ours too.
    if origin.eq_ignore_ascii_case(&public_url.origin().ascii_serialization()) {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

impl Principal {
    /// Who holds the credential, for per-credential limits: `key:<id>` or `user:<id>`.
    pub fn owner(&self) -> String {
        match self {
            Principal::ApiKey(k) => format!("key:{}", k.id),
            Principal::User(u) => format!("user:{}", u.id),
        }
    }
}

/// Whether the credential in `headers` is still good: the key not revoked, the session not
/// ended. A database error counts as good, so a blip does not cut every live stream.
pub async fn still_valid(state: &AppState, headers: &HeaderMap) -> bool {
    if let Some(key) = presented_key(headers, KeyHeaders::API) {
        return !matches!(state.authenticate_key(key).await, Ok(None));
    }
    !matches!(session_user(state, headers).await, Ok(None))
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(key) = presented_key(&parts.headers, KeyHeaders::API) {
            return match state.authenticate_key(key).await? {
                Some(grant) => Ok(Principal::ApiKey(grant)),
                None => Err(ApiError::unauthorized(
                    "invalid_api_key",
                    "the API key is unknown or has been revoked",
                )),
            };
        }
        if let Some(user) = session_user(state, &parts.headers).await? {
            let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
            if !safe && !same_site_request(&parts.headers, &state.config.public_url) {
                return Err(ApiError::forbidden(
                    "cross_site_request",
                    "cross-site requests with a session cookie are refused",
                ));
            }
            return Ok(Principal::User(user));
        }
        Err(ApiError::unauthorized(
            "unauthenticated",
            "log in, or send an API key as 'Authorization: Bearer sl_...'",
        ))
    }
}

impl FromRequestParts<AppState> for SessionUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match Principal::from_request_parts(parts, state).await? {
            Principal::User(u) => Ok(u),
            Principal::ApiKey(_) => Err(ApiError::forbidden(
                "user_required",
                "this endpoint needs a logged-in user, not an API key",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::credential::test_headers as headers;

    #[test]
    fn refuses_foreign_origins() {
        let public = url::Url::parse("https://sightline.example.com").unwrap();
        let same_site_request = |h: &HeaderMap| same_site_request(h, &public);
        assert!(same_site_request(&headers(&[
            ("origin", "https://sightline.example.com"),
            ("host", "10.0.0.5:3000")
        ])));
        assert!(same_site_request(&headers(&[])));
        assert!(same_site_request(&headers(&[
            ("origin", "http://127.0.0.1:3000"),
            ("host", "127.0.0.1:3000")
        ])));
        assert!(!same_site_request(&headers(&[
            ("origin", "http://evil.example"),
            ("host", "127.0.0.1:3000")
        ])));
        assert!(!same_site_request(&headers(&[(
            "sec-fetch-site",
            "cross-site"
        )])));
    }
}
