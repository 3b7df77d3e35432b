//! Users: a unique name, a role and an argon2id password hash. Everything else refers to a
//! user by id, so renaming a user never orphans what they authorized.
//!
//! What an administrator does with a user (new password, disable, enable, remove, role, log out
//! everywhere) is here too, each in one transaction with its audit entry and with the sessions
//! and API keys it must end. The last enabled administrator is never disabled, removed or
//! demoted. A user given a one-time password (generated, shown once) must choose their own at
//! the next log-in (`must_change_password`).

use std::fmt;
use std::str::FromStr;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use diesel::prelude::*;
use emsg_seal::Secret;

use crate::audit::{self, Actor, AuditAction, NewAuditEntry};
use crate::clock::now;
use crate::db::{DbConnection, write_transaction};
use crate::error::{Result, StoreError};
use crate::schema::{api_keys, sessions, users};

pub const MIN_PASSWORD_CHARS: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Imports and edits records, sets client secrets, manages users.
    Administrator,
    /// Runs the actions and reads status.
    Finance,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Administrator => "administrator",
            Self::Finance => "finance",
        }
    }
}

impl FromStr for Role {
    type Err = StoreError;
    fn from_str(text: &str) -> Result<Self> {
        match text {
            "administrator" => Ok(Self::Administrator),
            "finance" => Ok(Self::Finance),
            other => Err(StoreError::Invalid(format!(
                "unknown role `{other}`: use `administrator` or `finance`"
            ))),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub created_at: i64,
    /// Logged in with a one-time password: nothing but choosing a new one until it is done.
    pub must_change_password: bool,
    /// Disabled users cannot log in and have no session or API key.
    pub disabled: bool,
    /// Removed users are kept only so that history still names them.
    pub removed: bool,
}

impl User {
    /// May log in, hold a session or use an API key.
    pub fn is_active(&self) -> bool {
        !self.disabled && !self.removed
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
pub(crate) struct UserRow {
    id: i64,
    name: String,
    role: String,
    created_at: i64,
    must_change_password: bool,
    disabled_at: Option<i64>,
    removed_at: Option<i64>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(row: UserRow) -> Result<Self> {
        Ok(Self {
            id: row.id,
            name: row.name,
            role: row.role.parse()?,
            created_at: row.created_at,
            must_change_password: row.must_change_password,
            disabled: row.disabled_at.is_some(),
            removed: row.removed_at.is_some(),
        })
    }
}

fn validate_name(name: &str) -> Result<()> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@');
    // `.` and `..` would be path segments that remove themselves from `/users/{name}/…`.
    if name.is_empty()
        || name.len() > 64
        || !name.chars().all(ok_char)
        || name.chars().all(|c| c == '.')
    {
        return Err(StoreError::Invalid(format!(
            "the user name `{}` is not allowed: use 1 to 64 letters, digits, `.`, `_`, `-` or `@`, not only dots",
            name.escape_debug()
        )));
    }
    Ok(())
}

pub fn validate_password(password: &Secret) -> Result<()> {
    if password.expose().chars().count() < MIN_PASSWORD_CHARS {
        return Err(StoreError::Invalid(format!(
            "the password is too short: use at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

pub fn hash_password(password: &Secret) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|e| StoreError::Invalid(format!("no randomness for a password salt: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| StoreError::Invalid(e.to_string()))?;
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| StoreError::Invalid(format!("could not hash the password: {e}")))
}

/// Adds a user with a password they chose; the password is checked for length and stored only
/// as an argon2id hash.
pub fn add(conn: &mut DbConnection, name: &str, role: Role, password: &Secret) -> Result<User> {
    insert(conn, name, role, password, false)
}

/// Adds a user with a generated one-time password (returned, to be shown once): the user must
/// choose a new password at the first log-in. Audited as `add-user`.
pub fn add_with_one_time_password(
    conn: &mut DbConnection,
    name: &str,
    role: Role,
    actor: &Actor,
) -> Result<(User, Secret)> {
    let password = generate_password()?;
    let user = write_transaction(conn, |conn| {
        let user = insert(conn, name, role, &password, true)?;
        audit_user(
            conn,
            actor,
            AuditAction::AddUser,
            &format!(
                "user {} added with role {}; a one-time password was issued",
                user.name, user.role
            ),
        )?;
        Ok::<_, StoreError>(user)
    })?;
    Ok((user, password))
}

fn insert(
    conn: &mut DbConnection,
    name: &str,
    role: Role,
    password: &Secret,
    one_time: bool,
) -> Result<User> {
    validate_name(name)?;
    validate_password(password)?;
    let hash = hash_password(password)?;
    write_transaction(conn, |conn| {
        // Removed users count: their name stays with them in the history.
        let taken: i64 = users::table
            .filter(users::name.eq(name))
            .count()
            .get_result(conn)?;
        if taken > 0 {
            return Err(StoreError::DuplicateUser(name.to_owned()));
        }
        let created_at = now();
        let id: i64 = diesel::insert_into(users::table)
            .values((
                users::name.eq(name),
                users::role.eq(role.as_str()),
                users::password_hash.eq(&hash),
                users::created_at.eq(created_at),
                users::must_change_password.eq(one_time),
            ))
            .returning(users::id)
            .get_result(conn)?;
        Ok(User {
            id,
            name: name.to_owned(),
            role,
            created_at,
            must_change_password: one_time,
            disabled: false,
            removed: false,
        })
    })
}

/// The users that were not removed, by name.
pub fn list(conn: &mut DbConnection) -> Result<Vec<User>> {
    users::table
        .filter(users::removed_at.is_null())
        .select(UserRow::as_select())
        .order(users::name)
        .load(conn)?
        .into_iter()
        .map(User::try_from)
        .collect()
}

/// The user with this name, unless removed.
pub fn find(conn: &mut DbConnection, name: &str) -> Result<Option<User>> {
    users::table
        .filter(users::name.eq(name))
        .filter(users::removed_at.is_null())
        .select(UserRow::as_select())
        .get_result(conn)
        .optional()?
        .map(User::try_from)
        .transpose()
}

/// The user with this id, removed or not (history names removed users too).
pub fn get(conn: &mut DbConnection, id: i64) -> Result<Option<User>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .get_result(conn)
        .optional()?
        .map(User::try_from)
        .transpose()
}

pub fn count(conn: &mut DbConnection) -> Result<i64> {
    Ok(users::table.count().get_result(conn)?)
}

/// A hash of a random password, checked against when the name is unknown.
static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    generate_password()
        .and_then(|p| hash_password(&p))
        .unwrap_or_default()
});

/// The user when the name exists, the password matches its hash and the user may log in
/// (neither disabled nor removed: their hash is still checked, so the time taken does not tell).
pub fn verify_password(
    conn: &mut DbConnection,
    name: &str,
    password: &Secret,
) -> Result<Option<User>> {
    let found: Option<(UserRow, String)> = users::table
        .filter(users::name.eq(name))
        .filter(users::removed_at.is_null())
        .select((UserRow::as_select(), users::password_hash))
        .get_result(conn)
        .optional()?;
    let Some((row, hash)) = found else {
        // Spend the same time as for a real user, so the answer does not tell which names exist.
        let _ = PasswordHash::new(&DUMMY_HASH)
            .map(|dummy| Argon2::default().verify_password(password.expose().as_bytes(), &dummy));
        return Ok(None);
    };
    let parsed = PasswordHash::new(&hash)
        .map_err(|e| StoreError::Invalid(format!("stored password hash is unreadable: {e}")))?;
    let user = User::try_from(row)?;
    if Argon2::default()
        .verify_password(password.expose().as_bytes(), &parsed)
        .is_ok()
        && user.is_active()
    {
        Ok(Some(user))
    } else {
        Ok(None)
    }
}

/// A random password for the first administrator: 20 characters from an unambiguous alphabet.
pub fn generate_password() -> Result<Secret> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::Invalid(format!("no randomness for a password: {e}")))?;
    Ok(Secret::new(
        bytes
            .iter()
            .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
            .collect::<String>(),
    ))
}

/// What a change to a user ended: their sessions and API keys.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ended {
    pub sessions: usize,
    pub api_keys: usize,
}

impl fmt::Display for Ended {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} session(s) and {} API key(s) ended",
            self.sessions, self.api_keys
        )
    }
}

/// The user with this name (not removed), or an error that says how to see the names.
pub fn find_or_err(conn: &mut DbConnection, name: &str) -> Result<User> {
    find(conn, name)?.ok_or_else(|| StoreError::UnknownUser(name.to_owned()))
}

/// The user's own password change: `current` must be their password now, `new` a different one
/// of the allowed length. Their other sessions end (`keep_session`, the session id they changed
/// it from, lives on); their API keys stay unless `revoke_api_keys`. Clears
/// `must_change_password`. Audited as `change-password`.
pub fn change_own_password(
    conn: &mut DbConnection,
    user_id: i64,
    current: &Secret,
    new: &Secret,
    keep_session: Option<&str>,
    revoke_api_keys: bool,
) -> Result<Ended> {
    validate_password(new)?;
    if current.expose() == new.expose() {
        return Err(StoreError::Invalid(
            "the new password is the same as the current one: choose another".to_owned(),
        ));
    }
    let stored: String = users::table
        .find(user_id)
        .filter(users::removed_at.is_null())
        .filter(users::disabled_at.is_null())
        .select(users::password_hash)
        .get_result(conn)
        .optional()?
        .ok_or_else(|| StoreError::UnknownUser(format!("id {user_id}")))?;
    let parsed = PasswordHash::new(&stored)
        .map_err(|e| StoreError::Invalid(format!("stored password hash is unreadable: {e}")))?;
    if Argon2::default()
        .verify_password(current.expose().as_bytes(), &parsed)
        .is_err()
    {
        return Err(StoreError::WrongPassword);
    }
    let hash = hash_password(new)?;
    write_transaction(conn, |conn| {
        let user = get_active(conn, user_id)?;
        diesel::update(users::table.find(user_id))
            .set((
                users::password_hash.eq(&hash),
                users::must_change_password.eq(false),
            ))
            .execute(conn)?;
        let kept = keep_session.map(crate::token_hash::hash);
        let mut others = diesel::delete(sessions::table)
            .filter(sessions::user_id.eq(user_id))
            .into_boxed();
        if let Some(kept) = &kept {
            others = others.filter(sessions::id_hash.ne(kept));
        }
        let ended = Ended {
            sessions: others.execute(conn)?,
            api_keys: if revoke_api_keys {
                revoke_keys(conn, user_id)?
            } else {
                0
            },
        };
        audit_user(
            conn,
            &Actor::User { id: user_id },
            AuditAction::ChangePassword,
            &format!(
                "{} changed their password; {ended}{}",
                user.name,
                if revoke_api_keys {
                    ""
                } else {
                    " (API keys kept)"
                }
            ),
        )?;
        Ok(ended)
    })
}

/// An administrator's new password for a user: with `one_time` the user must choose their own
/// at the next log-in. Every session of the user ends; API keys only with `revoke_api_keys`.
/// Audited as `set-password`.
pub fn set_password(
    conn: &mut DbConnection,
    user_id: i64,
    new: &Secret,
    one_time: bool,
    revoke_api_keys: bool,
    actor: &Actor,
) -> Result<Ended> {
    validate_password(new)?;
    let hash = hash_password(new)?;
    write_transaction(conn, |conn| {
        let user = get_active_or_disabled(conn, user_id)?;
        diesel::update(users::table.find(user_id))
            .set((
                users::password_hash.eq(&hash),
                users::must_change_password.eq(one_time),
            ))
            .execute(conn)?;
        let ended = Ended {
            sessions: end_sessions(conn, user_id)?,
            api_keys: if revoke_api_keys {
                revoke_keys(conn, user_id)?
            } else {
                0
            },
        };
        audit_user(
            conn,
            actor,
            AuditAction::SetPassword,
            &format!(
                "new {} password for {}; {ended}",
                if one_time { "one-time" } else { "chosen" },
                user.name
            ),
        )?;
        Ok(ended)
    })
}

/// Disables a user: no log-in, every session and API key ends. Refused for the last enabled
/// administrator. Audited as `disable-user`.
pub fn disable(conn: &mut DbConnection, user_id: i64, actor: &Actor) -> Result<Ended> {
    write_transaction(conn, |conn| {
        let user = get_active_or_disabled(conn, user_id)?;
        if user.disabled {
            return Err(StoreError::Invalid(format!(
                "{} is already disabled; `emsg users enable {}` lets them log in again",
                user.name, user.name
            )));
        }
        ensure_other_administrator(conn, &user, "disable")?;
        diesel::update(users::table.find(user_id))
            .set(users::disabled_at.eq(Some(now())))
            .execute(conn)?;
        let ended = end_everything(conn, user_id)?;
        audit_user(
            conn,
            actor,
            AuditAction::DisableUser,
            &format!("{} disabled; {ended}", user.name),
        )?;
        Ok(ended)
    })
}

/// Lets a disabled user log in again (with their password as it was). Audited as `enable-user`.
pub fn enable(conn: &mut DbConnection, user_id: i64, actor: &Actor) -> Result<()> {
    write_transaction(conn, |conn| {
        let user = get_active_or_disabled(conn, user_id)?;
        if !user.disabled {
            return Err(StoreError::Invalid(format!(
                "{} is not disabled",
                user.name
            )));
        }
        diesel::update(users::table.find(user_id))
            .set(users::disabled_at.eq(None::<i64>))
            .execute(conn)?;
        audit_user(
            conn,
            actor,
            AuditAction::EnableUser,
            &format!("{} enabled", user.name),
        )
    })
}

/// Removes a user: every session and API key ends, they can never log in again and are no
/// longer listed; the row stays so that the audit log, messages and connections still name
/// them (and the name is not given to someone else). Refused for the last enabled
/// administrator. Audited as `remove-user`.
pub fn remove(conn: &mut DbConnection, user_id: i64, actor: &Actor) -> Result<Ended> {
    write_transaction(conn, |conn| {
        let user = get_active_or_disabled(conn, user_id)?;
        ensure_other_administrator(conn, &user, "remove")?;
        let at = now();
        diesel::update(users::table.find(user_id))
            .set((
                users::removed_at.eq(Some(at)),
                users::disabled_at.eq(Some(at)),
                // Nobody can log in with it any more, whatever it was.
                users::password_hash.eq("!removed"),
            ))
            .execute(conn)?;
        let ended = end_everything(conn, user_id)?;
        audit_user(
            conn,
            actor,
            AuditAction::RemoveUser,
            &format!("{} removed; {ended}", user.name),
        )?;
        Ok(ended)
    })
}

/// Gives a user another role; their sessions end, so that the new role starts at a fresh
/// log-in (API keys act with the role as it is now). Refused when it would leave no enabled
/// administrator. Audited as `change-role`.
pub fn set_role(conn: &mut DbConnection, user_id: i64, role: Role, actor: &Actor) -> Result<Ended> {
    write_transaction(conn, |conn| {
        let user = get_active_or_disabled(conn, user_id)?;
        if user.role == role {
            return Err(StoreError::Invalid(format!(
                "{} already has the role {role}",
                user.name
            )));
        }
        if role != Role::Administrator {
            ensure_other_administrator(conn, &user, "demote")?;
        }
        diesel::update(users::table.find(user_id))
            .set(users::role.eq(role.as_str()))
            .execute(conn)?;
        let ended = Ended {
            sessions: end_sessions(conn, user_id)?,
            api_keys: 0,
        };
        audit_user(
            conn,
            actor,
            AuditAction::ChangeRole,
            &format!("{} is now {role} (was {}); {ended}", user.name, user.role),
        )?;
        Ok(ended)
    })
}

/// Ends every session of a user (and, with `revoke_api_keys`, every API key). Audited as
/// `logout-everywhere`.
pub fn log_out_everywhere(
    conn: &mut DbConnection,
    user_id: i64,
    revoke_api_keys: bool,
    actor: &Actor,
) -> Result<Ended> {
    write_transaction(conn, |conn| {
        let user = get_active_or_disabled(conn, user_id)?;
        let ended = Ended {
            sessions: end_sessions(conn, user_id)?,
            api_keys: if revoke_api_keys {
                revoke_keys(conn, user_id)?
            } else {
                0
            },
        };
        audit_user(
            conn,
            actor,
            AuditAction::LogoutEverywhere,
            &format!("{} logged out everywhere; {ended}", user.name),
        )?;
        Ok(ended)
    })
}

fn get_active(conn: &mut DbConnection, user_id: i64) -> Result<User> {
    let user = get_active_or_disabled(conn, user_id)?;
    if user.disabled {
        return Err(StoreError::Invalid(format!("{} is disabled", user.name)));
    }
    Ok(user)
}

fn get_active_or_disabled(conn: &mut DbConnection, user_id: i64) -> Result<User> {
    get(conn, user_id)?
        .filter(|u| !u.removed)
        .ok_or_else(|| StoreError::UnknownUser(format!("id {user_id}")))
}

/// Refuses when `user` is the only enabled administrator. On PostgreSQL the enabled
/// administrators' rows are locked first, so that two administrators demoting each other at
/// once cannot both succeed; SQLite has one writer at a time.
fn ensure_other_administrator(conn: &mut DbConnection, user: &User, what: &str) -> Result<()> {
    if user.role != Role::Administrator || user.disabled {
        return Ok(());
    }
    let enabled_admins = users::table
        .filter(users::role.eq(Role::Administrator.as_str()))
        .filter(users::disabled_at.is_null())
        .filter(users::removed_at.is_null());
    let others: i64 = match conn {
        DbConnection::Postgres(inner) => {
            let ids: Vec<i64> = enabled_admins.select(users::id).for_update().load(inner)?;
            i64::try_from(ids.iter().filter(|id| **id != user.id).count()).unwrap_or(i64::MAX)
        }
        DbConnection::Sqlite(_) => enabled_admins
            .filter(users::id.ne(user.id))
            .count()
            .get_result(conn)?,
    };
    if others == 0 {
        return Err(StoreError::LastAdministrator(format!(
            "{} is the last enabled administrator: refusing to {what} them, or no one could \
             manage users any more. Make another user an administrator first",
            user.name
        )));
    }
    Ok(())
}

fn end_sessions(conn: &mut DbConnection, user_id: i64) -> Result<usize> {
    Ok(diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)?)
}

fn revoke_keys(conn: &mut DbConnection, user_id: i64) -> Result<usize> {
    Ok(diesel::update(
        api_keys::table
            .filter(api_keys::user_id.eq(user_id))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(Some(now())))
    .execute(conn)?)
}

fn end_everything(conn: &mut DbConnection, user_id: i64) -> Result<Ended> {
    Ok(Ended {
        sessions: end_sessions(conn, user_id)?,
        api_keys: revoke_keys(conn, user_id)?,
    })
}

fn audit_user(
    conn: &mut DbConnection,
    actor: &Actor,
    action: AuditAction,
    detail: &str,
) -> Result<()> {
    audit::record(conn, &[NewAuditEntry::ok(actor.clone(), action, detail)])
}
