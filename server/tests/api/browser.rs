//! The browser layer against a real PostgreSQL: `/sdk/vitals.js`, reports from allowed
//! origins with a public browser key (CORS preflight, origin refusals, scope, body and
//! rate limits, bad fields), the dashboard's own session reports, and the Frontend figures
//! read back (p75, distributions, pages, error groups over time).

use crate::support::{spawn_app_with, TestApp};
use serde_json::{json, Value};

const SHOP: &str = "https://shop.example.com";

async fn app_with_origins(per_minute: u32) -> (TestApp, String) {
    let app = spawn_app_with(|a| {
        a.browser_origins = Some(format!("{SHOP}, http://other.example:8080"));
        a.browser_reports_per_minute = Some(per_minute);
    })
    .await;
    app.login().await;
    let (_, key) = app
        .create_key_with(&json!({"name": "shop site", "scopes": ["browser"]}))
        .await;
    (app, key)
}

/// Posts a report as `sendBeacon` does: text/plain, the key in the body, an Origin.
async fn beacon(app: &TestApp, origin: Option<&str>, body: &Value) -> (u16, Value) {
    let mut r = app
        .bare_client()
        .post(app.url("/api/v1/vitals"))
        .header("content-type", "text/plain;charset=UTF-8")
        .body(body.to_string());
    if let Some(o) = origin {
        r = r.header("origin", o);
    }
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

fn vital(name: &str, value: f64, page: &str) -> Value {
    json!({"type": "vital", "name": name, "value": value, "page": page})
}

#[tokio::test]
async fn the_sdk_is_served_to_any_site() {
    let (app, _) = app_with_origins(100).await;
    let r = app
        .bare_client()
        .get(app.url("/sdk/vitals.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "public, no login redirect");
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert_eq!(r.headers()["cross-origin-resource-policy"], "cross-origin");
    let js = r.text().await.unwrap();
    assert!(js.contains("largest-contentful-paint") && js.contains("sendBeacon"));
}

#[tokio::test]
async fn a_public_key_reports_vitals_and_errors_read_back_per_page() {
    let (app, key) = app_with_origins(1000).await;
    let mut events = Vec::new();
    // Home: 8 loads, LCP 1000..4500 ms by 500 (p75 = the 6th = 3500, needs improvement).
    for i in 0..8 {
        events.push(vital(
            "LCP",
            1000.0 + 500.0 * i as f64,
            "https://shop.example.com/?utm=x",
        ));
    }
    events.push(vital("CLS", 0.02, "/"));
    events.push(vital("CLS", 0.3, "/"));
    events.push(vital("TTFB", 120.0, "/orders/123"));
    events.push(vital("TTFB", 140.0, "/orders/456"));
    for _ in 0..3 {
        events.push(json!({"type": "error", "message": "Uncaught TypeError: cart is null",
            "stack": "TypeError: cart is null\n    at render (https://shop.example.com/app.js?v=9:12:3)",
            "page": "/cart"}));
    }
    events.push(
        json!({"type": "api", "method": "post", "url": "https://shop.example.com/api/orders/77",
        "status": 502, "duration_ms": 31.5, "page": "/cart"}),
    );
    let (status, body) = beacon(
        &app,
        Some(SHOP),
        &json!({"key": key, "site": "shop", "events": events}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], 16);
    let raw: i64 = sqlx::query_scalar("SELECT count(*) FROM browser_errors WHERE site = 'shop'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(raw, 4, "every error occurrence is kept");

    let (status, o) = app
        .get_json("/api/v1/frontend", &[("range", "24h".into())])
        .await;
    assert_eq!(status, 200, "{o}");
    assert_eq!(o["site"], "shop");
    assert_eq!(o["sites"][0]["views"], 8);
    assert_eq!(o["sites"][0]["errors"], 4);
    let lcp = &o["vitals"][0];
    assert_eq!(lcp["name"], "LCP");
    assert_eq!(lcp["samples"], 8);
    assert_eq!(
        (&lcp["good"], &lcp["needs_improvement"], &lcp["poor"]),
        (&json!(4), &json!(3), &json!(1))
    );
    let p75 = lcp["p75"].as_f64().unwrap();
    assert!((p75 - 3500.0).abs() / 3500.0 < 0.02, "{p75}");
    assert_eq!(lcp["rating"], "needs_improvement");
    let bars: u64 = lcp["bins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .sum();
    assert_eq!(bars, 8);
    let cls = o["vitals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "CLS")
        .unwrap();
    assert_eq!(cls["unit"], "");
    assert_eq!(cls["poor"], 1);

    let pages: Vec<&str> = o["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["page"].as_str().unwrap())
        .collect();
    assert_eq!(pages[0], "/", "the origin and query are dropped");
    assert!(pages.contains(&"/orders/:id"), "ids collapse: {pages:?}");
    assert!(pages.contains(&"/cart"));

    let groups = o["errors"].as_array().unwrap();
    let js = groups.iter().find(|g| g["kind"] == "error").unwrap();
    assert_eq!(js["message"], "TypeError: cart is null");
    assert_eq!(js["stack_top"], "render (/app.js:12:3)");
    assert_eq!(js["count"], 3);
    assert_eq!(js["last_page"], "/cart");
    assert_eq!(
        js["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_u64().unwrap())
            .sum::<u64>(),
        3
    );
    let api = groups.iter().find(|g| g["kind"] == "api").unwrap();
    assert_eq!(api["message"], "POST /api/orders/:id → 502");
    let series = o["series"].as_array().unwrap();
    assert_eq!(
        series
            .iter()
            .map(|b| b["errors"].as_u64().unwrap())
            .sum::<u64>(),
        3
    );
    assert_eq!(
        series
            .iter()
            .map(|b| b["api_failures"].as_u64().unwrap())
            .sum::<u64>(),
        1
    );

    // One page narrows vitals and errors.
    let (_, cart) = app
        .get_json(
            "/api/v1/frontend",
            &[("range", "24h".into()), ("page", "/cart".into())],
        )
        .await;
    assert_eq!(cart["vitals"][0]["samples"], 0);
    assert_eq!(cart["errors"].as_array().unwrap().len(), 2);

    // The browser key can do nothing else.
    app.assert_status_with_key(reqwest::Method::GET, "/api/v1/frontend", &key, 403)
        .await;
    let (status, _) = app
        .post_json("/api/v1/requests", &key, &json!({"requests": []}))
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn cors_answers_configured_origins_only_and_others_are_refused() {
    let (app, key) = app_with_origins(1000).await;
    let preflight = |origin: &'static str| {
        app.bare_client()
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/vitals"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let ok = preflight(SHOP).await.unwrap();
    assert!(ok.status().is_success(), "{}", ok.status());
    assert_eq!(ok.headers()["access-control-allow-origin"], SHOP);
    let evil = preflight("https://evil.example").await.unwrap();
    assert!(evil.headers().get("access-control-allow-origin").is_none());

    let report = json!({"key": key, "events": [vital("FCP", 900.0, "/")]});
    let (status, body) = beacon(&app, Some("https://evil.example"), &report).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("origin_not_allowed"))
    );
    // A site that does not name itself is named by its host.
    let (status, _) = beacon(&app, Some("http://other.example:8080"), &report).await;
    assert_eq!(status, 200);
    let sites: Vec<String> = sqlx::query_scalar("SELECT DISTINCT site FROM browser_vitals_hour")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(sites, ["other.example"]);
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM browser_vitals_hour WHERE site <> 'other.example'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(n, 0, "the refused report stored nothing");
}

#[tokio::test]
async fn bad_reports_name_the_field_and_store_nothing() {
    let (app, key) = app_with_origins(1000).await;
    let cases = [
        (json!({"key": key, "events": []}), 422, "events"),
        (
            json!({"key": key, "events": [vital("LCP", 1.0, "/"), vital("LCP", -5.0, "/")]}),
            422,
            "events[1].value",
        ),
        (
            json!({"key": key, "events": [vital("FID", 1.0, "/")]}),
            422,
            "events[0].name",
        ),
        (
            json!({"key": key, "events": [{"type": "api", "method": "GET", "url": "/x", "status": 200, "duration_ms": 1, "page": "/"}]}),
            422,
            "events[0].status",
        ),
        (
            json!({"key": key, "events": [{"type": "nope"}]}),
            422,
            "events[0]",
        ),
    ];
    for (report, want, field) in cases {
        let (status, body) = beacon(&app, Some(SHOP), &report).await;
        assert_eq!(status, want, "{report}: {body}");
        assert!(
            body["field"].as_str().is_some_and(|f| f.starts_with(field)),
            "{report}: {body}"
        );
    }
    let r = app
        .bare_client()
        .post(app.url("/api/v1/vitals"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let huge = json!({"key": key, "events": [{"type": "error", "message": "x".repeat(70_000), "page": "/"}]});
    let (status, body) = beacon(&app, Some(SHOP), &huge).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (413, Some("payload_too_large"))
    );
    let (status, body) = beacon(
        &app,
        Some(SHOP),
        &json!({"key": "sl_nope", "events": [vital("LCP", 1.0, "/")]}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_api_key"))
    );
    let (status, _) = beacon(
        &app,
        Some(SHOP),
        &json!({"events": [vital("LCP", 1.0, "/")]}),
    )
    .await;
    assert_eq!(status, 401, "no key, no session");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM browser_vitals_hour")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);

    // A browser key is alone.
    let r = app
        .client
        .post(app.url("/api/v1/keys"))
        .json(&json!({"name": "mixed", "scopes": ["browser", "read"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
}

#[tokio::test]
async fn reports_are_rate_limited_per_address() {
    let (app, key) = app_with_origins(3).await;
    let report = json!({"key": key, "site": "shop", "events": [vital("LCP", 1.0, "/")]});
    for _ in 0..3 {
        assert_eq!(beacon(&app, Some(SHOP), &report).await.0, 200);
    }
    let r = app
        .bare_client()
        .post(app.url("/api/v1/vitals"))
        .body(report.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn the_dashboard_reports_with_its_session() {
    let (app, _) = app_with_origins(100).await;
    let report = json!({"site": "sightline", "events": [vital("INP", 64.0, "/apps"),
        {"type": "api", "method": "GET", "url": "/api/v1/apps?range=1h", "status": 0, "duration_ms": 3.0, "page": "/apps"}]});
    let r = app
        .client
        .post(app.url("/api/v1/vitals"))
        .header("origin", format!("http://{}", app.addr))
        .header("content-type", "text/plain")
        .body(report.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let (_, o) = app
        .get_json("/api/v1/frontend", &[("site", "sightline".into())])
        .await;
    let inp = o["vitals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "INP")
        .unwrap();
    assert_eq!(inp["good"], 1);
    assert_eq!(o["errors"][0]["message"], "GET /api/v1/apps → no answer");
}
