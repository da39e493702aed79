//! Start-up and shutdown: bind, bring up the database (external or embedded), migrate,
//! make sure the admin account exists, serve until SIGINT/SIGTERM, then stop in order.

use std::{
    future::Future,
    net::SocketAddr,
    sync::{Arc, RwLock},
    time::Duration,
};

use anyhow::Context;
use leptos::config::{Env, LeptosOptions};
use sqlx::PgPool;
use tokio::{net::TcpListener, task::JoinHandle};

use crate::{
    auth::sealing::{Sealer, KEY_FILE},
    auth::{limiter::AddressLimiter, password, token, ADMIN_USERNAME},
    config::{Config, DatabaseSource, Secret},
    dbwatch,
    domain::{db_watch::PoolKind, pricing},
    embedded_db::EmbeddedPostgres,
    http,
    ingest::{
        pipeline::Pipeline,
        recorder::{Recorder, SPOOL_FILE},
        service::Ingest,
    },
    live::LiveHub,
    state::{AppState, Shared},
    store,
};

/// Connections of the writers' pool: the ingest pipeline's group commits, its folder, and
/// one spare.
const WRITER_CONNECTIONS: u32 = crate::ingest::pipeline::WRITERS as u32 + 2;

/// Connections of the collectors' pool: the system, application and browser writers, one
/// each. They write every second or so; on a pool of their own they leave the ingest
/// connections idle after a burst, so those close after [`store::IDLE_TIMEOUT`] and give back
/// the buffers the burst grew (sqlx hands out idle connections in turn, so a steady writer
/// on the same pool would keep every one of them open).
const COLLECTOR_CONNECTIONS: u32 = 3;

/// The console log, filtered by `filter`, beside the database watch's layer (which has a
/// filter of its own, so sqlx's debug events reach it whatever the console shows).
pub fn init_tracing(filter: &str) {
    use tracing_subscriber::{layer::SubscriberExt, util::SubscriberInitExt, Layer};
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_filter(filter))
        .with(dbwatch::layer())
        .try_init();
}

/// The pools and the stored set-up a server starts from.
struct Connected {
    /// The API's reads and its small writes.
    pool: PgPool,
    writers: PgPool,
    collectors: PgPool,
    prices: Vec<pricing::Price>,
    providers: Vec<crate::domain::provider::Provider>,
    http_client: reqwest::Client,
}

/// A built server, bound and connected, not yet serving.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    embedded: Option<EmbeddedPostgres>,
    housekeeping: JoinHandle<()>,
    writer: JoinHandle<()>,
    /// Stores the proxy's last records (or leaves them spooled) once the server stops.
    recorder_task: JoinHandle<()>,
    /// The pool of the ingest writers (and migrations).
    writers: PgPool,
    /// The pool of the system, application and browser writers.
    collectors: PgPool,
    collector: Option<JoinHandle<()>>,
    shutdown_tx: tokio::sync::watch::Sender<bool>,
}

impl Application {
    /// Binds first (so a taken port fails before any database work), then brings up the
    /// database. On any failure after the embedded cluster started, the cluster is stopped.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        dbwatch::install_fallback();
        dbwatch::watch().set_slow_threshold(config.db_slow_query_ms);
        let (url, embedded) = match &config.database {
            DatabaseSource::External(url) => (url.clone(), None),
            DatabaseSource::Embedded(dir) => {
                let pg = EmbeddedPostgres::start(dir)
                    .await
                    .context("cannot start the embedded PostgreSQL")?;
                (Secret::new(pg.url()), Some(pg))
            }
        };
        let sealer = match open_sealer(&config.data_dir) {
            Ok(s) => Arc::new(s),
            Err(e) => {
                if let Some(pg) = embedded {
                    pg.stop().await;
                }
                return Err(e);
            }
        };
        match Self::connect(&config, url.expose(), &sealer).await {
            Ok(Connected {
                pool,
                writers,
                collectors,
                prices,
                providers,
                http_client,
            }) => {
                let actual = listener.local_addr()?;
                let live = LiveHub::new();
                let metrics = Arc::new(crate::metrics::Metrics::new());
                metrics.watch_pools(vec![
                    ("api", pool.clone(), config.db_max_connections),
                    ("writer", writers.clone(), WRITER_CONNECTIONS),
                    ("collector", collectors.clone(), COLLECTOR_CONNECTIONS),
                ]);
                let watch = dbwatch::watch();
                watch.register(PoolKind::Api, pool.clone(), config.db_max_connections);
                watch.register(PoolKind::Writer, writers.clone(), WRITER_CONNECTIONS);
                dbwatch::start_sampler();
                let (pipeline, writer) =
                    Pipeline::start(writers.clone(), live.clone(), Arc::clone(&metrics));
                let (recorder, recorder_task) =
                    match open_recorder(&config.data_dir, pipeline.clone()) {
                        Ok(r) => r,
                        Err(e) => {
                            if let Some(pg) = embedded {
                                pg.stop().await;
                            }
                            return Err(e);
                        }
                    };
                let (shutdown_tx, shutdown) = tokio::sync::watch::channel(false);
                let system =
                    crate::system::writer::SystemWriter::new(collectors.clone(), live.clone());
                let apps = crate::apps::AppRequestWriter::new(collectors.clone(), live.clone());
                let browser = crate::browser::BrowserWriter::new(collectors.clone(), live.clone());
                let state = AppState::new(Shared {
                    apps,
                    browser,
                    system,
                    live,
                    shutdown,
                    pool: pool.clone(),
                    ingest: Ingest::new(
                        pipeline,
                        recorder,
                        pool.clone(),
                        prices,
                        config.event_timeout,
                    ),
                    key_cache: Arc::default(),
                    metrics,
                    closed: Arc::default(),
                    closed_users: Arc::default(),
                    bench: crate::bench::Runs::default(),
                    budgets: crate::budgets::Book::default(),
                    alerts: crate::alerts::Alerts::default(),
                    rate_limits: Arc::default(),
                    sealer,
                    providers: Arc::new(RwLock::new(
                        providers
                            .into_iter()
                            .map(|p| (p.name.clone(), Arc::new(p)))
                            .collect(),
                    )),
                    http_client,
                    login_limiter: Arc::new(AddressLimiter::per_minute(
                        config.login_attempts_per_minute,
                    )),
                    browser_limiter: Arc::new(AddressLimiter::per_minute(
                        config.browser.reports_per_minute,
                    )),
                    leptos_options: leptos_options(&config, actual),
                    config: Arc::new(config),
                });
                let housekeeping = tokio::spawn(housekeeping(state.clone()));
                tokio::spawn(sweep_event_timeouts(state.clone()));
                tokio::spawn(crate::scheduled_reports::run(state.clone()));
                tokio::spawn(crate::workers::run(state.clone()));
                tokio::spawn(crate::apps::own::run(
                    Arc::clone(&state.metrics.own_requests),
                    state.apps.clone(),
                    state.shutdown.clone(),
                ));
                if let Err(e) = state.rate_limits.reload(&state.pool).await {
                    tracing::warn!(error = %e, "cannot load rate limits yet; retrying each second");
                }
                if let Err(e) = state.budgets.reload(&state.pool).await {
                    tracing::warn!(error = %e, "cannot load budgets yet; retrying each second");
                }
                tokio::spawn(crate::budgets::evaluator::run(
                    state.pool.clone(),
                    state.live.clone(),
                    state.budgets.clone(),
                    Arc::clone(&state.rate_limits),
                ));
                tokio::spawn(crate::alerts::evaluator::run(state.clone()));
                tokio::spawn(crate::alerts::dispatch::run(state.clone()));
                let collector = start_collector(&state);
                Ok(Self {
                    listener,
                    state,
                    embedded,
                    housekeeping,
                    writer,
                    recorder_task,
                    writers,
                    collectors,
                    collector,
                    shutdown_tx,
                })
            }
            Err(e) => {
                if let Some(pg) = embedded {
                    pg.stop().await;
                }
                Err(e)
            }
        }
    }

    /// Connects, migrates, and prepares what the server needs from the database.
    async fn connect(config: &Config, url: &str, sealer: &Sealer) -> anyhow::Result<Connected> {
        // The writers get pools of their own: reads, however heavy, can never take the
        // connections that acknowledge ingest. The collectors' statements are reported with
        // the writers'.
        let writer_pool = |size| {
            store::connect(
                url,
                size,
                config.db_retry,
                None,
                dbwatch::instrument(PoolKind::Writer),
            )
        };
        let writers = writer_pool(WRITER_CONNECTIONS).await?;
        store::migrate(&writers)
            .await
            .context("database migrations failed")?;
        // Runs belong to the server that ran them; none is running before this one starts.
        let stale = store::bench::interrupt_running(&writers).await?;
        if stale > 0 {
            tracing::warn!(
                runs = stale,
                "benchmark runs were going when the server stopped; marked interrupted"
            );
        }
        let collectors = writer_pool(COLLECTOR_CONNECTIONS).await?;
        let pool = store::connect(
            url,
            config.db_max_connections,
            config.db_retry,
            Some(store::STATEMENT_TIMEOUT),
            dbwatch::instrument(PoolKind::Api),
        )
        .await?;
        ensure_admin(&pool, config.admin_password.as_ref()).await?;
        store::prices::seed_if_empty(&pool, &pricing::bundled_prices()).await?;
        crate::alerts::defaults::install(&pool).await?;
        let prices = store::prices::load(&pool).await?;
        ensure_partitions(&pool).await?;
        for p in &config.providers {
            let provider = crate::domain::provider::Provider {
                name: p.name.clone(),
                kind: p.kind,
                base_url: p.base_url.clone(),
                api_key: None,
                pass_through: p.pass_through,
            };
            let key = p
                .api_key
                .as_ref()
                .map(|k| sealer.seal(k.expose()))
                .unwrap_or_default();
            store::providers::upsert(&pool, &provider, Some(&key), "config").await?;
        }
        let providers = crate::state::load_providers(&pool, sealer).await?;
        Ok(Connected {
            pool,
            writers,
            collectors,
            prices,
            providers,
            http_client: proxy_client(config.proxy_idle_timeout)?,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or(self.state.config.listen)
    }

    pub fn pool(&self) -> &PgPool {
        &self.state.pool
    }

    /// The shared state (benchmarks drive the alert cycle through it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then drains requests, closes the pool and stops the
    /// embedded cluster.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let addr = self.local_addr();
        tracing::info!(%addr, "Sightline listening on http://{addr}");
        let router = http::router(self.state.clone());
        // Tell endless streams (SSE) to end, or graceful shutdown would wait for them.
        let shutdown_tx = self.shutdown_tx;
        let shutdown = async move {
            shutdown.await;
            let _ = shutdown_tx.send(true);
        };
        let served = axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        // In-flight requests have been answered; let the writer finish what is queued.
        self.housekeeping.abort();
        let _ = self.housekeeping.await;
        // The collector saw the stop signal; let its last write finish before the pool goes.
        if let Some(c) = self.collector {
            let _ = c.await;
        }
        // The last handle to the ingest pipeline goes with the state, which ends its writer
        // once the background tasks holding the state have stopped too.
        let pool = self.state.pool.clone();
        drop(self.state);
        let _ = self.recorder_task.await;
        let _ = self.writer.await;
        pool.close().await;
        self.writers.close().await;
        self.collectors.close().await;
        if let Some(pg) = self.embedded {
            pg.stop().await;
        }
        tracing::info!("Sightline stopped");
        served.context("server error")
    }
}

/// Runs `serve` until SIGINT or SIGTERM.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    // Signal handlers go in before anything is started, so a signal during start-up still
    // leads to an orderly stop (and no orphaned database).
    let shutdown = shutdown_signal()?;
    let app = Application::build(config).await?;
    app.run_until(shutdown).await
}

fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("cannot install SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot install SIGINT handler")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
            _ = int.recv() => tracing::info!("SIGINT received, shutting down"),
        }
    })
}

fn leptos_options(config: &Config, addr: SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("sightline")
        .site_root(config.site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .env(Env::PROD)
        .build()
}

/// Creates the admin account at first start, with SIGHTLINE_ADMIN_PASSWORD or a generated
/// password printed once. A later start with SIGHTLINE_ADMIN_PASSWORD set resets the password
/// to it (the documented recovery path).
async fn ensure_admin(pool: &PgPool, configured: Option<&Secret>) -> anyhow::Result<()> {
    let existing = store::users::find_by_username(pool, ADMIN_USERNAME).await?;
    match (existing, configured) {
        (Some(user), Some(pw)) => {
            let (given, stored) = (pw.expose().to_owned(), user.password_hash.clone());
            let same =
                tokio::task::spawn_blocking(move || password::verify(&given, &stored)).await?;
            if !same {
                let hash = hash_blocking(pw.expose()).await?;
                store::users::set_password_hash(pool, user.id, &hash).await?;
                tracing::info!("admin password reset from SIGHTLINE_ADMIN_PASSWORD");
            }
        }
        (Some(_), None) => {}
        (None, configured) => {
            let generated = configured.is_none();
            let pw = configured
                .map(|p| p.expose().to_owned())
                .unwrap_or_else(|| token::random_token(15));
            let hash = hash_blocking(&pw).await?;
            if store::users::create_if_absent(pool, ADMIN_USERNAME, &hash).await? && generated {
                // Printed, not logged: it must not end up in log storage.
                println!(
                    "\n  Sightline admin account created.\n  username: {ADMIN_USERNAME}\n  password: {pw}\n  (shown once; set SIGHTLINE_ADMIN_PASSWORD to choose or reset it)\n"
                );
            }
        }
    }
    Ok(())
}

async fn hash_blocking(pw: &str) -> anyhow::Result<String> {
    let pw = pw.to_owned();
    tokio::task::spawn_blocking(move || password::hash(&pw))
        .await?
        .map_err(|e| anyhow::anyhow!("cannot hash password: {e}"))
}

/// Daily partitions for calls and system samples from yesterday to a week ahead (UTC).
async fn ensure_partitions(pool: &PgPool) -> sqlx::Result<()> {
    let today = chrono::Utc::now().date_naive();
    let (from, to) = (
        today - chrono::Duration::days(1),
        today + chrono::Duration::days(7),
    );
    store::calls::ensure_partitions(pool, from, to).await?;
    store::app_requests::ensure_partitions(pool, from, to).await?;
    store::system::ensure_partitions(pool, from, to).await
}

/// The built-in collector of this host, unless it is switched off.
fn start_collector(state: &AppState) -> Option<JoinHandle<()>> {
    let settings = &state.config.system;
    if settings.interval.is_zero() {
        tracing::info!("system collector off");
        return None;
    }
    let gpu = crate::system::gpu::detect();
    match crate::system::collector::Collector::new(gpu, settings.top_processes) {
        Ok(c) => Some(tokio::spawn(crate::system::local::run(
            Box::new(c),
            state.system.clone(),
            Arc::clone(&state.metrics),
            settings.interval,
            state.shutdown.clone(),
        ))),
        Err(e) => {
            tracing::warn!(error = %e, "no system metrics on this host");
            None
        }
    }
}

/// Every 10 minutes: partitions ahead, retention, expired sessions and idle rate-limit
/// entries.
async fn housekeeping(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        if let Err(e) = ensure_partitions(&state.pool).await {
            tracing::warn!(error = %e, "cannot create partitions");
        }
        match store::system::enforce_retention(
            &state.pool,
            chrono::Utc::now(),
            &state.config.system.retention,
        )
        .await
        {
            Ok(dropped) if !dropped.is_empty() => {
                tracing::info!(partitions = ?dropped, "old system metrics dropped")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot enforce system-metrics retention"),
        }
        match store::app_requests::enforce_retention(
            &state.pool,
            chrono::Utc::now(),
            &state.config.system.retention,
        )
        .await
        {
            Ok(dropped) if !dropped.is_empty() => {
                tracing::info!(partitions = ?dropped, "old application requests dropped")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot enforce application-request retention"),
        }
        match store::browser::enforce_retention(
            &state.pool,
            chrono::Utc::now(),
            &state.config.system.retention,
        )
        .await
        {
            Ok(dropped) if !dropped.is_empty() => {
                tracing::info!(partitions = ?dropped, "old browser reports dropped")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot enforce browser-report retention"),
        }
        state.login_limiter.prune();
        state.browser_limiter.prune();
        if let Err(e) = store::pending_calls::prune_timed_out(&state.pool).await {
            tracing::warn!(error = %e, "cannot prune timed-out starts");
        }
        match store::sessions::delete_expired(&state.pool).await {
            Ok(n) if n > 0 => tracing::debug!(removed = n, "expired sessions removed"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot remove expired sessions"),
        }
    }
}

/// Started calls whose end never came become timeouts, checked a few times per timeout.
async fn sweep_event_timeouts(state: AppState) {
    let every =
        (state.config.event_timeout / 4).clamp(Duration::from_millis(250), Duration::from_secs(30));
    let mut tick = tokio::time::interval(every);
    let mut shutdown = state.shutdown.clone();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        match state.ingest.sweep_timeouts().await {
            Ok(n) if n > 0 => tracing::debug!(calls = n, "started calls timed out"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot sweep timed-out calls"),
        }
    }
}

/// The proxy's upstream client: keep-alive pools and no overall timeout (streams may run
/// for minutes); connecting must not hang.
fn proxy_client(idle: Duration) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        // An upstream that stops sending mid-answer is given up after this long of silence.
        .read_timeout(idle)
        .pool_idle_timeout(std::time::Duration::from_secs(90))
        .tcp_nodelay(true)
        // A redirect is relayed to the client as it is: following it would carry the
        // provider's key to wherever the upstream points.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("cannot build the HTTP client")
}

/// The data directory, created 0700 if absent.
fn ensure_data_dir(data_dir: &std::path::Path) -> anyhow::Result<()> {
    let mut dir = std::fs::DirBuilder::new();
    dir.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut dir, 0o700);
    dir.create(data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))
}

/// The key that seals provider keys, from (or into) the data directory.
fn open_sealer(data_dir: &std::path::Path) -> anyhow::Result<Sealer> {
    ensure_data_dir(data_dir)?;
    let path = data_dir.join(KEY_FILE);
    Sealer::load_or_create(&path)
        .with_context(|| format!("cannot read or create the key file {}", path.display()))
}

/// Starts the proxy's recorder on its spool in the data directory.
fn open_recorder(
    data_dir: &std::path::Path,
    pipeline: Pipeline,
) -> anyhow::Result<(Recorder, JoinHandle<()>)> {
    ensure_data_dir(data_dir)?;
    let spool = data_dir.join(SPOOL_FILE);
    Recorder::start(pipeline, &spool)
        .with_context(|| format!("cannot open the proxy spool {}", spool.display()))
}
