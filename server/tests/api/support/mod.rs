//! Test harness: each test gets a fresh database on a real PostgreSQL and a real server on
//! a loopback port.
//!
//! The PostgreSQL server is `SIGHTLINE_TEST_DATABASE_URL` when set (scripts/test.sh sets it
//! to a private cluster when nothing answers on 127.0.0.1:5432), else 127.0.0.1:5432.

#![allow(dead_code)]

use std::{
    net::SocketAddr,
    sync::atomic::{AtomicUsize, Ordering},
};

use reqwest::Method;
use server::{config::ServeArgs, startup::Application};
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::oneshot;

pub mod bench_upstream;
pub mod receivers;
pub mod upstream;

pub const ADMIN_PASSWORD: &str = "correct-horse-battery";

pub fn server_url() -> String {
    std::env::var("SIGHTLINE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn with_database(url: &str, db: &str) -> String {
    let mut u = url::Url::parse(url).unwrap();
    u.set_path(&format!("/{db}"));
    u.to_string()
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Creates an empty database and returns its URL. Databases left by earlier runs (other
/// process ids) are dropped first.
pub async fn fresh_database() -> String {
    let admin = server_url();
    let mut conn = PgConnection::connect(&admin).await.expect(
        "tests need PostgreSQL: set SIGHTLINE_TEST_DATABASE_URL or run one on 127.0.0.1:5432",
    );
    let pid = std::process::id();
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    if n == 0 {
        let stale: Vec<String> = sqlx::query_scalar(
            "SELECT datname FROM pg_database WHERE datname LIKE 'sightline_test_%' AND datname NOT LIKE $1",
        )
        .bind(format!("sightline_test_{pid}_%"))
        .fetch_all(&mut conn)
        .await
        .unwrap();
        for db in stale {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
                .execute(&mut conn)
                .await;
        }
    }
    let db = format!("sightline_test_{pid}_{n}");
    sqlx::query(&format!("CREATE DATABASE \"{db}\""))
        .execute(&mut conn)
        .await
        .unwrap();
    with_database(&admin, &db)
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub db_url: String,
    pub pool: PgPool,
    /// A client that keeps cookies, like a browser.
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    /// A slot among the servers allowed to run at once; freed when the app is dropped.
    _slot: tokio::sync::OwnedSemaphorePermit,
}

/// Servers running at once. All API tests share one binary, so without a bound they would
/// all start together and exhaust PostgreSQL's connections (each server has a pool).
const MAX_SERVERS: usize = 6;

fn slots() -> std::sync::Arc<tokio::sync::Semaphore> {
    static SLOTS: std::sync::OnceLock<std::sync::Arc<tokio::sync::Semaphore>> =
        std::sync::OnceLock::new();
    SLOTS
        .get_or_init(|| std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_SERVERS)))
        .clone()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A client without cookies and without following redirects.
    pub fn bare_client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    pub async fn login(&self) {
        let r = self
            .client
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({ "username": "admin", "password": ADMIN_PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login failed: {}", r.text().await.unwrap());
    }

    /// Creates an API key that may ingest and read, as the logged-in admin; returns
    /// (id, secret).
    pub async fn create_key(&self, name: &str) -> (i64, String) {
        let body = serde_json::json!({ "name": name, "scopes": ["ingest", "read"] });
        self.create_key_with(&body).await
    }

    /// Creates an API key from a request body (`name`, `scopes`, `host`); returns
    /// (id, secret).
    pub async fn create_key_with(&self, body: &serde_json::Value) -> (i64, String) {
        let r = self
            .client
            .post(self.url("/api/v1/keys"))
            .json(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let body: serde_json::Value = r.json().await.unwrap();
        (
            body["key"]["id"].as_i64().unwrap(),
            body["secret"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.unwrap().unwrap();
        }
    }
}

pub fn test_args(db_url: &str) -> ServeArgs {
    ServeArgs {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        database_url: Some(db_url.to_owned()),
        log: Some("warn".into()),
        // Each server its own data directory (the proxy spool lives there).
        data_dir: Some(
            tempfile::Builder::new()
                .prefix("sightline-test-")
                .tempdir()
                .unwrap()
                .keep(),
        ),
        // Tests that want the host collector switch it on.
        system_interval: Some("off".into()),
        ..Default::default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customise: impl FnOnce(&mut ServeArgs)) -> TestApp {
    let db_url = fresh_database().await;
    spawn_on(&db_url, ADMIN_PASSWORD, customise).await
}

pub async fn spawn_on(
    db_url: &str,
    admin_password: &str,
    customise: impl FnOnce(&mut ServeArgs),
) -> TestApp {
    let slot = slots().acquire_owned().await.unwrap();
    let mut args = test_args(db_url);
    customise(&mut args);
    let config = args.resolve(Some(admin_password.to_owned()), None).unwrap();
    let app = Application::build(config).await.unwrap();
    let addr = app.local_addr();
    let pool = app.pool().clone();
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestApp {
        addr,
        db_url: db_url.to_owned(),
        pool,
        client,
        stop: Some(tx),
        handle: Some(handle),
        _slot: slot,
    }
}

/// The Python interpreter with the OpenTelemetry SDK and the openai and anthropic SDKs:
/// `SIGHTLINE_TEST_PYTHON`, or the virtual environment scripts/test.sh makes in .tools/py.
pub fn python() -> std::path::PathBuf {
    if let Ok(p) = std::env::var("SIGHTLINE_TEST_PYTHON") {
        return p.into();
    }
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/py/bin/python");
    assert!(
        p.exists(),
        "the Python clients are missing: run scripts/test.sh once (it creates .tools/py) or set SIGHTLINE_TEST_PYTHON"
    );
    p
}

/// Runs a script from tests/py with arguments; panics with its output when it fails.
pub async fn run_python(script: &str, args: &[&str]) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/py")
        .join(script);
    let out = tokio::process::Command::new(python())
        .arg(path)
        .args(args)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{script} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

impl TestApp {
    /// Calls stored so far.
    pub async fn call_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM llm_calls")
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    /// Waits until the calls acknowledged so far are in the rollups, as every read through
    /// the API does (a GET passes the server's barrier), before a test reads them directly.
    pub async fn settled(&self) {
        let r = self
            .bare_client()
            .get(self.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }

    /// Waits until `n` calls are stored (the proxy records in the background).
    pub async fn wait_for_calls(&self, n: i64) {
        for _ in 0..200 {
            if self.call_count().await >= n {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("expected {n} calls, found {}", self.call_count().await);
    }
}

impl TestApp {
    /// POSTs `body` to `path` with the API key `key`; the status and the JSON answer
    /// (`null` when the answer is not JSON).
    pub async fn post_json(
        &self,
        path: &str,
        key: &str,
        body: &impl serde::Serialize,
    ) -> (u16, serde_json::Value) {
        let r = self
            .bare_client()
            .post(self.url(path))
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .unwrap();
        (
            r.status().as_u16(),
            r.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    /// `POST /api/v1/llm/calls` with `{ "calls": calls }`.
    pub async fn post_calls(
        &self,
        key: &str,
        calls: &impl serde::Serialize,
    ) -> (u16, serde_json::Value) {
        let body = serde_json::json!({ "calls": calls });
        self.post_json("/api/v1/llm/calls", key, &body).await
    }

    /// Stores `calls` in batches of 1000, asserting each is accepted.
    pub async fn ingest<T: serde::Serialize>(&self, key: &str, calls: &[T]) {
        for chunk in calls.chunks(1000) {
            let (status, body) = self.post_calls(key, &chunk).await;
            assert_eq!(status, 200, "{body}");
        }
    }

    /// `POST /api/v1/llm/events` with `{ "events": events }`.
    pub async fn post_events(
        &self,
        key: &str,
        events: &impl serde::Serialize,
    ) -> (u16, serde_json::Value) {
        let body = serde_json::json!({ "events": events });
        self.post_json("/api/v1/llm/events", key, &body).await
    }

    /// `POST /api/v1/system/samples` with `body`.
    pub async fn post_samples(
        &self,
        key: &str,
        body: &impl serde::Serialize,
    ) -> (u16, serde_json::Value) {
        self.post_json("/api/v1/system/samples", key, body).await
    }

    /// GETs `path?q` with the logged-in client; the status and the JSON answer.
    pub async fn get_json(&self, path: &str, q: &[(&str, String)]) -> (u16, serde_json::Value) {
        let r = self
            .client
            .get(self.url(path))
            .query(q)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }
}

impl TestApp {
    /// Asserts the status of a body-less request sent with the API key `key`.
    pub async fn assert_status_with_key(&self, method: Method, path: &str, key: &str, want: u16) {
        let r = self.bare_client().request(method.clone(), self.url(path));
        let got = r.bearer_auth(key).send().await.unwrap().status().as_u16();
        assert_eq!(got, want, "{method} {path} with a key");
    }

    /// Asserts the status of a body-less request sent by the logged-in client.
    pub async fn assert_status_as_user(&self, method: Method, path: &str, want: u16) {
        let r = self.client.request(method.clone(), self.url(path));
        let got = r.send().await.unwrap().status().as_u16();
        assert_eq!(got, want, "{method} {path} as the user");
    }
}

impl TestApp {
    /// GETs `path` with the API key `key`; the status and the JSON answer.
    pub async fn get_json_with_key(&self, path: &str, key: &str) -> (u16, serde_json::Value) {
        let r = self.bare_client().get(self.url(path)).bearer_auth(key);
        let r = r.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }
}

/// A fresh server with the admin logged in and one API key: (app, key secret).
pub async fn spawn_with_key() -> (TestApp, String) {
    let app = spawn_app().await;
    app.login().await;
    let (_, key) = app.create_key("test").await;
    (app, key)
}

/// Reads an event stream into `seen` until it holds `needle` (10 s at most).
pub async fn read_until(
    body: &mut (impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    seen: &mut String,
    needle: &str,
) {
    use futures_util::StreamExt;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !seen.contains(needle) {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .unwrap_or_else(|_| panic!("no {needle:?} in: {seen}"))
            .expect("stream ended")
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
}
