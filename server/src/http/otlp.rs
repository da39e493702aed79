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

use super::{error::ApiError, principal::Principal};
use crate::{
    ingest::{call::IdPolicy, otlp},
    state::AppState,
};

/// Spans in one export at most (413 beyond); the SDKs send 512 by default.
pub const MAX_SPANS: usize = 10_000;
/// Body limit as sent (possibly compressed).
pub const MAX_WIRE_BYTES: usize = 8 * 1024 * 1024;
/// Body limit after decompression: a small gzip body cannot inflate past this.
pub const MAX_BODY_BYTES: u64 = 32 * 1024 * 1024;

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
                    "the inflated body is larger than 32 MiB",
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

pub async fn traces(
    principal: Principal,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let enc = encoding(&headers)?;
    let body = decoded_body(&headers, body)?;
    let request = match enc {
        Encoding::Protobuf => ExportTraceServiceRequest::decode(body).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_protobuf",
                format!("not an OTLP ExportTraceServiceRequest: {e}"),
            )
        })?,
        Encoding::Json => {
            let bad = |e: serde_json::Error| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_json",
                    format!("not an OTLP ExportTraceServiceRequest: {e}"),
                )
            };
            let mut v: serde_json::Value = serde_json::from_slice(&body).map_err(bad)?;
            // Protobuf's JSON mapping omits empty fields, the top-level list included.
            if let Some(obj) = v.as_object_mut() {
                obj.entry("resourceSpans")
                    .or_insert_with(|| serde_json::Value::Array(Vec::new()));
            }
            serde_json::from_value(v).map_err(bad)?
        }
    };
    let span_count: usize = request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum();
    if span_count > MAX_SPANS {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!("at most {MAX_SPANS} spans per export; lower the exporter's batch size"),
        ));
    }

    let mapped = otlp::map_request(&request);
    drop(request);
    let (indexes, inputs): (Vec<usize>, Vec<_>) = mapped.calls.into_iter().unzip();
    let accepted = state
        .ingest
        .accept(inputs, IdPolicy::Generate, principal.api_key_id());
    let rejected = accepted.rejected.len();
    let first_error = accepted
        .rejected
        .first()
        .map(|(i, e)| format!("span {}: {} {}", indexes[*i], e.field, e.message));
    let stored = state.ingest.store(accepted.calls).await?;
    tracing::debug!(
        spans = span_count,
        skipped = mapped.skipped,
        rejected,
        inserted = stored.inserted,
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
