//! One error type for every API response: a status code and a JSON body
//! `{ "error": code, "message": ..., "field": ... }`. Internal failures are logged once here
//! and shown to the client as a generic message.

use app::types::ErrorBody;
use axum::{
    extract::{rejection::JsonRejection, FromRequest},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};

use crate::ingest::{call::FieldError, pipeline::SubmitError, service::IngestError};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after_secs: None,
        }
    }

    pub fn with_field(mut self, field: &str) -> Self {
        self.field = Some(field.to_owned());
        self
    }

    /// 400 for a malformed path or query parameter.
    pub fn bad_param(field: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_field", message).with_field(field)
    }

    /// 422 for a value that parsed but is not acceptable.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.to_owned()),
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message)
        }
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "an internal error occurred; it has been logged",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(ErrorBody {
            error: self.code.to_owned(),
            message: self.message,
            field: self.field,
        });
        let mut response = (self.status, body).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, secs.max(1).into());
        }
        response
    }
}

/// A full queue or a failed commit answers the same way on every ingest route: 503 and
/// Retry-After, nothing of the batch stored.
impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> Self {
        match e {
            SubmitError::Busy => ApiError {
                retry_after_secs: Some(1),
                ..ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "the ingest queue is full; retry shortly",
                )
            },
            // The cause is logged by the writer; clients never see database errors.
            _ => ApiError {
                retry_after_secs: Some(5),
                ..ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_unavailable",
                    "nothing of this batch was stored; retry later",
                )
            },
        }
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::Submit(e) => e.into(),
            IngestError::Database(e) => e.into(),
        }
    }
}

/// A refused call's field under `prefix` (`calls[3]`), and the message that names it:
/// `("calls[3].model", "calls[3].model is required")`.
pub fn field_at(prefix: &str, e: &FieldError) -> (String, String) {
    let path = format!("{prefix}.{}", e.field);
    let message = format!("{path} {}", e.message);
    (path, message)
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "database error");
        if is_unavailable(&e) {
            return ApiError {
                retry_after_secs: Some(5),
                ..ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_unavailable",
                    "the database is unavailable; retry later",
                )
            };
        }
        Self::internal()
    }
}

/// Whether a database error means "down or overloaded, try again" rather than a bug: no
/// connection, a server shutting down or starting, out of resources, a statement timeout.
fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("53") || c.starts_with("57")),
        _ => false,
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let text = r.body_text();
        let field = field_in_serde_message(&text);
        // Every body is an object. serde reads a struct from an array too, field by field, so
        // a bare array would be refused as "[0]: invalid type: map, expected a sequence".
        if matches!(r, JsonRejection::JsonDataError(_))
            && field.as_deref().is_some_and(|f| f.starts_with('['))
        {
            return Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                "the body must be a JSON object, not an array: see /openapi.json for its fields",
            )
            .with_field("body");
        }
        let (code, field) = match &r {
            JsonRejection::JsonDataError(_) => ("invalid_field", field),
            JsonRejection::JsonSyntaxError(_) => ("invalid_json", None),
            JsonRejection::MissingJsonContentType(_) => ("unsupported_media_type", None),
            _ if r.status() == StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", None),
            _ => ("bad_request", None),
        };
        Self {
            field,
            ..Self::new(r.status(), code, text)
        }
    }
}

/// The field a JSON data error is about. axum prefixes the error with the field's path
/// ("target type: name: invalid type ..."); serde names missing or unknown fields in
/// backticks ("missing field `name`").
fn field_in_serde_message(text: &str) -> Option<String> {
    // The path axum puts before the message: "scope" in "target type: scope: unknown field".
    let path = text
        .find("target type: ")
        .map(|i| &text[i + "target type: ".len()..])
        .and_then(|rest| {
            let path = rest.split(": ").next()?;
            (!path.is_empty() && rest.contains(": ") && !path.contains(' ')).then_some(path)
        });
    if let Some(start) = text.find("field `").map(|i| i + "field `".len()) {
        let len = text[start..].find('`')?;
        let name = &text[start..start + len];
        // axum's path may already end with the field ("scope.team: unknown field `team`").
        return Some(match path {
            Some(p) if p == name || p.ends_with(&format!(".{name}")) => p.to_owned(),
            Some(p) => format!("{p}.{name}"),
            None => name.to_owned(),
        });
    }
    path.map(str::to_owned)
}

/// `Json` whose rejections are [`ApiError`]s (JSON bodies, not plain text).
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_are_503_with_retry_after_and_bugs_are_500() {
        let down = ApiError::from(sqlx::Error::PoolTimedOut);
        assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(down.retry_after_secs, Some(5));
        let bug = ApiError::from(sqlx::Error::RowNotFound);
        assert_eq!(bug.status, StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn finds_field_names_in_serde_messages() {
        assert_eq!(
            field_in_serde_message("Failed: missing field `name` at line 1 column 2").as_deref(),
            Some("name")
        );
        assert_eq!(
            field_in_serde_message(
                "Failed to deserialize the JSON body into the target type: name: invalid type: integer `5`"
            )
            .as_deref(),
            Some("name")
        );
        assert_eq!(field_in_serde_message("expected value"), None);
        assert_eq!(
            field_in_serde_message(
                "Failed to deserialize the JSON body into the target type: scope.team: unknown field `team`, expected one of `provider`"
            )
            .as_deref(),
            Some("scope.team")
        );
    }
}
