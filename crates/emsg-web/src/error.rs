//! One error type for every handler, with a stable snake_case code in JSON answers, and its
//! HTML face ([`PageError`]) for the pages.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use emsg_use_cases::{EngineError, StoreError, UseCaseError};

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("{0}")]
    Store(StoreError),
    #[error("{0}")]
    Engine(EngineError),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("log in first: this needs a session (POST /login) or an API call with its cookie")]
    Unauthenticated,
    #[error(
        "the API key is not valid or was revoked: make a new one with `emsg users api-key NAME` \
         and send it as `Authorization: Bearer KEY`"
    )]
    BadApiKey,
    #[error(
        "you logged in with a one-time password: choose your own first (the Change password \
         page, or POST /api/v1/account/password)"
    )]
    PasswordChangeRequired,
    #[error("{0}")]
    Forbidden(String),
    #[error(
        "the form or request is missing its anti-forgery token or it does not match your session: \
         reload the page and try again"
    )]
    Csrf,
    #[error("{0}")]
    Throttled(String),
    #[error("page could not be rendered: {0}")]
    Template(String),
    #[error("{0}")]
    Internal(String),
}

impl From<UseCaseError> for WebError {
    fn from(e: UseCaseError) -> Self {
        use UseCaseError as E;
        match e {
            E::Store(e) => Self::Store(e),
            E::Engine(e) => Self::Engine(e),
            E::NotFound(m) => Self::NotFound(m),
            E::Invalid(m) => Self::BadRequest(m),
            E::Forbidden(m) => Self::Forbidden(m),
            E::Internal(m) => Self::Internal(m),
        }
    }
}

/// The store's and the engine's own refusals (the session and throttle code reaches the store
/// itself) read as the use cases read them.
impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        UseCaseError::from(e).into()
    }
}

impl From<EngineError> for WebError {
    fn from(e: EngineError) -> Self {
        UseCaseError::from(e).into()
    }
}

impl WebError {
    /// A send error: the user's mistakes as 4xx answers, the rest as they are.
    pub(crate) fn from_send(error: emsg_use_cases::messages::SendError) -> Self {
        use emsg_use_cases::messages::SendError;
        match error {
            SendError::Store(StoreError::UnknownWebService(name)) => {
                Self::NotFound(emsg_use_cases::messages::no_service_named(&name))
            }
            SendError::Store(e) => Self::Store(e),
            SendError::Internal(e) => Self::Internal(e),
            e @ (SendError::Fields(_)
            | SendError::Setup(_)
            | SendError::Refused(_)
            | SendError::IdempotencyKeyReused(_)) => Self::BadRequest(e.to_string()),
        }
    }

    pub fn code(&self) -> &str {
        match self {
            Self::Store(StoreError::UnknownWebApplication(_) | StoreError::UnknownUser(_))
            | Self::NotFound(_) => "not_found",
            Self::Store(StoreError::LastAdministrator(_)) => "last_administrator",
            Self::Store(StoreError::WrongPassword) => "wrong_password",
            Self::Store(StoreError::DuplicateUser(_)) => "duplicate_user",
            Self::Store(_) => "storage_error",
            Self::PasswordChangeRequired => "password_change_required",
            Self::Engine(e) => e.code(),
            Self::BadRequest(_) => "bad_request",
            Self::Unauthenticated => "login_required",
            Self::BadApiKey => "invalid_api_key",
            Self::Forbidden(_) => "forbidden",
            Self::Csrf => "csrf_failed",
            Self::Throttled(_) => "too_many_attempts",
            Self::Template(_) => "template_error",
            Self::Internal(_) => "internal_error",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Store(StoreError::UnknownWebApplication(_) | StoreError::UnknownUser(_))
            | Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Store(StoreError::LastAdministrator(_) | StoreError::DuplicateUser(_)) => {
                StatusCode::CONFLICT
            }
            Self::Store(StoreError::WrongPassword) => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated | Self::BadApiKey => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::Csrf | Self::PasswordChangeRequired => StatusCode::FORBIDDEN,
            Self::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Engine(e) => match e {
                EngineError::Store(StoreError::UnknownWebApplication(_)) => StatusCode::NOT_FOUND,
                EngineError::NotConfigured(_)
                | EngineError::WrongKind(_)
                | EngineError::Refused(_)
                | EngineError::NotConnected(_)
                | EngineError::Denied { .. } => StatusCode::CONFLICT,
                EngineError::Provider { .. } | EngineError::IdToken(_) => StatusCode::BAD_GATEWAY,
                EngineError::Store(_) | EngineError::Internal(_) => {
                    StatusCode::INTERNAL_SERVER_ERROR
                }
            },
            Self::Store(_) | Self::Template(_) | Self::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn log(&self) {
        if self.status().is_server_error() {
            tracing::warn!(code = self.code(), error = %self, "request failed");
        } else {
            tracing::info!(code = self.code(), error = %self, "request refused");
        }
    }
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        self.log();
        HttpResponse::build(self.status_code())
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({
                "error": self.code(),
                "message": self.to_string(),
            }))
    }
}

/// The same errors for people: a small HTML page, or the log-in page for an anonymous visitor.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("log in first")]
    Login { next: String },
    #[error("choose your own password first")]
    PasswordChange,
    #[error(transparent)]
    Web(#[from] WebError),
}

impl From<UseCaseError> for PageError {
    fn from(e: UseCaseError) -> Self {
        Self::Web(e.into())
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        Self::Web(UseCaseError::from(e).into())
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Login { .. } | Self::PasswordChange => StatusCode::SEE_OTHER,
            Self::Web(e) => e.status(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Login { next } => HttpResponse::SeeOther()
                .insert_header((header::LOCATION, crate::respond::login_url(next)))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish(),
            Self::PasswordChange => HttpResponse::SeeOther()
                .insert_header((header::LOCATION, crate::respond::PASSWORD_PATH))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish(),
            Self::Web(e) => {
                e.log();
                let status = e.status();
                let title = status.canonical_reason().unwrap_or("Error");
                let body = format!(
                    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
                     <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
                     <title>{title} · emsg</title><link rel=\"stylesheet\" href=\"/static/emsg.css\"></head>\
                     <body><header><a class=\"brand\" href=\"/\">emsg</a> <span>Electronic messages</span></header>\
                     <main><h1>{title}</h1><p role=\"alert\">{}</p>\
                     <p><a href=\"/web-applications\">Back to Web applications</a></p></main></body></html>\n",
                    handlebars::html_escape(&e.to_string())
                );
                crate::respond::html(status, body)
            }
        }
    }
}
