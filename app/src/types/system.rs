//! System and GPU metrics on the wire: what a collector samples, what the API answers, and
//! the one flattening of a sample into named series that storage and the live charts share.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What does not change between samples (or changes rarely: uptime).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HostInfo {
    pub hostname: String,
    pub os: String,
    pub os_version: String,
    pub kernel: String,
    pub arch: String,
    pub cpu_model: String,
    pub cores: u32,
    pub memory_total: u64,
    pub uptime_s: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CpuSample {
    /// Busy share of all cores, 0–100.
    pub total: f64,
    /// Busy share per core, 0–100.
    pub cores: Vec<f64>,
    pub load1: f64,
    pub load5: f64,
    pub load15: f64,
}

/// Bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MemorySample {
    pub total: u64,
    pub used: u64,
    pub available: u64,
    pub free: u64,
    pub cached: u64,
    pub buffers: u64,
    pub swap_total: u64,
    pub swap_used: u64,
}

/// One mounted filesystem, bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FsSample {
    pub mount: String,
    pub device: String,
    pub fs_type: String,
    pub total: u64,
    pub used: u64,
}

/// One block device's throughput, per second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DiskIoSample {
    pub device: String,
    pub read_bytes: f64,
    pub write_bytes: f64,
    pub read_ops: f64,
    pub write_ops: f64,
}

/// One network interface, per second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NetSample {
    pub iface: String,
    pub rx_bytes: f64,
    pub tx_bytes: f64,
    pub rx_packets: f64,
    pub tx_packets: f64,
    pub rx_errors: f64,
    pub tx_errors: f64,
    pub rx_drops: f64,
    pub tx_drops: f64,
}

/// A process among the busiest (by CPU or by memory).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProcessSample {
    pub pid: u32,
    pub name: String,
    /// Share of one core, 0–100 per core.
    pub cpu: f64,
    /// Resident memory, bytes.
    pub memory: u64,
}

/// A process using GPU memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GpuProcess {
    pub pid: u32,
    pub name: String,
    /// Bytes; None when the driver does not say.
    pub memory: Option<u64>,
}

/// One GPU. Optional figures are ones some boards or drivers do not report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GpuSample {
    pub index: u32,
    pub name: String,
    pub uuid: String,
    /// 0–100.
    pub utilization: f64,
    pub memory_utilization: f64,
    pub memory_used: u64,
    pub memory_total: u64,
    pub temperature_c: Option<f64>,
    pub power_w: Option<f64>,
    pub power_limit_w: Option<f64>,
    pub clock_graphics_mhz: Option<f64>,
    pub clock_memory_mhz: Option<f64>,
    pub fan_percent: Option<f64>,
    #[serde(default)]
    pub processes: Vec<GpuProcess>,
}

/// Sightline's own process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OwnProcess {
    pub cpu: f64,
    pub memory: u64,
}

/// One reading of a host. Rates need two readings, so the first sample after a start has
/// no disk or network entries rather than a spike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SystemSample {
    pub time: DateTime<Utc>,
    pub cpu: CpuSample,
    pub memory: MemorySample,
    #[serde(default)]
    pub filesystems: Vec<FsSample>,
    #[serde(default)]
    pub disks: Vec<DiskIoSample>,
    #[serde(default)]
    pub networks: Vec<NetSample>,
    /// TCP connections (IPv4 and IPv6) by state name, e.g. `established`.
    #[serde(default)]
    pub tcp: BTreeMap<String, u32>,
    /// The busiest processes (top N by CPU and top N by memory, merged).
    #[serde(default)]
    pub processes: Vec<ProcessSample>,
    #[serde(default)]
    pub own: OwnProcess,
    #[serde(default)]
    pub gpus: Vec<GpuSample>,
}

/// `POST /api/v1/system/samples`: a batch from one host, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SampleBatch {
    pub host: HostInfo,
    pub samples: Vec<SystemSample>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SampleBatchAccepted {
    pub accepted: usize,
}

/// The live `system` topic: one sample of one host.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LiveSample {
    pub host: String,
    pub sample: SystemSample,
}

/// A host in the picker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HostSummary {
    pub host: String,
    pub info: HostInfo,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// Whether a sample arrived in the last minute.
    pub online: bool,
    /// Whether this is the host the server itself runs on.
    pub local: bool,
}

/// `GET /api/v1/system/hosts/{host}`: the host and its latest sample.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HostDetail {
    #[serde(flatten)]
    pub summary: HostSummary,
    pub latest: Option<SystemSample>,
}

/// `GET /api/v1/system/hosts/{host}/gpus`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GpuList {
    pub gpus: Vec<GpuSample>,
    /// "No GPU detected" when the host has none (or no NVIDIA driver).
    pub message: Option<String>,
}

/// `GET /api/v1/system/hosts/{host}/processes`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProcessList {
    pub time: Option<DateTime<Utc>>,
    pub processes: Vec<ProcessSample>,
}

/// The storage tier a metrics query read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SystemTier {
    Raw,
    Minute,
    Hour,
}

impl SystemTier {
    /// The resolution of the tier, seconds.
    pub fn resolution_s(self) -> i64 {
        match self {
            SystemTier::Raw => 1,
            SystemTier::Minute => 60,
            SystemTier::Hour => 3600,
        }
    }
}

/// One series over a range: points `[unix_ms, avg, min, max]` per step, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MetricSeries {
    pub name: String,
    pub points: Vec<[f64; 4]>,
}

/// `GET /api/v1/system/hosts/{host}/metrics`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MetricsResponse {
    pub host: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub tier: SystemTier,
    pub step_s: i64,
    pub series: Vec<MetricSeries>,
}

/// The named values of a sample, as stored and charted: `cpu.total`, `cpu.core:0`,
/// `mem.used`, `fs.used:/`, `disk.read_bytes:sda`, `net.rx_bytes:eth0`, `tcp:established`,
/// `gpu.util:0` … (a colon separates the series from the thing it is about).
pub fn series_of(s: &SystemSample) -> Vec<(String, f64)> {
    let mut out = Vec::with_capacity(48 + s.cpu.cores.len());
    let mut push = |name: String, v: f64| {
        if v.is_finite() {
            out.push((name, v));
        }
    };
    push("cpu.total".into(), s.cpu.total);
    for (i, c) in s.cpu.cores.iter().enumerate() {
        push(format!("cpu.core:{i}"), *c);
    }
    push("load.1".into(), s.cpu.load1);
    push("load.5".into(), s.cpu.load5);
    push("load.15".into(), s.cpu.load15);
    let m = &s.memory;
    for (k, v) in [
        ("mem.total", m.total),
        ("mem.used", m.used),
        ("mem.available", m.available),
        ("mem.free", m.free),
        ("mem.cached", m.cached),
        ("mem.buffers", m.buffers),
        ("swap.total", m.swap_total),
        ("swap.used", m.swap_used),
    ] {
        push(k.into(), v as f64);
    }
    for f in &s.filesystems {
        push(format!("fs.used:{}", f.mount), f.used as f64);
        push(format!("fs.total:{}", f.mount), f.total as f64);
    }
    for d in &s.disks {
        push(format!("disk.read_bytes:{}", d.device), d.read_bytes);
        push(format!("disk.write_bytes:{}", d.device), d.write_bytes);
        push(format!("disk.read_ops:{}", d.device), d.read_ops);
        push(format!("disk.write_ops:{}", d.device), d.write_ops);
    }
    for n in &s.networks {
        for (k, v) in [
            ("net.rx_bytes", n.rx_bytes),
            ("net.tx_bytes", n.tx_bytes),
            ("net.rx_packets", n.rx_packets),
            ("net.tx_packets", n.tx_packets),
            ("net.rx_errors", n.rx_errors),
            ("net.tx_errors", n.tx_errors),
            ("net.rx_drops", n.rx_drops),
            ("net.tx_drops", n.tx_drops),
        ] {
            push(format!("{k}:{}", n.iface), v);
        }
    }
    for (state, n) in &s.tcp {
        push(format!("tcp:{state}"), f64::from(*n));
    }
    push("self.cpu".into(), s.own.cpu);
    push("self.memory".into(), s.own.memory as f64);
    for g in &s.gpus {
        let i = g.index;
        push(format!("gpu.util:{i}"), g.utilization);
        push(format!("gpu.mem_util:{i}"), g.memory_utilization);
        push(format!("gpu.mem_used:{i}"), g.memory_used as f64);
        push(format!("gpu.mem_total:{i}"), g.memory_total as f64);
        for (k, v) in [
            ("gpu.temp", g.temperature_c),
            ("gpu.power", g.power_w),
            ("gpu.power_limit", g.power_limit_w),
            ("gpu.clock_graphics", g.clock_graphics_mhz),
            ("gpu.clock_memory", g.clock_memory_mhz),
            ("gpu.fan", g.fan_percent),
        ] {
            if let Some(v) = v {
                push(format!("{k}:{i}"), v);
            }
        }
    }
    out
}

/// Whether `name` matches a pattern of the metrics API: exact, or a prefix ending in `*`
/// (`cpu.core:*`, `net.*`).
pub fn series_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

/// The thing a series is about: `sda` in `disk.read_bytes:sda`; empty for host-wide series.
pub fn series_subject(name: &str) -> &str {
    name.split_once(':').map_or("", |(_, s)| s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SystemSample {
        SystemSample {
            cpu: CpuSample {
                total: 12.5,
                cores: vec![10.0, 15.0],
                ..Default::default()
            },
            memory: MemorySample {
                used: 100,
                ..Default::default()
            },
            filesystems: vec![FsSample {
                mount: "/".into(),
                device: "sda1".into(),
                fs_type: "ext4".into(),
                total: 1000,
                used: 250,
            }],
            tcp: [("established".to_owned(), 7)].into_iter().collect(),
            gpus: vec![GpuSample {
                index: 0,
                name: "H100".into(),
                uuid: "GPU-1".into(),
                utilization: 50.0,
                memory_utilization: 20.0,
                memory_used: 5,
                memory_total: 80,
                temperature_c: Some(60.0),
                power_w: None,
                power_limit_w: None,
                clock_graphics_mhz: None,
                clock_memory_mhz: None,
                fan_percent: None,
                processes: vec![],
            }],
            ..Default::default()
        }
    }

    #[test]
    fn a_sample_flattens_into_named_series() {
        let s = series_of(&sample());
        let get = |n: &str| s.iter().find(|(k, _)| k == n).map(|(_, v)| *v);
        assert_eq!(get("cpu.total"), Some(12.5));
        assert_eq!(get("cpu.core:1"), Some(15.0));
        assert_eq!(get("mem.used"), Some(100.0));
        assert_eq!(get("fs.used:/"), Some(250.0));
        assert_eq!(get("tcp:established"), Some(7.0));
        assert_eq!(get("gpu.temp:0"), Some(60.0));
        // Figures a board does not report are absent, not zero.
        assert_eq!(get("gpu.power:0"), None);
        let mut names: Vec<_> = s.iter().map(|(k, _)| k.clone()).collect();
        names.dedup();
        assert_eq!(names.len(), s.len(), "names are unique");
    }

    #[test]
    fn patterns_match_exactly_or_by_prefix() {
        assert!(series_matches("cpu.total", "cpu.total"));
        assert!(!series_matches("cpu.total", "cpu.total2"));
        assert!(series_matches("cpu.core:*", "cpu.core:11"));
        assert!(!series_matches("cpu.core:*", "cpu.total"));
        assert_eq!(series_subject("disk.read_bytes:nvme0n1"), "nvme0n1");
        assert_eq!(series_subject("cpu.total"), "");
    }
}
