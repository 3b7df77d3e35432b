//! Callbacks parked while their user logs in: a provider's answer that reached the callback
//! without a session, kept for the live pending authorization whose state it carries.
//!
//! Only an answer to a flow someone started is kept (one per flow, never longer than the flow
//! lives), so anonymous requests cannot fill the table. The code is sealed; the browser holds a
//! random resume key of which only the SHA-256 is stored. Every `serve` node on the database
//! can resume what another parked.

use diesel::prelude::*;
use emsg_seal::{Aad, KeyRing, Secret};

use crate::db::{DbConnection, write_transaction};
use crate::error::{Result, StoreError};
use crate::schema::parked_callbacks as parked;
use crate::schema::pending_authorizations as pending;

fn aad(id: i64) -> Aad<'static> {
    Aad::new("parked_callbacks", "code_sealed", id)
}

/// The provider's answer, as far as it is kept.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub code: Option<Secret>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    pub iss: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parked {
    /// Kept until the flow expires.
    Kept,
    /// No flow waits for this state: unknown, expired, already answered or used.
    NoLiveFlow,
    /// This flow's answer is already parked (a second arrival is not kept).
    AlreadyParked,
}

/// Keeps `answer` for the live flow whose state has `state_hash`, under `resume_key_hash`.
pub fn park(
    conn: &mut DbConnection,
    ring: &KeyRing,
    state_hash: &str,
    resume_key_hash: &str,
    answer: &Answer,
    now: i64,
) -> Result<Parked> {
    let result = write_transaction(conn, |conn| {
        diesel::delete(parked::table.filter(parked::expires_at.le(now))).execute(conn)?;
        let flow: Option<(i64, i64)> = pending::table
            .filter(pending::state_hash.eq(state_hash))
            .filter(pending::expires_at.gt(now))
            .filter(pending::callback_at.is_null())
            .filter(pending::used_at.is_null())
            .select((pending::id, pending::expires_at))
            .first(conn)
            .optional()?;
        let Some((flow_id, expires_at)) = flow else {
            return Ok(Parked::NoLiveFlow);
        };
        // Two arrivals at once: the flow's unique column lets one in (the other rolls back).
        let id: i64 = diesel::insert_into(parked::table)
            .values((
                parked::pending_authorization_id.eq(flow_id),
                parked::resume_key_hash.eq(resume_key_hash),
                parked::error.eq(answer.error.as_deref()),
                parked::error_description.eq(answer.error_description.as_deref()),
                parked::iss.eq(answer.iss.as_deref()),
                parked::parked_at.eq(now),
                parked::expires_at.eq(expires_at),
            ))
            .returning(parked::id)
            .get_result(conn)?;
        // The row's id is in the sealed value's associated data: insert, then seal.
        if let Some(code) = &answer.code {
            diesel::update(parked::table.find(id))
                .set(parked::code_sealed.eq(Some(ring.seal_secret(code, &aad(id)))))
                .execute(conn)?;
        }
        Ok(Parked::Kept)
    });
    match result {
        Err(StoreError::Database(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ))) => Ok(Parked::AlreadyParked),
        other => other,
    }
}

/// What [`take`] found under a resume key.
#[derive(Debug)]
pub enum Taken {
    /// The answer, taken (single use), with the hash of its flow's state.
    Answer { state_hash: String, answer: Answer },
    /// The flow was started by another user: left in place for its own user.
    OtherUser { state_hash: String },
    /// Nothing (expired, already taken, or never parked).
    Missing,
}

type Row = (
    i64,
    String,
    i64,
    Option<Vec<u8>>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Takes the answer parked under `resume_key_hash` for `user_id`.
pub fn take(
    conn: &mut DbConnection,
    ring: &KeyRing,
    resume_key_hash: &str,
    user_id: i64,
    now: i64,
) -> Result<Taken> {
    write_transaction(conn, |conn| {
        let found: Option<Row> = parked::table
            .inner_join(pending::table)
            .filter(parked::resume_key_hash.eq(resume_key_hash))
            .filter(parked::expires_at.gt(now))
            .select((
                parked::id,
                pending::state_hash,
                pending::user_id,
                parked::code_sealed,
                parked::error,
                parked::error_description,
                parked::iss,
            ))
            .first(conn)
            .optional()?;
        let Some((id, state_hash, owner, code_sealed, error, error_description, iss)) = found
        else {
            return Ok(Taken::Missing);
        };
        if owner != user_id {
            return Ok(Taken::OtherUser { state_hash });
        }
        // Two tabs resuming at once: only one takes it.
        if diesel::delete(parked::table.find(id)).execute(conn)? != 1 {
            return Ok(Taken::Missing);
        }
        let code = code_sealed
            .as_deref()
            .map(|sealed| ring.open_secret(sealed, &aad(id)))
            .transpose()
            .map_err(StoreError::from)?;
        Ok(Taken::Answer {
            state_hash,
            answer: Answer {
                code,
                error,
                error_description,
                iss,
            },
        })
    })
}
