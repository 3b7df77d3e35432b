//! Statements prepared once per database connection and reused, for the hot ones diesel would
//! otherwise send to be parsed and planned on every call.
//!
//! diesel caches a prepared statement only when it can tell that the statement's SQL text never
//! changes: it never does for `UPDATE`s (a changeset with `Option`s leaves columns out), for
//! `sql_query` nor for SQL literals. [`Reused`] caches such a statement keyed by its SQL text
//! and bind types (never by its Rust type), so each shape of the statement gets its own
//! prepared statement and none can run another's SQL.

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl};

/// `statement`, prepared on first use on each connection and reused after.
pub(crate) fn reused<Q>(statement: Q) -> Reused<Q> {
    Reused(statement)
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Reused<Q>(Q);

impl<Q, DB> QueryFragment<DB> for Reused<Q>
where
    Q: QueryFragment<DB>,
    DB: Backend,
{
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    /// Safe whatever the statement: the cache key is its SQL text, see [`QueryId`] below.
    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}

/// No static query id: diesel then keys the cached statement by its SQL text and bind types.
impl<Q> QueryId for Reused<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Reused<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, Conn> RunQueryDsl<Conn> for Reused<Q> {}
