//! The LLM proxy against a local stand-in upstream: the real openai and anthropic SDKs,
//! the three ways servers report stream usage, errors passed through, cut-off streams, key
//! handling, and provider configuration.

use crate::support::{run_python, spawn_app, spawn_app_with, upstream, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[derive(Debug, sqlx::FromRow)]
struct Row {
    provider: String,
    model: String,
    response_model: Option<String>,
    status: String,
    error_type: Option<String>,
    http_status: Option<i16>,
    input_tokens: i64,
    output_tokens: i64,
    cached_tokens: i64,
    ttft_ms: Option<f64>,
    session_id: Option<String>,
    feature: Option<String>,
    api_key_id: Option<i64>,
    metadata: Value,
}

async fn rows(app: &TestApp) -> Vec<Row> {
    sqlx::query_as(
        "SELECT provider, model, response_model, status, error_type, http_status, input_tokens,
                output_tokens, cached_tokens, ttft_ms, session_id, feature, api_key_id, metadata
         FROM llm_calls ORDER BY received_at, time",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

async fn add_provider(app: &TestApp, name: &str, body: Value) -> Value {
    let r = app
        .client
        .put(app.url(&format!("/api/v1/providers/{name}")))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    r.json().await.unwrap()
}

/// An app with providers `oai` (OpenAI dialect) and `claude` (Anthropic) on one upstream.
async fn setup() -> (TestApp, upstream::Upstream, i64, String) {
    let up = upstream::start().await;
    let app = spawn_app().await;
    app.login().await;
    add_provider(
        &app,
        "oai",
        json!({"kind": "openai", "base_url": up.url(), "api_key": "sk-upstream-secret-1234"}),
    )
    .await;
    add_provider(
        &app,
        "claude",
        json!({"kind": "anthropic", "base_url": up.url(), "api_key": "ant-upstream-secret"}),
    )
    .await;
    let (key_id, key) = app.create_key("proxy").await;
    (app, up, key_id, key)
}

#[tokio::test]
async fn the_openai_sdk_works_through_the_proxy_and_every_call_is_recorded() {
    let (app, up, key_id, key) = setup().await;
    let base = app.url("/proxy/oai/v1");
    let out = run_python("openai_client.py", &[&base, &key, "openai-small"]).await;
    let seen: Value = serde_json::from_str(out.trim()).unwrap();
    let text = upstream::WORDS.concat();
    assert_eq!(seen["plain"]["content"], text);
    assert_eq!(seen["stream"]["content"], text);
    // The proxy asked for usage; the client did not, so it never saw the usage chunk.
    assert_eq!(seen["stream"]["usage_chunks"], 0);
    assert_eq!(seen["stream"]["empty_choice_chunks"], 0);
    assert_eq!(seen["stream_with_usage"]["completion_tokens"], 4);
    assert_eq!(seen["embedding_len"], 2);
    assert_eq!(seen["models"], json!(["openai-small"]));
    assert_eq!(seen["ratelimited"]["status"], 429);
    assert_eq!(seen["ratelimited"]["message"], "Rate limit reached");

    // The upstream saw the provider's key, never the Sightline key, nor Sightline's tags.
    let (_, headers, _) = up.seen.last();
    assert_eq!(headers["authorization"], "Bearer sk-upstream-secret-1234");
    assert!(headers.get("x-sightline-session").is_none());

    // plain, stream, stream with usage, embeddings, the 429: five calls; listing models is
    // not a call.
    app.wait_for_calls(5).await;
    let rows = rows(&app).await;
    assert_eq!(rows.len(), 5, "{rows:#?}");
    for r in &rows {
        assert_eq!(r.provider, "oai");
        assert_eq!(r.api_key_id, Some(key_id));
        assert_eq!(r.session_id.as_deref(), Some("sdk-session"));
        assert_eq!(r.feature.as_deref(), Some("sdk-test"));
    }
    let plain = &rows[0];
    assert_eq!(
        (plain.status.as_str(), plain.http_status),
        ("ok", Some(200))
    );
    assert_eq!(
        (plain.input_tokens, plain.output_tokens, plain.cached_tokens),
        (11, 4, 3)
    );
    assert_eq!(plain.response_model.as_deref(), Some("openai-small-0001"));
    for streamed in &rows[1..3] {
        assert_eq!(
            (streamed.input_tokens, streamed.output_tokens),
            (11, 4),
            "{streamed:?}"
        );
        assert!(streamed.ttft_ms.is_some());
        assert_eq!(streamed.metadata["stream"], true);
        assert!(streamed.metadata.get("usage_estimated").is_none());
    }
    assert_eq!(rows[3].model, "text-embedding-3-small");
    assert_eq!(rows[3].input_tokens, 5);
    let limited = &rows[4];
    assert_eq!(
        (limited.status.as_str(), limited.http_status),
        ("error", Some(429))
    );
    assert_eq!(limited.error_type.as_deref(), Some("http_429"));
    app.shutdown().await;
}

#[tokio::test]
async fn the_anthropic_sdk_works_through_the_proxy() {
    let (app, up, _, key) = setup().await;
    let out = run_python("anthropic_client.py", &[&app.url("/proxy/claude"), &key]).await;
    let seen: Value = serde_json::from_str(out.trim()).unwrap();
    let text = upstream::WORDS.concat();
    assert_eq!(seen["plain"]["text"], text);
    assert_eq!(seen["stream"]["text"], text);
    assert_eq!(seen["stream"]["output_tokens"], 6);
    assert_eq!(seen["stream"]["saw_message_start"], true);
    assert_eq!(seen["stream"]["saw_message_stop"], true);
    let (_, headers, _) = up.seen.last();
    assert_eq!(headers["x-api-key"], "ant-upstream-secret");
    assert!(headers.get("anthropic-version").is_some());

    app.wait_for_calls(2).await;
    for r in rows(&app).await {
        assert_eq!(r.provider, "claude");
        assert_eq!(r.status, "ok");
        // input_tokens excludes cache reads at Anthropic; Sightline's includes them.
        assert_eq!(
            (r.input_tokens, r.cached_tokens, r.output_tokens),
            (42, 30, 6),
            "{r:?}"
        );
    }
    app.shutdown().await;
}

async fn stream_raw(app: &TestApp, key: &str, model: &str) -> (StatusCode, String) {
    let r = app
        .bare_client()
        .post(app.url("/proxy/oai/v1/chat/completions"))
        .bearer_auth(key)
        .json(&json!({"model": model, "stream": true, "messages": [{"role": "user", "content": "abcdefghijkl"}]}))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body = match r.text().await {
        Ok(t) => t,
        Err(_) => String::from("<cut>"),
    };
    (status, body)
}

#[tokio::test]
async fn stream_usage_is_read_in_all_three_shapes() {
    let (app, _up, _, key) = setup().await;
    // LiteLLM: usage on a chunk that still has choices; passed on untouched.
    let (s, body) = stream_raw(&app, &key, "litellm-small").await;
    assert_eq!(s, 200);
    assert!(body.contains("\"usage\""), "{body}");
    assert!(body.trim_end().ends_with("data: [DONE]"));
    // llama.cpp: no usage at all; the record is estimated from the text.
    let (s, body) = stream_raw(&app, &key, "llamacpp-small").await;
    assert_eq!(s, 200);
    assert!(!body.contains("\"usage\""));
    app.wait_for_calls(2).await;
    let rows = rows(&app).await;
    assert_eq!((rows[0].input_tokens, rows[0].output_tokens), (11, 4));
    assert!(rows[0].metadata.get("usage_estimated").is_none());
    let est = &rows[1];
    assert_eq!(est.metadata["usage_estimated"], true);
    // "Hello there, friend!" is 20 characters: 5 tokens at 4 characters each; the prompt
    // "abcdefghijkl" 3.
    assert_eq!((est.input_tokens, est.output_tokens), (3, 5));
    assert_eq!(est.status, "ok");
    app.shutdown().await;
}

#[tokio::test]
async fn a_cut_off_stream_is_recorded_as_such() {
    let (app, _up, _, key) = setup().await;
    let (s, _) = stream_raw(&app, &key, "cut-small").await;
    assert_eq!(s, 200);
    app.wait_for_calls(1).await;
    let r = &rows(&app).await[0];
    assert_eq!(r.status, "error");
    assert_eq!(r.error_type.as_deref(), Some("stream_cut"));
    assert_eq!(r.metadata["usage_estimated"], true);
    app.shutdown().await;
}

#[tokio::test]
async fn keys_are_checked_and_provider_keys_never_shown() {
    let (app, up, _, key) = setup().await;
    let c = app.bare_client();
    let chat = json!({"model": "openai-small", "messages": []});
    // No key, a wrong key, a revoked key: 401 in the OpenAI error shape.
    let r = c
        .post(app.url("/proxy/oai/v1/chat/completions"))
        .json(&chat)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Sightline API key"));
    let r = c
        .post(app.url("/proxy/oai/v1/chat/completions"))
        .bearer_auth("sl_00000000_nope")
        .json(&chat)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Unknown providers and endpoints.
    app.assert_status_with_key(Method::GET, "/proxy/nope/v1/models", &key, 404)
        .await;
    app.assert_status_with_key(Method::GET, "/proxy/oai/v1/files", &key, 404)
        .await;
    assert_eq!(up.seen.requests.lock().unwrap().len(), 0);

    // Listing shows only the key's last four characters.
    let (_, list) = app.get_json("/api/v1/providers", &[]).await;
    let text = list.to_string();
    assert!(!text.contains("sk-upstream-secret"), "{text}");
    let oai = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "oai")
        .unwrap();
    assert_eq!(oai["key_hint"], "…1234");
    assert_eq!(oai["proxy_path"], "/proxy/oai/v1");
    // API keys cannot read or change providers.
    app.assert_status_with_key(Method::GET, "/api/v1/providers", &key, 403)
        .await;
    // Bad provider settings name the field.
    let r = app
        .client
        .put(app.url("/api/v1/providers/oai2"))
        .json(&json!({"kind": "openai", "base_url": "ftp://x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["field"], "base_url");
    let r = app
        .client
        .put(app.url("/api/v1/providers/Bad%20Name"))
        .json(&json!({"base_url": "http://x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    // Deleting a provider stops the proxy for it.
    let r = app
        .client
        .delete(app.url("/api/v1/providers/oai"))
        .send()
        .await
        .unwrap();
    // The answer is the provider as it was, still without its key.
    assert_eq!(r.status(), 200);
    app.assert_status_with_key(Method::GET, "/proxy/oai/v1/models", &key, 404)
        .await;
    app.shutdown().await;
}

#[tokio::test]
async fn pass_through_forwards_the_clients_own_key() {
    let up = upstream::start().await;
    let app = spawn_app().await;
    app.login().await;
    add_provider(
        &app,
        "byok",
        json!({"kind": "openai", "base_url": up.url(), "pass_through": true}),
    )
    .await;
    let (key_id, key) = app.create_key("byok").await;
    let c = app.bare_client();
    let chat = json!({"model": "openai-small", "messages": [{"role": "user", "content": "hi"}]});
    // The Sightline key as bearer is not enough: it would be sent upstream.
    let r = c
        .post(app.url("/proxy/byok/v1/chat/completions"))
        .bearer_auth(&key)
        .json(&chat)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = c
        .post(app.url("/proxy/byok/v1/chat/completions"))
        .bearer_auth("sk-client-own")
        .header("x-sightline-key", &key)
        .json(&chat)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, headers, _) = up.seen.last();
    assert_eq!(headers["authorization"], "Bearer sk-client-own");
    assert!(headers.get("x-sightline-key").is_none());
    app.wait_for_calls(1).await;
    assert_eq!(rows(&app).await[0].api_key_id, Some(key_id));
    app.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_502_and_a_recorded_error() {
    let app = spawn_app().await;
    app.login().await;
    // A port nothing listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    add_provider(
        &app,
        "down",
        json!({"base_url": format!("http://127.0.0.1:{port}"), "api_key": "k"}),
    )
    .await;
    let (_, key) = app.create_key("k").await;
    let r = app
        .bare_client()
        .post(app.url("/proxy/down/v1/chat/completions"))
        .bearer_auth(&key)
        .json(&json!({"model": "gpt-4o", "messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    app.wait_for_calls(1).await;
    let r = &rows(&app).await[0];
    assert_eq!(
        (r.status.as_str(), r.error_type.as_deref()),
        ("error", Some("upstream_unreachable"))
    );
    assert_eq!(r.model, "gpt-4o");
    app.shutdown().await;
}

#[tokio::test]
async fn a_provider_without_a_key_forwards_no_credentials() {
    let up = upstream::start().await;
    let app = spawn_app().await;
    app.login().await;
    add_provider(&app, "local", json!({"base_url": up.url()})).await;
    let (_, key) = app.create_key("local").await;
    let r = app
        .bare_client()
        .post(app.url("/proxy/local/v1/chat/completions"))
        .bearer_auth(&key)
        .json(&json!({"model": "llamacpp-small", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, headers, _) = up.seen.last();
    assert!(headers.get("authorization").is_none());
    app.wait_for_calls(1).await;
    app.shutdown().await;
}

#[tokio::test]
async fn the_allow_list_cannot_be_bypassed_and_redirects_are_relayed_not_followed() {
    let (app, up, _, key) = setup().await;
    let c = app.bare_client();
    for (path, status) in [
        ("/proxy/oai/v1/models/..%2F..%2Fv1%2Ffiles", 404),
        ("/proxy/oai/v1/models/x%2F..%2F..%2Fv1%2Ffiles", 404),
        ("/proxy/oai/v1/models/a%5C..%5C..%5Cfiles", 404),
        // A NUL is refused before any route sees it.
        ("/proxy/oai/v1/models/%00", 400),
    ] {
        let r = c.get(app.url(path)).bearer_auth(&key).send().await.unwrap();
        assert_eq!(r.status(), status, "{path}");
    }
    // Whether a provider exists is told only to a caller with a key.
    let r = c
        .get(app.url("/proxy/nope/v1/models"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Methods are allowed per endpoint.
    let r = c
        .delete(app.url("/proxy/oai/v1/models/openai-small"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "GET");
    let seen = up.seen.requests.lock().unwrap().len();
    assert_eq!(seen, 0, "nothing may reach the upstream");

    // A redirect comes back as it is; following it would take the provider key along.
    let r = c
        .get(app.url("/proxy/oai/v1/models/redirect-me"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 307);
    assert_eq!(r.headers()["location"], "http://127.0.0.1:9/elsewhere");
    assert_eq!(up.seen.last().0, "redirect");
    assert_eq!(up.seen.requests.lock().unwrap().len(), 1);
    app.shutdown().await;
}

/// A stalled stream is given up after the idle timeout, and a stopping server ends the
/// streams it relays at once; both are recorded.
#[tokio::test]
async fn stalled_streams_time_out_and_shutdown_ends_streams_as_cancelled() {
    let up = upstream::start().await;
    let app = spawn_app_with(|a| a.proxy_idle_timeout_secs = Some(1)).await;
    app.login().await;
    let (_, key) = app.create_key("idle").await;
    add_provider(
        &app,
        "oai",
        json!({"kind": "openai", "base_url": up.url(), "api_key": "sk-x-1234"}),
    )
    .await;
    let body = json!({"model": "stall-1", "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    let started = std::time::Instant::now();
    let r = app
        .bare_client()
        .post(app.url("/proxy/oai/v1/chat/completions"))
        .bearer_auth(&key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.is_err(), "the relayed stream breaks off");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    app.wait_for_calls(1).await;
    let rows = rows(&app).await;
    assert_eq!(
        (rows[0].status.as_str(), rows[0].error_type.as_deref()),
        ("timeout", Some("upstream_idle"))
    );
    app.shutdown().await;

    let app = spawn_app().await;
    app.login().await;
    let (_, key) = app.create_key("stop").await;
    add_provider(
        &app,
        "oai",
        json!({"kind": "openai", "base_url": up.url(), "api_key": "sk-x-1234"}),
    )
    .await;
    let r = app
        .bare_client()
        .post(app.url("/proxy/oai/v1/chat/completions"))
        .bearer_auth(&key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let reading = tokio::spawn(async move { r.text().await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let pool = sqlx::PgPool::connect(&app.db_url).await.unwrap();
    let stopped = std::time::Instant::now();
    app.shutdown().await;
    assert!(
        stopped.elapsed() < std::time::Duration::from_secs(5),
        "shutdown waited on a stream"
    );
    let _ = reading.await.unwrap();
    let (status, error_type): (String, Option<String>) =
        sqlx::query_as("SELECT status, error_type FROM llm_calls")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (status.as_str(), error_type.as_deref()),
        ("cancelled", Some("server_stopping"))
    );
}

/// Provider keys are sealed in the database, still reach the upstream, and moving a
/// provider to another host needs its key again.
#[tokio::test]
async fn provider_keys_are_sealed_at_rest_and_a_new_host_needs_the_key_again() {
    let (app, up, _, key) = setup().await;
    let stored: String = sqlx::query_scalar("SELECT api_key FROM providers WHERE name = 'oai'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(stored.starts_with("v1:"), "{stored}");
    assert!(!stored.contains("sk-upstream"));
    let r = app
        .bare_client()
        .get(app.url("/proxy/oai/v1/models"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        up.seen.last().1["authorization"],
        "Bearer sk-upstream-secret-1234"
    );

    // Same host, new path: the key stays. Another host without the key: refused.
    let same_host = format!("{}/v2", up.url());
    add_provider(
        &app,
        "oai",
        json!({"kind": "openai", "base_url": same_host}),
    )
    .await;
    let r = app
        .client
        .put(app.url("/api/v1/providers/oai"))
        .json(&json!({"kind": "openai", "base_url": "https://elsewhere.example/v1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["field"], "api_key");
    add_provider(
        &app,
        "oai",
        json!({"kind": "openai", "base_url": "https://elsewhere.example/v1", "api_key": "sk-new-5678"}),
    )
    .await;

    // A key stored in plain text by an older version is sealed at the next start.
    sqlx::query("UPDATE providers SET api_key = 'sk-legacy-9999' WHERE name = 'oai'")
        .execute(&app.pool)
        .await
        .unwrap();
    let db = app.db_url.clone();
    app.shutdown().await;
    let again = crate::support::spawn_on(&db, crate::support::ADMIN_PASSWORD, |_| {}).await;
    let stored: String = sqlx::query_scalar("SELECT api_key FROM providers WHERE name = 'oai'")
        .fetch_one(&again.pool)
        .await
        .unwrap();
    assert!(stored.starts_with("v1:"), "{stored}");
    again.shutdown().await;
}
