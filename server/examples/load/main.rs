//! Load generator for the benchmarks in docs/BENCHMARKS.md (run by scripts/bench.sh).
//!
//! ```text
//! cargo run --release -p server --example load -- ingest --url URL --key KEY --batch 100
//! cargo run --release -p server --example load -- otlp   --url URL --key KEY --batch 500
//! cargo run --release -p server --example load -- lost   --url URL --key KEY --total 200000 --database-url DB
//! cargo run --release -p server --example load -- proxy  --url URL --key KEY --admin-password PW --hard-budgets 10
//! cargo run --release -p server --example load -- budget-status --url URL --key KEY --admin-password PW
//! cargo run --release -p server --example load -- middleware --requests 200000
//! ```
//!
//! Every figure counts only what the server acknowledged, and Sightline acknowledges after
//! the commit, so acknowledged calls are stored and queryable.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use clap::{Parser, Subcommand};
use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest,
    common::v1::{any_value::Value as AnyV, AnyValue, KeyValue},
    resource::v1::Resource,
    trace::v1::{ResourceSpans, ScopeSpans, Span},
};
use prost::Message;
use serde_json::{json, Value};

mod figures;

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(clap::Args, Clone)]
struct Common {
    /// Sightline's base URL.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    url: String,
    /// An API key.
    #[arg(long)]
    key: String,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
}

#[derive(Subcommand)]
enum Mode {
    /// Native batches to POST /api/v1/llm/calls for a while.
    Ingest {
        #[command(flatten)]
        c: Common,
        #[arg(long, default_value_t = 100)]
        batch: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// The server's pid, to report its CPU per call and PostgreSQL's apart.
        #[arg(long)]
        server_pid: Option<u32>,
    },
    /// The ceiling for ingest: one binary `COPY` of `rows` call-shaped rows into a plain
    /// table with the same columns, primary key and indexes as `llm_calls`, committed.
    CopyCeiling {
        #[arg(long)]
        database_url: String,
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
    },
    /// GenAI spans as OTLP protobuf to POST /v1/traces for a while.
    Otlp {
        #[command(flatten)]
        c: Common,
        #[arg(long, default_value_t = 500)]
        batch: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Exactly `total` calls, retrying on 503, then counts the rows stored.
    Lost {
        #[command(flatten)]
        c: Common,
        #[arg(long, default_value_t = 100_000)]
        total: usize,
        #[arg(long, default_value_t = 500)]
        batch: usize,
        /// Where to count the rows.
        #[arg(long)]
        database_url: String,
    },
    /// Added latency of the proxy: the same local upstream called directly and through
    /// Sightline, one request at a time, interleaved.
    Proxy {
        #[command(flatten)]
        c: Common,
        #[arg(long)]
        admin_password: String,
        #[arg(long, default_value_t = 5000)]
        requests: usize,
        /// Then measure again with this many hard budgets on every call, and rate limits.
        #[arg(long, default_value_t = 0)]
        hard_budgets: usize,
    },
    /// Budget status with many budgets over many calls: creates `budgets` budgets, ingests
    /// `calls` calls spread over 30 days, then times `GET /api/v1/budgets`.
    BudgetStatus {
        #[command(flatten)]
        c: Common,
        #[arg(long)]
        admin_password: String,
        #[arg(long, default_value_t = 100)]
        budgets: usize,
        #[arg(long, default_value_t = 1_000_000)]
        calls: usize,
    },
    /// A steady `rate` of calls per second (batches of 100) for `seconds`, with the server's
    /// RSS read every 10 s: the memory curve of a long run.
    Soak {
        #[command(flatten)]
        c: Common,
        #[arg(long, default_value_t = 5000)]
        rate: u64,
        #[arg(long, default_value_t = 600)]
        seconds: u64,
        #[arg(long)]
        server_pid: u32,
    },
    /// Prints the goal table from a figures file (see `figures`); exits 0 whether or not
    /// goals are met.
    Table {
        #[arg(long)]
        figures: std::path::PathBuf,
    },
    /// Proxied calls as fast as `concurrency` clients can send them for a while, then how
    /// many were recorded: every answered call must be (the key needs the read scope too).
    ProxyRecords {
        #[command(flatten)]
        c: Common,
        #[arg(long)]
        admin_password: String,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// The cost of the /metrics request layer: a trivial route called in process (no
    /// network) with and without it, in alternating rounds; ns per request, medians.
    Middleware {
        #[arg(long, default_value_t = 200_000)]
        requests: u32,
        #[arg(long, default_value_t = 7)]
        rounds: usize,
    },
}

const MODELS: [(&str, &str); 4] = [
    ("openai", "gpt-4o-mini"),
    ("openai", "gpt-4.1"),
    ("anthropic", "claude-sonnet-4-5"),
    ("local", "llama-3.1-8b"),
];

fn call(run: &str, n: u64) -> Value {
    let (provider, model) = MODELS[(n % 4) as usize];
    json!({
        "id": format!("{run}-{n}"),
        "provider": provider,
        "model": model,
        "duration_ms": 200.0 + (n % 1000) as f64,
        "ttft_ms": 50.0 + (n % 100) as f64,
        "input_tokens": 100 + n % 2000,
        "output_tokens": 10 + n % 800,
        "session_id": format!("{run}-s{}", n / 20),
        "user_id": format!("u{}", n % 50),
        "feature": "load",
    })
}

/// The same calls as [`call`], `batch` of them from number `first`, written straight into
/// a request body: building `Value`s cost the load generator a third of a core that the
/// server and the database should have.
fn calls_body(run: &str, first: u64, batch: usize) -> String {
    use std::fmt::Write;
    let mut body = String::with_capacity(batch * 260 + 16);
    body.push_str(r#"{"calls":["#);
    for n in first..first + batch as u64 {
        let (provider, model) = MODELS[(n % 4) as usize];
        if n > first {
            body.push(',');
        }
        let _ = write!(
            body,
            r#"{{"id":"{run}-{n}","provider":"{provider}","model":"{model}","duration_ms":{},"ttft_ms":{},"input_tokens":{},"output_tokens":{},"session_id":"{run}-s{}","user_id":"u{}","feature":"load"}}"#,
            200 + n % 1000,
            50 + n % 100,
            100 + n % 2000,
            10 + n % 800,
            n / 20,
            n % 50,
        );
    }
    body.push_str("]}");
    body
}

/// CPU time (user + system) of processes, read from /proc, in seconds: the server, each
/// PostgreSQL process by pid (backends come and go), and this load generator.
struct Cpu {
    server: f64,
    postgres: std::collections::HashMap<String, f64>,
    load: f64,
}

fn cpu_seconds(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0 // utime, stime (fields 14, 15) at 100 Hz
}

fn cpu_now(server_pid: Option<u32>) -> Cpu {
    let mut postgres = std::collections::HashMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let pid = e.file_name().to_string_lossy().into_owned();
            if pid.bytes().all(|b| b.is_ascii_digit())
                && std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|c| c.trim() == "postgres")
            {
                let cpu = cpu_seconds(&pid);
                postgres.insert(pid, cpu);
            }
        }
    }
    Cpu {
        server: server_pid.map_or(0.0, |p| cpu_seconds(&p.to_string())),
        postgres,
        load: cpu_seconds("self"),
    }
}

/// Prints CPU per item since `before`. A PostgreSQL backend that exited in between is not
/// counted (its last share is lost), so call this before closing the connections measured.
fn report_cpu(before: &Cpu, items: u64, server_pid: Option<u32>) -> (f64, f64) {
    let after = cpu_now(server_pid);
    let postgres: f64 = after
        .postgres
        .iter()
        .map(|(pid, cpu)| cpu - before.postgres.get(pid).copied().unwrap_or(0.0))
        .sum();
    let per = |seconds: f64| seconds * 1e6 / items.max(1) as f64;
    println!(
        "  CPU per item: sightline {:.1} µs, postgres {:.1} µs, load generator {:.1} µs",
        per(after.server - before.server),
        per(postgres),
        per(after.load - before.load),
    );
    (per(after.server - before.server), per(postgres))
}

async fn copy_ceiling(database_url: &str, rows: usize) {
    use server::store::copy_binary::CopyBuffer;
    let pool = sqlx::PgPool::connect(database_url).await.unwrap();
    sqlx::raw_sql(
        "DROP TABLE IF EXISTS bench_copy_ceiling;
         CREATE TABLE bench_copy_ceiling (LIKE llm_calls INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
         ALTER TABLE bench_copy_ceiling ADD PRIMARY KEY (time, id);
         CREATE INDEX ON bench_copy_ceiling (session_id, time) WHERE session_id IS NOT NULL;
         CREATE INDEX ON bench_copy_ceiling (model, time);
         CREATE INDEX ON bench_copy_ceiling (id);
         CREATE INDEX ON bench_copy_ceiling (trace_id) WHERE trace_id IS NOT NULL;",
    )
    .execute(&pool)
    .await
    .unwrap();
    let run = format!("copy{}", chrono::Utc::now().timestamp_micros());
    let now = chrono::Utc::now();
    let before = cpu_now(None);
    let start = Instant::now();
    let mut tx = pool.begin().await.unwrap();
    let conn: &mut sqlx::PgConnection = &mut tx;
    let mut copy = conn
        .copy_in_raw(
            "COPY bench_copy_ceiling (id, time, session_id, user_id, feature, provider, model,
                status, ttft_ms, duration_ms, input_tokens, output_tokens, cached_tokens,
                reasoning_tokens, tokens_per_second, cost_input_micros, cost_output_micros,
                cost_total_micros, tool_calls, cost_source) FROM STDIN (FORMAT binary)",
        )
        .await
        .unwrap();
    const CHUNK: usize = 10_000;
    for chunk_start in (0..rows).step_by(CHUNK) {
        // The header once, the trailer once: chunks of one stream.
        let mut b = CopyBuffer::new(CHUNK * 200);
        for n in chunk_start as u64..(chunk_start + CHUNK).min(rows) as u64 {
            let (provider, model) = MODELS[(n % 4) as usize];
            let (input, output) = (100 + n as i64 % 2000, 10 + n as i64 % 800);
            let duration = 200.0 + (n % 1000) as f64;
            b.row(20);
            b.text(Some(&format!("{run}-{n}")));
            b.timestamptz(now - chrono::Duration::microseconds(n as i64));
            b.text(Some(&format!("{run}-s{}", n / 20)));
            b.text(Some(&format!("u{}", n % 50)));
            b.text(Some("load"));
            b.text(Some(provider));
            b.text(Some(model));
            b.text(Some("ok"));
            b.float8(Some(50.0 + (n % 100) as f64));
            b.float8(Some(duration));
            b.int8(Some(input));
            b.int8(Some(output));
            b.int8(Some(0));
            b.int8(Some(0));
            b.float8(Some(output as f64 / duration * 1000.0));
            b.int8(Some(input * 150));
            b.int8(Some(output * 600));
            b.int8(Some(input * 150 + output * 600));
            b.int4(Some(0));
            b.text(Some("table"));
        }
        let mut bytes = b.finish();
        bytes.truncate(bytes.len() - 2);
        let body = if chunk_start == 0 {
            bytes
        } else {
            bytes.split_off(19)
        };
        copy.send(body).await.unwrap();
    }
    copy.send((-1i16).to_be_bytes().to_vec()).await.unwrap();
    copy.finish().await.unwrap();
    tx.commit().await.unwrap();
    let took = start.elapsed();
    println!(
        "copy ceiling: {rows} rows in {:.2} s = {:.0} rows/s (one binary COPY into a table with the same key and indexes, committed)",
        took.as_secs_f64(),
        rows as f64 / took.as_secs_f64()
    );
    figures::record("copy_ceiling_per_s", rows as f64 / took.as_secs_f64());
    report_cpu(&before, rows as u64, None);
    sqlx::raw_sql("DROP TABLE bench_copy_ceiling")
        .execute(&pool)
        .await
        .unwrap();
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

struct Totals {
    items: AtomicU64,
    busy: AtomicU64,
    latencies: std::sync::Mutex<Vec<Duration>>,
}

/// Prints a run's totals; items acknowledged per second.
fn report(what: &str, t: &Totals, elapsed: Duration) -> f64 {
    let mut l = t.latencies.lock().unwrap().clone();
    l.sort();
    let items = t.items.load(Ordering::Relaxed);
    println!(
        "{what}: {items} acknowledged in {:.2} s = {:.0}/s; request latency p50 {:.2} ms, p99 {:.2} ms ({} requests, {} answered 503 and retried)",
        elapsed.as_secs_f64(),
        items as f64 / elapsed.as_secs_f64(),
        percentile(&l, 0.5),
        percentile(&l, 0.99),
        l.len(),
        t.busy.load(Ordering::Relaxed),
    );
    items as f64 / elapsed.as_secs_f64()
}

/// Posts until accepted: a 503 is retried after a short pause, anything else is fatal.
async fn post_until_accepted(req: impl Fn() -> reqwest::RequestBuilder, t: &Totals) -> Duration {
    loop {
        let start = Instant::now();
        let r = req().send().await.expect("request failed");
        let status = r.status();
        let _ = r.bytes().await;
        let took = start.elapsed();
        match status.as_u16() {
            200 => return took,
            503 => {
                t.busy.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => panic!("unexpected status {other}"),
        }
    }
}

/// Builds request number `n`.
type MakeRequest = Arc<dyn Fn(&reqwest::Client, u64) -> reqwest::RequestBuilder + Send + Sync>;

async fn run_for(
    c: &Common,
    seconds: u64,
    per_request: u64,
    make: MakeRequest,
) -> (Arc<Totals>, Duration) {
    let client = reqwest::Client::new();
    let totals = Arc::new(Totals {
        items: AtomicU64::new(0),
        busy: AtomicU64::new(0),
        latencies: Default::default(),
    });
    let seq = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..c.concurrency {
        let (client, totals, seq, make) =
            (client.clone(), totals.clone(), seq.clone(), make.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let n = seq.fetch_add(1, Ordering::Relaxed);
                let took = post_until_accepted(|| make(&client, n), &totals).await;
                totals.items.fetch_add(per_request, Ordering::Relaxed);
                totals.latencies.lock().unwrap().push(took);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    (totals, start.elapsed())
}

fn kv(key: &str, v: AnyV) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(v) }),
    }
}

fn otlp_request(run: u64, n: u64, batch: usize) -> Vec<u8> {
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap() as u64;
    let spans = (0..batch as u64)
        .map(|i| {
            let k = n * batch as u64 + i;
            let (provider, model) = MODELS[(k % 4) as usize];
            let mut span_id = [0u8; 8];
            span_id.copy_from_slice(&(k ^ (run << 40)).to_be_bytes());
            Span {
                trace_id: [run.to_be_bytes(), k.to_be_bytes()].concat(),
                span_id: span_id.to_vec(),
                name: format!("chat {model}"),
                kind: 3,
                start_time_unix_nano: now - 500_000_000,
                end_time_unix_nano: now,
                attributes: vec![
                    kv("gen_ai.operation.name", AnyV::StringValue("chat".into())),
                    kv("gen_ai.provider.name", AnyV::StringValue(provider.into())),
                    kv("gen_ai.request.model", AnyV::StringValue(model.into())),
                    kv("gen_ai.response.model", AnyV::StringValue(model.into())),
                    kv(
                        "gen_ai.usage.input_tokens",
                        AnyV::IntValue(10 + (k % 2000) as i64),
                    ),
                    kv(
                        "gen_ai.usage.output_tokens",
                        AnyV::IntValue(1 + (k % 800) as i64),
                    ),
                    kv(
                        "server.address",
                        AnyV::StringValue("api.example.invalid".into()),
                    ),
                ],
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", AnyV::StringValue("load".into()))],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

/// A minimal OpenAI-style upstream: the same small JSON answer to every chat request.
async fn start_upstream() -> String {
    use axum::{routing::post, Json, Router};
    let app = Router::new().route(
        "/v1/chat/completions",
        post(|| async {
            Json(json!({"id": "c", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11}}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// A client logged in as the admin.
async fn admin_client(c: &Common, admin_password: &str) -> reqwest::Client {
    let admin = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let r = admin
        .post(format!("{}/api/v1/auth/login", c.url))
        .json(&json!({"username": "admin", "password": admin_password}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "login failed: {}", r.status());
    admin
}

/// A local upstream registered as provider `bench`; its base URL.
async fn bench_provider(c: &Common, admin_password: &str) -> String {
    let upstream = start_upstream().await;
    let admin = admin_client(c, admin_password).await;
    let r = admin
        .put(format!("{}/api/v1/providers/bench", c.url))
        .json(&json!({"kind": "openai", "base_url": upstream, "api_key": "sk-bench"}))
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "provider setup failed: {}",
        r.status()
    );
    upstream
}

async fn record_stats(c: &Common) -> Value {
    reqwest::Client::new()
        .get(format!("{}/api/v1/proxy/records", c.url))
        .bearer_auth(&c.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn proxy_records(c: &Common, admin_password: &str, seconds: u64) {
    bench_provider(c, admin_password).await;
    let before = record_stats(c).await;
    let url = format!("{}/proxy/bench/v1/chat/completions", c.url);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let tasks: Vec<_> = (0..c.concurrency)
        .map(|_| {
            let (url, key) = (url.clone(), c.key.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "ping"}]});
                let mut answered = 0u64;
                while Instant::now() < deadline {
                    let r = client.post(&url).bearer_auth(&key).json(&body).send().await;
                    if let Ok(r) = r {
                        if r.status() == 200 && r.bytes().await.is_ok() {
                            answered += 1;
                        }
                    }
                }
                answered
            })
        })
        .collect();
    let mut answered = 0;
    for t in tasks {
        answered += t.await.unwrap();
    }
    let took = start.elapsed().as_secs_f64();
    // Wait for the recorder to catch up.
    let mut after = record_stats(c).await;
    for _ in 0..600 {
        if after["waiting"] == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = record_stats(c).await;
    }
    let n = |v: &Value, k: &str| v[k].as_u64().unwrap_or(0);
    let stored = n(&after, "stored") - n(&before, "stored");
    let dropped = n(&after, "dropped") - n(&before, "dropped");
    figures::record("proxy_recorded_per_s", stored as f64 / took);
    figures::record("proxy_unrecorded", answered.saturating_sub(stored) as f64);
    println!(
        "proxy records: {answered} answered in {took:.1} s ({:.0}/s, concurrency {}); {stored} recorded, {dropped} dropped, {} not recorded",
        answered as f64 / took,
        c.concurrency,
        answered.saturating_sub(stored)
    );
}

fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn median(mut xs: Vec<f64>) -> Option<f64> {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len().checked_sub(1)? / 2).copied()
}

async fn soak(c: &Common, rate: u64, seconds: u64, server_pid: u32) {
    const BATCH: u64 = 100;
    let run = format!("soak{}", chrono::Utc::now().timestamp_micros());
    let client = reqwest::Client::new();
    let url = format!("{}/api/v1/llm/calls", c.url);
    let slots = Arc::new(tokio::sync::Semaphore::new(c.concurrency.max(1)));
    let stored = Arc::new(AtomicU64::new(0));
    let mut tick = tokio::time::interval(Duration::from_secs_f64(BATCH as f64 / rate as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let start = Instant::now();
    let (mut samples, mut next_sample) = (Vec::new(), Duration::ZERO);
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(seconds) {
        tick.tick().await;
        if start.elapsed() >= next_sample {
            let (t, rss) = (start.elapsed().as_secs_f64(), rss_mib(server_pid));
            println!(
                "  soak t={t:.0} s: server RSS {rss:.1} MiB, {} calls stored",
                stored.load(Ordering::Relaxed)
            );
            samples.push((t, rss));
            next_sample += Duration::from_secs(10);
        }
        let permit = Arc::clone(&slots).acquire_owned().await.unwrap();
        let req = client
            .post(&url)
            .bearer_auth(&c.key)
            .header("content-type", "application/json")
            .body(calls_body(&run, n * BATCH, BATCH as usize));
        n += 1;
        let stored = stored.clone();
        tokio::spawn(async move {
            let r = req.send().await.expect("request failed");
            if r.status() == 200 {
                stored.fetch_add(BATCH, Ordering::Relaxed);
            }
            drop(permit);
        });
    }
    let _ = slots.acquire_many(c.concurrency.max(1) as u32).await;
    let took = start.elapsed().as_secs_f64();
    let window = |from: f64, to: f64| {
        median(
            samples
                .iter()
                .filter(|(t, _)| *t >= from && *t < to)
                .map(|(_, r)| *r)
                .collect(),
        )
    };
    let second = window(60.0, 120.0).unwrap_or(0.0);
    let last = window(took - 60.0, took + 1.0).unwrap_or(0.0);
    let peak = samples.iter().map(|(_, r)| *r).fold(0.0, f64::max);
    let acked = stored.load(Ordering::Relaxed);
    println!(
        "soak: {acked} calls acknowledged in {took:.0} s ({:.0}/s, asked {rate}/s); server RSS second minute {second:.1} MiB, last minute {last:.1} MiB, peak {peak:.1} MiB",
        acked as f64 / took
    );
    figures::record("soak_per_s", acked as f64 / took);
    figures::record("soak_rss_second_mib", second);
    figures::record("soak_rss_last_mib", last);
    figures::record("soak_rss_peak_mib", peak);
}

/// Direct and proxied latency, one request at a time, interleaved; prints the line and
/// records the added p50 and p99 as `{figure}_p50_ms` and `{figure}_p99_ms`.
async fn proxy_round(c: &Common, upstream: &str, requests: usize, what: &str, figure: &str) {
    let client = reqwest::Client::new();
    let body = json!({"model": "gpt-4o-mini", "max_tokens": 100,
        "messages": [{"role": "user", "content": "ping"}]});
    let direct_url = format!("{upstream}/v1/chat/completions");
    let proxy_url = format!("{}/proxy/bench/v1/chat/completions", c.url);
    let (mut direct, mut proxied) = (Vec::new(), Vec::new());
    for i in 0..requests + 200 {
        for (url, into) in [(&direct_url, &mut direct), (&proxy_url, &mut proxied)] {
            let start = Instant::now();
            let r = client
                .post(url.as_str())
                .bearer_auth(&c.key)
                .header("x-sightline-user", "bench-user")
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let _ = r.bytes().await.unwrap();
            // The first 200 rounds warm connections and caches.
            if i >= 200 {
                into.push(start.elapsed());
            }
        }
    }
    direct.sort();
    proxied.sort();
    let (d50, d99) = (percentile(&direct, 0.5), percentile(&direct, 0.99));
    let (p50, p99) = (percentile(&proxied, 0.5), percentile(&proxied, 0.99));
    println!(
        "proxy{what}: {requests} requests each; direct p50 {d50:.3} ms p99 {d99:.3} ms; through Sightline p50 {p50:.3} ms p99 {p99:.3} ms; added p50 {:.3} ms, p99 {:.3} ms",
        p50 - d50,
        p99 - d99
    );
    figures::record(&format!("{figure}_p50_ms"), p50 - d50);
    figures::record(&format!("{figure}_p99_ms"), p99 - d99);
}

async fn proxy_bench(c: &Common, admin_password: &str, requests: usize, hard_budgets: usize) {
    let upstream = bench_provider(c, admin_password).await;
    proxy_round(c, &upstream, requests, "", "proxy_added").await;
    if hard_budgets == 0 {
        return;
    }
    // Every call is in the scope of each hard budget (half of them name the provider), and
    // under a per-user and a per-model rate limit far above this load.
    let admin = admin_client(c, admin_password).await;
    for i in 0..hard_budgets {
        let scope = if i % 2 == 0 {
            json!({"provider": "bench"})
        } else {
            json!({})
        };
        let r = admin
            .post(format!("{}/api/v1/budgets", c.url))
            .json(
                &json!({"name": format!("bench hard {i}"), "scope": scope, "period": "month",
                "timezone": "UTC", "limit_kind": "usd", "limit": 1e9, "mode": "hard"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }
    let r = admin
        .put(format!("{}/api/v1/rate-limits", c.url))
        .json(&json!({"limits": [
            {"subject": "user", "value": "*", "requests_per_minute": 1_000_000},
            {"subject": "model", "value": "*", "tokens_per_minute": 1_000_000_000_000u64}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    proxy_round(
        c,
        &upstream,
        requests,
        &format!(" with {hard_budgets} hard budgets and 2 rate limits"),
        "proxy_budgets_added",
    )
    .await;
}

/// Creates `n` budgets of every period, zone, unit and scope.
async fn many_budgets(c: &Common, admin: &reqwest::Client, n: usize) {
    let zones = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"];
    for i in 0..n {
        let (provider, model) = MODELS[i % 4];
        let scope = match i % 5 {
            0 => json!({}),
            1 => json!({ "provider": provider }),
            2 => json!({ "model": model }),
            3 => json!({ "user": format!("u{}", i % 50) }),
            _ => json!({ "feature": "load", "provider": provider }),
        };
        let period = ["day", "week", "month"][i % 3];
        let kind = ["usd", "tokens", "requests"][i % 3];
        let mode = if i % 2 == 0 { "soft" } else { "hard" };
        let r = admin
            .post(format!("{}/api/v1/budgets", c.url))
            .json(&json!({"name": format!("budget {i}"), "scope": scope,
                "period": period, "timezone": zones[i % 4], "reset_day": 1 + i % 28,
                "limit_kind": kind, "limit": 1e9, "mode": mode}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }
}

/// Posts calls 0..total in batches from `c.concurrency` clients, each batch until accepted;
/// `make` builds call n. Returns the totals and the time taken.
async fn post_exactly(
    c: &Common,
    total: u64,
    batch: u64,
    make: Arc<dyn Fn(u64) -> Value + Send + Sync>,
) -> (Arc<Totals>, Duration) {
    let totals = Arc::new(Totals {
        items: AtomicU64::new(0),
        busy: AtomicU64::new(0),
        latencies: Default::default(),
    });
    let batches = total.div_ceil(batch);
    let seq = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..c.concurrency {
        let (client, totals, seq, make, c) = (
            reqwest::Client::new(),
            totals.clone(),
            seq.clone(),
            make.clone(),
            c.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let b = seq.fetch_add(1, Ordering::Relaxed);
                if b >= batches {
                    return;
                }
                let lo = b * batch;
                let hi = (lo + batch).min(total);
                let body = json!({ "calls": (lo..hi).map(|n| make(n)).collect::<Vec<_>>() });
                let url = format!("{}/api/v1/llm/calls", c.url);
                let took = post_until_accepted(
                    || client.post(&url).bearer_auth(&c.key).json(&body),
                    &totals,
                )
                .await;
                totals.items.fetch_add(hi - lo, Ordering::Relaxed);
                totals.latencies.lock().unwrap().push(took);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    (totals, start.elapsed())
}

async fn budget_status_bench(c: &Common, admin_password: &str, budgets: usize, calls: usize) {
    let admin = admin_client(c, admin_password).await;
    many_budgets(c, &admin, budgets).await;
    // The calls, spread over 30 days, through the real ingest path.
    let run = format!("status{}", chrono::Utc::now().timestamp_micros());
    let now = chrono::Utc::now();
    let batch = 1000u64;
    let make = Arc::new(move |n: u64| {
        let mut v = call(&run, n);
        let minutes = ((n * 7919) % (30 * 24 * 60)) as i64;
        v["time"] = json!(now - chrono::Duration::minutes(minutes));
        v["cost"] = json!({"total_usd": 0.001 * (n % 7) as f64});
        v
    });
    let (totals, took) = post_exactly(c, calls as u64, batch, make).await;
    report(
        &format!(
            "ingest with {budgets} budgets, batch={batch} concurrency={}",
            c.concurrency
        ),
        &totals,
        took,
    );
    // Status of every budget, read with the key, one request at a time.
    let client = reqwest::Client::new();
    let mut times = Vec::new();
    let mut shown = 0;
    for i in 0..60 {
        let start = Instant::now();
        let r = client
            .get(format!("{}/api/v1/budgets", c.url))
            .bearer_auth(&c.key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let list: Vec<Value> = r.json().await.unwrap();
        assert!(list.len() >= budgets);
        shown = list.len();
        if i >= 10 {
            times.push(start.elapsed());
        }
    }
    times.sort();
    figures::record("budget_status_p50_ms", percentile(&times, 0.5));
    println!(
        "budget status: {shown} budgets over {calls} calls; GET /api/v1/budgets p50 {:.2} ms, p95 {:.2} ms ({} requests)",
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        times.len()
    );
}

/// ns per request through `router`, `requests` times one after another.
async fn ns_per_request(router: &axum::Router, requests: u32) -> f64 {
    use tower::ServiceExt;
    let started = Instant::now();
    for _ in 0..requests {
        let req = axum::http::Request::get("/ping")
            .body(axum::body::Body::empty())
            .unwrap();
        let r = router.clone().oneshot(req).await.unwrap();
        assert_eq!(r.status(), 200);
    }
    started.elapsed().as_nanos() as f64 / f64::from(requests)
}

async fn middleware_overhead(requests: u32, rounds: usize) {
    use axum::routing::get;
    let plain = axum::Router::new().route("/ping", get(|| async { "ok" }));
    let metrics = Arc::new(server::metrics::Metrics::new());
    let tracked = plain.clone().layer(axum::middleware::from_fn_with_state(
        metrics,
        server::metrics::track_requests,
    ));
    // Warm both (allocator, the metric series) before measuring.
    ns_per_request(&plain, requests / 10).await;
    ns_per_request(&tracked, requests / 10).await;
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        without.push(ns_per_request(&plain, requests).await);
        with.push(ns_per_request(&tracked, requests).await);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (a, b) = (median(&mut without), median(&mut with));
    println!(
        "request layer: {requests} requests x {rounds} rounds; median {a:.0} ns/request without, {b:.0} ns with: {:.0} ns added per request",
        b - a
    );
    figures::record("middleware_ns", b - a);
}

#[tokio::main]
async fn main() {
    match Args::parse().mode {
        Mode::Ingest {
            c,
            batch,
            seconds,
            server_pid,
        } => {
            let run = format!("ingest{}", chrono::Utc::now().timestamp_micros());
            let (url, key) = (format!("{}/api/v1/llm/calls", c.url), c.key.clone());
            let make = Arc::new(move |client: &reqwest::Client, n: u64| {
                client
                    .post(&url)
                    .bearer_auth(&key)
                    .header("content-type", "application/json")
                    .body(calls_body(&run, n * batch as u64, batch))
            });
            let before = cpu_now(server_pid);
            let (t, took) = run_for(&c, seconds, batch as u64, make).await;
            let rate = report(
                &format!("ingest batch={batch} concurrency={}", c.concurrency),
                &t,
                took,
            );
            // The goal table's runs use 4 clients; other counts get figures of their own.
            let name = match c.concurrency {
                4 => format!("ingest_b{batch}"),
                n => format!("ingest_b{batch}_c{n}"),
            };
            figures::record(&format!("{name}_per_s"), rate);
            let (sightline, postgres) =
                report_cpu(&before, t.items.load(Ordering::Relaxed), server_pid);
            if server_pid.is_some() {
                figures::record(&format!("{name}_sightline_us"), sightline);
                figures::record(&format!("{name}_postgres_us"), postgres);
            }
        }
        Mode::CopyCeiling { database_url, rows } => copy_ceiling(&database_url, rows).await,
        Mode::Otlp { c, batch, seconds } => {
            let run = chrono::Utc::now().timestamp_micros() as u64 & 0xffffff;
            let (url, key) = (format!("{}/v1/traces", c.url), c.key.clone());
            let make = Arc::new(move |client: &reqwest::Client, n: u64| {
                client
                    .post(&url)
                    .bearer_auth(&key)
                    .header("content-type", "application/x-protobuf")
                    .body(otlp_request(run, n, batch))
            });
            let (t, took) = run_for(&c, seconds, batch as u64, make).await;
            let rate = report(
                &format!("otlp spans batch={batch} concurrency={}", c.concurrency),
                &t,
                took,
            );
            figures::record("otlp_per_s", rate);
        }
        Mode::Lost {
            c,
            total,
            batch,
            database_url,
        } => {
            let run = format!("lost{}", chrono::Utc::now().timestamp_micros());
            let make = {
                let run = run.clone();
                Arc::new(move |n: u64| call(&run, n))
            };
            let (totals, took) = post_exactly(&c, total as u64, batch as u64, make).await;
            report(
                &format!(
                    "nothing-lost run batch={batch} concurrency={}",
                    c.concurrency
                ),
                &totals,
                took,
            );
            let pool = sqlx::PgPool::connect(&database_url).await.unwrap();
            let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM llm_calls WHERE id LIKE $1")
                .bind(format!("{run}-%"))
                .fetch_one(&pool)
                .await
                .unwrap();
            figures::record("lost_sent", total as f64);
            figures::record("lost_stored", stored as f64);
            println!(
                "nothing-lost: sent {total}, rows stored {stored}: {}",
                if stored == total as i64 {
                    "OK"
                } else {
                    "MISMATCH"
                }
            );
            assert_eq!(stored, total as i64);
        }
        Mode::Proxy {
            c,
            admin_password,
            requests,
            hard_budgets,
        } => proxy_bench(&c, &admin_password, requests, hard_budgets).await,
        Mode::BudgetStatus {
            c,
            admin_password,
            budgets,
            calls,
        } => budget_status_bench(&c, &admin_password, budgets, calls).await,
        Mode::ProxyRecords {
            c,
            admin_password,
            seconds,
        } => proxy_records(&c, &admin_password, seconds).await,
        Mode::Soak {
            c,
            rate,
            seconds,
            server_pid,
        } => soak(&c, rate, seconds, server_pid).await,
        Mode::Middleware { requests, rounds } => middleware_overhead(requests, rounds).await,
        Mode::Table { figures: path } => {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let (table, measured, met) = figures::table(&figures::parse(&text));
            print!("{table}");
            println!("\n{met} of {measured} measured goals met.");
        }
    }
}
