//! Random values: state, nonce, node ids, jitter.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::error::EngineError;

/// `bytes` random bytes, base64url without padding (32 bytes = 256 bits for state and nonce).
pub fn token(bytes: usize) -> Result<String, EngineError> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer)
        .map_err(|e| EngineError::Internal(format!("no randomness: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(buffer))
}

pub fn u64() -> u64 {
    let mut buffer = [0u8; 8];
    let _ = getrandom::fill(&mut buffer);
    u64::from_le_bytes(buffer)
}

/// The stored form of a state: its SHA-256 in hex.
pub fn state_hash(state: &str) -> String {
    Sha256::digest(state.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
