//! Connections to SQLite or PostgreSQL, chosen by the database URL, pooled and migrated.

mod connection;
mod migrate;
mod pool;
mod url;

pub use connection::{DbConnection, MultiBackend};
pub use migrate::{MIGRATION_NAMES_POSTGRES, MIGRATION_NAMES_SQLITE, run_migrations};
pub use pool::{Pool, PooledConnection, connect, pool};
pub use url::{DatabaseUrl, DatabaseUrlError};
