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
    }
}

/// Installs the defaults if this database never had them.
pub async fn install(pool: &PgPool) -> anyhow::Result<()> {
    if !store::alerts::first_time(pool, "defaults").await? {
        return Ok(());
    }
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
    let channel = match store::alerts::insert_channel(pool, &spec, &none, true).await {
        Ok(c) => c.id,
        Err(WriteError::DuplicateName) => store::alerts::channels(pool)
            .await?
            .into_iter()
            .find(|c| c.name == IN_APP_CHANNEL)
            .map(|c| c.id)
            .unwrap_or_default(),
        Err(WriteError::Db(e)) => return Err(e.into()),
    };
    for r in RULES {
        let spec = validate_rule(&rule_input(r, channel))
            .map_err(|e| anyhow::anyhow!("default rule {}: {}", r.0, e.message))?;
        match store::alerts::insert_rule(pool, &spec, true).await {
            Ok(_) | Err(WriteError::DuplicateName) => {}
            Err(WriteError::Db(e)) => return Err(e.into()),
        }
    }
    tracing::info!(rules = RULES.len(), "default alert rules installed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_rule_is_valid() {
        for r in RULES {
            assert!(validate_rule(&rule_input(r, 1)).is_ok(), "{}", r.0);
        }
    }
}
