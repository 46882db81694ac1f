//! Kibana saved searches (Discover's `search` objects) into flowdash's, and the saved search a
//! visualization is built on.

use app::model::saved_object::{ObjectType, Reference};
use app::model::search::{SavedSearch, SortField};
use serde_json::Value;

use super::filters::kibana_filters;
use super::{is_kibana, kibana_query, search_source, text, ImportContext};
use crate::store::StoreError;

/// A Kibana saved search → flowdash's, and the id of the index pattern it searches (its
/// `kibanaSavedObjectMeta.searchSourceJSON.index` reference).
pub(super) async fn convert_search(
    attributes: &Value,
    references: &[Reference],
    context: &ImportContext<'_>,
    warnings: &mut Vec<String>,
) -> Result<(SavedSearch, String), String> {
    let index_ref = references
        .iter()
        .find(|r| r.object_type == ObjectType::IndexPattern)
        .ok_or("a Kibana saved search without an index pattern reference")?;
    let index_title = context.index_pattern_title(&index_ref.id).await?;
    let search = kibana_search(attributes, &index_title, warnings)?;
    Ok((search, index_ref.id.clone()))
}

fn kibana_search(
    attributes: &Value,
    index_title: &str,
    warnings: &mut Vec<String>,
) -> Result<SavedSearch, String> {
    let source = search_source(attributes);
    let search = SavedSearch {
        title: text(attributes, "title", "Imported search"),
        description: text(attributes, "description", ""),
        index_pattern: index_title.to_owned(),
        query: kibana_query(&source),
        filters: kibana_filters(source.get("filter"), warnings),
        columns: kibana_columns(attributes.get("columns")),
        sort: kibana_sort(attributes.get("sort"), warnings),
    };
    search
        .validate()
        .map_err(|e| format!("the converted saved search is invalid: {e}"))?;
    Ok(search)
}

/// Discover's columns; `_source` (each document whole) is flowdash's summary, no columns.
fn kibana_columns(columns: Option<&Value>) -> Vec<String> {
    columns
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|column| *column != "_source" && !column.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// Discover's sort: `[["@timestamp", "desc"], …]`, or one pair alone as older 7.x versions
/// save it, or `[]`.
fn kibana_sort(sort: Option<&Value>, warnings: &mut Vec<String>) -> Vec<SortField> {
    let pairs: Vec<&Value> = match sort {
        Some(Value::Array(items)) if items.first().is_some_and(Value::is_string) => {
            sort.into_iter().collect()
        }
        Some(Value::Array(items)) => items.iter().collect(),
        _ => Vec::new(),
    };
    pairs
        .into_iter()
        .filter_map(|pair| match pair.as_array().map(Vec::as_slice) {
            Some([Value::String(field), Value::String(direction)])
                if !field.trim().is_empty() && matches!(direction.as_str(), "asc" | "desc") =>
            {
                Some(SortField {
                    field: field.clone(),
                    descending: direction == "desc",
                })
            }
            _ => {
                warnings.push(format!(
                    "sort {pair} is not a field and direction; left out"
                ));
                None
            }
        })
        .collect()
}

/// The saved search `id` a visualization is built on, from the same import (in Kibana's or
/// flowdash's shape) or the store, and the id of its index pattern when known. Warnings of
/// its conversion are the visualization's too: what the search loses, the visualization
/// loses.
pub(super) async fn base_search(
    id: &str,
    context: &ImportContext<'_>,
    warnings: &mut Vec<String>,
) -> Result<(SavedSearch, Option<String>), String> {
    let (attributes, references) = match context.searches.get(id) {
        Some(object) => {
            let references: Vec<Reference> = match object.get("references") {
                Some(refs) => serde_json::from_value(refs.clone())
                    .map_err(|e| format!("saved search [{id}]: references: {e}"))?,
                None => Vec::new(),
            };
            (
                object.get("attributes").cloned().unwrap_or(Value::Null),
                references,
            )
        }
        None => match context.store.get(ObjectType::Search, id).await {
            Ok(stored) => (stored.attributes, stored.references),
            Err(StoreError::NotFound(..)) => {
                return Err(format!(
                    "is built on saved search [{id}], which is neither imported nor stored"
                ))
            }
            Err(other) => return Err(format!("saved search [{id}]: {other}")),
        },
    };
    if is_kibana(ObjectType::Search, &attributes) {
        let mut search_warnings = Vec::new();
        let (search, index_id) =
            convert_search(&attributes, &references, context, &mut search_warnings)
                .await
                .map_err(|e| format!("saved search [{id}] does not convert: {e}"))?;
        warnings.extend(
            search_warnings
                .into_iter()
                .map(|w| format!("saved search {}: {w}", search.title)),
        );
        Ok((search, Some(index_id)))
    } else {
        let search = SavedSearch::from_value(attributes)
            .map_err(|e| format!("saved search [{id}] is invalid: {e}"))?;
        let index_id = references
            .iter()
            .find(|r| r.object_type == ObjectType::IndexPattern)
            .map(|r| r.id.clone());
        Ok((search, index_id))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn columns_and_sort_in_each_kibana_shape() {
        let mut warnings = Vec::new();
        let attributes = json!({ "title": "Rejected SSH", "columns": ["srcaddr", "dstport"],
            "sort": [["@timestamp", "desc"], ["bytes", "asc"]],
            "kibanaSavedObjectMeta": { "searchSourceJSON": json!({
                "query": { "query": "action:REJECT", "language": "kuery" }, "filter": [],
                "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index" }).to_string() } });
        let search = kibana_search(&attributes, "cwl-*", &mut warnings).unwrap();
        assert_eq!(search.index_pattern, "cwl-*");
        assert_eq!(search.query.text, "action:REJECT");
        assert_eq!(search.columns, ["srcaddr", "dstport"]);
        assert_eq!(
            search.sort,
            [SortField::desc("@timestamp"), SortField::asc("bytes")]
        );
        assert!(warnings.is_empty(), "{warnings:?}");

        assert_eq!(
            kibana_sort(Some(&json!(["@timestamp", "asc"])), &mut warnings),
            [SortField::asc("@timestamp")]
        );
        assert!(kibana_sort(Some(&json!([])), &mut warnings).is_empty());
        assert!(kibana_columns(Some(&json!(["_source"]))).is_empty());
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(kibana_sort(Some(&json!([["bytes", "sideways"]])), &mut warnings).is_empty());
        assert_eq!(warnings.len(), 1);
    }
}
