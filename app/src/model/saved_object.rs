//! Saved objects: index patterns, visualizations and dashboards as stored, exported and
//! imported (`_export` writes one per line, NDJSON).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The kinds of saved objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ObjectType {
    #[serde(rename = "index-pattern")]
    IndexPattern,
    #[serde(rename = "visualization")]
    Visualization,
    #[serde(rename = "dashboard")]
    Dashboard,
    /// A saved search (Discover's table).
    #[serde(rename = "search")]
    Search,
}

impl ObjectType {
    pub const ALL: [ObjectType; 4] = [
        ObjectType::IndexPattern,
        ObjectType::Search,
        ObjectType::Visualization,
        ObjectType::Dashboard,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ObjectType::IndexPattern => "index-pattern",
            ObjectType::Visualization => "visualization",
            ObjectType::Dashboard => "dashboard",
            ObjectType::Search => "search",
        }
    }

    pub fn parse(text: &str) -> Option<ObjectType> {
        match text {
            "index-pattern" => Some(ObjectType::IndexPattern),
            "visualization" => Some(ObjectType::Visualization),
            "dashboard" => Some(ObjectType::Dashboard),
            "search" => Some(ObjectType::Search),
            _ => None,
        }
    }
}

/// A link from one object to another (a visualization to its index pattern, a dashboard to
/// its visualizations).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    pub name: String,
    #[serde(rename = "type")]
    pub object_type: ObjectType,
    pub id: String,
}

/// A stored object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedObject {
    pub id: String,
    #[serde(rename = "type")]
    pub object_type: ObjectType,
    /// Increases on every update: an update carrying an older version is refused (409).
    #[serde(default)]
    pub version: u64,
    #[serde(default)]
    pub updated_at: String,
    pub attributes: Value,
    #[serde(default)]
    pub references: Vec<Reference>,
}

impl SavedObject {
    /// The object's title, for lists.
    pub fn title(&self) -> &str {
        self.attributes
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
}

/// `GET /api/saved_objects/_find` answers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FindResult {
    pub total: usize,
    pub saved_objects: Vec<SavedObject>,
}
