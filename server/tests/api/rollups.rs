//! The rollups follow the calls exactly once: calls committed but not yet folded (the
//! folder's round had not run when the server stopped, or a rebuild came first) are added
//! once, whoever adds them.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use server::{domain::call::NewCall, store};
use sqlx::PgPool;

use crate::support::{spawn_app, spawn_on, ADMIN_PASSWORD};

fn new_call(id: &str, time: DateTime<Utc>, user: &str, session: &str) -> NewCall {
    NewCall {
        call: app::types::Call {
            id: id.into(),
            time,
            provider: "openai".into(),
            model: "gpt-4o-mini".into(),
            user_id: Some(user.into()),
            session_id: Some(session.into()),
            duration_ms: 250.0,
            input_tokens: 10,
            output_tokens: 20,
            ..Default::default()
        },
        api_key_id: None,
        cost_source: None,
    }
}

/// `n` calls for the ingest API, ids `{prefix}-{i}`.
fn bodies(prefix: &str, n: usize, time: DateTime<Utc>, user: &str, session: &str) -> Vec<Value> {
    (0..n)
        .map(|i| {
            json!({"id": format!("{prefix}-{i}"), "time": time, "provider": "openai",
                "model": "gpt-4o-mini", "duration_ms": 100, "user_id": user, "session_id": session})
        })
        .collect()
}

/// What the ingest writer commits, without the folder's round after it.
async fn commit_unfolded(pool: &PgPool, calls: &[NewCall]) {
    let refs: Vec<&NewCall> = calls.iter().collect();
    let mut tx = pool.begin().await.unwrap();
    assert!(store::calls::copy_new(&mut tx, &refs).await.unwrap());
    store::rollup_pending::mark(&mut tx, &refs).await.unwrap();
    tx.commit().await.unwrap();
}

/// Calls counted by each rollup: minute, hour, user hours, sessions; and pending rows.
async fn counted(pool: &PgPool) -> (i64, i64, i64, i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT coalesce(sum(calls), 0)::int8 FROM llm_rollup_minute),
                (SELECT coalesce(sum(calls), 0)::int8 FROM llm_rollup_hour),
                (SELECT coalesce(sum(calls), 0)::int8 FROM llm_user_hour),
                (SELECT coalesce(sum(calls), 0)::int8 FROM llm_session_spans),
                (SELECT count(*) FROM llm_rollup_pending)",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn wait_counted(pool: &PgPool, want: (i64, i64, i64, i64, i64)) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(25);
    loop {
        let got = counted(pool).await;
        if got == want {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "rollups {got:?}, want {want:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn calls_committed_before_a_stop_are_added_to_the_rollups_at_the_next_start() {
    let app = spawn_app().await;
    let db = app.db_url.clone();
    app.shutdown().await;
    let pool = PgPool::connect(&db).await.unwrap();
    let t = Utc::now() - Duration::minutes(5);
    let calls: Vec<NewCall> = (0..3)
        .map(|i| new_call(&format!("left-{i}"), t + Duration::seconds(i), "u1", "s1"))
        .collect();
    commit_unfolded(&pool, &calls).await;
    assert_eq!(counted(&pool).await, (0, 0, 0, 0, 1));

    let app = spawn_on(&db, ADMIN_PASSWORD, |_| {}).await;
    wait_counted(&app.pool, (3, 3, 3, 3, 0)).await;
    let last: DateTime<Utc> =
        sqlx::query_scalar("SELECT last_seen FROM llm_user_last WHERE user_id = 'u1'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        last.timestamp_micros(),
        calls[2].call.time.timestamp_micros()
    );

    // Calls ingested afterwards are counted once more each, and nothing stays pending.
    app.login().await;
    let (_, key) = app.create_key("rollups").await;
    let now = Utc::now();
    let body = bodies("new", 4, now, "u2", "s2");
    app.ingest(&key, &body).await;
    app.settled().await;
    assert_eq!(counted(&app.pool).await, (7, 7, 7, 7, 0));
    app.shutdown().await;
}

#[tokio::test]
async fn a_rebuild_adds_pending_calls_once() {
    let app = spawn_app().await;
    app.login().await;
    let (_, key) = app.create_key("rollups").await;
    let t = Utc::now() - Duration::minutes(10);
    let stored = bodies("acked", 2, t, "u1", "s1");
    app.ingest(&key, &stored).await;
    app.settled().await;
    assert_eq!(counted(&app.pool).await, (2, 2, 2, 2, 0));
    // Committed, not folded: the folder knows nothing of these, so only the rebuild of a
    // re-cost over their hour can count them.
    let calls: Vec<NewCall> = (0..3)
        .map(|i| {
            new_call(
                &format!("pending-{i}"),
                t + Duration::seconds(i),
                "u1",
                "s1",
            )
        })
        .collect();
    commit_unfolded(&app.pool, &calls).await;
    assert_eq!(counted(&app.pool).await, (2, 2, 2, 2, 1));

    let r = app
        .client
        .post(app.url("/api/v1/prices/recost"))
        .json(&json!({"from": t - Duration::minutes(1), "to": t + Duration::minutes(1)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // The session span is not a rebuilt rollup: the pending calls are added to it once.
    assert_eq!(counted(&app.pool).await, (5, 5, 5, 5, 0));
    let (_, body) = app.post_calls(&key, &stored).await;
    assert_eq!(body["duplicates"], 2, "{body}");
    app.settled().await;
    assert_eq!(counted(&app.pool).await, (5, 5, 5, 5, 0));
    app.shutdown().await;
}

#[tokio::test]
async fn every_acknowledged_call_is_in_the_next_read() {
    let app = spawn_app().await;
    app.login().await;
    let (_, key) = app.create_key("rollups").await;
    let now = Utc::now();
    let q = [("range", "1h".to_owned())];
    // Each answer comes at the commit and the folder adds the rollups up to 100 ms later:
    // the read right after must wait for it, and must not wait for nothing.
    let mut acked = 0;
    for round in 0..5 {
        let batch = bodies(&format!("r{round}"), 20, now, "u1", "s1");
        app.ingest(&key, &batch).await;
        acked += 20;
        let (status, v) = app.get_json("/api/v1/analytics/overview", &q).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["totals"]["requests"], acked, "round {round}: {v}");
    }
    // Clients writing while others read: each reader sees at least what was acknowledged
    // before it asked.
    let writers = (0..4).map(|w| {
        let (app, key) = (&app, &key);
        async move {
            for b in 0..5 {
                app.ingest(key, &bodies(&format!("w{w}-{b}"), 10, now, "u2", "s2"))
                    .await;
            }
        }
    });
    futures_util::future::join_all(writers).await;
    let (_, v) = app.get_json("/api/v1/analytics/overview", &q).await;
    assert_eq!(v["totals"]["requests"], acked + 200, "{v}");
    app.settled().await;
    assert_eq!(counted(&app.pool).await, (300, 300, 300, 300, 0));
    app.shutdown().await;
}

#[tokio::test]
async fn calls_a_stopped_replica_left_pending_are_added_by_a_running_server() {
    let app = spawn_app().await;
    app.login().await;
    let (_, key) = app.create_key("rollups").await;
    // Past the first round, which reads back every pending row after a start.
    app.ingest(&key, &bodies("live", 1, Utc::now(), "u8", "s8"))
        .await;
    app.settled().await;
    // Another server committed these and stopped before its folder's round.
    let t = Utc::now() - Duration::minutes(3);
    let calls: Vec<NewCall> = (0..2)
        .map(|i| new_call(&format!("orphan-{i}"), t + Duration::seconds(i), "u9", "s9"))
        .collect();
    commit_unfolded(&app.pool, &calls).await;
    sqlx::query("UPDATE llm_rollup_pending SET marked_at = now() - interval '1 minute'")
        .execute(&app.pool)
        .await
        .unwrap();
    // This server never restarts; its folder looks for such rows every 10 s.
    wait_counted(&app.pool, (3, 3, 3, 3, 0)).await;
    app.shutdown().await;
}
