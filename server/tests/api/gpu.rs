//! Per-request GPU attribution against a real PostgreSQL: a provider tied to a host's GPU,
//! that GPU's samples joined with the provider's calls, known GPU-seconds and energy per
//! model; refusals naming the field and access rules.

use crate::support::spawn_with_key;
use app::types::system::{GpuSample, HostInfo, SampleBatch, SystemSample};
use chrono::{Duration, DurationRound, Utc};
use reqwest::Method;
use serde_json::{json, Value};

fn close(v: &Value, want: f64) -> bool {
    (v.as_f64().unwrap_or(f64::NAN) - want).abs() < 1e-6
}

#[tokio::test]
async fn calls_get_the_gpu_time_and_energy_of_their_windows() {
    let (app, key) = spawn_with_key().await;
    let start = (Utc::now() - Duration::seconds(120))
        .duration_trunc(Duration::seconds(1))
        .unwrap();
    // 60 one-second samples of two GPUs. GPU 1 runs at 90 % and 300 W during 20–30 s and
    // 40–50 s, at 10 % and 60 W otherwise; GPU 0 is always busy (it is not the one bound).
    let samples: Vec<SystemSample> = (0..60)
        .map(|i| {
            let busy = (20..30).contains(&i) || (40..50).contains(&i);
            let (u, w) = if busy { (90.0, 300.0) } else { (10.0, 60.0) };
            SystemSample {
                time: start + Duration::seconds(i),
                gpus: vec![
                    GpuSample {
                        index: 0,
                        utilization: 100.0,
                        power_w: Some(400.0),
                        ..Default::default()
                    },
                    GpuSample {
                        index: 1,
                        utilization: u,
                        power_w: Some(w),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }
        })
        .collect();
    let body = json!(SampleBatch {
        host: HostInfo {
            hostname: "gpu-box".into(),
            ..Default::default()
        },
        samples
    });
    let (s, v) = app.post_samples(&key, &body).await;
    assert_eq!(s, 200, "{v}");
    let call = |id: &str, provider: &str, at: i64| {
        json!({"id": id, "time": start + Duration::seconds(at), "provider": provider,
               "model": "llama-8b", "duration_ms": 10_000.0, "input_tokens": 100,
               "output_tokens": 400})
    };
    let (s, v) = app
        .post_calls(
            &key,
            &vec![
                call("a", "vllm", 20),
                call("b", "vllm", 40),
                call("c", "other", 20),
            ],
        )
        .await;
    assert_eq!(s, 200, "{v}");

    let r = app
        .client
        .put(app.url("/api/v1/gpu/bindings/vllm"))
        .json(&json!({"host": "gpu-box", "gpu": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (s, v) = app
        .get_json("/api/v1/gpu/attribution", &[("range", "1h".into())])
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["bindings"],
        json!([{"provider": "vllm", "host": "gpu-box", "gpu": 1}])
    );
    let models = v["models"].as_array().unwrap();
    assert_eq!(models.len(), 1, "only the bound provider's calls: {v}");
    let m = &models[0];
    assert_eq!(
        (m["provider"].as_str(), m["calls"].as_u64()),
        (Some("vllm"), Some(2))
    );
    // Each call: 10 s × 90 % = 9 GPU-seconds and 10 s × 300 W = 3000 J.
    assert!(close(&m["gpu_seconds"], 18.0), "{m}");
    assert!(close(&m["energy_wh"], 6000.0 / 3600.0), "{m}");
    assert!(close(&m["gpu_seconds_per_call"], 9.0), "{m}");
    let g = &v["gpus"][0];
    assert_eq!(g["samples"], 60);
    // The other 40 s at 10 % and 60 W went to no call.
    assert!(close(&g["idle_gpu_seconds"], 4.0), "{g}");
    assert!(close(&g["idle_energy_wh"], 40.0 * 60.0 / 3600.0), "{g}");
}

#[tokio::test]
async fn bindings_are_checked_and_a_persons_to_change() {
    let (app, key) = spawn_with_key().await;
    let put = |body: Value| {
        let app = &app;
        async move {
            let r = app
                .client
                .put(app.url("/api/v1/gpu/bindings/vllm"))
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    for (body, field) in [
        (json!({"host": "gpu-box", "gpu": -1}), "gpu"),
        (json!({"host": " ", "gpu": 0}), "host"),
        (json!({"host": "gpu-box"}), "gpu"),
    ] {
        let (s, v) = put(body).await;
        assert_eq!(s, 422, "{v}");
        assert_eq!(v["field"], field, "{v}");
    }
    let (s, _) = put(json!({"host": "gpu-box", "gpu": 0})).await;
    assert_eq!(s, 200);
    app.assert_status_with_key(Method::DELETE, "/api/v1/gpu/bindings/vllm", &key, 403)
        .await;
    app.assert_status_as_user(Method::DELETE, "/api/v1/gpu/bindings/vllm", 200)
        .await;
    app.assert_status_as_user(Method::DELETE, "/api/v1/gpu/bindings/vllm", 404)
        .await;
    let (s, v) = app
        .get_json("/api/v1/gpu/attribution", &[("range", "48h".into())])
        .await;
    assert_eq!((s, v["field"].as_str()), (400, Some("range")), "{v}");
}
