//! Running a visualization on the server: `app::panels::run`, the browser's own path, with
//! the backend as its searcher, so a server render and a panel show the same numbers (same
//! time field, time zone and deadline).

use app::api::{ApiError, SearchRequest};
use app::model::visualization::Visualization;
use app::panels::{run_one, Library, Searcher, ViewInputs};
use app::result::ChartData;
use serde_json::Value;

use crate::http::{search_within_deadline, AppError, AppState};
use crate::store::FindQuery;

/// The chart data of `vis` in the view `inputs`, or the message to draw instead.
pub async fn chart_data(
    state: &AppState,
    vis: &Visualization,
    inputs: &ViewInputs,
) -> Result<ChartData, String> {
    let library = library(state).await?;
    run_one(&BackendSearch(state), vis, &library, inputs).await
}

/// The saved index patterns (a visualization's time field is its pattern's) and saved
/// searches (a visualization built on one takes its query and filters).
pub(crate) async fn library(state: &AppState) -> Result<Library, String> {
    let found = state
        .store
        .find(FindQuery {
            types: Library::TYPES.to_vec(),
            search: None,
            page: 1,
            per_page: 10_000,
        })
        .await
        .map_err(|e| e.to_string())?;
    Ok(Library::from_objects(found.saved_objects))
}

/// Searches as `/api/msearch` runs them for the browser: on the allow-list, each with the
/// search deadline, one failure not failing the others.
struct BackendSearch<'a>(&'a AppState);

impl Searcher for BackendSearch<'_> {
    async fn msearch(
        &self,
        searches: &[SearchRequest],
        mut on_answer: impl FnMut(usize, Result<Value, ApiError>),
    ) -> Result<(), ApiError> {
        for (index, search) in searches.iter().enumerate() {
            on_answer(index, self.search(search).await);
        }
        Ok(())
    }
}

impl BackendSearch<'_> {
    async fn search(&self, search: &SearchRequest) -> Result<Value, ApiError> {
        let state = self.0;
        let answer = match state.allowed_indices.check(&search.index) {
            Ok(()) => search_within_deadline(state, &search.index, search.body.clone())
                .await
                .map_err(AppError::from),
            Err(error) => Err(error),
        };
        // The error as the browser reads it from an answer: the same message in both places.
        answer.map_err(|error| {
            let body = error.to_body();
            ApiError::from_response(&body).unwrap_or_else(|| ApiError::from_error_value(500, &body))
        })
    }
}
