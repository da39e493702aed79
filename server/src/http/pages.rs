//! Page access: every UI page but the login page needs a session. Unauthenticated visits
//! are sent to `/login?next=...`; a logged-in visit to `/login` goes home.

use axum::{
    extract::{Request, State},
    http::{Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};

use super::principal::session_user;
use crate::state::AppState;

/// Paths that are not pages: the API, form posts, built assets, probes and static files.
fn is_public(path: &str) -> bool {
    const PREFIXES: [&str; 5] = ["/api/", "/auth/", "/pkg/", "/proxy/", "/v1/"];
    PREFIXES.iter().any(|p| path.starts_with(p))
        || matches!(path, "/healthz" | "/readyz" | "/metrics")
        || path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.'))
}

pub async fn require_login(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if !matches!(*req.method(), Method::GET | Method::HEAD) || is_public(path) {
        return next.run(req).await;
    }
    let logged_in = match session_user(&state, req.headers()).await {
        Ok(user) => user.is_some(),
        Err(e) => {
            tracing::error!(error = %e, "session lookup failed");
            return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response();
        }
    };
    match (path == "/login", logged_in) {
        (true, true) => Redirect::to("/").into_response(),
        (true, false) | (false, true) => next.run(req).await,
        (false, false) => {
            let target = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("next", target)
                .finish();
            Redirect::to(&format!("/login?{query}")).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_public;

    #[test]
    fn pages_are_not_public_but_assets_are() {
        assert!(!is_public("/"));
        assert!(!is_public("/settings/api-keys"));
        assert!(is_public("/api/v1/keys"));
        assert!(is_public("/pkg/sightline.wasm"));
        assert!(is_public("/favicon.svg"));
        assert!(is_public("/readyz"));
        assert!(is_public("/proxy/openai/v1/models"));
    }
}
