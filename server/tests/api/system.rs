//! System metrics against a real PostgreSQL: samples stored, rollups equal to SQL over the raw
//! samples, idempotent replays, the metrics API per tier, retention by dropping partitions,
//! the built-in collector and its live topic, and the agent replaying its buffer in order
//! after a server outage.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use crate::support::{spawn_app, spawn_app_with, spawn_on, spawn_with_key, ADMIN_PASSWORD};
use app::types::system::{CpuSample, FsSample, HostInfo, MemorySample, SampleBatch, SystemSample};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use server::{
    agent::{run_with, AgentOptions},
    domain::system::Retention,
    live::LiveHub,
    store,
    system::{collector::SampleSource, writer::SystemWriter},
};

fn host(name: &str) -> HostInfo {
    HostInfo {
        hostname: name.into(),
        os: "Debian".into(),
        cores: 2,
        memory_total: 1000,
        ..Default::default()
    }
}

/// A sample whose figures follow `i`, so every bucket has different min, max and last.
fn sample(t: DateTime<Utc>, i: i64) -> SystemSample {
    let cpu = ((i * 37) % 100) as f64;
    SystemSample {
        time: t,
        cpu: CpuSample {
            total: cpu,
            cores: vec![cpu / 2.0, 100.0 - cpu],
            load1: 0.5,
            ..Default::default()
        },
        memory: MemorySample {
            total: 1000,
            used: 400 + (i % 7) as u64,
            ..Default::default()
        },
        filesystems: vec![FsSample {
            mount: "/".into(),
            device: "sda1".into(),
            fs_type: "ext4".into(),
            total: 5000,
            used: 2000 + i as u64,
        }],
        ..Default::default()
    }
}

#[tokio::test]
async fn samples_are_stored_and_rollups_agree_with_the_raw_samples() {
    let (app, key) = spawn_with_key().await;
    // 200 samples a second apart, crossing minute boundaries, ending a minute ago.
    let start = Utc::now() - chrono::Duration::seconds(260);
    let samples: Vec<SystemSample> = (0..200)
        .map(|i| sample(start + chrono::Duration::seconds(i), i))
        .collect();
    // Out of order on purpose: storage must not care.
    let mut shuffled = samples.clone();
    shuffled.reverse();
    let body = json!(SampleBatch {
        host: host("web-1"),
        samples: shuffled
    });
    let (status, v) = app.post_samples(&key, &body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["accepted"], 200);
    // A replay of the same batch stores nothing twice.
    let (_, v) = app.post_samples(&key, &body).await;
    assert_eq!(v["accepted"], 0);

    let raw: i64 = sqlx::query_scalar("SELECT count(*) FROM system_samples WHERE host = 'web-1'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(raw, 200);

    // Minute and hour rollups equal aggregates computed by SQL from the raw samples.
    for (table, unit) in [
        ("system_rollup_minute", "minute"),
        ("system_rollup_hour", "hour"),
    ] {
        for series in ["cpu.total", "cpu.core:1", "mem.used", "fs.used:/"] {
            let sql = format!(
                "WITH raw AS (
                   SELECT date_trunc('{unit}', s.time) AS b, s.time,
                          s.vals[array_position(n.names, $1)] AS v
                   FROM system_samples s JOIN system_series_sets n ON n.id = s.set_id
                   WHERE s.host = 'web-1')
                 SELECT r.b, min(v), max(v), avg(v), count(*),
                        (array_agg(v ORDER BY r.time DESC))[1],
                        x.min, x.max, x.sum / x.count, x.count, x.last
                 FROM raw r JOIN {table} x ON x.host = 'web-1' AND x.series = $1 AND x.bucket = r.b
                 GROUP BY r.b, x.min, x.max, x.sum, x.count, x.last ORDER BY r.b"
            );
            type Row = (
                DateTime<Utc>,
                f64,
                f64,
                f64,
                i64,
                f64,
                f64,
                f64,
                f64,
                i64,
                f64,
            );
            let rows: Vec<Row> = sqlx::query_as(&sql)
                .bind(series)
                .fetch_all(&app.pool)
                .await
                .unwrap();
            assert!(!rows.is_empty(), "{table} {series} has rows");
            let counted: i64 = rows.iter().map(|r| r.4).sum();
            assert_eq!(counted, 200, "{table} {series}: every sample in one bucket");
            for r in rows {
                assert_eq!(
                    (r.1, r.2, r.4, r.5),
                    (r.6, r.7, r.9, r.10),
                    "{table} {series} at {}",
                    r.0
                );
                assert!((r.3 - r.8).abs() < 1e-9);
            }
        }
    }

    // A late sample lands in its own minute.
    let late_at = start - chrono::Duration::seconds(90);
    let (_, v) = app
        .post_samples(
            &key,
            &json!(SampleBatch {
                host: host("web-1"),
                samples: vec![sample(late_at, 3)]
            }),
        )
        .await;
    assert_eq!(v["accepted"], 1);
    let count: i64 = sqlx::query_scalar(
        "SELECT count FROM system_rollup_minute WHERE host = 'web-1' AND series = 'cpu.total' AND bucket = date_trunc('minute', $1::timestamptz)",
    )
    .bind(late_at)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(count >= 1);

    // The API: the host, its latest sample, metrics from the raw tier and the minute tier.
    let (s, hosts) = app.get_json("/api/v1/system/hosts", &[]).await;
    assert_eq!(s, 200);
    assert_eq!(hosts[0]["host"], "web-1");
    assert_eq!(hosts[0]["info"]["os"], "Debian");
    let (_, detail) = app.get_json("/api/v1/system/hosts/web-1", &[]).await;
    assert_eq!(
        detail["latest"]["cpu"]["total"].as_f64().unwrap(),
        samples[199].cpu.total
    );
    let (s, m) = app
        .get_json(
            "/api/v1/system/hosts/web-1/metrics",
            &[
                ("range", "10m".into()),
                ("series", "cpu.total,cpu.core:*".into()),
                ("points", "600".into()),
            ],
        )
        .await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["tier"], "raw");
    let names: Vec<&str> = m["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["cpu.core:0", "cpu.core:1", "cpu.total"]);
    let cpu = &m["series"][2]["points"];
    assert_eq!(cpu.as_array().unwrap().len(), 201);
    let last = cpu.as_array().unwrap().last().unwrap();
    assert_eq!(last[1].as_f64().unwrap(), samples[199].cpu.total);
    let (_, m) = app
        .get_json(
            "/api/v1/system/hosts/web-1/metrics",
            &[("range", "24h".into()), ("series", "cpu.total".into())],
        )
        .await;
    assert_eq!(m["tier"], "minute");
    let total: f64 = m["series"][0]["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_f64().unwrap())
        .sum();
    assert!(total > 0.0);

    // Bad input: which field and why; no session or key, no access.
    let bad = |hostname: &str, t: DateTime<Utc>| {
        json!(SampleBatch {
            host: host(hostname),
            samples: vec![sample(t, 1)]
        })
    };
    let (s, v) = app.post_samples(&key, &bad("", Utc::now())).await;
    assert_eq!((s, v["field"].as_str()), (422, Some("host.hostname")));
    let (s, v) = app
        .post_samples(&key, &bad("x", Utc::now() + chrono::Duration::hours(1)))
        .await;
    assert_eq!((s, v["field"].as_str()), (422, Some("samples[0].time")));
    let (s, v) = app
        .post_samples(&key, &bad("x", Utc::now() - chrono::Duration::days(30)))
        .await;
    assert_eq!((s, v["field"].as_str()), (422, Some("samples[0].time")));
    let (s, v) = app
        .post_samples(&key, &json!({ "host": host("x"), "samples": [] }))
        .await;
    assert_eq!((s, v["field"].as_str()), (422, Some("samples")));
    // Lists and names in a sample are bounded.
    let mut many = sample(Utc::now(), 1);
    many.filesystems = vec![many.filesystems[0].clone(); 300];
    let mut long_name = sample(Utc::now(), 1);
    long_name.filesystems[0].mount = "/x".repeat(150);
    for (one, field) in [(many, "samples[0]"), (long_name, "samples[0].filesystems")] {
        let batch = json!(SampleBatch {
            host: host("x"),
            samples: vec![one]
        });
        let (s, v) = app.post_samples(&key, &batch).await;
        assert_eq!((s, v["field"].as_str()), (422, Some(field)));
    }
    let (s, v) = app
        .post_samples(&key, &json!({ "host": "not an object", "samples": [] }))
        .await;
    assert_eq!((s, v["field"].as_str()), (422, Some("host")));
    let (s, _) = app.post_samples("wrong-key", &bad("x", Utc::now())).await;
    assert_eq!(s, 401);
    let (s, v) = app
        .get_json(
            "/api/v1/system/hosts/nope/metrics",
            &[("series", "cpu.total".into())],
        )
        .await;
    assert_eq!(s, 404, "{v}");
    let (s, v) = app
        .get_json("/api/v1/system/hosts/web-1/metrics", &[])
        .await;
    assert_eq!((s, v["field"].as_str()), (400, Some("series")));
    let (s, v) = app
        .get_json(
            "/api/v1/system/hosts/web-1/processes",
            &[("sort", "name".into())],
        )
        .await;
    assert_eq!((s, v["field"].as_str()), (400, Some("sort")));
    let (s, v) = app.get_json("/api/v1/system/hosts/web-1/gpus", &[]).await;
    assert_eq!(s, 200);
    assert_eq!(v["message"], "No GPU detected");
    assert_eq!(v["gpus"].as_array().unwrap().len(), 0);
    let r = app
        .bare_client()
        .get(app.url("/api/v1/system/hosts"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    app.shutdown().await;
}

#[tokio::test]
async fn retention_drops_whole_partitions_of_each_tier() {
    // A migrated database without a running server, whose own housekeeping would enforce
    // retention at a moment of its choosing.
    let app = spawn_app().await;
    let db_url = app.db_url.clone();
    app.shutdown().await;
    let pool = sqlx::PgPool::connect(&db_url).await.unwrap();
    let writer = SystemWriter::new(pool.clone(), LiveHub::new());
    let now = Utc::now();
    let old = now - chrono::Duration::days(10);
    let h = host("old-host");
    writer.write(&h, &[sample(old, 1)], false).await.unwrap();
    writer.write(&h, &[sample(now, 2)], false).await.unwrap();
    let partition = format!("system_samples_p{}", old.format("%Y%m%d"));
    let exists = |name: String| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, bool>(
                "SELECT EXISTS (SELECT 1 FROM pg_class WHERE relname = $1)",
            )
            .bind(name)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert!(
        exists(partition.clone()).await,
        "made on demand for an old sample"
    );

    let dropped = store::system::enforce_retention(&pool, now, &Retention::default())
        .await
        .unwrap();
    assert!(dropped.contains(&partition), "{dropped:?}");
    assert!(!exists(partition).await);
    let raw: Vec<DateTime<Utc>> = sqlx::query_scalar("SELECT time FROM system_samples")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(raw.len(), 1, "only the recent sample is left");
    // The minute tier keeps 90 days: the old minute is still there.
    let minutes: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT bucket) FROM system_rollup_minute WHERE series = 'cpu.total'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(minutes, 2);
    // With a 5-day minute retention, the old minute partition goes too.
    let short = Retention {
        minute: chrono::Duration::days(5),
        ..Retention::default()
    };
    let dropped = store::system::enforce_retention(&pool, now, &short)
        .await
        .unwrap();
    assert_eq!(
        dropped,
        vec![format!("system_rollup_minute_p{}", old.format("%Y%m%d"))]
    );
    pool.close().await;
}

#[tokio::test]
async fn the_built_in_collector_stores_and_streams_this_host() {
    let app = spawn_app_with(|a| a.system_interval = Some("200ms".into())).await;
    app.login().await;
    let mut stream = app
        .client
        .get(app.url("/api/v1/stream?topics=system"))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains("event: system") {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .expect("a system event within 10 s")
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let data = seen
        .split("event: system\ndata: ")
        .nth(1)
        .and_then(|s| s.lines().next())
        .unwrap();
    let live: Value = serde_json::from_str(data).unwrap();
    assert!(!live["sample"]["cpu"]["cores"]
        .as_array()
        .unwrap()
        .is_empty());

    let (s, hosts) = app.get_json("/api/v1/system/hosts", &[]).await;
    assert_eq!(s, 200);
    let me = &hosts[0];
    assert_eq!(me["local"], true);
    assert_eq!(me["online"], true);
    assert!(me["info"]["cores"].as_u64().unwrap() >= 1);
    let name = me["host"].as_str().unwrap().to_owned();
    let (_, procs) = app
        .get_json(
            &format!("/api/v1/system/hosts/{name}/processes"),
            &[("sort", "memory".into())],
        )
        .await;
    let list = procs["processes"].as_array().unwrap();
    assert!(!list.is_empty());
    let mem: Vec<u64> = list.iter().map(|p| p["memory"].as_u64().unwrap()).collect();
    assert!(mem.windows(2).all(|w| w[0] >= w[1]), "sorted by memory");
    app.shutdown().await;
}

/// Samples stamped by the agent's clock, with a counter for a value; remembers what it made.
struct Counting {
    made: Arc<Mutex<Vec<DateTime<Utc>>>>,
}

impl SampleSource for Counting {
    fn host_info(&mut self) -> HostInfo {
        host("agent-host")
    }
    fn sample(&mut self, now: DateTime<Utc>) -> SystemSample {
        let mut made = self.made.lock().unwrap();
        made.push(now);
        sample(now, made.len() as i64)
    }
}

#[tokio::test]
async fn the_agent_replays_its_buffer_in_order_after_a_server_outage() {
    // The database and the key exist first; then the server goes away.
    let db = crate::support::fresh_database().await;
    let first = spawn_on(&db, ADMIN_PASSWORD, |_| {}).await;
    first.login().await;
    let (_, key) = first.create_key("agent").await;
    let port = first.addr.port();
    first.shutdown().await;

    let made = Arc::new(Mutex::new(Vec::new()));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let agent = tokio::spawn(run_with(
        Box::new(Counting { made: made.clone() }),
        AgentOptions {
            server: format!("http://127.0.0.1:{port}").parse().unwrap(),
            api_key: key,
            interval: Duration::from_millis(100),
            buffer: Duration::from_secs(60),
        },
        async move {
            let _ = stop_rx.await;
        },
    ));
    // Twenty-odd samples while nothing listens.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let during_outage = made.lock().unwrap().len();
    assert!(during_outage >= 15, "{during_outage}");

    let app = spawn_on(&db, ADMIN_PASSWORD, |a| {
        a.listen = Some(format!("127.0.0.1:{port}").parse().unwrap());
    })
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM system_samples")
            .fetch_one(&app.pool)
            .await
            .unwrap();
        if stored as usize >= during_outage + 5 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "replay too slow: {stored}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = stop_tx.send(());
    agent.await.unwrap().unwrap();

    // Every sample made is stored, once, in order, with no gap.
    let made = made.lock().unwrap().clone();
    let stored: Vec<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT time FROM system_samples WHERE host = 'agent-host' ORDER BY time",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let micros = |v: &[DateTime<Utc>]| v.iter().map(|t| t.timestamp_micros()).collect::<Vec<_>>();
    assert_eq!(micros(&stored), micros(&made));
    let widest = made.windows(2).map(|w| w[1] - w[0]).max().unwrap();
    assert!(
        widest < chrono::Duration::milliseconds(400),
        "gap of {widest}"
    );
    app.shutdown().await;
}
