//! The one-way hash under which session ids, API keys and other bearer values are stored.

use sha2::{Digest as _, Sha256};

/// Lower-case hex SHA-256 of a session id or an API key: what the tables store.
pub fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .fold(String::with_capacity(64), |mut out, byte| {
            use std::fmt::Write as _;
            let _ = write!(out, "{byte:02x}");
            out
        })
}
