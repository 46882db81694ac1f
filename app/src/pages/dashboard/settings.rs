//! A panel's settings while the dashboard is edited: its own title, hiding the title, and
//! replacing what it shows (Kibana's "Customize panel" and "Replace panel"). Changes apply at
//! once and are saved with the dashboard.

use std::collections::HashMap;

use leptos::prelude::*;

use super::controls::ControlsEditor;
use super::picker::SourcePicker;
use crate::model::dashboard::{Dashboard, Panel, PanelSource};
use crate::model::visualization::Visualization;
use crate::panels::Library;

#[component]
pub(super) fn PanelSettings(
    panel_id: String,
    dashboard: RwSignal<Dashboard>,
    visualizations: RwSignal<HashMap<String, Visualization>>,
    library: StoredValue<Library>,
    message: RwSignal<Option<String>>,
    /// The title of what the panel shows, which a panel without its own title takes.
    source_title: Memo<String>,
    on_close: Callback<()>,
) -> impl IntoView {
    let id = StoredValue::new(panel_id);
    let edit = move |change: &dyn Fn(&mut Panel)| {
        dashboard.update(|d| {
            if let Some(panel) = d.panels.iter_mut().find(|p| p.id == id.get_value()) {
                change(panel);
            }
        })
    };
    let this = move |d: &Dashboard| {
        d.panels
            .iter()
            .find(|p| p.id == id.get_value())
            .map(|p| (p.title.clone().unwrap_or_default(), p.hide_title))
            .unwrap_or_default()
    };
    let custom_title = move || dashboard.with(this).0;
    let hidden = move || dashboard.with(this).1;
    // A text panel's Markdown, edited here.
    let markdown = move || {
        dashboard.with(|d| {
            d.panels
                .iter()
                .find(|p| p.id == id.get_value())
                .and_then(|p| match &p.source {
                    PanelSource::Markdown(text) => Some(text.clone()),
                    _ => None,
                })
        })
    };
    let is_controls = move || {
        dashboard.with(|d| {
            d.panels
                .iter()
                .any(|p| p.id == id.get_value() && matches!(p.source, PanelSource::Controls(_)))
        })
    };
    // The panel's own title belonged to what it showed: a replacement comes with its own.
    let replace = Callback::new(move |source: PanelSource| {
        edit(&|panel| {
            panel.source = source.clone();
            panel.title = None;
        });
        on_close.run(());
    });
    // Opening the settings puts the cursor in the title, ready to type.
    let title_input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = title_input.get() {
            let _ = input.focus();
        }
    });
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            on_close.run(());
        }
    };
    view! {
        <div class="panel-settings" role="group" aria-label="Panel settings" on:keydown=on_key>
            <label>"Panel title "
                <input type="text" name="panel-title" maxlength="200" node_ref=title_input
                    placeholder=move || source_title.get()
                    prop:value=custom_title
                    on:input:target=move |ev| {
                        let text = ev.target().value();
                        // The text as typed (a trimmed read-back would eat the space just typed);
                        // it is trimmed when the dashboard is saved.
                        edit(&|panel| panel.title = Some(text.clone()).filter(|t| !t.trim().is_empty()));
                    }/>
            </label>
            <label class="check">
                <input type="checkbox" name="hide-title" prop:checked=hidden
                    on:change:target=move |ev| {
                        let checked = ev.target().checked();
                        edit(&|panel| panel.hide_title = checked);
                    }/>
                "Hide title"
            </label>
            {move || markdown().map(|text| view! {
                <label class="markdown-source">"Text (Markdown: # heading, **bold**, - list, [link](https://…)) "
                    <textarea name="markdown" rows="8" maxlength=crate::markdown::MAX_MARKDOWN_CHARS.to_string()
                        prop:value=text
                        on:input:target=move |ev| {
                            let text = ev.target().value();
                            edit(&|panel| panel.source = PanelSource::Markdown(text.clone()));
                        }></textarea>
                </label>
            })}
            <Show when=is_controls>
                <ControlsEditor panel_id=id.get_value() dashboard library/>
            </Show>
            <SourcePicker visualizations library message action="Replace" label="Replace with" on_choose=replace/>
            <button type="button" on:click=move |_| on_close.run(())>"Done"</button>
        </div>
    }
}
