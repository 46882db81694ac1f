//! Kibana 7.x saved objects into flowdash's: index patterns, saved searches, visualizations
//! (pie, line, area, histogram, metric, table; on an index pattern or a saved search) and
//! dashboards, with their filters and warnings for what does not carry over.
//! [`super::transfer::import`] calls it for objects in Kibana's shape.

mod dashboard;
mod embedded;
mod filters;
mod saved_search;
mod visualization;

use std::collections::HashMap;

use app::model::dashboard::PanelSource;
use app::model::field_format::{FieldFormat, FieldFormats};
use app::model::filter::{QueryLanguage, QueryText};
use app::model::index_pattern::{FieldSpec, IndexPattern};
use app::model::saved_object::{ObjectType, Reference};
use app::model::saved_query::SavedQuery;
use serde_json::{json, Value};

use super::SavedObjectStore;
use filters::kibana_filters;

/// Whether an object's attributes are in Kibana's shape (`visState`, `panelsJSON`, a saved
/// search's `kibanaSavedObjectMeta`, or an index pattern's `timeFieldName` or string `fields`)
/// rather than flowdash's.
pub(super) fn is_kibana(object_type: ObjectType, attributes: &Value) -> bool {
    match object_type {
        ObjectType::Visualization => attributes.get("visState").is_some(),
        ObjectType::Dashboard => attributes.get("panelsJSON").is_some(),
        ObjectType::Search => attributes.get("kibanaSavedObjectMeta").is_some(),
        ObjectType::Query => attributes.pointer("/query/query").is_some(),
        // Kibana has no such object.
        ObjectType::Networks => false,
        ObjectType::IndexPattern => {
            attributes.get("timeFieldName").is_some()
                || attributes.get("fields").is_some_and(Value::is_string)
        }
    }
}

/// What converting one object may need besides the object: the store, and the index
/// patterns and saved searches of the same import (an object may come before what it names).
pub(super) struct ImportContext<'a> {
    store: &'a dyn SavedObjectStore,
    /// Index pattern titles of the import, by id.
    titles: HashMap<String, String>,
    /// The saved searches of the import as read (either shape), by id: visualizations built
    /// on one copy its query and filters.
    searches: HashMap<String, Value>,
    /// The import's Kibana markdown and input-control visualizations, by id: dashboards
    /// hold them as text and controls panels.
    embedded: HashMap<String, embedded::Embedded>,
}

impl<'a> ImportContext<'a> {
    /// The context of an import of `objects` (as read, in either shape) into `store`.
    pub(super) fn new(store: &'a dyn SavedObjectStore, objects: &[Value]) -> ImportContext<'a> {
        let of_type = |object_type: ObjectType| {
            objects.iter().filter(move |o| {
                o.get("type").and_then(Value::as_str) == Some(object_type.as_str())
            })
        };
        let id = |o: &Value| o.get("id").and_then(Value::as_str).map(str::to_owned);
        let titles = of_type(ObjectType::IndexPattern)
            .filter_map(|o| {
                let title = o.pointer("/attributes/title")?.as_str()?;
                Some((id(o)?, title.to_owned()))
            })
            .collect();
        let searches = of_type(ObjectType::Search)
            .filter_map(|o| Some((id(o)?, o.clone())))
            .collect();
        let embedded = of_type(ObjectType::Visualization)
            .filter_map(|o| Some((id(o)?, embedded::embedded(o)?)))
            .collect();
        ImportContext {
            store,
            titles,
            searches,
            embedded,
        }
    }

    /// The embedded visualizations, their controls' index patterns named by title (from the
    /// import or the store); a control whose pattern is in neither is left out with a
    /// warning.
    async fn embedded_with_titles(&self) -> HashMap<String, embedded::Embedded> {
        let mut resolved = HashMap::new();
        for (id, held) in &self.embedded {
            let mut held = held.clone();
            if let embedded::EmbeddedKind::Controls { controls, warnings } = &mut held.kind {
                let mut kept = Vec::new();
                for (number, mut control) in std::mem::take(controls) {
                    match self.index_pattern_title(&control.index_pattern).await {
                        Ok(title) => {
                            control.index_pattern = title;
                            kept.push((number, control));
                        }
                        Err(why) => {
                            warnings.push(format!("control {number} was left out: it {why}"))
                        }
                    }
                }
                *controls = kept;
            }
            resolved.insert(id.clone(), held);
        }
        resolved
    }

    /// The title of the index pattern `id`, from the import or the store.
    async fn index_pattern_title(&self, id: &str) -> Result<String, String> {
        if let Some(title) = self.titles.get(id) {
            return Ok(title.clone());
        }
        match self.store.get(ObjectType::IndexPattern, id).await {
            Ok(pattern) => Ok(pattern.title().to_owned()),
            Err(_) => Err(format!(
                "references index pattern [{id}], which is neither imported nor stored"
            )),
        }
    }
}

/// A Kibana object's attributes and references in flowdash's shape; what does not carry over
/// is added to `warnings`.
pub(super) async fn convert(
    object_type: ObjectType,
    attributes: &Value,
    references: Vec<Reference>,
    context: &ImportContext<'_>,
    warnings: &mut Vec<String>,
) -> Result<(Value, Vec<Reference>), String> {
    Ok(match object_type {
        ObjectType::Networks => return Err("Kibana has no networks object".into()),
        ObjectType::IndexPattern => (kibana_index_pattern(attributes, warnings)?, references),
        ObjectType::Query => (kibana_saved_query(attributes, warnings)?, Vec::new()),
        ObjectType::Search => {
            let (search, index_id) =
                saved_search::convert_search(attributes, &references, context, warnings).await?;
            (
                serde_json::to_value(search).map_err(|e| e.to_string())?,
                vec![index_pattern_reference(&index_id)],
            )
        }
        ObjectType::Visualization if is_embedded(attributes) => {
            return Err(
                "a Kibana markdown or input controls visualization is not imported on its \
                own: the dashboards of this import that show it get it as a text panel or \
                a controls panel"
                    .into(),
            )
        }
        ObjectType::Visualization => {
            let (vis, index_id) =
                visualization::convert_visualization(attributes, &references, context, warnings)
                    .await?;
            let mut references: Vec<Reference> = index_id
                .as_deref()
                .map(index_pattern_reference)
                .into_iter()
                .collect();
            references.extend(vis.saved_search.as_deref().map(saved_search_reference));
            (
                serde_json::to_value(vis).map_err(|e| e.to_string())?,
                references,
            )
        }
        ObjectType::Dashboard => {
            let embedded = context.embedded_with_titles().await;
            let dashboard =
                dashboard::kibana_dashboard(attributes, &references, &embedded, warnings)?;
            let references = dashboard
                .panels
                .iter()
                .filter_map(|p| match &p.source {
                    PanelSource::Saved(id) => Some(Reference {
                        name: format!("panel_{}", p.id),
                        object_type: ObjectType::Visualization,
                        id: id.clone(),
                    }),
                    PanelSource::Search(id) => Some(Reference {
                        name: format!("panel_{}", p.id),
                        object_type: ObjectType::Search,
                        id: id.clone(),
                    }),
                    PanelSource::Inline(_)
                    | PanelSource::Markdown(_)
                    | PanelSource::Controls(_) => None,
                })
                .collect();
            (
                serde_json::to_value(dashboard).map_err(|e| e.to_string())?,
                references,
            )
        }
    })
}

/// The reference to the saved search a visualization is built on, as flowdash names it.
pub(crate) fn saved_search_reference(id: &str) -> Reference {
    Reference {
        name: "search_0".into(),
        object_type: ObjectType::Search,
        id: id.to_owned(),
    }
}

/// The reference to an index pattern as flowdash names it.
fn index_pattern_reference(id: &str) -> Reference {
    Reference {
        name: "index_pattern".into(),
        object_type: ObjectType::IndexPattern,
        id: id.to_owned(),
    }
}

/// A string attribute, or `default` when it is missing or not a string.
fn text(attributes: &Value, key: &str, default: &str) -> String {
    attributes
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or(default)
        .to_owned()
}

/// The object's `kibanaSavedObjectMeta.searchSourceJSON` (query, filters, index), read;
/// empty when missing or not JSON.
fn search_source(attributes: &Value) -> Value {
    attributes
        .pointer("/kibanaSavedObjectMeta/searchSourceJSON")
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(json!({}))
}

/// Kibana's index pattern (fields and formats as JSON strings, `timeFieldName`) → flowdash's.
fn kibana_index_pattern(attributes: &Value, warnings: &mut Vec<String>) -> Result<Value, String> {
    let title = attributes
        .get("title")
        .and_then(Value::as_str)
        .ok_or("index pattern without a title")?;
    let fields: Vec<FieldSpec> = attributes
        .get("fields")
        .and_then(Value::as_str)
        .and_then(|text| serde_json::from_str::<Vec<Value>>(text).ok())
        .unwrap_or_default()
        .iter()
        .filter_map(|f| {
            let name = f.get("name")?.as_str()?;
            if name.starts_with('_') {
                return None;
            }
            let esty = f
                .get("esTypes")
                .and_then(|t| t.get(0))
                .and_then(Value::as_str);
            let kind = f.get("type").and_then(Value::as_str).unwrap_or("string");
            Some(FieldSpec {
                name: name.to_owned(),
                field_type: esty
                    .unwrap_or(match kind {
                        "number" => "long",
                        "string" => "keyword",
                        other => other,
                    })
                    .to_owned(),
                aggregatable: f
                    .get("aggregatable")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                searchable: f.get("searchable").and_then(Value::as_bool).unwrap_or(true),
            })
        })
        .collect();
    serde_json::to_value(IndexPattern {
        title: title.to_owned(),
        time_field: attributes
            .get("timeFieldName")
            .and_then(Value::as_str)
            .unwrap_or("@timestamp")
            .to_owned(),
        fields,
        field_formats: kibana_field_formats(attributes, warnings),
    })
    .map_err(|e| e.to_string())
}

/// Kibana's `fieldFormatMap` (by field: `{"id": "bytes"}`, `{"id": "url", "params":
/// {"urlTemplate": …}}`; a JSON string in saved objects, an object in some exports) →
/// flowdash's formats. A format flowdash does not have, or a map that does not read, is named
/// in a warning, and the fields are shown as they are.
fn kibana_field_formats(attributes: &Value, warnings: &mut Vec<String>) -> FieldFormats {
    let map: serde_json::Map<String, Value> = match attributes.get("fieldFormatMap") {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(Value::String(text)) if text.trim().is_empty() => serde_json::Map::new(),
        Some(Value::String(text)) => match serde_json::from_str(text) {
            Ok(map) => map,
            Err(error) => {
                warnings.push(format!(
                    "fieldFormatMap does not read ({error}); every field is shown as it is"
                ));
                serde_json::Map::new()
            }
        },
        Some(other) => {
            warnings.push(format!(
                "fieldFormatMap is neither an object nor JSON text but {other}; every field is shown as it is"
            ));
            serde_json::Map::new()
        }
    };
    let mut formats = FieldFormats::default();
    for (field, format) in map {
        let id = format.get("id").and_then(Value::as_str).unwrap_or_default();
        let param = |name: &str| {
            format
                .pointer(&format!("/params/{name}"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let converted = match id {
            "number" => FieldFormat::Number,
            "bytes" => FieldFormat::Bytes,
            "url" if !matches!(param("type").as_str(), "" | "a") => {
                warnings.push(format!(
                    "field {field}: a url format showing an {} is not supported; its values are shown as they are",
                    match param("type").as_str() {
                        "img" => "image".to_owned(),
                        other => other.to_owned(),
                    }
                ));
                continue;
            }
            // Kibana's default link is the value itself, which only a template can make safe.
            "url" if param("urlTemplate").is_empty() => {
                warnings.push(format!(
                    "field {field}: a url format linking to the value itself is not supported (flowdash links through a template starting with https://, http:// or /); its values are shown as they are"
                ));
                continue;
            }
            "url" => FieldFormat::Url {
                template: param("urlTemplate"),
                label: param("labelTemplate"),
            },
            other => {
                warnings.push(format!(
                    "field {field}: format [{other}] is not supported; its values are shown as they are"
                ));
                continue;
            }
        };
        if let Err(error) = converted.validate(&field) {
            warnings.push(format!(
                "field {field}: its {id} format was left out ({})",
                error.reason
            ));
            continue;
        }
        formats.0.insert(field, converted);
    }
    formats
}

/// Whether Kibana visualization attributes are one a dashboard holds itself (markdown,
/// input controls).
fn is_embedded(attributes: &Value) -> bool {
    embedded::vis_state(attributes).is_some_and(|state| {
        matches!(
            state.get("type").and_then(Value::as_str),
            Some("markdown" | "input_control_vis")
        )
    })
}

/// A Kibana saved query (`query`): its title, description, query and filters. A stored
/// time range does not carry over (flowdash's saved queries leave the time to the page).
fn kibana_saved_query(attributes: &Value, warnings: &mut Vec<String>) -> Result<Value, String> {
    if attributes.get("timefilter").is_some_and(|t| !t.is_null()) {
        warnings.push("its stored time range was left out: the page's time applies".into());
    }
    let query = SavedQuery {
        title: text(attributes, "title", "Imported query"),
        description: text(attributes, "description", ""),
        query: kibana_query(attributes),
        filters: kibana_filters(attributes.get("filters"), warnings),
    };
    let value = serde_json::to_value(&query).map_err(|e| e.to_string())?;
    SavedQuery::from_value(value.clone())
        .map_err(|e| format!("the converted saved query is invalid: {e}"))?;
    Ok(value)
}

/// The query of a search source, KQL unless it says Lucene.
fn kibana_query(search: &Value) -> QueryText {
    let text = search
        .pointer("/query/query")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let language = match search.pointer("/query/language").and_then(Value::as_str) {
        Some("lucene") => QueryLanguage::Lucene,
        _ => QueryLanguage::Kql,
    };
    QueryText { language, text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kibana_field_formats_carry_over_and_the_rest_are_named() {
        let formats = json!({
            "bytes": { "id": "bytes" },
            "packets": { "id": "number", "params": { "pattern": "0,0" } },
            "srcaddr": { "id": "url", "params": { "urlTemplate": "https://whois.example/?q={{value}}",
                "labelTemplate": "{{value}} (whois)" } },
            "dstaddr": { "id": "url", "params": { "type": "img", "urlTemplate": "https://x.example/{{value}}.png" } },
            "start": { "id": "duration" },
            "account_id": { "id": "url", "params": { "urlTemplate": "javascript:alert(1)" } }
        });
        let attributes = json!({ "title": "cwl-*", "timeFieldName": "@timestamp", "fields": "[]",
            "fieldFormatMap": formats.to_string() });
        let mut warnings = Vec::new();
        let pattern =
            IndexPattern::from_value(kibana_index_pattern(&attributes, &mut warnings).unwrap())
                .unwrap();
        let formats = &pattern.field_formats;
        assert_eq!(formats.of("bytes"), FieldFormat::Bytes);
        assert_eq!(formats.of("packets"), FieldFormat::Number);
        assert_eq!(
            formats.of("srcaddr"),
            FieldFormat::Url {
                template: "https://whois.example/?q={{value}}".into(),
                label: "{{value}} (whois)".into(),
            }
        );
        assert_eq!(formats.0.len(), 3, "{formats:?}");
        warnings.sort();
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings[0].starts_with("field account_id: its url format was left out"));
        assert!(
            warnings[1].contains("dstaddr: a url format showing an image"),
            "{}",
            warnings[1]
        );
        assert!(warnings[2].contains("start: format [duration]"));

        // The store refuses what the importer leaves out, naming the field.
        let bad = json!({ "title": "cwl-*", "field_formats": {
            "account_id": { "id": "url", "template": "javascript:alert({{value}})" } } });
        let refused = crate::store::validate(ObjectType::IndexPattern, &bad).unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("field_formats.account_id.template"),
            "{refused}"
        );

        // The map as an object reads too; a map that does not read is named.
        let object = json!({ "title": "cwl-*", "fieldFormatMap": { "bytes": { "id": "number" },
            "srcaddr": { "id": "url", "params": { "urlTemplate": "", "labelTemplate": "{{value}} at {{url}}" } },
            "dstaddr": { "id": "url", "params": { "urlTemplate": "/app/discover?q={{value}}", "labelTemplate": "{{url}}" } } } });
        let mut warnings = Vec::new();
        let formats = kibana_field_formats(&object, &mut warnings);
        assert_eq!(formats.of("bytes"), FieldFormat::Number);
        assert_eq!(formats.0.len(), 2, "{formats:?}");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("srcaddr: a url format linking to the value itself"));
        let broken = json!({ "title": "cwl-*", "fieldFormatMap": "{\"bytes\": " });
        let mut warnings = Vec::new();
        assert!(kibana_field_formats(&broken, &mut warnings).is_empty());
        assert!(
            warnings[0].contains("fieldFormatMap does not read"),
            "{warnings:?}"
        );
    }
}
