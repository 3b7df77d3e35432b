//! The audit log: who did which action on which record, when, with which outcome. Never a secret.
//!
//! One entry type ([`NewAuditEntry`]) and one writer ([`record`]), with the action named by
//! [`AuditAction`]. The entries as read back for the audit page are in [`read`].

mod action;
mod read;
pub(crate) mod row;

use crate::db::DbConnection;
use crate::error::Result;

pub use action::AuditAction;
pub use read::{AuditEntry, AuditFilter, kinds, recent, search};

/// Who acted: a user (by id, never by name) or the system itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User {
        id: i64,
    },
    /// The command line run by an operator without a user (`emsg import`, `emsg keys rotate`).
    Operator,
    /// The server's own background work.
    System,
}

impl Actor {
    /// The user `id`, or the system when there is none (the scheduler, the command line
    /// acting for a company).
    pub fn user_or_system(id: Option<i64>) -> Self {
        id.map_or(Self::System, |id| Self::User { id })
    }

    pub(crate) fn columns(&self) -> (Option<i64>, &'static str) {
        match self {
            Self::User { id } => (Some(*id), "user"),
            Self::Operator => (None, "operator"),
            Self::System => (None, "system"),
        }
    }
}

/// One entry to write: what `actor` did, on which record and connection, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    pub actor: Actor,
    pub action: AuditAction,
    pub web_application_id: Option<i64>,
    pub connection_id: Option<i64>,
    /// `ok`, or `error` with an `error_code`.
    pub outcome: &'static str,
    pub error_code: Option<String>,
    /// Plain words for the page; never a token, code or secret.
    pub detail: String,
}

impl NewAuditEntry {
    /// `actor` did `action`, and it succeeded: `detail` says what happened.
    pub fn ok(actor: Actor, action: AuditAction, detail: impl Into<String>) -> Self {
        Self {
            actor,
            action,
            web_application_id: None,
            connection_id: None,
            outcome: "ok",
            error_code: None,
            detail: detail.into(),
        }
    }

    /// The entry concerns web application (record) `id`.
    #[must_use]
    pub fn on_web_application(self, id: impl Into<Option<i64>>) -> Self {
        Self {
            web_application_id: id.into(),
            ..self
        }
    }

    /// The entry concerns connection `id`.
    #[must_use]
    pub fn on_connection(self, id: impl Into<Option<i64>>) -> Self {
        Self {
            connection_id: id.into(),
            ..self
        }
    }

    /// The action failed: the error's stable `code`, and its `message` instead of the detail.
    #[must_use]
    pub fn failed(self, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            outcome: "error",
            error_code: Some(code.into()),
            detail: message.into(),
            ..self
        }
    }
}

/// Writes `entries`, in the caller's transaction if there is one; many in few statements (an
/// import of thousands of records).
pub fn record(conn: &mut DbConnection, entries: &[NewAuditEntry]) -> Result<()> {
    row::insert(conn, entries)
}
