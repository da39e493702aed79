//! Rate limits at run time: the limits (reloaded each second), this server's one-minute
//! windows, and how many servers share the limits (from their heartbeats).

use std::sync::{
    atomic::{AtomicU32, Ordering},
    Arc, Mutex, RwLock,
};

use app::types::RateLimit;
use axum::http::{HeaderMap, HeaderValue};
use chrono::Utc;
use sqlx::PgPool;

use crate::{
    domain::{
        budget::Facts,
        rate_limit::{Quota, Verdict, Windows},
    },
    store,
};

pub struct RateLimiter {
    id: String,
    limits: RwLock<Arc<Vec<RateLimit>>>,
    windows: Mutex<Windows>,
    servers: AtomicU32,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            limits: RwLock::default(),
            windows: Mutex::default(),
            servers: AtomicU32::new(1),
        }
    }
}

impl RateLimiter {
    pub fn limits(&self) -> Arc<Vec<RateLimit>> {
        Arc::clone(&self.limits.read().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn servers(&self) -> u32 {
        self.servers.load(Ordering::Relaxed)
    }

    pub async fn reload(&self, pool: &PgPool) -> sqlx::Result<()> {
        let loaded = store::rate_limits::list(pool).await?;
        *self.limits.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(loaded);
        Ok(())
    }

    /// Says this server is alive and learns how many share the limits.
    pub async fn heartbeat(&self, pool: &PgPool) -> sqlx::Result<()> {
        let n = store::rate_limits::heartbeat(pool, &self.id, Utc::now()).await?;
        self.servers.store(n, Ordering::Relaxed);
        Ok(())
    }

    /// Counts a call of `tokens` (its worst case), or refuses it.
    pub fn check(&self, facts: &Facts, tokens: u64) -> Verdict {
        let limits = self.limits();
        if limits.is_empty() {
            return Verdict::default();
        }
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        windows.check(
            &limits,
            facts,
            tokens,
            Utc::now().timestamp(),
            self.servers(),
        )
    }
}

/// OpenAI's headers for a verdict: `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`.
pub fn add_headers(headers: &mut HeaderMap, v: &Verdict) {
    let mut put = |what: &str, q: Option<Quota>| {
        let Some(q) = q else { return };
        for (name, value) in [
            (format!("x-ratelimit-limit-{what}"), q.limit.to_string()),
            (
                format!("x-ratelimit-remaining-{what}"),
                q.remaining.to_string(),
            ),
            (
                format!("x-ratelimit-reset-{what}"),
                format!("{}s", q.reset_secs),
            ),
        ] {
            if let (Ok(n), Ok(v)) = (
                axum::http::HeaderName::try_from(name),
                HeaderValue::try_from(value),
            ) {
                headers.insert(n, v);
            }
        }
    };
    put("requests", v.requests);
    put("tokens", v.tokens);
}
