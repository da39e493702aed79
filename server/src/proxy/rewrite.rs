//! What goes upstream and what comes back: header filters both ways, the provider's key,
//! and the usage the proxy asks a stream for (pure).

use app::types::ProviderKind;
use axum::{
    body::Bytes,
    http::{header, HeaderMap, HeaderName, HeaderValue},
};
use serde_json::{json, Value};

use crate::domain::provider::Provider;

/// Request headers that are the connection's, or Sightline's, and never go upstream.
pub fn drop_request_header(name: &HeaderName, pass_through: bool) -> bool {
    let n = name.as_str();
    matches!(
        n,
        "host"
            | "content-length"
            | "connection"
            | "keep-alive"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "cookie"
            // Upstream bodies must arrive uncompressed so usage can be read.
            | "accept-encoding"
    ) || n.starts_with("proxy-")
        || n.starts_with("x-sightline-")
        // With the server's key, the client may not pick the organisation or project it
        // bills to.
        || (!pass_through
            && matches!(
                n,
                "authorization" | "x-api-key" | "openai-organization" | "openai-project"
            ))
}

/// Upstream headers relayed to the client: an allow-list, so nothing about the server's own
/// provider account (its organisation, its cookies) reaches clients.
pub fn relay_response_header(name: &HeaderName) -> bool {
    const RELAYED: &[&str] = &[
        "content-type",
        "content-language",
        "cache-control",
        "retry-after",
        "location",
        "date",
        "x-request-id",
        "request-id",
        "openai-processing-ms",
        "openai-version",
        "openai-model",
        "anthropic-version",
    ];
    let n = name.as_str();
    RELAYED.contains(&n) || n.starts_with("x-ratelimit-") || n.starts_with("anthropic-ratelimit-")
}

/// The client's headers as they go upstream: connection and Sightline headers dropped, the
/// provider's key in place of the client's unless the provider passes keys through.
pub fn upstream_headers(client: &HeaderMap, provider: &Provider) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(client.len());
    for (n, v) in client {
        if !drop_request_header(n, provider.pass_through) {
            headers.append(n.clone(), v.clone());
        }
    }
    if !provider.pass_through {
        add_provider_key(provider, &mut headers);
    }
    headers
}

/// The upstream's headers as they go back to the client.
pub fn client_headers(upstream: &HeaderMap) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(upstream.len());
    for (n, v) in upstream {
        if relay_response_header(n) {
            headers.append(n.clone(), v.clone());
        }
    }
    headers
}

/// An OpenAI stream reports usage only when asked: ask for it when the client did not, and
/// say so, so that the usage-only chunk is hidden from a client that did not expect it.
/// Returns the body to send and whether to hide that chunk.
pub fn ask_stream_usage(
    kind: ProviderKind,
    path: &str,
    json: &mut Value,
    body: Bytes,
) -> (Bytes, bool) {
    let asked = json
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if kind != ProviderKind::OpenAi || asked || path == "v1/embeddings" {
        return (body, false);
    }
    let Some(obj) = json.as_object_mut() else {
        return (body, false);
    };
    let opts = obj.entry("stream_options").or_insert_with(|| json!({}));
    match opts.as_object_mut() {
        Some(o) => {
            o.insert("include_usage".into(), true.into());
            (Bytes::from(json.to_string()), true)
        }
        None => (body, false),
    }
}

fn add_provider_key(provider: &Provider, headers: &mut HeaderMap) {
    let Some(key) = provider.api_key.as_deref() else {
        return;
    };
    let (name, value) = match provider.kind {
        ProviderKind::OpenAi => (header::AUTHORIZATION, format!("Bearer {key}")),
        ProviderKind::Anthropic => (HeaderName::from_static("x-api-key"), key.to_owned()),
    };
    if let Ok(mut v) = HeaderValue::from_str(&value) {
        v.set_sensitive(true);
        headers.insert(name, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_filtered_both_ways() {
        // (request header, passed through?, dropped?)
        for (name, pass, dropped) in [
            ("authorization", false, true),
            ("authorization", true, false),
            ("x-sightline-session", true, true),
            ("accept-encoding", true, true),
            ("anthropic-version", false, false),
            ("openai-organization", false, true),
            ("openai-organization", true, false),
        ] {
            let h = HeaderName::from_static(name);
            assert_eq!(drop_request_header(&h, pass), dropped, "{name} {pass}");
        }
        // (response header, relayed?)
        for (name, relayed) in [
            ("content-type", true),
            ("x-ratelimit-remaining-requests", true),
            ("retry-after", true),
            ("location", true),
            ("set-cookie", false),
            ("openai-organization", false),
            ("transfer-encoding", false),
            ("server", false),
        ] {
            let h = HeaderName::from_static(name);
            assert_eq!(relay_response_header(&h), relayed, "{name}");
        }
    }

    #[test]
    fn stream_usage_is_asked_for_once() {
        let mut v = json!({"model": "m", "stream": true});
        let (body, hide) = ask_stream_usage(
            ProviderKind::OpenAi,
            "v1/chat/completions",
            &mut v,
            Bytes::new(),
        );
        assert!(hide);
        let sent: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(sent["stream_options"]["include_usage"], true);
        let mut asked = json!({"stream": true, "stream_options": {"include_usage": true}});
        let (_, hide) = ask_stream_usage(
            ProviderKind::OpenAi,
            "v1/chat/completions",
            &mut asked,
            Bytes::new(),
        );
        assert!(!hide);
        let (_, hide) =
            ask_stream_usage(ProviderKind::Anthropic, "v1/messages", &mut v, Bytes::new());
        assert!(!hide);
    }
}
