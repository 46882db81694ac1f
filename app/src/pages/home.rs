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
    let resource = LocalResource::new(|| async {
        let now = chrono::Utc::now().timestamp_millis();
        let interval = 60_000;
        let to = (now / interval + 1) * interval;
        let from = to - 60 * interval;
        let request = crate::api::SearchRequest {
            index: "cwl-*".into(),
            body: crate::query::time_series_request(from, to, interval, "action"),
        };
        let response = crate::api::search(&request)
            .await
            .map_err(|e| e.to_string())?;
        crate::result::time_series_from_response(&response, from, to, interval)
            .map(ChartData::TimeSeries)
            .map_err(|e| e.to_string())
    });
    Signal::derive(move || resource.get())
}

#[cfg(not(feature = "hydrate"))]
fn load_chart() -> Signal<Option<Result<ChartData, String>>> {
    Signal::stored(None)
}
