//! What a use case answers when it cannot do what was asked, in words the asker can act on.

use emsg_engine::EngineError;
use emsg_store::StoreError;
use emsg_store::db::GatewayError;

#[derive(Debug, thiserror::Error)]
pub enum UseCaseError {
    // Transparent: the command line prints an error with its causes, which must not repeat.
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The thing asked for does not exist; the text says where to find what does.
    #[error("{0}")]
    NotFound(String),
    /// The input was wrong; nothing was changed.
    #[error("{0}")]
    Invalid(String),
    /// The actor's role does not allow it.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Internal(String),
}

/// Database work that did not run to its end, in the words the pages have always shown.
impl From<GatewayError> for UseCaseError {
    fn from(error: GatewayError) -> Self {
        Self::Internal(
            match error {
                GatewayError::Closed => "the database pool is closed",
                GatewayError::TaskFailed(_) => "a database task was cancelled",
            }
            .to_owned(),
        )
    }
}

impl UseCaseError {
    /// The store's refusal of bad input is the asker's mistake, not a storage failure.
    pub(crate) fn input(error: StoreError) -> Self {
        match error {
            StoreError::Invalid(message) => Self::Invalid(message),
            other => Self::Store(other),
        }
    }
}
