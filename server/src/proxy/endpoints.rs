//! Which upstream endpoints the proxy forwards, with which methods, and which are model
//! calls worth recording (pure).
//!
//! The path is checked as the client sent it, still percent-encoded, segment by segment:
//! an empty, `.` or `..` segment, or one with `%`, `\` or a control character, is refused
//! before anything is decoded or joined, so no encoding can climb out of the allowed paths
//! (`v1/models/..%2F..%2Fv1%2Ffiles` is refused, not resolved to `v1/files`).

use app::types::ProviderKind;
use axum::http::Method;

/// A forwardable endpoint: its path (after `/proxy/<provider>/`), as safe segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub segments: Vec<String>,
    /// Whether the exchange is a model call worth recording (listing models is not).
    pub records: bool,
}

impl Endpoint {
    pub fn path(&self) -> String {
        self.segments.join("/")
    }
}

/// Why a path is not forwarded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not an endpoint the proxy forwards for this dialect (404).
    NotAllowed,
    /// An allowed endpoint, another method (405, with the methods it takes).
    Method(&'static [Method]),
}

fn safe_segment(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && !s.chars().any(|c| c == '%' || c == '\\' || c.is_control())
}

const POST: &[Method] = &[Method::POST];
const GET: &[Method] = &[Method::GET];

/// The methods a fixed path takes for this dialect, if the proxy forwards it.
fn fixed(kind: ProviderKind, path: &str) -> Option<(&'static [Method], bool)> {
    match (kind, path) {
        (ProviderKind::OpenAi, "v1/chat/completions" | "v1/completions" | "v1/embeddings") => {
            Some((POST, true))
        }
        (ProviderKind::Anthropic, "v1/messages") => Some((POST, true)),
        (ProviderKind::Anthropic, "v1/messages/count_tokens") => Some((POST, false)),
        (_, "v1/models") => Some((GET, false)),
        _ => None,
    }
}

/// Checks `raw_path` (after `/proxy/<provider>/`, as sent) and `method` for this dialect.
pub fn route(kind: ProviderKind, raw_path: &str, method: &Method) -> Result<Endpoint, Refusal> {
    let segments: Vec<&str> = raw_path.split('/').collect();
    if !segments.iter().all(|s| safe_segment(s)) {
        return Err(Refusal::NotAllowed);
    }
    let path = segments.join("/");
    let (methods, records) = match fixed(kind, &path) {
        Some(found) => found,
        // One model by id: `v1/models/<id>`, where an id may hold slashes (`org/model`).
        None if segments.len() > 2 && segments[..2] == ["v1", "models"] => (GET, false),
        None => return Err(Refusal::NotAllowed),
    };
    if !methods.contains(method) {
        return Err(Refusal::Method(methods));
    }
    Ok(Endpoint {
        segments: segments.into_iter().map(str::to_owned).collect(),
        records,
    })
}

/// `base` with the endpoint's segments appended one by one, or None if the result is not
/// exactly the base path plus the endpoint's path (a last guard against any resolution).
pub fn upstream_url(base: &url::Url, endpoint: &Endpoint) -> Option<url::Url> {
    let mut url = base.clone();
    url.path_segments_mut()
        .ok()?
        .pop_if_empty()
        .extend(&endpoint.segments);
    let expected = format!("{}{}", base.path(), endpoint.path());
    (url.path() == expected && url.host() == base.host()).then_some(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProviderKind::{Anthropic, OpenAi};

    fn ok(kind: ProviderKind, path: &str, m: Method) -> bool {
        route(kind, path, &m).is_ok()
    }

    #[test]
    fn endpoints_are_allowed_per_dialect_and_method() {
        assert!(ok(OpenAi, "v1/chat/completions", Method::POST));
        assert!(ok(OpenAi, "v1/models/gpt-4o", Method::GET));
        assert!(ok(OpenAi, "v1/models/org/some-model", Method::GET));
        assert!(!ok(OpenAi, "v1/models/", Method::GET));
        assert!(!ok(OpenAi, "v1/files", Method::GET));
        assert!(!ok(OpenAi, "v1/messages", Method::POST));
        assert!(ok(Anthropic, "v1/messages", Method::POST));
        assert!(!ok(Anthropic, "v1/chat/completions", Method::POST));
        assert_eq!(
            route(OpenAi, "v1/models/gpt-4o", &Method::DELETE),
            Err(Refusal::Method(GET))
        );
        assert_eq!(
            route(OpenAi, "v1/chat/completions", &Method::GET),
            Err(Refusal::Method(POST))
        );
        assert!(
            route(OpenAi, "v1/embeddings", &Method::POST)
                .unwrap()
                .records
        );
        assert!(!route(OpenAi, "v1/models", &Method::GET).unwrap().records);
    }

    #[test]
    fn no_encoding_climbs_out() {
        for bad in [
            "v1/models/..%2F..%2Fv1%2Ffiles",
            "v1/models/%2e%2e/%2e%2e/v1/files",
            "v1/models/../../v1/files",
            "v1/models/./x",
            "v1/models/a\\..\\..\\files",
            "v1/models//x",
            "v1/models/x%00",
            "v1/chat/completions/",
            "/v1/chat/completions",
        ] {
            assert_eq!(
                route(OpenAi, bad, &Method::GET),
                Err(Refusal::NotAllowed),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_upstream_url_is_the_base_plus_the_endpoint() {
        let base = url::Url::parse("http://127.0.0.1:8001/openai/").unwrap();
        let e = route(OpenAi, "v1/models/org/m:1", &Method::GET).unwrap();
        assert_eq!(
            upstream_url(&base, &e).unwrap().as_str(),
            "http://127.0.0.1:8001/openai/v1/models/org/m:1"
        );
    }
}
