//! System and GPU metrics: collecting (sysinfo, /proc, NVML), rates from counters, rollup
//! folding and tier choice. Free of database IO; `store::system` persists, `metrics::writer`
//! and `agent` move samples.

pub mod collector;
pub mod gpu;
pub mod local;
pub mod procfs;
pub mod rate;
pub mod rollup;
pub mod tier;
pub mod writer;
