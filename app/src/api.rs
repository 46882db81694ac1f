//! The UI's view of the HTTP API (the contract in ARCHITECTURE.md): request and response types,
//! and the calls the browser makes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A failed API call, as the UI shows it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ApiError {
    #[error("cannot reach the server: {0}")]
    Network(String),
    /// The server answered with its error shape `{"error":{"type","reason"},"status"}`.
    #[error("{reason}")]
    Server {
        status: u16,
        kind: String,
        reason: String,
    },
    #[error("unexpected answer from the server: {0}")]
    Decode(String),
}

impl ApiError {
    /// Reads the API's error shape out of a non-2xx body.
    pub fn from_error_body(status: u16, body: &str) -> ApiError {
        let parsed: Option<Value> = serde_json::from_str(body).ok();
        let error = parsed.as_ref().and_then(|v| v.get("error"));
        let field = |name: &str| {
            error
                .and_then(|e| e.get(name))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        ApiError::Server {
            status,
            kind: field("type").unwrap_or_else(|| "http_error".into()),
            reason: field("reason")
                .or_else(|| error.and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_else(|| format!("HTTP {status}")),
        }
    }
}

/// `POST /api/search`: one search on an index pattern.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchRequest {
    pub index: String,
    pub body: Value,
}

/// `POST /api/search`: one Elasticsearch search; answers the Elasticsearch response.
#[cfg(feature = "hydrate")]
pub async fn search(request: &SearchRequest) -> Result<Value, ApiError> {
    crate::browser::http::post_json("/api/search", request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_error_shape() {
        let error = ApiError::from_error_body(
            400,
            r#"{"error":{"type":"unsupported","reason":"aggregation [geo_grid] is not supported"},"status":400}"#,
        );
        assert_eq!(
            error,
            ApiError::Server {
                status: 400,
                kind: "unsupported".into(),
                reason: "aggregation [geo_grid] is not supported".into()
            }
        );
        let error = ApiError::from_error_body(502, "Bad Gateway");
        assert_eq!(error.to_string(), "HTTP 502");
    }
}
