//! Export and import of saved objects as NDJSON (one object per line), with everything a
//! dashboard needs when asked; import also reads Kibana 7.x saved searches, visualizations,
//! dashboards and index patterns (converted by [`super::kibana`]) and says what it could not
//! carry over.

use std::collections::{HashMap, HashSet};

use app::model::saved_object::{ObjectType, Reference, SavedObject};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{kibana, NewObject, SavedObjectStore, StoreError};

/// Objects to export, and whether to take what they reference along.
pub async fn export(
    store: &dyn SavedObjectStore,
    roots: Vec<(ObjectType, String)>,
    deep: bool,
) -> Result<String, StoreError> {
    let mut seen: HashSet<(ObjectType, String)> = HashSet::new();
    let mut queue = roots;
    let mut objects = Vec::new();
    let mut missing: Vec<Value> = Vec::new();
    while let Some((object_type, id)) = queue.pop() {
        if !seen.insert((object_type, id.clone())) {
            continue;
        }
        match store.get(object_type, &id).await {
            Ok(object) => {
                if deep {
                    queue.extend(
                        object
                            .references
                            .iter()
                            .map(|r| (r.object_type, r.id.clone())),
                    );
                }
                objects.push(object);
            }
            Err(StoreError::NotFound(..)) => {
                missing.push(json!({ "type": object_type.as_str(), "id": id }))
            }
            Err(other) => return Err(other),
        }
    }
    Ok(app::model::saved_object::export_ndjson(&objects, &missing))
}

/// How an import treats ids that exist.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct ImportMode {
    /// Replace objects whose ids exist (otherwise they are conflicts).
    #[serde(default)]
    pub overwrite: bool,
    /// Give every imported object a new id, and point references at the new ids.
    #[serde(default, rename = "createNewCopies")]
    pub create_new_copies: bool,
}

/// The per-object report of an import.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ImportReport {
    /// True when every object was imported.
    pub success: bool,
    /// How many objects were imported.
    #[serde(rename = "successCount")]
    pub success_count: usize,
    /// One entry per imported object: type, id, `destinationId`, title and any warnings.
    #[serde(rename = "successResults")]
    pub success_results: Vec<Value>,
    /// One entry per object that was not imported, with the reason.
    pub errors: Vec<Value>,
}

/// One object read from an import file, in flowdash's shape.
struct Incoming {
    object_type: ObjectType,
    id: String,
    title: String,
    attributes: Value,
    references: Vec<Reference>,
    warnings: Vec<String>,
}

/// Imports NDJSON of flowdash or Kibana 7.x saved objects.
pub async fn import(
    store: &dyn SavedObjectStore,
    ndjson: &str,
    mode: ImportMode,
) -> Result<ImportReport, StoreError> {
    let mut report = ImportReport::default();
    let mut raw = Vec::new();
    for (number, line) in ndjson
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        match serde_json::from_str::<Value>(line) {
            Ok(value) if value.get("exportedCount").is_some() => {}
            Ok(value) => raw.push(value),
            Err(error) => report.errors.push(json!({ "line": number + 1, "error": { "type": "invalid", "reason": format!("not JSON: {error}") } })),
        }
    }
    let context = kibana::ImportContext::new(store, &raw);
    let mut incoming = Vec::new();
    for value in raw {
        let id = value
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let kind = value
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        match convert(value, &context).await {
            Ok(object) => incoming.push(object),
            Err(reason) => report.errors.push(
                json!({ "id": id, "type": kind, "error": { "type": "invalid", "reason": reason } }),
            ),
        }
    }
    // New copies get new ids, and references follow them.
    let mut new_ids: HashMap<(ObjectType, String), String> = HashMap::new();
    if mode.create_new_copies {
        for object in &incoming {
            new_ids.insert((object.object_type, object.id.clone()), super::new_id());
        }
    }
    let importing: HashSet<(ObjectType, String)> = incoming
        .iter()
        .map(|o| (o.object_type, o.id.clone()))
        .collect();
    for mut object in incoming {
        let mut missing = Vec::new();
        for reference in &mut object.references {
            if let Some(new_id) = new_ids.get(&(reference.object_type, reference.id.clone())) {
                reference.id = new_id.clone();
            } else if !importing.contains(&(reference.object_type, reference.id.clone()))
                && matches!(
                    store.get(reference.object_type, &reference.id).await,
                    Err(StoreError::NotFound(..))
                )
            {
                missing.push(json!({ "type": reference.object_type.as_str(), "id": reference.id }));
            }
        }
        let destination = new_ids
            .get(&(object.object_type, object.id.clone()))
            .cloned()
            .unwrap_or_else(|| object.id.clone());
        if !missing.is_empty() {
            report.errors.push(
                json!({ "id": object.id, "type": object.object_type.as_str(), "title": object.title,
                "error": { "type": "missing_references", "references": missing } }),
            );
            continue;
        }
        if mode.create_new_copies {
            follow_new_ids(&mut object.attributes, &new_ids);
        }
        let written = store
            .create(
                NewObject {
                    object_type: object.object_type,
                    id: Some(destination.clone()),
                    attributes: object.attributes,
                    references: object.references,
                },
                mode.overwrite,
            )
            .await;
        match written {
            Ok(_) => {
                report.success_count += 1;
                let mut result = json!({ "type": object.object_type.as_str(), "id": object.id, "destinationId": destination, "title": object.title });
                if !object.warnings.is_empty() {
                    result["warnings"] = json!(object.warnings);
                }
                report.success_results.push(result);
            }
            Err(StoreError::Conflict(_)) => report.errors.push(json!({ "id": object.id, "type": object.object_type.as_str(), "title": object.title,
                "error": { "type": "conflict", "reason": "an object with this id exists; import with overwrite or createNewCopies" } })),
            Err(StoreError::Invalid(reason)) => report.errors.push(json!({ "id": object.id, "type": object.object_type.as_str(), "title": object.title,
                "error": { "type": "invalid", "reason": reason } })),
            Err(other) => return Err(other),
        }
    }
    report.success = report.errors.is_empty();
    Ok(report)
}

/// Dashboards keep saved-visualization ids in their panels, and visualizations the id of the
/// saved search they are built on: follow the new copies.
fn follow_new_ids(attributes: &mut Value, new_ids: &HashMap<(ObjectType, String), String>) {
    if let Some(Value::String(id)) = attributes.get_mut("saved_search") {
        if let Some(new_id) = new_ids.get(&(ObjectType::Search, id.clone())) {
            *id = new_id.clone();
        }
    }
    if let Some(panels) = attributes.get_mut("panels").and_then(Value::as_array_mut) {
        for panel in panels {
            for (key, object_type) in [
                ("visualization_id", ObjectType::Visualization),
                ("search_id", ObjectType::Search),
            ] {
                if let Some(Value::String(id)) = panel.get_mut(key) {
                    if let Some(new_id) = new_ids.get(&(object_type, id.clone())) {
                        *id = new_id.clone();
                    }
                }
            }
        }
    }
}

/// One object of an import file in flowdash's shape, converted when it is Kibana's.
async fn convert(value: Value, context: &kibana::ImportContext<'_>) -> Result<Incoming, String> {
    let object_type = value
        .get("type")
        .and_then(Value::as_str)
        .and_then(ObjectType::parse)
        .ok_or_else(|| {
            format!(
                "unsupported object type {}",
                value.get("type").unwrap_or(&Value::Null)
            )
        })?;
    let id = value
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or("the object has no id")?
        .to_owned();
    let attributes = value
        .get("attributes")
        .cloned()
        .ok_or("the object has no attributes")?;
    let references: Vec<Reference> = match value.get("references") {
        Some(refs) => {
            serde_json::from_value(refs.clone()).map_err(|e| format!("references: {e}"))?
        }
        None => Vec::new(),
    };
    let title = attributes
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let mut warnings = Vec::new();
    let (attributes, references) = if kibana::is_kibana(object_type, &attributes) {
        kibana::convert(object_type, &attributes, references, context, &mut warnings).await?
    } else {
        (attributes, references)
    };
    Ok(Incoming {
        object_type,
        id,
        title,
        attributes,
        references,
        warnings,
    })
}

/// The references a flowdash object's attributes imply (panels and index patterns), so
/// exports can take them along.
pub fn implied_references(
    object_type: ObjectType,
    attributes: &Value,
    index_patterns: &[SavedObject],
) -> Vec<Reference> {
    match object_type {
        ObjectType::Visualization | ObjectType::Search => {
            let title = attributes
                .get("index_pattern")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let mut references: Vec<Reference> = index_patterns
                .iter()
                .filter(|p| p.title() == title)
                .map(|p| Reference {
                    name: "index_pattern".into(),
                    object_type: ObjectType::IndexPattern,
                    id: p.id.clone(),
                })
                .take(1)
                .collect();
            // A visualization built on a saved search takes it along.
            references.extend(
                attributes
                    .get("saved_search")
                    .and_then(Value::as_str)
                    .map(kibana::saved_search_reference),
            );
            references
        }
        ObjectType::Dashboard => attributes
            .get("panels")
            .and_then(Value::as_array)
            .map(|panels| {
                panels
                    .iter()
                    .filter_map(|p| {
                        let (object_type, id) =
                            match (p.get("visualization_id"), p.get("search_id")) {
                                (Some(Value::String(id)), _) => (ObjectType::Visualization, id),
                                (_, Some(Value::String(id))) => (ObjectType::Search, id),
                                _ => return None,
                            };
                        let panel = p.get("id").and_then(Value::as_str).unwrap_or(id);
                        Some(Reference {
                            name: format!("panel_{panel}"),
                            object_type,
                            id: id.to_owned(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default(),
        ObjectType::IndexPattern | ObjectType::Query | ObjectType::Networks => Vec::new(),
    }
}
