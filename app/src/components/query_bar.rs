//! The query bar (KQL or Lucene) and the filter pills under it.

use leptos::prelude::*;

use crate::model::filter::{Filter, FilterKind, QueryLanguage, QueryText};
use crate::model::index_pattern::{time_field_of, FieldSpec, IndexPattern};
use crate::model::time::TimeRange;
use crate::suggest::{
    field_suggestions, recent_suggestions, remember, value_suggestions, values_in, values_request,
    wanted, Suggestion, Wanted,
};

/// Where the query bar's suggestions come from: the fields of the index pattern searched,
/// and its values in the time range shown.
#[derive(Clone, Copy)]
pub struct SuggestFrom {
    /// The fields to complete.
    pub fields: Signal<Vec<FieldSpec>>,
    /// The index pattern whose values are asked for.
    pub index: Signal<String>,
    /// Its time field.
    pub time_field: Signal<String>,
    /// The time range shown.
    pub time: Signal<TimeRange>,
}

impl SuggestFrom {
    /// Suggestions from the pattern called `title` among `patterns`.
    pub fn for_pattern(
        patterns: StoredValue<Vec<IndexPattern>>,
        title: Signal<String>,
        time: Signal<TimeRange>,
    ) -> SuggestFrom {
        SuggestFrom {
            fields: Signal::derive(move || {
                let title = title.get();
                patterns.with_value(|p| {
                    p.iter()
                        .find(|p| p.title == title)
                        .map(|p| p.fields.clone())
                        .unwrap_or_default()
                })
            }),
            index: title,
            time_field: Signal::derive(move || {
                let title = title.get();
                patterns.with_value(|p| time_field_of(p, &title).to_owned())
            }),
            time,
        }
    }
}

/// Where recent queries are kept in the browser.
const HISTORY_KEY: &str = "flowdash.queryHistory";

/// What a field's suggested values were asked for: new values are asked when any part changes.
#[derive(Clone, PartialEq)]
struct ValuesKey {
    field: String,
    index: String,
    from: String,
    to: String,
}

#[component]
pub fn QueryBar(
    #[prop(into)] value: Signal<QueryText>,
    on_submit: Callback<QueryText>,
    /// An error of the query, said here once rather than in every panel.
    #[prop(optional, into)]
    error: Option<Signal<Option<String>>>,
    /// Fields and values to suggest while KQL is typed.
    #[prop(optional)]
    suggest: Option<SuggestFrom>,
) -> impl IntoView {
    let draft = RwSignal::new(value.get_untracked().text);
    let language = RwSignal::new(value.get_untracked().language);
    Effect::new(move |_| {
        let current = value.get();
        draft.set(current.text);
        language.set(current.language);
    });
    let open = RwSignal::new(false);
    let active = RwSignal::new(None::<usize>);
    let history = RwSignal::new(Vec::<String>::new());
    Effect::new(move |_| {
        let kept = crate::browser::storage_get(HISTORY_KEY)
            .and_then(|t| serde_json::from_str::<Vec<String>>(&t).ok())
            .unwrap_or_default();
        history.set(kept);
    });
    // A field's common values in the range shown, asked once per field, pattern and range.
    let values = RwSignal::new(None::<(ValuesKey, Vec<String>)>);
    let latest = super::latest::Latest::new();
    Effect::new(move |_| {
        let Some(source) = suggest else { return };
        let Some(Wanted::Value { field, .. }) = draft.with(|d| wanted(d)) else {
            return;
        };
        let time = source.time.get();
        let index = source.index.get();
        let key = ValuesKey {
            field: field.clone(),
            index: index.clone(),
            from: time.from.clone(),
            to: time.to.clone(),
        };
        if values.with_untracked(|v| v.as_ref().is_some_and(|(k, _)| *k == key)) {
            return;
        }
        let request = crate::api::SearchRequest {
            index,
            body: values_request(
                &field,
                &source.time_field.get_untracked(),
                &time.from,
                &time.to,
            ),
        };
        let run = latest.start();
        leptos::task::spawn_local(async move {
            let found = crate::api::calls::search(&request)
                .await
                .map(|answer| values_in(&answer))
                .unwrap_or_default();
            if run.is_current() {
                values.set(Some((key, found)));
            }
        });
    });
    // Patterns saved before their fields were read have none: read them once from the indices.
    let live_fields = RwSignal::new(None::<(String, Vec<FieldSpec>)>);
    Effect::new(move |_| {
        let Some(source) = suggest else { return };
        if !open.get() || source.fields.with(|f| !f.is_empty()) {
            return;
        }
        let index = source.index.get();
        if live_fields.with_untracked(|l| l.as_ref().is_some_and(|(i, _)| *i == index)) {
            return;
        }
        leptos::task::spawn_local(async move {
            if let Ok(found) = crate::api::calls::fields(&index).await {
                live_fields.set(Some((index, found)));
            }
        });
    });
    let fields_of = move |source: SuggestFrom, with: &dyn Fn(&[FieldSpec]) -> Vec<Suggestion>| {
        let saved = source.fields.with(|f| (!f.is_empty()).then(|| with(f)));
        saved.unwrap_or_else(|| {
            let index = source.index.get();
            live_fields.with(|l| match l {
                Some((i, found)) if *i == index => with(found),
                _ => Vec::new(),
            })
        })
    };
    let suggestions = Memo::new(move |_| {
        if !open.get() || language.get() != QueryLanguage::Kql {
            return Vec::new();
        }
        let text = draft.get();
        match (wanted(&text), suggest) {
            (None, _) if text.trim().is_empty() => history.with(|h| recent_suggestions(h)),
            (Some(Wanted::Field { prefix }), Some(source)) => {
                fields_of(source, &|f| field_suggestions(&text, &prefix, f))
            }
            (Some(Wanted::Value { field, prefix }), Some(_)) => values.with(|v| match v {
                Some((key, found)) if key.field == field => {
                    value_suggestions(&text, &field, &prefix, found)
                }
                _ => Vec::new(),
            }),
            _ => Vec::new(),
        }
    });
    Effect::new(move |_| {
        suggestions.track();
        active.set(None);
    });
    let submit = move || {
        let text = draft.get_untracked();
        let kept = history.with_untracked(|h| remember(h, &text));
        crate::browser::storage_set(
            HISTORY_KEY,
            &serde_json::to_string(&kept).unwrap_or_default(),
        );
        history.set(kept);
        open.set(false);
        on_submit.run(QueryText {
            language: language.get_untracked(),
            text,
        })
    };
    let accept = move |suggestion: Suggestion| {
        draft.set(suggestion.text);
        if suggestion.kind == "recent" {
            submit();
        } else {
            open.set(true);
            crate::browser::focus(".query-bar input[name=\"query\"]");
        }
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let count = suggestions.with(Vec::len);
        match ev.key().as_str() {
            "ArrowDown" | "ArrowUp" if count > 0 => {
                ev.prevent_default();
                let down = ev.key() == "ArrowDown";
                active.update(|a| {
                    *a = Some(match *a {
                        None if down => 0,
                        None => count - 1,
                        Some(i) if down => (i + 1) % count,
                        Some(i) => (i + count - 1) % count,
                    })
                });
            }
            "Enter" | "Tab" => {
                if let Some(chosen) = active
                    .get_untracked()
                    .and_then(|i| suggestions.with_untracked(|s| s.get(i).cloned()))
                {
                    ev.prevent_default();
                    accept(chosen);
                }
            }
            // Closing the list must not also clear the search field, as Escape does natively.
            "Escape" if count > 0 => {
                ev.prevent_default();
                open.set(false);
            }
            _ => {}
        }
    };
    let option_id = |i: usize| format!("query-suggestion-{i}");
    view! {
        <form class="query-bar" role="search" on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); submit(); }>
            <div class="query-input">
                <input type="search" name="query" aria-label="Query" role="combobox" aria-autocomplete="list"
                    aria-controls="query-suggestions" autocomplete="off"
                    aria-expanded=move || suggestions.with(|s| !s.is_empty()).to_string()
                    aria-activedescendant=move || active.get().map(option_id)
                    placeholder=move || if language.get() == QueryLanguage::Kql { "Filter with KQL: action:REJECT and dstport:22" } else { "Lucene: srcaddr:10.0.0.0/8 AND NOT dstport:443" }
                    // The attribute for the server's render (and before hydration); the property after.
                    value=move || draft.get() prop:value=move || draft.get()
                    on:input:target=move |ev| { draft.set(ev.target().value()); open.set(true); }
                    on:focus=move |_| open.set(true) on:blur=move |_| open.set(false) on:keydown=on_key/>
                <Show when=move || suggestions.with(|s| !s.is_empty())>
                    <ul class="suggestions" id="query-suggestions" role="listbox" aria-label="Suggestions">
                        {move || suggestions.get().into_iter().enumerate().map(|(i, suggestion)| {
                            let kind = suggestion.kind;
                            let label = suggestion.label.clone();
                            view! {
                                <li id=option_id(i) role="option" class=format!("suggestion {kind}") aria-selected=move || (active.get() == Some(i)).to_string()
                                    // Before the input's blur, which would close the list.
                                    on:mousedown=move |ev| { ev.prevent_default(); accept(suggestion.clone()); }>
                                    <span class="suggestion-kind">{kind}</span>{label}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                </Show>
            </div>
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
