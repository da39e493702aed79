//! `GET /metrics`: Sightline's own metrics for Prometheus.
//!
//! Without `SIGHTLINE_METRICS_TOKEN` only loopback clients may scrape (a Prometheus on the
//! same host); with it, any client that sends `Authorization: Bearer <token>`, and only
//! those. Behind a reverse proxy on the same host every client looks local, so set a token
//! there.

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, State},
    http::{header, HeaderMap, HeaderValue},
    response::{IntoResponse, Response},
};

use super::error::ApiError;
use crate::{auth::token::digest, metrics::Snapshot, state::AppState};

/// The Prometheus text exposition format, version 0.0.4.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub async fn metrics(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    allowed(
        state.config.metrics_token.as_ref().map(|t| t.expose()),
        client,
        &headers,
    )?;
    let now = Snapshot {
        ingest_queue_rows: state.ingest.waiting(),
        sse_clients: state.live.open_streams(),
    };
    let body = state.metrics.encode(now).map_err(|e| {
        tracing::error!(error = %e, "cannot encode metrics");
        ApiError::internal()
    })?;
    Ok((
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        body,
    )
        .into_response())
}

/// Whether this client may scrape: the token when one is set, else a loopback address.
fn allowed(token: Option<&str>, client: SocketAddr, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(token) = token else {
        return if client.ip().is_loopback() {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "metrics_loopback_only",
                "/metrics answers loopback clients only; set SIGHTLINE_METRICS_TOKEN to \
                 scrape from another host",
            ))
        };
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    // Digests compared, so the time taken says nothing about how much of the token matched.
    match given {
        Some(g) if digest(g.trim()) == digest(token) => Ok(()),
        Some(_) => Err(ApiError::unauthorized(
            "invalid_token",
            "the bearer token for /metrics is not valid",
        )),
        None => Err(ApiError::unauthorized(
            "missing_token",
            "/metrics needs `Authorization: Bearer <SIGHTLINE_METRICS_TOKEN>`",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn bearer(t: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {t}")).unwrap(),
        );
        h
    }

    #[test]
    fn loopback_only_without_a_token() {
        let none = HeaderMap::new();
        assert!(allowed(None, addr("127.0.0.1:5000"), &none).is_ok());
        assert!(allowed(None, addr("[::1]:5000"), &none).is_ok());
        let e = allowed(None, addr("10.0.0.7:5000"), &none).unwrap_err();
        assert_eq!(e.status, 403);
    }

    #[test]
    fn a_token_is_required_from_everyone_once_set() {
        let t = Some("scrape-token-0123456789");
        let local = addr("127.0.0.1:5000");
        assert_eq!(
            allowed(t, local, &HeaderMap::new()).unwrap_err().code,
            "missing_token"
        );
        assert_eq!(
            allowed(t, local, &bearer("wrong")).unwrap_err().code,
            "invalid_token"
        );
        assert!(allowed(t, addr("10.0.0.7:1"), &bearer("scrape-token-0123456789")).is_ok());
    }
}
