//! `_bulk`: NDJSON action and source lines (gzip accepted). `index` replaces a document with
//! the same `_id`, `create` refuses it (409), `delete` removes it; each item answers on its
//! own, and everything written is committed before the answer. Documents are written through
//! the engine's ingest sink, in its batches.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::Json;
use compact_str::CompactString;
use serde_json::{json, Map, Value};

use super::{blocking, parse_error, EsError};
use crate::backend::embedded::{EmbeddedEngine, OnExistingId, WriteResult};
use crate::ingest::decode::{gunzip, is_gzip};
use crate::ingest::document::FlowDoc;

enum Action {
    Write {
        op: &'static str,
        mode: OnExistingId,
        doc: FlowDoc,
    },
    Delete {
        index: String,
        id: String,
    },
    Failed {
        op: String,
        index: String,
        id: Option<String>,
        status: u16,
        kind: &'static str,
        reason: String,
    },
}

pub async fn run(
    engine: Arc<EmbeddedEngine>,
    default_index: Option<String>,
    _params: HashMap<String, String>,
    headers: HeaderMap,
    body: Bytes,
    max_decompressed: u64,
) -> Result<Json<Value>, EsError> {
    let gzipped = headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"))
        || is_gzip(&body);
    // The decompressed body is held and parsed whole: bounded like a body that came plain
    // (a 1.2 MB gzip body once expanded to 5 GB of documents).
    let text = if gzipped {
        let bytes = gunzip(&body, max_decompressed)
            .map_err(|e| parse_error(crate::ingest::decode::describe_read_error(&e)))?;
        String::from_utf8(bytes).map_err(|_| parse_error("the bulk body is not UTF-8"))?
    } else {
        let mut text = String::new();
        (&body[..])
            .read_to_string(&mut text)
            .map_err(|_| parse_error("the bulk body is not UTF-8"))?;
        text
    };
    let actions = parse(&text, default_index.as_deref())?;
    let started = std::time::Instant::now();
    let items = blocking(move || execute(&engine, actions)).await?;
    let errors = items
        .iter()
        .any(|item| item.values().next().and_then(|v| v.get("error")).is_some());
    Ok(Json(
        json!({ "took": started.elapsed().as_millis() as u64, "errors": errors, "items": items }),
    ))
}

fn parse(text: &str, default_index: Option<&str>) -> Result<Vec<Action>, EsError> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let mut actions = Vec::new();
    while let Some(line) = lines.next() {
        let header: Map<String, Value> = serde_json::from_str(line)
            .map_err(|e| parse_error(format!("Malformed action/metadata line: {e}")))?;
        let (op, meta) = header
            .iter()
            .next()
            .ok_or_else(|| parse_error("Malformed action/metadata line: empty object"))?;
        let index = meta
            .get("_index")
            .and_then(Value::as_str)
            .or(default_index)
            .map(str::to_owned);
        let id = meta.get("_id").and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
        let op_name: &'static str = match op.as_str() {
            "index" => "index",
            "create" => "create",
            "delete" => "delete",
            "update" => "update",
            other => {
                return Err(parse_error(format!(
                    "Malformed action/metadata line: unknown action [{other}]"
                )))
            }
        };
        let Some(index) = index else {
            return Err(parse_error(format!(
                "[{op_name}] has no [_index] and the URL names none"
            )));
        };
        if op_name == "delete" {
            match id {
                Some(id) => actions.push(Action::Delete { index, id }),
                None => return Err(parse_error("[delete] needs an [_id]")),
            }
            continue;
        }
        let source_line = lines
            .next()
            .ok_or_else(|| parse_error(format!("[{op_name}] action has no source line")))?;
        if op_name == "update" {
            actions.push(Action::Failed {
                op: op_name.into(),
                index,
                id,
                status: 400,
                kind: "unsupported_by_embedded_engine",
                reason: "bulk [update] is not supported by the embedded engine; use [index]".into(),
            });
            continue;
        }
        let source: Map<String, Value> = match serde_json::from_str(source_line) {
            Ok(source) => source,
            Err(error) => {
                actions.push(Action::Failed {
                    op: op_name.into(),
                    index,
                    id,
                    status: 400,
                    kind: "mapper_parsing_exception",
                    reason: format!("failed to parse: {error}"),
                });
                continue;
            }
        };
        match FlowDoc::from_source(&index, id.as_deref(), source) {
            Ok(doc) => actions.push(Action::Write {
                op: op_name,
                mode: if op_name == "create" {
                    OnExistingId::KeepExisting
                } else {
                    OnExistingId::Overwrite
                },
                doc,
            }),
            Err(error) => actions.push(Action::Failed {
                op: op_name.into(),
                index,
                id,
                status: 400,
                kind: "mapper_parsing_exception",
                reason: error.to_string(),
            }),
        }
    }
    Ok(actions)
}

/// Runs the actions in order through the engine's ingest sink: documents go in its batches
/// per index (as `flowdash ingest` writes them), a delete waits for the documents before it,
/// and everything is committed before the items are answered.
fn execute(
    engine: &Arc<EmbeddedEngine>,
    actions: Vec<Action>,
) -> Result<Vec<Map<String, Value>>, EsError> {
    /// An item's answer, or where its write's result will be.
    enum Answer {
        Now(String, Value),
        Written {
            op: &'static str,
            index: CompactString,
            id: String,
        },
    }
    let internal =
        |e: crate::ingest::SinkError| EsError(crate::backend::BackendError::Internal(e.0));
    let mut sink = engine.sink(OnExistingId::KeepExisting);
    let mut answers = Vec::with_capacity(actions.len());
    for action in actions {
        match action {
            Action::Write { op, mode, doc } => {
                answers.push(Answer::Written {
                    op,
                    index: doc.index.clone(),
                    id: doc.id.clone(),
                });
                sink.write_item(doc, mode).map_err(internal)?;
            }
            Action::Delete { index, id } => {
                let answer = match sink.delete_item(&index, &id) {
                    Ok(true) => {
                        json!({ "_index": index, "_type": "_doc", "_id": id, "result": "deleted", "status": 200 })
                    }
                    Ok(false) => {
                        json!({ "_index": index, "_type": "_doc", "_id": id, "result": "not_found", "status": 404 })
                    }
                    Err(error) => {
                        json!({ "_index": index, "_type": "_doc", "_id": id, "status": 500, "error": { "type": "internal_error", "reason": error.0 } })
                    }
                };
                answers.push(Answer::Now("delete".into(), answer));
            }
            Action::Failed {
                op,
                index,
                id,
                status,
                kind,
                reason,
            } => {
                answers.push(Answer::Now(op, json!({ "_index": index, "_type": "_doc", "_id": id, "status": status, "error": { "type": kind, "reason": reason } })));
            }
        }
    }
    let mut written = sink.finish_items().map_err(internal)?.into_iter();
    let item = |op: &str, body: Value| {
        let mut map = Map::new();
        map.insert(op.to_owned(), body);
        map
    };
    Ok(answers
        .into_iter()
        .map(|answer| match answer {
            Answer::Now(op, body) => item(&op, body),
            Answer::Written { op, index, id } => item(op, match written.next() {
                Some(Ok(WriteResult::Created)) => json!({ "_index": index, "_type": "_doc", "_id": id, "_version": 1, "result": "created", "status": 201, "_shards": { "total": 1, "successful": 1, "failed": 0 } }),
                Some(Ok(WriteResult::Updated)) => json!({ "_index": index, "_type": "_doc", "_id": id, "_version": 2, "result": "updated", "status": 200, "_shards": { "total": 1, "successful": 1, "failed": 0 } }),
                Some(Ok(WriteResult::Duplicate)) => json!({ "_index": index, "_type": "_doc", "_id": id, "status": 409,
                    "error": { "type": "version_conflict_engine_exception", "reason": format!("[{id}]: version conflict, document already exists") } }),
                Some(Err(reason)) => json!({ "_index": index, "_type": "_doc", "_id": id, "status": 400,
                    "error": { "type": "illegal_argument_exception", "reason": reason } }),
                None => json!({ "_index": index, "_type": "_doc", "_id": id, "status": 500,
                    "error": { "type": "internal_error", "reason": "no result for this document" } }),
            }),
        })
        .collect())
}
