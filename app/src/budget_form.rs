//! The budget form's values as typed: read from the form (in the browser, or posted without
//! the WASM), turned into a [`BudgetInput`] for the API, and written back into a URL so a
//! refused form post shows again with what was typed. The server's rules decide validity;
//! this only parses numbers.

use crate::types::{
    Budget, BudgetInput, BudgetMode, BudgetPeriod, BudgetScope, LimitKind, DEFAULT_THRESHOLDS,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetFormValues {
    pub name: String,
    pub provider: String,
    pub model: String,
    pub feature: String,
    pub user: String,
    pub api_key_id: String,
    pub period: String,
    pub timezone: String,
    pub reset_day: String,
    pub limit_kind: String,
    pub limit: String,
    pub thresholds: String,
    pub mode: String,
    pub enabled: bool,
}

impl Default for BudgetFormValues {
    fn default() -> Self {
        Self {
            name: String::new(),
            provider: String::new(),
            model: String::new(),
            feature: String::new(),
            user: String::new(),
            api_key_id: String::new(),
            period: "month".into(),
            timezone: "UTC".into(),
            reset_day: "1".into(),
            limit_kind: "usd".into(),
            limit: String::new(),
            thresholds: thresholds_text(&DEFAULT_THRESHOLDS),
            mode: "soft".into(),
            enabled: true,
        }
    }
}

fn thresholds_text(t: &[u16]) -> String {
    t.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
}

/// The fields in form order: (form name, API field it reports errors under).
pub const FIELDS: &[(&str, &str)] = &[
    ("name", "name"),
    ("provider", "scope.provider"),
    ("model", "scope.model"),
    ("feature", "scope.feature"),
    ("user", "scope.user"),
    ("api_key_id", "scope.api_key_id"),
    ("period", "period"),
    ("timezone", "timezone"),
    ("reset_day", "reset_day"),
    ("limit_kind", "limit_kind"),
    ("limit", "limit"),
    ("thresholds", "thresholds"),
    ("mode", "mode"),
];

impl BudgetFormValues {
    pub fn from_budget(b: &Budget) -> Self {
        let s = &b.scope;
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        Self {
            name: b.name.clone(),
            provider: text(&s.provider),
            model: text(&s.model),
            feature: text(&s.feature),
            user: text(&s.user),
            api_key_id: s.api_key_id.map(|k| k.to_string()).unwrap_or_default(),
            period: b.period.as_str().into(),
            timezone: b.timezone.clone(),
            reset_day: b.reset_day.to_string(),
            limit_kind: b.limit_kind.as_str().into(),
            limit: trim_number(b.limit),
            thresholds: thresholds_text(&b.thresholds),
            mode: b.mode.as_str().into(),
            enabled: b.enabled,
        }
    }

    /// From form or query pairs; a missing `enabled` is an unchecked box.
    pub fn from_pairs(get: impl Fn(&str) -> Option<String>) -> Self {
        let d = Self::default();
        let or = |k: &str, default: String| get(k).unwrap_or(default);
        Self {
            name: or("name", d.name),
            provider: or("provider", d.provider),
            model: or("model", d.model),
            feature: or("feature", d.feature),
            user: or("user", d.user),
            api_key_id: or("api_key_id", d.api_key_id),
            period: or("period", d.period),
            timezone: or("timezone", d.timezone),
            reset_day: or("reset_day", d.reset_day),
            limit_kind: or("limit_kind", d.limit_kind),
            limit: or("limit", d.limit),
            thresholds: or("thresholds", d.thresholds),
            mode: or("mode", d.mode),
            enabled: get("enabled").is_some_and(|v| v == "on" || v == "true"),
        }
    }

    /// As query pairs, to show a refused form again.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("name", self.name.clone()),
            ("provider", self.provider.clone()),
            ("model", self.model.clone()),
            ("feature", self.feature.clone()),
            ("user", self.user.clone()),
            ("api_key_id", self.api_key_id.clone()),
            ("period", self.period.clone()),
            ("timezone", self.timezone.clone()),
            ("reset_day", self.reset_day.clone()),
            ("limit_kind", self.limit_kind.clone()),
            ("limit", self.limit.clone()),
            ("thresholds", self.thresholds.clone()),
            ("mode", self.mode.clone()),
        ];
        if self.enabled {
            out.push(("enabled", "on".into()));
        }
        out
    }

    /// The API input, or the field that does not parse and why.
    pub fn to_input(&self) -> Result<BudgetInput, (String, String)> {
        let bad = |field: &str, msg: &str| Err((field.to_owned(), msg.to_owned()));
        let opt = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        let api_key_id = match opt(&self.api_key_id) {
            None => None,
            Some(v) => match v.parse::<i64>() {
                Ok(id) => Some(id),
                Err(_) => return bad("scope.api_key_id", "must be an API key's number"),
            },
        };
        let Some(period) = BudgetPeriod::parse(&self.period) else {
            return bad("period", "choose day, week or month");
        };
        let Some(limit_kind) = LimitKind::parse(&self.limit_kind) else {
            return bad("limit_kind", "choose USD, tokens or requests");
        };
        let Some(mode) = BudgetMode::parse(&self.mode) else {
            return bad("mode", "choose soft or hard");
        };
        let reset_day = match opt(&self.reset_day) {
            None => None,
            Some(v) => match v.parse::<u32>() {
                Ok(d) => Some(d),
                Err(_) => return bad("reset_day", "must be from 1 to 28"),
            },
        };
        let limit_text = self.limit.trim().replace([',', '$', '_', ' '], "");
        if limit_text.is_empty() {
            return bad("limit", "enter the limit");
        }
        let Ok(limit) = limit_text.parse::<f64>() else {
            return bad("limit", "must be a number");
        };
        let mut thresholds = Vec::new();
        for part in self
            .thresholds
            .split([',', ' '])
            .map(|p| p.trim().trim_end_matches('%'))
        {
            if part.is_empty() {
                continue;
            }
            match part.parse::<u16>() {
                Ok(t) => thresholds.push(t),
                Err(_) => return bad("thresholds", "list percentages, e.g. 50, 80, 100"),
            }
        }
        Ok(BudgetInput {
            name: self.name.clone(),
            scope: BudgetScope {
                provider: opt(&self.provider),
                model: opt(&self.model),
                feature: opt(&self.feature),
                user: opt(&self.user),
                api_key_id,
            },
            period,
            timezone: self.timezone.trim().to_owned(),
            reset_day,
            limit_kind,
            limit,
            thresholds,
            mode,
            enabled: self.enabled,
        })
    }
}

/// A number without a trailing ".0".
fn trim_number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_values_become_an_input() {
        let v = BudgetFormValues {
            name: "Team".into(),
            user: " alice ".into(),
            limit: "$1,250.50".into(),
            thresholds: "50%, 90 100".into(),
            mode: "hard".into(),
            ..Default::default()
        };
        let i = v.to_input().unwrap();
        assert_eq!(i.limit, 1250.5);
        assert_eq!(i.thresholds, vec![50, 90, 100]);
        assert_eq!(i.scope.user.as_deref(), Some("alice"));
        assert_eq!(i.scope.provider, None);
        assert_eq!(i.mode, BudgetMode::Hard);
    }

    #[test]
    fn unparsable_values_name_their_field() {
        let field = |v: BudgetFormValues| v.to_input().unwrap_err().0;
        let base = || BudgetFormValues {
            name: "x".into(),
            limit: "10".into(),
            ..Default::default()
        };
        assert_eq!(
            field(BudgetFormValues {
                limit: "ten".into(),
                ..base()
            }),
            "limit"
        );
        assert_eq!(
            field(BudgetFormValues {
                limit: "".into(),
                ..base()
            }),
            "limit"
        );
        assert_eq!(
            field(BudgetFormValues {
                thresholds: "fifty".into(),
                ..base()
            }),
            "thresholds"
        );
        assert_eq!(
            field(BudgetFormValues {
                api_key_id: "k".into(),
                ..base()
            }),
            "scope.api_key_id"
        );
    }

    #[test]
    fn values_survive_a_round_trip_through_the_url() {
        let v = BudgetFormValues {
            name: "a&b".into(),
            limit: "5".into(),
            enabled: false,
            ..Default::default()
        };
        let pairs = v.to_pairs();
        let back = BudgetFormValues::from_pairs(|k| {
            pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
        });
        assert_eq!(back, v);
    }
}
