//! The way from async code to the database: blocking diesel work on a pooled connection, run on
//! the blocking threads, never on the async workers.
//!
//! One permit per pooled connection, handed out first come, first served: work waits here, as a
//! future, and not on a blocking thread parked inside the pool. The engine, the messenger and
//! the web face of one process share one gateway, so that together they ask no more of the
//! pool than it holds.

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::connection::DbConnection;
use super::pool::{Pool, PooledConnection};
use super::transaction::write_transaction;
use crate::error::StoreError;

/// The pool and the gate in front of it; cheap to clone (clones share both).
#[derive(Clone)]
pub struct Gateway {
    pool: Pool,
    gate: Arc<Semaphore>,
}

/// Why work sent through the [`Gateway`] did not run to its end. Each caller turns it into its
/// own internal error.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The gate was closed: the process is stopping.
    #[error("the database pool is closed")]
    Closed,
    /// The blocking task panicked or was cancelled before it answered.
    #[error("a database task failed: {0}")]
    TaskFailed(String),
}

impl From<Pool> for Gateway {
    fn from(pool: Pool) -> Self {
        Self::new(pool)
    }
}

impl Gateway {
    /// A gateway with as many permits as `pool` has connections.
    pub fn new(pool: Pool) -> Self {
        let permits = usize::try_from(pool.max_size()).unwrap_or(1);
        Self {
            pool,
            gate: Arc::new(Semaphore::new(permits)),
        }
    }

    /// The pool behind the gate, for work that is already on a blocking thread (start-up).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Runs `work` on a pooled connection. Its statements commit one by one, or in the
    /// transactions the store's functions it calls take themselves.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + From<GatewayError> + Send + 'static,
        F: FnOnce(&mut PooledConnection) -> Result<T, E> + Send + 'static,
    {
        let _permit = self
            .gate
            .acquire()
            .await
            .map_err(|_| GatewayError::Closed)?;
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(StoreError::from)?;
            work(&mut conn)
        })
        .await
        .map_err(|e| GatewayError::TaskFailed(e.to_string()))?
    }

    /// Runs `work` in one write transaction ([`write_transaction`]: it holds SQLite's write
    /// lock from its start), committed when `work` answers `Ok`.
    pub async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + From<GatewayError> + Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    {
        self.run(move |conn| {
            write_transaction(conn, |conn| work(conn).map_err(Failed::Work)).map_err(|failed| {
                match failed {
                    Failed::Work(error) => error,
                    Failed::Database(error) => StoreError::from(error).into(),
                }
            })
        })
        .await
    }
}

/// The work's own error, or the database's at `BEGIN` or `COMMIT`.
enum Failed<E> {
    Work(E),
    Database(diesel::result::Error),
}

impl<E> From<diesel::result::Error> for Failed<E> {
    fn from(error: diesel::result::Error) -> Self {
        Self::Database(error)
    }
}
