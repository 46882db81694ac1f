//! `POST /api/search`, `POST /api/msearch` and `GET /api/fields`: the browser's read-only door
//! to the backend. Only index patterns on the allow-list are searched; every search has a
//! deadline; cluster credentials stay in the backend client.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::stream::{self, StreamExt};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{AppError, AppJson, AppState};
use crate::backend::embedded::search::check_hits_budget;
use crate::backend::embedded::wildcard_match;
use crate::backend::{BackendError, SearchRequest};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/search", post(search))
        .route("/msearch", post(msearch))
        .route("/fields", get(fields))
}

/// Which index expressions the browser may search.
#[derive(Clone, Debug)]
pub struct IndexAllowList(pub Vec<String>);

impl IndexAllowList {
    /// Every part of the expression must lie inside an allowed pattern (`cwl-2020.*` inside
    /// `cwl-*`); exclusions (`-x`) only narrow and are always fine.
    pub fn check(&self, expression: &str) -> Result<(), AppError> {
        let parts: Vec<&str> = expression
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        if parts.is_empty() {
            return Err(AppError::bad_request("an index pattern is required"));
        }
        for part in parts {
            if let Some(excluded) = part.strip_prefix('-') {
                validate_index_name(excluded)?;
                continue;
            }
            validate_index_name(part)?;
            // A `*` in the request is matched literally by the allowed pattern's wildcards.
            if !self.0.iter().any(|allowed| wildcard_match(allowed, part)) {
                return Err(AppError::Forbidden(format!(
                    "index [{part}] is not on this server's allow-list ({}); see --allowed-indices",
                    self.0.join(", ")
                )));
            }
        }
        Ok(())
    }
}

/// An index name (or a pattern of them) as Elasticsearch accepts it, checked before the
/// allow-list so that no character a pattern's `*` could match leads elsewhere
/// (`cwl-*/_delete_by_query`, `cwl-*/../.flowdash`).
pub fn validate_index_name(name: &str) -> Result<(), AppError> {
    const FORBIDDEN: &[char] = &['\\', '/', '?', '"', '<', '>', '|', ' ', ',', '#', ':'];
    let invalid = |why: &str| {
        Err(AppError::BadRequest {
            kind: "invalid_index_name_exception",
            reason: format!("Invalid index name [{name}], {why}"),
        })
    };
    if name.contains(FORBIDDEN) || name.chars().any(char::is_control) {
        return invalid(
            "must not contain the following characters [\\, /, ?, \", <, >, |, ' ', ',', #, :]",
        );
    }
    if name.starts_with(['_', '-', '+']) {
        return invalid("must not start with '_', '-', or '+'");
    }
    if name == "." || name == ".." {
        return invalid("must not be '.' or '..'");
    }
    if name.len() > 255 {
        return invalid("index name is too long, (> 255)");
    }
    if name.chars().any(|c| c.is_uppercase()) {
        return invalid("must be lowercase");
    }
    Ok(())
}

/// Runs one search within the server's deadline. The embedded engine keeps that deadline
/// itself, counted from the request (`EmbeddedEngine::run_search`): its collectors stop at it,
/// and it answers the timeout once the search's thread is free, so no timer here gives up on
/// a search that still runs. A cluster gets the timer.
pub(crate) async fn search_within_deadline(
    state: &AppState,
    index: &str,
    body: Value,
) -> Result<Value, BackendError> {
    within_deadline(state, state.backend.search(index, body)).await
}

/// [`search_within_deadline`], the answer as JSON text: a kept answer is passed on as it is.
async fn search_text_within_deadline(
    state: &AppState,
    index: &str,
    body: Value,
) -> Result<Arc<str>, BackendError> {
    within_deadline(state, state.backend.search_text(index, body)).await
}

async fn within_deadline<T>(
    state: &AppState,
    search: impl std::future::Future<Output = Result<T, BackendError>>,
) -> Result<T, BackendError> {
    if state.embedded.is_some() {
        return search.await;
    }
    let limit = state.limits.search_timeout;
    tokio::time::timeout(limit, search)
        .await
        .unwrap_or(Err(BackendError::Timeout(limit.as_millis() as u64)))
}

/// `POST /api/search`: the answer as the backend gives its text, so a kept answer is sent as
/// it was kept instead of read and written again (a day of per-minute buckets is 300 KB).
async fn search(
    State(state): State<AppState>,
    AppJson(request): AppJson<SearchRequest>,
) -> Result<Response, AppError> {
    state.allowed_indices.check(&request.index)?;
    let text = search_text_within_deadline(&state, &request.index, request.body).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        text.as_bytes().to_vec(),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
struct MsearchRequest {
    searches: Vec<SearchRequest>,
}

/// Maximum searches in one multi-search.
const MAX_SEARCHES: usize = app::api::MAX_MSEARCH_SEARCHES;

/// Searches of one multi-search that run at once: enough to keep the engine's threads busy,
/// few enough that one dashboard does not crowd out everyone else's.
const MSEARCH_CONCURRENCY: usize = 4;

/// A search's answer as a multi-search lists it, as JSON text: the response with
/// `"status": 200`, or the error body. A search outside the allow-list fails on its own; the
/// others still run.
async fn msearch_entry(state: &AppState, search: SearchRequest) -> String {
    if let Err(error) = state.allowed_indices.check(&search.index) {
        return error.to_body().to_string();
    }
    match search_text_within_deadline(state, &search.index, search.body).await {
        Ok(response) => with_status_200(&response),
        Err(error) => AppError::Backend(error).to_body().to_string(),
    }
}

/// A response object's text with `"status":200` added as its first member.
fn with_status_200(response: &str) -> String {
    match response.trim().strip_prefix('{') {
        Some(rest) if rest.trim_start().starts_with('}') => r#"{"status":200}"#.to_owned(),
        Some(rest) => format!(r#"{{"status":200,{rest}"#),
        // Not an object (never from a backend): passed on, as the tree path did.
        None => response.to_owned(),
    }
}

/// `POST /api/msearch`: every search runs on its own, [`MSEARCH_CONCURRENCY`] at a time, each
/// within its deadline ([`search_within_deadline`]). The answer is `{"responses": [...]}` in
/// request order; or, when the client accepts `application/x-ndjson`, one line
/// `{"index": i, "response": ...}` per search as soon as it is answered, so a dashboard draws
/// each panel when its answer arrives and a slow panel holds up no other.
async fn msearch(
    State(state): State<AppState>,
    headers: HeaderMap,
    AppJson(request): AppJson<MsearchRequest>,
) -> Result<Response, AppError> {
    if request.searches.len() > MAX_SEARCHES {
        return Err(AppError::bad_request(format!(
            "at most {MAX_SEARCHES} searches per request"
        )));
    }
    check_hits_budget(request.searches.iter().map(|s| &s.body))?;
    let streamed = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/x-ndjson"));
    let count = request.searches.len();
    let answers = stream::iter(request.searches.into_iter().enumerate())
        .map(move |(index, search)| {
            let state = state.clone();
            async move { (index, msearch_entry(&state, search).await) }
        })
        .buffer_unordered(MSEARCH_CONCURRENCY);
    // Answers are JSON text (a kept answer is never read and written again), joined here.
    if !streamed {
        let mut responses = vec![String::new(); count];
        let answered: Vec<(usize, String)> = answers.collect().await;
        for (index, response) in answered {
            responses[index] = response;
        }
        let body = format!(r#"{{"responses":[{}]}}"#, responses.join(","));
        return Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response());
    }
    let lines = answers.map(|(index, response)| {
        Ok::<_, std::convert::Infallible>(format!(
            "{{\"index\":{index},\"response\":{response}}}\n"
        ))
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::from_stream(lines),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
struct FieldsParams {
    index: String,
}

/// The fields of an index pattern, for the visualization editor.
async fn fields(
    State(state): State<AppState>,
    Query(params): Query<FieldsParams>,
) -> Result<Json<Value>, AppError> {
    state.allowed_indices.check(&params.index)?;
    let fields = state.backend.field_caps(&params.index).await?;
    Ok(Json(json!({ "fields": fields })))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_status_joins_any_response_object() {
        let joined = |text: &str| {
            serde_json::from_str::<serde_json::Value>(&super::with_status_200(text)).unwrap()
        };
        assert_eq!(joined("{}"), serde_json::json!({ "status": 200 }));
        assert_eq!(joined(" { } "), serde_json::json!({ "status": 200 }));
        assert_eq!(
            joined(r#"{"took":1,"hits":{"hits":[]}}"#),
            serde_json::json!({ "status": 200, "took": 1, "hits": { "hits": [] } })
        );
    }
}
