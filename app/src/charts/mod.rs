//! Chart drawing with plotters, generic over the backend: the browser draws on a canvas
//! (plotters-canvas), the server renders SVG and PNG with the very same functions.

mod format;
mod palette;
mod xy;

pub use format::{format_compact, format_time_label};
pub use palette::{color_for, Palette};
pub use xy::draw_time_series;

use plotters::prelude::*;

use crate::result::ChartData;

/// How to draw, independent of what.
#[derive(Clone, Debug)]
pub struct DrawOptions {
    /// Device pixels per CSS pixel: fonts and strokes are multiplied by it, so a canvas whose
    /// backing store is `devicePixelRatio` times its CSS size stays sharp.
    pub scale: f64,
    /// Offset of the viewer's time zone from UTC, for time-axis labels.
    pub utc_offset_secs: i32,
}

impl Default for DrawOptions {
    fn default() -> Self {
        DrawOptions {
            scale: 1.0,
            utc_offset_secs: 0,
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
        ("sans-serif", css_px * self.scale).into_font().color(&TEXT)
    }
}

/// Where the plotted values ended up in backend pixels, for hit-testing (tooltips, clicks).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChartLayout {
    /// The plotting area, `(left, top, right, bottom)` in backend pixels.
    pub plot: (i32, i32, i32, i32),
    /// The x range shown, in epoch milliseconds.
    pub x_range: (i64, i64),
    /// The y range shown.
    pub y_range: (f64, f64),
}

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the chart: {0}")]
pub struct ChartError(pub String);

fn chart_error<E: std::fmt::Debug>(error: E) -> ChartError {
    ChartError(format!("{error:?}"))
}

/// Text colour, light grid colour and axis colour shared by all charts.
pub(crate) const TEXT: RGBColor = RGBColor(52, 55, 65);
pub(crate) const GRID: RGBColor = RGBColor(230, 232, 237);
pub(crate) const AXIS: RGBColor = RGBColor(152, 162, 179);

/// Draws any chart on any plotters backend.
pub fn draw<DB: DrawingBackend>(
    backend: DB,
    data: &ChartData,
    options: &DrawOptions,
) -> Result<ChartLayout, ChartError> {
    let root = backend.into_drawing_area();
    root.fill(&WHITE).map_err(chart_error)?;
    let layout = match data {
        ChartData::TimeSeries(series) => draw_time_series(&root, series, options)?,
    };
    root.present().map_err(chart_error)?;
    Ok(layout)
}

/// Draws a centred message instead of a chart (no data, or an error).
pub fn draw_message<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    message: &str,
    options: &DrawOptions,
) -> Result<(), ChartError> {
    let (w, h) = area.dim_in_pixel();
    let style = options
        .font(14.0)
        .color(&AXIS)
        .pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Center,
        ));
    area.draw_text(message, &style, (w as i32 / 2, h as i32 / 2))
        .map_err(chart_error)
}
