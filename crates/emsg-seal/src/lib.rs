//! Sealing of secrets at rest (XChaCha20-Poly1305 under a master key) and the redacting
//! [`Secret`] type that carries them in memory.

mod secret;

pub use secret::Secret;
