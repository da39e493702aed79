//! Calls reported as started / completed / failed events, and timeouts for starts that
//! never end.

use crate::support::{spawn_app, spawn_app_with, spawn_with_key};
use serde_json::{json, Value};

fn outcomes(v: &Value) -> Vec<&str> {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn started_then_completed_is_one_call_with_the_time_between() {
    let app = spawn_app().await;
    app.login().await;
    let (key_id, key) = app.create_key("events").await;
    let t0 = chrono::Utc::now() - chrono::Duration::seconds(10);
    let t1 = t0 + chrono::Duration::milliseconds(2500);
    let (s, v) = app.post_events(&key, &json!([
        {"type": "started", "id": "corr-1", "time": t0, "provider": "openai", "model": "gpt-4o-mini",
         "session_id": "ev-session", "metadata": {"step": "plan"}},
        {"type": "started", "id": "corr-2", "time": t0, "provider": "openai", "model": "gpt-4o"},
    ])).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(outcomes(&v), ["pending", "pending"]);
    assert_eq!(app.call_count().await, 0);

    let (s, v) = app.post_events(&key, &json!([
        {"type": "completed", "id": "corr-1", "time": t1, "input_tokens": 1000, "output_tokens": 100, "ttft_ms": 300.0},
        {"type": "failed", "id": "corr-2", "time": t1, "error_type": "rate_limit", "http_status": 429},
        // Sent twice: stored once.
        {"type": "completed", "id": "corr-1", "time": t1, "provider": "openai", "model": "gpt-4o-mini", "duration_ms": 2500.0},
    ])).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(outcomes(&v), ["stored", "stored", "duplicate"]);

    let row: (String, f64, i64, Option<String>, Option<i64>, Value, Option<i64>, chrono::DateTime<chrono::Utc>) = sqlx::query_as(
        "SELECT status, duration_ms, output_tokens, session_id, cost_total_micros, metadata, api_key_id, time
         FROM llm_calls WHERE id = 'corr-1'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(row.0, "ok");
    assert!((row.1 - 2500.0).abs() < 1.0, "{}", row.1);
    assert_eq!(row.2, 100);
    assert_eq!(row.3.as_deref(), Some("ev-session"));
    assert_eq!(row.4, Some(150 + 60));
    assert_eq!(row.5["step"], "plan");
    assert_eq!(row.6, Some(key_id));
    assert_eq!(row.7.timestamp_micros(), t0.timestamp_micros());
    let failed: (String, Option<String>, Option<i16>) =
        sqlx::query_as("SELECT status, error_type, http_status FROM llm_calls WHERE id = 'corr-2'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        failed,
        ("error".into(), Some("rate_limit".into()), Some(429))
    );
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM pending_calls")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(pending, 0);
    app.shutdown().await;
}

#[tokio::test]
async fn bad_events_are_rejected_one_by_one() {
    let (app, key) = spawn_with_key().await;
    let (s, v) = app
        .post_events(
            &key,
            &json!([
                {"type": "completed", "id": "orphan"},
                {"type": "started", "id": "ok-1", "provider": "openai", "model": "gpt-4o"},
                {"type": "started", "id": "", "provider": "openai", "model": "gpt-4o"},
                {"type": "started", "id": "bad-model", "provider": "openai", "model": " "},
                {"type": "completed", "id": "ok-1", "output_tokens": 5, "reasoning_tokens": 9},
            ]),
        )
        .await;
    assert_eq!(s, 207, "{v}");
    assert_eq!(
        outcomes(&v),
        ["rejected", "pending", "rejected", "rejected", "rejected"]
    );
    assert_eq!(v["results"][0]["field"], "events[0].provider");
    assert_eq!(v["results"][2]["field"], "events[2].id");
    assert_eq!(v["results"][3]["field"], "events[3].model");
    assert_eq!(v["results"][4]["field"], "events[4].reasoning_tokens");
    // An unknown type or a missing field is a 422 for the whole request.
    let (s, v) = app
        .post_events(&key, &json!([{"type": "paused", "id": "x"}]))
        .await;
    assert_eq!(s, 422, "{v}");
    app.shutdown().await;
}

#[tokio::test]
async fn a_start_without_end_becomes_a_timeout() {
    let app = spawn_app_with(|a| a.event_timeout_secs = Some(1)).await;
    app.login().await;
    let (_, key) = app.create_key("events").await;
    let (s, _) = app.post_events(&key, &json!([
        {"type": "started", "id": "lost", "provider": "openai", "model": "gpt-4o", "user_id": "u1"},
    ])).await;
    assert_eq!(s, 200);
    app.wait_for_calls(1).await;
    // The sweeper marks the start once the timeout call is committed.
    for _ in 0..100 {
        let marked: i64 =
            sqlx::query_scalar("SELECT count(*) FROM pending_calls WHERE timed_out_at IS NOT NULL")
                .fetch_one(&app.pool)
                .await
                .unwrap();
        if marked == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let row: (String, Option<String>, f64, Option<String>) = sqlx::query_as(
        "SELECT status, error_type, duration_ms, user_id FROM llm_calls WHERE id = 'lost'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        row,
        (
            "timeout".into(),
            Some("no_end_event".into()),
            1000.0,
            Some("u1".into())
        )
    );
    // A late end for it is refused and stores nothing: the timeout stands.
    let (s, v) = app.post_events(&key, &json!([
        {"type": "completed", "id": "lost", "provider": "openai", "model": "gpt-4o", "duration_ms": 5.0},
    ])).await;
    assert_eq!(s, 207);
    assert!(
        v["results"][0]["message"]
            .as_str()
            .unwrap()
            .contains("timed out"),
        "{v}"
    );
    assert_eq!(app.call_count().await, 1);
    app.shutdown().await;
}

#[tokio::test]
async fn a_key_cannot_end_another_keys_start() {
    let app = spawn_app().await;
    app.login().await;
    let (_, owner) = app.create_key("owner").await;
    let (_, other) = app.create_key("other").await;
    let (s, _) = app
        .post_events(
            &owner,
            &json!([
                {"type": "started", "id": "mine", "provider": "openai", "model": "gpt-4o"},
            ]),
        )
        .await;
    assert_eq!(s, 200);
    let end = json!([{"type": "completed", "id": "mine", "output_tokens": 5}]);
    let (s, v) = app.post_events(&other, &end).await;
    assert_eq!(s, 207, "{v}");
    assert_eq!(outcomes(&v), ["rejected"]);
    assert_eq!(v["results"][0]["field"], "events[0].id");
    assert_eq!(app.call_count().await, 0, "the start stays pending");
    let (s, v) = app.post_events(&owner, &end).await;
    assert_eq!((s, outcomes(&v)), (200, vec!["stored"]));
    app.wait_for_calls(1).await;
    app.shutdown().await;
}
