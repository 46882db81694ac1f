//! Export and import of saved objects as NDJSON (one object per line), with everything a
//! dashboard needs when asked; import also reads Kibana 7.x visualizations, dashboards and
//! index patterns and says what it could not carry over.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{NewObject, SavedObjectStore, StoreError};
use app::model::dashboard::{Dashboard, GridPos, Panel, PanelSource};
use app::model::filter::{QueryLanguage, QueryText};
use app::model::index_pattern::{FieldSpec, IndexPattern};
use app::model::saved_object::{ObjectType, Reference, SavedObject};
use app::model::time::TimeRange;
use app::model::visualization::{
    Bucket, BucketAgg, BucketRole, ChartKind, ChartOptions, Interval, LegendPosition, Metric,
    NamedFilter, NumberRange, TermsOrder, Visualization, VISUALIZATION_VERSION,
};

/// Objects to export, and whether to take what they reference along.
pub async fn export(
    store: &dyn SavedObjectStore,
    roots: Vec<(ObjectType, String)>,
    deep: bool,
) -> Result<String, StoreError> {
    let mut seen: HashSet<(ObjectType, String)> = HashSet::new();
    let mut queue = roots;
    let mut out = String::new();
    let mut missing: Vec<Value> = Vec::new();
    let mut count = 0;
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
                out.push_str(
                    &serde_json::to_string(&object)
                        .map_err(|e| StoreError::Storage(e.to_string()))?,
                );
                out.push('\n');
                count += 1;
            }
            Err(StoreError::NotFound(..)) => {
                missing.push(json!({ "type": object_type.as_str(), "id": id }))
            }
            Err(other) => return Err(other),
        }
    }
    out.push_str(&json!({ "exportedCount": count, "missingRefCount": missing.len(), "missingReferences": missing }).to_string());
    out.push('\n');
    Ok(out)
}

/// How an import treats ids that exist.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct ImportMode {
    #[serde(default)]
    pub overwrite: bool,
    #[serde(default, rename = "createNewCopies")]
    pub create_new_copies: bool,
}

/// The per-object report of an import.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ImportReport {
    pub success: bool,
    #[serde(rename = "successCount")]
    pub success_count: usize,
    #[serde(rename = "successResults")]
    pub success_results: Vec<Value>,
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
    // Index patterns first: visualizations take their title from them.
    let mut titles: HashMap<String, String> = HashMap::new();
    for value in &raw {
        if value.get("type").and_then(Value::as_str) == Some("index-pattern") {
            if let (Some(id), Some(title)) = (
                value.get("id").and_then(Value::as_str),
                value.pointer("/attributes/title").and_then(Value::as_str),
            ) {
                titles.insert(id.to_owned(), title.to_owned());
            }
        }
    }
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
        match convert(value, store, &titles).await {
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
            rewrite_panel_ids(&mut object.attributes, &new_ids);
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

/// Dashboards keep saved-visualization ids in their panels: follow the new copies.
fn rewrite_panel_ids(attributes: &mut Value, new_ids: &HashMap<(ObjectType, String), String>) {
    if let Some(panels) = attributes.get_mut("panels").and_then(Value::as_array_mut) {
        for panel in panels {
            if let Some(Value::String(id)) = panel.get_mut("visualization_id") {
                if let Some(new_id) = new_ids.get(&(ObjectType::Visualization, id.clone())) {
                    *id = new_id.clone();
                }
            }
        }
    }
}

async fn convert(
    value: Value,
    store: &dyn SavedObjectStore,
    titles: &HashMap<String, String>,
) -> Result<Incoming, String> {
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
    let is_kibana = match object_type {
        ObjectType::Visualization => attributes.get("visState").is_some(),
        ObjectType::Dashboard => attributes.get("panelsJSON").is_some(),
        ObjectType::IndexPattern => {
            attributes.get("timeFieldName").is_some()
                || attributes.get("fields").is_some_and(Value::is_string)
        }
    };
    let (attributes, references) = if !is_kibana {
        (attributes, references)
    } else {
        match object_type {
            ObjectType::IndexPattern => (kibana_index_pattern(&attributes)?, references),
            ObjectType::Visualization => {
                let index_ref = references
                    .iter()
                    .find(|r| r.object_type == ObjectType::IndexPattern);
                let index_title = match index_ref {
                    Some(reference) => match titles.get(&reference.id) {
                        Some(title) => title.clone(),
                        None => match store.get(ObjectType::IndexPattern, &reference.id).await {
                            Ok(pattern) => pattern.title().to_owned(),
                            Err(_) => return Err(format!("references index pattern [{}], which is neither imported nor stored", reference.id)),
                        },
                    },
                    None => return Err("a Kibana visualization without an index pattern reference (saved searches are not supported)".into()),
                };
                let vis = kibana_visualization(&attributes, &index_title, &mut warnings)?;
                let references = index_ref
                    .map(|r| {
                        vec![Reference {
                            name: "index_pattern".into(),
                            object_type: ObjectType::IndexPattern,
                            id: r.id.clone(),
                        }]
                    })
                    .unwrap_or_default();
                (
                    serde_json::to_value(vis).map_err(|e| e.to_string())?,
                    references,
                )
            }
            ObjectType::Dashboard => {
                let dashboard = kibana_dashboard(&attributes, &references, &mut warnings)?;
                let references = dashboard
                    .panels
                    .iter()
                    .filter_map(|p| match &p.source {
                        PanelSource::Saved(id) => Some(Reference {
                            name: format!("panel_{}", p.id),
                            object_type: ObjectType::Visualization,
                            id: id.clone(),
                        }),
                        PanelSource::Inline(_) => None,
                    })
                    .collect();
                (
                    serde_json::to_value(dashboard).map_err(|e| e.to_string())?,
                    references,
                )
            }
        }
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

fn kibana_index_pattern(attributes: &Value) -> Result<Value, String> {
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
    })
    .map_err(|e| e.to_string())
}

/// Kibana's visState (pie, line, area, histogram, metric, table) → a flowdash visualization.
fn kibana_visualization(
    attributes: &Value,
    index_title: &str,
    warnings: &mut Vec<String>,
) -> Result<Visualization, String> {
    let state: Value = attributes
        .get("visState")
        .and_then(Value::as_str)
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| format!("visState is not JSON: {e}"))?
        .ok_or("no visState")?;
    let kind = match state
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
    {
        "pie" => ChartKind::Pie,
        "line" => ChartKind::Line,
        "area" => ChartKind::Area,
        "histogram" => ChartKind::Bar,
        "metric" => ChartKind::Metric,
        "table" => ChartKind::Table,
        other => {
            return Err(format!(
                "Kibana visualization type [{other}] is not supported"
            ))
        }
    };
    let aggs = state
        .get("aggs")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut metric = None;
    let mut buckets = Vec::new();
    for agg in &aggs {
        let agg_type = agg.get("type").and_then(Value::as_str).unwrap_or_default();
        let schema = agg
            .get("schema")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let params = agg.get("params").cloned().unwrap_or(json!({}));
        let field = params
            .get("field")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if agg.get("enabled").and_then(Value::as_bool) == Some(false) {
            warnings.push(format!(
                "disabled aggregation {agg_type} ({schema}) was left out"
            ));
            continue;
        }
        match schema {
            "metric" => {
                if metric.is_some() {
                    warnings.push(format!(
                        "only the first metric is used; {agg_type} on {} was left out",
                        field.as_deref().unwrap_or("-")
                    ));
                    continue;
                }
                let need = || {
                    field
                        .clone()
                        .ok_or_else(|| format!("{agg_type} metric without a field"))
                };
                metric = Some(match agg_type {
                    "count" => Metric::Count,
                    "sum" => Metric::Sum { field: need()? },
                    "avg" => Metric::Avg { field: need()? },
                    "min" => Metric::Min { field: need()? },
                    "max" => Metric::Max { field: need()? },
                    "cardinality" => Metric::UniqueCount { field: need()? },
                    "percentiles" => Metric::Percentile {
                        field: need()?,
                        percent: params
                            .pointer("/percents/0")
                            .and_then(Value::as_f64)
                            .unwrap_or(50.0),
                    },
                    other => {
                        warnings.push(format!("metric [{other}] is not supported; Count is used"));
                        Metric::Count
                    }
                });
            }
            "segment" | "group" | "bucket" => {
                let role = match (kind, schema) {
                    (ChartKind::Pie, _) => BucketRole::SplitSlices,
                    (ChartKind::Table, _) => BucketRole::Rows,
                    (_, "group") => BucketRole::SplitSeries,
                    _ => BucketRole::XAxis,
                };
                let agg = match agg_type {
                    "terms" => {
                        let order_by = params.get("orderBy").and_then(Value::as_str).unwrap_or("1");
                        let ascending = params.get("order").and_then(Value::as_str) == Some("asc");
                        BucketAgg::Terms {
                            field: field.ok_or("terms without a field")?,
                            size: params
                                .get("size")
                                .and_then(Value::as_u64)
                                .unwrap_or(5)
                                .clamp(1, 500) as u32,
                            order: match (order_by, ascending) {
                                ("_key", true) => TermsOrder::KeyAsc,
                                ("_key", false) => TermsOrder::KeyDesc,
                                (_, true) => TermsOrder::MetricAsc,
                                (_, false) => TermsOrder::MetricDesc,
                            },
                            other_bucket: params
                                .get("otherBucket")
                                .and_then(Value::as_bool)
                                .unwrap_or(false),
                            missing_bucket: params
                                .get("missingBucket")
                                .and_then(Value::as_bool)
                                .unwrap_or(false),
                        }
                    }
                    "date_histogram" => BucketAgg::DateHistogram {
                        field: field.unwrap_or_else(|| "@timestamp".into()),
                        interval: kibana_interval(&params, warnings),
                    },
                    "histogram" => BucketAgg::Histogram {
                        field: field.ok_or("histogram without a field")?,
                        interval: params
                            .get("interval")
                            .and_then(|v| {
                                v.as_f64()
                                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                            })
                            .unwrap_or(1.0),
                    },
                    "range" => BucketAgg::Range {
                        field: field.ok_or("range without a field")?,
                        ranges: params
                            .get("ranges")
                            .and_then(Value::as_array)
                            .map(|ranges| {
                                ranges
                                    .iter()
                                    .map(|r| NumberRange {
                                        from: r.get("from").and_then(Value::as_f64),
                                        to: r.get("to").and_then(Value::as_f64),
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                    },
                    "filters" => BucketAgg::Filters {
                        filters: params
                            .get("filters")
                            .and_then(Value::as_array)
                            .map(|filters| {
                                filters
                                    .iter()
                                    .map(|f| {
                                        let text = f
                                            .pointer("/input/query")
                                            .and_then(Value::as_str)
                                            .unwrap_or("*")
                                            .to_owned();
                                        let language = match f
                                            .pointer("/input/language")
                                            .and_then(Value::as_str)
                                        {
                                            Some("lucene") => QueryLanguage::Lucene,
                                            _ => QueryLanguage::Kql,
                                        };
                                        NamedFilter {
                                            label: f
                                                .get("label")
                                                .and_then(Value::as_str)
                                                .filter(|l| !l.is_empty())
                                                .unwrap_or(&text)
                                                .to_owned(),
                                            query: QueryText { language, text },
                                        }
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                    },
                    other => {
                        warnings.push(format!(
                            "bucket aggregation [{other}] is not supported and was left out"
                        ));
                        continue;
                    }
                };
                buckets.push(Bucket { role, agg });
            }
            "split" => warnings.push(
                "split charts (small multiples) are not supported; the split was left out".into(),
            ),
            other => warnings.push(format!("aggregation schema [{other}] was left out")),
        }
    }
    let vis_params = state.get("params").cloned().unwrap_or(json!({}));
    let mut options = ChartOptions::default();
    if let Some(donut) = vis_params.get("isDonut").and_then(Value::as_bool) {
        options.donut = donut;
    }
    if let Some(show) = vis_params.pointer("/labels/show").and_then(Value::as_bool) {
        options.show_labels = show;
    }
    options.legend = match vis_params.get("legendPosition").and_then(Value::as_str) {
        Some("bottom") | Some("top") => LegendPosition::Bottom,
        _ if vis_params.get("addLegend") == Some(&json!(false)) => LegendPosition::Hidden,
        _ => LegendPosition::Right,
    };
    let search: Value = attributes
        .pointer("/kibanaSavedObjectMeta/searchSourceJSON")
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(json!({}));
    let query = kibana_query(&search);
    if search
        .get("filter")
        .and_then(Value::as_array)
        .is_some_and(|f| !f.is_empty())
    {
        warnings.push("the visualization's saved filters were left out".into());
    }
    let vis = Visualization {
        version: VISUALIZATION_VERSION,
        title: attributes
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or("Imported")
            .to_owned(),
        description: attributes
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        kind,
        index_pattern: index_title.to_owned(),
        metric: metric.unwrap_or_default(),
        buckets,
        options,
        query,
        filters: Vec::new(),
    };
    vis.validate()
        .map_err(|e| format!("the converted visualization is invalid: {e}"))?;
    Ok(vis)
}

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

/// Kibana's date_histogram interval: `auto`, a unit letter (`m` is one minute), `30s`, or
/// `custom` with `customInterval`.
fn kibana_interval(params: &Value, warnings: &mut Vec<String>) -> Interval {
    let raw = params
        .get("interval")
        .and_then(Value::as_str)
        .unwrap_or("auto");
    let raw = if raw == "custom" {
        params
            .get("customInterval")
            .and_then(Value::as_str)
            .unwrap_or("auto")
    } else {
        raw
    };
    let text = match raw {
        "auto" => return Interval::Auto,
        "ms" | "s" | "m" | "h" | "d" | "w" | "M" | "y" => format!("1{raw}"),
        other => other.to_owned(),
    };
    if app::model::time::parse_duration_ms(&text).is_none() {
        warnings.push(format!("interval [{raw}] is not understood; auto is used"));
        return Interval::Auto;
    }
    if app::model::time::is_calendar_interval(&text) {
        Interval::Calendar(text)
    } else {
        Interval::Fixed(text)
    }
}

fn kibana_dashboard(
    attributes: &Value,
    references: &[Reference],
    warnings: &mut Vec<String>,
) -> Result<Dashboard, String> {
    let panels: Vec<Value> = attributes
        .get("panelsJSON")
        .and_then(Value::as_str)
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| format!("panelsJSON is not JSON: {e}"))?
        .unwrap_or_default();
    let by_name: BTreeMap<&str, &Reference> =
        references.iter().map(|r| (r.name.as_str(), r)).collect();
    let mut converted = Vec::new();
    for (index, panel) in panels.iter().enumerate() {
        let grid = panel.get("gridData").cloned().unwrap_or(json!({}));
        let number = |k: &str, default: u32| {
            grid.get(k)
                .and_then(Value::as_u64)
                .map_or(default, |v| v as u32)
        };
        let reference = panel
            .get("panelRefName")
            .and_then(Value::as_str)
            .and_then(|name| by_name.get(name))
            .or_else(|| {
                panel.get("id").and_then(Value::as_str).and_then(|id| {
                    references
                        .iter()
                        .find(|r| r.id == id)
                        .and_then(|r| by_name.get(r.name.as_str()))
                })
            });
        let Some(reference) = reference else {
            warnings.push(format!(
                "panel {} has no visualization reference and was left out",
                index + 1
            ));
            continue;
        };
        if reference.object_type != ObjectType::Visualization {
            warnings.push(format!(
                "panel {} shows a {} and was left out",
                index + 1,
                reference.object_type.as_str()
            ));
            continue;
        }
        converted.push(Panel {
            id: panel
                .get("panelIndex")
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| v.to_string())
                })
                .unwrap_or_else(|| (index + 1).to_string()),
            grid: GridPos {
                x: number("x", 0).min(47),
                y: number("y", 0),
                w: number("w", 24).clamp(1, 48),
                h: number("h", 15).max(1),
            },
            title: panel
                .pointer("/embeddableConfig/title")
                .and_then(Value::as_str)
                .map(str::to_owned),
            source: PanelSource::Saved(reference.id.clone()),
        });
    }
    // Kibana grids can overlap after manual edits: settle them without overlaps.
    for i in 0..converted.len() {
        let target = converted[i].grid;
        app::model::dashboard::layout::place(&mut converted, i, target);
    }
    let search: Value = attributes
        .pointer("/kibanaSavedObjectMeta/searchSourceJSON")
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(json!({}));
    if search
        .get("filter")
        .and_then(Value::as_array)
        .is_some_and(|f| !f.is_empty())
    {
        warnings.push("the dashboard's saved filters were left out".into());
    }
    let time = match (
        attributes.get("timeRestore").and_then(Value::as_bool),
        attributes.get("timeFrom"),
        attributes.get("timeTo"),
    ) {
        (Some(true), Some(Value::String(from)), Some(Value::String(to))) => Some(TimeRange {
            from: from.clone(),
            to: to.clone(),
        }),
        _ => None,
    };
    let refresh_ms = match attributes.get("refreshInterval") {
        Some(r) if r.get("pause").and_then(Value::as_bool) == Some(false) => {
            r.get("value").and_then(Value::as_u64)
        }
        _ => None,
    };
    let dashboard = Dashboard {
        version: app::model::dashboard::DASHBOARD_VERSION,
        title: attributes
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or("Imported dashboard")
            .to_owned(),
        description: attributes
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        panels: converted,
        time,
        refresh_ms,
        query: kibana_query(&search),
        filters: Vec::new(),
    };
    dashboard
        .validate()
        .map_err(|e| format!("the converted dashboard is invalid: {e}"))?;
    Ok(dashboard)
}

/// The references a flowdash object's attributes imply (panels and index patterns), so
/// exports can take them along.
pub fn implied_references(
    object_type: ObjectType,
    attributes: &Value,
    index_patterns: &[SavedObject],
) -> Vec<Reference> {
    match object_type {
        ObjectType::Visualization => {
            let title = attributes
                .get("index_pattern")
                .and_then(Value::as_str)
                .unwrap_or_default();
            index_patterns
                .iter()
                .filter(|p| p.title() == title)
                .map(|p| Reference {
                    name: "index_pattern".into(),
                    object_type: ObjectType::IndexPattern,
                    id: p.id.clone(),
                })
                .take(1)
                .collect()
        }
        ObjectType::Dashboard => attributes
            .get("panels")
            .and_then(Value::as_array)
            .map(|panels| {
                panels
                    .iter()
                    .filter_map(|p| {
                        let id = p.get("visualization_id")?.as_str()?;
                        let panel = p.get("id").and_then(Value::as_str).unwrap_or(id);
                        Some(Reference {
                            name: format!("panel_{panel}"),
                            object_type: ObjectType::Visualization,
                            id: id.to_owned(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default(),
        ObjectType::IndexPattern => Vec::new(),
    }
}
