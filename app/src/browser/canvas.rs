//! A canvas that keeps its backing store at CSS size × devicePixelRatio and redraws on resize.

use leptos::html::Canvas;
use leptos::prelude::*;
use plotters::prelude::IntoDrawingArea;
use plotters_canvas::CanvasBackend;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::HtmlCanvasElement;

use crate::charts::{self, ChartLayout, DrawOptions};
use crate::result::ChartData;

/// The canvas's CSS size and the device pixel ratio it was measured at.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct CanvasSize {
    css_width: f64,
    css_height: f64,
    ratio: f64,
}

/// Draws `data` on the canvas behind `node`, and again whenever the data or the canvas size
/// changes. The last layout is written to `layout` for hit-testing.
pub fn attach_chart(
    node: NodeRef<Canvas>,
    data: Signal<Option<Result<ChartData, String>>>,
    options: Signal<DrawOptions>,
    layout: RwSignal<Option<ChartLayout>>,
) {
    let size = RwSignal::new(CanvasSize::default());
    Effect::new(move |_| {
        let Some(canvas) = node.get() else { return };
        size.set(measure(&canvas));
        let observed = canvas.clone();
        let on_resize = Closure::<dyn FnMut()>::new(move || size.set(measure(&observed)));
        let Ok(observer) = web_sys::ResizeObserver::new(on_resize.as_ref().unchecked_ref()) else {
            return;
        };
        observer.observe(&canvas);
        let keep = send_wrapper::SendWrapper::new((observer, on_resize));
        on_cleanup(move || keep.0.disconnect());
    });
    let theme = crate::theme::use_theme();
    Effect::new(move |_| {
        let Some(canvas) = node.get() else { return };
        let size = size.get();
        if size.css_width < 1.0 || size.css_height < 1.0 {
            return;
        }
        let options = DrawOptions {
            theme: theme.map_or(charts::ChartTheme::LIGHT, |t| t.chart()),
            ..options.get()
        };
        data.with(|data| {
            let drawn = draw(&canvas, size, data.as_ref(), options);
            layout.set(drawn);
        });
    });
}

fn measure(canvas: &HtmlCanvasElement) -> CanvasSize {
    let rect = canvas.get_bounding_client_rect();
    CanvasSize {
        css_width: rect.width(),
        css_height: rect.height(),
        ratio: web_sys::window()
            .map(|w| w.device_pixel_ratio())
            .unwrap_or(1.0)
            .max(1.0),
    }
}

fn draw(
    canvas: &HtmlCanvasElement,
    size: CanvasSize,
    data: Option<&Result<ChartData, String>>,
    options: DrawOptions,
) -> Option<ChartLayout> {
    canvas.set_width((size.css_width * size.ratio).round() as u32);
    canvas.set_height((size.css_height * size.ratio).round() as u32);
    let options = DrawOptions {
        scale: size.ratio,
        utc_offset_secs: browser_utc_offset_secs(),
        ..options
    };
    let backend = CanvasBackend::with_canvas_object(canvas.clone())?;
    match data {
        Some(Ok(data)) => match charts::draw(backend, data, &options) {
            Ok(layout) => Some(layout),
            Err(error) => {
                leptos::logging::error!("{error}");
                None
            }
        },
        // The message itself is HTML over the canvas (ChartPanel), where long text wraps.
        Some(Err(_)) => {
            let _ = backend.into_drawing_area().fill(&options.theme.background);
            None
        }
        None => None,
    }
}

/// Canvas pixels per CSS pixel of the canvas behind `node`, as it was last drawn; `None`
/// before it has a size.
pub fn drawn_scale(node: NodeRef<Canvas>) -> Option<f64> {
    let canvas = node.get_untracked()?;
    let css_width = canvas.get_bounding_client_rect().width();
    (css_width > 0.0).then(|| f64::from(canvas.width()) / css_width)
}

/// The browser's current offset from UTC in seconds (east positive).
pub fn browser_utc_offset_secs() -> i32 {
    // getTimezoneOffset is minutes *behind* UTC.
    (-js_sys::Date::new_0().get_timezone_offset() * 60.0) as i32
}
