//! A chart drawn with plotters on a HiDPI-sharp canvas that redraws on resize.

use leptos::html::Canvas;
use leptos::prelude::*;

use crate::charts::{ChartLayout, DrawOptions};
use crate::result::ChartData;

/// Draws `data` (or its error) on a canvas filling its container; `layout` receives where
/// things were drawn, for hit-testing.
#[component]
pub fn ChartCanvas(
    /// The chart to draw; `None` while loading, `Err` to show a message instead.
    #[prop(into)]
    data: Signal<Option<Result<ChartData, String>>>,
    #[prop(into)] options: Signal<DrawOptions>,
    layout: RwSignal<Option<ChartLayout>>,
    node: NodeRef<Canvas>,
    /// What the chart shows, for screen readers.
    #[prop(into)]
    label: Signal<String>,
) -> impl IntoView {
    crate::browser::canvas::attach_chart(node, data, options, layout);
    let drawn = move || {
        layout
            .get()
            .is_some_and(|l| l != ChartLayout::Empty || data.with(|d| matches!(d, Some(Ok(_)))))
    };
    view! {
        <canvas node_ref=node class="chart" role="img" tabindex="0" aria-label=label data-drawn=move || drawn().to_string()></canvas>
    }
}
