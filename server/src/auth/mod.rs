//! Authentication primitives, free of IO: the presented credential, password hashing,
//! random tokens and API keys, and the login rate limiter.

pub mod credential;
pub mod key_cache;
pub mod limiter;
pub mod password;
pub mod sealing;
pub mod token;

/// Username of the account created at first start.
pub const ADMIN_USERNAME: &str = "admin";
