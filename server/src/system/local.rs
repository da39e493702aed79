//! The server's own collector loop: sample this host every interval and hand each sample
//! to the writer, until shutdown.

use std::{sync::Arc, time::Duration};

use tokio::sync::watch;

use super::{
    collector::{sample_blocking, SampleSource},
    writer::SystemWriter,
};
use crate::metrics::Metrics;

pub async fn run(
    mut source: Box<dyn SampleSource>,
    writer: SystemWriter,
    metrics: Arc<Metrics>,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut info = source.host_info();
    let mut n: u32 = 0;
    let mut failing = false;
    loop {
        tokio::select! {
            // A stop wins over a due tick: nothing is written once shutdown began.
            biased;
            _ = shutdown.wait_for(|stop| *stop) => return,
            _ = tick.tick() => {}
        }
        let started = std::time::Instant::now();
        let sampled = sample_blocking(source, chrono::Utc::now(), n).await;
        metrics.collected(started.elapsed().as_secs_f64());
        let Ok((back, sample, fresh_info)) = sampled else {
            tracing::error!("the system collector panicked; system metrics stop");
            return;
        };
        source = back;
        if let Some(i) = fresh_info {
            info = i;
        }
        n = n.wrapping_add(1);
        match writer
            .write(&info, std::slice::from_ref(&sample), true)
            .await
        {
            Ok(_) if failing => {
                failing = false;
                tracing::info!("system samples are stored again");
            }
            Ok(_) => {}
            // Said once per outage, not every second.
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "cannot store system samples; dropping them until the database answers");
            }
            Err(_) => {}
        }
    }
}
