//! System indices on the Elasticsearch surface: indices whose names start with `.` (another
//! flowdash's `.flowdash` saved objects, say) hold plain JSON documents, not flows. They live in
//! redb with a version per document: `_doc` get, index (with `op_type=create` and external
//! versions) and delete, and searches by `term`, `terms`, `ids` and `match_all`. Flow indices
//! live in tantivy (see `backend::embedded`).

use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::backend::BackendError;

/// `index \0 id` → the stored document.
const DOCUMENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("documents");
/// Index name → its creation body (mappings and settings, as given).
const INDICES: TableDefinition<&str, &[u8]> = TableDefinition::new("indices");

/// Hits one search may ask for, as Elasticsearch's default `index.max_result_window`.
const MAX_RESULT_WINDOW: usize = 10_000;

/// Whether an index name is a system index (documents, not flows).
pub fn is_system(index: &str) -> bool {
    index.starts_with('.')
}

#[derive(Serialize, Deserialize)]
struct Stored {
    version: u64,
    source: Value,
}

/// The conditions an index request puts on its write (`op_type`, `version_type`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct WriteConditions {
    /// `op_type=create` (or `_create`): fail if the document exists.
    pub create_only: bool,
    /// `version_type=external&version=N`: write only if N is above the stored version, and
    /// store N. This is how clients do optimistic concurrency across servers.
    pub external_version: Option<u64>,
}

/// What a write did.
pub struct Written {
    /// The document's version after the write.
    pub version: u64,
    /// Whether the write created it (rather than replaced it).
    pub created: bool,
}

/// The system indices' documents, kept in a redb file of the data directory.
#[derive(Clone)]
pub struct SystemIndices {
    db: Arc<Database>,
}

fn storage<E: std::fmt::Display>(error: E) -> BackendError {
    BackendError::Internal(format!("system index storage: {error}"))
}

fn conflict(reason: String) -> BackendError {
    BackendError::Cluster {
        status: 409,
        kind: "version_conflict_engine_exception".into(),
        reason,
    }
}

fn key(index: &str, id: &str) -> String {
    format!("{index}\u{0}{id}")
}

impl SystemIndices {
    /// Opens (creating) `system_indices.redb` in `dir`.
    pub fn open(dir: &Path) -> Result<SystemIndices, BackendError> {
        std::fs::create_dir_all(dir).map_err(storage)?;
        let db = Database::create(dir.join("system_indices.redb")).map_err(storage)?;
        let txn = db.begin_write().map_err(storage)?;
        txn.open_table(DOCUMENTS).map_err(storage)?;
        txn.open_table(INDICES).map_err(storage)?;
        txn.commit().map_err(storage)?;
        Ok(SystemIndices { db: Arc::new(db) })
    }

    /// Whether a system index exists.
    pub fn exists(&self, index: &str) -> Result<bool, BackendError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let table = txn.open_table(INDICES).map_err(storage)?;
        Ok(table.get(index).map_err(storage)?.is_some())
    }

    /// Creates an index; an existing one is Elasticsearch's `resource_already_exists_exception`.
    pub fn create_index(&self, index: &str, body: &Value) -> Result<(), BackendError> {
        let txn = self.db.begin_write().map_err(storage)?;
        {
            let mut table = txn.open_table(INDICES).map_err(storage)?;
            if table.get(index).map_err(storage)?.is_some() {
                return Err(BackendError::bad_request(
                    "resource_already_exists_exception",
                    format!("index [{index}] already exists"),
                ));
            }
            let bytes = serde_json::to_vec(body).map_err(storage)?;
            table.insert(index, bytes.as_slice()).map_err(storage)?;
        }
        txn.commit().map_err(storage)
    }

    /// Deletes an index and its documents.
    pub fn delete_index(&self, index: &str) -> Result<(), BackendError> {
        let txn = self.db.begin_write().map_err(storage)?;
        {
            let mut indices = txn.open_table(INDICES).map_err(storage)?;
            if indices.remove(index).map_err(storage)?.is_none() {
                return Err(BackendError::IndexNotFound(index.to_owned()));
            }
            let mut documents = txn.open_table(DOCUMENTS).map_err(storage)?;
            let prefix = key(index, "");
            documents
                .retain(|k, _| !k.starts_with(&prefix))
                .map_err(storage)?;
        }
        txn.commit().map_err(storage)
    }

    /// The stored version and source of a document.
    pub fn get(&self, index: &str, id: &str) -> Result<Option<(u64, Value)>, BackendError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let table = txn.open_table(DOCUMENTS).map_err(storage)?;
        let value = table.get(key(index, id).as_str()).map_err(storage)?;
        value
            .map(|v| {
                serde_json::from_slice::<Stored>(v.value())
                    .map(|s| (s.version, s.source))
                    .map_err(storage)
            })
            .transpose()
    }

    /// Indexes a document (creating the index on first use, as Elasticsearch does). The
    /// version check and the write are one transaction.
    pub fn put(
        &self,
        index: &str,
        id: &str,
        source: Value,
        mode: WriteConditions,
    ) -> Result<Written, BackendError> {
        if !source.is_object() {
            return Err(BackendError::bad_request(
                "mapper_parsing_exception",
                "the document must be a JSON object",
            ));
        }
        let txn = self.db.begin_write().map_err(storage)?;
        let written = {
            let mut indices = txn.open_table(INDICES).map_err(storage)?;
            if indices.get(index).map_err(storage)?.is_none() {
                indices.insert(index, b"{}".as_slice()).map_err(storage)?;
            }
            let mut table = txn.open_table(DOCUMENTS).map_err(storage)?;
            let k = key(index, id);
            let current = table
                .get(k.as_str())
                .map_err(storage)?
                .map(|v| serde_json::from_slice::<Stored>(v.value()))
                .transpose()
                .map_err(storage)?
                .map(|s| s.version);
            let version = match (current, mode) {
                (Some(current), WriteConditions { create_only: true, .. }) => {
                    return Err(conflict(format!(
                        "[{id}]: version conflict, document already exists (current version [{current}])"
                    )))
                }
                (Some(current), WriteConditions { external_version: Some(v), .. }) if v <= current => {
                    return Err(conflict(format!(
                        "[{id}]: version conflict, current version [{current}] is higher or equal to the one provided [{v}]"
                    )))
                }
                (_, WriteConditions { external_version: Some(v), .. }) => v,
                (current, _) => current.map_or(1, |c| c + 1),
            };
            let bytes = serde_json::to_vec(&Stored { version, source }).map_err(storage)?;
            table
                .insert(k.as_str(), bytes.as_slice())
                .map_err(storage)?;
            Written {
                version,
                created: current.is_none(),
            }
        };
        txn.commit().map_err(storage)?;
        Ok(written)
    }

    /// Deletes a document; answers the version it had.
    pub fn delete(&self, index: &str, id: &str) -> Result<Option<u64>, BackendError> {
        let txn = self.db.begin_write().map_err(storage)?;
        let removed = {
            let mut table = txn.open_table(DOCUMENTS).map_err(storage)?;
            let removed = table.remove(key(index, id).as_str()).map_err(storage)?;
            removed
                .map(|v| serde_json::from_slice::<Stored>(v.value()).map(|s| s.version))
                .transpose()
                .map_err(storage)?
        };
        txn.commit().map_err(storage)?;
        Ok(removed)
    }

    /// A search of one system index: `query` of `match_all`, `term`, `terms`, `ids`, or a
    /// `bool` of those in `filter` / `must`; `size`, `from`, `version`. Anything else is a 400
    /// that says what, as everywhere on this surface.
    pub fn search(&self, index: &str, body: &Value) -> Result<Value, BackendError> {
        if !self.exists(index)? {
            return Err(BackendError::IndexNotFound(index.to_owned()));
        }
        for key in body.as_object().into_iter().flat_map(|o| o.keys()) {
            if !matches!(
                key.as_str(),
                "query" | "size" | "from" | "version" | "track_total_hits" | "seq_no_primary_term"
            ) {
                return Err(unsupported(format!(
                    "[{key}] in a search of a system index"
                )));
            }
        }
        let query = Matcher::parse(body.get("query").unwrap_or(&json!({ "match_all": {} })))?;
        let size = body.get("size").and_then(Value::as_u64).unwrap_or(10) as usize;
        let from = body.get("from").and_then(Value::as_u64).unwrap_or(0) as usize;
        if from + size > MAX_RESULT_WINDOW {
            return Err(BackendError::bad_request(
                "illegal_argument_exception",
                format!("Result window is too large, from + size must be less than or equal to: [{MAX_RESULT_WINDOW}] but was [{}]", from + size),
            ));
        }
        let with_version = body
            .get("version")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let txn = self.db.begin_read().map_err(storage)?;
        let table = txn.open_table(DOCUMENTS).map_err(storage)?;
        let prefix = key(index, "");
        let mut total = 0usize;
        let mut hits = Vec::new();
        for entry in table.range(prefix.as_str()..).map_err(storage)? {
            let (k, v) = entry.map_err(storage)?;
            let Some(id) = k.value().strip_prefix(prefix.as_str()) else {
                break;
            };
            let stored: Stored = serde_json::from_slice(v.value()).map_err(storage)?;
            if !query.matches(id, &stored.source) {
                continue;
            }
            total += 1;
            if total > from && hits.len() < size {
                let mut hit = json!({
                    "_index": index, "_type": "_doc", "_id": id, "_score": 1.0,
                    "_source": stored.source,
                });
                if with_version {
                    hit["_version"] = json!(stored.version);
                }
                hits.push(hit);
            }
        }
        Ok(json!({
            "took": 0,
            "timed_out": false,
            "_shards": { "total": 1, "successful": 1, "skipped": 0, "failed": 0 },
            "hits": {
                "total": { "value": total, "relation": "eq" },
                "max_score": if hits.is_empty() { Value::Null } else { json!(1.0) },
                "hits": hits,
            },
        }))
    }
}

fn unsupported(what: String) -> BackendError {
    BackendError::bad_request(
        "unsupported_by_embedded_engine",
        format!("{what} is not supported by the embedded engine"),
    )
}

/// The queries a system index answers.
enum Matcher {
    All,
    /// A top-level field equal to one of the values (or, for an array field, containing one).
    Terms(String, Vec<Value>),
    Ids(Vec<String>),
    And(Vec<Matcher>),
}

impl Matcher {
    fn parse(query: &Value) -> Result<Matcher, BackendError> {
        let Some((kind, spec)) = query.as_object().and_then(|o| o.iter().next()) else {
            return Err(BackendError::bad_request(
                "parsing_exception",
                "a query must be an object with one key",
            ));
        };
        let field_values = |spec: &Value| -> Option<(String, Value)> {
            let (field, value) = spec.as_object()?.iter().next()?;
            // `{"term": {"type": {"value": "dashboard"}}}` as well as the short form.
            let value = value.get("value").cloned().unwrap_or_else(|| value.clone());
            Some((field.clone(), value))
        };
        match kind.as_str() {
            "match_all" => Ok(Matcher::All),
            "term" => {
                let (field, value) = field_values(spec)
                    .ok_or_else(|| unsupported(format!("the term query {spec}")))?;
                Ok(Matcher::Terms(field, vec![value]))
            }
            "terms" => {
                let (field, values) = field_values(spec)
                    .ok_or_else(|| unsupported(format!("the terms query {spec}")))?;
                let values = values
                    .as_array()
                    .cloned()
                    .ok_or_else(|| unsupported(format!("the terms query {spec}")))?;
                Ok(Matcher::Terms(field, values))
            }
            "ids" => Ok(Matcher::Ids(
                spec.get("values")
                    .and_then(Value::as_array)
                    .map(|v| {
                        v.iter()
                            .filter_map(|id| id.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
            )),
            "bool" => {
                let mut all = Vec::new();
                for (clause, value) in spec.as_object().into_iter().flatten() {
                    match clause.as_str() {
                        "filter" | "must" => {
                            let items = match value {
                                Value::Array(items) => items.clone(),
                                one => vec![one.clone()],
                            };
                            for item in &items {
                                all.push(Matcher::parse(item)?);
                            }
                        }
                        other => {
                            return Err(unsupported(format!(
                                "[bool.{other}] in a search of a system index"
                            )))
                        }
                    }
                }
                Ok(Matcher::And(all))
            }
            other => Err(unsupported(format!(
                "the [{other}] query on a system index"
            ))),
        }
    }

    fn matches(&self, id: &str, source: &Value) -> bool {
        match self {
            Matcher::All => true,
            Matcher::Ids(ids) => ids.iter().any(|i| i == id),
            Matcher::Terms(field, values) => match source.get(field) {
                Some(Value::Array(items)) => items.iter().any(|item| values.contains(item)),
                Some(value) => values.contains(value),
                None => false,
            },
            Matcher::And(all) => all.iter().all(|m| m.matches(id, source)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_creates_and_searches() {
        let dir = tempfile::tempdir().unwrap();
        let docs = SystemIndices::open(dir.path()).unwrap();
        let a = json!({ "type": "dashboard", "title": "A" });
        let create = WriteConditions {
            create_only: true,
            external_version: None,
        };
        assert_eq!(docs.put(".x", "1", a.clone(), create).unwrap().version, 1);
        assert_eq!(
            docs.put(".x", "1", a.clone(), create)
                .err()
                .unwrap()
                .status(),
            409
        );
        let external = |v| WriteConditions {
            create_only: false,
            external_version: Some(v),
        };
        assert_eq!(
            docs.put(".x", "1", a.clone(), external(2)).unwrap().version,
            2
        );
        // A second writer based on the same version loses.
        assert_eq!(
            docs.put(".x", "1", a.clone(), external(2))
                .err()
                .unwrap()
                .status(),
            409
        );
        docs.put(
            ".x",
            "2",
            json!({ "type": "visualization" }),
            WriteConditions::default(),
        )
        .unwrap();
        let found = docs
            .search(".x", &json!({ "size": 10, "version": true, "query": { "bool": { "filter": [{ "terms": { "type": ["dashboard"] } }] } } }))
            .unwrap();
        assert_eq!(found["hits"]["total"]["value"], 1);
        assert_eq!(found["hits"]["hits"][0]["_id"], "1");
        assert_eq!(found["hits"]["hits"][0]["_version"], 2);
        let unsupported = docs.search(".x", &json!({ "query": { "match": { "title": "A" } } }));
        assert_eq!(unsupported.err().unwrap().status(), 400);
        assert_eq!(docs.delete(".x", "1").unwrap(), Some(2));
        assert_eq!(docs.get(".x", "1").unwrap(), None);
        docs.delete_index(".x").unwrap();
        assert!(!docs.exists(".x").unwrap());
        assert_eq!(docs.get(".x", "2").unwrap(), None);
    }
}
