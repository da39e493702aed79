//! Alerts against a real PostgreSQL, with a webhook receiver and an SMTP server on loopback:
//! a rule fires once with a valid signature and resolves once, silences suppress, a 500 is
//! retried, a message due at a restart is sent once after it, email arrives, bad input names
//! its field, the defaults are installed, the in-app inbox counts, and of two servers on one
//! database only one evaluates and the other takes over when it stops.

use std::time::Duration;

use app::types::system::{CpuSample, HostInfo, MemorySample, SampleBatch, SystemSample};
use chrono::Utc;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::support::{
    fresh_database,
    receivers::{SmtpSink, Webhook},
    spawn_app_with, spawn_on, TestApp, ADMIN_PASSWORD,
};

const SECRET: &str = "a-shared-signing-secret";

fn fast(args: &mut server::config::ServeArgs) {
    args.alert_interval = Some("300ms".into());
    args.alert_group_window = Some("0s".into());
}

/// Data directories that share one `secret.key`, as replicas must (channel URLs and
/// secrets are sealed with it).
fn replica_dirs(n: usize) -> Vec<std::path::PathBuf> {
    let key = [7u8; 32];
    (0..n)
        .map(|_| {
            let d = tempfile::Builder::new()
                .prefix("sightline-replica-")
                .tempdir()
                .unwrap()
                .keep();
            std::fs::write(d.join("secret.key"), key).unwrap();
            d
        })
        .collect()
}

fn fast_in(dir: std::path::PathBuf) -> impl FnOnce(&mut server::config::ServeArgs) {
    move |args| {
        fast(args);
        args.data_dir = Some(dir);
    }
}

async fn app() -> (TestApp, String) {
    let app = spawn_app_with(fast).await;
    app.login().await;
    let (_, key) = app.create_key("agent").await;
    (app, key)
}

/// Posts one sample of `host` with CPU at `cpu` %, stamped now.
async fn cpu(app: &TestApp, key: &str, host: &str, cpu: f64) {
    cpu_at(app, key, host, cpu, Utc::now()).await;
}

async fn send(app: &TestApp, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
    let r = app
        .client
        .request(method, app.url(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn post(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    send(app, reqwest::Method::POST, path, body).await
}

async fn webhook_channel(app: &TestApp, hook: &Webhook, format: &str) -> i64 {
    let (s, v) = post(
        app,
        "/api/v1/alerts/channels",
        json!({"name": format!("hook-{format}"), "kind": "webhook", "url": hook.url(),
               "secret": SECRET, "format": format}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["secret_set"], true);
    assert!(v.get("secret").is_none(), "secrets are never returned: {v}");
    v["id"].as_i64().unwrap()
}

fn cpu_rule(name: &str, threshold: f64, channel: i64) -> Value {
    json!({"name": name, "metric": "system.cpu.utilization", "labels": {"host": "web-1"},
           "comparator": ">", "threshold": threshold, "for": "0s", "severity": "critical",
           "channels": [channel], "message": "CPU on {{labels.host}} is {{value}}%"})
}

fn verify(r: &crate::support::receivers::Received) {
    let sig = r.headers["x-sightline-signature"].to_str().unwrap();
    let (t, v1) = sig.split_once(",v1=").unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(&r.body);
    let want: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1, want, "the signature verifies with the shared secret");
    let age = Utc::now().timestamp() - t.parse::<i64>().unwrap();
    assert!((0..30).contains(&age), "signed just now");
}

async fn history(app: &TestApp, q: &[(&str, String)]) -> Vec<Value> {
    let (s, v) = app.get_json("/api/v1/alerts/history", q).await;
    assert_eq!(s, 200, "{v}");
    v.as_array().unwrap().clone()
}

#[tokio::test]
async fn a_rule_fires_once_with_a_valid_signature_then_resolves_once() {
    let (app, key) = app().await;
    let hook = Webhook::start(&[]).await;
    let channel = webhook_channel(&app, &hook, "sightline").await;
    cpu(&app, &key, "web-1", 42.0).await;
    cpu(&app, &key, "web-2", 42.0).await;
    let (s, rule) = post(&app, "/api/v1/alerts/rules", cpu_rule("cpu", 0.0, channel)).await;
    assert_eq!(s, 201, "{rule}");
    assert_eq!(rule["for"], "0s");
    assert_eq!(rule["aggregation"], "avg");
    let id = rule["id"].as_i64().unwrap();

    let got = hook.wait_for(1, 10).await;
    assert_eq!(got.len(), 1);
    verify(&got[0]);
    let body = got[0].json();
    assert_eq!(body["status"], "firing");
    assert_eq!(
        body["alerts"].as_array().unwrap().len(),
        1,
        "only web-1 matches"
    );
    assert_eq!(body["alerts"][0]["labels"]["host"], "web-1");
    assert_eq!(body["alerts"][0]["summary"], "CPU on web-1 is 42%");
    assert_eq!(body["alerts"][0]["value"], 42.0);

    // Still firing over several cycles: no repeat before the repeat interval.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(hook.received().len(), 1, "no repeat while firing");
    let (_, r) = app
        .get_json(&format!("/api/v1/alerts/rules/{id}"), &[])
        .await;
    assert_eq!(r["alerts"][0]["state"], "firing");

    // Raised above the value: exactly one resolved.
    let mut raised = cpu_rule("cpu", 90.0, channel);
    raised["threshold"] = json!(90.0);
    let (s, v) = send(
        &app,
        reqwest::Method::PUT,
        &format!("/api/v1/alerts/rules/{id}"),
        raised,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let got = hook.wait_for(2, 10).await;
    assert_eq!(got.len(), 2);
    verify(&got[1]);
    assert_eq!(got[1].json()["status"], "resolved");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(hook.received().len(), 2, "exactly one resolved");

    let h = history(&app, &[("rule_id", id.to_string())]).await;
    let moves: Vec<(String, String)> = h
        .iter()
        .map(|e| {
            (
                e["from"].as_str().unwrap().into(),
                e["to"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        moves,
        vec![
            ("firing".to_owned(), "resolved".to_owned()),
            ("inactive".to_owned(), "firing".to_owned())
        ]
    );
    assert_eq!(h[1]["value"], 42.0);
    assert_eq!(h[1]["threshold"], 0.0);
    assert_eq!(h[1]["labels"]["host"], "web-1");
    let (s, d) = app
        .get_json(
            "/api/v1/alerts/deliveries",
            &[("channel_id", channel.to_string())],
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(d.as_array().unwrap().len(), 2);
    assert!(d
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["ok"] == true && x["status"] == 200));
}

#[tokio::test]
async fn a_silence_suppresses_notifications_but_not_the_state() {
    let (app, key) = app().await;
    let hook = Webhook::start(&[]).await;
    let channel = webhook_channel(&app, &hook, "sightline").await;
    cpu(&app, &key, "web-1", 42.0).await;
    let (s, v) = post(
        &app,
        "/api/v1/alerts/silences",
        json!({"matchers": {"host": "web-1"}, "duration": "1h", "comment": "maintenance"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["author"], "admin");
    let (s, rule) = post(&app, "/api/v1/alerts/rules", cpu_rule("cpu", 0.0, channel)).await;
    assert_eq!(s, 201);
    let id = rule["id"].as_i64().unwrap();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert!(hook.received().is_empty(), "silenced: nothing sent");
    let (_, r) = app
        .get_json(&format!("/api/v1/alerts/rules/{id}"), &[])
        .await;
    assert_eq!(r["alerts"][0]["state"], "firing");
    assert_eq!(r["alerts"][0]["silenced"], true);
    let h = history(
        &app,
        &[("rule_id", id.to_string()), ("state", "firing".into())],
    )
    .await;
    assert_eq!(h.len(), 1);
    assert_eq!(h[0]["silenced"], true);

    // Ending the silence does not send the old firing (it was muted, not delayed), but the
    // resolve that follows is sent.
    let sid = v["id"].as_i64().unwrap();
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/alerts/silences/{sid}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (s, _) = send(
        &app,
        reqwest::Method::PUT,
        &format!("/api/v1/alerts/rules/{id}"),
        cpu_rule("cpu", 99.0, channel),
    )
    .await;
    assert_eq!(s, 200);
    let got = hook.wait_for(1, 10).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json()["status"], "resolved");
}

#[tokio::test]
async fn a_failed_delivery_is_retried_and_logged() {
    let (app, key) = app().await;
    let hook = Webhook::start(&[500]).await;
    let channel = webhook_channel(&app, &hook, "alertmanager").await;
    cpu(&app, &key, "web-1", 42.0).await;
    let (s, _) = post(&app, "/api/v1/alerts/rules", cpu_rule("cpu", 0.0, channel)).await;
    assert_eq!(s, 201);
    let got = hook.wait_for(2, 15).await;
    assert_eq!(got.len(), 2, "retried after the 500");
    assert_eq!(got[0].body, got[1].body, "the same message again");
    let am = got[1].json();
    assert_eq!(am["version"], "4");
    assert_eq!(am["status"], "firing");
    assert_eq!(am["alerts"][0]["labels"]["alertname"], "cpu");
    assert_eq!(am["alerts"][0]["labels"]["severity"], "critical");
    verify(&got[1]);
    // The webhook sees the request before the server records how it went.
    let mut d = Vec::new();
    for _ in 0..100 {
        let (_, all) = app
            .get_json(
                "/api/v1/alerts/deliveries",
                &[("channel_id", channel.to_string())],
            )
            .await;
        d = all.as_array().unwrap().clone();
        if d.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(d.len(), 2);
    // Newest first.
    assert_eq!(d[1]["attempt"], 1);
    assert_eq!(d[1]["ok"], false);
    assert_eq!(d[1]["status"], 500);
    assert!(d[1]["error"].as_str().unwrap().contains("500"));
    assert_eq!(d[0]["attempt"], 2);
    assert_eq!(d[0]["ok"], true);
}

#[tokio::test]
async fn a_message_due_at_a_restart_is_sent_once_after_it() {
    let db = fresh_database().await;
    let dirs = replica_dirs(2);
    let first = spawn_on(&db, ADMIN_PASSWORD, fast_in(dirs[0].clone())).await;
    first.login().await;
    let (_, key) = first.create_key("agent").await;
    let hook = Webhook::start(&[503]).await;
    let channel = webhook_channel(&first, &hook, "sightline").await;
    cpu(&first, &key, "web-1", 42.0).await;
    let (s, _) = post(
        &first,
        "/api/v1/alerts/rules",
        cpu_rule("cpu", 0.0, channel),
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(hook.wait_for(1, 10).await.len(), 1, "first attempt failed");
    // Once the failure is recorded, the server stops before the retry is due.
    for _ in 0..100 {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM alert_deliveries")
            .fetch_one(&first.pool)
            .await
            .unwrap();
        if n == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.shutdown().await;
    let pending: i64 =
        sqlx::query_scalar("SELECT count(*) FROM alert_messages WHERE status = 'pending'")
            .fetch_one(&sqlx::PgPool::connect(&db).await.unwrap())
            .await
            .unwrap();
    assert_eq!(pending, 1, "the retry waits in the database");

    let second = spawn_on(&db, ADMIN_PASSWORD, fast_in(dirs[1].clone())).await;
    let got = hook.wait_for(2, 15).await;
    assert_eq!(got.len(), 2, "sent after the restart");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(hook.received().len(), 2, "once");
    let sent: i64 = sqlx::query_scalar("SELECT count(*) FROM alert_messages WHERE status = 'sent'")
        .fetch_one(&second.pool)
        .await
        .unwrap();
    assert_eq!(sent, 1);
}

#[tokio::test]
async fn an_email_arrives() {
    let (app, key) = app().await;
    let sink = SmtpSink::start().await;
    let (s, ch) = post(
        &app,
        "/api/v1/alerts/channels",
        json!({"name": "ops mail", "kind": "email", "smtp": {
            "host": "127.0.0.1", "port": sink.port, "tls": "none",
            "from": "sightline@example.com", "to": ["ops@example.com"]}}),
    )
    .await;
    assert_eq!(s, 201, "{ch}");
    let channel = ch["id"].as_i64().unwrap();
    // The test button.
    let (s, d) = post(
        &app,
        &format!("/api/v1/alerts/channels/{channel}/test"),
        json!({}),
    )
    .await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["ok"], true, "{d}");
    assert_eq!(d["status"], 250);
    // And a real alert.
    cpu(&app, &key, "web-1", 42.0).await;
    let (s, _) = post(&app, "/api/v1/alerts/rules", cpu_rule("cpu", 0.0, channel)).await;
    assert_eq!(s, 201);
    let mails = sink.wait_for(2, 10).await;
    assert_eq!(mails.len(), 2);
    assert!(
        mails[0].data.contains("Test notification"),
        "{}",
        mails[0].data
    );
    assert_eq!(mails[1].to, vec!["<ops@example.com>".to_owned()]);
    assert!(
        mails[1].data.contains("Subject: [FIRING] cpu (critical)"),
        "{}",
        mails[1].data
    );
    assert!(
        mails[1].data.contains("CPU on web-1 is 42%"),
        "{}",
        mails[1].data
    );
}

#[tokio::test]
async fn bad_input_gets_422_naming_the_field() {
    let (app, _) = app().await;
    let hook = Webhook::start(&[]).await;
    let channel = webhook_channel(&app, &hook, "sightline").await;
    let base = cpu_rule("x", 1.0, channel);
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let cases = [
        (with("metric", json!("cpu.nope")), "metric"),
        (with("labels", json!({"region": "eu"})), "labels.region"),
        (with("for", json!("-5m")), "for"),
        (with("threshold", json!("high")), "threshold"),
        (with("channels", json!([999_999])), "channels[0]"),
        (with("aggregation", json!("rate")), "aggregation"),
        (with("severity", json!("page")), "severity"),
    ];
    for (body, field) in cases {
        let (s, v) = post(&app, "/api/v1/alerts/rules", body).await;
        assert_eq!(s, 422, "{field}: {v}");
        assert_eq!(v["field"], field, "{v}");
    }
    let channels = [
        (
            json!({"name": "h", "kind": "webhook", "url": "ftp://example.com/x"}),
            "url",
        ),
        (
            json!({"name": "h", "kind": "webhook", "url": "javascript:alert(1)"}),
            "url",
        ),
        (
            json!({"name": "m", "kind": "email", "smtp": {"host": "mail", "port": 70000,
                   "from": "a@example.com", "to": ["b@example.com"]}}),
            "smtp.port",
        ),
    ];
    for (body, field) in channels {
        let (s, v) = post(&app, "/api/v1/alerts/channels", body).await;
        assert_eq!(s, 422, "{field}: {v}");
        assert_eq!(v["field"], field, "{v}");
    }
    let (s, v) = post(&app, "/api/v1/alerts/silences", json!({"duration": "1h"})).await;
    assert_eq!(s, 422);
    assert_eq!(v["field"], "matchers");
    // API keys may read alerts but never change them.
    let (_, key) = app.create_key("reader").await;
    let (s, _) = app.post_json("/api/v1/alerts/rules", &key, &base).await;
    assert_eq!(s, 403);
}

#[tokio::test]
async fn defaults_are_installed_once_and_in_app_notices_count() {
    let (app, key) = app().await;
    let (_, rules) = app.get_json("/api/v1/alerts/rules", &[]).await;
    let rules = rules.as_array().unwrap();
    let names: Vec<&str> = rules.iter().map(|r| r["name"].as_str().unwrap()).collect();
    for want in [
        "CPU high",
        "CPU critical",
        "Memory high",
        "Memory critical",
        "Disk almost full",
        "Disk full",
        "GPU hot",
        "LLM p95 latency",
        "LLM errors",
        "LLM errors critical",
        "Budget 80 %",
        "Budget 100 %",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let cpu_high = rules.iter().find(|r| r["name"] == "CPU high").unwrap();
    assert_eq!(cpu_high["threshold"], 80.0);
    assert_eq!(cpu_high["for"], "5m");
    assert_eq!(cpu_high["severity"], "warning");
    assert_eq!(cpu_high["builtin"], true);
    let disk = rules
        .iter()
        .find(|r| r["name"] == "Disk predicted full within a day")
        .expect("the forecast default");
    assert_eq!(disk["kind"], "forecast");
    assert_eq!(disk["horizon"], "1d");
    assert_eq!(disk["baseline"], "6h");
    assert_eq!(
        disk["channels"], cpu_high["channels"],
        "to the in-app channel"
    );
    let (_, channels) = app.get_json("/api/v1/alerts/channels", &[]).await;
    let in_app = channels
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "in_app")
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    // A rule to the in-app channel makes one unread notice.
    cpu(&app, &key, "web-1", 42.0).await;
    let (s, _) = post(&app, "/api/v1/alerts/rules", cpu_rule("cpu", 0.0, in_app)).await;
    assert_eq!(s, 201);
    let mut inbox = Value::Null;
    for _ in 0..100 {
        inbox = app.get_json("/api/v1/alerts/notices", &[]).await.1;
        if inbox["unread"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(inbox["unread"], 1, "{inbox}");
    assert_eq!(inbox["notices"][0]["title"], "[FIRING] cpu (critical)");
    let (s, v) = post(&app, "/api/v1/alerts/notices/read", json!({})).await;
    assert_eq!(s, 200);
    assert_eq!(v["unread"], 0);

    // Restarting on the same database does not install the defaults again, and a deleted
    // default stays deleted.
    let id = cpu_high["id"].as_i64().unwrap();
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/alerts/rules/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let db = app.db_url.clone();
    app.shutdown().await;
    let again = spawn_on(&db, ADMIN_PASSWORD, fast).await;
    again.login().await;
    let (_, rules) = again.get_json("/api/v1/alerts/rules", &[]).await;
    let rules = rules.as_array().unwrap();
    assert!(rules.iter().all(|r| r["name"] != "CPU high"));
    assert_eq!(
        rules.iter().filter(|r| r["name"] == "CPU critical").count(),
        1
    );
}

#[tokio::test]
async fn of_two_servers_one_evaluates_and_the_other_takes_over() {
    let db = fresh_database().await;
    let dirs = replica_dirs(2);
    let a = spawn_on(&db, ADMIN_PASSWORD, fast_in(dirs[0].clone())).await;
    let b = spawn_on(&db, ADMIN_PASSWORD, fast_in(dirs[1].clone())).await;
    a.login().await;
    b.login().await;
    let (_, key) = a.create_key("agent").await;
    let hook = Webhook::start(&[]).await;
    let channel = webhook_channel(&a, &hook, "sightline").await;
    cpu(&a, &key, "web-1", 42.0).await;
    let (s, rule) = post(&a, "/api/v1/alerts/rules", cpu_rule("cpu", 0.0, channel)).await;
    assert_eq!(s, 201);
    let id = rule["id"].as_i64().unwrap();
    assert_eq!(hook.wait_for(1, 10).await.len(), 1);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(hook.received().len(), 1, "one firing, not one per server");

    let leader = |app: &TestApp| {
        let app_url = app.url("/api/v1/alerts/status");
        let client = app.client.clone();
        async move {
            let v: Value = client
                .get(app_url)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["leader"].as_bool().unwrap()
        }
    };
    let (la, lb) = (leader(&a).await, leader(&b).await);
    assert!(la ^ lb, "exactly one leads: a={la} b={lb}");
    let (gone, stays) = if la { (a, b) } else { (b, a) };
    gone.shutdown().await;
    // The survivor takes over within two intervals (300 ms each) and goes on from the
    // state in PostgreSQL: raising the threshold resolves the same alert, once.
    let started = std::time::Instant::now();
    while !leader(&stays).await {
        assert!(started.elapsed() < Duration::from_secs(5), "no takeover");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        started.elapsed() <= Duration::from_millis(900),
        "took over in {:?}",
        started.elapsed()
    );
    let (s, _) = send(
        &stays,
        reqwest::Method::PUT,
        &format!("/api/v1/alerts/rules/{id}"),
        cpu_rule("cpu", 99.0, channel),
    )
    .await;
    assert_eq!(s, 200);
    let got = hook.wait_for(2, 10).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].json()["status"], "resolved");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(hook.received().len(), 2);
}

#[tokio::test]
async fn an_application_error_rate_rule_fires_per_route() {
    let (app, key) = app().await;
    let hook = Webhook::start(&[]).await;
    let channel = webhook_channel(&app, &hook, "sightline").await;
    let requests: Vec<Value> = (0..20)
        .map(|i| {
            json!({"service": "shop", "route": if i < 10 { "/pay" } else { "/home" },
                   "method": "GET", "status": if i < 5 { 503 } else { 200 }, "duration_ms": 20.0})
        })
        .collect();
    let (s, v) = app
        .post_json("/api/v1/requests", &key, &json!({ "requests": requests }))
        .await;
    assert_eq!(s, 200, "{v}");
    let rule = json!({"name": "shop errors", "metric": "http.server.error_rate",
        "labels": {"service": "shop"}, "group_by": ["route"], "window": "5m",
        "comparator": ">", "threshold": 10.0, "for": "0s", "severity": "critical",
        "channels": [channel], "message": "{{labels.route}} fails {{value}}%"});
    let (s, r) = post(&app, "/api/v1/alerts/rules", rule).await;
    assert_eq!(s, 201, "{r}");
    let got = hook.wait_for(1, 10).await;
    let body = got[0].json();
    assert_eq!(body["status"], "firing", "{body}");
    let text = body.to_string();
    assert!(
        text.contains("/pay") && !text.contains("/home fails"),
        "{text}"
    );
    let (_, metrics) = app.get_json("/api/v1/alerts/metrics", &[]).await;
    let m = metrics
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "http.server.request.duration")
        .cloned()
        .expect("application latency is a metric rules can use");
    assert_eq!(m["unit"], "s");
}

/// Posts one CPU sample of `host` stamped `at`.
async fn cpu_at(app: &TestApp, key: &str, host: &str, cpu: f64, at: chrono::DateTime<Utc>) {
    let body = json!(SampleBatch {
        host: HostInfo {
            hostname: host.into(),
            os: "Debian".into(),
            cores: 2,
            memory_total: 1000,
            ..Default::default()
        },
        samples: vec![SystemSample {
            time: at,
            cpu: CpuSample {
                total: cpu,
                ..Default::default()
            },
            memory: MemorySample {
                total: 1000,
                used: 100,
                ..Default::default()
            },
            ..Default::default()
        }],
    });
    let (status, v) = app.post_samples(key, &body).await;
    assert_eq!(status, 200, "{v}");
}

#[tokio::test]
async fn an_anomaly_rule_fires_on_a_burst_against_its_own_history() {
    let (app, key) = app().await;
    let hook = Webhook::start(&[]).await;
    let channel = webhook_channel(&app, &hook, "sightline").await;
    // 1 to 3 calls a minute for the 75 minutes before the last five, then 60 at once.
    let now = Utc::now();
    let mut calls = Vec::new();
    for m in 6..=80i64 {
        for i in 0..(1 + m % 3) {
            calls.push(
                json!({"id": format!("h-{m}-{i}"), "provider": "openai", "model": "m",
                "time": now - chrono::Duration::minutes(m), "duration_ms": 100.0}),
            );
        }
    }
    for i in 0..60 {
        calls.push(
            json!({"id": format!("burst-{i}"), "provider": "openai", "model": "m",
            "time": now - chrono::Duration::seconds(20), "duration_ms": 100.0}),
        );
    }
    app.ingest(&key, &calls).await;
    let rule = |name: &str, cmp: &str| {
        json!({"name": name, "metric": "llm.requests", "kind": "anomaly", "window": "5m",
               "baseline": "1h", "min_delta": 2.0, "comparator": cmp, "threshold": 4.0,
               "for": "0s", "severity": "critical", "channels": [channel]})
    };
    let (s, low) = post(&app, "/api/v1/alerts/rules", rule("fewer calls", "<")).await;
    assert_eq!(s, 201, "{low}");
    let (s, r) = post(&app, "/api/v1/alerts/rules", rule("call burst", ">")).await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["kind"], "anomaly");
    assert_eq!(r["baseline"], "1h");
    assert_eq!(r["min_delta"], 2.0);
    assert_eq!(r["horizon"], Value::Null);
    let got = hook.wait_for(1, 15).await;
    let body = got[0].json();
    let text = body.to_string();
    assert!(text.contains("call burst"), "only the burst fires: {text}");
    assert!(!text.contains("fewer calls"), "{text}");
    assert!(text.contains("outside its usual band"), "{text}");
    let alert = &body["alerts"][0];
    let (value, edge) = (
        alert["value"].as_f64().unwrap(),
        alert["threshold"].as_f64().unwrap(),
    );
    // Usual 5-minute windows hold 9 to 11 calls: the edge lies above them, the burst above it.
    assert!(edge > 11.0 && edge < 25.0, "band edge {edge}");
    assert!(value >= 60.0, "{value}");

    let id = r["id"].as_i64().unwrap();
    let (s, series) = app
        .get_json(&format!("/api/v1/alerts/rules/{id}/series"), &[])
        .await;
    assert_eq!(s, 200, "{series}");
    let band = series["lines"][0]["band"].as_array().unwrap();
    let last = band.last().unwrap()[1].as_array().expect("a band now");
    assert!(
        (last[1].as_f64().unwrap() - edge).abs() < 3.0,
        "{last:?} vs {edge}"
    );
    let events = history(&app, &[("rule_id", id.to_string())]).await;
    assert_eq!(events[0]["to"], "firing");
    assert!(
        events[0]["threshold"].as_f64().unwrap() > 11.0,
        "the edge, not 4 MADs"
    );
    let (_, lows) = app
        .get_json(&format!("/api/v1/alerts/rules/{}", low["id"]), &[])
        .await;
    assert!(
        lows["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["state"] == "inactive"),
        "{lows}"
    );
}

#[tokio::test]
async fn a_forecast_rule_fires_for_the_rising_host_only() {
    let (app, key) = app().await;
    let hook = Webhook::start(&[]).await;
    let channel = webhook_channel(&app, &hook, "sightline").await;
    // Over the last hour: one host climbs 10 % an hour from 20 %, the other holds 50 %.
    let now = Utc::now();
    for m in (0..=60i64).rev().step_by(2) {
        let at = now - chrono::Duration::minutes(m);
        let climbed = 30.0 - 10.0 * m as f64 / 60.0;
        cpu_at(&app, &key, "rising", climbed, at).await;
        cpu_at(&app, &key, "steady", 50.0, at).await;
    }
    let (s, r) = post(
        &app,
        "/api/v1/alerts/rules",
        json!({"name": "CPU heading for 90", "metric": "system.cpu.utilization",
               "kind": "forecast", "baseline": "1h", "horizon": "12h", "window": "1m",
               "comparator": ">", "threshold": 90.0, "for": "0s", "severity": "critical",
               "channels": [channel]}),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["kind"], "forecast");
    assert_eq!(r["horizon"], "12h");
    let got = hook.wait_for(1, 15).await;
    let body = got[0].json();
    let text = body.to_string();
    assert!(
        text.contains("rising") && !text.contains("steady"),
        "{text}"
    );
    assert!(text.contains("predicted to reach"), "{text}");
    assert!(text.contains("within 12h"), "{text}");
    // 30 % now and 10 % an hour more: about 150 % in 12 hours (a forecast, not a reading).
    let v = body["alerts"][0]["value"].as_f64().unwrap();
    assert!((v - 150.0).abs() < 15.0, "{v}");
    assert_eq!(body["alerts"][0]["threshold"], 90.0);
}

#[tokio::test]
async fn anomaly_and_forecast_settings_are_checked() {
    let (app, _) = app().await;
    for (body, field) in [
        (
            json!({"name": "x", "metric": "budget.utilization", "kind": "forecast",
                   "comparator": ">", "threshold": 90, "severity": "warning"}),
            "kind",
        ),
        (
            json!({"name": "x", "metric": "llm.cost", "kind": "anomaly",
                   "comparator": ">", "threshold": 0, "severity": "warning"}),
            "threshold",
        ),
        (
            json!({"name": "x", "metric": "llm.cost", "kind": "anomaly", "horizon": "1d",
                   "comparator": ">", "threshold": 4, "severity": "warning"}),
            "horizon",
        ),
        (
            json!({"name": "x", "metric": "llm.cost", "baseline": "1h",
                   "comparator": ">", "threshold": 4, "severity": "warning"}),
            "baseline",
        ),
        (
            json!({"name": "x", "metric": "llm.cost", "kind": "forecast", "baseline": "3d",
                   "comparator": ">", "threshold": 4, "severity": "warning"}),
            "baseline",
        ),
    ] {
        let (s, v) = post(&app, "/api/v1/alerts/rules", body.clone()).await;
        assert_eq!(s, 422, "{body} -> {v}");
        assert_eq!(v["field"], field, "{body} -> {v}");
    }
    let (s, v) = post(
        &app,
        "/api/v1/alerts/rules",
        json!({"name": "x", "metric": "llm.cost", "kind": "sometimes",
               "comparator": ">", "threshold": 4, "severity": "warning"}),
    )
    .await;
    assert!(s == 422 || s == 400, "{s} {v}");
    assert!(v.to_string().contains("kind"), "{v}");
}
