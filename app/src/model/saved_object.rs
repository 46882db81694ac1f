//! Saved objects: index patterns, visualizations and dashboards as stored, exported and
//! imported (`_export` writes one per line, NDJSON).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The kinds of saved objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ObjectType {
    /// Which indices to search (`cwl-*`) and their fields.
    #[serde(rename = "index-pattern")]
    IndexPattern,
    /// A chart definition.
    #[serde(rename = "visualization")]
    Visualization,
    /// Panels on a grid.
    #[serde(rename = "dashboard")]
    Dashboard,
    /// A saved search (Discover's table).
    #[serde(rename = "search")]
    Search,
    /// A saved query: a query and filters any query bar can load.
    #[serde(rename = "query")]
    Query,
    /// The named address ranges (one object, see [`super::network`]).
    #[serde(rename = "networks")]
    Networks,
}

impl ObjectType {
    /// Every type, in the order objects are listed and imported.
    pub const ALL: [ObjectType; 6] = [
        ObjectType::Networks,
        ObjectType::IndexPattern,
        ObjectType::Query,
        ObjectType::Search,
        ObjectType::Visualization,
        ObjectType::Dashboard,
    ];

    /// The type's name in the API and in exports (`index-pattern`).
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectType::IndexPattern => "index-pattern",
            ObjectType::Visualization => "visualization",
            ObjectType::Dashboard => "dashboard",
            ObjectType::Search => "search",
            ObjectType::Query => "query",
            ObjectType::Networks => "networks",
        }
    }

    /// The type with this name, if any.
    pub fn parse(text: &str) -> Option<ObjectType> {
        match text {
            "index-pattern" => Some(ObjectType::IndexPattern),
            "visualization" => Some(ObjectType::Visualization),
            "dashboard" => Some(ObjectType::Dashboard),
            "search" => Some(ObjectType::Search),
            "query" => Some(ObjectType::Query),
            "networks" => Some(ObjectType::Networks),
            _ => None,
        }
    }
}

/// A link from one object to another (a visualization to its index pattern, a dashboard to
/// its visualizations).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    /// The name the referring object uses for it (`kibanaSavedObjectMeta.searchSourceJSON.index`).
    pub name: String,
    /// The referenced object's type.
    #[serde(rename = "type")]
    pub object_type: ObjectType,
    /// The referenced object's id.
    pub id: String,
}

/// A stored object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedObject {
    /// Unique among objects of its type.
    pub id: String,
    /// What kind of object it is.
    #[serde(rename = "type")]
    pub object_type: ObjectType,
    /// Increases on every update: an update carrying an older version is refused (409).
    #[serde(default)]
    pub version: u64,
    /// When it was last written (RFC 3339).
    #[serde(default)]
    pub updated_at: String,
    /// The object itself, as its type defines it.
    pub attributes: Value,
    /// The objects it refers to.
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

/// Saved objects as an export file (NDJSON): one object per line, then the summary line
/// (`exportedCount`, `missingRefCount`, `missingReferences`, as Kibana writes it). The
/// server's `_export` writes it and `_import` reads it back; the editor writes an unsaved
/// visualization in it too, so every export imports.
pub fn export_ndjson(objects: &[SavedObject], missing: &[Value]) -> String {
    let mut out = String::new();
    for object in objects {
        // A SavedObject (string keys, JSON values) always serializes.
        out.push_str(&serde_json::to_string(object).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(
        &serde_json::json!({
            "exportedCount": objects.len(),
            "missingRefCount": missing.len(),
            "missingReferences": missing,
        })
        .to_string(),
    );
    out.push('\n');
    out
}

/// `GET /api/saved_objects/_find` answers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FindResult {
    /// How many objects match.
    pub total: usize,
    /// The objects of this page.
    pub saved_objects: Vec<SavedObject>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_export_is_one_object_per_line_then_the_summary() {
        let object = SavedObject {
            id: "v1".into(),
            object_type: ObjectType::Visualization,
            version: 0,
            updated_at: String::new(),
            attributes: json!({ "title": "Two\nlines" }),
            references: vec![Reference {
                name: "index_pattern".into(),
                object_type: ObjectType::IndexPattern,
                id: "cwl".into(),
            }],
        };
        let missing = [json!({ "type": "index-pattern", "id": "gone" })];
        let ndjson = export_ndjson(std::slice::from_ref(&object), &missing);
        let lines: Vec<&str> = ndjson.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            serde_json::from_str::<SavedObject>(lines[0]).unwrap(),
            object
        );
        let summary: Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(summary["exportedCount"], 1);
        assert_eq!(summary["missingRefCount"], 1);
        assert_eq!(summary["missingReferences"][0]["id"], "gone");
    }
}
