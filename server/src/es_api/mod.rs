//! The Elasticsearch-compatible surface of the embedded engine, under `/es`: enough of the
//! REST API for the AWS `LogsToElasticsearch` Lambda, the Elasticsearch outputs of Fluent Bit,
//! Vector and Logstash, curl, and flowdash's own Elasticsearch client.
//!
//! `GET /`, `_bulk`, `_search`, `_msearch`, `_count`, `_field_caps`, `_mapping`,
//! `_cat/indices`, `_cluster/health`, `_refresh`, index create and delete; and for system
//! indices (`.name`, see [`documents`]) `_doc` get, index and delete, so another flowdash can
//! keep its saved objects here.

mod bulk;
pub mod documents;
mod indices;
mod search;
mod typed_keys;

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use self::indices::{
    cat_indices, cluster_health, create_index, delete_index, field_caps, get_index, head_index,
    mapping, refresh,
};
use self::search::{count_handler, msearch_handler, search_handler};
use crate::backend::elastic::compat::ClusterVersion;
use crate::backend::embedded::search::SearchError;
use crate::backend::embedded::EmbeddedEngine;
use crate::backend::BackendError;

/// Everything `/es` needs: the embedded engine, its system indices and the limits that apply
/// to them. The surface exists only in embedded mode (the app state holds one then), so no
/// handler asks whether there is an engine: `/es` is the router's own state.
#[derive(Clone)]
pub struct EsSurface {
    /// The flow indices.
    pub engine: Arc<EmbeddedEngine>,
    /// The system indices (`.flowdash` and the like).
    pub system: Arc<documents::SystemIndices>,
    /// The largest `_bulk` body, once decompressed.
    pub max_bulk_bytes: u64,
    /// The Elasticsearch version `/es` answers as (its request checks and response shapes).
    pub compat_version: Arc<str>,
}

impl EsSurface {
    /// The version `/es` emulates, when it is not the engine's own (see
    /// [`crate::backend::embedded::EMULATED_VERSION`]).
    fn emulated_version(&self) -> Option<ClusterVersion> {
        (*self.compat_version != *crate::backend::embedded::EMULATED_VERSION)
            .then(|| ClusterVersion::from_number(&self.compat_version, false))
            .flatten()
    }

    /// The major version `/es` emulates.
    fn compat_major(&self) -> u32 {
        self.compat_version
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(7)
    }
}

/// An error in Elasticsearch's own body shape.
pub struct EsError(pub BackendError);

impl From<BackendError> for EsError {
    fn from(error: BackendError) -> Self {
        EsError(error)
    }
}

impl From<SearchError> for EsError {
    fn from(error: SearchError) -> Self {
        EsError(error.into())
    }
}

impl IntoResponse for EsError {
    fn into_response(self) -> Response {
        if let BackendError::Internal(reason) = &self.0 {
            tracing::error!(%reason, "es api request failed");
        }
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self.0.to_es_body())).into_response()
    }
}

fn parse_error(reason: impl Into<String>) -> EsError {
    EsError(BackendError::bad_request("parse_exception", reason))
}

/// The `/es` routes, with their own state: merged into the app's router in embedded mode.
pub fn router<S>(es: EsSurface) -> Router<S> {
    let routes = Router::new()
        .route("/", get(root).head(root_head))
        .route("/_bulk", post(bulk_handler).put(bulk_handler))
        .route("/_msearch", post(msearch_handler).get(msearch_handler))
        .route("/_search", get(search_handler).post(search_handler))
        .route("/_count", get(count_handler).post(count_handler))
        .route("/_cat/indices", get(cat_indices))
        .route("/_cat/indices/{index}", get(cat_indices))
        .route("/_cluster/health", get(cluster_health))
        .route("/_refresh", post(refresh).get(refresh))
        .route(
            "/{index}",
            get(get_index)
                .put(create_index)
                .delete(delete_index)
                .head(head_index),
        )
        .route("/{index}/_bulk", post(bulk_handler).put(bulk_handler))
        .route("/{index}/_search", get(search_handler).post(search_handler))
        .route(
            "/{index}/_msearch",
            post(msearch_handler).get(msearch_handler),
        )
        .route("/{index}/_count", get(count_handler).post(count_handler))
        .route("/{index}/_field_caps", get(field_caps).post(field_caps))
        .route("/{index}/_mapping", get(mapping))
        .route("/{index}/_refresh", post(refresh).get(refresh))
        .route(
            "/{index}/_doc/{id}",
            get(get_doc)
                .put(index_doc)
                .post(index_doc)
                .delete(delete_doc),
        )
        .route("/{index}/_create/{id}", put(create_doc).post(create_doc));
    Router::new()
        .nest("/es", routes)
        // Clients join paths to a base URL ending in /es: `GET /es/` is the root too.
        .route("/es/", get(root).head(root_head))
        .with_state(es)
}

async fn root(State(es): State<EsSurface>) -> Json<Value> {
    Json(json!({
        "name": "flowdash",
        "cluster_name": "flowdash",
        "cluster_uuid": "flowdash-embedded",
        "version": {
            "number": &*es.compat_version,
            "build_flavor": "oss",
            "build_type": "flowdash",
            "lucene_version": "8.7.0",
            "minimum_wire_compatibility_version": "6.8.0",
            "minimum_index_compatibility_version": "6.0.0-beta1"
        },
        "tagline": "You Know, for Search"
    }))
}

async fn root_head() -> StatusCode {
    StatusCode::OK
}

/// Runs blocking engine work off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, EsError> + Send + 'static,
) -> Result<T, EsError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| EsError(BackendError::Internal(e.to_string())))?
}

/// Runs searches once the engine admits them, within the server's search deadline (which the
/// engine keeps: see [`EmbeddedEngine::run_search`]).
async fn searching<T: Send + 'static>(
    engine: &Arc<EmbeddedEngine>,
    work: impl FnOnce(&EmbeddedEngine) -> Result<T, BackendError> + Send + 'static,
) -> Result<T, EsError> {
    engine.run_search(work).await.map_err(EsError)
}

fn json_body(body: &Bytes) -> Result<Value, EsError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_slice(body).map_err(|e| parse_error(format!("request body is not JSON: {e}")))
}

/// The index expression of a route with an optional `{index}`: all indices without one.
fn index_or_all(index: Option<Path<String>>) -> String {
    index.map_or_else(|| "_all".to_owned(), |Path(i)| i)
}

/// `/_bulk` and `/{index}/_bulk` (the index is the default for actions without one).
async fn bulk_handler(
    State(es): State<EsSurface>,
    index: Option<Path<String>>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, EsError> {
    bulk::run(
        es.engine.clone(),
        index.map(|Path(i)| i),
        params,
        headers,
        body,
        es.max_bulk_bytes,
    )
    .await
}

/// The answer of a document write, as Elasticsearch gives it.
fn write_answer(index: &str, id: &str, version: u64, result: &str) -> Value {
    json!({
        "_index": index, "_type": "_doc", "_id": id, "_version": version, "result": result,
        "_shards": { "total": 1, "successful": 1, "failed": 0 },
        "_seq_no": version - 1, "_primary_term": 1,
    })
}

/// Documents live only in system indices; flows arrive through `_bulk`.
fn documents_only(index: &str) -> Result<(), EsError> {
    if documents::is_system(index) {
        Ok(())
    } else {
        Err(EsError(BackendError::bad_request(
            "unsupported_by_embedded_engine",
            format!("single-document APIs on [{index}] are not supported by the embedded engine: flow indices take documents through _bulk; system indices (names starting with '.') take them here"),
        )))
    }
}

async fn get_doc(
    State(es): State<EsSurface>,
    Path((index, id)): Path<(String, String)>,
) -> Result<Response, EsError> {
    documents_only(&index)?;
    let docs = es.system.clone();
    Ok(match docs.get(&index, &id)? {
        Some((version, source)) => Json(json!({
            "_index": index, "_type": "_doc", "_id": id, "_version": version,
            "_seq_no": version - 1, "_primary_term": 1, "found": true, "_source": source,
        }))
        .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({ "_index": index, "_type": "_doc", "_id": id, "found": false })),
        )
            .into_response(),
    })
}

async fn write_doc(
    es: EsSurface,
    index: String,
    id: String,
    params: HashMap<String, String>,
    body: Bytes,
    create_only: bool,
) -> Result<Response, EsError> {
    documents_only(&index)?;
    let docs = es.system.clone();
    let source = json_body(&body)?;
    let external_version = match params.get("version_type").map(String::as_str) {
        None | Some("internal") if params.contains_key("version") => {
            return Err(EsError(BackendError::bad_request(
                "action_request_validation_exception",
                "internal versioning can not be used for optimistic concurrency control; use version_type=external",
            )))
        }
        None | Some("internal") => None,
        Some("external" | "external_gt") => Some(
            params
                .get("version")
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| parse_error("version_type=external needs a numeric [version]"))?,
        ),
        Some(other) => {
            return Err(EsError(BackendError::bad_request(
                "unsupported_by_embedded_engine",
                format!("version_type [{other}] is not supported by the embedded engine"),
            )))
        }
    };
    let mode = documents::WriteConditions {
        create_only: create_only || params.get("op_type").is_some_and(|o| o == "create"),
        external_version,
    };
    let written = blocking({
        let (index, id) = (index.clone(), id.clone());
        move || docs.put(&index, &id, source, mode).map_err(EsError)
    })
    .await?;
    let (status, result) = if written.created {
        (StatusCode::CREATED, "created")
    } else {
        (StatusCode::OK, "updated")
    };
    Ok((
        status,
        Json(write_answer(&index, &id, written.version, result)),
    )
        .into_response())
}

async fn index_doc(
    State(es): State<EsSurface>,
    Path((index, id)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Response, EsError> {
    write_doc(es, index, id, params, body, false).await
}

async fn create_doc(
    State(es): State<EsSurface>,
    Path((index, id)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Response, EsError> {
    write_doc(es, index, id, params, body, true).await
}

async fn delete_doc(
    State(es): State<EsSurface>,
    Path((index, id)): Path<(String, String)>,
) -> Result<Response, EsError> {
    documents_only(&index)?;
    let docs = es.system.clone();
    Ok(match docs.delete(&index, &id)? {
        Some(version) => Json(write_answer(&index, &id, version + 1, "deleted")).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(write_answer(&index, &id, 1, "not_found")),
        )
            .into_response(),
    })
}
