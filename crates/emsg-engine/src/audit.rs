//! The audit entry every action writes: who, what, which record and connection, the outcome.

use std::future::Future;

use emsg_store::audit::{self, Actor, NewAuditEntry};

use crate::Engine;
use crate::error::EngineError;

pub struct Entry {
    pub user: Option<i64>,
    pub action: &'static str,
    pub web_application_id: Option<i64>,
    pub connection_id: Option<i64>,
}

impl Engine {
    /// Records the outcome of an action; a failure to write the entry is logged, never hidden
    /// behind the action's own result. Takes what it needs from `result` before returning, so
    /// the future borrows nothing (it may run inside spawned tasks).
    pub(crate) fn audit<T>(
        &self,
        entry: Entry,
        result: &Result<T, EngineError>,
        detail: String,
    ) -> impl Future<Output = ()> + Send + use<T> {
        let (outcome, code, detail) = match result {
            Ok(_) => ("ok", None, detail),
            Err(error) => ("error", Some(error.code().to_owned()), error.to_string()),
        };
        // Every audited action may have changed a connection: cached tokens go.
        self.inner.tokens.clear();
        let engine = self.clone();
        async move { engine.write_audit(entry, outcome, code, detail).await }
    }

    async fn write_audit(
        &self,
        entry: Entry,
        outcome: &'static str,
        code: Option<String>,
        detail: String,
    ) {
        let written = self
            .db(move |conn, _| {
                audit::record(
                    conn,
                    &NewAuditEntry {
                        actor: entry.user.map_or(Actor::System, |id| Actor::User { id }),
                        action: entry.action,
                        web_application_id: entry.web_application_id,
                        connection_id: entry.connection_id,
                        outcome,
                        error_code: code.as_deref(),
                        detail: &detail,
                    },
                )?;
                Ok(())
            })
            .await;
        if let Err(error) = written {
            tracing::error!(%error, "could not write an audit entry");
        }
    }
}
