//! The alerts benchmark of docs/BENCHMARKS.md (run by scripts/bench-alerts.sh):
//!
//! 1. one evaluation cycle over 1,000 rules, with a million calls over the last 7 days
//!    (sent through the ingest API, so their rollups are the real ones) and 7 days of
//!    per-minute samples from 10 hosts (written as the minute rollups the system writer
//!    keeps, which is all evaluation reads);
//! 2. the time from a threshold crossing (a sample posted) to the webhook request, with the
//!    default 15 s interval and the same 1,000 rules.
//!
//! ```text
//! cargo run --release -p server --example alert_bench -- --database-url postgres://…/sightline_bench_alerts
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use app::types::alert::AlertRuleInput;
use chrono::Utc;
use clap::Parser;
use serde_json::json;
use server::{config::ServeArgs, domain::alert::validate_rule, startup::Application, store};

#[derive(Parser)]
struct Args {
    /// An empty database for the run.
    #[arg(long)]
    database_url: String,
    #[arg(long, default_value_t = 1_000_000)]
    calls: u64,
    #[arg(long, default_value_t = 1000)]
    rules: usize,
    #[arg(long, default_value_t = 21)]
    cycles: usize,
    /// Crossings to time.
    #[arg(long, default_value_t = 6)]
    crossings: usize,
    /// Make three rules in ten judge their history: CPU and LLM p95 anomalies (2 h
    /// baseline), disk forecasts (6 h baseline, 1 d ahead).
    #[arg(long)]
    history_rules: bool,
}

const PASSWORD: &str = "bench-admin-password";
const MODELS: [(&str, &str); 4] = [
    ("openai", "gpt-4o-mini"),
    ("openai", "gpt-4.1"),
    ("anthropic", "claude-sonnet-4-5"),
    ("local", "llama-3.1-8b"),
];

async fn start(db: &str, interval: &str) -> (Application, reqwest::Client, String) {
    let args = ServeArgs {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        database_url: Some(db.to_owned()),
        log: Some("warn".into()),
        data_dir: Some(std::env::temp_dir().join("sightline-alert-bench")),
        system_interval: Some("off".into()),
        alert_interval: Some(interval.into()),
        alert_group_window: Some("0s".into()),
        ..Default::default()
    };
    let config = args.resolve(Some(PASSWORD.into()), None).unwrap();
    let app = Application::build(config).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    (app, client, base)
}

fn median(v: &mut [f64]) -> (f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (v[v.len() / 2], v[(v.len() * 95 / 100).min(v.len() - 1)])
}

fn rule(i: usize, history: bool) -> AlertRuleInput {
    let host = format!("host-{}", i % 10);
    let (metric, labels, agg, threshold): (&str, serde_json::Value, Option<&str>, f64) =
        match i % 10 {
            0 | 1 => (
                "system.cpu.utilization",
                json!({"host": host}),
                None,
                80.0 + (i % 20) as f64,
            ),
            2 => (
                "system.memory.utilization",
                json!({"host": host}),
                None,
                90.0,
            ),
            3 => (
                "system.filesystem.utilization",
                json!({}),
                Some("max"),
                95.0,
            ),
            4 => ("gpu.temperature", json!({"host": host}), None, 85.0),
            5 => (
                "gen_ai.client.operation.duration",
                json!({"model": MODELS[i % 4].1}),
                Some("p95"),
                5.0,
            ),
            6 => (
                "llm.error_rate",
                json!({"provider": MODELS[i % 4].0}),
                None,
                5.0,
            ),
            7 => ("llm.requests", json!({}), Some("rate"), 1e6),
            8 => ("budget.utilization", json!({}), None, 80.0),
            _ => ("system.host.silence", json!({}), None, 300.0),
        };
    let mut r = json!({
        "name": format!("bench rule {i}"), "metric": metric, "labels": labels,
        "aggregation": agg, "window": if i.is_multiple_of(3) { "15m" } else { "5m" },
        "comparator": ">", "threshold": threshold, "for": "5m", "severity": "warning",
    });
    if history {
        match i % 10 {
            0 | 5 => {
                r["kind"] = json!("anomaly");
                r["baseline"] = json!("2h");
                r["threshold"] = json!(4.0);
            }
            3 => {
                r["kind"] = json!("forecast");
                r["baseline"] = json!("6h");
                r["horizon"] = json!("1d");
            }
            _ => {}
        }
    }
    serde_json::from_value(r).unwrap()
}

#[tokio::main]
async fn main() {
    let a = Args::parse();
    let (app, client, base) = start(&a.database_url, "1h").await;
    let pool = app.pool().clone();
    let state = app.state().clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let key: serde_json::Value = client
        .post(format!("{base}/api/v1/keys"))
        .json(&json!({"name": "bench", "scopes": ["ingest", "read"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = key["secret"].as_str().unwrap().to_owned();

    // A million calls spread over 7 days, through the ingest API.
    let started = Instant::now();
    let now = Utc::now();
    let span = 7 * 86_400_000i64;
    let batches = a.calls.div_ceil(1000);
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (next, client, base, key) =
            (Arc::clone(&next), client.clone(), base.clone(), key.clone());
        let total = a.calls;
        workers.push(tokio::spawn(async move {
            loop {
                let b = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if b >= batches {
                    return;
                }
                let calls: Vec<serde_json::Value> = (b * 1000..((b + 1) * 1000).min(total))
                    .map(|n| {
                        let (provider, model) = MODELS[(n % 4) as usize];
                        let t = now - chrono::Duration::milliseconds((n as i64 * 7919) % span);
                        json!({"id": format!("ab-{n}"), "time": t, "provider": provider, "model": model,
                               "status": if n % 50 == 0 { "error" } else { "ok" },
                               "duration_ms": 200.0 + (n % 1000) as f64, "input_tokens": 100 + n % 900,
                               "output_tokens": 10 + n % 300})
                    })
                    .collect();
                let r = client
                    .post(format!("{base}/api/v1/llm/calls"))
                    .bearer_auth(&key)
                    .json(&json!({ "calls": calls }))
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success(), "{}", r.text().await.unwrap());
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    println!(
        "seeded {} calls through the API in {:.1} s",
        a.calls,
        started.elapsed().as_secs_f64()
    );

    // 7 days of minute rollups for 10 hosts: CPU, memory, a filesystem, a GPU.
    let started = Instant::now();
    sqlx::query(
        "INSERT INTO system_hosts (host, info, last_seen)
         SELECT 'host-' || h, '{}'::jsonb, now() FROM generate_series(0, 9) h",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO system_rollup_minute (host, bucket, series, min, max, sum, count, last, last_time)
         SELECT 'host-' || h, date_trunc('minute', now()) - m * interval '1 minute', s.name,
                s.base, s.base + 10, (s.base + 5) * 60, 60, s.base + 5,
                date_trunc('minute', now()) - m * interval '1 minute' + interval '59 seconds'
         FROM generate_series(0, 9) h, generate_series(0, 7 * 1440 - 1) m,
              (VALUES ('cpu.total', 40.0), ('mem.used', 4e9), ('mem.total', 8e9),
                      ('fs.used:/', 50e9), ('fs.total:/', 100e9), ('gpu.temp:0', 60.0)) s(name, base)",
    )
    .execute(&pool)
    .await
    .unwrap();
    println!(
        "seeded 7 days of minute rollups for 10 hosts ({} rows) in {:.1} s",
        10 * 7 * 1440 * 6,
        started.elapsed().as_secs_f64()
    );

    for i in 0..a.rules {
        let spec = validate_rule(&rule(i, a.history_rules)).unwrap();
        store::alerts::insert_rule(&pool, &spec, false)
            .await
            .unwrap();
    }
    sqlx::query("ANALYZE").execute(&pool).await.unwrap();

    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..a.cycles {
        let t = Instant::now();
        let report = server::alerts::evaluator::run_cycle(&state, Utc::now())
            .await
            .unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        last = Some(report);
    }
    let (p50, p95) = median(&mut times);
    println!(
        "evaluation cycle over {} rules: median {p50:.1} ms, p95 {p95:.1} ms ({} cycles; last: {:?})",
        a.rules + 13,
        a.cycles,
        last.unwrap()
    );
    // The state holds the ingest writer's handle: the server's shutdown waits for it.
    drop(state);
    let _ = tx.send(());
    serving.await.unwrap().unwrap();

    // Crossing to webhook, with the default interval.
    let got: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
    let keep = Arc::clone(&got);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::Json<serde_json::Value>| {
            let keep = Arc::clone(&keep);
            async move {
                keep.lock().unwrap().push((
                    Instant::now(),
                    body["status"].as_str().unwrap_or("").to_owned(),
                ));
                "ok"
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let (app, client, base) = start(&a.database_url, "15s").await;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let ch: serde_json::Value = client
        .post(format!("{base}/api/v1/alerts/channels"))
        .json(&json!({"name": "bench hook", "kind": "webhook", "url": hook}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = client
        .post(format!("{base}/api/v1/alerts/rules"))
        .json(
            &json!({"name": "bench crossing", "metric": "system.cpu.utilization",
            "labels": {"host": "crossing"}, "aggregation": "last", "window": "1m",
            "comparator": ">", "threshold": 50, "for": "0s", "severity": "critical",
            "channels": [ch["id"]]}),
        )
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let sample = |cpu: f64| {
        use app::types::system::{CpuSample, HostInfo, SampleBatch, SystemSample};
        json!(SampleBatch {
            host: HostInfo {
                hostname: "crossing".into(),
                ..Default::default()
            },
            samples: vec![SystemSample {
                time: Utc::now(),
                cpu: CpuSample {
                    total: cpu,
                    ..Default::default()
                },
                ..Default::default()
            }],
        })
    };
    // Start from a quiet alert, at a random point of the cycle each time.
    let mut delays = Vec::new();
    for i in 0..a.crossings * 2 {
        let firing = i % 2 == 0;
        tokio::time::sleep(Duration::from_millis(1000 + (i as u64 * 3_700) % 9_000)).await;
        let before = got.lock().unwrap().len();
        let t0 = Instant::now();
        let r = client
            .post(format!("{base}/api/v1/system/samples"))
            .bearer_auth(&key)
            .json(&sample(if firing { 90.0 } else { 10.0 }))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        loop {
            if let Some((t, status)) = got.lock().unwrap().get(before).cloned() {
                assert_eq!(status, if firing { "firing" } else { "resolved" });
                delays.push(t.duration_since(t0).as_secs_f64());
                break;
            }
            assert!(t0.elapsed() < Duration::from_secs(60), "no webhook");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let (p50, p95) = median(&mut delays);
    let max = delays.iter().cloned().fold(0.0, f64::max);
    println!(
        "threshold crossing to webhook (interval 15 s, {} rules): median {p50:.2} s, p95 {p95:.2} s, max {max:.2} s over {} crossings",
        a.rules + 14,
        delays.len()
    );
    let _ = tx.send(());
    serving.await.unwrap().unwrap();
}
