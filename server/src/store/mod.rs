//! Saved objects (index patterns, visualizations, dashboards) and short links behind traits.
//! The embedded mode keeps them in an ACID key-value store (redb) in the data directory; with a
//! cluster they live in its `.flowdash` index, shared by every flowdash pointed at it.

mod elastic_store;
mod kibana;
mod redb_store;
pub mod transfer;

use app::model::saved_object::{FindResult, ObjectType, Reference, SavedObject};
use async_trait::async_trait;
pub use elastic_store::ElasticStore;
pub use redb_store::RedbStore;
use serde_json::Value;

/// What a saved-object or short-link store can answer instead of a result.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// No object of this type (first) and id (second).
    #[error("saved object [{0}/{1}] not found")]
    NotFound(String, String),
    /// A create of an id that exists, or an update carrying a stale version.
    #[error("{0}")]
    Conflict(String),
    /// The attributes are not a valid object of the type, naming the field.
    #[error("{0}")]
    Invalid(String),
    /// The database or cluster under the store failed.
    #[error("saved object store error: {0}")]
    Storage(String),
}

/// What to write: the attributes and references of an object.
#[derive(Clone, Debug, PartialEq)]
pub struct NewObject {
    /// The object's type.
    pub object_type: ObjectType,
    /// The id to create it under; `None` makes a new one.
    pub id: Option<String>,
    /// The type's attributes (validated against the type by the store).
    pub attributes: Value,
    /// The objects it refers to (index pattern, panels), for export and import.
    pub references: Vec<Reference>,
}

/// A search of saved objects.
#[derive(Clone, Debug, Default)]
pub struct FindQuery {
    /// Only these types (all types when empty).
    pub types: Vec<ObjectType>,
    /// Words the title must contain (case-insensitive).
    pub search: Option<String>,
    /// The page to answer, from 1.
    pub page: usize,
    /// Objects per page.
    pub per_page: usize,
}

/// Where saved objects live: [`RedbStore`] in the data directory, [`ElasticStore`] in a
/// cluster's `.flowdash` index. Every write checks the object against its type.
#[async_trait]
pub trait SavedObjectStore: Send + Sync + 'static {
    /// The object of this type and id, or [`StoreError::NotFound`].
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

    /// Removes an object; [`StoreError::NotFound`] when there is none.
    async fn delete(&self, object_type: ObjectType, id: &str) -> Result<(), StoreError>;

    /// A page of objects of the query's types whose title matches its search words.
    async fn find(&self, query: FindQuery) -> Result<FindResult, StoreError>;
}

/// Short links: a stored path by a short id.
#[async_trait]
pub trait ShortUrlStore: Send + Sync + 'static {
    /// Stores `path` and answers its id (the same path always gets the same id).
    async fn put(&self, path: &str) -> Result<String, StoreError>;
    /// The target path stored under `id`, if any.
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
            app::model::index_pattern::IndexPattern::from_value(attributes.clone())
                .map(|_| ())
                .map_err(|e| StoreError::Invalid(format!("invalid index pattern: {e}")))
        }
        ObjectType::Dashboard => app::model::dashboard::Dashboard::from_value(attributes.clone())
            .map(|_| ())
            .map_err(|e| StoreError::Invalid(format!("invalid dashboard: {e}"))),
        ObjectType::Search => app::model::search::SavedSearch::from_value(attributes.clone())
            .map(|_| ())
            .map_err(|e| StoreError::Invalid(format!("invalid saved search: {e}"))),
        ObjectType::Query => app::model::saved_query::SavedQuery::from_value(attributes.clone())
            .map(|_| ())
            .map_err(|e| StoreError::Invalid(format!("invalid saved query: {e}"))),
        ObjectType::Networks => app::model::network::NetworksObject::from_value(attributes.clone())
            .map(|_| ())
            .map_err(|e| StoreError::Invalid(format!("invalid networks: {e}"))),
    }
}

/// The objects a find asks for: of its types, with every search word in the title or a
/// tag (a trailing `*` allowed), by title, one page.
pub fn select(objects: Vec<SavedObject>, query: &FindQuery) -> FindResult {
    let listed = objects
        .into_iter()
        .filter(|o| query.types.is_empty() || query.types.contains(&o.object_type))
        .map(|o| Listed {
            title: o.title().to_owned(),
            tags: tags_of(o.attributes.get("tags")),
            id: o.id.clone(),
            item: o,
        })
        .collect();
    let (total, saved_objects) = page_of(listed, query);
    FindResult {
        total,
        saved_objects,
    }
}

/// A stored object as a list sees it before reading it whole: its title and id, and what
/// reads the rest (the object, or where it is stored).
pub struct Listed<T> {
    /// The object's title.
    pub title: String,
    /// Its tags (dashboards have them), which a search matches as it matches the title.
    pub tags: Vec<String>,
    /// The object's id, which orders objects of the same title.
    pub id: String,
    /// The object, or its place in the store.
    pub item: T,
}

/// The tags in an object's `tags` attribute; anything that is not a list of strings has none.
pub fn tags_of(tags: Option<&Value>) -> Vec<String> {
    tags.and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .filter_map(Value::as_str)
                .map(str::to_lowercase)
                .collect()
        })
        .unwrap_or_default()
}

/// The page a find answers out of objects already of its types: those with every search
/// word in the title or a tag (a trailing `*` allowed), by title then id; and how many
/// matched.
pub fn page_of<T>(listed: Vec<Listed<T>>, query: &FindQuery) -> (usize, Vec<T>) {
    let words: Vec<String> = query
        .search
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .map(|w| w.trim_end_matches('*').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect();
    let mut matches: Vec<(String, Listed<T>)> = listed
        .into_iter()
        .map(|l| (l.title.to_lowercase(), l))
        .filter(|(title, l)| {
            words.iter().all(|w| {
                title.contains(w.as_str()) || l.tags.iter().any(|t| t.contains(w.as_str()))
            })
        })
        .collect();
    matches.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
    let total = matches.len();
    let per_page = if query.per_page == 0 {
        100
    } else {
        query.per_page.min(10_000)
    };
    let page = query.page.max(1);
    let items = matches
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .map(|(_, l)| l.item)
        .collect();
    (total, items)
}

/// The conflict of an update based on a version that is no longer current.
pub fn stale(object_type: ObjectType, id: &str, current: u64, based_on: u64) -> StoreError {
    StoreError::Conflict(format!(
        "saved object [{}/{id}] was changed by someone else (version {current} is current, the update was based on {based_on}); reload it and try again",
        object_type.as_str()
    ))
}

/// Ten base-62 characters of a 64-bit digest of a short link's path: the same path always
/// gets the same id, on every server.
pub fn short_id(path: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut n = xxhash_rust::xxh3::xxh3_64(path.as_bytes());
    (0..10)
        .map(|_| {
            let c = ALPHABET[(n % 62) as usize] as char;
            n /= 62;
            c
        })
        .collect()
}

/// Now, as saved objects record it.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A fresh id for objects created without one.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
