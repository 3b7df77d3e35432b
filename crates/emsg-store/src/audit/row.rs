//! An entry as the columns of its row: the one mapping from [`NewAuditEntry`] to
//! `audit_entries`, for diesel's inserts and for the one PostgreSQL statement that writes an
//! entry inside hand-written SQL (the end of a refresh, see `connections::finish_refresh`).

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{BigInt, Nullable, Text};

use super::NewAuditEntry;
use crate::clock::now;
use crate::db::DbConnection;
use crate::error::Result;
use crate::schema::audit_entries;

/// The row of an entry written at `at`. NULL for `None` (never the column's default), so that
/// rows of different shapes go in one multi-row insert on SQLite too.
#[derive(Insertable)]
#[diesel(table_name = audit_entries, treat_none_as_default_value = false)]
struct Row<'a> {
    at: i64,
    user_id: Option<i64>,
    actor: &'static str,
    action: &'static str,
    web_application_id: Option<i64>,
    connection_id: Option<i64>,
    outcome: &'static str,
    error_code: Option<&'a str>,
    detail: &'a str,
}

/// The columns of [`Row`] in the order of its fields, which is the order [`bind`] binds them
/// in (a test holds this list to diesel's own insert of a `Row`).
const COLUMNS: [&str; 9] = [
    "at",
    "user_id",
    "actor",
    "action",
    "web_application_id",
    "connection_id",
    "outcome",
    "error_code",
    "detail",
];

impl<'a> Row<'a> {
    fn new(entry: &'a NewAuditEntry, at: i64) -> Self {
        let (user_id, actor) = entry.actor.columns();
        Self {
            at,
            user_id,
            actor,
            action: entry.action.as_str(),
            web_application_id: entry.web_application_id,
            connection_id: entry.connection_id,
            outcome: entry.outcome,
            error_code: entry.error_code.as_deref(),
            detail: &entry.detail,
        }
    }
}

/// Writes `entries` at the same moment: one statement for one entry, few for many.
pub(crate) fn insert(conn: &mut DbConnection, entries: &[NewAuditEntry]) -> Result<()> {
    let at = now();
    if let [entry] = entries {
        diesel::insert_into(audit_entries::table)
            .values(Row::new(entry, at))
            .execute(conn)?;
        return Ok(());
    }
    // Chunks stay under SQLite's and PostgreSQL's bind-parameter limits (9 columns per row).
    for chunk in entries.chunks(1000) {
        let rows: Vec<Row<'_>> = chunk.iter().map(|entry| Row::new(entry, at)).collect();
        // Multi-row inserts are not in the multi-backend subset: run them on the inner connection.
        let insert = diesel::insert_into(audit_entries::table).values(rows);
        match conn {
            DbConnection::Sqlite(inner) => insert.execute(inner)?,
            DbConnection::Postgres(inner) => insert.execute(inner)?,
        };
    }
    Ok(())
}

/// `INSERT INTO audit_entries (…) SELECT $first, … FROM source`: the entry written once for
/// each row of `source` (a common table expression of the same statement), its values bound
/// by [`bind`] as parameters `first` onwards.
pub(crate) fn insert_select_from(source: &str, first: usize) -> String {
    let params: Vec<String> = (first..first + COLUMNS.len())
        .map(|n| format!("${n}"))
        .collect();
    format!(
        "INSERT INTO audit_entries ({}) SELECT {} FROM {source}",
        COLUMNS.join(", "),
        params.join(", ")
    )
}

/// Binds `entry`, written at `at`, to the parameters of [`insert_select_from`] (after those
/// `query` has bound already).
pub(crate) fn bind<'f>(
    query: BoxedSqlQuery<'f, Pg, SqlQuery>,
    entry: &'f NewAuditEntry,
    at: i64,
) -> BoxedSqlQuery<'f, Pg, SqlQuery> {
    // Every field by name: a column added to `Row` does not compile here until it is bound.
    let Row {
        at,
        user_id,
        actor,
        action,
        web_application_id,
        connection_id,
        outcome,
        error_code,
        detail,
    } = Row::new(entry, at);
    query
        .bind::<BigInt, _>(at)
        .bind::<Nullable<BigInt>, _>(user_id)
        .bind::<Text, _>(actor)
        .bind::<Text, _>(action)
        .bind::<Nullable<BigInt>, _>(web_application_id)
        .bind::<Nullable<BigInt>, _>(connection_id)
        .bind::<Text, _>(outcome)
        .bind::<Nullable<Text>, _>(error_code)
        .bind::<Text, _>(detail)
}

#[cfg(test)]
mod tests {
    use diesel::pg::Pg;
    use diesel::sqlite::Sqlite;

    use super::*;
    use crate::audit::{Actor, AuditAction};

    fn entry() -> NewAuditEntry {
        NewAuditEntry::ok(
            Actor::System,
            AuditAction::Refresh,
            "access token refreshed",
        )
        .on_web_application(crate::WebApplicationId::new(1))
        .on_connection(crate::ConnectionId::new(2))
    }

    #[test]
    fn the_hand_written_column_list_is_diesels_own_for_a_row() {
        let entry = entry();
        let insert = diesel::insert_into(audit_entries::table).values(Row::new(&entry, 0));
        let expected = format!("({}) VALUES", COLUMNS.join(", "));
        let unquoted = |sql: String| sql.replace(['"', '`'], "");
        let pg = unquoted(diesel::debug_query::<Pg, _>(&insert).to_string());
        assert!(pg.contains(&expected), "{pg}");
        let sqlite = unquoted(diesel::debug_query::<Sqlite, _>(&insert).to_string());
        assert!(sqlite.contains(&expected), "{sqlite}");
    }

    #[test]
    fn the_entry_of_a_statement_takes_the_parameters_after_the_statements_own() {
        assert_eq!(
            insert_select_from("stored", 11),
            "INSERT INTO audit_entries (at, user_id, actor, action, web_application_id, \
             connection_id, outcome, error_code, detail) \
             SELECT $11, $12, $13, $14, $15, $16, $17, $18, $19 FROM stored"
        );
    }
}
