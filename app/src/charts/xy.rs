//! Lines, areas and bars over an x axis (time, numbers or categories), with a legend.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::legend::{self, Entry};
use super::ticks::{nice_ceiling, time_ticks};
use super::{
    chart_error, draw_message, format_compact, format_time_label, truncate, ChartError,
    ChartLayout, ColorMap, DrawOptions, AXIS, GRID,
};
use crate::model::visualization::BarMode;
use crate::result::{XAxis, XyData, XyStyle};

/// The series' colours.
pub(crate) fn series_colors(data: &XyData, options: &DrawOptions) -> ColorMap {
    options.colors_for(data.series.iter().map(|s| s.label.as_str()))
}

/// One legend line per series, in its colour.
pub(crate) fn legend_entries(data: &XyData, colors: &ColorMap) -> Vec<Entry> {
    data.series
        .iter()
        .map(|s| Entry {
            label: s.label.clone(),
            color: colors.get(&s.label),
            heading: false,
        })
        .collect()
}

/// The longest category label on an x axis; longer text is cut (numbers never are).
const CATEGORY_LABEL_CHARS: usize = 14;

pub fn draw_xy<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &XyData,
    options: &DrawOptions,
) -> Result<ChartLayout, ChartError> {
    if data.is_empty() {
        draw_message(root, "No results in this time range", options)?;
        return Ok(ChartLayout::Empty);
    }
    let colors = series_colors(data, options);
    let entries = legend_entries(data, &colors);
    let (plot_area, legend_area) = legend::split(root, &entries, options);
    let (w, _) = plot_area.dim_in_pixel();
    let max_ticks = ((w as f64 / options.scale) / 90.0).clamp(2.0, 10.0) as usize;

    let (x0, x1, key_points, step): (f64, f64, Vec<f64>, f64) = match &data.x {
        XAxis::Time { from_ms, to_ms, .. } => {
            let offset = if data.utc { 0 } else { options.utc_offset_secs };
            let (ticks, step) = time_ticks(*from_ms, *to_ms, max_ticks, offset);
            (
                *from_ms as f64,
                (*to_ms).max(from_ms + 1) as f64,
                ticks.into_iter().map(|t| t as f64).collect(),
                step as f64,
            )
        }
        XAxis::Numeric { interval } => {
            let xs = data
                .series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.0));
            let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
                (lo.min(x), hi.max(x))
            });
            let hi = hi + interval;
            let count = ((hi - lo) / interval).ceil().max(1.0) as usize;
            let stride = count.div_ceil(max_ticks).max(1);
            let points = (0..=count)
                .step_by(stride)
                .map(|i| lo + i as f64 * interval)
                .collect();
            (lo, hi, points, *interval)
        }
        XAxis::Categories { labels } => {
            let n = labels.len().max(1);
            // Every label when they fit side by side, else every k-th: labels never overlap.
            let widest = labels
                .iter()
                .map(|l| truncate(l, CATEGORY_LABEL_CHARS).chars().count())
                .max()
                .unwrap_or(1) as f64;
            let label_px = (widest * 6.5 + 10.0) * options.scale;
            let slot_px = (w as f64 - options.px(60.0) as f64).max(1.0) / n as f64;
            let stride = (label_px / slot_px).ceil().max(1.0) as usize;
            (
                -0.5,
                n as f64 - 0.5,
                (0..n).step_by(stride).map(|i| i as f64).collect(),
                1.0,
            )
        }
    };
    let y_max = nice_ceiling(data.max_y());
    let span = x1 - x0;
    let offset = if data.utc { 0 } else { options.utc_offset_secs };
    let x_label = |x: &f64| match &data.x {
        XAxis::Time { .. } => format_time_label(*x as i64, step as i64, span as i64, offset),
        XAxis::Numeric { .. } => format_compact(*x),
        XAxis::Categories { labels } => labels
            .get(x.round() as usize)
            .map(|l| truncate(l, CATEGORY_LABEL_CHARS))
            .unwrap_or_default(),
    };
    // Axis titles (the metric up the side, the bucket along the bottom) where there is room.
    let (_, plot_h) = plot_area.dim_in_pixel();
    let titled = plot_h as f64 >= 160.0 * options.scale;
    let mut chart = ChartBuilder::on(&plot_area)
        .margin(options.px(8.0))
        .x_label_area_size(options.px(if titled { 40.0 } else { 24.0 }))
        .y_label_area_size(options.px(if titled { 60.0 } else { 46.0 }))
        .build_cartesian_2d(x0..x1, 0f64..y_max)
        .map_err(chart_error)?;
    // The y axis by plotters; the x axis by hand, at round ticks (times on the minute, hour,
    // day of the viewer's zone).
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .axis_style(AXIS)
        .y_labels(5)
        .label_style(options.font(11.0))
        .y_label_formatter(&|y| format_compact(*y))
        .y_desc(if titled {
            data.metric_label.as_str()
        } else {
            ""
        })
        .axis_desc_style(options.font(11.0).color(&AXIS))
        .draw()
        .map_err(chart_error)?;
    if titled && !data.x_title.is_empty() {
        let (xs, ys) = chart.plotting_area().get_pixel_range();
        root.draw_text(
            &data.x_title,
            &options
                .font(11.0)
                .color(&AXIS)
                .pos(Pos::new(HPos::Center, VPos::Bottom)),
            ((xs.start + xs.end) / 2, ys.end + options.px(38.0)),
        )
        .map_err(chart_error)?;
    }
    let label_style = options.font(11.0).pos(Pos::new(HPos::Center, VPos::Top));
    for x in key_points.iter().filter(|x| **x >= x0 && **x <= x1) {
        let (px, bottom) = chart.backend_coord(&(*x, 0.0));
        let (_, top) = chart.backend_coord(&(*x, y_max));
        root.draw(&PathElement::new(vec![(px, top), (px, bottom)], GRID))
            .map_err(chart_error)?;
        root.draw(&PathElement::new(
            vec![(px, bottom), (px, bottom + options.px(4.0))],
            AXIS,
        ))
        .map_err(chart_error)?;
        root.draw_text(&x_label(x), &label_style, (px, bottom + options.px(6.0)))
            .map_err(chart_error)?;
    }

    let stroke = options.px(2.0).max(1) as u32;
    match data.style {
        XyStyle::Line | XyStyle::Area => {
            for series in &data.series {
                let color = colors.get(&series.label);
                if data.style == XyStyle::Area {
                    chart
                        .draw_series(AreaSeries::new(
                            series.points.iter().copied(),
                            0.0,
                            color.mix(0.25),
                        ))
                        .map_err(chart_error)?;
                }
                chart
                    .draw_series(LineSeries::new(
                        series.points.iter().copied(),
                        color.stroke_width(stroke),
                    ))
                    .map_err(chart_error)?;
                // A lone point or a sparse series would be invisible as a line: mark the points.
                if series.points.len() <= 24 {
                    let radius = options.px(2.5).max(1) as u32;
                    chart
                        .draw_series(
                            series
                                .points
                                .iter()
                                .map(|&(x, y)| Circle::new((x, y), radius, color.filled())),
                        )
                        .map_err(chart_error)?;
                }
            }
        }
        XyStyle::Bar => {
            let width = match &data.x {
                XAxis::Time { interval_ms, .. } => *interval_ms as f64,
                XAxis::Numeric { interval } => *interval,
                XAxis::Categories { .. } => 1.0,
            } * 0.8;
            let centered = matches!(data.x, XAxis::Categories { .. });
            let n = data.series.len().max(1) as f64;
            let mut stacked: std::collections::HashMap<u64, f64> = std::collections::HashMap::new();
            for (index, series) in data.series.iter().enumerate() {
                let color = colors.get(&series.label).filled();
                let bars = series.points.iter().map(|&(x, y)| {
                    let left = if centered {
                        x - width / 2.0
                    } else {
                        x + width * 0.1
                    };
                    let (l, r, bottom, top) = match data.bar_mode {
                        BarMode::Stacked => {
                            let base = stacked.entry(x.to_bits()).or_default();
                            let bottom = *base;
                            *base += y;
                            (left, left + width, bottom, bottom + y)
                        }
                        BarMode::Grouped => {
                            let slot = width / n;
                            let l = left + slot * index as f64;
                            (l, l + slot, 0.0, y)
                        }
                    };
                    Rectangle::new([(l, top), (r, bottom)], color)
                });
                let bars: Vec<_> = bars.collect();
                chart.draw_series(bars).map_err(chart_error)?;
            }
        }
    }
    if let Some(legend_area) = legend_area {
        legend::draw(&legend_area, &entries, options)?;
    }
    let (xs, ys) = chart.plotting_area().get_pixel_range();
    Ok(ChartLayout::Xy {
        plot: (xs.start, ys.start, xs.end, ys.end),
        x_range: (x0, x1),
        y_range: (0.0, y_max),
    })
}
