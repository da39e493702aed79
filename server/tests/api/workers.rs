//! AI workers against a real PostgreSQL: heartbeats stored and listed, a silent worker
//! turning lost (in the list, on the live stream and in the minute counts), refusals naming
//! the field, access rules, and an "active workers below N" alert rule.

use std::time::Duration;

use crate::support::{read_until, receivers::Webhook, spawn_app_with, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

fn quick(args: &mut server::config::ServeArgs) {
    args.worker_lost_after = Some("2s".into());
    args.alert_interval = Some("300ms".into());
    args.alert_group_window = Some("0s".into());
}

async fn app() -> (TestApp, String) {
    let app = spawn_app_with(quick).await;
    app.login().await;
    let (_, key) = app.create_key("workers").await;
    (app, key)
}

fn beat(name: &str, role: &str, state: &str) -> Value {
    json!({"name": name, "role": role, "state": state, "task": format!("{name} task"),
           "tasks_done": 7, "cpu_percent": 42.5})
}

async fn heartbeats(app: &TestApp, key: &str, workers: Vec<Value>) -> (u16, Value) {
    app.post_json(
        "/api/v1/workers/heartbeats",
        key,
        &json!({ "workers": workers }),
    )
    .await
}

async fn overview(app: &TestApp, q: &[(&str, &str)]) -> Value {
    let q: Vec<(&str, String)> = q.iter().map(|(k, v)| (*k, v.to_string())).collect();
    let (s, body) = app.get_json("/api/v1/workers", &q).await;
    assert_eq!(s, 200, "{body}");
    body
}

fn state_of<'a>(o: &'a Value, name: &str) -> &'a str {
    o["workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == name)
        .unwrap_or_else(|| panic!("no worker {name} in {o}"))["state"]
        .as_str()
        .unwrap()
}

#[tokio::test]
async fn heartbeats_are_listed_and_a_silent_worker_turns_lost() {
    let (app, key) = app().await;
    let (s, v) = heartbeats(
        &app,
        &key,
        vec![
            beat("embed-1", "embedder", "busy"),
            beat("chat-1", "chat", "active"),
            beat("chat-2", "chat", "idle"),
        ],
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["accepted"], 3);
    assert_eq!(v["lost_after_s"], 2);

    let o = overview(&app, &[]).await;
    assert_eq!(o["counts"]["busy"], 1);
    assert_eq!(o["counts"]["active"], 1);
    assert_eq!(o["counts"]["idle"], 1);
    assert_eq!(o["counts"]["lost"], 0);
    assert_eq!(o["roles"], json!(["chat", "embedder"]));
    let w = &o["workers"][0];
    assert_eq!(w["name"], "chat-1");
    assert_eq!(w["task"], "chat-1 task");
    assert_eq!(w["tasks_done"], 7);
    assert_eq!(w["cpu_percent"], 42.5);
    let chat = overview(&app, &[("role", "chat")]).await;
    assert_eq!(chat["workers"].as_array().unwrap().len(), 2);

    // A live stream hears the loss of the worker that goes silent.
    let r = app
        .bare_client()
        .get(app.url("/api/v1/stream?topics=workers"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut body = Box::pin(r.bytes_stream());
    let mut seen = String::new();
    read_until(&mut body, &mut seen, "event: ready").await;

    // chat-1 and chat-2 keep beating (a later beat of one name in a batch wins); embed-1
    // goes silent.
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (s, v) = heartbeats(
            &app,
            &key,
            vec![
                beat("chat-1", "chat", "idle"),
                beat("chat-1", "", "active"),
                beat("chat-2", "chat", "busy"),
            ],
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["accepted"], 2);
    }
    read_until(&mut body, &mut seen, "\"state\":\"lost\"").await;
    assert!(seen.contains("event: workers"), "{seen}");
    assert!(seen.contains("\"name\":\"embed-1\""), "{seen}");

    let o = overview(&app, &[]).await;
    assert_eq!(state_of(&o, "embed-1"), "lost");
    assert_eq!(state_of(&o, "chat-1"), "active");
    // A heartbeat without a role keeps the role known.
    let chat1 = o["workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "chat-1")
        .unwrap();
    assert_eq!(chat1["role"], "chat");
    let embed = o["workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "embed-1")
        .unwrap();
    assert_eq!(embed["reported_state"], "busy");
    assert_eq!(o["counts"]["lost"], 1);
    // The sweep recorded the minute's counts, the loss included.
    let last = o["series"].as_array().unwrap().last().cloned().unwrap();
    assert_eq!(last["lost"], 1, "{o}");
    assert_eq!(last["active"], 1, "{o}");

    // A heartbeat brings a lost worker back.
    heartbeats(&app, &key, vec![beat("embed-1", "embedder", "idle")]).await;
    let o = overview(&app, &[]).await;
    assert_eq!(state_of(&o, "embed-1"), "idle");

    // A worker silent for more than a week is forgotten by the sweep.
    sqlx::query(
        "UPDATE ai_workers SET last_seen = now() - interval '8 days' WHERE name = 'chat-2'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    for _ in 0..50 {
        let o = overview(&app, &[]).await;
        if o["workers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["name"] != "chat-2")
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chat-2 was not forgotten");
}

#[tokio::test]
async fn bad_heartbeats_are_refused_naming_the_field_and_nothing_is_stored() {
    let (app, key) = app().await;
    let cases = [
        (vec![beat("a", "r", "sleeping")], "workers[0].state"),
        (
            vec![beat("a", "r", "idle"), beat("b", "r", "lost")],
            "workers[1].state",
        ),
        (vec![beat(" ", "r", "idle")], "workers[0].name"),
        (
            vec![json!({"name": "a", "state": "idle", "cpu_percent": -3})],
            "workers[0].cpu_percent",
        ),
        (vec![], "workers"),
        (
            vec![json!({"name": "a", "state": "busy", "batch_size": 40, "batch_capacity": 32})],
            "workers[0].batch_size",
        ),
        (
            vec![json!({"name": "a", "state": "busy", "batch_capacity": 0})],
            "workers[0].batch_capacity",
        ),
    ];
    for (workers, field) in cases {
        let (s, v) = heartbeats(&app, &key, workers).await;
        assert_eq!(s, 422, "{field}: {v}");
        assert_eq!(v["field"], field, "{v}");
    }
    let (s, v) = app
        .post_json(
            "/api/v1/workers/heartbeats",
            &key,
            &json!({"workers": [{"state": "idle"}]}),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["field"], "workers[0].name", "{v}");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM ai_workers")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 0, "a refused batch stores nothing");
    let (s, v) = app
        .get_json("/api/v1/workers", &[("range", "90d".into())])
        .await;
    assert_eq!((s, v["field"].as_str()), (400, Some("range")), "{v}");
}

#[tokio::test]
async fn writes_need_the_ingest_scope_and_forgetting_a_session() {
    let (app, key) = app().await;
    let (_, reader) = app
        .create_key_with(&json!({"name": "dash", "scopes": ["read"]}))
        .await;
    let (s, _) = heartbeats(&app, &reader, vec![beat("a", "r", "idle")]).await;
    assert_eq!(s, 403);
    let (s, _) = heartbeats(&app, "sl_not_a_key", vec![beat("a", "r", "idle")]).await;
    assert_eq!(s, 401);
    let (s, _) = heartbeats(&app, &key, vec![beat("a", "r", "idle")]).await;
    assert_eq!(s, 200);
    let (s, v) = app.get_json_with_key("/api/v1/workers", &reader).await;
    assert_eq!(s, 200, "{v}");
    // Forgetting is for people: a key may not, a session may.
    app.assert_status_with_key(Method::DELETE, "/api/v1/workers/a", &key, 403)
        .await;
    app.assert_status_as_user(Method::DELETE, "/api/v1/workers/a", 200)
        .await;
    app.assert_status_as_user(Method::DELETE, "/api/v1/workers/a", 404)
        .await;
    assert_eq!(overview(&app, &[]).await["workers"], json!([]));
}

#[tokio::test]
async fn a_rule_on_active_workers_below_n_fires() {
    let (app, key) = app().await;
    let hook = Webhook::start(&[]).await;
    let r = app
        .client
        .post(app.url("/api/v1/alerts/channels"))
        .json(&json!({"name": "hook", "kind": "webhook", "url": hook.url(), "format": "sightline"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let channel = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    heartbeats(
        &app,
        &key,
        vec![
            beat("e1", "embedder", "active"),
            beat("e2", "embedder", "error"),
        ],
    )
    .await;
    let rule = json!({"name": "embedders down", "metric": "ai.workers",
        "labels": {"state": "active", "role": "embedder"}, "comparator": "<", "threshold": 2.0,
        "for": "0s", "severity": "critical", "channels": [channel],
        "message": "{{value}} {{labels.role}} workers active"});
    let r = app
        .client
        .post(app.url("/api/v1/alerts/rules"))
        .json(&rule)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let got = hook.wait_for(1, 10).await;
    let body = got[0].json();
    assert_eq!(body["status"], "firing", "{body}");
    assert!(
        body.to_string().contains("1 embedder workers active"),
        "{body}"
    );
}

#[tokio::test]
async fn batch_efficiency_is_each_batch_against_its_capacity() {
    let (app, key) = app().await;
    let (s, v) = heartbeats(
        &app,
        &key,
        vec![
            json!({"name": "vllm-1", "role": "inference", "state": "busy",
                   "batch_size": 12, "batch_capacity": 32}),
            json!({"name": "vllm-2", "role": "inference", "state": "busy",
                   "batch_size": 32, "batch_capacity": 32}),
            beat("chat-1", "chat", "active"),
        ],
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let o = overview(&app, &[]).await;
    let vllm1 = o["workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "vllm-1")
        .unwrap()
        .clone();
    assert_eq!(vllm1["batch_efficiency"], 0.375);
    assert_eq!(vllm1["batch_capacity"], 32);
    // 12 of 32 and 32 of 32; chat-1 reports no batches and does not count.
    assert_eq!(o["batch_efficiency"], 0.6875);
    // A heartbeat that leaves the capacity out keeps the one known.
    let (s, v) = heartbeats(
        &app,
        &key,
        vec![json!({"name": "vllm-1", "state": "busy", "batch_size": 16})],
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let o = overview(&app, &[("role", "inference")]).await;
    assert_eq!(o["workers"][0]["batch_efficiency"], 0.5);
    assert_eq!(o["batch_efficiency"], 0.75);
}
