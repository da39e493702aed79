//! The state every handler shares. Everything that matters lives in PostgreSQL; this holds
//! handles only, so replicas stay interchangeable.

use std::sync::{Arc, RwLock};

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sqlx::PgPool;

use crate::{
    auth::limiter::LoginLimiter, config::Config, ingest::pipeline::Pipeline, live::LiveHub,
    pricing::Price,
};

#[derive(Clone)]
pub struct AppState {
    /// The database pool.
    pub pool: PgPool,
    /// Validated configuration.
    pub config: Arc<Config>,
    /// Login attempts per client address.
    pub login_limiter: Arc<LoginLimiter>,
    /// The write path for calls.
    pub pipeline: Pipeline,
    /// Fan-out of committed changes to SSE subscribers.
    pub live: LiveHub,
    /// Turns true when the server begins shutting down, so endless streams end.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// The price table, reloaded when prices change.
    pub prices: Arc<RwLock<Arc<Vec<Price>>>>,
    /// Where the built site lives, for server-side rendering and static files.
    pub leptos_options: LeptosOptions,
}

impl AppState {
    /// The current price table (a cheap clone of an `Arc`).
    pub fn prices(&self) -> Arc<Vec<Price>> {
        self.prices
            .read()
            .map(|p| Arc::clone(&p))
            .unwrap_or_else(|poisoned| Arc::clone(&poisoned.into_inner()))
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
