//! Discover's flow table: time plus the chosen columns (or each flow's summary), sortable,
//! columns moved and removed from their headers, pages before and after; a flow expands into
//! its fields (as a table or as JSON), each with filter and column actions.

use std::collections::BTreeSet;

use leptos::prelude::*;
use serde_json::Value;

use super::{group_thousands, DiscoverUrl, Flows, PageMove};
use crate::api::encode;
use crate::discover::{
    field_link, field_text, field_value, summary_fields, time_text, DiscoverState, FlowRow,
};
use crate::model::field_format::FieldFormats;
use crate::model::filter::{Filter, FilterKind};
use crate::model::search::SortField;

/// The next sort when a column's header is clicked: descending first, then ascending, then
/// back to the default (time, newest first).
fn next_sort(current: &[SortField], field: &str) -> Vec<SortField> {
    match current.iter().find(|s| s.field == field) {
        None => vec![SortField::desc(field)],
        Some(s) if s.descending => vec![SortField::asc(field)],
        Some(_) => Vec::new(),
    }
}

#[component]
pub(crate) fn FlowTable(
    url: DiscoverUrl,
    flows: RwSignal<Flows>,
    time_field: Memo<String>,
    formats: Memo<FieldFormats>,
    display_only: Memo<BTreeSet<String>>,
    add_filters: Callback<Vec<Filter>>,
    fetch: Callback<PageMove>,
) -> impl IntoView {
    let expanded = RwSignal::new(None::<String>);
    let offset = crate::browser::utc_offset_secs();
    let columns = Memo::new(move |_| url.state.with(|s| s.columns.clone()));
    let sort_mark = move |field: String| {
        move || {
            let sort = url.state.with(|s| s.sort.clone());
            let effective = if sort.is_empty() {
                vec![SortField::desc(&time_field.get())]
            } else {
                sort
            };
            match effective.iter().find(|s| s.field == field) {
                Some(s) if s.descending => " ↓",
                Some(_) => " ↑",
                None => "",
            }
        }
    };
    let sort_by = move |field: String| {
        url.change(|s| DiscoverState {
            sort: next_sort(&s.sort, &field),
            ..s
        })
    };
    let move_column = move |field: String, by: isize| {
        url.change(|s| {
            let mut columns = s.columns.clone();
            if let Some(i) = columns.iter().position(|c| *c == field) {
                let j = i as isize + by;
                if j >= 0 && (j as usize) < columns.len() {
                    columns.swap(i, j as usize);
                }
            }
            DiscoverState { columns, ..s }
        })
    };
    let remove_column = move |field: String| {
        url.change(|s| DiscoverState {
            columns: s.columns.iter().filter(|c| **c != field).cloned().collect(),
            ..s
        })
    };
    let page_number = move || flows.with(|f| f.cursors.len() + 1);
    let rows = move || flows.with(|f| f.page.rows.clone());
    let header = move || {
        let time = time_field.get();
        let time_for_sort = time.clone();
        let cells = columns.get().into_iter().map(|c| {
            let (a, b, d, e) = (c.clone(), c.clone(), c.clone(), c.clone());
            view! {
                <th scope="col" data-column=c.clone()>
                    <button class="link" on:click=move |_| sort_by(a.clone()) aria-label=format!("Sort by {}", b)>{c.clone()}{sort_mark(c.clone())}</button>
                    <span class="column-actions">
                        <button class="small" aria-label=format!("Move {d} left") on:click={ let d = d.clone(); move |_| move_column(d.clone(), -1) }>"‹"</button>
                        <button class="small" aria-label=format!("Move {d} right") on:click={ let d = d.clone(); move |_| move_column(d.clone(), 1) }>"›"</button>
                        <button class="small" aria-label=format!("Remove column {e}") on:click=move |_| remove_column(e.clone())>"✕"</button>
                    </span>
                </th>
            }
        }).collect_view();
        let summary = columns
            .with(|c| c.is_empty())
            .then(|| view! { <th scope="col">"Document"</th> });
        view! {
            <tr>
                <th scope="col" class="expand-column"><span class="visually-hidden">"Expand"</span></th>
                <th scope="col"><button class="link" aria-label="Sort by time" on:click=move |_| sort_by(time_for_sort.clone())>"Time"{sort_mark(time.clone())}</button></th>
                {cells}
                {summary}
            </tr>
        }
    };
    let body = move || {
        let time = time_field.get();
        let columns = columns.get();
        let formats = formats.get();
        rows().into_iter().map(|row| {
            let key = format!("{}/{}", row.index, row.id);
            let is_open = { let key = key.clone(); move || expanded.get().as_deref() == Some(key.as_str()) };
            let toggle = { let key = key.clone(); move |_| expanded.update(|e| *e = if e.as_deref() == Some(key.as_str()) { None } else { Some(key.clone()) }) };
            let time_cell = time_text(row.source.get(&time), offset);
            let cells = if columns.is_empty() {
                let summary = summary_fields(&row.source, &time).into_iter().map(|(name, value)| view! {
                    <span class="summary-field"><b>{name.to_owned()}": "</b>{field_text(&formats, name, value)}" "</span>
                }).collect_view();
                view! { <td class="summary">{summary}</td> }.into_any()
            } else {
                columns.iter().map(|c| {
                    let value = field_value(&row.source, c);
                    let text = value.map(|v| field_text(&formats, c, v)).unwrap_or_else(|| "-".into());
                    match value.and_then(|v| field_link(&formats, c, v)) {
                        Some(href) => view! { <td data-column=c.clone()><a href=href target="_blank" rel="noopener noreferrer">{text}</a></td> }.into_any(),
                        None => view! { <td data-column=c.clone()>{text}</td> }.into_any(),
                    }
                }).collect_view().into_any()
            };
            let span = columns.len().max(1) + 2;
            let detail_row = row.clone();
            let time_name = time.clone();
            let detail_formats = formats.clone();
            view! {
                <tr class="flow-row">
                    <td><button class="small expand" aria-expanded={ let o = is_open.clone(); move || o().to_string() } aria-label="Expand flow" on:click=toggle>{ let o = is_open.clone(); move || if o() { "▾" } else { "▸" } }</button></td>
                    <td class="time-cell">{time_cell}</td>
                    {cells}
                </tr>
                <Show when=is_open.clone()>
                    <tr class="flow-detail"><td colspan=span.to_string()><FlowDetail row=detail_row.clone() time_field=time_name.clone() formats=detail_formats.clone() display_only=display_only.get_untracked() url add_filters/></td></tr>
                </Show>
            }
        }).collect_view()
    };
    let empty = move || flows.with(|f| !f.loading && f.error.is_none() && f.page.rows.is_empty());
    let total = move || flows.with(|f| f.total);
    view! {
        <div class="flow-table-wrap">
            <table class="flow-table" aria-label="Flows">
                <thead>{header}</thead>
                <tbody>{body}</tbody>
            </table>
            <Show when=empty>
                <p class="no-results" role="status">"No flows match this search in this time range."</p>
            </Show>
            <nav class="pager" aria-label="Pages">
                <button disabled=move || page_number() == 1 on:click=move |_| fetch.run(PageMove::Previous)>"‹ Previous"</button>
                <span class="page-number">{move || {
                    let page = page_number();
                    let shown = flows.with(|f| f.page.rows.len());
                    let first = (page - 1) * crate::discover::PAGE_SIZE + 1;
                    match total() {
                        Some(t) if shown > 0 => format!("Page {page}: flows {}–{} of {}", group_thousands(first as u64), group_thousands((first + shown - 1) as u64), group_thousands(t)),
                        _ => format!("Page {page}"),
                    }
                }}</span>
                <button disabled=move || flows.with(|f| f.page.rows.len() < crate::discover::PAGE_SIZE) on:click=move |_| fetch.run(PageMove::Next)>"Next ›"</button>
            </nav>
        </div>
    }
}

/// The filter that selects documents with `value` in `field`.
fn value_filter(field: &str, value: &Value, negate: bool) -> Filter {
    let mut filter = match value {
        Value::Array(items) => Filter {
            kind: FilterKind::Phrases {
                values: items.clone(),
            },
            ..Filter::phrase(field, Value::Null)
        },
        other => Filter::phrase(field, other.clone()),
    };
    filter.negate = negate;
    filter
}

/// One flow, expanded: its fields as a table (with actions) or its JSON.
#[component]
pub(crate) fn FlowDetail(
    row: FlowRow,
    time_field: String,
    formats: FieldFormats,
    /// Fields no filter can find (see [`crate::model::index_pattern::display_only_fields`]):
    /// they have no filter actions.
    display_only: BTreeSet<String>,
    url: DiscoverUrl,
    add_filters: Callback<Vec<Filter>>,
) -> impl IntoView {
    let as_json = RwSignal::new(false);
    let json = serde_json::to_string_pretty(&row.source).unwrap_or_default();
    let mut fields: Vec<(String, Value)> = row
        .source
        .get(&time_field)
        .map(|v| (time_field.clone(), v.clone()))
        .into_iter()
        .collect();
    fields.extend(
        summary_fields(&row.source, &time_field)
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v.clone())),
    );
    if let Some(message) = row.source.get("@message") {
        fields.push(("@message".into(), message.clone()));
    }
    let toggle_column = move |name: String| url.change(|s| s.with_column_toggled(&name));
    let flow_link = format!(
        "/discover/flow/{}/{}{}",
        encode(&row.index),
        encode(&row.id),
        url.state.get_untracked().to_query_string()
    );
    let fields = StoredValue::new(fields);
    let display_only = StoredValue::new(display_only);
    let formats = StoredValue::new(formats);
    let table = move || {
        let formats = formats.get_value();
        fields.get_value().into_iter().map(|(name, value)| {
            let text = field_text(&formats, &name, &value);
            let link = field_link(&formats, &name, &value).map(|href| view! {
                " " <a class="cell-link" href=href target="_blank" rel="noopener noreferrer" aria-label=format!("Open {text}")>"↗"</a>
            });
            let (n1, n2, n3, n4) = (name.clone(), name.clone(), name.clone(), name.clone());
            let (v1, v2) = (value.clone(), value.clone());
            let filterable = !display_only.with_value(|names| names.contains(&name));
            let (for_text, out_text) = (text.clone(), text.clone());
            view! {
                <tr data-field=name.clone()>
                    <th scope="row">{name.clone()}</th>
                    <td class="field-actions">
                        {filterable.then(|| view! {
                            <button class="small" aria-label=format!("Filter for {n1}: {for_text}") on:click=move |_| add_filters.run(vec![value_filter(&n1, &v1, false)])>"+"</button>
                            <button class="small" aria-label=format!("Filter out {n2}: {out_text}") on:click=move |_| add_filters.run(vec![value_filter(&n2, &v2, true)])>"−"</button>
                        })}
                        <button class="small" aria-label=format!("Toggle column {n3}") on:click=move |_| toggle_column(n3.clone())>"▥"</button>
                        {filterable.then(|| view! {
                            <button class="small" aria-label=format!("Filter for {n4} existing") on:click=move |_| add_filters.run(vec![Filter { kind: FilterKind::Exists, ..Filter::phrase(&n4, Value::Null) }])>"∃"</button>
                        })}
                    </td>
                    <td class="field-value">{text.clone()}{link}</td>
                </tr>
            }
        }).collect_view()
    };
    view! {
        <div class="flow-detail-body">
            <div class="tabs" role="tablist">
                <button role="tab" aria-selected=move || (!as_json.get()).to_string() on:click=move |_| as_json.set(false)>"Table"</button>
                <button role="tab" aria-selected=move || as_json.get().to_string() on:click=move |_| as_json.set(true)>"JSON"</button>
                <a class="button small" href=flow_link>"View this flow and surrounding flows"</a>
            </div>
            <Show when=move || !as_json.get() fallback={ let json = json.clone(); move || view! { <pre class="flow-json" aria-label="Flow as JSON">{json.clone()}</pre> } }>
                <table class="flow-fields" aria-label="Flow fields"><tbody>{table}</tbody></table>
            </Show>
            <p class="hint">{format!("{} · {}", row.index, row.id)}</p>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_cycle_descending_ascending_default() {
        let first = next_sort(&[], "bytes");
        assert_eq!(first, vec![SortField::desc("bytes")]);
        let second = next_sort(&first, "bytes");
        assert_eq!(second, vec![SortField::asc("bytes")]);
        assert!(next_sort(&second, "bytes").is_empty());
    }
}
