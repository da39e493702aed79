//! The wire format: serde types shared by the server and the browser, defined once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Every API error: a stable machine-readable `error` code, a sentence for people, and the
/// offending input field when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An API key as listed: never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    /// The first characters of the secret (`sl_1a2b3c4d`), for recognising a key.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// What the key may do.
    pub scopes: Vec<KeyScope>,
    /// The one host this key may report system samples for; None for any.
    #[serde(default)]
    pub host: Option<String>,
}

/// What an API key may do. A logged-in person may do everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum KeyScope {
    /// Write calls, events, spans and system samples, and use the proxy.
    Ingest,
    /// Read analytics, calls, sessions, system metrics and the live stream.
    Read,
    /// Report Web Vitals and JavaScript errors from web pages (`/sdk/vitals.js`). Such a
    /// key sits in public page source, so it may do nothing else.
    Browser,
}

impl KeyScope {
    pub const ALL: [KeyScope; 3] = [KeyScope::Ingest, KeyScope::Read, KeyScope::Browser];

    pub fn as_str(self) -> &'static str {
        match self {
            KeyScope::Ingest => "ingest",
            KeyScope::Read => "read",
            KeyScope::Browser => "browser",
        }
    }

    pub fn parse(s: &str) -> Option<KeyScope> {
        KeyScope::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// `POST /api/v1/keys`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CreateApiKey {
    pub name: String,
    /// Defaults to `["ingest"]`.
    #[serde(default)]
    pub scopes: Option<Vec<KeyScope>>,
    /// Binds the key to one host's system samples (an agent's key).
    #[serde(default)]
    pub host: Option<String>,
}

/// The answer to a key creation: the only time the secret is ever returned.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CreatedApiKey {
    pub key: ApiKey,
    pub secret: String,
}

/// `POST /api/v1/auth/login`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// Who is calling: a logged-in user or an API key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Whoami {
    User {
        username: String,
    },
    ApiKey {
        id: i64,
        name: String,
        #[serde(default)]
        scopes: Vec<KeyScope>,
    },
}

/// `GET /readyz`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub version: String,
}

mod llm;
pub use llm::*;

mod proxy;
pub use proxy::*;

mod analytics;
pub use analytics::*;

mod query;
pub use query::*;

mod budget;
pub use budget::*;

pub mod apps;
pub mod database;
pub mod frontend;
pub mod gpu;
pub mod live;
pub mod models;
pub mod system;

pub mod alert;
pub mod bench;
pub mod schedule;
pub mod workers;
