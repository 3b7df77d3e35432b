//! The master key in use: checked against the database at start, and rotated.

use std::path::{Path, PathBuf};

use diesel::prelude::*;
use emsg_seal::{Aad, KeyRing, MasterKey, SealError, Secret, SharedKeyRing, key_file};

use crate::audit::Actor;
use crate::clock::now;
use crate::db::DbConnection;
use crate::error::{Result, StoreError};
use crate::key_ring;
use crate::rotation::{self, Recorded, Rotation, RotationOptions};
use crate::schema::master_key_check;

const CHECK_AAD: Aad<'static> = Aad::new("master_key_check", "sealed", 1);
const CHECK_VALUE: &str = "emsg master key check";

/// Refuses a key ring that cannot open this database; on a new database, records the key.
pub fn verify(conn: &mut DbConnection, ring: &KeyRing) -> Result<()> {
    let read = |conn: &mut DbConnection| -> Result<Option<(String, Vec<u8>)>> {
        Ok(master_key_check::table
            .select((master_key_check::key_id, master_key_check::sealed))
            .first(conn)
            .optional()?)
    };
    let stored = match read(conn)? {
        Some(stored) => stored,
        None => {
            let recorded = diesel::insert_into(master_key_check::table)
                .values((
                    master_key_check::id.eq(1_i64),
                    master_key_check::key_id.eq(ring.current_id().to_string()),
                    master_key_check::sealed
                        .eq(ring.seal_secret(&Secret::new(CHECK_VALUE), &CHECK_AAD)),
                    master_key_check::updated_at.eq(now()),
                ))
                .execute(conn);
            match (recorded, read(conn)?) {
                (Ok(_), _) => return Ok(()),
                // Another node starting on the same new database recorded its key first: this
                // one's key must open it like any other.
                (Err(_), Some(stored)) => stored,
                (Err(error), None) => return Err(error.into()),
            }
        }
    };
    let (key_id, sealed) = stored;
    match ring.open_secret(&sealed, &CHECK_AAD) {
        Ok(value) if value.expose() == CHECK_VALUE => Ok(()),
        Ok(_) | Err(SealError::UnknownKey { .. } | SealError::Unopenable { .. }) => {
            Err(StoreError::WrongMasterKey {
                loaded: ring.current_id().to_string(),
                expected: key_id,
            })
        }
        Err(other) => Err(other.into()),
    }
}

/// The key the database was last sealed under, as recorded by [`verify`] or [`rotate`].
pub fn recorded_key_id(conn: &mut DbConnection) -> Result<Option<String>> {
    Ok(master_key_check::table
        .select(master_key_check::key_id)
        .first(conn)
        .optional()?)
}

/// Where the master key comes from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// `EMSG_MASTER_KEY`, base64. Several nodes on one database share the key this way.
    Env(String),
    /// A key file, created with mode 0600 on first run; a rotation writes `<file>.next` first.
    File(PathBuf),
}

/// What [`open_ring`] found and did, for the operator's log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyEvents {
    pub created_key_file: Option<PathBuf>,
    pub finished_rotation: bool,
    pub discarded_rotation: bool,
}

/// Loads the master key, finishes or discards an interrupted rotation, and checks that the key
/// opens this database (recording it on a new database).
pub fn open_ring(conn: &mut DbConnection, source: &KeySource) -> Result<(KeyRing, KeyEvents)> {
    open_ring_with(conn, source, None)
}

/// [`open_ring`] with a `previous` key (from `--previous-key-file`) that only opens values: a
/// way back for values sealed under a key that a rotation retired.
pub fn open_ring_with(
    conn: &mut DbConnection,
    source: &KeySource,
    previous: Option<MasterKey>,
) -> Result<(KeyRing, KeyEvents)> {
    let mut events = KeyEvents::default();
    let key_error = |e: emsg_seal::KeyError| StoreError::Invalid(e.to_string());
    let recorded = recorded_key_id(conn)?;
    let ring = match source {
        KeySource::Env(value) => {
            KeyRing::new(key_file::load_from_env_value(value).map_err(key_error)?)
        }
        KeySource::File(path) => {
            let pending_path = key_file::pending_path(path);
            let pending = pending_path
                .exists()
                .then(|| key_file::load(&pending_path))
                .transpose()
                .map_err(key_error)?;
            match pending {
                // The rotation committed but the key file was not yet replaced: finish it.
                Some(pending) if recorded.as_deref() == Some(&pending.id().to_string()) => {
                    key_file::promote(&pending_path, path).map_err(key_error)?;
                    events.finished_rotation = true;
                    KeyRing::new(pending)
                }
                // A rotation to the pending key is under way (announced, not yet switched): the
                // key stays for `emsg keys rotate` to finish with; the database holds it too.
                Some(pending)
                    if key_ring::unfinished(conn)?
                        .and_then(|u| u.next)
                        .is_some_and(|next| next == pending.id().to_string()) =>
                {
                    KeyRing::new(key_file::load(path).map_err(key_error)?)
                }
                other => {
                    if other.is_some() {
                        // The rotation rolled back: the database still uses the current key.
                        std::fs::remove_file(&pending_path).map_err(|e| {
                            StoreError::Invalid(format!(
                                "could not remove {}: {e}",
                                pending_path.display()
                            ))
                        })?;
                        events.discarded_rotation = true;
                    }
                    let (key, created) = key_file::load_or_create(path).map_err(key_error)?;
                    if created.is_new() {
                        if recorded.is_some() {
                            // Never leave a fresh key where the real one belongs.
                            let _ = std::fs::remove_file(path);
                            return Err(StoreError::Invalid(format!(
                                "the key file {} is missing, but this database was sealed with master key {}. \
                                 Restore the key file (or set EMSG_MASTER_KEY); nothing was read or written.",
                                path.display(),
                                recorded.unwrap_or_default()
                            )));
                        }
                        events.created_key_file = Some(path.clone());
                    }
                    KeyRing::new(key)
                }
            }
        }
    };
    // A rotation under way (or interrupted) keeps its keys in the database, wrapped under one
    // another: with either key, the process learns the other.
    let ring = match previous {
        Some(previous) => ring.with_extra(previous),
        None => ring,
    };
    let ring = key_ring::load(conn, &ring)?;
    verify(conn, &ring)?;
    Ok((ring, events))
}

/// What `emsg keys rotate` did: a rotation left unfinished earlier, then the new one.
#[derive(Debug, Clone)]
pub struct RotationReport {
    pub finished_earlier: Option<Rotation>,
    pub rotation: Rotation,
}

/// Rotates to a freshly generated key, keeping the new key on disk before the database changes.
///
/// A rotation left unfinished (interrupted, or a node did not follow in time) is finished
/// first. With a key file, the new key goes to `<file>.next` and replaces the file once the
/// rotation finished; a crash at any point leaves every value readable at the next start (see
/// [`open_ring`] and [`rotation`]). With `EMSG_MASTER_KEY`, the new key is written to
/// `new_key_file`, which the operator then puts in the variable on every node.
pub fn rotate_to_new_key(
    conn: &mut DbConnection,
    ring: &SharedKeyRing,
    source: &KeySource,
    new_key_file: Option<&Path>,
    options: &RotationOptions,
) -> Result<RotationReport> {
    rotate_to_new_key_as(conn, ring, source, new_key_file, options, None)
}

/// [`rotate_to_new_key`] by `actor`: each rotation it finishes (an interrupted one, then the
/// new one) ends in one transaction with its audit entry.
pub fn rotate_to_new_key_audited(
    conn: &mut DbConnection,
    ring: &SharedKeyRing,
    source: &KeySource,
    new_key_file: Option<&Path>,
    options: &RotationOptions,
    actor: &Actor,
) -> Result<RotationReport> {
    rotate_to_new_key_as(conn, ring, source, new_key_file, options, Some(actor))
}

fn rotate_to_new_key_as(
    conn: &mut DbConnection,
    ring: &SharedKeyRing,
    source: &KeySource,
    new_key_file: Option<&Path>,
    options: &RotationOptions,
    actor: Option<&Actor>,
) -> Result<RotationReport> {
    let recorded = |prefix: &'static str| actor.map(|actor| Recorded { actor, prefix });
    let key_error = |e: emsg_seal::KeyError| StoreError::Invalid(e.to_string());
    let written = match (source, new_key_file) {
        (KeySource::File(path), _) => key_file::pending_path(path),
        (KeySource::Env(_), Some(out)) => out.to_path_buf(),
        (KeySource::Env(_), None) => {
            return Err(StoreError::Invalid(
                "the master key comes from EMSG_MASTER_KEY, so the new key needs a place to go: \
                 pass --new-key-file PATH (created with mode 0600), then set EMSG_MASTER_KEY to its content"
                    .to_owned(),
            ));
        }
    };
    let finished_earlier = match key_ring::unfinished(conn)? {
        Some(unfinished) => {
            let target = match unfinished.next {
                Some(next) => next,
                None => recorded_key_id(conn)?.unwrap_or_default(),
            };
            let done = rotation::finish_recorded(
                conn,
                ring,
                &target,
                options,
                recorded("finished the interrupted rotation: "),
            )?;
            if let KeySource::File(path) = source
                && written.exists()
            {
                if key_file::load(&written).is_ok_and(|k| k.id().to_string() == target) {
                    key_file::promote(&written, path).map_err(key_error)?;
                } else {
                    let _ = std::fs::remove_file(&written);
                }
            }
            Some(done)
        }
        None => None,
    };
    let new = MasterKey::generate();
    let new_id = new.id().to_string();
    key_file::write_new(&written, &new).map_err(key_error)?;
    match rotation::rotate_recorded(conn, ring, new, options, recorded("")) {
        Ok(rotation) => {
            if let KeySource::File(path) = source {
                key_file::promote(&written, path).map_err(key_error)?;
            }
            Ok(RotationReport {
                finished_earlier,
                rotation,
            })
        }
        Err(error) => {
            // Keep the new key while the database refers to it; a rotation that never
            // announced it leaves nothing behind.
            let announced = key_ring::unfinished(conn)
                .ok()
                .flatten()
                .and_then(|u| u.next)
                .is_some_and(|next| next == new_id);
            if !announced {
                let _ = std::fs::remove_file(&written);
            }
            Err(error)
        }
    }
}
