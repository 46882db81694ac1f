//! Chart drawing with plotters, generic over the backend: the browser draws on a canvas
//! (plotters-canvas), the server renders SVG and PNG with the very same functions. One file
//! per chart type; each returns a [`ChartLayout`] for hit-testing (tooltips, clicks).

mod format;
mod hbar;
mod heatmap;
pub mod hit;
mod legend;
mod metric;
mod palette;
pub mod pie;
pub mod sankey;
mod table;
mod ticks;
mod xy;

use std::collections::BTreeMap;

pub use format::{format_compact, format_exact, format_time_full, format_time_label};
pub use legend::{spot_at, LegendSpot};
pub use palette::{assign_colors, parse_hex_color, to_hex, ColorMap};
use plotters::coord::Shift;
use plotters::prelude::*;
pub use ticks::{nice_ceiling, time_ticks};

use crate::model::visualization::LegendPosition;
use crate::result::{ChartData, XyStyle};

/// How to draw, independent of what.
#[derive(Clone, Debug)]
pub struct DrawOptions {
    /// Device pixels per CSS pixel: fonts and strokes are multiplied by it, so a canvas whose
    /// backing store is `devicePixelRatio` times its CSS size stays sharp.
    pub scale: f64,
    /// Offset of the viewer's time zone from UTC, for time-axis labels.
    pub utc_offset_secs: i32,
    /// Where the legend goes, or none.
    pub legend: LegendPosition,
    /// Fixed colours by label (`"REJECT": "#e7664c"`).
    pub colors: BTreeMap<String, String>,
    /// The colours a dashboard gives its terms, so that a term has one colour in every panel;
    /// taken where they do not clash inside the chart.
    pub synced: BTreeMap<String, String>,
    /// Light or dark surroundings.
    pub theme: ChartTheme,
}

impl Default for DrawOptions {
    fn default() -> Self {
        DrawOptions {
            scale: 1.0,
            utc_offset_secs: 0,
            legend: LegendPosition::Right,
            colors: BTreeMap::new(),
            synced: BTreeMap::new(),
            theme: ChartTheme::LIGHT,
        }
    }
}

impl DrawOptions {
    /// A length in CSS pixels, in backend pixels.
    pub fn px(&self, css_px: f64) -> i32 {
        (css_px * self.scale).round() as i32
    }

    /// A font of `css_px` size, scaled.
    pub fn font(&self, css_px: f64) -> TextStyle<'static> {
        ("sans-serif", css_px * self.scale)
            .into_font()
            .color(&self.theme.text)
    }

    /// The colours of a chart's labels: the user's, the dashboard's, then the palette's.
    pub fn colors_for<'a>(&self, labels: impl IntoIterator<Item = &'a str>) -> ColorMap {
        assign_colors(labels, &self.colors, &self.synced)
    }
}

/// Where the data ended up, in backend pixels, for hit-testing.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum ChartLayout {
    /// Nothing to point at: a message, a metric or a table.
    #[default]
    Empty,
    /// Lines, areas and bars.
    Xy {
        /// The plotting area, `(left, top, right, bottom)`.
        plot: (i32, i32, i32, i32),
        /// The buckets' values at the plot's left and right edges.
        x_range: (f64, f64),
        /// The metric's values at the plot's bottom and top edges.
        y_range: (f64, f64),
        /// The right axis's values at the plot's bottom and top edges, when it has one.
        y2_range: Option<(f64, f64)>,
        /// Horizontal bars: buckets (`x_range`) run down the plot from its top, values
        /// (`y_range`) along it from its left.
        horizontal: bool,
        /// The legend's entries that filter.
        legend: Vec<LegendSpot>,
    },
    /// A heatmap's cells: `rows` rows down the plot, the first at the top.
    Heatmap {
        /// The plotting area, `(left, top, right, bottom)`.
        plot: (i32, i32, i32, i32),
        /// The buckets' values at the plot's left and right edges.
        x_range: (f64, f64),
        /// How many rows (series) share the height.
        rows: usize,
    },
    /// Rings of slices.
    Pie {
        /// The centre, in backend pixels.
        center: (i32, i32),
        /// Inner and outer radius per ring, inside out.
        rings: Vec<(f64, f64)>,
        /// The legend's entries that filter.
        legend: Vec<LegendSpot>,
    },
    /// A Sankey's nodes and links.
    Sankey {
        /// Each node's rectangle, in the data's order.
        nodes: Vec<PlotRect>,
        /// Each link's path, in the data's order.
        links: Vec<sankey::LinkPath>,
        /// The legend's entries that filter.
        legend: Vec<LegendSpot>,
    },
}

/// A plotting area in backend pixels, `(left, top, right, bottom)`.
pub type PlotRect = (i32, i32, i32, i32);

impl ChartLayout {
    /// The plot and the buckets at its left and right edges, where buckets run across it
    /// (lines, areas, vertical bars, heatmaps): what a brush along the x axis reads.
    pub fn across(&self) -> Option<(PlotRect, (f64, f64))> {
        match self {
            ChartLayout::Xy {
                plot,
                x_range,
                horizontal: false,
                ..
            }
            | ChartLayout::Heatmap { plot, x_range, .. } => Some((*plot, *x_range)),
            _ => None,
        }
    }
}

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the chart: {0}")]
pub struct ChartError(pub String);

pub(crate) fn chart_error<E: std::fmt::Debug>(error: E) -> ChartError {
    ChartError(format!("{error:?}"))
}

/// The colours around the data: the page's light or dark theme. Series keep their palette,
/// which reads on both.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChartTheme {
    /// Behind everything, and between pie slices.
    pub background: RGBColor,
    /// Labels and legend entries.
    pub text: RGBColor,
    /// Grid lines.
    pub grid: RGBColor,
    /// Axes, axis titles and headings.
    pub axis: RGBColor,
}

impl ChartTheme {
    /// On white panels.
    pub const LIGHT: ChartTheme = ChartTheme {
        background: RGBColor(255, 255, 255),
        text: RGBColor(52, 55, 65),
        grid: RGBColor(230, 232, 237),
        axis: RGBColor(152, 162, 179),
    };
    /// On the dark theme's panels (`--panel` of the dark stylesheet).
    pub const DARK: ChartTheme = ChartTheme {
        background: RGBColor(29, 30, 36),
        text: RGBColor(223, 229, 239),
        grid: RGBColor(52, 55, 65),
        axis: RGBColor(152, 162, 179),
    };

    /// The dark theme when `dark`, else the light one.
    pub fn for_dark(dark: bool) -> ChartTheme {
        if dark {
            ChartTheme::DARK
        } else {
            ChartTheme::LIGHT
        }
    }
}

/// Draws any chart on any plotters backend.
pub fn draw<DB: DrawingBackend>(
    backend: DB,
    data: &ChartData,
    options: &DrawOptions,
) -> Result<ChartLayout, ChartError> {
    let root = backend.into_drawing_area();
    root.fill(&options.theme.background).map_err(chart_error)?;
    let layout = match data {
        ChartData::Xy(xy) => xy::draw_xy(&root, xy, options)?,
        ChartData::Pie(pie) => pie::draw_pie(&root, pie, options)?,
        ChartData::Metric(metric) => metric::draw_metric(&root, metric, options)?,
        ChartData::Table(table) => table::draw_table(&root, table, options)?,
        ChartData::Sankey(data) => sankey::draw_sankey(&root, data, options)?,
    };
    root.present().map_err(chart_error)?;
    Ok(layout)
}

/// A legend line as text: what the canvas legend shows, for screen readers, keyboards and
/// tests.
#[derive(Clone, Debug, PartialEq)]
pub struct LegendLine {
    /// The entry's whole label.
    pub label: String,
    /// Its colour as `#rrggbb`; headings (a pie ring's field) have none.
    pub color: Option<String>,
    /// What selects the entry's flows; empty when nothing does.
    pub filters: Vec<crate::model::filter::Filter>,
}

/// The legend a chart draws, line by line, the same entries as on the canvas.
pub fn legend_lines(data: &ChartData, options: &DrawOptions) -> Vec<LegendLine> {
    let entries = match data {
        ChartData::Xy(xy) if xy.style == XyStyle::Heatmap => heatmap::legend_entries(xy),
        ChartData::Xy(xy) => xy::legend_entries(xy, &xy::series_colors(xy, options)),
        ChartData::Pie(pie) => pie::legend_entries(pie, &pie::ring_colors(pie, options)),
        ChartData::Sankey(data) => {
            sankey::legend_entries(data, &sankey::node_colors(data, options))
        }
        ChartData::Metric(_) | ChartData::Table(_) => Vec::new(),
    };
    entries
        .into_iter()
        .map(|e| {
            let RGBColor(r, g, b) = e.color;
            LegendLine {
                label: e.label,
                color: (!e.heading).then(|| format!("#{r:02x}{g:02x}{b:02x}")),
                filters: e.filters,
            }
        })
        .collect()
}

/// The legend as `(label, #rrggbb colour)` pairs (headings have no colour).
pub fn legend_text(data: &ChartData, options: &DrawOptions) -> Vec<(String, Option<String>)> {
    legend_lines(data, options)
        .into_iter()
        .map(|line| (line.label, line.color))
        .collect()
}

/// The labels a colour is chosen for, each with its colour now: a chart's series, where
/// several metrics of a term share the term's colour, or its slices.
pub fn color_keys(data: &ChartData, options: &DrawOptions) -> Vec<(String, Option<String>)> {
    match data {
        ChartData::Xy(xy) if xy.style != XyStyle::Heatmap => {
            let colors = xy::series_colors(xy, options);
            let mut keys: Vec<(String, Option<String>)> = Vec::new();
            for key in xy.series.iter().map(crate::result::Series::color_key) {
                if !keys.iter().any(|(k, _)| k == key) {
                    keys.push((key.to_owned(), Some(to_hex(colors.get(key)))));
                }
            }
            keys
        }
        _ => legend_text(data, options),
    }
}

/// Draws a centred message instead of a chart (no data, or an error).
pub fn draw_message<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    message: &str,
    options: &DrawOptions,
) -> Result<(), ChartError> {
    let (w, h) = area.dim_in_pixel();
    let style =
        options
            .font(14.0)
            .color(&options.theme.axis)
            .pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Center,
            ));
    area.draw_text(message, &style, (w as i32 / 2, h as i32 / 2))
        .map_err(chart_error)
}

/// Draws a message on a whole backend (errors, loading failures).
pub fn draw_message_only<DB: DrawingBackend>(
    backend: DB,
    message: &str,
    options: &DrawOptions,
) -> Result<(), ChartError> {
    let root = backend.into_drawing_area();
    root.fill(&options.theme.background).map_err(chart_error)?;
    draw_message(&root, message, options)?;
    root.present().map_err(chart_error)
}

/// Whether a label is a number, an address or a range of them: cut short, it would read as
/// another (`33…` is 3306 and 3389), so it is never cut.
pub(crate) fn is_numeric_label(text: &str) -> bool {
    text.chars().any(|c| c.is_ascii_digit())
        && text
            .chars()
            .all(|c| c.is_ascii_hexdigit() || ".:/-+, %".contains(c))
}

/// Shortens `text` to `max` characters with an ellipsis; numbers and addresses stay whole.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max || is_numeric_label(text) {
        text.to_owned()
    } else {
        let kept: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{kept}…")
    }
}

#[cfg(test)]
pub(crate) mod tests;
