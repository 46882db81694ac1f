//! The query bar (KQL or Lucene) and the filter pills under it.

use leptos::prelude::*;

use crate::model::filter::{Filter, FilterKind, QueryLanguage, QueryText};

#[component]
pub fn QueryBar(
    #[prop(into)] value: Signal<QueryText>,
    on_submit: Callback<QueryText>,
    /// An error of the query, said here once rather than in every panel.
    #[prop(optional, into)]
    error: Option<Signal<Option<String>>>,
) -> impl IntoView {
    let draft = RwSignal::new(value.get_untracked().text);
    let language = RwSignal::new(value.get_untracked().language);
    Effect::new(move |_| {
        let current = value.get();
        draft.set(current.text);
        language.set(current.language);
    });
    let submit = move || {
        on_submit.run(QueryText {
            language: language.get_untracked(),
            text: draft.get_untracked(),
        })
    };
    view! {
        <form class="query-bar" role="search" on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); submit(); }>
            <input type="search" name="query" aria-label="Query"
                placeholder=move || if language.get() == QueryLanguage::Kql { "Filter with KQL: action:REJECT and dstport:22" } else { "Lucene: srcaddr:10.0.0.0/8 AND NOT dstport:443" }
                // The attribute for the server's render (and before hydration); the property after.
                value=move || draft.get() prop:value=move || draft.get() on:input:target=move |ev| draft.set(ev.target().value())/>
            <select aria-label="Query language" on:change:target=move |ev| language.set(if ev.target().value() == "lucene" { QueryLanguage::Lucene } else { QueryLanguage::Kql })>
                <option value="kql" selected=move || language.get() == QueryLanguage::Kql>"KQL"</option>
                <option value="lucene" selected=move || language.get() == QueryLanguage::Lucene>"Lucene"</option>
            </select>
            <button type="submit" class="primary">"Update"</button>
        </form>
        {move || error.and_then(|e| e.get()).map(|e| view! { <p class="query-error" role="alert">{e}</p> })}
    }
}

#[component]
pub fn FilterBar(
    #[prop(into)] filters: Signal<Vec<Filter>>,
    on_change: Callback<Vec<Filter>>,
) -> impl IntoView {
    let adding = RwSignal::new(false);
    let field = RwSignal::new(String::new());
    let text = RwSignal::new(String::new());
    let change = move |index: usize, edit: fn(&mut Vec<Filter>, usize)| {
        let mut next = filters.get_untracked();
        if index < next.len() {
            edit(&mut next, index);
            on_change.run(next);
        }
    };
    let add = move || {
        let (f, v) = (field.get_untracked(), text.get_untracked());
        if f.trim().is_empty() {
            return;
        }
        let value = v
            .trim()
            .parse::<i64>()
            .map(serde_json::Value::from)
            .unwrap_or_else(|_| serde_json::Value::from(v.trim()));
        let mut next = filters.get_untracked();
        next.push(Filter {
            field: f.trim().into(),
            kind: FilterKind::Phrase { value },
            negate: false,
            disabled: false,
            pinned: false,
        });
        on_change.run(next);
        adding.set(false);
        field.set(String::new());
        text.set(String::new());
    };
    view! {
        <div class="filter-bar" aria-label="Filters">
            {move || filters.get().into_iter().enumerate().map(|(i, f)| {
                let classes = format!("pill{}{}{}", if f.negate { " negated" } else { "" }, if f.disabled { " disabled" } else { "" }, if f.pinned { " pinned" } else { "" });
                view! {
                    <span class=classes>
                        <span class="pill-label">{f.label()}</span>
                        <button class="pill-action" title="Include or exclude" aria-label=format!("Negate {}", f.label()) on:click=move |_| change(i, |v, i| v[i].negate = !v[i].negate)>"±"</button>
                        <button class="pill-action" title="Enable or disable" aria-label=format!("Disable {}", f.label()) on:click=move |_| change(i, |v, i| v[i].disabled = !v[i].disabled)>"⊘"</button>
                        <button class="pill-action" title="Pin across dashboards" aria-label=format!("Pin {}", f.label()) on:click=move |_| change(i, |v, i| v[i].pinned = !v[i].pinned)>"⚑"</button>
                        <button class="pill-action" title="Remove" aria-label=format!("Remove {}", f.label()) on:click=move |_| change(i, |v, i| { v.remove(i); })>"✕"</button>
                    </span>
                }
            }).collect_view()}
            <Show when=move || adding.get() fallback=move || view! { <button class="link" on:click=move |_| adding.set(true)>"+ Add filter"</button> }>
                <form class="add-filter" on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); add(); }>
                    <input type="text" placeholder="field" aria-label="Filter field" prop:value=move || field.get() on:input:target=move |ev| field.set(ev.target().value())/>
                    <input type="text" placeholder="value" aria-label="Filter value" prop:value=move || text.get() on:input:target=move |ev| text.set(ev.target().value())/>
                    <button type="submit" class="primary">"Add"</button>
                    <button type="button" on:click=move |_| adding.set(false)>"Cancel"</button>
                </form>
            </Show>
        </div>
    }
}
