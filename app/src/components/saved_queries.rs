//! Saved queries beside the query bar (Kibana's saved query menu): keep the query and filters
//! shown under a title, and load one on any page that has a query bar. They are saved objects
//! of type `query`, exported and imported like the others.

use leptos::prelude::*;

use super::latest::Latest;
use crate::model::filter::{Filter, QueryText};
use crate::model::saved_object::ObjectType;
use crate::model::saved_query::SavedQuery;

/// Saved queries listed at once: the first matches of the search.
const LISTED: usize = 30;

/// A saved query as listed: its id and what it holds.
#[derive(Clone)]
struct Listed {
    id: String,
    query: SavedQuery,
}

/// The "Saved queries" button and its menu: the saved queries (searched by title), each
/// loadable and deletable, and a form saving the current query and filters.
#[component]
pub fn SavedQueries(
    /// The query shown.
    #[prop(into)]
    query: Signal<QueryText>,
    /// The filters shown.
    #[prop(into)]
    filters: Signal<Vec<Filter>>,
    /// Called with a loaded query's query and filters.
    on_load: Callback<(QueryText, Vec<Filter>)>,
) -> impl IntoView {
    let open = RwSignal::new(false);
    let search = RwSignal::new(String::new());
    let title = RwSignal::new(String::new());
    let message = RwSignal::new(None::<String>);
    let listed = RwSignal::new(Vec::<Listed>::new());
    // Saving or deleting asks the list again.
    let changed = RwSignal::new(0u32);
    let client = crate::api::ObjectsClient::from_context();
    let latest = Latest::new();
    Effect::new(move |_| {
        changed.track();
        if !open.get() {
            return;
        }
        let (client, search) = (client.clone(), search.get());
        let run = latest.start();
        leptos::task::spawn_local(async move {
            let found = client
                .find_page(vec![ObjectType::Query], Some(search), 1, LISTED)
                .await;
            if !run.is_current() {
                return;
            }
            match found {
                Ok(found) => listed.set(
                    found
                        .saved_objects
                        .into_iter()
                        .filter_map(|o| {
                            let query = SavedQuery::from_value(o.attributes).ok()?;
                            Some(Listed { id: o.id, query })
                        })
                        .collect(),
                ),
                Err(error) => message.set(Some(format!("Saved queries cannot be listed: {error}"))),
            }
        });
    });
    let nothing_to_save =
        move || query.with(|q| q.text.trim().is_empty()) && filters.with(Vec::is_empty);
    let save = move || {
        let saved = SavedQuery {
            title: title.get_untracked().trim().to_owned(),
            description: String::new(),
            query: query.get_untracked(),
            filters: filters.get_untracked(),
        };
        let attributes = serde_json::to_value(&saved).unwrap_or_default();
        if let Err(error) = SavedQuery::from_value(attributes.clone()) {
            message.set(Some(format!("Not saved: {}: {}", error.path, error.reason)));
            return;
        }
        leptos::task::spawn_local(async move {
            match crate::api::calls::create(ObjectType::Query, None, &attributes).await {
                Ok(_) => {
                    message.set(Some(format!("Saved “{}”", saved.title)));
                    title.set(String::new());
                    changed.update(|c| *c += 1);
                }
                Err(error) => message.set(Some(format!("Not saved: {error}"))),
            }
        });
    };
    let delete = move |id: String, name: String| {
        if !crate::browser::confirm(&format!("Delete the saved query “{name}”?")) {
            return;
        }
        leptos::task::spawn_local(async move {
            match crate::api::calls::delete(ObjectType::Query, &id).await {
                Ok(()) => changed.update(|c| *c += 1),
                Err(error) => message.set(Some(format!("Not deleted: {error}"))),
            }
        });
    };
    let can_edit = super::account::can_edit();
    view! {
        <div class="saved-queries">
            <button type="button" aria-expanded=move || open.get().to_string() title="Load a saved query, or save this one"
                on:click=move |_| { open.update(|o| *o = !*o); message.set(None); }>"Saved queries"</button>
            <Show when=move || open.get()>
                <div class="saved-queries-menu" role="group" aria-label="Saved queries"
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Escape" { ev.prevent_default(); open.set(false); }>
                    <input type="search" name="find-saved-query" aria-label="Find a saved query" placeholder="Search saved queries"
                        prop:value=move || search.get() on:input:target=move |ev| search.set(ev.target().value())/>
                    <ul>
                        {move || {
                            let items = listed.get();
                            if items.is_empty() {
                                return view! { <li class="muted">"No saved queries"</li> }.into_any();
                            }
                            items.into_iter().map(|Listed { id, query: saved }| {
                                let name = saved.title.clone();
                                let summary = summary(&saved);
                                let load = (saved.query.clone(), saved.filters.clone());
                                let delete_name = name.clone();
                                view! {
                                    <li>
                                        <button type="button" class="link" title=summary aria-label=format!("Load saved query {name}")
                                            on:click=move |_| { on_load.run(load.clone()); open.set(false); }>{name.clone()}</button>
                                        <Show when=move || can_edit.get()>
                                            <button type="button" class="icon" aria-label=format!("Delete saved query {}", delete_name.clone()) title="Delete"
                                                on:click={
                                                    let (id, delete_name) = (id.clone(), delete_name.clone());
                                                    move |_| delete(id.clone(), delete_name.clone())
                                                }>"✕"</button>
                                        </Show>
                                    </li>
                                }
                            }).collect_view().into_any()
                        }}
                    </ul>
                    <Show when=move || can_edit.get()>
                        <form class="inline-form" on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); save(); }>
                            <input type="text" name="saved-query-title" aria-label="Saved query title" placeholder="Title" maxlength="200"
                                prop:value=move || title.get() on:input:target=move |ev| title.set(ev.target().value())/>
                            <button type="submit" disabled=nothing_to_save
                                title="Keep the query and filters shown under this title">"Save current query"</button>
                        </form>
                    </Show>
                    {move || message.get().map(|m| view! { <p class="message" role="status">{m}</p> })}
                </div>
            </Show>
        </div>
    }
}

/// What a saved query holds, in one line: `dstport:22 · action: REJECT`.
fn summary(saved: &SavedQuery) -> String {
    let mut parts: Vec<String> = Vec::new();
    if !saved.query.text.trim().is_empty() {
        parts.push(saved.query.text.clone());
    }
    parts.extend(saved.filters.iter().map(Filter::label));
    parts.join(" · ")
}
