//! The `sightline` binary as a user runs it: no DATABASE_URL (embedded cluster), SIGTERM
//! leaves no postgres behind, data survives a restart, a SIGKILLed run is recovered from,
//! and bad configuration is a one-line error naming the setting.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    os::unix::fs::PermissionsExt,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use nix::{
    sys::signal::{kill, Signal},
    unistd::Pid,
};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_sightline");
const PASSWORD: &str = "lifecycle-password";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(data_dir: &Path, port: u16) -> Child {
    Command::new(BIN)
        .arg("serve")
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("DATABASE_URL")
        .env("SIGHTLINE_ADMIN_PASSWORD", PASSWORD)
        .env("SIGHTLINE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

async fn wait_ready(port: u16, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(90);
    let c = reqwest::Client::new();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("sightline exited early: {status}");
        }
        if let Ok(r) = c
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
        {
            if r.status() == 200 {
                return;
            }
        }
        assert!(Instant::now() < deadline, "not ready in time");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Processes whose command line mentions `needle` (postgres started on our data dir).
fn processes_mentioning(needle: &str) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            (cmd.contains(needle) && cmd.contains("postgres")).then_some(pid)
        })
        .collect()
}

async fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(Instant::now() < deadline, "sightline did not exit");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A connection to the running embedded cluster's `sightline` database as `user`, with the
/// password kept in `password_file` beside the cluster.
async fn embedded_conn(data: &Path, user: &str, password_file: &str) -> sqlx::PgPool {
    let pid = std::fs::read_to_string(data.join("pg/postmaster.pid")).unwrap();
    let port = pid.lines().nth(3).unwrap().trim();
    let password = std::fs::read_to_string(data.join(password_file)).unwrap();
    let url = format!(
        "postgres://{user}:{}@127.0.0.1:{port}/sightline",
        password.trim()
    );
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap()
}

async fn logged_in_client(port: u16) -> reqwest::Client {
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let r = c
        .post(format!("http://127.0.0.1:{port}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    c
}

#[tokio::test]
async fn embedded_database_lifecycle() {
    let tmp = tempfile::tempdir().unwrap();
    // Under root the cluster runs as an unprivileged user, which must reach the directory.
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data = tmp.path().join("data");
    let needle = data.to_string_lossy().to_string();

    // First start: creates the cluster, serves, keeps what we write.
    let port = free_port();
    let mut child = start(&data, port);
    wait_ready(port, &mut child).await;
    let c = logged_in_client(port).await;
    let r = c
        .post(format!("http://127.0.0.1:{port}/api/v1/keys"))
        .json(&json!({"name": "survives-restart"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert!(
        !processes_mentioning(&needle).is_empty(),
        "postgres runs on the data dir"
    );
    // Sightline connects as a role that owns its database and is no superuser.
    let app = embedded_conn(&data, "sightline", "pg-app-password").await;
    let (superuser, owner): (bool, String) = sqlx::query_as(
        "SELECT rolsuper, (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'sightline')
         FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(&app)
    .await
    .unwrap();
    assert_eq!((superuser, owner.as_str()), (false, "sightline"));
    app.close().await;
    // As an older version left it: everything owned by the superuser. The next start hands
    // it over.
    let admin = embedded_conn(&data, "postgres", "pg-password").await;
    sqlx::raw_sql(
        "ALTER DATABASE sightline OWNER TO postgres; ALTER TABLE api_keys OWNER TO postgres;
         ALTER FUNCTION sat_add(bigint, bigint) OWNER TO postgres",
    )
    .execute(&admin)
    .await
    .unwrap();
    admin.close().await;

    // SIGTERM: orderly exit, no postgres left.
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    assert!(wait_exit(&mut child).await.success());
    assert_eq!(processes_mentioning(&needle), Vec::<i32>::new());

    // Second start reuses the cluster and its data.
    let port = free_port();
    let mut child = start(&data, port);
    wait_ready(port, &mut child).await;
    let c = logged_in_client(port).await;
    let keys: Value = c
        .get(format!("http://127.0.0.1:{port}/api/v1/keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(keys[0]["name"], "survives-restart");
    let app = embedded_conn(&data, "sightline", "pg-app-password").await;
    let not_ours: i64 = sqlx::query_scalar(
        // An extension's objects (pg_stat_statements) stay the superuser's.
        "SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) <> 'sightline'
                   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid
                                   AND d.deptype = 'e'))
              + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> 'sightline'
                   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid
                                   AND d.deptype = 'e'))",
    )
    .fetch_one(&app)
    .await
    .unwrap();
    assert_eq!(not_ours, 0, "everything handed over to the app role");
    app.close().await;
    // The embedded cluster preloads pg_stat_statements where PostgreSQL ships it (Debian
    // does), so the Database page has PostgreSQL's own figures.
    let ships_it = !glob_lib("pg_stat_statements.so").is_empty();
    let db: Value = c
        .get(format!("http://127.0.0.1:{port}/api/v1/database"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        db["statements"]["available"], ships_it,
        "{}",
        db["statements"]
    );
    if ships_it {
        let top = db["statements"]["top"].as_array().unwrap();
        assert!(!top.is_empty());
        assert!(top.iter().all(|s| s["query"] != "<insufficient privilege>"));
    }

    // The database dies under the running server: the supervisor restarts it and the server
    // recovers by itself, answering 503 (never a 500) in between.
    let pid_file = std::fs::read_to_string(data.join("pg/postmaster.pid")).unwrap();
    let postmaster: i32 = pid_file.lines().next().unwrap().trim().parse().unwrap();
    kill(Pid::from_raw(postmaster), Signal::SIGKILL).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = c
            .post(format!("http://127.0.0.1:{port}/api/v1/keys"))
            .json(&json!({"name": "after-the-crash"}))
            .send()
            .await
            .unwrap();
        if r.status() == 201 {
            break;
        }
        assert_eq!(r.status(), 503, "a database outage is a 503");
        assert!(Instant::now() < deadline, "the server did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // SIGKILL leaves the database orphaned; the next start recovers it.
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).unwrap();
    wait_exit(&mut child).await;
    let port = free_port();
    let mut child = start(&data, port);
    wait_ready(port, &mut child).await;
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    assert!(wait_exit(&mut child).await.success());
    assert_eq!(processes_mentioning(&needle), Vec::<i32>::new());
}

fn run_with(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_remove("DATABASE_URL");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn bad_configuration_is_one_line_naming_the_setting() {
    for (args, env, needle) in [
        (vec!["serve", "--listen", "nope"], vec![], "--listen"),
        (
            vec!["serve"],
            vec![("SIGHTLINE_LISTEN", "nope")],
            "--listen",
        ),
        (
            vec!["serve"],
            vec![("SIGHTLINE_DB_MAX_CONNECTIONS", "0")],
            "db_max_connections",
        ),
        (
            vec!["serve"],
            vec![("DATABASE_URL", "mysql://x/y")],
            "database_url",
        ),
        (
            vec!["serve"],
            vec![("SIGHTLINE_ADMIN_PASSWORD", "short")],
            "SIGHTLINE_ADMIN_PASSWORD",
        ),
        (
            vec!["serve", "--public-url", "ftp://x"],
            vec![],
            "public_url",
        ),
    ] {
        let (code, stderr) = run_with(&args, &env);
        assert_eq!(code, 2, "{args:?} {env:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(needle), "{needle} in {stderr}");
    }
}

#[test]
fn help_explains_every_flag() {
    let out = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--listen",
        "--database-url",
        "--data-dir",
        "--public-url",
        "--db-retry",
        "--config",
    ] {
        assert!(help.contains(flag), "{flag} missing from help");
    }
    assert!(help.contains("SIGHTLINE_LISTEN"));
}

/// The PostgreSQL library files named `name` on this machine.
fn glob_lib(name: &str) -> Vec<std::path::PathBuf> {
    let Ok(versions) = std::fs::read_dir("/usr/lib/postgresql") else {
        return Vec::new();
    };
    versions
        .filter_map(Result::ok)
        .map(|v| v.path().join("lib").join(name))
        .filter(|p| p.exists())
        .collect()
}
