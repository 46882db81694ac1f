//! `/dashboards` and `/visualize`: saved objects listed, searched, opened, deleted.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::ObjectsClient;
use crate::model::saved_object::ObjectType;
use crate::panels::sendable;

#[component]
pub fn DashboardsPage() -> impl IntoView {
    view! { <ObjectList object_type=ObjectType::Dashboard heading="Dashboards" open_prefix="/dashboards/" create={|| view! { <NewDashboard/> }.into_any()}/> }
}

#[component]
pub fn VisualizeListPage() -> impl IntoView {
    view! { <ObjectList object_type=ObjectType::Visualization heading="Visualizations" open_prefix="/visualize/"
    create={|| view! { <a class="button primary" href="/visualize/new">"Create visualization"</a> }.into_any()}/> }
}

#[component]
pub fn SavedSearchesPage() -> impl IntoView {
    view! { <ObjectList object_type=ObjectType::Search heading="Saved searches" open_prefix="/discover?search="
    create={|| view! { <a class="button primary" href="/discover">"New search"</a> }.into_any()}/> }
}

/// Objects on one page of a list.
const LIST_PAGE: usize = 50;

#[component]
fn ObjectList(
    object_type: ObjectType,
    heading: &'static str,
    open_prefix: &'static str,
    create: fn() -> AnyView,
) -> impl IntoView {
    let query = use_query_map();
    let navigate = use_navigate();
    let search = Memo::new(move |_| query.read().get("search").unwrap_or_default());
    let page = Memo::new(move |_| {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<usize>().ok())
            .unwrap_or(1)
            .max(1)
    });
    let draft = RwSignal::new(search.get_untracked());
    let reload = RwSignal::new(0u32);
    let client = ObjectsClient::from_context();
    // One page at a time, searched on the server: a list of 20,000 objects costs a page.
    let objects = Resource::new(
        move || (search.get(), page.get(), reload.get()),
        move |(search, page, _)| {
            let client = client.clone();
            sendable(async move {
                client
                    .find_page(vec![object_type], Some(search), page, LIST_PAGE)
                    .await
            })
        },
    );
    let page_link = move |page: usize| {
        let search = search.get();
        let mut link = format!("?page={page}");
        if !search.is_empty() {
            link.push_str(&format!("&search={}", crate::api::encode(&search)));
        }
        link
    };
    let error = RwSignal::new(None::<String>);
    let can_edit = crate::components::account::can_edit();
    let delete = move |id: String, title: String| {
        if !crate::browser::confirm(&format!("Delete “{title}”?")) {
            return;
        }
        leptos::task::spawn_local(async move {
            match crate::api::calls::delete(object_type, &id).await {
                Ok(()) => reload.update(|r| *r += 1),
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    view! {
        <Title text=format!("{heading} · flowdash")/>
        <div class="list-page">
            <div class="toolbar">
                <h1>{heading}</h1>
                {create()}
            </div>
            <form class="search" role="search" on:submit=move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                navigate(&format!("?search={}", crate::api::encode(&draft.get_untracked())), Default::default());
            }>
                <input type="search" name="search" aria-label=format!("Search {}", heading.to_lowercase()) placeholder="Search by title or tag"
                    prop:value=move || draft.get() on:input:target=move |ev| draft.set(ev.target().value())/>
                <button type="submit">"Search"</button>
            </form>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match objects.await {
                        Ok(found) if found.total == 0 => view! { <p class="empty">"Nothing here yet."</p> }.into_any(),
                        Ok(found) => {
                            let page = page.get_untracked();
                            let first = (page - 1) * LIST_PAGE + 1;
                            let last = (first + found.saved_objects.len()).saturating_sub(1);
                            let pages = found.total.div_ceil(LIST_PAGE);
                            view! {
                            <nav class="pager" aria-label="Pages">
                                <span class="muted">{if found.saved_objects.is_empty() { format!("{} in all", found.total) } else { format!("{first}–{last} of {}", found.total) }}</span>
                                <Show when=move || { page > 1 }>
                                    <a class="button" href=page_link(page - 1) rel="prev">"Previous"</a>
                                </Show>
                                <Show when=move || { page < pages }>
                                    <a class="button" href=page_link(page + 1) rel="next">"Next"</a>
                                </Show>
                            </nav>
                            <table class="object-table">
                                <thead><tr><th>"Title"</th><th>"Description"</th><th>"Updated"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                                <tbody>
                                    {found.saved_objects.into_iter().map(|object| {
                                        let title = object.title().to_owned();
                                        let description = object.attributes.get("description").and_then(|d| d.as_str()).unwrap_or("").to_owned();
                                        let tags: Vec<String> = object.attributes.get("tags").and_then(|t| t.as_array()).into_iter().flatten().filter_map(|t| t.as_str().map(str::to_owned)).collect();
                                        let (id, title_for_delete) = (object.id.clone(), title.clone());
                                        view! {
                                            <tr>
                                                <td><a href=format!("{open_prefix}{}", object.id)>{title}</a></td>
                                                <td class="muted">{description}
                                                    {(!tags.is_empty()).then(|| view! { <ul class="tags" aria-label="Tags">{tags.into_iter().map(|tag| view! { <li><span class="tag">{tag}</span></li> }).collect_view()}</ul> })}
                                                </td>
                                                <td class="muted">{object.updated_at.chars().take(16).collect::<String>().replace('T', " ")}</td>
                                                <td><Show when=move || can_edit.get()>{let (id, title) = (id.clone(), title_for_delete.clone()); view! { <button class="link danger" on:click=move |_| delete(id.clone(), title.clone())>"Delete"</button> }}</Show></td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any() }
                        ,
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            <Show when=move || can_edit.get()>
                <ImportObjects reload/>
            </Show>
        </div>
    }
}

/// Creates an empty dashboard and opens it for editing.
#[component]
fn NewDashboard() -> impl IntoView {
    let title = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let create = move || {
        let name = title.get_untracked();
        let Some(name) = Some(name).filter(|n| !n.trim().is_empty()) else {
            error.set(Some("Give the dashboard a title".into()));
            return;
        };
        leptos::task::spawn_local(async move {
            let dashboard = crate::model::dashboard::Dashboard::new(name);
            let attributes = serde_json::to_value(&dashboard).unwrap_or_default();
            match crate::api::calls::create(ObjectType::Dashboard, None, &attributes).await {
                Ok(object) => crate::api::http::go_to(&format!("/dashboards/{}", object.id)),
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    view! {
        <form class="inline-form" on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); create(); }>
            <input type="text" name="title" aria-label="New dashboard title" placeholder="New dashboard title" prop:value=move || title.get() on:input:target=move |ev| title.set(ev.target().value())/>
            <button type="submit" class="primary">"Create dashboard"</button>
            {move || error.get().map(|e| view! { <span class="error" role="alert">{e}</span> })}
        </form>
    }
}

/// Imports an NDJSON export (flowdash or Kibana 7.x) and shows the per-object report.
#[component]
pub fn ImportObjects(reload: RwSignal<u32>) -> impl IntoView {
    let text = RwSignal::new(String::new());
    let overwrite = RwSignal::new(false);
    let copies = RwSignal::new(false);
    let report = RwSignal::new(None::<serde_json::Value>);
    let error = RwSignal::new(None::<String>);
    let run = move || {
        let body = text.get_untracked();
        leptos::task::spawn_local(async move {
            match crate::api::calls::import(
                &body,
                overwrite.get_untracked(),
                copies.get_untracked(),
            )
            .await
            {
                Ok(answer) => {
                    report.set(Some(answer));
                    error.set(None);
                    reload.update(|r| *r += 1);
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    view! {
        <details class="import">
            <summary>"Import saved objects (NDJSON from flowdash or Kibana 7.x)"</summary>
            <form on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); run(); }>
                <label class="field">"From a file"
                    <input type="file" name="file" accept=".ndjson,.json,application/x-ndjson,application/json" on:change=move |ev| {
                        crate::browser::read_chosen_file(&ev, move |read| match read {
                            Ok(content) => text.set(content),
                            Err(e) => error.set(Some(e)),
                        });
                    }/>
                </label>
                <textarea name="ndjson" rows="6" aria-label="NDJSON to import" placeholder="Paste an export here"
                    prop:value=move || text.get() on:input:target=move |ev| text.set(ev.target().value())></textarea>
                <label><input type="checkbox" on:change:target=move |ev| overwrite.set(ev.target().checked())/>" Overwrite objects with the same id"</label>
                <label><input type="checkbox" on:change:target=move |ev| copies.set(ev.target().checked())/>" Import as new copies"</label>
                <button type="submit" class="primary">"Import"</button>
            </form>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || report.get().map(|r| view! { <pre class="import-report">{serde_json::to_string_pretty(&r).unwrap_or_default()}</pre> })}
        </details>
    }
}
