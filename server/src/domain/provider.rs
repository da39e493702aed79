//! A proxy upstream as storage and configuration keep it, and the rules for its name and
//! base URL (pure).

use app::types::ProviderKind;

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
