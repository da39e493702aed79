//! `GET /api/v1/openapi.json`: the API's OpenAPI 3.1 description, generated from each
//! handler's `#[utoipa::path]` and the wire types' derived schemas, so it cannot drift from
//! the code. Errors are described once: every operation's `default` answer is [`ErrorBody`].

use std::sync::LazyLock;

use app::types::{ErrorBody, ExportFormat, ExportKind, ProcessSort};
use axum::{http::header, response::IntoResponse};
use serde_json::Value;
use utoipa::{
    openapi::{
        schema::Ref,
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
        ContentBuilder, RefOr, ResponseBuilder,
    },
    Modify, OpenApi,
};

use super::{
    alerts, analytics, apps, bench, browser, budgets, calls, database, events, feedback, gpu, keys,
    login, models, prices, principal::SESSION_COOKIE, providers, rate_limits, reports, schedules,
    sessions, stream, system, users, workers,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sightline API",
        description = "Sightline's versioned API: LLM call telemetry, analytics, budgets, \
            alerts, system, application, browser and database monitoring. Writes need an API \
            key with the right scope or a logged-in session; every error answers with \
            `ErrorBody` (a stable code, a message and the offending field)."
    ),
    paths(
        openapi_json,
        login::login_json,
        login::logout_json,
        login::me,
        keys::list,
        keys::create,
        keys::revoke,
        calls::list,
        calls::ingest,
        events::ingest,
        prices::list,
        prices::create,
        prices::unpriced,
        prices::recost,
        prices::recosts,
        budgets::list,
        budgets::create,
        budgets::events,
        budgets::check,
        budgets::reserve,
        budgets::series,
        budgets::get,
        budgets::update,
        budgets::delete,
        alerts::list_rules,
        alerts::create_rule,
        alerts::get_rule,
        alerts::update_rule,
        alerts::delete_rule,
        alerts::rule_series,
        alerts::metrics,
        alerts::status,
        alerts::history,
        alerts::list_silences,
        alerts::create_silence,
        alerts::end_silence,
        alerts::list_channels,
        alerts::create_channel,
        alerts::update_channel,
        alerts::delete_channel,
        alerts::test_channel,
        alerts::deliveries,
        alerts::notices,
        alerts::mark_read,
        rate_limits::get,
        rate_limits::put,
        analytics::aggregate,
        analytics::overview,
        reports::export,
        schedules::list,
        schedules::create,
        schedules::delete,
        schedules::send_now,
        bench::list,
        bench::start,
        bench::models,
        bench::get,
        bench::cancel,
        bench::delete,
        sessions::list,
        sessions::detail,
        sessions::delete,
        providers::list,
        providers::records,
        providers::put,
        providers::delete,
        system::hosts,
        system::host,
        system::metrics,
        system::processes,
        system::gpus,
        system::ingest,
        apps::ingest,
        apps::overview,
        browser::ingest,
        browser::overview,
        database::overview,
        feedback::feedback,
        models::health,
        users::users,
        gpu::bindings,
        gpu::put_binding,
        gpu::delete_binding,
        gpu::attribution,
        workers::heartbeats,
        workers::overview,
        workers::delete,
        stream::stream,
    ),
    // Types only query parameters name are not collected from the operations.
    components(schemas(ErrorBody, ExportFormat, ExportKind, ProcessSort)),
    modifiers(&Credentials, &ErrorAnswers),
    tags(
        (name = "meta", description = "This description"),
        (name = "auth", description = "Logging in and out; who is calling"),
        (name = "keys", description = "API keys for machines"),
        (name = "llm", description = "LLM calls and call events"),
        (name = "prices", description = "Model prices and recosting"),
        (name = "budgets", description = "Budgets, their checks and reservations"),
        (name = "alerts", description = "Alert rules, silences, channels and notices"),
        (name = "rate-limits", description = "Per-key and per-user rate limits"),
        (name = "analytics", description = "Aggregated cost, tokens and latency"),
        (name = "reports", description = "CSV, JSON and PDF exports"),
        (name = "benchmarks", description = "Model benchmark runs"),
        (name = "sessions", description = "Sessions of calls"),
        (name = "providers", description = "Proxy providers and their records"),
        (name = "system", description = "Hosts, system metrics and GPUs"),
        (name = "apps", description = "Application requests"),
        (name = "browser", description = "Web Vitals and JavaScript errors"),
        (name = "database", description = "Sightline's own database pools and statements"),
        (name = "gpu", description = "Per-request GPU attribution"),
        (name = "workers", description = "AI workers' heartbeats and states"),
        (name = "live", description = "Server-sent events"),
    )
)]
pub struct ApiDoc;

/// The two ways to authenticate: an API key (its scopes are listed per operation) or the
/// UI's session cookie.
struct Credentials;

impl Modify for Credentials {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key (`sl_…`) as `Authorization: Bearer <key>` or in the \
                         `x-sightline-key` header. Its scopes: ingest, read, browser.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                SESSION_COOKIE,
                "The session cookie set by POST /api/v1/auth/login.",
            ))),
        );
    }
}

/// Every operation's `default` answer: any error status with an [`ErrorBody`].
struct ErrorAnswers;

impl Modify for ErrorAnswers {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let answer = ResponseBuilder::new()
            .description(
                "An error: 4xx for the request (the body names the field and why), 503 with \
                 Retry-After when storage is busy or down",
            )
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build();
        for item in doc.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in operations.into_iter().flatten() {
                op.responses
                    .responses
                    .insert("default".into(), RefOr::T(answer.clone()));
            }
        }
    }
}

/// The document, built and serialised once.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    let doc = serde_json::to_value(ApiDoc::openapi()).map(open_composed_parts);
    doc.and_then(|d| serde_json::to_string(&d))
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "the OpenAPI document did not serialise");
            String::from("{}")
        })
});

/// Reopens the schemas that are parts of an `allOf`: a type that denies unknown fields
/// (`additionalProperties: false`) but is a tagged enum's variant or a flattened part gets
/// the other part's properties beside its own, which a closed schema would refuse.
fn open_composed_parts(mut doc: Value) -> Value {
    let mut parts = Vec::new();
    collect_all_of_refs(&doc["components"], false, &mut parts);
    if let Some(schemas) = doc["components"]["schemas"].as_object_mut() {
        for name in parts {
            if let Some(Value::Object(schema)) = schemas.get_mut(&name) {
                schema.remove("additionalProperties");
            }
        }
    }
    doc
}

/// Names of the component schemas referenced inside an `allOf`.
fn collect_all_of_refs(v: &Value, in_all_of: bool, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) if in_all_of => {
                        if let Some(name) = r.strip_prefix("#/components/schemas/") {
                            out.push(name.to_owned());
                        }
                    }
                    _ => collect_all_of_refs(v, in_all_of || k == "allOf", out),
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|v| collect_all_of_refs(v, in_all_of, out)),
        _ => {}
    }
}

/// `GET /api/v1/openapi.json`: this API's OpenAPI 3.1 description, for client generators
/// and validators. Public: it holds no data, only the shapes.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    operation_id = "openapi",
    summary = "This API description",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")),
    security(())
)]
pub async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parts_of_an_all_of_are_reopened_and_others_stay_closed() {
        let doc = json!({"components": {"schemas": {
            "Event": {"oneOf": [{"allOf": [{"$ref": "#/components/schemas/Started"},
                {"type": "object", "properties": {"type": {"type": "string"}}}]}]},
            "Started": {"type": "object", "additionalProperties": false},
            "Alone": {"type": "object", "additionalProperties": false}
        }}});
        let doc = open_composed_parts(doc);
        let schemas = &doc["components"]["schemas"];
        assert!(schemas["Started"].get("additionalProperties").is_none());
        assert_eq!(schemas["Alone"]["additionalProperties"], false);
    }

    #[test]
    fn operation_ids_are_unique_and_every_operation_has_a_summary() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let mut ids = std::collections::BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let id = op["operationId"].as_str().unwrap().to_owned();
                assert!(
                    ids.insert(id.clone()),
                    "{method} {path}: {id} is used twice"
                );
                let summary = op["summary"].as_str().unwrap_or("");
                assert!(
                    !summary.is_empty() && !summary.starts_with('`'),
                    "{method} {path}"
                );
            }
        }
        assert!(ids.len() >= 60);
    }
}
