//! One error type for every handler, with a stable snake_case code in JSON answers.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("{0}")]
    Store(#[from] emsg_store::StoreError),
    #[error("{0}")]
    NotFound(String),
    #[error("page could not be rendered: {0}")]
    Template(String),
    #[error("{0}")]
    Internal(String),
}

impl WebError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Store(emsg_store::StoreError::UnknownWebApplication(_)) | Self::NotFound(_) => {
                "not_found"
            }
            Self::Store(_) => "storage_error",
            Self::Template(_) => "template_error",
            Self::Internal(_) => "internal_error",
        }
    }
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self.code() {
            "not_found" => StatusCode::NOT_FOUND,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        tracing::warn!(code = self.code(), error = %self, "request failed");
        HttpResponse::build(self.status_code()).json(serde_json::json!({
            "error": self.code(),
            "message": self.to_string(),
        }))
    }
}
