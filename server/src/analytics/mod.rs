//! Analytics, free of IO: the latency histogram, time buckets, additive call summaries,
//! rollup deltas, closed buckets kept merged, and the aggregation behind `/api/v1/analytics`.

pub mod aggregate;
pub mod bands;
pub mod bucket;
pub mod closed;
pub mod histogram;
pub mod model_health;
pub mod people;
pub mod rollup;
pub mod stats;
