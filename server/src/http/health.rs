//! Liveness and readiness probes for load balancers and orchestrators.

use app::types::Readiness;
use axum::{extract::State, http::StatusCode, Json};

use crate::{state::AppState, store};

/// `GET /healthz`: the process is up.
pub async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// `GET /readyz`: the database answers and is migrated; 503 with the reason otherwise.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let version = env!("CARGO_PKG_VERSION").to_owned();
    match store::readiness(&state.pool).await {
        Ok(()) => (
            StatusCode::OK,
            Json(Readiness {
                status: "ready".into(),
                reason: None,
                version,
            }),
        ),
        Err(reason) => {
            // The detail (which may carry a database error) goes to the log, not the probe.
            tracing::warn!(%reason, "not ready");
            let public = if reason.starts_with("migrations pending") {
                "migrations pending"
            } else {
                "database unreachable"
            };
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Readiness {
                    status: "not_ready".into(),
                    reason: Some(public.into()),
                    version,
                }),
            )
        }
    }
}
