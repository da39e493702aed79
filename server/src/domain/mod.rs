//! The types that storage persists, and the pure rules that belong to them: calls, prices
//! and cost, budget periods and projections, API key grants, proxy providers, system rollups. `store` depends on this module (and on the
//! pure `analytics` and `app::types`) and on nothing above it.

pub mod alert;
pub mod app_request;
pub mod bench;
pub mod browser;
pub mod budget;
pub mod call;
pub mod db_watch;
pub mod drift;
pub mod feedback;
pub mod gpu_attribution;
pub mod grant;
pub mod pricing;
pub mod provider;
pub mod rate_limit;
pub mod report;
pub mod report_pdf;
pub mod report_schedule;
pub mod system;
pub mod trend;
pub mod worker;
