//! Legends: a column on the right or a strip at the bottom, entries grouped under a title
//! per pie ring.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{chart_error, truncate, ChartError, DrawOptions, AXIS};
use crate::model::visualization::LegendPosition;

/// One legend line.
pub struct Entry {
    pub label: String,
    pub color: RGBColor,
    /// A group heading (the ring's field) instead of a coloured entry.
    pub heading: bool,
}

/// Splits a legend off `root` where the options put it and it fits.
pub fn split<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    entries: &[Entry],
    options: &DrawOptions,
) -> (DrawingArea<DB, Shift>, Option<DrawingArea<DB, Shift>>) {
    if entries.is_empty() || options.legend == LegendPosition::Hidden {
        return (root.clone(), None);
    }
    let (w, h) = root.dim_in_pixel();
    let longest = entries
        .iter()
        .map(|e| e.label.chars().count())
        .max()
        .unwrap_or(0)
        .min(26);
    let legend_w = options.px(30.0 + 7.0 * longest as f64) as u32;
    let right = options.legend == LegendPosition::Right
        && (w as f64) >= 360.0 * options.scale
        && legend_w < w / 3;
    if right {
        let (plot, legend) = root.split_horizontally(w - legend_w);
        return (plot, Some(legend));
    }
    let per_row = ((w as f64 / options.scale) / 140.0).floor().max(1.0) as usize;
    let rows = entries.len().div_ceil(per_row).min(3) as f64;
    let legend_h = options.px(8.0 + 18.0 * rows) as u32;
    if legend_h >= h / 3 {
        return (root.clone(), None);
    }
    let (plot, legend) = root.split_vertically(h - legend_h);
    (plot, Some(legend))
}

/// Draws the entries top to bottom, wrapping into columns when the area is short.
pub fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[Entry],
    options: &DrawOptions,
) -> Result<(), ChartError> {
    let (w, h) = area.dim_in_pixel();
    let row_h = options.px(18.0);
    let swatch = options.px(10.0);
    let rows_fit = ((h as i32 - options.px(6.0)) / row_h).max(1) as usize;
    let columns = entries.len().div_ceil(rows_fit).max(1);
    let column_w = (w as i32 / columns as i32).max(1);
    let max_chars = ((column_w - swatch - options.px(12.0)) / options.px(7.0)).max(3) as usize;
    for (index, entry) in entries.iter().enumerate() {
        let column = (index / rows_fit) as i32;
        let row = (index % rows_fit) as i32;
        let x = column * column_w + options.px(6.0);
        let y = options.px(6.0) + row * row_h;
        if entry.heading {
            area.draw(&Text::new(
                truncate(&entry.label, max_chars + 2),
                (x, y),
                options.font(11.0).color(&AXIS),
            ))
            .map_err(chart_error)?;
            continue;
        }
        area.draw(&Rectangle::new(
            [
                (x, y + options.px(2.0)),
                (x + swatch, y + options.px(2.0) + swatch),
            ],
            entry.color.filled(),
        ))
        .map_err(chart_error)?;
        area.draw(&Text::new(
            truncate(&entry.label, max_chars),
            (x + swatch + options.px(6.0), y),
            options.font(12.0),
        ))
        .map_err(chart_error)?;
    }
    Ok(())
}
