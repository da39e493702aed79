//! OTLP/HTTP trace ingest: the real OpenTelemetry Python SDK exporting to Sightline, OTLP
//! JSON with partial success, and bad input.

use crate::support::{run_python, spawn_with_key};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn calls(
    app: &crate::support::TestApp,
) -> Vec<(
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<String>,
    Option<String>,
)> {
    sqlx::query_as(
        "SELECT id, provider, model, status, input_tokens, output_tokens, session_id, error_type
         FROM llm_calls ORDER BY model",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_python_sdk_exports_genai_spans_that_become_calls() {
    let (app, key) = spawn_with_key().await;
    let out = run_python("otlp_export.py", &[&app.url(""), &key]).await;
    let ids: Value = serde_json::from_str(out.trim()).unwrap();

    let rows = calls(&app).await;
    // Four spans were exported; the HTTP handler span is not an LLM call.
    assert_eq!(rows.len(), 3, "{rows:?}");
    let claude = &rows[0];
    assert_eq!(claude.1, "anthropic");
    assert_eq!(claude.3, "timeout");
    assert_eq!((claude.4, claude.5), (50, 5));
    assert_eq!(claude.7.as_deref(), Some("TimeoutError"));
    let gpt = &rows[1];
    assert_eq!(gpt.0, ids["chat gpt-4o-mini"].as_str().unwrap());
    assert_eq!(
        (gpt.1.as_str(), gpt.2.as_str(), gpt.3.as_str()),
        ("openai", "gpt-4o-mini", "ok")
    );
    assert_eq!((gpt.4, gpt.5), (1200, 300));
    assert_eq!(gpt.6.as_deref(), Some("otel-session"));
    let mistral = &rows[2];
    assert_eq!(
        (mistral.1.as_str(), mistral.2.as_str()),
        ("mistralai", "mistral-small-latest")
    );

    // The handler span is a request of the service, for the Apps page.
    let request: (String, String, String, i16) = sqlx::query_as(
        "SELECT service, route, method, status FROM app_requests WHERE service <> 'sightline'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        request,
        ("otel-chatbot".into(), "/chat".into(), "POST".into(), 200)
    );

    // Priced from the table (gpt-4o-mini: $0.15/M in, $0.60/M out).
    let cost: Option<i64> =
        sqlx::query_scalar("SELECT cost_total_micros FROM llm_calls WHERE model = 'gpt-4o-mini'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(cost, Some(180 + 180));

    app.shutdown().await;
}

fn json_span(span_id: &str, start_ns: i64, attrs: Value) -> Value {
    json!({
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": span_id,
        "name": "chat",
        "kind": 3,
        "startTimeUnixNano": start_ns.to_string(),
        "endTimeUnixNano": (start_ns + 400_000_000).to_string(),
        "attributes": attrs,
        "status": {}
    })
}

#[tokio::test]
async fn otlp_json_answers_partial_success_and_deduplicates() {
    let (app, key) = spawn_with_key().await;
    let now_ns = chrono::Utc::now().timestamp_nanos_opt().unwrap();
    let model = |m: &str| {
        json!([{"key": "gen_ai.request.model", "value": {"stringValue": m}},
                                 {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "10"}}])
    };
    let body = json!({"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": [
        json_span("00000000000000a1", now_ns, model("gpt-4o")),
        // Two years old: refused, the rest still stored.
        json_span("00000000000000a2", now_ns - 2 * 366 * 86_400 * 1_000_000_000, model("gpt-4o")),
        json_span("00000000000000a3", now_ns, json!([])),
    ]}]}]});
    let c = app.bare_client();
    let send = || {
        c.post(app.url("/v1/traces"))
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    let r = send().await.unwrap();
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap();
    let rejected = &answer["partialSuccess"]["rejectedSpans"];
    assert!(rejected == &json!(1) || rejected == &json!("1"), "{answer}");
    let message = answer["partialSuccess"]["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("span 1") && message.contains("time"),
        "{message}"
    );
    assert_eq!(app.call_count().await, 1);
    // The same export again: the stored span is not stored twice.
    assert_eq!(send().await.unwrap().status(), 200);
    assert_eq!(app.call_count().await, 1);
    app.shutdown().await;
}

#[tokio::test]
async fn bad_otlp_requests_get_clear_errors() {
    let (app, key) = spawn_with_key().await;
    let c = app.bare_client();
    let post = |ct: &'static str, body: &'static [u8]| {
        c.post(app.url("/v1/traces"))
            .bearer_auth(&key)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let r = post("text/plain", b"hello").await.unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let r = post("application/x-protobuf", b"\xff\xff\xff\xff")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = post("application/json", b"{\"resourceSpans\": 3}")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = c
        .post(app.url("/v1/traces"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body("not gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = c
        .post(app.url("/v1/traces"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // An empty export is fine and stores nothing.
    let r = post("application/json", b"{}").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(app.call_count().await, 0);
    app.shutdown().await;
}

#[tokio::test]
async fn a_gzip_bomb_of_empty_spans_is_refused_before_it_is_decoded() {
    use std::io::Write;
    let (app, key) = spawn_with_key().await;
    // ScopeSpans holding 200,000 empty spans (two bytes each on the wire), wrapped in one
    // ResourceSpans: 400 KB of protobuf, a few hundred bytes of gzip.
    let spans: Vec<u8> = [0x12u8, 0x00].repeat(200_000);
    let wrap = |field: u8, inner: &[u8]| {
        let mut out = vec![field];
        let mut n = inner.len();
        while n >= 0x80 {
            out.push((n as u8 & 0x7f) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
        out.extend_from_slice(inner);
        out
    };
    let body = wrap(0x0a, &wrap(0x12, &spans));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&body).unwrap();
    let gz = gz.finish().unwrap();
    assert!(gz.len() < 4096, "{}", gz.len());
    let r = app
        .bare_client()
        .post(app.url("/v1/traces"))
        .bearer_auth(&key)
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(gz)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let v: Value = r.json().await.unwrap();
    assert!(v["message"].as_str().unwrap().contains("spans"), "{v}");
    assert_eq!(app.call_count().await, 0);
    app.shutdown().await;
}
