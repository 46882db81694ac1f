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

/// The pages a short link may lead to: a short link never redirects off the server, nor to
/// the API.
const PAGES: &[&str] = &["", "dashboards", "visualize", "discover", "management"];

/// The path and query of a flowdash page, from a full URL or a path. Checked when a link is
/// stored and again when it is followed (a link stored in the cluster's `.flowdash` index may
/// have been written by anyone).
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
    let refuse = |why: &str| {
        Err(AppError::bad_request(format!(
            "a short link takes the path of a flowdash page (at most 16 KiB): {why}"
        )))
    };
    if path.len() > 16 * 1024 {
        return refuse("too long");
    }
    // Browsers read `\` as `/` and drop tabs and newlines, so `/\evil.example` and
    // `/\t/evil.example` lead off the server: no backslash, control character or space at all.
    if path
        .chars()
        .any(|c| c == '\\' || c.is_control() || c.is_whitespace())
    {
        return refuse("backslashes, spaces and control characters are not allowed");
    }
    let Some(rest) = path.strip_prefix('/') else {
        return refuse("it must start with /");
    };
    let first = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if !PAGES.contains(&first) || rest.starts_with('/') {
        return refuse("not a page of this server");
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
    Ok(Redirect::to(&local_path(&path)?))
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
        assert_eq!(local_path("/").unwrap(), "/");
        assert_eq!(local_path("/?from=now-1h").unwrap(), "/?from=now-1h");
        for hostile in [
            "//evil.example/x",
            "/\\evil.example/x",
            "/\t/evil.example",
            "/%09/x",
            "javascript:alert(1)",
            "/api/saved_objects/_export",
            "/goto/abc",
            "dashboards/x",
        ] {
            assert!(local_path(hostile).is_err(), "{hostile}");
        }
    }
}
