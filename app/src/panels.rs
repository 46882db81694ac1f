//! Running visualizations for a view: one request per panel from the view's time, query and
//! filters, one chart per answer. Pure: pages send the requests in one multi-search.

use serde_json::Value;

use crate::api::{ApiError, SearchRequest};
use crate::model::filter::{Filter, QueryText};
use crate::model::time::{Resolved, TimeRange};
use crate::model::visualization::Visualization;
use crate::query::{build_request, SearchContext};
use crate::result::{chart_data, ChartData};

/// The inputs every panel of a view shares.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewInputs {
    pub time: Resolved,
    pub query: QueryText,
    pub filters: Vec<Filter>,
    /// The viewer's zone for calendar intervals (`+09:00`).
    pub time_zone: Option<String>,
}

impl ViewInputs {
    pub fn resolve(
        time: &TimeRange,
        query: QueryText,
        filters: Vec<Filter>,
        now_ms: i64,
        utc_offset_secs: i32,
        time_zone: Option<String>,
    ) -> Result<ViewInputs, String> {
        let time = time
            .resolve(now_ms, utc_offset_secs)
            .map_err(|e| e.to_string())?;
        Ok(ViewInputs {
            time,
            query,
            filters,
            time_zone,
        })
    }
}

/// The search of one panel.
pub fn panel_request(vis: &Visualization, inputs: &ViewInputs) -> Result<SearchRequest, String> {
    let context = SearchContext {
        time: inputs.time,
        time_field: "@timestamp",
        query: &inputs.query,
        filters: &inputs.filters,
        time_zone: inputs.time_zone.clone(),
    };
    let body = build_request(vis, &context).map_err(|e| e.to_string())?;
    Ok(SearchRequest {
        index: vis.index_pattern.clone(),
        body,
    })
}

/// A panel's chart from its answer.
pub fn panel_chart(
    vis: &Visualization,
    answer: Result<Value, ApiError>,
    inputs: &ViewInputs,
) -> Result<ChartData, String> {
    let response = answer.map_err(|e| e.to_string())?;
    chart_data(vis, &response, inputs.time).map_err(|e| e.to_string())
}

/// Runs many visualizations in one multi-search (in the browser): `on_chart(i, chart)` is
/// called for each visualization as soon as its chart is known, so panels draw one by one.
#[cfg(feature = "hydrate")]
pub async fn run(
    visualizations: Vec<Visualization>,
    inputs: ViewInputs,
    mut on_chart: impl FnMut(usize, Result<ChartData, String>),
) {
    let mut requests = Vec::new();
    let mut request_of = Vec::new(); // request index -> visualization index
    for (index, vis) in visualizations.iter().enumerate() {
        match panel_request(vis, &inputs) {
            Ok(request) => {
                request_of.push(index);
                requests.push(request);
            }
            Err(error) => on_chart(index, Err(error)),
        }
    }
    if requests.is_empty() {
        return;
    }
    let streamed = crate::api::calls::msearch(&requests, |i, answer| {
        let index = request_of[i];
        on_chart(index, panel_chart(&visualizations[index], answer, &inputs));
    })
    .await;
    if let Err(error) = streamed {
        for &index in &request_of {
            on_chart(index, Err(error.to_string()));
        }
    }
}

/// Makes a browser future usable where Leptos wants a `Send` one (the browser has one thread).
#[cfg(feature = "hydrate")]
pub fn sendable<F: std::future::Future>(
    future: F,
) -> impl std::future::Future<Output = F::Output> + Send {
    send_wrapper::SendWrapper::new(future)
}

#[cfg(not(feature = "hydrate"))]
pub fn sendable<F: std::future::Future + Send>(
    future: F,
) -> impl std::future::Future<Output = F::Output> + Send {
    future
}
