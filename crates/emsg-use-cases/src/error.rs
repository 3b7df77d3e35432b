//! What a use case answers when it cannot do what was asked, in words the asker can act on.

use emsg_engine::EngineError;
use emsg_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum UseCaseError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
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

impl UseCaseError {
    /// The store's refusal of bad input is the asker's mistake, not a storage failure.
    pub(crate) fn input(error: StoreError) -> Self {
        match error {
            StoreError::Invalid(message) => Self::Invalid(message),
            other => Self::Store(other),
        }
    }
}
