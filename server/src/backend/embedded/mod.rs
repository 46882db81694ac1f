//! The embedded engine: flow documents in tantivy indices under `<data-dir>/indices/`, one per
//! index name (`cwl-YYYY.MM.DD` for flowdash's own ingestion), searched with the Elasticsearch
//! request DSL.

pub mod admission;
mod backend;
mod conversation;
mod documents;
pub mod index;
mod message_words;
pub mod rollup;
pub mod schema;
pub mod search;
mod sink;
pub mod writers;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use app::model::flow::GEO_FIELDS;

pub use self::backend::{EmbeddedBackend, EMULATED_VERSION};
pub use self::index::{FlowIndex, IndexStats, OnExistingId, WriteResult};
pub use self::schema::FlowSchema;
pub use self::sink::EmbeddedSink;

/// Errors of the embedded engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No index of this name.
    #[error("no such index [{0}]")]
    IndexNotFound(String),
    /// A name the engine cannot use for an index.
    #[error("invalid index name [{name}]: {reason}")]
    InvalidIndexName {
        /// The name asked for.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Another process holds the index's writer lock.
    #[error("index [{0}] is being written by another process (a running `flowdash serve`?); send data to it with `flowdash ingest --to http://HOST:PORT` instead")]
    Locked(String),
    /// tantivy failed.
    #[error("search engine error: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// The file system failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// The set of indices in a data directory.
pub struct EmbeddedEngine {
    indices_dir: PathBuf,
    schema: Arc<FlowSchema>,
    indices: RwLock<BTreeMap<String, Arc<FlowIndex>>>,
    /// When the directory was last listed: other processes may create indices.
    last_scan: RwLock<Instant>,
    /// Searches run their segments on these threads.
    executor: tantivy::Executor,
    search_threads: usize,
    /// How many searches run and wait at once.
    admission: admission::SearchAdmission,
    /// How long one search may collect before it stops, in milliseconds.
    search_timeout_ms: std::sync::atomic::AtomicU64,
    /// The bytes one search's aggregation buckets may take.
    collect_budget: std::sync::atomic::AtomicUsize,
    /// Columns opened by searches, kept for the next ones.
    column_cache: Arc<search::column_cache::ColumnCache>,
    /// The memory index writers may hold together (see [`writers`]).
    writer_memory: std::sync::atomic::AtomicUsize,
    /// Answers of searches without hits, by request and index state.
    request_cache: search::request_cache::RequestCache,
    /// Searches running now, for identical ones to wait for.
    in_flight: Arc<search::in_flight::InFlight>,
    /// The GeoIP and ASN databases ingest adds address facts from (`--geoip-db`, `--asn-db`).
    geo: RwLock<Option<Arc<crate::geo::GeoDatabases>>>,
    /// The indices' hourly rollups (see [`rollup`]).
    rollups: rollup::Rollups,
    /// Whether searches may read rollups; tests compare with raw answers.
    rollups_enabled: std::sync::atomic::AtomicBool,
    /// Searches that read rollups, since the engine opened.
    rollup_searches: std::sync::atomic::AtomicU64,
    /// Searches whose top conversations were sieved, and those sieved twice (see
    /// `search/aggs/bucket/sieve.rs`), since the engine opened.
    sieved_searches: [std::sync::atomic::AtomicU64; 2],
}

thread_local! {
    /// The deadline of the search work this blocking thread runs (see
    /// [`EmbeddedEngine::run_search`]).
    static WORK_DEADLINE: std::cell::Cell<Option<Instant>> = const { std::cell::Cell::new(None) };
}

/// Sets this thread's [`WORK_DEADLINE`] while it lives.
struct WorkDeadline;

impl WorkDeadline {
    fn set(deadline: Instant) -> WorkDeadline {
        WORK_DEADLINE.with(|d| d.set(Some(deadline)));
        WorkDeadline
    }
}

impl Drop for WorkDeadline {
    fn drop(&mut self) {
        WORK_DEADLINE.with(|d| d.set(None));
    }
}

/// How much longer than its deadline search work is waited for (see
/// [`EmbeddedEngine::run_search`]): searches stop at the deadline themselves.
const BACKSTOP_GRACE: Duration = Duration::from_secs(1);

/// A search's deadline unless the server sets another (`--search-timeout-ms`).
const DEFAULT_SEARCH_TIMEOUT: Duration = Duration::from_secs(30);

/// How often the index directory is listed again for indices another process created.
const RESCAN_INTERVAL: Duration = Duration::from_secs(2);

/// Writers open at once, whatever their memory: each holds threads, so input spread over a
/// year of days must not open one per day. The least recently used is closed (committed)
/// first (see [`writers`]).
pub const MAX_OPEN_WRITERS: usize = 8;

/// A writer that has written nothing for this long is committed and closed by the server.
pub const IDLE_WRITER: Duration = Duration::from_secs(120);

impl EmbeddedEngine {
    /// Opens (creating if needed) the engine in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<EmbeddedEngine, EngineError> {
        let indices_dir = data_dir.join("indices");
        std::fs::create_dir_all(&indices_dir)?;
        let engine = EmbeddedEngine {
            indices_dir,
            schema: Arc::new(FlowSchema::new()),
            indices: RwLock::new(BTreeMap::new()),
            last_scan: RwLock::new(Instant::now()),
            executor: search_executor(search_threads())?,
            search_threads: search_threads(),
            admission: admission::SearchAdmission::new(search_threads()),
            search_timeout_ms: (DEFAULT_SEARCH_TIMEOUT.as_millis() as u64).into(),
            collect_budget: search::guard::DEFAULT_COLLECT_BYTES.into(),
            column_cache: search::column_cache::ColumnCache::new(
                search::column_cache::default_budget(),
            ),
            writer_memory: writers::DEFAULT_WRITER_MEMORY_BYTES.into(),
            request_cache: search::request_cache::RequestCache::new(
                search::request_cache::REQUEST_CACHE_BYTES,
            ),
            in_flight: Default::default(),
            geo: RwLock::new(None),
            rollups: rollup::Rollups::default(),
            rollups_enabled: std::sync::atomic::AtomicBool::new(true),
            rollup_searches: std::sync::atomic::AtomicU64::new(0),
            sieved_searches: Default::default(),
        };
        engine.scan()?;
        Ok(engine)
    }

    /// Has ingest add what these databases know of each flow's addresses.
    pub fn set_geo_databases(&self, databases: Option<Arc<crate::geo::GeoDatabases>>) {
        *self.geo.write().unwrap_or_else(|e| e.into_inner()) = databases;
    }

    /// The databases ingest adds address facts from, if any.
    pub fn geo_databases(&self) -> Option<Arc<crate::geo::GeoDatabases>> {
        self.geo.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The fields these indices map, as `_field_caps` and `_mapping` list them: the flow
    /// schema's, but the GeoIP ones only where ingest added them to some flow, so a store
    /// without the databases lists no country that would always be empty.
    pub fn mapped_fields(
        &self,
        indices: &[Arc<FlowIndex>],
    ) -> Vec<(&'static str, schema::SchemaField)> {
        // Newest first: a store that has the fields has them in its latest days.
        let added_by_ingest = |name: &str, field: &schema::SchemaField| {
            indices.iter().rev().any(|index| {
                let searcher = index.searcher();
                searcher.segment_readers().iter().any(|segment| {
                    // Segments have a column for every fast field: look for values in it.
                    let fast = segment.fast_fields();
                    match field.field_type {
                        app::model::flow::FieldType::Long => fast
                            .column_opt::<i64>(name)
                            .ok()
                            .flatten()
                            .is_some_and(|column| column.values.num_vals() > 0),
                        _ => fast
                            .str(name)
                            .ok()
                            .flatten()
                            .is_some_and(|column| column.num_terms() > 0),
                    }
                })
            })
        };
        let mut fields: Vec<_> = self
            .schema
            .fields()
            .filter(|(name, field)| !GEO_FIELDS.contains(name) || added_by_ingest(name, field))
            .collect();
        fields.sort_by_key(|(name, _)| *name);
        fields
    }

    /// The flow schema every index shares.
    pub fn schema(&self) -> &FlowSchema {
        &self.schema
    }

    /// The threads searches use.
    pub fn executor(&self) -> &tantivy::Executor {
        &self.executor
    }

    /// Runs search work on the blocking pool once the engine admits it (see [`admission`]):
    /// a 429 when too many searches already wait.
    ///
    /// The work has one deadline, [`EmbeddedEngine::search_timeout`] from this call: waiting
    /// for a place counts, and a search in the work gets what is left of it (its collectors
    /// check it, see `search/guard.rs`). Work past it stops and answers a timeout itself, so
    /// a caller never has to give up on work that goes on running: when this returns, the
    /// thread is free. Work of several searches (a multi-search) shares the deadline. Callers
    /// need no timer of their own.
    pub async fn run_search<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&EmbeddedEngine) -> Result<T, crate::backend::BackendError> + Send + 'static,
    ) -> Result<T, crate::backend::BackendError> {
        let timeout = self.configured_search_timeout();
        let deadline = Instant::now() + timeout;
        let timed_out = || crate::backend::BackendError::Timeout(timeout.as_millis() as u64);
        let admitted = tokio::time::timeout_at(deadline.into(), self.admission.admit())
            .await
            .map_err(|_| timed_out())??;
        let engine = self.clone();
        let running = tokio::task::spawn_blocking(move || {
            // The place is kept until the work ends, even if no one waits for it any more.
            let _admitted = admitted;
            let _deadline = WorkDeadline::set(deadline);
            work(&engine)
        });
        // A backstop, should some step of a search not look at the deadline: the answer is
        // then a timeout while the work runs on, holding its place.
        tokio::time::timeout_at((deadline + BACKSTOP_GRACE).into(), running)
            .await
            .map_err(|_| timed_out())?
            .map_err(|e| {
                crate::backend::BackendError::Internal(format!("search task failed: {e}"))
            })?
            // A search reports the time it was left; the caller's deadline is the whole timeout.
            .map_err(|error| match error {
                crate::backend::BackendError::Timeout(_) => timed_out(),
                other => other,
            })
    }

    /// The searches running now, which identical ones wait for.
    pub fn in_flight(&self) -> &Arc<search::in_flight::InFlight> {
        &self.in_flight
    }

    /// The cache of answers to searches without hits.
    pub fn request_cache(&self) -> &search::request_cache::RequestCache {
        &self.request_cache
    }

    /// Searches running now (admitted, their work not ended).
    pub fn searches_running(&self) -> usize {
        self.admission.running()
    }

    /// How long a search starting now may run before it stops collecting (and answers a
    /// timeout): in the work of [`EmbeddedEngine::run_search`], what is left of that work's
    /// deadline; elsewhere the configured timeout.
    pub fn search_timeout(&self) -> Duration {
        let configured = self.configured_search_timeout();
        WORK_DEADLINE.with(|deadline| match deadline.get() {
            Some(deadline) => deadline.saturating_duration_since(Instant::now()),
            None => configured,
        })
    }

    fn configured_search_timeout(&self) -> Duration {
        Duration::from_millis(
            self.search_timeout_ms
                .load(std::sync::atomic::Ordering::Relaxed),
        )
    }

    /// Sets the deadline of searches (`--search-timeout-ms`).
    pub fn set_search_timeout(&self, timeout: Duration) {
        self.search_timeout_ms.store(
            timeout.as_millis() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// The bytes one search's aggregation buckets may take while collected.
    pub fn collect_budget(&self) -> usize {
        self.collect_budget
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sets the bytes one search's aggregation buckets may take (`--max-search-memory-mb`).
    pub fn set_collect_budget(&self, bytes: usize) {
        self.collect_budget
            .store(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    /// Columns opened by searches, kept for the next ones (`--column-cache-mb` sets its
    /// budget).
    pub fn column_cache(&self) -> &search::column_cache::ColumnCache {
        &self.column_cache
    }

    /// How many threads [`EmbeddedEngine::executor`] has.
    pub fn search_threads(&self) -> usize {
        self.search_threads
    }

    /// Opens every index in the directory that is not open yet, and reloads those another
    /// process committed to.
    fn scan(&self) -> Result<(), EngineError> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&self.indices_dir)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if validate_index_name(&name).is_ok() && entry.path().join("meta.json").exists() {
                found.push(name);
            }
        }
        let open: Vec<Arc<FlowIndex>> = self
            .indices
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        for index in open {
            match index.reload_if_changed() {
                // Another process may have made its rollup again, or deleted its flows
                // and kept the rollup alone (`flowdash ingest --rollup-retain-days`).
                Ok(true) => self.rollups.open(&index),
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(index = %index.name, %error, "cannot reload the index")
                }
            }
        }
        let mut indices = self.indices.write().unwrap_or_else(|e| e.into_inner());
        for name in found {
            if let std::collections::btree_map::Entry::Vacant(slot) = indices.entry(name) {
                let name = slot.key();
                let path = self.indices_dir.join(name);
                match FlowIndex::open(&path, name, self.schema.clone(), &self.column_cache, false) {
                    Ok(index) => {
                        self.rollups.open(&index);
                        slot.insert(Arc::new(index));
                    }
                    // An older index another process is writing cannot get the new fields
                    // now; it does not keep the others from being searched, and the next
                    // scan tries it again. Any other failure is the engine's.
                    Err(error @ EngineError::Locked(_)) => {
                        tracing::debug!(index = %name, %error, "the index waits for its writer")
                    }
                    Err(other) => return Err(other),
                }
            }
        }
        *self.last_scan.write().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        Ok(())
    }

    fn rescan_if_stale(&self) {
        let stale = self
            .last_scan
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .elapsed()
            > RESCAN_INTERVAL;
        if stale {
            if let Err(error) = self.scan() {
                tracing::warn!(%error, "cannot list the indices directory");
            }
        }
    }

    /// All indices, by name.
    pub fn indices(&self) -> Vec<Arc<FlowIndex>> {
        self.rescan_if_stale();
        self.indices
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// The open index of this name, if any.
    pub fn index(&self, name: &str) -> Option<Arc<FlowIndex>> {
        self.indices
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// The index of that name, created if it does not exist.
    pub fn index_or_create(&self, name: &str) -> Result<Arc<FlowIndex>, EngineError> {
        if let Some(index) = self.index(name) {
            return Ok(index);
        }
        validate_index_name(name)?;
        let mut indices = self.indices.write().unwrap_or_else(|e| e.into_inner());
        if let Some(index) = indices.get(name) {
            return Ok(index.clone());
        }
        let index = Arc::new(FlowIndex::open(
            &self.indices_dir.join(name),
            name,
            self.schema.clone(),
            &self.column_cache,
            true,
        )?);
        indices.insert(name.to_owned(), index.clone());
        Ok(index)
    }

    /// Resolves an index expression the way Elasticsearch does: comma-separated names and
    /// wildcard patterns, `-pattern` to exclude, `_all` / `*` for everything. Patterns that
    /// match nothing are fine; a plain name that does not exist is an error.
    pub fn resolve(&self, expression: &str) -> Result<Vec<Arc<FlowIndex>>, EngineError> {
        let all = self.indices();
        let mut selected: Vec<Arc<FlowIndex>> = Vec::new();
        for part in expression
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            if let Some(excluded) = part.strip_prefix('-') {
                selected.retain(|index| !wildcard_match(excluded, &index.name));
                continue;
            }
            let pattern = if part == "_all" { "*" } else { part };
            if !pattern.contains('*') && !all.iter().any(|i| i.name == pattern) {
                return Err(EngineError::IndexNotFound(pattern.to_owned()));
            }
            for index in &all {
                if wildcard_match(pattern, &index.name)
                    && !selected.iter().any(|s| s.name == index.name)
                {
                    selected.push(index.clone());
                }
            }
        }
        Ok(selected)
    }

    /// A sink that writes into this engine.
    pub fn sink(self: &Arc<Self>, mode: OnExistingId) -> EmbeddedSink {
        EmbeddedSink::new(self.clone(), mode)
    }

    /// Commits and closes writers unused for `idle`, keeping at most `keep_open` open.
    pub fn close_idle_writers(&self, idle: Duration, keep_open: usize) -> Result<(), EngineError> {
        let mut open: Vec<(Instant, Arc<FlowIndex>)> = self
            .indices()
            .into_iter()
            .filter_map(|index| index.writer_footprint().map(|f| (f.last_used, index)))
            .collect();
        open.sort_by_key(|(t, _)| std::cmp::Reverse(*t));
        for (position, (last_used, index)) in open.into_iter().enumerate() {
            if position >= keep_open || last_used.elapsed() >= idle {
                index.close_writer()?;
            }
        }
        Ok(())
    }

    /// Makes the rollups of indices that lack one for their current flows and have not been
    /// written for `quiet` (see [`rollup`]). How many were made.
    pub fn refresh_rollups(&self, quiet: Duration) -> Result<usize, EngineError> {
        let mut made = 0;
        for index in self.indices() {
            let started = Instant::now();
            match self.rollups.refresh(&index, quiet, rollup::MIN_FLOWS) {
                Ok(true) => {
                    made += 1;
                    tracing::info!(index = %index.name, took_ms = started.elapsed().as_millis() as u64, "made the index's rollup");
                }
                Ok(false) => {}
                // One day that cannot be rolled up (a full disk) does not hold up the others;
                // the next pass tries it again.
                Err(error) => {
                    tracing::warn!(index = %index.name, %error, "cannot make the index's rollup")
                }
            }
        }
        Ok(made)
    }

    /// The rollup of `index` when it holds exactly the flows `searcher` reads.
    pub fn rollup_for(
        &self,
        index: &FlowIndex,
        searcher: &tantivy::Searcher,
    ) -> Option<Arc<rollup::Rollup>> {
        self.rollups.for_searcher(index, searcher)
    }

    /// Makes the rollup of `index` as [`EmbeddedEngine::refresh_rollups`] does, for
    /// indices of at least `min_flows`.
    pub fn refresh_rollup(
        &self,
        index: &FlowIndex,
        quiet: Duration,
        min_flows: u64,
    ) -> Result<bool, EngineError> {
        self.rollups.refresh(index, quiet, min_flows)
    }

    /// Whether searches may read rollups.
    pub fn rollups_enabled(&self) -> bool {
        self.rollups_enabled
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Lets searches read rollups, or not.
    pub fn set_rollups_enabled(&self, enabled: bool) {
        self.rollups_enabled
            .store(enabled, std::sync::atomic::Ordering::Relaxed);
    }

    /// Searches that read rollups since the engine opened.
    pub fn rollup_searches(&self) -> u64 {
        self.rollup_searches
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn count_rollup_search(&self) {
        self.rollup_searches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Searches whose top conversations were sieved since the engine opened, and those of
    /// them whose sieve was widened.
    pub fn sieved_searches(&self) -> (u64, u64) {
        let [sieved, widened] = &self.sieved_searches;
        let load =
            |count: &std::sync::atomic::AtomicU64| count.load(std::sync::atomic::Ordering::Relaxed);
        (load(sieved), load(widened))
    }

    /// Counts a search sieved, or one whose sieve was widened.
    fn count_sieved_search(&self, widened: bool) {
        self.sieved_searches[usize::from(widened)]
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Deletes an index and its files.
    pub fn delete_index(&self, name: &str) -> Result<(), EngineError> {
        let removed = self
            .indices
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        let Some(index) = removed else {
            return Err(EngineError::IndexNotFound(name.to_owned()));
        };
        index.close_writer()?;
        drop(index);
        self.rollups.forget(name);
        std::fs::remove_dir_all(self.indices_dir.join(name))?;
        Ok(())
    }

    /// Enforces retention at `now_ms`: an index whose newest flow is older than `policy.days`
    /// days is dropped whole, or, when rollups are kept longer (`policy.rollup_days`), loses
    /// its raw flows and keeps its rollup until that many days have passed.
    pub fn enforce_retention(
        &self,
        policy: Retention,
        now_ms: i64,
    ) -> Result<Retained, EngineError> {
        let cutoff = |days: u32| now_ms - i64::from(days) * 86_400_000;
        let raw_cutoff = cutoff(policy.days);
        let rollup_cutoff = cutoff(policy.rollup_days.unwrap_or(policy.days).max(policy.days));
        let mut retained = Retained::default();
        for index in self.indices() {
            let Some(newest) = index.stats().max_ms else {
                continue;
            };
            if newest < rollup_cutoff {
                self.delete_index(&index.name)?;
                retained.dropped.push(index.name.clone());
            } else if newest < raw_cutoff {
                let had_flows = !index.rolled_up_only() || index.searcher().num_docs() > 0;
                match self.rollups.expire_raw(&index) {
                    Ok(true) if had_flows => retained.rolled_up.push(index.name.clone()),
                    Ok(true) => {}
                    Ok(false) => {
                        self.delete_index(&index.name)?;
                        retained.dropped.push(index.name.clone());
                    }
                    // Another day's need not wait for this one (a writer still closing, say):
                    // the next pass tries it again.
                    Err(error) => {
                        tracing::warn!(index = %index.name, %error, "cannot delete the flows of a day past retention; the next pass tries again")
                    }
                }
            }
        }
        Ok(retained)
    }
}

/// How long flows are kept (`--retain-days`, `--rollup-retain-days`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Days raw flows are kept, counted from an index's newest flow.
    pub days: u32,
    /// Days rollups are kept, when longer.
    pub rollup_days: Option<u32>,
}

/// What one pass of retention did.
#[derive(Debug, Default)]
pub struct Retained {
    /// Indices deleted whole.
    pub dropped: Vec<String>,
    /// Indices whose raw flows were deleted, kept as their rollups.
    pub rolled_up: Vec<String>,
}

impl Retained {
    /// Says what was deleted, if anything.
    pub fn log(&self, retention: Retention) {
        if !self.dropped.is_empty() {
            tracing::info!(dropped = ?self.dropped, days = retention.days, rollup_days = ?retention.rollup_days, "retention deleted old days");
        }
        if !self.rolled_up.is_empty() {
            tracing::info!(rolled_up = ?self.rolled_up, days = retention.days, "retention deleted the raw flows of old days and kept their hourly rollups");
        }
    }
}

/// One search thread per core.
fn search_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// The search threads: segments are searched in parallel.
fn search_executor(threads: usize) -> Result<tantivy::Executor, EngineError> {
    if threads <= 1 {
        return Ok(tantivy::Executor::single_thread());
    }
    Ok(tantivy::Executor::multi_thread(
        threads,
        "flowdash-search-",
    )?)
}

/// Elasticsearch's index name rules, which also keep names safe as directory names.
pub fn validate_index_name(name: &str) -> Result<(), EngineError> {
    let reason = if name.is_empty() {
        Some("must not be empty")
    } else if name.len() > 255 {
        Some("must be at most 255 bytes")
    } else if name == "." || name == ".." {
        Some("must not be '.' or '..'")
    } else if name.starts_with(['-', '_', '+']) {
        Some("must not start with '_', '-', or '+'")
    } else if name.chars().any(|c| c.is_uppercase()) {
        Some("must be lowercase")
    } else if name.chars().any(|c| {
        matches!(
            c,
            '\\' | '/' | '*' | '?' | '"' | '<' | '>' | '|' | ' ' | ',' | '#' | ':'
        ) || c.is_control()
    }) {
        Some("must not contain '\\', '/', '*', '?', '\"', '<', '>', '|', ' ', ',', '#', ':'")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(EngineError::InvalidIndexName {
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// `*` matches any run of characters; everything else matches itself.
pub fn wildcard_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || !name[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests;
