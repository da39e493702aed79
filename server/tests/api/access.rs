//! HTTP behaviour of the foundation: probes, login, sessions, API keys, page access and
//! error bodies, against a real server and a real PostgreSQL.

use crate::support::{spawn_app, spawn_app_with, spawn_on, spawn_with_key, ADMIN_PASSWORD};
use app::types::system::{HostInfo, SampleBatch, SystemSample};
use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

async fn error_of(r: reqwest::Response) -> (StatusCode, Value) {
    let status = r.status();
    assert_eq!(
        r.headers()[header::CONTENT_TYPE].to_str().unwrap(),
        "application/json",
        "errors are JSON"
    );
    (status, r.json().await.unwrap())
}

#[tokio::test]
async fn probes_report_liveness_and_readiness() {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    app.shutdown().await;
}

#[tokio::test]
async fn writes_and_reads_without_credentials_get_401_json() {
    let app = spawn_app().await;
    let c = app.bare_client();
    for r in [
        c.post(app.url("/api/v1/keys"))
            .json(&json!({"name": "x"}))
            .send()
            .await
            .unwrap(),
        c.delete(app.url("/api/v1/keys/1")).send().await.unwrap(),
        c.get(app.url("/api/v1/keys")).send().await.unwrap(),
        c.get(app.url("/api/v1/auth/me")).send().await.unwrap(),
    ] {
        let (status, body) = error_of(r).await;
        assert_eq!(status, 401);
        assert_eq!(body["error"], "unauthenticated");
        assert!(body["message"].as_str().unwrap().contains("API key"));
    }
    let r = c
        .post(app.url("/api/v1/keys"))
        .bearer_auth("sl_00000000_not-a-real-key")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    let (status, body) = error_of(r).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_api_key");
    app.shutdown().await;
}

#[tokio::test]
async fn login_validates_and_rejects_bad_credentials() {
    let app = spawn_app().await;
    let url = app.url("/api/v1/auth/login");
    let c = app.bare_client();

    let r = c
        .post(&url)
        .json(&json!({"username": "admin", "password": "nope-nope"}))
        .send()
        .await
        .unwrap();
    let (status, body) = error_of(r).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_credentials");

    let r = c
        .post(&url)
        .json(&json!({"username": "ghost", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "unknown users fail like wrong passwords");

    let r = c
        .post(&url)
        .json(&json!({"username": " ", "password": "x"}))
        .send()
        .await
        .unwrap();
    let (status, body) = error_of(r).await;
    assert_eq!(status, 422);
    assert_eq!(body["field"], "username");

    let r = c
        .post(&url)
        .json(&json!({"username": "admin"}))
        .send()
        .await
        .unwrap();
    let (status, body) = error_of(r).await;
    assert_eq!(status, 422);
    assert_eq!(body["field"], "password");

    let r = c
        .post(&url)
        .header(header::CONTENT_TYPE, "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, body) = error_of(r).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_json");

    let r = c.post(&url).body("username=admin").send().await.unwrap();
    let (status, body) = error_of(r).await;
    assert_eq!(status, 415);
    assert_eq!(body["error"], "unsupported_media_type");
    app.shutdown().await;
}

#[tokio::test]
async fn login_sets_a_strict_httponly_session_cookie_and_logout_ends_it() {
    let app = spawn_app().await;
    let r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("sightline_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http on loopback: {cookie}"
    );

    let (_, me) = app.get_json("/api/v1/auth/me", &[]).await;
    assert_eq!(me, json!({"kind": "user", "username": "admin"}));

    // The session token is stored hashed, never as sent.
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("sightline_session=");
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT token_hash FROM user_sessions")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, vec![Sha256::digest(token.as_bytes()).to_vec()]);

    app.assert_status_as_user(Method::POST, "/api/v1/auth/logout", 204)
        .await;
    app.assert_status_as_user(Method::GET, "/api/v1/auth/me", 401)
        .await;
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM user_sessions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    app.shutdown().await;
}

#[tokio::test]
async fn secure_cookie_when_public_url_is_https() {
    let app = spawn_app_with(|a| a.public_url = Some("https://sightline.example".into())).await;
    let r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(r.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Secure"));
    assert_eq!(
        r.headers()[header::STRICT_TRANSPORT_SECURITY],
        "max-age=31536000; includeSubDomains"
    );
    // Over plain http, no HSTS.
    let plain = spawn_app().await;
    let r = plain
        .client
        .get(plain.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert!(r.headers().get(header::STRICT_TRANSPORT_SECURITY).is_none());
    plain.shutdown().await;
    app.shutdown().await;
}

#[tokio::test]
async fn api_key_lifecycle_secret_shown_once_stored_hashed_revocable() {
    let app = spawn_app().await;
    app.login().await;
    let (id, secret) = app.create_key("checkout-service").await;
    assert!(secret.starts_with("sl_"));

    // Listed without the secret, with its prefix.
    let list_text = app
        .client
        .get(app.url("/api/v1/keys"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !list_text.contains(&secret),
        "the list never shows the secret"
    );
    let list: Value = serde_json::from_str(&list_text).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["name"], "checkout-service");
    assert!(secret.starts_with(list[0]["prefix"].as_str().unwrap()));
    assert_eq!(list[0]["revoked_at"], Value::Null);

    // Stored as SHA-256, nowhere in clear.
    let (hash, prefix): (Vec<u8>, String) =
        sqlx::query_as("SELECT key_hash, prefix FROM api_keys WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(hash, Sha256::digest(secret.as_bytes()).to_vec());
    assert!(prefix.len() < 16);

    // The key authenticates, by Bearer or by x-sightline-key, and records its use.
    let c = app.bare_client();
    let (_, me) = app.get_json_with_key("/api/v1/auth/me", &secret).await;
    assert_eq!(me["kind"], "api_key");
    assert_eq!(me["name"], "checkout-service");
    let r = c
        .get(app.url("/api/v1/auth/me"))
        .header("x-sightline-key", &secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let used: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT last_used_at FROM api_keys WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(used.is_some());

    // A key cannot manage keys.
    let r = c
        .get(app.url("/api/v1/keys"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    let (status, body) = error_of(r).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"], "user_required");

    // Revoke: the key stops working and is listed as revoked.
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/keys/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let revoked: Value = r.json().await.unwrap();
    assert!(revoked["revoked_at"].is_string());
    let r = c
        .get(app.url("/api/v1/auth/me"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    let (status, body) = error_of(r).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_api_key");

    let r = app
        .client
        .delete(app.url("/api/v1/keys/999999"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.0, 404);
    let r = app
        .client
        .delete(app.url("/api/v1/keys/abc"))
        .send()
        .await
        .unwrap();
    let (status, body) = error_of(r).await;
    assert_eq!(status, 400);
    assert_eq!(body["field"], "id");
    app.shutdown().await;
}

#[tokio::test]
async fn key_names_are_validated_with_the_field_named() {
    let app = spawn_app().await;
    app.login().await;
    for (body, status) in [
        (json!({"name": "  "}), 422),
        (json!({"name": "x".repeat(101)}), 422),
        (json!({}), 422),
        (json!({"name": 5}), 422),
    ] {
        let r = app
            .client
            .post(app.url("/api/v1/keys"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let (got, err) = error_of(r).await;
        assert_eq!(got, status, "{body}");
        assert_eq!(err["field"], "name", "{body}: {err}");
    }
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM api_keys")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
    app.shutdown().await;
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let app = spawn_app().await;
    app.login().await;
    let big = json!({ "name": "x".repeat(2 * 1024 * 1024) });
    let r = app
        .client
        .post(app.url("/api/v1/keys"))
        .json(&big)
        .send()
        .await
        .unwrap();
    let (status, body) = error_of(r).await;
    assert_eq!(status, 413);
    assert_eq!(body["error"], "payload_too_large");
    app.shutdown().await;
}

#[tokio::test]
async fn cross_site_writes_with_a_session_cookie_are_refused() {
    let app = spawn_app().await;
    app.login().await;
    let r = app
        .client
        .post(app.url("/api/v1/keys"))
        .header(header::ORIGIN, "http://evil.example")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    let (status, body) = error_of(r).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"], "cross_site_request");
    let same = format!("http://{}", app.addr);
    let r = app
        .client
        .post(app.url("/api/v1/keys"))
        .header(header::ORIGIN, same)
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    app.shutdown().await;
}

#[tokio::test]
async fn login_attempts_are_rate_limited_per_address() {
    let app = spawn_app_with(|a| a.login_attempts_per_minute = Some(3)).await;
    let c = app.bare_client();
    for _ in 0..3 {
        let r = c
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"username": "admin", "password": "wrong-password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let r = c
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        429,
        "even the right password waits once the budget is spent"
    );
    let retry: u64 = r.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited");
    app.shutdown().await;
}

#[tokio::test]
async fn pages_need_a_session_and_the_login_form_works_without_javascript() {
    let app = spawn_app().await;
    let c = app.bare_client();
    let r = c.get(app.url("/settings/api-keys")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()[header::LOCATION],
        "/login?next=%2Fsettings%2Fapi-keys"
    );

    let r = c.get(app.url("/login")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    for directive in [
        "default-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    let html = r.text().await.unwrap();
    assert!(html.contains("action=\"/auth/login\""), "{html}");

    // Wrong password: back to the form with an error code.
    let r = c
        .post(app.url("/auth/login"))
        .form(&[
            ("username", "admin"),
            ("password", "wrong-password"),
            ("next", "/settings/api-keys"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()[header::LOCATION],
        "/login?error=invalid&next=%2Fsettings%2Fapi-keys"
    );
    let r = c.get(app.url("/login?error=invalid")).send().await.unwrap();
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Wrong username or password"));

    // Right password: a cookie and a redirect to where the user was going; never off-site.
    let r = app
        .client
        .post(app.url("/auth/login"))
        .form(&[
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
            ("next", "//evil.example"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[header::LOCATION], "/");
    let r = app
        .client
        .get(app.url("/settings/api-keys"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("<h1>API keys</h1>"), "{html}");
    assert!(
        html.contains("/pkg/sightline.js"),
        "hydration scripts are included"
    );
    let r = app.client.get(app.url("/login")).send().await.unwrap();
    assert_eq!(r.status(), 303, "logged in users skip the login page");
    app.assert_status_as_user(Method::GET, "/no/such/page", 404)
        .await;

    // Logging out through the form ends the session.
    app.assert_status_as_user(Method::POST, "/auth/logout", 303)
        .await;
    app.assert_status_as_user(Method::GET, "/settings/api-keys", 303)
        .await;
    app.shutdown().await;
}

#[tokio::test]
async fn unknown_api_paths_get_a_json_404() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(app.url("/api/v1/nope"))
        .send()
        .await
        .unwrap();
    let (status, body) = error_of(r).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"], "not_found");
    app.shutdown().await;
}

#[tokio::test]
async fn admin_password_from_the_environment_resets_it_on_restart() {
    let first = spawn_app().await;
    first.login().await;
    let old_browser = first.client.clone();
    first
        .assert_status_as_user(Method::GET, "/api/v1/auth/me", 200)
        .await;
    let db = first.db_url.clone();
    first.shutdown().await;
    let second = spawn_on(&db, "a-brand-new-password", |_| {}).await;
    // The reset ended the sessions made with the old password (cookies ignore the port).
    let r = old_browser
        .get(second.url("/api/v1/auth/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let c = second.bare_client();
    let r = c
        .post(second.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = c
        .post(second.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": "a-brand-new-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let admins: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&second.pool)
        .await
        .unwrap();
    assert_eq!(admins, 1);
    second.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_database_is_named_without_its_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let args = crate::support::test_args(&format!(
        "postgres://sightline:s3cret-pw@127.0.0.1:{port}/metrics"
    ));
    let config = args.resolve(None, None).unwrap();
    let err = match server::startup::Application::build(config).await {
        Ok(_) => panic!("must not start without a database"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains(&format!("127.0.0.1:{port}/metrics")), "{err}");
    assert!(!err.contains("s3cret-pw"), "{err}");
}

#[tokio::test]
async fn nul_in_paths_and_queries_and_tabbed_redirects_are_refused() {
    let (app, key) = spawn_with_key().await;
    for path in [
        "/api/v1/sessions/a%00b",
        "/api/v1/system/hosts/x%00",
        "/api/v1/llm/calls?model=%00",
    ] {
        app.assert_status_with_key(Method::GET, path, &key, 400)
            .await;
    }
    // `next` with a tab would become `//evil.example` in a browser: it goes home instead.
    let r = app
        .bare_client()
        .post(app.url("/auth/login"))
        .form(&[
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
            ("next", "/\t/evil.example"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/");
    app.shutdown().await;
}

#[tokio::test]
async fn logins_from_another_site_are_refused() {
    let app = spawn_app().await;
    let c = app.bare_client();
    let r = c
        .post(app.url("/api/v1/auth/login"))
        .header("origin", "http://evil.example")
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = c
        .post(app.url("/auth/login"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers().get("set-cookie").is_none());
    // From our own pages it works.
    let r = c
        .post(app.url("/auth/login"))
        .header("origin", format!("http://{}", app.addr))
        .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    app.shutdown().await;
}

#[tokio::test]
async fn key_scopes_and_host_bindings_limit_what_a_key_does() {
    let app = spawn_app().await;
    app.login().await;
    // New keys may only ingest unless told otherwise.
    let (_, ingest) = app.create_key_with(&json!({ "name": "app" })).await;
    let (_, read) = app
        .create_key_with(&json!({ "name": "dash", "scopes": ["read"] }))
        .await;
    let (_, agent) = app
        .create_key_with(&json!({ "name": "agent", "host": " gpu-01 " }))
        .await;
    let (_, list) = app.get_json("/api/v1/keys", &[]).await;
    let listed = |name: &str| {
        let k = list.as_array().unwrap().iter().find(|k| k["name"] == name);
        let k = k.unwrap();
        (k["scopes"].clone(), k["host"].clone())
    };
    assert_eq!(listed("app"), (json!(["ingest"]), Value::Null));
    assert_eq!(listed("dash"), (json!(["read"]), Value::Null));
    assert_eq!(listed("agent"), (json!(["ingest"]), json!("gpu-01")));

    let call = json!({ "provider": "openai", "model": "gpt-4o", "duration_ms": 5.0 });
    let (status, _) = app.post_calls(&ingest, &[&call]).await;
    assert_eq!(status, 200);
    for path in [
        "/api/v1/llm/calls",
        "/api/v1/analytics?range=1h",
        "/api/v1/stream?topics=calls",
        "/api/v1/system/hosts",
    ] {
        let (status, body) = app.get_json_with_key(path, &ingest).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (403, Some("missing_scope")),
            "{path}"
        );
    }

    // A read-only key reads, and cannot write anything or use the proxy.
    let (status, _) = app.get_json_with_key("/api/v1/llm/calls", &read).await;
    assert_eq!(status, 200);
    let (status, body) = app.post_calls(&read, &[&call]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("missing_scope"))
    );
    let (status, _) = app.post_events(&read, &json!([])).await;
    assert_eq!(status, 403);
    let (status, _) = app.post_samples(&read, &json!({})).await;
    assert_eq!(status, 403);
    app.assert_status_with_key(Method::GET, "/proxy/openai/v1/models", &read, 403)
        .await;
    assert_eq!(app.call_count().await, 1, "nothing written by a read key");

    // A host-bound key reports only for its host (names compare without case).
    let batch = |host: &str| {
        json!(SampleBatch {
            host: HostInfo {
                hostname: host.into(),
                ..Default::default()
            },
            samples: vec![SystemSample {
                time: chrono::Utc::now(),
                ..Default::default()
            }],
        })
    };
    let (status, body) = app.post_samples(&agent, &batch("GPU-01")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.post_samples(&agent, &batch("gpu-02")).await;
    assert_eq!(status, 403);
    assert_eq!(body["field"], "host.hostname");
    let (status, _) = app.post_samples(&ingest, &batch("gpu-02")).await;
    assert_eq!(status, 200, "an unbound key reports for any host");

    // Bad requests name the field.
    for (body, want, field) in [
        (json!({ "name": "x", "scopes": [] }), 422, "scopes"),
        (
            json!({ "name": "x", "scopes": ["admin"] }),
            422,
            "scopes[0]",
        ),
        (json!({ "name": "x", "host": "a b" }), 422, "host"),
    ] {
        let r = app.client.post(app.url("/api/v1/keys")).json(&body);
        let (status, err) = error_of(r.send().await.unwrap()).await;
        assert_eq!(status.as_u16(), want, "{body}: {err}");
        assert_eq!(err["field"], field, "{body}");
    }
}
