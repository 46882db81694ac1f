//! Browser-only glue (compiled with the `hydrate` feature): HTTP from the page, canvas
//! drawing, resize observation, downloads, local storage. Components call into here; logic
//! stays in plain modules. Outside the browser `ssr.rs` stands in, with the same signatures
//! doing nothing, so components and pages are written once.

pub mod canvas;
pub mod http;

/// Where the browser keeps the time zone chosen instead of its own (an IANA name).
const TIME_ZONE_KEY: &str = "flowdash.timeZone";

/// The time zone chosen in the time picker, if any (one of `model::time::TIME_ZONES`).
pub fn chosen_time_zone() -> Option<&'static str> {
    crate::model::time::known_time_zone(&storage_get(TIME_ZONE_KEY)?)
}

/// Keeps `zone` as the time zone of every page, or the browser's again for `None`.
pub fn set_time_zone(zone: Option<&str>) {
    storage_set(TIME_ZONE_KEY, zone.unwrap_or_default());
    tell_server_utc_offset();
}

/// Whether the page is still the server's first paint: true while the server-rendered page
/// hydrates, false for views built later by navigating in the browser (set in `frontend`).
pub fn first_paint() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
        .is_none_or(|body| body.get_attribute("data-hydrated").is_none())
}

/// Tells the server the viewer's offset from UTC now (see
/// [`crate::model::time::UTC_OFFSET_COOKIE`]); refreshed at every page load, so it follows
/// daylight saving time.
pub fn tell_server_utc_offset() {
    set_cookie(
        crate::model::time::UTC_OFFSET_COOKIE,
        &crate::model::time::format_utc_offset(utc_offset_secs()),
    );
}

/// The viewer's offset from UTC now, in seconds: the chosen zone's, or the browser's.
pub fn utc_offset_secs() -> i32 {
    chosen_time_zone()
        .and_then(zone_offset_secs)
        .unwrap_or_else(canvas::browser_utc_offset_secs)
}

/// The viewer's time zone as Elasticsearch takes it, for calendar intervals: the chosen
/// zone's name (so buckets follow its daylight saving time), or the browser's offset
/// (`+09:00`).
pub fn time_zone() -> String {
    match chosen_time_zone() {
        Some(zone) => zone.to_owned(),
        None => crate::model::time::format_utc_offset(utc_offset_secs()),
    }
}

/// `zone`'s offset from UTC now, in seconds, as the browser's time-zone data knows it: the
/// wall-clock time there, read back as if it were UTC, minus the time.
fn zone_offset_secs(zone: &str) -> Option<i32> {
    use wasm_bindgen::JsValue;
    let now = js_sys::Date::new_0();
    let options = js_sys::Object::new();
    for (key, value) in [
        ("timeZone", zone),
        ("hourCycle", "h23"),
        ("year", "numeric"),
        ("month", "numeric"),
        ("day", "numeric"),
        ("hour", "numeric"),
        ("minute", "numeric"),
        ("second", "numeric"),
    ] {
        js_sys::Reflect::set(&options, &JsValue::from_str(key), &JsValue::from_str(value)).ok()?;
    }
    // "12/3/2026, 18:05:09" in en-US.
    let wall: String = now.to_locale_string("en-US", &options).into();
    let (date, time) = wall.split_once(", ")?;
    let mut date = date.split('/').map(|p| p.trim().parse::<u32>().ok());
    let (month, day, year) = (date.next()??, date.next()??, date.next()??);
    let mut time = time.split(':').map(|p| p.trim().parse::<u32>().ok());
    let (hour, minute, second) = (time.next()??, time.next()??, time.next()??);
    let local = chrono::NaiveDate::from_ymd_opt(year as i32, month, day)?
        .and_hms_opt(hour, minute, second)?
        .and_utc()
        .timestamp();
    let utc = (now.get_time() / 1000.0).floor() as i64;
    // Offsets are whole minutes.
    Some((((local - utc) as f64 / 60.0).round() * 60.0) as i32)
}

/// Loads the page again (after a setting every part of it depends on).
pub fn reload() {
    if let Some(window) = web_sys::window() {
        let _ = window.location().reload();
    }
}

/// Runs `task` once, `ms` milliseconds from now.
pub fn after(ms: u64, task: impl FnOnce() + 'static) {
    leptos::prelude::set_timeout(task, std::time::Duration::from_millis(ms));
}

/// Offers `text` as a file download.
pub fn download(filename: &str, text: &str, mime: &str) {
    use wasm_bindgen::JsCast;
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    if let Ok(anchor) = document.create_element("a") {
        if let Ok(anchor) = anchor.dyn_into::<web_sys::HtmlAnchorElement>() {
            anchor.set_href(&url);
            anchor.set_download(filename);
            anchor.click();
        }
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}

/// A value kept in the browser across pages (pinned filters).
pub fn storage_get(key: &str) -> Option<String> {
    web_sys::window()?
        .local_storage()
        .ok()??
        .get_item(key)
        .ok()?
}

pub fn storage_set(key: &str, value: &str) {
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = storage.set_item(key, value);
    }
}

/// Copies text to the clipboard where the browser offers one: `navigator.clipboard` exists
/// only in secure contexts (HTTPS, localhost), not on a plain-HTTP team server, so callers
/// always show the text too. Answers whether it was copied.
pub fn copy_to_clipboard(text: &str) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let navigator = window.navigator();
    let has_clipboard = js_sys::Reflect::get(&navigator, &"clipboard".into())
        .is_ok_and(|c| !c.is_undefined() && !c.is_null());
    if has_clipboard {
        let _ = navigator.clipboard().write_text(text);
    }
    has_clipboard
}

/// The page's origin (`http://127.0.0.1:3000`).
pub fn origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}

/// Asks the user to confirm (the browser's own dialog).
pub fn confirm(message: &str) -> bool {
    web_sys::window()
        .and_then(|w| w.confirm_with_message(message).ok())
        .unwrap_or(false)
}

/// Asks before unsaved work is left while `dirty` says so: the browser's own question when
/// the page unloads (reload, close, another address), and [`confirm`] with `message` when a
/// link inside the app is clicked (declining keeps the page). The listeners go when the
/// calling component is cleaned up.
pub fn warn_before_leaving(message: &'static str, dirty: leptos::prelude::Signal<bool>) {
    use leptos::prelude::{on_cleanup, GetUntracked};
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    let Some(window) = web_sys::window() else {
        return;
    };
    let Some(document) = window.document() else {
        return;
    };
    // A disposed signal (the page is going) has nothing left to lose.
    let is_dirty = move || dirty.try_get_untracked().unwrap_or(false);
    let on_unload = Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| {
        if is_dirty() {
            ev.prevent_default();
            // Older browsers ask only when `returnValue` is set.
            let _ = js_sys::Reflect::set(&ev, &"returnValue".into(), &"".into());
        }
    });
    // Before the router's own click handler (on the window), which leaves a click whose
    // default was prevented alone.
    let on_click =
        Closure::<dyn FnMut(web_sys::MouseEvent)>::new(move |ev: web_sys::MouseEvent| {
            if ev.default_prevented()
                || ev.button() != 0
                || ev.ctrl_key()
                || ev.meta_key()
                || ev.shift_key()
                || ev.alt_key()
            {
                return;
            }
            let anchor = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .and_then(|e| e.closest("a[href]").ok().flatten());
            let Some(anchor) = anchor else {
                return;
            };
            if anchor.has_attribute("download")
                || anchor
                    .get_attribute("target")
                    .is_some_and(|t| !t.is_empty() && t != "_self")
            {
                return;
            }
            if is_dirty() && !confirm(message) {
                ev.prevent_default();
                ev.stop_propagation();
            }
        });
    let _ =
        window.add_event_listener_with_callback("beforeunload", on_unload.as_ref().unchecked_ref());
    let _ = document.add_event_listener_with_callback_and_bool(
        "click",
        on_click.as_ref().unchecked_ref(),
        true,
    );
    let keep = send_wrapper::SendWrapper::new((window, document, on_unload, on_click));
    on_cleanup(move || {
        let (window, document, on_unload, on_click) = &*keep;
        let _ = window.remove_event_listener_with_callback(
            "beforeunload",
            on_unload.as_ref().unchecked_ref(),
        );
        let _ = document.remove_event_listener_with_callback_and_bool(
            "click",
            on_click.as_ref().unchecked_ref(),
            true,
        );
    });
}

/// The `data-theme` attribute of `<html>`, as the server rendered it.
pub fn theme_attr() -> Option<String> {
    web_sys::window()?
        .document()?
        .document_element()?
        .get_attribute("data-theme")
}

/// Sets (or, with `None`, removes) the `data-theme` attribute of `<html>`.
pub fn set_theme_attr(value: Option<&str>) {
    let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    else {
        return;
    };
    let _ = match value {
        Some(value) => root.set_attribute("data-theme", value),
        None => root.remove_attribute("data-theme"),
    };
}

/// Keeps `name=value` in a cookie for this server's pages for a year (a preference, read by
/// the server's render; not a credential, so script may set it).
pub fn set_cookie(name: &str, value: &str) {
    use wasm_bindgen::JsCast;
    if let Some(document) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.dyn_into::<web_sys::HtmlDocument>().ok())
    {
        let _ = document.set_cookie(&format!(
            "{name}={value}; Path=/; Max-Age=31536000; SameSite=Lax"
        ));
    }
}

/// Calls `on_change` with whether the system prefers dark colours, now and whenever that
/// changes. The listener lives as long as the page.
pub fn watch_prefers_dark(on_change: impl Fn(bool) + 'static) {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    let Some(query) = web_sys::window()
        .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok())
        .flatten()
    else {
        return;
    };
    on_change(query.matches());
    let listener = Closure::<dyn FnMut(web_sys::MediaQueryListEvent)>::new(
        move |ev: web_sys::MediaQueryListEvent| on_change(ev.matches()),
    );
    let _ = query.add_event_listener_with_callback("change", listener.as_ref().unchecked_ref());
    // The App's one listener, for the page's lifetime.
    listener.forget();
}

/// Shows `path` in the address bar without leaving the page (a new object's address).
pub fn replace_url(path: &str) {
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(path));
    }
}

/// Whether the pointer went down on a control (button, link, field) rather than on the
/// surface around it: a control's click is not the start of a drag.
pub fn on_control(ev: &leptos::ev::PointerEvent) -> bool {
    use wasm_bindgen::JsCast;
    ev.target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|e| {
            e.closest("button, a, input, select, textarea")
                .ok()
                .flatten()
        })
        .is_some()
}

/// Keeps sending a pointer's events to the element it went down on, so a drag goes on
/// when the pointer leaves it.
pub fn capture_pointer(ev: &leptos::ev::PointerEvent) {
    use wasm_bindgen::JsCast;
    if let Some(target) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
    {
        let _ = target.set_pointer_capture(ev.pointer_id());
    }
}

/// The width in CSS pixels of the first element `selector` finds.
pub fn element_width(selector: &str) -> Option<f64> {
    web_sys::window()?
        .document()?
        .query_selector(selector)
        .ok()??
        .get_bounding_client_rect()
        .width()
        .into()
}

/// Moves the keyboard focus to the first element matching `selector`, after the next frame
/// (when a just-shown element exists).
pub fn focus(selector: &str) {
    use wasm_bindgen::JsCast;
    let selector = selector.to_owned();
    leptos::prelude::request_animation_frame(move || {
        let element = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector(&selector).ok().flatten())
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
        if let Some(element) = element {
            let _ = element.focus();
        }
    });
}

/// Moves the keyboard focus to the first element matching `selector` inside `root`, after the
/// next frame (when a just-shown element exists). Scoped, so one panel never takes another's.
pub fn focus_in(root: leptos::prelude::NodeRef<leptos::html::Div>, selector: &str) {
    use leptos::prelude::GetUntracked;
    use wasm_bindgen::JsCast;
    let selector = selector.to_owned();
    leptos::prelude::request_animation_frame(move || {
        let element = root
            .get_untracked()
            .and_then(|r| r.query_selector(&selector).ok().flatten())
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
        if let Some(element) = element {
            let _ = element.focus();
        }
    });
}

/// Arrow keys move the focus to the next or previous `selector` element inside the element
/// listening, so a long list of buttons is one tab stop. Whether the key was an arrow.
pub fn arrow_focus(ev: &leptos::ev::KeyboardEvent, selector: &str) -> bool {
    use wasm_bindgen::JsCast;
    let step: i64 = match ev.key().as_str() {
        "ArrowDown" | "ArrowRight" => 1,
        "ArrowUp" | "ArrowLeft" => -1,
        _ => return false,
    };
    let Some(list) = ev
        .current_target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|e| e.query_selector_all(selector).ok())
    else {
        return false;
    };
    let active = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.active_element());
    let count = i64::from(list.length());
    let at = (0..list.length())
        .find(|&i| {
            let item = list.item(i);
            matches!((&item, &active), (Some(item), Some(active)) if item == active.as_ref())
        })
        .map_or(-1, i64::from);
    if count == 0 {
        return false;
    }
    let next = (at + step).rem_euclid(count) as u32;
    if let Some(element) = list
        .item(next)
        .and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = element.focus();
    }
    true
}

/// Whether a `focusout` moves the focus out of the element listening for it (to another
/// part of the page, or to none).
pub fn focus_left(ev: &leptos::ev::FocusEvent) -> bool {
    use wasm_bindgen::JsCast;
    let within = ev
        .current_target()
        .and_then(|t| t.dyn_into::<web_sys::Node>().ok());
    let next = ev
        .related_target()
        .and_then(|t| t.dyn_into::<web_sys::Node>().ok());
    match (within, next) {
        (Some(within), Some(next)) => !within.contains(Some(&next)),
        _ => true,
    }
}

/// Whether a pointer event happened inside an element matching `selector`.
pub fn pressed_within(ev: &leptos::ev::PointerEvent, selector: &str) -> bool {
    use wasm_bindgen::JsCast;
    ev.target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|element| element.closest(selector).ok().flatten())
        .is_some()
}

/// Reads the file chosen in the `<input type="file">` that sent `ev`, and hands its text (or
/// why it could not be read) to `on_text`. Nothing happens when no file was chosen.
pub fn read_chosen_file(
    ev: &leptos::ev::Event,
    on_text: impl FnOnce(Result<String, String>) + 'static,
) {
    use wasm_bindgen::JsCast;
    let Some(file) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        .and_then(|input| input.files())
        .and_then(|files| files.get(0))
    else {
        return;
    };
    leptos::task::spawn_local(async move {
        let text = wasm_bindgen_futures::JsFuture::from(file.text()).await;
        on_text(
            text.map(|content| content.as_string().unwrap_or_default())
                .map_err(|_| "The file could not be read".to_owned()),
        );
    });
}
