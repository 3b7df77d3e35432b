//! One refresh per connection inside this process: callers for the same connection queue on
//! one async mutex and, once inside, re-read the connection before calling the provider.
//! Across processes the connection's lease in the database does the same.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use emsg_store::ConnectionId;

#[derive(Default)]
pub struct Flights {
    locks: Mutex<HashMap<ConnectionId, Arc<tokio::sync::Mutex<()>>>>,
}

impl Flights {
    pub fn lock_for(&self, connection_id: ConnectionId) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .locks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        locks.entry(connection_id).or_default().clone()
    }
}
