//! Integration tests of the HTTP API: each test gets a fresh database on a real PostgreSQL
//! and a real server on a loopback port ([`support::TestApp`]). One module per area.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::type_complexity)]

mod support;

mod access;
mod alerts;
mod analytics;
mod apps;
mod bench;
mod browser;
mod budgets;
mod calls;
mod database;
mod events;
mod faults;
mod feedback;
mod gpu;
mod metrics;
mod models;
mod openapi;
mod otlp;
mod prices;
mod proxy;
mod reports;
mod rollups;
mod schedules;
mod sessions;
mod system;
mod users;
mod workers;
