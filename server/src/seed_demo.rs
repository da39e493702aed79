//! `sightline seed-demo`: sends synthetic calls (see [`crate::demo`]) to a running server
//! through its public ingest API, so they take the real path (validation, pricing, the
//! pipeline, rollups, live updates) whatever database the server uses.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use app::types::{BatchAccepted, CallBatch, CallInput, LoginRequest};
use clap::Args;
use futures_util::{stream, StreamExt};
use reqwest::{header, StatusCode};

use crate::{demo::Generator, http::calls::MAX_BATCH};

#[derive(Args, Debug)]
pub struct SeedArgs {
    /// The server to fill.
    #[arg(
        long,
        env = "SIGHTLINE_SERVER",
        default_value = "http://127.0.0.1:3000"
    )]
    pub server: String,
    /// An API key (Settings → API keys). Without one, logs in as admin with
    /// SIGHTLINE_ADMIN_PASSWORD.
    #[arg(long, env = "SIGHTLINE_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// How many calls.
    #[arg(long, default_value_t = 50_000)]
    pub calls: u64,
    /// Spread over this many days back from now (at most 365).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(i64).range(1..=365))]
    pub days: i64,
    /// Seed of the generator; the same seed and time give the same calls.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub concurrency: u32,
}

async fn credentials(
    client: &reqwest::Client,
    args: &SeedArgs,
) -> anyhow::Result<(header::HeaderName, String)> {
    if let Some(key) = &args.api_key {
        return Ok((header::AUTHORIZATION, format!("Bearer {}", key.trim())));
    }
    let Ok(password) = std::env::var("SIGHTLINE_ADMIN_PASSWORD") else {
        bail!("give --api-key (or SIGHTLINE_API_KEY), or set SIGHTLINE_ADMIN_PASSWORD to log in as admin");
    };
    let res = client
        .post(format!("{}/api/v1/auth/login", args.server))
        .json(&LoginRequest {
            username: "admin".into(),
            password,
        })
        .send()
        .await
        .with_context(|| format!("cannot reach {}", args.server))?;
    if !res.status().is_success() {
        bail!("login as admin failed: HTTP {}", res.status());
    }
    let cookie = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("sightline_session="))
        .and_then(|v| v.split(';').next())
        .context("the login answer set no session cookie")?
        .to_owned();
    Ok((header::COOKIE, cookie))
}

/// Posts one batch, waiting and retrying while the server says it is busy.
async fn send(
    client: &reqwest::Client,
    url: &str,
    auth: &(header::HeaderName, String),
    calls: Vec<CallInput>,
) -> anyhow::Result<u64> {
    let body = CallBatch { calls };
    for attempt in 0..20u32 {
        let res = client
            .post(url)
            .header(auth.0.clone(), &auth.1)
            .json(&body)
            .send()
            .await?;
        match res.status() {
            s if s.is_success() => {
                let answer: BatchAccepted = res.json().await?;
                return Ok(answer.accepted);
            }
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS => {
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt + 1))).await;
            }
            s => bail!(
                "the server refused a batch: HTTP {s}: {}",
                res.text().await.unwrap_or_default()
            ),
        }
    }
    bail!("the server stayed busy; gave up")
}

pub async fn run(args: SeedArgs) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let auth = credentials(&client, &args).await?;
    let url = format!("{}/api/v1/llm/calls", args.server.trim_end_matches('/'));
    let started = Instant::now();
    let mut generator = Generator::new(args.calls, args.days, chrono::Utc::now(), args.seed);
    let batches = std::iter::from_fn(move || {
        let batch: Vec<CallInput> = generator.by_ref().take(MAX_BATCH).collect();
        (!batch.is_empty()).then_some(batch)
    });
    let mut sent = 0u64;
    let mut accepted = 0u64;
    let mut results = stream::iter(batches)
        .map(|b| {
            let n = b.len() as u64;
            let (client, url, auth) = (&client, &url, &auth);
            async move { send(client, url, auth, b).await.map(|a| (n, a)) }
        })
        .buffer_unordered(args.concurrency as usize);
    while let Some(r) = results.next().await {
        let (n, a) = r?;
        sent += n;
        accepted += a;
        if sent % 100_000 < MAX_BATCH as u64 {
            eprintln!("  {sent} of {} calls sent", args.calls);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "seeded {accepted} calls ({} already there) over {} days in {secs:.1} s ({:.0} calls/s)",
        sent - accepted,
        args.days,
        sent as f64 / secs.max(0.001)
    );
    Ok(())
}
