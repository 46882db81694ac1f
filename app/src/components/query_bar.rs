//! The query bar (KQL or Lucene) and the filter pills under it.

use leptos::prelude::*;

use crate::model::filter::{Filter, FilterKind, FilterOperator, QueryLanguage, QueryText};
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

/// The search for `field`'s common values in `source`'s pattern and time range (as they
/// are now).
fn values_search(source: SuggestFrom, field: &str) -> crate::api::SearchRequest {
    let time = source.time.get_untracked();
    crate::api::SearchRequest {
        index: source.index.get_untracked(),
        body: values_request(
            field,
            &source.time_field.get_untracked(),
            &time.from,
            &time.to,
        ),
    }
}

/// The values a [`values_search`] finds, most common first; none when it fails (they are
/// only suggestions).
async fn common_values(request: crate::api::SearchRequest) -> Vec<String> {
    crate::api::calls::search(&request)
        .await
        .map(|answer| values_in(&answer))
        .unwrap_or_default()
}

/// `source`'s fields: as its pattern saved them or, for a pattern saved before its fields were
/// read, read once from its indices when `wanted`.
fn pattern_fields(source: SuggestFrom, wanted: Signal<bool>) -> Memo<Vec<FieldSpec>> {
    let live = RwSignal::new(None::<(String, Vec<FieldSpec>)>);
    Effect::new(move |_| {
        if !wanted.get() || source.fields.with(|f| !f.is_empty()) {
            return;
        }
        let index = source.index.get();
        if live.with_untracked(|l| l.as_ref().is_some_and(|(i, _)| *i == index)) {
            return;
        }
        leptos::task::spawn_local(async move {
            if let Ok(found) = crate::api::calls::fields(&index).await {
                live.set(Some((index, found)));
            }
        });
    });
    Memo::new(move |_| {
        let saved = source.fields.get();
        if !saved.is_empty() {
            return saved;
        }
        let index = source.index.get();
        live.with(|l| match l {
            Some((i, found)) if *i == index => found.clone(),
            _ => Vec::new(),
        })
    })
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
        let request = values_search(source, &field);
        let run = latest.start();
        leptos::task::spawn_local(async move {
            let found = common_values(request).await;
            if run.is_current() {
                values.set(Some((key, found)));
            }
        });
    });
    let fields = suggest.map(|source| pattern_fields(source, open.into()));
    let suggestions = Memo::new(move |_| {
        if !open.get() || language.get() != QueryLanguage::Kql {
            return Vec::new();
        }
        let text = draft.get();
        match (wanted(&text), suggest) {
            (None, _) if text.trim().is_empty() => history.with(|h| recent_suggestions(h)),
            (Some(Wanted::Field { prefix }), Some(_)) => fields
                .map(|f| f.with(|f| field_suggestions(&text, &prefix, f)))
                .unwrap_or_default(),
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

/// The filter pills, and "Add filter": a field (suggested from the index pattern), an
/// operator (is, is not, is one of, is between, exists and their negations) and the values
/// it takes, suggested from the field's common values in the time range shown.
#[component]
pub fn FilterBar(
    #[prop(into)] filters: Signal<Vec<Filter>>,
    on_change: Callback<Vec<Filter>>,
    /// Fields and values to suggest.
    #[prop(optional)]
    suggest: Option<SuggestFrom>,
) -> impl IntoView {
    let adding = RwSignal::new(false);
    let field = RwSignal::new(String::new());
    let operator = RwSignal::new(FilterOperator::Is);
    let first = RwSignal::new(String::new());
    let second = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let change = move |index: usize, edit: fn(&mut Vec<Filter>, usize)| {
        let mut next = filters.get_untracked();
        if index < next.len() {
            edit(&mut next, index);
            on_change.run(next);
        }
    };
    let known_fields = suggest.map(|source| pattern_fields(source, adding.into()));
    let fields = move || known_fields.map(|f| f.get()).unwrap_or_default();
    let field_type = move |name: &str| {
        known_fields
            .and_then(|f| {
                f.with_untracked(|f| {
                    f.iter()
                        .find(|f| f.name == name)
                        .map(|f| f.field_type.clone())
                })
            })
            .unwrap_or_default()
    };
    // The chosen field's common values, for the value fields' suggestions.
    let values = RwSignal::new(Vec::<String>::new());
    let latest = super::latest::Latest::new();
    Effect::new(move |_| {
        let (Some(source), true) = (suggest, adding.get()) else {
            return;
        };
        let name = field.get();
        let known = known_fields
            .is_some_and(|f| f.with(|f| f.iter().any(|f| f.name == name && f.aggregatable)));
        let run = latest.start();
        if !known {
            values.set(Vec::new());
            return;
        }
        let request = values_search(source, &name);
        leptos::task::spawn_local(async move {
            let found = common_values(request).await;
            if run.is_current() {
                values.set(found);
            }
        });
    });
    // The pill being edited, or none when a filter is being added.
    let editing = RwSignal::new(None::<usize>);
    let edit = move |index: usize| {
        let Some(filter) = filters.with_untracked(|f| f.get(index).cloned()) else {
            return;
        };
        let (op, [from, to]) = FilterOperator::of(&filter);
        field.set(filter.field);
        operator.set(op);
        first.set(from);
        second.set(to);
        error.set(None);
        editing.set(Some(index));
        adding.set(true);
    };
    let close = move || {
        editing.set(None);
        adding.set(false);
        error.set(None);
        field.set(String::new());
        first.set(String::new());
        second.set(String::new());
        operator.set(FilterOperator::Is);
    };
    let add = move || {
        let name = field.get_untracked();
        let made = operator.get_untracked().filter(
            &name,
            &field_type(name.trim()),
            &[&first.get_untracked(), &second.get_untracked()],
        );
        match made {
            Ok(filter) => {
                let mut next = filters.get_untracked();
                match editing.get_untracked().filter(|&i| i < next.len()) {
                    // An edited pill keeps its place, whether it is disabled or pinned, and
                    // whether a range includes its end.
                    Some(i) => {
                        let mut kind = filter.kind;
                        if let (
                            FilterKind::Range { to_inclusive, .. },
                            FilterKind::Range {
                                to_inclusive: was, ..
                            },
                        ) = (&mut kind, &next[i].kind)
                        {
                            *to_inclusive = *was;
                        }
                        next[i] = Filter {
                            disabled: next[i].disabled,
                            pinned: next[i].pinned,
                            kind,
                            ..filter
                        }
                    }
                    None => next.push(filter),
                }
                on_change.run(next);
                close();
            }
            Err(e) => error.set(Some(format!("{}: {}", e.path, e.reason))),
        }
    };
    // An edited range that includes its end keeps it.
    let to_placeholder = move || {
        let inclusive = editing.get().is_some_and(|i| {
            filters.with(|f| {
                f.get(i).is_some_and(|f| {
                    matches!(
                        f.kind,
                        FilterKind::Range {
                            to_inclusive: true,
                            ..
                        }
                    )
                })
            })
        });
        if inclusive {
            "to (inclusive)"
        } else {
            "to (exclusive)"
        }
    };
    let value_inputs = move || {
        let op = operator.get();
        let one_of = matches!(op, FilterOperator::IsOneOf | FilterOperator::IsNotOneOf);
        match op.value_count() {
            0 => None,
            1 => Some(view! {
                <input type="text" name="filter-value" list="add-filter-values" aria-label="Filter value"
                    placeholder=if one_of { "values, separated by commas" } else { "value" }
                    prop:value=move || first.get() on:input:target=move |ev| first.set(ev.target().value())/>
            }.into_any()),
            _ => Some(view! {
                <input type="text" name="filter-from" list="add-filter-values" aria-label="Filter from" placeholder="from (inclusive)"
                    prop:value=move || first.get() on:input:target=move |ev| first.set(ev.target().value())/>
                <input type="text" name="filter-to" list="add-filter-values" aria-label="Filter to" placeholder=to_placeholder
                    prop:value=move || second.get() on:input:target=move |ev| second.set(ev.target().value())/>
            }.into_any()),
        }
    };
    view! {
        <div class="filter-bar" aria-label="Filters">
            {move || filters.get().into_iter().enumerate().map(|(i, f)| {
                let classes = format!("pill{}{}{}", if f.negate { " negated" } else { "" }, if f.disabled { " disabled" } else { "" }, if f.pinned { " pinned" } else { "" });
                view! {
                    <span class=classes>
                        <button type="button" class="pill-label" title="Change this filter" aria-label=format!("Change filter {}", f.label()) on:click=move |_| edit(i)>{f.label()}</button>
                        <button class="pill-action" title="Include or exclude" aria-label=format!("Negate {}", f.label()) on:click=move |_| change(i, |v, i| v[i].negate = !v[i].negate)>"±"</button>
                        <button class="pill-action" title="Enable or disable" aria-label=format!("Disable {}", f.label()) on:click=move |_| change(i, |v, i| v[i].disabled = !v[i].disabled)>"⊘"</button>
                        <button class="pill-action" title="Pin across dashboards" aria-label=format!("Pin {}", f.label()) on:click=move |_| change(i, |v, i| v[i].pinned = !v[i].pinned)>"⚑"</button>
                        <button class="pill-action" title="Remove" aria-label=format!("Remove {}", f.label()) on:click=move |_| change(i, |v, i| { v.remove(i); })>"✕"</button>
                    </span>
                }
            }).collect_view()}
            <Show when=move || adding.get() fallback=move || view! { <button class="link" on:click=move |_| { editing.set(None); adding.set(true); }>"+ Add filter"</button> }>
                <form class="add-filter" on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); add(); }
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Escape" { ev.prevent_default(); close(); }>
                    <input type="text" name="filter-field" list="add-filter-fields" placeholder="field" aria-label="Filter field"
                        prop:value=move || field.get() on:input:target=move |ev| field.set(ev.target().value())/>
                    <datalist id="add-filter-fields">
                        {move || fields().into_iter().filter(|f| f.searchable).map(|f| view! { <option value=f.name.clone()>{f.field_type.clone()}</option> }).collect_view()}
                    </datalist>
                    <select name="filter-operator" aria-label="Operator"
                        on:change:target=move |ev| if let Some(op) = FilterOperator::from_label(&ev.target().value()) { operator.set(op) }>
                        {FilterOperator::ALL.into_iter().map(|op| view! {
                            <option value=op.label() prop:selected=move || operator.get() == op>{op.label()}</option>
                        }).collect_view()}
                    </select>
                    {value_inputs}
                    <datalist id="add-filter-values">
                        {move || values.get().into_iter().map(|v| view! { <option value=v/> }).collect_view()}
                    </datalist>
                    <button type="submit" class="primary">{move || if editing.get().is_some() { "Save filter" } else { "Add" }}</button>
                    <button type="button" on:click=move |_| close()>"Cancel"</button>
                    {move || error.get().map(|e| view! { <p class="query-error" role="alert">{e}</p> })}
                </form>
            </Show>
        </div>
    }
}
