//! Alert rules: validation of a rule and a channel (one rule set for the API and the form),
//! the metric catalog, the state machine, silences, message templates and the bodies sent
//! to channels. Everything here is pure.

pub mod judge;
pub mod message;
pub mod metric;
pub mod state;

use app::types::alert::{
    Aggregation, AlertRuleInput, ChannelInput, ChannelKind, Comparator, Labels, RuleKind, Severity,
    Silence,
};
use chrono::{DateTime, Duration, Utc};

use metric::{Metric, Source};
use state::Timing;

pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_MESSAGE_CHARS: usize = 2000;
pub const MAX_LABEL_CHARS: usize = 256;
pub const DEFAULT_WINDOW: Duration = Duration::minutes(5);
pub const DEFAULT_REPEAT: Duration = Duration::hours(4);
pub const DEFAULT_ANOMALY_BASELINE: Duration = Duration::hours(2);
pub const DEFAULT_FORECAST_BASELINE: Duration = Duration::hours(6);
pub const DEFAULT_HORIZON: Duration = Duration::hours(24);
/// The most scaled MADs an anomaly rule may ask for: beyond it nothing would ever fire.
pub const MAX_SENSITIVITY: f64 = 50.0;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

fn invalid(field: &str, message: impl Into<String>) -> Invalid {
    Invalid {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// A checked rule, ready to store and evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    pub name: String,
    pub metric: &'static Metric,
    pub labels: Labels,
    pub group_by: Vec<String>,
    pub aggregation: Aggregation,
    pub window: Duration,
    pub comparator: Comparator,
    /// The level (threshold and forecast rules) or scaled MADs (anomaly rules).
    pub threshold: f64,
    pub kind: Kind,
    pub timing: Timing,
    pub severity: Severity,
    pub channels: Vec<i64>,
    pub message: Option<String>,
    pub enabled: bool,
}

/// How a rule judges its value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// The value against the threshold.
    Threshold,
    /// The value against the usual band of its values over `baseline` (before the current
    /// window), never narrower than `min_delta` each side.
    Anomaly { baseline: Duration, min_delta: f64 },
    /// A line fitted to the values over `baseline`, read `horizon` ahead, against the
    /// threshold.
    Forecast {
        baseline: Duration,
        horizon: Duration,
    },
}

impl Kind {
    pub fn api(&self) -> RuleKind {
        match self {
            Kind::Threshold => RuleKind::Threshold,
            Kind::Anomaly { .. } => RuleKind::Anomaly,
            Kind::Forecast { .. } => RuleKind::Forecast,
        }
    }

    pub fn baseline(&self) -> Option<Duration> {
        match *self {
            Kind::Threshold => None,
            Kind::Anomaly { baseline, .. } | Kind::Forecast { baseline, .. } => Some(baseline),
        }
    }
}

impl Spec {
    /// How far back the rule reads: its window, and for anomalies and forecasts the history
    /// they judge from (an anomaly's history ends where its current window starts).
    pub fn reach(&self) -> Duration {
        match self.kind {
            Kind::Threshold => self.window,
            Kind::Anomaly { baseline, .. } => baseline + self.window * 2,
            Kind::Forecast { baseline, .. } => baseline + self.window,
        }
    }
}

impl PartialEq for Metric {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

/// Parses `"5m"`, `"90s"`, `"1h 30m"`, `"0s"` within [min, max].
pub fn parse_duration(
    field: &str,
    raw: &str,
    min: Duration,
    max: Duration,
) -> Result<Duration, Invalid> {
    let raw = raw.trim();
    let bad = || {
        invalid(
            field,
            format!("'{raw}' is not a duration like 30s, 5m or 1h (and never negative)"),
        )
    };
    if raw.starts_with('-') {
        return Err(bad());
    }
    let std = if raw == "0" {
        std::time::Duration::ZERO
    } else {
        humantime::parse_duration(raw).map_err(|_| bad())?
    };
    let d = Duration::from_std(std).map_err(|_| bad())?;
    if d < min || d > max {
        return Err(invalid(
            field,
            format!(
                "must be between {} and {}",
                format_duration(min),
                format_duration(max)
            ),
        ));
    }
    Ok(d)
}

/// The shortest exact form: `5m`, `2h`, `1d`, `90s`.
pub fn format_duration(d: Duration) -> String {
    let s = d.num_seconds();
    match s {
        0 => "0s".into(),
        _ if s % 86_400 == 0 => format!("{}d", s / 86_400),
        _ if s % 3_600 == 0 => format!("{}h", s / 3_600),
        _ if s % 60 == 0 => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

fn check_name(field: &str, raw: &str) -> Result<String, Invalid> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(invalid(field, "a name is needed"));
    }
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(invalid(
            field,
            format!("must be at most {MAX_NAME_CHARS} characters, without control characters"),
        ));
    }
    Ok(name.to_owned())
}

fn check_label_value(field: &str, v: &str) -> Result<String, Invalid> {
    let v = v.trim();
    if v.is_empty() || v.chars().count() > MAX_LABEL_CHARS || v.chars().any(char::is_control) {
        return Err(invalid(
            field,
            format!("must be 1 to {MAX_LABEL_CHARS} characters, without control characters"),
        ));
    }
    Ok(v.to_owned())
}

pub fn validate_rule(input: &AlertRuleInput) -> Result<Spec, Invalid> {
    let name = check_name("name", &input.name)?;
    let metric = metric::find(input.metric.trim()).ok_or_else(|| {
        invalid(
            "metric",
            format!(
                "unknown metric '{}'; one of: {}",
                input.metric.trim(),
                metric::METRICS
                    .iter()
                    .map(|m| m.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })?;
    let mut labels = Labels::new();
    for (k, v) in &input.labels {
        let field = format!("labels.{k}");
        if !metric.labels.contains(&k.as_str()) {
            return Err(invalid(
                &field,
                format!(
                    "{} has no label '{k}'{}",
                    metric.name,
                    if metric.labels.is_empty() {
                        String::new()
                    } else {
                        format!("; its labels: {}", metric.labels.join(", "))
                    }
                ),
            ));
        }
        labels.insert(k.clone(), check_label_value(&field, v)?);
    }
    let mut group_by = Vec::new();
    for (i, g) in input.group_by.iter().enumerate() {
        let field = format!("group_by[{i}]");
        if !matches!(metric.source, Source::Llm(_) | Source::App(_)) {
            return Err(invalid(
                &field,
                "only LLM and application metrics are grouped; system and budget metrics have one alert per host, mount, GPU or budget already",
            ));
        }
        if !metric.labels.contains(&g.as_str()) {
            return Err(invalid(
                &field,
                format!("'{g}' is not one of {}", metric.labels.join(", ")),
            ));
        }
        if !group_by.contains(g) {
            group_by.push(g.clone());
        }
    }
    let aggregation = input.aggregation.unwrap_or(metric.default_aggregation);
    if !metric.aggregations.contains(&aggregation) {
        return Err(invalid(
            "aggregation",
            format!(
                "{} can be aggregated with {}",
                metric.name,
                metric
                    .aggregations
                    .iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let window = match &input.window {
        Some(w) => parse_duration("window", w, Duration::minutes(1), Duration::hours(24))?,
        None => DEFAULT_WINDOW,
    };
    if !input.threshold.is_finite() {
        return Err(invalid("threshold", "must be a finite number"));
    }
    let kind = validate_kind(input, metric)?;
    let for_ = match &input.for_ {
        Some(f) => parse_duration("for", f, Duration::zero(), Duration::hours(24))?,
        None => Duration::zero(),
    };
    let keep_firing_for = match &input.keep_firing_for {
        Some(f) => parse_duration("keep_firing_for", f, Duration::zero(), Duration::hours(24))?,
        None => Duration::zero(),
    };
    let repeat = match &input.repeat_interval {
        Some(f) => parse_duration(
            "repeat_interval",
            f,
            Duration::minutes(1),
            Duration::days(30),
        )?,
        None => DEFAULT_REPEAT,
    };
    let mut channels = Vec::new();
    for (i, id) in input.channels.iter().enumerate() {
        if *id <= 0 {
            return Err(invalid(&format!("channels[{i}]"), "is not a channel id"));
        }
        if !channels.contains(id) {
            channels.push(*id);
        }
    }
    let message = match input.message.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(m) if m.chars().count() > MAX_MESSAGE_CHARS => {
            return Err(invalid(
                "message",
                format!("must be at most {MAX_MESSAGE_CHARS} characters"),
            ))
        }
        Some(m) => Some(m.to_owned()),
    };
    Ok(Spec {
        name,
        metric,
        labels,
        group_by,
        aggregation,
        window,
        comparator: input.comparator,
        threshold: input.threshold,
        kind,
        timing: Timing {
            for_,
            keep_firing_for,
            repeat,
        },
        severity: input.severity,
        channels,
        message,
        enabled: input.enabled.unwrap_or(true),
    })
}

/// The kind's own fields: refused on a kind that has no use for them, so a rule never
/// carries a setting that does nothing.
fn validate_kind(input: &AlertRuleInput, metric: &Metric) -> Result<Kind, Invalid> {
    let kind = input.kind.unwrap_or_default();
    let only = |field: &str, which: &str| {
        invalid(
            field,
            format!(
                "only {which} rules have it; this rule is a {} rule",
                kind.as_str()
            ),
        )
    };
    if kind != RuleKind::Anomaly && input.min_delta.is_some() {
        return Err(only("min_delta", "anomaly"));
    }
    if kind != RuleKind::Forecast && input.horizon.is_some() {
        return Err(only("horizon", "forecast"));
    }
    if kind == RuleKind::Threshold {
        if input.baseline.is_some() {
            return Err(only("baseline", "anomaly and forecast"));
        }
        return Ok(Kind::Threshold);
    }
    if !matches!(
        metric.source,
        Source::System { .. } | Source::Llm(_) | Source::App(_) | Source::Database(_)
    ) {
        return Err(invalid(
            "kind",
            format!(
                "{} has only its current value; {} rules need a metric with history (system, LLM, application or database metrics){}",
                metric.name,
                kind.as_str(),
                if matches!(metric.source, Source::Budget { .. }) {
                    "; budget.projected_utilization is already the budget's forecast"
                } else {
                    ""
                }
            ),
        ));
    }
    let baseline = |default| match &input.baseline {
        Some(b) => parse_duration("baseline", b, Duration::minutes(15), Duration::hours(24)),
        None => Ok(default),
    };
    if kind == RuleKind::Anomaly {
        if !(input.threshold > 0.0 && input.threshold <= MAX_SENSITIVITY) {
            return Err(invalid(
                "threshold",
                format!("an anomaly rule's threshold is how many scaled MADs from the median the value must move: above 0, at most {MAX_SENSITIVITY} (4 is a good start)"),
            ));
        }
        let min_delta = input.min_delta.unwrap_or(0.0);
        if !min_delta.is_finite() || min_delta < 0.0 {
            return Err(invalid(
                "min_delta",
                "must be a number of at least 0, in the metric's unit",
            ));
        }
        return Ok(Kind::Anomaly {
            baseline: baseline(DEFAULT_ANOMALY_BASELINE)?,
            min_delta,
        });
    }
    let horizon = match &input.horizon {
        Some(h) => parse_duration("horizon", h, Duration::minutes(5), Duration::days(30))?,
        None => DEFAULT_HORIZON,
    };
    Ok(Kind::Forecast {
        baseline: baseline(DEFAULT_FORECAST_BASELINE)?,
        horizon,
    })
}

/// A checked channel. Secrets stay plain here; storage seals them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSpec {
    pub name: String,
    pub kind: ChannelKind,
    pub url: Option<String>,
    pub secret: Option<String>,
    pub format: app::types::alert::WebhookFormat,
    pub smtp: Option<app::types::alert::SmtpInput>,
    pub severities: Vec<Severity>,
    pub enabled: bool,
}

fn check_url(field: &str, raw: &str) -> Result<String, Invalid> {
    let u = url::Url::parse(raw.trim())
        .map_err(|_| invalid(field, "is not a URL; use http:// or https://"))?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err(invalid(field, "must be an http:// or https:// URL"));
    }
    Ok(u.to_string())
}

fn check_address(field: &str, raw: &str) -> Result<String, Invalid> {
    raw.trim()
        .parse::<lettre::message::Mailbox>()
        .map(|_| raw.trim().to_owned())
        .map_err(|_| invalid(field, format!("'{}' is not an email address", raw.trim())))
}

/// Checks a channel. `existing` is true on an update, where absent secrets are kept.
pub fn validate_channel(input: &ChannelInput, existing: bool) -> Result<ChannelSpec, Invalid> {
    let name = check_name("name", &input.name)?;
    let url = match (input.kind, &input.url) {
        (ChannelKind::Webhook | ChannelKind::Slack, Some(u)) => Some(check_url("url", u)?),
        (ChannelKind::Webhook | ChannelKind::Slack, None) if !existing => {
            return Err(invalid("url", "a webhook needs a URL"))
        }
        (ChannelKind::Email | ChannelKind::InApp, Some(_)) => {
            return Err(invalid("url", "only webhook and Slack channels have a URL"))
        }
        _ => None,
    };
    if let Some(s) = &input.secret {
        if input.kind != ChannelKind::Webhook {
            return Err(invalid("secret", "only webhooks are signed"));
        }
        if s.len() < 16 || s.len() > 512 {
            return Err(invalid("secret", "must be 16 to 512 characters"));
        }
    }
    let smtp = match (input.kind, &input.smtp) {
        (ChannelKind::Email, Some(s)) => {
            if s.host.trim().is_empty() || s.host.chars().any(|c| c.is_whitespace()) {
                return Err(invalid("smtp.host", "is not a host name"));
            }
            if !(1..=65_535).contains(&s.port) {
                return Err(invalid("smtp.port", "must be between 1 and 65535"));
            }
            check_address("smtp.from", &s.from)?;
            if s.to.is_empty() {
                return Err(invalid("smtp.to", "needs at least one recipient"));
            }
            if s.to.len() > 50 {
                return Err(invalid("smtp.to", "at most 50 recipients"));
            }
            let to =
                s.to.iter()
                    .enumerate()
                    .map(|(i, a)| check_address(&format!("smtp.to[{i}]"), a))
                    .collect::<Result<Vec<_>, _>>()?;
            if s.password.is_some() && s.username.as_deref().unwrap_or("").is_empty() {
                return Err(invalid("smtp.username", "a password needs a user name"));
            }
            Some(app::types::alert::SmtpInput {
                host: s.host.trim().to_owned(),
                to,
                from: s.from.trim().to_owned(),
                ..s.clone()
            })
        }
        (ChannelKind::Email, None) => return Err(invalid("smtp", "an email channel needs smtp")),
        (_, Some(_)) => return Err(invalid("smtp", "only email channels have smtp settings")),
        (_, None) => None,
    };
    let mut severities = input.severities.clone();
    severities.sort();
    severities.dedup();
    Ok(ChannelSpec {
        name,
        kind: input.kind,
        url,
        secret: input.secret.clone(),
        format: input.format.unwrap_or_default(),
        smtp,
        severities,
        enabled: input.enabled.unwrap_or(true),
    })
}

/// Whether a silence covers an alert of `rule_id` with `labels` at `now`.
pub fn silences(s: &Silence, rule_id: i64, labels: &Labels, now: DateTime<Utc>) -> bool {
    s.starts_at <= now
        && now < s.ends_at
        && s.rule_id.is_none_or(|r| r == rule_id)
        && s.matchers.iter().all(|(k, v)| labels.get(k) == Some(v))
}

pub const DEFAULT_MESSAGE: &str =
    "{{rule}}: {{metric}} is {{value}}{{unit}} ({{comparator}} {{threshold}}{{unit}}) {{labels}}";

/// The message of a rule without its own: the threshold reads as the band's edge for an
/// anomaly, the value as the forecast for a forecast.
pub fn default_message(kind: &Kind) -> std::borrow::Cow<'static, str> {
    match kind {
        Kind::Threshold => DEFAULT_MESSAGE.into(),
        Kind::Anomaly { .. } => "{{rule}}: {{metric}} is {{value}}{{unit}}, outside its usual band ({{comparator}} {{threshold}}{{unit}}) {{labels}}".into(),
        Kind::Forecast { horizon, .. } => format!(
            "{{{{rule}}}}: {{{{metric}}}} is predicted to reach {{{{value}}}}{{{{unit}}}} within {} ({{{{comparator}}}} {{{{threshold}}}}{{{{unit}}}}) {{{{labels}}}}",
            format_duration(*horizon)
        )
        .into(),
    }
}

/// What a template can show of one alert.
pub struct TemplateValues<'a> {
    pub rule: &'a str,
    pub metric: &'a str,
    pub unit: &'a str,
    pub severity: Severity,
    pub comparator: Comparator,
    pub threshold: f64,
    pub value: Option<f64>,
    pub labels: &'a Labels,
}

/// A number as people read it: at most 3 decimals, no trailing zeros.
pub fn format_number(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_owned()
    }
}

/// Fills `{{value}}`, `{{threshold}}`, `{{rule}}`, `{{metric}}`, `{{unit}}`,
/// `{{severity}}`, `{{comparator}}`, `{{labels}}` and `{{labels.NAME}}`; anything else in
/// braces is left as written.
pub fn render(template: &str, v: &TemplateValues<'_>) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let key = after[..end].trim();
        let unit = match v.unit {
            "" => String::new(),
            "%" | "°C" => v.unit.to_owned(),
            u => format!(" {u}"),
        };
        let filled = match key {
            "value" => v
                .value
                .map(format_number)
                .unwrap_or_else(|| "no data".into()),
            "threshold" => format_number(v.threshold),
            "rule" => v.rule.to_owned(),
            "metric" => v.metric.to_owned(),
            "unit" => unit,
            "severity" => v.severity.as_str().to_owned(),
            "comparator" => v.comparator.as_str().to_owned(),
            "labels" => v
                .labels
                .iter()
                .map(|(k, val)| format!("{k}={val}"))
                .collect::<Vec<_>>()
                .join(", "),
            k => match k.strip_prefix("labels.") {
                Some(l) => v.labels.get(l).cloned().unwrap_or_default(),
                None => format!("{{{{{k}}}}}"),
            },
        };
        out.push_str(&filled);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> AlertRuleInput {
        serde_json::from_value(serde_json::json!({
            "name": "CPU high", "metric": "system.cpu.utilization", "comparator": ">",
            "threshold": 80, "for": "5m", "severity": "warning"
        }))
        .unwrap()
    }

    fn field_of(input: AlertRuleInput) -> String {
        validate_rule(&input).unwrap_err().field
    }

    #[test]
    fn a_good_rule_gets_defaults() {
        let s = validate_rule(&rule()).unwrap();
        assert_eq!(s.aggregation, Aggregation::Avg);
        assert_eq!(s.window, Duration::minutes(5));
        assert_eq!(s.timing.for_, Duration::minutes(5));
        assert_eq!(s.timing.repeat, DEFAULT_REPEAT);
        assert!(s.enabled);
    }

    #[test]
    fn bad_rules_name_their_field() {
        let mut r = rule();
        r.metric = "cpu".into();
        assert_eq!(field_of(r), "metric");
        let mut r = rule();
        r.labels.insert("model".into(), "x".into());
        assert_eq!(field_of(r), "labels.model");
        let mut r = rule();
        r.for_ = Some("-5m".into());
        assert_eq!(field_of(r), "for");
        let mut r = rule();
        r.for_ = Some("soon".into());
        assert_eq!(field_of(r), "for");
        let mut r = rule();
        r.aggregation = Some(Aggregation::Rate);
        assert_eq!(field_of(r), "aggregation");
        let mut r = rule();
        r.threshold = f64::NAN;
        assert_eq!(field_of(r), "threshold");
        let mut r = rule();
        r.name = " ".into();
        assert_eq!(field_of(r), "name");
        let mut r = rule();
        r.window = Some("10s".into());
        assert_eq!(field_of(r), "window");
        let mut r = rule();
        r.group_by = vec!["model".into()];
        assert_eq!(field_of(r), "group_by[0]");
        let mut r = rule();
        r.channels = vec![0];
        assert_eq!(field_of(r), "channels[0]");
    }

    #[test]
    fn anomaly_and_forecast_rules_get_their_defaults() {
        let mut r = rule();
        r.kind = Some(RuleKind::Anomaly);
        r.threshold = 4.0;
        let s = validate_rule(&r).unwrap();
        assert_eq!(
            s.kind,
            Kind::Anomaly {
                baseline: DEFAULT_ANOMALY_BASELINE,
                min_delta: 0.0
            }
        );
        assert_eq!(s.reach(), Duration::hours(2) + Duration::minutes(10));
        let mut r = rule();
        r.metric = "system.filesystem.utilization".into();
        r.kind = Some(RuleKind::Forecast);
        r.baseline = Some("3h".into());
        r.threshold = 95.0;
        let s = validate_rule(&r).unwrap();
        assert_eq!(
            s.kind,
            Kind::Forecast {
                baseline: Duration::hours(3),
                horizon: DEFAULT_HORIZON
            }
        );
        assert_eq!(s.reach(), Duration::hours(3) + Duration::minutes(5));
        assert_eq!(
            validate_rule(&rule()).unwrap().reach(),
            Duration::minutes(5)
        );
    }

    #[test]
    fn kind_settings_are_refused_where_they_do_nothing() {
        let anomaly = || {
            let mut r = rule();
            r.kind = Some(RuleKind::Anomaly);
            r.threshold = 4.0;
            r
        };
        let mut r = rule();
        r.baseline = Some("1h".into());
        assert_eq!(field_of(r), "baseline", "a threshold rule has no baseline");
        let mut r = rule();
        r.min_delta = Some(1.0);
        assert_eq!(field_of(r), "min_delta");
        let mut r = anomaly();
        r.horizon = Some("1d".into());
        assert_eq!(field_of(r), "horizon");
        let mut r = anomaly();
        r.threshold = 0.0;
        assert_eq!(field_of(r), "threshold", "zero MADs would always fire");
        let mut r = anomaly();
        r.threshold = 80.0;
        assert_eq!(field_of(r), "threshold");
        let mut r = anomaly();
        r.min_delta = Some(-1.0);
        assert_eq!(field_of(r), "min_delta");
        let mut r = anomaly();
        r.baseline = Some("5m".into());
        assert_eq!(field_of(r), "baseline");
        let mut r = anomaly();
        r.metric = "budget.utilization".into();
        r.aggregation = None;
        let e = validate_rule(&r).unwrap_err();
        assert_eq!(e.field, "kind");
        assert!(
            e.message.contains("budget.projected_utilization"),
            "{}",
            e.message
        );
        let mut r = rule();
        r.kind = Some(RuleKind::Forecast);
        r.horizon = Some("90d".into());
        assert_eq!(field_of(r), "horizon");
    }

    #[test]
    fn durations_round_trip() {
        for (raw, secs, back) in [
            ("0s", 0, "0s"),
            ("0", 0, "0s"),
            ("90s", 90, "90s"),
            ("5m", 300, "5m"),
            ("1h 30m", 5400, "90m"),
            ("2d", 172_800, "2d"),
        ] {
            let d = parse_duration("x", raw, Duration::zero(), Duration::days(30)).unwrap();
            assert_eq!(d.num_seconds(), secs);
            assert_eq!(format_duration(d), back);
        }
    }

    fn channel(json: serde_json::Value) -> Result<ChannelSpec, Invalid> {
        validate_channel(&serde_json::from_value(json).unwrap(), false)
    }

    #[test]
    fn channels_are_checked_by_kind() {
        assert!(channel(
            serde_json::json!({"name": "hook", "kind": "webhook", "url": "https://example.com/x"})
        )
        .is_ok());
        let e = channel(
            serde_json::json!({"name": "hook", "kind": "webhook", "url": "ftp://example.com/x"}),
        )
        .unwrap_err();
        assert_eq!(e.field, "url");
        let e = channel(serde_json::json!({"name": "hook", "kind": "slack"})).unwrap_err();
        assert_eq!(e.field, "url");
        let smtp = |port: i64, to: &str| {
            serde_json::json!({"name": "mail", "kind": "email", "smtp": {
                "host": "mail.example.com", "port": port, "from": "sightline@example.com", "to": [to]}})
        };
        assert!(channel(smtp(587, "ops@example.com")).is_ok());
        assert_eq!(
            channel(smtp(70000, "ops@example.com")).unwrap_err().field,
            "smtp.port"
        );
        assert_eq!(
            channel(smtp(0, "ops@example.com")).unwrap_err().field,
            "smtp.port"
        );
        assert_eq!(channel(smtp(25, "nobody")).unwrap_err().field, "smtp.to[0]");
        let e = channel(serde_json::json!({"name": "mail", "kind": "email"})).unwrap_err();
        assert_eq!(e.field, "smtp");
        let e = channel(serde_json::json!({"name": "x", "kind": "webhook", "url": "http://a.b/", "secret": "short"})).unwrap_err();
        assert_eq!(e.field, "secret");
    }

    #[test]
    fn silences_match_by_rule_labels_and_time() {
        let t0 = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 1, 1, 0, 0, 0).unwrap();
        let s = Silence {
            id: 1,
            rule_id: Some(7),
            matchers: Labels::from([("host".to_owned(), "a".to_owned())]),
            starts_at: t0,
            ends_at: t0 + Duration::hours(1),
            author: "admin".into(),
            comment: String::new(),
            created_at: t0,
        };
        let a = Labels::from([("host".to_owned(), "a".to_owned())]);
        let b = Labels::from([("host".to_owned(), "b".to_owned())]);
        assert!(silences(&s, 7, &a, t0));
        assert!(!silences(&s, 8, &a, t0));
        assert!(!silences(&s, 7, &b, t0));
        assert!(!silences(&s, 7, &a, t0 + Duration::hours(1)));
        assert!(!silences(&s, 7, &a, t0 - Duration::seconds(1)));
        let any_rule = Silence {
            rule_id: None,
            ..s.clone()
        };
        assert!(silences(&any_rule, 8, &a, t0));
    }

    #[test]
    fn templates_show_value_threshold_and_labels() {
        let labels = Labels::from([("host".to_owned(), "web-1".to_owned())]);
        let v = TemplateValues {
            rule: "CPU high",
            metric: "system.cpu.utilization",
            unit: "%",
            severity: Severity::Critical,
            comparator: Comparator::Gt,
            threshold: 90.0,
            value: Some(93.456_789),
            labels: &labels,
        };
        assert_eq!(
            render(DEFAULT_MESSAGE, &v),
            "CPU high: system.cpu.utilization is 93.457% (> 90%) host=web-1"
        );
        assert_eq!(
            render("{{labels.host}} at {{ value }} {{nope}} {{severity}}", &v),
            "web-1 at 93.457 {{nope}} critical"
        );
        assert_eq!(render("unclosed {{value", &v), "unclosed {{value");
    }
}
