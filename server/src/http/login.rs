//! Logging in and out, as JSON (scripts, tests) and as plain HTML form posts (the login
//! page works before, and without, the WASM).

use std::net::SocketAddr;

use app::types::{LoginRequest, Whoami};
use axum::{
    extract::{ConnectInfo, FromRequestParts, State},
    http::{request::Parts, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Form, Json,
};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;

use super::{
    error::{ApiError, ApiJson},
    principal::{same_site_request, Principal, SESSION_COOKIE},
};
use crate::{
    auth::{password, token},
    state::AppState,
    store,
};

enum LoginFailure {
    Invalid,
    RateLimited(u64),
    Internal,
}

impl From<LoginFailure> for ApiError {
    fn from(f: LoginFailure) -> Self {
        match f {
            LoginFailure::Invalid => {
                ApiError::unauthorized("invalid_credentials", "wrong username or password")
            }
            LoginFailure::RateLimited(secs) => ApiError {
                retry_after_secs: Some(secs),
                ..ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!("too many login attempts; try again in {secs} s"),
                )
            },
            LoginFailure::Internal => ApiError::internal(),
        }
    }
}

/// Checks the credentials (rate-limited per client address) and opens a session.
async fn open_session(
    state: &AppState,
    client: SocketAddr,
    username: &str,
    password_given: &str,
) -> Result<Cookie<'static>, LoginFailure> {
    state
        .login_limiter
        .check(client.ip())
        .map_err(|wait| LoginFailure::RateLimited(wait.as_secs_f64().ceil() as u64))?;
    let user = store::users::find_by_username(&state.pool, username)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "login lookup failed");
            LoginFailure::Internal
        })?;
    let stored = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| password::dummy_hash().to_owned());
    let given = password_given.to_owned();
    let ok = tokio::task::spawn_blocking(move || password::verify(&given, &stored))
        .await
        .unwrap_or(false);
    let Some(user) = user.filter(|_| ok) else {
        tracing::info!(client = %client.ip(), "failed login");
        return Err(LoginFailure::Invalid);
    };
    let session = token::random_token(32);
    let ttl = state.config.session_ttl;
    let expires_at =
        chrono::Utc::now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::days(7));
    store::sessions::create(&state.pool, &token::digest(&session), user.id, expires_at)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "cannot store session");
            LoginFailure::Internal
        })?;
    tracing::info!(user = %user.username, "logged in");
    Ok(Cookie::build((SESSION_COOKIE, session))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.config.secure_cookies())
        .path("/")
        .max_age(cookie_duration(ttl))
        .build())
}

fn cookie_duration(ttl: std::time::Duration) -> time::Duration {
    time::Duration::seconds(ttl.as_secs() as i64)
}

fn removal() -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, "")).path("/").build()
}

async fn close_session(state: &AppState, jar: &CookieJar) -> Result<(), sqlx::Error> {
    if let Some(c) = jar.get(SESSION_COOKIE) {
        store::sessions::delete(&state.pool, &token::digest(c.value())).await?;
    }
    Ok(())
}

/// Login CSRF: another site must not log a visitor in to an account of its choosing. A
/// login handler that takes this refuses cross-site requests before reading anything.
pub struct FromOurSite;

impl FromRequestParts<AppState> for FromOurSite {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if same_site_request(&parts.headers, &state.config.public_url) {
            Ok(FromOurSite)
        } else {
            Err(ApiError::forbidden(
                "cross_site_request",
                "logging in from another site is refused",
            ))
        }
    }
}

/// `POST /api/v1/auth/login` with `{ "username", "password" }`: 200 and a session cookie.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    operation_id = "login",
    summary = "Log in",
    tag = "auth",
    request_body = LoginRequest,
    responses((status = 200, description = "Logged in; the session cookie is set", body = Whoami)),
    security(())
)]
pub async fn login_json(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    _: FromOurSite,
    jar: CookieJar,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<(CookieJar, Json<Whoami>), ApiError> {
    if req.username.trim().is_empty() {
        return Err(ApiError::invalid("username", "username is required"));
    }
    if req.password.is_empty() {
        return Err(ApiError::invalid("password", "password is required"));
    }
    let cookie = open_session(&state, client, &req.username, &req.password).await?;
    let username = req.username;
    Ok((jar.add(cookie), Json(Whoami::User { username })))
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// Only local absolute paths are followed after login (no open redirects).
fn safe_next(next: &str) -> &str {
    // Browsers drop tabs and line breaks from URLs, so `/\t/evil.example` would become
    // `//evil.example`: no control character or space may appear.
    if next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        next
    } else {
        "/"
    }
}

/// `POST /auth/login` from the login page's form: 303 to `next`, or back to the page with
/// an error code in the query.
pub async fn login_form(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    _: FromOurSite,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(&form.next).to_owned();
    let back = |error: &str| {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("error", error)
            .append_pair("next", &next)
            .finish();
        Redirect::to(&format!("/login?{query}")).into_response()
    };
    if form.username.trim().is_empty() || form.password.is_empty() {
        return back("missing");
    }
    match open_session(&state, client, &form.username, &form.password).await {
        Ok(cookie) => (jar.add(cookie), Redirect::to(&next)).into_response(),
        Err(LoginFailure::Invalid) => back("invalid"),
        Err(LoginFailure::RateLimited(_)) => back("rate_limited"),
        Err(LoginFailure::Internal) => back("internal"),
    }
}

/// `POST /api/v1/auth/logout`: 204; the session is deleted server-side.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    operation_id = "logout",
    summary = "Log out",
    tag = "auth",
    responses((status = 204, description = "Logged out; the session is deleted")),
    security(())
)]
pub async fn logout_json(
    State(state): State<AppState>,
    jar: CookieJar,
) -> Result<(CookieJar, StatusCode), ApiError> {
    close_session(&state, &jar).await?;
    Ok((jar.remove(removal()), StatusCode::NO_CONTENT))
}

/// `POST /auth/logout` from the header's form: back to the login page.
pub async fn logout_form(
    State(state): State<AppState>,
    jar: CookieJar,
) -> Result<(CookieJar, Redirect), ApiError> {
    close_session(&state, &jar).await?;
    Ok((jar.remove(removal()), Redirect::to("/login")))
}

/// `GET /api/v1/auth/me`: who the credentials belong to.
#[utoipa::path(
    get,
    path = "/api/v1/auth/me",
    operation_id = "whoami",
    summary = "Who is calling",
    tag = "auth",
    responses((status = 200, description = "Who the credentials belong to", body = Whoami)),
    security(("api_key" = []), ("session" = []))
)]
pub async fn me(principal: Principal) -> Json<Whoami> {
    Json(match principal {
        Principal::User(u) => Whoami::User {
            username: u.username,
        },
        Principal::ApiKey(k) => Whoami::ApiKey {
            id: k.id,
            name: k.name,
            scopes: k.scopes,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(safe_next("/settings/api-keys"), "/settings/api-keys");
        let outside = [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "",
        ];
        for next in outside {
            assert_eq!(safe_next(next), "/", "{next:?}");
        }
    }
}
