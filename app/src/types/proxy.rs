//! Proxy providers on the wire. A provider's key goes in once and never comes back out:
//! listings carry only its last four characters.

use serde::{Deserialize, Serialize};

/// A configured upstream as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProviderInfo {
    pub name: String,
    pub kind: ProviderKind,
    pub base_url: String,
    /// `…1a2b` when a key is stored.
    pub key_hint: Option<String>,
    pub pass_through: bool,
    /// The path clients use as their base URL, e.g. `/proxy/openai/v1`.
    pub proxy_path: String,
}

/// `PUT /api/v1/providers/{name}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProviderUpsert {
    #[serde(default)]
    pub kind: ProviderKind,
    pub base_url: String,
    /// Omit to keep the stored key; an empty string removes it.
    pub api_key: Option<String>,
    #[serde(default)]
    pub pass_through: bool,
}

/// The API dialect an upstream speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// OpenAI's API and the many servers that copy it (vLLM, llama.cpp, Ollama, LiteLLM...).
    #[serde(rename = "openai")]
    #[default]
    OpenAi,
    /// Anthropic's Messages API.
    Anthropic,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Anthropic => "anthropic",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "openai" => Some(ProviderKind::OpenAi),
            "anthropic" => Some(ProviderKind::Anthropic),
            _ => None,
        }
    }
}

/// The proxy's record path since the server started (`GET /api/v1/proxy/records`): calls
/// stored, already there (replays), waiting (queued or spooled), dropped, and replayed from
/// the spool at start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProxyRecordStats {
    pub stored: u64,
    pub duplicates: u64,
    pub waiting: u64,
    pub dropped: u64,
    pub replayed: u64,
}
