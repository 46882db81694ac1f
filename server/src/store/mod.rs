//! Saved objects (index patterns, visualizations, dashboards) behind one trait. The embedded
//! mode keeps them in an ACID key-value store (redb) in the data directory.

mod redb_store;
pub mod transfer;

use async_trait::async_trait;
use serde_json::Value;

use app::model::saved_object::{FindResult, ObjectType, Reference, SavedObject};

pub use redb_store::RedbStore;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    #[error("saved object [{0}/{1}] not found")]
    NotFound(String, String),
    /// A create of an id that exists, or an update carrying a stale version.
    #[error("{0}")]
    Conflict(String),
    /// The attributes are not a valid object of the type, naming the field.
    #[error("{0}")]
    Invalid(String),
    #[error("saved object store error: {0}")]
    Storage(String),
}

/// What to write: the attributes and references of an object.
#[derive(Clone, Debug, PartialEq)]
pub struct NewObject {
    pub object_type: ObjectType,
    pub id: Option<String>,
    pub attributes: Value,
    pub references: Vec<Reference>,
}

/// A search of saved objects.
#[derive(Clone, Debug, Default)]
pub struct FindQuery {
    pub types: Vec<ObjectType>,
    /// Words the title must contain (case-insensitive).
    pub search: Option<String>,
    pub page: usize,
    pub per_page: usize,
}

#[async_trait]
pub trait SavedObjectStore: Send + Sync + 'static {
    async fn get(&self, object_type: ObjectType, id: &str) -> Result<SavedObject, StoreError>;

    /// Creates an object; with `overwrite`, replaces one with the same id.
    async fn create(&self, object: NewObject, overwrite: bool) -> Result<SavedObject, StoreError>;

    /// Replaces an object's attributes and references if `version` is current.
    async fn update(
        &self,
        object_type: ObjectType,
        id: &str,
        version: Option<u64>,
        attributes: Value,
        references: Vec<Reference>,
    ) -> Result<SavedObject, StoreError>;

    async fn delete(&self, object_type: ObjectType, id: &str) -> Result<(), StoreError>;

    async fn find(&self, query: FindQuery) -> Result<FindResult, StoreError>;
}

/// Short links: a stored path by a short id.
#[async_trait]
pub trait ShortUrlStore: Send + Sync + 'static {
    /// Stores `path` and answers its id (the same path always gets the same id).
    async fn put(&self, path: &str) -> Result<String, StoreError>;
    async fn get(&self, id: &str) -> Result<Option<String>, StoreError>;
}

/// Checks attributes against the type's model, so nothing invalid is ever stored.
pub fn validate(object_type: ObjectType, attributes: &Value) -> Result<(), StoreError> {
    match object_type {
        ObjectType::Visualization => {
            app::model::visualization::Visualization::from_value(attributes.clone())
                .map(|_| ())
                .map_err(|e| StoreError::Invalid(format!("invalid visualization: {e}")))
        }
        ObjectType::IndexPattern => {
            serde_json::from_value::<app::model::index_pattern::IndexPattern>(attributes.clone())
                .map(|_| ())
                .map_err(|e| StoreError::Invalid(format!("invalid index pattern: {e}")))
        }
        ObjectType::Dashboard => app::model::dashboard::Dashboard::from_value(attributes.clone())
            .map(|_| ())
            .map_err(|e| StoreError::Invalid(format!("invalid dashboard: {e}"))),
    }
}

/// A fresh id for objects created without one.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
