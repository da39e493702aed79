//! The analytics API against SQL over the raw rows: totals, error classes, buckets in a time
//! zone, the previous period, percentiles within the histogram's stated error, late data,
//! groupings from raw rows, and rollups kept right when calls are deleted.

use std::collections::HashMap;

use crate::support::{spawn_app, spawn_with_key, TestApp};
use app::types::CallStatus;
use chrono::{DateTime, Duration, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use server::{analytics::histogram::exact_quantile, demo::Generator};

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

/// Equal figures: integers exactly, floats to 1e-9 relative.
fn assert_same_figures(a: &Value, b: &Value) {
    let (a, b) = (a.as_object().unwrap(), b.as_object().unwrap());
    assert_eq!(a.len(), b.len());
    for (k, x) in a {
        let y = &b[k];
        match (x.as_i64(), x.as_f64(), y.as_f64()) {
            (None, Some(x), Some(y)) => {
                assert!((x - y).abs() <= 1e-9 * x.abs().max(1.0), "{k}: {x} vs {y}")
            }
            _ => assert_eq!(x, y, "{k}"),
        }
    }
}

/// Per model over [from, to): count, errors by class, tokens, cost, durations.
async fn raw_by_model(
    app: &TestApp,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> HashMap<String, (i64, [i64; 4], i64, i64, Vec<f64>)> {
    let rows: Vec<(String, String, Option<i16>, i64, i64, Option<i64>, f64)> = sqlx::query_as(
        "SELECT model, status, http_status, input_tokens, output_tokens, cost_total_micros,
                duration_ms
         FROM llm_calls WHERE time >= $1 AND time < $2",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let mut out: HashMap<String, (i64, [i64; 4], i64, i64, Vec<f64>)> = HashMap::new();
    for (model, status, http, input, output, cost, ms) in rows {
        let e = out.entry(model).or_default();
        e.0 += 1;
        match (status.as_str(), http) {
            ("error", Some(400..=499)) => e.1[0] += 1,
            ("error", Some(500..=599)) => e.1[1] += 1,
            ("timeout", _) => e.1[2] += 1,
            ("error", _) => e.1[3] += 1,
            _ => {}
        }
        e.2 += input + output;
        e.3 += cost.unwrap_or(0);
        e.4.push(ms);
    }
    out
}

#[tokio::test]
async fn figures_equal_sql_over_raw_rows_and_percentiles_stay_within_the_stated_error() {
    let (app, key) = spawn_with_key().await;
    let now = Utc::now();
    let calls: Vec<_> = Generator::new(6_000, 4, now, 11).collect();
    app.ingest(&key, &calls).await;
    // A retried batch must not be counted twice.
    app.ingest(&key, &calls[..1000]).await;

    // An unaligned range in a zone with DST, grouped by model, bucketed by day.
    let from = now - Duration::hours(50) - Duration::minutes(17);
    let to = now - Duration::minutes(3);
    let q = vec![
        ("from", from.to_rfc3339()),
        ("to", to.to_rfc3339()),
        ("tz", "Europe/Berlin".to_owned()),
        ("bucket", "day".to_owned()),
        ("group_by", "model".to_owned()),
    ];
    let (status, body) = app.get_json("/api/v1/analytics", &q).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["source"], "rollups");
    let (af, at, ap) = (
        time(&body["from"]),
        time(&body["to"]),
        time(&body["previous_from"]),
    );
    assert!(af <= from && at >= to && at - af == (ap - af).abs());
    let err = body["relative_error"].as_f64().unwrap();
    assert!(err > 0.0 && err < 0.025);

    let raw = raw_by_model(&app, af, at).await;
    let groups = body["groups"].as_array().unwrap();
    assert_eq!(groups.len(), raw.len());
    let mut total = 0;
    for g in groups {
        let model = g["key"].as_str().unwrap();
        let (n, errors, tokens, cost, mut durations) = raw[model].clone();
        let t = &g["totals"];
        assert_eq!(t["requests"].as_i64().unwrap(), n, "{model}");
        let e = &t["errors"];
        assert_eq!(
            [
                e["client_4xx"].as_i64().unwrap(),
                e["server_5xx"].as_i64().unwrap(),
                e["timeout"].as_i64().unwrap(),
                e["other"].as_i64().unwrap()
            ],
            errors,
            "{model}"
        );
        assert_eq!(t["total_tokens"].as_i64().unwrap(), tokens);
        assert_eq!(t["cost_micros"].as_i64().unwrap(), cost);
        for (field, q) in [
            ("p50_latency_ms", 0.5),
            ("p95_latency_ms", 0.95),
            ("p99_latency_ms", 0.99),
        ] {
            let exact = exact_quantile(&mut durations, q).unwrap();
            let got = t[field].as_f64().unwrap();
            assert!(
                ((got - exact) / exact).abs() <= err + 1e-9,
                "{model} {field}: {got} vs exact {exact}"
            );
        }
        // Day buckets in Berlin add up and match SQL's date_trunc in that zone.
        let buckets = g["buckets"].as_array().unwrap();
        let sum: i64 = buckets
            .iter()
            .map(|b| b["requests"].as_i64().unwrap())
            .sum();
        assert_eq!(sum, n);
        let per_day: Vec<(DateTime<Utc>, i64)> = sqlx::query_as(
            "SELECT date_trunc('day', time, 'Europe/Berlin') AS d, count(*)
             FROM llm_calls WHERE model = $1 AND time >= $2 AND time < $3 GROUP BY 1",
        )
        .bind(model)
        .bind(af)
        .bind(at)
        .fetch_all(&app.pool)
        .await
        .unwrap();
        for (day, count) in per_day {
            let b = buckets.iter().find(|b| time(&b["start"]) == day).unwrap();
            assert_eq!(b["requests"].as_i64().unwrap(), count, "{model} {day}");
        }
        total += n;
    }
    assert_eq!(body["totals"]["requests"].as_i64().unwrap(), total);

    // The previous period, from SQL.
    let prev: i64 =
        sqlx::query_scalar("SELECT count(*) FROM llm_calls WHERE time >= $1 AND time < $2")
            .bind(ap)
            .bind(af)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(body["previous"]["requests"].as_i64().unwrap(), prev);

    // The overview agrees with the aggregation for the same range.
    let (status, ov) = app
        .get_json(
            "/api/v1/analytics/overview",
            &[
                ("from", from.to_rfc3339()),
                ("to", to.to_rfc3339()),
                ("tz", "Europe/Berlin".into()),
            ],
        )
        .await;
    assert_eq!(status, 200, "{ov}");
    // Its hour buckets sum the same rows in another order than the day buckets, which may
    // move the last digits of the float figures.
    assert_same_figures(&ov["totals"], &body["totals"]);
    assert_eq!(ov["previous"]["requests"].as_i64().unwrap(), prev);
    let by_provider: i64 = ov["by_provider"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["totals"]["requests"].as_i64().unwrap())
        .sum();
    assert_eq!(by_provider, total);
    assert_eq!(series_requests(&ov), total);

    // Late data lands in its (old) bucket.
    let late_time = af + Duration::hours(2);
    let late = json!([{"id": "late-1", "time": late_time, "provider": "openai", "model": "late-model",
        "duration_ms": 1234.0, "input_tokens": 10, "output_tokens": 20}]);
    let r = app
        .bare_client()
        .post(app.url("/api/v1/llm/calls"))
        .bearer_auth(&key)
        .json(&json!({ "calls": late }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, after) = app.get_json("/api/v1/analytics", &q).await;
    assert_eq!(after["totals"]["requests"].as_i64().unwrap(), total + 1);
    let late_group = after["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "late-model")
        .unwrap();
    assert_eq!(late_group["totals"]["total_tokens"], 30);

    // Users come from the user hours and agree with SQL.
    let (status, users) = app
        .get_json(
            "/api/v1/analytics",
            &[
                ("from", af.to_rfc3339()),
                ("to", at.to_rfc3339()),
                ("group_by", "user".into()),
            ],
        )
        .await;
    assert_eq!(status, 200, "{users}");
    assert_eq!(users["source"], "rollups");
    let top = &users["groups"][0];
    let count: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM llm_calls WHERE coalesce(user_id, '') = $1 AND time >= $2 AND time < $3",
    )
    .bind(top["key"].as_str().unwrap())
    .bind(af)
    .bind(at)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(top["totals"]["requests"].as_i64().unwrap(), count);
    app.shutdown().await;
}

#[tokio::test]
async fn deleting_a_session_updates_the_rollups() {
    let (app, key) = spawn_with_key().await;
    let t = Utc::now() - Duration::minutes(30);
    let calls: Vec<app::types::CallInput> = (0..6)
        .map(|i| app::types::CallInput {
            id: Some(format!("c{i}")),
            time: Some(t + Duration::seconds(i)),
            session_id: Some(if i < 4 { "gone" } else { "kept" }.into()),
            provider: "openai".into(),
            model: "gpt-4o-mini".into(),
            duration_ms: 100.0 * (i + 1) as f64,
            input_tokens: 10,
            output_tokens: 10,
            ..Default::default()
        })
        .collect();
    app.ingest(&key, &calls).await;
    let q = [("range", "2h".to_owned())];
    let (_, before) = app.get_json("/api/v1/analytics/overview", &q).await;
    assert_eq!(before["totals"]["requests"], 6);
    app.assert_status_as_user(Method::DELETE, "/api/v1/sessions/gone", 200)
        .await;
    let (_, after) = app.get_json("/api/v1/analytics/overview", &q).await;
    assert_eq!(after["totals"]["requests"], 2);
    assert_eq!(after["totals"]["total_tokens"], 40);
    assert!(after["totals"]["p50_latency_ms"].as_f64().unwrap() >= 490.0);
    app.shutdown().await;
}

/// Analytics by user over `q` (plus `extra`), the groups by key.
async fn by_user(app: &TestApp, extra: &[(&str, &str)]) -> (Value, HashMap<String, Value>) {
    let mut q = vec![
        ("range", "3d".to_owned()),
        ("tz", "Europe/Berlin".to_owned()),
        ("bucket", "day".to_owned()),
        ("group_by", "user".to_owned()),
    ];
    q.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let (status, body) = app.get_json("/api/v1/analytics", &q).await;
    assert_eq!(status, 200, "{body}");
    let groups = body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["key"].as_str().unwrap().to_owned(), g.clone()))
        .collect();
    (body, groups)
}

/// The same groups, figures and buckets from both answers.
fn assert_same_groups(a: &HashMap<String, Value>, b: &HashMap<String, Value>) {
    let mut keys: Vec<&String> = a.keys().collect();
    keys.sort();
    let mut other: Vec<&String> = b.keys().collect();
    other.sort();
    assert_eq!(keys, other);
    for k in keys {
        assert_same_figures(&a[k]["totals"], &b[k]["totals"]);
        assert_same_figures(&a[k]["previous"], &b[k]["previous"]);
        let (x, y) = (
            a[k]["buckets"].as_array().unwrap(),
            b[k]["buckets"].as_array().unwrap(),
        );
        assert_eq!(x.len(), y.len(), "{k}");
        for (x, y) in x.iter().zip(y) {
            assert_same_figures(x, y);
        }
    }
}

#[tokio::test]
async fn analytics_by_user_read_the_user_hours_and_agree_with_the_raw_calls() {
    let (app, key) = spawn_with_key().await;
    let now = Utc::now();
    // Five days of calls (the previous period too) from three users and none, with every
    // status class, TTFTs and spread latencies.
    let calls: Vec<app::types::CallInput> = (0..400)
        .map(|i: i64| app::types::CallInput {
            id: Some(format!("u{i}")),
            time: Some(now - Duration::minutes(17 * i + 3)),
            provider: "openai".into(),
            model: if i % 3 == 0 { "gpt-4o" } else { "gpt-4o-mini" }.into(),
            user_id: [Some("ann"), Some("bob"), Some("cy"), None][(i % 4) as usize]
                .map(str::to_owned),
            status: [
                CallStatus::Ok,
                CallStatus::Ok,
                CallStatus::Error,
                CallStatus::Timeout,
                CallStatus::Cancelled,
            ][(i % 5) as usize],
            http_status: (i % 5 == 2).then_some(if i % 2 == 0 { 429 } else { 503 }),
            duration_ms: 60.0 + ((i * 37) % 900) as f64,
            ttft_ms: (i % 2 == 0).then_some(10.0 + (i % 50) as f64),
            input_tokens: 100 + i as u64,
            output_tokens: 20 + (i % 7) as u64,
            ..Default::default()
        })
        .collect();
    app.ingest(&key, &calls).await;
    let rate = app
        .post_json(
            "/api/v1/feedback",
            &key,
            &json!({"call_id": "u4", "rating": 2}),
        )
        .await;
    assert_eq!(rate.0, 200, "{}", rate.1);

    let (body, rolled) = by_user(&app, &[]).await;
    assert_eq!(body["source"], "rollups");
    // A dimension filter matching every call reads the raw calls: the same answer.
    let (raw_body, raw) = by_user(&app, &[("provider", "openai")]).await;
    assert_eq!(raw_body["source"], "raw");
    assert_same_groups(&rolled, &raw);
    assert_eq!(rolled.len(), 4, "three users and the calls without one");
    assert_eq!(rolled["ann"]["totals"]["avg_rating"], 2.0);
    let failed: i64 = rolled
        .values()
        .map(|g| {
            g["totals"]["requests"].as_i64().unwrap() - g["totals"]["successes"].as_i64().unwrap()
        })
        .sum();
    assert!(failed > 0);

    // Closed days are kept merged; a late call and feedback on an old call still show.
    let (_, again) = by_user(&app, &[]).await;
    assert_same_groups(&again, &raw);
    let late = app::types::CallInput {
        id: Some("late-ann".into()),
        time: Some(now - Duration::hours(30)),
        provider: "openai".into(),
        model: "gpt-4o".into(),
        user_id: Some("ann".into()),
        duration_ms: 5000.0,
        ..Default::default()
    };
    app.ingest(&key, &[late]).await;
    let rate = app
        .post_json(
            "/api/v1/feedback",
            &key,
            &json!({"call_id": "u100", "quality_score": 10}),
        )
        .await;
    assert_eq!(rate.0, 200, "{}", rate.1);
    let (_, later) = by_user(&app, &[]).await;
    let (_, raw) = by_user(&app, &[("provider", "openai")]).await;
    assert_same_groups(&later, &raw);
    assert_eq!(
        later["ann"]["totals"]["requests"].as_i64().unwrap(),
        rolled["ann"]["totals"]["requests"].as_i64().unwrap() + 1
    );
    assert_eq!(later["ann"]["totals"]["avg_quality"], 10.0);

    // A database upgraded now: the hours before the upgrade hold counts only, so they are
    // read raw. Emptying their figures must not change the answer.
    sqlx::query("UPDATE llm_user_hour_complete SET since = date_trunc('hour', now())")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE llm_user_hour SET latency_hist = '{}', ok = 0, input_tokens = 0
         WHERE bucket < date_trunc('hour', now())",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let (_, upgraded) = by_user(&app, &[]).await;
    assert_same_groups(&upgraded, &raw);
    app.shutdown().await;
}

/// Requests summed over an overview's series.
fn series_requests(ov: &Value) -> i64 {
    ov["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["requests"].as_i64().unwrap())
        .sum()
}

/// The 30-day overview's totals: requests, tokens and cost.
async fn overview_totals(app: &TestApp) -> (i64, i64, i64) {
    let (status, ov) = app
        .get_json(
            "/api/v1/analytics/overview",
            &[("range", "30d".into()), ("tz", "Europe/Berlin".into())],
        )
        .await;
    assert_eq!(status, 200, "{ov}");
    let t = &ov["totals"];
    assert_eq!(series_requests(&ov), t["requests"].as_i64().unwrap());
    (
        t["requests"].as_i64().unwrap(),
        t["total_tokens"].as_i64().unwrap(),
        t["cost_micros"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn closed_days_kept_in_memory_follow_late_calls_recosts_and_deletes_on_any_server() {
    let (a, key) = spawn_with_key().await;
    // A second server on the same database: what it stores must reach the first's cache.
    let b = crate::support::spawn_on(&a.db_url, crate::support::ADMIN_PASSWORD, |_| {}).await;
    b.login().await;
    let old = Utc::now() - Duration::days(5);
    let call = |id: &str, session: &str, minutes: i64| {
        json!({"id": id, "time": old + Duration::minutes(minutes), "session_id": session,
               "provider": "openai", "model": "gpt-4o", "duration_ms": 100.0,
               "input_tokens": 1000, "output_tokens": 100})
    };
    a.ingest(
        &key,
        &[
            call("k1", "kept", 0),
            call("g1", "gone", 1),
            call("g2", "gone", 2),
        ],
    )
    .await;
    let sql = || async {
        let (n, tokens, cost): (i64, i64, i64) = sqlx::query_as(
            "SELECT count(*), coalesce(sum(input_tokens + output_tokens), 0)::bigint,
                    coalesce(sum(cost_total_micros), 0)::bigint FROM llm_calls",
        )
        .fetch_one(&a.pool)
        .await
        .unwrap();
        (n, tokens, cost)
    };
    let first = overview_totals(&a).await;
    assert_eq!(first, sql().await);
    assert_eq!(first.0, 3);
    assert_eq!(
        overview_totals(&a).await,
        first,
        "the same answer from what was kept"
    );

    // A late call for that day, stored through the other server.
    b.ingest(&key, &[call("late", "kept", 3)]).await;
    let late = overview_totals(&a).await;
    assert_eq!(late.0, 4, "a late call reaches a closed day");
    assert_eq!(late, sql().await);

    // A re-cost of that day with a new price.
    let since = old - Duration::days(1);
    let r = b
        .client
        .post(b.url("/api/v1/prices"))
        .json(&json!({"model_pattern": "gpt-4o", "provider": "openai",
                      "input_per_mtok_micros": 7_000_000, "output_per_mtok_micros": 9_000_000,
                      "effective_from": since}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let r = b
        .client
        .post(b.url("/api/v1/prices/recost"))
        .json(&json!({"from": old - Duration::hours(1), "to": old + Duration::hours(1)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let recosted = overview_totals(&a).await;
    assert_eq!(
        recosted.2,
        4 * (7_000 + 900),
        "the new cost, not the kept one"
    );
    assert_eq!(recosted, sql().await);

    // Deleting a session removes its calls from the closed day.
    b.assert_status_as_user(Method::DELETE, "/api/v1/sessions/gone", 200)
        .await;
    let deleted = overview_totals(&a).await;
    assert_eq!(deleted.0, 2);
    assert_eq!(deleted, sql().await);
    b.shutdown().await;
    a.shutdown().await;
}

#[tokio::test]
async fn bad_parameters_name_the_field() {
    let app = spawn_app().await;
    app.login().await;
    for (q, field) in [
        (vec![("tz", "Mars/Olympus")], "tz"),
        (vec![("range", "30d"), ("bucket", "minute")], "bucket"),
        (vec![("bucket", "fortnight")], "bucket"),
        (vec![("group_by", "colour")], "group_by"),
        (vec![("range", "soon")], "range"),
        (
            vec![
                ("from", "2026-05-02T00:00:00Z"),
                ("to", "2026-05-01T00:00:00Z"),
            ],
            "from",
        ),
        (vec![("from", "yesterday")], "from"),
    ] {
        let q: Vec<(&str, String)> = q.into_iter().map(|(k, v)| (k, v.to_owned())).collect();
        let (status, body) = app.get_json("/api/v1/analytics", &q).await;
        assert_eq!(status, 400, "{q:?}: {body}");
        assert_eq!(body["field"], field, "{q:?}: {body}");
    }
    // Reading needs a login or a key.
    let r = app
        .bare_client()
        .get(app.url("/api/v1/analytics/overview"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // An empty database still answers with a zero series for the chart axis.
    let (status, ov) = app
        .get_json("/api/v1/analytics/overview", &[("range", "1h".into())])
        .await;
    assert_eq!(status, 200);
    assert_eq!(ov["totals"]["requests"], 0);
    assert!((60..=61).contains(&ov["series"].as_array().unwrap().len()));
    app.shutdown().await;
}

/// `sl_hist_merge` (PL/pgSQL since migration 0027) merges packed histograms exactly as the
/// Rust histogram does: any two histograms, empty and NULL ones, repeated keys and counts
/// that no longer fit in 32 bits.
#[tokio::test]
async fn the_sql_histogram_merge_equals_the_rust_merge() {
    use rand::{rngs::SmallRng, Rng, SeedableRng};
    use server::analytics::histogram::Histogram;
    let app = spawn_app().await;
    let merge_sql = |a: Option<Vec<i64>>, b: Option<Vec<i64>>| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, Vec<i64>>("SELECT sl_hist_merge($1, $2)")
                .bind(a)
                .bind(b)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let mut rng = SmallRng::seed_from_u64(15);
    for round in 0..200 {
        let mut hists = [Histogram::new(), Histogram::new()];
        for h in &mut hists {
            // Some rounds leave one side empty; values span sub-millisecond to minutes.
            for _ in 0..rng.random_range(0..=(round % 7) * 40) {
                h.record(10f64.powf(rng.random_range(-1.0..5.0)));
            }
        }
        let mut want = hists[0].clone();
        want.merge(&hists[1]);
        let got = merge_sql(Some(hists[0].to_packed()), Some(hists[1].to_packed())).await;
        assert_eq!(Histogram::from_packed(&got).to_packed(), want.to_packed());
        assert!(
            got.windows(2).all(|w| w[0] >> 32 <= w[1] >> 32),
            "the merge keeps keys sorted: {got:?}"
        );
    }
    // NULL on either side is an empty histogram.
    assert_eq!(merge_sql(None, None).await, Vec::<i64>::new());
    assert_eq!(merge_sql(None, Some(vec![5])).await, vec![5]);
    assert_eq!(merge_sql(Some(vec![5]), None).await, vec![5]);
    // A count past 32 bits stays in its key as a repeated element instead of spilling into
    // the key bits.
    let key = |k: i64, c: i64| (k << 32) | c;
    let full = key(40, 0xFFFF_FFFF);
    let merged = merge_sql(Some(vec![full]), Some(vec![key(40, 2), key(41, 1)])).await;
    assert_eq!(merged, vec![full, key(40, 2), key(41, 1)]);
    let h = Histogram::from_packed(&merged);
    assert_eq!(h.count(), 0xFFFF_FFFF + 3);
    app.shutdown().await;
}
