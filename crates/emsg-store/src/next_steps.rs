//! The next step of every message that has one to run, as a row with the time it is due.
//! Every `serve` node takes due rows under a lease; a wait (a poll's interval, a back-off, a
//! schedule) is a later due time, not a sleeping task. Each take raises the row's fence: a node
//! whose lease ran out (it died, or stalled past the lease) finds its fence gone when it reports,
//! and its late result is refused, so another node's run of the step is the only one recorded.
//!
//! Taking is one statement: on PostgreSQL `FOR UPDATE SKIP LOCKED`, so nodes taking at once get
//! different rows without waiting for each other; on SQLite inside an `IMMEDIATE` transaction,
//! which lets one writer in at a time across processes.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};

use crate::db::{DbConnection, numbered, write_transaction};
use crate::error::Result;
use crate::ids::MessageId;
use crate::schema::next_steps;

/// A step a node has taken: run it, then [`finish`] it with the fence it was taken with.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Taken {
    #[diesel(sql_type = BigInt, column_name = message_id)]
    pub message: MessageId,
    /// The step's place in the message's processing.
    #[diesel(sql_type = Integer)]
    pub step: i32,
    /// How many times this step has been taken (1 on its first run).
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = BigInt)]
    pub fence: i64,
}

/// What follows a step that ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// Step `step` next, due at `due_at_ms`.
    Next { step: i32, due_at_ms: i64 },
    /// The same step again at `due_at_ms` (a poll's next look, a back-off); its attempts count on.
    Again { due_at_ms: i64 },
    /// Nothing more to run: the message has ended or waits for a person.
    Done,
}

/// Makes `step` the next step of `message`, due at `due_at_ms`, replacing whatever was next
/// (a lease on it ends: its holder's result will be refused).
pub fn schedule(
    conn: &mut DbConnection,
    message: MessageId,
    step: i32,
    due_at_ms: i64,
) -> Result<()> {
    let sql = numbered(
        conn,
        "INSERT INTO next_steps (message_id, step, due_at_ms) VALUES ($1, $2, $3) \
         ON CONFLICT (message_id) DO UPDATE SET step = excluded.step, \
           due_at_ms = excluded.due_at_ms, attempts = 0, fence = next_steps.fence + 1, \
           lease_owner = NULL, lease_until_ms = NULL",
    );
    diesel::sql_query(sql)
        .bind::<BigInt, _>(message)
        .bind::<Integer, _>(step)
        .bind::<BigInt, _>(due_at_ms)
        .execute(conn)?;
    Ok(())
}

/// Takes up to `limit` steps due at `now_ms` whose lease (if any) has ended, for `owner` until
/// `now_ms + lease_ms`, oldest due first. No other node takes them while the lease lasts.
pub fn take_due(
    conn: &mut DbConnection,
    owner: &str,
    now_ms: i64,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<Taken>> {
    // Nodes taking at once skip each other's rows on PostgreSQL; SQLite lets one in at a time.
    let skip_locked = match conn {
        DbConnection::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        DbConnection::Sqlite(_) => "",
    };
    let sql = numbered(
        conn,
        &format!(
            "UPDATE next_steps SET fence = fence + 1, attempts = attempts + 1, \
               lease_owner = $1, lease_until_ms = $2 + $3 \
             WHERE message_id IN (SELECT message_id FROM next_steps \
               WHERE due_at_ms <= $2 AND (lease_until_ms IS NULL OR lease_until_ms <= $2) \
               ORDER BY due_at_ms, message_id LIMIT $4{skip_locked}) \
             RETURNING message_id, step, attempts, fence"
        ),
    )
    .into_owned();
    write_transaction(conn, |conn| {
        let mut taken: Vec<Taken> = diesel::sql_query(sql.as_str())
            .bind::<Text, _>(owner)
            .bind::<BigInt, _>(now_ms)
            .bind::<BigInt, _>(lease_ms)
            .bind::<BigInt, _>(limit)
            .load(conn)?;
        // RETURNING gives no order; the caller runs the oldest first.
        taken.sort_by_key(|t| t.message);
        Ok(taken)
    })
}

/// Records what follows `taken`, if its fence is still the row's: false when the lease ran out
/// and the step was taken again (or rescheduled) since, and nothing was changed.
pub fn finish(conn: &mut DbConnection, taken: &Taken, then: Then) -> Result<bool> {
    let current = next_steps::table
        .filter(next_steps::message_id.eq(taken.message))
        .filter(next_steps::fence.eq(taken.fence));
    let released = (
        next_steps::lease_owner.eq(None::<String>),
        next_steps::lease_until_ms.eq(None::<i64>),
    );
    let changed = match then {
        Then::Next { step, due_at_ms } => diesel::update(current)
            .set((
                next_steps::step.eq(step),
                next_steps::due_at_ms.eq(due_at_ms),
                next_steps::attempts.eq(0),
                released,
            ))
            .execute(conn)?,
        Then::Again { due_at_ms } => diesel::update(current)
            .set((next_steps::due_at_ms.eq(due_at_ms), released))
            .execute(conn)?,
        Then::Done => diesel::delete(current).execute(conn)?,
    };
    Ok(changed == 1)
}

/// Moves `taken` on to `step` and keeps it for its holder (a new fence, a lease until
/// `lease_until_ms`), if its fence is still the row's: the node that ran a step runs the next
/// one at once instead of waiting for its next take. `None` when the lease was lost.
pub fn continue_with(
    conn: &mut DbConnection,
    taken: &Taken,
    step: i32,
    lease_until_ms: i64,
) -> Result<Option<Taken>> {
    let sql = numbered(
        conn,
        "UPDATE next_steps SET step = $1, due_at_ms = $2, attempts = 1, fence = fence + 1,            lease_until_ms = $2          WHERE message_id = $3 AND fence = $4          RETURNING message_id, step, attempts, fence",
    )
    .into_owned();
    let mut moved: Vec<Taken> = diesel::sql_query(sql)
        .bind::<Integer, _>(step)
        .bind::<BigInt, _>(lease_until_ms)
        .bind::<BigInt, _>(taken.message)
        .bind::<BigInt, _>(taken.fence)
        .load(conn)?;
    Ok(moved.pop())
}

/// How many steps are due at `now_ms` and not held by a lease: the queue's depth.
pub fn due_count(conn: &mut DbConnection, now_ms: i64) -> Result<i64> {
    Ok(next_steps::table
        .filter(next_steps::due_at_ms.le(now_ms))
        .filter(
            next_steps::lease_until_ms
                .is_null()
                .or(next_steps::lease_until_ms.le(now_ms)),
        )
        .count()
        .get_result(conn)?)
}
