//! Search backends behind one trait: the embedded engine, or the user's Elasticsearch /
//! OpenSearch cluster. Both take Elasticsearch request bodies and answer Elasticsearch
//! responses, so everything above them is the same.

pub mod elastic;
pub mod embedded;
pub mod with_geo;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ingest::DocSink;

/// Which kind of backend serves searches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    /// flowdash's own tantivy engine under the data directory.
    Embedded,
    /// The user's Elasticsearch or OpenSearch cluster (`--es-url`).
    Elasticsearch,
}

impl BackendKind {
    /// The name `/api/health` answers (`embedded`, `elasticsearch`).
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Embedded => "embedded",
            BackendKind::Elasticsearch => "elasticsearch",
        }
    }
}

/// What `GET /` of a cluster says about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterInfo {
    /// `7.10.2`, `2.11.0`, …
    pub version: String,
    /// `elasticsearch` or `opensearch`.
    pub distribution: String,
}

/// One search of a multi-search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchRequest {
    /// The index expression (`cwl-*`, comma-separated names).
    pub index: String,
    /// The Elasticsearch request body, as sent by the UI.
    pub body: Value,
}

/// A field as `_field_caps` describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldCaps {
    /// The field's dotted name.
    pub name: String,
    /// The Elasticsearch type name (`keyword`, `long`, `ip`, `date`, `text`, …).
    pub field_type: String,
    /// Whether the field can be queried.
    pub searchable: bool,
    /// Whether the field can be aggregated (keyword, numeric, date and ip fields).
    pub aggregatable: bool,
}

/// An index and its size, for `_cat/indices` and the management pages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexSummary {
    /// The index name.
    pub name: String,
    /// Documents in the index.
    pub docs: u64,
    /// Whether an hourly rollup holds its current flows (the embedded engine's; see
    /// `embedded/rollup`).
    #[serde(default)]
    pub rolled_up: bool,
}

/// Why a backend could not answer. Client errors carry Elasticsearch's error type and reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BackendError {
    /// The request is malformed or asks for something unsupported (HTTP 400).
    #[error("{reason}")]
    BadRequest {
        /// Elasticsearch's error type (`parsing_exception`, …).
        kind: String,
        /// What is wrong, for the user.
        reason: String,
    },
    /// The index expression matched no index.
    #[error("no such index [{0}]")]
    IndexNotFound(String),
    /// The cluster answered with an error: passed on with its status.
    #[error("the cluster answered {status}: {reason}")]
    Cluster {
        /// The HTTP status the cluster answered.
        status: u16,
        /// Elasticsearch's error type (`search_phase_execution_exception`, …).
        kind: String,
        /// Elasticsearch's reason, shortened and redacted.
        reason: String,
    },
    /// The cluster cannot be reached.
    #[error("cannot reach the cluster: {0}")]
    Unavailable(String),
    /// The search passed its deadline (`--search-timeout-ms`): a 504.
    #[error("the search took longer than {0} ms")]
    Timeout(u64),
    /// A resource limit was hit (too many buckets, say): a 400 in Elasticsearch too.
    #[error("{0}")]
    Limit(String),
    /// The request would take more memory than one request may (Elasticsearch's circuit
    /// breaker): a 429.
    #[error("{0}")]
    CircuitBreaking(String),
    /// Too many searches are running and waiting: a 429, to be retried later.
    #[error("{0}")]
    Overloaded(String),
    /// A fault in flowdash or its storage: a 500.
    #[error("{0}")]
    Internal(String),
}

impl BackendError {
    /// A 400 of Elasticsearch's error type `kind`.
    pub fn bad_request(kind: &str, reason: impl Into<String>) -> BackendError {
        BackendError::BadRequest {
            kind: kind.to_owned(),
            reason: reason.into(),
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            BackendError::BadRequest { .. } | BackendError::Limit(_) => 400,
            BackendError::IndexNotFound(_) => 404,
            BackendError::Cluster { status, .. } => *status,
            BackendError::Unavailable(_) => 502,
            BackendError::Timeout(_) => 504,
            BackendError::CircuitBreaking(_) | BackendError::Overloaded(_) => 429,
            BackendError::Internal(_) => 500,
        }
    }

    /// The Elasticsearch error type.
    pub fn kind(&self) -> &str {
        match self {
            BackendError::BadRequest { kind, .. } | BackendError::Cluster { kind, .. } => kind,
            BackendError::IndexNotFound(_) => "index_not_found_exception",
            BackendError::Unavailable(_) => "cluster_unavailable",
            BackendError::Timeout(_) => "search_timeout",
            BackendError::Limit(_) => "too_many_buckets_exception",
            BackendError::CircuitBreaking(_) => "circuit_breaking_exception",
            BackendError::Overloaded(_) => "es_rejected_execution_exception",
            BackendError::Internal(_) => "internal_error",
        }
    }

    /// Elasticsearch's error body for this error.
    pub fn to_es_body(&self) -> Value {
        serde_json::json!({
            "error": {
                "root_cause": [{ "type": self.kind(), "reason": self.to_string() }],
                "type": self.kind(),
                "reason": self.to_string(),
            },
            "status": self.status(),
        })
    }
}

/// A search backend.
#[async_trait]
pub trait SearchBackend: Send + Sync + 'static {
    /// Which backend this is, for `/api/health` and the UI.
    fn kind(&self) -> BackendKind;

    /// The cluster's version (the embedded engine answers as the Elasticsearch it emulates).
    async fn info(&self) -> Result<ClusterInfo, BackendError>;

    /// One search: an Elasticsearch request body in, the Elasticsearch response out.
    async fn search(&self, index: &str, body: Value) -> Result<Value, BackendError>;

    /// One search's response as JSON text, for an answer passed on as it is (the browser's
    /// multi-search): a backend that keeps answers as text serves them without reading them.
    async fn search_text(
        &self,
        index: &str,
        body: Value,
    ) -> Result<std::sync::Arc<str>, BackendError> {
        Ok(self.search(index, body).await?.to_string().into())
    }

    /// The fields of the indices an expression names.
    async fn field_caps(&self, index: &str) -> Result<Vec<FieldCaps>, BackendError>;

    /// The indices, with document counts.
    async fn indices(&self) -> Result<Vec<IndexSummary>, BackendError>;

    /// A sink that stores ingested flow documents in this backend.
    fn ingest_sink(&self) -> Box<dyn DocSink + Send>;
}
