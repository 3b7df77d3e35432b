//! Percent encoding as RFC 3986 section 2.1 defines it, which the specification asks for in
//! every key, value and list item: only the unreserved characters (letters, digits, `-`, `.`,
//! `_`, `~`) may appear as they are; every other octet is `%` and two hexadecimal digits.
//!
//! This is stricter than what some encoders produce (JavaScript's `encodeURIComponent` leaves
//! `!*'()` alone, HTML forms write a space as `+`), and deliberately so: the specification's
//! examples encode even `:` in a timestamp, and a `+` would reach HMRC as a plus sign.

use std::fmt;

/// Why a component is not percent encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EncodingError {
    /// A character that has to be written as `%XX` appears as it is.
    Raw(char),
    /// A `%` not followed by two hexadecimal digits.
    BadEscape(String),
}

impl fmt::Display for EncodingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodingError::Raw(' ') => f.write_str("a space appears as it is; write it as %20"),
            EncodingError::Raw(c) if c.is_ascii() => {
                write!(f, "`{c}` appears as it is; write it as %{:02X}", *c as u32)
            }
            EncodingError::Raw(c) => {
                write!(f, "`{c}` appears as it is; percent encode its UTF-8 bytes")
            }
            EncodingError::BadEscape(escape) => {
                write!(
                    f,
                    "`{escape}` is a `%` without two hexadecimal digits after it"
                )
            }
        }
    }
}

pub(crate) fn is_unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

/// The text `raw` percent encodes. Decoded bytes that are not UTF-8 are replaced, since the
/// checks that follow look for shapes (addresses, numbers) that are ASCII anyway.
pub(crate) fn percent_decode(raw: &str) -> Result<String, EncodingError> {
    let bytes = raw.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte == b'%' {
            let hex = raw
                .get(i + 1..i + 3)
                .filter(|hex| hex.len() == 2 && hex.bytes().all(|b| b.is_ascii_hexdigit()));
            let Some(hex) = hex else {
                let end = raw.len().min(i + 3);
                let shown = raw.get(i..end).unwrap_or("%");
                return Err(EncodingError::BadEscape(shown.to_owned()));
            };
            decoded.push(
                u8::from_str_radix(hex, 16)
                    .map_err(|_| EncodingError::BadEscape(format!("%{hex}")))?,
            );
            i += 3;
        } else if byte.is_ascii() && is_unreserved(byte as char) {
            decoded.push(byte);
            i += 1;
        } else {
            let c = raw[i..].chars().next().unwrap_or(byte as char);
            return Err(EncodingError::Raw(c));
        }
    }
    Ok(String::from_utf8_lossy(&decoded).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreserved_characters_and_escapes_decode() {
        assert_eq!(percent_decode("Dell%20Inc.").as_deref(), Ok("Dell Inc."));
        assert_eq!(percent_decode("a-b_c~d").as_deref(), Ok("a-b_c~d"));
        assert_eq!(percent_decode("%e2%82%ac").as_deref(), Ok("€"));
    }

    #[test]
    fn reserved_characters_and_broken_escapes_are_refused() {
        assert_eq!(percent_decode("a b"), Err(EncodingError::Raw(' ')));
        assert_eq!(percent_decode("a+b"), Err(EncodingError::Raw('+')));
        assert_eq!(percent_decode("fc00::"), Err(EncodingError::Raw(':')));
        assert_eq!(
            percent_decode("100%"),
            Err(EncodingError::BadEscape("%".into()))
        );
        assert_eq!(
            percent_decode("%G1"),
            Err(EncodingError::BadEscape("%G1".into()))
        );
    }
}
