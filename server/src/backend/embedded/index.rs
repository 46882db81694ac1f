//! One tantivy index (a day of flows, `cwl-YYYY.MM.DD`, or any index a client bulk-writes):
//! its reader, its time bounds, and, while it is being written, its writer and the set of
//! ids it holds.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Instant, SystemTime};

use rustc_hash::FxHashSet;
use tantivy::columnar::Column;
use tantivy::directory::{Directory, MmapDirectory, INDEX_WRITER_LOCK};
use tantivy::indexer::UserOperation;
use tantivy::schema::{FieldEntry, Schema};
use tantivy::{DocId, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, Term};

use super::documents::{BatchDoc, DocBatchBuilder, DocsInFlight};
use super::schema::{FlowSchema, ID_HASH, TIMESTAMP};
use super::search::column_cache::{ColumnCache, IndexColumns, SegmentColumns};
use super::EngineError;
use crate::ingest::document::{id_hash, FlowDoc};

/// The least indexing memory of one writer thread: tantivy wants 15 MB.
pub const MIN_THREAD_BYTES: usize = 16 << 20;
/// Indexing threads of a writer with at least [`TWO_THREADS_FROM`] bytes of indexing memory:
/// parsing runs on the caller's thread meanwhile.
const INDEXING_THREADS: usize = 2;
/// Below this much indexing memory a writer has one thread.
/// (One thread below 64 MB, tried for days written side by side, ingested a shuffled week
/// 15 % slower.)
const TWO_THREADS_FROM: usize = 2 * MIN_THREAD_BYTES;
/// Merge threads per writer: tantivy's default. (One each was slower too, and held no less.)
const MERGE_THREADS: usize = 4;
/// What a writer's set of stored ids costs per id it can hold: a `u64` and hashbrown's control
/// byte, at its load factor of 7/8.
const ID_SET_BYTES_PER_ID: usize = 11;
/// Documents handed to the indexing threads at once. One at a time, the parsing thread and
/// the indexers wake each other for every document; many at a time, the writer's queue (10 000
/// hand-offs) could hold far more documents than memory should.
const HAND_OFF_DOCS: usize = 4;

/// The documents whose `_id` has this digest.
pub fn id_query(schema: &FlowSchema, hash: u64) -> Box<dyn tantivy::query::Query> {
    let term = Term::from_field_u64(schema.id_hash, hash);
    Box::new(tantivy::query::RangeQuery::new(
        std::ops::Bound::Included(term.clone()),
        std::ops::Bound::Included(term),
    ))
}

/// What a write did with one document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteResult {
    /// The document's `_id` was new.
    Created,
    /// The `_id` existed and the document replaced it (`_bulk` `index`).
    Updated,
    /// The `_id` existed and the document was not written (ingestion, `_bulk` `create`).
    Duplicate,
}

/// What a write does when a document with its `_id` is already stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnExistingId {
    /// The stored document stays and the write counts as a duplicate (ingestion, `_bulk`
    /// `create`): ingesting the same data twice stores it once.
    KeepExisting,
    /// The new document replaces the stored one (`_bulk` `index`).
    Overwrite,
}

/// Counts and time bounds of an index, refreshed on every reload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IndexStats {
    /// Documents in the index (deleted ones excluded).
    pub docs: u64,
    /// The earliest `@timestamp`, epoch ms (`None` when empty).
    pub min_ms: Option<i64>,
    /// The latest `@timestamp`, epoch ms (`None` when empty).
    pub max_ms: Option<i64>,
}

impl IndexStats {
    /// Whether any document may lie in `[from, to]` (inclusive, epoch ms).
    pub fn overlaps(&self, from: Option<i64>, to: Option<i64>) -> bool {
        match (self.min_ms, self.max_ms) {
            (Some(min), Some(max)) => {
                from.is_none_or(|from| max >= from) && to.is_none_or(|to| min <= to)
            }
            _ => false,
        }
    }
}

/// The counts and time bounds of a snapshot. The bounds are its segments' (deleted
/// documents included): no live document lies outside them.
pub fn stats_of(searcher: &Searcher) -> IndexStats {
    let mut stats = IndexStats {
        docs: searcher.num_docs(),
        ..IndexStats::default()
    };
    for segment in searcher.segment_readers() {
        if segment.num_docs() == 0 {
            continue;
        }
        let Ok(column) = segment.fast_fields().date(TIMESTAMP) else {
            continue;
        };
        let (min, max) = (
            column.min_value().into_timestamp_millis(),
            column.max_value().into_timestamp_millis(),
        );
        stats.min_ms = Some(stats.min_ms.map_or(min, |m| m.min(min)));
        stats.max_ms = Some(stats.max_ms.map_or(max, |m| m.max(max)));
    }
    stats
}

struct OpenWriter {
    writer: IndexWriter<BatchDoc>,
    /// The indexing memory it was opened with (see [`super::writers`]).
    indexing_bytes: usize,
    /// `_id` digests of every stored and pending document.
    /// The digests are hashes already, so a fast hash of them spreads them as well.
    ids: FxHashSet<u64>,
    /// Documents handed to the writer and not yet indexed.
    in_flight: Arc<DocsInFlight>,
    last_used: Instant,
}

/// An index's `meta.json` and the fields its schema lists; `None` when they do not read
/// (tantivy says why when it opens the index).
fn stored_fields(path: &Path) -> Option<(serde_json::Value, Vec<FieldEntry>)> {
    let text = std::fs::read_to_string(path.join("meta.json")).ok()?;
    let meta: serde_json::Value = serde_json::from_str(&text).ok()?;
    let fields = serde_json::from_value(meta["schema"].clone()).ok()?;
    Some((meta, fields))
}

/// The fields the flow schema has that an index made before they were added lacks: those
/// after all of its own, which are the schema's first ones by name and kind. None when the
/// index has them all, has more (a newer flowdash made it), or was made otherwise.
fn missing_fields(stored: &[FieldEntry], current: &[FieldEntry]) -> Vec<FieldEntry> {
    let same = |(a, b): (&FieldEntry, &FieldEntry)| {
        a.name() == b.name() && a.field_type().value_type() == b.field_type().value_type()
    };
    if stored.len() < current.len() && stored.iter().zip(current).all(same) {
        current[stored.len()..].to_vec()
    } else {
        Vec::new()
    }
}

/// Gives an index made before fields were added to the flow schema (the GeoIP ones) those
/// fields, in its `meta.json`. tantivy has no call for this and needs none: no segment holds
/// the new fields, and segments find their columns by name, so searches read them as
/// missing there. Without it, queries that name a field by its place in the schema (a word
/// of `@message` is looked for in every column) would reach past the index's fields.
///
/// The rewrite is made under the index's writer lock, so no commit of another process comes
/// between reading and writing; an index another process is writing now is `Locked`, and
/// is opened once that process lets go of it.
fn add_new_fields(path: &Path, name: &str, schema: &Schema) -> Result<(), EngineError> {
    let current: Vec<FieldEntry> = schema.fields().map(|(_, entry)| entry.clone()).collect();
    let needs_them = |stored: &[FieldEntry]| !missing_fields(stored, &current).is_empty();
    if !stored_fields(path).is_some_and(|(_, stored)| needs_them(&stored)) {
        return Ok(());
    }
    let io = |e: &dyn std::fmt::Display| EngineError::Io(std::io::Error::other(e.to_string()));
    let directory = MmapDirectory::open(path).map_err(|e| io(&e))?;
    let _lock = directory
        .acquire_lock(&INDEX_WRITER_LOCK)
        .map_err(|error| match error {
            tantivy::directory::error::LockError::LockBusy => EngineError::Locked(name.to_owned()),
            other => io(&other),
        })?;
    // Read again under the lock: another process may have committed or added them.
    let Some((mut meta, mut fields)) = stored_fields(path) else {
        return Ok(());
    };
    let missing = missing_fields(&fields, &current);
    if missing.is_empty() {
        return Ok(());
    }
    let added = missing.len();
    fields.extend(missing);
    meta["schema"] = serde_json::to_value(&fields).map_err(|e| io(&e))?;
    // Written whole and synced, as tantivy writes it.
    directory.atomic_write(Path::new("meta.json"), meta.to_string().as_bytes())?;
    tracing::info!(
        index = name,
        added,
        "added the flow schema's new fields to an older index"
    );
    Ok(())
}

/// One tantivy index (`cwl-YYYY.MM.DD`): its reader, its statistics and, while it is written,
/// its writer with the set of stored id digests.
pub struct FlowIndex {
    /// The index name.
    pub name: String,
    /// Its directory.
    path: PathBuf,
    index: Index,
    reader: IndexReader,
    schema: Arc<FlowSchema>,
    stats: RwLock<IndexStats>,
    /// Set when its raw flows were deleted and its rollup answers alone: their time bounds
    /// (see [`super::rollup::Rollups::expire_raw`]).
    rolled_up_only: RwLock<Option<IndexStats>>,
    writer: Mutex<Option<OpenWriter>>,
    /// Its columns kept for searches, in the engine's cache.
    columns: IndexColumns,
    /// `meta.json`'s modification time and length when the reader last loaded it: another
    /// process's commit changes them (see [`FlowIndex::reload_if_changed`]).
    meta_seen: Mutex<Option<(SystemTime, u64)>>,
}

/// What an open writer holds: for [`super::writers`], which keeps the sum within budget.
#[derive(Clone, Copy, Debug)]
pub struct WriterFootprint {
    /// When it last wrote.
    pub last_used: Instant,
    /// The indexing memory it was opened with.
    pub indexing_bytes: usize,
    /// Its set of stored ids.
    pub id_set_bytes: usize,
}

impl WriterFootprint {
    /// All it holds.
    pub fn bytes(&self) -> usize {
        self.indexing_bytes + self.id_set_bytes
    }
}

impl FlowIndex {
    /// Opens the index in `path`, creating it when `create` is set and it does not exist; its
    /// columns are kept in `columns`.
    pub fn open(
        path: &Path,
        name: &str,
        schema: Arc<FlowSchema>,
        columns: &Arc<ColumnCache>,
        create: bool,
    ) -> Result<FlowIndex, EngineError> {
        let mut index = if path.join("meta.json").exists() {
            add_new_fields(path, name, &schema.schema)?;
            Index::open_in_dir(path)?
        } else if create {
            std::fs::create_dir_all(path)?;
            Index::create_in_dir(path, schema.schema.clone())?
        } else {
            return Err(EngineError::IndexNotFound(name.to_owned()));
        };
        // Stored fields are compressed by the indexing threads themselves: a thread of its own
        // per segment was woken for every block, and the wake-ups cost more than the work.
        index.settings_mut().docstore_compress_dedicated_thread = false;
        index.tokenizers().register(
            super::schema::MESSAGE_TOKENIZER,
            super::message_words::tokenizer::message_analyzer(),
        );
        let reader = index
            .reader_builder()
            // Our own commits reload explicitly, and the engine looks for another process's
            // every few seconds: tantivy's watcher would be a polling thread per index, and
            // a year of days is 365 of them.
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let flow_index = FlowIndex {
            name: name.to_owned(),
            path: path.to_owned(),
            index,
            reader,
            schema,
            stats: RwLock::new(IndexStats::default()),
            rolled_up_only: RwLock::new(None),
            writer: Mutex::new(None),
            columns: IndexColumns::new(columns),
            meta_seen: Mutex::new(meta_stamp(path)),
        };
        flow_index.refresh_stats();
        Ok(flow_index)
    }

    /// Reloads the reader when `meta.json` changed since it was loaded: another process
    /// committed to this index. Whether it did.
    pub fn reload_if_changed(&self) -> Result<bool, EngineError> {
        let now = meta_stamp(&self.path);
        let mut seen = self.meta_seen.lock().unwrap_or_else(|e| e.into_inner());
        if now == *seen {
            return Ok(false);
        }
        self.reader.reload()?;
        self.refresh_stats();
        *seen = now;
        Ok(true)
    }

    /// Reloads the reader after this process committed.
    fn reload(&self) -> Result<(), EngineError> {
        self.reader.reload()?;
        self.refresh_stats();
        *self.meta_seen.lock().unwrap_or_else(|e| e.into_inner()) = meta_stamp(&self.path);
        Ok(())
    }

    /// A searcher over the last committed state.
    pub fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }

    /// The index's columns as search number `search` opens them (see
    /// [`super::search::guard::SearchGuard::search`]).
    pub fn columns(&self, search: u64) -> SegmentColumns {
        self.columns.for_search(search)
    }

    /// Forgets the kept columns of segments `searcher` no longer has.
    pub fn retain_columns(&self, searcher: &Searcher) {
        self.columns.retain_segments(searcher);
    }

    /// The cache the index keeps its columns in.
    pub fn column_cache(&self) -> &Arc<ColumnCache> {
        self.columns.cache()
    }

    /// The flow schema the index was made with.
    pub fn schema(&self) -> &FlowSchema {
        &self.schema
    }

    /// The flow schema, shared.
    pub fn shared_schema(&self) -> Arc<FlowSchema> {
        self.schema.clone()
    }

    /// Its directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether it is being written (a writer is open), or was committed to within
    /// `quiet`.
    pub fn written_within(&self, quiet: std::time::Duration) -> bool {
        if self.writer_footprint().is_some() {
            return true;
        }
        std::fs::metadata(self.path.join("meta.json"))
            .and_then(|m| m.modified())
            .is_ok_and(|at| at.elapsed().unwrap_or_default() < quiet)
    }

    /// Counts and time bounds, refreshed when the reader has reloaded. An index kept only as
    /// its rollup has the time bounds of the flows it stood for, and the documents it holds.
    pub fn stats(&self) -> IndexStats {
        // A reload for another process's commit changes the counts too.
        let searcher = self.reader.searcher();
        if let Some(flows) = *self
            .rolled_up_only
            .read()
            .unwrap_or_else(|e| e.into_inner())
        {
            return IndexStats {
                docs: searcher.num_docs(),
                ..flows
            };
        }
        let cached = *self.stats.read().unwrap_or_else(|e| e.into_inner());
        if cached.docs != searcher.num_docs() {
            return self.refresh_stats();
        }
        cached
    }

    /// Marks the index as kept only as its rollup, standing for flows of these bounds.
    pub fn set_rolled_up_only(&self, flows: IndexStats) {
        *self
            .rolled_up_only
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(flows);
    }

    /// Whether its raw flows were deleted and its rollup answers alone.
    pub fn rolled_up_only(&self) -> bool {
        self.rolled_up_only
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// Deletes every document and closes the writer: tantivy then removes the segments' files,
    /// once no search and no kept column holds them.
    pub fn delete_all(&self) -> Result<(), EngineError> {
        let mut guard = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut writer = match guard.take() {
            Some(open) => open.writer,
            // Deleting everything needs no set of stored ids.
            None => self.bare_writer(MIN_THREAD_BYTES)?,
        };
        writer.delete_all_documents()?;
        writer.commit()?;
        writer.wait_merging_threads()?;
        self.reload()?;
        self.retain_columns(&self.searcher());
        Ok(())
    }

    fn refresh_stats(&self) -> IndexStats {
        let stats = stats_of(&self.reader.searcher());
        *self.stats.write().unwrap_or_else(|e| e.into_inner()) = stats;
        stats
    }

    /// Adds documents (not yet committed), skipping or replacing those whose `_id` is stored.
    /// A writer that is not open yet is opened with `indexing_bytes` of indexing memory.
    pub fn write(
        &self,
        docs: &[FlowDoc],
        mode: OnExistingId,
        indexing_bytes: usize,
    ) -> Result<Vec<WriteResult>, EngineError> {
        let mut guard = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            *guard = Some(self.open_writer(indexing_bytes)?);
        }
        let open = guard.as_mut().expect("writer just opened");
        open.last_used = Instant::now();
        // What to do with each document, decided before any is converted.
        let results: Vec<(WriteResult, u64)> = docs
            .iter()
            .map(|doc| {
                let hash = id_hash(&doc.id);
                let result = if open.ids.insert(hash) {
                    WriteResult::Created
                } else if mode == OnExistingId::Overwrite {
                    WriteResult::Updated
                } else {
                    WriteResult::Duplicate
                };
                (result, hash)
            })
            .collect();
        let mut batch = DocBatchBuilder::new(&self.schema, docs.len());
        for (doc, (result, hash)) in docs.iter().zip(&results) {
            if *result != WriteResult::Duplicate {
                batch.add(doc, *hash);
            }
        }
        let mut batch = batch.finish(&open.in_flight);
        let mut hand_off = Vec::with_capacity(HAND_OFF_DOCS);
        for (result, hash) in &results {
            match result {
                WriteResult::Duplicate => continue,
                WriteResult::Updated => {
                    // Documents added before the delete must get earlier opstamps than it.
                    open.writer.run(hand_off.drain(..))?;
                    open.writer.delete_query(id_query(&self.schema, *hash))?;
                }
                WriteResult::Created => {}
            }
            hand_off.extend(batch.next().map(UserOperation::Add));
            if hand_off.len() == HAND_OFF_DOCS {
                open.writer.run(hand_off.drain(..))?;
            }
        }
        open.writer.run(hand_off)?;
        Ok(results.into_iter().map(|(result, _)| result).collect())
    }

    /// Deletes the document with this `_id` (not yet committed). Says whether it existed.
    pub fn delete(&self, id: &str) -> Result<bool, EngineError> {
        let mut guard = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            // A delete indexes nothing: the least a writer can have is enough.
            *guard = Some(self.open_writer(MIN_THREAD_BYTES)?);
        }
        let open = guard.as_mut().expect("writer just opened");
        open.last_used = Instant::now();
        let hash = id_hash(id);
        let existed = open.ids.remove(&hash);
        if existed {
            open.writer.delete_query(id_query(&self.schema, hash))?;
        }
        Ok(existed)
    }

    /// A tantivy writer with `indexing_bytes` of indexing memory.
    fn bare_writer(&self, indexing_bytes: usize) -> Result<IndexWriter<BatchDoc>, EngineError> {
        let threads = if indexing_bytes >= TWO_THREADS_FROM {
            INDEXING_THREADS
        } else {
            1
        };
        let options = tantivy::indexer::IndexWriterOptions::builder()
            .num_worker_threads(threads)
            .memory_budget_per_thread((indexing_bytes / threads).max(MIN_THREAD_BYTES))
            .num_merge_threads(MERGE_THREADS)
            .build();
        self.index
            .writer_with_options(options)
            .map_err(|error| match error {
                tantivy::TantivyError::LockFailure(..) => EngineError::Locked(self.name.clone()),
                other => other.into(),
            })
    }

    fn open_writer(&self, indexing_bytes: usize) -> Result<OpenWriter, EngineError> {
        let writer = self.bare_writer(indexing_bytes)?;
        let ids = self.stored_id_hashes()?;
        Ok(OpenWriter {
            writer,
            indexing_bytes,
            ids,
            in_flight: Arc::default(),
            last_used: Instant::now(),
        })
    }

    /// The `_id` digests of every live document.
    fn stored_id_hashes(&self) -> Result<FxHashSet<u64>, EngineError> {
        let searcher = self.reader.searcher();
        let mut ids = FxHashSet::default();
        ids.reserve(searcher.num_docs() as usize);
        for segment in searcher.segment_readers() {
            let column: Column<u64> = segment.fast_fields().u64(ID_HASH)?;
            let alive = segment.alive_bitset();
            for doc in 0..segment.max_doc() {
                if alive.is_some_and(|a| !a.is_alive(doc as DocId)) {
                    continue;
                }
                if let Some(hash) = column.first(doc) {
                    ids.insert(hash);
                }
            }
        }
        Ok(ids)
    }

    /// Makes written documents durable and visible.
    pub fn commit(&self) -> Result<(), EngineError> {
        let mut guard = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(open) = guard.as_mut() {
            open.writer.commit()?;
            self.reload()?;
        }
        Ok(())
    }

    /// What the writer holds and when it last wrote, if one is open.
    pub fn writer_footprint(&self) -> Option<WriterFootprint> {
        self.writer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|w| WriterFootprint {
                last_used: w.last_used,
                indexing_bytes: w.indexing_bytes,
                id_set_bytes: w.ids.capacity() * ID_SET_BYTES_PER_ID,
            })
    }

    /// What the set of stored ids will cost when a writer opens: it holds every live
    /// document's.
    pub fn id_set_bytes_when_opened(&self) -> usize {
        (self.stats().docs as usize).saturating_mul(ID_SET_BYTES_PER_ID)
    }

    /// Commits and closes the writer (waiting for its merges), releasing its memory and lock.
    pub fn close_writer(&self) -> Result<(), EngineError> {
        let open = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(mut open) = open {
            open.writer.commit()?;
            open.writer.wait_merging_threads()?;
            self.reload()?;
        }
        Ok(())
    }

    /// Whether a document with this `_id` is stored.
    pub fn contains_id(&self, id: &str) -> Result<bool, EngineError> {
        let searcher = self.reader.searcher();
        let count = searcher.search(
            id_query(&self.schema, id_hash(id)).as_ref(),
            &tantivy::collector::Count,
        )?;
        Ok(count > 0)
    }
}

/// `meta.json`'s modification time and length, `None` when it cannot be read.
fn meta_stamp(index_dir: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(index_dir.join("meta.json")).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}
