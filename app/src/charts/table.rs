//! A data table as an image (server-side renders; the browser shows an HTML table).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{chart_error, draw_message, truncate, ChartError, ChartLayout, DrawOptions};
use crate::result::TableData;

pub fn draw_table<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &TableData,
    options: &DrawOptions,
) -> Result<ChartLayout, ChartError> {
    if data.rows.is_empty() {
        draw_message(root, "No results in this time range", options)?;
        return Ok(ChartLayout::Empty);
    }
    let (w, h) = root.dim_in_pixel();
    let row_h = options.px(22.0);
    let column_w = (w as i32 - options.px(16.0)) / data.columns.len().max(1) as i32;
    let max_chars = (column_w / options.px(7.0)).max(3) as usize;
    let x0 = options.px(8.0);
    for (c, title) in data.columns.iter().enumerate() {
        root.draw(&Text::new(
            truncate(title, max_chars),
            (x0 + c as i32 * column_w, options.px(6.0)),
            options.font(12.0).color(&options.theme.axis),
        ))
        .map_err(chart_error)?;
    }
    let rows_fit = ((h as i32 - row_h) / row_h).max(0) as usize;
    for (r, row) in data.rows.iter().take(rows_fit).enumerate() {
        let y = row_h * (r as i32 + 1);
        root.draw(&PathElement::new(
            vec![(x0, y), (w as i32 - x0, y)],
            options.theme.grid,
        ))
        .map_err(chart_error)?;
        for (c, cell) in row.iter().enumerate() {
            let text = data.cell_text(c, cell);
            root.draw(&Text::new(
                truncate(&text, max_chars),
                (x0 + c as i32 * column_w, y + options.px(5.0)),
                options.font(12.0),
            ))
            .map_err(chart_error)?;
        }
    }
    Ok(ChartLayout::Empty)
}
