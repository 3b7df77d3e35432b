//! The pool, reached off the async workers: one permit per pooled connection, handed out first
//! come, first served, so that a request waits here and not on a blocking thread parked
//! inside the pool. Shared by the handlers ([`crate::AppState::with_conn`]) and the sessions.

use std::sync::Arc;

use emsg_store::db::{Pool, PooledConnection};

use crate::error::WebError;

#[derive(Clone)]
pub struct Database {
    pool: Pool,
    gate: Arc<tokio::sync::Semaphore>,
}

impl Database {
    pub fn new(pool: Pool) -> Self {
        let permits = usize::try_from(pool.max_size()).unwrap_or(1);
        Self {
            pool,
            gate: Arc::new(tokio::sync::Semaphore::new(permits)),
        }
    }

    /// Runs blocking database work on a pooled connection, off the async workers.
    pub async fn run<T, F>(&self, work: F) -> Result<T, WebError>
    where
        T: Send + 'static,
        F: FnOnce(&mut PooledConnection) -> Result<T, WebError> + Send + 'static,
    {
        let _permit = self
            .gate
            .acquire()
            .await
            .map_err(|_| WebError::Internal("the database pool is closed".to_owned()))?;
        let pool = self.pool.clone();
        actix_web::web::block(move || {
            let mut conn = pool.get().map_err(emsg_store::StoreError::from)?;
            work(&mut conn)
        })
        .await
        .map_err(|_| WebError::Internal("a database task was cancelled".to_owned()))?
    }
}
