//! What channels receive: one message carries the alerts grouped for a channel, rendered as
//! Sightline's webhook JSON, Alertmanager's webhook JSON, a Slack message, an email or an
//! in-app notice. Webhooks are signed with HMAC-SHA256. Pure.

use app::types::alert::{Labels, Severity};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One alert in a message: its state change and what the rule's template said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub rule_id: i64,
    pub rule: String,
    pub severity: Severity,
    /// `firing`, `resolved` or `no_data`; a repeat is `firing`.
    pub status: String,
    pub labels: Labels,
    pub metric: String,
    pub unit: String,
    pub value: Option<f64>,
    pub threshold: f64,
    pub comparator: String,
    pub summary: String,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
}

impl Item {
    /// A stable id of the alert (rule and label set), as Alertmanager's fingerprint.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.rule_id.to_be_bytes());
        for (k, v) in &self.labels {
            h.update(k.as_bytes());
            h.update([0]);
            h.update(v.as_bytes());
            h.update([0]);
        }
        hex(&h.finalize()[..8])
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The message's overall status: firing while any alert in it is.
pub fn status(items: &[Item]) -> &'static str {
    if items.iter().any(|i| i.status == "firing") {
        "firing"
    } else if items.iter().all(|i| i.status == "resolved") {
        "resolved"
    } else {
        "no_data"
    }
}

/// The headline: `[FIRING:2] CPU high (warning)`.
pub fn title(items: &[Item]) -> String {
    let st = status(items).to_ascii_uppercase();
    match items {
        [one] => format!("[{st}] {} ({})", one.rule, one.severity.as_str()),
        _ => {
            let worst = items.iter().map(|i| i.severity).max();
            format!(
                "[{st}:{}] {} alerts{}",
                items.len(),
                items.len(),
                worst
                    .map(|w| format!(" (up to {})", w.as_str()))
                    .unwrap_or_default()
            )
        }
    }
}

/// One line per alert.
pub fn text(items: &[Item]) -> String {
    items
        .iter()
        .map(|i| format!("[{}] {}", i.status.to_ascii_uppercase(), i.summary))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Sightline's webhook body.
pub fn sightline_body(
    group_key: &str,
    items: &[Item],
    sent_at: DateTime<Utc>,
) -> serde_json::Value {
    serde_json::json!({
        "version": "1",
        "source": "sightline",
        "group_key": group_key,
        "status": status(items),
        "title": title(items),
        "sent_at": sent_at,
        "alerts": items,
    })
}

/// Alertmanager's webhook body (version 4), so receivers written for it work unchanged.
pub fn alertmanager_body(
    receiver: &str,
    group_key: &str,
    items: &[Item],
    external_url: &str,
) -> serde_json::Value {
    let label_set = |i: &Item| {
        let mut l = i.labels.clone();
        l.insert("alertname".into(), i.rule.clone());
        l.insert("severity".into(), i.severity.as_str().into());
        l
    };
    let sets: Vec<Labels> = items.iter().map(label_set).collect();
    let common: Labels = sets
        .first()
        .map(|first| {
            first
                .iter()
                .filter(|(k, v)| sets.iter().all(|s| s.get(*k) == Some(*v)))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let zero = "0001-01-01T00:00:00Z";
    let alerts: Vec<serde_json::Value> = items
        .iter()
        .zip(&sets)
        .map(|(i, labels)| {
            serde_json::json!({
                "status": if i.status == "resolved" { "resolved" } else { "firing" },
                "labels": labels,
                "annotations": {
                    "summary": i.summary,
                    "value": i.value.map(super::format_number),
                    "state": i.status,
                },
                "startsAt": i.starts_at.map(|t| t.to_rfc3339()).unwrap_or_else(|| zero.into()),
                "endsAt": i.ends_at.map(|t| t.to_rfc3339()).unwrap_or_else(|| zero.into()),
                "generatorURL": format!("{}/alerts?rule={}", external_url.trim_end_matches('/'), i.rule_id),
                "fingerprint": i.fingerprint(),
            })
        })
        .collect();
    serde_json::json!({
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": if status(items) == "resolved" { "resolved" } else { "firing" },
        "receiver": receiver,
        "groupLabels": {},
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": external_url,
        "alerts": alerts,
    })
}

/// A Slack incoming-webhook body (also accepted by Mattermost and Rocket.Chat).
pub fn slack_body(items: &[Item]) -> serde_json::Value {
    serde_json::json!({ "text": format!("*{}*\n{}", title(items), text(items)) })
}

/// The signature header's value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`.
/// Receivers recompute it with the shared secret and compare in constant time; the time
/// lets them refuse replays.
pub fn signature(secret: &[u8], unix: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length; new_from_slice cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(unix.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={unix},v1={}", hex(&mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(status: &str, host: &str, severity: Severity) -> Item {
        Item {
            rule_id: 3,
            rule: "CPU high".into(),
            severity,
            status: status.into(),
            labels: Labels::from([("host".to_owned(), host.to_owned())]),
            metric: "system.cpu.utilization".into(),
            unit: "%".into(),
            value: Some(93.0),
            threshold: 90.0,
            comparator: ">".into(),
            summary: format!("CPU high on {host}"),
            starts_at: None,
            ends_at: None,
            at: chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 1, 1, 0, 0, 0).unwrap(),
        }
    }

    #[test]
    fn signature_is_rfc_4231_hmac_over_time_and_body() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let s = signature(b"Jefe", 0, b"what do ya want for nothing?");
        // The signed data is "0." + body, so recompute the reference the same way.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"0.what do ya want for nothing?");
        let want = hex(&mac.finalize().into_bytes());
        assert_eq!(s, format!("t=0,v1={want}"));
        let mut plain = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        plain.update(b"what do ya want for nothing?");
        assert_eq!(
            hex(&plain.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn titles_and_status_of_groups() {
        let one = [item("firing", "a", Severity::Warning)];
        assert_eq!(title(&one), "[FIRING] CPU high (warning)");
        let two = [
            item("resolved", "a", Severity::Warning),
            item("firing", "b", Severity::Critical),
        ];
        assert_eq!(status(&two), "firing");
        assert_eq!(title(&two), "[FIRING:2] 2 alerts (up to critical)");
        assert_eq!(status(&[item("resolved", "a", Severity::Info)]), "resolved");
    }

    #[test]
    fn alertmanager_body_has_its_fields() {
        let items = [
            item("firing", "a", Severity::Warning),
            item("firing", "b", Severity::Warning),
        ];
        let b = alertmanager_body("ops", "g1", &items, "http://sl:3000");
        assert_eq!(b["version"], "4");
        assert_eq!(b["status"], "firing");
        assert_eq!(b["receiver"], "ops");
        assert_eq!(b["commonLabels"]["alertname"], "CPU high");
        assert!(b["commonLabels"].get("host").is_none());
        assert_eq!(b["alerts"][1]["labels"]["host"], "b");
        assert_eq!(
            b["alerts"][0]["generatorURL"],
            "http://sl:3000/alerts?rule=3"
        );
        assert_ne!(b["alerts"][0]["fingerprint"], b["alerts"][1]["fingerprint"]);
    }
}
