//! Building blocks shared by pages.

pub mod brand;
pub mod chart;
pub mod layout;
pub mod load;
pub mod range;
pub mod theme;
