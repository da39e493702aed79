//! Configuration: command-line flags, `SIGHTLINE_*` environment variables and an optional
//! TOML file, merged in that order of precedence and validated once into [`Config`].
//!
//! Every setting has one name per layer: `--listen`, `SIGHTLINE_LISTEN`, `listen = ...`.
//! Errors name the setting so a bad value is found at once.

use std::{fmt, net::SocketAddr, path::PathBuf, time::Duration};

use url::Url;

mod file;
mod system;

pub use file::ProviderSpec;
use file::{load_file, resolve_provider, FileSettings};
pub use system::{parse_duration, SystemSettings};
use system::{resolve_system, SystemArgs};

/// Default log filter: info, without sqlx's notices about migrations already applied.
pub const DEFAULT_LOG: &str = "info,sqlx::postgres::notice=warn";

/// Settings for `sightline serve`, as given on the command line or in the environment.
/// Every field is optional here; defaults are applied in [`ServeArgs::resolve`].
#[derive(clap::Args, Debug, Default, Clone)]
pub struct ServeArgs {
    /// TOML file with any of the settings below (keys in snake_case, e.g. `listen`).
    /// Flags and environment variables override it.
    #[arg(long, env = "SIGHTLINE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Address and port to serve the UI and API on [default: 127.0.0.1:3000].
    #[arg(long, env = "SIGHTLINE_LISTEN", value_name = "ADDR:PORT")]
    pub listen: Option<SocketAddr>,

    /// URL users reach Sightline at, e.g. https://sightline.example.com. Session cookies are
    /// marked Secure when it is https (TLS terminated by a proxy in front) [default: http://LISTEN].
    #[arg(long, env = "SIGHTLINE_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// PostgreSQL connection URL. Without it Sightline runs its own private cluster from the
    /// system's PostgreSQL binaries in DATA_DIR/pg.
    #[arg(long, env = "DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Directory for Sightline's own files, including the embedded database
    /// [default: ./.sightline].
    #[arg(long, env = "SIGHTLINE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Keep retrying (with back-off) when the database cannot be reached at start-up,
    /// instead of exiting [default: false].
    #[arg(long, env = "SIGHTLINE_DB_RETRY", value_name = "BOOL")]
    pub db_retry: Option<bool>,

    /// Largest number of database connections in the pool [default: 10].
    #[arg(long, env = "SIGHTLINE_DB_MAX_CONNECTIONS", value_name = "N")]
    pub db_max_connections: Option<u32>,

    /// Sightline's own statements slower than this are listed on the Database page, in
    /// milliseconds [default: 100].
    #[arg(long, env = "SIGHTLINE_DB_SLOW_QUERY_MS", value_name = "MS")]
    pub db_slow_query_ms: Option<u64>,

    /// How long a login session lasts, in hours [default: 168].
    #[arg(long, env = "SIGHTLINE_SESSION_HOURS", value_name = "HOURS")]
    pub session_hours: Option<u32>,

    /// Login attempts allowed per client address per minute [default: 5].
    #[arg(long, env = "SIGHTLINE_LOGIN_ATTEMPTS_PER_MINUTE", value_name = "N")]
    pub login_attempts_per_minute: Option<u32>,

    /// Directory holding the built site (WASM, JS, CSS, public files) [default: target/site,
    /// or LEPTOS_SITE_ROOT when cargo-leptos sets it].
    #[arg(long, env = "SIGHTLINE_SITE_ROOT", value_name = "DIR")]
    pub site_root: Option<PathBuf>,

    /// Log filter in tracing's EnvFilter syntax [default: info].
    #[arg(long, env = "SIGHTLINE_LOG", value_name = "FILTER")]
    pub log: Option<String>,

    /// Seconds a call reported as `started` may wait for its `completed` or `failed` event
    /// before it is stored as a timeout [default: 600].
    #[arg(long, env = "SIGHTLINE_EVENT_TIMEOUT_SECS", value_name = "SECS")]
    pub event_timeout_secs: Option<u64>,
    /// Seconds the proxy waits for the next bytes of an upstream answer (its headers
    /// included) before giving it up as a timeout [default: 300].
    #[arg(long, env = "SIGHTLINE_PROXY_IDLE_TIMEOUT_SECS", value_name = "SECS")]
    pub proxy_idle_timeout_secs: Option<u64>,
    /// How often the built-in collector samples this host (`1s`, `500ms`), or `off`.
    /// [default: 1s]
    #[arg(long, env = "SIGHTLINE_SYSTEM_INTERVAL", value_name = "DURATION")]
    pub system_interval: Option<String>,
    /// How long raw system samples are kept. [default: 7d]
    #[arg(long, env = "SIGHTLINE_SYSTEM_RETENTION_RAW", value_name = "DURATION")]
    pub system_retention_raw: Option<String>,
    /// How long per-minute system rollups are kept. [default: 90d]
    #[arg(
        long,
        env = "SIGHTLINE_SYSTEM_RETENTION_MINUTE",
        value_name = "DURATION"
    )]
    pub system_retention_minute: Option<String>,
    /// How long per-hour system rollups are kept. [default: 730d]
    #[arg(long, env = "SIGHTLINE_SYSTEM_RETENTION_HOUR", value_name = "DURATION")]
    pub system_retention_hour: Option<String>,
    /// Processes kept per sample: the N busiest by CPU and the N largest by memory.
    /// [default: 10]
    #[arg(long, env = "SIGHTLINE_SYSTEM_TOP_PROCESSES", value_name = "N")]
    pub system_top_processes: Option<usize>,
    /// Bearer token Prometheus must send to scrape /metrics (16 characters or more). Without
    /// it only loopback clients may scrape.
    #[arg(
        long,
        env = "SIGHTLINE_METRICS_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub metrics_token: Option<String>,
    /// How often alert rules are evaluated and report schedules checked (`15s`).
    /// [default: 15s]
    #[arg(long, env = "SIGHTLINE_ALERT_INTERVAL", value_name = "DURATION")]
    pub alert_interval: Option<String>,
    /// Alerts for one channel within this time are sent as one message (Alertmanager's
    /// group interval; `0s` sends each at once). [default: 30s]
    #[arg(long, env = "SIGHTLINE_ALERT_GROUP_WINDOW", value_name = "DURATION")]
    pub alert_group_window: Option<String>,
    /// Other sites allowed to report Web Vitals and errors with /sdk/vitals.js: origins
    /// separated by commas (`https://shop.example.com,https://www.example.com`). The
    /// dashboard's own origin needs no entry. [default: none]
    #[arg(long, env = "SIGHTLINE_BROWSER_ORIGINS", value_name = "ORIGINS")]
    pub browser_origins: Option<String>,
    /// Browser reports (POST /api/v1/vitals) allowed per client address per minute.
    /// [default: 120]
    #[arg(long, env = "SIGHTLINE_BROWSER_REPORTS_PER_MINUTE", value_name = "N")]
    pub browser_reports_per_minute: Option<u32>,
    /// An AI worker without a heartbeat for this long is shown as lost. [default: 60s]
    #[arg(long, env = "SIGHTLINE_WORKER_LOST_AFTER", value_name = "DURATION")]
    pub worker_lost_after: Option<String>,
}

/// Who may report from browsers, and how often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSettings {
    /// Allowed origins as browsers send them (`scheme://host[:port]`, lowercase).
    pub origins: Vec<String>,
    pub reports_per_minute: u32,
}

/// When alert rules are evaluated and how their notifications are grouped.
#[derive(Debug, Clone, Copy)]
pub struct AlertSettings {
    pub interval: Duration,
    pub group_window: chrono::Duration,
}

/// A setting that failed validation: which one and why. Displays as one line.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {setting}: {reason}")]
pub struct ConfigError {
    pub setting: String,
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn new(setting: &str, reason: impl Into<String>) -> Self {
        Self {
            setting: setting.to_owned(),
            reason: reason.into(),
        }
    }
}

/// A string that must not reach logs or `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where the database comes from.
#[derive(Debug, Clone)]
pub enum DatabaseSource {
    /// An external server given by URL.
    External(Secret),
    /// A private cluster run by Sightline in this directory.
    Embedded(PathBuf),
}

/// Validated configuration for the server.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub public_url: Url,
    pub database: DatabaseSource,
    pub data_dir: PathBuf,
    pub db_retry: bool,
    pub db_max_connections: u32,
    pub db_slow_query_ms: u64,
    pub session_ttl: Duration,
    pub login_attempts_per_minute: u32,
    pub site_root: PathBuf,
    pub log: String,
    pub admin_password: Option<Secret>,
    /// What a scraper of `/metrics` must send; `None`: loopback clients only.
    pub metrics_token: Option<Secret>,
    pub event_timeout: Duration,
    /// Silence after which the proxy gives an upstream answer up.
    pub proxy_idle_timeout: Duration,
    pub providers: Vec<ProviderSpec>,
    pub system: SystemSettings,
    pub alerts: AlertSettings,
    pub browser: BrowserSettings,
    /// Silence after which an AI worker is lost.
    pub worker_lost_after: chrono::Duration,
}

impl Config {
    /// Session cookies carry `Secure` only when users reach us over TLS; a browser would
    /// otherwise drop them on plain-HTTP loopback.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https"
    }
}

impl ServeArgs {
    /// Merges flags/env over the optional file over defaults, then validates.
    /// `env_admin_password` and `env_leptos_site_root` are passed in so tests need not
    /// touch the process environment.
    pub fn resolve(
        self,
        env_admin_password: Option<String>,
        env_leptos_site_root: Option<String>,
    ) -> Result<Config, ConfigError> {
        let file = match &self.config {
            Some(path) => load_file(path)?,
            None => FileSettings::default(),
        };
        let system = resolve_system(
            SystemArgs {
                interval: self.system_interval,
                raw: self.system_retention_raw,
                minute: self.system_retention_minute,
                hour: self.system_retention_hour,
                top: self.system_top_processes,
            },
            &file,
        )?;
        let listen = self
            .listen
            .or(file.listen)
            .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 3000)));
        let public_url = match self.public_url.or(file.public_url) {
            Some(raw) => parse_public_url(&raw)?,
            None => Url::parse(&format!("http://{listen}"))
                .map_err(|e| ConfigError::new("listen", e.to_string()))?,
        };
        let data_dir = self
            .data_dir
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from(".sightline"));
        if data_dir.as_os_str().is_empty() {
            return Err(ConfigError::new("data_dir", "must not be empty"));
        }
        let database = match self.database_url.or(file.database_url) {
            Some(url) if url.trim().is_empty() => {
                return Err(ConfigError::new("database_url", "must not be empty"))
            }
            Some(url) => {
                validate_database_url(&url)?;
                DatabaseSource::External(Secret::new(url))
            }
            None => DatabaseSource::Embedded(data_dir.join("pg")),
        };
        let db_max_connections = self
            .db_max_connections
            .or(file.db_max_connections)
            .unwrap_or(10);
        if !(1..=1000).contains(&db_max_connections) {
            return Err(ConfigError::new(
                "db_max_connections",
                "must be between 1 and 1000",
            ));
        }
        let db_slow_query_ms = self
            .db_slow_query_ms
            .or(file.db_slow_query_ms)
            .unwrap_or(crate::domain::db_watch::DEFAULT_SLOW_MS);
        if !(1..=600_000).contains(&db_slow_query_ms) {
            return Err(ConfigError::new(
                "db_slow_query_ms",
                "must be between 1 and 600000",
            ));
        }
        let session_hours = self.session_hours.or(file.session_hours).unwrap_or(168);
        if !(1..=24 * 365).contains(&session_hours) {
            return Err(ConfigError::new(
                "session_hours",
                "must be between 1 and 8760",
            ));
        }
        let login_attempts_per_minute = self
            .login_attempts_per_minute
            .or(file.login_attempts_per_minute)
            .unwrap_or(5);
        if !(1..=10_000).contains(&login_attempts_per_minute) {
            return Err(ConfigError::new(
                "login_attempts_per_minute",
                "must be between 1 and 10000",
            ));
        }
        let admin_password = match env_admin_password.or(file.admin_password) {
            Some(p) if p.chars().count() < 8 => {
                return Err(ConfigError::new(
                    "SIGHTLINE_ADMIN_PASSWORD",
                    "must be at least 8 characters",
                ))
            }
            Some(p) => Some(Secret::new(p)),
            None => None,
        };
        let metrics_token = match self.metrics_token.or(file.metrics_token) {
            Some(t) if t.trim().chars().count() < 16 => {
                return Err(ConfigError::new(
                    "metrics_token",
                    "must be at least 16 characters",
                ))
            }
            Some(t) => Some(Secret::new(t.trim())),
            None => None,
        };
        let site_root = self
            .site_root
            .or(file.site_root)
            .or(env_leptos_site_root.map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("target/site"));
        let log = self
            .log
            .or(file.log)
            .unwrap_or_else(|| DEFAULT_LOG.to_owned());
        tracing_subscriber::EnvFilter::try_new(&log)
            .map_err(|e| ConfigError::new("log", e.to_string()))?;
        let event_timeout_secs = self
            .event_timeout_secs
            .or(file.event_timeout_secs)
            .unwrap_or(600);
        if !(1..=86_400).contains(&event_timeout_secs) {
            return Err(ConfigError::new(
                "event_timeout_secs",
                "must be between 1 and 86400",
            ));
        }
        let proxy_idle_timeout_secs = self
            .proxy_idle_timeout_secs
            .or(file.proxy_idle_timeout_secs)
            .unwrap_or(300);
        if !(1..=3_600).contains(&proxy_idle_timeout_secs) {
            return Err(ConfigError::new(
                "proxy_idle_timeout_secs",
                "must be between 1 and 3600",
            ));
        }
        let alerts = AlertSettings {
            interval: parse_duration(
                "alert_interval",
                self.alert_interval
                    .as_deref()
                    .or(file.alert_interval.as_deref())
                    .unwrap_or("15s"),
                Duration::from_millis(200),
                Duration::from_secs(3600),
            )?,
            group_window: chrono::Duration::from_std(parse_duration(
                "alert_group_window",
                self.alert_group_window
                    .as_deref()
                    .or(file.alert_group_window.as_deref())
                    .unwrap_or("30s"),
                Duration::ZERO,
                Duration::from_secs(600),
            )?)
            .map_err(|e| ConfigError::new("alert_group_window", e.to_string()))?,
        };
        let providers = file
            .providers
            .into_iter()
            .map(resolve_provider)
            .collect::<Result<Vec<_>, _>>()?;
        let browser = BrowserSettings {
            origins: parse_origins(
                self.browser_origins
                    .as_deref()
                    .or(file.browser_origins.as_deref())
                    .unwrap_or(""),
            )?,
            reports_per_minute: self
                .browser_reports_per_minute
                .or(file.browser_reports_per_minute)
                .unwrap_or(120),
        };
        if !(1..=100_000).contains(&browser.reports_per_minute) {
            return Err(ConfigError::new(
                "browser_reports_per_minute",
                "must be between 1 and 100000",
            ));
        }
        let worker_lost_after = chrono::Duration::from_std(parse_duration(
            "worker_lost_after",
            self.worker_lost_after
                .as_deref()
                .or(file.worker_lost_after.as_deref())
                .unwrap_or("60s"),
            Duration::from_secs(1),
            Duration::from_secs(86_400),
        )?)
        .map_err(|e| ConfigError::new("worker_lost_after", e.to_string()))?;
        Ok(Config {
            system,
            alerts,
            browser,
            worker_lost_after,
            event_timeout: Duration::from_secs(event_timeout_secs),
            proxy_idle_timeout: Duration::from_secs(proxy_idle_timeout_secs),
            providers,
            listen,
            public_url,
            database,
            data_dir,
            db_retry: self.db_retry.or(file.db_retry).unwrap_or(false),
            db_max_connections,
            db_slow_query_ms,
            session_ttl: Duration::from_secs(u64::from(session_hours) * 3600),
            login_attempts_per_minute,
            site_root,
            log,
            admin_password,
            metrics_token,
        })
    }
}

/// Origins as a browser's `Origin` header spells them: http(s), a host, no path.
fn parse_origins(raw: &str) -> Result<Vec<String>, ConfigError> {
    let mut origins = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = |why: &str| ConfigError::new("browser_origins", format!("{part}: {why}"));
        let url = Url::parse(part).map_err(|e| bad(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(bad("an origin is http(s)://host[:port]"));
        }
        if url.path() != "/" || url.query().is_some() {
            return Err(bad("an origin has no path or query"));
        }
        origins.push(url.origin().ascii_serialization());
    }
    origins.sort();
    origins.dedup();
    Ok(origins)
}

fn parse_public_url(raw: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw).map_err(|e| ConfigError::new("public_url", e.to_string()))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(ConfigError::new(
            "public_url",
            format!("scheme must be http or https, not {other}"),
        )),
    }
}

fn validate_database_url(raw: &str) -> Result<(), ConfigError> {
    let url = Url::parse(raw).map_err(|e| ConfigError::new("database_url", e.to_string()))?;
    match url.scheme() {
        "postgres" | "postgresql" => Ok(()),
        other => Err(ConfigError::new(
            "database_url",
            format!("scheme must be postgres or postgresql, not {other}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn resolve(args: ServeArgs) -> Result<Config, ConfigError> {
        args.resolve(None, None)
    }

    #[test]
    fn defaults_use_embedded_database_on_loopback() {
        let c = resolve(ServeArgs::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:3000");
        assert!(
            matches!(c.database, DatabaseSource::Embedded(ref p) if p.ends_with(".sightline/pg"))
        );
        assert!(!c.secure_cookies());
        assert_eq!(c.session_ttl, Duration::from_secs(168 * 3600));
    }

    #[test]
    fn browser_origins_are_normalised_and_checked() {
        let args = ServeArgs {
            browser_origins: Some(" https://Shop.Example.com/ , http://127.0.0.1:8080,".into()),
            ..Default::default()
        };
        let c = resolve(args).unwrap();
        assert_eq!(
            c.browser.origins,
            ["http://127.0.0.1:8080", "https://shop.example.com"]
        );
        assert_eq!(c.browser.reports_per_minute, 120);
        for bad in [
            "shop.example.com",
            "https://shop.example.com/path",
            "ftp://x",
        ] {
            let args = ServeArgs {
                browser_origins: Some(bad.into()),
                ..Default::default()
            };
            assert_eq!(
                resolve(args).unwrap_err().setting,
                "browser_origins",
                "{bad}"
            );
        }
        assert!(resolve(ServeArgs::default())
            .unwrap()
            .browser
            .origins
            .is_empty());
    }

    #[test]
    fn https_public_url_makes_cookies_secure() {
        let args = ServeArgs {
            public_url: Some("https://s.example.com".into()),
            ..Default::default()
        };
        assert!(resolve(args).unwrap().secure_cookies());
    }

    #[test]
    fn errors_name_the_setting() {
        let args = ServeArgs {
            database_url: Some("mysql://x".into()),
            ..Default::default()
        };
        let e = resolve(args).unwrap_err();
        assert_eq!(e.setting, "database_url");
        assert!(!e.to_string().contains('\n'));

        let args = ServeArgs {
            db_max_connections: Some(0),
            ..Default::default()
        };
        assert_eq!(resolve(args).unwrap_err().setting, "db_max_connections");
        let args = ServeArgs {
            db_slow_query_ms: Some(0),
            ..Default::default()
        };
        assert_eq!(resolve(args).unwrap_err().setting, "db_slow_query_ms");

        let e = ServeArgs::default()
            .resolve(Some("short".into()), None)
            .unwrap_err();
        assert_eq!(e.setting, "SIGHTLINE_ADMIN_PASSWORD");

        let args = ServeArgs {
            metrics_token: Some("too-short".into()),
            ..Default::default()
        };
        assert_eq!(resolve(args).unwrap_err().setting, "metrics_token");
        let args = ServeArgs {
            metrics_token: Some("  a-long-enough-scrape-token ".into()),
            ..Default::default()
        };
        let c = resolve(args).unwrap();
        assert_eq!(
            c.metrics_token.as_ref().map(Secret::expose),
            Some("a-long-enough-scrape-token")
        );
    }

    #[test]
    fn flags_override_file_and_file_overrides_defaults() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "listen = \"127.0.0.1:4000\"\nsession_hours = 2").unwrap();
        let args = ServeArgs {
            config: Some(f.path().to_owned()),
            session_hours: Some(5),
            ..Default::default()
        };
        let c = resolve(args).unwrap();
        assert_eq!(c.listen.port(), 4000);
        assert_eq!(c.session_ttl, Duration::from_secs(5 * 3600));
    }

    #[test]
    fn unknown_or_mistyped_file_keys_are_named() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "listen = \"nope\"").unwrap();
        let e = resolve(ServeArgs {
            config: Some(f.path().to_owned()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("listen"), "{e}");

        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "lisen = \"127.0.0.1:1\"").unwrap();
        let e = resolve(ServeArgs {
            config: Some(f.path().to_owned()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("lisen"), "{e}");
    }

    #[test]
    fn secrets_hide_themselves_in_debug() {
        assert!(!format!("{:?}", Secret::new("hunter2")).contains("hunter2"));
    }
}
