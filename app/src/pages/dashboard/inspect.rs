//! Inspect, for a dashboard panel: the data behind its chart as a table with a CSV download,
//! and the search it ran, with the answer and its statistics.

use leptos::prelude::*;
use serde_json::Value;

use crate::api::SearchRequest;
use crate::inspect::{answer_statistics, data_table, DataTable};
use crate::result::ChartData;

/// What Inspect shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum View {
    Data,
    Requests,
}

/// A modal dialog over the dashboard; Escape or "Close" closes it.
#[component]
pub(super) fn InspectDialog(
    title: String,
    chart: Option<Result<ChartData, String>>,
    exchange: Option<(SearchRequest, Value)>,
    on_close: Callback<()>,
) -> impl IntoView {
    let view = RwSignal::new(View::Data);
    let table = match &chart {
        Some(Ok(chart)) => Ok(data_table(chart, crate::browser::utc_offset_secs())),
        Some(Err(error)) => Err(error.clone()),
        None => Err("The panel has not been answered yet".to_owned()),
    };
    crate::browser::focus(".inspect [data-autofocus]");
    let tab = move |which: View, label: &'static str| {
        view! {
            <button role="tab" aria-selected=move || (view.get() == which).to_string()
                class:active=move || view.get() == which on:click=move |_| view.set(which)>{label}</button>
        }
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            on_close.run(());
        }
    };
    let data_view = data_view(title.clone(), table);
    let requests_view = requests_view(exchange);
    view! {
        <div class="modal-backdrop" on:click=move |_| on_close.run(())></div>
        <div class="modal inspect" role="dialog" aria-modal="true" aria-label=format!("Inspect {title}") on:keydown=on_key>
            <header class="modal-header">
                <h2>"Inspect: " {title.clone()}</h2>
                <button class="icon" data-autofocus aria-label="Close" title="Close" on:click=move |_| on_close.run(())>"✕"</button>
            </header>
            <div role="tablist" class="tabs">
                {tab(View::Data, "Data")}
                {tab(View::Requests, "Requests")}
            </div>
            <div class="modal-body" hidden=move || view.get() != View::Data>{data_view}</div>
            <div class="modal-body" hidden=move || view.get() != View::Requests>{requests_view}</div>
        </div>
    }
}

/// The chart's data as a table, and its CSV.
fn data_view(title: String, table: Result<DataTable, String>) -> impl IntoView {
    let table = match table {
        Ok(table) => table,
        Err(error) => return view! { <p class="chart-error" role="alert">{error}</p> }.into_any(),
    };
    let csv = table.to_csv();
    let filename = format!("{}.csv", file_stem(&title));
    let download = move |_| crate::browser::download(&filename, &csv, "text/csv;charset=utf-8");
    let rows = table.rows.len();
    view! {
        <p class="inspect-summary">{format!("{rows} rows")}
            <button class="button" on:click=download>"Download CSV"</button>
        </p>
        <div class="table-scroll">
            <table class="data-table inspect-data" aria-label="Data">
                <thead><tr>{table.columns.iter().map(|c| view! { <th scope="col">{c.clone()}</th> }).collect_view()}</tr></thead>
                <tbody>
                    {table.rows.into_iter().map(|row| view! {
                        <tr>{row.into_iter().map(|cell| view! { <td class:number=!cell.is_text>{cell.text}</td> }).collect_view()}</tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// The search as sent, its answer and what the answer says of itself.
fn requests_view(exchange: Option<(SearchRequest, Value)>) -> impl IntoView {
    let Some((request, response)) = exchange else {
        return view! { <p>"No answered search for this panel yet."</p> }.into_any();
    };
    let mut stats = vec![("Index pattern".to_owned(), request.index.clone())];
    stats.extend(answer_statistics(&response));
    let pretty = |value: &Value| serde_json::to_string_pretty(value).unwrap_or_default();
    view! {
        <h3>"Statistics"</h3>
        <dl class="inspect-stats">
            {stats.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
        </dl>
        <h3>"Request"</h3>
        <pre class="json" aria-label="Request">{pretty(&request.body)}</pre>
        <h3>"Response"</h3>
        <pre class="json" aria-label="Response">{pretty(&response)}</pre>
    }
    .into_any()
}

/// A file name out of a title: letters, digits, `-` and `_`; anything else becomes `_`.
fn file_stem(title: &str) -> String {
    let stem: String = title
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() {
        "data".into()
    } else {
        stem
    }
}
