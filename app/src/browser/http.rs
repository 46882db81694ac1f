//! JSON over `fetch`, with the request aborted when the reactive owner that made it goes away.

use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, Request, RequestInit, Response};

use crate::api::ApiError;

/// `POST url` with a JSON body; decodes a JSON answer, or the API's error shape.
pub async fn post_json<B: Serialize, R: DeserializeOwned>(
    url: &str,
    body: &B,
) -> Result<R, ApiError> {
    let body = serde_json::to_string(body).map_err(|e| ApiError::Decode(e.to_string()))?;
    decode(&send("POST", url, Some((body, "application/json"))).await?)
}

/// `PUT url` with a JSON body.
pub async fn put_json<B: Serialize, R: DeserializeOwned>(
    url: &str,
    body: &B,
) -> Result<R, ApiError> {
    let body = serde_json::to_string(body).map_err(|e| ApiError::Decode(e.to_string()))?;
    decode(&send("PUT", url, Some((body, "application/json"))).await?)
}

/// `GET url`; decodes a JSON answer, or the API's error shape.
pub async fn get_json<R: DeserializeOwned>(url: &str) -> Result<R, ApiError> {
    decode(&send("GET", url, None).await?)
}

/// `DELETE url`.
pub async fn delete(url: &str) -> Result<(), ApiError> {
    send("DELETE", url, None).await.map(|_| ())
}

/// Leaves the page for `path` of this server.
pub fn go_to(path: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.location().assign(path);
    }
}

/// `POST url` with a text body; answers the text.
pub async fn post_text(url: &str, body: &str, content_type: &str) -> Result<String, ApiError> {
    send("POST", url, Some((body.to_owned(), content_type))).await
}

/// `POST url` with a JSON body, accepting NDJSON: calls `on_line` with each line as it
/// arrives, rather than when the whole answer is in.
pub async fn post_json_lines<B: Serialize>(
    url: &str,
    body: &B,
    mut on_line: impl FnMut(&str),
) -> Result<(), ApiError> {
    let body = serde_json::to_string(body).map_err(|e| ApiError::Decode(e.to_string()))?;
    let response = fetch(
        "POST",
        url,
        Some((body, "application/json")),
        "application/x-ndjson",
    )
    .await?;
    if !(200..300).contains(&response.status()) {
        return Err(ApiError::from_error_body(
            response.status(),
            &response_text(&response).await?,
        ));
    }
    let stream = response
        .body()
        .ok_or_else(|| ApiError::Network("an empty answer".into()))?;
    // Without options, getReader() gives the default reader.
    let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(js_error)?;
        let done = js_sys::Reflect::get(&chunk, &"done".into())
            .ok()
            .and_then(|d| d.as_bool())
            .unwrap_or(true);
        if let Ok(value) = js_sys::Reflect::get(&chunk, &"value".into()) {
            if let Some(bytes) = value.dyn_ref::<js_sys::Uint8Array>() {
                pending.extend(bytes.to_vec());
            }
        }
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            on_line(String::from_utf8_lossy(&line[..end]).trim());
        }
        if done {
            break;
        }
    }
    if !pending.is_empty() {
        on_line(String::from_utf8_lossy(&pending).trim());
    }
    Ok(())
}

fn decode<R: DeserializeOwned>(text: &str) -> Result<R, ApiError> {
    serde_json::from_str(text).map_err(|e| ApiError::Decode(e.to_string()))
}

async fn send(method: &str, url: &str, body: Option<(String, &str)>) -> Result<String, ApiError> {
    let response = fetch(method, url, body, "application/json").await?;
    let status = response.status();
    let text = response_text(&response).await?;
    if (200..300).contains(&status) {
        Ok(text)
    } else {
        Err(ApiError::from_error_body(status, &text))
    }
}

async fn response_text(response: &Response) -> Result<String, ApiError> {
    Ok(JsFuture::from(response.text().map_err(js_error)?)
        .await
        .map_err(js_error)?
        .as_string()
        .unwrap_or_default())
}

async fn fetch(
    method: &str,
    url: &str,
    body: Option<(String, &str)>,
    accept: &str,
) -> Result<Response, ApiError> {
    let window = web_sys::window().ok_or_else(|| ApiError::Network("no window".into()))?;
    let controller = AbortController::new().ok();
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(controller) = &controller {
        init.set_signal(Some(&controller.signal()));
    }
    if let Some((body, _)) = &body {
        init.set_body(&wasm_bindgen::JsValue::from_str(body));
    }
    let request = Request::new_with_str_and_init(url, &init).map_err(js_error)?;
    request.headers().set("accept", accept).map_err(js_error)?;
    if let Some((_, content_type)) = &body {
        request
            .headers()
            .set("content-type", content_type)
            .map_err(js_error)?;
    }
    // Abort the request if the component that asked for it is gone before it answers.
    let abort_on_cleanup = send_wrapper::SendWrapper::new(controller);
    leptos::prelude::on_cleanup(move || {
        if let Some(controller) = abort_on_cleanup.take() {
            controller.abort();
        }
    });
    JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(js_error)?
        .dyn_into()
        .map_err(js_error)
}

fn js_error(value: wasm_bindgen::JsValue) -> ApiError {
    ApiError::Network(
        value
            .as_string()
            .or_else(|| {
                js_sys::JSON::stringify(&value)
                    .ok()
                    .and_then(|s| s.as_string())
            })
            .unwrap_or_else(|| "request failed".into()),
    )
}
