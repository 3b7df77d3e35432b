//! Errors of sealing (`SealError`) and of loading master keys (`KeyError`).
//!
//! Neither ever holds plaintext or key material, only where the problem is and what to do, so
//! both may be logged and shown to an administrator as they are.

use std::io;
use std::path::PathBuf;

use crate::key_id::KeyId;
use crate::sealed::MIN_SEALED_LEN;

/// A sealed value that could not be opened. Fields are owned so the error can outlive the
/// [`Aad`](crate::Aad) it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error(
        "{table}.{column} of row {row} was sealed with master key {key_id}, which is not loaded; \
         start emsg with that key (EMSG_MASTER_KEY or the key file), or, if you kept a copy of \
         it (a key file replaced by a rotation), pass it as --previous-key-file \
         (EMSG_PREVIOUS_KEY_FILE); `emsg keys status` lists every value no loaded key opens"
    )]
    UnknownKey {
        key_id: KeyId,
        table: String,
        column: String,
        row: i64,
    },

    #[error(
        "{table}.{column} of row {row} failed authentication: the stored value was altered, \
         copied from another row, or sealed under a different key; restore it from a backup or \
         enter the secret again"
    )]
    Unopenable {
        table: String,
        column: String,
        row: i64,
    },

    #[error(
        "{table}.{column} of row {row} is {len} bytes, shorter than the {MIN_SEALED_LEN} bytes of \
         the smallest sealed value; it was cut short or never sealed; enter the secret again"
    )]
    Truncated {
        table: String,
        column: String,
        row: i64,
        len: usize,
    },

    #[error(
        "{table}.{column} of row {row} opened, but is not UTF-8 text as a secret must be; it was \
         sealed as bytes by something other than emsg's secret store; enter the secret again"
    )]
    NotUtf8 {
        table: String,
        column: String,
        row: i64,
    },

    /// From [`KeyRing::key_id_of`](crate::KeyRing::key_id_of), which is not told where the value
    /// came from.
    #[error(
        "a sealed value of {len} bytes is shorter than the {MIN_SEALED_LEN} bytes of the smallest \
         sealed value, so it names no master key; it was cut short or never sealed"
    )]
    TooShort { len: usize },
}

/// A master key that could not be parsed, read or written. It names the variable or file and
/// the kind of I/O failure, never the key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "{origin} is not valid base64; it must be 32 bytes encoded as base64 (44 characters), \
         such as the output of `openssl rand -base64 32`"
    )]
    NotBase64 { origin: String },

    #[error("{origin} must be 32 bytes encoded as base64 (44 characters); got {len} bytes")]
    WrongLength { origin: String, len: usize },

    #[error(
        "cannot read the master key file {}: {kind}; check the path and that the user running \
         emsg may read it",
        .path.display()
    )]
    Read { path: PathBuf, kind: io::ErrorKind },

    #[error(
        "the master key file {} can be accessed by other users (mode {mode:03o}); run \
         `chmod 600 {}` and start emsg again",
        .path.display(),
        .path.display()
    )]
    TooOpen { path: PathBuf, mode: u32 },

    #[error(
        "cannot create the master key file {}: {kind}; check that its directory is writable by \
         the user running emsg",
        .path.display()
    )]
    Create { path: PathBuf, kind: io::ErrorKind },

    #[error(
        "the master key file {} already exists; it was not overwritten, because values sealed \
         with it would become unreadable",
        .path.display()
    )]
    AlreadyExists { path: PathBuf },

    #[error(
        "cannot replace the master key file {} with {}: {kind}; check that the directory is \
         writable by the user running emsg",
        .path.display(),
        .pending.display()
    )]
    Promote {
        pending: PathBuf,
        path: PathBuf,
        kind: io::ErrorKind,
    },
}
