//! Import files checked by a dry run on the Import page, waiting for Confirm.
//!
//! In the database so that Confirm may reach another `serve` node than the dry run did. One per
//! session (a new check replaces the last), taken once, gone after `expires_at` or with its
//! session. The file is sealed: it may hold an inline client secret.

use diesel::prelude::*;
use emsg_seal::{Aad, KeyRing};

use crate::db::{DbConnection, write_transaction};
use crate::error::{Result, StoreError};
use crate::schema::pending_imports as imports;
use crate::token_hash::hash;

fn aad(id: i64) -> Aad<'static> {
    Aad::new("pending_imports", "content_sealed", id)
}

/// A checked file to keep.
pub struct NewImport<'a> {
    /// The random key the page hands to the browser (only its SHA-256 is stored).
    pub key: &'a str,
    /// The session's cookie value (only its SHA-256 is stored).
    pub session_id: &'a str,
    pub file_name: &'a str,
    pub content: &'a [u8],
    pub created_at: i64,
    pub expires_at: i64,
}

impl std::fmt::Debug for NewImport<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewImport")
            .field("file_name", &self.file_name)
            .field("bytes", &self.content.len())
            .finish_non_exhaustive()
    }
}

/// Keeps the file for its session until `expires_at`, replacing the session's earlier one.
pub fn keep(conn: &mut DbConnection, ring: &KeyRing, new: &NewImport<'_>) -> Result<()> {
    let NewImport {
        key,
        session_id,
        file_name,
        content,
        created_at: now,
        expires_at,
    } = *new;
    let session_hash = hash(session_id);
    write_transaction(conn, |conn| {
        diesel::delete(
            imports::table.filter(
                imports::session_hash
                    .eq(&session_hash)
                    .or(imports::expires_at.le(now)),
            ),
        )
        .execute(conn)?;
        // The row's id is in the sealed value's associated data: insert, then seal.
        let id: i64 = diesel::insert_into(imports::table)
            .values((
                imports::key_hash.eq(hash(key)),
                imports::session_hash.eq(&session_hash),
                imports::file_name.eq(file_name),
                imports::content_sealed.eq(Vec::<u8>::new()),
                imports::created_at.eq(now),
                imports::expires_at.eq(expires_at),
            ))
            .returning(imports::id)
            .get_result(conn)?;
        diesel::update(imports::table.find(id))
            .set(imports::content_sealed.eq(ring.seal(content, &aad(id))))
            .execute(conn)?;
        Ok(())
    })
}

/// The file kept under `key` for the session `session_id`, taken (single use); `None` when
/// there is none, it is another session's, or it expired.
pub fn take(
    conn: &mut DbConnection,
    ring: &KeyRing,
    key: &str,
    session_id: &str,
    now: i64,
) -> Result<Option<(String, Vec<u8>)>> {
    write_transaction(conn, |conn| {
        let found: Option<(i64, String, Vec<u8>)> = imports::table
            .filter(imports::key_hash.eq(hash(key)))
            .filter(imports::session_hash.eq(hash(session_id)))
            .filter(imports::expires_at.gt(now))
            .select((imports::id, imports::file_name, imports::content_sealed))
            .first(conn)
            .optional()?;
        let Some((id, file_name, sealed)) = found else {
            return Ok(None);
        };
        if diesel::delete(imports::table.find(id)).execute(conn)? != 1 {
            return Ok(None);
        }
        let content = ring.open(&sealed, &aad(id)).map_err(StoreError::from)?;
        Ok(Some((file_name, content.to_vec())))
    })
}
