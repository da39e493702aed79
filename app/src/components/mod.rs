//! Building blocks shared by pages.

pub mod brand;
pub mod layout;
pub mod theme;
