//! Per-request GPU attribution over a range: for each bound GPU, its samples and the calls
//! of every provider bound to it, shared out by `domain::gpu_attribution`, then summed per
//! model.

use std::collections::BTreeMap;

use app::types::gpu::{GpuAttribution, GpuTotals, ModelGpuUse};
use chrono::{DateTime, Duration, Utc};

use crate::{
    domain::gpu_attribution::{attribute, CallWindow},
    state::AppState,
    store::{self, gpu::CallSpan},
};

/// Samples read per GPU at most: a day at one per second.
const MAX_SAMPLES: i64 = 86_400 + 600;
/// Calls read per provider at most.
const MAX_CALLS: i64 = 500_000;
/// A step longer than this many sampling intervals is a gap in the data.
const GAP_STEPS: f64 = 5.0;
/// Joules in a watt-hour.
const J_PER_WH: f64 = 3600.0;

/// Attribution of every bound GPU's samples in [from, to) to the calls in it.
pub async fn attribution(
    state: &AppState,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<GpuAttribution> {
    let pool = &state.pool;
    let bindings = store::gpu::bindings(pool).await?;
    let mut by_gpu: BTreeMap<(String, u32), Vec<String>> = BTreeMap::new();
    for b in &bindings {
        by_gpu
            .entry((b.host.clone(), b.gpu))
            .or_default()
            .push(b.provider.clone());
    }
    let mut models: BTreeMap<(String, String), ModelGpuUse> = BTreeMap::new();
    let mut gpus = Vec::new();
    for ((host, gpu), providers) in by_gpu {
        let samples = store::gpu::samples(pool, &host, gpu, from, to, MAX_SAMPLES).await?;
        let mut calls: Vec<(String, CallSpan)> = Vec::new();
        for p in &providers {
            // Calls that began a little before the range may still run in it.
            let read_from = from - Duration::minutes(10);
            for c in store::gpu::calls(pool, p, read_from, to, MAX_CALLS).await? {
                calls.push((p.clone(), c));
            }
        }
        let windows: Vec<CallWindow> = calls
            .iter()
            .map(|(_, c)| CallWindow {
                start: c.time,
                end: c.time + Duration::milliseconds(c.duration_ms.max(0.0).round() as i64),
            })
            .collect();
        let a = attribute(&samples, &windows, GAP_STEPS);
        let mut totals = GpuTotals {
            host: host.clone(),
            gpu,
            samples: samples.len() as u64,
            attributed_gpu_seconds: 0.0,
            attributed_energy_wh: 0.0,
            idle_gpu_seconds: a.idle.gpu_seconds,
            idle_energy_wh: a.idle.energy_j / J_PER_WH,
        };
        for ((provider, c), share) in calls.iter().zip(&a.calls) {
            // Calls from before the range count only for the GPU time they had in it.
            let in_range = c.time >= from;
            if !in_range && share.covered_s == 0.0 {
                continue;
            }
            let m = models
                .entry((provider.clone(), c.model.clone()))
                .or_insert_with(|| ModelGpuUse {
                    provider: provider.clone(),
                    model: c.model.clone(),
                    host: host.clone(),
                    gpu,
                    calls: 0,
                    covered_calls: 0,
                    gpu_seconds: 0.0,
                    energy_wh: 0.0,
                    gpu_seconds_per_call: None,
                    wh_per_call: None,
                    cost_micros: 0,
                });
            if in_range {
                m.calls += 1;
                m.cost_micros += c.cost_total_micros.unwrap_or(0);
            }
            if share.covered_s > 0.0 {
                m.covered_calls += u64::from(in_range);
                m.gpu_seconds += share.gpu_seconds;
                m.energy_wh += share.energy_j / J_PER_WH;
                totals.attributed_gpu_seconds += share.gpu_seconds;
                totals.attributed_energy_wh += share.energy_j / J_PER_WH;
            }
        }
        gpus.push(totals);
    }
    let mut models: Vec<ModelGpuUse> = models
        .into_values()
        .map(|mut m| {
            if m.covered_calls > 0 {
                m.gpu_seconds_per_call = Some(m.gpu_seconds / m.covered_calls as f64);
                m.wh_per_call = Some(m.energy_wh / m.covered_calls as f64);
            }
            m
        })
        .collect();
    models.sort_by(|a, b| b.gpu_seconds.total_cmp(&a.gpu_seconds));
    Ok(GpuAttribution {
        from,
        to,
        bindings,
        models,
        gpus,
    })
}
