//! The audit entry every action writes (a [`NewAuditEntry`] of the store), with the action's
//! outcome: in the transaction of the change the action makes when it makes one, on its own
//! when it fails or changes nothing.

use std::future::Future;

use emsg_seal::KeyRing;
use emsg_store::audit::{self, NewAuditEntry};
use emsg_store::db::DbConnection;

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
    /// Records the outcome of an action that changed nothing (or failed); a failure to write
    /// the entry is logged, never hidden behind the action's own result. Takes what it needs
    /// from `result` before returning, so the future borrows nothing (it may run inside spawned
    /// tasks).
    pub(crate) fn audit<T>(
        &self,
        entry: NewAuditEntry,
        result: &Result<T, EngineError>,
    ) -> impl Future<Output = ()> + Send + use<T> {
        let entry = concluded(entry, result);
        // The audited action may have changed its connection: that connection's cached token goes.
        if let Some(id) = entry.connection_id {
            self.inner
                .tokens
                .invalidate(emsg_store::ConnectionId::new(id));
        }
        let engine = self.clone();
        async move { engine.write_audit(entry).await }
    }

    /// Makes `change` and writes the action's `entry` (taken: it is written once) in one
    /// transaction; `connection_of` names the connection the change answered, for the entry.
    /// The change records what the user asked for and what a provider may already have done,
    /// so an entry that cannot be written does not cost it: the change is then made alone and
    /// the entry tried on its own (and logged if it fails, as [`Engine::audit`]). A change that
    /// fails writes the entry with its error.
    pub(crate) async fn commit_with_entry<T>(
        &self,
        entry: &mut Option<NewAuditEntry>,
        mut change: impl FnMut(&mut DbConnection, &KeyRing) -> emsg_store::Result<T> + Send + 'static,
        connection_of: impl Fn(&T) -> Option<emsg_store::ConnectionId> + Send + 'static,
    ) -> Result<T, EngineError>
    where
        T: Send + 'static,
    {
        let Some(entry) = entry.take() else {
            return self.db(move |conn, ring| Ok(change(conn, ring)?)).await;
        };
        let for_change = entry.clone();
        let committed = self
            .db(move |conn, ring| {
                let complete = |changed: &T| match connection_of(changed) {
                    Some(id) => for_change.clone().on_connection(id),
                    None => for_change.clone(),
                };
                let (changed, unwritten) =
                    audit::with_entry_or_alone(conn, |conn| change(conn, ring), complete)?;
                let connection = connection_of(&changed);
                Ok((changed, unwritten, connection))
            })
            .await;
        match committed {
            Ok((changed, unwritten, connection)) => {
                if let Some(id) =
                    connection.or(entry.connection_id.map(emsg_store::ConnectionId::new))
                {
                    self.inner.tokens.invalidate(id);
                }
                if let Some(unwritten) = unwritten {
                    self.write_audit(unwritten).await;
                }
                Ok(changed)
            }
            Err(error) => {
                let failed = Err(error);
                self.audit(entry, &failed).await;
                failed
            }
        }
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
