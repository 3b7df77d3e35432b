//! Log-in sessions, shared by every `serve` node on the database and kept across restarts. The
//! cookie carries a random id; the table holds only its SHA-256, so reading the table does not
//! let anyone in. A session ends at logout, after `idle` seconds without a request, after
//! `lifetime` seconds whatever its use (so a stolen cookie kept busy does not live for ever), and
//! when its user is disabled, removed, changes role or password.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::Result;
use crate::schema::{generations, sessions, users};
use crate::users::{User, UserRow};

/// `last_seen_at` is written at most this often (seconds), so that a burst of requests does not
/// turn every page view into a write.
pub const TOUCH_EVERY: i64 = 60;

pub use crate::token_hash::hash;

/// A live session with its user as the users table says now (a changed role counts at once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user: User,
    pub csrf: String,
    /// The one-shot message (kind, text), when it was taken by [`find`].
    pub flash: Option<(String, String)>,
    /// The generation of the record names as this statement saw it
    /// ([`crate::web_applications::names_generation`]): every page needs the session, and a
    /// page holding the names in memory knows from this whether they are still current.
    pub names_generation: i64,
}

/// How long sessions live, in seconds: without a request, and at most from the log-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub idle: i64,
    pub lifetime: i64,
}

/// csrf, flash kind, flash text, created at, last seen, the user, names generation.
type SessionRow = (
    String,
    Option<String>,
    Option<String>,
    i64,
    i64,
    UserRow,
    Option<i64>,
);

/// Stores a new session for `user_id` under the hash of `id`.
pub fn create(conn: &mut DbConnection, id: &str, user_id: i64, csrf: &str, now: i64) -> Result<()> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::id_hash.eq(hash(id)),
            sessions::user_id.eq(user_id),
            sessions::csrf.eq(csrf),
            sessions::created_at.eq(now),
            sessions::last_seen_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The session with this id if it was seen less than `limits.idle` seconds ago, began less than
/// `limits.lifetime` seconds ago and its user may log in. It is touched (at most every
/// [`TOUCH_EVERY`] seconds); an expired one is deleted. With `take_flash`, its one-shot message
/// is handed back and cleared.
pub fn find(
    conn: &mut DbConnection,
    id: &str,
    limits: Limits,
    now: i64,
    take_flash: bool,
) -> Result<Option<Session>> {
    let key = hash(id);
    let found: Option<SessionRow> = sessions::table
        .inner_join(users::table)
        .filter(sessions::id_hash.eq(&key))
        .select((
            sessions::csrf,
            sessions::flash_kind,
            sessions::flash_text,
            sessions::created_at,
            sessions::last_seen_at,
            UserRow::as_select(),
            generations::table
                .find(crate::web_applications::NAMES_GENERATION)
                .select(generations::value)
                .single_value(),
        ))
        .get_result(conn)
        .optional()?;
    let Some((csrf, flash_kind, flash_text, started, last_seen, user, names_generation)) = found
    else {
        return Ok(None);
    };
    let user = User::try_from(user)?;
    if now - last_seen >= limits.idle || now - started >= limits.lifetime || !user.is_active() {
        diesel::delete(sessions::table.filter(sessions::id_hash.eq(&key))).execute(conn)?;
        return Ok(None);
    }
    let flash = match (flash_kind, flash_text) {
        (Some(kind), Some(text)) if take_flash => Some((kind, text)),
        _ => None,
    };
    if flash.is_some() {
        diesel::update(sessions::table.filter(sessions::id_hash.eq(&key)))
            .set((
                sessions::flash_kind.eq(None::<String>),
                sessions::flash_text.eq(None::<String>),
                sessions::last_seen_at.eq(now),
            ))
            .execute(conn)?;
    } else if now - last_seen >= TOUCH_EVERY {
        diesel::update(sessions::table.filter(sessions::id_hash.eq(&key)))
            .set(sessions::last_seen_at.eq(now))
            .execute(conn)?;
    }
    Ok(Some(Session {
        user,
        csrf,
        flash,
        names_generation: names_generation.unwrap_or(0),
    }))
}

/// Leaves a one-shot message for the session's next page.
pub fn set_flash(conn: &mut DbConnection, id: &str, kind: &str, text: &str) -> Result<()> {
    diesel::update(sessions::table.filter(sessions::id_hash.eq(hash(id))))
        .set((
            sessions::flash_kind.eq(Some(kind)),
            sessions::flash_text.eq(Some(text)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Ends one session (logout); every node sees it at the session's next request.
pub fn delete(conn: &mut DbConnection, id: &str) -> Result<()> {
    diesel::delete(sessions::table.filter(sessions::id_hash.eq(hash(id)))).execute(conn)?;
    Ok(())
}

/// Deletes the sessions idle for `limits.idle` seconds or more, or older than
/// `limits.lifetime`; returns how many.
pub fn delete_expired(conn: &mut DbConnection, limits: Limits, now: i64) -> Result<usize> {
    Ok(diesel::delete(
        sessions::table.filter(
            sessions::last_seen_at
                .le(now - limits.idle)
                .or(sessions::created_at.le(now - limits.lifetime)),
        ),
    )
    .execute(conn)?)
}
