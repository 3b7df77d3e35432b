//! Every sealed column of the schema, so that key rotation re-seals all of them.
//!
//! A table that gains a sealed column adds it here; the rotation test checks each one.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Binary};

use crate::db::DbConnection;

pub struct SealedColumn {
    pub table: &'static str,
    pub column: &'static str,
}

pub const SEALED_COLUMNS: &[SealedColumn] = &[
    SealedColumn {
        table: "master_key_check",
        column: "sealed",
    },
    SealedColumn {
        table: "web_applications",
        column: "client_secret_sealed",
    },
    SealedColumn {
        table: "parked_callbacks",
        column: "code_sealed",
    },
    SealedColumn {
        table: "pending_imports",
        column: "content_sealed",
    },
];

#[derive(QueryableByName)]
pub struct SealedRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Binary)]
    pub value: Vec<u8>,
}

impl SealedColumn {
    pub fn load(&self, conn: &mut DbConnection) -> QueryResult<Vec<SealedRow>> {
        diesel::sql_query(format!(
            "SELECT id, {column} AS value FROM {table} WHERE {column} IS NOT NULL ORDER BY id",
            table = self.table,
            column = self.column
        ))
        .load(conn)
    }

    pub fn store(&self, conn: &mut DbConnection, id: i64, value: &[u8]) -> QueryResult<usize> {
        let (first, second) = match conn {
            DbConnection::Postgres(_) => ("$1", "$2"),
            DbConnection::Sqlite(_) => ("?", "?"),
        };
        diesel::sql_query(format!(
            "UPDATE {table} SET {column} = {first} WHERE id = {second}",
            table = self.table,
            column = self.column
        ))
        .bind::<Binary, _>(value)
        .bind::<BigInt, _>(id)
        .execute(conn)
    }
}
