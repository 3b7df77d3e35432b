//! The processes that hold a key ring on this database, renewed by each one's key watcher, so
//! that a rotation knows when every live process has learned its new key and when every one
//! seals with it.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::Result;
use crate::schema::key_ring_nodes;

/// A process counts as live while it renewed its row within this many of its own intervals.
const MISSED_BEATS: i64 = 5;

/// Rows not renewed for an hour are dropped: their processes are gone.
const FORGET_AFTER_MS: i64 = 3_600_000;

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// What one process tells the others about its key ring.
#[derive(Debug, Clone)]
pub struct Beat<'a> {
    pub node_id: &'a str,
    pub description: &'a str,
    pub sealing_key_id: String,
    pub known_key_ids: Vec<String>,
    pub poll_ms: i64,
}

/// Records (or renews) `beat`.
pub fn beat(conn: &mut DbConnection, beat: &Beat<'_>) -> Result<()> {
    let known = beat.known_key_ids.join(",");
    let now = now_ms();
    let updated = diesel::update(key_ring_nodes::table.find(beat.node_id))
        .set((
            key_ring_nodes::sealing_key_id.eq(&beat.sealing_key_id),
            key_ring_nodes::known_key_ids.eq(&known),
            key_ring_nodes::poll_ms.eq(beat.poll_ms),
            key_ring_nodes::seen_at_ms.eq(now),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(key_ring_nodes::table)
            .values((
                key_ring_nodes::node_id.eq(beat.node_id),
                key_ring_nodes::description.eq(beat.description),
                key_ring_nodes::sealing_key_id.eq(&beat.sealing_key_id),
                key_ring_nodes::known_key_ids.eq(&known),
                key_ring_nodes::poll_ms.eq(beat.poll_ms),
                key_ring_nodes::seen_at_ms.eq(now),
            ))
            .execute(conn)?;
        diesel::delete(
            key_ring_nodes::table.filter(key_ring_nodes::seen_at_ms.lt(now - FORGET_AFTER_MS)),
        )
        .execute(conn)?;
    }
    Ok(())
}

/// Removes a process that stops.
pub fn remove(conn: &mut DbConnection, node_id: &str) -> Result<()> {
    diesel::delete(key_ring_nodes::table.find(node_id)).execute(conn)?;
    Ok(())
}

/// A live process and its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub node_id: String,
    pub description: String,
    pub sealing_key_id: String,
    pub known_key_ids: Vec<String>,
}

impl Node {
    pub fn knows(&self, key_id: &str) -> bool {
        self.known_key_ids.iter().any(|k| k == key_id)
    }
}

/// The processes that renewed their row recently enough to count as running.
pub fn live(conn: &mut DbConnection) -> Result<Vec<Node>> {
    let now = now_ms();
    let rows: Vec<(String, String, String, String, i64, i64)> = key_ring_nodes::table
        .select((
            key_ring_nodes::node_id,
            key_ring_nodes::description,
            key_ring_nodes::sealing_key_id,
            key_ring_nodes::known_key_ids,
            key_ring_nodes::poll_ms,
            key_ring_nodes::seen_at_ms,
        ))
        .order(key_ring_nodes::node_id)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|(_, _, _, _, poll, seen)| seen + MISSED_BEATS * (*poll).max(100) >= now)
        .map(|(node_id, description, sealing_key_id, known, _, _)| Node {
            node_id,
            description,
            sealing_key_id,
            known_key_ids: known.split(',').map(str::to_owned).collect(),
        })
        .collect())
}
