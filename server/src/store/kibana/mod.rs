//! Kibana 7.x saved objects into flowdash's: index patterns, visualizations (pie, line, area,
//! histogram, metric, table) and dashboards, with warnings for what does not carry over.
//! [`super::transfer::import`] calls it for objects in Kibana's shape.

use std::collections::{BTreeMap, HashMap};

use app::model::dashboard::{Dashboard, GridPos, Panel, PanelSource};
use app::model::filter::{QueryLanguage, QueryText};
use app::model::index_pattern::{FieldSpec, IndexPattern};
use app::model::saved_object::{ObjectType, Reference};
use app::model::time::TimeRange;
use app::model::visualization::{
    Bucket, BucketAgg, BucketRole, ChartKind, ChartOptions, Interval, LegendPosition, Metric,
    NamedFilter, NumberRange, TermsOrder, Visualization, VISUALIZATION_VERSION,
};
use serde_json::{json, Value};

use super::SavedObjectStore;

/// Whether an object's attributes are in Kibana's shape (`visState`, `panelsJSON`, or an index
/// pattern's `timeFieldName` or string `fields`) rather than flowdash's.
pub(super) fn is_kibana(object_type: ObjectType, attributes: &Value) -> bool {
    match object_type {
        ObjectType::Visualization => attributes.get("visState").is_some(),
        ObjectType::Dashboard => attributes.get("panelsJSON").is_some(),
        ObjectType::Search => attributes.get("kibanaSavedObjectMeta").is_some(),
        ObjectType::IndexPattern => {
            attributes.get("timeFieldName").is_some()
                || attributes.get("fields").is_some_and(Value::is_string)
        }
    }
}

/// A Kibana object's attributes and references in flowdash's shape. A visualization takes its
/// index pattern's title from `titles` (patterns in the same import) or the store; what does
/// not carry over is added to `warnings`.
pub(super) async fn convert(
    object_type: ObjectType,
    attributes: &Value,
    references: Vec<Reference>,
    store: &dyn SavedObjectStore,
    titles: &HashMap<String, String>,
    warnings: &mut Vec<String>,
) -> Result<(Value, Vec<Reference>), String> {
    Ok(match object_type {
        ObjectType::IndexPattern => (kibana_index_pattern(attributes)?, references),
        ObjectType::Search => return Err("Kibana saved searches are not imported yet".into()),
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
            let vis = kibana_visualization(attributes, &index_title, warnings)?;
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
            let dashboard = kibana_dashboard(attributes, &references, warnings)?;
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
    })
}

/// A string attribute, or `default` when it is missing or not a string.
fn text(attributes: &Value, key: &str, default: &str) -> String {
    attributes
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or(default)
        .to_owned()
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
        title: text(attributes, "title", "Imported"),
        description: text(attributes, "description", ""),
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
        title: text(attributes, "title", "Imported dashboard"),
        description: text(attributes, "description", ""),
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
