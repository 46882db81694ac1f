//! Indices and the cluster: `_cat/indices`, `_cluster/health`, `_mapping`, `_field_caps`,
//! `_refresh`, and index get, create, head and delete.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::{blocking, documents, index_or_all, json_body, EsError, EsSurface};
use crate::backend::embedded::{EmbeddedEngine, FlowIndex};
use crate::backend::BackendError;

/// The mapping of these indices: the fields they map (see
/// [`EmbeddedEngine::mapped_fields`]).
fn properties(engine: &EmbeddedEngine, indices: &[Arc<FlowIndex>]) -> Value {
    let mut properties = Map::new();
    for (name, field) in engine.mapped_fields(indices) {
        let mut mapping = json!({ "type": field.field_type.es_type() });
        if field.field_type == app::model::flow::FieldType::Date {
            mapping["format"] = json!("strict_date_optional_time||epoch_millis");
        }
        properties.insert(name.to_owned(), mapping);
    }
    Value::Object(properties)
}

/// `{ "<index>": entry }` for every index the expression names; `entry` gets the mapping.
/// Off the async runtime: which fields are mapped is read from the indices' segments.
async fn per_index(
    es: &EsSurface,
    expression: String,
    entry: impl Fn(&Value) -> Value + Send + 'static,
) -> Result<Json<Value>, EsError> {
    let engine = es.engine.clone();
    blocking(move || {
        let indices = engine
            .resolve(&expression)
            .map_err(crate::backend::embedded::search::engine_error)?;
        let mappings = json!({ "properties": properties(&engine, &indices) });
        let out: Map<String, Value> = indices
            .into_iter()
            .map(|index| (index.name.clone(), entry(&mappings)))
            .collect();
        Ok(Json(Value::Object(out)))
    })
    .await
}

pub(super) async fn mapping(
    State(es): State<EsSurface>,
    Path(index): Path<String>,
) -> Result<Json<Value>, EsError> {
    per_index(&es, index, |mappings| json!({ "mappings": mappings })).await
}

pub(super) async fn field_caps(
    State(es): State<EsSurface>,
    Path(index): Path<String>,
) -> Result<Json<Value>, EsError> {
    let engine = es.engine.clone();
    blocking(move || {
        let indices = engine
            .resolve(&index)
            .map_err(crate::backend::embedded::search::engine_error)?;
        let mut fields = Map::new();
        if !indices.is_empty() {
            for (name, field) in engine.mapped_fields(&indices) {
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
    })
    .await
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
pub(super) async fn cat_indices(
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

pub(super) async fn cluster_health(State(es): State<EsSurface>) -> Result<Json<Value>, EsError> {
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
pub(super) async fn refresh() -> Json<Value> {
    Json(json!({ "_shards": { "total": 1, "successful": 1, "failed": 0 } }))
}

pub(super) async fn get_index(
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
    per_index(&es, index, |mappings| {
        json!({
            "aliases": {},
            "mappings": mappings,
            "settings": { "index": { "number_of_shards": "1", "number_of_replicas": "0" } },
        })
    })
    .await
}

pub(super) async fn head_index(
    State(es): State<EsSurface>,
    Path(index): Path<String>,
) -> StatusCode {
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

pub(super) async fn create_index(
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

pub(super) async fn delete_index(
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
