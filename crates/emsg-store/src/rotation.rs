//! Key rotation while `serve` nodes run, without losing a value.
//!
//! 1. **Announce**: the new key goes into `master_keys` wrapped under the key in use; every
//!    process's key watcher learns it from there.
//! 2. Wait until every live process holds it (so nothing sealed under it can surprise one).
//! 3. **Switch**: the database records the new key as current and keeps the old one wrapped under
//!    it; watchers start sealing with the new key.
//! 4. Wait until every live process seals with it (so nothing new is sealed under the old key).
//! 5. **Re-seal** every sealed column of the schema (read from the catalog), row by row with a
//!    compare-and-swap on the stored bytes: a value that a refresh or a callback replaced since
//!    it was read is left as it is, never overwritten with the old value sealed again.
//! 6. **Finish**: the keys leave the database; from now on only the new key opens it.
//!
//! Every step commits on its own and can be interrupted: both keys stay in the database until
//! step 6, so either one opens every value, and the next `emsg keys rotate` finishes the
//! rotation before starting another.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use emsg_seal::{Aad, KeyRing, MasterKey, SealError, SharedKeyRing};

use crate::audit::{self, Actor, AuditAction, NewAuditEntry};
use crate::db::{DbConnection, write_transaction};
use crate::error::{Result, StoreError};
use crate::key_ring::{self, Role};
use crate::key_ring_nodes::{self, Node};
use crate::schema::master_key_check;
use crate::sealed_columns::{SealedColumn, SealedRow, sealed_columns};

/// Rows re-sealed per transaction.
const PAGE: i64 = 500;

/// How a rotation waits for the other processes.
#[derive(Debug, Clone)]
pub struct RotationOptions {
    /// How long to wait for every live process to learn the new key, and again to seal with
    /// it, before giving up (the rotation can then be finished later).
    pub wait: Duration,
    /// Interrupts the re-sealing after this many values (tests of interrupted rotations).
    pub fail_after: Option<usize>,
    /// Waits this long after the switch, before re-sealing (tests that kill a rotation there).
    pub pause_before_reseal: Option<Duration>,
}

impl Default for RotationOptions {
    fn default() -> Self {
        Self {
            wait: Duration::from_secs(60),
            fail_after: None,
            pause_before_reseal: None,
        }
    }
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// Values sealed again under the new key.
    pub values: usize,
    pub new_key_id: String,
    /// Values no loaded key opens: they stay as they were (see `emsg keys status`).
    pub unopenable: Vec<Unopenable>,
}

/// A stored value that no key of the ring opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unopenable {
    pub table: String,
    pub column: String,
    pub row: i64,
    /// The key it names, when it names one.
    pub key_id: Option<String>,
}

/// Rotates every value to `new`, which becomes the key that seals for every process on this
/// database. `ring` is the rotating process's own ring; it holds `new` afterwards.
pub fn rotate(
    conn: &mut DbConnection,
    ring: &SharedKeyRing,
    new: MasterKey,
    options: &RotationOptions,
) -> Result<Rotation> {
    rotate_recorded(conn, ring, new, options, None)
}

/// [`rotate`], writing its audit entry as [`Recorded::actor`] in the transaction that ends it.
pub(crate) fn rotate_recorded(
    conn: &mut DbConnection,
    ring: &SharedKeyRing,
    new: MasterKey,
    options: &RotationOptions,
    recorded: Option<Recorded<'_>>,
) -> Result<Rotation> {
    let with_new = (*ring.load()).clone().with_extra(new.clone());
    key_ring::store(conn, &with_new, Role::Next, new.id())?;
    ring.store(with_new);
    finish_recorded(conn, ring, &new.id().to_string(), options, recorded)
}

/// Who rotates, for the audit entry of a rotation, and the words its detail begins with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Recorded<'a> {
    pub actor: &'a Actor,
    pub prefix: &'a str,
}

impl Recorded<'_> {
    fn entry(&self, rotation: &Rotation) -> NewAuditEntry {
        NewAuditEntry::ok(
            self.actor.clone(),
            AuditAction::KeysRotate,
            format!(
                "{}re-sealed {} values under master key {}; {} values no key opens",
                self.prefix,
                rotation.values,
                rotation.new_key_id,
                rotation.unopenable.len()
            ),
        )
    }
}

/// Takes the rotation to `target` (already announced) through to its end.
pub fn finish(
    conn: &mut DbConnection,
    ring: &SharedKeyRing,
    target: &str,
    options: &RotationOptions,
) -> Result<Rotation> {
    finish_recorded(conn, ring, target, options, None)
}

/// [`finish`]; the rotation ends (its keys are cleared) in one transaction with its audit entry
/// when it is `recorded`.
pub(crate) fn finish_recorded(
    conn: &mut DbConnection,
    ring: &SharedKeyRing,
    target: &str,
    options: &RotationOptions,
    recorded: Option<Recorded<'_>>,
) -> Result<Rotation> {
    wait_for(conn, options.wait, target, "learned", |node| {
        node.knows(target)
    })?;
    switch(conn, ring, target)?;
    wait_for(conn, options.wait, target, "started sealing with", |node| {
        node.sealing_key_id == target
    })?;
    if let Some(pause) = options.pause_before_reseal {
        std::thread::sleep(pause);
    }
    let current = ring.load();
    let (values, unopenable) = reseal(conn, &current, options.fail_after)?;
    let rotation = Rotation {
        values,
        new_key_id: target.to_owned(),
        unopenable,
    };
    match recorded {
        Some(recorded) => audit::with_entry(conn, key_ring::clear, |_| recorded.entry(&rotation))?,
        None => key_ring::clear(conn)?,
    }
    Ok(rotation)
}

/// Makes `target` the key that seals, keeping the old one wrapped under it.
fn switch(conn: &mut DbConnection, ring: &SharedKeyRing, target: &str) -> Result<()> {
    let held = ring.load();
    let recorded: Option<String> = master_key_check::table
        .select(master_key_check::key_id)
        .first(conn)
        .optional()?;
    if recorded.as_deref() == Some(target) && held.current_id().to_string() == target {
        return Ok(());
    }
    let key = held
        .key_ids()
        .into_iter()
        .find(|id| id.to_string() == target)
        .and_then(|id| held.get(id).cloned())
        .ok_or_else(|| {
            StoreError::Invalid(format!(
                "this process does not hold master key {target}, which the rotation moves to"
            ))
        })?;
    let old = held.current_id();
    let switched = (*held).clone().with_current(key);
    write_transaction(conn, |conn| {
        if old.to_string() != target {
            key_ring::store(conn, &switched, Role::Previous, old)?;
        }
        diesel::update(master_key_check::table)
            .set((
                master_key_check::key_id.eq(target),
                master_key_check::updated_at.eq(crate::now()),
            ))
            .execute(conn)?;
        Ok::<_, StoreError>(())
    })?;
    ring.store(switched);
    Ok(())
}

/// Waits until every live process satisfies `ready`.
fn wait_for(
    conn: &mut DbConnection,
    wait: Duration,
    target: &str,
    what: &str,
    ready: impl Fn(&Node) -> bool,
) -> Result<()> {
    let started = Instant::now();
    loop {
        let lagging: Vec<Node> = key_ring_nodes::live(conn)?
            .into_iter()
            .filter(|node| !ready(node))
            .collect();
        if lagging.is_empty() {
            return Ok(());
        }
        if started.elapsed() >= wait {
            let names: Vec<String> = lagging
                .iter()
                .map(|n| format!("{} (node {})", n.description, n.node_id))
                .collect();
            return Err(StoreError::Invalid(format!(
                "{} running emsg process(es) have not {what} master key {target} after {}s: {}. \
                 Each learns it within a few seconds (EMSG_KEY_POLL); one that does not is stuck: \
                 stop it, then run `emsg keys rotate` again to finish this rotation. Every value \
                 still opens with the old or the new key meanwhile.",
                lagging.len(),
                wait.as_secs(),
                names.join(", ")
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Seals every value that is not under `ring`'s current key again under it, a page of rows per
/// transaction.
pub fn reseal(
    conn: &mut DbConnection,
    ring: &KeyRing,
    fail_after: Option<usize>,
) -> Result<(usize, Vec<Unopenable>)> {
    let mut values = 0;
    let mut unopenable = Vec::new();
    each_page(conn, |conn, column, page| {
        write_transaction(conn, |conn| {
            for row in page {
                match reseal_one(conn, ring, column, row.id, row.value)? {
                    Outcome::Resealed => {
                        values += 1;
                        if fail_after == Some(values) {
                            return Err(StoreError::Invalid(format!(
                                "rotation interrupted after {values} values (test)"
                            )));
                        }
                    }
                    Outcome::Current => {}
                    Outcome::Unopenable(key_id) => unopenable.push(Unopenable {
                        table: column.table.clone(),
                        column: column.column.clone(),
                        row: row.id,
                        key_id,
                    }),
                }
            }
            Ok::<_, StoreError>(())
        })
    })?;
    Ok((values, unopenable))
}

enum Outcome {
    Resealed,
    Current,
    Unopenable(Option<String>),
}

fn reseal_one(
    conn: &mut DbConnection,
    ring: &KeyRing,
    column: &SealedColumn,
    id: i64,
    mut value: Vec<u8>,
) -> Result<Outcome> {
    let aad = Aad::new(&column.table, &column.column, id);
    loop {
        let key_id = ring.key_id_of(&value).ok();
        if key_id == Some(ring.current_id()) {
            return Ok(Outcome::Current);
        }
        let plain = match ring.open(&value, &aad) {
            Ok(plain) => plain,
            Err(
                SealError::UnknownKey { .. }
                | SealError::Unopenable { .. }
                | SealError::Truncated { .. }
                | SealError::TooShort { .. },
            ) => return Ok(Outcome::Unopenable(key_id.map(|k| k.to_string()))),
            Err(other) => return Err(other.into()),
        };
        if column.replace(conn, id, &value, &ring.seal(&plain, &aad))? {
            return Ok(Outcome::Resealed);
        }
        // Changed since it was read (a refresh, a callback): look at what is there now.
        match column.load_one(conn, id)? {
            Some(now) => value = now,
            None => return Ok(Outcome::Current),
        }
    }
}

/// Every stored value no key of `ring` opens.
pub fn unopenable(conn: &mut DbConnection, ring: &KeyRing) -> Result<Vec<Unopenable>> {
    let mut found = Vec::new();
    each_value(conn, |column, id, value| {
        let aad = Aad::new(&column.table, &column.column, id);
        if ring.open(value, &aad).is_err() {
            found.push(Unopenable {
                table: column.table.clone(),
                column: column.column.clone(),
                row: id,
                key_id: ring.key_id_of(value).ok().map(|k| k.to_string()),
            });
        }
    })?;
    Ok(found)
}

/// How many values each key seals, per key id (`None`: too short to name one).
pub fn values_per_key(
    conn: &mut DbConnection,
    ring: &KeyRing,
) -> Result<Vec<(Option<String>, usize)>> {
    let mut counts: std::collections::BTreeMap<Option<String>, usize> = Default::default();
    each_value(conn, |_, _, value| {
        *counts
            .entry(ring.key_id_of(value).ok().map(|k| k.to_string()))
            .or_default() += 1;
    })?;
    Ok(counts.into_iter().collect())
}

/// Calls `visit` with every stored sealed value.
fn each_value(
    conn: &mut DbConnection,
    mut visit: impl FnMut(&SealedColumn, i64, &[u8]),
) -> Result<()> {
    each_page(conn, |_, column, page| {
        for row in &page {
            visit(column, row.id, &row.value);
        }
        Ok(())
    })
}

/// Calls `visit` with every page of stored sealed values of every sealed column, in row order,
/// so that a long table is never held in memory whole.
fn each_page(
    conn: &mut DbConnection,
    mut visit: impl FnMut(&mut DbConnection, &SealedColumn, Vec<SealedRow>) -> Result<()>,
) -> Result<()> {
    for column in sealed_columns(conn)? {
        let mut after = 0;
        loop {
            let page = column.load_page(conn, after, PAGE)?;
            let Some(last) = page.last().map(|row| row.id) else {
                break;
            };
            visit(conn, &column, page)?;
            after = last;
        }
    }
    Ok(())
}
