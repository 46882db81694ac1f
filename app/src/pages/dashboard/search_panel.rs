//! A saved search on a dashboard: its flow table (its columns and sort), following the
//! dashboard's time, query and filters on top of its own, paged with `search_after`. A click on
//! a value filters the dashboard by it.

use leptos::prelude::*;
use serde_json::Value;

use crate::api::SearchRequest;
use crate::components::latest::Latest;
use crate::discover::{
    field_text, field_value, page_request, read_page, summary_fields, time_text, FlowRow,
    PageRequest,
};
use crate::model::filter::{Filter, QueryText};
use crate::model::index_pattern::{formats_of, time_field_of};
use crate::model::search::SavedSearch;
use crate::model::time::TimeRange;
use crate::panels::{Library, ViewInputs};

/// Rows per page of a dashboard's flow table.
const PANEL_ROWS: usize = 20;

/// What a search panel shows besides its search: the dashboard's time, query and filters, and
/// the refresh counter.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SearchView {
    pub time: TimeRange,
    pub query: QueryText,
    pub filters: Vec<Filter>,
    pub tick: u64,
}

/// The dashboard's view narrowed by the search's own query and filters.
fn search_inputs(search: &SavedSearch, view: &SearchView) -> Result<ViewInputs, String> {
    let query = view.query.and(&search.query).ok_or_else(|| {
        format!(
            "the dashboard's query and the query of “{}” are in different languages",
            search.title
        )
    })?;
    let mut filters = view.filters.clone();
    filters.extend(search.filters.iter().cloned());
    ViewInputs::resolve(
        &view.time,
        query,
        filters,
        chrono::Utc::now().timestamp_millis(),
        crate::browser::utc_offset_secs(),
        Some(crate::browser::time_zone()),
    )
}

#[component]
pub(crate) fn SearchPanel(
    search: SavedSearch,
    library: StoredValue<Library>,
    #[prop(into)] view: Signal<SearchView>,
    add_filters: Callback<Vec<Filter>>,
) -> impl IntoView {
    let search = StoredValue::new(search);
    let time_field = library.with_value(|l| {
        search.with_value(|s| time_field_of(&l.patterns, &s.index_pattern).to_owned())
    });
    let time_field = StoredValue::new(time_field);
    let formats =
        library.with_value(|l| search.with_value(|s| formats_of(&l.patterns, &s.index_pattern)));
    let formats = StoredValue::new(formats);
    let rows = RwSignal::new(Vec::<FlowRow>::new());
    let cursors = RwSignal::new(Vec::<Vec<Value>>::new());
    let status = RwSignal::new(Some("Loading…".to_owned()));
    let latest = Latest::new();
    let fetch = move |after: Option<Vec<Value>>, next_cursors: Vec<Vec<Value>>| {
        let search_now = search.get_value();
        let inputs = match search_inputs(&search_now, &view.get_untracked()) {
            Ok(inputs) => inputs,
            Err(error) => {
                status.set(Some(error));
                return;
            }
        };
        let pattern = search_now.index_pattern.clone();
        let field = time_field.get_value();
        let page = PageRequest {
            after,
            size: PANEL_ROWS,
            histogram: false,
        };
        let body = match page_request(&pattern, &field, &search_now.sort, &inputs, &page) {
            Ok(body) => body,
            Err(error) => {
                status.set(Some(error.to_string()));
                return;
            }
        };
        let run = latest.start();
        leptos::task::spawn_local(async move {
            let answer = crate::api::calls::search(&SearchRequest {
                index: pattern.clone(),
                body,
            })
            .await;
            if !run.is_current() {
                return;
            }
            match answer.map_err(|e| e.to_string()).and_then(|response| {
                read_page(&pattern, &field, &response, &inputs, false).map_err(|e| e.to_string())
            }) {
                Ok(page) => {
                    status.set(page.rows.is_empty().then(|| "No flows match".to_owned()));
                    rows.set(page.rows);
                    cursors.set(next_cursors);
                }
                Err(error) => status.set(Some(error)),
            }
        });
    };
    Effect::new(move |_| {
        view.track();
        fetch(None, Vec::new());
    });
    let next = move |_| {
        if let Some(last) = rows.with_untracked(|r| r.last().map(|r| r.sort.clone())) {
            let mut next = cursors.get_untracked();
            next.push(last.clone());
            fetch(Some(last), next);
        }
    };
    let previous = move |_| {
        let mut next = cursors.get_untracked();
        next.pop();
        fetch(next.last().cloned(), next);
    };
    let columns = search.with_value(|s| s.columns.clone());
    let header_columns = columns.clone();
    let offset = crate::browser::utc_offset_secs();
    let cell = move |field: String, value: Option<Value>| {
        let text = value
            .as_ref()
            .map(|v| formats.with_value(|f| field_text(f, &field, v)))
            .unwrap_or_else(|| "-".into());
        match value {
            Some(value) if !value.is_null() => {
                let label = format!("Filter for {field}: {text}");
                let column = field.clone();
                view! { <td data-column=column><button class="link cell-filter" aria-label=label on:click=move |_| add_filters.run(vec![Filter::phrase(&field, value.clone())])>{text}</button></td> }.into_any()
            }
            _ => view! { <td data-column=field>{text}</td> }.into_any(),
        }
    };
    view! {
        <div class="search-panel">
            <table class="flow-table" aria-label="Flows">
                <thead><tr>
                    <th scope="col">"Time"</th>
                    {if header_columns.is_empty() {
                        view! { <th scope="col">"Document"</th> }.into_any()
                    } else {
                        header_columns.iter().map(|c| view! { <th scope="col">{c.clone()}</th> }).collect_view().into_any()
                    }}
                </tr></thead>
                <tbody>
                    {move || rows.get().into_iter().map(|row| {
                        let field = time_field.get_value();
                        let time = time_text(row.source.get(&field), offset);
                        let cells = if columns.is_empty() {
                            let summary = summary_fields(&row.source, &field)
                                .into_iter()
                                .map(|(name, value)| format!("{name}: {}", formats.with_value(|f| field_text(f, name, value))))
                                .collect::<Vec<_>>()
                                .join("  ");
                            view! { <td class="summary">{summary}</td> }.into_any()
                        } else {
                            columns.iter().map(|c| cell(c.clone(), field_value(&row.source, c).cloned())).collect_view().into_any()
                        };
                        view! { <tr class="flow-row"><td class="time-cell">{time}</td>{cells}</tr> }
                    }).collect_view()}
                </tbody>
            </table>
            {move || status.get().map(|s| view! { <p class="no-results" role="status">{s}</p> })}
            <nav class="pager" aria-label="Pages">
                <button class="small" disabled=move || cursors.with(Vec::is_empty) on:click=previous>"‹ Previous"</button>
                <span class="page-number">{move || format!("Page {}", cursors.with(Vec::len) + 1)}</span>
                <button class="small" disabled=move || rows.with(|r| r.len() < PANEL_ROWS) on:click=next>"Next ›"</button>
            </nav>
        </div>
    }
}
