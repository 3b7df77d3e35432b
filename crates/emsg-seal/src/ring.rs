//! `KeyRing`: seals under the current master key and opens under whichever loaded key a value
//! names.

use std::collections::HashMap;
use std::fmt;

use chacha20poly1305::XNonce;
use chacha20poly1305::aead::{Aead, Generate, Payload};
use zeroize::{Zeroize, Zeroizing};

use crate::aad::Aad;
use crate::error::SealError;
use crate::key::MasterKey;
use crate::key_id::KeyId;
use crate::sealed;
use crate::secret::Secret;

/// The current master key plus any older keys (still needed to open values sealed before a
/// rotation) and pending ones (loaded before they become current, so that every node can
/// already open what the first rotated node seals).
#[derive(Clone)]
pub struct KeyRing {
    // Kept beside the key because every seal and open needs it and it costs a SHA-256.
    current_id: KeyId,
    current: MasterKey,
    extra: HashMap<KeyId, MasterKey>,
}

impl KeyRing {
    pub fn new(current: MasterKey) -> Self {
        Self {
            current_id: current.id(),
            current,
            extra: HashMap::new(),
        }
    }

    /// Adds a key that opens values but never seals them. Adding a key already in the ring
    /// changes nothing.
    #[must_use]
    pub fn with_extra(mut self, key: MasterKey) -> Self {
        let id = key.id();
        if id != self.current_id {
            self.extra.entry(id).or_insert(key);
        }
        self
    }

    /// Makes `new` the key that seals, keeping the old current key so that values sealed under
    /// it still open until they have all been sealed again.
    #[must_use]
    pub fn with_current(mut self, new: MasterKey) -> Self {
        let new_id = new.id();
        if new_id == self.current_id {
            return self;
        }
        self.extra.remove(&new_id);
        let old = std::mem::replace(&mut self.current, new);
        self.extra.insert(self.current_id, old);
        self.current_id = new_id;
        self
    }

    pub fn current_id(&self) -> KeyId {
        self.current_id
    }

    pub fn contains(&self, id: KeyId) -> bool {
        id == self.current_id || self.extra.contains_key(&id)
    }

    /// Seals `plaintext` under the current key with a fresh random 24-byte nonce, so sealing
    /// the same value twice gives different bytes. The result is
    /// `key id ‖ nonce ‖ ciphertext with tag`.
    ///
    /// # Panics
    /// If the operating system cannot provide randomness for the nonce (a reused nonce would
    /// be worse than stopping).
    pub fn seal(&self, plaintext: &[u8], aad: &Aad<'_>) -> Vec<u8> {
        // 24 random bytes make a repeated nonce negligible however many values are sealed,
        // which a 12-byte nonce would not.
        let nonce = XNonce::generate();
        let associated = aad.to_bytes();
        let ciphertext = self
            .current
            .cipher()
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: &associated,
                },
            )
            // XChaCha20-Poly1305 only refuses messages longer than 256 GiB.
            .expect("a secret is far shorter than the XChaCha20-Poly1305 limit");
        sealed::join(self.current_id, &nonce, &ciphertext)
    }

    /// Opens a value sealed by [`KeyRing::seal`] under any key in the ring, checking that it
    /// belongs to the table, column and row in `aad`.
    pub fn open(&self, sealed: &[u8], aad: &Aad<'_>) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let parts = sealed::split(sealed).ok_or_else(|| SealError::Truncated {
            table: aad.table.to_owned(),
            column: aad.column.to_owned(),
            row: aad.row,
            len: sealed.len(),
        })?;
        let key = self
            .get(parts.key_id)
            .ok_or_else(|| SealError::UnknownKey {
                key_id: parts.key_id,
                table: aad.table.to_owned(),
                column: aad.column.to_owned(),
                row: aad.row,
            })?;
        let associated = aad.to_bytes();
        key.cipher()
            .decrypt(
                parts.nonce,
                Payload {
                    msg: parts.ciphertext,
                    aad: &associated,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| SealError::Unopenable {
                table: aad.table.to_owned(),
                column: aad.column.to_owned(),
                row: aad.row,
            })
    }

    pub fn seal_secret(&self, secret: &Secret, aad: &Aad<'_>) -> Vec<u8> {
        self.seal(secret.expose().as_bytes(), aad)
    }

    /// Opens a value sealed by [`KeyRing::seal_secret`]; it must be UTF-8 text.
    pub fn open_secret(&self, sealed: &[u8], aad: &Aad<'_>) -> Result<Secret, SealError> {
        let mut plaintext = self.open(sealed, aad)?;
        match String::from_utf8(std::mem::take(&mut *plaintext)) {
            Ok(text) => Ok(Secret::from(text)),
            Err(err) => {
                // The bytes are still secret even though they are not text.
                err.into_bytes().zeroize();
                Err(SealError::NotUtf8 {
                    table: aad.table.to_owned(),
                    column: aad.column.to_owned(),
                    row: aad.row,
                })
            }
        }
    }

    /// The id of the key a value was sealed with, without opening it: lets a store find the
    /// rows that still need sealing again under the current key after a rotation.
    pub fn key_id_of(&self, sealed: &[u8]) -> Result<KeyId, SealError> {
        sealed::split(sealed)
            .map(|parts| parts.key_id)
            .ok_or(SealError::TooShort { len: sealed.len() })
    }

    /// Every key id the ring holds, the current one first.
    pub fn key_ids(&self) -> Vec<KeyId> {
        let mut extra: Vec<KeyId> = self.extra.keys().copied().collect();
        extra.sort();
        std::iter::once(self.current_id).chain(extra).collect()
    }

    /// Seals the key named `id` (which the ring must hold) under the current key, so that a
    /// process holding the current key can learn it from the database: how running nodes learn
    /// a rotation's keys without a restart. `None` when the ring does not hold `id`.
    pub fn wrap_key(&self, id: KeyId, aad: &Aad<'_>) -> Option<Vec<u8>> {
        let key = self.get(id)?;
        Some(self.seal_secret(&key.to_base64(), aad))
    }

    /// Opens a key sealed by [`KeyRing::wrap_key`].
    pub fn unwrap_key(&self, wrapped: &[u8], aad: &Aad<'_>) -> Result<MasterKey, SealError> {
        let text = self.open_secret(wrapped, aad)?;
        MasterKey::from_base64(text.expose()).map_err(|_| SealError::NotUtf8 {
            table: aad.table.to_owned(),
            column: aad.column.to_owned(),
            row: aad.row,
        })
    }

    /// The key named `id`, if the ring holds it.
    pub fn get(&self, id: KeyId) -> Option<&MasterKey> {
        if id == self.current_id {
            Some(&self.current)
        } else {
            self.extra.get(&id)
        }
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut extra: Vec<KeyId> = self.extra.keys().copied().collect();
        extra.sort();
        f.debug_struct("KeyRing")
            .field("current", &self.current_id)
            .field("extra", &extra)
            .finish()
    }
}

/// The key ring of a running process, which a rotation elsewhere may change while it runs:
/// readers take the ring as it is now ([`SharedKeyRing::load`]); the process's key watcher
/// replaces it when the database announces a new key.
#[derive(Clone)]
pub struct SharedKeyRing {
    inner: std::sync::Arc<std::sync::RwLock<std::sync::Arc<KeyRing>>>,
}

impl SharedKeyRing {
    pub fn new(ring: KeyRing) -> Self {
        Self {
            inner: std::sync::Arc::new(std::sync::RwLock::new(std::sync::Arc::new(ring))),
        }
    }

    /// The ring as it is now; cheap (a read lock and a reference count).
    pub fn load(&self) -> std::sync::Arc<KeyRing> {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Puts `ring` in place for every later [`SharedKeyRing::load`].
    pub fn store(&self, ring: KeyRing) {
        *self
            .inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = std::sync::Arc::new(ring);
    }
}

impl From<KeyRing> for SharedKeyRing {
    fn from(ring: KeyRing) -> Self {
        Self::new(ring)
    }
}

impl From<std::sync::Arc<KeyRing>> for SharedKeyRing {
    fn from(ring: std::sync::Arc<KeyRing>) -> Self {
        Self {
            inner: std::sync::Arc::new(std::sync::RwLock::new(ring)),
        }
    }
}

impl fmt::Debug for SharedKeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.load().fmt(f)
    }
}

#[cfg(test)]
mod tests;
