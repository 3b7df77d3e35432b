//! Sealing of secrets at rest (XChaCha20-Poly1305 under a master key) and the redacting
//! [`Secret`] type that carries them in memory.
//!
//! A sealed value is `key id (8) ‖ nonce (24) ‖ ciphertext ‖ tag (16)`, authenticated together
//! with an [`Aad`] naming the table, column and row it belongs to. A [`KeyRing`] seals with its
//! current [`MasterKey`] and opens with whichever loaded key the value names, which is what makes
//! key rotation possible. [`key_file`] keeps the master key on disk.

mod aad;
mod error;
mod key;
pub mod key_file;
mod key_id;
mod ring;
mod sealed;
mod secret;

pub use aad::Aad;
pub use error::{KeyError, SealError};
pub use key::MasterKey;
pub use key_file::Created;
pub use key_id::KeyId;
pub use ring::{KeyRing, SharedKeyRing};
pub use sealed::MIN_SEALED_LEN;
pub use secret::Secret;
