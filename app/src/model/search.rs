//! Saved searches (Kibana's `search` objects): a Discover view kept under a title, its index
//! pattern, query, filters, columns and sort. Opened in Discover, shown as a flow table on
//! dashboards, exported and imported like the other objects.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::filter::{Filter, QueryText};
use super::visualization::{ModelError, Visualization};

/// Saved searches by id: what visualizations built on one are run with.
pub type SavedSearches = HashMap<String, SavedSearch>;

/// A visualization as it runs: one built on a saved search gets the search's index pattern,
/// and the search's query and filters before its own; the others are as they are. A missing
/// search, or a query that cannot join the visualization's, is an error that says so.
pub fn with_saved_search<'a>(
    vis: &'a Visualization,
    searches: &SavedSearches,
) -> Result<Cow<'a, Visualization>, String> {
    let Some(id) = &vis.saved_search else {
        return Ok(Cow::Borrowed(vis));
    };
    let search = searches.get(id).ok_or_else(|| {
        format!(
            "“{}” is built on saved search [{id}], which was deleted",
            vis.title
        )
    })?;
    let query = search.query.and(&vis.query).ok_or_else(|| {
        format!(
            "the query of saved search “{}” and the query of “{}” are in different languages",
            search.title, vis.title
        )
    })?;
    let mut filters = search.filters.clone();
    filters.extend(vis.filters.iter().cloned());
    Ok(Cow::Owned(Visualization {
        index_pattern: search.index_pattern.clone(),
        query,
        filters,
        ..vis.clone()
    }))
}

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
    fn a_visualization_on_a_saved_search_runs_with_its_pattern_query_and_filters() {
        let search = SavedSearch {
            title: "Rejects".into(),
            index_pattern: "flows-*".into(),
            query: QueryText::kql("action:REJECT"),
            filters: vec![Filter::phrase("dstport", json!(22))],
            ..SavedSearch::default()
        };
        let searches = SavedSearches::from([("rejects".to_owned(), search)]);
        let mut vis = Visualization::example_action_port_pie();
        vis.query = QueryText::kql("protocol:6");
        assert_eq!(
            with_saved_search(&vis, &searches).unwrap().as_ref(),
            &vis,
            "not built on one"
        );
        vis.saved_search = Some("rejects".into());
        let runs = with_saved_search(&vis, &searches).unwrap();
        assert_eq!(runs.index_pattern, "flows-*");
        assert_eq!(runs.query.text, "(action:REJECT) and (protocol:6)");
        assert_eq!(runs.filters, vec![Filter::phrase("dstport", json!(22))]);
        vis.saved_search = Some("gone".into());
        assert!(with_saved_search(&vis, &searches)
            .unwrap_err()
            .contains("was deleted"));
    }

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
