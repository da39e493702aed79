//! Building blocks shared by pages.

pub mod layout;
pub mod theme;
