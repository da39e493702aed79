//! One evaluation cycle: read what the rules need in a few batched queries (system minute
//! rollups, hosts' last samples, LLM minute rollups, budget status), compute every rule's
//! values, step each alert's state machine and write the result in one transaction.
//! `plan` is pure; `gather` and `run` do the IO.

use std::collections::{BTreeMap, HashMap};

use app::types::{
    alert::{Alert, AlertState, Labels, Silence},
    workers::WorkerState,
};
use chrono::{DateTime, Duration, Utc};

use crate::{
    domain::alert::{
        default_message,
        judge::{self, Verdict},
        message::Item,
        metric::{self, AppPoint, DbPoint, LlmPoint, Source, SystemPoint},
        render, silences,
        state::{self, Instance, Notify, Observation},
        TemplateValues,
    },
    store::alerts::{ChannelRow, CycleWrites, NewEvent, StoredInstance, StoredRule},
};

/// Everything a cycle reads.
#[derive(Default)]
pub struct Inputs {
    pub system: Vec<SystemPoint>,
    pub hosts: Vec<(String, DateTime<Utc>)>,
    pub llm: Vec<LlmPoint>,
    pub app: Vec<AppPoint>,
    /// Sightline's own pools, per minute.
    pub db: Vec<DbPoint>,
    /// (budget name, percent used, projected percent)
    pub budgets: Vec<(String, f64, f64)>,
    pub ingest_queue: f64,
    /// Every AI worker now: (role, state).
    pub workers: Vec<(String, WorkerState)>,
}

/// The width of the rollup buckets evaluation reads (system and LLM minute rollups).
pub const BUCKET: Duration = Duration::minutes(1);

/// The rows whose bucket overlaps the window `(since, now]`. A window
/// takes every bucket it overlaps: at 12:00:10 a one-minute window still sees the 11:59
/// bucket, where testing the bucket's start alone would find nothing and say "no data".
///
/// The rows are sorted by bucket ([`Inputs::sort`]), so a window is a slice found by two
/// binary searches: a rule costs what its window holds, not what the longest rule read
/// (a 6-hour forecast would otherwise make every 5-minute rule scan 6 hours of rows).
fn window<T>(
    points: &[T],
    bucket: impl Fn(&T) -> DateTime<Utc>,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> &[T] {
    debug_assert!(points.is_sorted_by_key(&bucket), "Inputs::sort first");
    let lo = points.partition_point(|p| bucket(p) + BUCKET <= since);
    let hi = points.partition_point(|p| bucket(p) <= now).max(lo);
    &points[lo..hi]
}

impl Inputs {
    /// Sorts the per-minute rows by bucket, as evaluation expects.
    pub fn sort(&mut self) {
        self.system.sort_by_key(|p| p.bucket);
        self.llm.sort_by_key(|p| p.bucket);
        self.app.sort_by_key(|p| p.bucket);
        self.db.sort_by_key(|p| p.bucket);
    }
}

/// The values of a rule's metric at `now`, one per label set.
pub fn values(rule: &StoredRule, inputs: &Inputs, now: DateTime<Utc>) -> Vec<(Labels, f64)> {
    let s = &rule.spec;
    let since = now - s.window;
    match s.metric.source {
        Source::System { .. } => {
            let pts = window(&inputs.system, |p| p.bucket, since, now);
            metric::system_values(s.metric, s.aggregation, &s.labels, pts)
        }
        Source::HostSilence => inputs
            .hosts
            .iter()
            .map(|(h, seen)| {
                let labels = Labels::from([("host".to_owned(), h.clone())]);
                let secs = (now - *seen).num_milliseconds().max(0) as f64 / 1000.0;
                (labels, secs)
            })
            .filter(|(l, _)| s.labels.iter().all(|(k, v)| l.get(k) == Some(v)))
            .collect(),
        Source::Llm(figure) => {
            let pts = window(&inputs.llm, |p| p.bucket, since, now);
            metric::llm_values(
                figure,
                s.aggregation,
                &s.labels,
                &s.group_by,
                s.window.num_seconds() as f64,
                pts,
            )
        }
        Source::Budget { projected } => inputs
            .budgets
            .iter()
            .map(|(name, used, proj)| {
                let labels = Labels::from([("budget".to_owned(), name.clone())]);
                (labels, if projected { *proj } else { *used })
            })
            .filter(|(l, _)| s.labels.iter().all(|(k, v)| l.get(k) == Some(v)))
            .collect(),
        Source::IngestQueue => vec![(Labels::new(), inputs.ingest_queue)],
        Source::Workers => metric::worker_values(&s.labels, &inputs.workers),
        Source::Database(figure) => {
            let pts = window(&inputs.db, |p| p.bucket, since, now);
            metric::db_values(
                figure,
                s.aggregation,
                &s.labels,
                s.window.num_seconds() as f64,
                pts,
            )
        }
        Source::App(figure) => {
            let pts = window(&inputs.app, |p| p.bucket, since, now);
            metric::app_values(
                figure,
                s.aggregation,
                &s.labels,
                &s.group_by,
                s.window.num_seconds() as f64,
                pts,
            )
        }
    }
}

/// A rule's values by instant, so the history shared by many instants (a chart's points)
/// is computed once.
pub type Memo = HashMap<DateTime<Utc>, Vec<(Labels, f64)>>;

fn memo_values<'m>(
    rule: &StoredRule,
    inputs: &Inputs,
    t: DateTime<Utc>,
    memo: &'m mut Memo,
) -> &'m [(Labels, f64)] {
    memo.entry(t).or_insert_with(|| values(rule, inputs, t))
}

/// Each label set's verdict at `now`: its value judged by the rule's kind (threshold,
/// anomaly against its history's band, or forecast from its history's trend). A label set
/// without enough history has no verdict yet.
pub fn evaluate(
    rule: &StoredRule,
    inputs: &Inputs,
    now: DateTime<Utc>,
    memo: &mut Memo,
) -> Vec<(Labels, Verdict)> {
    let current = memo_values(rule, inputs, now, memo).to_vec();
    let mut history: BTreeMap<Labels, Vec<(DateTime<Utc>, f64)>> = BTreeMap::new();
    for t in judge::history_times(&rule.spec, now) {
        for (l, v) in memo_values(rule, inputs, t, memo) {
            history.entry(l.clone()).or_default().push((t, *v));
        }
    }
    current
        .into_iter()
        .filter_map(|(l, v)| {
            let h = history.get(&l).map(Vec::as_slice).unwrap_or_default();
            judge::judge(&rule.spec, v, h, now).map(|verdict| (l, verdict))
        })
        .collect()
}

/// Which channels receive an alert of `rule`: the rule's own, enabled, taking its severity.
pub fn route<'a>(rule: &StoredRule, channels: &'a [ChannelRow]) -> Vec<&'a ChannelRow> {
    channels
        .iter()
        .filter(|c| c.enabled && rule.spec.channels.contains(&c.id))
        .filter(|c| {
            let sev = c.severities();
            sev.is_empty() || sev.contains(&rule.spec.severity)
        })
        .collect()
}

/// A stored alert is rewritten when its state moved, or its value is a minute old.
const REFRESH: Duration = Duration::seconds(60);

/// The writes of one cycle, and the alerts that changed (for the live topic).
pub fn plan(
    rules: &[StoredRule],
    stored: &[StoredInstance],
    inputs: &Inputs,
    silences_now: &[Silence],
    channels: &[ChannelRow],
    now: DateTime<Utc>,
) -> (CycleWrites, Vec<Alert>) {
    let mut by_rule: HashMap<i64, BTreeMap<Labels, &StoredInstance>> = HashMap::new();
    for i in stored {
        by_rule
            .entry(i.rule_id)
            .or_default()
            .insert(i.labels.clone(), i);
    }
    let mut w = CycleWrites::default();
    let mut changed = Vec::new();
    for rule in rules.iter().filter(|r| r.spec.enabled) {
        let s = &rule.spec;
        let observed: BTreeMap<Labels, Verdict> = evaluate(rule, inputs, now, &mut Memo::new())
            .into_iter()
            .collect();
        let known = by_rule.remove(&rule.id).unwrap_or_default();
        let mut keys: Vec<Labels> = observed.keys().cloned().collect();
        for k in known.keys() {
            if !observed.contains_key(k) {
                keys.push(k.clone());
            }
        }
        // A rule with nothing to show has one alert in "no data", for its filters.
        if keys.is_empty() {
            keys.push(s.labels.clone());
        }
        let targets = route(rule, channels);
        for labels in keys {
            let prev = known.get(&labels);
            let prev_instance = prev.map(|p| p.instance.clone()).unwrap_or_default();
            let verdict = observed.get(&labels).copied();
            let value = verdict.map(|v| v.value);
            // What the value was held against: the threshold, or an anomaly's band edge.
            let limit = verdict.map_or(s.threshold, |v| v.limit);
            let obs = match verdict {
                Some(v) => Observation::Value(v.holds),
                None => Observation::NoData,
            };
            // A series that went away while quiet is forgotten, as Prometheus does; only a
            // pending or firing alert (or the rule's only one) keeps a "no data" state.
            let only = observed.is_empty() && labels == s.labels;
            if value.is_none()
                && !only
                && matches!(
                    prev_instance.state,
                    AlertState::Inactive | AlertState::Resolved
                )
            {
                continue;
            }
            let step = state::step(&prev_instance, obs, &s.timing, now);
            let silenced = silences_now
                .iter()
                .any(|x| silences(x, rule.id, &labels, now));
            let moved = prev.is_none_or(|p| {
                p.instance != step.next || p.silenced != silenced || now - p.updated_at >= REFRESH
            });
            let next = StoredInstance {
                rule_id: rule.id,
                labels: labels.clone(),
                value,
                silenced,
                updated_at: if moved {
                    now
                } else {
                    prev.map_or(now, |p| p.updated_at)
                },
                instance: step.next.clone(),
            };
            // Going between inactive and no data is not an alert's history (a fresh install
            // would list every default rule); it shows on the rule.
            let quiet = |s: AlertState| matches!(s, AlertState::Inactive | AlertState::NoData);
            if let Some((from, to)) = step.transition.filter(|(f, t)| !(quiet(*f) && quiet(*t))) {
                w.events.push(NewEvent {
                    rule_id: rule.id,
                    rule_name: s.name.clone(),
                    severity: s.severity,
                    labels: labels.clone(),
                    from,
                    to,
                    value,
                    threshold: limit,
                    at: now,
                    silenced,
                });
                changed.push(next.to_api());
            }
            if let Some(notify) = step.notify.filter(|_| !silenced) {
                let item = item(
                    rule,
                    &labels,
                    verdict,
                    notify,
                    &prev_instance,
                    &step.next,
                    now,
                );
                for c in &targets {
                    w.outbox.push((c.id, item.clone()));
                }
            }
            if moved {
                w.instances.push(next);
            }
        }
    }
    (w, changed)
}

fn item(
    rule: &StoredRule,
    labels: &Labels,
    verdict: Option<Verdict>,
    notify: Notify,
    prev: &Instance,
    next: &Instance,
    now: DateTime<Utc>,
) -> Item {
    let s = &rule.spec;
    let value = verdict.map(|v| v.value);
    let limit = verdict.map_or(s.threshold, |v| v.limit);
    let default = default_message(&s.kind);
    let template = s.message.as_deref().unwrap_or(&default);
    let summary = render(
        template,
        &TemplateValues {
            rule: &s.name,
            metric: s.metric.name,
            unit: s.metric.unit,
            severity: s.severity,
            comparator: s.comparator,
            threshold: limit,
            value,
            labels,
        },
    );
    let status = match notify {
        Notify::Firing | Notify::Repeat => "firing",
        Notify::Resolved => "resolved",
        Notify::NoData => "no_data",
    };
    Item {
        rule_id: rule.id,
        rule: s.name.clone(),
        severity: s.severity,
        status: status.into(),
        labels: labels.clone(),
        metric: s.metric.name.into(),
        unit: s.metric.unit.into(),
        value,
        threshold: limit,
        comparator: s.comparator.as_str().into(),
        summary,
        starts_at: next.fired_at.or(prev.fired_at),
        ends_at: (notify == Notify::Resolved).then_some(now),
        at: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::alert::validate_rule;
    use chrono::TimeZone;

    fn rule(id: i64, json: serde_json::Value) -> StoredRule {
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        StoredRule {
            id,
            spec: validate_rule(&serde_json::from_value(json).unwrap()).unwrap(),
            builtin: false,
            created_at: t,
            updated_at: t,
        }
    }

    fn cpu(host: &str, at: DateTime<Utc>, v: f64) -> SystemPoint {
        SystemPoint {
            host: host.into(),
            bucket: at - Duration::seconds(30),
            series: "cpu.total".into(),
            min: v,
            max: v,
            sum: v,
            count: 1,
            last: v,
            last_time: at,
        }
    }

    fn channel(id: i64) -> ChannelRow {
        ChannelRow {
            id,
            name: format!("c{id}"),
            kind: "webhook".into(),
            url_sealed: None,
            url_shown: None,
            secret_sealed: None,
            format: "sightline".into(),
            smtp: None,
            smtp_password_sealed: None,
            severities: vec!["critical".into()],
            enabled: true,
            builtin: false,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn one_alert_per_host_routed_by_severity_and_silenced_by_label() {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
        let crit = rule(
            1,
            serde_json::json!({"name": "cpu", "metric": "system.cpu.utilization",
            "comparator": ">", "threshold": 50, "for": "0s", "severity": "critical",
            "channels": [7, 8]}),
        );
        let inputs = Inputs {
            system: vec![
                cpu("a", now, 90.0),
                cpu("b", now, 95.0),
                cpu("c", now, 10.0),
            ],
            ..Inputs::default()
        };
        let silence = Silence {
            id: 1,
            rule_id: None,
            matchers: Labels::from([("host".to_owned(), "b".to_owned())]),
            starts_at: now - Duration::hours(1),
            ends_at: now + Duration::hours(1),
            author: "admin".into(),
            comment: String::new(),
            created_at: now,
        };
        let mut muted = channel(8);
        muted.enabled = false;
        let (w, changed) = plan(&[crit], &[], &inputs, &[silence], &[channel(7), muted], now);
        assert_eq!(w.instances.len(), 3);
        assert_eq!(w.events.len(), 2, "a and b fire; c stays inactive");
        assert_eq!(changed.len(), 2);
        assert!(w.events.iter().any(|e| e.silenced));
        assert_eq!(w.outbox.len(), 1, "b is silenced, channel 8 disabled");
        assert_eq!(w.outbox[0].0, 7);
        assert_eq!(w.outbox[0].1.labels["host"], "a");
        assert_eq!(w.outbox[0].1.status, "firing");
    }

    #[test]
    fn a_window_takes_every_bucket_it_overlaps() {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 10).unwrap();
        let r = rule(
            3,
            serde_json::json!({"name": "cpu", "metric": "system.cpu.utilization",
            "aggregation": "last", "window": "1m", "comparator": ">", "threshold": 50,
            "for": "0s", "severity": "critical"}),
        );
        let mut last_minute = cpu("a", now, 90.0);
        last_minute.bucket = Utc.with_ymd_and_hms(2026, 1, 1, 11, 59, 0).unwrap();
        let mut too_old = cpu("b", now, 90.0);
        too_old.bucket = Utc.with_ymd_and_hms(2026, 1, 1, 11, 58, 0).unwrap();
        let mut inputs = Inputs {
            system: vec![last_minute, too_old],
            ..Inputs::default()
        };
        inputs.sort();
        let got = values(&r, &inputs, now);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0["host"], "a");
        assert_eq!(got[0].1, 90.0);
    }

    #[test]
    fn a_rule_with_no_series_has_one_alert_in_no_data() {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
        let r = rule(
            2,
            serde_json::json!({"name": "p95", "metric": "gen_ai.client.operation.duration",
            "comparator": ">", "threshold": 5, "severity": "warning"}),
        );
        let (w, _) = plan(&[r], &[], &Inputs::default(), &[], &[], now);
        assert_eq!(w.instances.len(), 1);
        assert_eq!(w.instances[0].instance.state, AlertState::NoData);
        assert!(w.outbox.is_empty());
    }
}
