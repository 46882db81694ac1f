//! Legends: a column on the right or a strip at the bottom, entries grouped under a title
//! per pie ring.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{chart_error, is_numeric_label, truncate, ChartError, DrawOptions, AXIS};
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
    let char_w = options.px(7.0);
    let rows_fit = ((h as i32 - options.px(6.0)) / row_h).max(1) as usize;
    // Columns no narrower than the longest number or address, which is never cut: entries
    // beyond what such columns hold are counted ("+3 more") rather than drawn over each other.
    let widest_whole = entries
        .iter()
        .filter(|e| !e.heading && is_numeric_label(&e.label))
        .map(|e| e.label.chars().count() as i32)
        .max()
        .unwrap_or(3);
    let min_column_w = swatch + options.px(12.0) + widest_whole * char_w;
    let most_columns = (w as i32 / min_column_w.max(1)).max(1) as usize;
    let capacity = rows_fit * most_columns;
    let (shown, hidden) = if entries.len() > capacity {
        (&entries[..capacity - 1], entries.len() - (capacity - 1))
    } else {
        (entries, 0)
    };
    let slots = shown.len() + usize::from(hidden > 0);
    let columns = slots.div_ceil(rows_fit).max(1);
    let column_w = (w as i32 / columns as i32).max(1);
    let max_chars = ((column_w - swatch - options.px(12.0)) / char_w).max(3) as usize;
    let place = |index: usize| {
        let column = (index / rows_fit) as i32;
        let row = (index % rows_fit) as i32;
        (
            column * column_w + options.px(6.0),
            options.px(6.0) + row * row_h,
        )
    };
    if hidden > 0 {
        area.draw(&Text::new(
            format!("+{hidden} more"),
            place(shown.len()),
            options.font(11.0).color(&AXIS),
        ))
        .map_err(chart_error)?;
    }
    for (index, entry) in shown.iter().enumerate() {
        let (x, y) = place(index);
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
