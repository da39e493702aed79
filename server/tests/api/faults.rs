//! Faults, with the real binary on a real PostgreSQL: a SIGKILL during sustained ingest, a
//! SIGKILL right after proxied answers, and a database restart under load. In every case
//! what the server acknowledged is stored, exactly once.

use std::{
    collections::HashSet,
    path::Path,
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use nix::{
    sys::signal::{kill, Signal},
    unistd::Pid,
};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::support::{fresh_database, upstream};

const BIN: &str = env!("CARGO_BIN_EXE_sightline");
const PASSWORD: &str = "faults-password";

/// The `sightline` binary on a port of its own.
struct Server {
    child: Child,
    port: u16,
    client: reqwest::Client,
}

impl Server {
    async fn start(db_url: &str, data_dir: &Path) -> Server {
        let port = port_outside_ephemeral_range();
        let child = Command::new(BIN)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--database-url", db_url, "--system-interval", "off"])
            .env("SIGHTLINE_ADMIN_PASSWORD", PASSWORD)
            .env("SIGHTLINE_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let mut s = Server {
            child,
            port,
            client,
        };
        s.wait_ready().await;
        s
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("sightline exited early: {status}");
            }
            if let Ok(r) = self.client.get(self.url("/readyz")).send().await {
                if r.status() == 200 {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("sightline did not become ready");
    }

    async fn login(&self) {
        let r = self
            .client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({ "username": "admin", "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }

    async fn create_key(&self) -> String {
        self.login().await;
        let r = self
            .client
            .post(self.url("/api/v1/keys"))
            .json(&json!({ "name": "load", "scopes": ["ingest", "read"] }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let body: Value = r.json().await.unwrap();
        body["secret"].as_str().unwrap().to_owned()
    }

    fn kill9(mut self) {
        self.signal(Signal::SIGKILL);
    }

    fn stop(mut self) {
        self.signal(Signal::SIGTERM);
    }

    fn signal(&mut self, signal: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), signal).unwrap();
        self.child.wait().unwrap();
    }
}

/// A failed test must not leave a server behind.
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A batch of calls with fixed ids and times, so a retry is recognised as the same calls.
fn batch(client: usize, n: usize) -> (Vec<String>, Value) {
    let time = chrono::Utc::now().to_rfc3339();
    let ids: Vec<String> = (0..20).map(|j| format!("c{client}-{n}-{j}")).collect();
    let calls: Vec<Value> = ids
        .iter()
        .map(|id| {
            json!({ "id": id, "time": time, "provider": "openai", "model": "gpt-4o",
                    "duration_ms": 10.0, "input_tokens": 100, "output_tokens": 10 })
        })
        .collect();
    (ids, json!({ "calls": calls }))
}

/// Acknowledged ids, and batches that got no acknowledgement (to retry).
#[derive(Default)]
struct Ledger {
    acked: HashSet<String>,
    /// One acknowledged batch, to send again.
    an_acked_batch: Option<Value>,
    unacked: Vec<(Vec<String>, Value)>,
}

/// Clients posting batches as fast as the server takes them until `stop`.
fn load(
    url: String,
    key: String,
    clients: usize,
    stop: Arc<AtomicBool>,
    ledger: Arc<Mutex<Ledger>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..clients)
        .map(|c| {
            let (url, key, stop, ledger) = (url.clone(), key.clone(), stop.clone(), ledger.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::builder()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .unwrap();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let (ids, body) = batch(c, n);
                    n += 1;
                    let r = http.post(&url).bearer_auth(&key).json(&body).send().await;
                    {
                        let mut l = ledger.lock().unwrap();
                        match r {
                            Ok(r) if r.status() == 200 => {
                                l.acked.extend(ids);
                                l.an_acked_batch.get_or_insert(body);
                            }
                            _ => l.unacked.push((ids, body)),
                        }
                    }
                    if n % 8 == 0 {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
            })
        })
        .collect()
}

/// Sends every unacknowledged batch again, and a few acknowledged ones, until each is taken.
async fn retry_all(url: &str, key: &str, ledger: &Mutex<Ledger>) {
    let pending = std::mem::take(&mut ledger.lock().unwrap().unacked);
    let http = reqwest::Client::new();
    for (ids, body) in pending {
        for attempt in 0.. {
            let r = http.post(url).bearer_auth(key).json(&body).send().await;
            if matches!(&r, Ok(r) if r.status() == 200) {
                ledger.lock().unwrap().acked.extend(ids);
                break;
            }
            assert!(attempt < 100, "a retried batch was never taken");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Every acknowledged id stored, none twice.
async fn assert_stored_once(pool: &PgPool, acked: &HashSet<String>) {
    let (rows, distinct): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT id) FROM llm_calls")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(rows, distinct, "a call was stored twice");
    let ids: Vec<String> = acked.iter().cloned().collect();
    let found: i64 = sqlx::query_scalar("SELECT count(*) FROM llm_calls WHERE id = ANY($1)")
        .bind(&ids)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(
        found as usize,
        acked.len(),
        "an acknowledged call is missing"
    );
}

#[tokio::test]
async fn a_sigkill_during_ingest_loses_nothing_acknowledged() {
    let db = fresh_database().await;
    let pool = PgPool::connect(&db).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&db, dir.path()).await;
    let key = server.create_key().await;
    let url = server.url("/api/v1/llm/calls");

    let stop = Arc::new(AtomicBool::new(false));
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let clients = load(url, key.clone(), 4, stop.clone(), ledger.clone());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill9();
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }
    let acked_before = ledger.lock().unwrap().acked.len();
    assert!(
        acked_before >= 200,
        "the load ran: {acked_before} acknowledged"
    );

    let server = Server::start(&db, dir.path()).await;
    let url = server.url("/api/v1/llm/calls");
    // Acknowledged batches sent again are recognised, not doubled.
    let again = ledger.lock().unwrap().an_acked_batch.clone().unwrap();
    let r = reqwest::Client::new()
        .post(&url)
        .bearer_auth(&key)
        .json(&again)
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["duplicates"], 20, "{body}");
    retry_all(&url, &key, &ledger).await;
    let acked = ledger.lock().unwrap().acked.clone();
    assert_stored_once(&pool, &acked).await;
    server.stop();
}

#[tokio::test]
async fn proxied_calls_answered_before_a_sigkill_are_stored_after_restart() {
    let db = fresh_database().await;
    let pool = PgPool::connect(&db).await.unwrap();
    let up = upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&db, dir.path()).await;
    let key = server.create_key().await;
    let r = server
        .client
        .put(server.url("/api/v1/providers/oai"))
        .json(&json!({ "kind": "openai", "base_url": up.url(), "api_key": "sk-up-1234" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Hold writes to the calls table, so the records can only be in the spool when the
    // server dies.
    let mut lock = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE llm_calls IN SHARE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();
    const N: usize = 25;
    let http = reqwest::Client::new();
    for i in 0..N {
        let r = http
            .post(server.url("/proxy/oai/v1/chat/completions"))
            .bearer_auth(&key)
            .json(&json!({ "model": "openai-mini", "messages": [{ "role": "user", "content": format!("hi {i}") }] }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let spool = dir.path().join("proxy-spool.jsonl");
    for _ in 0..100 {
        if std::fs::read_to_string(&spool)
            .unwrap_or_default()
            .lines()
            .count()
            >= N
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill9();
    lock.rollback().await.unwrap();
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM llm_calls")
        .fetch_one(&pool)
        .await
        .expect("count after the kill");
    assert_eq!(
        stored, 0,
        "nothing could be stored while the table was locked"
    );

    let server = Server::start(&db, dir.path()).await;
    let mut stored = 0i64;
    for _ in 0..200 {
        stored = sqlx::query_scalar("SELECT count(*) FROM llm_calls")
            .fetch_one(&pool)
            .await
            .expect("count after the restart");
        if stored as usize >= N {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(stored as usize, N, "every answered call is stored once");
    server.login().await;
    let stats: Value = server
        .client
        .get(server.url("/api/v1/proxy/records"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["replayed"], N, "{stats}");
    assert_eq!(stats["dropped"], 0, "{stats}");
    // Once stored, the spool is emptied.
    for _ in 0..100 {
        if std::fs::metadata(&spool).unwrap().len() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(std::fs::metadata(&spool).unwrap().len(), 0);
    server.stop();
}

/// A free loopback port below the kernel's ephemeral range. While the cluster is down, the
/// server keeps reconnecting to its port; a connect to a dead loopback port inside that range
/// can be given the same port as its source and hold it, and PostgreSQL then cannot start
/// again. Ports below the range are never handed out as sources.
fn port_outside_ephemeral_range() -> u16 {
    let low: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768);
    let floor = 10_000u16.min(low / 2);
    let span = u32::from(low - floor);
    // A start that differs per process, so parallel runs do not all try the same ports.
    let seed = std::process::id() ^ uuid::Uuid::now_v7().as_u128() as u32;
    (0..span)
        .map(|i| floor + ((seed.wrapping_add(i)) % span) as u16)
        .find(|&p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
        .expect("a free port below the ephemeral range")
}

/// A private PostgreSQL cluster that a test may stop and start.
struct Cluster {
    dir: tempfile::TempDir,
    port: u16,
    bin: std::path::PathBuf,
}

impl Cluster {
    fn as_postgres(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if nix::unistd::Uid::effective().is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn init() -> Cluster {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|p| p.join("initdb").exists())
            .max()
            .expect("PostgreSQL server binaries");
        let dir = tempfile::Builder::new()
            .prefix("sightline-fault-pg-")
            .tempdir()
            .unwrap();
        let port = port_outside_ephemeral_range();
        let c = Cluster { dir, port, bin };
        if nix::unistd::Uid::effective().is_root() {
            let status = Command::new("chown")
                .args(["postgres"])
                .arg(c.dir.path())
                .status()
                .unwrap();
            assert!(status.success());
        }
        let status = c
            .as_postgres("initdb")
            .arg("-D")
            .arg(c.dir.path().join("data"))
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
            ])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "initdb failed");
        c.start();
        c
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn pg_ctl(&self, args: &[&str]) {
        let status = self
            .as_postgres("pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .args(args)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        if !status.success() {
            let log = std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default();
            panic!("pg_ctl {args:?} failed; PostgreSQL's log:\n{log}");
        }
    }

    fn start(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.path().display()
        );
        self.pg_ctl(&["-w", "-o", &opts, "start"]);
    }

    fn stop(&self) {
        self.pg_ctl(&["-w", "-m", "fast", "stop"]);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .as_postgres("pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[tokio::test]
async fn a_database_restart_under_load_gives_503_then_recovers_with_nothing_lost() {
    let pg = Cluster::init();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&pg.url(), dir.path()).await;
    let key = server.create_key().await;
    let url = server.url("/api/v1/llm/calls");

    let stop = Arc::new(AtomicBool::new(false));
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let clients = load(url.clone(), key.clone(), 3, stop.clone(), ledger.clone());
    tokio::time::sleep(Duration::from_millis(700)).await;
    pg.stop();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    // Down: the server is up and says so, with a hint when to come back.
    let ready = reqwest::get(server.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 503);
    let (_, body) = batch(99, 0);
    let r = reqwest::Client::new()
        .post(&url)
        .bearer_auth(&key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    pg.start();
    // Back by itself: new writes are taken again without a restart.
    let deadline = Instant::now() + Duration::from_secs(30);
    let before = ledger.lock().unwrap().acked.len();
    while ledger.lock().unwrap().acked.len() < before + 200 {
        assert!(Instant::now() < deadline, "ingest did not recover");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }
    let (acked, unacked) = {
        let l = ledger.lock().unwrap();
        (l.acked.len(), l.unacked.len())
    };
    assert!(unacked > 0, "the load saw the outage");
    assert!(acked > 400, "{acked} acknowledged");
    retry_all(&url, &key, &ledger).await;
    let pool = PgPool::connect(&pg.url()).await.unwrap();
    let acked = ledger.lock().unwrap().acked.clone();
    assert_stored_once(&pool, &acked).await;
    pool.close().await;
    server.stop();
}
