//! The state every handler shares. Everything that matters lives in PostgreSQL; this holds
//! handles only, so replicas stay interchangeable.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sqlx::PgPool;

use crate::{
    auth::{
        limiter::AddressLimiter,
        sealing::{is_sealed, Sealer},
    },
    config::Config,
    domain::provider::Provider,
    ingest::service::Ingest,
    live::LiveHub,
    store,
};

/// The handle every handler gets: one shared allocation, so the clone axum makes for each
/// extractor and middleware of every request is one reference count, not one per field
/// (cloning ~25 handles per extractor was a tenth of the proxy's CPU).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] shares.
pub struct Shared {
    /// The database pool.
    pub pool: PgPool,
    /// Validated configuration.
    pub config: Arc<Config>,
    /// Seals and opens provider keys at rest.
    pub sealer: Arc<Sealer>,
    /// Login attempts per client address.
    pub login_limiter: Arc<AddressLimiter>,
    /// Browser reports (`/api/v1/vitals`) per client address.
    pub browser_limiter: Arc<AddressLimiter>,
    /// The one way calls come in: validation, pricing, storage, events.
    pub ingest: Ingest,
    /// Fan-out of committed changes to SSE subscribers.
    pub live: LiveHub,
    /// The write path for application requests (batch API, OTLP, Sightline's own).
    pub apps: crate::apps::AppRequestWriter,
    /// The write path for browser reports (vitals, errors, failed calls).
    pub browser: crate::browser::BrowserWriter,
    /// The write path for system samples (own collector and agents).
    pub system: crate::system::writer::SystemWriter,
    /// Turns true when the server begins shutting down, so endless streams end.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// API keys verified in the last seconds.
    pub key_cache: Arc<crate::auth::key_cache::KeyCache>,
    /// The proxy's upstreams by name, reloaded when they change.
    pub providers: Arc<RwLock<HashMap<String, Arc<Provider>>>>,
    /// Pooled HTTP client for the proxy's upstream requests.
    pub http_client: reqwest::Client,
    /// Budget definitions, for the proxy's and the check API's decisions.
    pub budgets: crate::budgets::Book,
    /// Rate limits and this server's windows.
    pub rate_limits: Arc<crate::budgets::rate_limits::RateLimiter>,
    /// The alert loops' handles (wake the dispatcher, evaluate now, leadership).
    pub alerts: crate::alerts::Alerts,
    /// Sightline's own metrics, for `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Benchmark runs going on this server, to cancel them.
    pub bench: crate::bench::Runs,
    /// Closed analytics buckets, merged once.
    pub closed: Arc<crate::analytics::closed::ClosedCache>,
    /// The same for analytics by user (rows keyed by user), apart so neither evicts the other.
    pub closed_users: Arc<crate::analytics::closed::ClosedCache>,
    /// Where the built site lives, for server-side rendering and static files.
    pub leptos_options: LeptosOptions,
}

impl AppState {
    /// What a valid (not revoked) API key may do, from the cache or the database.
    pub async fn authenticate_key(
        &self,
        key: &str,
    ) -> sqlx::Result<Option<crate::domain::grant::KeyGrant>> {
        let digest = crate::auth::token::digest(key);
        let now = std::time::Instant::now();
        if let Some(hit) = self.key_cache.get(&digest, now) {
            return Ok(Some(hit));
        }
        let found = store::api_keys::authenticate(&self.pool, &digest).await?;
        if let Some(grant) = &found {
            self.key_cache.insert(digest, grant.clone(), now);
        }
        Ok(found)
    }

    /// Resolves once the server begins to stop (never, if the signal is gone).
    pub fn stopping(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.shutdown.clone();
        async move {
            if rx.wait_for(|stopping| *stopping).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    pub fn provider(&self, name: &str) -> Option<Arc<Provider>> {
        let map = self.providers.read().unwrap_or_else(|p| p.into_inner());
        map.get(name).cloned()
    }

    pub fn all_providers(&self) -> Vec<Arc<Provider>> {
        let map = self.providers.read().unwrap_or_else(|p| p.into_inner());
        map.values().cloned().collect()
    }

    /// Re-reads the providers from the database.
    pub async fn reload_providers(&self) -> sqlx::Result<()> {
        let loaded = load_providers(&self.pool, &self.sealer).await?;
        let map = loaded
            .into_iter()
            .map(|p| (p.name.clone(), Arc::new(p)))
            .collect();
        *self.providers.write().unwrap_or_else(|p| p.into_inner()) = map;
        Ok(())
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The providers with their keys opened. A key stored before sealing existed is sealed now;
/// one that does not open (another data directory's key file) is dropped with a warning,
/// so that provider forwards no key until it is entered again.
pub async fn load_providers(pool: &PgPool, sealer: &Sealer) -> sqlx::Result<Vec<Provider>> {
    let mut providers = store::providers::load(pool).await?;
    for p in &mut providers {
        let Some(stored) = p.api_key.take() else {
            continue;
        };
        if !is_sealed(&stored) {
            store::providers::set_key(pool, &p.name, &sealer.seal(&stored)).await?;
        }
        match sealer.open(&stored) {
            Ok(plain) => p.api_key = Some(plain),
            Err(e) => tracing::warn!(provider = %p.name, error = %e, "provider key not usable"),
        }
    }
    Ok(providers)
}
