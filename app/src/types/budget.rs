//! Budgets, their live status and events, and the check / reserve API for apps that do not
//! use the proxy. Amounts are in the budget's unit: US dollars, tokens or requests.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BudgetPeriod {
    Day,
    Week,
    #[default]
    Month,
}

impl BudgetPeriod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Day, Self::Week, Self::Month]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

/// What a budget counts: spend in USD, tokens (input + output) or requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    #[default]
    Usd,
    Tokens,
    Requests,
}

impl LimitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Usd => "usd",
            Self::Tokens => "tokens",
            Self::Requests => "requests",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Usd, Self::Tokens, Self::Requests]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// Soft budgets only notify; hard budgets make the proxy refuse calls at 100 %.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BudgetMode {
    #[default]
    Soft,
    Hard,
}

impl BudgetMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Soft => "soft",
            Self::Hard => "hard",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Soft, Self::Hard]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

/// Which calls a budget counts; every field left out matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BudgetScope {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// A model name, or a pattern with `*` (`gpt-4o*`), case-insensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_id: Option<i64>,
}

pub const DEFAULT_THRESHOLDS: [u16; 3] = [50, 80, 100];

fn default_thresholds() -> Vec<u16> {
    DEFAULT_THRESHOLDS.to_vec()
}

fn default_timezone() -> String {
    "UTC".into()
}

fn yes() -> bool {
    true
}

/// `POST /api/v1/budgets` and `PUT /api/v1/budgets/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BudgetInput {
    pub name: String,
    #[serde(default)]
    pub scope: BudgetScope,
    pub period: BudgetPeriod,
    /// An IANA zone (`Europe/Berlin`); periods start at local midnight there.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// The day monthly budgets start on, 1 to 28 (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_day: Option<u32>,
    pub limit_kind: LimitKind,
    pub limit: f64,
    /// Percentages of the limit that raise an event once per period.
    #[serde(default = "default_thresholds")]
    pub thresholds: Vec<u16>,
    #[serde(default)]
    pub mode: BudgetMode,
    #[serde(default = "yes")]
    pub enabled: bool,
}

/// One period's (or one chart bucket's) spend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PeriodSpend {
    pub start: DateTime<Utc>,
    /// The local date it starts on, in the budget's time zone (for labels).
    pub date: chrono::NaiveDate,
    pub spent: f64,
}

/// Where a budget stands now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BudgetStatus {
    pub period_start: DateTime<Utc>,
    /// When the period ends and the budget resets.
    pub resets_at: DateTime<Utc>,
    pub spent: f64,
    /// Held by calls in flight (proxy reservations and `/budgets/reserve`).
    pub reserved: f64,
    pub limit: f64,
    /// Spent as a percentage of the limit.
    pub percent: f64,
    /// What is left (never below zero).
    pub remaining: f64,
    /// Spend at the end of the period if the last hours' rate goes on.
    pub projected: f64,
    pub projected_percent: f64,
    /// When the limit will be reached at that rate, if before the reset.
    pub limit_reached_at: Option<DateTime<Utc>>,
    /// A hard budget with nothing left: the proxy refuses calls in its scope.
    pub blocking: bool,
    /// The last 12 periods before this one, oldest first, then this one.
    pub history: Vec<PeriodSpend>,
}

/// A budget as the API answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Budget {
    pub id: i64,
    pub name: String,
    pub scope: BudgetScope,
    pub period: BudgetPeriod,
    pub timezone: String,
    pub reset_day: u32,
    pub limit_kind: LimitKind,
    pub limit: f64,
    pub thresholds: Vec<u16>,
    pub mode: BudgetMode,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub status: BudgetStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BudgetEventKind {
    /// Spend crossed one of the thresholds.
    Threshold,
    /// The projection first said the limit will be crossed before the reset.
    Projection,
}

/// A threshold crossed or a projected overrun, recorded once per period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BudgetEvent {
    pub id: i64,
    pub budget_id: i64,
    pub budget_name: String,
    pub period_start: DateTime<Utc>,
    pub kind: BudgetEventKind,
    /// The threshold crossed (percent), for threshold events.
    pub threshold: Option<u16>,
    /// Spend (or projected spend) as a percentage of the limit when it was recorded.
    pub percent: f64,
    /// Spend at that moment, in the budget's unit.
    pub spent: f64,
    pub at: DateTime<Utc>,
}

/// `POST /api/v1/budgets/check` and `/budgets/reserve`: a call about to be made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BudgetCheckRequest {
    pub provider: Option<String>,
    pub model: Option<String>,
    pub feature: Option<String>,
    pub user: Option<String>,
    /// Defaults to the key making the request.
    pub api_key_id: Option<i64>,
    /// The call's estimated cost in USD.
    #[serde(default)]
    pub cost_usd: f64,
    /// Its estimated tokens, input + output.
    #[serde(default)]
    pub tokens: u64,
    /// How long a reservation is held before it expires (default 600 s).
    pub ttl_secs: Option<u64>,
}

/// The budget that decided a check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DecidingBudget {
    pub id: i64,
    pub name: String,
    pub limit_kind: LimitKind,
    pub limit: f64,
    /// What is left after spend and reservations, before this call.
    pub remaining: f64,
    pub resets_at: DateTime<Utc>,
}

/// The answer to a check or a reservation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BudgetDecision {
    pub allowed: bool,
    /// The hard budget that refused the call, or the one with the least room left.
    pub budget: Option<DecidingBudget>,
    /// Report the call with this as its `id` to settle the reservation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// `GET /api/v1/budgets/{id}/series`: the budget and its spend in the current period, per
/// hour (daily budgets) or per local day (weekly and monthly ones), oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BudgetSeries {
    pub budget: Budget,
    pub points: Vec<PeriodSpend>,
}

/// What a rate limit counts per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RateSubject {
    ApiKey,
    User,
    Model,
}

impl RateSubject {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiKey => "api_key",
            Self::User => "user",
            Self::Model => "model",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::ApiKey, Self::User, Self::Model]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// A limit on proxied calls per minute. `value` is the key id, the user or a model pattern,
/// or `*` for each one apart (every user may make 60 requests a minute).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub subject: RateSubject,
    pub value: String,
    #[serde(default)]
    pub requests_per_minute: Option<u32>,
    /// Tokens (input + the call's output cap) per minute.
    #[serde(default)]
    pub tokens_per_minute: Option<u64>,
}

/// `GET/PUT /api/v1/rate-limits`: the whole set (a PUT replaces it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RateLimits {
    pub limits: Vec<RateLimit>,
    /// Servers sharing the limits now (each enforces its share); ignored in a PUT.
    #[serde(default)]
    pub servers: u32,
}
