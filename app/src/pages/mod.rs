//! One module per page.

pub mod alert_history;
pub mod alerts;
pub mod api_keys;
pub mod apps;
pub mod benchmarks;
pub mod budgets;
pub mod calls;
pub mod channels;
pub mod database;
pub mod frontend;
pub mod gpu_use;
pub mod login;
pub mod models;
pub mod not_found;
pub mod overview;
pub mod providers;
pub mod report_schedules;
pub mod reports;
pub mod sessions;
pub mod system;
pub mod users_summary;
pub mod workers;
