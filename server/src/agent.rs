//! `sightline agent`: only the collector, pushing batches to a Sightline server. While the
//! server cannot be reached, samples wait in a bounded buffer and are replayed oldest first
//! when it returns, so the charts have no gap; past the bound the oldest go, said once.

use std::{
    collections::VecDeque,
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::Context;
use app::types::system::{HostInfo, SampleBatch, SystemSample};
use clap::Args;
use tokio::sync::{watch, Notify};

use crate::system::collector::{sample_blocking, Collector, SampleSource};

#[derive(Args, Debug, Clone)]
pub struct AgentArgs {
    /// The Sightline server, e.g. http://monitor.internal:3000
    #[arg(long, env = "SIGHTLINE_SERVER", value_name = "URL")]
    pub server: url::Url,
    /// An API key created in Settings → API keys.
    #[arg(
        long,
        env = "SIGHTLINE_API_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub api_key: String,
    /// How often to sample this host.
    #[arg(long, default_value = "1s", value_name = "DURATION")]
    pub interval: String,
    /// How much to keep while the server is unreachable (oldest dropped beyond it).
    #[arg(long, default_value = "10m", value_name = "DURATION")]
    pub buffer: String,
    /// Processes kept per sample: the N busiest by CPU and the N largest by memory.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub top_processes: usize,
}

/// Samples per request when replaying a backlog.
pub const BATCH: usize = 500;

/// Samples waiting to be sent, oldest first, at most `cap` of them.
#[derive(Debug)]
pub struct SampleBuffer {
    cap: usize,
    queue: VecDeque<SystemSample>,
    /// Dropped since the last successful send.
    dropped: u64,
}

impl SampleBuffer {
    pub fn new(cap: usize) -> Self {
        Self {
            cap: cap.max(1),
            queue: VecDeque::new(),
            dropped: 0,
        }
    }

    /// Adds a sample; when full, drops the oldest. Returns true on the first drop of an
    /// outage (the moment to say so).
    pub fn push(&mut self, s: SystemSample) -> bool {
        let mut first_drop = false;
        if self.queue.len() >= self.cap {
            self.queue.pop_front();
            first_drop = self.dropped == 0;
            self.dropped += 1;
        }
        self.queue.push_back(s);
        first_drop
    }

    /// The oldest `max` samples, still kept until [`Self::confirm`].
    pub fn peek(&self, max: usize) -> Vec<SystemSample> {
        self.queue.iter().take(max).cloned().collect()
    }

    /// Forgets the `n` oldest (they were stored); returns the drops of the outage that ended.
    pub fn confirm(&mut self, n: usize) -> u64 {
        for _ in 0..n.min(self.queue.len()) {
            self.queue.pop_front();
        }
        std::mem::take(&mut self.dropped)
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

/// What the agent needs besides its source.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    pub server: url::Url,
    pub api_key: String,
    pub interval: Duration,
    pub buffer: Duration,
}

/// Runs the agent with the real collector until SIGINT or SIGTERM.
pub async fn run(args: AgentArgs) -> anyhow::Result<()> {
    let interval = crate::config::parse_duration(
        "interval",
        &args.interval,
        Duration::from_millis(100),
        Duration::from_secs(3600),
    )?;
    let buffer = crate::config::parse_duration(
        "buffer",
        &args.buffer,
        Duration::ZERO,
        Duration::from_secs(7 * 86_400),
    )?;
    let source = Collector::new(
        crate::system::gpu::detect(),
        args.top_processes.clamp(1, 100),
    )?;
    let options = AgentOptions {
        server: args.server,
        api_key: args.api_key,
        interval,
        buffer,
    };
    let shutdown = async {
        use tokio::signal::unix::{signal, SignalKind};
        if let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
        }
    };
    run_with(Box::new(source), options, shutdown).await
}

/// Samples every interval and sends in the background until `shutdown`; tries once more
/// to send what is buffered before returning. Fails only when the server refuses the key.
pub async fn run_with(
    mut source: Box<dyn SampleSource>,
    options: AgentOptions,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let cap = (options.buffer.as_millis() / options.interval.as_millis().max(1)) as usize;
    let buffer = Arc::new(Mutex::new(SampleBuffer::new(cap.max(1))));
    let info = Arc::new(Mutex::new(source.host_info()));
    let wake = Arc::new(Notify::new());
    let (stop_tx, stop_rx) = watch::channel(false);
    let endpoint = options
        .server
        .join("api/v1/system/samples")
        .context("cannot make the samples URL from --server")?;
    tracing::info!(server = %options.server, interval = ?options.interval, buffer = cap, "agent started");
    let sender = tokio::spawn(send_loop(
        reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .context("cannot build the HTTP client")?,
        endpoint,
        options.api_key.clone(),
        buffer.clone(),
        info.clone(),
        wake.clone(),
        stop_rx,
        cap,
    ));
    let mut tick = tokio::time::interval(options.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut n: u32 = 0;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = &mut shutdown => break,
        }
        if sender.is_finished() {
            break;
        }
        let (back, sample, fresh) = sample_blocking(source, chrono::Utc::now(), n)
            .await
            .context("the collector panicked")?;
        source = back;
        n = n.wrapping_add(1);
        if let Some(i) = fresh {
            *info.lock().unwrap_or_else(|p| p.into_inner()) = i;
        }
        let first_drop = buffer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(sample);
        if first_drop {
            tracing::warn!(
                kept = cap,
                "buffer full while the server is unreachable: dropping the oldest samples"
            );
        }
        wake.notify_one();
    }
    let _ = stop_tx.send(true);
    sender.await.context("the sender panicked")?
}

enum Sent {
    Stored,
    /// Refused for good (the batch is invalid): drop it, keep going.
    Rejected(String),
    /// Try again later (network, 5xx, 429).
    Retry(String),
    /// The key is wrong: stop.
    Fatal(String),
}

async fn send(
    client: &reqwest::Client,
    endpoint: &url::Url,
    key: &str,
    batch: &SampleBatch,
) -> Sent {
    let resp = match client
        .post(endpoint.clone())
        .bearer_auth(key)
        .json(batch)
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => return Sent::Retry(e.to_string()),
    };
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    match status.as_u16() {
        200..=299 => Sent::Stored,
        401 | 403 => Sent::Fatal(format!("the server refused the API key ({status}): {body}")),
        408 | 429 | 500..=599 => Sent::Retry(format!("{status}: {body}")),
        _ => Sent::Rejected(format!("{status}: {body}")),
    }
}

#[allow(clippy::too_many_arguments)]
async fn send_loop(
    client: reqwest::Client,
    endpoint: url::Url,
    key: String,
    buffer: Arc<Mutex<SampleBuffer>>,
    info: Arc<Mutex<HostInfo>>,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
    cap: usize,
) -> anyhow::Result<()> {
    let mut backoff = Duration::from_millis(500);
    let mut down_since: Option<std::time::Instant> = None;
    loop {
        let (samples, host) = {
            let b = buffer.lock().unwrap_or_else(|p| p.into_inner());
            (
                b.peek(BATCH),
                info.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            )
        };
        let stopping = *stop.borrow();
        if samples.is_empty() {
            if stopping {
                return Ok(());
            }
            tokio::select! {
                _ = wake.notified() => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        let n = samples.len();
        let outcome = send(&client, &endpoint, &key, &SampleBatch { host, samples }).await;
        match outcome {
            Sent::Stored | Sent::Rejected(_) => {
                if let Sent::Rejected(why) = &outcome {
                    tracing::warn!(samples = n, reason = %why, "the server rejected a batch; dropped");
                }
                let (dropped, left) = {
                    let mut b = buffer.lock().unwrap_or_else(|p| p.into_inner());
                    (b.confirm(n), b.len())
                };
                if let Some(since) = down_since.take() {
                    tracing::info!(
                        after = ?since.elapsed(),
                        dropped,
                        replaying = left + n,
                        "server reachable again; replaying the buffer in order"
                    );
                }
                backoff = Duration::from_millis(500);
            }
            Sent::Fatal(why) => anyhow::bail!(why),
            Sent::Retry(why) => {
                if down_since.is_none() {
                    down_since = Some(std::time::Instant::now());
                    tracing::warn!(reason = %why, buffer = cap, "server unreachable; buffering samples");
                }
                if stopping {
                    let left = buffer.lock().unwrap_or_else(|p| p.into_inner()).len();
                    tracing::warn!(samples = left, "stopping with samples not sent");
                    return Ok(());
                }
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(sec: i64) -> SystemSample {
        SystemSample {
            time: chrono::DateTime::from_timestamp(1_700_000_000 + sec, 0).unwrap(),
            ..Default::default()
        }
    }

    #[test]
    fn the_buffer_keeps_the_newest_and_says_so_once() {
        let mut b = SampleBuffer::new(3);
        assert!(!b.push(s(0)) && !b.push(s(1)) && !b.push(s(2)));
        assert!(b.push(s(3)), "first drop is reported");
        assert!(!b.push(s(4)), "later drops are not");
        let kept: Vec<i64> = b
            .peek(10)
            .iter()
            .map(|x| x.time.timestamp() - 1_700_000_000)
            .collect();
        assert_eq!(kept, vec![2, 3, 4]);
        assert_eq!(b.confirm(2), 2, "two were dropped in that outage");
        assert_eq!(b.len(), 1);
        assert!(!b.push(s(5)) && !b.push(s(6)));
        assert!(b.push(s(7)), "a new outage reports again");
    }
}
