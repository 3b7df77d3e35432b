//! Every sealed column of the schema, read from the database's own catalog, so that key rotation
//! and `emsg keys status` cover a column the day a migration adds it.
//!
//! The convention the catalog is read by: a sealed column is named `sealed` or ends in `_sealed`,
//! holds what [`emsg_seal::KeyRing::seal`] made, and its table has a BIGINT `id`, the row of the
//! value's [`emsg_seal::Aad`]. `master_keys.wrapped_key` (keys wrapped under keys) is not one:
//! the rotation itself keeps it.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Binary, Text};

use crate::db::DbConnection;

/// One sealed column, as the catalog names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SealedColumn {
    pub table: String,
    pub column: String,
}

#[derive(QueryableByName)]
struct CatalogRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

/// The sealed columns of this database's schema, sorted by table and column.
pub fn sealed_columns(conn: &mut DbConnection) -> QueryResult<Vec<SealedColumn>> {
    let query = match conn {
        DbConnection::Postgres(_) => {
            "SELECT table_name::TEXT AS table_name, column_name::TEXT AS column_name \
             FROM information_schema.columns \
             WHERE table_schema = current_schema() \
               AND (column_name = 'sealed' OR column_name LIKE '%\\_sealed' ESCAPE '\\')"
        }
        DbConnection::Sqlite(_) => {
            "SELECT m.name AS table_name, p.name AS column_name \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' \
               AND (p.name = 'sealed' OR p.name LIKE '%\\_sealed' ESCAPE '\\')"
        }
    };
    let mut columns: Vec<SealedColumn> = diesel::sql_query(query)
        .load::<CatalogRow>(conn)?
        .into_iter()
        .map(|row| SealedColumn {
            table: row.table_name,
            column: row.column_name,
        })
        .collect();
    columns.sort();
    Ok(columns)
}

/// One stored sealed value and the row it belongs to.
#[derive(QueryableByName)]
pub struct SealedRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Binary)]
    pub value: Vec<u8>,
}

impl SealedColumn {
    /// Up to `limit` values with a row id above `after`, in id order (so a long table is read
    /// in pages rather than held in memory whole).
    pub fn load_page(
        &self,
        conn: &mut DbConnection,
        after: i64,
        limit: i64,
    ) -> QueryResult<Vec<SealedRow>> {
        let (first, second) = placeholders(conn);
        diesel::sql_query(format!(
            "SELECT id, {column} AS value FROM {table} \
             WHERE {column} IS NOT NULL AND id > {first} ORDER BY id LIMIT {second}",
            table = self.table,
            column = self.column
        ))
        .bind::<BigInt, _>(after)
        .bind::<BigInt, _>(limit)
        .load(conn)
    }

    /// Replaces the value of row `id` only if it still holds `old`: a value that changed since
    /// it was read (a refresh stored a new token, a callback a code) is never overwritten with
    /// the old one sealed again. `false` when it changed.
    pub fn replace(
        &self,
        conn: &mut DbConnection,
        id: i64,
        old: &[u8],
        new: &[u8],
    ) -> QueryResult<bool> {
        let (first, second, third) = match conn {
            DbConnection::Postgres(_) => ("$1", "$2", "$3"),
            DbConnection::Sqlite(_) => ("?", "?", "?"),
        };
        let changed = diesel::sql_query(format!(
            "UPDATE {table} SET {column} = {first} WHERE id = {second} AND {column} = {third}",
            table = self.table,
            column = self.column
        ))
        .bind::<Binary, _>(new)
        .bind::<BigInt, _>(id)
        .bind::<Binary, _>(old)
        .execute(conn)?;
        Ok(changed == 1)
    }

    /// The value of row `id` now, if any.
    pub fn load_one(&self, conn: &mut DbConnection, id: i64) -> QueryResult<Option<Vec<u8>>> {
        let (first, _) = placeholders(conn);
        Ok(diesel::sql_query(format!(
            "SELECT id, {column} AS value FROM {table} WHERE {column} IS NOT NULL AND id = {first}",
            table = self.table,
            column = self.column
        ))
        .bind::<BigInt, _>(id)
        .get_result::<SealedRow>(conn)
        .optional()?
        .map(|row| row.value))
    }
}

fn placeholders(conn: &DbConnection) -> (&'static str, &'static str) {
    match conn {
        DbConnection::Postgres(_) => ("$1", "$2"),
        DbConnection::Sqlite(_) => ("?", "?"),
    }
}
