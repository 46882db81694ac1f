//! Choosing what a panel shows: a saved visualization, searched on the server so the picker
//! stays small however many exist, or a saved search. "Add a panel" and a panel's "Replace"
//! both use it.

use std::collections::HashMap;

use leptos::prelude::*;

use super::panels::next_panel_id;
use crate::model::control::{InputControl, FIRST_FIELD};
use crate::model::dashboard::{layout, Dashboard, Panel, PanelSource};
use crate::model::saved_object::ObjectType;
use crate::model::visualization::Visualization;
use crate::panels::Library;

/// Visualizations the picker offers at once: the first matches of its search.
const PICKER_CHOICES: usize = 50;

/// The value of a saved search among the picker's options (visualizations are their id).
const SEARCH_PREFIX: &str = "search:";

/// A search box and a list of what matches it; submitting hands the chosen source to
/// `on_choose`, once a visualization not yet on the dashboard has been read into
/// `visualizations`.
#[component]
pub(super) fn SourcePicker(
    visualizations: RwSignal<HashMap<String, Visualization>>,
    library: StoredValue<Library>,
    message: RwSignal<Option<String>>,
    /// The submit button's text.
    action: &'static str,
    /// The select's label.
    label: &'static str,
    on_choose: Callback<PanelSource>,
) -> impl IntoView {
    let choice = RwSignal::new(String::new());
    let search = RwSignal::new(String::new());
    let client = crate::api::ObjectsClient::from_context();
    // Read into a signal, not a resource: a resource read here would put the whole
    // dashboard back into its loading state (its Suspense) at every search.
    let found = RwSignal::new(Vec::<(String, String)>::new());
    let latest = crate::components::latest::Latest::new();
    {
        let client = client.clone();
        Effect::new(move |_| {
            let client = client.clone();
            let search = search.get();
            let run = latest.start();
            leptos::task::spawn_local(async move {
                let page = client
                    .find_page(
                        vec![ObjectType::Visualization],
                        Some(search),
                        1,
                        PICKER_CHOICES,
                    )
                    .await;
                let listed = page.map(|found| {
                    found
                        .saved_objects
                        .iter()
                        .map(|o| (o.id.clone(), o.title().to_owned()))
                        .collect()
                });
                if run.is_current() {
                    found.set(listed.unwrap_or_default());
                }
            });
        });
    }
    // The matching visualizations by title, then saved searches, shown as flow tables.
    let options = Memo::new(move |_| {
        let mut list = found.get();
        let words = search.get().to_lowercase();
        let mut searches: Vec<(String, String)> = library.with_value(|l| {
            l.searches
                .iter()
                .filter(|(_, s)| s.title.to_lowercase().contains(words.trim()))
                .map(|(id, s)| {
                    (
                        format!("{SEARCH_PREFIX}{id}"),
                        format!("Saved search: {}", s.title),
                    )
                })
                .collect()
        });
        searches.sort_by(|a, b| a.1.cmp(&b.1));
        list.extend(searches);
        list
    });
    // A new search changes the options: a choice no longer among them is no choice (the
    // select shows "Choose…", and submitting must not add what is no longer shown).
    Effect::new(move |_| {
        let shown = options.with(|o| o.iter().any(|(id, _)| *id == choice.get_untracked()));
        if !shown && !choice.get_untracked().is_empty() {
            choice.set(String::new());
        }
    });
    let choose = move || {
        let chosen = choice.get_untracked();
        if chosen.is_empty() {
            message.set(Some("Choose a visualization or saved search first".into()));
            return;
        }
        if let Some(search_id) = chosen.strip_prefix(SEARCH_PREFIX) {
            on_choose.run(PanelSource::Search(search_id.to_owned()));
            return;
        }
        if visualizations.with_untracked(|v| v.contains_key(&chosen)) {
            on_choose.run(PanelSource::Saved(chosen));
            return;
        }
        // Not on the dashboard yet: read it, then hand it over.
        let client = client.clone();
        leptos::task::spawn_local(async move {
            let read = client
                .get(ObjectType::Visualization, chosen.clone())
                .await
                .map_err(|e| e.to_string())
                .and_then(|o| Visualization::from_value(o.attributes).map_err(|e| e.to_string()));
            match read {
                Ok(vis) => {
                    visualizations.update(|v| {
                        v.insert(chosen.clone(), vis);
                    });
                    on_choose.run(PanelSource::Saved(chosen));
                }
                Err(error) => message.set(Some(format!("Cannot use the visualization: {error}"))),
            }
        });
    };
    view! {
        <form class="source-picker" on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); choose(); }>
            <label>"Find "
                <input type="search" name="find-visualization" placeholder="Search visualizations by title"
                    prop:value=move || search.get() on:input:target=move |ev| search.set(ev.target().value())/>
            </label>
            <label>{label}" "
                <select name="visualization" on:change:target=move |ev| choice.set(ev.target().value())>
                    <option value="" prop:selected=move || choice.get().is_empty()>"Choose…"</option>
                    {move || options.get().into_iter().map(|(id, title)| {
                        let chosen = id.clone();
                        view! { <option value=id prop:selected=move || choice.get() == chosen>{title}</option> }
                    }).collect_view()}
                </select>
            </label>
            <button type="submit" class="primary">{action}</button>
        </form>
    }
}

/// Adds a saved visualization or search as a panel, in the first free spot.
#[component]
pub(super) fn AddPanel(
    dashboard: RwSignal<Dashboard>,
    visualizations: RwSignal<HashMap<String, Visualization>>,
    library: StoredValue<Library>,
    message: RwSignal<Option<String>>,
) -> impl IntoView {
    // A new panel, half the grid wide and `rows` high, in the first free spot.
    let place_sized = move |source: PanelSource, rows: u32| {
        dashboard.update(|d| {
            let grid = layout::free_spot(&d.panels, 24, rows);
            let id = next_panel_id(&d.panels);
            d.panels.push(Panel {
                id,
                grid,
                title: None,
                hide_title: false,
                source,
            });
        });
    };
    let place = Callback::new(move |source: PanelSource| place_sized(source, 15));
    let add_text = move |_| {
        place.run(PanelSource::Markdown(
            "## Notes\n\nWhat this dashboard shows, in **Markdown**.".into(),
        ))
    };
    // Input controls start with one list (of destination ports), in the pattern the
    // dashboard's charts search.
    let add_controls = move |_| {
        let pattern = dashboard.with_untracked(|d| {
            d.panels
                .iter()
                .find_map(|p| {
                    visualizations.with_untracked(|v| super::panels::panel_visualization(p, v))
                })
                .map(|v| v.index_pattern)
                .unwrap_or_else(|| crate::discover::DEFAULT_PATTERN.to_owned())
        });
        place_sized(
            PanelSource::Controls(vec![InputControl::options(&pattern, FIRST_FIELD)]),
            5,
        );
    };
    view! {
        <div class="add-panel">
            <SourcePicker visualizations library message action="Add panel" label="Add a visualization" on_choose=place/>
            <button type="button" title="A panel of notes in Markdown" on:click=add_text>"Add text"</button>
            <button type="button" title="Dropdowns and ranges that set the dashboard's filters" on:click=add_controls>"Add controls"</button>
            <a href="/visualize/new">"Create a new visualization"</a>
        </div>
    }
}
