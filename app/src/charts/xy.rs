//! Lines, areas and bars over an x axis (time, numbers or categories), with a legend; and the
//! bucket axis and bar geometry that horizontal bars (`hbar`) share.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::legend::{self, Entry};
use super::ticks::{nice_ceiling, time_ticks};
use super::{
    chart_error, draw_message, format_time_label, truncate, ChartError, ChartLayout, ColorMap,
    DrawOptions,
};
use crate::model::field_format::ValueFormat;
use crate::model::measure::ValueAxis;
use crate::model::visualization::{BarMode, ThresholdLine};
use crate::result::{Series, XAxis, XyData, XyStyle};

/// The series' colours, by [`Series::color_key`].
pub(crate) fn series_colors(data: &XyData, options: &DrawOptions) -> ColorMap {
    options.colors_for(data.series.iter().map(Series::color_key))
}

/// One legend line per series, in its colour.
pub(crate) fn legend_entries(data: &XyData, colors: &ColorMap) -> Vec<Entry> {
    data.series
        .iter()
        .map(|s| Entry {
            label: s.label.clone(),
            color: colors.get(s.color_key()),
            heading: false,
            hollow: s.dashed(),
            filters: s.filters.clone().unwrap_or_default(),
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
    match data.style {
        XyStyle::HorizontalBar => return super::hbar::draw_horizontal_bars(root, data, options),
        XyStyle::Heatmap => return super::heatmap::draw_heatmap(root, data, options),
        _ => {}
    }
    let colors = series_colors(data, options);
    let entries = legend_entries(data, &colors);
    let (plot_area, legend_area) = legend::split(root, &entries, options);
    let (w, _) = plot_area.dim_in_pixel();
    let widest = category_label_chars(data, CATEGORY_LABEL_CHARS);
    let axis = bucket_axis(
        data,
        options,
        AxisRoom {
            length: w as f64,
            tick_css_px: 90.0,
            categories: w as f64 - options.px(60.0) as f64,
            category_label: (widest as f64 * 6.5 + 10.0) * options.scale,
        },
    );
    let (x0, x1) = (axis.lo, axis.hi);
    let y_max = nice_ceiling(value_top(data));
    // A second value axis, on the right, for the metrics read on it.
    let y2_max = data
        .has_right_axis()
        .then(|| nice_ceiling(data.max_y_on(ValueAxis::Right)));
    let x_label = |x: &f64| bucket_label(data, options, &axis, *x, CATEGORY_LABEL_CHARS);
    // Axis titles (the metric up the side, the bucket along the bottom) where there is room.
    let (_, plot_h) = plot_area.dim_in_pixel();
    let titled = plot_h as f64 >= 160.0 * options.scale;
    let value_label_area = options.px(if titled { 60.0 } else { 46.0 });
    let mut chart = ChartBuilder::on(&plot_area)
        .margin(options.px(8.0))
        .x_label_area_size(options.px(if titled { 40.0 } else { 24.0 }))
        .y_label_area_size(value_label_area)
        .right_y_label_area_size(if y2_max.is_some() {
            value_label_area
        } else {
            0
        })
        .build_cartesian_2d(x0..x1, 0f64..y_max)
        .map_err(chart_error)?
        .set_secondary_coord(x0..x1, 0f64..y2_max.unwrap_or(1.0));
    // The y axis by plotters; the x axis by hand, at round ticks (times on the minute, hour,
    // day of the viewer's zone).
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .light_line_style(options.theme.background)
        .bold_line_style(options.theme.grid)
        .axis_style(options.theme.axis)
        .y_labels(5)
        .label_style(options.font(11.0))
        .y_label_formatter(&|y| data.left_format.compact(*y))
        .y_desc(if titled {
            data.metric_label.as_str()
        } else {
            ""
        })
        .axis_desc_style(options.font(11.0).color(&options.theme.axis))
        .draw()
        .map_err(chart_error)?;
    if y2_max.is_some() {
        chart
            .configure_secondary_axes()
            .axis_style(options.theme.axis)
            .y_labels(5)
            .label_style(options.font(11.0))
            .y_label_formatter(&|y| data.right_format.compact(*y))
            .y_desc(match (&data.right_label, titled) {
                (Some(label), true) => label.as_str(),
                _ => "",
            })
            .axis_desc_style(options.font(11.0).color(&options.theme.axis))
            .draw()
            .map_err(chart_error)?;
    }
    if titled {
        let (xs, ys) = chart.plotting_area().get_pixel_range();
        draw_x_title(root, data, (xs.start, xs.end, ys.end), options)?;
    }
    let label_style = options.font(11.0).pos(Pos::new(HPos::Center, VPos::Top));
    for x in axis.ticks.iter().filter(|x| **x >= x0 && **x <= x1) {
        let (px, bottom) = chart.backend_coord(&(*x, 0.0));
        let (_, top) = chart.backend_coord(&(*x, y_max));
        root.draw(&PathElement::new(
            vec![(px, top), (px, bottom)],
            options.theme.grid,
        ))
        .map_err(chart_error)?;
        root.draw(&PathElement::new(
            vec![(px, bottom), (px, bottom + options.px(4.0))],
            options.theme.axis,
        ))
        .map_err(chart_error)?;
        root.draw_text(&x_label(x), &label_style, (px, bottom + options.px(6.0)))
            .map_err(chart_error)?;
    }

    let stroke = options.px(2.0).max(1) as u32;
    match data.style {
        XyStyle::Line | XyStyle::Area => {
            for series in &data.series {
                let color = colors.get(series.color_key());
                let right = series.axis == ValueAxis::Right;
                let points = || series.points.iter().copied();
                if data.style == XyStyle::Area {
                    let fill = color.mix(if series.dashed() { 0.1 } else { 0.25 });
                    let area = AreaSeries::new(points(), 0.0, fill);
                    if right {
                        chart.draw_secondary_series(area).map_err(chart_error)?;
                    } else {
                        chart.draw_series(area).map_err(chart_error)?;
                    }
                }
                let style = color.stroke_width(stroke);
                if series.dashed() {
                    let (dash, gap) = (options.px(6.0).max(2), options.px(4.0).max(1));
                    let line = DashedLineSeries::new(points(), dash, gap, style);
                    if right {
                        chart.draw_secondary_series(line).map_err(chart_error)?;
                    } else {
                        chart.draw_series(line).map_err(chart_error)?;
                    }
                } else if right {
                    let line = LineSeries::new(points(), style);
                    chart.draw_secondary_series(line).map_err(chart_error)?;
                } else {
                    let line = LineSeries::new(points(), style);
                    chart.draw_series(line).map_err(chart_error)?;
                }
                // A lone point or a sparse series would be invisible as a line: mark the points.
                if series.points.len() <= 24 {
                    let radius = options.px(2.5).max(1) as u32;
                    let marks = points().map(|(x, y)| Circle::new((x, y), radius, color.filled()));
                    if right {
                        chart.draw_secondary_series(marks).map_err(chart_error)?;
                    } else {
                        chart.draw_series(marks).map_err(chart_error)?;
                    }
                }
            }
        }
        // Vertical bars: the other styles have their own drawers, above.
        _ => {
            for (series, bars) in data.series.iter().zip(bar_extents(data)) {
                let color = bar_style(series, &colors);
                let rectangles = bars
                    .into_iter()
                    .map(|bar| Rectangle::new([(bar.lo, bar.top), (bar.hi, bar.bottom)], color));
                if series.axis == ValueAxis::Right {
                    chart
                        .draw_secondary_series(rectangles)
                        .map_err(chart_error)?;
                } else {
                    chart.draw_series(rectangles).map_err(chart_error)?;
                }
            }
        }
    }
    let (xs, ys) = chart.plotting_area().get_pixel_range();
    if let Some(threshold) = data.threshold.as_ref().filter(|t| t.value >= 0.0) {
        let (_, y) = chart.backend_coord(&(x0, threshold.value));
        draw_threshold(
            root,
            threshold,
            data.left_format,
            (xs.start, y),
            (xs.end, y),
            options,
        )?;
    }
    let legend = match legend_area {
        Some(legend_area) => legend::draw(&legend_area, &entries, options)?,
        None => Vec::new(),
    };
    Ok(ChartLayout::Xy {
        plot: (xs.start, ys.start, xs.end, ys.end),
        x_range: (x0, x1),
        y_range: (0.0, y_max),
        y2_range: y2_max.map(|top| (0.0, top)),
        horizontal: false,
        legend,
    })
}

/// How a series' bars are filled: in its colour; a later metric of a term lighter (its
/// legend swatch is hollow).
pub(crate) fn bar_style(series: &Series, colors: &ColorMap) -> ShapeStyle {
    let color = colors.get(series.color_key());
    if series.dashed() {
        color.mix(0.45).filled()
    } else {
        color.filled()
    }
}

/// The bucket axis (x, or y for horizontal bars): its ends in data units, the buckets that get
/// a label, and the bucket width.
pub(crate) struct BucketAxis {
    pub lo: f64,
    pub hi: f64,
    pub ticks: Vec<f64>,
    pub step: f64,
}

/// The longest category label as drawn when cut to `max_chars`, in characters (1 for other
/// axes).
pub(crate) fn category_label_chars(data: &XyData, max_chars: usize) -> usize {
    match &data.x {
        XAxis::Categories { labels } => labels
            .iter()
            .map(|l| truncate(l, max_chars).chars().count())
            .max()
            .unwrap_or(1),
        _ => 1,
    }
}

/// How the bucket axis is laid out, in backend pixels.
pub(crate) struct AxisRoom {
    /// The length the tick count is judged on: a tick every `tick_css_px` CSS pixels.
    pub length: f64,
    pub tick_css_px: f64,
    /// The length the categories share.
    pub categories: f64,
    /// What a category label takes along the axis.
    pub category_label: f64,
}

/// Lays out the bucket axis: round time ticks, or every category whose label fits, else
/// every k-th, so labels never overlap.
pub(crate) fn bucket_axis(data: &XyData, options: &DrawOptions, room: AxisRoom) -> BucketAxis {
    let max_ticks = ((room.length / options.scale) / room.tick_css_px).clamp(2.0, 10.0) as usize;
    match &data.x {
        XAxis::Time { from_ms, to_ms, .. } => {
            let offset = if data.utc { 0 } else { options.utc_offset_secs };
            let (ticks, step) = time_ticks(*from_ms, *to_ms, max_ticks, offset);
            BucketAxis {
                lo: *from_ms as f64,
                hi: (*to_ms).max(from_ms + 1) as f64,
                ticks: ticks.into_iter().map(|t| t as f64).collect(),
                step: step as f64,
            }
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
            BucketAxis {
                lo,
                hi,
                ticks: (0..=count)
                    .step_by(stride)
                    .map(|i| lo + i as f64 * interval)
                    .collect(),
                step: *interval,
            }
        }
        XAxis::Categories { labels } => {
            let n = labels.len().max(1);
            let slot_px = room.categories.max(1.0) / n as f64;
            let stride = (room.category_label / slot_px).ceil().max(1.0) as usize;
            BucketAxis {
                lo: -0.5,
                hi: n as f64 - 0.5,
                ticks: (0..n).step_by(stride).map(|i| i as f64).collect(),
                step: 1.0,
            }
        }
    }
}

/// The label of the bucket at `x`: a time in the viewer's zone, a number, or a category
/// (cut to `max_chars` unless it is a number).
pub(crate) fn bucket_label(
    data: &XyData,
    options: &DrawOptions,
    axis: &BucketAxis,
    x: f64,
    max_chars: usize,
) -> String {
    let offset = if data.utc { 0 } else { options.utc_offset_secs };
    match &data.x {
        XAxis::Time { .. } => format_time_label(
            x as i64,
            axis.step as i64,
            (axis.hi - axis.lo) as i64,
            offset,
        ),
        XAxis::Numeric { .. } => data.x_format.compact(x),
        XAxis::Categories { labels } => labels
            .get(x.round() as usize)
            .map(|l| truncate(l, max_chars))
            .unwrap_or_default(),
    }
}

/// One bar in data units: across the bucket axis from `lo` to `hi`, along the value axis
/// from `bottom` to `top`.
pub(crate) struct BarExtent {
    pub lo: f64,
    pub hi: f64,
    pub bottom: f64,
    pub top: f64,
}

/// Every series' bars, stacked or side by side as the data says: one list per series.
pub(crate) fn bar_extents(data: &XyData) -> Vec<Vec<BarExtent>> {
    let width = match &data.x {
        XAxis::Time { interval_ms, .. } => *interval_ms as f64,
        XAxis::Numeric { interval } => *interval,
        XAxis::Categories { .. } => 1.0,
    } * 0.8;
    let centered = matches!(data.x, XAxis::Categories { .. });
    let n = data.series.len().max(1) as f64;
    let mut stacked: std::collections::HashMap<u64, f64> = std::collections::HashMap::new();
    data.series
        .iter()
        .enumerate()
        .map(|(index, series)| {
            series
                .points
                .iter()
                .map(|&(x, y)| {
                    let left = if centered {
                        x - width / 2.0
                    } else {
                        x + width * 0.1
                    };
                    match data.bar_mode {
                        BarMode::Stacked => {
                            let base = stacked.entry(x.to_bits()).or_default();
                            let bottom = *base;
                            *base += y;
                            BarExtent {
                                lo: left,
                                hi: left + width,
                                bottom,
                                top: bottom + y,
                            }
                        }
                        BarMode::Grouped => {
                            let slot = width / n;
                            let lo = left + slot * index as f64;
                            BarExtent {
                                lo,
                                hi: lo + slot,
                                bottom: 0.0,
                                top: y,
                            }
                        }
                    }
                })
                .collect()
        })
        .collect()
}

/// The largest value the value axis must show: the data's, or a threshold line above it.
pub(crate) fn value_top(data: &XyData) -> f64 {
    let threshold = data.threshold.as_ref().map_or(0.0, |t| t.value);
    data.max_y().max(threshold)
}

/// The threshold line's colour: Kibana's danger red, which reads on both themes.
const THRESHOLD_COLOR: RGBColor = RGBColor(0xbd, 0x27, 0x1e);

/// Draws a threshold line, dashed, from `start` to `end` (backend pixels), labelled with its
/// name and value (in the axis's `format`) at the end.
pub(crate) fn draw_threshold<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    threshold: &ThresholdLine,
    format: ValueFormat,
    start: (i32, i32),
    end: (i32, i32),
    options: &DrawOptions,
) -> Result<(), ChartError> {
    let (dash, gap) = (options.px(6.0).max(2), options.px(4.0).max(1));
    let stroke = THRESHOLD_COLOR.stroke_width(options.px(1.5).max(1) as u32);
    let length = f64::from(end.0 - start.0).hypot(f64::from(end.1 - start.1));
    let along = |d: f64| {
        let t = (d / length.max(1.0)).min(1.0);
        (
            start.0 + (f64::from(end.0 - start.0) * t).round() as i32,
            start.1 + (f64::from(end.1 - start.1) * t).round() as i32,
        )
    };
    let mut from = 0.0;
    while from < length {
        let to = (from + f64::from(dash)).min(length);
        root.draw(&PathElement::new(vec![along(from), along(to)], stroke))
            .map_err(chart_error)?;
        from = to + f64::from(gap);
    }
    let value = format.exact(threshold.value);
    let text = if threshold.label.trim().is_empty() {
        value
    } else {
        format!("{} {value}", threshold.label.trim())
    };
    root.draw_text(
        &text,
        &options
            .font(11.0)
            .color(&THRESHOLD_COLOR)
            .pos(Pos::new(HPos::Right, VPos::Bottom)),
        (
            end.0 - options.px(2.0),
            end.1.min(start.1) - options.px(3.0),
        ),
    )
    .map_err(chart_error)
}

/// The x axis's title, centred under the labels of a plot spanning `left..right` above
/// `bottom` (backend pixels).
pub(crate) fn draw_x_title<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &XyData,
    (left, right, bottom): (i32, i32, i32),
    options: &DrawOptions,
) -> Result<(), ChartError> {
    if data.x_title.is_empty() {
        return Ok(());
    }
    root.draw_text(
        &data.x_title,
        &options
            .font(11.0)
            .color(&options.theme.axis)
            .pos(Pos::new(HPos::Center, VPos::Bottom)),
        ((left + right) / 2, bottom + options.px(38.0)),
    )
    .map_err(chart_error)
}
