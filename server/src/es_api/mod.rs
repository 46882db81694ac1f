//! The Elasticsearch-compatible surface of the embedded engine, under `/es`: enough of the
//! REST API for the AWS `LogsToElasticsearch` Lambda, the Elasticsearch outputs of Fluent Bit,
//! Vector and Logstash, curl, and flowdash's own Elasticsearch client.
//!
//! `GET /`, `_bulk`, `_search`, `_msearch`, `_count`, `_field_caps`, `_mapping`,
//! `_cat/indices`, `_cluster/health`, `_refresh`, index create and delete; and for system
//! indices (`.name`, see [`documents`]) `_doc` get, index and delete, so another flowdash can
//! keep its saved objects here.
// Documented when the restructuring of issue 17 lands (other work is rewriting this tree).
#![allow(missing_docs)]

mod bulk;
pub mod documents;

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use crate::backend::embedded::search::{search, SearchError};
use crate::backend::embedded::EmbeddedEngine;
use crate::backend::BackendError;

/// Everything `/es` needs: the embedded engine, its system indices and the limits that apply
/// to them. The surface exists only in embedded mode (the app state holds one then), so no
/// handler asks whether there is an engine: `/es` is the router's own state.
#[derive(Clone)]
pub struct EsSurface {
    pub engine: Arc<EmbeddedEngine>,
    pub system: Arc<documents::SystemIndices>,
    /// The largest `_bulk` body, once decompressed.
    pub max_bulk_bytes: u64,
    /// The Elasticsearch version `/es` answers as (its request checks and response shapes).
    pub compat_version: Arc<str>,
}

impl EsSurface {
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

/// Folds URL parameters (`q`, `size`, `from`, `sort`, `track_total_hits`) into the body, and
/// refuses the ones that would change the answer's shape in ways the engine does not honour.
fn apply_search_params(
    body: &mut Value,
    params: &HashMap<String, String>,
) -> Result<SearchFormat, EsError> {
    let object = body
        .as_object_mut()
        .ok_or_else(|| parse_error("the search body must be an object"))?;
    let mut format = SearchFormat::default();
    for (key, value) in params {
        match key.as_str() {
            "q" => {
                object.insert(
                    "query".into(),
                    json!({ "query_string": { "query": value } }),
                );
            }
            "size" | "from" => {
                let n: u64 = value
                    .parse()
                    .map_err(|_| parse_error(format!("[{key}] must be a number")))?;
                object.insert(key.clone(), json!(n));
            }
            "sort" => {
                let sorts: Vec<Value> = value
                    .split(',')
                    .map(|s| match s.split_once(':') {
                        Some((field, order)) => json!({ field: { "order": order } }),
                        None => json!(s),
                    })
                    .collect();
                object.insert("sort".into(), Value::Array(sorts));
            }
            "track_total_hits" => {
                let v = match value.as_str() {
                    "true" => json!(true),
                    "false" => json!(false),
                    n => json!(n.parse::<i64>().map_err(|_| parse_error(
                        "[track_total_hits] must be a boolean or a number"
                    ))?),
                };
                object.insert("track_total_hits".into(), v);
            }
            "rest_total_hits_as_int" => format.total_as_int = value != "false",
            "_source" => {
                object.insert(
                    "_source".into(),
                    if value == "false" {
                        json!(false)
                    } else {
                        json!(value.split(',').collect::<Vec<_>>())
                    },
                );
            }
            "typed_keys" | "filter_path" | "scroll" => {
                return Err(EsError(BackendError::bad_request(
                    "unsupported_by_embedded_engine",
                    format!("URL parameter [{key}] is not supported by the embedded engine"),
                )))
            }
            // Routing, caching and timeouts change nothing in a single-node answer.
            _ => {}
        }
    }
    Ok(format)
}

#[derive(Default, Clone, Copy)]
struct SearchFormat {
    total_as_int: bool,
}

impl SearchFormat {
    fn apply(self, mut response: Value) -> Value {
        if self.total_as_int {
            if let Some(total) = response.pointer_mut("/hits/total") {
                let value = total.get("value").cloned().unwrap_or(json!(0));
                *total = value;
            }
        }
        response
    }
}

/// The request rules of the emulated major version: 6.x knows only `interval` and no
/// `track_total_hits`; 8.x dropped `interval`. Refused like those versions refuse them.
fn check_version_rules(body: &Value, major: u32) -> Result<(), EsError> {
    fn walk(
        value: &Value,
        check: &dyn Fn(&Map<String, Value>) -> Option<String>,
    ) -> Option<String> {
        match value {
            Value::Object(object) => {
                check(object).or_else(|| object.values().find_map(|v| walk(v, check)))
            }
            Value::Array(items) => items.iter().find_map(|v| walk(v, check)),
            _ => None,
        }
    }
    if major < 7 && body.get("track_total_hits").is_some() {
        return Err(parse_error(
            "unknown key [track_total_hits] for create request",
        ));
    }
    let problem = walk(body, &|object| {
        let histogram = object.get("date_histogram")?.as_object()?;
        if major < 7 {
            ["fixed_interval", "calendar_interval"]
                .iter()
                .find(|k| histogram.contains_key(**k))
                .map(|k| format!("[date_histogram] unknown field [{k}]"))
        } else if major >= 8 && histogram.contains_key("interval") {
            Some("[date_histogram] unknown field [interval]".to_owned())
        } else {
            None
        }
    });
    match problem {
        Some(reason) => Err(EsError(BackendError::bad_request(
            "x_content_parse_exception",
            reason,
        ))),
        None => Ok(()),
    }
}

async fn run_search(
    es: EsSurface,
    index: String,
    body: Bytes,
    params: HashMap<String, String>,
) -> Result<Json<Value>, EsError> {
    if documents::is_system(&index) {
        let docs = es.system.clone();
        let body = json_body(&body)?;
        let response = blocking(move || docs.search(&index, &body).map_err(EsError)).await?;
        return Ok(Json(response));
    }
    let engine = es.engine.clone();
    let mut body = json_body(&body)?;
    let major = es.compat_major();
    check_version_rules(&body, major)?;
    let mut format = apply_search_params(&mut body, &params)?;
    format.total_as_int |= major < 7;
    let response = searching(&engine, move |engine| search(engine, &index, &body)).await?;
    Ok(Json(format.apply(response)))
}

/// `/_search` and `/{index}/_search`.
async fn search_handler(
    State(es): State<EsSurface>,
    index: Option<Path<String>>,
    Query(params): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Json<Value>, EsError> {
    run_search(es, index_or_all(index), body, params).await
}

async fn run_count(
    es: EsSurface,
    index: String,
    body: Bytes,
    params: HashMap<String, String>,
) -> Result<Json<Value>, EsError> {
    let engine = es.engine.clone();
    let mut body = json_body(&body)?;
    apply_search_params(&mut body, &params)?;
    let query = body
        .get("query")
        .cloned()
        .unwrap_or(json!({ "match_all": {} }));
    let request = json!({ "size": 0, "track_total_hits": true, "query": query });
    let response = searching(&engine, move |engine| search(engine, &index, &request)).await?;
    Ok(Json(json!({
        "count": response.pointer("/hits/total/value").cloned().unwrap_or(json!(0)),
        "_shards": response["_shards"],
    })))
}

/// `/_count` and `/{index}/_count`.
async fn count_handler(
    State(es): State<EsSurface>,
    index: Option<Path<String>>,
    Query(params): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Json<Value>, EsError> {
    run_count(es, index_or_all(index), body, params).await
}

/// `_msearch`: NDJSON pairs of header (`{"index": ...}`) and body lines.
async fn run_msearch(
    es: EsSurface,
    default_index: Option<String>,
    body: Bytes,
    params: HashMap<String, String>,
) -> Result<Json<Value>, EsError> {
    let engine = es.engine.clone();
    let text = std::str::from_utf8(&body).map_err(|_| parse_error("the body is not UTF-8"))?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if !lines.len().is_multiple_of(2) {
        return Err(parse_error(
            "_msearch needs a header line and a body line per search",
        ));
    }
    let mut searches = Vec::new();
    for pair in lines.chunks(2) {
        let header: Value = serde_json::from_str(pair[0])
            .map_err(|e| parse_error(format!("bad _msearch header: {e}")))?;
        let index = match header.get("index") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(names)) => names
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
            _ => default_index.clone().unwrap_or_else(|| "_all".into()),
        };
        let mut body: Value = serde_json::from_str(pair[1])
            .map_err(|e| parse_error(format!("bad _msearch body: {e}")))?;
        let major = es.compat_major();
        let mut format = apply_search_params(&mut body, &params)?;
        format.total_as_int |= major < 7;
        searches.push(
            check_version_rules(&body, major)
                .map(|()| (index, body, format))
                .map_err(|e| e.0),
        );
    }
    crate::backend::embedded::search::check_hits_budget(
        searches.iter().flatten().map(|(_, body, _)| body),
    )?;
    let started = std::time::Instant::now();
    let responses = searching(&engine, move |engine| {
        Ok(searches
            .into_iter()
            .map(|search_request| {
                let answer = search_request.and_then(|(index, body, format)| {
                    search(engine, &index, &body).map(|response| format.apply(response))
                });
                match answer {
                    Ok(mut response) => {
                        response["status"] = json!(200);
                        response
                    }
                    Err(error) => error.to_es_body(),
                }
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(Json(
        json!({ "took": started.elapsed().as_millis() as u64, "responses": responses }),
    ))
}

/// `/_msearch` and `/{index}/_msearch` (the index is the default for headers without one).
async fn msearch_handler(
    State(es): State<EsSurface>,
    index: Option<Path<String>>,
    Query(params): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Json<Value>, EsError> {
    run_msearch(es, index.map(|Path(i)| i), body, params).await
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

/// The index expression of a route with an optional `{index}`: all indices without one.
fn index_or_all(index: Option<Path<String>>) -> String {
    index.map_or_else(|| "_all".to_owned(), |Path(i)| i)
}

/// The engine's mapping: one schema for every index.
fn properties(engine: &EmbeddedEngine) -> Value {
    let mut properties = Map::new();
    let mut fields: Vec<_> = engine.schema().fields().collect();
    fields.sort_by_key(|(name, _)| *name);
    for (name, field) in fields {
        let mut mapping = json!({ "type": field.field_type.es_type() });
        if field.field_type == app::model::flow::FieldType::Date {
            mapping["format"] = json!("strict_date_optional_time||epoch_millis");
        }
        properties.insert(name.to_owned(), mapping);
    }
    Value::Object(properties)
}

/// `{ "<index>": entry }` for every index the expression names; `entry` gets the mapping.
fn per_index(
    es: &EsSurface,
    expression: &str,
    entry: impl Fn(&Value) -> Value,
) -> Result<Json<Value>, EsError> {
    let engine = es.engine.clone();
    let indices = engine
        .resolve(expression)
        .map_err(crate::backend::embedded::search::engine_error)?;
    let mappings = json!({ "properties": properties(&engine) });
    let out: Map<String, Value> = indices
        .into_iter()
        .map(|index| (index.name.clone(), entry(&mappings)))
        .collect();
    Ok(Json(Value::Object(out)))
}

async fn mapping(
    State(es): State<EsSurface>,
    Path(index): Path<String>,
) -> Result<Json<Value>, EsError> {
    per_index(&es, &index, |mappings| json!({ "mappings": mappings }))
}

async fn field_caps(
    State(es): State<EsSurface>,
    Path(index): Path<String>,
) -> Result<Json<Value>, EsError> {
    let engine = es.engine.clone();
    let indices = engine
        .resolve(&index)
        .map_err(crate::backend::embedded::search::engine_error)?;
    let mut fields = Map::new();
    if !indices.is_empty() {
        for (name, field) in engine.schema().fields() {
            let es_type = field.field_type.es_type();
            fields.insert(
                name.to_owned(),
                json!({ es_type: { "type": es_type, "searchable": true, "aggregatable": field.field_type.aggregatable() } }),
            );
        }
    }
    Ok(Json(json!({
        "indices": indices.iter().map(|i| i.name.clone()).collect::<Vec<_>>(),
        "fields": fields,
    })))
}

fn cat_rows(engine: &EmbeddedEngine, expression: &str) -> Result<Vec<Value>, EsError> {
    let indices = engine
        .resolve(expression)
        .map_err(crate::backend::embedded::search::engine_error)?;
    Ok(indices
        .iter()
        .map(|index| {
            json!({
                "health": "green",
                "status": "open",
                "index": index.name,
                "uuid": index.name,
                "pri": "1",
                "rep": "0",
                "docs.count": index.stats().docs.to_string(),
                "docs.deleted": "0",
            })
        })
        .collect())
}

fn cat_response(rows: Vec<Value>, params: &HashMap<String, String>) -> Response {
    if params.get("format").map(String::as_str) == Some("json") {
        return Json(Value::Array(rows)).into_response();
    }
    let mut text = String::new();
    if params.contains_key("v") {
        text.push_str("health status index uuid pri rep docs.count docs.deleted\n");
    }
    for row in rows {
        let field = |k: &str| row[k].as_str().unwrap_or_default().to_owned();
        text.push_str(&format!(
            "{} {} {} {} {} {} {} {}\n",
            field("health"),
            field("status"),
            field("index"),
            field("uuid"),
            field("pri"),
            field("rep"),
            field("docs.count"),
            field("docs.deleted")
        ));
    }
    text.into_response()
}

/// `/_cat/indices` and `/_cat/indices/{index}`.
async fn cat_indices(
    State(es): State<EsSurface>,
    index: Option<Path<String>>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, EsError> {
    let engine = es.engine.clone();
    Ok(cat_response(
        cat_rows(&engine, &index_or_all(index))?,
        &params,
    ))
}

async fn cluster_health(State(es): State<EsSurface>) -> Result<Json<Value>, EsError> {
    let engine = es.engine.clone();
    let count = engine.indices().len();
    Ok(Json(json!({
        "cluster_name": "flowdash",
        "status": "green",
        "timed_out": false,
        "number_of_nodes": 1,
        "number_of_data_nodes": 1,
        "active_primary_shards": count,
        "active_shards": count,
        "relocating_shards": 0,
        "initializing_shards": 0,
        "unassigned_shards": 0,
    })))
}

/// Writes are committed before `_bulk` answers, so there is nothing to refresh.
async fn refresh() -> Json<Value> {
    Json(json!({ "_shards": { "total": 1, "successful": 1, "failed": 0 } }))
}

async fn get_index(
    State(es): State<EsSurface>,
    Path(index): Path<String>,
) -> Result<Json<Value>, EsError> {
    if documents::is_system(&index) {
        return if es.system.exists(&index)? {
            Ok(Json(
                json!({ index: { "aliases": {}, "mappings": {}, "settings": {} } }),
            ))
        } else {
            Err(EsError(BackendError::IndexNotFound(index)))
        };
    }
    per_index(&es, &index, |mappings| {
        json!({
            "aliases": {},
            "mappings": mappings,
            "settings": { "index": { "number_of_shards": "1", "number_of_replicas": "0" } },
        })
    })
}

async fn head_index(State(es): State<EsSurface>, Path(index): Path<String>) -> StatusCode {
    if documents::is_system(&index) {
        return match es.system.exists(&index) {
            Ok(true) => StatusCode::OK,
            _ => StatusCode::NOT_FOUND,
        };
    }
    match es.engine.index(&index) {
        Some(_) => StatusCode::OK,
        None => StatusCode::NOT_FOUND,
    }
}

async fn create_index(
    State(es): State<EsSurface>,
    Path(index): Path<String>,
    body: Bytes,
) -> Result<Response, EsError> {
    if documents::is_system(&index) {
        let body = if body.is_empty() {
            json!({})
        } else {
            json_body(&body)?
        };
        es.system.create_index(&index, &body)?;
        return Ok(Json(
            json!({ "acknowledged": true, "shards_acknowledged": true, "index": index }),
        )
        .into_response());
    }
    let engine = es.engine.clone();
    if engine.index(&index).is_some() {
        return Err(EsError(BackendError::bad_request(
            "resource_already_exists_exception",
            format!("index [{index}] already exists"),
        )));
    }
    let name = index.clone();
    blocking(move || {
        engine
            .index_or_create(&name)
            .map(|_| ())
            .map_err(|e| EsError(crate::backend::embedded::search::engine_error(e)))
    })
    .await?;
    Ok(
        Json(json!({ "acknowledged": true, "shards_acknowledged": true, "index": index }))
            .into_response(),
    )
}

async fn delete_index(
    State(es): State<EsSurface>,
    Path(index): Path<String>,
) -> Result<Json<Value>, EsError> {
    if documents::is_system(&index) {
        es.system.delete_index(&index)?;
        return Ok(Json(json!({ "acknowledged": true })));
    }
    let engine = es.engine.clone();
    blocking(move || {
        let names: Vec<String> = engine
            .resolve(&index)
            .map_err(|e| EsError(crate::backend::embedded::search::engine_error(e)))?
            .iter()
            .map(|i| i.name.clone())
            .collect();
        for name in names {
            engine
                .delete_index(&name)
                .map_err(|e| EsError(crate::backend::embedded::search::engine_error(e)))?;
        }
        Ok(())
    })
    .await?;
    Ok(Json(json!({ "acknowledged": true })))
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
