//! Monitored applications against a real PostgreSQL: the batch ingest endpoint (stored raw
//! and rolled up, figures read back per service and route), its errors and access rules,
//! OTLP server spans, and Sightline reporting its own requests as the service `sightline`.

use std::time::Duration;

use crate::support::{spawn_app, spawn_with_key, TestApp};
use chrono::Utc;
use serde_json::{json, Value};

fn req(route: &str, method: &str, status: u16, ms: f64) -> Value {
    json!({"service": "shop", "route": route, "method": method, "status": status,
           "duration_ms": ms, "trace_id": "t-1", "user_id": "u-1"})
}

async fn overview(app: &TestApp, q: &[(&str, &str)]) -> Value {
    let q: Vec<(&str, String)> = q.iter().map(|(k, v)| (*k, v.to_string())).collect();
    let (status, body) = app.get_json("/api/v1/apps", &q).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[tokio::test]
async fn reported_requests_are_stored_rolled_up_and_read_back_per_route() {
    let (app, key) = spawn_with_key().await;
    let mut batch = Vec::new();
    // /cart: 100 requests of 1..100 ms, 5 of them 500s; /login: 10 requests, 2 of 401 and 1
    // timeout (a 504).
    for i in 1..=100 {
        batch.push(req(
            "/cart/{id}",
            "GET",
            if i <= 5 { 500 } else { 200 },
            i as f64,
        ));
    }
    for i in 0..10 {
        let status = match i {
            0 | 1 => 401,
            2 => 504,
            _ => 200,
        };
        batch.push(req("/login", "post", status, 2000.0));
    }
    let (status, body) = app
        .post_json("/api/v1/requests", &key, &json!({ "requests": batch }))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], 110);

    let raw: (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE timeout), count(*) FILTER (WHERE trace_id = 't-1')
         FROM app_requests WHERE service = 'shop'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(raw, (110, 1, 110));
    // Both tiers hold every request.
    for table in ["app_rollup_minute", "app_rollup_hour"] {
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT sum(requests)::int8 FROM {table} WHERE service = 'shop'"
        ))
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(n, 110, "{table}");
    }

    let o = overview(&app, &[("range", "1h"), ("service", "shop")]).await;
    assert_eq!(o["service"], "shop");
    let services = o["services"].as_array().unwrap();
    assert!(services
        .iter()
        .any(|s| s["service"] == "shop" && s["requests"] == 110));
    assert_eq!(o["totals"]["requests"], 110);
    assert_eq!(o["totals"]["err_5xx"], 6, "five 500s and the 504");
    assert_eq!(o["totals"]["err_4xx"], 2);
    assert_eq!(o["totals"]["timeouts"], 1);
    // 5.05 s + 20 s spent in requests over the hour.
    let concurrency = f(&o["totals"]["concurrency"]);
    assert!((concurrency - 25.05 / 3600.0).abs() < 1e-6, "{concurrency}");

    let routes = o["routes"].as_array().unwrap();
    assert_eq!(routes.len(), 2);
    let cart = &routes[0];
    assert_eq!(
        (cart["route"].as_str(), cart["method"].as_str()),
        (Some("/cart/{id}"), Some("GET"))
    );
    assert_eq!(cart["figures"]["requests"], 100);
    let p50 = f(&cart["figures"]["p50_ms"]);
    let p99 = f(&cart["figures"]["p99_ms"]);
    assert!((p50 - 50.0).abs() / 50.0 < 0.02, "p50 {p50}");
    assert!((p99 - 99.0).abs() / 99.0 < 0.02, "p99 {p99}");
    assert_eq!(cart["figures"]["max_ms"], 100.0);
    let login = &routes[1];
    assert_eq!(login["method"], "POST", "methods are upper-cased");
    assert_eq!(login["figures"]["timeouts"], 1);

    // The series holds every request once, in minute buckets for an hour.
    assert_eq!(o["step_s"], 60);
    let series = o["series"].as_array().unwrap();
    assert!((60..=61).contains(&series.len()), "{}", series.len());
    let in_series: u64 = series
        .iter()
        .map(|b| b["figures"]["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(in_series, 110);

    // Narrowed to one route: totals and series are that route's; the route list stays.
    let only = overview(
        &app,
        &[
            ("range", "1h"),
            ("service", "shop"),
            ("route", "/login"),
            ("method", "POST"),
        ],
    )
    .await;
    assert_eq!(only["totals"]["requests"], 10);
    assert_eq!(only["routes"].as_array().unwrap().len(), 2);
    // Seven days read the hour tier.
    let week = overview(&app, &[("range", "7d"), ("service", "shop")]).await;
    assert_eq!(week["totals"]["requests"], 110);
    assert!(f(&week["step_s"]) >= 3600.0);

    app.shutdown().await;
}

#[tokio::test]
async fn bad_batches_name_the_field_and_store_nothing() {
    let (app, key) = spawn_with_key().await;
    let cases = [
        (json!({"requests": []}), "requests"),
        (
            json!({"requests": [req("/a", "GET", 200, 1.0), req("/a", "GET", 700, 1.0)]}),
            "requests[1].status",
        ),
        (
            json!({"requests": [req("/a", "G E T", 200, 1.0)]}),
            "requests[0].method",
        ),
        (
            json!({"requests": [req("/a", "GET", 200, -3.0)]}),
            "requests[0].duration_ms",
        ),
        (
            json!({"requests": [req("", "GET", 200, 1.0)]}),
            "requests[0].route",
        ),
        (
            json!({"requests": [{"service": "shop", "route": "/a", "method": "GET", "status": 200,
                                  "duration_ms": 1.0, "time": (Utc::now() + chrono::Duration::hours(1)).to_rfc3339()}]}),
            "requests[0].time",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = app.post_json("/api/v1/requests", &key, &body).await;
        assert_eq!(status, 422, "{body} -> {answer}");
        assert_eq!(answer["field"], field, "{answer}");
    }
    let too_many: Vec<Value> = (0..5001).map(|_| req("/a", "GET", 200, 1.0)).collect();
    let (status, answer) = app
        .post_json("/api/v1/requests", &key, &json!({ "requests": too_many }))
        .await;
    assert_eq!(status, 422, "{answer}");
    let (status, answer) = app
        .post_json(
            "/api/v1/requests",
            &key,
            &json!({"requests": [{"service": "shop"}]}),
        )
        .await;
    assert_eq!(status, 422, "{answer}");
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM app_requests WHERE service = 'shop'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored, 0);

    let (status, answer) = app
        .get_json("/api/v1/apps", &[("method", "GET".into())])
        .await;
    assert_eq!((status, answer["field"].as_str()), (400, Some("method")));
    let (status, answer) = app
        .get_json("/api/v1/apps", &[("range", "9y".into())])
        .await;
    assert_eq!((status, answer["field"].as_str()), (400, Some("range")));
    app.shutdown().await;
}

#[tokio::test]
async fn writes_need_an_ingest_key_and_reads_a_reader() {
    let app = spawn_app().await;
    let body = json!({"requests": [req("/a", "GET", 200, 1.0)]});
    let r = app
        .bare_client()
        .post(app.url("/api/v1/requests"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = app
        .bare_client()
        .get(app.url("/api/v1/apps"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    app.login().await;
    let (_, reader) = app
        .create_key_with(&json!({"name": "reader", "scopes": ["read"]}))
        .await;
    let (status, _) = app.post_json("/api/v1/requests", &reader, &body).await;
    assert_eq!(status, 403);
    let (status, _) = app.get_json_with_key("/api/v1/apps", &reader).await;
    assert_eq!(status, 200);
    app.shutdown().await;
}

#[tokio::test]
async fn otlp_server_spans_become_requests_of_their_service() {
    let (app, key) = spawn_with_key().await;
    let now_ns = Utc::now().timestamp_nanos_opt().unwrap();
    let span = |id: &str, route: &str, status: i64| {
        json!({
            "traceId": "5b8efff798038103d269b633813fc60c",
            "spanId": id,
            "name": "handler",
            "kind": 2,
            "startTimeUnixNano": now_ns.to_string(),
            "endTimeUnixNano": (now_ns + 250_000_000).to_string(),
            "attributes": [
                {"key": "http.route", "value": {"stringValue": route}},
                {"key": "http.request.method", "value": {"stringValue": "GET"}},
                {"key": "http.response.status_code", "value": {"intValue": status.to_string()}}
            ]
        })
    };
    let body = json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}}]},
        "scopeSpans": [{"spans": [span("00000000000000b1", "/pay", 200), span("00000000000000b2", "/pay", 502),
                                  span("00000000000000b3", "/bad", 999)]}]
    }]});
    let r = app
        .bare_client()
        .post(app.url("/v1/traces"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap();
    let rejected = &answer["partialSuccess"]["rejectedSpans"];
    assert!(rejected == &json!(1) || rejected == &json!("1"), "{answer}");
    assert!(answer["partialSuccess"]["errorMessage"]
        .as_str()
        .unwrap()
        .contains("span 2: status"));

    let o = overview(&app, &[("range", "1h"), ("service", "checkout")]).await;
    assert_eq!(o["totals"]["requests"], 2);
    assert_eq!(o["totals"]["err_5xx"], 1);
    let p50 = f(&o["totals"]["p50_ms"]);
    assert!((p50 - 250.0).abs() / 250.0 < 0.02, "{p50}");
    let trace: Option<String> =
        sqlx::query_scalar("SELECT trace_id FROM app_requests WHERE service = 'checkout' LIMIT 1")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(trace.as_deref(), Some("5b8efff798038103d269b633813fc60c"));
    app.shutdown().await;
}

#[tokio::test]
async fn sightline_reports_its_own_requests() {
    let (app, _key) = spawn_with_key().await;
    for _ in 0..3 {
        let (status, _) = app.get_json("/api/v1/alerts/status", &[]).await;
        assert_eq!(status, 200);
    }
    let r = app
        .bare_client()
        .get(app.url("/api/v1/nope"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    // Flushed once a second.
    let mut seen = None;
    for _ in 0..50 {
        let o = overview(&app, &[("range", "1h"), ("service", "sightline")]).await;
        let routes = o["routes"].as_array().unwrap().clone();
        let status_route = routes
            .iter()
            .find(|r| r["route"] == "/api/v1/alerts/status" && r["method"] == "GET")
            .cloned();
        if let Some(r) = status_route.filter(|r| r["figures"]["requests"] == 3) {
            seen = Some((r, o["totals"].clone()));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (route, totals) = seen.expect("Sightline's own requests never appeared");
    assert!(f(&route["figures"]["p50_ms"]) > 0.0);
    assert!(
        totals["err_4xx"].as_u64().unwrap() >= 1,
        "the refused request: {totals}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn retention_drops_old_request_partitions_and_keeps_recent_ones() {
    use server::{
        apps::AppRequestWriter, domain::app_request::AppRequest, domain::system::Retention,
        live::LiveHub, store,
    };
    let app = spawn_app().await;
    let now = Utc::now();
    let row = |days: i64| AppRequest {
        time: now - chrono::Duration::days(days),
        service: "old-shop".into(),
        route: "/a".into(),
        method: "GET".into(),
        status: 200,
        duration_ms: 5.0,
        timeout: false,
        user_id: None,
        trace_id: None,
    };
    let writer = AppRequestWriter::new(app.pool.clone(), LiveHub::new());
    writer.write(&[row(10), row(0)]).await.unwrap();
    let dropped = store::app_requests::enforce_retention(&app.pool, now, &Retention::default())
        .await
        .unwrap();
    assert!(
        dropped.iter().any(|d| d.starts_with("app_requests_p")),
        "{dropped:?}"
    );
    let count = |table: &'static str| {
        let pool = app.pool.clone();
        async move {
            let n: i64 = sqlx::query_scalar(&format!(
                "SELECT count(*) FROM {table} WHERE service = 'old-shop'"
            ))
            .fetch_one(&pool)
            .await
            .unwrap();
            n
        }
    };
    // Raw rows are kept 7 days, minute rollups 90: the 10-day-old request keeps its rollups.
    assert_eq!(count("app_requests").await, 1);
    assert_eq!(count("app_rollup_minute").await, 2);
    app.shutdown().await;
}
