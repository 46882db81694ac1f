//! Running visualizations for a view: one request per panel from the view's time, query and
//! filters, one chart per answer. The browser and the server run them the same way; only
//! where the searches go differs (a [`Searcher`]).

use std::future::Future;

use serde_json::Value;

use crate::api::{ApiError, SearchRequest, MAX_MSEARCH_SEARCHES};
use crate::model::filter::{Filter, QueryText};
use crate::model::index_pattern::{formats_of, time_field_of, IndexPattern};
use crate::model::network::{Networks, NetworksObject, NETWORKS_ID, NO_NETWORKS};
use crate::model::saved_object::{ObjectType, SavedObject};
use crate::model::search::{with_saved_search, SavedSearch, SavedSearches};
use crate::model::time::{Resolved, TimeRange};
use crate::model::visualization::Visualization;
use crate::query::{build_request, SearchContext};
use crate::result::{chart_data, ChartData};

/// Given by the server to the pages it renders: starts drawing a panel's image (its address,
/// as the page's `<img>` asks for it) while the rest of the page is rendered and sent, so the
/// browser's request finds it drawn or on its way instead of waiting its turn behind the other
/// images and the WASM's compiling. The browser never has one.
#[derive(Clone)]
pub struct Prerender(pub std::sync::Arc<dyn Fn(&str) + Send + Sync>);

impl Prerender {
    /// Begins drawing the image at `image_address`.
    pub fn start(&self, image_address: &str) {
        (self.0)(image_address)
    }
}

/// The saved objects visualizations run with: index patterns (their time fields) and saved
/// searches (what visualizations built on one take from it).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Library {
    /// Index patterns, for their time fields.
    pub patterns: Vec<IndexPattern>,
    /// Saved searches by id.
    pub searches: SavedSearches,
    /// The named address ranges, for splits by network and direction.
    pub networks: Networks,
}

impl Library {
    /// The saved-object types a library is made of.
    pub const TYPES: [ObjectType; 3] = [
        ObjectType::IndexPattern,
        ObjectType::Search,
        ObjectType::Networks,
    ];

    /// The library in saved objects of any type: index patterns and saved searches are kept,
    /// objects that do not read as their type left out.
    pub fn from_objects(objects: impl IntoIterator<Item = SavedObject>) -> Library {
        let mut library = Library::default();
        for object in objects {
            match object.object_type {
                ObjectType::IndexPattern => {
                    if let Some(pattern) = IndexPattern::from_stored(object.attributes) {
                        library.patterns.push(pattern);
                    }
                }
                ObjectType::Search => {
                    if let Ok(search) = SavedSearch::from_value(object.attributes) {
                        library.searches.insert(object.id, search);
                    }
                }
                ObjectType::Networks if object.id == NETWORKS_ID => {
                    if let Ok((_, networks)) = NetworksObject::from_value(object.attributes) {
                        library.networks = networks;
                    }
                }
                _ => {}
            }
        }
        library
    }
}

/// The inputs every panel of a view shares.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewInputs {
    /// The time range, resolved.
    pub time: Resolved,
    /// The view's query.
    pub query: QueryText,
    /// The view's filters.
    pub filters: Vec<Filter>,
    /// The viewer's zone for calendar intervals (`+09:00`).
    pub time_zone: Option<String>,
    /// When the view was resolved: rates divide by the part of the range before it.
    pub now_ms: i64,
}

impl ViewInputs {
    /// Where and when a request built from this view searches, on `time_field`.
    pub fn context<'a>(&'a self, time_field: &'a str) -> SearchContext<'a> {
        SearchContext {
            time: self.time,
            time_field,
            query: &self.query,
            filters: &self.filters,
            time_zone: self.time_zone.clone(),
            networks: &NO_NETWORKS,
        }
    }

    /// The inputs of a view: its time range resolved at `now_ms`, and its query and filters.
    pub fn resolve(
        time: &TimeRange,
        query: QueryText,
        filters: Vec<Filter>,
        now_ms: i64,
        utc_offset_secs: i32,
        time_zone: Option<String>,
    ) -> Result<ViewInputs, String> {
        let time = time
            .resolve(now_ms, utc_offset_secs)
            .map_err(|e| e.to_string())?;
        Ok(ViewInputs {
            time,
            query,
            filters,
            time_zone,
            now_ms,
        })
    }
}

/// Where a view's searches run: the browser's streamed `/api/msearch` ([`ApiSearch`]), or
/// the server's backend when it draws a visualization itself.
pub trait Searcher {
    /// Runs `searches` and calls `on_answer(i, answer)` for each as it is answered, in any
    /// order; a search left unanswered gets an error. `Err` when none could be run.
    fn msearch(
        &self,
        searches: &[SearchRequest],
        on_answer: impl FnMut(usize, Result<Value, ApiError>),
    ) -> impl Future<Output = Result<(), ApiError>>;
}

/// The browser's searcher: one streamed multi-search over HTTP.
pub struct ApiSearch;

impl Searcher for ApiSearch {
    async fn msearch(
        &self,
        searches: &[SearchRequest],
        on_answer: impl FnMut(usize, Result<Value, ApiError>),
    ) -> Result<(), ApiError> {
        crate::api::calls::msearch(searches, on_answer).await
    }
}

/// The search of one panel, over its index pattern's time field.
pub fn panel_request(
    vis: &Visualization,
    time_field: &str,
    networks: &Networks,
    inputs: &ViewInputs,
) -> Result<SearchRequest, String> {
    let context = SearchContext {
        networks,
        ..inputs.context(time_field)
    };
    let body = build_request(vis, &context).map_err(|e| e.to_string())?;
    Ok(SearchRequest {
        index: vis.index_pattern.clone(),
        body,
    })
}

/// A search as it was sent and answered, for Inspect.
pub type Exchange<'a> = (&'a SearchRequest, &'a Value);

/// Runs visualizations: the one path from visualizations to charts, for the dashboard, the
/// editor's preview and the server's images. Each searches its index pattern (time field
/// from the library's patterns; a visualization built on a saved search with that search's
/// pattern, query and filters) with the view's time, query, filters and zone; all go in one
/// multi-search, and `on_chart(i, chart, exchange)` is called for each as soon as its chart
/// is known, so panels draw one by one. `exchange` is the search and its answer, when the
/// search was answered.
pub async fn run(
    searcher: &impl Searcher,
    visualizations: &[Visualization],
    library: &Library,
    inputs: &ViewInputs,
    on_chart: impl FnMut(usize, Result<ChartData, String>, Option<Exchange<'_>>),
) {
    let runs: Vec<_> = visualizations.iter().map(|vis| (vis, inputs)).collect();
    run_in_views(searcher, &runs, library, on_chart).await
}

/// [`run`], each visualization in a view of its own (a dashboard's input controls search
/// without their own filters), still in one multi-search.
pub async fn run_in_views(
    searcher: &impl Searcher,
    runs: &[(&Visualization, &ViewInputs)],
    library: &Library,
    mut on_chart: impl FnMut(usize, Result<ChartData, String>, Option<Exchange<'_>>),
) {
    let mut requests = Vec::new();
    let mut request_of = Vec::new(); // request index -> run index
    let mut formats = Vec::new(); // request index -> its pattern's field formats
    for (index, (vis, inputs)) in runs.iter().enumerate() {
        let request = with_saved_search(vis, &library.searches).and_then(|vis| {
            let request = panel_request(
                &vis,
                time_field_of(&library.patterns, &vis.index_pattern),
                &library.networks,
                inputs,
            )?;
            Ok((request, formats_of(&library.patterns, &vis.index_pattern)))
        });
        match request {
            Ok((request, pattern_formats)) => {
                request_of.push(index);
                requests.push(request);
                formats.push(pattern_formats);
            }
            Err(error) => on_chart(index, Err(error), None),
        }
    }
    // One multi-search, unless there are more searches than one may carry (a dashboard of
    // many panels and controls): then one after another.
    for (batch, requests) in requests.chunks(MAX_MSEARCH_SEARCHES).enumerate() {
        let first = batch * MAX_MSEARCH_SEARCHES;
        let request_of = &request_of[first..first + requests.len()];
        let formats = &formats[first..first + requests.len()];
        let streamed = searcher
            .msearch(requests, |i, answer| {
                // A searcher's index outside the requests is a bug there; not worth a panic.
                if let (Some(&index), Some(formats)) = (request_of.get(i), formats.get(i)) {
                    let (vis, inputs) = runs[index];
                    match answer {
                        Ok(response) => {
                            let chart =
                                chart_data(vis, &response, inputs.time, inputs.now_ms, formats)
                                    .map_err(|e| e.to_string());
                            on_chart(index, chart, Some((&requests[i], &response)));
                        }
                        Err(error) => on_chart(index, Err(error.to_string()), None),
                    }
                }
            })
            .await;
        if let Err(error) = streamed {
            for &index in request_of {
                on_chart(index, Err(error.to_string()), None);
            }
        }
    }
}

/// Runs one visualization (see [`run`]) and answers its chart.
pub async fn run_one(
    searcher: &impl Searcher,
    vis: &Visualization,
    library: &Library,
    inputs: &ViewInputs,
) -> Result<ChartData, String> {
    let mut chart = Err("the search was not answered".to_owned());
    run(
        searcher,
        std::slice::from_ref(vis),
        library,
        inputs,
        |_, answer, _| chart = answer,
    )
    .await;
    chart
}

/// Makes a browser future usable where Leptos wants a `Send` one (the browser has one thread).
#[cfg(feature = "hydrate")]
pub fn sendable<F: std::future::Future>(
    future: F,
) -> impl std::future::Future<Output = F::Output> + Send {
    send_wrapper::SendWrapper::new(future)
}

/// Outside the browser, futures are `Send` already.
#[cfg(not(feature = "hydrate"))]
pub fn sendable<F: std::future::Future + Send>(
    future: F,
) -> impl std::future::Future<Output = F::Output> + Send {
    future
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::field_format::FieldFormat;
    use crate::model::time::TimeRange;

    /// A field format that does not read costs that format, not the index pattern.
    #[test]
    fn a_bad_field_format_leaves_the_pattern() {
        let object = |attributes: Value| SavedObject {
            id: "p".into(),
            object_type: ObjectType::IndexPattern,
            version: 1,
            updated_at: String::new(),
            attributes,
            references: Vec::new(),
        };
        let library = Library::from_objects([object(serde_json::json!({
            "title": "flows-*", "time_field": "event_time",
            "field_formats": { "bytes": { "id": "number" }, "srcaddr": { "id": "color" },
                "dstaddr": { "id": "url", "template": "javascript:x" } } }))]);
        let [pattern] = library.patterns.try_into().unwrap();
        assert_eq!(pattern.time_field, "event_time");
        assert_eq!(pattern.field_formats.0.len(), 1);
        assert_eq!(pattern.field_formats.of("bytes"), FieldFormat::Number);
    }

    /// Each visualization's range is on its own index pattern's time field.
    #[test]
    fn requests_search_the_index_patterns_time_field() {
        let inputs = ViewInputs::resolve(
            &TimeRange::last("1h"),
            QueryText::default(),
            Vec::new(),
            1_583_471_220_000,
            0,
            None,
        )
        .unwrap();
        let patterns = [IndexPattern {
            title: "flows-*".into(),
            time_field: "event_time".into(),
            fields: Vec::new(),
            field_formats: Default::default(),
        }];
        let mut vis = Visualization::example_action_port_pie();
        for (index_pattern, time_field) in [("flows-*", "event_time"), ("cwl-*", "@timestamp")] {
            vis.index_pattern = index_pattern.into();
            let field = time_field_of(&patterns, &vis.index_pattern);
            let request = panel_request(&vis, field, &NO_NETWORKS, &inputs).unwrap();
            let range = &request.body["query"]["bool"]["filter"][0]["range"];
            assert!(range.get(time_field).is_some(), "{index_pattern}: {range}");
        }
    }
}
