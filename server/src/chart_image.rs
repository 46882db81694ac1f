//! Charts as images: the same plotters drawing code as the browser, on an SVG or bitmap
//! backend. PNG text uses the bundled DejaVu Sans.

use std::sync::Once;

use app::charts::{self, DrawOptions};
use app::result::ChartData;
use plotters::prelude::{BitMapBackend, SVGBackend};

/// Largest image side, in pixels.
pub const MAX_SIDE: u32 = 4000;

/// Largest image area, in pixels: a bitmap is three bytes a pixel, and twenty renders of
/// 4000 × 4000 at once took 917 MB.
pub const MAX_PIXELS: u32 = 4_000_000;

/// The image file types a chart is drawn as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageFormat {
    /// Scalable vector graphics, as text.
    Svg,
    /// A bitmap, with the bundled font for its text.
    Png,
}

impl ImageFormat {
    /// The `Content-Type` of an answer in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            ImageFormat::Svg => "image/svg+xml",
            ImageFormat::Png => "image/png",
        }
    }
}

/// Why a chart could not be drawn as an image.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The size asked for is outside the limits (a 400 to the client).
    #[error("width and height must be between 16 and {MAX_SIDE} pixels, and the image at most {MAX_PIXELS} pixels")]
    BadSize,
    /// The chart code could not draw the data.
    #[error(transparent)]
    Chart(#[from] charts::ChartError),
    /// The bitmap could not be written as PNG.
    #[error("cannot encode the PNG: {0}")]
    Encode(String),
}

static FONTS: Once = Once::new();

/// Registers the bundled font for bitmap text (once per process).
pub fn register_fonts() {
    FONTS.call_once(|| {
        static DEJAVU: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
        for style in [
            plotters::style::FontStyle::Normal,
            plotters::style::FontStyle::Bold,
        ] {
            if plotters::style::register_font("sans-serif", style, DEJAVU).is_err() {
                tracing::error!("the bundled font could not be loaded");
            }
        }
    });
}

/// The SVG without the characters XML cannot hold. Values come from flow records and
/// `_bulk` documents, which may carry control characters (an ANSI escape in an ENI id): one
/// of them in a label made the whole image unreadable.
fn xml_safe(mut svg: String) -> String {
    svg.retain(|c| {
        (!c.is_control() || matches!(c, '\t' | '\n' | '\r'))
            && !matches!(c, '\u{FFFE}' | '\u{FFFF}')
    });
    svg
}

/// Draws chart data (or a message, for errors and empty results) as an image.
pub fn render(
    data: Result<&ChartData, &str>,
    options: &DrawOptions,
    width: u32,
    height: u32,
    format: ImageFormat,
) -> Result<Vec<u8>, RenderError> {
    if !(16..=MAX_SIDE).contains(&width)
        || !(16..=MAX_SIDE).contains(&height)
        || width * height > MAX_PIXELS
    {
        return Err(RenderError::BadSize);
    }
    register_fonts();
    match format {
        ImageFormat::Svg => {
            let mut text = String::new();
            {
                let backend = SVGBackend::with_string(&mut text, (width, height));
                match data {
                    Ok(data) => charts::draw(backend, data, options).map(|_| ())?,
                    Err(message) => charts::draw_message_only(backend, message, options)?,
                }
            }
            Ok(xml_safe(text).into_bytes())
        }
        ImageFormat::Png => {
            let mut pixels = vec![0u8; width as usize * height as usize * 3];
            {
                let backend = BitMapBackend::with_buffer(&mut pixels, (width, height));
                match data {
                    Ok(data) => charts::draw(backend, data, options).map(|_| ())?,
                    Err(message) => charts::draw_message_only(backend, message, options)?,
                }
            }
            let mut png_bytes = Vec::new();
            {
                let mut encoder = png::Encoder::new(&mut png_bytes, width, height);
                encoder.set_color(png::ColorType::Rgb);
                encoder.set_depth(png::BitDepth::Eight);
                let mut writer = encoder
                    .write_header()
                    .map_err(|e| RenderError::Encode(e.to_string()))?;
                writer
                    .write_image_data(&pixels)
                    .map_err(|e| RenderError::Encode(e.to_string()))?;
            }
            Ok(png_bytes)
        }
    }
}
