//! Heatmaps: x buckets across, a row per series down the side (the first at the top), each cell
//! coloured by its value in one of a few bands, which the legend lists. Empty cells stay blank:
//! "no flows" must not read as "few flows".

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::legend::{self, Entry};
use super::ticks::nice_ceiling;
use super::xy::{bucket_axis, bucket_label, category_label_chars, draw_x_title, AxisRoom};
use super::{chart_error, truncate, ChartError, ChartLayout, DrawOptions};
use crate::result::{XAxis, XyData};

/// The colour bands, lightest (smallest values) first: a sequential blue that reads on light
/// and dark panels alike.
const BANDS: [RGBColor; 5] = [
    RGBColor(0xc6, 0xdb, 0xef),
    RGBColor(0x9e, 0xca, 0xe1),
    RGBColor(0x6b, 0xae, 0xd6),
    RGBColor(0x31, 0x82, 0xbd),
    RGBColor(0x08, 0x51, 0x9c),
];

/// The longest row label, in characters, when the column has room.
const MAX_ROW_LABEL_CHARS: usize = 24;

/// The widest the row-label column gets, as a share of the plot's width.
const MAX_LABEL_SHARE: f64 = 0.35;

/// The top of the colour scale: the largest value, rounded up.
fn scale_top(data: &XyData) -> f64 {
    nice_ceiling(data.max_y())
}

/// The band of a value above zero on a scale up to `top`.
pub(crate) fn band_of(value: f64, top: f64) -> usize {
    let share = (value / top).clamp(0.0, 1.0);
    ((share * BANDS.len() as f64).ceil() as usize).clamp(1, BANDS.len()) - 1
}

/// The metric as a heading, then one line per band: `0 – 250`, `250 – 500`, … (numbers are
/// never cut).
pub(crate) fn legend_entries(data: &XyData) -> Vec<Entry> {
    let top = scale_top(data);
    let width = top / BANDS.len() as f64;
    let bands = BANDS.iter().enumerate().map(|(index, color)| Entry {
        label: format!(
            "{} – {}",
            data.left_format.compact(width * index as f64),
            data.left_format.compact(width * (index + 1) as f64)
        ),
        color: *color,
        heading: false,
        hollow: false,
        filters: Vec::new(),
    });
    std::iter::once(Entry::heading(data.metric_label.clone()))
        .chain(bands)
        .collect()
}

/// The `[lo, hi)` a cell at bucket `x` covers along the x axis.
pub(crate) fn cell_span(data: &XyData, x: f64) -> (f64, f64) {
    match &data.x {
        XAxis::Time { interval_ms, .. } => (x, x + *interval_ms as f64),
        XAxis::Numeric { interval } => (x, x + interval),
        XAxis::Categories { .. } => (x - 0.5, x + 0.5),
    }
}

/// Draws `data` (not empty) as a heatmap, with its band legend.
pub(crate) fn draw_heatmap<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &XyData,
    options: &DrawOptions,
) -> Result<ChartLayout, ChartError> {
    let entries = legend_entries(data);
    let (plot_area, legend_area) = legend::split(root, &entries, options);
    let (w, h) = plot_area.dim_in_pixel();
    let titled = h as f64 >= 160.0 * options.scale;
    let rows = data.series.len().max(1);

    let longest_row = data
        .series
        .iter()
        .map(|s| truncate(&s.label, MAX_ROW_LABEL_CHARS).chars().count())
        .max()
        .unwrap_or(1);
    let label_w = (options.px(14.0 + 6.5 * longest_row as f64) as f64)
        .min(w as f64 * MAX_LABEL_SHARE)
        .max(options.px(24.0) as f64) as i32;
    let widest = category_label_chars(data, 14);
    let across = w as f64 - label_w as f64;
    let axis = bucket_axis(
        data,
        options,
        AxisRoom {
            length: across,
            tick_css_px: 90.0,
            categories: across - options.px(16.0) as f64,
            category_label: (widest as f64 * 6.5 + 10.0) * options.scale,
        },
    );
    // Categories sit in the middle of their cells; times and numbers start them.
    let (lo, hi) = match data.x {
        XAxis::Categories { .. } => (axis.lo, axis.hi),
        _ => {
            let last = data.x_values().last().copied().unwrap_or(axis.hi);
            (axis.lo, axis.hi.max(cell_span(data, last).1))
        }
    };
    let mut chart = ChartBuilder::on(&plot_area)
        .margin(options.px(8.0))
        .margin_top(options.px(if titled { 20.0 } else { 8.0 }))
        .x_label_area_size(options.px(if titled { 40.0 } else { 24.0 }))
        .y_label_area_size(label_w)
        .build_cartesian_2d(lo..hi, 0f64..rows as f64)
        .map_err(chart_error)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(0)
        .y_labels(0)
        .axis_style(options.theme.axis)
        .draw()
        .map_err(chart_error)?;

    // Row `r` (0 at the top) spans `rows - r - 1 ..= rows - r` on the y axis.
    let top = scale_top(data);
    for (row, series) in data.series.iter().enumerate() {
        let (y0, y1) = ((rows - row - 1) as f64, (rows - row) as f64);
        chart
            .draw_series(series.points.iter().filter(|p| p.1 > 0.0).map(|&(x, v)| {
                let (x0, x1) = cell_span(data, x);
                Rectangle::new(
                    [(x0.max(lo), y0), (x1.min(hi), y1)],
                    BANDS[band_of(v, top)].filled(),
                )
            }))
            .map_err(chart_error)?;
    }

    let (xs, ys) = chart.plotting_area().get_pixel_range();
    // Row labels, every k-th when rows are shorter than a line of text.
    let row_px = (ys.end - ys.start) as f64 / rows as f64;
    let stride = (options.px(14.0) as f64 / row_px.max(1.0)).ceil().max(1.0) as usize;
    let label_chars = (((xs.start - options.px(10.0)).max(0) as f64 / options.scale) / 6.5)
        .floor()
        .max(3.0) as usize;
    let row_style = options.font(11.0).pos(Pos::new(HPos::Right, VPos::Center));
    for (row, series) in data.series.iter().enumerate().step_by(stride) {
        let y = ys.start + ((row as f64 + 0.5) * row_px).round() as i32;
        root.draw_text(
            &truncate(&series.label, label_chars.min(MAX_ROW_LABEL_CHARS)),
            &row_style,
            (xs.start - options.px(6.0), y),
        )
        .map_err(chart_error)?;
    }
    // Bucket labels along the bottom, as on line and bar charts.
    let x_style = options.font(11.0).pos(Pos::new(HPos::Center, VPos::Top));
    for x in axis.ticks.iter().filter(|x| **x >= lo && **x <= hi) {
        let (px, bottom) = chart.backend_coord(&(*x, 0.0));
        root.draw(&PathElement::new(
            vec![(px, bottom), (px, bottom + options.px(4.0))],
            options.theme.axis,
        ))
        .map_err(chart_error)?;
        let text = bucket_label(data, options, &axis, *x, 14);
        root.draw_text(&text, &x_style, (px, bottom + options.px(6.0)))
            .map_err(chart_error)?;
    }
    if titled {
        draw_x_title(root, data, (xs.start, xs.end, ys.end), options)?;
    }
    let legend = match legend_area {
        Some(legend_area) => legend::draw(&legend_area, &entries, options)?,
        None => Vec::new(),
    };
    debug_assert!(legend.is_empty(), "bands do not filter");
    Ok(ChartLayout::Heatmap {
        plot: (xs.start, ys.start, xs.end, ys.end),
        x_range: (lo, hi),
        rows,
    })
}
