//! Horizontal bars: buckets down the side (first at the top), values along the bottom. Long
//! labels such as addresses read across instead of being thinned out along an x axis.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::legend;
use super::ticks::nice_ceiling;
use super::xy::{
    bar_extents, bar_style, bucket_axis, bucket_label, category_label_chars, draw_threshold,
    legend_entries, series_colors, value_top, AxisRoom,
};
use super::{chart_error, ChartError, ChartLayout, DrawOptions};
use crate::result::{XAxis, XyData};

/// The widest the label column gets, as a share of the plot's width.
const MAX_LABEL_SHARE: f64 = 0.4;

/// The longest category label, in characters, when the column has room.
const MAX_LABEL_CHARS: usize = 40;

/// Draws `data` (not empty) as horizontal bars, with its legend.
pub(crate) fn draw_horizontal_bars<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &XyData,
    options: &DrawOptions,
) -> Result<ChartLayout, ChartError> {
    let colors = series_colors(data, options);
    let entries = legend_entries(data, &colors);
    let (plot_area, legend_area) = legend::split(root, &entries, options);
    let (w, h) = plot_area.dim_in_pixel();
    let titled = h as f64 >= 160.0 * options.scale;

    // The label column is as wide as the longest label, within a share of the plot.
    let label_chars = match data.x {
        XAxis::Categories { .. } => category_label_chars(data, MAX_LABEL_CHARS),
        XAxis::Time { .. } => 11,
        XAxis::Numeric { .. } => 8,
    };
    let label_w = (options.px(14.0 + 6.5 * label_chars as f64) as f64)
        .min(w as f64 * MAX_LABEL_SHARE)
        .max(options.px(24.0) as f64) as i32;
    let bottom_h = options.px(if titled { 40.0 } else { 24.0 });
    let length = h as f64 - bottom_h as f64 - options.px(28.0) as f64;
    let axis = bucket_axis(
        data,
        options,
        AxisRoom {
            length,
            tick_css_px: 36.0,
            categories: length,
            category_label: options.px(16.0) as f64,
        },
    );
    let (lo, hi) = (axis.lo, axis.hi);
    // Buckets run top to bottom: the first at the top, as a list reads.
    let flip = |bucket: f64| lo + hi - bucket;
    let v_max = nice_ceiling(value_top(data));
    let mut chart = ChartBuilder::on(&plot_area)
        .margin(options.px(8.0))
        .margin_top(options.px(if titled { 20.0 } else { 8.0 }))
        .x_label_area_size(bottom_h)
        .y_label_area_size(label_w)
        .build_cartesian_2d(0f64..v_max, lo..hi)
        .map_err(chart_error)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .light_line_style(options.theme.background)
        .bold_line_style(options.theme.grid)
        .axis_style(options.theme.axis)
        .x_labels(5)
        .label_style(options.font(11.0))
        .x_label_formatter(&|v| data.left_format.compact(*v))
        .x_desc(if titled {
            data.metric_label.as_str()
        } else {
            ""
        })
        .axis_desc_style(options.font(11.0).color(&options.theme.axis))
        .draw()
        .map_err(chart_error)?;

    let (xs, ys) = chart.plotting_area().get_pixel_range();
    if titled && !data.x_title.is_empty() {
        root.draw_text(
            &data.x_title,
            &options
                .font(11.0)
                .color(&options.theme.axis)
                .pos(Pos::new(HPos::Left, VPos::Bottom)),
            (options.px(4.0), ys.start - options.px(6.0)),
        )
        .map_err(chart_error)?;
    }
    // As many characters as the column holds (numbers and addresses are never cut).
    let label_chars = (((xs.start - options.px(10.0)).max(0) as f64 / options.scale) / 6.5)
        .floor()
        .max(3.0) as usize;
    let label_style = options.font(11.0).pos(Pos::new(HPos::Right, VPos::Center));
    for bucket in axis.ticks.iter().filter(|b| **b >= lo && **b <= hi) {
        let (left, py) = chart.backend_coord(&(0.0, flip(*bucket)));
        root.draw(&PathElement::new(
            vec![(left - options.px(4.0), py), (left, py)],
            options.theme.axis,
        ))
        .map_err(chart_error)?;
        let text = bucket_label(data, options, &axis, *bucket, label_chars);
        root.draw_text(&text, &label_style, (left - options.px(6.0), py))
            .map_err(chart_error)?;
    }

    for (series, bars) in data.series.iter().zip(bar_extents(data)) {
        let color = bar_style(series, &colors);
        chart
            .draw_series(bars.into_iter().map(|bar| {
                Rectangle::new([(bar.bottom, flip(bar.lo)), (bar.top, flip(bar.hi))], color)
            }))
            .map_err(chart_error)?;
    }
    if let Some(threshold) = data.threshold.as_ref().filter(|t| t.value >= 0.0) {
        let (x, _) = chart.backend_coord(&(threshold.value, lo));
        draw_threshold(
            root,
            threshold,
            data.left_format,
            (x, ys.end),
            (x, ys.start),
            options,
        )?;
    }
    let legend = match legend_area {
        Some(legend_area) => legend::draw(&legend_area, &entries, options)?,
        None => Vec::new(),
    };
    Ok(ChartLayout::Xy {
        plot: (xs.start, ys.start, xs.end, ys.end),
        x_range: (lo, hi),
        y_range: (0.0, v_max),
        y2_range: None,
        horizontal: true,
        legend,
    })
}
