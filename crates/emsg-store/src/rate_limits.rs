//! Provider rate limits held across every node, as the generic cell rate algorithm: each limit
//! is a row holding the theoretical arrival time of the next request; reserving a slot moves it
//! on by one interval in one statement and says when the request may leave. Requests are thus
//! spaced by the interval whichever node sends them, so no window of a second ever holds more
//! than the limit, and a step that must wait queues (it knows its slot) instead of failing.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::db::{DbConnection, numbered};
use crate::error::Result;

#[derive(QueryableByName)]
struct Tat {
    #[diesel(sql_type = BigInt)]
    tat_ms: i64,
}

/// Reserves the next slot of the limit `key` (e.g. `test-api.service.hmrc.gov.uk client-id`),
/// requests spaced `interval_ms` apart; returns the Unix millisecond at which this request may
/// be sent (`now_ms` when the limit is idle).
pub fn reserve(conn: &mut DbConnection, key: &str, interval_ms: i64, now_ms: i64) -> Result<i64> {
    let sql = numbered(
        conn,
        "INSERT INTO rate_limits (key, tat_ms) VALUES ($1, $2 + $3) \
         ON CONFLICT (key) DO UPDATE SET tat_ms = \
           CASE WHEN rate_limits.tat_ms > $2 THEN rate_limits.tat_ms ELSE $2 END + $3 \
         RETURNING tat_ms",
    );
    let tat: Tat = diesel::sql_query(sql)
        .bind::<Text, _>(key)
        .bind::<BigInt, _>(now_ms)
        .bind::<BigInt, _>(interval_ms)
        .get_result(conn)?;
    Ok(tat.tat_ms - interval_ms)
}

/// After the provider said "too many requests" (`429`, `Retry-After`): no slot of `key` before
/// `until_ms`. An earlier hold or a later queue is kept.
pub fn hold_until(conn: &mut DbConnection, key: &str, until_ms: i64) -> Result<()> {
    let sql = numbered(
        conn,
        "INSERT INTO rate_limits (key, tat_ms) VALUES ($1, $2) \
         ON CONFLICT (key) DO UPDATE SET tat_ms = \
           CASE WHEN rate_limits.tat_ms > $2 THEN rate_limits.tat_ms ELSE $2 END",
    );
    diesel::sql_query(sql)
        .bind::<Text, _>(key)
        .bind::<BigInt, _>(until_ms)
        .execute(conn)?;
    Ok(())
}

/// The interval that keeps `per_second` requests a second under the limit with a margin for the
/// network's jitter (5 %): 3 a second → 350 ms.
pub fn interval_ms(per_second: u32) -> i64 {
    let per_second = i64::from(per_second.max(1));
    (1000 * 105 + 100 * per_second - 1) / (100 * per_second)
}
