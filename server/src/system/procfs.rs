//! Parsers for the Linux counters sysinfo does not expose: per-device I/O operations
//! (`/proc/diskstats`), interface drops (`/proc/net/dev`), TCP states (`/proc/net/tcp*`)
//! and page cache and buffers (`/proc/meminfo`). Text in, numbers out; no IO here.

use std::collections::BTreeMap;

/// Cumulative counters of one block device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskCounters {
    pub device: String,
    pub reads: u64,
    pub read_bytes: u64,
    pub writes: u64,
    pub write_bytes: u64,
}

/// The kernel counts I/O in 512-byte sectors whatever the device's sector size.
const SECTOR: u64 = 512;

/// `/proc/diskstats`: `major minor name reads merged sectors ms writes merged sectors …`.
pub fn parse_diskstats(text: &str) -> Vec<DiskCounters> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 {
                return None;
            }
            let n = |i: usize| f[i].parse::<u64>().ok();
            Some(DiskCounters {
                device: f[2].to_owned(),
                reads: n(3)?,
                read_bytes: n(5)?.saturating_mul(SECTOR),
                writes: n(7)?,
                write_bytes: n(9)?.saturating_mul(SECTOR),
            })
        })
        .collect()
}

/// Whether a device from diskstats is a whole disk worth charting: listed in `/sys/block`
/// (so not a partition, whose I/O its disk already counts) and not a loop or RAM device.
pub fn is_charted_disk(device: &str, whole_disks: &[String]) -> bool {
    !(device.starts_with("loop") || device.starts_with("ram") || device.starts_with("zram"))
        && whole_disks.iter().any(|d| d == device)
}

/// Cumulative counters of one network interface.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetCounters {
    pub iface: String,
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errors: u64,
    pub rx_drops: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_drops: u64,
}

/// `/proc/net/dev`: two header lines, then `iface: rx(8 fields) tx(8 fields)`. The loopback
/// interface is left out (traffic to ourselves is not network traffic).
pub fn parse_net_dev(text: &str) -> Vec<NetCounters> {
    text.lines()
        .filter_map(|line| {
            let (name, rest) = line.split_once(':')?;
            let iface = name.trim();
            if iface.is_empty() || iface == "lo" {
                return None;
            }
            let v: Vec<u64> = rest
                .split_whitespace()
                .map(str::parse)
                .collect::<Result<_, _>>()
                .ok()?;
            if v.len() < 16 {
                return None;
            }
            Some(NetCounters {
                iface: iface.to_owned(),
                rx_bytes: v[0],
                rx_packets: v[1],
                rx_errors: v[2],
                rx_drops: v[3],
                tx_bytes: v[8],
                tx_packets: v[9],
                tx_errors: v[10],
                tx_drops: v[11],
            })
        })
        .collect()
}

/// Adds the connections of `/proc/net/tcp` or `/proc/net/tcp6` to `counts`, by state name.
pub fn count_tcp_states(text: &str, counts: &mut BTreeMap<String, u32>) {
    for line in text.lines().skip(1) {
        let Some(st) = line.split_whitespace().nth(3) else {
            continue;
        };
        let name = match st {
            "01" => "established",
            "02" => "syn_sent",
            "03" => "syn_recv",
            "04" => "fin_wait1",
            "05" => "fin_wait2",
            "06" => "time_wait",
            "07" => "close",
            "08" => "close_wait",
            "09" => "last_ack",
            "0A" => "listen",
            "0B" => "closing",
            _ => continue,
        };
        *counts.entry(name.to_owned()).or_default() += 1;
    }
}

/// Page cache and buffers from `/proc/meminfo`, bytes. The cache includes reclaimable slab,
/// as `free` shows it.
pub fn parse_meminfo_cache(text: &str) -> (u64, u64) {
    let mut cached = 0;
    let mut buffers = 0;
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let (Some(key), Some(kb)) = (it.next(), it.next().and_then(|v| v.parse::<u64>().ok()))
        else {
            continue;
        };
        match key {
            "Cached:" | "SReclaimable:" => cached += kb * 1024,
            "Buffers:" => buffers = kb * 1024,
            _ => {}
        }
    }
    (cached, buffers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diskstats_in_bytes_and_operations() {
        let text = "   8       0 sda 1200 30 20480 400 300 10 4096 100 0 500 500 0 0 0 0\n   8       1 sda1 100 0 800 4 3 0 8 1 0 5 5\n   7       0 loop0 5 0 10 0 0 0 0 0 0 0 0\nbroken line\n";
        let d = parse_diskstats(text);
        assert_eq!(d.len(), 3);
        assert_eq!(
            d[0],
            DiskCounters {
                device: "sda".into(),
                reads: 1200,
                read_bytes: 20480 * 512,
                writes: 300,
                write_bytes: 4096 * 512,
            }
        );
        let whole = vec!["sda".to_owned(), "loop0".to_owned()];
        assert!(is_charted_disk("sda", &whole));
        assert!(!is_charted_disk("sda1", &whole), "a partition");
        assert!(!is_charted_disk("loop0", &whole));
    }

    #[test]
    fn net_dev_skips_headers_and_loopback() {
        let text = "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo:  500 5 0 0 0 0 0 0  500 5 0 0 0 0 0 0\n  eth0: 1000 10 1 2 0 0 0 0 2000 20 3 4 0 0 0 0\n";
        let n = parse_net_dev(text);
        assert_eq!(n.len(), 1);
        let e = &n[0];
        assert_eq!(e.iface, "eth0");
        assert_eq!(
            (e.rx_bytes, e.rx_packets, e.rx_errors, e.rx_drops),
            (1000, 10, 1, 2)
        );
        assert_eq!(
            (e.tx_bytes, e.tx_packets, e.tx_errors, e.tx_drops),
            (2000, 20, 3, 4)
        );
    }

    #[test]
    fn tcp_states_are_counted_by_name() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   104        0 1 1\n   1: 0100007F:1538 0100007F:D2A4 01 00000000:00000000 00:00000000 00000000   104        0 2 1\n   2: 0100007F:1538 0100007F:D2A6 01 00000000:00000000 00:00000000 00000000   104        0 3 1\n";
        let mut c = BTreeMap::new();
        count_tcp_states(text, &mut c);
        count_tcp_states(text, &mut c); // tcp6 adds to the same counts
        assert_eq!(c.get("listen"), Some(&2));
        assert_eq!(c.get("established"), Some(&4));
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn meminfo_cache_and_buffers() {
        let text = "MemTotal: 1000 kB\nBuffers:  10 kB\nCached:   100 kB\nSwapCached: 5 kB\nSReclaimable: 20 kB\n";
        assert_eq!(parse_meminfo_cache(text), (120 * 1024, 10 * 1024));
    }
}
