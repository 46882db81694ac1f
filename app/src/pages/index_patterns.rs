//! `/management/index-patterns`: which indices visualizations search, their time field, their
//! fields as the backend reports them, and how those fields are shown (field formats).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{ApiError, ObjectsClient};
use crate::components::latest::Latest;
use crate::model::field_format::{FieldFormat, FieldFormats};
use crate::model::index_pattern::{FieldSpec, IndexPattern, DEFAULT_TIME_FIELD};
use crate::model::saved_object::{ObjectType, SavedObject};
use crate::panels::sendable;

#[component]
pub fn IndexPatternsPage() -> impl IntoView {
    let reload = RwSignal::new(0u32);
    let client = ObjectsClient::from_context();
    let patterns = Resource::new(
        move || reload.get(),
        move |_| {
            let client = client.clone();
            sendable(async move { client.find(vec![ObjectType::IndexPattern], None).await })
        },
    );
    let title = RwSignal::new(String::new());
    let time_field = RwSignal::new(String::new());
    let message = RwSignal::new(None::<String>);
    // The typed pattern's fields as the backend reports them, read as the user types: a
    // pattern the server refuses, or one that matches nothing, says so before it is created.
    let checked = RwSignal::new(None::<PatternCheck>);
    let latest = Latest::new();
    Effect::new(move |_| {
        let pattern = title.get().trim().to_owned();
        let run = latest.start();
        if pattern.is_empty() {
            checked.set(Some(PatternCheck::Empty));
            return;
        }
        leptos::task::spawn_local(async move {
            let answer = crate::api::calls::fields(&pattern).await;
            if run.is_current() {
                checked.set(Some(PatternCheck::of(&pattern, answer)));
            }
        });
    });
    // The time field follows the pattern: its first date field unless one was chosen.
    Effect::new(move |_| {
        if let Some(PatternCheck::Ready { date_fields, .. }) = checked.get() {
            if !date_fields.contains(&time_field.get_untracked()) {
                time_field.set(preferred_time_field(&date_fields));
            }
        }
    });
    let create = move || {
        let Some(PatternCheck::Ready { fields, .. }) = checked.get_untracked() else {
            return;
        };
        let pattern = IndexPattern {
            title: title.get_untracked().trim().to_owned(),
            time_field: time_field.get_untracked(),
            fields,
            field_formats: Default::default(),
        };
        leptos::task::spawn_local(async move {
            let attributes = serde_json::to_value(&pattern).unwrap_or_default();
            match crate::api::calls::create(ObjectType::IndexPattern, None, &attributes).await {
                Ok(_) => {
                    super::say_briefly(
                        message,
                        format!(
                            "Created {} with {} fields",
                            pattern.title,
                            pattern.fields.len()
                        ),
                    );
                    title.set(String::new());
                    reload.update(|r| *r += 1);
                }
                Err(e) => message.set(Some(e.to_string())),
            }
        });
    };
    let act = move |id: String, title: String, refresh: bool| {
        leptos::task::spawn_local(async move {
            let result = if refresh {
                crate::api::calls::refresh_fields(&id).await.map(|o| {
                    format!(
                        "Refreshed: {} fields",
                        o.attributes
                            .get("fields")
                            .and_then(|f| f.as_array())
                            .map_or(0, Vec::len)
                    )
                })
            } else {
                if !crate::browser::confirm(&format!(
                    "Delete the index pattern {title}? Visualizations built on it stop drawing."
                )) {
                    return;
                }
                crate::api::calls::delete(ObjectType::IndexPattern, &id)
                    .await
                    .map(|()| "Deleted".to_owned())
            };
            match result {
                Ok(text) => super::say_briefly(message, text),
                Err(e) => message.set(Some(e.to_string())),
            }
            reload.update(|r| *r += 1);
        });
    };
    let can_administer = crate::components::account::can_administer();
    // The pattern whose field formats are open for editing, by id.
    let editing = RwSignal::new(None::<String>);
    let on_saved = Callback::new(move |text: String| {
        super::say_briefly(message, text);
        editing.set(None);
        reload.update(|r| *r += 1);
    });
    view! {
        <Title text="Index patterns · flowdash"/>
        <div class="list-page">
            <div class="toolbar"><h1>"Index patterns"</h1></div>
            <form class="inline-form" hidden=move || !can_administer.get() on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); create(); }>
                <input type="text" name="title" aria-label="Index pattern" placeholder="cwl-*" prop:value=move || title.get() on:input:target=move |ev| title.set(ev.target().value())/>
                <select name="time_field" aria-label="Time field" disabled=move || !matches!(checked.get(), Some(PatternCheck::Ready { .. }))
                    prop:value=move || time_field.get() on:change:target=move |ev| time_field.set(ev.target().value())>
                    {move || match checked.get() {
                        Some(PatternCheck::Ready { date_fields, .. }) => date_fields.into_iter().map(|f| view! { <option value=f.clone()>{f.clone()}</option> }).collect_view().into_any(),
                        _ => view! { <option value="">"Time field"</option> }.into_any(),
                    }}
                </select>
                <button type="submit" class="primary" disabled=move || !matches!(checked.get(), Some(PatternCheck::Ready { .. }))>"Create index pattern"</button>
            </form>
            <p class="pattern-check" hidden=move || !can_administer.get() role=move || matches!(checked.get(), Some(PatternCheck::Refused(_))).then_some("alert")>
                {move || checked.get().map(|check| check.describe())}
            </p>
            {move || message.get().map(|m| view! { <p class="message" role="status">{m}</p> })}
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match patterns.await {
                        Ok(found) => view! {
                            <table class="object-table">
                                <thead><tr><th>"Pattern"</th><th>"Time field"</th><th>"Fields"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                                <tbody>
                                    {found.saved_objects.into_iter().map(|object| {
                                        let pattern: Option<IndexPattern> = serde_json::from_value(object.attributes.clone()).ok();
                                        let (id, id2) = (object.id.clone(), object.id.clone());
                                        let (id3, id4) = (object.id.clone(), object.id.clone());
                                        let formats_title = pattern.as_ref().map(|p| format!("Field formats of {}", p.title)).unwrap_or_default();
                                        let editor = pattern.clone().map(|pattern| view! {
                                            <Show when={ let id = id4.clone(); move || editing.get().as_deref() == Some(id.as_str()) }>
                                                <tr class="formats-row"><td colspan="4">
                                                    <FieldFormatsEditor object=object.clone() pattern=pattern.clone() on_saved on_cancel=Callback::new(move |()| editing.set(None))/>
                                                </td></tr>
                                            </Show>
                                        });
                                        let (name, name2) = pattern.as_ref().map(|p| (p.title.clone(), p.title.clone())).unwrap_or_default();
                                        let fields = pattern.as_ref().map(|p| p.fields.iter().map(|f| format!("{} ({})", f.name, f.field_type)).collect::<Vec<_>>().join(", ")).unwrap_or_default();
                                        view! {
                                            <tr>
                                                <td>{pattern.as_ref().map(|p| p.title.clone())}</td>
                                                <td>{pattern.as_ref().map(|p| p.time_field.clone())}</td>
                                                <td class="muted fields">{fields}</td>
                                                <td hidden=move || !can_administer.get()>
                                                    <button class="link" aria-label=formats_title.clone() aria-expanded={ let id = id3.clone(); move || (editing.get().as_deref() == Some(id.as_str())).to_string() }
                                                        on:click=move |_| editing.update(|e| *e = if e.as_deref() == Some(id3.as_str()) { None } else { Some(id3.clone()) })>"Formats"</button>
                                                    <button class="link" on:click=move |_| act(id.clone(), name.clone(), true)>"Refresh fields"</button>
                                                    <button class="link danger" aria-label=format!("Delete {name2}") on:click=move |_| act(id2.clone(), name2.clone(), false)>"Delete"</button>
                                                </td>
                                            </tr>
                                            {editor}
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

/// The fields a format is offered for: numbers, addresses and text; dates read as dates.
fn formattable(field: &FieldSpec) -> bool {
    field.field_type != "date" && !field.name.starts_with('_')
}

/// A pattern's field formats, field by field: the default (bytes for `bytes`, a number for
/// the rest), a number, bytes, or a link made from a URL template. Saved with the pattern's
/// version, so that another user's save in between is said, not overwritten.
#[component]
fn FieldFormatsEditor(
    object: SavedObject,
    pattern: IndexPattern,
    on_saved: Callback<String>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let formats = RwSignal::new(pattern.field_formats.clone());
    let error = RwSignal::new(None::<String>);
    let fields: Vec<FieldSpec> = pattern
        .fields
        .iter()
        .filter(|f| formattable(f))
        .cloned()
        .collect();
    let (id, version) = (object.id.clone(), object.version);
    let pattern = StoredValue::new(pattern);
    let save = move || {
        let chosen = formats.get_untracked();
        if let Err(e) = chosen.validate("field_formats") {
            error.set(Some(e.to_string()));
            return;
        }
        let updated = IndexPattern {
            field_formats: chosen,
            ..pattern.get_value()
        };
        let id = id.clone();
        leptos::task::spawn_local(async move {
            let attributes = serde_json::to_value(&updated).unwrap_or_default();
            match crate::api::calls::update(ObjectType::IndexPattern, &id, version, &attributes)
                .await
            {
                Ok(_) => on_saved.run(format!("Saved the field formats of {}", updated.title)),
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    let set_kind = move |field: String, kind: String| {
        formats.update(|f| {
            let chosen = match kind.as_str() {
                "number" => Some(FieldFormat::Number),
                "bytes" => Some(FieldFormat::Bytes),
                "url" => Some(FieldFormat::Url {
                    template: "https://".into(),
                    label: String::new(),
                }),
                _ => None,
            };
            match chosen {
                Some(format) => f.0.insert(field, format),
                None => f.0.remove(&field),
            };
        });
        error.set(None);
    };
    let set_template = move |field: String, label: bool, text: String| {
        formats.update(|f| {
            if let Some(FieldFormat::Url {
                template,
                label: label_template,
            }) = f.0.get_mut(&field)
            {
                *(if label { label_template } else { template }) = text;
            }
        });
        error.set(None);
    };
    let rows = fields.into_iter().map(|field| {
        let name = StoredValue::new(field.name.clone());
        let default = FieldFormats::default().of(&field.name).kind();
        let kind = Memo::new(move |_| formats.with(|f| f.0.get(&name.get_value()).map(|f| f.kind()).unwrap_or("")));
        let url = Memo::new(move |_| formats.with(|f| match f.0.get(&name.get_value()) {
            Some(FieldFormat::Url { template, label }) => Some((template.clone(), label.clone())),
            _ => None,
        }));
        view! {
            <tr data-field=field.name.clone()>
                <th scope="row">{field.name.clone()}<span class="muted">{format!(" {}", field.field_type)}</span></th>
                <td>
                    <select aria-label=format!("Format of {}", field.name) on:change:target=move |ev| set_kind(name.get_value(), ev.target().value())>
                        <option value="" selected=move || kind.get().is_empty()>{format!("Default ({default})")}</option>
                        {FieldFormat::KINDS.into_iter().map(|(value, label)| view! { <option value=value selected=move || kind.get() == value>{label}</option> }).collect_view()}
                    </select>
                </td>
                <td>
                    <Show when=move || url.get().is_some()>
                        <input type="text" class="url-template" placeholder="https://whois.example/?q={{value}}"
                            aria-label=move || format!("Link template of {}", name.get_value())
                            prop:value=move || url.get().map(|u| u.0).unwrap_or_default()
                            on:change:target=move |ev| set_template(name.get_value(), false, ev.target().value())/>
                        <input type="text" class="url-label" placeholder="{{value}}"
                            aria-label=move || format!("Link text of {}", name.get_value())
                            prop:value=move || url.get().map(|u| u.1).unwrap_or_default()
                            on:change:target=move |ev| set_template(name.get_value(), true, ev.target().value())/>
                    </Show>
                </td>
            </tr>
        }
    }).collect_view();
    view! {
        <form class="field-formats" aria-label=format!("Field formats of {}", pattern.with_value(|p| p.title.clone()))
            on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); save(); }>
            <p class="hint">"How each field's values read in charts, tables, tooltips and Discover. A link's template takes {{value}}, encoded."</p>
            <table class="object-table formats-table">
                <thead><tr><th>"Field"</th><th>"Format"</th><th>"Link"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <div class="row">
                <button type="submit" class="primary">"Save formats"</button>
                <button type="button" on:click=move |_| on_cancel.run(())>"Cancel"</button>
            </div>
        </form>
    }
}

/// What the backend says of a typed pattern, before it is created.
#[derive(Clone, Debug, PartialEq)]
enum PatternCheck {
    /// Nothing typed yet.
    Empty,
    /// The server refuses the pattern (off its allow-list, an invalid name) or cannot answer.
    Refused(String),
    /// No index matches, or the indices have no date field to filter time on.
    Unusable(String),
    /// Fields to save with the pattern, and the date fields to choose the time field from.
    Ready {
        fields: Vec<FieldSpec>,
        date_fields: Vec<String>,
    },
}

impl PatternCheck {
    fn of(pattern: &str, answer: Result<Vec<FieldSpec>, ApiError>) -> PatternCheck {
        match answer {
            _ if pattern.trim().is_empty() => PatternCheck::Empty,
            Err(error) => PatternCheck::Refused(error.to_string()),
            Ok(fields) if fields.is_empty() => {
                PatternCheck::Unusable(format!("No index matches {pattern}"))
            }
            Ok(fields) => {
                let date_fields: Vec<String> = fields
                    .iter()
                    .filter(|f| f.field_type == "date")
                    .map(|f| f.name.clone())
                    .collect();
                if date_fields.is_empty() {
                    PatternCheck::Unusable(format!(
                        "The indices of {pattern} have no date field to use as the time field"
                    ))
                } else {
                    PatternCheck::Ready {
                        fields,
                        date_fields,
                    }
                }
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            PatternCheck::Empty => "Name the indices, such as cwl-*".into(),
            PatternCheck::Refused(reason) | PatternCheck::Unusable(reason) => reason.clone(),
            PatternCheck::Ready { fields, .. } => format!("{} fields", fields.len()),
        }
    }
}

/// `@timestamp` when the indices have it, else their first date field.
fn preferred_time_field(date_fields: &[String]) -> String {
    date_fields
        .iter()
        .find(|f| *f == DEFAULT_TIME_FIELD)
        .or(date_fields.first())
        .cloned()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_is_ready_only_with_fields_and_a_date_field() {
        assert_eq!(PatternCheck::of(" ", Ok(Vec::new())), PatternCheck::Empty);
        assert_eq!(
            PatternCheck::of("nothing-*", Ok(Vec::new())),
            PatternCheck::Unusable("No index matches nothing-*".into())
        );
        assert!(matches!(
            PatternCheck::of("logs-*", Ok(vec![FieldSpec::new("message", "text")])),
            PatternCheck::Unusable(_)
        ));
        let refused = PatternCheck::of(
            "secret-*",
            Err(ApiError::Server {
                status: 403,
                kind: "forbidden".into(),
                reason: "index [secret-*] is not on this server's allow-list".into(),
            }),
        );
        assert!(
            matches!(&refused, PatternCheck::Refused(r) if r.contains("allow-list")),
            "{refused:?}"
        );
        let ready = PatternCheck::of(
            "cwl-*",
            Ok(vec![
                FieldSpec::new("end", "date"),
                FieldSpec::new("@timestamp", "date"),
                FieldSpec::new("srcaddr", "ip"),
            ]),
        );
        let PatternCheck::Ready {
            fields,
            date_fields,
        } = ready
        else {
            panic!()
        };
        assert_eq!(fields.len(), 3);
        assert_eq!(preferred_time_field(&date_fields), "@timestamp");
        assert_eq!(preferred_time_field(&["end".to_owned()]), "end");
    }
}
