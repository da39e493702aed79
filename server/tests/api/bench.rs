//! Benchmark runs against a local upstream with known speeds and answers: figures within
//! tolerance, exact quality scores, cancelling, failures and hangs, refusals.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{bench_upstream, spawn_app, TestApp};

async fn setup() -> (TestApp, bench_upstream::BenchUpstream) {
    let up = bench_upstream::start().await;
    let app = spawn_app().await;
    app.login().await;
    let r = app
        .client
        .put(app.url("/api/v1/providers/lab"))
        .json(&json!({"kind": "openai", "base_url": up.url(), "api_key": "sk-local"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    (app, up)
}

async fn start(app: &TestApp, body: Value) -> (u16, Value) {
    let r = app
        .client
        .post(app.url("/api/v1/benchmarks"))
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn detail(app: &TestApp, id: i64) -> Value {
    let (status, d) = app.get_json(&format!("/api/v1/benchmarks/{id}"), &[]).await;
    assert_eq!(status, 200, "{d}");
    d
}

/// Waits for the run to leave `running`.
async fn finished(app: &TestApp, id: i64, secs: u64) -> Value {
    let until = Instant::now() + Duration::from_secs(secs);
    loop {
        let d = detail(app, id).await;
        if d["run"]["status"] != "running" {
            return d;
        }
        assert!(Instant::now() < until, "run {id} still running: {d}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn model<'a>(run: &'a Value, name: &str) -> &'a Value {
    run["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["model"] == name)
        .unwrap_or_else(|| panic!("no {name} in {run}"))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

const PROMPTS: [&str; 4] = ["alpha", "bravo", "charlie", "delta"];

#[tokio::test]
async fn a_run_times_scores_and_records_every_model() {
    let (app, up) = setup().await;
    // $1 per million input tokens, $2 per million output: 10 + 5 tokens = 20 micro-USD.
    let r = app
        .client
        .post(app.url("/api/v1/prices"))
        .json(&json!({"provider": "lab", "model_pattern": "*", "input_per_mtok_micros": 1_000_000,
                      "output_per_mtok_micros": 2_000_000, "effective_from": "2020-01-01T00:00:00Z"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let expected: Vec<String> = PROMPTS.iter().map(|p| p.to_uppercase()).collect();
    let (status, run) = start(
        &app,
        json!({"models": ["lab/good-fast", "lab/bad-fast", "lab/good-slow"],
               "category": "reasoning", "prompts": PROMPTS, "expected": expected,
               "scoring": "exact", "concurrency": 2, "max_tokens": 64}),
    )
    .await;
    assert_eq!(status, 201, "{run}");
    assert_eq!(run["status"], "running");
    assert_eq!(run["name"], "good-fast vs bad-fast vs good-slow");
    let id = run["id"].as_i64().unwrap();
    let d = finished(&app, id, 30).await;
    let run = &d["run"];
    assert_eq!(run["status"], "done", "{d}");

    for name in ["lab/good-fast", "lab/bad-fast", "lab/good-slow"] {
        let m = model(run, name);
        assert_eq!(
            (
                m["done"].as_u64(),
                m["total"].as_u64(),
                m["errors"].as_u64()
            ),
            (Some(4), Some(4), Some(0)),
            "{m}"
        );
        assert_eq!(m["output_tokens"], 20);
        assert!((f(&m["cost"]) - 80e-6).abs() < 1e-12, "{m}");
    }
    // Quality is exact: the good models answer every prompt as expected, the bad none.
    assert_eq!(model(run, "lab/good-fast")["quality"], 1.0);
    assert_eq!(model(run, "lab/good-slow")["quality"], 1.0);
    assert_eq!(model(run, "lab/bad-fast")["quality"], 0.0);

    // Speeds within tolerance of the upstream's: fast 20 ms to the first byte and 60 ms in
    // all; slow 150 ms and 270 ms (4 gaps of 30 ms). Generation: 5 tokens over 40 / 120 ms.
    let fast = model(run, "lab/good-fast");
    let slow = model(run, "lab/good-slow");
    let within = |v: f64, lo: f64, hi: f64| assert!((lo..hi).contains(&v), "{v} not in {lo}..{hi}");
    within(f(&fast["ttfb_p50_ms"]), 19.0, 120.0);
    within(f(&fast["total_p50_ms"]), 59.0, 200.0);
    within(f(&slow["ttfb_p50_ms"]), 149.0, 300.0);
    within(f(&slow["total_p50_ms"]), 269.0, 450.0);
    within(f(&fast["tokens_per_s"]), 40.0, 130.0);
    within(f(&slow["tokens_per_s"]), 20.0, 42.0);
    // Two rounds of the slow model at concurrency 2: the run lasts about as long as it.
    let wall = f(&run["wall_ms"]);
    let slowest = f(&slow["wall_ms"]);
    within(slowest, 539.0, 1000.0);
    assert!(
        wall >= slowest && wall - slowest < 50.0,
        "{wall} against {slowest}"
    );

    // Every answer is kept with its text and score.
    let answers = d["answers"].as_array().unwrap();
    assert_eq!(answers.len(), 12);
    let a = answers
        .iter()
        .find(|a| a["model"] == "lab/good-fast" && a["prompt"] == 2)
        .unwrap();
    assert_eq!(a["answer"], "CHARLIE");
    assert_eq!(a["score"], 1.0);
    assert_eq!(d["input"]["prompts"][2], "charlie");

    // The calls are recorded like any other: feature `benchmark`, session `bench-<id>`.
    app.wait_for_calls(12).await;
    let tagged: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM llm_calls WHERE feature = 'benchmark' AND session_id = $1
             AND status = 'ok' AND output_tokens = 5 AND input_tokens = 10",
    )
    .bind(format!("bench-{id}"))
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(tagged, 12);
    assert_eq!(up.received(), 12);

    // The history lists it, newest first, with the same figures.
    let (status, list) = app.get_json("/api/v1/benchmarks", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(list[0]["id"], id);
    assert_eq!(model(&list[0], "lab/bad-fast")["quality"], 0.0);
}

#[tokio::test]
async fn judge_contains_and_regex_scores_are_exact() {
    let (app, _up) = setup().await;
    let (status, run) = start(
        &app,
        json!({"models": ["lab/good-fast", "lab/bad-fast"], "prompts": PROMPTS,
               "scoring": "judge", "judge_model": "lab/judge"}),
    )
    .await;
    assert_eq!(status, 201, "{run}");
    let d = finished(&app, run["id"].as_i64().unwrap(), 30).await;
    // The judge says 7 out of 10 to every answer.
    assert_eq!(model(&d["run"], "lab/good-fast")["quality"], 0.7);
    assert_eq!(model(&d["run"], "lab/bad-fast")["quality"], 0.7);

    // Contains ignores case; half the expected answers are found in the good answers.
    let (_, run) = start(
        &app,
        json!({"models": ["lab/good-fast", "lab/bad-fast"], "prompts": PROMPTS,
               "expected": ["alpha", "nope", "charlie", "nope"], "scoring": "contains"}),
    )
    .await;
    let d = finished(&app, run["id"].as_i64().unwrap(), 30).await;
    assert_eq!(model(&d["run"], "lab/good-fast")["quality"], 0.5);
    assert_eq!(model(&d["run"], "lab/bad-fast")["quality"], 0.0);

    // A regex per prompt; prompts without one are not scored.
    let (_, run) = start(
        &app,
        json!({"models": ["lab/good-fast", "lab/bad-fast"], "prompts": PROMPTS,
               "expected": ["^AL", null, "^X"], "scoring": "regex"}),
    )
    .await;
    let d = finished(&app, run["id"].as_i64().unwrap(), 30).await;
    assert_eq!(model(&d["run"], "lab/good-fast")["quality"], 0.5);
    assert_eq!(model(&d["run"], "lab/bad-fast")["quality"], 0.0);
}

#[tokio::test]
async fn cancelling_stops_every_request_in_flight() {
    let (app, up) = setup().await;
    let (status, run) = start(
        &app,
        json!({"models": ["lab/stall", "lab/good-fast"], "prompts": ["a", "b", "c", "d", "e", "f"],
               "concurrency": 3, "timeout_s": 600}),
    )
    .await;
    assert_eq!(status, 201, "{run}");
    let id = run["id"].as_i64().unwrap();
    // Three stalled streams stay open; the fast model finishes its six.
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let d = detail(&app, id).await;
        if up.in_flight() == 3 && model(&d["run"], "lab/good-fast")["done"] == 6 {
            break;
        }
        assert!(Instant::now() < until, "in flight {}: {d}", up.in_flight());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let r = app
        .client
        .post(app.url(&format!("/api/v1/benchmarks/{id}/cancel")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let d = finished(&app, id, 10).await;
    assert_eq!(d["run"]["status"], "cancelled");
    // Every stalled connection is closed upstream, and no further request was sent.
    let until = Instant::now() + Duration::from_secs(5);
    while up.in_flight() > 0 {
        assert!(
            Instant::now() < until,
            "still in flight: {}",
            up.in_flight()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(up.received(), 9);
    assert_eq!(model(&d["run"], "lab/stall")["done"], 0);
    assert_eq!(model(&d["run"], "lab/good-fast")["done"], 6);
    // The stalled calls are recorded as cancelled.
    app.wait_for_calls(9).await;
    let cancelled: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM llm_calls WHERE status = 'cancelled' AND model = 'stall'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(cancelled, 3);
    // A finished run cannot be cancelled again.
    let r = app
        .client
        .post(app.url(&format!("/api/v1/benchmarks/{id}/cancel")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    // A finished run can be deleted; its calls stay.
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/benchmarks/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (status, _) = app.get_json(&format!("/api/v1/benchmarks/{id}"), &[]).await;
    assert_eq!(status, 404);
    assert!(app.call_count().await >= 9);
}

#[tokio::test]
async fn failing_and_hanging_upstreams_are_recorded_as_errors_and_the_run_finishes() {
    let (app, _up) = setup().await;
    let (status, run) = start(
        &app,
        json!({"models": ["lab/fail", "lab/stall", "lab/good-fast"], "prompts": ["a", "b"],
               "expected": ["A", "B"], "scoring": "exact", "timeout_s": 1}),
    )
    .await;
    assert_eq!(status, 201, "{run}");
    let d = finished(&app, run["id"].as_i64().unwrap(), 20).await;
    let r = &d["run"];
    assert_eq!(r["status"], "done");
    assert_eq!(model(r, "lab/fail")["errors"], 2);
    assert_eq!(model(r, "lab/stall")["errors"], 2);
    assert_eq!(model(r, "lab/good-fast")["errors"], 0);
    // Errors are wrong answers.
    assert_eq!(model(r, "lab/fail")["quality"], 0.0);
    assert_eq!(model(r, "lab/good-fast")["quality"], 1.0);
    let errors: Vec<&str> = d["answers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["error"].as_str())
        .collect();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("HTTP 500") && e.contains("crashed")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("within 1 s")),
        "{errors:?}"
    );
}

#[tokio::test]
async fn bad_runs_are_refused_naming_the_field() {
    let (app, _up) = setup().await;
    let good = json!({"models": ["lab/good-fast"], "prompts": ["hi"]});
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"models": ["lab/no-such-model"], "prompts": ["hi"]}),
            "models[0]",
        ),
        (
            json!({"models": ["elsewhere/x"], "prompts": ["hi"]}),
            "models[0]",
        ),
        (json!({"models": [], "prompts": ["hi"]}), "models"),
        (
            json!({"models": ["lab/good-fast"], "prompts": []}),
            "prompts",
        ),
        (
            json!({"models": ["lab/good-fast"], "prompts": ["x".repeat(10 * 1024 * 1024 + 1)]}),
            "prompts",
        ),
        (
            json!({"models": ["lab/good-fast"], "prompts": ["a"], "scoring": "regex", "expected": ["("]}),
            "expected[0]",
        ),
        (
            json!({"models": ["lab/good-fast"], "prompts": ["a"], "scoring": "judge"}),
            "judge_model",
        ),
        (
            json!({"models": ["lab/good-fast"], "prompts": ["a"], "scoring": "judge", "judge_model": "lab/nope"}),
            "judge_model",
        ),
        (
            json!({"models": ["lab/good-fast"], "prompts": ["a"], "repetitions": 0}),
            "repetitions",
        ),
        (
            json!({"models": ["lab/good-fast"], "prompts": ["a"], "scoring": "telepathy"}),
            "scoring",
        ),
    ];
    for (body, field) in cases {
        let (status, e) = start(&app, body).await;
        assert!(status == 422 || status == 400, "{status} {e}");
        assert_eq!(e["field"], field, "{e}");
    }
    let (status, e) = app.get_json("/api/v1/benchmarks/999", &[]).await;
    assert_eq!(status, 404, "{e}");

    // Reading needs `read`, starting needs `ingest`; nobody anonymous.
    let (_, read_key) = app
        .create_key_with(&json!({"name": "reader", "scopes": ["read"]}))
        .await;
    app.assert_status_with_key(Method::GET, "/api/v1/benchmarks", &read_key, 200)
        .await;
    let (status, _) = app.post_json("/api/v1/benchmarks", &read_key, &good).await;
    assert_eq!(status, 403);
    let r = app
        .bare_client()
        .post(app.url("/api/v1/benchmarks"))
        .json(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let (_, both) = app
        .create_key_with(&json!({"name": "bench", "scopes": ["read", "ingest"]}))
        .await;
    let (status, run) = app.post_json("/api/v1/benchmarks", &both, &good).await;
    assert_eq!(status, 201, "{run}");
}

#[tokio::test]
async fn the_model_list_comes_from_the_providers() {
    let (app, _up) = setup().await;
    // A provider that does not answer is named, not fatal.
    let r = app
        .client
        .put(app.url("/api/v1/providers/gone"))
        .json(&json!({"kind": "openai", "base_url": "http://127.0.0.1:9", "api_key": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (status, m) = app.get_json("/api/v1/benchmarks/models", &[]).await;
    assert_eq!(status, 200, "{m}");
    let want: Vec<String> = {
        let mut v: Vec<String> = bench_upstream::MODELS
            .iter()
            .map(|m| format!("lab/{m}"))
            .collect();
        v.sort();
        v
    };
    assert_eq!(m["models"], json!(want));
    assert_eq!(m["unavailable"][0]["provider"], "gone");
}

#[tokio::test]
async fn the_cli_runs_a_benchmark_and_prints_a_table_or_json() {
    let (app, _up) = setup().await;
    let (_, key) = app
        .create_key_with(&json!({"name": "cli", "scopes": ["read", "ingest"]}))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let prompts = dir.path().join("prompts.jsonl");
    std::fs::write(
        &prompts,
        "{\"prompt\": \"alpha\", \"expected\": \"ALPHA\"}\n{\"prompt\": \"bravo\", \"expected\": \"nope\"}\n",
    )
    .unwrap();
    let cli = |extra: &[&str]| {
        let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_sightline"));
        c.args(["bench", "--server", &app.url("/"), "--api-key", &key]);
        c.args(["--models", "lab/good-fast,lab/bad-fast", "--prompts"])
            .arg(&prompts)
            .args(extra)
            .env_remove("SIGHTLINE_SERVER")
            .env_remove("SIGHTLINE_API_KEY");
        c
    };
    let out = cli(&[]).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Expected answers in the file make it an exact-match run: one of two right.
    let good = stdout
        .lines()
        .find(|l| l.starts_with("lab/good-fast"))
        .unwrap();
    assert!(good.contains("2/2") && good.ends_with("50%"), "{stdout}");
    assert!(
        stdout.starts_with("run ") && stdout.contains(": done in "),
        "{stdout}"
    );

    let out = cli(&["--json"]).output().await.unwrap();
    assert!(out.status.success());
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(model(&d["run"], "lab/bad-fast")["quality"], 0.0);
    assert_eq!(d["answers"].as_array().unwrap().len(), 4);

    // Bad options are named: by the CLI, or by the server's refusal.
    let out = cli(&["--scoring", "telepathy"]).output().await.unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("--scoring"), "{err}");
    let mut c = cli(&[]);
    c.args(["--models", "lab/unknown"]);
    let out = c.output().await.unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && err.contains("models[2]: provider 'lab' does not offer a model 'unknown'"),
        "{err}"
    );
}
