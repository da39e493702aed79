//! The alert rule form's values as typed, and their conversion to the API's input (a
//! threshold that is not a number is named before anything is sent). Pure, so it is tested
//! without a browser.

use crate::types::alert::{
    Aggregation, AlertRule, AlertRuleInput, Comparator, Labels, RuleKind, Severity,
};

/// Label filters the form offers, in its order.
pub const LABELS: [&str; 4] = ["host", "model", "provider", "feature"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFormValues {
    pub name: String,
    pub metric: String,
    /// One value per [`LABELS`] entry; blank means any.
    pub labels: [String; 4],
    /// Empty means the metric's default.
    pub aggregation: String,
    pub window: String,
    pub comparator: String,
    pub threshold: String,
    /// `threshold`, `anomaly` or `forecast`.
    pub kind: String,
    /// Anomaly and forecast rules; blank means the server's default.
    pub baseline: String,
    /// Anomaly rules; blank means 0.
    pub min_delta: String,
    /// Forecast rules; blank means 24h.
    pub horizon: String,
    pub for_: String,
    pub keep_firing_for: String,
    pub severity: String,
    pub repeat_interval: String,
    pub channels: Vec<i64>,
    pub message: String,
    pub enabled: bool,
}

impl Default for RuleFormValues {
    fn default() -> Self {
        Self {
            name: String::new(),
            metric: "system.cpu.utilization".into(),
            labels: Default::default(),
            aggregation: String::new(),
            window: "5m".into(),
            comparator: ">".into(),
            threshold: String::new(),
            kind: "threshold".into(),
            baseline: String::new(),
            min_delta: String::new(),
            horizon: String::new(),
            for_: "5m".into(),
            keep_firing_for: "0s".into(),
            severity: "warning".into(),
            repeat_interval: "4h".into(),
            channels: Vec::new(),
            message: String::new(),
            enabled: true,
        }
    }
}

impl RuleFormValues {
    pub fn from_rule(r: &AlertRule) -> Self {
        let label = |k: &str| r.labels.get(k).cloned().unwrap_or_default();
        Self {
            name: r.name.clone(),
            metric: r.metric.clone(),
            labels: LABELS.map(label),
            aggregation: r.aggregation.as_str().into(),
            window: r.window.clone(),
            comparator: r.comparator.as_str().into(),
            threshold: crate::format::plain_number(r.threshold),
            kind: r.kind.as_str().into(),
            baseline: r.baseline.clone().unwrap_or_default(),
            min_delta: r
                .min_delta
                .map(crate::format::plain_number)
                .unwrap_or_default(),
            horizon: r.horizon.clone().unwrap_or_default(),
            for_: r.for_.clone(),
            keep_firing_for: r.keep_firing_for.clone(),
            severity: r.severity.as_str().into(),
            repeat_interval: r.repeat_interval.clone(),
            channels: r.channels.clone(),
            message: r.message.clone().unwrap_or_default(),
            enabled: r.enabled,
        }
    }

    /// The API input, or (field, message) for what the form can tell before sending.
    pub fn to_input(&self) -> Result<AlertRuleInput, (String, String)> {
        let threshold: f64 = self.threshold.trim().parse().map_err(|_| {
            (
                "threshold".to_owned(),
                "must be a number, such as 80 or 0.5".to_owned(),
            )
        })?;
        let kind = RuleKind::parse(&self.kind).unwrap_or_default();
        let min_delta = match (kind, self.min_delta.trim()) {
            (RuleKind::Anomaly, m) if !m.is_empty() => Some(m.parse::<f64>().map_err(|_| {
                (
                    "min_delta".to_owned(),
                    "must be a number, such as 0.5".to_owned(),
                )
            })?),
            _ => None,
        };
        let labels: Labels = LABELS
            .iter()
            .zip(&self.labels)
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| ((*k).to_owned(), v.trim().to_owned()))
            .collect();
        let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        Ok(AlertRuleInput {
            name: self.name.trim().to_owned(),
            metric: self.metric.clone(),
            labels,
            group_by: Vec::new(),
            aggregation: Aggregation::parse(&self.aggregation),
            window: opt(&self.window),
            comparator: Comparator::parse(&self.comparator).unwrap_or_default(),
            threshold,
            kind: Some(kind),
            // Only what the kind uses is sent: the server refuses the rest.
            baseline: (kind != RuleKind::Threshold)
                .then(|| opt(&self.baseline))
                .flatten(),
            min_delta,
            horizon: (kind == RuleKind::Forecast)
                .then(|| opt(&self.horizon))
                .flatten(),
            for_: opt(&self.for_),
            keep_firing_for: opt(&self.keep_firing_for),
            severity: Severity::parse(&self.severity).unwrap_or(Severity::Warning),
            repeat_interval: opt(&self.repeat_interval),
            channels: self.channels.clone(),
            message: opt(&self.message),
            enabled: Some(self.enabled),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filled_form_becomes_the_api_input() {
        let f = RuleFormValues {
            name: " CPU high ".into(),
            threshold: "80".into(),
            labels: ["web-1".into(), String::new(), String::new(), String::new()],
            channels: vec![3],
            ..Default::default()
        };
        let i = f.to_input().unwrap();
        assert_eq!(i.name, "CPU high");
        assert_eq!(i.threshold, 80.0);
        assert_eq!(i.labels.len(), 1);
        assert_eq!(i.labels["host"], "web-1");
        assert_eq!(i.aggregation, None, "the metric's default");
        assert_eq!(i.for_.as_deref(), Some("5m"));
        assert_eq!(i.channels, vec![3]);
        assert_eq!(i.message, None);
    }

    #[test]
    fn a_threshold_that_is_not_a_number_is_named() {
        let f = RuleFormValues {
            threshold: "high".into(),
            ..Default::default()
        };
        assert_eq!(f.to_input().unwrap_err().0, "threshold");
        let f = RuleFormValues::default();
        assert_eq!(f.to_input().unwrap_err().0, "threshold", "empty");
    }

    #[test]
    fn only_the_kinds_own_settings_are_sent() {
        let f = RuleFormValues {
            threshold: "4".into(),
            kind: "anomaly".into(),
            baseline: "3h".into(),
            min_delta: "0.5".into(),
            horizon: "2d".into(),
            ..Default::default()
        };
        let i = f.to_input().unwrap();
        assert_eq!(i.kind, Some(RuleKind::Anomaly));
        assert_eq!(i.baseline.as_deref(), Some("3h"));
        assert_eq!(i.min_delta, Some(0.5));
        assert_eq!(i.horizon, None, "left from another kind");
        let t = RuleFormValues {
            kind: "threshold".into(),
            ..f.clone()
        }
        .to_input()
        .unwrap();
        assert_eq!((t.baseline, t.min_delta, t.horizon), (None, None, None));
        let bad = RuleFormValues {
            min_delta: "a bit".into(),
            ..f
        };
        assert_eq!(bad.to_input().unwrap_err().0, "min_delta");
    }
}
