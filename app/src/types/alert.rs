//! Alert rules, their alerts (one per label set), channels, silences, history, deliveries and
//! the in-app inbox. Durations on the wire are strings such as `"5m"`; label sets are maps.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub type Labels = BTreeMap<String, String>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum Comparator {
    #[serde(rename = ">")]
    #[default]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
}

impl Comparator {
    pub const ALL: [Comparator; 4] = [Self::Gt, Self::Ge, Self::Lt, Self::Le];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Lt => "<",
            Self::Le => "<=",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Self::Gt => value > threshold,
            Self::Ge => value >= threshold,
            Self::Lt => value < threshold,
            Self::Le => value <= threshold,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Self::Info, Self::Warning, Self::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// How the samples in a rule's window become one value. (`AlertAggregation` in the API
/// description: the analytics answer is also called `Aggregation`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema), schema(as = AlertAggregation))]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    Avg,
    Min,
    Max,
    P95,
    P99,
    Sum,
    /// Per second over the window (counters: calls, tokens, cost).
    Rate,
    /// The newest value.
    Last,
}

impl Aggregation {
    pub const ALL: [Aggregation; 8] = [
        Self::Avg,
        Self::Min,
        Self::Max,
        Self::P95,
        Self::P99,
        Self::Sum,
        Self::Rate,
        Self::Last,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Avg => "avg",
            Self::Min => "min",
            Self::Max => "max",
            Self::P95 => "p95",
            Self::P99 => "p99",
            Self::Sum => "sum",
            Self::Rate => "rate",
            Self::Last => "last",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// What a rule compares: its value against a fixed threshold, against its own recent
/// history (an anomaly), or its trend's forecast against a threshold ("predicted to cross").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    #[default]
    Threshold,
    /// Fires when the value leaves its usual band: the median of the baseline's values ±
    /// `threshold` scaled MADs (at least `min_delta` wide). `>` watches the upper edge, `<`
    /// the lower.
    Anomaly,
    /// Fires when a straight line fitted to the baseline's values reaches the threshold
    /// within `horizon`.
    Forecast,
}

impl RuleKind {
    pub const ALL: [RuleKind; 3] = [Self::Threshold, Self::Anomaly, Self::Forecast];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Threshold => "threshold",
            Self::Anomaly => "anomaly",
            Self::Forecast => "forecast",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// `POST /api/v1/alerts/rules` and `PUT /api/v1/alerts/rules/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AlertRuleInput {
    pub name: String,
    pub metric: String,
    /// Label filters: only series whose labels equal these.
    #[serde(default)]
    pub labels: Labels,
    /// Labels of LLM metrics that split a rule into one alert per value (`model`, ...).
    #[serde(default)]
    pub group_by: Vec<String>,
    #[serde(default)]
    pub aggregation: Option<Aggregation>,
    /// Defaults to `5m`.
    #[serde(default)]
    pub window: Option<String>,
    pub comparator: Comparator,
    /// The level for threshold and forecast rules; for anomaly rules, how many scaled MADs
    /// from the median the value must move (4 is a good start).
    pub threshold: f64,
    /// `threshold` (default), `anomaly` or `forecast`.
    #[serde(default)]
    pub kind: Option<RuleKind>,
    /// Anomaly and forecast rules: the history read (default 2h for anomalies, 6h for
    /// forecasts; 15m to 24h).
    #[serde(default)]
    pub baseline: Option<String>,
    /// Anomaly rules: the least departure from the median that counts, in the metric's unit
    /// (a band never narrower than this; default 0).
    #[serde(default)]
    pub min_delta: Option<f64>,
    /// Forecast rules: how far ahead the trend is projected (default 24h; 5m to 30d).
    #[serde(default)]
    pub horizon: Option<String>,
    /// How long the condition must hold before the alert fires (`0s` at once).
    #[serde(rename = "for", default)]
    pub for_: Option<String>,
    #[serde(default)]
    pub keep_firing_for: Option<String>,
    pub severity: Severity,
    /// How often a still-firing alert is sent again (default `4h`, as Alertmanager).
    #[serde(default)]
    pub repeat_interval: Option<String>,
    #[serde(default)]
    pub channels: Vec<i64>,
    /// Template: `{{value}}`, `{{threshold}}`, `{{labels.host}}`, `{{rule}}`, `{{severity}}`.
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    Inactive,
    Pending,
    Firing,
    /// Was firing, the condition stopped holding (and keep-firing ran out).
    Resolved,
    /// The metric has no value for this label set: not resolved, not firing.
    NoData,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inactive => "inactive",
            Self::Pending => "pending",
            Self::Firing => "firing",
            Self::Resolved => "resolved",
            Self::NoData => "no_data",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Inactive,
            Self::Pending,
            Self::Firing,
            Self::Resolved,
            Self::NoData,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// One alert: a rule's state for one label set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Alert {
    pub rule_id: i64,
    pub labels: Labels,
    pub state: AlertState,
    pub value: Option<f64>,
    /// When the condition began to hold (pending or firing).
    pub active_since: Option<DateTime<Utc>>,
    pub fired_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// A silence matches it now: it still changes state, but nothing is sent.
    pub silenced: bool,
}

/// A rule as stored, with its alerts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AlertRule {
    pub id: i64,
    pub name: String,
    pub metric: String,
    pub labels: Labels,
    pub group_by: Vec<String>,
    pub aggregation: Aggregation,
    pub window: String,
    pub comparator: Comparator,
    pub threshold: f64,
    #[serde(default)]
    pub kind: RuleKind,
    /// Anomaly and forecast rules only.
    #[serde(default)]
    pub baseline: Option<String>,
    /// Anomaly rules only.
    #[serde(default)]
    pub min_delta: Option<f64>,
    /// Forecast rules only.
    #[serde(default)]
    pub horizon: Option<String>,
    #[serde(rename = "for")]
    pub for_: String,
    pub keep_firing_for: String,
    pub severity: Severity,
    pub repeat_interval: String,
    pub channels: Vec<i64>,
    pub message: Option<String>,
    pub enabled: bool,
    /// Installed at first start from the seeds' defaults.
    pub builtin: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub alerts: Vec<Alert>,
}

/// One transition of one alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AlertEvent {
    pub id: i64,
    pub rule_id: i64,
    pub rule_name: String,
    pub severity: Severity,
    pub labels: Labels,
    pub from: AlertState,
    pub to: AlertState,
    pub value: Option<f64>,
    pub threshold: f64,
    pub at: DateTime<Utc>,
    pub silenced: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Webhook,
    Slack,
    Email,
    InApp,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 4] = [Self::InApp, Self::Webhook, Self::Slack, Self::Email];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Slack => "slack",
            Self::Email => "email",
            Self::InApp => "in_app",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Webhook => "Webhook",
            Self::Slack => "Slack",
            Self::Email => "Email",
            Self::InApp => "In the app",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// The body a webhook receives: Sightline's own, or Alertmanager's (so receivers written
/// for it work unchanged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    #[default]
    Sightline,
    Alertmanager,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same host or network.
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SmtpInput {
    pub host: String,
    pub port: i64,
    #[serde(default)]
    pub tls: SmtpTls,
    #[serde(default)]
    pub username: Option<String>,
    /// Kept when absent on an update.
    #[serde(default)]
    pub password: Option<String>,
    pub from: String,
    pub to: Vec<String>,
}

/// `POST /api/v1/alerts/channels`, `PUT /api/v1/alerts/channels/{id}`. On an update an
/// absent `url`, `secret` or SMTP password keeps the stored one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChannelInput {
    pub name: String,
    pub kind: ChannelKind,
    #[serde(default)]
    pub url: Option<String>,
    /// HMAC-SHA256 key for webhook signatures.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub format: Option<WebhookFormat>,
    #[serde(default)]
    pub smtp: Option<SmtpInput>,
    /// Severities this channel receives (all when empty).
    #[serde(default)]
    pub severities: Vec<Severity>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// SMTP settings as shown: never the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SmtpInfo {
    pub host: String,
    pub port: i64,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password_set: bool,
    pub from: String,
    pub to: Vec<String>,
}

/// A channel as shown: its URL masked (Slack and webhook URLs carry tokens), secrets never.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Channel {
    pub id: i64,
    pub name: String,
    pub kind: ChannelKind,
    /// `https://hooks.slack.com/…`: scheme and host only.
    pub url: Option<String>,
    pub secret_set: bool,
    pub format: WebhookFormat,
    pub smtp: Option<SmtpInfo>,
    pub severities: Vec<Severity>,
    pub enabled: bool,
    pub builtin: bool,
    pub created_at: DateTime<Utc>,
}

/// One attempt to deliver a message to a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Delivery {
    pub id: i64,
    pub message_id: i64,
    pub channel_id: i64,
    pub attempt: i32,
    pub at: DateTime<Utc>,
    pub ok: bool,
    /// The HTTP status or SMTP reply code.
    pub status: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
    /// How many alerts the message carried; 0 for a test.
    pub alerts: i32,
}

/// `POST /api/v1/alerts/silences`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SilenceInput {
    #[serde(default)]
    pub rule_id: Option<i64>,
    /// Label values an alert must have (all of them) to be silenced.
    #[serde(default)]
    pub matchers: Labels,
    /// Defaults to now.
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    /// Either an end or a duration (`2h`).
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub duration: Option<String>,
    #[serde(default)]
    pub comment: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Silence {
    pub id: i64,
    pub rule_id: Option<i64>,
    pub matchers: Labels,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub author: String,
    pub comment: String,
    pub created_at: DateTime<Utc>,
}

/// An in-app notification (the bell and the toast).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Notice {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub severity: Severity,
    pub title: String,
    pub body: String,
    pub read: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Inbox {
    pub unread: i64,
    pub notices: Vec<Notice>,
}

/// One series of a metric now: its labels and value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MetricValue {
    pub labels: Labels,
    pub value: f64,
}

/// A metric a rule may watch, as the form lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MetricInfo {
    pub name: String,
    pub title: String,
    pub unit: String,
    pub labels: Vec<String>,
    pub aggregations: Vec<Aggregation>,
    pub default_aggregation: Aggregation,
    /// Values over the last 5 minutes with the default aggregation.
    pub current: Vec<MetricValue>,
}

/// A rule's metric over the last hour, one line per label set, and its threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RuleSeries {
    pub unit: String,
    pub threshold: f64,
    pub lines: Vec<SeriesLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SeriesLine {
    pub labels: Labels,
    pub points: Vec<(DateTime<Utc>, Option<f64>)>,
    /// Anomaly rules: the usual band (lower, upper) at each point, where history allows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    /// (time, (lower, upper)), None where history was too short.
    #[allow(clippy::type_complexity)] // an inline tuple keeps the OpenAPI schema derived
    pub band: Vec<(DateTime<Utc>, Option<(f64, f64)>)>,
}

/// `GET /api/v1/alerts/status`: whether this server evaluates the rules now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EvaluatorStatus {
    pub leader: bool,
    pub interval_secs: f64,
}
