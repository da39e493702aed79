//! Alert rules, alerts, history, silences, channels and the notification path in SQL.
//! Secrets arrive sealed (the caller seals and opens them); nothing here sees plain keys.

use app::types::alert::{
    Aggregation, Alert, AlertEvent, AlertRule, AlertState, Channel, ChannelKind, Comparator,
    Delivery, Labels, Notice, RuleKind, Severity, Silence, SmtpInfo, SmtpInput, WebhookFormat,
};
use chrono::{DateTime, Duration, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::analytics::stats::Stats;
use crate::domain::alert::{
    format_duration,
    message::Item,
    metric::{self, AppPoint, LlmPoint, SystemPoint},
    state::{Instance, Timing},
    ChannelSpec, Kind, Spec,
};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the name is taken")]
    DuplicateName,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

fn write_error(e: sqlx::Error) -> WriteError {
    match &e {
        sqlx::Error::Database(d) if d.code().as_deref() == Some("23505") => {
            WriteError::DuplicateName
        }
        _ => WriteError::Db(e),
    }
}

fn labels_json(l: &Labels) -> serde_json::Value {
    serde_json::to_value(l).unwrap_or_default()
}

fn labels_of(v: serde_json::Value) -> Labels {
    serde_json::from_value(v).unwrap_or_default()
}

/// A stable key of a label set (its JSON: the map is ordered).
pub fn labels_key(l: &Labels) -> String {
    serde_json::to_string(l).unwrap_or_default()
}

// ---------------------------------------------------------------- rules

/// A stored rule, checked again as it is read (a metric that no longer exists drops it).
#[derive(Debug, Clone)]
pub struct StoredRule {
    pub id: i64,
    pub spec: Spec,
    pub builtin: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl StoredRule {
    pub fn to_api(&self, alerts: Vec<Alert>) -> AlertRule {
        let s = &self.spec;
        AlertRule {
            id: self.id,
            name: s.name.clone(),
            metric: s.metric.name.to_owned(),
            labels: s.labels.clone(),
            group_by: s.group_by.clone(),
            aggregation: s.aggregation,
            window: format_duration(s.window),
            comparator: s.comparator,
            threshold: s.threshold,
            kind: s.kind.api(),
            baseline: s.kind.baseline().map(format_duration),
            min_delta: match s.kind {
                Kind::Anomaly { min_delta, .. } => Some(min_delta),
                _ => None,
            },
            horizon: match s.kind {
                Kind::Forecast { horizon, .. } => Some(format_duration(horizon)),
                _ => None,
            },
            for_: format_duration(s.timing.for_),
            keep_firing_for: format_duration(s.timing.keep_firing_for),
            severity: s.severity,
            repeat_interval: format_duration(s.timing.repeat),
            channels: s.channels.clone(),
            message: s.message.clone(),
            enabled: s.enabled,
            builtin: self.builtin,
            created_at: self.created_at,
            updated_at: self.updated_at,
            alerts,
        }
    }
}

#[derive(sqlx::FromRow)]
struct RuleRow {
    id: i64,
    name: String,
    metric: String,
    labels: serde_json::Value,
    group_by: Vec<String>,
    aggregation: String,
    window_secs: i64,
    comparator: String,
    threshold: f64,
    kind: String,
    baseline_secs: Option<i64>,
    min_delta: Option<f64>,
    horizon_secs: Option<i64>,
    for_secs: i64,
    keep_firing_secs: i64,
    severity: String,
    repeat_secs: i64,
    channels: Vec<i64>,
    message: Option<String>,
    enabled: bool,
    builtin: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl RuleRow {
    fn into_stored(self) -> Option<StoredRule> {
        let baseline = Duration::seconds(self.baseline_secs.unwrap_or(0));
        let kind = match RuleKind::parse(&self.kind)? {
            RuleKind::Threshold => Kind::Threshold,
            RuleKind::Anomaly => Kind::Anomaly {
                baseline,
                min_delta: self.min_delta.unwrap_or(0.0),
            },
            RuleKind::Forecast => Kind::Forecast {
                baseline,
                horizon: Duration::seconds(self.horizon_secs.unwrap_or(0)),
            },
        };
        Some(StoredRule {
            id: self.id,
            spec: Spec {
                name: self.name,
                metric: metric::find(&self.metric)?,
                labels: labels_of(self.labels),
                group_by: self.group_by,
                aggregation: Aggregation::parse(&self.aggregation)?,
                window: Duration::seconds(self.window_secs),
                comparator: Comparator::parse(&self.comparator)?,
                threshold: self.threshold,
                kind,
                timing: Timing {
                    for_: Duration::seconds(self.for_secs),
                    keep_firing_for: Duration::seconds(self.keep_firing_secs),
                    repeat: Duration::seconds(self.repeat_secs),
                },
                severity: Severity::parse(&self.severity)?,
                channels: self.channels,
                message: self.message,
                enabled: self.enabled,
            },
            builtin: self.builtin,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

const RULE_COLUMNS: &str = "id, name, metric, labels, group_by, aggregation, window_secs,
    comparator, threshold, kind, baseline_secs, min_delta, horizon_secs, for_secs, keep_firing_secs, severity, repeat_secs, channels, message,
    enabled, builtin, created_at, updated_at";

pub async fn rules(pool: &PgPool) -> sqlx::Result<Vec<StoredRule>> {
    let rows: Vec<RuleRow> = sqlx::query_as(&format!(
        "SELECT {RULE_COLUMNS} FROM alert_rules ORDER BY id"
    ))
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().filter_map(RuleRow::into_stored).collect())
}

pub async fn rule(pool: &PgPool, id: i64) -> sqlx::Result<Option<StoredRule>> {
    let row: Option<RuleRow> = sqlx::query_as(&format!(
        "SELECT {RULE_COLUMNS} FROM alert_rules WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(RuleRow::into_stored))
}

fn bind_rule<'q>(
    q: sqlx::query::QueryScalar<'q, Postgres, i64, sqlx::postgres::PgArguments>,
    s: &'q Spec,
) -> sqlx::query::QueryScalar<'q, Postgres, i64, sqlx::postgres::PgArguments> {
    q.bind(&s.name)
        .bind(s.metric.name)
        .bind(labels_json(&s.labels))
        .bind(&s.group_by)
        .bind(s.aggregation.as_str())
        .bind(s.window.num_seconds())
        .bind(s.comparator.as_str())
        .bind(s.threshold)
        .bind(s.timing.for_.num_seconds())
        .bind(s.timing.keep_firing_for.num_seconds())
        .bind(s.severity.as_str())
        .bind(s.timing.repeat.num_seconds())
        .bind(&s.channels)
        .bind(&s.message)
        .bind(s.enabled)
        .bind(s.kind.api().as_str())
        .bind(s.kind.baseline().map(|b| b.num_seconds()))
        .bind(match s.kind {
            Kind::Anomaly { min_delta, .. } => Some(min_delta),
            _ => None,
        })
        .bind(match s.kind {
            Kind::Forecast { horizon, .. } => Some(horizon.num_seconds()),
            _ => None,
        })
}

pub async fn insert_rule(pool: &PgPool, s: &Spec, builtin: bool) -> Result<i64, WriteError> {
    let q = sqlx::query_scalar(
        "INSERT INTO alert_rules (name, metric, labels, group_by, aggregation, window_secs,
            comparator, threshold, for_secs, keep_firing_secs, severity, repeat_secs, channels,
            message, enabled, kind, baseline_secs, min_delta, horizon_secs, builtin)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
            $18, $19, $20)
         RETURNING id",
    );
    bind_rule(q, s)
        .bind(builtin)
        .fetch_one(pool)
        .await
        .map_err(write_error)
}

/// Updates a rule; its alerts start over when what they measure changed. None if absent.
pub async fn update_rule(pool: &PgPool, id: i64, s: &Spec) -> Result<Option<i64>, WriteError> {
    let mut tx = pool.begin().await?;
    let before: Option<(String, serde_json::Value, Vec<String>, String)> = sqlx::query_as(
        "SELECT metric, labels, group_by, kind FROM alert_rules WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((metric, labels, group_by, kind)) = before else {
        return Ok(None);
    };
    let q = sqlx::query_scalar(
        "UPDATE alert_rules SET name = $1, metric = $2, labels = $3, group_by = $4,
            aggregation = $5, window_secs = $6, comparator = $7, threshold = $8, for_secs = $9,
            keep_firing_secs = $10, severity = $11, repeat_secs = $12, channels = $13,
            message = $14, enabled = $15, kind = $16, baseline_secs = $17, min_delta = $18,
            horizon_secs = $19, updated_at = now()
         WHERE id = $20 RETURNING id",
    );
    let updated = bind_rule(q, s)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(write_error)?;
    if metric != s.metric.name
        || labels_of(labels) != s.labels
        || group_by != s.group_by
        || kind != s.kind.api().as_str()
    {
        sqlx::query("DELETE FROM alert_instances WHERE rule_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(updated)
}

pub async fn delete_rule(pool: &PgPool, id: i64) -> sqlx::Result<bool> {
    let r = sqlx::query("DELETE FROM alert_rules WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Runs `install` once per database (the first server to start wins the marker).
pub async fn first_time(pool: &PgPool, step: &str) -> sqlx::Result<bool> {
    let r = sqlx::query("INSERT INTO alert_setup (step) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(step)
        .execute(pool)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Channel ids among `ids` that do not exist.
pub async fn missing_channels(pool: &PgPool, ids: &[i64]) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT i FROM unnest($1::bigint[]) AS i
         WHERE NOT EXISTS (SELECT 1 FROM alert_channels c WHERE c.id = i)",
    )
    .bind(ids)
    .fetch_all(pool)
    .await
}

// ---------------------------------------------------------------- alerts (instances)

#[derive(Debug, Clone)]
pub struct StoredInstance {
    pub rule_id: i64,
    pub labels: Labels,
    pub value: Option<f64>,
    pub silenced: bool,
    pub updated_at: DateTime<Utc>,
    pub instance: Instance,
}

impl StoredInstance {
    pub fn to_api(&self) -> Alert {
        Alert {
            rule_id: self.rule_id,
            labels: self.labels.clone(),
            state: self.instance.state,
            value: self.value,
            active_since: self.instance.active_since,
            fired_at: self.instance.fired_at,
            updated_at: self.updated_at,
            silenced: self.silenced,
        }
    }
}

#[derive(sqlx::FromRow)]
struct InstanceRow {
    rule_id: i64,
    labels: serde_json::Value,
    state: String,
    value: Option<f64>,
    active_since: Option<DateTime<Utc>>,
    fired_at: Option<DateTime<Utc>>,
    last_true: Option<DateTime<Utc>>,
    last_sent: Option<DateTime<Utc>>,
    was_firing: bool,
    silenced: bool,
    updated_at: DateTime<Utc>,
}

pub async fn instances(pool: &PgPool) -> sqlx::Result<Vec<StoredInstance>> {
    let rows: Vec<InstanceRow> = sqlx::query_as(
        "SELECT rule_id, labels, state, value, active_since, fired_at, last_true, last_sent,
            was_firing, silenced, updated_at
         FROM alert_instances ORDER BY rule_id, labels_key",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| StoredInstance {
            rule_id: r.rule_id,
            labels: labels_of(r.labels),
            value: r.value,
            silenced: r.silenced,
            updated_at: r.updated_at,
            instance: Instance {
                state: AlertState::parse(&r.state).unwrap_or(AlertState::Inactive),
                active_since: r.active_since,
                fired_at: r.fired_at,
                last_true: r.last_true,
                last_sent: r.last_sent,
                was_firing: r.was_firing,
            },
        })
        .collect())
}

/// One evaluation's writes: alerts, transitions and outbox items, in one transaction.
#[derive(Default)]
pub struct CycleWrites {
    pub instances: Vec<StoredInstance>,
    pub events: Vec<NewEvent>,
    /// (channel id, item)
    pub outbox: Vec<(i64, Item)>,
}

pub struct NewEvent {
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

fn ts(v: &[Option<DateTime<Utc>>]) -> Vec<Option<DateTime<Utc>>> {
    v.to_vec()
}

pub async fn write_cycle(pool: &PgPool, w: &CycleWrites) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    if !w.instances.is_empty() {
        let i = &w.instances;
        let col = |f: fn(&StoredInstance) -> Option<DateTime<Utc>>| {
            ts(&i.iter().map(f).collect::<Vec<_>>())
        };
        sqlx::query(
            "INSERT INTO alert_instances (rule_id, labels_key, labels, state, value, active_since,
                fired_at, last_true, last_sent, was_firing, silenced, updated_at)
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::jsonb[], $4::text[], $5::float8[],
                $6::timestamptz[], $7::timestamptz[], $8::timestamptz[], $9::timestamptz[],
                $10::bool[], $11::bool[], $12::timestamptz[])
             ON CONFLICT (rule_id, labels_key) DO UPDATE SET state = excluded.state,
                value = excluded.value, active_since = excluded.active_since,
                fired_at = excluded.fired_at, last_true = excluded.last_true,
                last_sent = excluded.last_sent, was_firing = excluded.was_firing,
                silenced = excluded.silenced, updated_at = excluded.updated_at",
        )
        .bind(i.iter().map(|x| x.rule_id).collect::<Vec<_>>())
        .bind(i.iter().map(|x| labels_key(&x.labels)).collect::<Vec<_>>())
        .bind(i.iter().map(|x| labels_json(&x.labels)).collect::<Vec<_>>())
        .bind(
            i.iter()
                .map(|x| x.instance.state.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(i.iter().map(|x| x.value).collect::<Vec<_>>())
        .bind(col(|x| x.instance.active_since))
        .bind(col(|x| x.instance.fired_at))
        .bind(col(|x| x.instance.last_true))
        .bind(col(|x| x.instance.last_sent))
        .bind(i.iter().map(|x| x.instance.was_firing).collect::<Vec<_>>())
        .bind(i.iter().map(|x| x.silenced).collect::<Vec<_>>())
        .bind(i.iter().map(|x| x.updated_at).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    if !w.events.is_empty() {
        let e = &w.events;
        sqlx::query(
            "INSERT INTO alert_events (rule_id, rule_name, severity, labels, from_state, to_state,
                value, threshold, at, silenced)
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::jsonb[], $5::text[],
                $6::text[], $7::float8[], $8::float8[], $9::timestamptz[], $10::bool[])",
        )
        .bind(e.iter().map(|x| x.rule_id).collect::<Vec<_>>())
        .bind(e.iter().map(|x| x.rule_name.clone()).collect::<Vec<_>>())
        .bind(e.iter().map(|x| x.severity.as_str()).collect::<Vec<_>>())
        .bind(e.iter().map(|x| labels_json(&x.labels)).collect::<Vec<_>>())
        .bind(e.iter().map(|x| x.from.as_str()).collect::<Vec<_>>())
        .bind(e.iter().map(|x| x.to.as_str()).collect::<Vec<_>>())
        .bind(e.iter().map(|x| x.value).collect::<Vec<_>>())
        .bind(e.iter().map(|x| x.threshold).collect::<Vec<_>>())
        .bind(e.iter().map(|x| x.at).collect::<Vec<_>>())
        .bind(e.iter().map(|x| x.silenced).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    if !w.outbox.is_empty() {
        sqlx::query(
            "INSERT INTO alert_outbox (channel_id, item)
             SELECT c, i FROM unnest($1::bigint[], $2::jsonb[]) AS u(c, i)
             WHERE EXISTS (SELECT 1 FROM alert_channels ch WHERE ch.id = c)",
        )
        .bind(w.outbox.iter().map(|(c, _)| *c).collect::<Vec<_>>())
        .bind(
            w.outbox
                .iter()
                .map(|(_, i)| serde_json::to_value(i).unwrap_or_default())
                .collect::<Vec<_>>(),
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// Filters of the history.
#[derive(Debug, Default, Clone)]
pub struct EventFilter {
    pub rule_id: Option<i64>,
    pub state: Option<AlertState>,
    pub severity: Option<Severity>,
    pub since: Option<DateTime<Utc>>,
    pub limit: i64,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    id: i64,
    rule_id: i64,
    rule_name: String,
    severity: String,
    labels: serde_json::Value,
    from_state: String,
    to_state: String,
    value: Option<f64>,
    threshold: f64,
    at: DateTime<Utc>,
    silenced: bool,
}

pub async fn events(pool: &PgPool, f: &EventFilter) -> sqlx::Result<Vec<AlertEvent>> {
    let mut q = QueryBuilder::<Postgres>::new(
        "SELECT id, rule_id, rule_name, severity, labels, from_state, to_state, value, threshold,
            at, silenced FROM alert_events WHERE true",
    );
    if let Some(r) = f.rule_id {
        q.push(" AND rule_id = ").push_bind(r);
    }
    if let Some(s) = f.state {
        q.push(" AND to_state = ").push_bind(s.as_str());
    }
    if let Some(s) = f.severity {
        q.push(" AND severity = ").push_bind(s.as_str());
    }
    if let Some(t) = f.since {
        q.push(" AND at >= ").push_bind(t);
    }
    q.push(" ORDER BY at DESC, id DESC LIMIT ")
        .push_bind(f.limit);
    let rows: Vec<EventRow> = q.build_query_as().fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .map(|r| AlertEvent {
            id: r.id,
            rule_id: r.rule_id,
            rule_name: r.rule_name,
            severity: Severity::parse(&r.severity).unwrap_or(Severity::Warning),
            labels: labels_of(r.labels),
            from: AlertState::parse(&r.from_state).unwrap_or(AlertState::Inactive),
            to: AlertState::parse(&r.to_state).unwrap_or(AlertState::Inactive),
            value: r.value,
            threshold: r.threshold,
            at: r.at,
            silenced: r.silenced,
        })
        .collect())
}

// ---------------------------------------------------------------- silences

#[derive(sqlx::FromRow)]
struct SilenceRow {
    id: i64,
    rule_id: Option<i64>,
    matchers: serde_json::Value,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    author: String,
    comment: String,
    created_at: DateTime<Utc>,
}

impl From<SilenceRow> for Silence {
    fn from(r: SilenceRow) -> Self {
        Silence {
            id: r.id,
            rule_id: r.rule_id,
            matchers: labels_of(r.matchers),
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            author: r.author,
            comment: r.comment,
            created_at: r.created_at,
        }
    }
}

/// Silences that have not ended by `now`, soonest first.
pub async fn silences(pool: &PgPool, now: DateTime<Utc>) -> sqlx::Result<Vec<Silence>> {
    let rows: Vec<SilenceRow> = sqlx::query_as(
        "SELECT id, rule_id, matchers, starts_at, ends_at, author, comment, created_at
         FROM alert_silences WHERE ends_at > $1 ORDER BY starts_at, id",
    )
    .bind(now)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn insert_silence(pool: &PgPool, s: &Silence) -> sqlx::Result<Silence> {
    let row: SilenceRow = sqlx::query_as(
        "INSERT INTO alert_silences (rule_id, matchers, starts_at, ends_at, author, comment)
         VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING id, rule_id, matchers, starts_at, ends_at, author, comment, created_at",
    )
    .bind(s.rule_id)
    .bind(labels_json(&s.matchers))
    .bind(s.starts_at)
    .bind(s.ends_at)
    .bind(&s.author)
    .bind(&s.comment)
    .fetch_one(pool)
    .await?;
    Ok(row.into())
}

/// Ends a silence now (it stays in the record). False when there is none active.
pub async fn end_silence(pool: &PgPool, id: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "UPDATE alert_silences SET ends_at = $2, starts_at = least(starts_at, $2)
         WHERE id = $1 AND ends_at > $2",
    )
    .bind(id)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(r.rows_affected() > 0)
}

// ---------------------------------------------------------------- channels

/// A channel with its sealed secrets (opened by the caller to send).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChannelRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub url_sealed: Option<String>,
    pub url_shown: Option<String>,
    pub secret_sealed: Option<String>,
    pub format: String,
    pub smtp: Option<serde_json::Value>,
    pub smtp_password_sealed: Option<String>,
    pub severities: Vec<String>,
    pub enabled: bool,
    pub builtin: bool,
    pub created_at: DateTime<Utc>,
}

impl ChannelRow {
    pub fn kind(&self) -> ChannelKind {
        ChannelKind::parse(&self.kind).unwrap_or(ChannelKind::InApp)
    }

    pub fn format(&self) -> WebhookFormat {
        match self.format.as_str() {
            "alertmanager" => WebhookFormat::Alertmanager,
            _ => WebhookFormat::Sightline,
        }
    }

    pub fn smtp(&self) -> Option<SmtpInput> {
        self.smtp
            .clone()
            .and_then(|v| serde_json::from_value(v).ok())
    }

    pub fn severities(&self) -> Vec<Severity> {
        self.severities
            .iter()
            .filter_map(|s| Severity::parse(s))
            .collect()
    }

    pub fn to_api(&self) -> Channel {
        Channel {
            id: self.id,
            name: self.name.clone(),
            kind: self.kind(),
            url: self.url_shown.clone(),
            secret_set: self.secret_sealed.is_some(),
            format: self.format(),
            smtp: self.smtp().map(|s| SmtpInfo {
                host: s.host,
                port: s.port,
                tls: s.tls,
                username: s.username,
                password_set: self.smtp_password_sealed.is_some(),
                from: s.from,
                to: s.to,
            }),
            severities: self.severities(),
            enabled: self.enabled,
            builtin: self.builtin,
            created_at: self.created_at,
        }
    }
}

const CHANNEL_COLUMNS: &str = "id, name, kind, url_sealed, url_shown, secret_sealed, format,
    smtp, smtp_password_sealed, severities, enabled, builtin, created_at";

pub async fn channels(pool: &PgPool) -> sqlx::Result<Vec<ChannelRow>> {
    sqlx::query_as(&format!(
        "SELECT {CHANNEL_COLUMNS} FROM alert_channels ORDER BY id"
    ))
    .fetch_all(pool)
    .await
}

pub async fn channel(pool: &PgPool, id: i64) -> sqlx::Result<Option<ChannelRow>> {
    sqlx::query_as(&format!(
        "SELECT {CHANNEL_COLUMNS} FROM alert_channels WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// A channel's secrets, sealed; None keeps what is stored (on an update).
pub struct SealedSecrets {
    pub url: Option<(String, String)>,
    pub secret: Option<String>,
    pub smtp_password: Option<String>,
}

pub async fn insert_channel(
    pool: &PgPool,
    s: &ChannelSpec,
    sealed: &SealedSecrets,
    builtin: bool,
) -> Result<ChannelRow, WriteError> {
    let smtp = s.smtp.as_ref().map(|m| {
        serde_json::to_value(SmtpInput {
            password: None,
            ..m.clone()
        })
        .unwrap_or_default()
    });
    sqlx::query_as(&format!(
        "INSERT INTO alert_channels (name, kind, url_sealed, url_shown, secret_sealed, format,
            smtp, smtp_password_sealed, severities, enabled, builtin)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {CHANNEL_COLUMNS}"
    ))
    .bind(&s.name)
    .bind(s.kind.as_str())
    .bind(sealed.url.as_ref().map(|u| u.0.clone()))
    .bind(sealed.url.as_ref().map(|u| u.1.clone()))
    .bind(&sealed.secret)
    .bind(format_name(s.format))
    .bind(smtp)
    .bind(&sealed.smtp_password)
    .bind(s.severities.iter().map(|v| v.as_str()).collect::<Vec<_>>())
    .bind(s.enabled)
    .bind(builtin)
    .fetch_one(pool)
    .await
    .map_err(write_error)
}

fn format_name(f: WebhookFormat) -> &'static str {
    match f {
        WebhookFormat::Sightline => "sightline",
        WebhookFormat::Alertmanager => "alertmanager",
    }
}

pub async fn update_channel(
    pool: &PgPool,
    id: i64,
    s: &ChannelSpec,
    sealed: &SealedSecrets,
) -> Result<Option<ChannelRow>, WriteError> {
    let smtp = s.smtp.as_ref().map(|m| {
        serde_json::to_value(SmtpInput {
            password: None,
            ..m.clone()
        })
        .unwrap_or_default()
    });
    sqlx::query_as(&format!(
        "UPDATE alert_channels SET name = $2, kind = $3,
            url_sealed = coalesce($4, url_sealed), url_shown = coalesce($5, url_shown),
            secret_sealed = coalesce($6, secret_sealed), format = $7, smtp = $8,
            smtp_password_sealed = coalesce($9, smtp_password_sealed), severities = $10,
            enabled = $11
         WHERE id = $1 RETURNING {CHANNEL_COLUMNS}"
    ))
    .bind(id)
    .bind(&s.name)
    .bind(s.kind.as_str())
    .bind(sealed.url.as_ref().map(|u| u.0.clone()))
    .bind(sealed.url.as_ref().map(|u| u.1.clone()))
    .bind(&sealed.secret)
    .bind(format_name(s.format))
    .bind(smtp)
    .bind(&sealed.smtp_password)
    .bind(s.severities.iter().map(|v| v.as_str()).collect::<Vec<_>>())
    .bind(s.enabled)
    .fetch_optional(pool)
    .await
    .map_err(write_error)
}

/// Deletes a channel and takes it out of every rule.
pub async fn delete_channel(pool: &PgPool, id: i64) -> sqlx::Result<bool> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "UPDATE alert_rules SET channels = array_remove(channels, $1) WHERE $1 = ANY(channels)",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let r = sqlx::query("DELETE FROM alert_channels WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(r.rows_affected() > 0)
}

// ---------------------------------------------------------------- messages and deliveries

/// Groups each channel's waiting alerts into one message, for channels that received none
/// in the last `window` (Alertmanager's group interval). Returns how many were made.
pub async fn group_outbox(pool: &PgPool, window: Duration) -> sqlx::Result<u64> {
    let ready: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT o.channel_id FROM alert_outbox o
         WHERE o.message_id IS NULL AND NOT EXISTS (
            SELECT 1 FROM alert_messages m WHERE m.channel_id = o.channel_id AND NOT m.test
              AND m.created_at > now() - make_interval(secs => $1))",
    )
    .bind(window.num_milliseconds() as f64 / 1000.0)
    .fetch_all(pool)
    .await?;
    let mut made = 0;
    for channel in ready {
        let mut tx = pool.begin().await?;
        let waiting: Vec<(i64, serde_json::Value)> = sqlx::query_as(
            "SELECT id, item FROM alert_outbox WHERE channel_id = $1 AND message_id IS NULL
             ORDER BY id FOR UPDATE SKIP LOCKED",
        )
        .bind(channel)
        .fetch_all(&mut *tx)
        .await?;
        if waiting.is_empty() {
            continue;
        }
        let items = serde_json::Value::Array(waiting.iter().map(|(_, i)| i.clone()).collect());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO alert_messages (channel_id, items) VALUES ($1, $2) RETURNING id",
        )
        .bind(channel)
        .bind(items)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE alert_outbox SET message_id = $1 WHERE id = ANY($2)")
            .bind(id)
            .bind(waiting.iter().map(|(i, _)| *i).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        made += 1;
    }
    Ok(made)
}

/// A test message for a channel, sent like any other.
/// The message is stored already claimed for `hold`: the caller delivers it at once, and the
/// dispatcher must not take it too (that sent test mails twice).
pub async fn insert_test_message(
    pool: &PgPool,
    channel: i64,
    item: &Item,
    hold: Duration,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO alert_messages (channel_id, items, test, claimed_until)
         VALUES ($1, $2, true, now() + make_interval(secs => $3)) RETURNING id",
    )
    .bind(channel)
    .bind(serde_json::json!([item]))
    .bind(hold.num_seconds() as f64)
    .fetch_one(pool)
    .await
}

pub struct Claimed {
    pub id: i64,
    pub channel_id: i64,
    pub items: Vec<Item>,
    pub attempts: i32,
    pub test: bool,
}

/// Takes up to `limit` due messages for `hold`: another server skips them until then.
pub async fn claim_due(pool: &PgPool, limit: i64, hold: Duration) -> sqlx::Result<Vec<Claimed>> {
    let rows: Vec<(i64, i64, serde_json::Value, i32, bool)> = sqlx::query_as(
        "UPDATE alert_messages SET claimed_until = now() + make_interval(secs => $2)
         WHERE id IN (
            SELECT id FROM alert_messages
            WHERE status = 'pending' AND next_attempt_at <= now()
              AND (claimed_until IS NULL OR claimed_until < now())
            ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING id, channel_id, items, attempts, test",
    )
    .bind(limit)
    .bind(hold.num_seconds() as f64)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, channel_id, items, attempts, test)| Claimed {
            id,
            channel_id,
            items: serde_json::from_value(items).unwrap_or_default(),
            attempts,
            test,
        })
        .collect())
}

/// How one attempt went.
pub struct Attempt {
    pub ok: bool,
    pub status: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// Records an attempt and settles the message: sent, retried at `retry_at`, or failed for
/// good when `retry_at` is None.
pub async fn finish_attempt(
    pool: &PgPool,
    m: &Claimed,
    a: &Attempt,
    retry_at: Option<DateTime<Utc>>,
) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO alert_deliveries (message_id, channel_id, attempt, ok, status, error,
            duration_ms, alerts)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(m.id)
    .bind(m.channel_id)
    .bind(m.attempts + 1)
    .bind(a.ok)
    .bind(a.status)
    .bind(&a.error)
    .bind(a.duration_ms)
    .bind(if m.test { 0 } else { m.items.len() as i32 })
    .execute(&mut *tx)
    .await?;
    let status = match (a.ok, retry_at) {
        (true, _) => "sent",
        (false, Some(_)) => "pending",
        (false, None) => "failed",
    };
    sqlx::query(
        "UPDATE alert_messages SET attempts = attempts + 1, status = $2, claimed_until = NULL,
            next_attempt_at = coalesce($3, next_attempt_at), last_error = $4,
            sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE sent_at END
         WHERE id = $1",
    )
    .bind(m.id)
    .bind(status)
    .bind(retry_at)
    .bind(&a.error)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: i64,
    message_id: i64,
    channel_id: i64,
    attempt: i32,
    at: DateTime<Utc>,
    ok: bool,
    status: Option<i32>,
    error: Option<String>,
    duration_ms: i64,
    alerts: i32,
}

pub async fn deliveries(
    pool: &PgPool,
    channel_id: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<Delivery>> {
    let rows: Vec<DeliveryRow> = sqlx::query_as(
        "SELECT id, message_id, channel_id, attempt, at, ok, status, error, duration_ms, alerts
         FROM alert_deliveries WHERE ($1::bigint IS NULL OR channel_id = $1)
         ORDER BY at DESC, id DESC LIMIT $2",
    )
    .bind(channel_id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Delivery {
            id: r.id,
            message_id: r.message_id,
            channel_id: r.channel_id,
            attempt: r.attempt,
            at: r.at,
            ok: r.ok,
            status: r.status,
            error: r.error,
            duration_ms: r.duration_ms,
            alerts: r.alerts,
        })
        .collect())
}

// ---------------------------------------------------------------- in-app notices

#[derive(sqlx::FromRow)]
struct NoticeRow {
    id: i64,
    at: DateTime<Utc>,
    severity: String,
    title: String,
    body: String,
    read_at: Option<DateTime<Utc>>,
}

impl From<NoticeRow> for Notice {
    fn from(r: NoticeRow) -> Self {
        Notice {
            id: r.id,
            at: r.at,
            severity: Severity::parse(&r.severity).unwrap_or(Severity::Warning),
            title: r.title,
            body: r.body,
            read: r.read_at.is_some(),
        }
    }
}

pub async fn insert_notice(
    pool: &PgPool,
    severity: Severity,
    title: &str,
    body: &str,
) -> sqlx::Result<Notice> {
    let row: NoticeRow = sqlx::query_as(
        "INSERT INTO alert_notices (severity, title, body) VALUES ($1, $2, $3)
         RETURNING id, at, severity, title, body, read_at",
    )
    .bind(severity.as_str())
    .bind(title)
    .bind(body)
    .fetch_one(pool)
    .await?;
    Ok(row.into())
}

pub async fn notices(pool: &PgPool, limit: i64) -> sqlx::Result<(i64, Vec<Notice>)> {
    let unread: i64 =
        sqlx::query_scalar("SELECT count(*) FROM alert_notices WHERE read_at IS NULL")
            .fetch_one(pool)
            .await?;
    let rows: Vec<NoticeRow> = sqlx::query_as(
        "SELECT id, at, severity, title, body, read_at FROM alert_notices
         ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok((unread, rows.into_iter().map(Into::into).collect()))
}

/// Marks notices up to `up_to` (all when None) read.
pub async fn mark_read(pool: &PgPool, up_to: Option<i64>) -> sqlx::Result<u64> {
    let r = sqlx::query(
        "UPDATE alert_notices SET read_at = now()
         WHERE read_at IS NULL AND ($1::bigint IS NULL OR id <= $1)",
    )
    .bind(up_to)
    .execute(pool)
    .await?;
    Ok(r.rows_affected())
}

// ---------------------------------------------------------------- what rules read

#[derive(sqlx::FromRow)]
struct SystemRow {
    host: String,
    bucket: DateTime<Utc>,
    series: String,
    min: f64,
    max: f64,
    sum: f64,
    count: i64,
    last: f64,
    last_time: DateTime<Utc>,
}

/// Minute rollups of the named series (and `name:*` parts) of every host since `since`.
pub async fn system_points(
    pool: &PgPool,
    since: DateTime<Utc>,
    names: &[&str],
) -> sqlx::Result<Vec<SystemPoint>> {
    let prefixes: Vec<String> = names.iter().map(|n| format!("{n}:%")).collect();
    let rows: Vec<SystemRow> = sqlx::query_as(
        "SELECT host, bucket, series, min, max, sum, count, last, last_time
         FROM system_rollup_minute
         WHERE bucket >= $1 AND (series = ANY($2) OR series LIKE ANY($3))",
    )
    .bind(since)
    .bind(names)
    .bind(&prefixes)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| SystemPoint {
            host: r.host,
            bucket: r.bucket,
            series: r.series,
            min: r.min,
            max: r.max,
            sum: r.sum,
            count: r.count,
            last: r.last,
            last_time: r.last_time,
        })
        .collect())
}

/// Every host and when its last sample arrived.
pub async fn host_last_seen(pool: &PgPool) -> sqlx::Result<Vec<(String, DateTime<Utc>)>> {
    sqlx::query_as("SELECT host, last_seen FROM system_hosts ORDER BY host")
        .fetch_all(pool)
        .await
}

#[derive(sqlx::FromRow)]
struct LlmRow {
    bucket: DateTime<Utc>,
    provider: String,
    model: String,
    feature: String,
    calls: i64,
    ok: i64,
    cancelled: i64,
    input_tokens: i64,
    output_tokens: i64,
    cost_micros: i64,
    latency_sum_ms: f64,
    ttft_sum_ms: f64,
    ttft_calls: i64,
    tps_sum: f64,
    tps_calls: i64,
    latency_hist: Vec<i64>,
    ttft_hist: Vec<i64>,
}

/// Minute rollups of LLM calls since `since`.
pub async fn llm_points(pool: &PgPool, since: DateTime<Utc>) -> sqlx::Result<Vec<LlmPoint>> {
    let rows: Vec<LlmRow> = sqlx::query_as(
        "SELECT bucket, provider, model, feature, calls, ok, cancelled, input_tokens,
            output_tokens, cost_micros, latency_sum_ms, ttft_sum_ms, ttft_calls, tps_sum,
            tps_calls, latency_hist, ttft_hist
         FROM llm_rollup_minute WHERE bucket >= $1",
    )
    .bind(since)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| LlmPoint {
            bucket: r.bucket,
            provider: r.provider,
            model: r.model,
            feature: r.feature,
            stats: Stats {
                calls: r.calls,
                ok: r.ok,
                cancelled: r.cancelled,
                input_tokens: r.input_tokens,
                output_tokens: r.output_tokens,
                cost_micros: r.cost_micros,
                latency_sum_ms: r.latency_sum_ms,
                ttft_sum_ms: r.ttft_sum_ms,
                ttft_calls: r.ttft_calls,
                tps_sum: r.tps_sum,
                tps_calls: r.tps_calls,
                ..Stats::default()
            },
            latency: r.latency_hist,
            ttft: r.ttft_hist,
        })
        .collect())
}

/// Minute rollups of application requests since `since`.
pub async fn app_points(pool: &PgPool, since: DateTime<Utc>) -> sqlx::Result<Vec<AppPoint>> {
    let rows = crate::store::app_requests::rollups_since(pool, since).await?;
    Ok(rows
        .into_iter()
        .map(|(service, r)| AppPoint {
            bucket: r.bucket,
            service,
            route: r.route,
            method: r.method,
            agg: r.agg,
        })
        .collect())
}
