//! `POST /v1/traces`: OTLP/HTTP trace export, protobuf or JSON, optionally gzip-compressed.
//!
//! Spans that describe LLM calls (see [`crate::ingest::otlp`]) are validated like native
//! calls and stored through the same pipeline; other spans are skipped. Unlike the native
//! API this answers per span, as OTLP expects: invalid spans are counted in
//! `partialSuccess.rejectedSpans` with the first reason, and the valid ones are stored.

use axum::{
    body::Bytes,
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;

use super::{error::ApiError, principal::Ingester};
use crate::{
    ingest::{
        call::IdPolicy,
        otlp,
        otlp_census::{census, CensusError, Limits},
    },
    state::AppState,
};

/// Spans in one export at most (413 beyond); the SDKs send 512 by default.
pub const MAX_SPANS: usize = 10_000;
/// Body limit as sent (possibly compressed).
pub const MAX_WIRE_BYTES: usize = 8 * 1024 * 1024;
/// Body limit after decompression: a small gzip body cannot inflate past this.
pub const MAX_BODY_BYTES: u64 = 16 * 1024 * 1024;
/// Nested messages (attributes, values, events, links) in one export at most: what decoding
/// allocates is bounded by this before anything is decoded.
pub const MAX_MESSAGES: usize = 1_000_000;
/// Exports inflated and decoded at once; more wait, so decoding never takes every core or
/// holds more than this many bodies in memory.
const CONCURRENT_DECODES: usize = 2;

fn decode_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| tokio::sync::Semaphore::new(CONCURRENT_DECODES))
}

/// The body as the exporter meant it: inflated when it says `Content-Encoding: gzip`.
fn decoded_body(headers: &HeaderMap, body: Bytes) -> Result<Bytes, ApiError> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("identity") | Some("") => Ok(body),
        Some("gzip") => {
            use std::io::Read;
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&body[..])
                .take(MAX_BODY_BYTES + 1)
                .read_to_end(&mut out)
                .map_err(|e| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_gzip",
                        format!("the gzip body cannot be inflated: {e}"),
                    )
                })?;
            if out.len() as u64 > MAX_BODY_BYTES {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    "the inflated body is larger than 16 MiB",
                ));
            }
            Ok(Bytes::from(out))
        }
        Some(other) => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_encoding",
            format!("Content-Encoding '{other}' is not supported; use gzip or none"),
        )),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Protobuf,
    Json,
}

fn encoding(headers: &HeaderMap) -> Result<Encoding, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim();
    match mime.to_ascii_lowercase().as_str() {
        "application/x-protobuf" | "application/protobuf" => Ok(Encoding::Protobuf),
        "application/json" => Ok(Encoding::Json),
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send OTLP as application/x-protobuf or application/json",
        )),
    }
}

/// The export decoded; a protobuf body is counted on the wire first, so one that would
/// decode into too many spans or values is refused before it is decoded.
fn decode(enc: Encoding, body: &[u8]) -> Result<ExportTraceServiceRequest, ApiError> {
    let too_large = |what: String| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!("{what} per export at most; lower the exporter's batch size"),
        )
    };
    let request = match enc {
        Encoding::Protobuf => {
            let limits = Limits {
                spans: MAX_SPANS,
                messages: MAX_MESSAGES,
                depth: 32,
            };
            census(body, &limits).map_err(|e| match e {
                CensusError::TooManySpans(n) => too_large(format!("{n} spans")),
                CensusError::TooManyMessages(n) => too_large(format!("{n} attributes and values")),
                e => ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_protobuf",
                    format!("not an OTLP ExportTraceServiceRequest: {e}"),
                ),
            })?;
            ExportTraceServiceRequest::decode(body).map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_protobuf",
                    format!("not an OTLP ExportTraceServiceRequest: {e}"),
                )
            })?
        }
        Encoding::Json => {
            let bad = |e: serde_json::Error| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_json",
                    format!("not an OTLP ExportTraceServiceRequest: {e}"),
                )
            };
            let mut v: serde_json::Value = serde_json::from_slice(body).map_err(bad)?;
            // Protobuf's JSON mapping omits empty fields, the top-level list included.
            if let Some(obj) = v.as_object_mut() {
                obj.entry("resourceSpans")
                    .or_insert_with(|| serde_json::Value::Array(Vec::new()));
            }
            serde_json::from_value(v).map_err(bad)?
        }
    };
    let spans: usize = request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum();
    if spans > MAX_SPANS {
        return Err(too_large(format!("{MAX_SPANS} spans")));
    }
    Ok(request)
}

pub async fn traces(
    Ingester(principal): Ingester,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let enc = encoding(&headers)?;
    // Inflating and decoding are CPU work off the async threads, a few at a time; the
    // decoded request is dropped as soon as it is mapped, before the commit is awaited.
    let _slot = decode_slots()
        .acquire()
        .await
        .map_err(|_| ApiError::internal())?;
    let mapped = tokio::task::spawn_blocking(move || {
        let body = decoded_body(&headers, body)?;
        decode(enc, &body).map(|request| otlp::map_request(&request))
    })
    .await
    .map_err(|_| ApiError::internal())??;
    drop(_slot);
    let (indexes, inputs): (Vec<usize>, Vec<_>) = mapped.calls.into_iter().unzip();
    let accepted = state
        .ingest
        .accept(inputs, IdPolicy::Generate, principal.api_key_id());
    let rejected = accepted.rejected.len();
    let first_error = accepted
        .rejected
        .first()
        .map(|(i, e)| format!("span {}: {} {}", indexes[*i], e.field, e.message));
    let stored = state
        .ingest
        .store(accepted.calls, crate::metrics::CallSource::Otlp)
        .await?;
    // Server spans: requests of the service. A bad one is rejected like a bad call.
    let now = chrono::Utc::now();
    let oldest = now - state.config.system.retention.raw;
    let mut requests = Vec::with_capacity(mapped.requests.len());
    let mut rejected_requests = Vec::new();
    for (i, r) in &mapped.requests {
        match crate::domain::app_request::check(r, now, oldest) {
            Ok(ok) => requests.push(ok),
            Err(e) => rejected_requests.push(format!("span {i}: {} {}", e.field, e.message)),
        }
    }
    state.apps.write(&requests).await?;
    let rejected = rejected + rejected_requests.len();
    let first_error = first_error.or_else(|| rejected_requests.into_iter().next());
    tracing::debug!(
        skipped = mapped.skipped,
        rejected,
        inserted = stored.inserted,
        requests = requests.len(),
        "otlp export"
    );
    let answer = ExportTraceServiceResponse {
        partial_success: (rejected > 0).then(|| ExportTracePartialSuccess {
            rejected_spans: rejected as i64,
            error_message: first_error.unwrap_or_default(),
        }),
    };
    Ok(match enc {
        Encoding::Protobuf => (
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            answer.encode_to_vec(),
        )
            .into_response(),
        Encoding::Json => axum::Json(answer).into_response(),
    })
}
