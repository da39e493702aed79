//! Native call ingestion through the pipeline, and the calls list, against PostgreSQL.

use crate::support::{read_until, spawn_app, spawn_with_key};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn call(id: &str, model: &str) -> Value {
    json!({
        "id": id,
        "provider": "openai",
        "model": model,
        "duration_ms": 850.0,
        "ttft_ms": 120.0,
        "input_tokens": 1000,
        "cached_tokens": 200,
        "output_tokens": 300,
        "session_id": "sess-1",
        "user_id": "u-7",
        "feature": "chat",
        "tool_calls": 2,
        "metadata": { "tenant": "acme" }
    })
}

/// An RFC 3339 time `secs` seconds ago, whole seconds.
fn ago_secs(secs: i64) -> String {
    let t = chrono::Utc::now() - chrono::Duration::seconds(secs);
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn a_batch_is_stored_priced_and_acknowledged_after_commit() {
    let app = spawn_app().await;
    app.login().await;
    let (key_id, key) = app.create_key("ingest").await;
    let c = app.bare_client();
    let body = json!({ "calls": [call("a", "gpt-4o-mini"), call("b", "unknown-model")] });
    let r = c
        .post(app.url("/api/v1/llm/calls"))
        .bearer_auth(&key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"accepted": 2, "duplicates": 0})
    );
    // Acknowledged means stored: visible at once.
    assert_eq!(app.call_count().await, 2);

    let row: (Option<i64>, Option<i64>, Option<i64>, Option<i64>, String) = sqlx::query_as(
        "SELECT cost_input_micros, cost_output_micros, cost_total_micros, api_key_id, metadata->>'tenant'
         FROM llm_calls WHERE id = 'a'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    // 800 uncached * $0.15/M = 120, 200 cached * $0.075/M = 15; 300 out * $0.60/M = 180.
    assert_eq!(
        row,
        (
            Some(135),
            Some(180),
            Some(315),
            Some(key_id),
            "acme".to_owned()
        )
    );
    let unpriced: Option<i64> =
        sqlx::query_scalar("SELECT cost_total_micros FROM llm_calls WHERE id = 'b'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(unpriced, None, "unknown models are unpriced, never 0");
    app.shutdown().await;
}

#[tokio::test]
async fn the_same_id_and_time_sent_twice_is_stored_once() {
    let (app, key) = spawn_with_key().await;
    let mut one = call("dup", "gpt-4o");
    one["time"] = json!(ago_secs(86_400));
    let (_, r) = app.post_calls(&key, &[one.clone(), one.clone()]).await;
    assert_eq!(r, json!({"accepted": 1, "duplicates": 1}));
    let (_, r) = app.post_calls(&key, &[one]).await;
    assert_eq!(r, json!({"accepted": 0, "duplicates": 1}));
    assert_eq!(app.call_count().await, 1);
    app.shutdown().await;
}

#[tokio::test]
async fn every_field_is_stored_as_sent_and_read_back_from_the_list() {
    let (app, key) = spawn_with_key().await;
    let time = ago_secs(3_600);
    let full = json!({
        "id": "full-1", "time": time, "trace_id": "t-9", "session_id": "s-9", "user_id": "u-9",
        "feature": "search", "provider": "anthropic", "model": "claude-sonnet-4-5",
        "response_model": "claude-sonnet-4-5-20250929", "status": "error",
        "error_type": "rate_limit", "error_message": "slow down ✋", "http_status": 429,
        "ttft_ms": 12.5, "streaming_ms": 30.25, "duration_ms": 42.75, "input_tokens": 7,
        "output_tokens": 3, "cached_tokens": 2, "reasoning_tokens": 1, "tool_calls": 4,
        "quality_score": 0.5, "user_rating": 4,
        "metadata": {"nested": {"list": [1, 2.5, "x"]}, "unicode": "日本"}
    });
    let (status, r) = app.post_calls(&key, &[&full]).await;
    assert_eq!(status, 200, "{r}");
    let page: Value = app
        .client
        .get(app.url("/api/v1/llm/calls?session_id=s-9"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let got = &page["calls"][0];
    for field in [
        "id",
        "trace_id",
        "session_id",
        "user_id",
        "feature",
        "provider",
        "model",
        "response_model",
        "status",
        "error_type",
        "error_message",
        "http_status",
        "ttft_ms",
        "streaming_ms",
        "duration_ms",
        "input_tokens",
        "output_tokens",
        "cached_tokens",
        "reasoning_tokens",
        "tool_calls",
        "quality_score",
        "user_rating",
        "metadata",
    ] {
        assert_eq!(got[field], full[field], "{field}");
    }
    let stored = chrono::DateTime::parse_from_rfc3339(got["time"].as_str().unwrap()).unwrap();
    assert_eq!(stored, chrono::DateTime::parse_from_rfc3339(&time).unwrap());
    app.shutdown().await;
}

#[tokio::test]
async fn a_batch_mixing_stored_and_new_calls_stores_and_counts_only_the_new() {
    let (app, key) = spawn_with_key().await;
    let mut old = call("mix-old", "gpt-4o-mini");
    old["time"] = json!(ago_secs(60));
    let (_, r) = app.post_calls(&key, &[&old]).await;
    assert_eq!(r, json!({"accepted": 1, "duplicates": 0}));
    let (_, r) = app
        .post_calls(
            &key,
            &[
                call("mix-a", "gpt-4o-mini"),
                old,
                call("mix-b", "gpt-4o-mini"),
            ],
        )
        .await;
    assert_eq!(r, json!({"accepted": 2, "duplicates": 1}));
    assert_eq!(app.call_count().await, 3);
    app.settled().await;
    let counted: i64 = sqlx::query_scalar("SELECT sum(calls)::int8 FROM llm_rollup_minute")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(counted, 3, "the retried call is not counted twice");
    app.shutdown().await;
}

#[tokio::test]
async fn an_invalid_call_rejects_the_whole_batch_naming_it() {
    let (app, key) = spawn_with_key().await;
    let c = app.bare_client();
    let mut bad = call("x", "gpt-4o");
    bad["cached_tokens"] = json!(5000);
    let r = c
        .post(app.url("/api/v1/llm/calls"))
        .bearer_auth(&key)
        .json(&json!({ "calls": [call("ok", "gpt-4o"), bad] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["field"], "calls[1].cached_tokens");
    assert_eq!(
        app.call_count().await,
        0,
        "nothing of a rejected batch is stored"
    );

    let r = c
        .post(app.url("/api/v1/llm/calls"))
        .bearer_auth(&key)
        .json(&json!({ "calls": [{ "provider": "openai", "model": "m", "duration_ms": 1, "colour": "red" }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_field");

    // The calls alone, not wrapped in {"calls": [...]}: the body's shape is named.
    let r = c
        .post(app.url("/api/v1/llm/calls"))
        .bearer_auth(&key)
        .json(&json!([call("bare", "gpt-4o")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (&body["error"], &body["field"]),
        (&json!("invalid_body"), &json!("body"))
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("must be a JSON object"),
        "{body}"
    );

    let many: Vec<Value> = (0..1001)
        .map(|i| call(&format!("m{i}"), "gpt-4o"))
        .collect();
    let (status, body) = app.post_calls(&key, &many).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE.as_u16());
    assert_eq!(body["error"], "batch_too_large");

    let r = c
        .post(app.url("/api/v1/llm/calls"))
        .json(&json!({ "calls": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "ingest needs credentials");
    app.shutdown().await;
}

#[tokio::test]
async fn calls_are_listed_newest_first_with_filters_and_keyset_pages() {
    let (app, key) = spawn_with_key().await;
    let c = app.bare_client();
    let base = ago_secs(3600);
    let at = |i: i64| {
        (chrono::DateTime::parse_from_rfc3339(&base).unwrap() + chrono::Duration::seconds(i))
            .to_rfc3339()
    };
    let calls: Vec<Value> = (0..25i64)
        .map(|i| {
            let mut v = call(
                &format!("c{i:02}"),
                if i % 2 == 0 {
                    "gpt-4o"
                } else {
                    "claude-sonnet-4"
                },
            );
            v["time"] = json!(at(i));
            if i == 3 {
                v["status"] = json!("error");
                v["error_message"] = json!("upstream 500");
            }
            v
        })
        .collect();
    app.ingest(&key, &calls).await;

    let mut seen = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let mut url = app.url("/api/v1/llm/calls?limit=10");
        if let Some(cur) = &cursor {
            url.push_str(&format!("&cursor={cur}"));
        }
        let page: Value = c
            .get(url)
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for call in page["calls"].as_array().unwrap() {
            seen.push(call["id"].as_str().unwrap().to_owned());
        }
        match page["next"].as_str() {
            Some(n) => cursor = Some(n.to_owned()),
            None => break,
        }
    }
    let expected: Vec<String> = (0..25).rev().map(|i| format!("c{i:02}")).collect();
    assert_eq!(
        seen, expected,
        "every call once, newest first, across pages"
    );

    let page: Value = c
        .get(app.url(&format!(
            "/api/v1/llm/calls?model=gpt-4o&from={}",
            urlencode(&at(10))
        )))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = page["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec!["c24", "c22", "c20", "c18", "c16", "c14", "c12", "c10"]
    );

    let (_, page) = app
        .get_json_with_key("/api/v1/llm/calls?status=error", &key)
        .await;
    assert_eq!(page["calls"][0]["id"], "c03");
    assert_eq!(page["calls"][0]["error_message"], "upstream 500");
    assert_eq!(page["calls"].as_array().unwrap().len(), 1);

    for (query, field) in [
        ("limit=0", "limit"),
        ("status=meh", "status"),
        ("from=yesterday", "from"),
        ("cursor=zzz", "cursor"),
    ] {
        let r = c
            .get(app.url(&format!("/api/v1/llm/calls?{query}")))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{query}");
        assert_eq!(r.json::<Value>().await.unwrap()["field"], field);
    }
    app.shutdown().await;
}

#[tokio::test]
async fn concurrent_batches_all_land_exactly_once() {
    let (app, key) = spawn_with_key().await;
    let c = app.bare_client();
    let mut tasks = vec![];
    for b in 0..20 {
        let c = c.clone();
        let url = app.url("/api/v1/llm/calls");
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            let calls: Vec<Value> = (0..100)
                .map(|i| call(&format!("b{b}-{i}"), "gpt-4o"))
                .collect();
            loop {
                let r = c
                    .post(&url)
                    .bearer_auth(&key)
                    .json(&json!({ "calls": calls }))
                    .send()
                    .await
                    .unwrap();
                match r.status().as_u16() {
                    200 => {
                        return r.json::<Value>().await.unwrap()["accepted"]
                            .as_u64()
                            .unwrap()
                    }
                    503 => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
                    s => panic!("unexpected {s}"),
                }
            }
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        accepted += t.await.unwrap();
    }
    assert_eq!(accepted, 2000);
    assert_eq!(app.call_count().await, 2000);
    app.shutdown().await;
}

/// Reads the SSE body until `needle` shows up (or fails after 10 s).

#[tokio::test]
async fn committed_calls_are_streamed_live_and_streams_end_on_shutdown() {
    let (app, key) = spawn_with_key().await;
    let c = app.bare_client();

    app.assert_status_with_key(Method::GET, "/api/v1/stream?topics=nope", &key, 400)
        .await;
    let r = c
        .get(app.url("/api/v1/stream?topics=calls"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let r = c
        .get(app.url("/api/v1/stream?topics=calls"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let mut body = Box::pin(r.bytes_stream());
    let mut seen = String::new();
    read_until(&mut body, &mut seen, "event: ready").await;

    let sent = tokio::time::Instant::now();
    let r = c
        .post(app.url("/api/v1/llm/calls"))
        .bearer_auth(&key)
        .json(&json!({ "calls": [call("live-1", "gpt-4o")] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    read_until(&mut body, &mut seen, "\"id\":\"live-1\"").await;
    assert!(seen.contains("event: calls"), "{seen}");
    assert!(
        sent.elapsed() < std::time::Duration::from_millis(500),
        "live within 500 ms"
    );

    // An open stream must not hold up shutdown.
    tokio::time::timeout(std::time::Duration::from_secs(10), app.shutdown())
        .await
        .expect("shutdown waited for the SSE stream");
}

#[tokio::test]
async fn nul_bytes_in_free_text_are_stripped_and_the_call_stored() {
    let (app, key) = spawn_with_key().await;
    let mut bad = call("nul", "gpt-4o");
    bad["error_message"] = json!("upstream\u{0} broke");
    bad["metadata"] = json!({"k\u{0}": {"deep": ["a\u{0}b"]}});
    let good = call("fine", "gpt-4o");
    // Two clients at once: their calls may share a commit, and neither may fail.
    let (bad, good) = ([bad], [good]);
    let (a, b) = tokio::join!(app.post_calls(&key, &bad), app.post_calls(&key, &good));
    assert_eq!((a.0, b.0), (200, 200), "{a:?} {b:?}");
    let (msg, meta): (Option<String>, Value) =
        sqlx::query_as("SELECT error_message, metadata FROM llm_calls WHERE id = 'nul'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(msg.as_deref(), Some("upstream broke"));
    assert_eq!(meta, json!({"k": {"deep": ["ab"]}}));
    // A control character in a label is refused, naming the field.
    let mut label = call("ctl", "gpt-4o");
    label["model"] = json!("gpt\u{0}");
    let (status, body) = app.post_calls(&key, &[label]).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("calls[0].model"))
    );
    app.shutdown().await;
}

#[tokio::test]
async fn live_streams_are_capped_per_key_and_end_when_the_key_is_revoked() {
    use futures_util::StreamExt;
    let app = crate::support::spawn_app().await;
    app.login().await;
    let (id, key) = app.create_key("live").await;
    let open = || {
        app.bare_client()
            .get(app.url("/api/v1/stream?topics=calls"))
            .bearer_auth(&key)
            .send()
    };
    let mut streams = Vec::new();
    for _ in 0..server::live::MAX_STREAMS_PER_OWNER {
        let r = open().await.unwrap();
        assert_eq!(r.status(), 200);
        streams.push(r);
    }
    let r = open().await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    // Closing one frees its place (as soon as the server notices the connection closed).
    drop(streams.pop());
    let mut reopened = None;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let r = open().await.unwrap();
        if r.status() == 200 {
            reopened = Some(r);
            break;
        }
    }
    streams.push(reopened.expect("a closed stream's place was never given back"));

    // Revoking the key ends its streams within the recheck interval.
    app.assert_status_as_user(Method::DELETE, &format!("/api/v1/keys/{id}"), 200)
        .await;
    let mut body = Box::pin(streams.pop().unwrap().bytes_stream());
    let ended = tokio::time::timeout(std::time::Duration::from_secs(40), async {
        while let Some(chunk) = body.next().await {
            if chunk.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream outlived its revoked key");
    app.shutdown().await;
}

#[tokio::test]
async fn rollup_sums_saturate_instead_of_failing_ingest() {
    let (app, key) = spawn_with_key().await;
    let at = chrono::Utc::now().to_rfc3339();
    let mut first = call("sat-1", "gpt-4o");
    first["time"] = json!(at);
    app.ingest(&key, &[first]).await;
    app.settled().await;
    // A bucket already at the top, as years of hostile traffic could leave it.
    for table in ["llm_rollup_minute", "llm_rollup_hour"] {
        sqlx::query(&format!(
            "UPDATE {table} SET input_tokens = 9223372036854775000, cost_micros = 9223372036854775000"
        ))
        .execute(&app.pool)
        .await
        .unwrap();
    }
    let mut second = call("sat-2", "gpt-4o");
    second["time"] = json!(at);
    let (status, body) = app.post_calls(&key, &[second]).await;
    assert_eq!(status, 200, "{body}");
    app.settled().await;
    let (tokens, cost): (i64, i64) =
        sqlx::query_as("SELECT input_tokens, cost_micros FROM llm_rollup_minute")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((tokens, cost), (i64::MAX, i64::MAX));
    assert_eq!(app.call_count().await, 2);
}
