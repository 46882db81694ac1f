//! A dashboard's input-controls panel: dropdowns of a field's values and from–to ranges that
//! set the dashboard's filters (see `crate::model::control`), and their editor.
//!
//! What a control offers is searched with the panels, in the same multi-search, in the
//! dashboard's view less the control's own filter: choosing a value does not hide the others.

use std::collections::HashMap;

use leptos::prelude::*;
use serde_json::Value;

use super::Charts;
use crate::charts::format_exact;
use crate::model::control::{
    same_value, ControlKind, ControlValue, InputControl, FIRST_FIELD, MAX_CONTROLS,
    MAX_LABEL_CHARS, MAX_OPTIONS,
};
use crate::model::dashboard::{Dashboard, PanelSource};
use crate::model::filter::{Filter, FilterKind};
use crate::model::index_pattern::FieldSpec;
use crate::model::names;
use crate::model::visualization::Visualization;
use crate::panels::{Library, ViewInputs};
use crate::result::ChartData;

/// Where the answer to a control's search is kept. The key names what is searched, so an
/// edited control never shows the answer for what it was before.
pub(super) fn data_key(panel_id: &str, index: usize, control: &InputControl) -> String {
    let searched = serde_json::to_string(&control.searched()).unwrap_or_default();
    format!("{panel_id}/{index}/{searched}")
}

/// The searches behind a panel's controls: each with its key and its view (the dashboard's,
/// less the control's own filter).
pub(super) fn searches(
    panel_id: &str,
    controls: &[InputControl],
    inputs: &ViewInputs,
) -> Vec<(String, Visualization, ViewInputs)> {
    let mut all = Vec::new();
    for (i, control) in controls.iter().enumerate() {
        let view = ViewInputs {
            filters: control.without_own(&inputs.filters),
            ..inputs.clone()
        };
        all.push((
            data_key(panel_id, i, control),
            control.visualization(),
            view,
        ));
    }
    all
}

/// An options control's values with their flows; `None` while the search is on its way.
fn offered(data: &Charts, key: &str) -> Option<Result<Vec<(Value, f64)>, String>> {
    let chart = data.get(key).cloned().flatten()?;
    Some(chart.and_then(|chart| {
        match chart {
            ChartData::Table(table) => Ok((0..table.rows.len())
                .filter_map(|row| {
                    let value = match table.cell_filters.get(row)?.first()?.as_ref()?.kind {
                        FilterKind::Phrase { ref value } => value.clone(),
                        _ => return None,
                    };
                    let flows = table.rows[row].last()?.as_f64()?;
                    Some((value, flows))
                })
                .collect()),
            _ => Err("the values could not be read".into()),
        }
    }))
}

/// A range's smallest and largest value, each `None` when nothing matched.
type Extremes = (Option<f64>, Option<f64>);

/// A range control's smallest and largest value in the view: `None` while the search is on
/// its way, `Ok((None, None))` when nothing matched.
fn extremes(data: &Charts, key: &str) -> Option<Result<Extremes, String>> {
    Some(
        data.get(key)
            .cloned()
            .flatten()?
            .and_then(|chart| match chart {
                ChartData::Metric(metric) => {
                    let value = |i: usize| metric.values.get(i).and_then(|m| m.value);
                    Ok((value(0), value(1)))
                }
                _ => Err("the range could not be read".into()),
            }),
    )
}

/// A number as JSON: whole numbers stay whole (`22`, not `22.0`), as fields hold them.
fn number_value(number: f64) -> Value {
    if number.fract() == 0.0 && number.abs() < 9e15 {
        Value::from(number as i64)
    } else {
        Value::from(number)
    }
}

/// A number as typed, as JSON; empty is no number.
fn typed_number(text: &str) -> Result<Option<Value>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<f64>() {
        Ok(number) if number.is_finite() => Ok(Some(number_value(number))),
        _ => Err(format!("`{text}` is not a number")),
    }
}

/// A bound as the range inputs show it.
fn bound_text(value: &Option<Value>) -> String {
    match value {
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// Sets a control: the control and what it is set to (see `InputControl::set_in`).
pub(super) type SetControl = Callback<(InputControl, ControlValue)>;

/// What every control of a panel works with.
#[derive(Clone, Copy)]
struct ControlInputs {
    /// The answers to the controls' searches, by [`data_key`].
    data: RwSignal<Charts>,
    /// The dashboard's filters, as the filter bar shows them.
    filters: Signal<Vec<Filter>>,
    set_control: SetControl,
}

impl ControlInputs {
    /// What `control` has chosen in the dashboard's filters.
    fn value(self, control: StoredValue<InputControl>) -> ControlValue {
        self.filters.with(|f| control.with_value(|c| c.value(f)))
    }

    /// Sets `control` to `value`.
    fn set(self, control: StoredValue<InputControl>, value: ControlValue) {
        self.set_control.run((control.get_value(), value));
    }
}

/// The panel: its controls side by side.
#[component]
pub(super) fn ControlsPanel(
    panel_id: String,
    controls: Vec<InputControl>,
    data: RwSignal<Charts>,
    /// The dashboard's filters, as the filter bar shows them.
    filters: Signal<Vec<Filter>>,
    set_control: SetControl,
) -> impl IntoView {
    let inputs = ControlInputs {
        data,
        filters,
        set_control,
    };
    let views = controls
        .into_iter()
        .enumerate()
        .map(|(i, control)| {
            let key = data_key(&panel_id, i, &control);
            // Element ids: the panel's id may hold anything, the ids only letters and digits.
            let dom_id = format!("control-{panel_id}-{i}")
                .replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_");
            match control.kind {
                ControlKind::Options { multiselect, .. } => {
                    view! { <OptionsControl control key multiselect dom_id inputs/> }.into_any()
                }
                ControlKind::Range => {
                    view! { <RangeControl control key dom_id inputs/> }.into_any()
                }
            }
        })
        .collect_view();
    view! { <div class="input-controls">{views}</div> }
}

/// A field's values in a dropdown of checkboxes (radio buttons when one value is chosen at
/// a time), each with its flows.
#[component]
fn OptionsControl(
    control: InputControl,
    key: String,
    multiselect: bool,
    dom_id: String,
    inputs: ControlInputs,
) -> impl IntoView {
    let title = control.title().to_owned();
    let field = StoredValue::new(control.field.clone());
    let control = StoredValue::new(control);
    let open = RwSignal::new(false);
    let toggle_button = NodeRef::<leptos::html::Button>::new();
    let chosen = Memo::new(move |_| match inputs.value(control) {
        ControlValue::Values(values) => values,
        _ => Vec::new(),
    });
    let is_chosen = move |value: &Value| chosen.with(|c| c.iter().any(|v| same_value(v, value)));
    let choose = move |values: Vec<Value>| inputs.set(control, ControlValue::Values(values));
    let toggle = move |value: Value| {
        let mut values = chosen.get_untracked();
        match values.iter().position(|v| same_value(v, &value)) {
            Some(i) => {
                values.remove(i);
            }
            None if multiselect => values.push(value),
            None => values = vec![value],
        }
        choose(values);
    };
    let summary = move || {
        let values = chosen.get();
        match values.len() {
            0 => "Any".to_owned(),
            1 | 2 => values
                .iter()
                .map(|v| field.with_value(|f| names::display(f, v)))
                .collect::<Vec<_>>()
                .join(", "),
            n => format!("{n} chosen"),
        }
    };
    let answer = Memo::new(move |_| inputs.data.with(|d| offered(d, &key)));
    // The offered values with their flows, then chosen ones the view no longer holds (so
    // they can be unchosen).
    let listed = Memo::new(move |_| {
        let mut rows: Vec<(Value, Option<f64>)> = answer.with(|a| match a {
            Some(Ok(values)) => values
                .iter()
                .map(|(v, flows)| (v.clone(), Some(*flows)))
                .collect(),
            _ => Vec::new(),
        });
        for value in chosen.get() {
            if !rows.iter().any(|(v, _)| same_value(v, &value)) {
                rows.push((value, None));
            }
        }
        rows
    });
    let status = move || match answer.get() {
        None => Some(view! { <p class="control-status">"Loading…"</p> }.into_any()),
        Some(Err(error)) => Some(
            view! { <p class="control-status chart-error" role="alert">{error}</p> }.into_any(),
        ),
        Some(Ok(_)) if listed.with(Vec::is_empty) => {
            Some(view! { <p class="control-status">"No values in this view"</p> }.into_any())
        }
        Some(Ok(_)) => None,
    };
    let close = move || {
        open.set(false);
        if let Some(button) = toggle_button.get_untracked() {
            let _ = button.focus();
        }
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" && open.get_untracked() {
            ev.prevent_default();
            close();
        }
    };
    // Rows by value: an answer changes counts in place, and the focus stays where it is.
    let input_name = format!("{dom_id}-value");
    let row = move |(value, _): (Value, Option<f64>)| {
        let text = field.with_value(|f| names::display(f, &value));
        let flows = {
            let value = value.clone();
            move || {
                listed
                    .with(|l| {
                        l.iter()
                            .find(|(v, _)| *v == value)
                            .and_then(|(_, flows)| *flows)
                    })
                    .map_or_else(|| "—".to_owned(), format_exact)
            }
        };
        let checked = {
            let value = value.clone();
            move || is_chosen(&value)
        };
        view! {
            <label class="check control-option">
                <input type=if multiselect { "checkbox" } else { "radio" } name=input_name.clone()
                    prop:checked=checked on:change=move |_| toggle(value.clone())/>
                <span class="control-value">{text}</span>
                <span class="control-count">{flows}</span>
            </label>
        }
    };
    let list_id = format!("{dom_id}-values");
    let list_label = format!("{title} values");
    view! {
        <div class="input-control" role="group" aria-label=title.clone() on:keydown=on_key
            on:focusout=move |ev| if crate::browser::focus_left(&ev) { open.set(false) }>
            <span class="control-label" aria-hidden="true">{title.clone()}</span>
            <button type="button" class="control-toggle" node_ref=toggle_button
                aria-expanded=move || open.get().to_string() aria-controls=list_id.clone()
                title=summary on:click=move |_| open.update(|o| *o = !*o)>
                <span class="control-summary">{summary}</span><span aria-hidden="true">" ▾"</span>
            </button>
            <Show when=move || open.get()>
                // Focusable, so a press on a value's text keeps the focus inside (a press that
                // takes it nowhere would close the list before the click chooses).
                <div class="control-options" id=list_id.clone() role="group" aria-label=list_label.clone() tabindex="-1">
                    {status}
                    <For each=move || listed.get() key=|(value, _)| value.to_string() children=row.clone()/>
                    <div class="control-actions">
                        <button type="button" class="link" on:click=move |_| choose(Vec::new())>"Clear"</button>
                        <button type="button" class="link" on:click=move |_| close()>"Close"</button>
                    </div>
                </div>
            </Show>
        </div>
    }
}

/// A from–to range over a numeric field; both ends included, either may be left open.
#[component]
fn RangeControl(
    control: InputControl,
    key: String,
    dom_id: String,
    inputs: ControlInputs,
) -> impl IntoView {
    let title = control.title().to_owned();
    let field = StoredValue::new(control.field.clone());
    let control = StoredValue::new(control);
    let current = Memo::new(move |_| match inputs.value(control) {
        ControlValue::Between(from, to) => (bound_text(&from), bound_text(&to)),
        _ => Default::default(),
    });
    // The inputs as typed: from the filter at first (the server's page shows it too), and
    // again whenever it changes (a link, the filter bar).
    let (first_from, first_to) = current.get_untracked();
    let from = RwSignal::new(first_from.clone());
    let to = RwSignal::new(first_to.clone());
    Effect::new(move |_| {
        let (f, t) = current.get();
        from.set(f);
        to.set(t);
    });
    let error = RwSignal::new(None::<String>);
    let both = Memo::new(move |_| inputs.data.with(|d| extremes(d, &key)));
    let min = Memo::new(move |_| both.get().map(|r| r.map(|(min, _)| min)));
    let max = Memo::new(move |_| both.get().map(|r| r.map(|(_, max)| max)));
    let placeholder = move |end: Memo<Option<Result<Option<f64>, String>>>| {
        move || {
            end.get()
                .and_then(Result::ok)
                .flatten()
                .map(|v| number_value(v).to_string())
        }
    };
    let set = move |value: ControlValue| {
        error.set(None);
        inputs.set(control, value);
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let bounds = typed_number(&from.get_untracked())
            .map_err(|e| format!("From: {e}"))
            .and_then(|f| {
                Ok((
                    f,
                    typed_number(&to.get_untracked()).map_err(|e| format!("To: {e}"))?,
                ))
            });
        match bounds {
            Ok((Some(f), Some(t))) if f.as_f64() > t.as_f64() => {
                error.set(Some("From must not be above To".into()))
            }
            Ok((f, t)) => set(ControlValue::Between(f, t)),
            Err(e) => error.set(Some(e)),
        }
    };
    let clear = move |_| {
        from.set(String::new());
        to.set(String::new());
        set(ControlValue::Any);
    };
    let hint = move || {
        let shown = |v: f64| field.with_value(|f| names::display(f, &number_value(v)));
        match (min.get(), max.get()) {
            (Some(Err(e)), _) | (_, Some(Err(e))) => e,
            (None, _) | (_, None) => "Loading…".to_owned(),
            (Some(Ok(Some(lo))), Some(Ok(Some(hi)))) => {
                format!("In this view: {} to {}", shown(lo), shown(hi))
            }
            _ => "No values in this view".to_owned(),
        }
    };
    let hint_id = format!("{dom_id}-hint");
    let name = field.get_value();
    view! {
        <div class="input-control range-control" role="group" aria-label=title.clone()>
            <span class="control-label" aria-hidden="true">{title.clone()}</span>
            <form class="control-range" on:submit=submit>
                <label>"From "
                    <input type="text" inputmode="decimal" name=format!("{name}-from") size="8" aria-describedby=hint_id.clone()
                        value=first_from placeholder=placeholder(min) prop:value=move || from.get()
                        on:input:target=move |ev| from.set(ev.target().value())/>
                </label>
                <label>"To "
                    <input type="text" inputmode="decimal" name=format!("{name}-to") size="8" aria-describedby=hint_id.clone()
                        value=first_to placeholder=placeholder(max) prop:value=move || to.get()
                        on:input:target=move |ev| to.set(ev.target().value())/>
                </label>
                <button type="submit">"Apply"</button>
                <button type="button" class="link" on:click=clear>"Clear"</button>
            </form>
            {move || match error.get() {
                Some(e) => view! { <p class="control-status chart-error" id=hint_id.clone() role="alert">{e}</p> }.into_any(),
                None => view! { <p class="control-status" id=hint_id.clone()>{hint}</p> }.into_any(),
            }}
        </div>
    }
}

/// The controls of a panel while the dashboard is edited: each control's label, index
/// pattern, field and kind; adding and removing controls. Changes apply at once.
#[component]
pub(super) fn ControlsEditor(
    panel_id: String,
    dashboard: RwSignal<Dashboard>,
    library: StoredValue<Library>,
) -> impl IntoView {
    let id = StoredValue::new(panel_id);
    let controls = Memo::new(move |_| {
        dashboard.with(|d| {
            d.panels
                .iter()
                .find(|p| p.id == id.get_value())
                .and_then(|p| match &p.source {
                    PanelSource::Controls(controls) => Some(controls.clone()),
                    _ => None,
                })
                .unwrap_or_default()
        })
    });
    let edit = move |change: &dyn Fn(&mut Vec<InputControl>)| {
        dashboard.update(|d| {
            if let Some(PanelSource::Controls(controls)) = d
                .panels
                .iter_mut()
                .find(|p| p.id == id.get_value())
                .map(|p| &mut p.source)
            {
                change(controls);
            }
        })
    };
    let patterns: Vec<String> =
        library.with_value(|l| l.patterns.iter().map(|p| p.title.clone()).collect());
    let patterns = StoredValue::new(patterns);
    // Each pattern's fields as the backend has them now (the saved list may predate the
    // data), read once per pattern; the saved list until they arrive.
    let live = RwSignal::new(HashMap::<String, Vec<FieldSpec>>::new());
    Effect::new(move |_| {
        let used: Vec<String> =
            controls.with(|c| c.iter().map(|c| c.index_pattern.clone()).collect());
        for pattern in used {
            if live.with_untracked(|l| l.contains_key(&pattern)) {
                continue;
            }
            live.update_untracked(|l| {
                l.insert(pattern.clone(), Vec::new());
            });
            leptos::task::spawn_local(async move {
                if let Ok(found) = crate::api::calls::fields(&pattern).await {
                    live.update(|l| {
                        l.insert(pattern, found);
                    });
                }
            });
        }
    });
    // The fields a control of `kind` can use in `pattern`: any aggregatable field for a
    // list, numbers (not dates) for a range.
    let fields = move |pattern: &str, kind: &ControlKind| -> Vec<String> {
        let specs = live
            .with(|l| l.get(pattern).filter(|f| !f.is_empty()).cloned())
            .or_else(|| {
                library.with_value(|l| {
                    l.patterns
                        .iter()
                        .find(|p| p.title == pattern)
                        .map(|p| p.fields.clone())
                })
            })
            .unwrap_or_default();
        let mut names: Vec<String> = specs
            .iter()
            .filter(|f| match kind {
                ControlKind::Options { .. } => f.aggregatable,
                ControlKind::Range => f.is_number(),
            })
            .map(|f| f.name.clone())
            .collect();
        names.sort();
        names
    };
    let add = move |_| {
        edit(&|controls| {
            if controls.len() < MAX_CONTROLS {
                let pattern = controls
                    .last()
                    .map(|c| c.index_pattern.clone())
                    .unwrap_or_else(|| crate::discover::DEFAULT_PATTERN.to_owned());
                controls.push(InputControl::options(&pattern, FIRST_FIELD));
            }
        })
    };
    // Rows by position, each reading its control: typing in a row keeps its inputs (and the
    // focus) where they are.
    let row = move |i: usize| {
        let control = Memo::new(move |_| controls.with(|c| c.get(i).cloned()));
        let set = move |change: Box<dyn Fn(&mut InputControl)>| {
            edit(&|controls| {
                if let Some(control) = controls.get_mut(i) {
                    change(control);
                }
            })
        };
        let read = move |read: fn(&InputControl) -> String| {
            move || control.with(|c| c.as_ref().map(read).unwrap_or_default())
        };
        let is_range = Memo::new(move |_| {
            control.with(|c| c.as_ref().is_some_and(|c| c.kind == ControlKind::Range))
        });
        let options = Memo::new(move |_| {
            control.with(|c| match c.as_ref().map(|c| &c.kind) {
                Some(ControlKind::Options { size, multiselect }) => Some((*size, *multiselect)),
                _ => None,
            })
        });
        // The fields offered: those the pattern and kind allow, and the one chosen.
        let pattern =
            Memo::new(move |_| control.with(|c| c.as_ref().map(|c| c.index_pattern.clone())));
        let choices = Memo::new(move |_| {
            let kind = if is_range.get() {
                ControlKind::Range
            } else {
                ControlKind::options()
            };
            let mut choices = fields(&pattern.get().unwrap_or_default(), &kind);
            let field = control.with(|c| c.as_ref().map(|c| c.field.clone()).unwrap_or_default());
            if !choices.contains(&field) {
                choices.insert(0, field);
            }
            choices
        });
        let field = read(|c| c.field.clone());
        let chosen_pattern = read(|c| c.index_pattern.clone());
        view! {
            <fieldset class="control-editor">
                <legend>{format!("Control {}", i + 1)}</legend>
                <label>"Label "
                    <input type="text" name="control-label" maxlength=MAX_LABEL_CHARS.to_string() placeholder=read(|c| c.field.clone()) prop:value=read(|c| c.label.clone())
                        on:input:target=move |ev| {
                            let label = ev.target().value();
                            set(Box::new(move |c| c.label = label.clone()));
                        }/>
                </label>
                <label>"Type "
                    <select name="control-type" on:change:target=move |ev| {
                        let range = ev.target().value() == "range";
                        // A range needs a number: a field that is not one gives way to the first that is.
                        let numbers = fields(&pattern.get_untracked().unwrap_or_default(), &ControlKind::Range);
                        set(Box::new(move |c| {
                            c.kind = if range { ControlKind::Range } else { ControlKind::options() };
                            if range && !numbers.contains(&c.field) {
                                if let Some(first) = numbers.first() {
                                    c.field = first.clone();
                                }
                            }
                        }));
                    }>
                        <option value="options" prop:selected=move || !is_range.get()>"Options list"</option>
                        <option value="range" prop:selected=move || is_range.get()>"Range"</option>
                    </select>
                </label>
                <label>"Index pattern "
                    <select name="control-pattern" on:change:target=move |ev| {
                        let pattern = ev.target().value();
                        set(Box::new(move |c| c.index_pattern = pattern.clone()));
                    }>
                        {move || {
                            let chosen = chosen_pattern();
                            let mut all = patterns.get_value();
                            if !all.contains(&chosen) {
                                all.insert(0, chosen.clone());
                            }
                            all.into_iter().map(|p| {
                                let selected = p == chosen;
                                let text = p.clone();
                                view! { <option value=p prop:selected=selected>{text}</option> }
                            }).collect_view()
                        }}
                    </select>
                </label>
                <label>"Field "
                    <select name="control-field" on:change:target=move |ev| {
                        let field = ev.target().value();
                        set(Box::new(move |c| c.field = field.clone()));
                    }>
                        {move || choices.get().into_iter().map(|f| {
                            let (name, text) = (f.clone(), f.clone());
                            view! { <option value=f prop:selected=move || field() == name>{text}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <Show when=move || options.with(Option::is_some)>
                    <label>"Values "
                        <input type="number" name="control-size" min="1" max=MAX_OPTIONS.to_string()
                            prop:value=move || options.get().map(|(size, _)| size.to_string()).unwrap_or_default()
                            on:change:target=move |ev| {
                                let size = ev.target().value().parse::<u32>().unwrap_or(10).clamp(1, MAX_OPTIONS);
                                set(Box::new(move |c| if let ControlKind::Options { size: s, .. } = &mut c.kind { *s = size }));
                            }/>
                    </label>
                    <label class="check">
                        <input type="checkbox" name="control-multiselect" prop:checked=move || options.get().is_some_and(|(_, multi)| multi)
                            on:change:target=move |ev| {
                                let on = ev.target().checked();
                                set(Box::new(move |c| if let ControlKind::Options { multiselect, .. } = &mut c.kind { *multiselect = on }));
                            }/>
                        "Several values"
                    </label>
                </Show>
                <button type="button" disabled=move || controls.with(|c| c.len() <= 1)
                    title="Remove this control" on:click=move |_| edit(&|controls| { if controls.len() > 1 { controls.remove(i); } })>"Remove"</button>
            </fieldset>
        }
    };
    view! {
        <div class="controls-editor">
            <For each=move || 0..controls.with(Vec::len) key=|i| *i children=row/>
            <button type="button" disabled=move || controls.with(|c| c.len() >= MAX_CONTROLS) on:click=add>"Add control"</button>
        </div>
    }
}
