//! `/management/index-patterns`: which indices visualizations search, their time field, and
//! their fields as the backend reports them.

use leptos::prelude::*;

use crate::api::ObjectsClient;
use crate::model::index_pattern::{IndexPattern, DEFAULT_TIME_FIELD};
use crate::model::saved_object::ObjectType;
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
    let time_field = RwSignal::new(DEFAULT_TIME_FIELD.to_owned());
    let message = RwSignal::new(None::<String>);
    let create = move || {
        let pattern = IndexPattern {
            title: title.get_untracked().trim().to_owned(),
            time_field: time_field.get_untracked(),
            fields: Vec::new(),
        };
        if pattern.title.is_empty() {
            message.set(Some("Name the indices, such as cwl-*".into()));
            return;
        }
        leptos::task::spawn_local(async move {
            let fields = crate::api::calls::fields(&pattern.title)
                .await
                .unwrap_or_default();
            let pattern = IndexPattern { fields, ..pattern };
            let attributes = serde_json::to_value(&pattern).unwrap_or_default();
            match crate::api::calls::create(ObjectType::IndexPattern, None, &attributes).await {
                Ok(_) => {
                    message.set(Some(format!(
                        "Created {} with {} fields",
                        pattern.title,
                        pattern.fields.len()
                    )));
                    title.set(String::new());
                    reload.update(|r| *r += 1);
                }
                Err(e) => message.set(Some(e.to_string())),
            }
        });
    };
    let act = move |id: String, refresh: bool| {
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
                crate::api::calls::delete(ObjectType::IndexPattern, &id)
                    .await
                    .map(|()| "Deleted".to_owned())
            };
            match result {
                Ok(text) => message.set(Some(text)),
                Err(e) => message.set(Some(e.to_string())),
            }
            reload.update(|r| *r += 1);
        });
    };
    let can_administer = crate::components::account::can_administer();
    view! {
        <div class="list-page">
            <div class="toolbar"><h1>"Index patterns"</h1></div>
            <form class="inline-form" hidden=move || !can_administer.get() on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); create(); }>
                <input type="text" name="title" aria-label="Index pattern" placeholder="cwl-*" prop:value=move || title.get() on:input:target=move |ev| title.set(ev.target().value())/>
                <input type="text" name="time_field" aria-label="Time field" prop:value=move || time_field.get() on:input:target=move |ev| time_field.set(ev.target().value())/>
                <button type="submit" class="primary">"Create index pattern"</button>
            </form>
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
                                        let fields = pattern.as_ref().map(|p| p.fields.iter().map(|f| format!("{} ({})", f.name, f.field_type)).collect::<Vec<_>>().join(", ")).unwrap_or_default();
                                        view! {
                                            <tr>
                                                <td>{pattern.as_ref().map(|p| p.title.clone())}</td>
                                                <td>{pattern.as_ref().map(|p| p.time_field.clone())}</td>
                                                <td class="muted fields">{fields}</td>
                                                <td hidden=move || !can_administer.get()>
                                                    <button class="link" on:click=move |_| act(id.clone(), true)>"Refresh fields"</button>
                                                    <button class="link danger" on:click=move |_| act(id2.clone(), false)>"Delete"</button>
                                                </td>
                                            </tr>
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
