//! `/metrics`: Sightline's own metrics in the Prometheus text format, checked by Debian's
//! `promtool` and read back after real traffic.

use std::io::Write;

use serde_json::json;

use crate::support::{spawn_app_with, spawn_with_key, TestApp};

async fn scrape(app: &TestApp) -> String {
    let r = app
        .bare_client()
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    r.text().await.unwrap()
}

/// The value of the one sample whose line starts with `series` (name and labels).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
}

/// `promtool check metrics` on the text: exit 0 and no lint complaint.
fn promtool_accepts(text: &str) {
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package; scripts/test.sh installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool refused /metrics:\n{said}");
    assert!(said.trim().is_empty(), "promtool complained:\n{said}");
}

#[tokio::test]
async fn metrics_count_requests_and_stored_calls_and_pass_promtool() {
    let (app, key) = spawn_with_key().await;
    let calls: Vec<_> = (0..3)
        .map(|i| {
            json!({
                "id": format!("m-{i}"), "provider": "openai", "model": "gpt-4o-mini",
                "duration_ms": 120.0, "input_tokens": 10, "output_tokens": 5,
            })
        })
        .collect();
    let (status, body) = app.post_calls(&key, &calls).await;
    assert_eq!(status, 200, "{body}");
    for _ in 0..2 {
        let r = app
            .bare_client()
            .get(app.url("/api/v1/llm/calls/"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
    let r = app
        .bare_client()
        .get(app.url("/api/v1/keys/12345678"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    // An open live stream is an SSE client while it lasts.
    let stream = app
        .bare_client()
        .get(app.url("/api/v1/stream?topics=calls"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);

    let text = scrape(&app).await;
    promtool_accepts(&text);
    let post =
        r#"sightline_http_requests_total{route="/api/v1/llm/calls",method="POST",status="2xx"}"#;
    assert_eq!(sample(&text, post), Some(1.0), "{text}");
    // Routes are templates: the path's id is not a label.
    assert!(text.contains(r#"route="/api/v1/keys/{id}""#), "{text}");
    assert!(!text.contains("12345678"));
    let histogram = r#"sightline_http_request_duration_seconds_count{route="/api/v1/llm/calls",method="POST",status="2xx"}"#;
    assert_eq!(sample(&text, histogram), Some(1.0));
    assert_eq!(
        sample(&text, r#"sightline_llm_calls_stored_total{source="api"}"#),
        Some(3.0)
    );
    assert!(sample(&text, "sightline_ingest_commit_seconds_count").unwrap() >= 1.0);
    assert!(sample(&text, "sightline_ingest_batch_rows_sum").unwrap() >= 3.0);
    assert_eq!(sample(&text, "sightline_sse_clients"), Some(1.0));
    assert_eq!(sample(&text, "sightline_ingest_queue_rows"), Some(0.0));
    let max = r#"sightline_db_pool_max_connections{pool="writer"}"#;
    assert!(sample(&text, max).unwrap() >= 1.0);
    // The once-a-second writers have a pool of their own, apart from ingest's.
    let collectors = r#"sightline_db_pool_max_connections{pool="collector"}"#;
    assert_eq!(sample(&text, collectors), Some(3.0), "{text}");
    let in_use = r#"sightline_db_pool_connections{pool="api",state="in_use"}"#;
    assert!(sample(&text, in_use).is_some(), "{text}");
    // The scrape itself is in flight while it encodes.
    let scraping = r#"sightline_http_requests_in_flight{route="/metrics"}"#;
    assert_eq!(sample(&text, scraping), Some(1.0));
    assert!(text.contains("sightline_build_info{version="));

    drop(stream);
    // The stream's end is seen once the server notices the closed connection.
    let mut open = 1.0;
    for _ in 0..100 {
        open = sample(&scrape(&app).await, "sightline_sse_clients").unwrap();
        if open == 0.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(open, 0.0);
    // The earlier scrape is counted now, with its status.
    let later = scrape(&app).await;
    let scrapes = r#"sightline_http_requests_total{route="/metrics",method="GET",status="2xx"}"#;
    assert!(sample(&later, scrapes).unwrap() >= 2.0);
    app.shutdown().await;
}

#[tokio::test]
async fn a_configured_token_is_required_to_scrape() {
    let token = "prometheus-scrape-token-42";
    let app = spawn_app_with(|a| a.metrics_token = Some(token.into())).await;
    let url = app.url("/metrics");
    let r = app.bare_client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "missing_token");
    let r = app
        .bare_client()
        .get(&url)
        .bearer_auth("prometheus-scrape-token-43")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = app
        .bare_client()
        .get(&url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(!text.contains(token));
    // Refused scrapes are counted too.
    let refused = r#"sightline_http_requests_total{route="/metrics",method="GET",status="4xx"}"#;
    assert_eq!(sample(&text, refused), Some(2.0));
    app.shutdown().await;
}
