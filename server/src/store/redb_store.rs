//! Saved objects in redb: one table, keyed `type/id`, values the object's JSON. Every write is
//! one ACID transaction, so a version check and its write cannot interleave with another.

use std::path::Path;
use std::sync::Arc;

use app::model::saved_object::{FindResult, ObjectType, Reference, SavedObject};
use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde_json::Value;

use super::{validate, FindQuery, NewObject, SavedObjectStore, StoreError};

const OBJECTS: TableDefinition<&str, &[u8]> = TableDefinition::new("saved_objects");
const SHORT_URLS: TableDefinition<&str, &str> = TableDefinition::new("short_urls");

/// Saved objects and short links in a redb database under `<data-dir>/saved_objects`, each
/// object with a version that updates must name.
#[derive(Clone)]
pub struct RedbStore {
    db: Arc<Database>,
}

fn storage<E: std::fmt::Display>(error: E) -> StoreError {
    StoreError::Storage(error.to_string())
}

fn key(object_type: ObjectType, id: &str) -> String {
    format!("{}/{id}", object_type.as_str())
}

impl RedbStore {
    /// Opens (creating) `saved_objects.redb` in `dir`.
    pub fn open(dir: &Path) -> Result<RedbStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(storage)?;
        let db = Database::create(dir.join("saved_objects.redb")).map_err(storage)?;
        let txn = db.begin_write().map_err(storage)?;
        txn.open_table(OBJECTS).map_err(storage)?;
        txn.open_table(SHORT_URLS).map_err(storage)?;
        txn.commit().map_err(storage)?;
        Ok(RedbStore { db: Arc::new(db) })
    }

    fn read(&self, object_type: ObjectType, id: &str) -> Result<Option<SavedObject>, StoreError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let table = txn.open_table(OBJECTS).map_err(storage)?;
        let value = table.get(key(object_type, id).as_str()).map_err(storage)?;
        value
            .map(|v| serde_json::from_slice(v.value()).map_err(storage))
            .transpose()
    }

    /// Runs `change` on the current object (if any) inside one write transaction and stores
    /// what it returns.
    fn write(
        &self,
        object_type: ObjectType,
        id: &str,
        change: impl FnOnce(Option<SavedObject>) -> Result<SavedObject, StoreError>,
    ) -> Result<SavedObject, StoreError> {
        let txn = self.db.begin_write().map_err(storage)?;
        let object = {
            let mut table = txn.open_table(OBJECTS).map_err(storage)?;
            let k = key(object_type, id);
            let current = table
                .get(k.as_str())
                .map_err(storage)?
                .map(|v| serde_json::from_slice::<SavedObject>(v.value()))
                .transpose()
                .map_err(storage)?;
            let object = change(current)?;
            let bytes = serde_json::to_vec(&object).map_err(storage)?;
            table
                .insert(k.as_str(), bytes.as_slice())
                .map_err(storage)?;
            object
        };
        txn.commit().map_err(storage)?;
        Ok(object)
    }
}

/// What a list reads of a stored object before its page is known (serde skips the rest).
#[derive(serde::Deserialize)]
struct ObjectHead {
    id: String,
    #[serde(default)]
    attributes: HeadAttributes,
}

#[derive(Default, serde::Deserialize)]
struct HeadAttributes {
    /// A string for every valid object; anything else lists as untitled, as `title()` reads.
    #[serde(default)]
    title: Option<Value>,
    /// A dashboard's tags, which the list's search also matches.
    #[serde(default)]
    tags: Option<Value>,
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work).await.map_err(storage)?
}

#[async_trait]
impl SavedObjectStore for RedbStore {
    async fn get(&self, object_type: ObjectType, id: &str) -> Result<SavedObject, StoreError> {
        let store = self.clone();
        let id = id.to_owned();
        blocking(move || {
            store
                .read(object_type, &id)?
                .ok_or_else(|| StoreError::NotFound(object_type.as_str().into(), id))
        })
        .await
    }

    async fn create(&self, object: NewObject, overwrite: bool) -> Result<SavedObject, StoreError> {
        validate(object.object_type, &object.attributes)?;
        let store = self.clone();
        blocking(move || {
            let id = object.id.clone().unwrap_or_else(super::new_id);
            store.write(object.object_type, &id, |current| {
                if current.is_some() && !overwrite {
                    return Err(StoreError::Conflict(format!(
                        "saved object [{}/{id}] already exists",
                        object.object_type.as_str()
                    )));
                }
                Ok(SavedObject {
                    id: id.clone(),
                    object_type: object.object_type,
                    version: current.map_or(1, |c| c.version + 1),
                    updated_at: super::now(),
                    attributes: object.attributes,
                    references: object.references,
                })
            })
        })
        .await
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
        let store = self.clone();
        let id = id.to_owned();
        blocking(move || {
            store.write(object_type, &id, |current| {
                let current = current
                    .ok_or_else(|| StoreError::NotFound(object_type.as_str().into(), id.clone()))?;
                if let Some(version) = version {
                    if version != current.version {
                        return Err(super::stale(object_type, &id, current.version, version));
                    }
                }
                Ok(SavedObject {
                    version: current.version + 1,
                    updated_at: super::now(),
                    attributes,
                    references,
                    ..current
                })
            })
        })
        .await
    }

    async fn delete(&self, object_type: ObjectType, id: &str) -> Result<(), StoreError> {
        let store = self.clone();
        let id = id.to_owned();
        blocking(move || {
            let txn = store.db.begin_write().map_err(storage)?;
            let removed = {
                let mut table = txn.open_table(OBJECTS).map_err(storage)?;
                let removed = table
                    .remove(key(object_type, &id).as_str())
                    .map_err(storage)?
                    .is_some();
                removed
            };
            txn.commit().map_err(storage)?;
            if removed {
                Ok(())
            } else {
                Err(StoreError::NotFound(object_type.as_str().into(), id))
            }
        })
        .await
    }

    async fn find(&self, query: FindQuery) -> Result<FindResult, StoreError> {
        let store = self.clone();
        blocking(move || {
            let txn = store.db.begin_read().map_err(storage)?;
            let table = txn.open_table(OBJECTS).map_err(storage)?;
            // Only the asked-for types' keys (`type/…`), and of each object only its title
            // and id until the page is known: a list costs a light scan, not a parse of
            // every object.
            let types: &[ObjectType] = if query.types.is_empty() {
                &ObjectType::ALL
            } else {
                &query.types
            };
            let mut listed = Vec::new();
            for object_type in types {
                let prefix = format!("{}/", object_type.as_str());
                let end = format!("{}0", object_type.as_str()); // '0' follows '/'
                for entry in table
                    .range(prefix.as_str()..end.as_str())
                    .map_err(storage)?
                {
                    let (key, value) = entry.map_err(storage)?;
                    let head: ObjectHead =
                        serde_json::from_slice(value.value()).map_err(storage)?;
                    let title = head.attributes.title;
                    listed.push(super::Listed {
                        title: title
                            .as_ref()
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned(),
                        tags: super::tags_of(head.attributes.tags.as_ref()),
                        id: head.id,
                        item: key.value().to_owned(),
                    });
                }
            }
            let (total, keys) = super::page_of(listed, &query);
            let mut saved_objects = Vec::with_capacity(keys.len());
            for key in keys {
                if let Some(value) = table.get(key.as_str()).map_err(storage)? {
                    saved_objects.push(serde_json::from_slice(value.value()).map_err(storage)?);
                }
            }
            Ok(FindResult {
                total,
                saved_objects,
            })
        })
        .await
    }
}

#[async_trait]
impl super::ShortUrlStore for RedbStore {
    async fn put(&self, path: &str) -> Result<String, StoreError> {
        let store = self.clone();
        let path = path.to_owned();
        blocking(move || {
            let id = super::short_id(&path);
            let txn = store.db.begin_write().map_err(storage)?;
            {
                let mut table = txn.open_table(SHORT_URLS).map_err(storage)?;
                table.insert(id.as_str(), path.as_str()).map_err(storage)?;
            }
            txn.commit().map_err(storage)?;
            Ok(id)
        })
        .await
    }

    async fn get(&self, id: &str) -> Result<Option<String>, StoreError> {
        let store = self.clone();
        let id = id.to_owned();
        blocking(move || {
            let txn = store.db.begin_read().map_err(storage)?;
            let table = txn.open_table(SHORT_URLS).map_err(storage)?;
            let value = table.get(id.as_str()).map_err(storage)?;
            Ok(value.map(|v| v.value().to_owned()))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pattern(title: &str) -> Value {
        json!({ "title": title, "time_field": "@timestamp" })
    }

    #[tokio::test]
    async fn finds_page_by_title_search_within_type_and_read_only_their_page_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(dir.path()).unwrap();
        // Created out of order; listed by title.
        for i in (0..30).rev() {
            store
                .create(
                    NewObject {
                        object_type: ObjectType::IndexPattern,
                        id: Some(format!("id-{i}")),
                        attributes: pattern(&format!("p-{i:02}")),
                        references: vec![],
                    },
                    false,
                )
                .await
                .unwrap();
        }
        let find = |search: Option<&str>, page, per_page, types: Vec<ObjectType>| {
            store.find(FindQuery {
                types,
                search: search.map(str::to_owned),
                page,
                per_page,
            })
        };
        let third = find(None, 3, 7, vec![ObjectType::IndexPattern])
            .await
            .unwrap();
        assert_eq!(third.total, 30);
        let titles: Vec<&str> = third.saved_objects.iter().map(|o| o.title()).collect();
        assert_eq!(
            titles,
            ["p-14", "p-15", "p-16", "p-17", "p-18", "p-19", "p-20"]
        );
        assert_eq!(third.saved_objects[0].id, "id-14");
        assert_eq!(
            third.saved_objects[0].attributes["time_field"], "@timestamp",
            "read whole"
        );
        let searched = find(Some("P-1*"), 1, 100, vec![]).await.unwrap();
        assert_eq!(searched.total, 10);
        assert_eq!(searched.saved_objects.len(), 10);
        let past_the_end = find(None, 9, 7, vec![ObjectType::IndexPattern])
            .await
            .unwrap();
        assert_eq!(
            (past_the_end.total, past_the_end.saved_objects.len()),
            (30, 0)
        );
        let other_type = find(None, 1, 100, vec![ObjectType::Dashboard])
            .await
            .unwrap();
        assert_eq!(other_type.total, 0);
        // A dashboard's tags are searched as its title is.
        let tagged = json!({ "title": "Edge", "panels": [], "tags": ["Prod", "security"] });
        store
            .create(
                NewObject {
                    object_type: ObjectType::Dashboard,
                    id: Some("edge".into()),
                    attributes: tagged,
                    references: vec![],
                },
                false,
            )
            .await
            .unwrap();
        for (search, total) in [("prod", 1), ("edge secur*", 1), ("prod p-1", 0)] {
            let found = find(Some(search), 1, 100, vec![]).await.unwrap();
            assert_eq!(found.total, total, "{search}");
        }
    }

    #[tokio::test]
    async fn create_update_find_delete_with_optimistic_concurrency() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(dir.path()).unwrap();
        let created = store
            .create(
                NewObject {
                    object_type: ObjectType::IndexPattern,
                    id: Some("cwl".into()),
                    attributes: pattern("cwl-*"),
                    references: vec![],
                },
                false,
            )
            .await
            .unwrap();
        assert_eq!(created.version, 1);
        let again = store
            .create(
                NewObject {
                    object_type: ObjectType::IndexPattern,
                    id: Some("cwl".into()),
                    attributes: pattern("cwl-*"),
                    references: vec![],
                },
                false,
            )
            .await;
        assert!(matches!(again, Err(StoreError::Conflict(_))));
        let updated = store
            .update(
                ObjectType::IndexPattern,
                "cwl",
                Some(1),
                pattern("cwl-2020*"),
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(updated.version, 2);
        let stale = store
            .update(
                ObjectType::IndexPattern,
                "cwl",
                Some(1),
                pattern("x"),
                vec![],
            )
            .await;
        assert!(
            matches!(stale, Err(StoreError::Conflict(reason)) if reason.contains("version 2 is current"))
        );
        let invalid = store
            .update(
                ObjectType::IndexPattern,
                "cwl",
                Some(2),
                json!({ "title": 5 }),
                vec![],
            )
            .await;
        assert!(matches!(invalid, Err(StoreError::Invalid(_))));
        store
            .create(
                NewObject {
                    object_type: ObjectType::IndexPattern,
                    id: None,
                    attributes: pattern("vpc-*"),
                    references: vec![],
                },
                false,
            )
            .await
            .unwrap();
        let found = store
            .find(FindQuery {
                types: vec![ObjectType::IndexPattern],
                search: Some("VPC".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(found.total, 1);
        assert_eq!(found.saved_objects[0].title(), "vpc-*");
        drop(store);
        // Durable: a reopened store has everything.
        let store = RedbStore::open(dir.path()).unwrap();
        assert_eq!(
            store
                .get(ObjectType::IndexPattern, "cwl")
                .await
                .unwrap()
                .title(),
            "cwl-2020*"
        );
        store.delete(ObjectType::IndexPattern, "cwl").await.unwrap();
        assert!(matches!(
            store.get(ObjectType::IndexPattern, "cwl").await,
            Err(StoreError::NotFound(..))
        ));
        assert!(matches!(
            store.delete(ObjectType::IndexPattern, "cwl").await,
            Err(StoreError::NotFound(..))
        ));
    }
}
