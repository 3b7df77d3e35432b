//! Users: a unique name, a role and an argon2id password hash. Everything else refers to a
//! user by id, so renaming a user never orphans what they authorized.

use std::fmt;
use std::str::FromStr;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use diesel::prelude::*;
use emsg_seal::Secret;

use crate::clock::now;
use crate::db::DbConnection;
use crate::error::{Result, StoreError};
use crate::schema::users;

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
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
struct UserRow {
    id: i64,
    name: String,
    role: String,
    created_at: i64,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(row: UserRow) -> Result<Self> {
        Ok(Self {
            id: row.id,
            name: row.name,
            role: row.role.parse()?,
            created_at: row.created_at,
        })
    }
}

fn validate_name(name: &str) -> Result<()> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@');
    if name.is_empty() || name.len() > 64 || !name.chars().all(ok_char) {
        return Err(StoreError::Invalid(format!(
            "the user name `{}` is not allowed: use 1 to 64 letters, digits, `.`, `_`, `-` or `@`",
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

/// Adds a user; the password is checked for length and stored only as an argon2id hash.
pub fn add(conn: &mut DbConnection, name: &str, role: Role, password: &Secret) -> Result<User> {
    validate_name(name)?;
    validate_password(password)?;
    let hash = hash_password(password)?;
    conn.transaction(|conn| {
        if find(conn, name)?.is_some() {
            return Err(StoreError::DuplicateUser(name.to_owned()));
        }
        let created_at = now();
        let id: i64 = diesel::insert_into(users::table)
            .values((
                users::name.eq(name),
                users::role.eq(role.as_str()),
                users::password_hash.eq(&hash),
                users::created_at.eq(created_at),
            ))
            .returning(users::id)
            .get_result(conn)?;
        Ok(User {
            id,
            name: name.to_owned(),
            role,
            created_at,
        })
    })
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<User>> {
    users::table
        .select(UserRow::as_select())
        .order(users::name)
        .load(conn)?
        .into_iter()
        .map(User::try_from)
        .collect()
}

pub fn find(conn: &mut DbConnection, name: &str) -> Result<Option<User>> {
    users::table
        .filter(users::name.eq(name))
        .select(UserRow::as_select())
        .get_result(conn)
        .optional()?
        .map(User::try_from)
        .transpose()
}

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

/// The user when the name exists and the password matches its hash.
pub fn verify_password(
    conn: &mut DbConnection,
    name: &str,
    password: &Secret,
) -> Result<Option<User>> {
    let found: Option<(UserRow, String)> = users::table
        .filter(users::name.eq(name))
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
    if Argon2::default()
        .verify_password(password.expose().as_bytes(), &parsed)
        .is_ok()
    {
        Ok(Some(row.try_into()?))
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
