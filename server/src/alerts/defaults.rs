//! The seeds' default rules and the in-app channel they report to, installed once per
//! database (at the first start of the first server); they can be edited, disabled or
//! deleted like any other, and a deleted one stays deleted.

use app::types::alert::{AlertRuleInput, ChannelInput, ChannelKind};
use sqlx::PgPool;

use crate::{
    domain::alert::{validate_channel, validate_rule},
    store::{
        self,
        alerts::{SealedSecrets, WriteError},
    },
};

/// (name, metric, aggregation, comparator, threshold, for, severity)
type DefaultRule = (
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    f64,
    &'static str,
    &'static str,
);

const RULES: &[DefaultRule] = &[
    (
        "CPU high",
        "system.cpu.utilization",
        None,
        ">",
        80.0,
        "5m",
        "warning",
    ),
    (
        "CPU critical",
        "system.cpu.utilization",
        None,
        ">",
        90.0,
        "5m",
        "critical",
    ),
    (
        "Memory high",
        "system.memory.utilization",
        None,
        ">",
        85.0,
        "5m",
        "warning",
    ),
    (
        "Memory critical",
        "system.memory.utilization",
        None,
        ">",
        95.0,
        "5m",
        "critical",
    ),
    (
        "Disk almost full",
        "system.filesystem.utilization",
        None,
        ">",
        90.0,
        "5m",
        "warning",
    ),
    (
        "Disk full",
        "system.filesystem.utilization",
        None,
        ">",
        95.0,
        "5m",
        "critical",
    ),
    (
        "GPU hot",
        "gpu.temperature",
        None,
        ">",
        85.0,
        "5m",
        "critical",
    ),
    (
        "LLM p95 latency",
        "gen_ai.client.operation.duration",
        Some("p95"),
        ">",
        5.0,
        "5m",
        "warning",
    ),
    (
        "LLM errors",
        "llm.error_rate",
        None,
        ">",
        5.0,
        "5m",
        "warning",
    ),
    (
        "LLM errors critical",
        "llm.error_rate",
        None,
        ">",
        10.0,
        "5m",
        "critical",
    ),
    (
        "Budget 80 %",
        "budget.utilization",
        None,
        ">=",
        80.0,
        "0s",
        "warning",
    ),
    (
        "Budget 100 %",
        "budget.utilization",
        None,
        ">=",
        100.0,
        "0s",
        "critical",
    ),
    (
        "Host not reporting",
        "system.host.silence",
        None,
        ">",
        300.0,
        "0s",
        "warning",
    ),
];

pub const IN_APP_CHANNEL: &str = "In the app";

fn rule_input(r: &DefaultRule, channel: i64) -> AlertRuleInput {
    let (name, metric, agg, cmp, threshold, for_, severity) = *r;
    AlertRuleInput {
        name: name.into(),
        metric: metric.into(),
        labels: Default::default(),
        group_by: Vec::new(),
        aggregation: agg.and_then(app::types::alert::Aggregation::parse),
        window: Some("5m".into()),
        comparator: app::types::alert::Comparator::parse(cmp).unwrap_or_default(),
        threshold,
        for_: Some(for_.into()),
        keep_firing_for: None,
        severity: app::types::alert::Severity::parse(severity)
            .unwrap_or(app::types::alert::Severity::Warning),
        repeat_interval: None,
        channels: vec![channel],
        message: None,
        enabled: Some(true),
        kind: None,
        baseline: None,
        min_delta: None,
        horizon: None,
    }
}

/// Rules added after the first defaults, installed once per database under their own
/// step so existing installs get them too: a disk filling towards full within a day.
fn trend_rules(channel: i64) -> Vec<AlertRuleInput> {
    vec![AlertRuleInput {
        name: "Disk predicted full within a day".into(),
        metric: "system.filesystem.utilization".into(),
        labels: Default::default(),
        group_by: Vec::new(),
        aggregation: None,
        window: Some("5m".into()),
        comparator: app::types::alert::Comparator::Gt,
        threshold: 95.0,
        kind: Some(app::types::alert::RuleKind::Forecast),
        baseline: Some("6h".into()),
        min_delta: None,
        horizon: Some("24h".into()),
        for_: Some("15m".into()),
        keep_firing_for: None,
        severity: app::types::alert::Severity::Warning,
        repeat_interval: Some("12h".into()),
        channels: vec![channel],
        message: None,
        enabled: Some(true),
    }]
}

/// Installs the defaults this database never had.
pub async fn install(pool: &PgPool) -> anyhow::Result<()> {
    if store::alerts::first_time(pool, "defaults").await? {
        let channel = in_app_channel(pool).await?;
        for r in RULES {
            let spec = validate_rule(&rule_input(r, channel))
                .map_err(|e| anyhow::anyhow!("default rule {}: {}", r.0, e.message))?;
            insert(pool, &spec).await?;
        }
        tracing::info!(rules = RULES.len(), "default alert rules installed");
    }
    if store::alerts::first_time(pool, "defaults-trends").await? {
        // To the in-app channel where it still exists (a person may have deleted it).
        let channel = store::alerts::channels(pool)
            .await?
            .into_iter()
            .find(|c| c.builtin && c.name == IN_APP_CHANNEL);
        for mut input in trend_rules(0) {
            input.channels = channel.iter().map(|c| c.id).collect();
            let spec = validate_rule(&input)
                .map_err(|e| anyhow::anyhow!("default rule {}: {}", input.name, e.message))?;
            insert(pool, &spec).await?;
        }
    }
    Ok(())
}

async fn insert(pool: &PgPool, spec: &crate::domain::alert::Spec) -> anyhow::Result<()> {
    match store::alerts::insert_rule(pool, spec, true).await {
        Ok(_) | Err(WriteError::DuplicateName) => Ok(()),
        Err(WriteError::Db(e)) => Err(e.into()),
    }
}

/// The in-app channel's id, created when missing.
async fn in_app_channel(pool: &PgPool) -> anyhow::Result<i64> {
    let spec = validate_channel(
        &ChannelInput {
            name: IN_APP_CHANNEL.into(),
            kind: ChannelKind::InApp,
            url: None,
            secret: None,
            format: None,
            smtp: None,
            severities: Vec::new(),
            enabled: Some(true),
        },
        false,
    )
    .map_err(|e| anyhow::anyhow!("default channel: {}", e.message))?;
    let none = SealedSecrets {
        url: None,
        secret: None,
        smtp_password: None,
    };
    Ok(
        match store::alerts::insert_channel(pool, &spec, &none, true).await {
            Ok(c) => c.id,
            Err(WriteError::DuplicateName) => store::alerts::channels(pool)
                .await?
                .into_iter()
                .find(|c| c.name == IN_APP_CHANNEL)
                .map(|c| c.id)
                .unwrap_or_default(),
            Err(WriteError::Db(e)) => return Err(e.into()),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_rule_is_valid() {
        for r in RULES {
            assert!(validate_rule(&rule_input(r, 1)).is_ok(), "{}", r.0);
        }
        for r in trend_rules(1) {
            assert!(validate_rule(&r).is_ok(), "{}", r.name);
        }
    }
}
