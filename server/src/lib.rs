//! The Password Management API served on the `password-mgmt` crate, on SQLite or
//! PostgreSQL.

pub mod clock;
pub mod config;
pub mod directory;
pub mod entropy;
pub mod store;
