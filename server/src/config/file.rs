//! The TOML file's settings and the proxy providers it declares.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use serde::Deserialize;
use url::Url;

use super::{ConfigError, Secret};

/// An upstream for the proxy, from the `[[providers]]` tables of the config file. The key is
/// read from the environment variable `api_key_env` names, never from the file itself.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub(super) struct ProviderSetting {
    pub(super) name: String,
    #[serde(default = "default_provider_kind")]
    pub(super) kind: String,
    pub(super) base_url: String,
    pub(super) api_key_env: Option<String>,
    #[serde(default)]
    pub(super) pass_through: bool,
}

fn default_provider_kind() -> String {
    "openai".to_owned()
}

/// A validated provider setting.
#[derive(Debug, Clone)]
pub struct ProviderSpec {
    pub name: String,
    pub kind: app::types::ProviderKind,
    pub base_url: Url,
    pub api_key: Option<Secret>,
    pub pass_through: bool,
}

/// The same settings as they appear in the TOML file (plus the admin password, which is
/// never taken from a flag because flags are visible to every user in `ps`).
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct FileSettings {
    pub(super) listen: Option<SocketAddr>,
    pub(super) public_url: Option<String>,
    pub(super) database_url: Option<String>,
    pub(super) data_dir: Option<PathBuf>,
    pub(super) db_retry: Option<bool>,
    pub(super) db_max_connections: Option<u32>,
    pub(super) db_slow_query_ms: Option<u64>,
    pub(super) session_hours: Option<u32>,
    pub(super) login_attempts_per_minute: Option<u32>,
    pub(super) site_root: Option<PathBuf>,
    pub(super) log: Option<String>,
    pub(super) admin_password: Option<String>,
    pub(super) metrics_token: Option<String>,
    pub(super) event_timeout_secs: Option<u64>,
    pub(super) proxy_idle_timeout_secs: Option<u64>,
    pub(super) system_interval: Option<String>,
    pub(super) system_retention_raw: Option<String>,
    pub(super) system_retention_minute: Option<String>,
    pub(super) system_retention_hour: Option<String>,
    pub(super) system_top_processes: Option<usize>,
    pub(super) alert_interval: Option<String>,
    pub(super) alert_group_window: Option<String>,
    pub(super) browser_origins: Option<String>,
    pub(super) browser_reports_per_minute: Option<u32>,
    pub(super) worker_lost_after: Option<String>,
    #[serde(default)]
    pub(super) providers: Vec<ProviderSetting>,
}

pub(super) fn load_file(path: &Path) -> Result<FileSettings, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new("config", format!("cannot read {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| {
        // toml's message spans several lines with a source excerpt; keep the first.
        let msg = e
            .message()
            .lines()
            .next()
            .unwrap_or("parse error")
            .to_owned();
        // The span points at the key or the value; the key is what stands before '=' on
        // that line.
        let setting = e
            .span()
            .map(|s| {
                let line_start = text[..s.start].rfind('\n').map_or(0, |i| i + 1);
                let line = text[line_start..].lines().next().unwrap_or("");
                line.split('=').next().unwrap_or(line).trim().to_owned()
            })
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "config".to_owned());
        ConfigError::new(&setting, format!("{msg} (in {})", path.display()))
    })
}

pub(super) fn resolve_provider(p: ProviderSetting) -> Result<ProviderSpec, ConfigError> {
    use crate::domain::provider::{parse_base_url, valid_name};
    use app::types::ProviderKind;
    let at = |field: &str| format!("providers.{}.{field}", p.name);
    if !valid_name(&p.name) {
        return Err(ConfigError::new(
            "providers.name",
            format!("'{}' must be lowercase letters, digits, '-' or '_'", p.name),
        ));
    }
    let kind = ProviderKind::parse(&p.kind)
        .ok_or_else(|| ConfigError::new(&at("kind"), "must be openai or anthropic"))?;
    let base_url = parse_base_url(&p.base_url).map_err(|e| ConfigError::new(&at("base_url"), e))?;
    let api_key = match &p.api_key_env {
        Some(var) => match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Some(Secret::new(v.trim())),
            _ => {
                return Err(ConfigError::new(
                    &at("api_key_env"),
                    format!("the environment variable {var} is not set"),
                ))
            }
        },
        None => None,
    };
    Ok(ProviderSpec {
        name: p.name,
        kind,
        base_url,
        api_key,
        pass_through: p.pass_through,
    })
}
