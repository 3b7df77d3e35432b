//! Connections: one authorization of a web application for a company (and, for user-specific
//! records, a user). Tokens are sealed; every change of the token pair bumps `version`, and a
//! refresh holds a lease so that one refresh runs per connection across threads and processes.

use std::fmt;
use std::str::FromStr;

use diesel::prelude::*;
use emsg_seal::{Aad, KeyRing, Secret};

use crate::audit::{self, NewAuditEntry};
use crate::db::{DbConnection, in_transaction, write_transaction};
use crate::error::{Result, StoreError};
use crate::ids::{ConnectionId, Subject, UserId, WebApplicationId};
use crate::reused::reused;
use crate::schema::connections;
use crate::web_applications::WebApplication;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Connected,
    /// Refreshing fails for a reason that may pass (outage, misconfiguration); the current
    /// access token is still used until it expires.
    RefreshFailing,
    /// The grant is dead (revoked, expired, rotated away): a user must authorize again.
    ReauthorizationRequired,
    Disconnected,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connected => "connected",
            Self::RefreshFailing => "refresh_failing",
            Self::ReauthorizationRequired => "reauthorization_required",
            Self::Disconnected => "disconnected",
        }
    }
}

impl FromStr for Status {
    type Err = StoreError;
    fn from_str(text: &str) -> Result<Self> {
        Ok(match text {
            "connected" => Self::Connected,
            "refresh_failing" => Self::RefreshFailing,
            "reauthorization_required" => Self::ReauthorizationRequired,
            "disconnected" => Self::Disconnected,
            other => {
                return Err(StoreError::Invalid(format!(
                    "unknown connection status `{other}`"
                )));
            }
        })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which connection: the record, the company, and the user for user-specific records (else 0).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConnectionKey {
    pub web_application_id: WebApplicationId,
    pub company: String,
    pub user_key: i64,
}

impl ConnectionKey {
    /// The connection `user` acts on: their own on a user-specific record, the company's
    /// otherwise (and when nobody is named).
    pub fn new(
        web_application_id: WebApplicationId,
        company: &str,
        user_specific: bool,
        user: Option<UserId>,
    ) -> Self {
        let subject = match user {
            Some(id) if user_specific => Subject::User(id),
            _ => Subject::Company,
        };
        Self {
            web_application_id,
            company: company.to_owned(),
            user_key: subject.user_key(),
        }
    }
}

/// Field order follows the table's columns: `RETURNING` loads rows by position
/// (`connections::all_columns`; `as_returning` is not available over the multi-backend).
#[derive(Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = connections)]
pub struct Connection {
    pub id: ConnectionId,
    pub web_application_id: WebApplicationId,
    pub company: String,
    pub user_key: i64,
    status: String,
    access_token_sealed: Option<Vec<u8>>,
    refresh_token_sealed: Option<Vec<u8>>,
    pub token_type: Option<String>,
    pub granted_scope: Option<String>,
    pub access_expires_at: Option<i64>,
    pub authorized_by: Option<i64>,
    pub authorized_at: Option<i64>,
    pub authorization_expires_at: Option<i64>,
    pub taxpayer_id: Option<String>,
    pub last_error: Option<String>,
    pub last_error_code: Option<String>,
    pub refresh_failures: i64,
    pub last_refreshed_at: Option<i64>,
    pub version: i64,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.id)
            .field("status", &self.status)
            .field(
                "access_token",
                &self.access_token_sealed.as_ref().map(|_| "[redacted]"),
            )
            .field(
                "refresh_token",
                &self.refresh_token_sealed.as_ref().map(|_| "[redacted]"),
            )
            .field("access_expires_at", &self.access_expires_at)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

const TABLE: &str = "connections";

fn aad(column: &'static str, id: ConnectionId) -> Aad<'static> {
    Aad::new(TABLE, column, id.get())
}

impl Connection {
    /// Whose connection this is: the company's or one user's.
    pub fn subject(&self) -> Subject {
        Subject::from_user_key(self.user_key)
    }

    pub fn status(&self) -> Status {
        self.status.parse().unwrap_or(Status::Disconnected)
    }

    pub fn has_access_token(&self) -> bool {
        self.access_token_sealed.is_some()
    }

    pub fn has_refresh_token(&self) -> bool {
        self.refresh_token_sealed.is_some()
    }

    pub fn access_token(&self, ring: &KeyRing) -> Result<Option<Secret>> {
        open(
            ring,
            self.access_token_sealed.as_deref(),
            "access_token_sealed",
            self.id,
        )
    }

    pub fn refresh_token(&self, ring: &KeyRing) -> Result<Option<Secret>> {
        open(
            ring,
            self.refresh_token_sealed.as_deref(),
            "refresh_token_sealed",
            self.id,
        )
    }
}

fn open(
    ring: &KeyRing,
    sealed: Option<&[u8]>,
    column: &'static str,
    id: ConnectionId,
) -> Result<Option<Secret>> {
    sealed
        .map(|s| ring.open_secret(s, &aad(column, id)))
        .transpose()
        .map_err(StoreError::from)
}

/// A token pair as the provider returned it.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: Secret,
    /// `None` keeps the stored refresh token (a provider may omit it on refresh).
    pub refresh_token: Option<Secret>,
    pub token_type: String,
    pub granted_scope: Option<String>,
    /// `None`: the provider did not say.
    pub access_expires_at: Option<i64>,
}

/// Who authorized, when, and until when the grant lasts.
#[derive(Debug, Clone)]
pub struct Authorization {
    /// Who authorized: none for an exchange that ran for the company with no user named.
    pub authorized_by: Option<UserId>,
    pub authorized_at: i64,
    pub authorization_expires_at: Option<i64>,
    pub taxpayer_id: Option<String>,
}

pub fn find(conn: &mut DbConnection, key: &ConnectionKey) -> Result<Option<Connection>> {
    Ok(connections::table
        .filter(connections::web_application_id.eq(key.web_application_id))
        .filter(connections::company.eq(&key.company))
        .filter(connections::user_key.eq(key.user_key))
        .select(Connection::as_select())
        .get_result(conn)
        .optional()?)
}

/// The record named `name` with [`find_named`]'s answer for the connection `user` acts on in
/// `company` (the user's own for a user-specific record, the company's otherwise), in one
/// statement: the start of every action on a connection.
pub fn find_named_with_record(
    conn: &mut DbConnection,
    name: &str,
    company: &str,
    user: Option<UserId>,
) -> Result<Option<(WebApplication, Option<NamedConnection>)>> {
    use crate::schema::{users, web_applications};
    diesel::alias!(users as owner: Owner, users as authorizer: Authorizer);
    let found: Option<RecordWithNamedConnection> = web_applications::table
        .left_join(connections::table.on(of_record_for(company, user)))
        .left_join(
            owner.on(owner
                .field(users::id)
                .nullable()
                .eq(connections::user_key.nullable())),
        )
        .left_join(
            authorizer.on(connections::authorized_by.eq(authorizer.field(users::id).nullable())),
        )
        .filter(web_applications::name_key.eq(crate::web_applications::name_key(name)))
        .select((
            WebApplication::as_select(),
            Option::<Connection>::as_select(),
            owner.field(users::name).nullable(),
            authorizer.field(users::name).nullable(),
        ))
        .get_result(conn)
        .optional()?;
    Ok(found.map(|(record, connection, user, by)| (record, connection.map(|c| (c, user, by)))))
}

/// The join condition of a web application (in the query) and its connection for `company`
/// and `user`: the user's own for a user-specific record, the company's (user key 0)
/// otherwise.
pub(crate) fn of_record_for(company: &str, user: Option<UserId>) -> OfRecordFor {
    use crate::schema::web_applications;
    use diesel::dsl::case_when;
    use diesel::sql_types::BigInt;
    let named = user.map_or(Subject::Company, Subject::User).user_key();
    let user_key = case_when(web_applications::user_specific, named.into_sql::<BigInt>())
        .otherwise(0_i64.into_sql::<BigInt>());
    connections::web_application_id
        .eq(web_applications::id)
        .and(connections::company.eq(company.to_owned()))
        .and(connections::user_key.eq(user_key))
}

pub(crate) type OfRecordFor = diesel::dsl::And<
    diesel::dsl::And<
        diesel::dsl::Eq<connections::web_application_id, crate::schema::web_applications::id>,
        diesel::dsl::Eq<connections::company, String>,
    >,
    diesel::dsl::Eq<connections::user_key, UserKey>,
>;

type UserKey = diesel::dsl::Otherwise<
    diesel::dsl::case_when<
        crate::schema::web_applications::user_specific,
        diesel::dsl::AsExprOf<i64, diesel::sql_types::BigInt>,
    >,
    diesel::dsl::AsExprOf<i64, diesel::sql_types::BigInt>,
>;

type RecordWithNamedConnection = (
    WebApplication,
    Option<Connection>,
    Option<String>,
    Option<String>,
);

/// A connection, the name of its user and the name of the user who authorized it.
pub type NamedConnection = (Connection, Option<String>, Option<String>);

/// [`find`] with the names of the connection's user (none for a company's connection) and of
/// the user who authorized it, in one statement.
pub fn find_named(conn: &mut DbConnection, key: &ConnectionKey) -> Result<Option<NamedConnection>> {
    use crate::schema::users;
    // The users table twice: whose connection, and who authorized it.
    diesel::alias!(users as owner: Owner, users as authorizer: Authorizer);
    Ok(connections::table
        .left_join(owner.on(owner.field(users::id).eq(connections::user_key)))
        .left_join(
            authorizer.on(connections::authorized_by.eq(authorizer.field(users::id).nullable())),
        )
        .filter(connections::web_application_id.eq(key.web_application_id))
        .filter(connections::company.eq(key.company.clone()))
        .filter(connections::user_key.eq(key.user_key))
        .select((
            Connection::as_select(),
            owner.field(users::name).nullable(),
            authorizer.field(users::name).nullable(),
        ))
        .get_result(conn)
        .optional()?)
}

pub fn by_id(conn: &mut DbConnection, id: ConnectionId) -> Result<Option<Connection>> {
    Ok(connections::table
        .find(id)
        .select(Connection::as_select())
        .get_result(conn)
        .optional()?)
}

/// Every connection of a record in a company (all users), oldest first.
pub fn of_application(
    conn: &mut DbConnection,
    web_application_id: WebApplicationId,
    company: &str,
) -> Result<Vec<Connection>> {
    Ok(connections::table
        .filter(connections::web_application_id.eq(web_application_id))
        .filter(connections::company.eq(company))
        .order(connections::id)
        .select(Connection::as_select())
        .load(conn)?)
}

pub fn list(conn: &mut DbConnection, company: Option<&str>) -> Result<Vec<Connection>> {
    let mut query = connections::table
        .select(Connection::as_select())
        .order(connections::id)
        .into_boxed();
    if let Some(company) = company {
        query = query.filter(connections::company.eq(company.to_owned()));
    }
    Ok(query.load(conn)?)
}

/// Stores a new authorization (obtain token, exchange): creates the connection if needed,
/// replaces both tokens, clears errors, status `connected`.
pub fn store_authorization(
    conn: &mut DbConnection,
    ring: &KeyRing,
    key: &ConnectionKey,
    tokens: &Tokens,
    authorization: &Authorization,
    now: i64,
) -> Result<Connection> {
    write_transaction(conn, |conn| {
        let id = match find(conn, key)? {
            Some(existing) => existing.id,
            None => diesel::insert_into(connections::table)
                .values((
                    connections::web_application_id.eq(key.web_application_id),
                    connections::company.eq(&key.company),
                    connections::user_key.eq(key.user_key),
                    connections::status.eq(Status::Disconnected.as_str()),
                    connections::refresh_failures.eq(0_i64),
                    connections::version.eq(0_i64),
                    connections::created_at.eq(now),
                    connections::updated_at.eq(now),
                ))
                .returning(connections::id)
                .get_result(conn)?,
        };
        let refresh = tokens
            .refresh_token
            .as_ref()
            .map(|t| ring.seal_secret(t, &aad("refresh_token_sealed", id)));
        diesel::update(connections::table.find(id))
            .set((
                connections::status.eq(Status::Connected.as_str()),
                connections::access_token_sealed.eq(Some(
                    ring.seal_secret(&tokens.access_token, &aad("access_token_sealed", id)),
                )),
                connections::refresh_token_sealed.eq(refresh),
                connections::token_type.eq(&tokens.token_type),
                connections::granted_scope.eq(&tokens.granted_scope),
                connections::access_expires_at.eq(tokens.access_expires_at),
                connections::authorized_by.eq(authorization.authorized_by),
                connections::authorized_at.eq(authorization.authorized_at),
                connections::authorization_expires_at.eq(authorization.authorization_expires_at),
                connections::taxpayer_id.eq(&authorization.taxpayer_id),
                connections::last_error.eq(None::<String>),
                connections::last_error_code.eq(None::<String>),
                connections::refresh_failures.eq(0_i64),
                connections::last_refreshed_at.eq(now),
                connections::version.eq(connections::version + 1),
                connections::updated_at.eq(now),
            ))
            .execute(conn)?;
        by_id(conn, id)?.ok_or_else(|| StoreError::Invalid(format!("connection {id} vanished")))
    })
}

/// Stores a refreshed pair, only if nobody changed the pair since `expected_version` was read
/// and `lease_owner` still holds the lease (a fence against a node whose lease expired), and
/// releases the lease in the same statement. Returns the stored row, or `None`, writing
/// nothing, when the fence fails.
#[allow(clippy::too_many_arguments)]
pub fn store_refreshed(
    conn: &mut DbConnection,
    ring: &KeyRing,
    id: ConnectionId,
    expected_version: i64,
    lease_owner: &str,
    tokens: &Tokens,
    now: i64,
) -> Result<Option<Connection>> {
    let access = ring.seal_secret(&tokens.access_token, &aad("access_token_sealed", id));
    let fenced = connections::table
        .find(id)
        .filter(connections::version.eq(expected_version))
        .filter(connections::lease_owner.eq(lease_owner));
    let common = (
        connections::status.eq(Status::Connected.as_str()),
        connections::access_token_sealed.eq(Some(access)),
        connections::token_type.eq(&tokens.token_type),
        connections::access_expires_at.eq(tokens.access_expires_at),
        connections::last_error.eq(None::<String>),
        connections::last_error_code.eq(None::<String>),
        connections::refresh_failures.eq(0_i64),
        connections::last_refreshed_at.eq(now),
        connections::version.eq(connections::version + 1),
        connections::updated_at.eq(now),
        connections::lease_owner.eq(None::<String>),
        connections::lease_until.eq(None::<i64>),
    );
    // A refresh token or a scope the provider did not send leaves the stored one as it is
    // (RFC 6749 §5.1: the scope is omitted when it is the one granted before).
    // (`None` in a changeset tuple leaves its column out.)
    let refresh = tokens.refresh_token.as_ref().map(|refresh| {
        connections::refresh_token_sealed.eq(Some(
            ring.seal_secret(refresh, &aad("refresh_token_sealed", id)),
        ))
    });
    let scope = tokens
        .granted_scope
        .as_ref()
        .map(|scope| connections::granted_scope.eq(scope));
    let stored = diesel::update(fenced)
        .set((common, refresh, scope))
        .returning(connections::all_columns)
        .get_result::<Connection>(conn)
        .optional()?;
    Ok(stored)
}

/// How a refresh ended in the database.
#[derive(Debug)]
pub enum Refreshed {
    /// The new pair is stored; the row as it now stands.
    Stored(Connection),
    /// The fence failed (another node changed the pair, or our lease was taken over): nothing
    /// was written; the row as it now stands, if it still exists.
    Superseded(Option<Connection>),
}

/// The end of a successful refresh, in one transaction: the new pair stored (fenced as in
/// [`store_refreshed`]), the lease released, the audit entry written. Answers whether the entry
/// was written: an entry that cannot be written (say, its user was deleted meanwhile) must not
/// cost the new pair, which the provider has already swapped for the old one, so the pair is
/// then stored without it.
#[allow(clippy::too_many_arguments)]
pub fn finish_refresh(
    conn: &mut DbConnection,
    ring: &KeyRing,
    id: ConnectionId,
    expected_version: i64,
    lease_owner: &str,
    tokens: &Tokens,
    now: i64,
    audit_entry: &NewAuditEntry,
) -> Result<(Refreshed, bool)> {
    // Inside a caller's transaction a failed statement would abort it: the transaction then.
    if matches!(conn, DbConnection::Postgres(_))
        && !in_transaction(conn)?
        && let DbConnection::Postgres(pg) = conn
    {
        match finish_refresh_statement(
            pg,
            ring,
            id,
            expected_version,
            lease_owner,
            tokens,
            now,
            audit_entry,
        ) {
            Ok(Some(stored)) => return Ok((Refreshed::Stored(stored), true)),
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%error, "storing the refreshed pair in one statement failed; trying a transaction");
            }
        }
    }
    // SQLite, a pair fenced out, or an entry that could not be written: the transaction.
    let store = |conn: &mut DbConnection| {
        Ok(
            match store_refreshed(conn, ring, id, expected_version, lease_owner, tokens, now)? {
                Some(stored) => Refreshed::Stored(stored),
                None => {
                    release_lease(conn, id, lease_owner)?;
                    Refreshed::Superseded(by_id(conn, id)?)
                }
            },
        )
    };
    let (outcome, unwritten) = audit::with_entry_or_alone(conn, store, |_| audit_entry.clone())?;
    Ok((outcome, unwritten.is_none()))
}

/// The common end of a refresh on PostgreSQL in one statement (one round trip instead of four,
/// atomic as one): the pair stored fenced by version and lease owner, the lease released and
/// the audit entry written only when the pair was. `None` when fenced out; an error (say, the
/// entry's foreign key) leaves nothing written.
#[allow(clippy::too_many_arguments)]
fn finish_refresh_statement(
    conn: &mut diesel::PgConnection,
    ring: &KeyRing,
    id: ConnectionId,
    expected_version: i64,
    lease_owner: &str,
    tokens: &Tokens,
    now: i64,
    entry: &NewAuditEntry,
) -> diesel::QueryResult<Option<Connection>> {
    use diesel::sql_types::{BigInt, Binary, Nullable, Text};
    // The same text on every call, so that the prepared statement is reused.
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "WITH stored AS ( \
               UPDATE connections SET status = $1, access_token_sealed = $2, token_type = $3, \
                 access_expires_at = $4, last_error = NULL, last_error_code = NULL, \
                 refresh_failures = 0, last_refreshed_at = $5, version = version + 1, \
                 updated_at = $5, lease_owner = NULL, lease_until = NULL, \
                 refresh_token_sealed = COALESCE($6, refresh_token_sealed), \
                 granted_scope = COALESCE($7, granted_scope) \
               WHERE id = $8 AND version = $9 AND lease_owner = $10 \
               RETURNING *), \
             audited AS ({}) \
             SELECT * FROM stored",
            audit::row::insert_select_from("stored", 11)
        )
    });
    let access = ring.seal_secret(&tokens.access_token, &aad("access_token_sealed", id));
    let refresh = tokens
        .refresh_token
        .as_ref()
        .map(|r| ring.seal_secret(r, &aad("refresh_token_sealed", id)));
    let statement = diesel::sql_query(SQL.as_str())
        .into_boxed::<diesel::pg::Pg>()
        .bind::<Text, _>(Status::Connected.as_str())
        .bind::<Binary, _>(access)
        .bind::<Text, _>(&tokens.token_type)
        .bind::<Nullable<BigInt>, _>(tokens.access_expires_at)
        .bind::<BigInt, _>(now)
        .bind::<Nullable<Binary>, _>(refresh)
        .bind::<Nullable<Text>, _>(tokens.granted_scope.as_deref())
        .bind::<BigInt, _>(id)
        .bind::<BigInt, _>(expected_version)
        .bind::<Text, _>(lease_owner);
    let statement = audit::row::bind(statement, entry, now);
    reused(statement).get_result::<Connection>(conn).optional()
}

/// The end of a failed refresh, in one transaction: the failure recorded (the tokens stay as
/// they are), the lease released, the audit entry written. Answers whether the entry was
/// written (as [`finish_refresh`], the failure is recorded without it if it cannot be).
#[allow(clippy::too_many_arguments)]
pub fn finish_refresh_failed(
    conn: &mut DbConnection,
    id: ConnectionId,
    lease_owner: &str,
    status: Status,
    message: &str,
    code: Option<&str>,
    now: i64,
    audit_entry: &NewAuditEntry,
) -> Result<bool> {
    let record = |conn: &mut DbConnection| {
        record_failure(conn, id, status, message, code, now)?;
        release_lease(conn, id, lease_owner)
    };
    let ((), unwritten) = audit::with_entry_or_alone(conn, record, |_| audit_entry.clone())?;
    Ok(unwritten.is_none())
}

/// Records a failed refresh or exchange; the tokens stay as they are.
pub fn record_failure(
    conn: &mut DbConnection,
    id: ConnectionId,
    status: Status,
    message: &str,
    code: Option<&str>,
    now: i64,
) -> Result<()> {
    diesel::update(connections::table.find(id))
        .set((
            connections::status.eq(status.as_str()),
            connections::last_error.eq(message),
            connections::last_error_code.eq(code),
            connections::refresh_failures.eq(connections::refresh_failures + 1),
            connections::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Deletes both tokens and marks the connection disconnected.
pub fn disconnect(conn: &mut DbConnection, id: ConnectionId, now: i64) -> Result<()> {
    diesel::update(connections::table.find(id))
        .set((
            connections::status.eq(Status::Disconnected.as_str()),
            connections::access_token_sealed.eq(None::<Vec<u8>>),
            connections::refresh_token_sealed.eq(None::<Vec<u8>>),
            connections::access_expires_at.eq(None::<i64>),
            connections::last_error.eq(None::<String>),
            connections::last_error_code.eq(None::<String>),
            connections::version.eq(connections::version + 1),
            connections::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Takes the refresh lease of a connection until `until`, if nobody else holds a live one.
/// Returns the row as it stands under the lease (the re-read that fences a refresh, in the
/// same statement), or `None` when another owner holds it.
///
/// On PostgreSQL the lease commits with `synchronous_commit = off`: it is visible to every
/// other node at once (exclusion holds), only its flush to disk is deferred (by at most a few
/// hundred milliseconds). Losing it takes a database crash inside that window, while the
/// refresh is in flight — and then the refresh's own write fails with the database anyway.
/// It saves one disk flush per refresh; the token pair itself is always committed durably.
///
/// Outside a transaction that is one statement: `set_config(…, true)` in its `RETURNING` sets
/// the option for the statement's own transaction, whose commit reads it (a row is returned,
/// so written, only when the lease was taken). Inside a caller's transaction the lease is
/// written plainly and commits as that transaction does.
pub fn take_lease(
    conn: &mut DbConnection,
    id: ConnectionId,
    owner: &str,
    now: i64,
    until: i64,
) -> Result<Option<Connection>> {
    let flush_later = matches!(conn, DbConnection::Postgres(_)) && !in_transaction(conn)?;
    lease_update(conn, id, owner, now, until, flush_later)
}

fn lease_update(
    conn: &mut DbConnection,
    id: ConnectionId,
    owner: &str,
    now: i64,
    until: i64,
    flush_later: bool,
) -> Result<Option<Connection>> {
    let statement = diesel::update(
        connections::table.find(id).filter(
            connections::lease_until
                .is_null()
                .or(connections::lease_until.lt(now))
                .or(connections::lease_owner.eq(owner)),
        ),
    )
    .set((
        connections::lease_owner.eq(owner),
        connections::lease_until.eq(until),
    ));
    if flush_later {
        let leased: Option<(Connection, Option<String>)> = reused(statement.returning((
            connections::all_columns,
            diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>(
                "set_config('synchronous_commit', 'off', true)",
            ),
        )))
        .get_result(conn)
        .optional()?;
        return Ok(leased.map(|(row, _)| row));
    }
    Ok(reused(statement.returning(connections::all_columns))
        .get_result::<Connection>(conn)
        .optional()?)
}

/// [`take_lease`] without the row.
pub fn try_lease(
    conn: &mut DbConnection,
    id: ConnectionId,
    owner: &str,
    now: i64,
    until: i64,
) -> Result<bool> {
    Ok(take_lease(conn, id, owner, now, until)?.is_some())
}

pub fn release_lease(conn: &mut DbConnection, id: ConnectionId, owner: &str) -> Result<()> {
    diesel::update(
        connections::table
            .find(id)
            .filter(connections::lease_owner.eq(owner)),
    )
    .set((
        connections::lease_owner.eq(None::<String>),
        connections::lease_until.eq(None::<i64>),
    ))
    .execute(conn)?;
    Ok(())
}

/// Makes every connection of record `id` that holds a token or is not disconnected need a new
/// authorization: both tokens deleted, status `reauthorization_required`, `message` as its
/// last error. Answers the ids of the connections changed (for their audit entries). Part of
/// the caller's transaction.
pub fn require_reauthorization(
    conn: &mut DbConnection,
    web_application_id: WebApplicationId,
    message: &str,
    now: i64,
) -> Result<Vec<ConnectionId>> {
    let ids: Vec<ConnectionId> = connections::table
        .filter(connections::web_application_id.eq(web_application_id))
        .filter(
            connections::status
                .ne(Status::Disconnected.as_str())
                .or(connections::access_token_sealed.is_not_null())
                .or(connections::refresh_token_sealed.is_not_null()),
        )
        .order(connections::id)
        .select(connections::id)
        .load(conn)?;
    if ids.is_empty() {
        return Ok(ids);
    }
    diesel::update(connections::table.filter(connections::id.eq_any(&ids)))
        .set((
            connections::status.eq(Status::ReauthorizationRequired.as_str()),
            connections::access_token_sealed.eq(None::<Vec<u8>>),
            connections::refresh_token_sealed.eq(None::<Vec<u8>>),
            connections::access_expires_at.eq(None::<i64>),
            connections::last_error.eq(message),
            connections::last_error_code.eq("endpoints_moved"),
            connections::version.eq(connections::version + 1),
            connections::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(ids)
}

/// How many connections of record `id` [`require_reauthorization`] would change.
pub fn count_authorized(
    conn: &mut DbConnection,
    web_application_id: WebApplicationId,
) -> Result<i64> {
    Ok(connections::table
        .filter(connections::web_application_id.eq(web_application_id))
        .filter(
            connections::status
                .ne(Status::Disconnected.as_str())
                .or(connections::access_token_sealed.is_not_null())
                .or(connections::refresh_token_sealed.is_not_null()),
        )
        .count()
        .get_result(conn)?)
}
