//! The audit log: who did which action on which record, when, with which outcome. Never a secret.

use diesel::prelude::*;

use crate::clock::now;
use crate::db::DbConnection;
use crate::error::Result;
use crate::schema::audit_entries;

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
    pub(crate) fn columns(&self) -> (Option<i64>, &'static str) {
        match self {
            Self::User { id } => (Some(*id), "user"),
            Self::Operator => (None, "operator"),
            Self::System => (None, "system"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewAuditEntry<'a> {
    pub actor: Actor,
    pub action: &'a str,
    pub web_application_id: Option<i64>,
    pub connection_id: Option<i64>,
    pub outcome: &'a str,
    pub error_code: Option<&'a str>,
    /// Plain words for the page; never a token, code or secret.
    pub detail: &'a str,
}

#[derive(Debug, Clone, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = audit_entries)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub user_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub web_application_id: Option<i64>,
    pub connection_id: Option<i64>,
    pub outcome: String,
    pub error_code: Option<String>,
    pub detail: String,
}

pub fn record(conn: &mut DbConnection, entry: &NewAuditEntry<'_>) -> Result<()> {
    let (user_id, actor) = entry.actor.columns();
    diesel::insert_into(audit_entries::table)
        .values((
            audit_entries::at.eq(now()),
            audit_entries::user_id.eq(user_id),
            audit_entries::actor.eq(actor),
            audit_entries::action.eq(entry.action),
            audit_entries::web_application_id.eq(entry.web_application_id),
            audit_entries::connection_id.eq(entry.connection_id),
            audit_entries::outcome.eq(entry.outcome),
            audit_entries::error_code.eq(entry.error_code),
            audit_entries::detail.eq(entry.detail),
        ))
        .execute(conn)?;
    Ok(())
}

/// Writes many entries in few statements (an import of thousands of records).
pub fn record_many(conn: &mut DbConnection, entries: &[NewAuditEntry<'_>]) -> Result<()> {
    let at = now();
    // Chunks stay under SQLite's and PostgreSQL's bind-parameter limits (9 columns per row).
    for chunk in entries.chunks(1000) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|entry| {
                let (user_id, actor) = entry.actor.columns();
                (
                    audit_entries::at.eq(at),
                    audit_entries::user_id.eq(user_id),
                    audit_entries::actor.eq(actor),
                    audit_entries::action.eq(entry.action),
                    audit_entries::web_application_id.eq(entry.web_application_id),
                    audit_entries::connection_id.eq(entry.connection_id),
                    audit_entries::outcome.eq(entry.outcome),
                    audit_entries::error_code.eq(entry.error_code),
                    audit_entries::detail.eq(entry.detail),
                )
            })
            .collect();
        // Multi-row inserts are not in the multi-backend subset: run them on the inner connection.
        let insert = diesel::insert_into(audit_entries::table).values(rows);
        match conn {
            DbConnection::Sqlite(inner) => insert.execute(inner)?,
            DbConnection::Postgres(inner) => insert.execute(inner)?,
        };
    }
    Ok(())
}

/// The newest entries first.
pub fn recent(conn: &mut DbConnection, limit: i64) -> Result<Vec<AuditEntry>> {
    Ok(audit_entries::table
        .select(AuditEntry::as_select())
        .order((audit_entries::at.desc(), audit_entries::id.desc()))
        .limit(limit)
        .load(conn)?)
}

/// What the audit log page filters on; `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub web_application_id: Option<i64>,
    pub user_id: Option<i64>,
    pub action: Option<String>,
    pub outcome: Option<String>,
}

fn filtered(filter: &AuditFilter) -> audit_entries::BoxedQuery<'static, crate::db::MultiBackend> {
    let mut query = audit_entries::table.into_boxed();
    if let Some(id) = filter.web_application_id {
        query = query.filter(audit_entries::web_application_id.eq(id));
    }
    if let Some(id) = filter.user_id {
        query = query.filter(audit_entries::user_id.eq(id));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_entries::action.eq(action.clone()));
    }
    if let Some(outcome) = &filter.outcome {
        query = query.filter(audit_entries::outcome.eq(outcome.clone()));
    }
    query
}

/// One page (1-based) of the entries matching `filter`, newest first, and how many match in all.
pub fn search(
    conn: &mut DbConnection,
    filter: &AuditFilter,
    page: i64,
    per_page: i64,
) -> Result<(Vec<AuditEntry>, i64)> {
    let per_page = per_page.max(1);
    let offset = (page.max(1) - 1).saturating_mul(per_page);
    let total: i64 = filtered(filter).count().get_result(conn)?;
    let entries = filtered(filter)
        .select(AuditEntry::as_select())
        .order((audit_entries::at.desc(), audit_entries::id.desc()))
        .limit(per_page)
        .offset(offset)
        .load(conn)?;
    Ok((entries, total))
}

/// The distinct actions and outcomes recorded so far, for the page's filter lists.
pub fn kinds(conn: &mut DbConnection) -> Result<(Vec<String>, Vec<String>)> {
    let actions = audit_entries::table
        .select(audit_entries::action)
        .distinct()
        .order(audit_entries::action)
        .load(conn)?;
    let outcomes = audit_entries::table
        .select(audit_entries::outcome)
        .distinct()
        .order(audit_entries::outcome)
        .load(conn)?;
    Ok((actions, outcomes))
}
