//! The entries as written, read back for the audit page and `/api/v1/audit`: newest first,
//! filtered, a page at a time. Actions are read as the words stored, so that entries written
//! by an older or newer emsg are shown and filtered all the same.
//!
//! Pages go by key, not by position: a page is the entries older than the last one shown
//! (`id < before`), read along an index that ends in `id` (one per filter, migration
//! `list_indexes`), so page 20 costs what page 1 does with a million entries. Nothing counts
//! the entries: a count reads every matching row.

use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::db::DbConnection;
use crate::error::Result;
use crate::reused::reused;
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
    /// Paging: only entries older than this id (the last one of the page before).
    pub before: Option<i64>,
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
    if let Some(before) = filter.before {
        query = query.filter(audit_entries::id.lt(before));
    }
    query
}

/// Up to `limit` entries matching `filter`, newest (highest id) first. Ask for one more than
/// a page holds to learn whether there is a next page.
pub fn search(
    conn: &mut DbConnection,
    filter: &AuditFilter,
    limit: i64,
) -> Result<Vec<AuditEntry>> {
    Ok(filtered(filter)
        .select(AuditEntry::as_select())
        .order(audit_entries::id.desc())
        .limit(limit.max(1))
        .load(conn)?)
}

/// The distinct actions and outcomes recorded so far, for the page's filter lists.
pub fn kinds(conn: &mut DbConnection) -> Result<(Vec<String>, Vec<String>)> {
    // Prepared once per database connection: PostgreSQL plans the two recursive queries in
    // about as long as it takes to run them.
    let words: Vec<Word> = reused(diesel::sql_query(KINDS)).load(conn)?;
    let (mut actions, mut outcomes) = (Vec::new(), Vec::new());
    for Word { kind, word } in words {
        match kind.as_str() {
            "action" => actions.push(word),
            _ => outcomes.push(word),
        }
    }
    // A union's rows come in no promised order.
    actions.sort();
    outcomes.sort();
    Ok((actions, outcomes))
}

#[derive(QueryableByName)]
struct Word {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    word: String,
}

/// The distinct actions and outcomes, each found by stepping along its column's index from one
/// value to the next (a recursive query): as many index look-ups as there are values, where
/// `SELECT DISTINCT` would read every entry on each view of the page. One statement for both
/// lists: on PostgreSQL a round trip costs more than the look-ups.
const KINDS: &str = "WITH RECURSIVE \
    actions (word) AS ( \
      SELECT MIN(action) FROM audit_entries \
      UNION ALL \
      SELECT (SELECT MIN(action) FROM audit_entries WHERE action > actions.word) \
      FROM actions WHERE actions.word IS NOT NULL), \
    outcomes (word) AS ( \
      SELECT MIN(outcome) FROM audit_entries \
      UNION ALL \
      SELECT (SELECT MIN(outcome) FROM audit_entries WHERE outcome > outcomes.word) \
      FROM outcomes WHERE outcomes.word IS NOT NULL) \
  SELECT 'action' AS kind, word FROM actions WHERE word IS NOT NULL \
  UNION ALL \
  SELECT 'outcome' AS kind, word FROM outcomes WHERE word IS NOT NULL";
