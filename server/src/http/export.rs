//! `GET /api/discover/export.csv?<a Discover view's query string>`: the flows of a search as
//! CSV, with the view's columns, sort, query, filters and time range. Streamed a page at a
//! time with `search_after`, so memory stays the same however many rows go out; at most
//! `--csv-max-rows` rows (or `limit=`, if smaller), and a cut export says so in its headers.

use std::convert::Infallible;

use app::csv::line as csv_line;
use app::discover::{cell_text, field_value, page_request, DiscoverState, FlowRow, PageRequest};
use app::model::index_pattern::time_field_of;
use app::panels::ViewInputs;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::{search_within_deadline, AppError, AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/discover/export.csv", get(export_csv))
}

/// Rows fetched per search: few enough to keep a page small in memory, many enough that an
/// export of 100,000 rows is 50 searches.
const ROWS_PER_SEARCH: usize = 2_000;

/// A value as a cell: numbers as numbers, everything else as text.
fn value_cell(value: Option<&Value>) -> (String, bool) {
    match value {
        None | Some(Value::Null) => (String::new(), false),
        Some(Value::Number(n)) => (n.to_string(), false),
        Some(other) => (cell_text(other), true),
    }
}

/// A row's cells: time, then the columns, or the whole `_source` as JSON when none are chosen
/// (as Kibana exports it).
fn row_cells(row: &FlowRow, time_field: &str, columns: &[String]) -> Vec<(String, bool)> {
    let mut cells = vec![value_cell(row.source.get(time_field))];
    if columns.is_empty() {
        cells.push((Value::Object(row.source.clone()).to_string(), true));
    } else {
        cells.extend(
            columns
                .iter()
                .map(|c| value_cell(field_value(&row.source, c))),
        );
    }
    cells
}

async fn export_csv(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let query = query.unwrap_or_default();
    let view = DiscoverState::from_query_string(&query);
    let pattern = view.pattern().to_owned();
    state.allowed_indices.check(&pattern)?;
    let mut limit = state.limits.csv_max_rows;
    let mut utc_offset_secs = 0;
    for (key, value) in app::state::query_pairs(&query) {
        match (key, value.as_str()) {
            ("limit", value) => {
                let asked: usize = value.parse().map_err(|_| {
                    AppError::bad_request(format!("limit [{value}] is not a number of rows"))
                })?;
                limit = limit.min(asked);
            }
            ("tz", value) => {
                utc_offset_secs = value
                    .parse()
                    .ok()
                    .filter(|s: &i32| s.abs() <= 18 * 3600)
                    .ok_or_else(|| {
                        AppError::bad_request(format!(
                            "tz [{value}] is not a UTC offset in seconds"
                        ))
                    })?;
            }
            _ => {}
        }
    }
    let library = crate::visualizations::library(&state)
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    let time_field = time_field_of(&library.patterns, &pattern).to_owned();
    let inputs = ViewInputs::resolve(
        &view
            .view
            .time
            .clone()
            .unwrap_or_else(|| app::model::time::TimeRange::last("15m")),
        view.view.query.clone(),
        view.view.filters.clone(),
        chrono::Utc::now().timestamp_millis(),
        utc_offset_secs,
        None,
    )
    .map_err(AppError::bad_request)?;

    // The first page is searched before answering, so that a bad query is a 400, not a cut
    // file, and the count of matches can go in the headers.
    let mut first_body = page_body(&pattern, &time_field, &view, &inputs, None, limit)?;
    first_body["track_total_hits"] = json!(true);
    let first = search_within_deadline(&state, &pattern, first_body).await?;
    let total = first["hits"]["total"]["value"].as_u64().unwrap_or(0);
    let truncated = total > limit as u64;

    let header_line = {
        let mut names = vec![time_field.clone()];
        if view.columns.is_empty() {
            names.push("_source".to_owned());
        } else {
            names.extend(view.columns.iter().cloned());
        }
        // A plain field name (`@timestamp`) is a name, not a formula; anything else in a
        // column name is escaped like a value.
        let plain = |name: &str| {
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@'))
        };
        csv_line(names.into_iter().map(|name| {
            let is_text = !plain(&name);
            (name, is_text)
        }))
    };
    // One page of CSV at a time goes through a channel of two: the search of the next page
    // waits while the client reads, so memory does not grow with the export.
    let (sender, receiver) = tokio::sync::mpsc::channel::<String>(2);
    tokio::spawn(async move {
        if sender.send(header_line).await.is_err() {
            return;
        }
        let mut response = first;
        let mut asked = ROWS_PER_SEARCH.min(limit);
        let mut written = 0usize;
        loop {
            let rows =
                match app::discover::read_page(&pattern, &time_field, &response, &inputs, false) {
                    Ok(page) => page.rows,
                    Err(error) => {
                        tracing::warn!(%error, "CSV export stopped on an unreadable answer");
                        return;
                    }
                };
            let take = rows.len().min(limit - written);
            let mut chunk = String::new();
            for row in &rows[..take] {
                chunk.push_str(&csv_line(row_cells(row, &time_field, &view.columns)));
            }
            written += take;
            if sender.send(chunk).await.is_err() {
                return;
            }
            if written >= limit || rows.len() < asked {
                return;
            }
            asked = ROWS_PER_SEARCH.min(limit - written);
            let after = rows.last().map(|r| r.sort.clone());
            let body = match page_body(
                &pattern,
                &time_field,
                &view,
                &inputs,
                after,
                limit - written,
            ) {
                Ok(body) => body,
                Err(_) => return,
            };
            response = match search_within_deadline(&state, &pattern, body).await {
                Ok(response) => response,
                Err(error) => {
                    // The client sees a cut file; the log says why.
                    tracing::warn!(%error, written, "CSV export stopped by a failed search");
                    return;
                }
            };
        }
    });
    let mut receiver = receiver;
    let stream = futures_util::stream::poll_fn(move |cx| {
        receiver
            .poll_recv(cx)
            .map(|chunk| chunk.map(Ok::<_, Infallible>))
    });
    let filename = format!("flows-{}.csv", chrono::Utc::now().format("%Y%m%dT%H%M%SZ"));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (
                header::HeaderName::from_static("x-flowdash-total-hits"),
                total.to_string(),
            ),
            (
                header::HeaderName::from_static("x-flowdash-row-limit"),
                limit.to_string(),
            ),
            (
                header::HeaderName::from_static("x-flowdash-truncated"),
                truncated.to_string(),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// The search of one page of at most `left` rows after `after`.
fn page_body(
    pattern: &str,
    time_field: &str,
    view: &DiscoverState,
    inputs: &ViewInputs,
    after: Option<Vec<Value>>,
    left: usize,
) -> Result<Value, AppError> {
    let mut body = page_request(
        pattern,
        time_field,
        &view.sort,
        inputs,
        &PageRequest {
            after,
            size: ROWS_PER_SEARCH.min(left),
            histogram: false,
        },
    )
    .map_err(|e| AppError::bad_request(e.to_string()))?;
    if !view.columns.is_empty() {
        // Only what the columns show comes back.
        let mut fields = view.columns.clone();
        fields.push(time_field.to_owned());
        body["_source"] = json!(fields);
    }
    Ok(body)
}
