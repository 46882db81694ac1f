//! `/discover/flow/:index/:id`: one flow, and the flows around it in time. An analyst opens it
//! from a rejected flow to see what the same interface or address did just before and after,
//! with the view's filters or without them.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_params_map};
use serde_json::Value;

use super::table::FlowDetail;
use super::DiscoverUrl;
use crate::api::{encode, ApiError, ObjectsClient, SearchRequest};
use crate::discover::{flow_request, read_page, surrounding_request, DiscoverState, FlowRow};
use crate::model::field_format::FieldFormats;
use crate::model::filter::{Filter, QueryText};
use crate::model::index_pattern::{
    display_only_fields, formats_of, saved_fields_of, time_field_of,
};
use crate::panels::ViewInputs;

/// Flows shown each side, as offered.
const COUNTS: [usize; 3] = [5, 10, 25];

/// The rows of a search's answer.
fn rows_of(
    pattern: &str,
    time_field: &str,
    response: &Value,
    inputs: &ViewInputs,
) -> Result<Vec<FlowRow>, ApiError> {
    read_page(pattern, time_field, response, inputs, false)
        .map(|page| page.rows)
        .map_err(|e| ApiError::Decode(e.to_string()))
}

/// The flow, and the flows before (nearest first) and after it.
#[derive(Clone, Debug, Default, PartialEq)]
struct Surroundings {
    /// The index pattern's time field.
    time_field: String,
    /// Its field formats.
    formats: FieldFormats,
    /// Its fields no filter can find.
    display_only: std::collections::BTreeSet<String>,
    flow: Option<FlowRow>,
    before: Vec<FlowRow>,
    after: Vec<FlowRow>,
}

async fn load(
    client: ObjectsClient,
    index: String,
    id: String,
    pattern: String,
    count: usize,
    inputs: ViewInputs,
) -> Result<Surroundings, ApiError> {
    // Neighbours in the pattern's own time field.
    let library = client.library().await?;
    let time_field = time_field_of(&library.patterns, &pattern);
    let answer = crate::api::calls::search(&SearchRequest {
        index: index.clone(),
        body: flow_request(&id, time_field),
    })
    .await?;
    let Some(flow) = rows_of(&index, time_field, &answer, &inputs)?
        .into_iter()
        .next()
    else {
        return Err(ApiError::Decode(format!("no flow [{id}] in [{index}]")));
    };
    let mut around = Vec::new();
    for earlier in [true, false] {
        let body = surrounding_request(&pattern, time_field, &flow.sort, count, earlier, &inputs)
            .map_err(|e| ApiError::Decode(e.to_string()))?;
        let answer = crate::api::calls::search(&SearchRequest {
            index: pattern.clone(),
            body,
        })
        .await?;
        around.push(rows_of(&pattern, time_field, &answer, &inputs)?);
    }
    // The pattern's fields as saved, or as the backend reports them when none were saved.
    let fields = match saved_fields_of(&library.patterns, &pattern) {
        Some(fields) => fields.to_vec(),
        None => crate::api::calls::fields(&pattern)
            .await
            .unwrap_or_default(),
    };
    let after = around.pop().unwrap_or_default();
    let before = around.pop().unwrap_or_default();
    Ok(Surroundings {
        time_field: time_field.to_owned(),
        formats: formats_of(&library.patterns, &pattern),
        display_only: display_only_fields(&fields),
        flow: Some(flow),
        before,
        after,
    })
}

#[component]
pub fn FlowPage() -> impl IntoView {
    let params = use_params_map();
    let location = use_location();
    let state = Memo::new(move |_| DiscoverState::from_query_string(&location.search.get()));
    let index = Memo::new(move |_| params.read().get("index").unwrap_or_default());
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let count = RwSignal::new(COUNTS[0]);
    let with_filters = RwSignal::new(false);
    let result = RwSignal::new(None::<Result<Surroundings, String>>);
    let client = ObjectsClient::from_context();
    Effect::new(move |_| {
        let client = client.clone();
        let (index, id, count, with_filters) =
            (index.get(), id.get(), count.get(), with_filters.get());
        let state = state.get();
        let pattern = state.pattern().to_owned();
        let (query, filters) = if with_filters {
            (state.view.query.clone(), state.view.filters.clone())
        } else {
            (QueryText::default(), Vec::<Filter>::new())
        };
        let inputs = ViewInputs {
            time: crate::model::time::Resolved {
                from_ms: 0,
                to_ms: 0,
            },
            query,
            filters,
            time_zone: None,
            now_ms: 0,
        };
        result.set(None);
        leptos::task::spawn_local(async move {
            result.set(Some(
                load(client, index, id, pattern, count, inputs)
                    .await
                    .map_err(|e| e.to_string()),
            ));
        });
    });
    // Actions in the flow's fields go back to Discover with the filter added.
    let url = DiscoverUrl::new(None);
    let add_filters =
        Callback::new(move |added: Vec<Filter>| url.change_view(|v| v.with_filters(&added)));
    let back = move || format!("/discover{}", state.get().to_query_string());
    let row_view = move |row: FlowRow, anchor: bool, time_field: &str, formats: &FieldFormats| {
        let summary = crate::discover::summary_fields(&row.source, time_field)
            .into_iter()
            .map(|(name, value)| {
                format!(
                    "{name}: {}",
                    crate::discover::field_text(formats, name, value)
                )
            })
            .collect::<Vec<_>>()
            .join("  ");
        let time = row
            .source
            .get(time_field)
            .map(crate::discover::cell_text)
            .unwrap_or_default();
        let link = format!(
            "/discover/flow/{}/{}{}",
            encode(&row.index),
            encode(&row.id),
            state.get_untracked().to_query_string()
        );
        view! {
            <tr class=if anchor { "flow-row anchor" } else { "flow-row" } aria-current=anchor.then_some("true")>
                <td class="time-cell"><a href=link>{time}</a></td>
                <td class="summary">{summary}</td>
            </tr>
        }
    };
    view! {
        <div class="flow-page">
            <div class="toolbar">
                <h1>"Flow and surrounding flows"</h1>
                <a class="button" href=back>"Back to Discover"</a>
            </div>
            <div class="surrounding-options">
                <label>"Flows each side "
                    <select aria-label="Surrounding flows each side" on:change:target=move |ev| count.set(ev.target().value().parse().unwrap_or(COUNTS[0]))>
                        {COUNTS.iter().map(|n| view! { <option value=n.to_string() selected=move || count.get() == *n>{n.to_string()}</option> }).collect_view()}
                    </select>
                </label>
                <label><input type="checkbox" aria-label="With the current query and filters" prop:checked=move || with_filters.get() on:change:target=move |ev| with_filters.set(ev.target().checked())/>" With the current query and filters"</label>
            </div>
            {move || match result.get() {
                None => view! { <p class="loading">"Loading…"</p> }.into_any(),
                Some(Err(error)) => view! { <div class="error-box" role="alert"><p>{error}</p></div> }.into_any(),
                Some(Ok(found)) => {
                    let Some(flow) = found.flow.clone() else { return view! { <p>"No such flow"</p> }.into_any() };
                    let mut rows: Vec<(FlowRow, bool)> = found.before.iter().rev().cloned().map(|r| (r, false)).collect();
                    rows.push((flow.clone(), true));
                    rows.extend(found.after.iter().cloned().map(|r| (r, false)));
                    view! {
                        <FlowDetail row=flow time_field=found.time_field.clone() formats=found.formats.clone() display_only=found.display_only.clone() url add_filters/>
                        <h2>"Surrounding flows"</h2>
                        <table class="flow-table surrounding" aria-label="Surrounding flows">
                            <thead><tr><th scope="col">"Time"</th><th scope="col">"Flow"</th></tr></thead>
                            <tbody>{rows.into_iter().map(|(row, anchor)| row_view(row, anchor, &found.time_field, &found.formats)).collect_view()}</tbody>
                        </table>
                    }.into_any()
                }
            }}
        </div>
    }
}
