//! The browser glue of `mod.rs` where there is no browser (the server's render, tests): the
//! same signatures, doing nothing. Components and pages call these from effects and event
//! handlers, which never run there, so they are written once, without `cfg`.

/// A render outside the browser draws times in UTC.
pub fn utc_offset_secs() -> i32 {
    0
}

pub fn time_zone() -> String {
    crate::model::time::format_utc_offset(utc_offset_secs())
}

pub fn chosen_time_zone() -> Option<&'static str> {
    None
}

pub fn set_time_zone(_zone: Option<&str>) {}

pub fn reload() {}

pub fn after(_ms: u64, _task: impl FnOnce() + 'static) {}

pub fn download(_filename: &str, _text: &str, _mime: &str) {}

pub fn storage_get(_key: &str) -> Option<String> {
    None
}

pub fn storage_set(_key: &str, _value: &str) {}

pub fn copy_to_clipboard(_text: &str) -> bool {
    false
}

pub fn origin() -> String {
    String::new()
}

/// Nobody is there to confirm.
pub fn confirm(_message: &str) -> bool {
    false
}

/// Nothing is left outside a browser.
pub fn warn_before_leaving(_message: &'static str, _dirty: leptos::prelude::Signal<bool>) {}

pub fn replace_url(_path: &str) {}

/// The server's render knows the theme from the request (`theme::provide_theme`).
pub fn theme_attr() -> Option<String> {
    None
}

pub fn set_theme_attr(_value: Option<&str>) {}

pub fn set_cookie(_name: &str, _value: &str) {}

pub fn tell_server_utc_offset() {}

/// Rendering on the server is the first paint.
pub fn first_paint() -> bool {
    true
}

pub fn watch_prefers_dark(_on_change: impl Fn(bool) + 'static) {}

pub fn on_control(_ev: &leptos::ev::PointerEvent) -> bool {
    false
}

pub fn capture_pointer(_ev: &leptos::ev::PointerEvent) {}

pub fn element_width(_selector: &str) -> Option<f64> {
    None
}

pub fn focus(_selector: &str) {}

pub fn focus_in(_root: leptos::prelude::NodeRef<leptos::html::Div>, _selector: &str) {}

pub fn arrow_focus(_ev: &leptos::ev::KeyboardEvent, _selector: &str) -> bool {
    false
}

pub fn pressed_within(_ev: &leptos::ev::PointerEvent, _selector: &str) -> bool {
    false
}

pub fn focus_left(_ev: &leptos::ev::FocusEvent) -> bool {
    false
}

pub fn read_chosen_file(
    _ev: &leptos::ev::Event,
    _on_text: impl FnOnce(Result<String, String>) + 'static,
) {
}

/// Charts are drawn on a canvas in the browser; the server sends `<noscript>` images.
pub mod canvas {
    use leptos::html::Canvas;
    use leptos::prelude::*;

    use crate::charts::{ChartLayout, DrawOptions};
    use crate::result::ChartData;

    pub fn attach_chart(
        _node: NodeRef<Canvas>,
        _data: Signal<Option<Result<ChartData, String>>>,
        _options: Signal<DrawOptions>,
        _layout: RwSignal<Option<ChartLayout>>,
    ) {
    }

    pub fn drawn_scale(_node: NodeRef<Canvas>) -> Option<f64> {
        None
    }
}

/// HTTP is made from the page; here every call answers that it cannot be made.
pub mod http {
    use serde::de::DeserializeOwned;
    use serde::Serialize;

    use crate::api::ApiError;

    fn no_browser() -> ApiError {
        ApiError::Network("HTTP calls are made from the browser".into())
    }

    /// Outside a browser: no HTTP call is made.
    pub async fn post_json<B: Serialize, R: DeserializeOwned>(
        _url: &str,
        _body: &B,
    ) -> Result<R, ApiError> {
        Err(no_browser())
    }

    /// Outside a browser: no HTTP call is made.
    pub async fn put_json<B: Serialize, R: DeserializeOwned>(
        _url: &str,
        _body: &B,
    ) -> Result<R, ApiError> {
        Err(no_browser())
    }

    /// Outside a browser: no HTTP call is made.
    pub async fn get_json<R: DeserializeOwned>(_url: &str) -> Result<R, ApiError> {
        Err(no_browser())
    }

    /// Outside a browser: no HTTP call is made.
    pub async fn delete(_url: &str) -> Result<(), ApiError> {
        Err(no_browser())
    }

    /// There is no page to leave outside a browser.
    pub fn go_to(_path: &str) {}

    /// Outside a browser: no HTTP call is made.
    pub async fn post_text(
        _url: &str,
        _body: &str,
        _content_type: &str,
    ) -> Result<String, ApiError> {
        Err(no_browser())
    }

    /// Outside a browser: no HTTP call is made.
    pub async fn post_json_lines<B: Serialize>(
        _url: &str,
        _body: &B,
        _on_line: impl FnMut(&str),
    ) -> Result<(), ApiError> {
        Err(no_browser())
    }
}
