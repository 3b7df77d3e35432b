//! Pending authorizations: started "Get authorization code" flows, found again by their state.
//!
//! The state is stored only as its SHA-256: it is a bearer credential for the callback.

use diesel::prelude::*;
use emsg_seal::{Aad, KeyRing, Secret};

use crate::db::{DbConnection, write_transaction};
use crate::error::{Result, StoreError};
use crate::ids::{UserId, WebApplicationId};
use crate::schema::pending_authorizations as pending;

#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = pending)]
pub struct PendingAuthorization {
    pub id: i64,
    pub state_hash: String,
    pub web_application_id: WebApplicationId,
    pub company: String,
    pub user_id: UserId,
    pub scope: String,
    pub redirect_uri: String,
    verifier_sealed: Option<Vec<u8>>,
    pub nonce: Option<String>,
    pub taxpayer_id: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub callback_at: Option<i64>,
    code_sealed: Option<Vec<u8>>,
    pub code_received_at: Option<i64>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    pub used_at: Option<i64>,
}

impl std::fmt::Debug for PendingAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingAuthorization")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("has_code", &self.code_sealed.is_some())
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

fn aad(column: &'static str, id: i64) -> Aad<'static> {
    Aad::new("pending_authorizations", column, id)
}

impl PendingAuthorization {
    pub fn verifier(&self, ring: &KeyRing) -> Result<Option<Secret>> {
        self.verifier_sealed
            .as_deref()
            .map(|s| ring.open_secret(s, &aad("verifier_sealed", self.id)))
            .transpose()
            .map_err(StoreError::from)
    }

    pub fn code(&self, ring: &KeyRing) -> Result<Option<Secret>> {
        self.code_sealed
            .as_deref()
            .map(|s| ring.open_secret(s, &aad("code_sealed", self.id)))
            .transpose()
            .map_err(StoreError::from)
    }

    pub fn has_code(&self) -> bool {
        self.code_sealed.is_some()
    }
}

#[derive(Debug)]
pub struct NewPending<'a> {
    pub state_hash: &'a str,
    pub web_application_id: WebApplicationId,
    pub company: &'a str,
    pub user_id: UserId,
    pub scope: &'a str,
    pub redirect_uri: &'a str,
    pub verifier: Option<&'a Secret>,
    pub nonce: Option<&'a str>,
    pub taxpayer_id: Option<&'a str>,
    pub created_at: i64,
    pub expires_at: i64,
}

pub fn insert(conn: &mut DbConnection, ring: &KeyRing, new: &NewPending<'_>) -> Result<i64> {
    write_transaction(conn, |conn| {
        let id: i64 = diesel::insert_into(pending::table)
            .values((
                pending::state_hash.eq(new.state_hash),
                pending::web_application_id.eq(new.web_application_id),
                pending::company.eq(new.company),
                pending::user_id.eq(new.user_id),
                pending::scope.eq(new.scope),
                pending::redirect_uri.eq(new.redirect_uri),
                pending::nonce.eq(new.nonce),
                pending::taxpayer_id.eq(new.taxpayer_id),
                pending::created_at.eq(new.created_at),
                pending::expires_at.eq(new.expires_at),
            ))
            .returning(pending::id)
            .get_result(conn)?;
        if let Some(verifier) = new.verifier {
            diesel::update(pending::table.find(id))
                .set(pending::verifier_sealed.eq(Some(
                    ring.seal_secret(verifier, &aad("verifier_sealed", id)),
                )))
                .execute(conn)?;
        }
        Ok(id)
    })
}

pub fn by_state_hash(
    conn: &mut DbConnection,
    state_hash: &str,
) -> Result<Option<PendingAuthorization>> {
    Ok(pending::table
        .filter(pending::state_hash.eq(state_hash))
        .select(PendingAuthorization::as_select())
        .first(conn)
        .optional()?)
}

/// The newest flow this user started for this record and company.
pub fn latest(
    conn: &mut DbConnection,
    web_application_id: WebApplicationId,
    company: &str,
    user: UserId,
) -> Result<Option<PendingAuthorization>> {
    let query = pending::table
        .filter(pending::web_application_id.eq(web_application_id))
        .filter(pending::company.eq(company))
        .filter(pending::user_id.eq(user))
        // Ids follow the order flows were started in on the database, whatever the clocks of
        // the nodes that started them.
        .order(pending::id.desc())
        .select(PendingAuthorization::as_select());
    // On SQLite the first row of a cursor, not `LIMIT ?`: SQLite re-prepares a statement with a
    // bound LIMIT on every run, and the pages ask this on every view.
    if matches!(conn, DbConnection::Sqlite(_)) {
        return Ok(query
            .load_iter::<PendingAuthorization, diesel::connection::DefaultLoadingMode>(conn)?
            .next()
            .transpose()?);
    }
    Ok(query.first(conn).optional()?)
}

/// Stores the code of the callback; `false` when this state already had its callback.
pub fn record_code(
    conn: &mut DbConnection,
    ring: &KeyRing,
    id: i64,
    code: &Secret,
    now: i64,
) -> Result<bool> {
    let sealed = ring.seal_secret(code, &aad("code_sealed", id));
    let updated = diesel::update(
        pending::table
            .find(id)
            .filter(pending::callback_at.is_null()),
    )
    .set((
        pending::callback_at.eq(now),
        pending::code_sealed.eq(Some(sealed)),
        pending::code_received_at.eq(now),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Stores a pasted code (no callback reached this server); replaces an unused earlier one.
pub fn record_pasted_code(
    conn: &mut DbConnection,
    ring: &KeyRing,
    id: i64,
    code: &Secret,
    now: i64,
) -> Result<()> {
    let sealed = ring.seal_secret(code, &aad("code_sealed", id));
    diesel::update(pending::table.find(id).filter(pending::used_at.is_null()))
        .set((
            pending::code_sealed.eq(Some(sealed)),
            pending::code_received_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Stores the provider's error of the callback; `false` when this state already had its callback.
pub fn record_error(
    conn: &mut DbConnection,
    id: i64,
    error: &str,
    description: Option<&str>,
    now: i64,
) -> Result<bool> {
    let updated = diesel::update(
        pending::table
            .find(id)
            .filter(pending::callback_at.is_null()),
    )
    .set((
        pending::callback_at.eq(now),
        pending::error.eq(error),
        pending::error_description.eq(description),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Marks the flow used (its code went to the token endpoint) and forgets the code and verifier;
/// `false` when it was already used.
pub fn mark_used(conn: &mut DbConnection, id: i64, now: i64) -> Result<bool> {
    let updated = diesel::update(pending::table.find(id).filter(pending::used_at.is_null()))
        .set((
            pending::used_at.eq(now),
            pending::code_sealed.eq(None::<Vec<u8>>),
            pending::verifier_sealed.eq(None::<Vec<u8>>),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Deletes every pending authorization of record `id` (its endpoints moved: a code obtained
/// from the old provider must not be sent to the new one). Part of the caller's transaction.
pub fn forget_record(
    conn: &mut DbConnection,
    web_application_id: WebApplicationId,
) -> Result<usize> {
    let of_record = pending::web_application_id.eq(web_application_id);
    Ok(diesel::delete(pending::table.filter(of_record)).execute(conn)?)
}
