//! Values over a time axis: one line per series, a legend beside the plot.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    chart_error, color_for, draw_message, format_compact, format_time_label, ChartError,
    ChartLayout, DrawOptions, AXIS, GRID,
};
use crate::result::TimeSeries;

/// Draws `data` as lines over time, with a legend.
pub fn draw_time_series<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &TimeSeries,
    options: &DrawOptions,
) -> Result<ChartLayout, ChartError> {
    if data.is_empty() {
        draw_message(root, "No results in this time range", options)?;
        return Ok(ChartLayout::default());
    }
    let labels: Vec<&str> = data.series.iter().map(|s| s.label.as_str()).collect();
    let (plot_area, legend_area) = split_for_legend(root, &labels, options);

    let (x0, x1) = (data.from_ms, data.to_ms.max(data.from_ms + 1));
    let y_max = nice_ceiling(data.max_value());
    let span = x1 - x0;
    let mut chart = ChartBuilder::on(&plot_area)
        .margin(options.px(8.0))
        .x_label_area_size(options.px(24.0))
        .y_label_area_size(options.px(44.0))
        .build_cartesian_2d(x0..x1, 0f64..y_max)
        .map_err(chart_error)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .axis_style(AXIS)
        .x_labels(6)
        .y_labels(5)
        .label_style(options.font(11.0))
        .x_label_formatter(&|x| format_time_label(*x, span, options.utc_offset_secs))
        .y_label_formatter(&|y| format_compact(*y))
        .draw()
        .map_err(chart_error)?;

    let stroke = options.px(2.0).max(1) as u32;
    for (index, series) in data.series.iter().enumerate() {
        let color = color_for(&series.label, index);
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

    if let Some(legend_area) = legend_area {
        draw_legend(&legend_area, &labels, options)?;
    }

    let (xs, ys) = chart.plotting_area().get_pixel_range();
    Ok(ChartLayout {
        plot: (xs.start, ys.start, xs.end, ys.end),
        x_range: (x0, x1),
        y_range: (0.0, y_max),
    })
}

/// Splits off a legend column on the right, or a strip at the bottom when the chart is narrow.
pub(crate) fn split_for_legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    labels: &[&str],
    options: &DrawOptions,
) -> (DrawingArea<DB, Shift>, Option<DrawingArea<DB, Shift>>) {
    if labels.is_empty() {
        return (root.clone(), None);
    }
    let (w, h) = root.dim_in_pixel();
    let longest = labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .min(28);
    let legend_w = options.px(30.0 + 7.0 * longest as f64) as u32;
    if (w as f64) >= 420.0 * options.scale && legend_w < w / 3 {
        let (plot, legend) = root.split_horizontally(w - legend_w);
        (plot, Some(legend))
    } else {
        let rows = labels.len().min(3) as f64;
        let legend_h = options.px(8.0 + 18.0 * rows) as u32;
        if legend_h >= h / 3 {
            return (root.clone(), None);
        }
        let (plot, legend) = root.split_vertically(h - legend_h);
        (plot, Some(legend))
    }
}

/// A colour swatch and a label per entry, top to bottom (wrapping into columns when short).
pub(crate) fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    labels: &[&str],
    options: &DrawOptions,
) -> Result<(), ChartError> {
    let (w, h) = area.dim_in_pixel();
    let row_h = options.px(18.0);
    let swatch = options.px(10.0);
    let font = options.font(12.0);
    let rows_fit = ((h as i32 - options.px(8.0)) / row_h).max(1) as usize;
    let columns = labels.len().div_ceil(rows_fit).max(1);
    let column_w = (w as i32 / columns as i32).max(1);
    let max_chars = ((column_w - swatch - options.px(12.0)) / options.px(7.0)).max(3) as usize;
    for (index, label) in labels.iter().enumerate() {
        let column = (index / rows_fit) as i32;
        let row = (index % rows_fit) as i32;
        let x = column * column_w + options.px(6.0);
        let y = options.px(8.0) + row * row_h;
        let color = color_for(label, index);
        area.draw(&Rectangle::new(
            [
                (x, y + options.px(2.0)),
                (x + swatch, y + options.px(2.0) + swatch),
            ],
            color.filled(),
        ))
        .map_err(chart_error)?;
        area.draw(&Text::new(
            truncate(label, max_chars),
            (x + swatch + options.px(6.0), y),
            font.clone(),
        ))
        .map_err(chart_error)?;
    }
    Ok(())
}

/// Shortens `text` to `max` characters with an ellipsis.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let kept: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{kept}…")
    }
}

/// A y-axis top that is a round number above `value` (so the top tick is labelled).
fn nice_ceiling(value: f64) -> f64 {
    if value <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    let normalized = value / magnitude;
    let step = [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .into_iter()
        .find(|s| *s >= normalized)
        .unwrap_or(10.0);
    step * magnitude
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::Series;

    #[test]
    fn nice_ceilings() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(7.0), 8.0);
        assert_eq!(nice_ceiling(101.0), 120.0);
        assert_eq!(nice_ceiling(1000.0), 1000.0);
    }

    #[test]
    fn truncates_long_labels() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("a-very-long-label", 6), "a-ver…");
    }

    #[test]
    fn svg_has_lines_and_legend() {
        let data = TimeSeries {
            interval_ms: 60_000,
            from_ms: 0,
            to_ms: 600_000,
            series: vec![
                Series {
                    label: "ACCEPT".into(),
                    points: (0..10).map(|i| (i * 60_000, (i * 3) as f64)).collect(),
                },
                Series {
                    label: "REJECT".into(),
                    points: (0..10).map(|i| (i * 60_000, i as f64)).collect(),
                },
            ],
        };
        let mut svg = String::new();
        let layout = super::super::draw(
            SVGBackend::with_string(&mut svg, (640, 300)),
            &crate::result::ChartData::TimeSeries(data),
            &DrawOptions::default(),
        )
        .unwrap();
        assert!(
            svg.contains("ACCEPT") && svg.contains("REJECT"),
            "legend labels"
        );
        assert!(svg.contains("<polyline"), "series drawn as lines");
        assert!(layout.plot.2 > layout.plot.0 && layout.plot.3 > layout.plot.1);
        assert_eq!(layout.x_range, (0, 600_000));
    }
}
