//! A private PostgreSQL cluster run from the system's server binaries, so that a first run
//! needs no database set-up.
//!
//! The cluster lives in one directory, is created with `initdb` on first use and reused
//! afterwards. `postgres` runs as a child process on a free loopback port with password
//! authentication (the password is generated once and kept in a 0600 file beside the
//! cluster), without a unix socket. initdb and postgres refuse to run as root, so under root
//! they run as the unprivileged `postgres` (or `nobody`) user. A supervisor restarts the
//! server on the same port if something outside stops it; [`EmbeddedPostgres::stop`] shuts
//! it down cleanly (fast shutdown, then SIGKILL after a grace period).

use std::{
    fs,
    io::Write,
    os::unix::{fs::PermissionsExt, process::CommandExt},
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use nix::{
    sys::signal::{kill, Signal},
    unistd::{Pid, User},
};
use sqlx::{Connection, PgConnection};
use tokio::{process::Command, sync::oneshot, task::JoinHandle};

/// Why the embedded cluster could not be started.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error("PostgreSQL server binaries not found (looked in /usr/lib/postgresql/*/bin and PATH): install the postgresql package or set DATABASE_URL")]
    BinariesNotFound,
    #[error("embedded database directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("embedded database directory {0} must be reachable by the unprivileged user '{1}' that runs PostgreSQL (running as root); choose another --data-dir")]
    NotReachable(PathBuf, String),
    #[error("{step} failed: {detail}")]
    Command { step: &'static str, detail: String },
    #[error("embedded PostgreSQL did not become ready within {0:?}; see {1}")]
    NotReady(Duration, PathBuf),
    #[error("embedded PostgreSQL exited while starting ({status}): {log_tail}; see {log}")]
    Exited {
        status: String,
        log_tail: String,
        log: PathBuf,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> EmbeddedError + '_ {
    move |source| EmbeddedError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The unprivileged account the cluster runs as when we are root.
#[derive(Clone, Debug)]
struct RunAs {
    name: String,
    uid: u32,
    gid: u32,
}

/// A running embedded cluster. Dropping it without [`stop`](Self::stop) leaves the server
/// running; the next start finds and stops it.
pub struct EmbeddedPostgres {
    url: String,
    port: u16,
    stop_tx: Option<oneshot::Sender<()>>,
    supervisor: Option<JoinHandle<()>>,
}

impl EmbeddedPostgres {
    /// Creates the cluster in `dir` when needed, starts it and waits until it accepts
    /// connections to the `sightline` database (created on first start).
    pub async fn start(dir: &Path) -> Result<Self, EmbeddedError> {
        let bin = find_bin_dir().ok_or(EmbeddedError::BinariesNotFound)?;
        let run_as = run_as_user();
        let dir = absolute(dir)?;
        let parent = dir.parent().unwrap_or(Path::new("/")).to_owned();
        fs::create_dir_all(&parent).map_err(io_err(&parent))?;
        let password_file = parent.join("pg-password");
        let password = ensure_cluster(&bin, &dir, &password_file, run_as.as_ref()).await?;
        let log_path = parent.join("postgres.log");
        let (child, port) = start_server(&bin, &dir, &password, &log_path, run_as.as_ref()).await?;
        let admin_url = format!("postgres://postgres:{password}@127.0.0.1:{port}/postgres");
        let app_password = app_password(&parent.join("pg-app-password"))?;
        prepare_database(&admin_url, &app_password).await?;
        let (stop_tx, stop_rx) = oneshot::channel();
        let supervisor = tokio::spawn(supervise(
            child,
            stop_rx,
            bin,
            dir.clone(),
            port,
            log_path,
            run_as,
        ));
        tracing::info!(dir = %dir.display(), port, "embedded PostgreSQL ready");
        Ok(Self {
            url: format!("postgres://{APP_ROLE}:{app_password}@127.0.0.1:{port}/sightline"),
            port,
            stop_tx: Some(stop_tx),
            supervisor: Some(supervisor),
        })
    }

    /// Connection URL of the `sightline` database (contains the password: never log it).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Fast shutdown: waits for the server to exit (SIGKILL after 30 s).
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop_tx.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.supervisor.take() {
            let _ = handle.await;
        }
    }
}

/// Owns the child: restarts it on the same port when it dies unexpectedly, stops it on
/// request.
async fn supervise(
    mut child: tokio::process::Child,
    mut stop_rx: oneshot::Receiver<()>,
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    log_path: PathBuf,
    run_as: Option<RunAs>,
) {
    loop {
        tokio::select! {
            _ = &mut stop_rx => {
                shutdown_child(&mut child).await;
                tracing::info!("embedded PostgreSQL stopped");
                return;
            }
            status = child.wait() => {
                tracing::warn!(?status, "embedded PostgreSQL exited unexpectedly; restarting");
                tokio::time::sleep(Duration::from_secs(1)).await;
                stop_stale_server(&dir).await;
                match spawn_postgres(&bin, &dir, port, &log_path, run_as.as_ref()) {
                    Ok(c) => child = c,
                    Err(e) => {
                        tracing::error!("cannot restart embedded PostgreSQL: {e}");
                        tokio::select! {
                            _ = &mut stop_rx => return,
                            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                        }
                        continue;
                    }
                }
            }
        }
    }
}

async fn shutdown_child(child: &mut tokio::process::Child) {
    if let Some(pid) = child.id() {
        // SIGINT is PostgreSQL's "fast" shutdown: roll back open transactions, checkpoint, exit.
        let _ = kill(Pid::from_raw(pid as i32), Signal::SIGINT);
    }
    if tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .is_err()
    {
        tracing::warn!("embedded PostgreSQL did not stop in 30 s; killing it");
        let _ = child.kill().await;
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin`, else the directory of `initdb` on PATH.
/// `SIGHTLINE_PG_BIN` overrides both.
fn find_bin_dir() -> Option<PathBuf> {
    let has_tools = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    if let Some(dir) = std::env::var_os("SIGHTLINE_PG_BIN").map(PathBuf::from) {
        return has_tools(&dir).then_some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_tools(&bin).then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Some(dir);
    }
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|d| has_tools(d))
}

fn run_as_user() -> Option<RunAs> {
    if !nix::unistd::geteuid().is_root() {
        return None;
    }
    ["postgres", "nobody"].iter().find_map(|name| {
        let user = User::from_name(name).ok().flatten()?;
        Some(RunAs {
            name: (*name).to_owned(),
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
        })
    })
}

fn absolute(dir: &Path) -> Result<PathBuf, EmbeddedError> {
    if dir.is_absolute() {
        Ok(dir.to_owned())
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(dir))
            .map_err(io_err(dir))
    }
}

fn std_command(program: PathBuf, run_as: Option<&RunAs>) -> std::process::Command {
    let mut cmd = std::process::Command::new(program);
    // The caller's working directory may not be readable by the cluster's user.
    cmd.current_dir("/");
    if let Some(u) = run_as {
        // std drops supplementary groups when switching uid away from root.
        cmd.uid(u.uid).gid(u.gid);
    }
    cmd
}

/// The app role's password: generated once, kept 0600 beside the cluster.
fn app_password(path: &Path) -> Result<String, EmbeddedError> {
    if path.exists() {
        return fs::read_to_string(path)
            .map(|s| s.trim().to_owned())
            .map_err(io_err(path));
    }
    let password = crate::auth::token::random_token(24);
    write_private(path, &password)?;
    Ok(password)
}

/// Runs initdb when the cluster does not exist yet; returns the superuser password.
async fn ensure_cluster(
    bin: &Path,
    dir: &Path,
    password_file: &Path,
    run_as: Option<&RunAs>,
) -> Result<String, EmbeddedError> {
    if dir.join("PG_VERSION").is_file() {
        return fs::read_to_string(password_file)
            .map(|p| p.trim().to_owned())
            .map_err(io_err(password_file));
    }
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_err(dir))?;
    let password = crate::auth::token::random_token(24);
    // initdb reads the password from a file; it must be readable by the cluster's user.
    let pwfile = dir.with_extension("pwfile");
    write_private(&pwfile, &password)?;
    if let Some(u) = run_as {
        let owner = (
            Some(nix::unistd::Uid::from_raw(u.uid)),
            Some(nix::unistd::Gid::from_raw(u.gid)),
        );
        for p in [dir, pwfile.as_path()] {
            nix::unistd::chown(p, owner.0, owner.1).map_err(|e| EmbeddedError::Io {
                path: p.to_owned(),
                source: e.into(),
            })?;
        }
        let probe = std_command("/usr/bin/test".into(), Some(u))
            .args(["-w".as_ref(), dir.as_os_str()])
            .status();
        if !matches!(probe, Ok(s) if s.success()) {
            let _ = fs::remove_file(&pwfile);
            return Err(EmbeddedError::NotReachable(dir.to_owned(), u.name.clone()));
        }
    }
    let output = tokio::process::Command::from({
        let mut c = std_command(bin.join("initdb"), run_as);
        c.arg("-D")
            .arg(dir)
            .args(["-U", "postgres", "-E", "UTF8", "--no-locale"])
            .args(["--auth-local=peer", "--auth-host=scram-sha-256"])
            .arg(format!("--pwfile={}", pwfile.display()));
        c
    })
    .output()
    .await;
    let _ = fs::remove_file(&pwfile);
    let output = output.map_err(|e| EmbeddedError::Command {
        step: "initdb",
        detail: e.to_string(),
    })?;
    if !output.status.success() {
        let _ = fs::remove_dir_all(dir);
        return Err(EmbeddedError::Command {
            step: "initdb",
            detail: last_lines(&String::from_utf8_lossy(&output.stderr), 3),
        });
    }
    write_private(password_file, &password)?;
    tracing::info!(dir = %dir.display(), "created embedded PostgreSQL cluster");
    Ok(password)
}

/// Writes a secret to a file that is mode 0600 from its creation (never readable by others,
/// not even for a moment).
fn write_private(path: &Path, secret: &str) -> Result<(), EmbeddedError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io_err(path))?;
    f.write_all(secret.as_bytes()).map_err(io_err(path))?;
    // An existing file keeps its old mode through `open`: set it too.
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(io_err(path))
}

/// Whether a process's `/proc/<pid>/cmdline` is a postgres serving `dir`: a pid file can
/// be stale and its number reused by anything, which must not be signalled.
fn is_our_postgres(cmdline: &[u8], dir: &Path) -> bool {
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let is_postgres = args
        .first()
        .is_some_and(|a| a.ends_with(b"postgres") || a.starts_with(b"postgres"));
    let dir = dir.as_os_str().as_encoded_bytes();
    is_postgres && args.windows(2).any(|w| w[0] == b"-D" && w[1] == dir)
}

/// A server left behind by a killed Sightline still holds the directory: stop it, once
/// `/proc` shows that the pid file's process really is that cluster's postgres.
async fn stop_stale_server(dir: &Path) {
    let Some(pid) = fs::read_to_string(dir.join("postmaster.pid"))
        .ok()
        .and_then(|s| s.lines().next()?.trim().parse::<i32>().ok())
    else {
        return;
    };
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    if !is_our_postgres(&cmdline, dir) {
        return; // Not running, or another process now: postgres handles a stale pid file.
    }
    let pid = Pid::from_raw(pid);
    tracing::warn!(
        pid = pid.as_raw(),
        "stopping a PostgreSQL left running on the embedded cluster"
    );
    let _ = kill(pid, Signal::SIGINT);
    for _ in 0..300 {
        if !is_alive(pid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = kill(pid, Signal::SIGKILL);
}

/// Whether `pid` still runs. An exited process whose parent died stays a zombie until the
/// init process reaps it, and some container inits reap late or never: that is not running.
fn is_alive(pid: Pid) -> bool {
    kill(pid, None).is_ok()
        && fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| process_state(&stat))
            .is_some_and(|state| state != 'Z' && state != 'X')
}

/// The state letter of a `/proc/<pid>/stat` line: the field after the command name, which
/// is in parentheses and may itself contain spaces and parentheses.
fn process_state(stat: &str) -> Option<char> {
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}

fn spawn_postgres(
    bin: &Path,
    dir: &Path,
    port: u16,
    log_path: &Path,
    run_as: Option<&RunAs>,
) -> Result<tokio::process::Child, EmbeddedError> {
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .map_err(io_err(log_path))?;
    let log2 = log.try_clone().map_err(io_err(log_path))?;
    let mut cmd = std_command(bin.join("postgres"), run_as);
    cmd.arg("-D")
        .arg(dir)
        .arg("-p")
        .arg(port.to_string())
        .args(["-c", "listen_addresses=127.0.0.1"])
        .args(["-c", "unix_socket_directories="]);
    if has_statements_module(bin) {
        // The Database page's statement figures; loadable only at server start.
        cmd.args(["-c", "shared_preload_libraries=pg_stat_statements"]);
    }
    cmd.stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        // Own process group: a terminal's Ctrl-C reaches only Sightline, which then stops
        // the database after the last write instead of racing it.
        .process_group(0);
    Command::from(cmd)
        .kill_on_drop(false)
        .spawn()
        .map_err(|e| EmbeddedError::Command {
            step: "starting postgres",
            detail: e.to_string(),
        })
}

/// Whether this PostgreSQL installation ships `pg_stat_statements` (Debian's server
/// package does, in the `lib` folder beside `bin`).
fn has_statements_module(bin: &Path) -> bool {
    bin.parent()
        .is_some_and(|p| p.join("lib/pg_stat_statements.so").exists())
}

/// How many times a postgres that exits while starting is started again, on a fresh port.
const START_ATTEMPTS: usize = 3;

/// Stops a server left behind on the cluster, then starts postgres on a free port and waits
/// until it accepts connections. A postgres that exits while starting is tried again on
/// another port: the port picked can be taken by another socket before postgres binds it,
/// and a server left behind may still hold the cluster's lock for a moment.
async fn start_server(
    bin: &Path,
    dir: &Path,
    password: &str,
    log_path: &Path,
    run_as: Option<&RunAs>,
) -> Result<(tokio::process::Child, u16), EmbeddedError> {
    let mut attempt = 1;
    loop {
        stop_stale_server(dir).await;
        let port = free_port().map_err(io_err(dir))?;
        let mut child = spawn_postgres(bin, dir, port, log_path, run_as)?;
        let admin_url = format!("postgres://postgres:{password}@127.0.0.1:{port}/postgres");
        match wait_ready(&admin_url, log_path, &mut child).await {
            Ok(()) => return Ok((child, port)),
            Err(e @ EmbeddedError::Exited { .. }) if attempt < START_ATTEMPTS => {
                tracing::warn!("{e}; starting it again on another port");
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => {
                let _ = child.kill().await;
                return Err(e);
            }
        }
    }
}

/// Waits until postgres accepts connections, or fails at once with the log's last lines
/// when it exits first.
async fn wait_ready(
    url: &str,
    log_path: &Path,
    child: &mut tokio::process::Child,
) -> Result<(), EmbeddedError> {
    let limit = Duration::from_secs(60);
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Ok(conn) = PgConnection::connect(url).await {
            let _ = conn.close().await;
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            let log = fs::read_to_string(log_path).unwrap_or_default();
            return Err(EmbeddedError::Exited {
                status: status.to_string(),
                log_tail: last_lines(&log, 3),
                log: log_path.to_owned(),
            });
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(EmbeddedError::NotReady(limit, log_path.to_owned()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The role Sightline connects as: it owns its database and nothing else (no superuser, no
/// CREATEDB, no CREATEROLE), so a bug in a query cannot reach the cluster or the files.
const APP_ROLE: &str = "sightline";

/// Creates the `sightline` role and database when absent and makes the role own the database
/// and everything in it (a cluster made by an older version had it all owned by `postgres`).
async fn prepare_database(admin_url: &str, app_password: &str) -> Result<(), EmbeddedError> {
    let fail = |e: sqlx::Error| EmbeddedError::Command {
        step: "preparing the sightline database",
        detail: e.to_string(),
    };
    // Utility statements take no bind parameters; the password is a base64url token, and is
    // quoted as a literal all the same.
    let password = app_password.replace('\'', "''");
    let mut conn = PgConnection::connect(admin_url).await.map_err(fail)?;
    let role_exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
            .bind(APP_ROLE)
            .fetch_one(&mut conn)
            .await
            .map_err(fail)?;
    let verb = if role_exists { "ALTER" } else { "CREATE" };
    sqlx::raw_sql(&format!(
        "{verb} ROLE {APP_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '{password}'"
    ))
    .execute(&mut conn)
    .await
    .map_err(fail)?;
    let owner: Option<String> = sqlx::query_scalar(
        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'sightline'",
    )
    .fetch_optional(&mut conn)
    .await
    .map_err(fail)?;
    match owner.as_deref() {
        None => {
            sqlx::raw_sql(&format!("CREATE DATABASE sightline OWNER {APP_ROLE}"))
                .execute(&mut conn)
                .await
                .map_err(fail)?;
        }
        Some(APP_ROLE) => {}
        Some(_) => {
            sqlx::raw_sql(&format!("ALTER DATABASE sightline OWNER TO {APP_ROLE}"))
                .execute(&mut conn)
                .await
                .map_err(fail)?;
        }
    }
    // pg_read_all_stats lets the app role see every statement's text in pg_stat_statements.
    sqlx::raw_sql(&format!("GRANT pg_read_all_stats TO {APP_ROLE}"))
        .execute(&mut conn)
        .await
        .map_err(fail)?;
    let _ = conn.close().await;
    let base = admin_url.rsplit_once('/').map_or(admin_url, |(b, _)| b);
    let mut db = PgConnection::connect(&format!("{base}/sightline"))
        .await
        .map_err(fail)?;
    if owner.as_deref().is_some_and(|o| o != APP_ROLE) {
        sqlx::raw_sql(HAND_OVER)
            .execute(&mut db)
            .await
            .map_err(fail)?;
    }
    // Only a superuser may create it; without the preloaded module it is merely absent.
    if let Err(e) = sqlx::raw_sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .execute(&mut db)
        .await
    {
        tracing::info!("pg_stat_statements is not available: {e}");
    }
    let _ = db.close().await;
    Ok(())
}

/// Gives the app role every table, view, free sequence and function of the public schema
/// (sequences that belong to a column follow their table; an extension's objects stay the
/// extension owner's).
const HAND_OVER: &str = "DO $$
DECLARE r record;
BEGIN
    ALTER SCHEMA public OWNER TO sightline;
    FOR r IN SELECT c.oid::regclass AS name FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid
                               AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i', 'e'))
    LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO sightline', r.name);
    END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS f FROM pg_proc p
             JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid
                               AND d.classid = 'pg_proc'::regclass AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO sightline', r.f);
    END LOOP;
END $$";

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_clusters_postgres_is_recognised() {
        let dir = Path::new("/data/pg");
        assert!(is_our_postgres(
            b"/usr/lib/postgresql/15/bin/postgres\0-D\0/data/pg\0-p\x005432\0",
            dir
        ));
        assert!(!is_our_postgres(b"/usr/bin/postgres\0-D\0/other\0", dir));
        assert!(!is_our_postgres(b"/usr/bin/vim\0-D\0/data/pg\0", dir));
        assert!(!is_our_postgres(b"", dir));
    }

    #[test]
    fn last_lines_keeps_the_tail_on_one_line() {
        assert_eq!(last_lines("a\n\nb\nc\n", 2), "b | c");
        assert_eq!(last_lines("", 3), "");
    }

    #[test]
    fn process_state_reads_past_a_command_name_with_parentheses() {
        assert_eq!(process_state("42 (postgres) S 1 42 42 0"), Some('S'));
        assert_eq!(process_state("42 (a) b) Z 1 42"), Some('Z'));
        assert_eq!(process_state("garbage"), None);
        assert!(is_alive(Pid::this()));
    }

    #[tokio::test]
    async fn a_server_that_exits_while_starting_fails_at_once_with_its_log() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("postgres.log");
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "echo 'FATAL:  could not create any TCP/IP sockets' >> {}; exit 1",
                log.display()
            ))
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        // Nothing listens on port 1: only the exit can end the wait early.
        let err = wait_ready(
            "postgres://postgres:x@127.0.0.1:1/postgres",
            &log,
            &mut child,
        )
        .await
        .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(30), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("exited while starting"), "{msg}");
        assert!(msg.contains("could not create any TCP/IP sockets"), "{msg}");
    }

    #[test]
    fn free_port_is_nonzero() {
        assert_ne!(free_port().unwrap(), 0);
    }
}
