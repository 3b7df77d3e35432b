//! When the scheduler next starts each scheduled processing: one row per processing, written by
//! the import, moved on by the one node whose UPDATE finds it due (on PostgreSQL and SQLite
//! alike a row is updated by one statement at a time, so each firing is one node's).

use diesel::prelude::*;
use diesel::sql_types::BigInt;

use crate::db::{DbConnection, numbered};
use crate::error::Result;
use crate::schema::schedules;

/// Makes the schedules those of `scheduled` (processing key, every ms): new ones are due at
/// `now_ms`, changed ones keep their next time, others go. Runs inside the import's transaction.
pub fn sync(conn: &mut DbConnection, scheduled: &[(String, i64)], now_ms: i64) -> Result<()> {
    let keys: Vec<&str> = scheduled.iter().map(|(k, _)| k.as_str()).collect();
    diesel::delete(schedules::table.filter(schedules::processing_key.ne_all(&keys)))
        .execute(conn)?;
    for (key, every_ms) in scheduled {
        let updated = diesel::update(schedules::table.find(key))
            .set(schedules::every_ms.eq(every_ms))
            .execute(conn)?;
        if updated == 0 {
            diesel::insert_into(schedules::table)
                .values((
                    schedules::processing_key.eq(key),
                    schedules::every_ms.eq(every_ms),
                    schedules::next_due_at_ms.eq(now_ms),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

#[derive(QueryableByName)]
struct Fired {
    #[diesel(sql_type = diesel::sql_types::Text)]
    processing_key: String,
}

/// The processings due at `now_ms`, each moved on to its next time: the caller starts them.
pub fn take_due(conn: &mut DbConnection, now_ms: i64) -> Result<Vec<String>> {
    let sql = numbered(
        conn,
        "UPDATE schedules SET next_due_at_ms = $1 + every_ms WHERE next_due_at_ms <= $1 \
         RETURNING processing_key",
    )
    .into_owned();
    let fired: Vec<Fired> = diesel::sql_query(sql)
        .bind::<BigInt, _>(now_ms)
        .load(conn)?;
    Ok(fired.into_iter().map(|f| f.processing_key).collect())
}
