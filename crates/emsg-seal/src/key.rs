//! `MasterKey`, the 32-byte key that seals every secret.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::{Key, KeyInit, XChaCha20Poly1305};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::error::KeyError;
use crate::key_id::KeyId;
use crate::secret::Secret;

const KEY_LEN: usize = 32;

/// Domain separation, so the id can never collide with some other hash of the same key.
const KEY_ID_CONTEXT: &[u8] = b"emsg-master-key-id:v1";

/// 32 random bytes, wiped from memory when dropped. `Debug` shows only its [`KeyId`].
#[derive(Clone)]
pub struct MasterKey {
    bytes: [u8; KEY_LEN],
}

impl MasterKey {
    /// A new key from the operating system's random number generator.
    ///
    /// # Panics
    /// If the operating system cannot provide randomness, in which case no key should be made.
    pub fn generate() -> Self {
        let mut key = Self {
            bytes: [0; KEY_LEN],
        };
        // Filled in place so that no copy of the key is left behind on the stack.
        getrandom::fill(&mut key.bytes)
            .expect("the operating system's random number generator failed");
        key
    }

    /// Parses standard base64 (padding included), ignoring surrounding whitespace such as the
    /// newline at the end of a key file.
    pub fn from_base64(encoded: &str) -> Result<Self, KeyError> {
        Self::parse(encoded, "the master key")
    }

    /// Like [`MasterKey::from_base64`], with errors naming `origin` (a variable or a file).
    pub(crate) fn parse(encoded: &str, origin: &str) -> Result<Self, KeyError> {
        // The decode error is dropped on purpose: it quotes the offending byte of the key.
        let decoded =
            Zeroizing::new(
                STANDARD
                    .decode(encoded.trim())
                    .map_err(|_| KeyError::NotBase64 {
                        origin: origin.to_owned(),
                    })?,
            );
        if decoded.len() != KEY_LEN {
            return Err(KeyError::WrongLength {
                origin: origin.to_owned(),
                len: decoded.len(),
            });
        }
        let mut key = Self {
            bytes: [0; KEY_LEN],
        };
        key.bytes.copy_from_slice(&decoded);
        Ok(key)
    }

    pub fn to_base64(&self) -> Secret {
        Secret::new(STANDARD.encode(self.bytes))
    }

    pub fn id(&self) -> KeyId {
        let digest = Sha256::new()
            .chain_update(KEY_ID_CONTEXT)
            .chain_update(self.bytes)
            .finalize();
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        KeyId::from_bytes(id)
    }

    /// A cipher under this key; it wipes its own copy of the key when dropped.
    pub(crate) fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(Key::cast_from_core(&self.bytes))
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({})", self.id())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_key_survives_a_round_trip_through_base64() {
        let key = MasterKey::generate();
        let encoded = key.to_base64();
        assert_eq!(encoded.expose().len(), 44);
        let parsed = MasterKey::from_base64(&format!("  {}\n", encoded.expose())).unwrap();
        assert_eq!(parsed.bytes, key.bytes);
        assert_eq!(parsed.id(), key.id());
    }

    #[test]
    fn two_generated_keys_differ() {
        assert_ne!(MasterKey::generate().bytes, MasterKey::generate().bytes);
    }

    #[test]
    fn base64_of_the_wrong_length_is_refused_with_the_length_found() {
        let err = MasterKey::from_base64(&STANDARD.encode([7u8; 16])).unwrap_err();
        assert!(matches!(err, KeyError::WrongLength { len: 16, .. }));
        assert_eq!(
            err.to_string(),
            "the master key must be 32 bytes encoded as base64 (44 characters); got 16 bytes"
        );
    }

    #[test]
    fn text_that_is_not_base64_is_refused_without_quoting_it() {
        let err = MasterKey::from_base64("not*base64!").unwrap_err();
        assert!(matches!(err, KeyError::NotBase64 { .. }));
        let message = err.to_string();
        assert!(message.contains("is not valid base64"), "{message}");
        assert!(!message.contains("not*base64!"), "{message}");
    }

    #[test]
    fn an_empty_value_is_refused_as_zero_bytes() {
        let err = MasterKey::from_base64("  \n").unwrap_err();
        assert!(matches!(err, KeyError::WrongLength { len: 0, .. }));
    }

    #[test]
    fn key_id_is_the_first_8_bytes_of_the_domain_separated_sha256() {
        let key = MasterKey::from_base64(&STANDARD.encode([0u8; 32])).unwrap();
        let digest = Sha256::digest([KEY_ID_CONTEXT, &[0u8; 32]].concat());
        assert_eq!(key.id().to_bytes(), digest[..8]);
        let shown = key.id().to_string();
        assert_eq!(shown.len(), 16);
        assert!(
            shown
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }

    #[test]
    fn debug_of_a_master_key_shows_only_its_id() {
        let key = MasterKey::generate();
        let shown = format!("{key:?}");
        assert_eq!(shown, format!("MasterKey({})", key.id()));
        assert!(!shown.contains(key.to_base64().expose()));
    }
}
