//! Budgets: validation, spend equal to SQL and to the analytics API, events, the check and
//! reserve endpoints, and enforcement in the proxy, concurrent and across two servers.

use std::time::Duration;

use crate::support::{
    spawn_app, spawn_app_with, spawn_on, spawn_with_key, upstream, TestApp, ADMIN_PASSWORD,
};
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};
use server::demo::Generator;

async fn create(app: &TestApp, body: &Value) -> (StatusCode, Value) {
    let r = app
        .client
        .post(app.url("/api/v1/budgets"))
        .json(body)
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

fn budget(name: &str, scope: Value, kind: &str, limit: f64, mode: &str) -> Value {
    json!({"name": name, "scope": scope, "period": "day", "timezone": "UTC",
           "limit_kind": kind, "limit": limit, "mode": mode, "enabled": true})
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

/// Spend of a scope over `[from, to)` straight from the calls: (micro-USD, tokens, calls).
async fn sql_spend(
    app: &TestApp,
    scope: &Value,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> (i64, i64, i64) {
    sqlx::query_as(
        "SELECT coalesce(sum(coalesce(cost_total_micros, 0)), 0)::bigint,
                coalesce(sum(input_tokens + output_tokens), 0)::bigint, count(*)
         FROM llm_calls WHERE time >= $1 AND time < $2
           AND ($3::text IS NULL OR provider = $3) AND ($4::text IS NULL OR model = $4)
           AND ($5::text IS NULL OR feature = $5) AND ($6::text IS NULL OR user_id = $6)",
    )
    .bind(from)
    .bind(to)
    .bind(scope["provider"].as_str())
    .bind(scope["model"].as_str())
    .bind(scope["feature"].as_str())
    .bind(scope["user"].as_str())
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn bad_budgets_are_refused_by_field() {
    let app = spawn_app().await;
    app.login().await;
    let good = budget("Team", json!({}), "usd", 100.0, "soft");
    assert_eq!(create(&app, &good).await.0, StatusCode::CREATED);
    let mut cases: Vec<(Value, &str)> = Vec::new();
    let with = |k: &str, v: Value| {
        let mut b = budget("Other", json!({}), "usd", 100.0, "soft");
        b[k] = v;
        b
    };
    cases.push((with("limit", json!(0)), "limit"));
    cases.push((with("limit", json!(-5)), "limit"));
    cases.push((with("scope", json!({"team": "a"})), "scope.team"));
    cases.push((with("timezone", json!("Mars/Olympus")), "timezone"));
    let mut monthly = with("period", json!("month"));
    monthly["reset_day"] = json!(31);
    cases.push((monthly, "reset_day"));
    cases.push((with("name", json!("n".repeat(101))), "name"));
    cases.push((with("name", json!("team")), "name"));
    cases.push((with("limit_kind", json!("euros")), "limit_kind"));
    for (body, field) in cases {
        let (status, err) = create(&app, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {err}");
        assert_eq!(err["field"], field, "{body} → {err}");
    }
    // Only the first was stored; a key may read but not change budgets.
    let (_, list) = app.get_json("/api/v1/budgets", &[]).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (_, key) = app.create_key("reader").await;
    let r = app
        .bare_client()
        .post(app.url("/api/v1/budgets"))
        .bearer_auth(&key)
        .json(&budget("By key", json!({}), "usd", 1.0, "soft"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn spend_equals_sql_and_analytics_for_random_calls_and_scopes() {
    let (app, key) = spawn_with_key().await;
    let now = Utc::now();
    // Budgets made before the calls count them as they arrive; budgets made after rebuild
    // their counters from the stored calls. Both must agree with SQL.
    let scopes = [
        json!({}),
        json!({"provider": "openai"}),
        json!({"provider": "anthropic", "model": "claude-sonnet-4"}),
        json!({"feature": "support-bot"}),
        json!({"user": "user-3"}),
    ];
    for (i, s) in scopes.iter().enumerate() {
        let mut b = budget(&format!("before {i}"), s.clone(), "usd", 1e6, "soft");
        b["period"] = json!("week");
        b["timezone"] = json!("Europe/Berlin");
        assert_eq!(create(&app, &b).await.0, StatusCode::CREATED);
    }
    let calls: Vec<_> = Generator::new(3_000, 10, now, 7).collect();
    for chunk in calls.chunks(500) {
        app.ingest(&key, chunk).await;
    }
    // A retried batch is not counted twice.
    app.ingest(&key, &calls[..200]).await;
    for (i, s) in scopes.iter().enumerate() {
        let mut b = budget(&format!("after {i}"), s.clone(), "tokens", 1e12, "soft");
        b["period"] = json!("week");
        b["timezone"] = json!("Europe/Berlin");
        assert_eq!(create(&app, &b).await.0, StatusCode::CREATED);
    }
    let (status, list) = app.get_json("/api/v1/budgets", &[]).await;
    assert_eq!(status, 200, "{list}");
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2 * scopes.len());
    let mut nonzero = 0;
    for b in list {
        let st = &b["status"];
        let (from, to) = (time(&st["period_start"]), time(&st["resets_at"]));
        let (micros, tokens, _) = sql_spend(&app, &b["scope"], from, to).await;
        let want = if b["limit_kind"] == "usd" {
            micros as f64 / 1e6
        } else {
            tokens as f64
        };
        let got = st["spent"].as_f64().unwrap();
        assert!(
            (got - want).abs() < 1e-6,
            "{}: {got} vs SQL {want}",
            b["name"]
        );
        nonzero += usize::from(want > 0.0);
        // The last 12 periods too.
        let history = st["history"].as_array().unwrap();
        assert_eq!(history.len(), 13);
        let prev = &history[11];
        let (pm, pt, _) = sql_spend(&app, &b["scope"], time(&prev["start"]), from).await;
        let want = if b["limit_kind"] == "usd" {
            pm as f64 / 1e6
        } else {
            pt as f64
        };
        assert!(
            (prev["spent"].as_f64().unwrap() - want).abs() < 1e-6,
            "{}",
            b["name"]
        );
    }
    assert!(
        nonzero >= 6,
        "the generated calls should fall in most scopes"
    );

    // The analytics API shows the same cost for the same scope and window.
    let b = list.iter().find(|b| b["name"] == "before 2").unwrap();
    let q = vec![
        (
            "from",
            b["status"]["period_start"].as_str().unwrap().to_owned(),
        ),
        ("to", b["status"]["resets_at"].as_str().unwrap().to_owned()),
        ("tz", "Europe/Berlin".to_owned()),
        ("provider", "anthropic".to_owned()),
        ("model", "claude-sonnet-4".to_owned()),
    ];
    let (status, body) = app.get_json("/api/v1/analytics", &q).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(time(&body["from"]), time(&b["status"]["period_start"]));
    let analytics = body["totals"]["cost_micros"].as_i64().unwrap() as f64 / 1e6;
    assert!(
        (analytics - b["status"]["spent"].as_f64().unwrap()).abs() < 1e-6,
        "analytics {analytics} vs budget {}",
        b["status"]["spent"]
    );

    // Its chart's points add up to the same spend.
    let (status, series) = app
        .get_json(&format!("/api/v1/budgets/{}/series", b["id"]), &[])
        .await;
    assert_eq!(status, 200, "{series}");
    let sum: f64 = series["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["spent"].as_f64().unwrap())
        .sum();
    assert!((sum - b["status"]["spent"].as_f64().unwrap()).abs() < 1e-6);

    // Changing a budget's scope recounts it; deleting it removes it.
    let id = b["id"].as_i64().unwrap();
    let mut changed = budget(
        "before 2",
        json!({"provider": "openai"}),
        "usd",
        1e6,
        "soft",
    );
    changed["period"] = json!("week");
    changed["timezone"] = json!("Europe/Berlin");
    let r = app
        .client
        .put(app.url(&format!("/api/v1/budgets/{id}")))
        .json(&changed)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let after: Value = r.json().await.unwrap();
    let openai = list.iter().find(|b| b["name"] == "before 1").unwrap();
    assert_eq!(after["status"]["spent"], openai["status"]["spent"]);
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/budgets/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (status, _) = app.get_json(&format!("/api/v1/budgets/{id}"), &[]).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn thresholds_and_a_projected_overrun_are_recorded_once() {
    let (app, key) = spawn_with_key().await;
    // A monthly budget: the period began days ago, so spending 60 % in the last minutes
    // projects far past the limit.
    let today = Utc::now().date_naive();
    let reset_day = if chrono::Datelike::day(&today) == 1 {
        2
    } else {
        1
    };
    let mut b = budget(
        "Monthly",
        json!({"user": "alice"}),
        "requests",
        10.0,
        "soft",
    );
    b["period"] = json!("month");
    b["reset_day"] = json!(reset_day);
    assert_eq!(create(&app, &b).await.0, StatusCode::CREATED);
    let call = |i: usize| {
        json!({"id": format!("c{i}"), "provider": "openai", "model": "gpt-4o-mini",
               "user_id": "alice", "duration_ms": 10.0})
    };
    let calls: Vec<Value> = (0..6).map(call).collect();
    app.ingest(&key, &calls).await;
    let mut events = Value::Null;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        events = app.get_json("/api/v1/budgets/events", &[]).await.1;
        if events.as_array().unwrap().len() >= 2 {
            break;
        }
    }
    let kinds: Vec<(String, Value)> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["threshold"].clone(),
            )
        })
        .collect();
    assert!(kinds.contains(&("threshold".into(), json!(50))), "{events}");
    assert!(
        kinds.contains(&("projection".into(), Value::Null)),
        "{events}"
    );
    assert!(
        !kinds.contains(&("threshold".into(), json!(80))),
        "{events}"
    );
    // More calls: 80 % and 100 % follow, and nothing is recorded twice.
    app.ingest(&key, &(6..11).map(call).collect::<Vec<_>>())
        .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (_, events) = app.get_json("/api/v1/budgets/events", &[]).await;
    let n = events.as_array().unwrap().len();
    assert_eq!(n, 4, "50, projection, 80, 100: {events}");
    let (_, list) = app.get_json("/api/v1/budgets", &[]).await;
    assert_eq!(list[0]["status"]["spent"], 11.0);
    assert_eq!(list[0]["status"]["remaining"], 0.0);
}

async fn add_provider(app: &TestApp, up: &upstream::Upstream) {
    let r = app
        .client
        .put(app.url("/api/v1/providers/oai"))
        .json(&json!({"kind": "openai", "base_url": up.url(), "api_key": "sk-upstream"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

async fn chat(app: &TestApp, key: &str, model: &str, max_tokens: u64) -> reqwest::Response {
    app.bare_client()
        .post(app.url("/proxy/oai/v1/chat/completions"))
        .bearer_auth(key)
        .header("x-sightline-user", "bob")
        .json(&json!({"model": model, "max_tokens": max_tokens,
                      "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap()
}

fn chat_count(up: &upstream::Upstream) -> usize {
    up.seen
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.0 == "chat")
        .count()
}

#[tokio::test]
async fn a_spent_hard_budget_refuses_in_the_proxy_and_the_check_agrees() {
    let up = upstream::start().await;
    let app = spawn_app().await;
    app.login().await;
    add_provider(&app, &up).await;
    let (_, key) = app.create_key("proxy").await;
    let (status, b) = create(
        &app,
        &budget(
            "Bob's calls",
            json!({"user": "bob"}),
            "requests",
            2.0,
            "hard",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    for _ in 0..2 {
        let r = chat(&app, &key, "openai-small", 50).await;
        assert_eq!(r.status(), 200);
    }
    app.wait_for_calls(2).await;
    let r = chat(&app, &key, "openai-small", 50).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: i64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0 && wait <= 86_400, "{wait}");
    assert_eq!(r.headers()["x-should-retry"], "false");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "budget_exceeded");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("Bob's calls") && message.contains("resets at"),
        "{message}"
    );
    assert_eq!(
        chat_count(&up),
        2,
        "the refused call never reached the upstream"
    );
    // Other users are not in the budget's scope.
    let r = app
        .bare_client()
        .post(app.url("/proxy/oai/v1/chat/completions"))
        .bearer_auth(&key)
        .json(&json!({"model": "openai-small", "messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // The check endpoint agrees, and names the budget.
    let check = |user: &str| {
        app.bare_client()
            .post(app.url("/api/v1/budgets/check"))
            .bearer_auth(&key)
            .json(&json!({"provider": "oai", "model": "openai-small", "user": user}))
            .send()
    };
    let r: Value = check("bob").await.unwrap().json().await.unwrap();
    assert_eq!(r["allowed"], false, "{r}");
    assert_eq!(r["budget"]["name"], "Bob's calls");
    assert_eq!(r["budget"]["remaining"], 0.0);
    let r: Value = check("carol").await.unwrap().json().await.unwrap();
    assert_eq!(r["allowed"], true, "{r}");
    let (_, list) = app.get_json("/api/v1/budgets", &[]).await;
    assert_eq!(list[0]["status"]["blocking"], true);
}

/// Tokens a chat with `max_tokens` of 1000 and a one-word prompt may use: 1000 plus a small
/// input estimate. A limit of 5,500 has room for five such calls and not six.
const ROOM_FOR_FIVE: f64 = 5_500.0;

async fn hard_token_budget(app: &TestApp) {
    let (status, b) = create(
        app,
        &budget(
            "Tokens",
            json!({"provider": "oai"}),
            "tokens",
            ROOM_FOR_FIVE,
            "hard",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
}

#[tokio::test]
async fn small_batches_committed_side_by_side_count_once_in_budgets_and_rollups() {
    let (app, key) = spawn_with_key().await;
    // Budgets with overlapping scopes, so every group commit adds to several counter rows
    // that other commits in flight add to as well.
    let scopes = [
        json!({}),
        json!({"provider": "openai"}),
        json!({"feature": "support-bot"}),
        json!({"user": "user-3"}),
    ];
    for (i, s) in scopes.iter().enumerate() {
        let b = budget(&format!("b{i}"), s.clone(), "tokens", 1e12, "soft");
        assert_eq!(create(&app, &b).await.0, StatusCode::CREATED);
    }
    let now = Utc::now();
    let calls: Vec<_> = Generator::new(2_400, 1, now, 11).collect();
    // 96 batches of 25 from 12 clients at once: the pipeline's commits overlap.
    let clients = calls.chunks(200).map(|mine| async {
        for batch in mine.chunks(25) {
            app.ingest(&key, batch).await;
        }
    });
    futures_util::future::join_all(clients).await;
    assert_eq!(app.call_count().await, 2_400);
    app.settled().await;
    for tier in ["llm_rollup_minute", "llm_rollup_hour"] {
        let calls: i64 = sqlx::query_scalar(&format!("SELECT sum(calls)::bigint FROM {tier}"))
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert_eq!(calls, 2_400, "{tier}");
    }
    let (status, list) = app.get_json("/api/v1/budgets", &[]).await;
    assert_eq!(status, 200, "{list}");
    for b in list.as_array().unwrap() {
        let st = &b["status"];
        let (from, to) = (time(&st["period_start"]), time(&st["resets_at"]));
        let (_, tokens, _) = sql_spend(&app, &b["scope"], from, to).await;
        assert_eq!(
            st["spent"].as_f64().unwrap(),
            tokens as f64,
            "{}",
            b["name"]
        );
    }
    app.shutdown().await;
}

#[tokio::test]
async fn twenty_concurrent_calls_do_not_overshoot_a_hard_budget() {
    let up = upstream::start().await;
    let app = spawn_app().await;
    app.login().await;
    add_provider(&app, &up).await;
    let (_, key) = app.create_key("proxy").await;
    hard_token_budget(&app).await;
    let answers =
        futures_util::future::join_all((0..20).map(|_| chat(&app, &key, "slow-model", 1000))).await;
    let ok = answers.iter().filter(|r| r.status() == 200).count();
    let refused = answers.iter().filter(|r| r.status() == 429).count();
    assert_eq!((ok, refused), (5, 15));
    assert_eq!(chat_count(&up), 5);
    // Once the calls are stored, their reservations are settled at the real usage (15
    // tokens each) and the rest is released.
    app.wait_for_calls(5).await;
    let mut st = Value::Null;
    for _ in 0..20 {
        let (_, list) = app.get_json("/api/v1/budgets", &[]).await;
        st = list[0]["status"].clone();
        if st["reserved"] == 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(st["spent"], 75.0, "{st}");
    assert_eq!(st["reserved"], 0.0, "{st}");
    let holds: i64 = sqlx::query_scalar("SELECT count(*) FROM budget_holds")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(holds, 0);
}

#[tokio::test]
async fn two_servers_on_one_database_enforce_one_budget_together() {
    let up = upstream::start().await;
    // Replicas share the key that seals provider keys, not their data directories.
    let dir_a = tempfile::tempdir().unwrap().keep();
    let dir_b = tempfile::tempdir().unwrap().keep();
    let a = spawn_app_with(|args| args.data_dir = Some(dir_a.clone())).await;
    a.login().await;
    add_provider(&a, &up).await;
    let (_, key) = a.create_key("proxy").await;
    hard_token_budget(&a).await;
    // The second server starts on the same database: it loads the budget and provider.
    std::fs::copy(dir_a.join("secret.key"), dir_b.join("secret.key")).unwrap();
    let b = spawn_on(&a.db_url, ADMIN_PASSWORD, |args| {
        args.data_dir = Some(dir_b)
    })
    .await;
    let calls = (0..20).map(|i| {
        let server = if i % 2 == 0 { &a } else { &b };
        chat(server, &key, "slow-model", 1000)
    });
    let answers = futures_util::future::join_all(calls).await;
    let ok = answers.iter().filter(|r| r.status() == 200).count();
    assert_eq!(
        ok,
        5,
        "statuses: {:?}",
        answers.iter().map(|r| r.status()).collect::<Vec<_>>()
    );
    assert_eq!(chat_count(&up), 5);
}

/// Asks to reserve `cost` dollars for a call of `feature`.
async fn reserve_usd(app: &TestApp, key: &str, feature: &str, cost: f64) -> reqwest::Response {
    app.bare_client()
        .post(app.url("/api/v1/budgets/reserve"))
        .bearer_auth(key)
        .json(&json!({"feature": feature, "cost_usd": cost}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn reservations_hold_room_until_their_call_is_reported() {
    let (app, key) = spawn_with_key().await;
    let (status, _) = create(
        &app,
        &budget("Spend", json!({"feature": "summaries"}), "usd", 1.0, "hard"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let reserve = |cost: f64| reserve_usd(&app, &key, "summaries", cost);
    let r = reserve(0.6).await;
    assert_eq!(r.status(), 200);
    let granted: Value = r.json().await.unwrap();
    let id = granted["reservation_id"].as_str().unwrap().to_owned();
    // 0.6 is held: another 0.6 does not fit.
    let r = reserve(0.6).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    let err: Value = r.json().await.unwrap();
    assert_eq!(err["error"], "budget_exceeded");
    // Bad input names its field.
    let r = app
        .bare_client()
        .post(app.url("/api/v1/budgets/reserve"))
        .bearer_auth(&key)
        .json(&json!({"feature": "summaries", "cost_usd": -1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // The call is reported with the reservation id and cost $0.10: the hold is settled.
    app.ingest(
        &key,
        &[
            json!({"id": id, "provider": "openai", "model": "gpt-4o", "feature": "summaries",
                 "duration_ms": 5.0, "cost": {"total_usd": 0.1}}),
        ],
    )
    .await;
    let (_, list) = app.get_json("/api/v1/budgets", &[]).await;
    let st = &list[0]["status"];
    assert_eq!(st["spent"], 0.1, "{st}");
    assert_eq!(st["reserved"], 0.0, "{st}");
    // A reservation whose call never comes expires and is released by the sweeper.
    let r = app
        .bare_client()
        .post(app.url("/api/v1/budgets/reserve"))
        .bearer_auth(&key)
        .json(&json!({"feature": "summaries", "cost_usd": 0.6, "ttl_secs": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(reserve(0.6).await.status(), 429);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    server::store::budgets::sweep(&app.pool, Utc::now())
        .await
        .unwrap();
    assert_eq!(reserve(0.6).await.status(), 200);
}

#[tokio::test]
async fn spend_spread_over_counter_shards_is_summed_by_status_and_reservations() {
    let (app, key) = spawn_with_key().await;
    let (status, _) = create(
        &app,
        &budget("Spend", json!({"feature": "summaries"}), "usd", 5.0, "hard"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // 400 calls of $0.01 from 8 clients in batches of 10: many group commits, each adding
    // to the counter shard of its writer slot.
    let clients = (0..8).map(|c| {
        let (app, key) = (&app, &key);
        async move {
            for b in 0..5 {
                let batch: Vec<Value> = (0..10)
                    .map(|i| {
                        json!({"id": format!("shard-{c}-{b}-{i}"), "provider": "openai",
                           "model": "gpt-4o", "feature": "summaries", "duration_ms": 5.0,
                           "cost": {"total_usd": 0.01}})
                    })
                    .collect();
                app.ingest(key, &batch).await;
            }
        }
    });
    futures_util::future::join_all(clients).await;
    let shards: i64 = sqlx::query_scalar("SELECT count(DISTINCT shard) FROM budget_spend_period")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(shards > 1, "the spend is in {shards} shard(s)");
    let (_, list) = app.get_json("/api/v1/budgets", &[]).await;
    let st = &list[0]["status"];
    assert!((st["spent"].as_f64().unwrap() - 4.0).abs() < 1e-9, "{st}");
    let reserve = |cost: f64| reserve_usd(&app, &key, "summaries", cost);
    // $4 spent in all shards together: $1.50 more does not fit in $5, $0.90 does.
    assert_eq!(reserve(1.5).await.status(), 429);
    assert_eq!(reserve(0.9).await.status(), 200);
    assert_eq!(reserve(0.2).await.status(), 429);
}

#[tokio::test]
async fn rate_limits_are_validated_enforced_and_reported_in_headers() {
    let up = upstream::start().await;
    let app = spawn_app().await;
    app.login().await;
    add_provider(&app, &up).await;
    let (_, key) = app.create_key("proxy").await;
    let put = |body: Value| {
        app.client
            .put(app.url("/api/v1/rate-limits"))
            .json(&body)
            .send()
    };
    // Bad entries are refused by their place in the list.
    for (limits, field) in [
        (
            json!([{"subject": "user", "value": "*"}]),
            "limits[0].requests_per_minute",
        ),
        (
            json!([{"subject": "user", "value": "", "requests_per_minute": 1}]),
            "limits[0].value",
        ),
        (
            json!([{"subject": "api_key", "value": "k", "requests_per_minute": 1}]),
            "limits[0].value",
        ),
        (
            json!([{"subject": "model", "value": "*", "requests_per_minute": 1},
                   {"subject": "model", "value": "*", "tokens_per_minute": 5}]),
            "limits[1].value",
        ),
    ] {
        let r = put(json!({ "limits": limits })).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let err: Value = r.json().await.unwrap();
        assert_eq!(err["field"], field, "{err}");
    }
    // A window must not turn over during the test.
    let second = chrono::Timelike::second(&Utc::now());
    if second > 45 {
        tokio::time::sleep(Duration::from_secs(u64::from(62 - second))).await;
    }
    let r = put(json!({"limits": [
        {"subject": "user", "value": "*", "requests_per_minute": 2},
        {"subject": "model", "value": "gpt-4o*", "tokens_per_minute": 1000}
    ]}))
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let (_, got) = app.get_json("/api/v1/rate-limits", &[]).await;
    assert_eq!(got["limits"].as_array().unwrap().len(), 2);
    assert!(got["servers"].as_u64().unwrap() >= 1);

    // Bob may make two requests a minute.
    for remaining in ["1", "0"] {
        let r = chat(&app, &key, "openai-small", 50).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-ratelimit-limit-requests"], "2");
        assert_eq!(r.headers()["x-ratelimit-remaining-requests"], remaining);
        assert!(r.headers()["x-ratelimit-reset-requests"]
            .to_str()
            .unwrap()
            .ends_with('s'));
    }
    let r = chat(&app, &key, "openai-small", 50).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(r.headers()["x-ratelimit-remaining-requests"], "0");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    assert_eq!(chat_count(&up), 2);

    // A model's tokens per minute count the call's output cap: 600 fits, another 600 not.
    let carol = |max_tokens: u64| {
        app.bare_client()
            .post(app.url("/proxy/oai/v1/chat/completions"))
            .bearer_auth(&key)
            .json(&json!({"model": "gpt-4o-mini", "max_tokens": max_tokens,
                          "messages": [{"role": "user", "content": "hi"}]}))
            .send()
    };
    let r = carol(600).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-ratelimit-limit-tokens"], "1000");
    assert_eq!(
        carol(600).await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}
