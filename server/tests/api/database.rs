//! The Database page's API against a real PostgreSQL: Sightline's pools as the watch sees
//! them, a slow statement grouped by its shape, range checks, access, and the figures
//! offered to alert rules.

use crate::support::spawn_app;

#[tokio::test]
async fn a_slow_statement_and_the_pools_show_up() {
    let app = spawn_app().await;
    app.login().await;
    // Through the server's own API pool, so the watch attributes it to `api`. The watch is
    // one per process and lists the statements with the most time first, so the other tests
    // running beside this one add theirs (migrations under load take seconds): this one
    // sleeps long enough to stay in the list.
    sqlx::query("SELECT pg_sleep(4), 'a literal'")
        .execute(&app.pool)
        .await
        .unwrap();
    let (status, body) = app
        .get_json("/api/v1/database", &[("range", "15m".into())])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["slow_threshold_ms"], 100);
    let pools = body["pools"].as_array().unwrap();
    let names: Vec<&str> = pools.iter().map(|p| p["pool"].as_str().unwrap()).collect();
    assert_eq!(names, ["api", "writer"], "{body}");
    let api = &pools[0];
    assert!(api["max_connections"].as_u64().unwrap() >= 1);
    assert!(api["open"].as_u64().unwrap() >= api["idle"].as_u64().unwrap());
    assert!(api["acquires"].as_u64().unwrap() >= 1, "{api}");
    assert!(api["slow_queries"].as_u64().unwrap() >= 1, "{api}");
    let slow = body["slow_queries"].as_array().unwrap();
    let ours = slow
        .iter()
        .find(|q| q["query"] == "SELECT pg_sleep(?), ?")
        .unwrap_or_else(|| panic!("the slow statement is missing: {body}"));
    assert_eq!(ours["pool"], "api");
    assert!(ours["count"].as_u64().unwrap() >= 1);
    assert!(ours["max_ms"].as_f64().unwrap() >= 150.0, "{ours}");
    // Fast statements are not listed.
    assert!(slow.iter().all(|q| q["max_ms"].as_f64().unwrap() >= 100.0));
    let series = body["series"].as_array().unwrap();
    assert!(
        series
            .iter()
            .any(|p| p["pool"] == "api" && p["acquires"].as_u64().unwrap() >= 1),
        "{body}"
    );
    // Either PostgreSQL's own figures or why there are none.
    let st = &body["statements"];
    match st["available"].as_bool().unwrap() {
        true => assert!(st["top"].is_array()),
        false => assert!(!st["reason"].as_str().unwrap().is_empty()),
    }
}

#[tokio::test]
async fn ranges_beyond_a_day_and_unknown_parameters_are_refused() {
    let app = spawn_app().await;
    app.login().await;
    for (k, v) in [("range", "2d"), ("range", "soon"), ("since", "1h")] {
        let (status, body) = app.get_json("/api/v1/database", &[(k, v.into())]).await;
        assert_eq!(status, 400, "{k}={v}: {body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let (status, body) = app
        .get_json("/api/v1/database", &[("range", "2d".into())])
        .await;
    assert_eq!((status, body["field"].as_str()), (400, Some("range")));
}

#[tokio::test]
async fn the_database_figures_need_a_reader() {
    let app = spawn_app().await;
    let r = app
        .bare_client()
        .get(app.url("/api/v1/database"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
}

#[tokio::test]
async fn alert_rules_can_watch_the_pools() {
    let app = spawn_app().await;
    app.login().await;
    let (status, metrics) = app.get_json("/api/v1/alerts/metrics", &[]).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = metrics
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert!(names.contains(&"sightline.db.pool.usage"), "{names:?}");
    assert!(names.contains(&"sightline.db.slow_queries"), "{names:?}");
}
