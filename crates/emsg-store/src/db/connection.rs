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
                create_private(path)?;
                let shown = path.to_str().ok_or_else(|| {
                    ConnectionError::BadConnection("the SQLite path is not valid UTF-8".to_owned())
                })?;
                let mut conn = SqliteConnection::establish(shown)?;
                // WAL lets readers run beside the one writer (a `serve` and `emsg auth …`
                // share the file). synchronous = NORMAL syncs at checkpoints, not at every
                // commit: a commit survives a crash of the process (SIGKILL mid-sweep), and
                // only a power loss can undo the last commits. Every refresh commits twice
                // (the lease, then the pair), so a full sync per commit would cost more than the
                // refresh itself; the usual choice for an embedded server.
                let setup = format!(
                    "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};
                     PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = NORMAL;
                     PRAGMA foreign_keys = ON;"
                );
                // Switching a new file to WAL needs it alone for a moment, and SQLite answers
                // "database is locked" at once (no busy wait) to a second process doing the same:
                // nodes starting together on a new file try again briefly.
                let mut attempt = 0;
                while let Err(error) = conn.batch_execute(&setup) {
                    attempt += 1;
                    if attempt >= 50 {
                        return Err(ConnectionError::CouldntSetupConfiguration(error));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                // WAL mode made the -wal and -shm files; SQLite gives them the database file's
                // mode, and this makes sure of it whatever made them first.
                for suffix in ["-wal", "-shm"] {
                    let mut side = path.as_os_str().to_owned();
                    side.push(suffix);
                    make_private(std::path::Path::new(&side))?;
                }
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

/// The SQLite file holds message logs with taxpayer identifiers: it is created readable by its
/// owner only (0600), whatever the process's umask, before SQLite opens it; an existing one is
/// narrowed to 0600 too.
fn create_private(path: &std::path::Path) -> ConnectionResult<()> {
    if path.as_os_str() == ":memory:" {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(ConnectionError::BadConnection(format!(
                    "could not create the SQLite file {}: {e}",
                    path.display()
                )));
            }
        }
    }
    make_private(path)
}

/// Sets mode 0600 on `path` when it exists and is not already so.
fn make_private(path: &std::path::Path) -> ConnectionResult<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let Ok(meta) = std::fs::metadata(path) else {
            return Ok(());
        };
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(
                |e| {
                    ConnectionError::BadConnection(format!(
                        "could not make {} readable by its owner only (mode 0600): {e}",
                        path.display()
                    ))
                },
            )?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
