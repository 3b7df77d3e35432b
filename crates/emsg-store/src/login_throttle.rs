//! Failed log-ins, counted in the database so that every `serve` node sees the same counts.
//!
//! An attempt is *reserved* — counted as a failure — before its password is checked, in one
//! transaction that holds the rows it counts on, so parallel attempts cannot all pass a check
//! made before any of them was counted. A right password gives the pair's failures back.
//!
//! Three counts: the client address, the user name and the (name, address) pair. A locked pair
//! or address is refused; a locked name is refused only from addresses that already failed for
//! it, so strangers elsewhere cannot lock a user out. The keys are opaque hashes made by the
//! caller (never the typed name).

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::db::{DbConnection, write_transaction};
use crate::error::Result;

/// How many failures lock what, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_address: i64,
    pub per_name: i64,
    pub per_pair: i64,
    /// Seconds: the window failures are counted in, and the lock after the last one counted.
    pub lock_secs: i64,
}

/// The hashed keys of one attempt.
#[derive(Debug, Clone, Copy)]
pub struct Keys<'a> {
    pub address: &'a str,
    pub name: &'a str,
    pub pair: &'a str,
}

/// What locked an attempt out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockedBy {
    Address,
    Name,
    Pair,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// Counted: check the password, and [`give_back`] when it is right.
    Allowed,
    /// Not counted and not to be checked, until `until` (Unix seconds).
    Locked { until: i64, by: LockedBy },
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    failures: i64,
    #[diesel(sql_type = BigInt)]
    expires_at: i64,
}

/// `$n` placeholders for PostgreSQL, `?n` for SQLite.
fn sql(conn: &DbConnection, text: &str) -> String {
    match conn {
        DbConnection::Postgres(_) => text.to_owned(),
        DbConnection::Sqlite(_) => text.replace('$', "?"),
    }
}

/// Takes `key`'s row for the rest of the transaction (making it, or starting a new window when
/// the last one ended) and returns its count.
fn hold(conn: &mut DbConnection, key: &str, now: i64, lock_secs: i64) -> QueryResult<Count> {
    let text = sql(
        conn,
        "INSERT INTO login_throttle (key_hash, failures, expires_at) VALUES ($1, 0, $2 + $3) \
         ON CONFLICT (key_hash) DO UPDATE SET \
           failures = CASE WHEN login_throttle.expires_at <= $2 THEN 0 \
                      ELSE login_throttle.failures END, \
           expires_at = CASE WHEN login_throttle.expires_at <= $2 THEN $2 + $3 \
                        ELSE login_throttle.expires_at END \
         RETURNING failures, expires_at",
    );
    diesel::sql_query(text)
        .bind::<Text, _>(key)
        .bind::<BigInt, _>(now)
        .bind::<BigInt, _>(lock_secs)
        .get_result(conn)
}

/// One failure more on `key`; the one that reaches `limit` locks it for `lock_secs`.
fn count(
    conn: &mut DbConnection,
    key: &str,
    limit: i64,
    now: i64,
    lock_secs: i64,
) -> QueryResult<()> {
    let text = sql(
        conn,
        "UPDATE login_throttle SET failures = failures + 1, \
           expires_at = CASE WHEN failures + 1 >= $2 THEN $3 + $4 ELSE expires_at END \
         WHERE key_hash = $1",
    );
    diesel::sql_query(text)
        .bind::<Text, _>(key)
        .bind::<BigInt, _>(limit)
        .bind::<BigInt, _>(now)
        .bind::<BigInt, _>(lock_secs)
        .execute(conn)?;
    Ok(())
}

/// Counts this attempt as a failure before its password is checked, unless something locks it.
pub fn reserve(
    conn: &mut DbConnection,
    keys: Keys<'_>,
    limits: Limits,
    now: i64,
) -> Result<Reservation> {
    write_transaction(conn, |conn| {
        // Always in this order (address, name, pair): two attempts never wait on each other in
        // a circle.
        let address = hold(conn, keys.address, now, limits.lock_secs)?;
        if address.failures >= limits.per_address {
            // Before the name's and pair's rows are made: a locked address adds no rows, however
            // many names it sends.
            return Ok(Reservation::Locked {
                until: address.expires_at,
                by: LockedBy::Address,
            });
        }
        let name = hold(conn, keys.name, now, limits.lock_secs)?;
        let pair = hold(conn, keys.pair, now, limits.lock_secs)?;
        if pair.failures >= limits.per_pair {
            return Ok(Reservation::Locked {
                until: pair.expires_at,
                by: LockedBy::Pair,
            });
        }
        if name.failures >= limits.per_name && pair.failures > 0 {
            return Ok(Reservation::Locked {
                until: name.expires_at,
                by: LockedBy::Name,
            });
        }
        count(
            conn,
            keys.address,
            limits.per_address,
            now,
            limits.lock_secs,
        )?;
        count(conn, keys.name, limits.per_name, now, limits.lock_secs)?;
        count(conn, keys.pair, limits.per_pair, now, limits.lock_secs)?;
        Ok(Reservation::Allowed)
    })
}

/// The password was right: the pair's failures — this reservation and the user's own earlier
/// typing errors at this address — come off the name's and the address's counts, and the pair
/// starts afresh. Other addresses' failures stay counted.
pub fn give_back(conn: &mut DbConnection, keys: Keys<'_>, now: i64, lock_secs: i64) -> Result<()> {
    write_transaction(conn, |conn| {
        let address = hold(conn, keys.address, now, lock_secs)?;
        let name = hold(conn, keys.name, now, lock_secs)?;
        let pair = hold(conn, keys.pair, now, lock_secs)?;
        let less = sql(
            conn,
            "UPDATE login_throttle SET failures = $2 WHERE key_hash = $1",
        );
        for (key, count) in [(keys.address, address), (keys.name, name)] {
            diesel::sql_query(&less)
                .bind::<Text, _>(key)
                .bind::<BigInt, _>((count.failures - pair.failures).max(0))
                .execute(conn)?;
        }
        let forget = sql(conn, "DELETE FROM login_throttle WHERE key_hash = $1");
        diesel::sql_query(forget)
            .bind::<Text, _>(keys.pair)
            .execute(conn)?;
        Ok(())
    })
}

/// Deletes the counts whose window and lock are over; returns how many.
pub fn delete_expired(conn: &mut DbConnection, now: i64) -> Result<usize> {
    use crate::schema::login_throttle as throttle;
    Ok(diesel::delete(throttle::table.filter(throttle::expires_at.le(now))).execute(conn)?)
}
