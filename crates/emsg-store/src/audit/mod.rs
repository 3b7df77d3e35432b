//! The audit log: who did which action on which record, when, with which outcome. Never a secret.
//!
//! One entry type ([`NewAuditEntry`]) and one writer ([`record`]); a change and the entry that
//! describes it commit in one transaction ([`with_entry`], or the store function that makes the
//! change). The entries as read back for the audit page are in [`read`].

mod action;
mod read;
pub(crate) mod row;

use crate::db::{DbConnection, write_transaction};
use crate::error::Result;
use crate::ids::{ConnectionId, WebApplicationId};

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
    pub fn on_web_application(self, id: impl Into<Option<WebApplicationId>>) -> Self {
        Self {
            web_application_id: id.into().map(WebApplicationId::get),
            ..self
        }
    }

    /// The entry concerns connection `id`.
    #[must_use]
    pub fn on_connection(self, id: impl Into<Option<ConnectionId>>) -> Self {
        Self {
            connection_id: id.into().map(ConnectionId::get),
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

/// Makes `change` and writes the entry that describes it (made from what the change answered)
/// in one write transaction: both commit, or neither does.
pub fn with_entry<T>(
    conn: &mut DbConnection,
    change: impl FnOnce(&mut DbConnection) -> Result<T>,
    entry: impl FnOnce(&T) -> NewAuditEntry,
) -> Result<T> {
    write_transaction(conn, |conn| {
        let changed = change(conn)?;
        record(conn, &[entry(&changed)])?;
        Ok(changed)
    })
}

/// [`with_entry`] for a change that must be kept even when its entry cannot be written (say,
/// its user is gone): the change records what a provider already did — tokens it issued and
/// will not issue again, a grant it revoked — and the entry is only its account. The change is
/// then made alone, and the entry that could not be written is handed back, for the caller to
/// try on its own and to log.
pub fn with_entry_or_alone<T>(
    conn: &mut DbConnection,
    mut change: impl FnMut(&mut DbConnection) -> Result<T>,
    entry: impl Fn(&T) -> NewAuditEntry,
) -> Result<(T, Option<NewAuditEntry>)> {
    match with_entry(conn, &mut change, &entry) {
        Ok(changed) => Ok((changed, None)),
        Err(_) => {
            let changed = write_transaction(conn, |conn| change(conn))?;
            let unwritten = entry(&changed);
            Ok((changed, Some(unwritten)))
        }
    }
}
