//! Write transactions: `BEGIN IMMEDIATE` on SQLite, a plain `BEGIN` on PostgreSQL.
//!
//! A deferred SQLite transaction takes its snapshot at its first read and asks for the write
//! lock only at its first write. If another process committed in between, the snapshot is stale
//! and SQLite fails the write at once (`SQLITE_BUSY_SNAPSHOT`): `busy_timeout` cannot help,
//! because waiting would not make the snapshot current. Taking the write lock at `BEGIN` makes
//! such a transaction wait for the other writer (up to `busy_timeout`) instead, and read what
//! that writer committed. PostgreSQL has no such failure; its transactions stay as they were.

use diesel::Connection as _;
use diesel::connection::{AnsiTransactionManager, TransactionManager};

use super::connection::DbConnection;

type Manager = <DbConnection as diesel::Connection>::TransactionManager;

/// Runs `work` in one transaction that may read and then write: committed when it answers
/// `Ok`, rolled back when it answers `Err`. On SQLite it holds the write lock from its start.
/// Inside a caller's transaction it is a savepoint of that transaction (which decided the lock).
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    if in_transaction(conn)? {
        return conn.transaction(work);
    }
    let DbConnection::Sqlite(sqlite) = conn else {
        return conn.transaction(work);
    };
    // `SqliteConnection::immediate_transaction` would hand `work` the SQLite connection, not
    // the `DbConnection` the store's functions take; the multi-backend connection keeps its
    // transaction state in the SQLite one, so beginning there and finishing here is the same.
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    match work(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        // As diesel's own `transaction`: the caller's error matters more than a failed
        // rollback of a connection already broken.
        Err(error) => match Manager::rollback_transaction(conn) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(error),
            Err(rollback) => Err(rollback.into()),
        },
    }
}

/// Whether `conn` is inside a transaction (a caller's, or one of ours).
pub(crate) fn in_transaction(conn: &mut DbConnection) -> diesel::QueryResult<bool> {
    let depth = Manager::transaction_manager_status_mut(conn).transaction_depth()?;
    Ok(depth.is_some())
}
