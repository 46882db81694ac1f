//! Saved objects in the cluster, in the `.flowdash` index, so every flowdash server pointed at
//! the cluster shares them. One document per object (`type:id`), its attributes kept as a JSON
//! string so no object's shape can clash with the index mapping. Optimistic concurrency uses
//! the cluster's external versions: an update based on version N writes version N + 1, and the
//! cluster refuses it if anyone wrote N + 1 first.

use app::model::saved_object::{FindResult, ObjectType, Reference, SavedObject};
use async_trait::async_trait;
use reqwest::Method;
use serde_json::{json, Value};

use super::{validate, FindQuery, NewObject, SavedObjectStore, ShortUrlStore, StoreError};
use crate::backend::elastic::ElasticBackend;
use crate::backend::BackendError;

/// The index flowdash keeps its objects in.
pub const INDEX: &str = ".flowdash";

/// Objects one find reads (as many as a cluster answers in one search).
const MAX_OBJECTS: usize = 10_000;

/// Saved objects and short links in the cluster's `.flowdash` index, shared by every flowdash
/// pointed at it; cluster-side versions (external versioning) guard concurrent edits.
#[derive(Clone)]
pub struct ElasticStore {
    cluster: ElasticBackend,
}

fn storage(error: BackendError) -> StoreError {
    StoreError::Storage(error.to_string())
}

fn doc_path(doc_id: &str) -> String {
    format!("/{INDEX}/_doc/{}", app::api::encode(doc_id))
}

fn object_doc_id(object_type: ObjectType, id: &str) -> String {
    format!("{}:{id}", object_type.as_str())
}

/// The error a cluster answer stands for.
fn answer_error(status: u16, body: &Value) -> StoreError {
    let reason = body
        .pointer("/error/reason")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| body.to_string());
    StoreError::Storage(format!("the cluster answered {status}: {reason}"))
}

impl ElasticStore {
    /// A store on the cluster's `.flowdash` index ([`ElasticStore::ensure_index`] creates it).
    pub fn new(cluster: ElasticBackend) -> ElasticStore {
        ElasticStore { cluster }
    }

    /// Creates the index if it is missing; its fields are keywords, the attributes are stored
    /// but not indexed.
    pub async fn ensure_index(&self) -> Result<(), StoreError> {
        let (status, _) = self
            .cluster
            .send(Method::HEAD, &format!("/{INDEX}"), None)
            .await
            .map_err(storage)?;
        if status == 200 {
            return Ok(());
        }
        let properties = json!({
            "type": { "type": "keyword" },
            "id": { "type": "keyword" },
            "title": { "type": "keyword" },
            "updated_at": { "type": "date" },
            "attributes": { "type": "keyword", "index": false, "doc_values": false },
            "references": { "type": "keyword", "index": false, "doc_values": false },
            "path": { "type": "keyword", "index": false, "doc_values": false },
        });
        let version = self.cluster.version().await.map_err(storage)?;
        // 6.x still wants a mapping type.
        let mappings = if version.major < 7 && !version.opensearch {
            json!({ "_doc": { "properties": properties } })
        } else {
            json!({ "properties": properties })
        };
        let body = json!({ "settings": { "index": { "number_of_shards": 1, "auto_expand_replicas": "0-1" } }, "mappings": mappings });
        let (status, answer) = self
            .cluster
            .send(
                Method::PUT,
                &format!("/{INDEX}"),
                Some((body.to_string().into_bytes(), "application/json")),
            )
            .await
            .map_err(storage)?;
        let raced = answer.pointer("/error/type").and_then(Value::as_str)
            == Some("resource_already_exists_exception");
        if (200..300).contains(&status) || raced {
            Ok(())
        } else {
            Err(answer_error(status, &answer))
        }
    }

    async fn read(&self, doc_id: &str) -> Result<Option<(u64, Value)>, StoreError> {
        let (status, answer) = self
            .cluster
            .send(Method::GET, &doc_path(doc_id), None)
            .await
            .map_err(storage)?;
        match status {
            200 => Ok(Some((
                answer["_version"].as_u64().unwrap_or(1),
                answer["_source"].clone(),
            ))),
            404 => Ok(None),
            _ => Err(answer_error(status, &answer)),
        }
    }

    /// Writes `source` as version `version`, refused (409) if the stored version is not below.
    async fn write(&self, doc_id: &str, version: u64, source: &Value) -> Result<(), StoreError> {
        let path = format!(
            "{}?version={version}&version_type=external&refresh=wait_for",
            doc_path(doc_id)
        );
        let (status, answer) = self
            .cluster
            .send(
                Method::PUT,
                &path,
                Some((source.to_string().into_bytes(), "application/json")),
            )
            .await
            .map_err(storage)?;
        match status {
            200 | 201 => Ok(()),
            409 => Err(StoreError::Conflict(format!(
                "[{doc_id}] was written by someone else first; reload it and try again"
            ))),
            _ => Err(answer_error(status, &answer)),
        }
    }

    fn to_source(object: &SavedObject) -> Value {
        json!({
            "type": object.object_type.as_str(),
            "id": object.id,
            "title": object.title(),
            "updated_at": object.updated_at,
            "attributes": object.attributes.to_string(),
            "references": serde_json::to_string(&object.references).unwrap_or_default(),
        })
    }

    fn from_source(version: u64, source: &Value) -> Result<SavedObject, StoreError> {
        let text = |field: &str| source.get(field).and_then(Value::as_str).unwrap_or("");
        let object_type = ObjectType::parse(text("type")).ok_or_else(|| {
            StoreError::Storage(format!(
                "a stored object of unknown type [{}]",
                text("type")
            ))
        })?;
        Ok(SavedObject {
            id: text("id").to_owned(),
            object_type,
            version,
            updated_at: text("updated_at").to_owned(),
            attributes: serde_json::from_str(text("attributes"))
                .map_err(|e| StoreError::Storage(format!("stored attributes: {e}")))?,
            references: serde_json::from_str(text("references")).unwrap_or_default(),
        })
    }
}

#[async_trait]
impl SavedObjectStore for ElasticStore {
    async fn get(&self, object_type: ObjectType, id: &str) -> Result<SavedObject, StoreError> {
        match self.read(&object_doc_id(object_type, id)).await? {
            Some((version, source)) => ElasticStore::from_source(version, &source),
            None => Err(StoreError::NotFound(object_type.as_str().into(), id.into())),
        }
    }

    async fn create(&self, object: NewObject, overwrite: bool) -> Result<SavedObject, StoreError> {
        validate(object.object_type, &object.attributes)?;
        let id = object.id.clone().unwrap_or_else(super::new_id);
        let doc_id = object_doc_id(object.object_type, &id);
        let current = self.read(&doc_id).await?.map(|(version, _)| version);
        if current.is_some() && !overwrite {
            return Err(StoreError::Conflict(format!(
                "saved object [{}/{id}] already exists",
                object.object_type.as_str()
            )));
        }
        let saved = SavedObject {
            id,
            object_type: object.object_type,
            version: current.map_or(1, |v| v + 1),
            updated_at: super::now(),
            attributes: object.attributes,
            references: object.references,
        };
        self.write(&doc_id, saved.version, &ElasticStore::to_source(&saved))
            .await?;
        Ok(saved)
    }

    async fn update(
        &self,
        object_type: ObjectType,
        id: &str,
        version: Option<u64>,
        attributes: Value,
        references: Vec<Reference>,
    ) -> Result<SavedObject, StoreError> {
        validate(object_type, &attributes)?;
        let current = SavedObjectStore::get(self, object_type, id).await?;
        if let Some(version) = version {
            if version != current.version {
                return Err(super::stale(object_type, id, current.version, version));
            }
        }
        let saved = SavedObject {
            version: current.version + 1,
            updated_at: super::now(),
            attributes,
            references,
            ..current
        };
        // Two writers that both read version N both write N + 1: the cluster takes one.
        self.write(
            &object_doc_id(object_type, id),
            saved.version,
            &ElasticStore::to_source(&saved),
        )
        .await?;
        Ok(saved)
    }

    async fn delete(&self, object_type: ObjectType, id: &str) -> Result<(), StoreError> {
        let path = format!(
            "{}?refresh=wait_for",
            doc_path(&object_doc_id(object_type, id))
        );
        let (status, answer) = self
            .cluster
            .send(Method::DELETE, &path, None)
            .await
            .map_err(storage)?;
        match status {
            200 => Ok(()),
            404 => Err(StoreError::NotFound(object_type.as_str().into(), id.into())),
            _ => Err(answer_error(status, &answer)),
        }
    }

    async fn find(&self, query: FindQuery) -> Result<FindResult, StoreError> {
        let types: Vec<&str> = if query.types.is_empty() {
            ObjectType::ALL.iter().map(|t| t.as_str()).collect()
        } else {
            query.types.iter().map(|t| t.as_str()).collect()
        };
        let body = json!({
            "size": MAX_OBJECTS,
            "version": true,
            "query": { "bool": { "filter": [{ "terms": { "type": types } }] } },
        });
        let (status, answer) = self
            .cluster
            .send(
                Method::POST,
                &format!("/{INDEX}/_search"),
                Some((body.to_string().into_bytes(), "application/json")),
            )
            .await
            .map_err(storage)?;
        if status == 404 {
            return Ok(FindResult::default());
        }
        if status != 200 {
            return Err(answer_error(status, &answer));
        }
        let objects = answer
            .pointer("/hits/hits")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|hit| {
                ElasticStore::from_source(hit["_version"].as_u64().unwrap_or(1), &hit["_source"])
                    .ok()
            })
            .collect();
        // Title search and paging as in every store: objects are few, titles short.
        Ok(super::select(objects, &query))
    }
}

#[async_trait]
impl ShortUrlStore for ElasticStore {
    async fn put(&self, path: &str) -> Result<String, StoreError> {
        let id = super::short_id(path);
        let source = json!({ "type": "short-url", "id": id, "path": path });
        let (status, answer) = self
            .cluster
            .send(
                Method::PUT,
                &format!("{}?refresh=wait_for", doc_path(&format!("short-url:{id}"))),
                Some((source.to_string().into_bytes(), "application/json")),
            )
            .await
            .map_err(storage)?;
        if (200..300).contains(&status) {
            Ok(id)
        } else {
            Err(answer_error(status, &answer))
        }
    }

    async fn get(&self, id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .read(&format!("short-url:{id}"))
            .await?
            .and_then(|(_, source)| source["path"].as_str().map(str::to_owned)))
    }
}
