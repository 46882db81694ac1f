//! A single number, large, with its label.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{chart_error, format_compact, ChartError, ChartLayout, DrawOptions, AXIS};
use crate::result::MetricData;

pub fn draw_metric<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &MetricData,
    options: &DrawOptions,
) -> Result<ChartLayout, ChartError> {
    let (w, h) = root.dim_in_pixel();
    let value = data.value.map_or("—".to_owned(), format_compact);
    let size = (h as f64 / options.scale * 0.35).clamp(16.0, 72.0);
    let center = Pos::new(HPos::Center, VPos::Center);
    root.draw_text(
        &value,
        &options.font(size).pos(center),
        (w as i32 / 2, (h as f64 * 0.45) as i32),
    )
    .map_err(chart_error)?;
    root.draw_text(
        &data.label,
        &options.font(13.0).color(&AXIS).pos(center),
        (
            w as i32 / 2,
            (h as f64 * 0.45) as i32 + options.px(size * 0.6 + 12.0),
        ),
    )
    .map_err(chart_error)?;
    Ok(ChartLayout::Empty)
}
