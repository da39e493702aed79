//! System metrics (issue 5, in progress): so far the pure counter-rate logic the collector
//! will use.

pub mod rate;
