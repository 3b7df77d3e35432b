//! A small r2d2 pool of `DbConnection`s that never guesses the backend.

use diesel::r2d2::{self, ManageConnection, R2D2Connection};

use super::connection::DbConnection;
use super::url::DatabaseUrl;

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConnection = r2d2::PooledConnection<Manager>;

#[derive(Debug)]
pub struct Manager {
    url: DatabaseUrl,
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::ConnectionError;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        DbConnection::open(&self.url)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.ping()
            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        conn.is_broken()
    }
}

/// Opens one connection (for the command line, which needs no pool).
pub fn connect(url: &DatabaseUrl) -> Result<DbConnection, diesel::ConnectionError> {
    DbConnection::open(url)
}

/// A pool of `size` connections; the first one is opened at once so a bad URL fails here.
pub fn pool(url: &DatabaseUrl, size: u32) -> Result<Pool, r2d2::PoolError> {
    r2d2::Pool::builder()
        .max_size(size)
        .connection_timeout(std::time::Duration::from_secs(10))
        // A broken connection shows itself on use (`has_broken`); a `SELECT 1` per checkout
        // would double the round trips of the hot path.
        .test_on_check_out(false)
        .build(Manager { url: url.clone() })
}
