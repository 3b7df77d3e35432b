//! One SQL text for both backends: statements are written with PostgreSQL's numbered
//! placeholders (`$1`), which SQLite reads as `?1`, the same parameter by number.

use std::borrow::Cow;

use super::DbConnection;

/// `sql` as `conn`'s backend numbers its parameters: unchanged on PostgreSQL, `$n` → `?n` on
/// SQLite. The statements it is used for hold no `$` but in placeholders.
pub fn numbered<'a>(conn: &DbConnection, sql: &'a str) -> Cow<'a, str> {
    match conn {
        DbConnection::Postgres(_) => Cow::Borrowed(sql),
        DbConnection::Sqlite(_) => Cow::Owned(sql.replace('$', "?")),
    }
}
