//! Users and sessions from rollups against a real PostgreSQL: active users over 1 h, 24 h
//! and 7 d, session lengths and calls per session, top users by cost and by tokens; the
//! rollups agree with the raw calls after a retried batch, a re-cost and a deleted session.

use crate::support::spawn_with_key;
use chrono::{Duration, DurationRound, Utc};
use reqwest::Method;
use serde_json::{json, Value};

fn call(id: &str, user: &str, session: &str, mins_ago: i64, tokens: u64, cost_usd: f64) -> Value {
    // One instant for every call, so lengths are whole minutes.
    static NOW: std::sync::OnceLock<chrono::DateTime<Utc>> = std::sync::OnceLock::new();
    let now = *NOW.get_or_init(|| Utc::now().duration_trunc(Duration::seconds(1)).unwrap());
    let time = now - Duration::minutes(mins_ago);
    json!({"id": id, "time": time, "provider": "openai", "model": "gpt-4o", "user_id": user,
           "session_id": session, "duration_ms": 100.0, "input_tokens": tokens,
           "output_tokens": 0, "cost": {"total_usd": cost_usd}})
}

#[tokio::test]
async fn active_users_sessions_and_top_users_come_from_the_rollups() {
    let (app, key) = spawn_with_key().await;
    let calls = vec![
        // alice: a 20-minute session just now, three calls.
        call("a1", "alice", "s-a", 25, 1000, 0.50),
        call("a2", "alice", "s-a", 15, 1000, 0.50),
        call("a3", "alice", "s-a", 5, 1000, 0.50),
        // bob: two hours ago, one call of many tokens and little cost.
        call("b1", "bob", "s-b", 120, 50_000, 0.10),
        // carol: three days ago, a 10-minute session of two calls.
        call("c1", "carol", "s-c", 3 * 1440 + 10, 10, 2.00),
        call("c2", "carol", "s-c", 3 * 1440, 10, 2.00),
    ];
    app.ingest(&key, &calls).await;
    // A retried batch counts nothing twice.
    app.ingest(&key, &calls[..2]).await;

    let get = |q: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let (s, v) = app.get_json("/api/v1/analytics/users", &q).await;
            assert_eq!(s, 200, "{v}");
            v
        }
    };
    let v = get(vec![("range", "7d".into())]).await;
    assert_eq!(
        (
            v["active_1h"].as_i64(),
            v["active_24h"].as_i64(),
            v["active_7d"].as_i64()
        ),
        (Some(1), Some(2), Some(3)),
        "{v}"
    );
    let s = &v["sessions"];
    assert_eq!(s["sessions"], 3);
    // Lengths 20, 0 and 10 minutes; calls 3, 1 and 2.
    assert_eq!(s["avg_duration_s"], 600.0);
    assert_eq!(s["p50_duration_s"], 600.0);
    assert_eq!(s["avg_calls"], 2.0);
    let names = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|u| u["user_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&v["top_by_cost"]), ["carol", "alice", "bob"]);
    assert_eq!(names(&v["top_by_tokens"]), ["bob", "alice", "carol"]);
    let alice = &v["top_by_cost"][1];
    assert_eq!(
        (
            alice["calls"].as_i64(),
            alice["tokens"].as_i64(),
            alice["cost_micros"].as_i64()
        ),
        (Some(3), Some(3000), Some(1_500_000))
    );
    let v = get(vec![("range", "24h".into()), ("limit", "1".into())]).await;
    assert_eq!(names(&v["top_by_cost"]), ["alice"]);
    assert_eq!(v["sessions"]["sessions"], 2);

    // Deleting a session takes its calls out of the user figures and its span away.
    app.assert_status_as_user(Method::DELETE, "/api/v1/sessions/s-c", 200)
        .await;
    let v = get(vec![("range", "7d".into())]).await;
    assert_eq!(names(&v["top_by_cost"]), ["alice", "bob"]);
    assert_eq!(v["sessions"]["sessions"], 2);
    assert_eq!(v["active_7d"], 2, "carol's only calls are gone: {v}");
    // A user with calls left keeps the time of the last one left.
    app.ingest(&key, &[call("a4", "alice", "s-late", 1, 10, 0.0)])
        .await;
    app.assert_status_as_user(Method::DELETE, "/api/v1/sessions/s-late", 200)
        .await;
    let (last, a3): (chrono::DateTime<Utc>, chrono::DateTime<Utc>) = sqlx::query_as(
        "SELECT (SELECT last_seen FROM llm_user_last WHERE user_id = 'alice'),
                (SELECT time FROM llm_calls WHERE id = 'a3')",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(last, a3);

    // The rollups equal the raw calls.
    let (raw, rolled): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM llm_calls WHERE user_id IS NOT NULL),
                (SELECT sum(calls)::int8 FROM llm_user_hour)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(raw, rolled);

    let (s, v) = app
        .get_json("/api/v1/analytics/users", &[("limit", "0".into())])
        .await;
    assert_eq!((s, v["field"].as_str()), (400, Some("limit")), "{v}");
}
