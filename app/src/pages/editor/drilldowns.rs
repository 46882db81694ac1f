//! The editor's drilldowns pane: named link templates a click on the chart offers besides
//! filtering (`model::drilldown`), each checked as it is typed.

use leptos::prelude::*;

use crate::model::drilldown::{UrlDrilldown, MAX_DRILLDOWNS, VARIABLES};
use crate::model::visualization::Visualization;

#[component]
pub(super) fn DrilldownsEditor(vis: RwSignal<Visualization>) -> impl IntoView {
    let count = Memo::new(move |_| vis.with(|v| v.options.drilldowns.len()));
    let edit = move |index: usize, change: &dyn Fn(&mut UrlDrilldown)| {
        vis.update(|v| {
            if let Some(drilldown) = v.options.drilldowns.get_mut(index) {
                change(drilldown);
            }
        })
    };
    let read = move |index: usize| {
        vis.with(|v| v.options.drilldowns.get(index).cloned())
            .unwrap_or_default()
    };
    let add = move |_| {
        vis.update(|v| {
            v.options.drilldowns.push(UrlDrilldown {
                name: "Whois".into(),
                url: "https://whois.example/{{value}}".into(),
            })
        })
    };
    let variables = VARIABLES.map(|v| format!("{{{{{v}}}}}")).join(" ");
    let row = move |index: usize| {
        let n = index + 1;
        let error = move || {
            read(index)
                .validate(&format!("drilldown {n}"))
                .err()
                .map(|e| e.to_string())
        };
        view! {
            <div class="drilldown-row">
                <input type="text" aria-label=format!("Drilldown {n} name") placeholder="Name"
                    prop:value=move || read(index).name
                    on:input:target=move |ev| { let name = ev.target().value(); edit(index, &|d| d.name = name.clone()); }/>
                <input type="text" class="drilldown-url" aria-label=format!("Drilldown {n} URL") placeholder="https://…/{{value}}"
                    prop:value=move || read(index).url
                    on:input:target=move |ev| { let url = ev.target().value(); edit(index, &|d| d.url = url.clone()); }/>
                <button type="button" class="link danger" aria-label=format!("Remove drilldown {n}")
                    on:click=move |_| vis.update(|v| { v.options.drilldowns.remove(index); })>"✕"</button>
                {move || error().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            </div>
        }
    };
    view! {
        <fieldset class="group">
            <legend>"Drilldowns"</legend>
            <p class="hint">"Links a click on the chart offers besides filtering. In the URL: "{variables}</p>
            {move || (0..count.get()).map(row).collect_view()}
            <Show when=move || { count.get() < MAX_DRILLDOWNS }>
                <button type="button" on:click=add>"Add drilldown"</button>
            </Show>
        </fieldset>
    }
}
