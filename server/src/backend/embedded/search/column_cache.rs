//! Columns opened for aggregations, kept for later searches within a memory budget
//! (`--column-cache-mb`).
//!
//! Opening a column costs as much as collecting a small segment: an address column read as
//! codes loads the segment's whole table of value ranges, and an optional column gets a
//! [`super::columns::RowIndex`]. Kept, they made a month's top talkers over 100M flows 2.7 s
//! instead of 8.5 s, but all of them took 2.8 GB. So the cache counts what each column holds
//! ([`crate::heap::measure`]) and gives back the least recently used first, with one
//! exception that keeps long ranges fast: columns last used by a search still running are not
//! given back. A search over more segments than fit keeps the first ones it opened and reads
//! the rest uncached; plain least-recently-used would let it push out its own columns and
//! leave the next search of the same range nothing to reuse.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use app::model::flow::FieldType;
use tantivy::index::SegmentId;
use tantivy::schema::Field;
use tantivy::{Searcher, SegmentReader};

use super::columns::Accessor;
use super::SearchError;
use crate::backend::embedded::conversation::{bin_count, DigestCollisions};
use crate::backend::embedded::schema::SchemaField;

/// The cache's budget where the machine's memory cannot be read.
const FALLBACK_BUDGET_BYTES: usize = 1 << 30;

/// The cache's budget unless the server sets another: a quarter of the machine's memory, or
/// of the memory limit of the server's control group when lower. An address column of a day
/// of 1.8M flows keeps 34 MB; the overview's columns over a month of 100M flows take 3.8 GB,
/// over a day of 10M flows 405 MB.
pub fn default_budget() -> usize {
    let number = |text: &str| text.trim().parse::<usize>().ok();
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let machine = read("/proc/meminfo").and_then(|text| {
        let line = text.lines().find(|line| line.starts_with("MemTotal:"))?;
        number(line.trim_start_matches("MemTotal:").trim_end_matches("kB")).map(|kib| kib << 10)
    });
    // The group's path is on a line `0::/path` (cgroup v2) or `N:memory:/path` (v1); inside a
    // container the group's own files are often mounted at the root instead. Without a
    // limit, v2 says `max` and v1 a number past any memory.
    let groups = read("/proc/self/cgroup").unwrap_or_default();
    let path_of = |prefix: &str| {
        groups.lines().find_map(|line| {
            let (_, rest) = line.split_once(':')?;
            rest.strip_prefix(prefix)
                .map(|path| path.trim_end_matches('/').to_owned())
        })
    };
    let mut limits = Vec::new();
    if let Some(path) = path_of(":") {
        limits.push(format!("/sys/fs/cgroup{path}/memory.max"));
    }
    if let Some(path) = path_of("memory:") {
        limits.push(format!("/sys/fs/cgroup/memory{path}/memory.limit_in_bytes"));
    }
    limits.push("/sys/fs/cgroup/memory.max".into());
    limits.push("/sys/fs/cgroup/memory/memory.limit_in_bytes".into());
    let group = limits
        .iter()
        .filter_map(|path| read(path).and_then(|text| number(&text)))
        .filter(|&limit| limit > 0)
        .min();
    [machine, group]
        .into_iter()
        .flatten()
        .min()
        .map_or(FALLBACK_BUDGET_BYTES, |memory| memory / 4)
}

/// Columns of running searches passed over, at most, to find one to give back (see
/// [`CacheState::keep_within`]).
const PROTECTED_LOOKED_AT: usize = 256;

/// What keeping a column costs beyond what opening it allocated: its entry in the maps.
const ENTRY_BYTES: usize = 160;

/// The columns of every index of an engine, kept within a budget.
pub struct ColumnCache {
    budget: AtomicUsize,
    state: Mutex<CacheState>,
    /// Tells apart the indices whose columns are kept.
    next_owner: AtomicU64,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
struct ColumnKey {
    segment: SegmentId,
    field: Field,
    /// Addresses read as codes (see [`Accessor::IpCode`]).
    codes: bool,
}

#[derive(Default)]
struct CacheState {
    columns: HashMap<ColumnKey, Kept>,
    /// Keys by the tick they were last used at: the least recently used first.
    by_use: BTreeMap<u64, ColumnKey>,
    tick: u64,
    /// What the kept columns hold.
    bytes: usize,
    /// The segments of each index in the newest snapshot searched, and its generation.
    live: HashMap<u64, (u64, Vec<SegmentId>)>,
    /// Searches running now ([`ColumnCache::begin_search`]): the columns they last used are
    /// not given back.
    running: HashSet<u64>,
    /// What the top conversations learnt of each segment's digests, and the owner of the
    /// segment: a few kilobytes a segment, not counted in the budget, forgotten with the
    /// segment.
    collisions: HashMap<SegmentId, (u64, DigestCollisions)>,
    /// Columns given back while the lock was held, dropped once it is released: the last
    /// copy of a column can hold tens of megabytes, and every search waits on the lock.
    given_back: Vec<Kept>,
    hits: u64,
    reused: u64,
    misses: u64,
}

struct Kept {
    accessor: Accessor,
    /// What opening it allocated.
    opened_bytes: usize,
    /// What it holds now: an address column builds its decoding table on first use.
    bytes: usize,
    used: u64,
    /// The search that last used it.
    search: u64,
    owner: u64,
}

/// How the cache stands, for logs and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub columns: usize,
    pub bytes: usize,
    pub hits: u64,
    /// Hits on columns an earlier search kept (the others were opened by the same search).
    pub reused: u64,
    pub misses: u64,
}

impl ColumnCache {
    /// A cache that keeps at most `budget` bytes of columns.
    pub fn new(budget: usize) -> Arc<ColumnCache> {
        Arc::new(ColumnCache {
            budget: budget.into(),
            state: Mutex::default(),
            next_owner: AtomicU64::new(1),
        })
    }

    /// Sets the budget; columns beyond it are given back now, least recently used first.
    pub fn set_budget(&self, budget: usize) {
        self.budget.store(budget, Ordering::Relaxed);
        let mut state = self.lock();
        state.keep_within(budget, false);
        release(state);
    }

    /// Marks search number `search` as running until the result is dropped: columns it uses
    /// are not given back meanwhile.
    pub fn begin_search(&self, search: u64) -> RunningSearch<'_> {
        self.lock().running.insert(search);
        RunningSearch {
            cache: self,
            search,
        }
    }

    pub fn budget(&self) -> usize {
        self.budget.load(Ordering::Relaxed)
    }

    pub fn stats(&self) -> CacheStats {
        let state = self.lock();
        CacheStats {
            columns: state.columns.len(),
            bytes: state.bytes,
            hits: state.hits,
            reused: state.reused,
            misses: state.misses,
        }
    }

    /// The column kept under `key`, marked as used by `search`.
    fn hit(&self, key: &ColumnKey, search: u64) -> Option<Accessor> {
        let mut state = self.lock();
        let state = &mut *state;
        let Some(kept) = state.columns.get_mut(key) else {
            state.misses += 1;
            return None;
        };
        state.hits += 1;
        if kept.search != search {
            state.reused += 1;
        }
        state.tick += 1;
        state.by_use.remove(&kept.used);
        state.by_use.insert(state.tick, *key);
        kept.used = state.tick;
        kept.search = search;
        Some(kept.accessor.clone())
    }

    /// Keeps a column `search` opened, if the budget allows after giving back columns no
    /// running search used last.
    fn keep(&self, key: ColumnKey, owner: u64, search: u64, accessor: Accessor, bytes: usize) {
        let budget = self.budget();
        let mut state = self.lock();
        // Another thread may have opened it meanwhile; and a search that began before the
        // index's segments were merged must not keep a column of a segment already forgotten.
        let merged_away = state
            .live
            .get(&owner)
            .is_some_and(|(_, live)| live.binary_search(&key.segment).is_err());
        if bytes > budget || merged_away || state.columns.contains_key(&key) {
            return;
        }
        let fits = state.keep_within(budget - bytes, true);
        if !fits {
            release(state);
            return;
        }
        state.tick += 1;
        let tick = state.tick;
        state.by_use.insert(tick, key);
        state.bytes += bytes;
        state.columns.insert(
            key,
            Kept {
                accessor,
                opened_bytes: bytes,
                bytes,
                used: tick,
                search,
                owner,
            },
        );
        release(state);
    }

    /// Forgets the columns of the owner's segments that `searcher` no longer has (merged or
    /// dropped): they would keep their files mapped.
    fn retain_segments(&self, owner: u64, searcher: &Searcher) {
        let mut live: Vec<SegmentId> = searcher
            .segment_readers()
            .iter()
            .map(SegmentReader::segment_id)
            .collect();
        live.sort();
        let generation = searcher.generation().generation_id();
        let mut state = self.lock();
        // A search holding an older snapshot than the last one seen must not bring its
        // segments back.
        let before = match state.live.get(&owner) {
            Some((seen, _)) if *seen > generation => return,
            Some((_, before)) => before.clone(),
            None => Vec::new(),
        };
        state.live.insert(owner, (generation, live.clone()));
        if before
            .iter()
            .all(|segment| live.binary_search(segment).is_ok())
        {
            return;
        }
        state.forget(|kept, key| kept.owner == owner && live.binary_search(&key.segment).is_err());
        state.collisions.retain(|segment, (kept_by, _)| {
            *kept_by != owner || live.binary_search(segment).is_ok()
        });
        release(state);
    }

    /// Forgets every column of an index.
    fn forget_owner(&self, owner: u64) {
        let mut state = self.lock();
        state.live.remove(&owner);
        state.forget(|kept, _| kept.owner == owner);
        state.collisions.retain(|_, (kept_by, _)| *kept_by != owner);
        release(state);
    }

    fn lock(&self) -> MutexGuard<'_, CacheState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl CacheState {
    /// Gives back columns, least recently used first, until they hold at most `limit` bytes;
    /// false if they cannot. With `protect`, columns a running search used last are passed
    /// over, among the [`PROTECTED_LOOKED_AT`] least recently used at most: past them, the
    /// columns are mostly those of running searches.
    fn keep_within(&mut self, limit: usize, protect: bool) -> bool {
        if self.bytes <= limit {
            return true;
        }
        let mut freed = 0;
        let mut passed_over = 0;
        let mut giving_back = Vec::new();
        for (&tick, key) in &self.by_use {
            if self.bytes - freed <= limit || passed_over == PROTECTED_LOOKED_AT {
                break;
            }
            let Some(kept) = self.columns.get(key) else {
                continue;
            };
            if protect && self.running.contains(&kept.search) {
                passed_over += 1;
                continue;
            }
            freed += kept.bytes;
            giving_back.push((tick, *key));
        }
        if protect && self.bytes - freed > limit {
            return false;
        }
        for (tick, key) in giving_back {
            self.by_use.remove(&tick);
            if let Some(kept) = self.columns.remove(&key) {
                self.bytes -= kept.bytes;
                self.given_back.push(kept);
            }
        }
        self.bytes <= limit
    }

    fn forget(&mut self, mut gone: impl FnMut(&Kept, &ColumnKey) -> bool) {
        let keys: Vec<ColumnKey> = self
            .columns
            .iter()
            .filter(|(key, kept)| gone(kept, key))
            .map(|(key, _)| *key)
            .collect();
        for key in keys {
            if let Some(kept) = self.columns.remove(&key) {
                self.by_use.remove(&kept.used);
                self.bytes -= kept.bytes;
                self.given_back.push(kept);
            }
        }
    }
}

/// Unlocks the cache, then drops the columns given back meanwhile.
fn release(mut state: MutexGuard<'_, CacheState>) {
    let given_back = std::mem::take(&mut state.given_back);
    drop(state);
    drop(given_back);
}

/// A search running, for the cache (see [`ColumnCache::begin_search`]). When it ends, the
/// columns it used are counted again, with the decoding tables it built for them (see
/// [`Accessor::ips_in_order`]), and the cache is brought back within its budget. Its own
/// columns go first, the last it used first: those it used first are what the next search of
/// the same range reads first.
pub struct RunningSearch<'a> {
    cache: &'a ColumnCache,
    search: u64,
}

impl Drop for RunningSearch<'_> {
    fn drop(&mut self) {
        let budget = self.cache.budget();
        let mut guard = self.cache.lock();
        let state = &mut *guard;
        state.running.remove(&self.search);
        // Every column, not only this search's: it may have built a table in a column
        // another search used since.
        for kept in state.columns.values_mut() {
            let bytes = kept.opened_bytes + kept.accessor.decoding_table_bytes();
            state.bytes = state.bytes - kept.bytes + bytes;
            kept.bytes = bytes;
        }
        if state.bytes > budget {
            let own: Vec<(u64, ColumnKey)> = state
                .by_use
                .iter()
                .rev()
                .filter(|(_, key)| {
                    state.columns.get(key).map(|kept| kept.search) == Some(self.search)
                })
                .map(|(&tick, &key)| (tick, key))
                .collect();
            for (tick, key) in own {
                if state.bytes <= budget {
                    break;
                }
                state.by_use.remove(&tick);
                if let Some(kept) = state.columns.remove(&key) {
                    state.bytes -= kept.bytes;
                    state.given_back.push(kept);
                }
            }
        }
        state.keep_within(budget, true);
        release(guard);
    }
}

/// An index's part of the cache: its columns are forgotten when the index is dropped.
pub struct IndexColumns {
    cache: Arc<ColumnCache>,
    owner: u64,
}

impl IndexColumns {
    pub fn new(cache: &Arc<ColumnCache>) -> IndexColumns {
        IndexColumns {
            cache: cache.clone(),
            owner: cache.next_owner.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// The index's columns as search number `search` opens them.
    pub fn for_search(&self, search: u64) -> SegmentColumns {
        SegmentColumns {
            cache: self.cache.clone(),
            owner: self.owner,
            search,
        }
    }

    /// Forgets the columns of segments `searcher` no longer has.
    pub fn retain_segments(&self, searcher: &Searcher) {
        self.cache.retain_segments(self.owner, searcher);
    }

    /// The cache the index keeps its columns in.
    pub fn cache(&self) -> &Arc<ColumnCache> {
        &self.cache
    }
}

impl Drop for IndexColumns {
    fn drop(&mut self) {
        self.cache.forget_owner(self.owner);
    }
}

/// One index's columns as one search opens them: from the cache when kept there.
#[derive(Clone)]
pub struct SegmentColumns {
    cache: Arc<ColumnCache>,
    owner: u64,
    search: u64,
}

impl SegmentColumns {
    /// A column whose values are read as numbers and strings (addresses as addresses).
    pub fn open(
        &self,
        reader: &SegmentReader,
        name: &str,
        field: SchemaField,
    ) -> Result<Accessor, SearchError> {
        self.open_cached(reader, name, field, false)
    }

    /// A column whose values are bucket keys: addresses as compact codes (see
    /// [`Accessor::IpCode`]).
    pub fn open_keys(
        &self,
        reader: &SegmentReader,
        name: &str,
        field: SchemaField,
    ) -> Result<Accessor, SearchError> {
        self.open_cached(reader, name, field, field.field_type == FieldType::Ip)
    }

    /// What is known of a segment's digests, if every bin of `bins` was checked.
    pub fn checked_digests(&self, segment: SegmentId, bins: &[u64]) -> Option<DigestCollisions> {
        let known = self.known_digests(segment);
        known.unchecked(bins).is_none().then_some(known)
    }

    fn known_digests(&self, segment: SegmentId) -> DigestCollisions {
        let state = self.cache.lock();
        state
            .collisions
            .get(&segment)
            .map(|(_, known)| known.clone())
            .unwrap_or_default()
    }

    /// What is known of a segment's digests, with every bin of `bins` checked: those not
    /// checked before are by `check` (which gives the digests it found shared), and the
    /// answer is kept for later searches. `None` when `check` cannot tell.
    pub fn digest_collisions(
        &self,
        segment: SegmentId,
        bins: &[u64],
        check: impl FnOnce(&[u64]) -> Option<Vec<u64>>,
    ) -> Option<DigestCollisions> {
        let mut known = self.known_digests(segment);
        let Some(unchecked) = known.unchecked(bins) else {
            return Some(known);
        };
        // Checked unlocked: it reads columns. Two searches may check the same bins at once,
        // and find the same.
        let started = std::time::Instant::now();
        let shared = check(&unchecked)?;
        tracing::debug!(
            segment = %segment.short_uuid_string(),
            bins = bin_count(&unchecked),
            shared = shared.len(),
            took_ms = started.elapsed().as_millis() as u64,
            "conversation digests checked"
        );
        known.add(&unchecked, shared.iter().copied());
        // Kept only while the segment is its index's: one merged away, or an index dropped
        // meanwhile, would keep it for ever.
        let mut state = self.cache.lock();
        let live = state
            .live
            .get(&self.owner)
            .is_some_and(|(_, live)| live.binary_search(&segment).is_ok());
        if live {
            let (_, kept) = state
                .collisions
                .entry(segment)
                .or_insert_with(|| (self.owner, DigestCollisions::default()));
            kept.add(&unchecked, shared);
        }
        Some(known)
    }

    fn open_cached(
        &self,
        reader: &SegmentReader,
        name: &str,
        field: SchemaField,
        codes: bool,
    ) -> Result<Accessor, SearchError> {
        // Kept by field: `srcaddr.keyword` must open (and be kept as) `srcaddr`'s column.
        let name = name.strip_suffix(".keyword").unwrap_or(name);
        let key = ColumnKey {
            segment: reader.segment_id(),
            field: field.field,
            codes,
        };
        if let Some(accessor) = self.cache.hit(&key, self.search) {
            return Ok(accessor);
        }
        let (accessor, bytes) =
            crate::heap::measure(|| Accessor::open_indexed(reader, name, field, codes));
        let accessor = accessor?;
        self.cache.keep(
            key,
            self.owner,
            self.search,
            accessor.clone(),
            bytes + ENTRY_BYTES,
        );
        Ok(accessor)
    }
}

/// The [`SegmentColumns`] of the indices a search reads, by segment: the queries of a search
/// are compiled once for all of its indices, and find the columns of a segment here. Given
/// once the indices are known ([`SearchColumns::give`]), which is after the request's own
/// filters (those of `filter` and `filters` aggregations) were compiled with it.
#[derive(Clone, Default)]
pub struct SearchColumns(Arc<OnceLock<HashMap<SegmentId, SegmentColumns>>>);

impl SearchColumns {
    /// The columns of every segment of each searcher, kept by its index.
    pub fn give<'a>(&self, indices: impl IntoIterator<Item = (&'a Searcher, SegmentColumns)>) {
        let mut by_segment = HashMap::new();
        for (searcher, columns) in indices {
            for reader in searcher.segment_readers() {
                by_segment.insert(reader.segment_id(), columns.clone());
            }
        }
        // Given once per search: a second time would find the same segments.
        let _ = self.0.set(by_segment);
    }

    /// The columns kept for this segment, if its index was given.
    pub fn get(&self, reader: &SegmentReader) -> Option<&SegmentColumns> {
        self.0.get()?.get(&reader.segment_id())
    }
}
