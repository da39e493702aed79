//! Price versions, unpriced models, audited re-costs, and the sessions API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::spawn_app;
use serde_json::{json, Value};

async fn ingest(app: &common::TestApp, key: &str, calls: Value) {
    let r = app
        .bare_client()
        .post(app.url("/api/v1/llm/calls"))
        .bearer_auth(key)
        .json(&json!({ "calls": calls }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

async fn cost(app: &common::TestApp, id: &str) -> Option<i64> {
    sqlx::query_scalar("SELECT cost_total_micros FROM llm_calls WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_new_price_applies_forward_and_a_recost_rewrites_only_table_costs() {
    let app = spawn_app().await;
    app.login().await;
    let (_, key) = app.create_key("k").await;
    let t = chrono::Utc::now() - chrono::Duration::hours(1);
    let call = |id: &str, model: &str| {
        json!({"id": id, "time": t, "provider": "acme", "model": model,
        "duration_ms": 100.0, "input_tokens": 1_000_000, "output_tokens": 1_000_000})
    };
    let mut given = call("given", "gpt-4o");
    given["cost"] = json!({"total_usd": 1.5});
    ingest(
        &app,
        &key,
        json!([call("mine", "my-model-v1"), call("table", "gpt-4o"), given]),
    )
    .await;
    assert_eq!(cost(&app, "mine").await, None);
    let table_before = cost(&app, "table").await.unwrap();
    assert_eq!(cost(&app, "given").await, Some(1_500_000));

    // The unpriced model is listed.
    let unpriced: Value = app
        .client
        .get(app.url("/api/v1/prices/unpriced"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(unpriced[0]["model"], "my-model-v1");
    assert_eq!(unpriced[0]["calls"], 1);

    // A price for it, effective from two hours ago; and a new gpt-4o price.
    let since = t - chrono::Duration::hours(1);
    for (pattern, input, output) in [
        ("my-model-*", 1_000_000, 2_000_000),
        ("gpt-4o", 10_000_000, 20_000_000),
    ] {
        let r = app
            .client
            .post(app.url("/api/v1/prices"))
            .json(
                &json!({"model_pattern": pattern, "input_per_mtok_micros": input,
                          "output_per_mtok_micros": output, "effective_from": since}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }
    // The same version twice is a conflict; a negative price is refused by name.
    let r = app
        .client
        .post(app.url("/api/v1/prices"))
        .json(&json!({"model_pattern": "gpt-4o", "input_per_mtok_micros": 1, "output_per_mtok_micros": 1, "effective_from": since}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let r = app
        .client
        .post(app.url("/api/v1/prices"))
        .json(&json!({"model_pattern": "x", "input_per_mtok_micros": -1, "output_per_mtok_micros": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(
        r.json::<Value>().await.unwrap()["field"],
        "input_per_mtok_micros"
    );

    // History is untouched until a re-cost is asked for.
    assert_eq!(cost(&app, "mine").await, None);
    assert_eq!(cost(&app, "table").await, Some(table_before));
    // New calls use the new price at once.
    ingest(&app, &key, json!([call("after", "my-model-v2")])).await;
    assert_eq!(cost(&app, "after").await, Some(3_000_000));

    let (from, to) = (
        t - chrono::Duration::minutes(1),
        t + chrono::Duration::minutes(1),
    );
    // API keys cannot re-cost.
    let r = app
        .bare_client()
        .post(app.url("/api/v1/prices/recost"))
        .bearer_auth(&key)
        .json(&json!({"from": from, "to": to}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = app
        .client
        .post(app.url("/api/v1/prices/recost"))
        .json(&json!({"from": from, "to": to}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let report: Value = r.json().await.unwrap();
    // "mine", "table" and "after" examined; "after" already had the new price. The
    // client's cost is never touched.
    assert_eq!(report["calls_examined"], 3);
    assert_eq!(report["calls_changed"], 2);
    assert_eq!(report["cost_before_micros"], table_before + 3_000_000);
    assert_eq!(
        report["cost_after_micros"],
        3_000_000 + 30_000_000 + 3_000_000
    );
    assert_eq!(cost(&app, "mine").await, Some(3_000_000));
    assert_eq!(cost(&app, "table").await, Some(30_000_000));
    assert_eq!(cost(&app, "given").await, Some(1_500_000));
    let audit: Value = app
        .client
        .get(app.url("/api/v1/prices/recosts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit[0]["requested_by"], "admin");
    assert_eq!(audit[0]["calls_changed"], 2);
    let r = app
        .client
        .post(app.url("/api/v1/prices/recost"))
        .json(&json!({"from": to, "to": from}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    app.shutdown().await;
}

#[tokio::test]
async fn sessions_are_listed_summed_shown_and_deleted() {
    let app = spawn_app().await;
    app.login().await;
    let (_, key) = app.create_key("k").await;
    let now = chrono::Utc::now();
    let call = |id: &str, session: &str, secs: i64, status: &str| {
        json!({"id": id,
        "time": now - chrono::Duration::seconds(secs), "provider": "openai", "model": "gpt-4o-mini",
        "session_id": session, "user_id": "u1", "status": status, "duration_ms": 1000.0,
        "input_tokens": 100, "output_tokens": 10, "tool_calls": 1})
    };
    ingest(&app, &key, json!([
        call("a1", "alpha", 300, "ok"), call("a2", "alpha", 200, "error"), call("a3", "alpha", 100, "ok"),
        call("b1", "beta", 50, "ok"),
        {"id": "none", "provider": "openai", "model": "gpt-4o-mini", "duration_ms": 5.0},
    ])).await;

    let page: Value = app
        .bare_client()
        .get(app.url("/api/v1/sessions?limit=1"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(page["sessions"][0]["session_id"], "beta");
    let next = page["next"].as_str().unwrap();
    let page2: Value = app
        .bare_client()
        .get(app.url(&format!("/api/v1/sessions?limit=1&cursor={next}")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page2["sessions"][0]["session_id"], "alpha");
    assert!(page2["next"].is_null());

    let d: Value = app
        .bare_client()
        .get(app.url("/api/v1/sessions/alpha"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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

    let r = app
        .bare_client()
        .get(app.url("/api/v1/sessions/nope"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = app
        .bare_client()
        .get(app.url("/api/v1/sessions?limit=0"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Deleting needs a person, not a key.
    let r = app
        .bare_client()
        .delete(app.url("/api/v1/sessions/alpha"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
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
