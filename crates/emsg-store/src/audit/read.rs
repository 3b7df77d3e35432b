//! The entries as written, read back for the audit page and `/api/v1/audit`: newest first,
//! filtered, a page at a time. Actions are read as the words stored, so that entries written
//! by an older or newer emsg are shown and filtered all the same.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::Result;
use crate::schema::audit_entries;

/// An entry as stored.
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
