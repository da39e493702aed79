//! `/api/v1/alerts/...`: rules with their alerts, the metrics a rule can watch, history,
//! silences, channels with a test button and their delivery log, and the in-app inbox.
//! Reading needs any credential with `read`; changing anything a logged-in user.

use app::types::{
    alert::{
        AlertEvent, AlertRule, AlertRuleInput, Channel, ChannelInput, Delivery, Inbox, Labels,
        MetricInfo, MetricValue, RuleSeries, SeriesLine, Severity, Silence, SilenceInput,
    },
    AlertHistoryQuery, DeliveriesQuery,
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::{Deserialize, Serialize};

use super::{
    error::{ApiError, ApiJson},
    params::ApiQuery,
    principal::{Reader, SessionUser},
};
use crate::{
    alerts::{cycle, dispatch, evaluator::gather},
    domain::alert::{
        self as rules, message::Item, metric, validate_channel, validate_rule, ChannelSpec, Kind,
        Spec,
    },
    state::AppState,
    store::{
        self,
        alerts::{Claimed, SealedSecrets, StoredRule, WriteError},
    },
};

fn invalid(e: rules::Invalid) -> ApiError {
    ApiError::invalid(&e.field, e.message)
}

fn write_failed(e: WriteError) -> ApiError {
    match e {
        WriteError::DuplicateName => ApiError::invalid("name", "this name is taken"),
        WriteError::Db(e) => e.into(),
    }
}

// ---------------------------------------------------------------- rules

async fn checked_rule(state: &AppState, input: &AlertRuleInput) -> Result<Spec, ApiError> {
    let spec = validate_rule(input).map_err(invalid)?;
    let missing = store::alerts::missing_channels(&state.pool, &spec.channels).await?;
    if let Some(id) = missing.first() {
        let i = spec.channels.iter().position(|c| c == id).unwrap_or(0);
        return Err(ApiError::invalid(
            &format!("channels[{i}]"),
            format!("no channel with id {id}"),
        ));
    }
    Ok(spec)
}

async fn with_alerts(state: &AppState, rules: Vec<StoredRule>) -> Result<Vec<AlertRule>, ApiError> {
    let instances = store::alerts::instances(&state.pool).await?;
    Ok(rules
        .into_iter()
        .map(|r| {
            let alerts = instances
                .iter()
                .filter(|i| i.rule_id == r.id)
                .map(|i| i.to_api())
                .collect();
            r.to_api(alerts)
        })
        .collect())
}

async fn one_rule(state: &AppState, id: i64) -> Result<AlertRule, ApiError> {
    let r = store::alerts::rule(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no alert rule with id {id}")))?;
    Ok(with_alerts(state, vec![r]).await?.remove(0))
}

/// `GET /api/v1/alerts/rules`
#[utoipa::path(
    get,
    path = "/api/v1/alerts/rules",
    operation_id = "list_alert_rules",
    summary = "List alert rules",
    tag = "alerts",
    responses((status = 200, description = "Every alert rule", body = Vec<AlertRule>)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn list_rules(
    _p: Reader,
    State(state): State<AppState>,
) -> Result<Json<Vec<AlertRule>>, ApiError> {
    let rules = store::alerts::rules(&state.pool).await?;
    Ok(Json(with_alerts(&state, rules).await?))
}

/// `GET /api/v1/alerts/rules/{id}`
#[utoipa::path(
    get,
    path = "/api/v1/alerts/rules/{id}",
    operation_id = "get_alert_rule",
    summary = "Get an alert rule",
    tag = "alerts",
    params(("id" = i64, Path, description = "The rule's id")),
    responses((status = 200, description = "The rule with its state", body = AlertRule)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn get_rule(
    _p: Reader,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<AlertRule>, ApiError> {
    Ok(Json(one_rule(&state, id).await?))
}

/// `POST /api/v1/alerts/rules` (201)
#[utoipa::path(
    post,
    path = "/api/v1/alerts/rules",
    operation_id = "create_alert_rule",
    summary = "Create an alert rule",
    tag = "alerts",
    request_body = AlertRuleInput,
    responses((status = 201, description = "The new rule", body = AlertRule)),
    security(("session" = []))
)]
pub async fn create_rule(
    user: SessionUser,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<AlertRuleInput>,
) -> Result<(StatusCode, Json<AlertRule>), ApiError> {
    let spec = checked_rule(&state, &input).await?;
    let id = store::alerts::insert_rule(&state.pool, &spec, false)
        .await
        .map_err(write_failed)?;
    tracing::info!(by = %user.username, rule = %spec.name, "alert rule created");
    state.alerts.evaluate_now.notify_one();
    Ok((StatusCode::CREATED, Json(one_rule(&state, id).await?)))
}

/// `PUT /api/v1/alerts/rules/{id}`
#[utoipa::path(
    put,
    path = "/api/v1/alerts/rules/{id}",
    operation_id = "update_alert_rule",
    summary = "Change an alert rule",
    tag = "alerts",
    params(("id" = i64, Path, description = "The rule's id")),
    request_body = AlertRuleInput,
    responses((status = 200, description = "The rule as changed", body = AlertRule)),
    security(("session" = []))
)]
pub async fn update_rule(
    user: SessionUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<AlertRuleInput>,
) -> Result<Json<AlertRule>, ApiError> {
    let spec = checked_rule(&state, &input).await?;
    if store::alerts::update_rule(&state.pool, id, &spec)
        .await
        .map_err(write_failed)?
        .is_none()
    {
        return Err(ApiError::not_found(format!("no alert rule with id {id}")));
    }
    tracing::info!(by = %user.username, rule = %spec.name, "alert rule changed");
    state.alerts.evaluate_now.notify_one();
    Ok(Json(one_rule(&state, id).await?))
}

/// `DELETE /api/v1/alerts/rules/{id}`: answers with the rule as it was.
#[utoipa::path(
    delete,
    path = "/api/v1/alerts/rules/{id}",
    operation_id = "delete_alert_rule",
    summary = "Delete an alert rule",
    tag = "alerts",
    params(("id" = i64, Path, description = "The rule's id")),
    responses((status = 200, description = "The rule as it was", body = AlertRule)),
    security(("session" = []))
)]
pub async fn delete_rule(
    user: SessionUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<AlertRule>, ApiError> {
    let gone = one_rule(&state, id).await?;
    if !store::alerts::delete_rule(&state.pool, id).await? {
        return Err(ApiError::not_found(format!("no alert rule with id {id}")));
    }
    tracing::info!(by = %user.username, rule = %gone.name, "alert rule deleted");
    Ok(Json(gone))
}

/// Minutes of the chart behind a rule.
const SERIES_MINUTES: i64 = 60;

/// `GET /api/v1/alerts/rules/{id}/series`: the rule's value over the last hour, one point
/// a minute per label set (each point is the rule's aggregation over its window), with
/// the threshold. Budget and queue metrics have their current value only.
#[utoipa::path(
    get,
    path = "/api/v1/alerts/rules/{id}/series",
    operation_id = "alert_rule_series",
    summary = "A rule's value over the last hour",
    tag = "alerts",
    params(("id" = i64, Path, description = "The rule's id")),
    responses((status = 200, description = "The rule's value over the last hour", body = RuleSeries)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn rule_series(
    _p: Reader,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<RuleSeries>, ApiError> {
    let rule = store::alerts::rule(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no alert rule with id {id}")))?;
    let now = Utc::now();
    let start = (now - Duration::minutes(SERIES_MINUTES))
        .duration_trunc(Duration::minutes(1))
        .unwrap_or(now);
    // One read covering the hour plus what the rule reads before its first point.
    let mut wide = rule.clone();
    wide.spec.window = rule.spec.reach() + Duration::minutes(SERIES_MINUTES + 1);
    wide.spec.kind = Kind::Threshold;
    wide.spec.enabled = true;
    let inputs = gather(&state, std::slice::from_ref(&wide), now).await?;
    let times: Vec<DateTime<Utc>> = match rule.spec.metric.source {
        metric::Source::Budget { .. }
        | metric::Source::IngestQueue
        | metric::Source::Workers
        | metric::Source::HostSilence => vec![now],
        _ => (1..=SERIES_MINUTES)
            .map(|m| start + Duration::minutes(m))
            .chain(std::iter::once(now))
            .collect(),
    };
    let mut memo = cycle::Memo::new();
    let anomaly = matches!(rule.spec.kind, Kind::Anomaly { .. });
    let mut lines: std::collections::BTreeMap<Labels, SeriesLine> = Default::default();
    for (i, t) in times.iter().enumerate() {
        let vals = cycle::evaluate(&rule, &inputs, *t, &mut memo);
        let raw = memo.get(t).cloned().unwrap_or_default();
        for labels in raw
            .iter()
            .map(|(l, _)| l)
            .chain(vals.iter().map(|(l, _)| l))
        {
            lines.entry(labels.clone()).or_insert_with(|| SeriesLine {
                labels: labels.clone(),
                points: times[..i].iter().map(|t| (*t, None)).collect(),
                band: if anomaly {
                    times[..i].iter().map(|t| (*t, None)).collect()
                } else {
                    Vec::new()
                },
            });
        }
        for (labels, line) in lines.iter_mut() {
            let v = raw.iter().find(|(l, _)| l == labels).map(|(_, v)| *v);
            line.points.push((*t, v));
            if anomaly {
                let band = vals
                    .iter()
                    .find(|(l, _)| l == labels)
                    .and_then(|(_, v)| v.band)
                    .map(|b| (b.lower, b.upper));
                line.band.push((*t, band));
            }
        }
    }
    Ok(Json(RuleSeries {
        unit: rule.spec.metric.unit.to_owned(),
        threshold: rule.spec.threshold,
        lines: lines.into_values().collect(),
    }))
}

/// `GET /api/v1/alerts/metrics`: what a rule can watch, with the current values (the last
/// five minutes, default aggregation) so the form shows what exists.
#[utoipa::path(
    get,
    path = "/api/v1/alerts/metrics",
    operation_id = "list_alert_metrics",
    summary = "Metrics a rule can watch",
    tag = "alerts",
    responses((status = 200, description = "What a rule can watch", body = Vec<MetricInfo>)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn metrics(
    _p: Reader,
    State(state): State<AppState>,
) -> Result<Json<Vec<MetricInfo>>, ApiError> {
    let now = Utc::now();
    let probes: Vec<StoredRule> = metric::METRICS
        .iter()
        .enumerate()
        .map(|(i, m)| StoredRule {
            id: -(i as i64) - 1,
            spec: Spec {
                name: m.name.into(),
                metric: m,
                labels: Labels::new(),
                group_by: if matches!(m.source, metric::Source::Llm(_)) {
                    vec!["model".into()]
                } else if matches!(m.source, metric::Source::App(_)) {
                    vec!["service".into()]
                } else {
                    Vec::new()
                },
                aggregation: m.default_aggregation,
                window: rules::DEFAULT_WINDOW,
                comparator: Default::default(),
                threshold: 0.0,
                kind: Kind::Threshold,
                timing: rules::state::Timing {
                    for_: Duration::zero(),
                    keep_firing_for: Duration::zero(),
                    repeat: rules::DEFAULT_REPEAT,
                },
                severity: Severity::Info,
                channels: Vec::new(),
                message: None,
                enabled: true,
            },
            builtin: false,
            created_at: now,
            updated_at: now,
        })
        .collect();
    let inputs = gather(&state, &probes, now).await?;
    Ok(Json(
        probes
            .iter()
            .map(|p| {
                let m = p.spec.metric;
                MetricInfo {
                    name: m.name.into(),
                    title: m.title.into(),
                    unit: m.unit.into(),
                    labels: m.labels.iter().map(|l| (*l).to_owned()).collect(),
                    aggregations: m.aggregations.to_vec(),
                    default_aggregation: m.default_aggregation,
                    current: cycle::values(p, &inputs, now)
                        .into_iter()
                        .take(20)
                        .map(|(labels, value)| MetricValue { labels, value })
                        .collect(),
                }
            })
            .collect(),
    ))
}

// ---------------------------------------------------------------- history

/// `GET /api/v1/alerts/history`: transitions, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/alerts/history",
    operation_id = "alert_history",
    summary = "Alert state changes",
    tag = "alerts",
    params(AlertHistoryQuery),
    responses((status = 200, description = "State changes, newest first", body = Vec<AlertEvent>)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn history(
    _p: Reader,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<AlertHistoryQuery>,
) -> Result<Json<Vec<AlertEvent>>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_param("limit", "must be between 1 and 1000"));
    }
    let f = store::alerts::EventFilter {
        rule_id: q.rule_id,
        state: q.state,
        severity: q.severity,
        since: q.since,
        limit: i64::from(limit),
    };
    Ok(Json(store::alerts::events(&state.pool, &f).await?))
}

// ---------------------------------------------------------------- silences

/// `GET /api/v1/alerts/silences`: silences that have not ended.
#[utoipa::path(
    get,
    path = "/api/v1/alerts/silences",
    operation_id = "list_silences",
    summary = "List active silences",
    tag = "alerts",
    responses((status = 200, description = "Silences that have not ended", body = Vec<Silence>)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn list_silences(
    _p: Reader,
    State(state): State<AppState>,
) -> Result<Json<Vec<Silence>>, ApiError> {
    Ok(Json(
        store::alerts::silences(&state.pool, Utc::now()).await?,
    ))
}

/// `POST /api/v1/alerts/silences` (201)
#[utoipa::path(
    post,
    path = "/api/v1/alerts/silences",
    operation_id = "create_silence",
    summary = "Silence alerts",
    tag = "alerts",
    request_body = SilenceInput,
    responses((status = 201, description = "The new silence", body = Silence)),
    security(("session" = []))
)]
pub async fn create_silence(
    user: SessionUser,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<SilenceInput>,
) -> Result<(StatusCode, Json<Silence>), ApiError> {
    let now = Utc::now();
    let starts_at = input.starts_at.unwrap_or(now);
    let ends_at = match (input.ends_at, &input.duration) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "duration",
                "give either ends_at or duration, not both",
            ))
        }
        (Some(e), None) => e,
        (None, Some(d)) => {
            starts_at
                + rules::parse_duration("duration", d, Duration::minutes(1), Duration::days(365))
                    .map_err(invalid)?
        }
        (None, None) => {
            return Err(ApiError::invalid(
                "ends_at",
                "a silence needs an end (ends_at or duration)",
            ))
        }
    };
    if ends_at <= starts_at || ends_at <= now {
        return Err(ApiError::invalid(
            "ends_at",
            "must be after the start and in the future",
        ));
    }
    if let Some(r) = input.rule_id {
        if store::alerts::rule(&state.pool, r).await?.is_none() {
            return Err(ApiError::invalid(
                "rule_id",
                format!("no alert rule with id {r}"),
            ));
        }
    }
    if input.rule_id.is_none() && input.matchers.is_empty() {
        return Err(ApiError::invalid(
            "matchers",
            "a silence needs a rule or at least one label to match",
        ));
    }
    for (k, v) in &input.matchers {
        if k.trim().is_empty() || v.trim().is_empty() || k.len() > 64 || v.len() > 256 {
            return Err(ApiError::invalid(
                &format!("matchers.{k}"),
                "labels and values must be non-empty (at most 64 and 256 characters)",
            ));
        }
    }
    if input.comment.chars().count() > 500 {
        return Err(ApiError::invalid("comment", "at most 500 characters"));
    }
    let s = store::alerts::insert_silence(
        &state.pool,
        &Silence {
            id: 0,
            rule_id: input.rule_id,
            matchers: input.matchers,
            starts_at,
            ends_at,
            author: user.username.clone(),
            comment: input.comment.trim().to_owned(),
            created_at: now,
        },
    )
    .await?;
    tracing::info!(by = %user.username, silence = s.id, "silence created");
    state.alerts.evaluate_now.notify_one();
    Ok((StatusCode::CREATED, Json(s)))
}

/// `DELETE /api/v1/alerts/silences/{id}`: ends it now.
#[utoipa::path(
    delete,
    path = "/api/v1/alerts/silences/{id}",
    operation_id = "end_silence",
    summary = "End a silence",
    tag = "alerts",
    params(("id" = i64, Path, description = "The silence's id")),
    responses((status = 200, description = "The silence ended now", body = SilenceEnded)),
    security(("session" = []))
)]
pub async fn end_silence(
    user: SessionUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<SilenceEnded>, ApiError> {
    if !store::alerts::end_silence(&state.pool, id, Utc::now()).await? {
        return Err(ApiError::not_found(format!(
            "no active silence with id {id}"
        )));
    }
    tracing::info!(by = %user.username, silence = id, "silence ended");
    state.alerts.evaluate_now.notify_one();
    Ok(Json(SilenceEnded { id, ended: true }))
}

// ---------------------------------------------------------------- channels

/// Scheme and host of a URL: what a channel list may show of it.
fn shown(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!("{}://{}/…", u.scheme(), u.host_str().unwrap_or("")),
        Err(_) => "…".into(),
    }
}

fn seal(state: &AppState, spec: &ChannelSpec) -> SealedSecrets {
    SealedSecrets {
        url: spec.url.as_ref().map(|u| (state.sealer.seal(u), shown(u))),
        secret: spec.secret.as_ref().map(|s| state.sealer.seal(s)),
        smtp_password: spec
            .smtp
            .as_ref()
            .and_then(|s| s.password.as_ref())
            .map(|p| state.sealer.seal(p)),
    }
}

/// `GET /api/v1/alerts/channels`
#[utoipa::path(
    get,
    path = "/api/v1/alerts/channels",
    operation_id = "list_channels",
    summary = "List notification channels",
    tag = "alerts",
    responses((status = 200, description = "Every channel, secrets masked", body = Vec<Channel>)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn list_channels(
    _p: Reader,
    State(state): State<AppState>,
) -> Result<Json<Vec<Channel>>, ApiError> {
    let rows = store::alerts::channels(&state.pool).await?;
    Ok(Json(rows.iter().map(|c| c.to_api()).collect()))
}

/// `POST /api/v1/alerts/channels` (201)
#[utoipa::path(
    post,
    path = "/api/v1/alerts/channels",
    operation_id = "create_channel",
    summary = "Create a notification channel",
    tag = "alerts",
    request_body = ChannelInput,
    responses((status = 201, description = "The new channel", body = Channel)),
    security(("session" = []))
)]
pub async fn create_channel(
    user: SessionUser,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<ChannelInput>,
) -> Result<(StatusCode, Json<Channel>), ApiError> {
    let spec = validate_channel(&input, false).map_err(invalid)?;
    let row = store::alerts::insert_channel(&state.pool, &spec, &seal(&state, &spec), false)
        .await
        .map_err(write_failed)?;
    tracing::info!(by = %user.username, channel = %row.name, kind = %row.kind, "alert channel created");
    Ok((StatusCode::CREATED, Json(row.to_api())))
}

/// `PUT /api/v1/alerts/channels/{id}`: absent secrets are kept; a changed kind needs its
/// settings again.
#[utoipa::path(
    put,
    path = "/api/v1/alerts/channels/{id}",
    operation_id = "update_channel",
    summary = "Change a notification channel",
    tag = "alerts",
    params(("id" = i64, Path, description = "The channel's id")),
    request_body = ChannelInput,
    responses((status = 200, description = "The channel as changed", body = Channel)),
    security(("session" = []))
)]
pub async fn update_channel(
    user: SessionUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<ChannelInput>,
) -> Result<Json<Channel>, ApiError> {
    let before = store::alerts::channel(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no channel with id {id}")))?;
    let same_kind = before.kind() == input.kind;
    let spec = validate_channel(&input, same_kind).map_err(invalid)?;
    // A URL that moves to another host needs its secret again, so a stored signing key is
    // never sent somewhere new without being re-entered.
    if let (Some(new), Some(old)) = (&spec.url, &before.url_shown) {
        if shown(new) != *old && spec.secret.is_none() && before.secret_sealed.is_some() {
            return Err(ApiError::invalid(
                "secret",
                "the URL moved to another host: enter the secret again",
            ));
        }
    }
    let row = store::alerts::update_channel(&state.pool, id, &spec, &seal(&state, &spec))
        .await
        .map_err(write_failed)?
        .ok_or_else(|| ApiError::not_found(format!("no channel with id {id}")))?;
    tracing::info!(by = %user.username, channel = %row.name, "alert channel changed");
    Ok(Json(row.to_api()))
}

/// `DELETE /api/v1/alerts/channels/{id}`: also takes it out of every rule.
#[utoipa::path(
    delete,
    path = "/api/v1/alerts/channels/{id}",
    operation_id = "delete_channel",
    summary = "Delete a notification channel",
    tag = "alerts",
    params(("id" = i64, Path, description = "The channel's id")),
    responses((status = 200, description = "The channel is deleted", body = ChannelDeleted)),
    security(("session" = []))
)]
pub async fn delete_channel(
    user: SessionUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<ChannelDeleted>, ApiError> {
    if !store::alerts::delete_channel(&state.pool, id).await? {
        return Err(ApiError::not_found(format!("no channel with id {id}")));
    }
    tracing::info!(by = %user.username, channel = id, "alert channel deleted");
    Ok(Json(ChannelDeleted { id, deleted: true }))
}

/// `POST /api/v1/alerts/channels/{id}/test`: sends a test message now and answers with the
/// attempt, which the delivery log also shows.
#[utoipa::path(
    post,
    path = "/api/v1/alerts/channels/{id}/test",
    operation_id = "test_channel",
    summary = "Send a test notification",
    tag = "alerts",
    params(("id" = i64, Path, description = "The channel's id")),
    responses((status = 200, description = "The test delivery attempt", body = Delivery)),
    security(("session" = []))
)]
pub async fn test_channel(
    user: SessionUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Delivery>, ApiError> {
    let channel = store::alerts::channel(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no channel with id {id}")))?;
    let now = Utc::now();
    let item = Item {
        rule_id: 0,
        rule: "Test notification".into(),
        severity: Severity::Info,
        status: "firing".into(),
        labels: Labels::from([("channel".to_owned(), channel.name.clone())]),
        metric: "sightline.test".into(),
        unit: String::new(),
        value: Some(1.0),
        threshold: 0.0,
        comparator: ">".into(),
        summary: format!(
            "A test from Sightline, sent by {} to '{}'",
            user.username, channel.name
        ),
        starts_at: Some(now),
        ends_at: None,
        at: now,
    };
    let message =
        store::alerts::insert_test_message(&state.pool, id, &item, dispatch::CLAIM).await?;
    let claimed = Claimed {
        id: message,
        channel_id: id,
        items: vec![item],
        attempts: 0,
        test: true,
    };
    dispatch::deliver(state.clone(), claimed).await;
    let d = store::alerts::deliveries(&state.pool, Some(id), 5)
        .await?
        .into_iter()
        .find(|d| d.message_id == message)
        .ok_or_else(ApiError::internal)?;
    Ok(Json(d))
}

/// `GET /api/v1/alerts/deliveries?channel_id=`: attempts, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/alerts/deliveries",
    operation_id = "list_deliveries",
    summary = "Notification delivery attempts",
    tag = "alerts",
    params(DeliveriesQuery),
    responses((status = 200, description = "Delivery attempts, newest first", body = Vec<Delivery>)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn deliveries(
    _p: Reader,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<DeliveriesQuery>,
) -> Result<Json<Vec<Delivery>>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_param("limit", "must be between 1 and 1000"));
    }
    Ok(Json(
        store::alerts::deliveries(&state.pool, q.channel_id, i64::from(limit)).await?,
    ))
}

// ---------------------------------------------------------------- inbox

/// `GET /api/v1/alerts/notices`: the bell's count and the newest notices.
#[utoipa::path(
    get,
    path = "/api/v1/alerts/notices",
    operation_id = "list_notices",
    summary = "In-app notices",
    tag = "alerts",
    responses((status = 200, description = "The bell's count and newest notices", body = Inbox)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn notices(_p: Reader, State(state): State<AppState>) -> Result<Json<Inbox>, ApiError> {
    let (unread, notices) = store::alerts::notices(&state.pool, 30).await?;
    Ok(Json(Inbox { unread, notices }))
}

/// The answer to `DELETE /api/v1/alerts/silences/{id}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SilenceEnded {
    pub id: i64,
    pub ended: bool,
}

/// The answer to `DELETE /api/v1/alerts/channels/{id}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChannelDeleted {
    pub id: i64,
    pub deleted: bool,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkRead {
    /// Notices up to this id; all when absent.
    #[serde(default)]
    pub up_to: Option<i64>,
}

/// `POST /api/v1/alerts/notices/read`
#[utoipa::path(
    post,
    path = "/api/v1/alerts/notices/read",
    operation_id = "mark_notices_read",
    summary = "Mark notices read",
    tag = "alerts",
    request_body = MarkRead,
    responses((status = 200, description = "The inbox after marking", body = Inbox)),
    security(("session" = []))
)]
pub async fn mark_read(
    _user: SessionUser,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<MarkRead>,
) -> Result<Json<Inbox>, ApiError> {
    store::alerts::mark_read(&state.pool, body.up_to).await?;
    let (unread, notices) = store::alerts::notices(&state.pool, 30).await?;
    Ok(Json(Inbox { unread, notices }))
}

/// `GET /api/v1/alerts/status`: whether this server holds the evaluator's lock.
#[utoipa::path(
    get,
    path = "/api/v1/alerts/status",
    operation_id = "alert_evaluator_status",
    summary = "The alert evaluator's state",
    tag = "alerts",
    responses((status = 200, description = "The evaluator's state", body = app::types::alert::EvaluatorStatus)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn status(
    _p: Reader,
    State(state): State<AppState>,
) -> Json<app::types::alert::EvaluatorStatus> {
    Json(app::types::alert::EvaluatorStatus {
        leader: state.alerts.is_leader(),
        interval_secs: state.config.alerts.interval.as_secs_f64(),
    })
}
