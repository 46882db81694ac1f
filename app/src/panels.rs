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

/// Runs many visualizations in one multi-search (in the browser).
#[cfg(feature = "hydrate")]
pub async fn run(
    visualizations: Vec<Visualization>,
    inputs: ViewInputs,
) -> Vec<Result<ChartData, String>> {
    let mut requests = Vec::new();
    let mut slots = Vec::new();
    for vis in &visualizations {
        match panel_request(vis, &inputs) {
            Ok(request) => {
                slots.push(Ok(requests.len()));
                requests.push(request);
            }
            Err(error) => slots.push(Err(error)),
        }
    }
    let answers = if requests.is_empty() {
        Ok(Vec::new())
    } else {
        crate::api::calls::msearch(&requests).await
    };
    match answers {
        Err(error) => visualizations
            .iter()
            .map(|_| Err(error.to_string()))
            .collect(),
        Ok(answers) => visualizations
            .iter()
            .zip(slots)
            .map(|(vis, slot)| match slot {
                Ok(index) => panel_chart(
                    vis,
                    answers
                        .get(index)
                        .cloned()
                        .unwrap_or_else(|| Err(ApiError::Decode("missing answer".into()))),
                    &inputs,
                ),
                Err(error) => Err(error),
            })
            .collect(),
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
