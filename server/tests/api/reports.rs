//! Report exports against a real PostgreSQL: a calls export (CSV and JSON, over more than
//! one page) equals the calls API for its range; an aggregates export equals the analytics
//! API; API-key groupings; refusals that name the field; access.

use chrono::{Duration, SecondsFormat, Utc};
use serde_json::{json, Value};

use crate::support::{spawn_with_key, TestApp};

/// `n` calls over the last `n * 7` seconds, three models (one without a price), two users.
fn calls(n: i64, prefix: &str) -> Vec<Value> {
    let now = Utc::now();
    (0..n)
        .map(|i| {
            let model = ["gpt-4o-mini", "claude-3-5-haiku", "no-price-model"][(i % 3) as usize];
            json!({"id": format!("{prefix}-{i}"), "provider": "openai", "model": model,
                   "time": (now - Duration::seconds(i * 7 + 1)).to_rfc3339(),
                   "duration_ms": 100.0 + (i % 50) as f64, "input_tokens": 100 + i,
                   "output_tokens": 20 + i % 9, "user_id": format!("u-{}", i % 2),
                   "feature": "chat, \"quoted\""})
        })
        .collect()
}

async fn export(app: &TestApp, q: &[(&str, String)]) -> reqwest::Response {
    app.client
        .get(app.url("/api/v1/reports/export"))
        .query(q)
        .send()
        .await
        .unwrap()
}

/// Every call the calls API lists for [from, to), newest first, page by page.
async fn listed(app: &TestApp, from: &str, to: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut q = vec![
            ("from", from.to_owned()),
            ("to", to.to_owned()),
            ("limit", "500".to_owned()),
        ];
        if let Some(c) = &cursor {
            q.push(("cursor", c.clone()));
        }
        let (s, page) = app.get_json("/api/v1/llm/calls", &q).await;
        assert_eq!(s, 200, "{page}");
        out.extend(page["calls"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

fn usd(micros: &Value) -> String {
    micros
        .as_i64()
        .map(|m| format!("{}.{:06}", m / 1_000_000, m % 1_000_000))
        .unwrap_or_default()
}

#[tokio::test]
async fn a_calls_export_equals_the_calls_api_for_its_range() {
    let (app, key) = spawn_with_key().await;
    // More than one export page (10,000 calls).
    app.ingest(&key, &calls(10_500, "c")).await;
    let to = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    let from = (Utc::now() - Duration::hours(24)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let want = listed(&app, &from, &to).await;
    assert_eq!(want.len(), 10_500);

    let range = |format: &str| {
        vec![
            ("kind", "calls".to_owned()),
            ("format", format.to_owned()),
            ("from", from.clone()),
            ("to", to.clone()),
        ]
    };
    let r = export(&app, &range("csv")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    let disposition = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"sightline-calls-")
            && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    let text = r.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), want.len(), "one row per call");
    for (row, call) in rows.iter().zip(&want) {
        assert_eq!(&row[col("id")], call["id"].as_str().unwrap());
        assert_eq!(&row[col("model")], call["model"].as_str().unwrap());
        assert_eq!(
            &row[col("cost_usd")],
            usd(&call["cost_total_micros"]),
            "{call}"
        );
        assert_eq!(&row[col("input_tokens")], call["input_tokens"].to_string());
        assert_eq!(&row[col("feature")], "chat, \"quoted\"");
    }
    assert!(
        rows.iter().any(|r| r[col("cost_usd")].is_empty()),
        "unpriced calls have no cost"
    );

    let r = export(&app, &range("json")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let got: Vec<Value> = r.json().await.unwrap();
    assert_eq!(got, want, "the JSON export is the calls API's calls");

    // An empty range is a header, or an empty array.
    let empty = [
        ("kind", "calls".to_owned()),
        ("from", "2020-01-01T00:00:00Z".to_owned()),
        ("to", "2020-01-02T00:00:00Z".to_owned()),
    ];
    let text = export(&app, &empty).await.text().await.unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    let mut q = empty.to_vec();
    q.push(("format", "json".to_owned()));
    assert_eq!(export(&app, &q).await.text().await.unwrap(), "[]");
}

#[tokio::test]
async fn an_aggregates_export_equals_the_analytics_api() {
    let (app, key) = spawn_with_key().await;
    app.ingest(&key, &calls(300, "a")).await;
    let q = |format: &str| {
        vec![
            ("range", "24h".to_owned()),
            ("group_by", "model".to_owned()),
            ("bucket", "hour".to_owned()),
            ("format", format.to_owned()),
        ]
    };
    let (s, analytics) = app.get_json("/api/v1/analytics", &q("")[..3]).await;
    assert_eq!(s, 200, "{analytics}");

    let r = export(&app, &q("json")).await;
    assert_eq!(r.status(), 200);
    let exported: Value = r.json().await.unwrap();
    assert_eq!(exported["groups"], analytics["groups"]);
    assert_eq!(exported["totals"], analytics["totals"]);

    let text = export(&app, &q("csv")).await.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let groups = analytics["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 3);
    for g in groups {
        let name = g["key"].as_str().unwrap();
        let total = rows
            .iter()
            .find(|r| &r[col("group")] == name && &r[col("bucket_start")] == "total")
            .unwrap_or_else(|| panic!("no total row for {name}"));
        assert_eq!(&total[col("requests")], g["totals"]["requests"].to_string());
        assert_eq!(&total[col("cost_usd")], usd(&g["totals"]["cost_micros"]));
        let buckets = rows
            .iter()
            .filter(|r| &r[col("group")] == name && &r[col("bucket_start")] != "total")
            .count();
        assert_eq!(buckets, g["buckets"].as_array().unwrap().len());
    }
}

#[tokio::test]
async fn figures_break_down_by_api_key_named_as_people_know_them() {
    let (app, key) = spawn_with_key().await;
    let (_, other) = app.create_key("batch jobs").await;
    app.ingest(&key, &calls(4, "k1")).await;
    app.ingest(&other, &calls(6, "k2")).await;
    let (s, body) = app
        .get_json(
            "/api/v1/analytics",
            &[("range", "24h".into()), ("group_by", "api_key".into())],
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["source"], "raw");
    let groups = body["groups"].as_array().unwrap();
    let batch = groups
        .iter()
        .find(|g| g["key"].as_str().unwrap().starts_with("batch jobs (sl_"))
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(batch["totals"]["requests"], 6);
    assert_eq!(groups.len(), 2, "{body}");
}

#[tokio::test]
async fn bad_exports_are_refused_naming_the_field() {
    let (app, _) = spawn_with_key().await;
    for (q, field) in [
        (vec![("format", "xml")], "format"),
        (vec![("kind", "everything")], "kind"),
        (vec![("range", "500d")], "range"),
        (vec![("range", "soon")], "range"),
        (vec![("group_by", "planet")], "group_by"),
        (vec![("kind", "calls"), ("group_by", "model")], "group_by"),
        (vec![("tz", "Mars/Olympus")], "tz"),
        (vec![("since", "1h")], "since"),
    ] {
        let q: Vec<(&str, String)> = q.into_iter().map(|(k, v)| (k, v.to_owned())).collect();
        let r = export(&app, &q).await;
        assert_eq!(r.status(), 400, "{q:?}");
        let err: Value = r.json().await.unwrap();
        assert_eq!(err["field"], field, "{q:?}: {err}");
    }
    // Reading needs a credential with `read`.
    let url = app.url("/api/v1/reports/export");
    let anonymous = app.bare_client().get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let (_, ingest_only) = app
        .create_key_with(&json!({"name": "agent", "scopes": ["ingest"]}))
        .await;
    let r = app.bare_client().get(&url).bearer_auth(&ingest_only);
    assert_eq!(r.send().await.unwrap().status(), 403);
    let (_, reader) = app
        .create_key_with(&json!({"name": "reports", "scopes": ["read"]}))
        .await;
    let ok = app
        .bare_client()
        .get(&url)
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn the_cli_downloads_what_the_api_exports() {
    let (app, key) = spawn_with_key().await;
    app.ingest(&key, &calls(40, "cli")).await;
    let to = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    let from = (Utc::now() - Duration::hours(1)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("calls.csv");
    let cli = |extra: &[&str]| {
        // Async: the test server runs on this test's runtime thread.
        let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_sightline"));
        c.args(["export", "--server", &app.url("/"), "--api-key", &key]);
        c.args(extra);
        c.env_remove("SIGHTLINE_SERVER")
            .env_remove("SIGHTLINE_API_KEY");
        c
    };
    let run = cli(&["--kind", "calls", "--from", &from, "--to", &to, "--out"])
        .arg(&out)
        .output()
        .await
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let q = [
        ("kind", "calls".to_owned()),
        ("from", from.clone()),
        ("to", to.clone()),
    ];
    let want = export(&app, &q).await.text().await.unwrap();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), want);
    assert_eq!(want.lines().count(), 41);

    // The server's refusal, naming the option, is what the CLI prints.
    let refused = cli(&["--range", "500d"]).output().await.unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("(400 Bad Request)") && stderr.contains("range"),
        "{stderr}"
    );
}

/// The text of a PDF as pdftotext lays it out, after pdftoppm rendered every page.
async fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.pdf");
    std::fs::write(&file, pdf).unwrap();
    let tool = |name: &str| {
        let mut c = tokio::process::Command::new(name);
        c.current_dir(dir.path());
        c
    };
    let missing = "pdftoppm/pdftotext (Debian's poppler-utils; scripts/test.sh installs them)";
    let render = tool("pdftoppm")
        .args(["-png", "-r", "40", "report.pdf", "page"])
        .output()
        .await
        .expect(missing);
    assert!(
        render.status.success(),
        "{}",
        String::from_utf8_lossy(&render.stderr)
    );
    let pages = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".png")
        })
        .count();
    assert_eq!(pages, 2, "two pages rendered");
    let text = tool("pdftotext")
        .args(["-layout", "report.pdf", "-"])
        .output()
        .await
        .expect(missing);
    assert!(text.status.success());
    String::from_utf8(text.stdout).unwrap()
}

#[tokio::test]
async fn the_pdf_report_shows_the_apis_figures() {
    use server::domain::report_pdf::{count, money};
    let (app, key) = spawn_with_key().await;
    app.ingest(&key, &calls(500, "p")).await;
    let budget = json!({"name": "Chat monthly", "scope": {}, "period": "month",
        "timezone": "UTC", "limit_kind": "usd", "limit": 1000.0, "mode": "soft", "enabled": true});
    let r = app
        .client
        .post(app.url("/api/v1/budgets"))
        .json(&budget)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let q = [("range", "24h".to_owned()), ("format", "pdf".to_owned())];
    let r = export(&app, &q).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let pdf = r.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let text = pdf_text(&pdf).await;

    let (_, o) = app
        .get_json("/api/v1/analytics/overview", &[("range", "24h".into())])
        .await;
    let totals = &o["totals"];
    for figure in [
        count(totals["requests"].as_i64().unwrap()),
        count(totals["total_tokens"].as_i64().unwrap()),
        money(totals["cost_micros"].as_i64().unwrap()),
    ] {
        assert!(
            text.contains(&figure),
            "{figure} is not in the PDF:\n{text}"
        );
    }
    for heading in [
        "Summary",
        "Cost over time (USD)",
        "Tokens over time",
        "By model",
        "By provider",
        "Budgets",
        "Chat monthly",
    ] {
        assert!(
            text.contains(heading),
            "{heading} is not in the PDF:\n{text}"
        );
    }
    // Each model's row holds its request count.
    for g in o["by_model"].as_array().unwrap() {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(g["key"].as_str().unwrap()))
            .unwrap_or_else(|| panic!("no row for {}:\n{text}", g["key"]));
        assert!(
            line.contains(&count(g["totals"]["requests"].as_i64().unwrap())),
            "{line}"
        );
    }

    // A PDF summarises figures: calls and a custom breakdown are refused.
    for (q, field) in [
        (vec![("format", "pdf"), ("kind", "calls")], "format"),
        (vec![("format", "pdf"), ("group_by", "user")], "group_by"),
    ] {
        let q: Vec<(&str, String)> = q.into_iter().map(|(k, v)| (k, v.to_owned())).collect();
        let r = export(&app, &q).await;
        assert_eq!(r.status(), 400, "{q:?}");
        let err: Value = r.json().await.unwrap();
        assert_eq!(err["field"], field);
    }
}
