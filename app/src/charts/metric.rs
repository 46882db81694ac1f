//! A metric visualization's numbers, large, each with its label: side by side, wrapping onto
//! more rows when the panel is narrow.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{chart_error, ChartError, ChartLayout, DrawOptions};
use crate::result::{MetricData, MetricValue};

/// The narrowest a number's cell gets, in CSS pixels.
const MIN_CELL_CSS_PX: f64 = 140.0;

pub fn draw_metric<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &MetricData,
    options: &DrawOptions,
) -> Result<ChartLayout, ChartError> {
    let (w, h) = root.dim_in_pixel();
    let count = data.values.len().max(1);
    let columns = ((w as f64 / options.scale / MIN_CELL_CSS_PX) as usize).clamp(1, count);
    let rows = count.div_ceil(columns);
    let (cell_w, cell_h) = (w as f64 / columns as f64, h as f64 / rows as f64);
    for (index, value) in data.values.iter().enumerate() {
        let (column, row) = (index % columns, index / columns);
        let center = (
            (cell_w * (column as f64 + 0.5)) as i32,
            (cell_h * (row as f64 + 0.5)) as i32,
        );
        draw_number(root, value, center, (cell_w, cell_h), options)?;
    }
    Ok(ChartLayout::Empty)
}

/// One number and its label, centred at `center` in a cell of `size` backend pixels.
fn draw_number<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    metric: &MetricValue,
    center: (i32, i32),
    (w, h): (f64, f64),
    options: &DrawOptions,
) -> Result<(), ChartError> {
    let value = match (&metric.text, metric.value) {
        (Some(text), _) => text.clone(),
        (None, value) => value.map_or("—".to_owned(), |v| metric.format.compact(v)),
    };
    // As large as the cell allows: the height less the label line, and the width the digits take.
    let css_h = h / options.scale;
    let css_w = w / options.scale;
    let by_height = (css_h - 22.0) * 0.62;
    let by_width = css_w * 0.9 / (value.chars().count().max(1) as f64 * 0.6);
    let size = by_height.min(by_width).clamp(12.0, 72.0);
    // Text too long even at the smallest size (several flows' addresses) is cut.
    let fits = (css_w * 0.9 / (size * 0.6)).max(1.0) as usize;
    let value = match value.chars().count() > fits {
        true => value
            .chars()
            .take(fits.saturating_sub(1))
            .chain(['…'])
            .collect(),
        false => value,
    };
    let middle = Pos::new(HPos::Center, VPos::Center);
    let top = center.1 - options.px(9.0);
    root.draw_text(&value, &options.font(size).pos(middle), (center.0, top))
        .map_err(chart_error)?;
    root.draw_text(
        &metric.label,
        &options.font(13.0).color(&options.theme.axis).pos(middle),
        (center.0, top + options.px(size * 0.5 + 11.0)),
    )
    .map_err(chart_error)
}
