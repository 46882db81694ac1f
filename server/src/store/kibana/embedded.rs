//! Kibana visualizations that a flowdash dashboard holds itself rather than as saved
//! visualizations: markdown (a text panel) and input controls (a controls panel). They are
//! read with the import, and the dashboards that show them get them as panels.

use app::model::control::{ControlKind, InputControl, MAX_CONTROLS, MAX_OPTIONS};
use serde_json::Value;

use super::text;

/// A Kibana visualization a dashboard holds itself: its title and what it becomes.
#[derive(Clone)]
pub(super) struct Embedded {
    pub(super) title: String,
    pub(super) kind: EmbeddedKind,
}

/// What an embedded visualization becomes.
#[derive(Clone)]
pub(super) enum EmbeddedKind {
    /// A text panel of this Markdown.
    Markdown(String),
    /// A controls panel, and what did not carry over. Each control comes with its number
    /// in Kibana's list, and names its index pattern by id until the dashboard's import
    /// finds the title (in the import or the store).
    Controls {
        controls: Vec<(usize, InputControl)>,
        warnings: Vec<String>,
    },
}

/// The visState of Kibana visualization attributes, read.
pub(super) fn vis_state(attributes: &Value) -> Option<Value> {
    serde_json::from_str(attributes.get("visState")?.as_str()?).ok()
}

/// What the Kibana visualization `object` (as exported, with its references) becomes in a
/// dashboard, when it is markdown or input controls; `None` for other visualizations.
pub(super) fn embedded(object: &Value) -> Option<Embedded> {
    let attributes = object.get("attributes")?;
    let state = vis_state(attributes)?;
    let kind = match state.get("type")?.as_str()? {
        "markdown" => EmbeddedKind::Markdown(
            state
                .pointer("/params/markdown")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        ),
        "input_control_vis" => {
            let references = object.get("references").and_then(Value::as_array);
            let pattern_id = |control: &Value| -> Option<String> {
                // 7.x names a reference; earlier versions the id itself.
                match control.get("indexPatternRefName").and_then(Value::as_str) {
                    Some(name) => references?
                        .iter()
                        .find(|r| r.get("name").and_then(Value::as_str) == Some(name))?
                        .get("id")?
                        .as_str()
                        .map(str::to_owned),
                    None => control.get("indexPattern")?.as_str().map(str::to_owned),
                }
            };
            let mut warnings = Vec::new();
            let param = |name: &str| {
                state
                    .pointer(&format!("/params/{name}"))
                    .and_then(Value::as_bool)
            };
            if param("useTimeFilter") != Some(true) {
                warnings.push(
                    "Kibana listed its values over all time; here they follow the dashboard's \
                     time range, query and filters"
                        .into(),
                );
            }
            if param("pinFilters") == Some(true) {
                warnings.push("its filters are not pinned: they stay with the dashboard".into());
            }
            let mut controls = state
                .pointer("/params/controls")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .enumerate()
                .filter_map(|(i, control)| {
                    kibana_control(control, pattern_id(control))
                        .map(|control| (i + 1, control))
                        .map_err(|why| {
                            warnings.push(format!("control {} was left out: {why}", i + 1))
                        })
                        .ok()
                })
                .collect::<Vec<_>>();
            if controls.len() > MAX_CONTROLS {
                warnings.push(format!(
                    "{} controls were left out: a panel holds {MAX_CONTROLS}",
                    controls.len() - MAX_CONTROLS
                ));
                controls.truncate(MAX_CONTROLS);
            }
            EmbeddedKind::Controls { controls, warnings }
        }
        _ => return None,
    };
    Some(Embedded {
        title: text(attributes, "title", ""),
        kind,
    })
}

/// One of Kibana's input controls (`list` or `range`) as flowdash's, on the index pattern
/// `pattern_id` (named by id, see [`EmbeddedKind::Controls`]).
fn kibana_control(control: &Value, pattern_id: Option<String>) -> Result<InputControl, String> {
    let field = control
        .get("fieldName")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .ok_or("it names no field")?;
    let index_pattern = pattern_id.ok_or("it names no index pattern")?;
    let kind = match control.get("type").and_then(Value::as_str) {
        Some("list") => ControlKind::Options {
            size: control
                .pointer("/options/size")
                .and_then(Value::as_u64)
                .map_or(5, |size| size.clamp(1, u64::from(MAX_OPTIONS)) as u32),
            multiselect: control
                .pointer("/options/multiselect")
                .and_then(Value::as_bool)
                .unwrap_or(true),
        },
        Some("range") => ControlKind::Range,
        other => return Err(format!("its type {other:?} is neither list nor range")),
    };
    let label: String = text(control, "label", "")
        .chars()
        .take(app::model::control::MAX_LABEL_CHARS)
        .collect();
    Ok(InputControl {
        label,
        index_pattern,
        field: field.to_owned(),
        kind,
    })
}
