//! Running a visualization on the server: the same request builder and response reader as
//! the browser, so a server render and a panel show the same numbers.

use app::model::filter::{Filter, QueryText};
use app::model::time::Resolved;
use app::model::visualization::Visualization;
use app::query::{build_request, SearchContext};
use app::result::{chart_data as read_chart, ChartData};

use crate::http::AppState;

/// The chart data of `vis` over `time`, or the message to draw instead.
pub async fn chart_data(
    state: &AppState,
    vis: &Visualization,
    time: Resolved,
    query: &QueryText,
    filters: &[Filter],
) -> Result<ChartData, String> {
    let context = SearchContext {
        time,
        time_field: "@timestamp",
        query,
        filters,
        time_zone: None,
    };
    let body = build_request(vis, &context).map_err(|e| e.to_string())?;
    let response = state
        .backend
        .search(&vis.index_pattern, body)
        .await
        .map_err(|e| e.to_string())?;
    read_chart(vis, &response, time).map_err(|e| e.to_string())
}
