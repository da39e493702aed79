//! Building blocks shared by pages.

pub mod bell;
pub mod brand;
pub mod budget_meter;
pub mod chart;
pub mod layout;
pub mod load;
pub mod range;
pub mod theme;
pub mod throttle;
