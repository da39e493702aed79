//! Price versions, unpriced models and audited re-costs.

use crate::support::spawn_with_key;
use serde_json::{json, Value};

async fn cost(app: &crate::support::TestApp, id: &str) -> Option<i64> {
    sqlx::query_scalar("SELECT cost_total_micros FROM llm_calls WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_new_price_applies_forward_and_a_recost_rewrites_only_table_costs() {
    let (app, key) = spawn_with_key().await;
    let t = chrono::Utc::now() - chrono::Duration::hours(1);
    let call = |id: &str, model: &str| {
        json!({"id": id, "time": t, "provider": "acme", "model": model,
        "duration_ms": 100.0, "input_tokens": 1_000_000, "output_tokens": 1_000_000})
    };
    let mut given = call("given", "gpt-4o");
    given["cost"] = json!({"total_usd": 1.5});
    app.ingest(
        &key,
        &[call("mine", "my-model-v1"), call("table", "gpt-4o"), given],
    )
    .await;
    assert_eq!(cost(&app, "mine").await, None);
    let table_before = cost(&app, "table").await.unwrap();
    assert_eq!(cost(&app, "given").await, Some(1_500_000));

    // The unpriced model is listed.
    let (_, unpriced) = app.get_json("/api/v1/prices/unpriced", &[]).await;
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
    app.ingest(&key, &[call("after", "my-model-v2")]).await;
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
    let (_, audit) = app.get_json("/api/v1/prices/recosts", &[]).await;
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
