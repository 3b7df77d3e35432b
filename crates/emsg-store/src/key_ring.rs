//! The keys of a rotation in progress, kept in the database wrapped under one another, so that
//! every process learns them without a restart.
//!
//! A rotation from key A to key B writes B wrapped under A (`next`) before anything is sealed
//! under B, then, once B seals, A wrapped under B (`previous`) until no value is sealed under A.
//! A process holding either key can therefore open every value while the rotation runs, or after
//! it was interrupted. Both rows go when the rotation finishes: from then on only B opens the
//! database, and A is retired.

use diesel::prelude::*;
use emsg_seal::{Aad, KeyRing};

use crate::db::DbConnection;
use crate::error::Result;
use crate::schema::{master_key_check, master_keys};

/// Which side of a rotation a stored key is on; also the row it is stored in (and so part of
/// its associated data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The key a rotation moves to, wrapped under the key it moves from.
    Next,
    /// The key a rotation moves away from, wrapped under the key it moves to.
    Previous,
}

impl Role {
    fn row(self) -> i64 {
        match self {
            Self::Next => 1,
            Self::Previous => 2,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Previous => "previous",
        }
    }
}

fn aad(role: Role) -> Aad<'static> {
    Aad::new("master_keys", "wrapped_key", role.row())
}

/// The rotation in progress, as the database records it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unfinished {
    /// The key the rotation moves to.
    pub next: Option<String>,
    /// The key it moves away from, present once the new key seals.
    pub previous: Option<String>,
}

impl Unfinished {
    /// Whether the new key already seals (the switch committed).
    pub fn switched(&self) -> bool {
        self.previous.is_some()
    }
}

/// The rotation in progress, if any.
pub fn unfinished(conn: &mut DbConnection) -> Result<Option<Unfinished>> {
    let rows: Vec<(String, String)> = master_keys::table
        .select((master_keys::role, master_keys::key_id))
        .load(conn)?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut found = Unfinished::default();
    for (role, key_id) in rows {
        match role.as_str() {
            "next" => found.next = Some(key_id),
            _ => found.previous = Some(key_id),
        }
    }
    Ok(Some(found))
}

/// Stores the key `id` (which `ring` must hold) wrapped under `ring`'s current key.
pub fn store(
    conn: &mut DbConnection,
    ring: &KeyRing,
    role: Role,
    id: emsg_seal::KeyId,
) -> Result<()> {
    let wrapped = ring.wrap_key(id, &aad(role)).ok_or_else(|| {
        crate::StoreError::Invalid(format!("the key ring does not hold master key {id}"))
    })?;
    diesel::delete(master_keys::table.filter(master_keys::id.eq(role.row()))).execute(conn)?;
    diesel::insert_into(master_keys::table)
        .values((
            master_keys::id.eq(role.row()),
            master_keys::key_id.eq(id.to_string()),
            master_keys::role.eq(role.as_str()),
            master_keys::wrapped_key.eq(wrapped),
            master_keys::created_at.eq(crate::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Forgets the rotation's keys: it finished.
pub fn clear(conn: &mut DbConnection) -> Result<()> {
    diesel::delete(master_keys::table).execute(conn)?;
    Ok(())
}

/// `ring` with every stored key it can unwrap (one key may open another), sealing with the key
/// the database records as current when the ring holds it. Keys it cannot unwrap are left out:
/// they belong to a rotation this ring has no part in.
pub fn load(conn: &mut DbConnection, ring: &KeyRing) -> Result<KeyRing> {
    let rows: Vec<(i64, String, Vec<u8>)> = master_keys::table
        .select((master_keys::id, master_keys::role, master_keys::wrapped_key))
        .load(conn)?;
    let mut ring = ring.clone();
    loop {
        let mut learned = false;
        for (row, role, wrapped) in &rows {
            let role = if role == "next" {
                Role::Next
            } else {
                Role::Previous
            };
            debug_assert_eq!(role.row(), *row);
            let Ok(id) = ring.key_id_of(wrapped) else {
                continue;
            };
            if !ring.contains(id) {
                continue;
            }
            if let Ok(key) = ring.unwrap_key(wrapped, &aad(role))
                && !ring.contains(key.id())
            {
                ring = ring.with_extra(key);
                learned = true;
            }
        }
        if !learned {
            break;
        }
    }
    let recorded: Option<String> = master_key_check::table
        .select(master_key_check::key_id)
        .first(conn)
        .optional()?;
    if let Some(recorded) = recorded
        && recorded != ring.current_id().to_string()
        && let Some(key) = ring
            .key_ids()
            .into_iter()
            .find(|id| id.to_string() == recorded)
            .and_then(|id| ring.get(id).cloned())
    {
        ring = ring.with_current(key);
    }
    Ok(ring)
}
