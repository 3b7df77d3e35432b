//! A process's key watcher: every few seconds it learns the keys a rotation announced in the
//! database, switches sealing to the key the database records as current, and renews the
//! process's row in `key_ring_nodes` so that a rotation knows it has done both.
//!
//! It runs on its own thread with its own database connection, so it keeps beating however busy
//! the server's pool and workers are.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use emsg_seal::{KeyRing, SharedKeyRing};

use crate::db::{DatabaseUrl, DbConnection, connect};
use crate::error::{Result, StoreError};
use crate::{key_ring, key_ring_nodes};

/// How often a watcher looks when nothing says otherwise (`EMSG_KEY_POLL`). Each look renews the
/// process's row, a write that every node makes: the default keeps them rare (the store's write
/// transactions begin IMMEDIATE, so they wait for it rather than fail); a rotation waits up to
/// that long for each step.
pub const DEFAULT_POLL: Duration = Duration::from_secs(10);

/// Stops the watcher and removes the process's row when dropped.
pub struct KeyWatch {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

struct Watcher {
    url: DatabaseUrl,
    ring: SharedKeyRing,
    node_id: String,
    description: String,
    poll: Duration,
}

impl KeyWatch {
    /// Registers this process with the ring it holds now, then keeps watching every `poll`.
    ///
    /// The first look happens before this returns, so a process started during a rotation
    /// seals with the rotation's key from its first write.
    pub fn start(
        url: &DatabaseUrl,
        ring: SharedKeyRing,
        description: String,
        poll: Duration,
    ) -> Result<Self> {
        let watcher = Watcher {
            url: url.clone(),
            ring,
            node_id: node_id(),
            description,
            poll,
        };
        let mut conn = connect(url).map_err(|e| StoreError::Invalid(e.to_string()))?;
        watcher.look(&mut conn)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("emsg-key-watch".to_owned())
            .spawn(move || watcher.run(conn, &stopping))
            .map_err(|e| StoreError::Invalid(format!("could not start the key watcher: {e}")))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for KeyWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Watcher {
    fn run(self, conn: DbConnection, stop: &AtomicBool) {
        let mut conn = Some(conn);
        let mut next = Instant::now() + self.poll;
        while !stop.load(Ordering::Relaxed) {
            if Instant::now() < next {
                std::thread::sleep(Duration::from_millis(50).min(self.poll));
                continue;
            }
            next = Instant::now() + self.poll;
            let mut current = match conn.take() {
                Some(current) => current,
                None => match connect(&self.url) {
                    Ok(fresh) => fresh,
                    Err(error) => {
                        tracing::warn!(%error, "the key watcher cannot reach the database; trying again");
                        continue;
                    }
                },
            };
            match self.look(&mut current) {
                Ok(()) => conn = Some(current),
                // A broken connection is dropped and made again at the next look.
                Err(error) => {
                    tracing::warn!(%error, "the key watcher could not read the key ring; trying again")
                }
            }
        }
        if let Some(mut conn) = conn
            && let Err(error) = key_ring_nodes::remove(&mut conn, &self.node_id)
        {
            tracing::debug!(%error, "could not remove this process from key_ring_nodes");
        }
    }

    fn look(&self, conn: &mut DbConnection) -> Result<()> {
        let held = self.ring.load();
        let loaded = key_ring::load(conn, &held)?;
        if changed(&held, &loaded) {
            for id in loaded.key_ids() {
                if !held.contains(id) {
                    tracing::info!(key = %id, "learned a master key announced by a rotation");
                }
            }
            if loaded.current_id() != held.current_id() {
                tracing::info!(key = %loaded.current_id(), "now sealing with the rotated master key");
            }
            self.ring.store(loaded.clone());
        }
        key_ring_nodes::beat(
            conn,
            &key_ring_nodes::Beat {
                node_id: &self.node_id,
                description: &self.description,
                sealing_key_id: loaded.current_id().to_string(),
                known_key_ids: loaded.key_ids().iter().map(ToString::to_string).collect(),
                poll_ms: i64::try_from(self.poll.as_millis()).unwrap_or(i64::MAX),
            },
        )
    }
}

fn changed(held: &KeyRing, loaded: &KeyRing) -> bool {
    held.current_id() != loaded.current_id() || held.key_ids().len() != loaded.key_ids().len()
}

fn node_id() -> String {
    let mut bytes = [0u8; 6];
    let _ = getrandom::fill(&mut bytes);
    let suffix: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{suffix}", std::process::id())
}
