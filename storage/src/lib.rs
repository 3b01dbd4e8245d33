//! diesel adapter of the domain's ports over PostgreSQL and SQLite, through one codebase.
//!
//! - [`connection`]: the `MultiConnection`, backend chosen by URL scheme, r2d2 pool, per-connection
//!   SQLite setup, write transactions.
//! - [`sql_types`]: exact decimals (NUMERIC / canonical TEXT) and UTC timestamps.
//! - [`repos`]: one module per port.
//! - `prepared`: fixed-shape writes kept prepared (diesel leaves every write unprepared).

mod backup;
pub mod connection;
pub mod migrations;
mod prepared;
pub mod repos;
pub mod schema;
pub mod sql_types;

pub use connection::{Backend, DatabaseUrl, DbConnection, StorageError, Store};
