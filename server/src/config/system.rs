//! The system-metrics settings: the collector's interval, retention per tier, and the
//! processes kept per sample.

use std::time::Duration;

use super::{ConfigError, FileSettings};

/// The system-metrics settings.
#[derive(Debug, Clone)]
pub struct SystemSettings {
    /// Zero when the built-in collector is off.
    pub interval: Duration,
    pub retention: crate::domain::system::Retention,
    pub top_processes: usize,
}

/// A duration like `500ms`, `1s`, `10m`, `7d`, `2y` (humantime's syntax), between `min`
/// and `max`.
pub fn parse_duration(
    setting: &str,
    raw: &str,
    min: Duration,
    max: Duration,
) -> Result<Duration, ConfigError> {
    let d = humantime::parse_duration(raw.trim()).map_err(|e| {
        ConfigError::new(
            setting,
            format!("'{raw}' is not a duration like 1s or 7d: {e}"),
        )
    })?;
    if d < min || d > max {
        return Err(ConfigError::new(
            setting,
            format!(
                "must be between {} and {}",
                humantime::format_duration(min),
                humantime::format_duration(max)
            ),
        ));
    }
    Ok(d)
}

/// The system flags, taken out of the arguments (they are merged with the file's).
pub(super) struct SystemArgs {
    pub(super) interval: Option<String>,
    pub(super) raw: Option<String>,
    pub(super) minute: Option<String>,
    pub(super) hour: Option<String>,
    pub(super) top: Option<usize>,
}

pub(super) fn resolve_system(
    mut a: SystemArgs,
    file: &FileSettings,
) -> Result<SystemSettings, ConfigError> {
    const DAY: u64 = 86_400;
    let pick = |flag: &mut Option<String>, from_file: &Option<String>, default: &str| {
        flag.take()
            .or_else(|| from_file.clone())
            .unwrap_or_else(|| default.to_owned())
    };
    let interval = pick(&mut a.interval, &file.system_interval, "1s");
    let interval = if interval.trim().eq_ignore_ascii_case("off") {
        Duration::ZERO
    } else {
        parse_duration(
            "system_interval",
            &interval,
            Duration::from_millis(100),
            Duration::from_secs(3600),
        )?
    };
    let days = |setting: &str, raw: String| -> Result<chrono::Duration, ConfigError> {
        let d = parse_duration(
            setting,
            &raw,
            Duration::from_secs(3600),
            Duration::from_secs(20 * 365 * DAY),
        )?;
        chrono::Duration::from_std(d).map_err(|e| ConfigError::new(setting, e.to_string()))
    };
    let retention = crate::domain::system::Retention {
        raw: days(
            "system_retention_raw",
            pick(&mut a.raw, &file.system_retention_raw, "7d"),
        )?,
        minute: days(
            "system_retention_minute",
            pick(&mut a.minute, &file.system_retention_minute, "90d"),
        )?,
        hour: days(
            "system_retention_hour",
            pick(&mut a.hour, &file.system_retention_hour, "730d"),
        )?,
    };
    let top_processes = a.top.or(file.system_top_processes).unwrap_or(10);
    if !(1..=100).contains(&top_processes) {
        return Err(ConfigError::new(
            "system_top_processes",
            "must be between 1 and 100",
        ));
    }
    Ok(SystemSettings {
        interval,
        retention,
        top_processes,
    })
}
