//! Executing Elasticsearch search requests on the embedded engine: parse and check the
//! request, pick the indices whose time span can match, collect in one pass per index
//! (count, aggregations, top hits), merge, and answer in Elasticsearch's format.

pub mod aggs;
pub(crate) mod column_cache;
pub(crate) mod columns;
pub(crate) mod datemath;
pub(crate) mod error;
pub(crate) mod guard;
pub(crate) mod hits;
pub mod lucene;

pub(crate) mod in_flight;
pub mod query;
pub(crate) mod request_cache;
mod rollup;
mod time_window;
pub(crate) mod wildcard;

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{json, Map, Value as Json};
use tantivy::collector::Collector;
use tantivy::query::EnableScoring;
use tantivy::{Searcher, SegmentReader};

use self::aggs::bucket::significant_terms::{
    background_needs, candidates, BackgroundSet, Candidates,
};
use self::aggs::bucket::{auto_date_histogram, top_conversations};
use self::aggs::collect::{Collected, FlowCollector, Folded};
use self::aggs::intermediate::merge_all;
use self::aggs::intermediate::IntermediateAgg;
use self::aggs::response::{render_aggs, Background, Backgrounds, RenderContext};
use self::aggs::{empty_intermediate, parse_aggs, AggRequest};
use self::column_cache::SearchColumns;
use self::datemath::Now;
pub(crate) use self::error::engine_error;
pub use self::error::SearchError;
use self::guard::SearchGuard;
use self::hits::{
    parse_search_after, parse_sort, parse_source_filter, HitRenderer, SortSpec, SourceFilter, TopN,
};
use self::query::{compile, parse_query, time_bounds, Query, QueryContext};
use self::time_window::TimeWindows;
use super::EmbeddedEngine;
use crate::backend::BackendError;

/// Elasticsearch's default `search.max_buckets`.
pub const MAX_BUCKETS: usize = 65_535;

/// Elasticsearch's `index.max_result_window`.
pub const MAX_RESULT_WINDOW: usize = 10_000;

/// How deep a search body's JSON may nest (queries in `bool`s, aggregations in aggregations).
/// Parsing and compiling recurse, so this bounds the stack a request can take; a body read
/// from HTTP is bounded by the JSON parser already, a query built on the server (a saved
/// visualization's KQL) is not.
pub const MAX_NESTING: usize = 100;

/// The most hits one request may ask for across all its searches (a multi-search of twenty
/// searches of 10 000 hits took 2.4 GB): one result window.
pub const MAX_HITS_PER_REQUEST: usize = MAX_RESULT_WINDOW;

/// Refuses a multi-search whose searches together ask for more than
/// [`MAX_HITS_PER_REQUEST`] hits, as Elasticsearch's request circuit breaker would.
pub fn check_hits_budget<'a>(bodies: impl Iterator<Item = &'a Json>) -> Result<(), BackendError> {
    let count = |body: &Json, key: &str, default: u64| {
        body.get(key).and_then(Json::as_u64).unwrap_or(default)
    };
    let hits: u64 = bodies
        .map(|body| count(body, "from", 0).saturating_add(count(body, "size", 10)))
        .fold(0, u64::saturating_add);
    if hits > MAX_HITS_PER_REQUEST as u64 {
        return Err(BackendError::CircuitBreaking(format!(
            "[request] Data too large: the searches of this request ask for {hits} hits together, more than the {MAX_HITS_PER_REQUEST} one request may hold; page through them with search_after or fewer searches at once"
        )));
    }
    Ok(())
}

/// Refuses a body that nests deeper than [`MAX_NESTING`], without recursing itself.
pub fn check_nesting(body: &Json) -> Result<(), SearchError> {
    let mut pending: Vec<(&Json, usize)> = vec![(body, 1)];
    while let Some((value, depth)) = pending.pop() {
        if depth > MAX_NESTING {
            return Err(SearchError::parsing(format!(
                "the request nests deeper than {MAX_NESTING} levels"
            )));
        }
        match value {
            Json::Array(items) => pending.extend(items.iter().map(|v| (v, depth + 1))),
            Json::Object(object) => pending.extend(object.values().map(|v| (v, depth + 1))),
            _ => {}
        }
    }
    Ok(())
}

/// `track_total_hits`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum TrackTotalHits {
    Off,
    UpTo(u64),
    Exact,
}

/// A parsed search body.
pub struct SearchBody {
    /// `query`; [`Query::MatchAll`] when the body has none.
    pub query: Query,
    pub(crate) aggs: Vec<AggRequest>,
    pub(crate) size: usize,
    pub(crate) from: usize,
    pub(crate) sort: SortSpec,
    pub(crate) source: SourceFilter,
    track_total_hits: TrackTotalHits,
    pub(crate) docvalue_fields: Vec<String>,
}

impl SearchBody {
    /// Parses and checks a `_search` body (nesting depth, sizes, sort, `_source`, aggregations),
    /// resolving date math against `context.now_ms`; an unsupported or invalid part is an error
    /// that names it.
    pub fn parse(body: &Json, context: &QueryContext<'_>) -> Result<SearchBody, SearchError> {
        check_nesting(body)?;
        let empty = Map::new();
        let object = match body {
            Json::Object(o) => o,
            Json::Null => &empty,
            _ => return Err(SearchError::parsing("the search body must be an object")),
        };
        let mut parsed = SearchBody {
            query: Query::MatchAll,
            aggs: Vec::new(),
            size: 10,
            from: 0,
            sort: SortSpec::default(),
            source: SourceFilter::default(),
            track_total_hits: TrackTotalHits::UpTo(10_000),
            docvalue_fields: Vec::new(),
        };
        let count = |key: &str, value: &Json| {
            value.as_u64().map(|v| v as usize).ok_or_else(|| {
                SearchError::parsing(format!("[{key}] must be a non-negative integer"))
            })
        };
        let mut search_after = None;
        for (key, value) in object {
            match key.as_str() {
                "search_after" => search_after = Some(value),
                "query" => parsed.query = parse_query(value)?,
                "aggs" | "aggregations" => parsed.aggs = parse_aggs(value, context)?,
                "size" => parsed.size = count(key, value)?,
                "from" => parsed.from = count(key, value)?,
                "sort" => parsed.sort = parse_sort(value, context.schema)?,
                "_source" => parsed.source = parse_source_filter(value)?,
                "track_total_hits" => {
                    parsed.track_total_hits = match value {
                        Json::Bool(true) => TrackTotalHits::Exact,
                        Json::Bool(false) => TrackTotalHits::Off,
                        Json::Number(n) => match n.as_i64() {
                            Some(-1) => TrackTotalHits::Exact,
                            Some(v) if v >= 0 => TrackTotalHits::UpTo(v as u64),
                            _ => return Err(SearchError::parsing(
                                "[track_total_hits] must be a boolean or a non-negative integer",
                            )),
                        },
                        _ => {
                            return Err(SearchError::parsing(
                                "[track_total_hits] must be a boolean or an integer",
                            ))
                        }
                    }
                }
                "docvalue_fields" => {
                    let fields = value.as_array().ok_or_else(|| {
                        SearchError::parsing("[docvalue_fields] must be an array")
                    })?;
                    parsed.docvalue_fields = fields
                        .iter()
                        .filter_map(|f| {
                            f.as_str()
                                .or_else(|| f.get("field").and_then(Json::as_str))
                                .map(str::to_owned)
                        })
                        .collect();
                }
                "script_fields" if value.as_object().is_some_and(Map::is_empty) => {}
                // Presentation-only options that change no number in the answer.
                "stored_fields"
                | "highlight"
                | "version"
                | "timeout"
                | "seq_no_primary_term"
                | "explain"
                | "track_scores" => {}
                "profile" if value == &Json::Bool(false) => {}
                other => {
                    return Err(SearchError::unsupported(format!(
                        "search option [{other}] is not supported by the embedded engine"
                    )))
                }
            }
        }
        if let Some(after) = search_after {
            if parsed.from > 0 {
                return Err(SearchError::illegal(
                    "`from` parameter must be set to 0 when `search_after` is used.",
                ));
            }
            parsed.sort.after = Some(parse_search_after(after, &parsed.sort)?);
        }
        if parsed.from + parsed.size > MAX_RESULT_WINDOW {
            return Err(SearchError::illegal(format!(
                "Result window is too large, from + size must be less than or equal to: [{MAX_RESULT_WINDOW}] but was [{}].",
                parsed.from + parsed.size
            )));
        }
        Ok(parsed)
    }
}

/// Runs one search on the indices `index` names, at the current time.
pub fn search(engine: &EmbeddedEngine, index: &str, body: &Json) -> Result<Json, BackendError> {
    search_at(engine, index, body, chrono::Utc::now().timestamp_millis())
}

/// A search made ready to run: its request parsed and compiled, the indices it names and
/// the state of those it reads, and the key its answer is kept under when it can be kept.
struct Plan<'e> {
    context: QueryContext<'e>,
    request: SearchBody,
    query: Box<dyn tantivy::query::Query>,
    /// Every index the expression names (they count in `_shards`).
    resolved: Vec<Arc<super::index::FlowIndex>>,
    /// Those whose flows overlap the query's time range.
    selected: Vec<Arc<super::index::FlowIndex>>,
    searchers: Vec<(String, Searcher)>,
    /// Every named index, when a significant terms aggregation compares with them all.
    background: Vec<(Arc<super::index::FlowIndex>, Searcher)>,
    /// The query's time range, as far as it bounds every match.
    bounds: (Option<i64>, Option<i64>),
    cache_key: Option<String>,
    /// How the search reads rollups, when it can (see `rollup.rs`).
    rollup: Option<rollup::RollupSearch>,
}

/// Plans search number `search` (see [`SearchGuard::search`]).
fn plan<'e>(
    engine: &'e EmbeddedEngine,
    index: &str,
    body: &Json,
    now_ms: i64,
    search: u64,
) -> Result<Plan<'e>, BackendError> {
    let context = QueryContext {
        schema: engine.schema(),
        now: Now::at(now_ms),
        columns: SearchColumns::default(),
    };
    let request = SearchBody::parse(body, &context)?;
    let resolved = engine.resolve(index).map_err(engine_error)?;
    let bounds = time_bounds(&request.query, &context.now);
    let selected: Vec<_> = resolved
        .iter()
        .filter(|i| i.stats().overlaps(bounds.0, bounds.1))
        .cloned()
        .collect();
    let searchers: Vec<(String, Searcher)> = selected
        .iter()
        .map(|i| (i.name.clone(), i.searcher()))
        .collect();
    let chosen = engine
        .rollups_enabled()
        .then(|| rollup::choose(engine, body, &request, &selected, &searchers, &context))
        .flatten();
    let rolled = chosen.iter().flat_map(|c| c.cuboids.iter().flatten());
    let rolled = rolled.map(|cuboid| (&cuboid.searcher, cuboid.index.columns(search)));
    context.columns.give(
        selected
            .iter()
            .zip(&searchers)
            .map(|(index, (_, searcher))| (searcher, index.columns(search)))
            .chain(rolled),
    );
    let query = compile(&request.query, &context)?;
    let rollup = chosen
        .map(|chosen| chosen.compile(&request.query, &context))
        .transpose()?;
    let background: Vec<_> = if background_needs(&request.aggs).is_empty() {
        Vec::new()
    } else {
        resolved
            .iter()
            .map(
                |i| match searchers.iter().find(|(name, _)| *name == i.name) {
                    Some((_, searcher)) => (i.clone(), searcher.clone()),
                    None => (i.clone(), i.searcher()),
                },
            )
            .collect()
    };
    // Parsing and compiling resolved every date in the request: whether one read `now` is
    // known. The answer depends on the state of every index it reads, the background's too.
    let read: Vec<(String, Searcher)> = background
        .iter()
        .map(|(index, searcher)| (index.name.clone(), searcher.clone()))
        .collect();
    let read = if read.is_empty() { &searchers } else { &read };
    let cache_key = (!context.now.was_read())
        .then(|| request_cache::key(body, request.from + request.size, &resolved, read))
        .flatten();
    Ok(Plan {
        context,
        request,
        query,
        resolved,
        selected,
        searchers,
        background,
        bounds,
        cache_key,
        rollup,
    })
}

/// The key a search's answer is kept under, when it can be kept (see
/// [`request_cache::key`]): two searches with the same key have the same answer. `None` also
/// when the search is invalid: running it says why.
pub fn answer_key(engine: &EmbeddedEngine, index: &str, body: &Json) -> Option<String> {
    // Only answers without hits are kept: a search asking for hits needs no plan here.
    if body.get("size").and_then(Json::as_u64) != Some(0) {
        return None;
    }
    let now_ms = chrono::Utc::now().timestamp_millis();
    plan(engine, index, body, now_ms, guard::next_search_number())
        .ok()?
        .cache_key
}

/// The answer kept under `key`, as a search answering from the cache gives it.
fn cached_answer(engine: &EmbeddedEngine, key: &str, started: Instant) -> Option<Json> {
    let mut answer = engine.request_cache().get(key)?;
    answer["took"] = json!(started.elapsed().as_millis() as u64);
    Some(answer)
}

/// Runs one search, with `now` fixed (date math is relative to it).
pub fn search_at(
    engine: &EmbeddedEngine,
    index: &str,
    body: &Json,
    now_ms: i64,
) -> Result<Json, BackendError> {
    let started = Instant::now();
    // The deadline counts from here: parsing and compiling the request are part of its work.
    let guard = Arc::new(SearchGuard::new(
        engine.search_timeout(),
        engine.collect_budget(),
    ));
    let running = engine.column_cache().begin_search(guard.search());
    let answer = run_search(engine, index, body, now_ms, &guard, started);
    drop(running);
    let columns = engine.column_cache().stats();
    tracing::debug!(
        took_ms = started.elapsed().as_millis() as u64,
        peak_collect_bytes = guard.peak_bytes(),
        column_cache_bytes = columns.bytes,
        column_cache_hits = columns.hits,
        column_cache_reused = columns.reused,
        column_cache_misses = columns.misses,
        "search done"
    );
    if guard.peak_bytes() >= TRIM_AFTER_BYTES {
        give_back_freed_memory();
    }
    answer
}

/// A search that held this much gives back the memory it freed (see
/// [`give_back_freed_memory`]).
const TRIM_AFTER_BYTES: usize = 256 << 20;

/// Returns the allocator's free pages to the system. The allocator keeps what a search freed
/// for later allocations (tables of 64 MiB and less come from its heaps, see `main.rs`): after
/// a month's Sankey over 100M flows, about half a gigabyte of them. Trimming costs
/// milliseconds, against seconds for the searches that need it.
fn give_back_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only releases free memory of the allocator; any thread may call it.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// [`search_at`] under `guard`.
fn run_search(
    engine: &EmbeddedEngine,
    index: &str,
    body: &Json,
    now_ms: i64,
    guard: &Arc<SearchGuard>,
    started: Instant,
) -> Result<Json, BackendError> {
    let schema = Arc::new(engine.schema().clone());
    let Plan {
        context,
        request,
        query,
        resolved,
        selected,
        searchers,
        background,
        bounds: (low, high),
        cache_key,
        mut rollup,
    } = plan(engine, index, body, now_ms, guard.search())?;
    let skipped = resolved.len() - selected.len();
    let lacking = lacking_flows(&selected, rollup.as_ref());
    let keep = request.from + request.size;
    let aggs = Arc::new(match rollup.as_mut() {
        Some(rollup) => std::mem::take(&mut rollup.aggs),
        None => request.aggs,
    });
    for (index, (_, searcher)) in selected.iter().zip(&searchers) {
        index.retain_columns(searcher);
    }
    for (index, searcher) in &background {
        index.retain_columns(searcher);
    }
    if let Some(answer) = cache_key
        .as_ref()
        .and_then(|key| cached_answer(engine, key, started))
    {
        return Ok(answer);
    }

    // One collector per index, collecting these aggregations and hits.
    let collect_in = |indices: &[&super::index::FlowIndex],
                      searchers: &[(String, Searcher)],
                      query: &dyn tantivy::query::Query,
                      aggs: Arc<Vec<AggRequest>>,
                      hits: Option<(usize, SortSpec)>,
                      merge: Merge| {
        if indices.is_empty() {
            return Ok(Vec::new());
        }
        let collectors =
            FlowCollector::one_per_index(indices.iter().copied(), &aggs, hits, &schema, guard);
        let fruits = collect_segments(engine, searchers, query, &collectors, merge)?;
        guard.outcome()?;
        Ok::<_, SearchError>(fruits)
    };
    let all_selected: Vec<&super::index::FlowIndex> = selected.iter().map(Arc::as_ref).collect();
    let collect =
        |query: &dyn tantivy::query::Query,
         aggs: Arc<Vec<AggRequest>>,
         hits: Option<(usize, SortSpec)>,
         merge: Merge| { collect_in(&all_selected, &searchers, query, aggs, hits, merge) };
    // Automatic date histograms choose their rounding from a first pass over the matches
    // (see auto_date_histogram.rs).
    let probes = auto_date_histogram::probes(&aggs, &context)?;
    if !probes.is_empty() {
        let per_index: Vec<Vec<IntermediateAgg>> =
            collect(query.as_ref(), Arc::new(probes), None, Merge::PerIndex)?
                .into_iter()
                .map(|fruit| fruit.aggs)
                .collect();
        auto_date_histogram::choose_roundings(&aggs, &per_index);
    }
    // The top conversations group only the flows that can be among them (see sieve.rs): a
    // first pass sums flows by the bin of their conversation.
    let sieve_probes = if rollup.is_none() {
        top_conversations::probes(&aggs)
    } else {
        Vec::new()
    };
    if !sieve_probes.is_empty() {
        let probed = collect(query.as_ref(), Arc::new(sieve_probes), None, Merge::All)?;
        if probed
            .first()
            .is_some_and(|fruit| top_conversations::admit(&aggs, &fruit.aggs))
        {
            engine.count_sieved_search(false);
            tracing::debug!("top conversations sieved");
        }
    }
    let hits = (keep > 0).then(|| (keep, request.sort.clone()));
    // Sorted by time, hits come from the newest (or oldest) stretch of the range: the first
    // pass only counts and aggregates (time_window.rs).
    let span = time_span(&selected, low, high);
    let time_sorted = hits.is_some()
        && TimeWindows::plan(&request.sort, span.0, span.1, u64::MAX, keep).is_some();
    let fruits = match &rollup {
        None => collect(
            query.as_ref(),
            aggs.clone(),
            if time_sorted { None } else { hits.clone() },
            Merge::All,
        )?,
        Some(rollup) => {
            // Indices without a rollup are read raw; the others' hours before and after the
            // rolled ones raw too, and the rolled hours from their rollups.
            let mut raw = (Vec::new(), Vec::new());
            let mut before = (Vec::new(), Vec::new());
            let mut after = (Vec::new(), Vec::new());
            let mut rolled = (Vec::new(), Vec::new());
            for ((index, searcher), cuboid) in selected.iter().zip(&searchers).zip(&rollup.cuboids)
            {
                let Some(cuboid) = cuboid else {
                    raw.0.push(index.as_ref());
                    raw.1.push(searcher.clone());
                    continue;
                };
                for (part, wanted) in [
                    (&mut before, cuboid.flows_before),
                    (&mut after, cuboid.flows_after),
                ] {
                    if wanted {
                        part.0.push(index.as_ref());
                        part.1.push(searcher.clone());
                    }
                }
                rolled.0.push(cuboid.index.as_ref());
                rolled
                    .1
                    .push((cuboid.index.name.clone(), cuboid.searcher.clone()));
            }
            engine.count_rollup_search();
            tracing::debug!(
                raw_days = raw.0.len(),
                partial_days = before.0.len() + after.0.len(),
                rolled_days = rolled.0.len(),
                rollup_documents = rolled.1.iter().map(|(_, s)| s.num_docs()).sum::<u64>(),
                "search reads rollups"
            );
            let mut fruits = collect_in(
                &raw.0,
                &raw.1,
                query.as_ref(),
                aggs.clone(),
                None,
                Merge::All,
            )?;
            fruits.extend(collect_in(
                &before.0,
                &before.1,
                rollup.before.as_ref(),
                aggs.clone(),
                None,
                Merge::All,
            )?);
            fruits.extend(collect_in(
                &after.0,
                &after.1,
                rollup.after.as_ref(),
                aggs.clone(),
                None,
                Merge::All,
            )?);
            fruits.extend(collect_in(
                &rolled.0,
                &rolled.1,
                rollup.rolled.as_ref(),
                rollup.rolled_aggs.clone(),
                None,
                Merge::All,
            )?);
            fruits
        }
    };

    let mut total = 0u64;
    let mut agg_parts = Vec::with_capacity(searchers.len());
    let mut top = TopN::new(keep);
    for fruit in fruits {
        total += fruit.total;
        agg_parts.push(fruit.aggs);
        for (key, address) in fruit.hits {
            top.push(key, address);
        }
    }
    if time_sorted {
        let no_aggs = Arc::new(Vec::new());
        let mut windows =
            TimeWindows::plan(&request.sort, span.0, span.1, total, keep).expect("planned above");
        loop {
            // The last window is the whole query: flows without a time sort after the rest.
            let windowed = if windows.covers_all() {
                query.box_clone()
            } else {
                compile(&windows.narrow(&request.query), &context)?
            };
            let mut found = TopN::new(keep);
            for fruit in collect(windowed.as_ref(), no_aggs.clone(), hits.clone(), Merge::All)? {
                for (key, address) in fruit.hits {
                    found.push(key, address);
                }
            }
            let found = found.into_sorted();
            if found.len() >= keep || windows.covers_all() {
                for (key, address) in found {
                    top.push(key, address);
                }
                break;
            }
            windows.widen();
        }
    }

    let renderer = HitRenderer::new(&searchers, &schema);
    let hits = top
        .into_sorted()
        .into_iter()
        .skip(request.from)
        .map(|(key, address)| {
            renderer.render(
                address,
                &key,
                &request.sort,
                &request.source,
                &request.docvalue_fields,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let max_score = if request.sort.explicit() {
        Json::Null
    } else {
        hits.iter()
            .filter_map(|h| h.get("_score").and_then(Json::as_f64))
            .reduce(f64::max)
            .map_or(Json::Null, |s| json!(s))
    };
    let mut hits_object = Map::new();
    match request.track_total_hits {
        TrackTotalHits::Off => {}
        TrackTotalHits::Exact => {
            hits_object.insert("total".into(), json!({ "value": total, "relation": "eq" }));
        }
        TrackTotalHits::UpTo(limit) if total > limit => {
            hits_object.insert("total".into(), json!({ "value": limit, "relation": "gte" }));
        }
        TrackTotalHits::UpTo(_) => {
            hits_object.insert("total".into(), json!({ "value": total, "relation": "eq" }));
        }
    }
    hits_object.insert("max_score".into(), max_score);
    hits_object.insert("hits".into(), Json::Array(hits));

    // Aggregations are merged and rendered before `took` is read: that is part of the search.
    let aggregations = if aggs.is_empty() {
        None
    } else {
        let mut results = merged(&aggs, agg_parts);
        let widened = top_conversations::settle(&aggs, &results)?;
        if !widened.is_empty() {
            // A conversation left out may be among the best: those widened are collected
            // again, alone.
            engine.count_sieved_search(true);
            tracing::debug!(
                aggregations = widened.len(),
                "top conversations' sieve widened"
            );
            let copies = Arc::new(top_conversations::copies(&aggs, &widened, body, &context)?);
            let again = collect(query.as_ref(), copies.clone(), None, Merge::All)?;
            let again = merged(&copies, again.into_iter().map(|fruit| fruit.aggs).collect());
            for (position, result) in widened.into_iter().zip(again) {
                results[position] = result;
            }
        }
        let candidates = candidates(&aggs, &results);
        let backgrounds =
            count_backgrounds(engine, &background, &aggs, candidates, guard, &schema)?;
        let render_context = RenderContext {
            hits: &renderer,
            buckets: Cell::new(0),
            subset_size: Cell::new(total),
            backgrounds: &backgrounds,
        };
        Some(render_aggs(&aggs, &results, &render_context)?)
    };

    let mut response = Map::new();
    response.insert("took".into(), json!(started.elapsed().as_millis() as u64));
    response.insert("timed_out".into(), json!(false));
    response.insert("_shards".into(), shards(resolved.len(), skipped, &lacking));
    response.insert("hits".into(), Json::Object(hits_object));
    if let Some(aggregations) = aggregations {
        response.insert("aggregations".into(), Json::Object(aggregations));
    }
    let mut response = Json::Object(response);
    if let Some(rollup) = &rollup {
        rollup.restore(&mut response, request.track_total_hits);
    }
    if let Some(key) = cache_key {
        engine.request_cache().put(key, &response);
    }
    Ok(response)
}

/// The aggregations' results merged from each part's, and finished.
fn merged(aggs: &[AggRequest], parts: Vec<Vec<IntermediateAgg>>) -> Vec<IntermediateAgg> {
    let mut results =
        merge_all(parts).unwrap_or_else(|| aggs.iter().map(empty_intermediate).collect());
    for (result, request) in results.iter_mut().zip(aggs) {
        result.finish(request);
    }
    results
}

/// The selected indices kept only as their rollups that the search does not read them from:
/// their flows were deleted, so it has none of theirs.
fn lacking_flows(
    selected: &[Arc<super::index::FlowIndex>],
    rollup: Option<&rollup::RollupSearch>,
) -> Vec<String> {
    selected
        .iter()
        .enumerate()
        .filter(|(at, index)| {
            index.rolled_up_only() && rollup.is_none_or(|rollup| rollup.cuboids[*at].is_none())
        })
        .map(|(_, index)| index.name.clone())
        .collect()
}

/// The answer's `_shards`: one shard per index, and a failure for each index whose flows the
/// search needed and retention deleted (as Elasticsearch reports shards that did not answer,
/// which Kibana shows as a warning beside a partial answer).
fn shards(total: usize, skipped: usize, lacking: &[String]) -> Json {
    let failures: Vec<Json> = lacking
        .iter()
        .map(|index| {
            json!({
                "shard": 0,
                "index": index,
                "node": "flowdash",
                "reason": {
                    "type": "flows_expired_exception",
                    "reason": format!(
                        "the flows of {index} were deleted by retention (--retain-days), and its rollup cannot answer this search: a rollup answers aggregations (no hits) that filter and split on actions, protocols, ports, interfaces, accounts and the like, not on addresses, over whole hours (or, by action, protocol, direction and status, whole minutes)"
                    ),
                },
            })
        })
        .collect();
    let mut shards = json!({
        "total": total,
        "successful": total - lacking.len(),
        "skipped": skipped,
        "failed": lacking.len(),
    });
    if !failures.is_empty() {
        shards["failures"] = Json::Array(failures);
    }
    shards
}

/// Counts what the significant terms aggregations among `aggs` compare with: for each
/// background set, its flows in every index the search names (`indices`) and how many of
/// them hold each of the `candidates`, the terms the foreground found. One pass per set,
/// all its fields at once; memory follows the candidates, not the terms stored.
fn count_backgrounds(
    engine: &EmbeddedEngine,
    indices: &[(Arc<super::index::FlowIndex>, Searcher)],
    aggs: &[AggRequest],
    mut candidates: Candidates,
    guard: &Arc<SearchGuard>,
    schema: &Arc<crate::backend::embedded::FlowSchema>,
) -> Result<Backgrounds, BackendError> {
    let mut backgrounds = Backgrounds::default();
    let needs = background_needs(aggs);
    let mut sets: Vec<&BackgroundSet> = Vec::new();
    for need in &needs {
        if !sets.iter().any(|set| set.name == need.set.name) {
            sets.push(need.set);
        }
    }
    let searchers: Vec<(String, Searcher)> = indices
        .iter()
        .map(|(index, searcher)| (index.name.clone(), searcher.clone()))
        .collect();
    for set in sets {
        // Fields with terms to count; a field whose foreground found none needs only the
        // set's size.
        let fields: Vec<_> = needs
            .iter()
            .filter(|need| need.set.name == set.name)
            .map(|need| {
                let terms = candidates
                    .remove(&(set.name.clone(), need.field.name.clone()))
                    .unwrap_or_default();
                (need.field, terms)
            })
            .collect();
        let counts: Arc<Vec<AggRequest>> = Arc::new(
            fields
                .iter()
                .filter(|(_, terms)| !terms.is_empty())
                .map(|(field, terms)| AggRequest::counts_of(field, Arc::new(terms.clone())))
                .collect(),
        );
        let collectors = FlowCollector::one_per_index(
            indices.iter().map(|(index, _)| index.as_ref()),
            &counts,
            None,
            schema,
            guard,
        );
        let all = tantivy::query::AllQuery;
        let query: &dyn tantivy::query::Query = match &set.filter {
            Some(filter) => filter.as_ref(),
            None => &all,
        };
        let fruits = collect_segments(engine, &searchers, query, &collectors, Merge::All)?;
        guard.outcome()?;
        let flows: u64 = fruits.iter().map(|fruit| fruit.total).sum();
        let parts = fruits.into_iter().map(|fruit| fruit.aggs).collect();
        let mut results = merge_all(parts).unwrap_or_default();
        for (result, request) in results.iter_mut().zip(counts.iter()) {
            result.finish(request);
        }
        let mut results = results.into_iter();
        for (field, asked) in &fields {
            let counted = if asked.is_empty() {
                None
            } else {
                results.next()
            };
            let terms = match counted {
                Some(IntermediateAgg::Buckets(buckets)) => buckets
                    .iter()
                    .map(|(key, bucket)| (key.clone(), bucket.doc_count))
                    .collect(),
                _ => Default::default(),
            };
            backgrounds.counts.insert(
                (set.name.clone(), field.name.clone()),
                Background { flows, terms },
            );
        }
    }
    Ok(backgrounds)
}

/// Whether [`collect_segments`] keeps each index's results apart.
#[derive(Clone, Copy, PartialEq)]
enum Merge {
    /// One result per index: an automatic date histogram's first pass chooses its rounding
    /// per index, as Elasticsearch does per shard.
    PerIndex,
    /// One result for all: buckets of many days fold into their union as they come.
    All,
}

/// Runs each index's collector over its segments, the segments of all indices on the search
/// threads at once, largest first: a day's index is one large segment and a few small ones,
/// so searching index after index would leave all but one thread idle most of the time.
/// Each thread folds the results it collects as they come (see [`FlowCollector::fold`]);
/// returns one result per index or one for all (`merge`).
fn collect_segments(
    engine: &EmbeddedEngine,
    searchers: &[(String, Searcher)],
    query: &dyn tantivy::query::Query,
    collectors: &[FlowCollector],
    merge: Merge,
) -> Result<Vec<Collected>, SearchError> {
    if collectors.is_empty() {
        return Ok(Vec::new());
    }
    let weights = searchers
        .iter()
        .zip(collectors)
        .map(|((_, searcher), collector)| {
            let scoring = if collector.requires_scoring() {
                EnableScoring::enabled_from_searcher(searcher)
            } else {
                EnableScoring::disabled_from_searcher(searcher)
            };
            query.weight(scoring)
        })
        .collect::<tantivy::Result<Vec<_>>>()
        .map_err(SearchError::from_tantivy)?;
    let mut tasks: Vec<(usize, u32, &SegmentReader)> = searchers
        .iter()
        .enumerate()
        .flat_map(|(index, (_, searcher))| {
            searcher
                .segment_readers()
                .iter()
                .enumerate()
                .map(move |(segment, reader)| (index, segment as u32, reader))
        })
        .collect();
    tasks.sort_by_key(|(_, _, reader)| std::cmp::Reverse(reader.num_docs()));
    let outputs = match merge {
        Merge::PerIndex => collectors.len(),
        Merge::All => 1,
    };
    let output_of = |index: usize| match merge {
        Merge::PerIndex => index,
        Merge::All => 0,
    };

    // Each worker takes the largest segment left, so the threads finish close together.
    let next = AtomicUsize::new(0);
    let folds: Vec<Mutex<Folded>> = (0..outputs).map(|_| Mutex::default()).collect();
    let workers = engine.search_threads().min(tasks.len()).max(1);
    engine
        .executor()
        .map(
            |_| loop {
                let task = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(index, segment, reader)) = tasks.get(task) else {
                    return Ok(());
                };
                let collector = &collectors[index];
                let fruit = collector.collect_segment(weights[index].as_ref(), segment, reader)?;
                collector.fold(&folds[output_of(index)], fruit)?;
            },
            0..workers,
        )
        .map_err(SearchError::from_tantivy)?;
    folds
        .into_iter()
        .zip(collectors)
        .map(|(folded, collector)| {
            collector
                .finish_fold(folded.into_inner().unwrap_or_else(|e| e.into_inner()))
                .map_err(SearchError::from_tantivy)
        })
        .collect()
}

/// The earliest and latest time the search can match: the query's bounds within the searched
/// indices' times (`None` where unknown).
fn time_span(
    selected: &[Arc<crate::backend::embedded::index::FlowIndex>],
    low: Option<i64>,
    high: Option<i64>,
) -> (Option<i64>, Option<i64>) {
    // A day kept only as its rollup has no flows for hits, whatever time it stands for.
    let stats: Vec<_> = selected
        .iter()
        .filter(|i| !i.rolled_up_only())
        .map(|i| i.stats())
        .collect();
    let earliest = stats.iter().filter_map(|s| s.min_ms).min();
    let latest = stats.iter().filter_map(|s| s.max_ms).max();
    let clamp_low = match (low, earliest) {
        (Some(l), Some(e)) => Some(l.max(e)),
        (l, e) => l.or(e),
    };
    let clamp_high = match (high, latest) {
        (Some(h), Some(l)) => Some(h.min(l)),
        (h, l) => h.or(l),
    };
    (clamp_low, clamp_high)
}

#[cfg(test)]
mod paging_tests;
#[cfg(test)]
mod tests;
