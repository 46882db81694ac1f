//! The search layer's one error type, and how it becomes the backend's: client errors keep
//! Elasticsearch's error types.

use serde::{Deserialize, Serialize};

use super::super::EngineError;
use super::MAX_BUCKETS;
use crate::backend::BackendError;

/// Why a search cannot be answered. Client errors keep Elasticsearch's error types.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum SearchError {
    /// The request does not parse (`parsing_exception`).
    #[error("{0}")]
    Parsing(String),
    /// The request parses but asks for something impossible (`illegal_argument_exception`).
    #[error("{0}")]
    Illegal(String),
    /// Valid Elasticsearch that the embedded engine does not implement.
    #[error("{0}")]
    Unsupported(String),
    /// The aggregations would make more than [`MAX_BUCKETS`] buckets
    /// (`too_many_buckets_exception`).
    #[error(
        "Trying to create too many buckets. Must be less than or equal to: [{}].",
        MAX_BUCKETS
    )]
    TooManyBuckets,
    /// The named index does not exist (`index_not_found_exception`).
    #[error("no such index [{0}]")]
    IndexNotFound(String),
    /// The search would take more memory than one search may (`circuit_breaking_exception`).
    #[error("{0}")]
    CircuitBreaking(String),
    /// The search ran past its deadline, in milliseconds, and stopped.
    #[error("the search took longer than {0} ms")]
    TimedOut(u64),
    /// A failure of the engine itself, not of the request (a 500).
    #[error("{0}")]
    Internal(String),
}

impl SearchError {
    /// A [`SearchError::Parsing`] with this reason.
    pub fn parsing(reason: impl Into<String>) -> SearchError {
        SearchError::Parsing(reason.into())
    }
    /// A [`SearchError::Illegal`] with this reason.
    pub fn illegal(reason: impl Into<String>) -> SearchError {
        SearchError::Illegal(reason.into())
    }
    /// A [`SearchError::Unsupported`] with this reason.
    pub fn unsupported(reason: impl Into<String>) -> SearchError {
        SearchError::Unsupported(reason.into())
    }

    /// An error of tantivy's own while searching (reading a segment, an I/O error).
    pub(super) fn from_tantivy(error: tantivy::TantivyError) -> SearchError {
        SearchError::Internal(error.to_string())
    }
}

impl From<SearchError> for BackendError {
    fn from(error: SearchError) -> BackendError {
        match error {
            SearchError::Parsing(reason) => BackendError::bad_request("parsing_exception", reason),
            SearchError::Illegal(reason) => {
                BackendError::bad_request("illegal_argument_exception", reason)
            }
            SearchError::Unsupported(reason) => {
                BackendError::bad_request("unsupported_by_embedded_engine", reason)
            }
            SearchError::TooManyBuckets => BackendError::Limit(error.to_string()),
            SearchError::IndexNotFound(name) => BackendError::IndexNotFound(name),
            SearchError::CircuitBreaking(reason) => BackendError::CircuitBreaking(reason),
            SearchError::TimedOut(ms) => BackendError::Timeout(ms),
            SearchError::Internal(reason) => BackendError::Internal(reason),
        }
    }
}

/// Maps engine errors to backend errors.
pub fn engine_error(error: EngineError) -> BackendError {
    match error {
        EngineError::IndexNotFound(name) => BackendError::IndexNotFound(name),
        EngineError::InvalidIndexName { .. } => {
            BackendError::bad_request("invalid_index_name_exception", error.to_string())
        }
        other => BackendError::Internal(other.to_string()),
    }
}
