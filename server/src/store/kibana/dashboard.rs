//! Kibana dashboards (panelsJSON) into flowdash's.

use std::collections::{BTreeMap, HashMap};

use app::model::dashboard::{Dashboard, GridPos, Panel, PanelSource};
use app::model::saved_object::{ObjectType, Reference};
use app::model::time::TimeRange;
use serde_json::{json, Value};

use super::embedded::{Embedded, EmbeddedKind};
use super::filters::kibana_filters;
use super::{kibana_query, search_source, text};

/// Kibana's dashboard (panelsJSON, stored time, query and filters) → a flowdash dashboard;
/// panels that show anything but a visualization or a saved search are left out.
pub(super) fn kibana_dashboard(
    attributes: &Value,
    references: &[Reference],
    embedded: &HashMap<String, Embedded>,
    warnings: &mut Vec<String>,
) -> Result<Dashboard, String> {
    let panels: Vec<Value> = attributes
        .get("panelsJSON")
        .and_then(Value::as_str)
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| format!("panelsJSON is not JSON: {e}"))?
        .unwrap_or_default();
    // "Hide panel titles" for the whole dashboard, in its options.
    let hide_all_titles = attributes
        .get("optionsJSON")
        .and_then(Value::as_str)
        .and_then(|options| serde_json::from_str::<Value>(options).ok())
        .and_then(|options| options.get("hidePanelTitles").and_then(Value::as_bool))
        .unwrap_or(false);
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
        // A markdown or input controls visualization, held by the dashboard and titled as
        // Kibana showed it, unless the panel has its own title.
        let mut held_title = None;
        let source = match reference.object_type {
            ObjectType::Visualization => match embedded.get(&reference.id) {
                Some(held) => {
                    held_title = Some(held.title.clone()).filter(|t| !t.trim().is_empty());
                    match &held.kind {
                        EmbeddedKind::Markdown(text) => {
                            PanelSource::Markdown(note_text(text, index, warnings))
                        }
                        EmbeddedKind::Controls {
                            controls,
                            warnings: left_out,
                        } => {
                            warnings.extend(
                                left_out.iter().map(|w| format!("panel {}: {w}", index + 1)),
                            );
                            if controls.is_empty() {
                                warnings.push(format!(
                                    "panel {} has no input control flowdash can show and was left out",
                                    index + 1
                                ));
                                continue;
                            }
                            PanelSource::Controls(
                                controls
                                    .iter()
                                    .map(|(_, control)| control.clone())
                                    .collect(),
                            )
                        }
                    }
                }
                None => PanelSource::Saved(reference.id.clone()),
            },
            // A saved search panel: its flow table.
            ObjectType::Search => PanelSource::Search(reference.id.clone()),
            other => {
                warnings.push(format!(
                    "panel {} shows a {} and was left out",
                    index + 1,
                    other.as_str()
                ));
                continue;
            }
        };
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
                .map(str::to_owned)
                .or(held_title),
            hide_title: hide_all_titles
                || panel.pointer("/embeddableConfig/hidePanelTitles") == Some(&Value::Bool(true)),
            source,
        });
    }
    // Kibana grids can overlap after manual edits: settle them without overlaps.
    for i in 0..converted.len() {
        let target = converted[i].grid;
        app::model::dashboard::layout::place(&mut converted, i, target);
    }
    let search = search_source(attributes);
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
        filters: kibana_filters(search.get("filter"), warnings),
        tags: Vec::new(),
    };
    dashboard
        .validate()
        .map_err(|e| format!("the converted dashboard is invalid: {e}"))?;
    Ok(dashboard)
}

/// A note's text as a text panel holds it: at most its limit, cut on a character boundary
/// with a warning.
fn note_text(text: &str, index: usize, warnings: &mut Vec<String>) -> String {
    let limit = app::markdown::MAX_MARKDOWN_CHARS;
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    warnings.push(format!(
        "the text of panel {} was cut to {limit} characters",
        index + 1
    ));
    text.chars().take(limit).collect()
}
