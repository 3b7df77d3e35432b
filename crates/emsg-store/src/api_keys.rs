//! Per-user API keys for `/api/v1`: `Authorization: Bearer emsg_…` acts as the key's user with
//! that user's role. The key is shown once when made; the table keeps its SHA-256 and a short
//! prefix to tell keys apart. Revoked keys stay listed (with when) and never work again.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::prelude::*;
use emsg_seal::Secret;

use crate::db::DbConnection;
use crate::error::{Result, StoreError};
use crate::schema::{api_keys, users};
use crate::token_hash::hash;
use crate::users::{User, UserRow};

/// Every key starts with this, so a leaked one is easy to recognise in a log or a repository.
pub const KEY_PREFIX: &str = "emsg_";
/// How much of the key is stored in clear to name it: `emsg_` and 8 characters (48 bits).
const SHOWN_CHARS: usize = KEY_PREFIX.len() + 8;

/// What is known of a key after it was made: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyInfo {
    pub id: i64,
    pub user_id: i64,
    pub prefix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// Makes a key for `user_id`: the key (shown once) and what is stored of it.
pub fn create(conn: &mut DbConnection, user_id: i64, now: i64) -> Result<(Secret, ApiKeyInfo)> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::Invalid(format!("no randomness for an API key: {e}")))?;
    let key = format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let prefix = key.chars().take(SHOWN_CHARS).collect::<String>();
    let id: i64 = diesel::insert_into(api_keys::table)
        .values((
            api_keys::user_id.eq(user_id),
            api_keys::prefix.eq(&prefix),
            api_keys::key_hash.eq(hash(&key)),
            api_keys::created_at.eq(now),
        ))
        .returning(api_keys::id)
        .get_result(conn)?;
    let info = ApiKeyInfo {
        id,
        user_id,
        prefix,
        created_at: now,
        last_used_at: None,
        revoked_at: None,
    };
    Ok((Secret::new(key), info))
}

/// The user of a live (not revoked) key whose user may log in (neither disabled nor removed);
/// notes when it was last used (at most once a minute).
pub fn authenticate(conn: &mut DbConnection, key: &str, now: i64) -> Result<Option<User>> {
    let found: Option<(i64, Option<i64>, UserRow)> = api_keys::table
        .inner_join(users::table)
        .filter(api_keys::key_hash.eq(hash(key)))
        .filter(api_keys::revoked_at.is_null())
        .filter(users::disabled_at.is_null())
        .filter(users::removed_at.is_null())
        .select((api_keys::id, api_keys::last_used_at, UserRow::as_select()))
        .get_result(conn)
        .optional()?;
    let Some((key_id, last_used, user)) = found else {
        return Ok(None);
    };
    if last_used.is_none_or(|at| now - at >= crate::sessions::TOUCH_EVERY) {
        diesel::update(api_keys::table.find(key_id))
            .set(api_keys::last_used_at.eq(now))
            .execute(conn)?;
    }
    Ok(Some(User::try_from(user)?))
}

/// A user's keys, newest first.
pub fn list(conn: &mut DbConnection, user_id: i64) -> Result<Vec<ApiKeyInfo>> {
    Ok(api_keys::table
        .filter(api_keys::user_id.eq(user_id))
        .select(ApiKeyInfo::as_select())
        .order(api_keys::id.desc())
        .load(conn)?)
}

/// Revokes the user's live keys whose shown prefix is `prefix` (or all of them for `*`);
/// returns how many.
pub fn revoke(conn: &mut DbConnection, user_id: i64, prefix: &str, now: i64) -> Result<usize> {
    let live = api_keys::table
        .filter(api_keys::user_id.eq(user_id))
        .filter(api_keys::revoked_at.is_null());
    Ok(if prefix == "*" {
        diesel::update(live)
            .set(api_keys::revoked_at.eq(now))
            .execute(conn)?
    } else {
        diesel::update(live.filter(api_keys::prefix.eq(prefix)))
            .set(api_keys::revoked_at.eq(now))
            .execute(conn)?
    })
}
