//! The state every handler shares. Everything that matters lives in PostgreSQL; this holds
//! handles only, so replicas stay interchangeable.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sqlx::PgPool;

use crate::{auth::limiter::LoginLimiter, config::Config};

#[derive(Clone)]
pub struct AppState {
    /// The database pool.
    pub pool: PgPool,
    /// Validated configuration.
    pub config: Arc<Config>,
    /// Login attempts per client address.
    pub login_limiter: Arc<LoginLimiter>,
    /// Where the built site lives, for server-side rendering and static files.
    pub leptos_options: LeptosOptions,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
