//! The stored form of a sealed value: `key id ‖ nonce ‖ ciphertext with tag`.

use chacha20poly1305::XNonce;

use crate::key_id::KeyId;

pub(crate) const KEY_ID_LEN: usize = 8;
pub(crate) const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// The length of a sealed empty value; anything shorter was cut short or never sealed.
pub const MIN_SEALED_LEN: usize = KEY_ID_LEN + NONCE_LEN + TAG_LEN;

/// A sealed value split into its parts, borrowing from the stored bytes.
pub(crate) struct SealedParts<'a> {
    pub(crate) key_id: KeyId,
    pub(crate) nonce: &'a XNonce,
    /// Ciphertext followed by the 16-byte Poly1305 tag.
    pub(crate) ciphertext: &'a [u8],
}

/// Splits a stored value, or `None` if it is too short to hold a key id, nonce and tag.
pub(crate) fn split(sealed: &[u8]) -> Option<SealedParts<'_>> {
    if sealed.len() < MIN_SEALED_LEN {
        return None;
    }
    let (key_id, rest) = sealed.split_at(KEY_ID_LEN);
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let mut id = [0u8; KEY_ID_LEN];
    id.copy_from_slice(key_id);
    Some(SealedParts {
        key_id: KeyId::from_bytes(id),
        nonce: <&XNonce>::try_from(nonce).ok()?,
        ciphertext,
    })
}

/// Lays out the stored form from its parts.
pub(crate) fn join(key_id: KeyId, nonce: &XNonce, ciphertext: &[u8]) -> Vec<u8> {
    let mut sealed = Vec::with_capacity(KEY_ID_LEN + NONCE_LEN + ciphertext.len());
    sealed.extend_from_slice(&key_id.to_bytes());
    sealed.extend_from_slice(nonce.as_slice());
    sealed.extend_from_slice(ciphertext);
    sealed
}
