//! Model health against a real PostgreSQL: cache hit rate and context-window use per model
//! from the rollups, quality drift against the baseline, a price's context window, and
//! refusals naming the parameter.

use crate::support::spawn_with_key;
use chrono::{Duration, DurationRound, Utc};
use serde_json::{json, Value};

fn call(id: String, model: &str, hours_ago: i64, quality: f64) -> Value {
    let now = Utc::now().duration_trunc(Duration::hours(1)).unwrap();
    let time = now - Duration::hours(hours_ago) + Duration::minutes(5);
    json!({"id": id, "time": time, "provider": "openai", "model": model,
           "duration_ms": 900.0, "ttft_ms": 150.0, "streaming_ms": 750.0,
           "input_tokens": 32000, "cached_tokens": 24000, "output_tokens": 100,
           "quality_score": quality})
}

#[tokio::test]
async fn cache_hits_context_use_and_quality_drift_per_model() {
    let (app, key) = spawn_with_key().await;
    let mut calls = Vec::new();
    // Baseline: 2 calls an hour, 30 to 77 hours ago, quality 90 to 92.
    for h in 30..78 {
        for i in 0..2 {
            calls.push(call(
                format!("b-{h}-{i}"),
                "gpt-4o",
                h,
                90.0 + (h % 3) as f64,
            ));
        }
    }
    // Recent: the last 10 hours, quality 60 to 62.
    for h in 1..11 {
        for i in 0..2 {
            calls.push(call(
                format!("r-{h}-{i}"),
                "gpt-4o",
                h,
                60.0 + (h % 3) as f64,
            ));
        }
    }
    calls.push(call("x-1".into(), "my-local-model", 2, 80.0));
    app.ingest(&key, &calls).await;

    let (s, v) = app
        .get_json(
            "/api/v1/models/health",
            &[("range", "24h".into()), ("baseline", "7d".into())],
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["bucket_s"], 3600);
    let models = v["models"].as_array().unwrap();
    assert_eq!(models.len(), 2, "{v}");
    let g = &models[0];
    assert_eq!(g["model"], "gpt-4o");
    assert_eq!(g["requests"], 20, "the recent window only");
    assert_eq!(g["cache_hit_rate"], 0.75);
    assert_eq!(g["context_window"], 128_000, "bundled with the price");
    assert_eq!(g["context_use"], 0.25);
    assert_eq!(g["series"].as_array().unwrap().len(), 10);
    let q = g["drift"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["metric"] == "quality")
        .cloned()
        .unwrap_or_else(|| panic!("quality judged: {g}"));
    assert_eq!(q["drifted"], true, "{q}");
    assert!((q["baseline"].as_f64().unwrap() - 91.0).abs() < 0.1, "{q}");
    assert!((q["recent"].as_f64().unwrap() - 61.0).abs() < 0.5, "{q}");
    let speed = g["drift"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["metric"] == "tokens_per_second")
        .unwrap();
    assert_eq!(speed["drifted"], false, "{speed}");
    let local = &models[1];
    assert_eq!(local["context_window"], Value::Null);
    assert_eq!(local["context_use"], Value::Null);
    assert_eq!(local["drift"], json!([]), "no baseline, nothing judged");

    // A context window given with a price is used for the model it prices.
    let r = app
        .client
        .post(app.url("/api/v1/prices"))
        .json(
            &json!({"provider": "openai", "model_pattern": "my-local-model",
            "input_per_mtok_micros": 0, "output_per_mtok_micros": 0, "context_window": 64000,
            "effective_from": "2024-01-01T00:00:00Z"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let (_, v) = app
        .get_json(
            "/api/v1/models/health",
            &[("range", "24h".into()), ("model", "my-local-model".into())],
        )
        .await;
    assert_eq!(v["models"][0]["context_use"], 0.5, "{v}");

    // A short range reads minutes.
    let (_, v) = app
        .get_json("/api/v1/models/health", &[("range", "1h".into())])
        .await;
    assert_eq!(v["bucket_s"], 60);
}

#[tokio::test]
async fn bad_ranges_are_refused_naming_the_parameter() {
    let (app, _key) = spawn_with_key().await;
    for (q, field) in [
        (vec![("range", "90d")], "range"),
        (vec![("baseline", "soon")], "baseline"),
        (vec![("window", "1h")], "window"),
    ] {
        let q: Vec<(&str, String)> = q.into_iter().map(|(k, v)| (k, v.to_owned())).collect();
        let (s, v) = app.get_json("/api/v1/models/health", &q).await;
        assert_eq!(s, 400, "{v}");
        assert_eq!(v["field"], field, "{v}");
    }
    let r = app
        .client
        .post(app.url("/api/v1/prices"))
        .json(&json!({"model_pattern": "m", "input_per_mtok_micros": 0,
            "output_per_mtok_micros": 0, "context_window": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["field"], "context_window");
}
