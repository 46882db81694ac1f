//! Legends: a column on the right or a strip at the bottom, entries grouped under a title
//! per pie ring.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{chart_error, is_numeric_label, truncate, ChartError, DrawOptions};
use crate::model::filter::Filter;
use crate::model::visualization::LegendPosition;

/// One legend line.
pub struct Entry {
    pub label: String,
    pub color: RGBColor,
    /// A group heading (the ring's field) instead of a coloured entry.
    pub heading: bool,
    /// Its swatch is an outline: a dashed series (a later metric of a term).
    pub hollow: bool,
    /// What selects the entry's flows (its series' or its ring's term), for filtering from
    /// the legend; empty when nothing does.
    pub filters: Vec<Filter>,
}

impl Entry {
    /// A ring's heading in a pie's legend.
    pub fn heading(label: String) -> Entry {
        Entry {
            label,
            color: WHITE,
            heading: true,
            hollow: false,
            filters: Vec::new(),
        }
    }
}

/// Where a legend entry was drawn, in backend pixels, and what clicking it filters by.
#[derive(Clone, Debug, PartialEq)]
pub struct LegendSpot {
    /// `(left, top, right, bottom)`.
    pub rect: (i32, i32, i32, i32),
    /// The entry's whole label (the drawn one may be cut).
    pub label: String,
    /// What "Filter for" adds.
    pub filters: Vec<Filter>,
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

/// Draws the entries top to bottom, wrapping into columns when the area is short; answers
/// where the entries that filter went.
pub fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[Entry],
    options: &DrawOptions,
) -> Result<Vec<LegendSpot>, ChartError> {
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
            options.font(11.0).color(&options.theme.axis),
        ))
        .map_err(chart_error)?;
    }
    let (base_x, base_y) = area.get_base_pixel();
    let mut spots = Vec::new();
    for (index, entry) in shown.iter().enumerate() {
        let (x, y) = place(index);
        if entry.heading {
            area.draw(&Text::new(
                truncate(&entry.label, max_chars + 2),
                (x, y),
                options.font(11.0).color(&options.theme.axis),
            ))
            .map_err(chart_error)?;
            continue;
        }
        let style = if entry.hollow {
            entry.color.stroke_width(options.px(2.0).max(1) as u32)
        } else {
            entry.color.filled()
        };
        area.draw(&Rectangle::new(
            [
                (x, y + options.px(2.0)),
                (x + swatch, y + options.px(2.0) + swatch),
            ],
            style,
        ))
        .map_err(chart_error)?;
        let text = truncate(&entry.label, max_chars);
        let text_w = text.chars().count() as i32 * char_w;
        area.draw(&Text::new(
            text,
            (x + swatch + options.px(6.0), y),
            options.font(12.0),
        ))
        .map_err(chart_error)?;
        if !entry.filters.is_empty() {
            spots.push(LegendSpot {
                rect: (
                    base_x + x - options.px(2.0),
                    base_y + y - options.px(2.0),
                    base_x + (x + swatch + options.px(8.0) + text_w).min(x + column_w),
                    base_y + y + row_h - options.px(2.0),
                ),
                label: entry.label.clone(),
                filters: entry.filters.clone(),
            });
        }
    }
    Ok(spots)
}

/// The legend entry at backend pixel `(x, y)`.
pub fn spot_at(spots: &[LegendSpot], x: f64, y: f64) -> Option<&LegendSpot> {
    spots.iter().find(|s| {
        let (left, top, right, bottom) = s.rect;
        x >= left as f64 && x <= right as f64 && y >= top as f64 && y <= bottom as f64
    })
}
