//! Saved searches (Kibana's `search` objects): a Discover view kept under a title, its index
//! pattern, query, filters, columns and sort. Opened in Discover, shown as a flow table on
//! dashboards, exported and imported like the other objects.

use serde::{Deserialize, Serialize};

use super::filter::{Filter, QueryText};
use super::visualization::ModelError;

/// One sort column: a field, largest or newest first when `descending`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SortField {
    /// The field sorted on.
    pub field: String,
    /// Largest or newest first.
    #[serde(default)]
    pub descending: bool,
}

impl SortField {
    /// `field`, largest or newest first.
    pub fn desc(field: &str) -> SortField {
        SortField {
            field: field.to_owned(),
            descending: true,
        }
    }

    /// `field`, smallest or oldest first.
    pub fn asc(field: &str) -> SortField {
        SortField {
            field: field.to_owned(),
            descending: false,
        }
    }
}

/// A saved search.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedSearch {
    /// The title it is listed under.
    pub title: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// The index pattern searched, by title (`cwl-*`), as visualizations name theirs.
    pub index_pattern: String,
    /// The query bar's query.
    #[serde(default)]
    pub query: QueryText,
    /// The filter pills.
    #[serde(default)]
    pub filters: Vec<Filter>,
    /// Table columns besides time; none shows each flow's summary.
    #[serde(default)]
    pub columns: Vec<String>,
    /// None sorts by time, newest first.
    #[serde(default)]
    pub sort: Vec<SortField>,
}

impl SavedSearch {
    /// Reads a saved search; a bad value is reported with its path.
    pub fn from_value(value: serde_json::Value) -> Result<SavedSearch, ModelError> {
        let search: SavedSearch = super::from_json_with_path(&value.to_string())?;
        search.validate()?;
        Ok(search)
    }

    /// Checks what the types cannot: a title, an index pattern, no empty column or sort field.
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.title.trim().is_empty() {
            return Err(ModelError::new("title", "must not be empty"));
        }
        if self.index_pattern.trim().is_empty() {
            return Err(ModelError::new("index_pattern", "must not be empty"));
        }
        if let Some(i) = self.columns.iter().position(|c| c.trim().is_empty()) {
            return Err(ModelError::new(
                format!("columns[{i}]"),
                "must not be empty",
            ));
        }
        if let Some(i) = self.sort.iter().position(|s| s.field.trim().is_empty()) {
            return Err(ModelError::new(
                format!("sort[{i}].field"),
                "must not be empty",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_saved_search_names_its_bad_field() {
        let good = json!({ "title": "Rejects", "index_pattern": "cwl-*",
            "query": { "language": "kql", "text": "action:REJECT" },
            "columns": ["srcaddr"], "sort": [{ "field": "bytes", "descending": true }] });
        let search = SavedSearch::from_value(good.clone()).unwrap();
        assert_eq!(search.sort, vec![SortField::desc("bytes")]);
        let mut bad = good.clone();
        bad["sort"][0]["field"] = json!("");
        assert_eq!(
            SavedSearch::from_value(bad).unwrap_err().path,
            "sort[0].field"
        );
        let mut bad = good;
        bad["colums"] = json!([]);
        assert!(SavedSearch::from_value(bad)
            .unwrap_err()
            .reason
            .contains("unknown field"));
    }
}
