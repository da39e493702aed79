//! Proxy providers on the wire. A provider's key goes in once and never comes back out:
//! listings carry only its last four characters.

use serde::{Deserialize, Serialize};

/// A configured upstream as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderInfo {
    pub name: String,
    /// `openai` (and compatible servers) or `anthropic`.
    pub kind: String,
    pub base_url: String,
    /// `…1a2b` when a key is stored.
    pub key_hint: Option<String>,
    pub pass_through: bool,
    /// The path clients use as their base URL, e.g. `/proxy/openai/v1`.
    pub proxy_path: String,
}

/// `PUT /api/v1/providers/{name}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ProviderUpsert {
    #[serde(default = "openai")]
    pub kind: String,
    pub base_url: String,
    /// Omit to keep the stored key; an empty string removes it.
    pub api_key: Option<String>,
    #[serde(default)]
    pub pass_through: bool,
}

fn openai() -> String {
    "openai".to_owned()
}
