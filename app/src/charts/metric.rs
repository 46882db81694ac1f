//! A single number, large, with its label.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{chart_error, format_compact, ChartError, ChartLayout, DrawOptions};
use crate::result::MetricData;

pub fn draw_metric<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &MetricData,
    options: &DrawOptions,
) -> Result<ChartLayout, ChartError> {
    let (w, h) = root.dim_in_pixel();
    let value = data.value.map_or("—".to_owned(), format_compact);
    // As large as the panel allows: the height less the label line, and the width the digits take.
    let css_h = h as f64 / options.scale;
    let css_w = w as f64 / options.scale;
    let by_height = (css_h - 22.0) * 0.62;
    let by_width = css_w * 0.9 / (value.chars().count().max(1) as f64 * 0.6);
    let size = by_height.min(by_width).clamp(12.0, 72.0);
    let center = Pos::new(HPos::Center, VPos::Center);
    root.draw_text(
        &value,
        &options.font(size).pos(center),
        (w as i32 / 2, (h as f64 / 2.0) as i32 - options.px(9.0)),
    )
    .map_err(chart_error)?;
    root.draw_text(
        &data.label,
        &options.font(13.0).color(&options.theme.axis).pos(center),
        (
            w as i32 / 2,
            (h as f64 / 2.0) as i32 - options.px(9.0) + options.px(size * 0.5 + 11.0),
        ),
    )
    .map_err(chart_error)?;
    Ok(ChartLayout::Empty)
}
