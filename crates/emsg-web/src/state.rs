//! What every request handler shares: the pool, the key ring, the templates.

use std::sync::Arc;

use emsg_seal::KeyRing;
use emsg_store::db::{Pool, PooledConnection};

use crate::error::WebError;
use crate::templates::Templates;

#[derive(Clone)]
pub struct AppState {
    pool: Pool,
    ring: Arc<KeyRing>,
    pub(crate) templates: Arc<Templates>,
}

impl AppState {
    pub fn new(pool: Pool, ring: KeyRing) -> Result<Self, WebError> {
        Ok(Self {
            pool,
            ring: Arc::new(ring),
            templates: Arc::new(Templates::load()?),
        })
    }

    pub fn ring(&self) -> &KeyRing {
        &self.ring
    }

    /// Runs blocking database work off the async workers.
    pub async fn with_conn<T, F>(&self, work: F) -> Result<T, WebError>
    where
        T: Send + 'static,
        F: FnOnce(&mut PooledConnection) -> Result<T, WebError> + Send + 'static,
    {
        let pool = self.pool.clone();
        actix_web::web::block(move || {
            let mut conn = pool.get().map_err(emsg_store::StoreError::from)?;
            work(&mut conn)
        })
        .await
        .map_err(|_| WebError::Internal("a database task was cancelled".to_owned()))?
    }
}
