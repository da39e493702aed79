//! The sessions API: listed with totals, shown, and deleted.

use crate::support::spawn_with_key;
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test]
async fn sessions_are_listed_summed_shown_and_deleted() {
    let (app, key) = spawn_with_key().await;
    let now = chrono::Utc::now();
    let call = |id: &str, session: &str, secs: i64, status: &str| {
        json!({"id": id,
        "time": now - chrono::Duration::seconds(secs), "provider": "openai", "model": "gpt-4o-mini",
        "session_id": session, "user_id": "u1", "status": status, "duration_ms": 1000.0,
        "input_tokens": 100, "output_tokens": 10, "tool_calls": 1})
    };
    let calls = json!([
        call("a1", "alpha", 300, "ok"), call("a2", "alpha", 200, "error"), call("a3", "alpha", 100, "ok"),
        call("b1", "beta", 50, "ok"),
        {"id": "none", "provider": "openai", "model": "gpt-4o-mini", "duration_ms": 5.0},
    ]);
    app.ingest(&key, calls.as_array().unwrap()).await;

    let (_, page) = app
        .get_json_with_key("/api/v1/sessions?limit=1", &key)
        .await;
    assert_eq!(page["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(page["sessions"][0]["session_id"], "beta");
    let next = page["next"].as_str().unwrap();
    let (_, page2) = app
        .get_json_with_key(&format!("/api/v1/sessions?limit=1&cursor={next}"), &key)
        .await;
    assert_eq!(page2["sessions"][0]["session_id"], "alpha");
    assert!(page2["next"].is_null());

    let (_, d) = app.get_json_with_key("/api/v1/sessions/alpha", &key).await;
    let s = &d["summary"];
    assert_eq!(s["calls"], 3);
    assert_eq!(s["errors"], 1);
    assert_eq!(s["input_tokens"], 300);
    assert_eq!(s["tool_calls"], 3);
    assert_eq!(s["avg_duration_ms"], 1000.0);
    assert_eq!(s["user_id"], "u1");
    assert_eq!(s["models"], json!(["gpt-4o-mini"]));
    // 3 x (100 x $0.15/M + 10 x $0.60/M) = 3 x 21 micro-USD.
    assert_eq!(s["cost_micros"], 63);
    let ids: Vec<&str> = d["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a1", "a2", "a3"]);

    app.assert_status_with_key(Method::GET, "/api/v1/sessions/nope", &key, 404)
        .await;
    app.assert_status_with_key(Method::GET, "/api/v1/sessions?limit=0", &key, 400)
        .await;
    // Deleting needs a person, not a key.
    app.assert_status_with_key(Method::DELETE, "/api/v1/sessions/alpha", &key, 403)
        .await;
    let r = app
        .client
        .delete(app.url("/api/v1/sessions/alpha"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["calls_deleted"], 3);
    assert_eq!(app.call_count().await, 2);
    app.shutdown().await;
}
