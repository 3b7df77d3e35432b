//! The connection enum over both backends, and SQLite's per-connection settings.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::url::DatabaseUrl;

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// How long a SQLite writer waits for another process's lock before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;

impl DbConnection {
    /// Opens a connection of the backend the URL names (never a fallback to another backend).
    pub fn open(url: &DatabaseUrl) -> ConnectionResult<Self> {
        match url {
            DatabaseUrl::Postgres(url) => Ok(Self::Postgres(PgConnection::establish(url)?)),
            DatabaseUrl::Sqlite(path) => {
                let path = path.to_str().ok_or_else(|| {
                    ConnectionError::BadConnection("the SQLite path is not valid UTF-8".to_owned())
                })?;
                let mut conn = SqliteConnection::establish(path)?;
                // WAL lets readers run beside the one writer (a `serve` and `emsg auth …`
                // share the file). synchronous = NORMAL syncs at checkpoints, not at every
                // commit: a commit survives a crash of the process (SIGKILL mid-sweep), and
                // only a power loss can undo the last commits. Every refresh commits twice
                // (the lease, then the pair), so a full sync per commit would cost more than the
                // refresh itself; the usual choice for an embedded server.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};
                     PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = NORMAL;
                     PRAGMA foreign_keys = ON;"
                ))
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(Self::Sqlite(conn))
            }
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Postgres(_) => "postgres",
            Self::Sqlite(_) => "sqlite",
        }
    }
}
