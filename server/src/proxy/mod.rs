//! The LLM proxy: `/proxy/<provider>/v1/...` forwards OpenAI-compatible and Anthropic
//! Messages requests to a configured upstream, streams the answer back as it arrives, and
//! records each exchange as a call through the ingest pipeline.
//!
//! - [`sse`] cuts event streams into events without changing their bytes.
//! - [`usage`] reads token usage from bodies and stream events (pure).
//! - [`forward`] is the handler: authentication, rewriting, timing, recording.

pub mod forward;
pub mod sse;
pub mod usage;

use serde::{Deserialize, Serialize};

/// The API dialect an upstream speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// OpenAI's API and the many servers that copy it (vLLM, llama.cpp, Ollama, LiteLLM...).
    #[serde(rename = "openai")]
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

    /// Endpoints (after `/proxy/<provider>/`) the proxy forwards for this dialect.
    pub fn allows(self, path: &str) -> bool {
        match self {
            ProviderKind::OpenAi => {
                matches!(
                    path,
                    "v1/chat/completions" | "v1/completions" | "v1/embeddings" | "v1/models"
                ) || path
                    .strip_prefix("v1/models/")
                    .is_some_and(|m| !m.is_empty())
            }
            ProviderKind::Anthropic => {
                matches!(
                    path,
                    "v1/messages" | "v1/messages/count_tokens" | "v1/models"
                ) || path
                    .strip_prefix("v1/models/")
                    .is_some_and(|m| !m.is_empty())
            }
        }
    }

    /// Endpoints whose answers are model calls worth recording (listing models is not).
    pub fn records(self, path: &str) -> bool {
        matches!(
            (self, path),
            (
                ProviderKind::OpenAi,
                "v1/chat/completions" | "v1/completions" | "v1/embeddings"
            ) | (ProviderKind::Anthropic, "v1/messages")
        )
    }
}

/// A configured upstream.
#[derive(Clone)]
pub struct Provider {
    /// The name in `/proxy/<name>/`, and the provider recorded on calls.
    pub name: String,
    pub kind: ProviderKind,
    /// The root the API paths (`v1/...`) are appended to, e.g. `https://api.openai.com/`.
    pub base_url: url::Url,
    /// Sightline's key for the upstream; never logged or returned.
    pub api_key: Option<String>,
    /// Forward the client's own provider key; the Sightline key then comes in
    /// `x-sightline-key`.
    pub pass_through: bool,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("base_url", &self.base_url.as_str())
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("pass_through", &self.pass_through)
            .finish()
    }
}

/// Provider names: what fits in a URL path segment and reads well in charts.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 63
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// A base URL must be http(s) with a host; a trailing slash is added so joins append.
pub fn parse_base_url(raw: &str) -> Result<url::Url, String> {
    let mut url = url::Url::parse(raw.trim()).map_err(|e| format!("is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("must be an http or https URL with a host".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or fragment".into());
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_allowed_per_dialect() {
        assert!(ProviderKind::OpenAi.allows("v1/chat/completions"));
        assert!(ProviderKind::OpenAi.allows("v1/models/gpt-4o"));
        assert!(!ProviderKind::OpenAi.allows("v1/models/"));
        assert!(!ProviderKind::OpenAi.allows("v1/files"));
        assert!(!ProviderKind::OpenAi.allows("v1/messages"));
        assert!(ProviderKind::Anthropic.allows("v1/messages"));
        assert!(!ProviderKind::Anthropic.allows("v1/chat/completions"));
        assert!(ProviderKind::OpenAi.records("v1/embeddings"));
        assert!(!ProviderKind::OpenAi.records("v1/models"));
    }

    #[test]
    fn names_and_base_urls_are_checked() {
        assert!(valid_name("openai"));
        assert!(valid_name("local-llama_2"));
        assert!(!valid_name("OpenAI"));
        assert!(!valid_name("-x"));
        assert!(!valid_name("a/b"));
        assert!(!valid_name(""));
        assert_eq!(
            parse_base_url("https://api.openai.com").unwrap().as_str(),
            "https://api.openai.com/"
        );
        assert_eq!(
            parse_base_url("http://127.0.0.1:8001/openai")
                .unwrap()
                .join("v1/models")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:8001/openai/v1/models"
        );
        assert!(parse_base_url("ftp://x").is_err());
        assert!(parse_base_url("not a url").is_err());
        assert!(parse_base_url("https://x/?a=1").is_err());
    }
}
