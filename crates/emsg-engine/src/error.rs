//! What can go wrong in an action, in words a finance user can act on.

use emsg_oidc::IdTokenError;
use emsg_store::StoreError;

/// How a provider's refusal or failure is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderFailureKind {
    /// The grant or code is dead (`invalid_grant`): authorize again; never retried.
    Dead,
    /// The provider refused the request for a reason retrying will not fix (`invalid_client`,
    /// `invalid_scope`, an unsupported token type): someone must change the setup.
    Rejected,
    /// Network error, timeout, 5xx, an unreadable answer, a refresh already in progress:
    /// retried with back-off.
    Transient,
}

/// A failure at the provider, with its error code when it sent one. Never holds a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderFailure {
    pub kind: ProviderFailureKind,
    pub code: Option<String>,
    pub message: String,
}

impl std::fmt::Display for ProviderFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{code}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    NotConfigured(String),
    #[error("{0}")]
    WrongKind(String),
    #[error("{0}")]
    Refused(String),
    #[error("{what} at the provider failed ({failure}). {advice}")]
    Provider {
        what: String,
        failure: ProviderFailure,
        advice: String,
    },
    #[error(
        "the ID token in the provider's answer was not accepted: {0}. Nothing was stored; get a new authorization code"
    )]
    IdToken(#[from] IdTokenError),
    #[error("{0}")]
    NotConnected(String),
    /// The provider's own refusal at sign-in (`access_denied`…), with its error code.
    #[error("{message}")]
    Denied { code: String, message: String },
    #[error("internal error: {0}")]
    Internal(String),
}

/// Database work that did not run to its end (a panicked or cancelled task) is an internal error.
impl From<emsg_store::db::GatewayError> for EngineError {
    fn from(error: emsg_store::db::GatewayError) -> Self {
        Self::Internal(error.to_string())
    }
}

impl EngineError {
    /// A stable code for JSON answers and the audit log.
    pub fn code(&self) -> &str {
        match self {
            Self::Store(StoreError::UnknownWebApplication(_)) => "unknown_web_application",
            Self::Store(_) => "storage_error",
            Self::NotConfigured(_) => "not_configured",
            Self::WrongKind(_) => "wrong_kind",
            Self::Refused(_) => "refused",
            Self::Provider { failure, .. } => {
                failure.code.as_deref().unwrap_or(match failure.kind {
                    ProviderFailureKind::Transient => "provider_unavailable",
                    _ => "provider_error",
                })
            }
            Self::IdToken(_) => "invalid_id_token",
            Self::NotConnected(_) => "not_connected",
            Self::Denied { code, .. } => code,
            Self::Internal(_) => "internal_error",
        }
    }
}
