//! `_search`, `_count` and `_msearch`: Elasticsearch's search API on the embedded engine,
//! with the rules of the compatibility version (7.x or 6.x request shapes).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde_json::{json, Map, Value};

use super::{
    blocking, documents, index_or_all, json_body, parse_error, searching, EsError, EsSurface,
};
use crate::backend::elastic::compat::id_sort_position;
use crate::backend::embedded::search::search as engine_search;
use crate::backend::BackendError;

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
            "typed_keys" => format.typed_keys = value != "false",
            "filter_path" | "scroll" => {
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

#[derive(Default, Clone)]
struct SearchFormat {
    total_as_int: bool,
    /// `typed_keys`: the request, whose aggregations name the answer's types.
    typed_keys: bool,
    request: Value,
}

impl SearchFormat {
    fn apply(self, mut response: Value) -> Value {
        if self.typed_keys {
            super::typed_keys::apply(&self.request, &mut response);
        }
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
/// `track_total_hits`; 8.x dropped `interval` and sorts on `_id`. Refused like those versions
/// refuse them.
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
    if major >= 8 && id_sort_position(body).is_some() {
        return Err(EsError(BackendError::bad_request(
            "illegal_argument_exception",
            "Fielddata access on the _id field is disallowed, you can re-enable it by updating the dynamic cluster setting: indices.id_field_data.enabled",
        )));
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

/// An older version emulated on purpose refuses the aggregations it lacks, as such a cluster
/// would (`multi_terms` on 7.10); the engine's own version answers every one it has.
fn check_emulated_aggregations(es: &EsSurface, body: &Value) -> Result<(), EsError> {
    let Some(version) = es.emulated_version() else {
        return Ok(());
    };
    match version.lacking_aggregation(body) {
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
    let mut format = apply_search_params(&mut body, &params)?;
    check_version_rules(&body, major)?;
    check_emulated_aggregations(&es, &body)?;
    format.total_as_int |= major < 7;
    if format.typed_keys {
        format.request = body.clone();
    }
    let response = searching(&engine, move |engine| engine_search(engine, &index, &body)).await?;
    Ok(Json(format.apply(response)))
}

/// `/_search` and `/{index}/_search`.
pub(super) async fn search_handler(
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
    let response = searching(&engine, move |engine| {
        engine_search(engine, &index, &request)
    })
    .await?;
    Ok(Json(json!({
        "count": response.pointer("/hits/total/value").cloned().unwrap_or(json!(0)),
        "_shards": response["_shards"],
    })))
}

/// `/_count` and `/{index}/_count`.
pub(super) async fn count_handler(
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
        if format.typed_keys {
            format.request = body.clone();
        }
        searches.push(
            check_version_rules(&body, major)
                .and_then(|()| check_emulated_aggregations(&es, &body))
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
                    engine_search(engine, &index, &body).map(|response| format.apply(response))
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
pub(super) async fn msearch_handler(
    State(es): State<EsSurface>,
    index: Option<Path<String>>,
    Query(params): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Json<Value>, EsError> {
    run_msearch(es, index.map(|Path(i)| i), body, params).await
}
