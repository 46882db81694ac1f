//! `POST /api/search`, `POST /api/msearch` and `GET /api/fields`: the browser's read-only door
//! to the backend. Only index patterns on the allow-list are searched; every search has a
//! deadline; cluster credentials stay in the backend client.

use std::time::Duration;

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

/// `work`, or a timeout error once `limit` has passed.
pub(crate) async fn with_deadline<T>(
    limit: Duration,
    work: impl std::future::Future<Output = Result<T, BackendError>>,
) -> Result<T, BackendError> {
    tokio::time::timeout(limit, work)
        .await
        .unwrap_or(Err(BackendError::Timeout(limit.as_millis() as u64)))
}

async fn search(
    State(state): State<AppState>,
    AppJson(request): AppJson<SearchRequest>,
) -> Result<Json<Value>, AppError> {
    state.allowed_indices.check(&request.index)?;
    let response = with_deadline(
        state.limits.search_timeout,
        state.backend.search(&request.index, request.body),
    )
    .await?;
    Ok(Json(response))
}

#[derive(Debug, Deserialize)]
struct MsearchRequest {
    searches: Vec<SearchRequest>,
}

/// Maximum searches in one multi-search.
const MAX_SEARCHES: usize = 100;

/// Searches of one streamed multi-search that run at once: enough to keep the engine's
/// threads busy, few enough that one dashboard does not crowd out everyone else's.
const STREAM_CONCURRENCY: usize = 4;

/// A search's answer as a multi-search lists it: the response with `"status": 200`, or the
/// error body.
fn answer_entry(result: Result<Value, BackendError>) -> Value {
    match result {
        Ok(mut response) => {
            if let Some(object) = response.as_object_mut() {
                object.insert("status".into(), json!(200));
            }
            response
        }
        Err(error) => AppError::Backend(error).to_body(),
    }
}

/// `POST /api/msearch`: `{"responses": [...]}` in request order; or, when the client accepts
/// `application/x-ndjson`, one line `{"index": i, "response": ...}` per search as soon as it is
/// answered, so a dashboard draws each panel when its answer arrives and a slow panel holds up
/// no other.
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
    if streamed {
        return Ok(stream_msearch(state, request.searches));
    }
    // A search outside the allow-list fails on its own; the others still run.
    let mut allowed = Vec::new();
    let mut slots: Vec<Option<Value>> = Vec::with_capacity(request.searches.len());
    for search in request.searches {
        match state.allowed_indices.check(&search.index) {
            Ok(()) => {
                allowed.push(search);
                slots.push(None);
            }
            Err(error) => slots.push(Some(error.to_body())),
        }
    }
    let results =
        with_deadline(state.limits.search_timeout, state.backend.msearch(allowed)).await?;
    let mut results = results.into_iter();
    let responses: Vec<Value> = slots
        .into_iter()
        .map(|slot| match slot {
            Some(error) => error,
            None => match results.next() {
                Some(result) => answer_entry(result),
                None => json!({ "error": { "type": "internal_error", "reason": "missing response" }, "status": 500 }),
            },
        })
        .collect();
    Ok(Json(json!({ "responses": responses })).into_response())
}

fn stream_msearch(state: AppState, searches: Vec<SearchRequest>) -> Response {
    let lines = stream::iter(searches.into_iter().enumerate())
        .map(move |(index, search)| {
            let state = state.clone();
            async move {
                let response = match state.allowed_indices.check(&search.index) {
                    Err(error) => error.to_body(),
                    Ok(()) => answer_entry(
                        with_deadline(
                            state.limits.search_timeout,
                            state.backend.search(&search.index, search.body),
                        )
                        .await,
                    ),
                };
                let mut line = json!({ "index": index, "response": response }).to_string();
                line.push('\n');
                Ok::<_, std::convert::Infallible>(line)
            }
        })
        .buffer_unordered(STREAM_CONCURRENCY);
    (
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::from_stream(lines),
    )
        .into_response()
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
