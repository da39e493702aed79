//! The alert rule form's values as typed, and their conversion to the API's input (a
//! threshold that is not a number is named before anything is sent). Pure, so it is tested
//! without a browser.

use crate::types::alert::{Aggregation, AlertRule, AlertRuleInput, Comparator, Labels, Severity};

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
}
