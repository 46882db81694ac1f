//! The one error type of the HTTP layer, answered in Elasticsearch's error shape
//! (`{"error":{"type","reason"},"status"}`) on every route, so clients parse one format.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// What a handler answers when it cannot answer what was asked.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The client sent something we cannot act on; the message says what.
    #[error("{reason}")]
    BadRequest {
        /// The Elasticsearch error type (`parsing_exception`, `bad_request`).
        kind: &'static str,
        /// What is wrong, for the user.
        reason: String,
    },
    /// No such object, index or route (404).
    #[error("{0}")]
    NotFound(String),
    /// Not allowed: off the allow-list, or beyond the user's role (403).
    #[error("{0}")]
    Forbidden(String),
    /// A write that lost to another (409): the object changed since it was read.
    #[error("{0}")]
    Conflict(String),
    /// A body over the server's limits (413).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A search backend's answer, passed on with its status and Elasticsearch error type.
    #[error(transparent)]
    Backend(#[from] crate::backend::BackendError),
    /// Something failed on our side; logged, and answered with a generic message.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// A 400 of type `bad_request` saying `reason`.
    pub fn bad_request(reason: impl Into<String>) -> Self {
        AppError::BadRequest {
            kind: "bad_request",
            reason: reason.into(),
        }
    }

    fn status_and_kind(&self) -> (StatusCode, &str) {
        match self {
            AppError::Backend(error) => (
                StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_GATEWAY),
                error.kind(),
            ),
            AppError::BadRequest { kind, .. } => (StatusCode::BAD_REQUEST, kind),
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "security_exception"),
            AppError::Conflict(_) => (StatusCode::CONFLICT, "version_conflict"),
            AppError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }
}

impl AppError {
    /// The error body (also used inside multi-search answers).
    pub fn to_body(&self) -> serde_json::Value {
        self.parts().1
    }

    fn parts(&self) -> (StatusCode, serde_json::Value) {
        let (status, kind) = self.status_and_kind();
        let reason = match &self {
            AppError::Internal(error) => {
                tracing::error!(error = ?error, "request failed");
                "internal server error; see the server log".to_owned()
            }
            AppError::Backend(error @ crate::backend::BackendError::Internal(_)) => {
                tracing::error!(%error, "search failed");
                "internal server error; see the server log".to_owned()
            }
            other => crate::redact::redact(&other.to_string()),
        };
        let body = json!({
            "error": { "type": kind, "reason": reason },
            "status": status.as_u16(),
        });
        (status, body)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, body) = self.parts();
        (status, Json(body)).into_response()
    }
}
