//! Scheduled reports: a period's PDF report sent through a webhook and by email, its figures
//! equal to the Overview API's; sent once per period by the loop; refusals.

use std::time::Duration;

use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::{Duration as Span, DurationRound, Utc};
use serde_json::{json, Value};

use crate::support::{
    receivers::{SmtpSink, Webhook},
    spawn_app_with, TestApp,
};

async fn post(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let r = app
        .client
        .post(app.url(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn channel(app: &TestApp, body: Value) -> i64 {
    let (s, v) = post(app, "/api/v1/alerts/channels", body).await;
    assert_eq!(s, 201, "{v}");
    v["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_scheduled_report_goes_out_once_per_period_with_the_apis_figures() {
    let app = spawn_app_with(|a| a.alert_interval = Some("200ms".into())).await;
    app.login().await;
    let (_, key) = app.create_key("ingest").await;
    // Yesterday (UTC): three priced calls and one error; today: one that is not in the report.
    let yesterday = Utc::now().duration_trunc(Span::days(1)).unwrap() - Span::days(1);
    let calls: Vec<Value> = (0..4)
        .map(|i| {
            json!({"provider": "openai", "model": "gpt-4o-mini", "time": yesterday + Span::hours(10 + i),
                   "duration_ms": 500 + 100 * i, "input_tokens": 1000, "output_tokens": 200,
                   "status": if i == 3 { "error" } else { "ok" }})
        })
        .chain([json!({"provider": "openai", "model": "gpt-4o", "time": Utc::now() - Span::minutes(1),
                       "duration_ms": 300, "input_tokens": 10, "output_tokens": 5})])
        .collect();
    app.ingest(&key, &calls).await;

    let hook = Webhook::start(&[]).await;
    let sink = SmtpSink::start().await;
    let web = channel(
        &app,
        json!({"name": "reports hook", "kind": "webhook", "url": hook.url(), "secret": "a-long-enough-secret"}),
    )
    .await;
    let mail = channel(
        &app,
        json!({"name": "finance mail", "kind": "email", "smtp": {
        "host": "127.0.0.1", "port": sink.port, "tls": "none",
        "from": "sightline@example.com", "to": ["finance@example.com"]}}),
    )
    .await;
    let (s, sched) = post(
        &app,
        "/api/v1/reports/schedules",
        json!({"name": "Daily spend", "cadence": "daily", "timezone": "UTC", "channel_ids": [web, mail]}),
    )
    .await;
    assert_eq!(s, 201, "{sched}");
    let id = sched["id"].as_i64().unwrap();
    // Made today: yesterday counts as sent, the first report goes out at the next midnight.
    assert_eq!(
        sched["next_at"].as_str().unwrap(),
        (yesterday + Span::days(2)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(hook.received().is_empty(), "nothing is due yet");

    // Send now: yesterday's report through both channels.
    let (s, sent) = post(
        &app,
        &format!("/api/v1/reports/schedules/{id}/send"),
        json!({}),
    )
    .await;
    assert_eq!(s, 200, "{sent}");
    assert!(
        sent["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["ok"] == true),
        "{sent}"
    );
    let got = hook.wait_for(1, 5).await;
    let body = got[0].json();
    assert!(got[0].headers.contains_key("x-sightline-signature"));
    assert_eq!(body["kind"], "report");
    assert_eq!(body["schedule"]["name"], "Daily spend");
    // The figures are the Overview API's for the same period.
    let from = yesterday.to_rfc3339();
    let to = (yesterday + Span::days(1)).to_rfc3339();
    let (_, ov) = app
        .get_json(
            "/api/v1/analytics/overview",
            &[("from", from.clone()), ("to", to.clone())],
        )
        .await;
    assert_eq!(body["totals"]["requests"], 4);
    assert_eq!(body["totals"]["requests"], ov["totals"]["requests"]);
    assert_eq!(body["totals"]["total_tokens"], ov["totals"]["total_tokens"]);
    let micros = ov["totals"]["cost_micros"].as_i64().unwrap();
    assert!(micros > 0);
    let cost: f64 = body["totals"]["cost_usd"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (cost - micros as f64 / 1e6).abs() < 1e-9,
        "{cost} against {micros}"
    );
    assert_eq!(body["totals"]["error_rate"], ov["totals"]["error_rate"]);
    let pdf = STANDARD
        .decode(body["pdf_base64"].as_str().unwrap())
        .unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let mails = sink.wait_for(1, 5).await;
    assert_eq!(mails[0].to, vec!["<finance@example.com>".to_owned()]);
    assert!(
        mails[0]
            .data
            .contains("Subject: Sightline report: Daily spend"),
        "{}",
        mails[0].data
    );
    assert!(mails[0].data.contains("application/pdf"));
    assert!(mails[0]
        .data
        .contains(&format!("sightline-report-{}", yesterday.format("%Y%m%d"))));
    assert!(mails[0].data.contains("4 requests"));

    // The loop: with the last period sent moved back a day, the next check sends it, once.
    sqlx::query(
        "UPDATE report_schedules SET last_period_start = last_period_start - interval '1 day'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let got = hook.wait_for(2, 5).await;
    assert_eq!(got[1].json()["from"], got[0].json()["from"]);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(hook.received().len(), 2, "a period goes out once");
    let (_, list) = app.get_json("/api/v1/reports/schedules", &[]).await;
    assert_eq!(list[0]["last_error"], Value::Null);
    assert!(list[0]["last_sent_at"].is_string());

    // A deleted channel is reported, not fatal; the schedule can be deleted.
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/alerts/channels/{mail}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, sent) = post(
        &app,
        &format!("/api/v1/reports/schedules/{id}/send"),
        json!({}),
    )
    .await;
    assert_eq!(sent["deliveries"][1]["ok"], false);
    let (_, list) = app.get_json("/api/v1/reports/schedules", &[]).await;
    assert!(
        list[0]["last_error"].as_str().unwrap().contains("deleted"),
        "{list}"
    );
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/reports/schedules/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, list) = app.get_json("/api/v1/reports/schedules", &[]).await;
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn bad_schedules_are_refused_naming_the_field() {
    let app = spawn_app_with(|_| {}).await;
    app.login().await;
    let web = channel(&app, json!({"name": "in app", "kind": "in_app"})).await;
    for (body, field) in [
        (json!({"name": "", "channel_ids": [web]}), "name"),
        (
            json!({"name": "x", "cadence": "hourly", "channel_ids": [web]}),
            "cadence",
        ),
        (
            json!({"name": "x", "timezone": "Mars/Olympus", "channel_ids": [web]}),
            "timezone",
        ),
        (json!({"name": "x", "channel_ids": []}), "channel_ids"),
        (
            json!({"name": "x", "channel_ids": [web, 999]}),
            "channel_ids[1]",
        ),
    ] {
        let (s, e) = post(&app, "/api/v1/reports/schedules", body).await;
        assert!(s == 422 || s == 400, "{s} {e}");
        assert_eq!(e["field"], field, "{e}");
    }
    // People only: an API key cannot schedule (the channels are a person's settings).
    let (_, key) = app.create_key("k").await;
    let (s, _) = app
        .post_json(
            "/api/v1/reports/schedules",
            &key,
            &json!({"name": "x", "channel_ids": [web]}),
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = post(&app, "/api/v1/reports/schedules/999/send", json!({})).await;
    assert_eq!(s, 404);
}
