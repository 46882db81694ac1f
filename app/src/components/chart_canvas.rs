//! A chart drawn with plotters on a HiDPI-sharp canvas that redraws on resize.

use leptos::html::Canvas;
use leptos::prelude::*;

use crate::charts::ChartLayout;
use crate::result::ChartData;

/// Draws `data` (or its error) on a canvas filling its container.
#[component]
pub fn ChartCanvas(
    /// The chart to draw; `None` while loading, `Err` to show a message instead.
    #[prop(into)]
    data: Signal<Option<Result<ChartData, String>>>,
    /// What the chart shows, for screen readers.
    #[prop(into)]
    label: String,
) -> impl IntoView {
    let node = NodeRef::<Canvas>::new();
    let layout = RwSignal::new(None::<ChartLayout>);
    #[cfg(feature = "hydrate")]
    crate::browser::canvas::attach_chart(node, data, layout);
    #[cfg(not(feature = "hydrate"))]
    let _ = (data, layout);
    let drawn = move || layout.get().is_some();
    view! {
        <div class="chart-frame">
            <canvas node_ref=node class="chart" role="img" aria-label=label data-drawn=move || drawn().to_string()></canvas>
        </div>
    }
}
