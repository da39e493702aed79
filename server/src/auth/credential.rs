//! The one reader of the API key a request presents (pure). The API takes
//! `x-sightline-key` or a bearer token; the proxy also takes `x-api-key`, where Anthropic's
//! SDK puts its key, and a pass-through provider takes only `x-sightline-key` because the
//! other headers carry the client's own provider key.

use axum::http::{header, HeaderMap};

/// Headers a key may come in besides `x-sightline-key`, which is always read first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyHeaders {
    /// `Authorization: Bearer <key>`.
    pub bearer: bool,
    /// `x-api-key: <key>`.
    pub x_api_key: bool,
}

impl KeyHeaders {
    /// The API under `/api/v1` and `/v1/traces`.
    pub const API: KeyHeaders = KeyHeaders {
        bearer: true,
        x_api_key: false,
    };
    /// The proxy, when Sightline sends its own provider key upstream.
    pub const PROXY: KeyHeaders = KeyHeaders {
        bearer: true,
        x_api_key: true,
    };
    /// The proxy for a pass-through provider.
    pub const SIGHTLINE_ONLY: KeyHeaders = KeyHeaders {
        bearer: false,
        x_api_key: false,
    };
}

/// A header's value, trimmed; None when absent, empty or not text.
pub fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The API key a request presents, trimmed; None when it presents none.
pub fn presented_key(headers: &HeaderMap, from: KeyHeaders) -> Option<&str> {
    if let Some(k) = header_str(headers, "x-sightline-key") {
        return Some(k);
    }
    if from.bearer {
        if let Some((scheme, v)) = header_str(headers, header::AUTHORIZATION.as_str())
            .and_then(|auth| auth.split_once(' '))
        {
            if scheme.eq_ignore_ascii_case("bearer") && !v.trim().is_empty() {
                return Some(v.trim());
            }
        }
    }
    if from.x_api_key {
        return header_str(headers, "x-api-key");
    }
    None
}

/// A header map from pairs, for tests of header readers.
#[cfg(test)]
pub fn test_headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, axum::http::HeaderValue::from_static(v));
    }
    h
}

#[cfg(test)]
mod tests {
    use super::{test_headers as headers, *};

    #[test]
    fn api_keys_come_from_bearer_or_the_sightline_header() {
        let api = KeyHeaders::API;
        assert_eq!(
            presented_key(&headers(&[("authorization", "Bearer sl_abc")]), api),
            Some("sl_abc")
        );
        assert_eq!(
            presented_key(&headers(&[("authorization", "bearer  sl_abc ")]), api),
            Some("sl_abc")
        );
        assert_eq!(
            presented_key(&headers(&[("x-sightline-key", "sl_x")]), api),
            Some("sl_x")
        );
        assert_eq!(
            presented_key(&headers(&[("authorization", "Basic abc")]), api),
            None
        );
        assert_eq!(presented_key(&headers(&[("x-api-key", "sl_c")]), api), None);
        assert_eq!(presented_key(&headers(&[]), api), None);
    }

    #[test]
    fn the_proxy_also_reads_x_api_key_unless_passing_through() {
        let h = headers(&[("authorization", "Bearer sl_a_b")]);
        assert_eq!(presented_key(&h, KeyHeaders::PROXY), Some("sl_a_b"));
        assert_eq!(presented_key(&h, KeyHeaders::SIGHTLINE_ONLY), None);
        let h = headers(&[("x-api-key", "sl_c_d")]);
        assert_eq!(presented_key(&h, KeyHeaders::PROXY), Some("sl_c_d"));
        let h = headers(&[
            ("authorization", "Bearer sk-own"),
            ("x-sightline-key", "sl_e_f"),
        ]);
        assert_eq!(
            presented_key(&h, KeyHeaders::SIGHTLINE_ONLY),
            Some("sl_e_f")
        );
    }
}
