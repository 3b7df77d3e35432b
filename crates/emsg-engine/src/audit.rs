//! The audit entry every action writes: who, what, which record and connection, the outcome.

use std::future::Future;

use emsg_store::audit::{self, Actor, NewAuditEntry};

use crate::Engine;
use crate::error::EngineError;

#[derive(Debug, Clone)]
pub struct Entry {
    pub user: Option<i64>,
    pub action: &'static str,
    pub web_application_id: Option<i64>,
    pub connection_id: Option<i64>,
}

/// An audit entry with its outcome, owned, ready to be written (on its own or inside the
/// transaction of the change it describes).
#[derive(Debug, Clone)]
pub struct Audited {
    entry: Entry,
    outcome: &'static str,
    code: Option<String>,
    detail: String,
}

impl Audited {
    pub fn new<T>(entry: &Entry, result: &Result<T, EngineError>, detail: String) -> Self {
        let (outcome, code, detail) = match result {
            Ok(_) => ("ok", None, detail),
            Err(error) => ("error", Some(error.code().to_owned()), error.to_string()),
        };
        Self {
            entry: entry.clone(),
            outcome,
            code,
            detail,
        }
    }

    pub fn row(&self) -> NewAuditEntry<'_> {
        NewAuditEntry {
            actor: self
                .entry
                .user
                .map_or(Actor::System, |id| Actor::User { id }),
            action: self.entry.action,
            web_application_id: self.entry.web_application_id,
            connection_id: self.entry.connection_id,
            outcome: self.outcome,
            error_code: self.code.as_deref(),
            detail: &self.detail,
        }
    }
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
        let audited = Audited::new(&entry, result, detail);
        // The audited action may have changed its connection: that connection's cached token goes.
        if let Some(id) = audited.entry.connection_id {
            self.inner.tokens.invalidate(id);
        }
        let engine = self.clone();
        async move { engine.write_audit(audited).await }
    }

    async fn write_audit(&self, audited: Audited) {
        let written = self
            .db(move |conn, _| {
                audit::record(conn, &audited.row())?;
                Ok(())
            })
            .await;
        if let Err(error) = written {
            tracing::error!(%error, "could not write an audit entry");
        }
    }
}
