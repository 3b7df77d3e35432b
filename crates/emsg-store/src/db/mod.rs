//! Connections to SQLite or PostgreSQL, chosen by the database URL, pooled and migrated; the
//! gateway async code reaches them through, and the write transactions of the store.

mod connection;
mod gateway;
mod migrate;
mod placeholders;
mod pool;
mod transaction;
mod url;

pub use connection::{DbConnection, MultiBackend};
pub use gateway::{Gateway, GatewayError};
pub use migrate::{MIGRATION_NAMES_POSTGRES, MIGRATION_NAMES_SQLITE, run_migrations};
pub use placeholders::numbered;
pub use pool::{Pool, PooledConnection, connect, pool};
pub(crate) use transaction::in_transaction;
pub use transaction::write_transaction;
pub use url::{DatabaseUrl, DatabaseUrlError};
