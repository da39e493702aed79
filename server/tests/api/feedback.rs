//! Feedback after the fact against a real PostgreSQL: by call id and by trace id, stored on
//! the calls and moved into the rollups (a replaced rating is not counted twice; an old
//! call's closed bucket is read anew), refusals naming the field, access.

use crate::support::spawn_with_key;
use chrono::{Duration, Utc};
use serde_json::{json, Value};

fn call(id: &str, model: &str, trace: Option<&str>, secs_ago: i64) -> Value {
    let time = Utc::now() - Duration::seconds(secs_ago);
    json!({"id": id, "time": time, "provider": "openai", "model": model, "trace_id": trace,
           "duration_ms": 500.0, "input_tokens": 100, "output_tokens": 20})
}

fn model<'a>(ov: &'a Value, name: &str) -> &'a Value {
    ov["by_model"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == name)
        .map(|g| &g["totals"])
        .unwrap_or_else(|| panic!("no model {name} in {ov}"))
}

#[tokio::test]
async fn feedback_is_stored_and_rolled_up_once_per_call() {
    let (app, key) = spawn_with_key().await;
    // One call three days ago: its hour is closed and cached by the overview.
    let calls = vec![
        call("c-1", "gpt-4o", Some("t-1"), 30),
        call("c-2", "gpt-4o", Some("t-1"), 20),
        call("c-3", "gpt-4o-mini", None, 10),
        call("old-1", "claude", None, 3 * 86_400),
    ];
    let (s, v) = app.post_calls(&key, &calls).await;
    assert_eq!(s, 200, "{v}");
    let q = [("range", "7d".to_owned())];
    let (_, ov) = app.get_json("/api/v1/analytics/overview", &q).await;
    assert_eq!(model(&ov, "gpt-4o")["avg_rating"], Value::Null);
    assert_eq!(model(&ov, "claude")["avg_quality"], Value::Null);

    let post = |body: Value| {
        let app = &app;
        let key = key.clone();
        async move { app.post_json("/api/v1/feedback", &key, &body).await }
    };
    // By trace: both of its calls.
    let (s, v) = post(json!({"trace_id": "t-1", "rating": 2})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["calls"], 2);
    assert_eq!(v["call_ids"], json!(["c-1", "c-2"]));
    // By id, replacing c-1's rating and adding a quality score.
    let (s, v) = post(json!({"call_id": "c-1", "rating": 5, "quality_score": 90})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["call_ids"], json!(["c-1"]));
    let (s, _) = post(json!({"call_id": "old-1", "quality_score": 40})).await;
    assert_eq!(s, 200);

    let stored: Vec<(String, Option<i16>, Option<f64>)> =
        sqlx::query_as("SELECT id, user_rating, quality_score FROM llm_calls ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        stored,
        [
            ("c-1".into(), Some(5), Some(90.0)),
            ("c-2".into(), Some(2), None),
            ("c-3".into(), None, None),
            ("old-1".into(), None, Some(40.0)),
        ]
    );
    // Both tiers hold what the raw calls say: (5 + 2) over 2 ratings, not 3.
    app.settled().await;
    for table in ["llm_rollup_minute", "llm_rollup_hour"] {
        let (sum, n, q, qn): (f64, i64, f64, i64) = sqlx::query_as(&format!(
            "SELECT sum(rating_sum), sum(rating_calls)::int8, sum(quality_sum),
                    sum(quality_calls)::int8 FROM {table}"
        ))
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!((sum, n, q, qn), (7.0, 2, 130.0, 2), "{table}");
    }
    let (_, ov) = app.get_json("/api/v1/analytics/overview", &q).await;
    assert_eq!(model(&ov, "gpt-4o")["avg_rating"], 3.5);
    assert_eq!(model(&ov, "gpt-4o")["avg_quality"], 90.0);
    assert_eq!(model(&ov, "gpt-4o-mini")["avg_rating"], Value::Null);
    // The closed, cached bucket of the old call was read anew.
    assert_eq!(model(&ov, "claude")["avg_quality"], 40.0);
    assert_eq!(model(&ov, "gpt-4o")["requests"], 2, "feedback adds no call");
}

#[tokio::test]
async fn bad_feedback_is_refused_naming_the_field() {
    let (app, key) = spawn_with_key().await;
    let (s, _) = app
        .post_calls(&key, &vec![call("c-1", "gpt-4o", Some("t-1"), 5)])
        .await;
    assert_eq!(s, 200);
    let cases = [
        (json!({"rating": 3}), 422, "call_id"),
        (json!({"call_id": "c-1"}), 422, "rating"),
        (json!({"call_id": "c-1", "rating": 9}), 422, "rating"),
        (json!({"call_id": "c-1", "rating": 0}), 422, "rating"),
        (
            json!({"call_id": "c-1", "quality_score": 101}),
            422,
            "quality_score",
        ),
        (
            json!({"call_id": "c-1", "trace_id": "t-1", "rating": 3}),
            422,
            "trace_id",
        ),
        (json!({"call_id": "c-1", "rating": "good"}), 422, "rating"),
        (json!({"call_id": "c-1", "stars": 3}), 422, "stars"),
        (json!({"call_id": "nope", "rating": 3}), 404, "call_id"),
        (json!({"trace_id": "nope", "rating": 3}), 404, "trace_id"),
    ];
    for (body, status, field) in cases {
        let (s, v) = app.post_json("/api/v1/feedback", &key, &body).await;
        assert_eq!(s, status, "{body}: {v}");
        assert_eq!(v["field"], field, "{body}: {v}");
    }
    let (_, reader) = app
        .create_key_with(&json!({"name": "dash", "scopes": ["read"]}))
        .await;
    let (s, _) = app
        .post_json(
            "/api/v1/feedback",
            &reader,
            &json!({"call_id": "c-1", "rating": 3}),
        )
        .await;
    assert_eq!(s, 403);
    let rated: Option<i16> = sqlx::query_scalar("SELECT user_rating FROM llm_calls")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rated, None, "nothing refused was stored");
}
