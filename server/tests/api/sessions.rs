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

#[tokio::test]
async fn the_list_filters_by_range_and_user_and_sums_each_session() {
    let (app, key) = spawn_with_key().await;
    let now = chrono::Utc::now();
    let call = |id: &str, session: &str, user: &str, hours: i64| {
        json!({"id": id, "time": now - chrono::Duration::hours(hours), "provider": "openai",
        "model": "gpt-4o-mini", "session_id": session, "user_id": user, "duration_ms": 10.0,
        "input_tokens": 100, "output_tokens": 10})
    };
    // "old" ended 3 days ago; "long" began 10 days ago and is still going; "carol" is recent.
    let calls = json!([
        call("o1", "old", "ann", 80),
        call("o2", "old", "ann", 72),
        call("l1", "long", "bob", 240),
        call("l2", "long", "bob", 1),
        call("c1", "carol-s", "carol", 2),
    ]);
    app.ingest(&key, calls.as_array().unwrap()).await;
    let ids = |page: &Value| -> Vec<String> {
        page["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["session_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, all) = app.get_json_with_key("/api/v1/sessions", &key).await;
    assert_eq!(ids(&all), ["long", "carol-s", "old"]);
    // A session is counted whole, the calls before the range included.
    assert_eq!(all["sessions"][0]["calls"], 2);
    assert_eq!(all["sessions"][0]["input_tokens"], 200);
    let (_, day) = app
        .get_json_with_key("/api/v1/sessions?range=24h", &key)
        .await;
    assert_eq!(ids(&day), ["long", "carol-s"]);
    let from = (now - chrono::Duration::hours(100)).to_rfc3339();
    let to = (now - chrono::Duration::hours(50)).to_rfc3339();
    let (s, past) = app
        .get_json_with_key(
            &format!(
                "/api/v1/sessions?from={}&to={}",
                urlencode(&from),
                urlencode(&to)
            ),
            &key,
        )
        .await;
    assert_eq!(s, 200, "{past}");
    assert_eq!(ids(&past), ["long", "old"], "spans overlapping the range");
    let (_, bob) = app
        .get_json_with_key("/api/v1/sessions?user_id=bob", &key)
        .await;
    assert_eq!(ids(&bob), ["long"]);
    app.shutdown().await;
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}
