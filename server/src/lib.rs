//! Sightline's server: configuration, storage, authentication and the HTTP surface.
//!
//! Data flows from `http` (edge: parse, authorise) into the domain modules and `store`
//! (the only module that speaks SQL). See docs/ARCHITECTURE.md for the map.

// Rendering the UI instantiates deeply nested view types.
#![recursion_limit = "256"]

pub mod agent;
pub mod alerts;
pub mod allocator;
pub mod analytics;
pub mod apps;
pub mod attribution;
pub mod auth;
pub mod bench;
pub mod bench_cli;
pub mod browser;
pub mod budgets;
pub mod cli;
pub mod config;
pub mod dbwatch;
pub mod demo;
pub mod domain;
pub mod embedded_db;
pub mod export;
pub mod http;
pub mod ingest;
pub mod live;
pub mod log_throttle;
pub mod metrics;
pub mod proxy;
pub mod scheduled_reports;
pub mod seed_demo;
pub mod startup;
pub mod state;
pub mod store;
pub mod system;
pub mod workers;
