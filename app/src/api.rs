//! The UI's view of the HTTP API (the contract in ARCHITECTURE.md): request and response
//! types, and the calls pages make. Saved objects read the same on both sides: through the
//! store while the server renders, through HTTP in the browser.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::saved_object::{FindResult, ObjectType, SavedObject};

/// A failed API call, as the UI shows it.
#[derive(Clone, Debug, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum ApiError {
    /// The request did not reach the server, or its answer was cut off.
    #[error("cannot reach the server: {0}")]
    Network(String),
    /// The server answered with its error shape `{"error":{"type","reason"},"status"}`.
    #[error("{reason}")]
    Server {
        /// The HTTP status.
        status: u16,
        /// Elasticsearch's error type (`parse_exception`, `version_conflict`).
        kind: String,
        /// What went wrong, for people.
        reason: String,
    },
    /// The answer did not read as what the call expects.
    #[error("unexpected answer from the server: {0}")]
    Decode(String),
}

impl ApiError {
    /// Reads the API's error shape out of a non-2xx body (text that may not be JSON at all).
    pub fn from_error_body(status: u16, body: &str) -> ApiError {
        let parsed = serde_json::from_str(body).unwrap_or(Value::Null);
        ApiError::from_error_value(status, &parsed)
    }

    /// Reads the API's error shape `{"error":{"type","reason"},"status"}` out of a parsed
    /// answer: the same fields whether it came as a whole body or inside a multi-search.
    pub fn from_error_value(status: u16, answer: &Value) -> ApiError {
        let error = answer.get("error");
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

    /// The error of one search inside a multi-search answer, if it is one.
    pub fn from_response(response: &Value) -> Option<ApiError> {
        response.get("error")?;
        let status = response
            .get("status")
            .and_then(Value::as_u64)
            .unwrap_or(500) as u16;
        Some(ApiError::from_error_value(status, response))
    }

    /// The HTTP status of a server error; `None` when the server did not answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Server { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Most searches one `POST /api/msearch` carries; more go in further requests.
pub const MAX_MSEARCH_SEARCHES: usize = 100;

/// `POST /api/search`: one search on an index pattern.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchRequest {
    /// The index pattern to search (`cwl-*`).
    pub index: String,
    /// The Elasticsearch search body.
    pub body: Value,
}

/// What saved-object writes send.
#[derive(Clone, Debug, Serialize)]
pub struct ObjectWrite<'a> {
    /// The object's new attributes.
    pub attributes: &'a Value,
    /// The version the edit started from: the server refuses the write (409) if the object has changed since.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

#[cfg(feature = "ssr")]
pub use self::server_side::{BoxFuture, ObjectSource, Objects};

#[cfg(feature = "ssr")]
mod server_side {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;

    use super::ApiError;
    use crate::model::saved_object::{FindResult, ObjectType, SavedObject};

    /// A boxed future the object source answers with (object-safe, `Send`).
    pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

    /// How the server renderer reads saved objects (the server implements it over its store).
    pub trait ObjectSource: Send + Sync + 'static {
        /// One page of the objects of these types whose title matches `search` (all of them
        /// when `None`), by title.
        fn find(
            &self,
            types: Vec<ObjectType>,
            search: Option<String>,
            page: usize,
            per_page: usize,
        ) -> BoxFuture<'_, Result<FindResult, ApiError>>;
        /// One object by type and id.
        fn get(
            &self,
            object_type: ObjectType,
            id: String,
        ) -> BoxFuture<'_, Result<SavedObject, ApiError>>;
    }

    /// The renderer's object source, provided as Leptos context.
    #[derive(Clone)]
    pub struct Objects(pub Arc<dyn ObjectSource>);
}

/// Reads saved objects: the store while rendering on the server, HTTP in the browser.
#[derive(Clone)]
pub struct ObjectsClient {
    #[cfg(feature = "ssr")]
    source: Option<Objects>,
}

impl ObjectsClient {
    /// Call inside a component (it reads the server's context).
    pub fn from_context() -> ObjectsClient {
        ObjectsClient {
            #[cfg(feature = "ssr")]
            source: leptos::prelude::use_context::<Objects>(),
        }
    }

    /// Objects of these types whose title matches `search`, the first [`FIND_ALL`]: for the
    /// few kinds a page needs all of (index patterns, saved searches).
    pub async fn find(
        &self,
        types: Vec<ObjectType>,
        search: Option<String>,
    ) -> Result<FindResult, ApiError> {
        self.find_page(types, search, 1, FIND_ALL).await
    }

    /// One page (from 1) of the objects of these types whose title matches `search`, by
    /// title, and how many match: from the server's store while rendering, over HTTP in the
    /// browser.
    pub async fn find_page(
        &self,
        types: Vec<ObjectType>,
        search: Option<String>,
        page: usize,
        per_page: usize,
    ) -> Result<FindResult, ApiError> {
        #[cfg(feature = "ssr")]
        {
            match &self.source {
                Some(source) => source.0.find(types, search, page, per_page).await,
                None => Err(ApiError::Network("no object source".into())),
            }
        }
        #[cfg(not(feature = "ssr"))]
        {
            let types: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
            let mut url = format!(
                "/api/saved_objects/_find?page={page}&per_page={per_page}&type={}",
                types.join(",")
            );
            if let Some(search) = search.filter(|s| !s.trim().is_empty()) {
                url.push_str(&format!("&search={}", encode(&search)));
            }
            http::get_json(&url).await
        }
    }

    /// The index patterns and saved searches visualizations run with (objects that do not
    /// read as their type are left out).
    pub async fn library(&self) -> Result<crate::panels::Library, ApiError> {
        let found = self
            .find(crate::panels::Library::TYPES.to_vec(), None)
            .await?;
        Ok(crate::panels::Library::from_objects(found.saved_objects))
    }

    /// One object by type and id, as [`ObjectsClient::find`] reads them.
    pub async fn get(&self, object_type: ObjectType, id: String) -> Result<SavedObject, ApiError> {
        #[cfg(feature = "ssr")]
        {
            match &self.source {
                Some(source) => source.0.get(object_type, id).await,
                None => Err(ApiError::Network("no object source".into())),
            }
        }
        #[cfg(not(feature = "ssr"))]
        {
            http::get_json(&format!(
                "/api/saved_objects/{}/{}",
                object_type.as_str(),
                encode(&id)
            ))
            .await
        }
    }
}

/// How many objects [`ObjectsClient::find`] reads at most.
pub const FIND_ALL: usize = 1000;

/// Percent-encodes a URL component.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// Decodes a percent-encoded URL component (`+` as space).
pub fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// HTTP from the page: the browser's `fetch`, or its do-nothing twin outside a browser.
pub use crate::browser::http;

/// The calls pages make. Outside the browser (the server's render, tests) they compile the
/// same and answer an error, through `http`'s twin: pages are written once, and their event
/// handlers and effects, which make the calls, never run there.
pub mod calls;

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
        assert_eq!(
            ApiError::from_error_body(502, "Bad Gateway").to_string(),
            "HTTP 502"
        );
    }

    #[test]
    fn url_components_round_trip() {
        let text = "action:REJECT and dstport >= 22/ü";
        assert_eq!(decode(&encode(text)), text);
        assert_eq!(decode("a+b%2Fc"), "a b/c");
    }
}
