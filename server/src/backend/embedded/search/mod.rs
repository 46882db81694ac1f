//! Executing Elasticsearch search requests on the embedded engine.

use serde_json::Value;

use super::{EmbeddedEngine, EngineError};
use crate::backend::BackendError;

/// Runs one search on the indices `index` names.
pub fn search(
    _engine: &EmbeddedEngine,
    _index: &str,
    _body: &Value,
) -> Result<Value, BackendError> {
    Err(BackendError::bad_request(
        "illegal_argument_exception",
        "search is not implemented yet",
    ))
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
