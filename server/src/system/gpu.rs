//! GPUs behind a small source trait: NVML on hosts with an NVIDIA driver, nothing elsewhere,
//! recorded readings in tests. A host without a GPU is normal, not an error: it is said once
//! at debug level and then the source stays quiet.

use app::types::system::{GpuProcess, GpuSample};

/// Where GPU readings come from.
pub trait GpuSource: Send {
    /// The GPUs now; empty when there are none. Process names are filled in by the caller.
    fn sample(&mut self) -> Vec<GpuSample>;
}

/// A host without (usable) GPUs.
pub struct NoGpu;

impl GpuSource for NoGpu {
    fn sample(&mut self) -> Vec<GpuSample> {
        Vec::new()
    }
}

/// Recorded readings, replayed in turn (the last one repeats): for tests and demos.
pub struct Recorded {
    readings: Vec<Vec<GpuSample>>,
    next: usize,
}

impl Recorded {
    pub fn new(readings: Vec<Vec<GpuSample>>) -> Self {
        Self { readings, next: 0 }
    }
}

impl GpuSource for Recorded {
    fn sample(&mut self) -> Vec<GpuSample> {
        let i = self.next.min(self.readings.len().saturating_sub(1));
        self.next += 1;
        self.readings.get(i).cloned().unwrap_or_default()
    }
}

/// NVIDIA GPUs through NVML (the library is loaded at run time).
pub struct NvmlGpus {
    nvml: nvml_wrapper::Nvml,
    count: u32,
}

impl GpuSource for NvmlGpus {
    fn sample(&mut self) -> Vec<GpuSample> {
        (0..self.count)
            .filter_map(|i| read_device(&self.nvml, i))
            .collect()
    }
}

fn read_device(nvml: &nvml_wrapper::Nvml, index: u32) -> Option<GpuSample> {
    use nvml_wrapper::{
        enum_wrappers::device::{Clock, TemperatureSensor},
        enums::device::UsedGpuMemory,
    };
    let d = nvml.device_by_index(index).ok()?;
    let util = d.utilization_rates().ok();
    let mem = d.memory_info().ok();
    let milliwatts = |r: Result<u32, _>| r.ok().map(|mw| f64::from(mw) / 1000.0);
    let mut processes: Vec<GpuProcess> = Vec::new();
    for p in d
        .running_compute_processes()
        .unwrap_or_default()
        .into_iter()
        .chain(d.running_graphics_processes().unwrap_or_default())
    {
        if processes.iter().any(|q| q.pid == p.pid) {
            continue;
        }
        processes.push(GpuProcess {
            pid: p.pid,
            name: String::new(),
            memory: match p.used_gpu_memory {
                UsedGpuMemory::Used(b) => Some(b),
                UsedGpuMemory::Unavailable => None,
            },
        });
    }
    Some(GpuSample {
        index,
        name: d.name().unwrap_or_else(|_| format!("GPU {index}")),
        uuid: d.uuid().unwrap_or_default(),
        utilization: util.as_ref().map_or(0.0, |u| f64::from(u.gpu)),
        memory_utilization: util.as_ref().map_or(0.0, |u| f64::from(u.memory)),
        memory_used: mem.as_ref().map_or(0, |m| m.used),
        memory_total: mem.as_ref().map_or(0, |m| m.total),
        temperature_c: d.temperature(TemperatureSensor::Gpu).ok().map(f64::from),
        power_w: milliwatts(d.power_usage()),
        power_limit_w: milliwatts(d.enforced_power_limit()),
        clock_graphics_mhz: d.clock_info(Clock::Graphics).ok().map(f64::from),
        clock_memory_mhz: d.clock_info(Clock::Memory).ok().map(f64::from),
        // Boards with passive cooling (data-centre GPUs) have no fan to report.
        fan_percent: d.fan_speed(0).ok().map(f64::from),
        processes,
    })
}

/// NVML when the driver is there and sees at least one GPU; otherwise no GPU.
pub fn detect() -> Box<dyn GpuSource> {
    match nvml_wrapper::Nvml::init() {
        Ok(nvml) => match nvml.device_count() {
            Ok(count) if count > 0 => {
                tracing::info!(gpus = count, "NVIDIA GPUs found");
                Box::new(NvmlGpus { nvml, count })
            }
            _ => {
                tracing::debug!("NVML loaded but no GPU: no GPU metrics");
                Box::new(NoGpu)
            }
        },
        Err(e) => {
            tracing::debug!(reason = %e, "no NVIDIA driver: no GPU metrics");
            Box::new(NoGpu)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_readings_replay_then_repeat_the_last() {
        let g = |u: f64| GpuSample {
            index: 0,
            name: "Test GPU".into(),
            uuid: "GPU-0".into(),
            utilization: u,
            memory_utilization: 0.0,
            memory_used: 0,
            memory_total: 1,
            temperature_c: None,
            power_w: None,
            power_limit_w: None,
            clock_graphics_mhz: None,
            clock_memory_mhz: None,
            fan_percent: None,
            processes: vec![],
        };
        let mut r = Recorded::new(vec![vec![g(10.0)], vec![g(20.0)]]);
        let u: Vec<f64> = (0..3).map(|_| r.sample()[0].utilization).collect();
        assert_eq!(u, vec![10.0, 20.0, 20.0]);
        assert!(NoGpu.sample().is_empty());
    }

    #[test]
    fn detection_without_a_driver_is_no_gpu_not_a_failure() {
        // On machines without libnvidia-ml this must quietly be empty; with a GPU, readings.
        let mut src = detect();
        for g in src.sample() {
            assert!(g.memory_total >= g.memory_used);
            assert!((0.0..=100.0).contains(&g.utilization));
        }
    }
}
