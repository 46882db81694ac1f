//! Short links for long dashboard states: `POST /api/short_urls {"url"}` stores the path and
//! query of a flowdash URL and answers an id; `GET /goto/{id}` redirects to it.

use axum::extract::{Path, State};
use axum::response::Redirect;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{AppError, AppJson, AppState};

pub fn api_router() -> Router<AppState> {
    Router::new().route("/short_urls", post(create))
}

pub fn goto_router() -> Router<AppState> {
    Router::new().route("/goto/{id}", get(goto))
}

#[derive(Debug, Deserialize)]
struct ShortUrlRequest {
    url: String,
}

/// Only local paths are stored: a short link never redirects off the server.
fn local_path(url: &str) -> Result<String, AppError> {
    let path = match url.find("://") {
        Some(scheme_end) => {
            let rest = &url[scheme_end + 3..];
            rest.find('/')
                .map(|i| rest[i..].to_owned())
                .unwrap_or_else(|| "/".into())
        }
        None => url.to_owned(),
    };
    if !path.starts_with('/') || path.starts_with("//") || path.len() > 16 * 1024 {
        return Err(AppError::bad_request(
            "a short link takes a path of this server (at most 16 KiB)",
        ));
    }
    Ok(path)
}

async fn create(
    State(state): State<AppState>,
    AppJson(request): AppJson<ShortUrlRequest>,
) -> Result<Json<Value>, AppError> {
    let path = local_path(&request.url)?;
    let id = state.short_urls.put(&path).await?;
    Ok(Json(json!({ "id": id, "url": format!("/goto/{id}") })))
}

async fn goto(State(state): State<AppState>, Path(id): Path<String>) -> Result<Redirect, AppError> {
    let path = state
        .short_urls
        .get(&id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no short link [{id}]")))?;
    Ok(Redirect::to(&path))
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_local_paths() {
        assert_eq!(
            local_path("http://127.0.0.1:3000/dashboards/x?from=now-1h").unwrap(),
            "/dashboards/x?from=now-1h"
        );
        assert_eq!(local_path("/dashboards/x").unwrap(), "/dashboards/x");
        assert!(local_path("//evil.example/x").is_err());
        assert!(local_path("javascript:alert(1)").is_err());
    }
}
