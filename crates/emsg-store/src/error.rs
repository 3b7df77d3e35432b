//! The storage error: what failed, where, and what to do.

use emsg_seal::SealError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("could not connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("could not get a database connection from the pool: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error(
        "the master key {loaded} does not open this database (it was sealed with key {expected}). \
         Start emsg with the key this database was created with: set EMSG_MASTER_KEY or point \
         --key-file at it. Nothing was read or written."
    )]
    WrongMasterKey { loaded: String, expected: String },
    #[error("{0}")]
    Invalid(String),
    /// The file or form asks for something its author may not have (an environment variable
    /// the operator did not allow, an outbound URL to a private address): nothing was written.
    #[error("{0}")]
    Refused(emsg_webapps::ImportErrors),
    #[error("no web application is named `{0}`; `emsg apps list` shows the names")]
    UnknownWebApplication(String),
    #[error("no web service is named `{0}`; `emsg services list` shows the names")]
    UnknownWebService(String),
    /// Another message was stored under this user's idempotency key a moment ago.
    #[error("a message was already stored under this Idempotency-Key")]
    IdempotencyKeyTaken,
    #[error("a user named `{0}` already exists; choose another name")]
    DuplicateUser(String),
    #[error("no user is named `{0}`; `emsg users list` shows the names")]
    UnknownUser(String),
    #[error("{0}")]
    LastAdministrator(String),
    #[error("the current password is not right")]
    WrongPassword,
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
