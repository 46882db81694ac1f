//! A bucket aggregation's buckets in one segment: created on first use from a prototype of
//! the sub-aggregations, found by segment-local key (term ordinal, address code, rounded
//! date), charged to the search's memory budget. Every bucket kind collects into these.

use std::ops::Range;
use std::rc::Rc;
use std::sync::Arc;

use tantivy::{DateTime, DocId, Score, SegmentReader};

use super::super::columns::{Accessor, BlockScratch, RawBlockScratch};
use super::super::guard::SearchGuard;
use super::intermediate::stat_rows::{StatLanes, StatRows};
use super::intermediate::{
    BucketKey, BucketList, CodeDecoder, HashMap, IntermediateAgg, IntermediateBucket,
    IntermediateMetric, Stats,
};
use super::{AggRequest, SegmentAgg};

/// A block's keys and values, read column by column.
#[derive(Default)]
pub struct BlockValues {
    pub keys: Vec<Option<u64>>,
    pub values: Vec<Vec<Option<i64>>>,
    pub value_scratch: BlockScratch<i64>,
    /// Keys of several values: each source's keys, each document's row (`width` words) and
    /// its hash (none when a source has no value).
    pub source_keys: Vec<Vec<Option<u64>>>,
    pub raw_scratch: RawBlockScratch,
    pub tuple_rows: Vec<u64>,
    pub hashes: Vec<Option<u32>>,
    /// The documents whose keys are read (the others' buckets known by their digest), and
    /// their positions in the block.
    pub keyed_docs: Vec<DocId>,
    pub keyed_positions: Vec<usize>,
    /// Buffers of the bucket aggregations splitting the block, one set per level being
    /// split: taken while a level splits its documents and given back after, so they number
    /// the levels of the tree, not the copies of each level's state (one per bucket above).
    spare: Vec<SplitScratch>,
    /// The block's documents, when they are consecutive (see [`BlockValues::read_keys`]).
    whole_block: Vec<DocId>,
    /// The columns asked for in this block (the first `whole_keys_asked`), and those read
    /// for the whole of it.
    whole_keys: Vec<WholeKeys>,
    whole_keys_asked: usize,
}

/// A column asked for in a block (see [`BlockValues::read_keys`]).
#[derive(Default)]
struct WholeKeys {
    /// [`Accessor::identity`].
    column: usize,
    /// How many of the block's documents it was asked for.
    asked: usize,
    /// Whether `keys` holds its keys for the whole block.
    read: bool,
    keys: Vec<Option<u64>>,
}

/// What a bucket aggregation splitting a block into its buckets works in.
#[derive(Default)]
pub struct SplitScratch {
    /// Each document's key and the document, sorted (terms).
    pub by_key: Vec<(u64, DocId)>,
    /// The documents of one key.
    pub run: Vec<DocId>,
    /// Documents per key, then where each key's documents end in `run` (terms whose keys in a
    /// block span few values).
    pub counts: Vec<u32>,
    /// Each bucket's documents (filters).
    pub groups: Vec<Vec<DocId>>,
    /// Each document's time (date histograms).
    pub times: Vec<Option<DateTime>>,
    pub time_scratch: BlockScratch<DateTime>,
    /// Each document's row in the terms below, read for the whole block (date histograms;
    /// the values go to the block's, which nothing writes until the block's runs are added).
    pub keys_below: Vec<Option<u64>>,
}

impl BlockValues {
    /// Starts a block of a segment's documents (ascending): the keys read for the last one
    /// are forgotten.
    pub fn begin(&mut self, docs: &[DocId]) {
        self.whole_keys_asked = 0;
        self.whole_block.clear();
        if let (Some(&first), Some(&last)) = (docs.first(), docs.last()) {
            if (last - first) as usize + 1 == docs.len() {
                self.whole_block.extend_from_slice(docs);
            }
        }
    }

    /// Reads the keys of `docs`, some of the block's (ascending), into `out`, as
    /// [`Accessor::read_raw_block`] reads them; false when the column cannot be read so.
    ///
    /// A level below a split reads its column for each bucket's documents: rows scattered
    /// through the column, each found in its index (in a Sankey, each network's flows'
    /// destinations, and each pair's ports). The buckets of a split together hold most of
    /// the block: when its documents are consecutive and a column has been asked for a
    /// quarter of them, it is read for the whole block, as consecutive rows, and the keys of
    /// this bucket and the next ones are picked from that.
    pub fn read_keys(
        &mut self,
        accessor: &Accessor,
        docs: &[DocId],
        out: &mut Vec<Option<u64>>,
    ) -> bool {
        let block = &self.whole_block;
        let within = match (block.first(), docs.first(), docs.last()) {
            (Some(&first), Some(&low), Some(&high)) => {
                first <= low && high < first + block.len() as DocId && docs.len() < block.len()
            }
            _ => false,
        };
        let Some(column) = accessor.identity().filter(|_| within) else {
            return accessor.read_raw_block(docs, &mut self.raw_scratch, out);
        };
        let asked = &self.whole_keys[..self.whole_keys_asked];
        let at = match asked.iter().position(|entry| entry.column == column) {
            Some(at) => at,
            None => {
                if self.whole_keys_asked == self.whole_keys.len() {
                    self.whole_keys.push(WholeKeys::default());
                }
                self.whole_keys_asked += 1;
                let entry = &mut self.whole_keys[self.whole_keys_asked - 1];
                (entry.column, entry.asked, entry.read) = (column, 0, false);
                self.whole_keys_asked - 1
            }
        };
        let entry = &mut self.whole_keys[at];
        entry.asked += docs.len();
        if !entry.read {
            if entry.asked * 4 < block.len() {
                return accessor.read_raw_block(docs, &mut self.raw_scratch, out);
            }
            if !accessor.read_raw_block(block, &mut self.raw_scratch, &mut entry.keys) {
                return false;
            }
            entry.read = true;
        }
        let first = block[0];
        out.clear();
        out.extend(docs.iter().map(|&doc| entry.keys[(doc - first) as usize]));
        true
    }

    /// [`BlockValues::read_keys`] into the block's own keys.
    pub fn read_block_keys(&mut self, accessor: &Accessor, docs: &[DocId]) -> bool {
        let mut keys = std::mem::take(&mut self.keys);
        let read = self.read_keys(accessor, docs, &mut keys);
        self.keys = keys;
        read
    }

    /// Buffers for a level splitting the block; give them back with
    /// [`BlockValues::give_back`].
    pub fn take_split(&mut self) -> SplitScratch {
        self.spare.pop().unwrap_or_default()
    }

    pub fn give_back(&mut self, scratch: SplitScratch) {
        self.spare.push(scratch);
    }

    /// Reads the block's value of each single-pass statistic of `prototype` (the
    /// sub-aggregations of direct rows) into `values`; false, with nothing to go on, when one
    /// cannot be read a block at a time.
    pub fn read_stats(&mut self, prototype: &[SegmentAgg], docs: &[DocId]) -> bool {
        self.values.resize_with(prototype.len(), Vec::new);
        for (node, values) in prototype.iter().zip(&mut self.values) {
            let Some(source) = node.block_source() else {
                return false;
            };
            source.read_block(docs, &mut self.value_scratch, values);
        }
        true
    }
}

/// A bucket during collection.
#[derive(Clone)]
pub struct SegmentBucket {
    count: u64,
    subs: Vec<SegmentAgg>,
}

/// The segment-local keys of a bucket aggregation: `0..n` (term ordinals, dense address
/// codes), numbers given in order from 0 (tuples of keys), or any.
pub enum KeySpace {
    Dense(usize),
    Sequential,
    Sparse,
}

/// Maps a segment-local key to its bucket.
#[derive(Clone)]
enum KeyMap {
    /// Term ordinals: a dense table (`slot[ord]` = bucket + 1).
    Dense(Vec<u32>),
    /// The key is the bucket.
    Sequential,
    Sparse(HashMap<u128, u32>),
}

impl KeyMap {
    /// The bucket of a key, when there are `buckets` of them.
    #[inline]
    fn get(&self, key: u128, buckets: usize) -> Option<usize> {
        match self {
            KeyMap::Sequential => ((key as usize) < buckets).then_some(key as usize),
            KeyMap::Dense(slots) => slots
                .get(key as usize)
                .and_then(|&s| (s != 0).then(|| s as usize - 1)),
            KeyMap::Sparse(map) => map.get(&key).map(|&s| s as usize),
        }
    }

    #[inline]
    fn insert(&mut self, key: u128, bucket: usize) {
        match self {
            KeyMap::Dense(slots) => {
                if let Some(slot) = slots.get_mut(key as usize) {
                    *slot = bucket as u32 + 1;
                }
            }
            KeyMap::Sparse(map) => {
                map.insert(key, bucket as u32);
            }
            KeyMap::Sequential => debug_assert_eq!(key as usize, bucket),
        }
    }
}

/// A bucket aggregation's buckets, created on first use from a prototype of the sub-nodes.
#[derive(Clone)]
pub struct Buckets {
    keys: Vec<u128>,
    buckets: Vec<SegmentBucket>,
    map: KeyMap,
    /// The last key looked up and its bucket: documents come roughly in time order, so a
    /// date histogram meets the same key many times in a row.
    last: Option<(u128, usize)>,
    pub prototype: Rc<Vec<SegmentAgg>>,
    /// When every sub-aggregation is a single-pass statistic (sum, avg, min, max, value_count,
    /// stats), their state lives here, `prototype.len()` entries per bucket, and the prototype
    /// nodes only read the columns: a terms aggregation over addresses makes millions of
    /// buckets, and a set of nodes cloned for each cost more than the counting.
    flat_stats: Option<Vec<Stats>>,
    /// With dense keys (term ordinals, address codes) or numbers given in order (tuples), and
    /// only single-pass statistics below, the key is the bucket's row: no lookup while
    /// collecting, and harvest reads the buckets in key order, one after the other. Dense
    /// rows are made at once (at most [`MAX_DIRECT_BYTES`]); numbered rows grow as numbers
    /// are given, charged as they grow.
    pub direct: Option<StatRows>,
    /// Every new bucket is charged here; none is made once it is spent.
    guard: Arc<SearchGuard>,
    /// What a new bucket costs: its entry, and its sub-aggregations' state.
    bucket_bytes: usize,
}

/// The most memory direct buckets take per segment and aggregation; beyond, buckets are
/// looked up.
const MAX_DIRECT_BYTES: usize = 64 << 20;

impl Buckets {
    pub fn new(
        keys: KeySpace,
        prototype: Rc<Vec<SegmentAgg>>,
        guard: &Arc<SearchGuard>,
    ) -> Buckets {
        let single_pass = prototype.iter().all(SegmentAgg::is_single_pass_stat);
        let lanes: Vec<StatLanes> = prototype.iter().filter_map(SegmentAgg::lanes).collect();
        let (direct, map) = match keys {
            KeySpace::Dense(keys)
                if single_pass
                    && StatRows::bytes(keys, &lanes) <= MAX_DIRECT_BYTES
                    && guard.charge(StatRows::bytes(keys, &lanes)) =>
            {
                (Some(StatRows::new(keys, &lanes)), KeyMap::Dense(Vec::new()))
            }
            KeySpace::Dense(keys) if guard.charge(keys * std::mem::size_of::<u32>()) => {
                (None, KeyMap::Dense(vec![0; keys]))
            }
            // Rows grow as numbers are given, charged as they grow.
            KeySpace::Sequential if single_pass => {
                (Some(StatRows::new(0, &lanes)), KeyMap::Sequential)
            }
            KeySpace::Sequential => (None, KeyMap::Sequential),
            _ => (None, KeyMap::Sparse(HashMap::default())),
        };
        let sub_state: usize = if !prototype.is_empty() && single_pass {
            prototype.len() * std::mem::size_of::<Stats>()
        } else {
            prototype.iter().map(SegmentAgg::heap_bytes).sum()
        };
        Buckets {
            guard: guard.clone(),
            // The bucket, its key, and a hash-map entry when keys are sparse.
            bucket_bytes: std::mem::size_of::<SegmentBucket>() + 48 + sub_state,
            keys: Vec::new(),
            buckets: Vec::new(),
            map,
            last: None,
            flat_stats: (!prototype.is_empty() && single_pass).then(Vec::new),
            prototype,
            direct,
        }
    }

    #[inline]
    pub fn collect(&mut self, key: u128, doc: DocId, score: Score) {
        if let Some(direct) = &mut self.direct {
            let row = key as usize;
            if !rows_through(direct, &self.map, &self.guard, row) {
                return;
            }
            let prototype = &self.prototype;
            direct.add(row, |position| prototype[position].stat_value(doc));
            return;
        }
        let Some(index) = self.bucket_of_recent(key) else {
            return;
        };
        let bucket = &mut self.buckets[index];
        bucket.count += 1;
        match &mut self.flat_stats {
            Some(stats) => {
                let width = self.prototype.len();
                let own = &mut stats[index * width..(index + 1) * width];
                for (node, stats) in self.prototype.iter().zip(own) {
                    node.add_stat(doc, stats);
                }
            }
            None => {
                for sub in &mut bucket.subs {
                    sub.collect(doc, score);
                }
            }
        }
    }

    /// Collects a run of documents (ascending) that share a key, its bucket's
    /// sub-aggregations reading them a block at a time where they can.
    pub fn collect_run(&mut self, key: u128, docs: &[DocId], block: &mut BlockValues) {
        if self.direct.is_some() {
            for &doc in docs {
                self.collect(key, doc, 0.0);
            }
            return;
        }
        let Some(index) = self.bucket_of_recent(key) else {
            return;
        };
        let bucket = &mut self.buckets[index];
        bucket.count += docs.len() as u64;
        let Some(stats) = &mut self.flat_stats else {
            for sub in &mut bucket.subs {
                sub.collect_docs(docs, block);
            }
            return;
        };
        let width = self.prototype.len();
        let own = &mut stats[index * width..(index + 1) * width];
        if block.read_stats(&self.prototype, docs) {
            add_read_stats(&self.prototype, own, &block.values, 0..docs.len());
        } else {
            for &doc in docs {
                for (node, stats) in self.prototype.iter().zip(own.iter_mut()) {
                    node.add_stat(doc, stats);
                }
            }
        }
    }

    /// Whether the buckets keep single-pass statistics alone, whose values a parent can read
    /// for its whole block ([`BlockValues::read_stats`]) and add run by run
    /// ([`Buckets::collect_stats_from_read`]).
    pub fn keeps_stats(&self) -> bool {
        self.flat_stats.is_some() && self.direct.is_none()
    }

    /// Collects the run `run` of a block's documents, which share a key, into a bucket's
    /// statistics from the values read for the whole block beforehand.
    pub fn collect_stats_from_read(
        &mut self,
        key: u128,
        values: &[Vec<Option<i64>>],
        run: Range<usize>,
    ) {
        let Some(index) = self.bucket_of_recent(key) else {
            return;
        };
        self.buckets[index].count += run.len() as u64;
        if let Some(stats) = &mut self.flat_stats {
            let width = self.prototype.len();
            let own = &mut stats[index * width..(index + 1) * width];
            add_read_stats(&self.prototype, own, values, run);
        }
    }

    /// Collects the run `run` of a block's documents, which share a key, into a bucket whose
    /// one sub-aggregation adds them by the keys and values read for the whole block
    /// beforehand (see [`super::bucket::terms::TermsSegment::rows_by_key`]).
    pub fn collect_run_from_read(
        &mut self,
        key: u128,
        keys: &[Option<u64>],
        values: &[Vec<Option<i64>>],
        run: Range<usize>,
    ) {
        let Some(index) = self.bucket_of_recent(key) else {
            return;
        };
        let bucket = &mut self.buckets[index];
        bucket.count += run.len() as u64;
        // The subs are copies of the prototype the parent checked.
        let [SegmentAgg::Terms(terms)] = bucket.subs.as_mut_slice() else {
            unreachable!("rows were read for a bucket whose one sub-aggregation is a terms");
        };
        terms.add_run(keys, values, run);
    }

    /// The direct rows, grown to hold row `row` when they are numbered in order (tuples);
    /// `None` when there are none, or the search's memory is spent.
    #[inline]
    pub fn direct_rows_through(&mut self, row: usize) -> Option<&mut StatRows> {
        let direct = self.direct.as_mut()?;
        rows_through(direct, &self.map, &self.guard, row).then_some(direct)
    }

    /// Empties the bucket of a key, if it has one, for the key to be used afresh: its count
    /// and sub-aggregations start again. The bucket keeps its memory.
    pub fn empty(&mut self, key: u128) {
        // Direct rows belong to dense keys (terms, addresses) or to numbered tuples without a
        // page, which are never let go.
        if self.direct.is_some() {
            return;
        }
        let Some(index) = self.map.get(key, self.buckets.len()) else {
            return;
        };
        let bucket = &mut self.buckets[index];
        bucket.count = 0;
        match &mut self.flat_stats {
            Some(stats) => {
                let width = self.prototype.len();
                stats[index * width..(index + 1) * width].fill(Stats::default());
            }
            None => bucket.subs = (*self.prototype).clone(),
        }
    }

    /// Takes `bytes` from the search's budget for state kept beside the buckets; false once
    /// it is spent.
    pub fn charge(&self, bytes: usize) -> bool {
        self.guard.charge(bytes)
    }

    /// What a copy of these buckets (made for each bucket above) takes on the heap, at first:
    /// its table of buckets by key, its direct rows.
    pub fn heap_bytes(&self) -> usize {
        let map = match &self.map {
            KeyMap::Dense(slots) => slots.len() * std::mem::size_of::<u32>(),
            KeyMap::Sequential | KeyMap::Sparse(_) => 0,
        };
        map + self.direct.as_ref().map_or(0, StatRows::heap_bytes)
    }

    /// [`Buckets::bucket_of`], remembering the last key looked up.
    #[inline]
    fn bucket_of_recent(&mut self, key: u128) -> Option<usize> {
        if let Some((last, index)) = self.last {
            if last == key {
                return Some(index);
            }
        }
        let index = self.bucket_of(key)?;
        self.last = Some((key, index));
        Some(index)
    }

    /// The bucket of a key, made on first use; `None` when the search's memory is spent.
    fn bucket_of(&mut self, key: u128) -> Option<usize> {
        if matches!(self.map, KeyMap::Sequential) {
            // Buckets up to this number: one was not made when the budget was spent.
            while self.buckets.len() < key as usize {
                self.new_bucket(self.buckets.len() as u128)?;
            }
        }
        match self.map.get(key, self.buckets.len()) {
            Some(index) => Some(index),
            None => self.new_bucket(key),
        }
    }

    /// A new bucket for a key; `None` when the search's memory is spent.
    fn new_bucket(&mut self, key: u128) -> Option<usize> {
        if !self.guard.charge(self.bucket_bytes) {
            return None;
        }
        let index = self.buckets.len();
        self.map.insert(key, index);
        self.keys.push(key);
        let subs = match &mut self.flat_stats {
            Some(stats) => {
                stats.resize(stats.len() + self.prototype.len(), Stats::default());
                Vec::new()
            }
            None => (*self.prototype).clone(),
        };
        self.buckets.push(SegmentBucket { count: 0, subs });
        Some(index)
    }

    /// The direct rows with documents, and the key of each (see [`StatRows::compact`]).
    pub fn into_direct(self) -> Option<(Vec<u32>, StatRows)> {
        self.direct.map(StatRows::compact)
    }

    /// Direct buckets of an address or small-integer field, keyed by their codes (see
    /// [`super::intermediate::SortedRun::Coded`]).
    pub fn harvest_codes(self, decoder: CodeDecoder, request: &AggRequest) -> IntermediateAgg {
        let Some(direct) = self.direct else {
            return IntermediateAgg::Buckets(BucketList::default());
        };
        let (codes, rows) = direct.compact();
        IntermediateAgg::Buckets(BucketList::from_codes(codes, rows, decoder, request))
    }

    /// The buckets with global keys, visited by ascending segment key: term ordinals and
    /// address codes follow the order of their values, so the list comes out sorted, and
    /// address codes are cheaper to decode in order (a search in sorted ranges).
    pub fn harvest(
        self,
        request: &AggRequest,
        mut key_of: impl FnMut(u128) -> Option<BucketKey>,
    ) -> IntermediateAgg {
        if let Some(direct) = self.direct {
            let mut out = Vec::new();
            let (keys, rows) = direct.compact();
            for (row, key) in keys.into_iter().enumerate() {
                let Some(bucket_key) = key_of(u128::from(key)) else {
                    continue;
                };
                out.push((bucket_key, rows.bucket(row)));
            }
            return IntermediateAgg::Buckets(BucketList::from_unique(out));
        }
        let width = self.prototype.len();
        let mut buckets = self.buckets;
        let mut out = Vec::with_capacity(buckets.len());
        let mut order: Vec<usize> = (0..buckets.len()).collect();
        order.sort_unstable_by_key(|&index| self.keys[index]);
        for index in order {
            let Some(key) = key_of(self.keys[index]) else {
                continue;
            };
            let bucket = &mut buckets[index];
            let subs = match &self.flat_stats {
                Some(stats) => stat_results(&stats[index * width..(index + 1) * width]),
                None => std::mem::take(&mut bucket.subs)
                    .into_iter()
                    .zip(&request.children)
                    .map(|(node, child)| node.harvest(child))
                    .collect(),
            };
            out.push((
                key,
                IntermediateBucket {
                    doc_count: bucket.count,
                    subs,
                },
            ));
        }
        IntermediateAgg::Buckets(BucketList::from_unique(out))
    }
}

/// Whether direct rows hold row `row`, grown to when they are numbered in order (tuples)
/// and the search's memory allows.
#[inline]
fn rows_through(direct: &mut StatRows, map: &KeyMap, guard: &SearchGuard, row: usize) -> bool {
    if row < direct.row_count() {
        return true;
    }
    // Only numbers given in order make new rows. Few at first: a copy of these buckets is
    // made for each bucket above them.
    let rows = (row + 1).max(2 * direct.row_count()).max(16);
    if !matches!(map, KeyMap::Sequential)
        || !guard.charge(direct.row_bytes() * (rows - direct.row_count()))
    {
        return false;
    }
    direct.grow(rows);
    true
}

/// Adds the values at `run` of a block, read for each statistic of `prototype`, to a
/// bucket's statistics.
fn add_read_stats(
    prototype: &[SegmentAgg],
    own: &mut [Stats],
    values: &[Vec<Option<i64>>],
    run: Range<usize>,
) {
    for ((node, stats), values) in prototype.iter().zip(own).zip(values) {
        for value in values[run.clone()].iter().flatten() {
            node.add_int_stat(*value, stats);
        }
    }
}

/// A bucket's single-pass statistics as the results of its sub-aggregations.
fn stat_results(stats: &[Stats]) -> smallvec::SmallVec<[IntermediateAgg; 1]> {
    stats
        .iter()
        .map(|stats| IntermediateAgg::Metric(IntermediateMetric::Stats(*stats)))
        .collect()
}

/// How many keys a column's segment-local keys span, when they are dense enough to index a
/// table by: term ordinals always; address codes when they number no more than a few per
/// document (beyond, a table would be mostly empty).
pub fn dense_keys(accessor: &Accessor, reader: &SegmentReader) -> Option<usize> {
    match accessor {
        Accessor::Str { dict, .. } => Some(dict.num_terms()),
        Accessor::IpCode { codes, .. } if codes.max_value() <= 4 * u64::from(reader.max_doc()) => {
            Some(codes.max_value() as usize + 1)
        }
        _ => None,
    }
}
