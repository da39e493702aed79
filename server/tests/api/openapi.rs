//! The OpenAPI description against the real server: every route of the API router is
//! described and every described operation is routed; every `$ref` resolves; and real
//! answers of every operation, made with real data, match the schema the document declares
//! for their status.

use std::collections::BTreeSet;

use app::types::system::{CpuSample, HostInfo, MemorySample, SampleBatch, SystemSample};
use chrono::{Duration, Utc};
use reqwest::RequestBuilder;
use serde_json::{json, Value};

use crate::support::{receivers::Webhook, spawn_app, spawn_app_with, TestApp};

type Operation = (String, String);

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// `(method, path)` of every route in `api()` of `src/http/mod.rs`, read from its source:
/// the router cannot list its routes, and this is where they are all declared.
fn routed() -> BTreeSet<Operation> {
    let src = include_str!("../../src/http/mod.rs");
    let start = src.find("fn api(").expect("api() in http/mod.rs");
    let body = &src[start..];
    let body = &body[..body.find("\n}\n").expect("the end of api()")];
    let mut out = BTreeSet::new();
    let mut rest = body;
    while let Some(i) = rest.find(".route(") {
        rest = &rest[i + ".route(".len()..];
        let args = &rest[..closing_paren(rest)];
        let path = args.split('"').nth(1).expect("a route's path literal");
        let router = &args[args.find(',').expect("a method router")..];
        for m in METHODS {
            if calls(router, m) {
                out.insert((m.to_owned(), format!("/api/v1{path}")));
            }
        }
    }
    out
}

/// The index of the `)` that closes an argument list whose `(` was just passed.
fn closing_paren(s: &str) -> usize {
    let mut depth = 1;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced parentheses in api()");
}

/// Whether `s` calls the routing function `name` (`get(`, `.post(`, `routing::put(`), not
/// a handler that merely has that name (`budgets::get)`).
fn calls(s: &str, name: &str) -> bool {
    s.match_indices(&format!("{name}(")).any(|(i, _)| {
        !s[..i]
            .chars()
            .last()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

fn described(doc: &Value) -> BTreeSet<Operation> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if item.get(m).is_some() {
                out.insert((m.to_owned(), path.clone()));
            }
        }
    }
    out
}

async fn document(app: &TestApp) -> Value {
    // Public: a client generator needs no credentials.
    let r = app
        .bare_client()
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    r.json().await.unwrap()
}

fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn every_route_is_described_and_every_description_is_routed() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let routed = routed();
    assert!(routed.len() >= 60, "the route scan found only {routed:?}");
    let described = described(&doc);
    let undescribed: Vec<_> = routed.difference(&described).collect();
    assert!(
        undescribed.is_empty(),
        "routes missing from the document: {undescribed:?}"
    );
    let unrouted: Vec<_> = described.difference(&routed).collect();
    assert!(
        unrouted.is_empty(),
        "described but not routed: {unrouted:?}"
    );

    // The running router answers each operation itself (no 405, not the API's fallback).
    for (method, path) in &described {
        let path = path
            .replace("{id}", "1")
            .replace("{host}", "h")
            .replace("{name}", "n");
        let r = app
            .bare_client()
            .request(method.to_uppercase().parse().unwrap(), app.url(&path))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        assert!(
            status != 405 && body["message"] != "no such API endpoint",
            "{method} {path}: {status} {body}"
        );
    }

    // Every operation names its tag, its credentials, a success and the error answer.
    for (method, path) in &described {
        let op = &doc["paths"][path][method];
        assert!(
            op["tags"].as_array().is_some_and(|t| !t.is_empty()),
            "{method} {path}"
        );
        assert!(
            op["security"].is_array(),
            "{method} {path} names no credentials"
        );
        let answers = op["responses"].as_object().unwrap();
        assert!(
            answers.keys().any(|s| s.starts_with('2')),
            "{method} {path}"
        );
        assert_eq!(
            answers["default"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody"
        );
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    let dangling: BTreeSet<&str> = all
        .into_iter()
        .filter(|r| {
            let name = r.strip_prefix("#/components/schemas/").unwrap_or(r);
            doc["components"]["schemas"].get(name).is_none()
        })
        .collect();
    assert!(dangling.is_empty(), "dangling references: {dangling:?}");
}

/// Checks answers against the document and remembers which operations it has seen.
struct Checker<'a> {
    app: &'a TestApp,
    doc: Value,
    /// Component schemas, with `additionalProperties: false` added where the document
    /// leaves it open, so a field the server sends but the document lacks is caught.
    components: Value,
    seen: BTreeSet<Operation>,
}

impl<'a> Checker<'a> {
    async fn new(app: &'a TestApp) -> Checker<'a> {
        let doc = document(app).await;
        let components = strict(&doc["components"]);
        Checker {
            app,
            doc,
            components,
            seen: BTreeSet::new(),
        }
    }

    fn user(&self, method: &str, path: &str) -> RequestBuilder {
        let method = method.to_uppercase().parse().unwrap();
        self.app.client.request(method, self.app.url(path))
    }

    fn keyed(&self, method: &str, path: &str, key: &str) -> RequestBuilder {
        let method = method.to_uppercase().parse().unwrap();
        let r = self.app.bare_client().request(method, self.app.url(path));
        r.bearer_auth(key)
    }

    /// Sends `req` (an instance of `method template`), asserts the status is `want` and
    /// that the answer matches the schema declared for it; returns the answer.
    async fn check(
        &mut self,
        method: &str,
        template: &str,
        req: RequestBuilder,
        want: u16,
    ) -> Value {
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let content_type = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        // A stream's body never ends: its headers are the answer.
        let text = match content_type.starts_with("text/event-stream") {
            true => String::new(),
            false => r.text().await.unwrap(),
        };
        assert_eq!(status, want, "{method} {template}: {text}");
        let op = &self.doc["paths"][template][method];
        assert!(op.is_object(), "{method} {template} is not described");
        let answer = &op["responses"][status.to_string()];
        assert!(
            answer.is_object(),
            "{method} {template}: {status} is not described"
        );
        self.seen.insert((method.to_owned(), template.to_owned()));
        let Some(content) = answer["content"].as_object() else {
            assert!(
                text.is_empty(),
                "{method} {template}: undescribed body {text}"
            );
            return Value::Null;
        };
        let (declared, media) = content
            .iter()
            .find(|(declared, _)| content_type.starts_with(declared.as_str()))
            .unwrap_or_else(|| panic!("{method} {template}: {content_type} is not described"));
        if declared != "application/json" {
            return Value::Null;
        }
        let body: Value = serde_json::from_str(&text).unwrap();
        let mut schema = media["schema"].clone();
        schema["components"] = self.components.clone();
        let validator = jsonschema::validator_for(&schema)
            .unwrap_or_else(|e| panic!("{method} {template}: bad schema: {e}"));
        let errors: Vec<String> = validator
            .iter_errors(&body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{method} {template} ({status}) does not match its schema:\n{}\n{body:#}",
            errors.join("\n")
        );
        body
    }
}

/// The components with every closed-able object closed: objects that are not parts of an
/// `allOf` (a flattened or tagged type adds properties there) get
/// `additionalProperties: false` unless they say otherwise.
fn strict(components: &Value) -> Value {
    let mut composed = Vec::new();
    fn parts<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    if k == "allOf" {
                        refs(v, out);
                    }
                    parts(v, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| parts(v, out)),
            _ => {}
        }
    }
    parts(components, &mut composed);
    let composed: BTreeSet<String> = composed.iter().map(|r| r.to_string()).collect();
    let mut out = components.clone();
    for (name, schema) in out["schemas"].as_object_mut().unwrap() {
        let r = format!("#/components/schemas/{name}");
        if schema.get("properties").is_some()
            && schema.get("additionalProperties").is_none()
            && !composed.contains(&r)
        {
            schema["additionalProperties"] = json!(false);
        }
    }
    out
}

fn id(v: &Value) -> String {
    v["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}

#[tokio::test]
async fn real_answers_of_every_operation_match_their_schemas() {
    const SHOP: &str = "https://shop.example.com";
    let app = spawn_app_with(|a| a.browser_origins = Some(SHOP.into())).await;
    app.login().await;
    let hook = Webhook::start(&[200]).await;
    let mut c = Checker::new(&app).await;
    let now = Utc::now();
    let ago = |h: i64| (now - Duration::hours(h)).to_rfc3339();

    // Who is calling, and keys.
    let login = json!({"username": "admin", "password": crate::support::ADMIN_PASSWORD});
    c.check(
        "post",
        "/api/v1/auth/login",
        c.user("post", "/api/v1/auth/login").json(&login),
        200,
    )
    .await;
    c.check(
        "get",
        "/api/v1/auth/me",
        c.user("get", "/api/v1/auth/me"),
        200,
    )
    .await;
    let req = c
        .user("post", "/api/v1/keys")
        .json(&json!({"name": "worker", "scopes": ["ingest", "read"]}));
    let created = c.check("post", "/api/v1/keys", req, 201).await;
    let key = created["secret"].as_str().unwrap().to_owned();
    let req = c.user("post", "/api/v1/keys").json(&json!({"name": "old"}));
    let old = c.check("post", "/api/v1/keys", req, 201).await;
    c.check("get", "/api/v1/keys", c.user("get", "/api/v1/keys"), 200)
        .await;
    let path = format!("/api/v1/keys/{}", id(&old["key"]));
    c.check("delete", "/api/v1/keys/{id}", c.user("delete", &path), 200)
        .await;

    // Calls and events.
    let calls: Vec<Value> = (0..6i32)
        .map(|i| {
            json!({"id": format!("c-{i}"), "provider": "openai",
                   "model": if i % 2 == 0 { "gpt-4o-mini" } else { "unpriced-model" },
                   "time": ago(i64::from(i)), "duration_ms": 800.0 + f64::from(i), "ttft_ms": 100.0,
                   "input_tokens": 1000, "output_tokens": 200, "session_id": "sess-1",
                   "user_id": "u-1", "feature": "chat", "metadata": {"tenant": "acme"}})
        })
        .collect();
    let req = c
        .keyed("post", "/api/v1/llm/calls", &key)
        .json(&json!({"calls": calls}));
    c.check("post", "/api/v1/llm/calls", req, 200).await;
    let events = json!({"events": [
        {"type": "started", "id": "e-1", "provider": "openai", "model": "gpt-4o-mini"},
        {"type": "completed", "id": "e-1", "input_tokens": 10, "output_tokens": 5}]});
    let req = c.keyed("post", "/api/v1/llm/events", &key).json(&events);
    c.check("post", "/api/v1/llm/events", req, 200).await;
    let partly = json!({"events": [{"type": "completed", "id": "e-2"}]});
    let req = c.keyed("post", "/api/v1/llm/events", &key).json(&partly);
    c.check("post", "/api/v1/llm/events", req, 207).await;
    let req = c
        .keyed("get", "/api/v1/llm/calls", &key)
        .query(&[("limit", "3")]);
    c.check("get", "/api/v1/llm/calls", req, 200).await;

    // Prices.
    let price = json!({"model_pattern": "gpt-4o-mini", "input_per_mtok_micros": 150_000,
                       "output_per_mtok_micros": 600_000, "effective_from": ago(48)});
    let req = c.user("post", "/api/v1/prices").json(&price);
    c.check("post", "/api/v1/prices", req, 201).await;
    c.check(
        "get",
        "/api/v1/prices",
        c.user("get", "/api/v1/prices"),
        200,
    )
    .await;
    let req = c
        .user("get", "/api/v1/prices/unpriced")
        .query(&[("range", "7d")]);
    c.check("get", "/api/v1/prices/unpriced", req, 200).await;
    let req = c
        .user("post", "/api/v1/prices/recost")
        .json(&json!({"from": ago(24), "to": now.to_rfc3339()}));
    c.check("post", "/api/v1/prices/recost", req, 200).await;
    let req = c.user("get", "/api/v1/prices/recosts");
    c.check("get", "/api/v1/prices/recosts", req, 200).await;

    // Budgets: a hard one small enough to refuse, so there are events too.
    let budget = json!({"name": "Chat", "scope": {"feature": "chat"}, "period": "day",
                        "timezone": "UTC", "limit_kind": "usd", "limit": 0.0001,
                        "mode": "hard", "enabled": true});
    let req = c.user("post", "/api/v1/budgets").json(&budget);
    let b = id(&c.check("post", "/api/v1/budgets", req, 201).await);
    let one = format!("/api/v1/budgets/{b}");
    c.check(
        "get",
        "/api/v1/budgets",
        c.user("get", "/api/v1/budgets"),
        200,
    )
    .await;
    c.check("get", "/api/v1/budgets/{id}", c.user("get", &one), 200)
        .await;
    let mut changed = budget.clone();
    changed["name"] = json!("Chat (hard)");
    let req = c.user("put", &one).json(&changed);
    c.check("put", "/api/v1/budgets/{id}", req, 200).await;
    let req = c.user("get", &format!("{one}/series"));
    c.check("get", "/api/v1/budgets/{id}/series", req, 200)
        .await;
    let ask = json!({"provider": "openai", "model": "gpt-4o-mini", "feature": "chat"});
    let req = c.keyed("post", "/api/v1/budgets/check", &key).json(&ask);
    c.check("post", "/api/v1/budgets/check", req, 200).await;
    let hold = json!({"feature": "other", "cost_usd": 0.01});
    let req = c.keyed("post", "/api/v1/budgets/reserve", &key).json(&hold);
    c.check("post", "/api/v1/budgets/reserve", req, 200).await;
    let req = c.user("get", "/api/v1/budgets/events");
    c.check("get", "/api/v1/budgets/events", req, 200).await;

    // Alerts: a channel, a rule, a silence, deliveries and notices.
    let channel = json!({"name": "hook", "kind": "webhook", "url": hook.url(),
                         "secret": "a-webhook-secret-of-32-characters"});
    let req = c.user("post", "/api/v1/alerts/channels").json(&channel);
    let ch = id(&c.check("post", "/api/v1/alerts/channels", req, 201).await);
    let ch_path = format!("/api/v1/alerts/channels/{ch}");
    let req = c.user("get", "/api/v1/alerts/channels");
    c.check("get", "/api/v1/alerts/channels", req, 200).await;
    let req = c
        .user("put", &ch_path)
        .json(&json!({"name": "hook 2", "kind": "webhook", "url": hook.url()}));
    c.check("put", "/api/v1/alerts/channels/{id}", req, 200)
        .await;
    let req = c.user("post", &format!("{ch_path}/test"));
    c.check("post", "/api/v1/alerts/channels/{id}/test", req, 200)
        .await;
    let rule = json!({"name": "slow chat", "metric": "gen_ai.client.operation.duration", "aggregation": "p95",
                      "window": "5m", "comparator": ">", "threshold": 1.0, "for": "0s",
                      "severity": "warning", "channels": [ch.parse::<i64>().unwrap()]});
    let req = c.user("post", "/api/v1/alerts/rules").json(&rule);
    let r = id(&c.check("post", "/api/v1/alerts/rules", req, 201).await);
    let rule_path = format!("/api/v1/alerts/rules/{r}");
    let req = c.user("get", "/api/v1/alerts/rules");
    c.check("get", "/api/v1/alerts/rules", req, 200).await;
    c.check(
        "get",
        "/api/v1/alerts/rules/{id}",
        c.user("get", &rule_path),
        200,
    )
    .await;
    let mut rule2 = rule.clone();
    rule2["threshold"] = json!(2.0);
    let req = c.user("put", &rule_path).json(&rule2);
    c.check("put", "/api/v1/alerts/rules/{id}", req, 200).await;
    let req = c.user("get", &format!("{rule_path}/series"));
    c.check("get", "/api/v1/alerts/rules/{id}/series", req, 200)
        .await;
    let req = c.user("get", "/api/v1/alerts/metrics");
    c.check("get", "/api/v1/alerts/metrics", req, 200).await;
    let req = c.user("get", "/api/v1/alerts/status");
    c.check("get", "/api/v1/alerts/status", req, 200).await;
    let req = c.user("get", "/api/v1/alerts/history");
    c.check("get", "/api/v1/alerts/history", req, 200).await;
    let silence =
        json!({"matchers": {"model": "gpt-4o-mini"}, "duration": "1h", "comment": "deploy"});
    let req = c.user("post", "/api/v1/alerts/silences").json(&silence);
    let s = id(&c.check("post", "/api/v1/alerts/silences", req, 201).await);
    let req = c.user("get", "/api/v1/alerts/silences");
    c.check("get", "/api/v1/alerts/silences", req, 200).await;
    let req = c.user("delete", &format!("/api/v1/alerts/silences/{s}"));
    c.check("delete", "/api/v1/alerts/silences/{id}", req, 200)
        .await;
    let req = c.user("get", "/api/v1/alerts/deliveries");
    c.check("get", "/api/v1/alerts/deliveries", req, 200).await;
    let req = c.user("get", "/api/v1/alerts/notices");
    c.check("get", "/api/v1/alerts/notices", req, 200).await;
    let req = c
        .user("post", "/api/v1/alerts/notices/read")
        .json(&json!({}));
    c.check("post", "/api/v1/alerts/notices/read", req, 200)
        .await;

    // Rate limits, analytics, sessions.
    let req = c.user("get", "/api/v1/rate-limits");
    let limits = c.check("get", "/api/v1/rate-limits", req, 200).await;
    let mut limits = limits;
    limits["limits"] = json!([{"subject": "user", "value": "*", "requests_per_minute": 100}]);
    let req = c.user("put", "/api/v1/rate-limits").json(&limits);
    c.check("put", "/api/v1/rate-limits", req, 200).await;
    for group_by in ["none", "model", "feature"] {
        let q = [("range", "24h"), ("group_by", group_by)];
        let req = c.user("get", "/api/v1/analytics").query(&q);
        c.check("get", "/api/v1/analytics", req, 200).await;
    }
    for q in [
        [("kind", "aggregates"), ("format", "csv")],
        [("kind", "aggregates"), ("format", "json")],
        [("kind", "calls"), ("format", "csv")],
        [("kind", "calls"), ("format", "json")],
        [("kind", "aggregates"), ("format", "pdf")],
    ] {
        let req = c.user("get", "/api/v1/reports/export").query(&q);
        c.check("get", "/api/v1/reports/export", req, 200).await;
    }
    let req = c
        .user("get", "/api/v1/analytics/overview")
        .query(&[("range", "24h")]);
    c.check("get", "/api/v1/analytics/overview", req, 200).await;
    let req = c.user("get", "/api/v1/sessions");
    c.check("get", "/api/v1/sessions", req, 200).await;
    let req = c.user("get", "/api/v1/sessions/sess-1");
    c.check("get", "/api/v1/sessions/{id}", req, 200).await;

    // Providers and the proxy's records.
    let provider =
        json!({"kind": "openai", "base_url": "http://127.0.0.1:9", "api_key": "sk-test-1234"});
    let req = c.user("put", "/api/v1/providers/oai").json(&provider);
    c.check("put", "/api/v1/providers/{name}", req, 200).await;
    let req = c.user("get", "/api/v1/providers");
    c.check("get", "/api/v1/providers", req, 200).await;
    let req = c.user("get", "/api/v1/proxy/records");
    c.check("get", "/api/v1/proxy/records", req, 200).await;
    let req = c.user("delete", "/api/v1/providers/oai");
    c.check("delete", "/api/v1/providers/{name}", req, 200)
        .await;

    // Scheduled reports through an in-app channel.
    let req = c
        .user("post", "/api/v1/alerts/channels")
        .json(&json!({"name": "reports", "kind": "in_app"}));
    let inbox = id(&c.check("post", "/api/v1/alerts/channels", req, 201).await);
    let schedule = json!({"name": "Monthly", "cadence": "monthly", "timezone": "Europe/Berlin", "channel_ids": [inbox.parse::<i64>().unwrap()]});
    let req = c.user("post", "/api/v1/reports/schedules").json(&schedule);
    let sched = id(&c.check("post", "/api/v1/reports/schedules", req, 201).await);
    let req = c.user("get", "/api/v1/reports/schedules");
    c.check("get", "/api/v1/reports/schedules", req, 200).await;
    let req = c.user("post", &format!("/api/v1/reports/schedules/{sched}/send"));
    c.check("post", "/api/v1/reports/schedules/{id}/send", req, 200)
        .await;
    let req = c.user("delete", &format!("/api/v1/reports/schedules/{sched}"));
    c.check("delete", "/api/v1/reports/schedules/{id}", req, 200)
        .await;

    // Benchmarks against a local upstream: one run that finishes, one cancelled.
    let up = crate::support::bench_upstream::start().await;
    let lab = json!({"kind": "openai", "base_url": up.url(), "api_key": "sk-lab"});
    let req = c.user("put", "/api/v1/providers/lab").json(&lab);
    c.check("put", "/api/v1/providers/{name}", req, 200).await;
    let req = c.user("get", "/api/v1/benchmarks/models");
    c.check("get", "/api/v1/benchmarks/models", req, 200).await;
    let run = json!({"models": ["lab/good-fast"], "prompts": ["hi"], "expected": ["HI"], "scoring": "exact"});
    let req = c.user("post", "/api/v1/benchmarks").json(&run);
    let done = id(&c.check("post", "/api/v1/benchmarks", req, 201).await);
    let stalled = json!({"models": ["lab/stall"], "prompts": ["hi"]});
    let req = c.user("post", "/api/v1/benchmarks").json(&stalled);
    let going = id(&c.check("post", "/api/v1/benchmarks", req, 201).await);
    let req = c.user("post", &format!("/api/v1/benchmarks/{going}/cancel"));
    c.check("post", "/api/v1/benchmarks/{id}/cancel", req, 202)
        .await;
    for _ in 0..200 {
        let (_, d) = app
            .get_json(&format!("/api/v1/benchmarks/{done}"), &[])
            .await;
        if d["run"]["status"] == "done" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let req = c.user("get", &format!("/api/v1/benchmarks/{done}"));
    c.check("get", "/api/v1/benchmarks/{id}", req, 200).await;
    let req = c.user("get", "/api/v1/benchmarks");
    c.check("get", "/api/v1/benchmarks", req, 200).await;
    let req = c.user("delete", &format!("/api/v1/benchmarks/{done}"));
    c.check("delete", "/api/v1/benchmarks/{id}", req, 204).await;

    // System: a sample from an agent, read back every way.
    let batch = SampleBatch {
        host: HostInfo {
            hostname: "web-1".into(),
            os: "Debian".into(),
            cores: 2,
            memory_total: 1000,
            ..Default::default()
        },
        samples: vec![SystemSample {
            time: now - Duration::seconds(5),
            cpu: CpuSample {
                total: 40.0,
                cores: vec![30.0, 50.0],
                ..Default::default()
            },
            memory: MemorySample {
                total: 1000,
                used: 400,
                ..Default::default()
            },
            ..Default::default()
        }],
    };
    let req = c.keyed("post", "/api/v1/system/samples", &key).json(&batch);
    c.check("post", "/api/v1/system/samples", req, 200).await;
    let req = c.user("get", "/api/v1/system/hosts");
    c.check("get", "/api/v1/system/hosts", req, 200).await;
    for (suffix, template) in [
        ("", "/api/v1/system/hosts/{host}"),
        (
            "/metrics?series=cpu.total,mem.*",
            "/api/v1/system/hosts/{host}/metrics",
        ),
        ("/processes", "/api/v1/system/hosts/{host}/processes"),
        ("/gpus", "/api/v1/system/hosts/{host}/gpus"),
    ] {
        let req = c.user("get", &format!("/api/v1/system/hosts/web-1{suffix}"));
        c.check("get", template, req, 200).await;
    }

    // Application requests.
    let requests: Vec<Value> = (0..5i32)
        .map(|i| {
            json!({"service": "shop", "route": "/cart", "method": "GET",
                   "status": if i == 0 { 500 } else { 200 }, "duration_ms": 20.0 + f64::from(i)})
        })
        .collect();
    let req = c
        .keyed("post", "/api/v1/requests", &key)
        .json(&json!({"requests": requests}));
    c.check("post", "/api/v1/requests", req, 200).await;
    let req = c.user("get", "/api/v1/apps").query(&[("range", "1h")]);
    c.check("get", "/api/v1/apps", req, 200).await;

    // The browser: a public key in a beacon from an allowed site.
    let req = c
        .user("post", "/api/v1/keys")
        .json(&json!({"name": "site", "scopes": ["browser"]}));
    let browser_key = c.check("post", "/api/v1/keys", req, 201).await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let report = json!({"key": browser_key, "events": [
        {"type": "vital", "name": "LCP", "value": 1800.0, "page": "/cart"},
        {"type": "error", "message": "TypeError: cart is null", "page": "/cart"}]});
    let req = app
        .bare_client()
        .post(app.url("/api/v1/vitals"))
        .header("origin", SHOP)
        .header("content-type", "text/plain;charset=UTF-8")
        .body(report.to_string());
    c.check("post", "/api/v1/vitals", req, 200).await;
    let req = c.user("get", "/api/v1/frontend").query(&[("range", "24h")]);
    c.check("get", "/api/v1/frontend", req, 200).await;
    let req = c.user("get", "/api/v1/database").query(&[("range", "15m")]);
    c.check("get", "/api/v1/database", req, 200).await;
    let req = c
        .user("post", "/api/v1/feedback")
        .json(&json!({"call_id": "c-1", "rating": 4}));
    c.check("post", "/api/v1/feedback", req, 200).await;
    let req = c
        .user("get", "/api/v1/models/health")
        .query(&[("range", "24h")]);
    c.check("get", "/api/v1/models/health", req, 200).await;
    let req = c
        .user("put", "/api/v1/gpu/bindings/vllm")
        .json(&json!({"host": "web-1", "gpu": 0}));
    c.check("put", "/api/v1/gpu/bindings/{provider}", req, 200)
        .await;
    let req = c.user("get", "/api/v1/gpu/bindings");
    c.check("get", "/api/v1/gpu/bindings", req, 200).await;
    let req = c
        .user("get", "/api/v1/gpu/attribution")
        .query(&[("range", "1h")]);
    c.check("get", "/api/v1/gpu/attribution", req, 200).await;
    let req = c.user("delete", "/api/v1/gpu/bindings/vllm");
    c.check("delete", "/api/v1/gpu/bindings/{provider}", req, 200)
        .await;
    let req = c
        .user("get", "/api/v1/analytics/users")
        .query(&[("range", "7d")]);
    c.check("get", "/api/v1/analytics/users", req, 200).await;
    let beats = json!({"workers": [{"name": "w-1", "role": "chat", "state": "busy",
        "task": "t", "tasks_done": 3, "cpu_percent": 12.0}]});
    let req = c.user("post", "/api/v1/workers/heartbeats").json(&beats);
    c.check("post", "/api/v1/workers/heartbeats", req, 200)
        .await;
    let req = c.user("get", "/api/v1/workers").query(&[("range", "1h")]);
    c.check("get", "/api/v1/workers", req, 200).await;
    let req = c.user("delete", "/api/v1/workers/w-1");
    c.check("delete", "/api/v1/workers/{name}", req, 200).await;

    // The live stream: its content type; the events themselves are not JSON schemas.
    let req = c
        .user("get", "/api/v1/stream")
        .query(&[("topics", "calls")]);
    c.check("get", "/api/v1/stream", req, 200).await;

    // Deletions, answered with what was deleted.
    let req = c.user("delete", "/api/v1/sessions/sess-1");
    c.check("delete", "/api/v1/sessions/{id}", req, 200).await;
    c.check(
        "delete",
        "/api/v1/alerts/rules/{id}",
        c.user("delete", &rule_path),
        200,
    )
    .await;
    let req = c.user("delete", &ch_path);
    c.check("delete", "/api/v1/alerts/channels/{id}", req, 200)
        .await;
    c.check(
        "delete",
        "/api/v1/budgets/{id}",
        c.user("delete", &one),
        200,
    )
    .await;
    let req = c.user("post", "/api/v1/auth/logout");
    c.check("post", "/api/v1/auth/logout", req, 204).await;

    // Every operation was answered and checked, but the document itself.
    let unchecked: Vec<_> = described(&c.doc)
        .difference(&c.seen)
        .filter(|(method, path)| {
            (method.as_str(), path.as_str()) != ("get", "/api/v1/openapi.json")
        })
        .cloned()
        .collect();
    assert!(
        unchecked.is_empty(),
        "operations never checked: {unchecked:?}"
    );
}
