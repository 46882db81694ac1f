//! The domain model shared by the server and the browser.

pub mod control;
pub mod dashboard;
pub mod drilldown;
pub mod field_format;
pub mod filter;
pub mod flow;
pub mod index_pattern;
pub mod kql;
pub mod measure;
pub mod names;
pub mod network;
pub mod saved_object;
pub mod saved_query;
pub mod search;
pub mod time;
pub mod visualization;

use visualization::ModelError;

/// Reads a model type from JSON; a bad value is reported with its path (`buckets[1].agg`).
pub(crate) fn from_json_with_path<T: serde::de::DeserializeOwned>(
    json: &str,
) -> Result<T, ModelError> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(&mut deserializer).map_err(path_error)
}

/// The same from a JSON value.
pub(crate) fn from_value_with_path<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, ModelError> {
    serde_path_to_error::deserialize(value).map_err(path_error)
}

fn path_error<E: std::fmt::Display>(error: serde_path_to_error::Error<E>) -> ModelError {
    let path = error.path().to_string();
    let path = if path == "." {
        "(root)".to_owned()
    } else {
        path
    };
    ModelError::new(path, error.inner().to_string())
}
