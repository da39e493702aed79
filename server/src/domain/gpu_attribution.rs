//! Per-request GPU attribution (pure): a GPU's samples (utilisation, power) joined with the
//! time windows of the calls its model served.
//!
//! Each sample holds until the next one (a step function; the last holds for the median
//! sampling interval). Within each step, the GPU's busy seconds (utilisation × length) and
//! its energy (power × length) are shared among the calls running then, in proportion to
//! how much of the step each call covers. Steps with no call running are the GPU's idle
//! share, reported apart. So the sums over calls plus idle equal the GPU's totals: nothing
//! is counted twice or lost.
//!
//! The error: a call's edges are known to the millisecond but the GPU only per sample, so
//! each edge can misplace up to one sampling interval of the GPU's work (at 1 s samples and
//! 100 % utilisation, up to 1 GPU-second per call edge); concurrent calls are assumed to load
//! the GPU equally while they overlap. Longer calls and denser samples shrink both.

use chrono::{DateTime, Utc};

/// One sample of one GPU.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GpuSample {
    pub time: DateTime<Utc>,
    /// Percent (0 to 100).
    pub utilization: f64,
    /// Watts; None when the GPU does not report power.
    pub power_w: Option<f64>,
}

/// A call's time window on that GPU.
#[derive(Debug, Clone, PartialEq)]
pub struct CallWindow {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// What a call was given.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Share {
    /// Seconds of the whole GPU (utilisation × time).
    pub gpu_seconds: f64,
    /// Joules; 0 without power readings.
    pub energy_j: f64,
    /// Seconds of the call covered by samples.
    pub covered_s: f64,
}

/// The attribution of one GPU over a range.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attribution {
    /// One per call, in the order given.
    pub calls: Vec<Share>,
    /// The GPU's busy seconds and energy while no call ran.
    pub idle: Share,
}

fn secs(a: DateTime<Utc>, b: DateTime<Utc>) -> f64 {
    (b - a).num_milliseconds() as f64 / 1000.0
}

/// The median interval between samples (seconds), for the last sample's step.
fn median_step(samples: &[GpuSample]) -> f64 {
    let mut steps: Vec<f64> = samples
        .windows(2)
        .map(|w| secs(w[0].time, w[1].time))
        .filter(|s| *s > 0.0)
        .collect();
    if steps.is_empty() {
        return 1.0;
    }
    steps.sort_by(f64::total_cmp);
    steps[(steps.len() - 1) / 2]
}

/// Attributes `samples` (oldest first) to `calls`. Steps longer than `gap_steps` median
/// sampling intervals are gaps in the data (the agent was down) and attribute nothing.
pub fn attribute(samples: &[GpuSample], calls: &[CallWindow], gap_steps: f64) -> Attribution {
    let mut out = Attribution {
        calls: vec![Share::default(); calls.len()],
        idle: Share::default(),
    };
    if samples.is_empty() {
        return out;
    }
    let last_step = median_step(samples);
    let max_gap = gap_steps * last_step;
    // Calls by start, so each step looks only at calls that may overlap it.
    let mut order: Vec<usize> = (0..calls.len()).collect();
    order.sort_by_key(|&i| calls[i].start);
    let mut first_open = 0;
    let mut overlaps: Vec<(usize, f64)> = Vec::new();
    for (i, s) in samples.iter().enumerate() {
        let a = s.time;
        let len = match samples.get(i + 1) {
            Some(n) => secs(a, n.time),
            None => last_step,
        };
        if len <= 0.0 || len > max_gap {
            continue;
        }
        let b = a + chrono::Duration::milliseconds((len * 1000.0).round() as i64);
        let busy = s.utilization.clamp(0.0, 100.0) / 100.0 * len;
        let energy = s.power_w.unwrap_or(0.0).max(0.0) * len;
        // Calls that ended before this step never overlap a later one.
        while first_open < order.len() && calls[order[first_open]].end <= a {
            first_open += 1;
        }
        overlaps.clear();
        for &c in &order[first_open..] {
            let w = &calls[c];
            if w.start >= b {
                break;
            }
            let o = secs(w.start.max(a), w.end.min(b));
            if o > 0.0 {
                overlaps.push((c, o));
            }
        }
        let total: f64 = overlaps.iter().map(|(_, o)| o).sum();
        if total <= 0.0 {
            out.idle.gpu_seconds += busy;
            out.idle.energy_j += energy;
            out.idle.covered_s += len;
            continue;
        }
        // The part of the step no call covers is idle; the rest is shared by overlap.
        let union = union_len(calls, &overlaps, a, b) / len;
        out.idle.gpu_seconds += busy * (1.0 - union);
        out.idle.energy_j += energy * (1.0 - union);
        out.idle.covered_s += len * (1.0 - union);
        for &(c, o) in &overlaps {
            let f = o / total * union;
            out.calls[c].gpu_seconds += busy * f;
            out.calls[c].energy_j += energy * f;
            out.calls[c].covered_s += o;
        }
    }
    out
}

/// The length (seconds) of [a, b) covered by at least one of the overlapping calls.
fn union_len(
    calls: &[CallWindow],
    overlaps: &[(usize, f64)],
    a: DateTime<Utc>,
    b: DateTime<Utc>,
) -> f64 {
    let mut spans: Vec<(DateTime<Utc>, DateTime<Utc>)> = overlaps
        .iter()
        .map(|&(c, _)| (calls[c].start.max(a), calls[c].end.min(b)))
        .collect();
    spans.sort();
    let mut total = 0.0;
    let mut cur: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
    for (s, e) in spans {
        match cur {
            Some((cs, ce)) if s <= ce => cur = Some((cs, ce.max(e))),
            Some((cs, ce)) => {
                total += secs(cs, ce);
                cur = Some((s, e));
            }
            None => cur = Some((s, e)),
        }
    }
    if let Some((cs, ce)) = cur {
        total += secs(cs, ce);
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn t(s: f64) -> DateTime<Utc> {
        let base: DateTime<Utc> = "2026-12-01T12:00:00Z".parse().unwrap();
        base + Duration::milliseconds((s * 1000.0) as i64)
    }

    fn samples(from: i64, to: i64, util: f64, watts: f64) -> Vec<GpuSample> {
        (from..to)
            .map(|s| GpuSample {
                time: t(s as f64),
                utilization: util,
                power_w: Some(watts),
            })
            .collect()
    }

    fn call(a: f64, b: f64) -> CallWindow {
        CallWindow {
            start: t(a),
            end: t(b),
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn one_call_gets_the_gpu_while_it_runs() {
        // 10 s at 100 % and 300 W; the call runs 2 s to 6 s.
        let r = attribute(&samples(0, 10, 100.0, 300.0), &[call(2.0, 6.0)], 5.0);
        assert!(close(r.calls[0].gpu_seconds, 4.0), "{r:?}");
        assert!(close(r.calls[0].energy_j, 1200.0));
        assert!(close(r.idle.gpu_seconds, 6.0));
        assert!(close(r.idle.energy_j, 1800.0));
    }

    #[test]
    fn overlapping_calls_share_by_overlap_and_nothing_is_lost() {
        // 50 % busy at 200 W; A runs 0–4 s, B 2–6 s: 2–4 s is shared.
        let s = samples(0, 8, 50.0, 200.0);
        let r = attribute(&s, &[call(0.0, 4.0), call(2.0, 6.0)], 5.0);
        assert!(close(r.calls[0].gpu_seconds, 1.5), "{r:?}");
        assert!(close(r.calls[1].gpu_seconds, 1.5), "{r:?}");
        let total: f64 = r.calls.iter().map(|c| c.gpu_seconds).sum::<f64>() + r.idle.gpu_seconds;
        assert!(close(total, 4.0), "the GPU's 8 s at 50 %");
        let energy: f64 = r.calls.iter().map(|c| c.energy_j).sum::<f64>() + r.idle.energy_j;
        assert!(close(energy, 1600.0));
    }

    #[test]
    fn a_call_inside_one_sample_gets_its_fraction() {
        // Samples every 10 s; a call of 2.5 s within the first.
        let s = vec![
            GpuSample {
                time: t(0.0),
                utilization: 80.0,
                power_w: Some(250.0),
            },
            GpuSample {
                time: t(10.0),
                utilization: 0.0,
                power_w: Some(50.0),
            },
        ];
        let r = attribute(&s, &[call(1.0, 3.5)], 3.0);
        assert!(close(r.calls[0].gpu_seconds, 2.0), "{r:?}");
        assert!(close(r.calls[0].energy_j, 625.0));
        // The last sample holds for the median step (10 s) and is idle.
        assert!(close(r.idle.energy_j, 250.0 * 7.5 + 500.0));
    }

    #[test]
    fn gaps_attribute_nothing_and_missing_power_is_zero_energy() {
        let s = vec![
            GpuSample {
                time: t(0.0),
                utilization: 100.0,
                power_w: None,
            },
            GpuSample {
                time: t(1.0),
                utilization: 100.0,
                power_w: None,
            },
            // The agent was down for 100 s.
            GpuSample {
                time: t(101.0),
                utilization: 100.0,
                power_w: None,
            },
        ];
        let r = attribute(&s, &[call(0.0, 101.0)], 5.0);
        // Only the first second: the gap gives nothing, the last sample comes as it ends.
        assert!(close(r.calls[0].gpu_seconds, 1.0), "{r:?}");
        assert_eq!(r.calls[0].energy_j, 0.0);
        assert_eq!(
            attribute(&[], &[call(0.0, 1.0)], 5.0).calls[0],
            Share::default()
        );
    }

    #[test]
    fn recorded_samples_of_a_known_run() {
        // A recorded pattern: a GPU idle at 8 % / 60 W, then three requests one after the
        // other, each driving it to 95 % / 310 W for the 3 s it ran, sampled each second.
        let mut s = Vec::new();
        let busy = |x: i64| (3..6).contains(&x) || (8..11).contains(&x) || (13..16).contains(&x);
        for x in 0..20 {
            let (u, w) = if busy(x) { (95.0, 310.0) } else { (8.0, 60.0) };
            s.push(GpuSample {
                time: t(x as f64),
                utilization: u,
                power_w: Some(w),
            });
        }
        let calls = [call(3.0, 6.0), call(8.0, 11.0), call(13.0, 16.0)];
        let r = attribute(&s, &calls, 5.0);
        for c in &r.calls {
            // 3 s × 95 % = 2.85 GPU-s; 3 s × 310 W = 930 J = 0.258 Wh.
            assert!(close(c.gpu_seconds, 2.85), "{c:?}");
            assert!(close(c.energy_j, 930.0), "{c:?}");
        }
        assert!(close(r.idle.gpu_seconds, 11.0 * 0.08), "{:?}", r.idle);
    }
}
