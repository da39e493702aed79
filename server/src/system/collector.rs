//! The host collector: reads sysinfo and the Linux counters it lacks, turns counters into
//! rates, and produces one [`SystemSample`] per call. Also the [`SampleSource`] trait the
//! server's collector loop and the agent take, so tests can feed recorded samples.

use std::{
    collections::{BTreeMap, HashMap},
    time::{Duration, Instant},
};

use app::types::system::{
    CpuSample, DiskIoSample, FsSample, HostInfo, MemorySample, NetSample, OwnProcess,
    ProcessSample, SystemSample,
};
use chrono::{DateTime, Utc};
use sysinfo::{
    DiskRefreshKind, Disks, Pid, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind,
};

use super::{gpu::GpuSource, procfs, rate::Counter};

/// Something that produces samples of one host.
pub trait SampleSource: Send {
    fn host_info(&mut self) -> HostInfo;
    fn sample(&mut self, now: DateTime<Utc>) -> SystemSample;
}

/// Samples between re-reads of the host facts (uptime moves, the rest rarely does).
pub const INFO_EVERY: u32 = 60;

/// Takes the `n`-th sample (and every [`INFO_EVERY`] samples fresh host facts) off the async
/// workers: reading /proc is blocking file IO. Hands the source back.
pub async fn sample_blocking(
    mut source: Box<dyn SampleSource>,
    now: DateTime<Utc>,
    n: u32,
) -> Result<(Box<dyn SampleSource>, SystemSample, Option<HostInfo>), tokio::task::JoinError> {
    tokio::task::spawn_blocking(move || {
        let info = (n > 0 && n.is_multiple_of(INFO_EVERY)).then(|| source.host_info());
        let sample = source.sample(now);
        (source, sample, info)
    })
    .await
}

/// Filesystems that are views of memory or of other filesystems, not storage.
const PSEUDO_FS: &[&str] = &[
    "tmpfs",
    "devtmpfs",
    "proc",
    "sysfs",
    "cgroup",
    "cgroup2",
    "squashfs",
    "nsfs",
    "autofs",
    "devpts",
    "mqueue",
    "debugfs",
    "tracefs",
    "securityfs",
    "pstore",
    "bpf",
    "hugetlbfs",
    "fuse.lxcfs",
    "ramfs",
    "efivarfs",
];

/// Whether a mounted filesystem is storage worth charting. A container's overlay root is
/// (it is the disk the container sees); other overlays are layers of it.
pub fn is_storage_fs(fs_type: &str, mount: &str, total: u64) -> bool {
    total > 0 && !PSEUDO_FS.contains(&fs_type) && (fs_type != "overlay" || mount == "/")
}

/// Keeps the `n` busiest by CPU and the `n` largest by memory, busiest first.
/// Idle processes and kernel threads (no resident memory) are not "top" of anything.
pub fn top_processes(mut all: Vec<ProcessSample>, n: usize) -> Vec<ProcessSample> {
    all.sort_by(|a, b| b.cpu.total_cmp(&a.cpu).then(a.pid.cmp(&b.pid)));
    let mut out: Vec<ProcessSample> = all
        .iter()
        .filter(|p| p.cpu > 0.0)
        .take(n)
        .cloned()
        .collect();
    all.sort_by(|a, b| b.memory.cmp(&a.memory).then(a.pid.cmp(&b.pid)));
    for p in all.into_iter().filter(|p| p.memory > 0).take(n) {
        if !out.iter().any(|q| q.pid == p.pid) {
            out.push(p);
        }
    }
    out
}

/// How often (in samples) the lists of mounts and block devices are re-read.
const RELIST_EVERY: u32 = 60;

/// How often the whole process table is re-read for the top-processes list. Reading it costs
/// a `/proc/PID/stat` per process, the collector's largest cost on a busy host (hundreds of
/// processes); in between, only our own process is re-read and the last list is kept.
const PROCESS_TABLE_EVERY: Duration = Duration::from_secs(5);

/// How often the TCP state counts are re-read. Reading `/proc/net/tcp` walks the kernel's
/// whole connection hash table, empty buckets included: a profile of the idle server found
/// half its CPU there. In between, the last counts are sent again.
const TCP_STATES_EVERY: Duration = Duration::from_secs(5);

/// The real collector of the host it runs on.
pub struct Collector {
    sys: System,
    disks: Disks,
    gpu: Box<dyn GpuSource>,
    top_n: usize,
    own_pid: Option<Pid>,
    whole_disks: Vec<String>,
    disk_counters: HashMap<String, [Counter; 4]>,
    net_counters: HashMap<String, [Counter; 8]>,
    last: Option<Instant>,
    samples: u32,
    /// When the whole process table was last read, and the top list it gave.
    process_table: Option<(Instant, Vec<ProcessSample>)>,
    /// When the TCP states were last counted, and the counts.
    tcp_states: Option<(Instant, BTreeMap<String, u32>)>,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn block_devices() -> Vec<String> {
    std::fs::read_dir("/sys/block")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

impl Collector {
    pub fn new(gpu: Box<dyn GpuSource>, top_n: usize) -> anyhow::Result<Self> {
        let mut sys = System::new().map_err(|e| anyhow::anyhow!("cannot read the system: {e}"))?;
        sys.refresh_cpu_usage();
        sys.refresh_memory();
        let disks =
            Disks::new_with_refreshed_list_specifics(DiskRefreshKind::nothing().with_storage())
                .map_err(|e| anyhow::anyhow!("cannot list filesystems: {e}"))?;
        Ok(Self {
            sys,
            disks,
            gpu,
            top_n,
            own_pid: sysinfo::get_current_pid().ok(),
            whole_disks: block_devices(),
            disk_counters: HashMap::new(),
            net_counters: HashMap::new(),
            last: None,
            samples: 0,
            process_table: None,
            tcp_states: None,
        })
    }

    fn filesystems(&mut self) -> Vec<FsSample> {
        if self.samples.is_multiple_of(RELIST_EVERY) {
            self.disks
                .refresh_specifics(true, DiskRefreshKind::nothing().with_storage());
        } else {
            for d in self.disks.iter_mut() {
                d.refresh_specifics(DiskRefreshKind::nothing().with_storage());
            }
        }
        let mut out: Vec<FsSample> = Vec::new();
        for d in self.disks.iter() {
            let fs_type = d.file_system().to_string_lossy().into_owned();
            let mount = d.mount_point().to_string_lossy().into_owned();
            let total = d.total_space();
            let device = d.name().to_string_lossy().into_owned();
            // A device mounted twice (bind mounts) is one filesystem.
            if !is_storage_fs(&fs_type, &mount, total)
                || out
                    .iter()
                    .any(|f| f.device == device && device != "overlay")
            {
                continue;
            }
            out.push(FsSample {
                mount,
                device,
                fs_type,
                total,
                used: total.saturating_sub(d.available_space()),
            });
        }
        out
    }

    fn disk_io(&mut self, elapsed: Duration) -> Vec<DiskIoSample> {
        if self.samples.is_multiple_of(RELIST_EVERY) {
            self.whole_disks = block_devices();
        }
        let mut out = Vec::new();
        for d in procfs::parse_diskstats(&read("/proc/diskstats")) {
            if !procfs::is_charted_disk(&d.device, &self.whole_disks) {
                continue;
            }
            let c = self.disk_counters.entry(d.device.clone()).or_default();
            let rates = [
                c[0].update(d.read_bytes, elapsed),
                c[1].update(d.write_bytes, elapsed),
                c[2].update(d.reads, elapsed),
                c[3].update(d.writes, elapsed),
            ];
            if let [Some(rb), Some(wb), Some(ro), Some(wo)] = rates {
                out.push(DiskIoSample {
                    device: d.device,
                    read_bytes: rb,
                    write_bytes: wb,
                    read_ops: ro,
                    write_ops: wo,
                });
            }
        }
        out
    }

    fn networks(&mut self, elapsed: Duration) -> Vec<NetSample> {
        let mut out = Vec::new();
        for n in procfs::parse_net_dev(&read("/proc/net/dev")) {
            let c = self.net_counters.entry(n.iface.clone()).or_default();
            let v = [
                n.rx_bytes,
                n.tx_bytes,
                n.rx_packets,
                n.tx_packets,
                n.rx_errors,
                n.tx_errors,
                n.rx_drops,
                n.tx_drops,
            ];
            let mut r = [0.0; 8];
            let mut complete = true;
            for i in 0..8 {
                match c[i].update(v[i], elapsed) {
                    Some(x) => r[i] = x,
                    None => complete = false,
                }
            }
            if complete {
                out.push(NetSample {
                    iface: n.iface,
                    rx_bytes: r[0],
                    tx_bytes: r[1],
                    rx_packets: r[2],
                    tx_packets: r[3],
                    rx_errors: r[4],
                    tx_errors: r[5],
                    rx_drops: r[6],
                    tx_drops: r[7],
                });
            }
        }
        out
    }

    fn tcp_states(&mut self, at: Instant) -> BTreeMap<String, u32> {
        match &self.tcp_states {
            Some((t, counts)) if at.duration_since(*t) < TCP_STATES_EVERY => counts.clone(),
            _ => {
                let mut counts = BTreeMap::new();
                procfs::count_tcp_states(&read("/proc/net/tcp"), &mut counts);
                procfs::count_tcp_states(&read("/proc/net/tcp6"), &mut counts);
                self.tcp_states = Some((at, counts.clone()));
                counts
            }
        }
    }

    fn processes(&mut self, at: Instant) -> (Vec<ProcessSample>, OwnProcess) {
        let kind = ProcessRefreshKind::nothing()
            .with_cpu()
            .with_memory()
            .with_exe(UpdateKind::Never)
            .without_tasks();
        let due = self
            .process_table
            .as_ref()
            .is_none_or(|(t, _)| at.duration_since(*t) >= PROCESS_TABLE_EVERY);
        if due {
            self.sys
                .refresh_processes_specifics(ProcessesToUpdate::All, true, kind);
            let all: Vec<ProcessSample> = self
                .sys
                .processes()
                .values()
                .map(|p| ProcessSample {
                    pid: p.pid().as_u32(),
                    name: p.name().to_string_lossy().into_owned(),
                    cpu: f64::from(p.cpu_usage()),
                    memory: p.memory(),
                })
                .collect();
            self.process_table = Some((at, top_processes(all, self.top_n)));
        } else if let Some(pid) = self.own_pid {
            self.sys
                .refresh_processes_specifics(ProcessesToUpdate::Some(&[pid]), false, kind);
        }
        let own = self
            .own_pid
            .and_then(|pid| self.sys.process(pid))
            .map(|p| OwnProcess {
                cpu: f64::from(p.cpu_usage()),
                memory: p.memory(),
            })
            .unwrap_or_default();
        let top = self
            .process_table
            .as_ref()
            .map(|(_, top)| top.clone())
            .unwrap_or_default();
        (top, own)
    }
}

impl SampleSource for Collector {
    fn host_info(&mut self) -> HostInfo {
        HostInfo {
            hostname: System::host_name().unwrap_or_else(|_| "localhost".into()),
            os: System::name().unwrap_or_default(),
            os_version: System::os_version().unwrap_or_default(),
            kernel: System::kernel_version().unwrap_or_default(),
            arch: System::cpu_arch(),
            cpu_model: self
                .sys
                .cpus()
                .first()
                .map(|c| c.brand().trim().to_owned())
                .unwrap_or_default(),
            cores: self.sys.cpus().len() as u32,
            memory_total: self.sys.total_memory(),
            uptime_s: System::uptime().unwrap_or(0),
        }
    }

    fn sample(&mut self, now: DateTime<Utc>) -> SystemSample {
        let at = Instant::now();
        let elapsed = self.last.map_or(Duration::ZERO, |l| at - l);
        self.last = Some(at);
        self.sys.refresh_cpu_usage();
        self.sys.refresh_memory();
        let load = System::load_average().unwrap_or(sysinfo::LoadAvg {
            one: 0.0,
            five: 0.0,
            fifteen: 0.0,
        });
        let (cached, buffers) = procfs::parse_meminfo_cache(&read("/proc/meminfo"));
        let tcp = self.tcp_states(at);
        let (processes, own) = self.processes(at);
        let mut gpus = self.gpu.sample();
        for g in &mut gpus {
            for p in &mut g.processes {
                if let Some(proc_) = self.sys.process(Pid::from_u32(p.pid)) {
                    p.name = proc_.name().to_string_lossy().into_owned();
                }
            }
        }
        let sample = SystemSample {
            time: now,
            cpu: CpuSample {
                total: f64::from(self.sys.global_cpu_usage()),
                cores: self
                    .sys
                    .cpus()
                    .iter()
                    .map(|c| f64::from(c.usage()))
                    .collect(),
                load1: load.one,
                load5: load.five,
                load15: load.fifteen,
            },
            memory: MemorySample {
                total: self.sys.total_memory(),
                used: self.sys.used_memory(),
                available: self.sys.available_memory(),
                free: self.sys.free_memory(),
                cached,
                buffers,
                swap_total: self.sys.total_swap(),
                swap_used: self.sys.used_swap(),
            },
            filesystems: self.filesystems(),
            disks: self.disk_io(elapsed),
            networks: self.networks(elapsed),
            tcp,
            processes,
            own,
            gpus,
        };
        self.samples = self.samples.wrapping_add(1);
        sample
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: u32, cpu: f64, memory: u64) -> ProcessSample {
        ProcessSample {
            pid,
            name: format!("p{pid}"),
            cpu,
            memory,
        }
    }

    #[test]
    fn top_processes_merge_busiest_and_largest() {
        let all = vec![p(1, 50.0, 10), p(2, 1.0, 900), p(3, 30.0, 20), p(4, 0.0, 5)];
        let pids: Vec<u32> = top_processes(all, 2).iter().map(|p| p.pid).collect();
        assert_eq!(pids, vec![1, 3, 2]);
        // Idle ones and kernel threads fill no slot.
        let all = vec![p(1, 0.0, 0), p(2, 0.0, 100)];
        let pids: Vec<u32> = top_processes(all, 2).iter().map(|p| p.pid).collect();
        assert_eq!(pids, vec![2]);
    }

    #[test]
    fn only_storage_filesystems_are_charted() {
        assert!(is_storage_fs("ext4", "/", 100));
        assert!(is_storage_fs("overlay", "/", 100));
        assert!(!is_storage_fs("overlay", "/var/lib/docker/x", 100));
        assert!(!is_storage_fs("tmpfs", "/run", 100));
        assert!(!is_storage_fs("ext4", "/boot", 0));
    }

    #[test]
    fn the_real_host_samples_without_a_spike_at_start() {
        let mut c = Collector::new(Box::new(super::super::gpu::NoGpu), 5).unwrap();
        let info = c.host_info();
        assert!(info.cores > 0 && info.memory_total > 0);
        let first = c.sample(Utc::now());
        // No earlier reading: no rates yet.
        assert!(first.disks.is_empty() && first.networks.is_empty());
        std::thread::sleep(Duration::from_millis(250));
        let second = c.sample(Utc::now());
        assert_eq!(second.cpu.cores.len(), info.cores as usize);
        assert!((0.0..=100.0).contains(&second.cpu.total));
        assert!(second.memory.used <= second.memory.total);
        assert!(second.own.memory > 0, "our own RSS is known");
        assert!(!second.processes.is_empty());
        assert_eq!(
            second.processes, first.processes,
            "the process table is re-read only every few seconds"
        );
    }
}
