//! `/`: flows over time, split by accept / reject.

use leptos::prelude::*;

use crate::components::chart_canvas::ChartCanvas;
use crate::result::ChartData;

/// The landing page.
#[component]
pub fn HomePage() -> impl IntoView {
    let chart = load_chart();
    view! {
        <section class="panel">
            <h2>"Flows per minute by action (last hour)"</h2>
            <ChartCanvas data=chart label="Flows per minute, accepted and rejected"/>
        </section>
    }
}

#[cfg(feature = "hydrate")]
fn load_chart() -> Signal<Option<Result<ChartData, String>>> {
    use crate::model::filter::QueryText;
    use crate::model::time::TimeRange;
    use crate::model::visualization::Visualization;
    let resource = LocalResource::new(|| async {
        let vis = Visualization::example_flows_over_time();
        let now = chrono::Utc::now().timestamp_millis();
        let time = TimeRange::last("1h")
            .resolve(now, 0)
            .map_err(|e| e.to_string())?;
        let query = QueryText::default();
        let context = crate::query::SearchContext {
            time,
            time_field: "@timestamp",
            query: &query,
            filters: &[],
            time_zone: None,
        };
        let body = crate::query::build_request(&vis, &context).map_err(|e| e.to_string())?;
        let request = crate::api::SearchRequest {
            index: vis.index_pattern.clone(),
            body,
        };
        let response = crate::api::search(&request)
            .await
            .map_err(|e| e.to_string())?;
        crate::result::chart_data(&vis, &response, time).map_err(|e| e.to_string())
    });
    Signal::derive(move || resource.get())
}

#[cfg(not(feature = "hydrate"))]
fn load_chart() -> Signal<Option<Result<ChartData, String>>> {
    Signal::stored(None)
}
