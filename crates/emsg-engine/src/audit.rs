//! The audit entry every action writes (a [`NewAuditEntry`] of the store), with the action's
//! outcome.

use std::future::Future;

use emsg_store::audit::{self, NewAuditEntry};

use crate::Engine;
use crate::error::EngineError;

/// `entry` as `result` ended it: as it is when it succeeded, with the error's code and
/// message when it failed.
pub(crate) fn concluded<T>(entry: NewAuditEntry, result: &Result<T, EngineError>) -> NewAuditEntry {
    match result {
        Ok(_) => entry,
        Err(error) => entry.failed(error.code(), error.to_string()),
    }
}

impl Engine {
    /// Records the outcome of an action; a failure to write the entry is logged, never hidden
    /// behind the action's own result. Takes what it needs from `result` before returning, so
    /// the future borrows nothing (it may run inside spawned tasks).
    pub(crate) fn audit<T>(
        &self,
        entry: NewAuditEntry,
        result: &Result<T, EngineError>,
    ) -> impl Future<Output = ()> + Send + use<T> {
        let entry = concluded(entry, result);
        // The audited action may have changed its connection: that connection's cached token goes.
        if let Some(id) = entry.connection_id {
            self.inner.tokens.invalidate(id);
        }
        let engine = self.clone();
        async move { engine.write_audit(entry).await }
    }

    async fn write_audit(&self, entry: NewAuditEntry) {
        let written = self
            .db(move |conn, _| Ok(audit::record(conn, &[entry])?))
            .await;
        if let Err(error) = written {
            tracing::error!(%error, "could not write an audit entry");
        }
    }
}
