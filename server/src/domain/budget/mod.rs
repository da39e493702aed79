//! Budgets' pure rules: checking a definition, which calls a budget counts, what a call adds
//! (or may add, before it is made), and which events are due. Free of IO; the store, the
//! proxy and the HTTP layer build on these.

mod period;

pub use period::*;

use app::types::{BudgetInput, BudgetMode, BudgetPeriod, BudgetScope, LimitKind};
use chrono_tz::Tz;

use super::pricing::{cost, pattern_matches, Price, Usage};

pub const MAX_NAME_CHARS: usize = 100;
const MAX_SCOPE_CHARS: usize = 200;
const MAX_THRESHOLDS: usize = 10;
/// Thresholds above 100 % are allowed (warn at 120 % of a soft budget), up to this.
const MAX_THRESHOLD: u16 = 1000;
/// A trillion dollars (or tokens, or requests): anything larger is a typo.
const MAX_LIMIT: f64 = 1e12;

/// A checked budget definition, its limit in base units.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    pub name: String,
    pub scope: BudgetScope,
    pub period: BudgetPeriod,
    pub tz: Tz,
    pub reset_day: u32,
    pub limit_kind: LimitKind,
    /// Micro-USD, tokens or requests.
    pub limit: i64,
    pub thresholds: Vec<u16>,
    pub mode: BudgetMode,
    pub enabled: bool,
}

impl Spec {
    pub fn calendar(&self) -> Period {
        calendar(self.period, self.reset_day)
    }
}

pub fn calendar(period: BudgetPeriod, reset_day: u32) -> Period {
    match period {
        BudgetPeriod::Day => Period::Day,
        BudgetPeriod::Week => Period::Week,
        BudgetPeriod::Month => Period::Month { reset_day },
    }
}

/// Why a definition was refused: the field (dotted path) and the reason.
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

/// A trimmed scope label; empty means "any".
fn scope_label(field: &str, v: &Option<String>) -> Result<Option<String>, Invalid> {
    let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if v.chars().count() > MAX_SCOPE_CHARS || v.chars().any(char::is_control) {
        return Err(invalid(
            field,
            format!("must be at most {MAX_SCOPE_CHARS} characters, without control characters"),
        ));
    }
    Ok(Some(v.to_owned()))
}

/// An amount in the unit people type (dollars, tokens, requests) to base units.
pub fn to_base(kind: LimitKind, value: f64) -> i64 {
    match kind {
        LimitKind::Usd => (value * 1_000_000.0).round() as i64,
        LimitKind::Tokens | LimitKind::Requests => value.round() as i64,
    }
}

/// Base units back to the unit people read.
pub fn from_base(kind: LimitKind, value: i64) -> f64 {
    match kind {
        LimitKind::Usd => value as f64 / 1_000_000.0,
        LimitKind::Tokens | LimitKind::Requests => value as f64,
    }
}

/// Checks a definition: the one rule set behind the API and the form.
pub fn validate(input: &BudgetInput) -> Result<Spec, Invalid> {
    let name = input.name.trim();
    if name.is_empty() {
        return Err(invalid("name", "a budget needs a name"));
    }
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(invalid(
            "name",
            format!("must be at most {MAX_NAME_CHARS} characters, without control characters"),
        ));
    }
    let scope = BudgetScope {
        provider: scope_label("scope.provider", &input.scope.provider)?,
        model: scope_label("scope.model", &input.scope.model)?,
        feature: scope_label("scope.feature", &input.scope.feature)?,
        user: scope_label("scope.user", &input.scope.user)?,
        api_key_id: match input.scope.api_key_id {
            Some(id) if id <= 0 => return Err(invalid("scope.api_key_id", "is not a key id")),
            other => other,
        },
    };
    let tz: Tz = input.timezone.trim().parse().map_err(|_| {
        invalid(
            "timezone",
            "is not a time zone; use an IANA name such as Europe/Berlin or UTC",
        )
    })?;
    let reset_day = match (input.period, input.reset_day) {
        (BudgetPeriod::Month, Some(d)) if !(1..=28).contains(&d) => {
            return Err(invalid(
                "reset_day",
                "must be from 1 to 28, so that every month has it",
            ))
        }
        (BudgetPeriod::Month, Some(d)) => d,
        _ => 1,
    };
    let limit = input.limit;
    if !limit.is_finite() || limit <= 0.0 {
        return Err(invalid("limit", "must be more than zero"));
    }
    if limit > MAX_LIMIT {
        return Err(invalid("limit", "must be at most a trillion"));
    }
    if input.limit_kind != LimitKind::Usd && limit.fract() != 0.0 {
        return Err(invalid(
            "limit",
            "must be a whole number of tokens or requests",
        ));
    }
    let base = to_base(input.limit_kind, limit);
    if base <= 0 {
        return Err(invalid("limit", "must be at least one micro-dollar"));
    }
    let mut thresholds = input.thresholds.clone();
    thresholds.sort_unstable();
    thresholds.dedup();
    if thresholds.len() > MAX_THRESHOLDS {
        return Err(invalid(
            "thresholds",
            format!("at most {MAX_THRESHOLDS} thresholds"),
        ));
    }
    if thresholds.iter().any(|t| *t == 0 || *t > MAX_THRESHOLD) {
        return Err(invalid(
            "thresholds",
            format!("each threshold is a percentage from 1 to {MAX_THRESHOLD}"),
        ));
    }
    Ok(Spec {
        name: name.to_owned(),
        scope,
        period: input.period,
        tz,
        reset_day,
        limit_kind: input.limit_kind,
        limit: base,
        thresholds,
        mode: input.mode,
        enabled: input.enabled,
    })
}

/// What a budget's scope is compared with.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub provider: &'a str,
    pub model: &'a str,
    pub feature: Option<&'a str>,
    pub user: Option<&'a str>,
    pub api_key_id: Option<i64>,
}

/// Whether a call with these facts counts against a budget of this scope. The model may be
/// a pattern (as in the price table); the other fields match exactly.
pub fn matches(scope: &BudgetScope, f: &Facts) -> bool {
    matches_except_model(scope, f)
        && scope
            .model
            .as_deref()
            .is_none_or(|p| pattern_matches(p, f.model))
}

/// [`matches`] without the model pattern, for callers that test many calls against many
/// budgets and remember each (budget, model) answer.
pub fn matches_except_model(scope: &BudgetScope, f: &Facts) -> bool {
    let exact =
        |want: &Option<String>, have: Option<&str>| want.as_deref().is_none_or(|w| have == Some(w));
    exact(&scope.provider, Some(f.provider))
        && exact(&scope.feature, f.feature)
        && exact(&scope.user, f.user)
        && scope.api_key_id.is_none_or(|k| f.api_key_id == Some(k))
}

/// What calls add to a budget, in all three units at once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Amounts {
    pub cost_micros: i64,
    pub tokens: i64,
    pub requests: i64,
}

impl Amounts {
    /// One stored call: its cost (0 when unpriced), input + output tokens, one request.
    pub fn call(cost_micros: Option<i64>, input_tokens: i64, output_tokens: i64) -> Self {
        Amounts {
            cost_micros: cost_micros.unwrap_or(0),
            tokens: input_tokens.saturating_add(output_tokens),
            requests: 1,
        }
    }

    pub fn of(&self, kind: LimitKind) -> i64 {
        match kind {
            LimitKind::Usd => self.cost_micros,
            LimitKind::Tokens => self.tokens,
            LimitKind::Requests => self.requests,
        }
    }

    pub fn add(&mut self, other: Amounts) {
        self.cost_micros = self.cost_micros.saturating_add(other.cost_micros);
        self.tokens = self.tokens.saturating_add(other.tokens);
        self.requests = self.requests.saturating_add(other.requests);
    }
}

/// Output tokens assumed when a request sets no `max_tokens`: a reservation must cover what
/// the call may cost, and today's models rarely answer with more than this.
pub const DEFAULT_MAX_OUTPUT_TOKENS: u64 = 16_384;

/// The most a call may add before it is made: its estimated input at the input price, plus
/// its output cap at the output price (unpriced models cost nothing).
pub fn worst_case(
    input_tokens: u64,
    max_output_tokens: Option<u64>,
    price: Option<&Price>,
) -> Amounts {
    let output = max_output_tokens.unwrap_or(DEFAULT_MAX_OUTPUT_TOKENS);
    let usage = Usage::priced(input_tokens, output, 0);
    Amounts {
        cost_micros: price.map_or(0, |p| cost(p, usage).total_micros),
        tokens: i64::try_from(input_tokens.saturating_add(output)).unwrap_or(i64::MAX),
        requests: 1,
    }
}

/// Whether `need` more fits under `limit` when `used` (spent + held) is already taken.
pub fn fits(used: i64, need: i64, limit: i64) -> bool {
    used.saturating_add(need) <= limit
}

/// An event a budget owes for the current period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Due {
    /// Spend reached this threshold (percent).
    Threshold(u16),
    /// The projection says the limit will be crossed before the reset, and it is not yet.
    Projection,
}

/// The events due now: every threshold that `spent` has reached, and the projection when it
/// is over the limit while spend is still under it. The store records each once per period.
pub fn due_events(thresholds: &[u16], spent: i64, limit: i64, projected: f64) -> Vec<Due> {
    let percent = percent(spent, limit);
    let mut due: Vec<Due> = thresholds
        .iter()
        .filter(|t| percent >= f64::from(**t))
        .map(|t| Due::Threshold(*t))
        .collect();
    if spent < limit && projected >= limit as f64 {
        due.push(Due::Projection);
    }
    due
}

pub fn percent(spent: i64, limit: i64) -> f64 {
    if limit <= 0 {
        0.0
    } else {
        spent as f64 * 100.0 / limit as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn input() -> BudgetInput {
        BudgetInput {
            name: "Team A".into(),
            scope: BudgetScope::default(),
            period: BudgetPeriod::Month,
            timezone: "Europe/Berlin".into(),
            reset_day: Some(15),
            limit_kind: LimitKind::Usd,
            limit: 250.5,
            thresholds: vec![100, 50, 80, 80],
            mode: BudgetMode::Hard,
            enabled: true,
        }
    }

    fn field_of(i: BudgetInput) -> String {
        validate(&i).unwrap_err().field
    }

    #[test]
    fn a_valid_budget_is_normalised() {
        let s = validate(&input()).unwrap();
        assert_eq!(s.limit, 250_500_000);
        assert_eq!(s.thresholds, vec![50, 80, 100]);
        assert_eq!(s.calendar(), Period::Month { reset_day: 15 });
        assert_eq!(s.tz, chrono_tz::Europe::Berlin);
    }

    #[test]
    fn each_bad_value_names_its_field() {
        assert_eq!(
            field_of(BudgetInput {
                limit: 0.0,
                ..input()
            }),
            "limit"
        );
        assert_eq!(
            field_of(BudgetInput {
                limit: -3.0,
                ..input()
            }),
            "limit"
        );
        assert_eq!(
            field_of(BudgetInput {
                limit: f64::NAN,
                ..input()
            }),
            "limit"
        );
        assert_eq!(
            field_of(BudgetInput {
                limit_kind: LimitKind::Tokens,
                limit: 10.5,
                ..input()
            }),
            "limit"
        );
        assert_eq!(
            field_of(BudgetInput {
                timezone: "Mars/Olympus".into(),
                ..input()
            }),
            "timezone"
        );
        assert_eq!(
            field_of(BudgetInput {
                reset_day: Some(31),
                ..input()
            }),
            "reset_day"
        );
        assert_eq!(
            field_of(BudgetInput {
                name: "x".repeat(101),
                ..input()
            }),
            "name"
        );
        assert_eq!(
            field_of(BudgetInput {
                name: "  ".into(),
                ..input()
            }),
            "name"
        );
        assert_eq!(
            field_of(BudgetInput {
                thresholds: vec![0],
                ..input()
            }),
            "thresholds"
        );
        let mut i = input();
        i.scope.user = Some("a\u{7}b".into());
        assert_eq!(field_of(i), "scope.user");
    }

    #[test]
    fn the_reset_day_only_matters_for_months() {
        let s = validate(&BudgetInput {
            period: BudgetPeriod::Week,
            reset_day: Some(31),
            ..input()
        })
        .unwrap();
        assert_eq!(s.calendar(), Period::Week);
        assert_eq!(s.reset_day, 1);
    }

    #[test]
    fn scopes_match_on_every_field_given() {
        let facts = Facts {
            provider: "openai",
            model: "gpt-4o-mini",
            feature: Some("chat"),
            user: Some("u1"),
            api_key_id: Some(7),
        };
        let any = BudgetScope::default();
        assert!(matches(&any, &facts));
        let scope = BudgetScope {
            provider: Some("openai".into()),
            model: Some("GPT-4o*".into()),
            feature: Some("chat".into()),
            user: Some("u1".into()),
            api_key_id: Some(7),
        };
        assert!(matches(&scope, &facts));
        for other in [
            BudgetScope {
                provider: Some("anthropic".into()),
                ..any.clone()
            },
            BudgetScope {
                model: Some("gpt-4o".into()),
                ..any.clone()
            },
            BudgetScope {
                feature: Some("search".into()),
                ..any.clone()
            },
            BudgetScope {
                api_key_id: Some(8),
                ..any.clone()
            },
        ] {
            assert!(!matches(&other, &facts), "{other:?}");
        }
        // A call without a user never matches a per-user budget.
        let anonymous = Facts {
            user: None,
            ..facts
        };
        assert!(!matches(
            &BudgetScope {
                user: Some("u1".into()),
                ..any
            },
            &anonymous
        ));
    }

    #[test]
    fn the_worst_case_prices_input_and_the_output_cap() {
        let price = Price {
            provider: None,
            model_pattern: "m".into(),
            input_per_mtok_micros: 2_500_000,
            output_per_mtok_micros: 10_000_000,
            cached_input_per_mtok_micros: None,
            effective_from: Utc.timestamp_opt(0, 0).unwrap(),
            context_window: None,
        };
        let w = worst_case(1_000, Some(500), Some(&price));
        // 1000 × $2.50/M + 500 × $10/M = $0.0025 + $0.005.
        assert_eq!(w.cost_micros, 7_500);
        assert_eq!(w.tokens, 1_500);
        assert_eq!(w.requests, 1);
        let uncapped = worst_case(0, None, Some(&price));
        assert_eq!(uncapped.tokens, DEFAULT_MAX_OUTPUT_TOKENS as i64);
        assert_eq!(worst_case(10, Some(10), None).cost_micros, 0);
    }

    #[test]
    fn the_ledger_never_lets_used_plus_need_pass_the_limit() {
        assert!(fits(90, 10, 100));
        assert!(!fits(91, 10, 100));
        assert!(!fits(i64::MAX, 1, 100));
        // 20 calls of 10 against 50 left: exactly 5 fit, one after another.
        let mut used = 50;
        let granted = (0..20)
            .filter(|_| {
                let ok = fits(used, 10, 100);
                if ok {
                    used += 10;
                }
                ok
            })
            .count();
        assert_eq!(granted, 5);
    }

    #[test]
    fn events_are_due_at_thresholds_and_on_a_projected_overrun() {
        assert_eq!(due_events(&[50, 80, 100], 40, 100, 60.0), vec![]);
        assert_eq!(
            due_events(&[50, 80, 100], 80, 100, 90.0),
            vec![Due::Threshold(50), Due::Threshold(80)]
        );
        assert_eq!(
            due_events(&[50, 80, 100], 60, 100, 130.0),
            vec![Due::Threshold(50), Due::Projection]
        );
        // Once over the limit, the projection has nothing left to predict.
        assert_eq!(
            due_events(&[100], 120, 100, 200.0),
            vec![Due::Threshold(100)]
        );
    }
}
