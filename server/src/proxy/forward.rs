//! The proxy handler: `ANY /proxy/{provider}/{*path}`, in steps: find the provider,
//! authenticate, prepare the upstream request, send it, and answer with what came back.
//!
//! Clients authenticate with a Sightline API key (Bearer, `x-api-key` or `x-sightline-key`);
//! Sightline then sends the provider's key, so that key never leaves the server. A provider
//! set to pass-through forwards the client's own key and takes the Sightline key from
//! `x-sightline-key` only. Upstream answers, errors included, reach the client unchanged,
//! except the usage-only stream chunk that the proxy itself asked for.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use app::types::{CallStatus, ProviderKind};
use axum::{
    body::{Body, Bytes},
    extract::{Path, Request, State},
    http::{header, request::Parts, HeaderMap, Method, StatusCode},
    response::Response,
};
use chrono::Utc;
use futures_util::StreamExt;
use serde_json::Value;

use super::{
    access::{authenticate, proxy_error, refused},
    endpoints::{self, Endpoint},
    record::{answered, failure, label, record, tag, trace_id, Draft},
    rewrite,
    tap::Tap,
    usage::{self, StreamTally},
};
use crate::{
    budgets::{self, rate_limits::add_headers},
    domain::{
        budget::{worst_case, Facts},
        pricing::find_price,
        provider::Provider,
        rate_limit::Verdict,
    },
    http::budgets::refusal_message,
    metrics::UpstreamError,
    state::AppState,
};

/// Largest request body forwarded.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Largest whole (not streamed) answer relayed; it is held in memory to read its usage.
const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;
/// How long an upstream may take to send its response headers.
const HEADERS_TIMEOUT: Duration = Duration::from_secs(600);

/// The request as it will go upstream, and the record it will make.
struct Prepared {
    url: url::Url,
    body: Bytes,
    draft: Draft,
    /// Hide the usage-only chunk the proxy asked an OpenAI stream for.
    hide_usage_chunk: bool,
    /// Whether the endpoint is a model call worth recording.
    records: bool,
    /// The output cap the request sets (`max_tokens` and its aliases).
    max_output_tokens: Option<u64>,
}

pub async fn forward(
    State(state): State<AppState>,
    Path((name, _)): Path<(String, String)>,
    req: Request,
) -> Response {
    let started = Instant::now();
    let Some(provider) = state.provider(&name) else {
        return unknown_provider(&state, &name, req.headers()).await;
    };
    let kind = provider.kind;
    // The path as sent, still encoded: checked before anything decodes or joins it.
    let raw_path = req
        .uri()
        .path()
        .strip_prefix("/proxy/")
        .and_then(|rest| rest.split_once('/'))
        .map_or("", |(_, p)| p)
        .to_owned();
    let endpoint = match endpoints::route(kind, &raw_path, req.method()) {
        Ok(e) => e,
        Err(refusal) => return refused(kind, &raw_path, refusal),
    };
    let (parts, body) = req.into_parts();
    let api_key_id = match authenticate(&state, kind, provider.pass_through, &parts.headers).await {
        Ok(id) => id,
        Err(response) => return response,
    };
    proxied(
        &state,
        &provider,
        endpoint,
        parts,
        body,
        Some(api_key_id),
        started,
    )
    .await
}

/// The way to a provider for a caller already authenticated (`api_key_id` is its key, None
/// for Sightline's own calls): prepare, admit against rate limits and budgets, send, and
/// record. The handler and the benchmark runner both go this way, so a benchmark call is
/// limited, budgeted and recorded as any proxied call is.
pub async fn proxied(
    state: &AppState,
    provider: &Arc<Provider>,
    endpoint: Endpoint,
    parts: Parts,
    body: Body,
    api_key_id: Option<i64>,
    started: Instant,
) -> Response {
    let kind = provider.kind;
    let mut prepared = match prepare(provider, endpoint, &parts, body, api_key_id, started).await {
        Ok(p) => p,
        Err(response) => return response,
    };
    let mut limited = None;
    if prepared.records {
        match admit(state, kind, &prepared).await {
            Ok((reservation, verdict)) => {
                prepared.draft.id = reservation;
                limited = Some(verdict);
            }
            Err(response) => return response,
        }
    }
    let mut response = send(state, provider, parts, prepared).await;
    if let Some(v) = limited {
        add_headers(response.headers_mut(), &v);
    }
    response
}

/// How long a proxied call's reservation is held at most: the longest an answer may take to
/// start, plus a long stream.
const RESERVATION_TTL: chrono::Duration = chrono::Duration::minutes(30);

/// Lets a model call through its rate limits (counted in memory) and then holds its worst
/// case against the hard budgets in its scope: the reservation id (the call's id, so
/// storing the call settles it) and the rate-limit figures for the answer's headers, or the
/// 429 that refuses it. Without a hard budget in scope nothing is asked of the database.
async fn admit(
    state: &AppState,
    kind: ProviderKind,
    p: &Prepared,
) -> Result<(Option<String>, Verdict), Response> {
    let d = &p.draft;
    let facts = Facts {
        provider: &d.provider,
        model: &d.model,
        feature: d.feature.as_deref(),
        user: d.user_id.as_deref(),
        api_key_id: d.api_key_id,
    };
    let prices = state.ingest.prices();
    let price = find_price(&prices, &d.provider, &d.model, d.time);
    let worst = worst_case(
        usage::estimate_tokens(d.prompt_chars),
        p.max_output_tokens,
        price,
    );
    let verdict = state
        .rate_limits
        .check(&facts, u64::try_from(worst.tokens).unwrap_or(0));
    if let Some(wait) = verdict.retry_after {
        let mut response = proxy_error(
            kind,
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_exceeded",
            &format!("Sightline's rate limit for this call is reached; retry in {wait} s"),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, wait.into());
        add_headers(response.headers_mut(), &verdict);
        return Err(response);
    }
    match budgets::reserve(
        &state.pool,
        &state.budgets,
        &facts,
        worst,
        RESERVATION_TTL,
        d.time,
    )
    .await
    {
        Ok(Ok(id)) => Ok((id, verdict)),
        Ok(Err(refusal)) => {
            let b = refusal.budget;
            let wait = (b.resets_at - Utc::now()).num_seconds().max(1);
            let mut response = proxy_error(
                kind,
                StatusCode::TOO_MANY_REQUESTS,
                "budget_exceeded",
                &refusal_message(&b),
            );
            let h = response.headers_mut();
            h.insert(header::RETRY_AFTER, wait.into());
            // The OpenAI and Anthropic SDKs honour this: retrying before the reset is futile.
            h.insert("x-should-retry", header::HeaderValue::from_static("false"));
            Err(response)
        }
        // A hard budget cannot be checked: refuse rather than spend blind.
        Err(e) => {
            tracing::warn!(error = %e, "budget reservation failed");
            let mut response = proxy_error(
                kind,
                StatusCode::SERVICE_UNAVAILABLE,
                "budget_unavailable",
                "a hard budget applies to this call and cannot be checked now; retry shortly",
            );
            response.headers_mut().insert(header::RETRY_AFTER, 5.into());
            Err(response)
        }
    }
}

/// Only a caller with a valid key learns that a provider does not exist.
async fn unknown_provider(state: &AppState, name: &str, headers: &HeaderMap) -> Response {
    if let Err(refused) = authenticate(state, ProviderKind::OpenAi, false, headers).await {
        return refused;
    }
    proxy_error(
        ProviderKind::OpenAi,
        StatusCode::NOT_FOUND,
        "unknown_provider",
        &format!("no provider named '{name}' is configured in Sightline"),
    )
}

/// Reads the body, notes what the record needs, and builds the upstream URL and body.
async fn prepare(
    provider: &Provider,
    endpoint: Endpoint,
    parts: &Parts,
    body: Body,
    api_key_id: Option<i64>,
    started: Instant,
) -> Result<Prepared, Response> {
    let kind = provider.kind;
    let path = endpoint.path();
    let path = path.as_str();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return Err(proxy_error(
            kind,
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "the request body is larger than 16 MiB",
        ));
    };
    let mut json: Option<Value> = (parts.method == Method::POST && !body.is_empty())
        .then(|| serde_json::from_slice(&body).ok())
        .flatten();
    let stream = json
        .as_ref()
        .and_then(|v| v.get("stream"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let max_output_tokens = json.as_ref().and_then(|v| {
        ["max_tokens", "max_completion_tokens", "max_output_tokens"]
            .iter()
            .find_map(|k| v.get(*k).and_then(Value::as_u64))
    });
    let draft = Draft {
        id: None,
        provider: provider.name.clone(),
        endpoint: path.to_owned(),
        model: label(
            json.as_ref()
                .and_then(|v| v.get("model"))
                .and_then(Value::as_str)
                .unwrap_or(""),
        ),
        stream,
        prompt_chars: json.as_ref().map(usage::prompt_chars).unwrap_or(0),
        time: Utc::now(),
        started,
        session_id: tag(&parts.headers, "x-sightline-session"),
        user_id: tag(&parts.headers, "x-sightline-user"),
        feature: tag(&parts.headers, "x-sightline-feature"),
        trace_id: trace_id(&parts.headers),
        api_key_id,
    };
    let (body, hide_usage_chunk) = match json.as_mut() {
        Some(v) if stream => rewrite::ask_stream_usage(kind, path, v, body),
        _ => (body, false),
    };
    let Some(mut url) = endpoints::upstream_url(&provider.base_url, &endpoint) else {
        return Err(proxy_error(
            kind,
            StatusCode::BAD_REQUEST,
            "bad_path",
            "the path is not valid",
        ));
    };
    url.set_query(parts.uri.query());
    Ok(Prepared {
        url,
        body,
        draft,
        hide_usage_chunk,
        records: endpoint.records,
        max_output_tokens,
    })
}

/// Sends the request upstream and answers with what comes back, recording the exchange.
async fn send(state: &AppState, provider: &Arc<Provider>, parts: Parts, p: Prepared) -> Response {
    let kind = provider.kind;
    let name = &provider.name;
    let ingest = &state.ingest;
    let metrics = &state.metrics;
    let sent = Instant::now();
    let request = state
        .http_client
        .request(parts.method.clone(), p.url)
        .headers(rewrite::upstream_headers(&parts.headers, provider))
        .body(p.body)
        .send();
    let answer = tokio::select! {
        answer = tokio::time::timeout(HEADERS_TIMEOUT, request) => answer,
        () = state.stopping() => {
            let message = "Sightline is stopping; retry shortly";
            if p.records {
                let o = failure(CallStatus::Cancelled, "server_stopping", message, None);
                record(ingest, p.draft, o);
            }
            return proxy_error(kind, StatusCode::SERVICE_UNAVAILABLE, "server_stopping", message);
        }
    };
    let upstream = match answer {
        Ok(Ok(r)) => {
            metrics.upstream_answered(name, sent.elapsed().as_secs_f64());
            r
        }
        Ok(Err(e)) => {
            let (status, code, call_status, error) = if e.is_timeout() {
                (
                    StatusCode::GATEWAY_TIMEOUT,
                    "upstream_timeout",
                    CallStatus::Timeout,
                    UpstreamError::Timeout,
                )
            } else {
                (
                    StatusCode::BAD_GATEWAY,
                    "upstream_unreachable",
                    CallStatus::Error,
                    UpstreamError::Unreachable,
                )
            };
            metrics.upstream_failed(name, error);
            let message = format!("provider '{name}' could not be reached");
            tracing::warn!(provider = %name, error = %e, "{message}");
            if p.records {
                record(ingest, p.draft, failure(call_status, code, &message, None));
            }
            return proxy_error(kind, status, code, &message);
        }
        Err(_) => {
            metrics.upstream_failed(name, UpstreamError::Timeout);
            let message = format!("provider '{name}' sent no answer within 600 s");
            if p.records {
                let o = failure(CallStatus::Timeout, "upstream_timeout", &message, None);
                record(ingest, p.draft, o);
            }
            return proxy_error(
                kind,
                StatusCode::GATEWAY_TIMEOUT,
                "upstream_timeout",
                &message,
            );
        }
    };

    let status = upstream.status();
    let headers = rewrite::client_headers(upstream.headers());
    let is_event_stream = upstream
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/event-stream"));

    let body = if is_event_stream && status.is_success() {
        Body::from_stream(Tap::new(
            upstream.bytes_stream().boxed(),
            StreamTally::new(kind, p.hide_usage_chunk),
            p.records.then(|| (ingest.clone(), p.draft)),
            status.as_u16(),
            Box::pin(state.stopping()),
        ))
    } else {
        let bytes = match read_capped(upstream, MAX_ANSWER_BYTES).await {
            Ok(b) => b,
            Err(e) => {
                metrics.upstream_failed(name, UpstreamError::Cut);
                let message = format!("the answer from provider '{name}' was cut off or too large");
                tracing::warn!(provider = %name, error = %e, "{message}");
                if p.records {
                    let mut o = failure(CallStatus::Error, "stream_cut", &message, None);
                    o.http_status = Some(status.as_u16());
                    record(ingest, p.draft, o);
                }
                return proxy_error(kind, StatusCode::BAD_GATEWAY, "upstream_cut", &message);
            }
        };
        if p.records {
            record(ingest, p.draft, answered(kind, status, &bytes));
        }
        Body::from(bytes)
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// The whole body, or an error once it passes `cap` bytes.
async fn read_capped(mut upstream: reqwest::Response, cap: usize) -> Result<Bytes, String> {
    let mut out = Vec::new();
    while let Some(chunk) = upstream.chunk().await.map_err(|e| e.to_string())? {
        if out.len() + chunk.len() > cap {
            return Err(format!("larger than {} MiB", cap / (1024 * 1024)));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(out))
}
