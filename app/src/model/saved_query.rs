//! Saved queries (Kibana's `query` objects): a query and filters kept under a title, which
//! the query bar of any page (dashboards, Discover, the editor) can load again.

use serde::{Deserialize, Serialize};

use super::filter::{Filter, QueryText};
use super::visualization::ModelError;

/// A saved query.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedQuery {
    /// The title it is listed under.
    pub title: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// The query bar's query.
    #[serde(default)]
    pub query: QueryText,
    /// The filter pills.
    #[serde(default)]
    pub filters: Vec<Filter>,
}

impl SavedQuery {
    /// Reads a saved query; a bad value is reported with its path.
    pub fn from_value(value: serde_json::Value) -> Result<SavedQuery, ModelError> {
        let query: SavedQuery = super::from_json_with_path(&value.to_string())?;
        if query.title.trim().is_empty() {
            return Err(ModelError::new("title", "must not be empty"));
        }
        if query.query.text.trim().is_empty() && query.filters.is_empty() {
            return Err(ModelError::new(
                "query",
                "a saved query needs a query or a filter",
            ));
        }
        Ok(query)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_saved_query_has_a_title_and_something_to_ask() {
        let read = SavedQuery::from_value(json!({
            "title": "SSH rejects",
            "query": { "language": "kql", "text": "dstport:22" },
            "filters": [{ "field": "action", "type": "phrase", "value": "REJECT" }]
        }))
        .unwrap();
        assert_eq!(read.query.text, "dstport:22");
        assert_eq!(read.filters[0].label(), "action: REJECT");
        let untitled = SavedQuery::from_value(json!({ "title": " ", "query": { "text": "x" } }));
        assert_eq!(untitled.unwrap_err().path, "title");
        let empty = SavedQuery::from_value(json!({ "title": "nothing" }));
        assert_eq!(empty.unwrap_err().path, "query");
        let unknown = SavedQuery::from_value(json!({ "title": "t", "timefilter": {} }));
        assert!(unknown.unwrap_err().reason.contains("unknown field"));
    }
}
