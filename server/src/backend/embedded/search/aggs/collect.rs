//! Collection: per segment, every matching document walks the aggregation tree once; bucket
//! keys are segment-local (term ordinals) until harvest turns them into values.

use std::collections::HashSet;
use std::rc::Rc;
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::query::EnableScoring;
use tantivy::BitSet;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use super::super::columns::{Accessor, BlockScratch, SegmentColumns};
use super::super::guard::SearchGuard;
use super::super::hits::{global_doc, HitAddress, SegmentSorter, SortSpec, TopN};
use super::super::SearchError;
use super::intermediate::{
    AddressDecoder, BucketKey, BucketList, DistinctRuns, HashMap, IntermediateAgg,
    IntermediateBucket, IntermediateMetric, IntermediateTopHits, Stats,
};
use super::request::{AggKind, AggRequest, Interval, MetricKind, RangeFlavor, MAX_BUCKETS};
use super::rows::{Lanes, StatRows};
use crate::backend::embedded::schema::FlowSchema;

/// What one search of one index collects: the match count, aggregations and top hits.
pub struct FlowCollector {
    pub aggs: Arc<Vec<AggRequest>>,
    pub schema: Arc<FlowSchema>,
    /// Hits to keep (`from + size`), and how they are sorted.
    pub hits: Option<(usize, SortSpec)>,
    /// The position of the searched index among all searched, for hit addresses.
    pub index: u32,
    /// The searched index's columns, opened once per segment.
    pub columns: Arc<SegmentColumns>,
    /// The search's memory budget and deadline, shared by all its collectors.
    pub guard: Arc<SearchGuard>,
}

/// The result of [`FlowCollector`] over one index.
#[derive(Debug, Default)]
pub struct FlowFruit {
    pub total: u64,
    pub aggs: Vec<IntermediateAgg>,
    pub hits: Vec<(super::super::hits::SortKey, HitAddress)>,
}

impl Collector for FlowCollector {
    type Fruit = FlowFruit;
    type Child = SegmentFlowCollector;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentFlowCollector> {
        // A search past its deadline collects no further segment.
        self.guard.check_deadline();
        let context = SegmentContext {
            reader,
            schema: &self.schema,
            index: self.index,
            segment,
            columns: &self.columns,
            guard: &self.guard,
        };
        let mut nodes = self
            .aggs
            .iter()
            .map(|request| Node::new(request, &context))
            .collect::<Result<Vec<_>, _>>()
            .map_err(search_to_tantivy)?;
        for node in &mut nodes {
            node.count_distinct_by_bits(reader);
        }
        let hits = match &self.hits {
            Some((keep, sort)) => Some((
                TopN::new(*keep),
                SegmentSorter::new(sort, reader).map_err(search_to_tantivy)?,
            )),
            None => None,
        };
        Ok(SegmentFlowCollector {
            guard: self.guard.clone(),
            since_clock: 0,
            total: 0,
            nodes,
            block: BlockValues::default(),
            hits,
            requests: self.aggs.clone(),
            index: self.index,
            segment,
        })
    }

    fn requires_scoring(&self) -> bool {
        self.hits
            .as_ref()
            .is_some_and(|(_, sort)| sort.needs_score())
    }

    fn merge_fruits(&self, fruits: Vec<FlowFruit>) -> tantivy::Result<FlowFruit> {
        let mut merged = FlowFruit::default();
        let mut aggs = Vec::new();
        let mut top = TopN::new(self.hits.as_ref().map_or(0, |(keep, _)| *keep));
        for fruit in fruits {
            merged.total += fruit.total;
            aggs.push(fruit.aggs);
            for (key, address) in fruit.hits {
                top.push(key, address);
            }
        }
        merged.aggs = super::intermediate::merge_all(aggs)
            .unwrap_or_else(|| self.aggs.iter().map(empty_intermediate).collect());
        merged.hits = top.into_sorted();
        Ok(merged)
    }
}

/// Errors inside tantivy's collector API travel as tantivy errors; this keeps ours readable.
fn search_to_tantivy(error: SearchError) -> tantivy::TantivyError {
    tantivy::TantivyError::InvalidArgument(
        serde_json::to_string(&error.to_wire()).unwrap_or_default(),
    )
}

/// An aggregation's result over no documents.
pub fn empty_intermediate(request: &AggRequest) -> IntermediateAgg {
    match &request.kind {
        AggKind::Metric(metric) => IntermediateAgg::Metric(match metric.kind {
            MetricKind::Percentiles { .. } => IntermediateMetric::Values(Vec::new()),
            MetricKind::Cardinality => IntermediateMetric::Distinct(DistinctRuns::default()),
            _ => IntermediateMetric::Stats(Stats::default()),
        }),
        AggKind::TopHits(top) => IntermediateAgg::TopHits(IntermediateTopHits {
            keep: top.from + top.size,
            ..IntermediateTopHits::default()
        }),
        _ => IntermediateAgg::Buckets(BucketList::default()),
    }
}

struct SegmentContext<'a> {
    reader: &'a SegmentReader,
    columns: &'a SegmentColumns,
    schema: &'a FlowSchema,
    index: u32,
    segment: SegmentOrdinal,
    guard: &'a Arc<SearchGuard>,
}

/// Documents collected between two looks at the clock.
const CLOCK_EVERY_DOCS: u32 = 1 << 16;

pub struct SegmentFlowCollector {
    guard: Arc<SearchGuard>,
    /// Documents since the deadline was last checked.
    since_clock: u32,
    total: u64,
    nodes: Vec<Node>,
    /// Column values of the current block, reused.
    block: BlockValues,
    hits: Option<(TopN, SegmentSorter)>,
    requests: Arc<Vec<AggRequest>>,
    index: u32,
    segment: SegmentOrdinal,
}

impl SegmentCollector for SegmentFlowCollector {
    type Fruit = FlowFruit;

    /// Blocks of matching documents (when nothing is scored): aggregations that can read
    /// their columns a block at a time do, the others go document by document.
    fn collect_block(&mut self, docs: &[DocId]) {
        if self.out_of_budget(docs.len() as u32) {
            return;
        }
        if self.hits.is_some() {
            for &doc in docs {
                self.collect(doc, 0.0);
            }
            return;
        }
        self.total += docs.len() as u64;
        for node in &mut self.nodes {
            if !node.collect_block(docs, &mut self.block) {
                for &doc in docs {
                    node.collect(doc, 0.0);
                }
            }
        }
    }

    fn collect(&mut self, doc: DocId, score: Score) {
        if self.out_of_budget(1) {
            return;
        }
        self.total += 1;
        for node in &mut self.nodes {
            node.collect(doc, score);
        }
        if let Some((top, sorter)) = &mut self.hits {
            let key = sorter.key(doc, score, global_doc(self.index, self.segment, doc));
            top.push(
                key,
                HitAddress {
                    index: self.index,
                    segment: self.segment,
                    doc,
                },
            );
        }
    }

    fn harvest(self) -> FlowFruit {
        let aggs = self
            .nodes
            .into_iter()
            .zip(self.requests.iter())
            .map(|(node, request)| node.harvest(request))
            .collect();
        FlowFruit {
            total: self.total,
            aggs,
            hits: self
                .hits
                .map(|(top, _)| top.into_sorted())
                .unwrap_or_default(),
        }
    }
}

impl SegmentFlowCollector {
    /// Whether the search has stopped (out of memory or past its deadline), reading the clock
    /// every [`CLOCK_EVERY_DOCS`] documents. A stopped search skips the rest of its documents
    /// at the cost of a load each, and answers its error once collection returns.
    #[inline]
    fn out_of_budget(&mut self, docs: u32) -> bool {
        self.since_clock += docs;
        if self.since_clock >= CLOCK_EVERY_DOCS {
            self.since_clock = 0;
            return self.guard.check_deadline();
        }
        self.guard.stopped()
    }
}

/// A block's keys and values, read column by column.
#[derive(Default)]
struct BlockValues {
    keys: Vec<Option<u64>>,
    values: Vec<Vec<Option<i64>>>,
    key_scratch: BlockScratch<u64>,
    value_scratch: BlockScratch<i64>,
}

/// A bucket during collection.
#[derive(Clone)]
struct SegBucket {
    count: u64,
    subs: Vec<Node>,
}

/// The segment-local keys of a bucket aggregation: `0..n` (term ordinals, dense address
/// codes), or any.
enum KeySpace {
    Dense(usize),
    Sparse,
}

/// Maps a segment-local key to its bucket.
#[derive(Clone)]
enum KeyMap {
    /// Term ordinals: a dense table (`slot[ord]` = bucket + 1).
    Dense(Vec<u32>),
    Sparse(HashMap<u128, u32>),
}

impl KeyMap {
    #[inline]
    fn get(&self, key: u128) -> Option<usize> {
        match self {
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
        }
    }
}

/// A bucket aggregation's buckets, created on first use from a prototype of the sub-nodes.
#[derive(Clone)]
struct Buckets {
    keys: Vec<u128>,
    buckets: Vec<SegBucket>,
    map: KeyMap,
    /// The last key looked up and its bucket: documents come roughly in time order, so a
    /// date histogram meets the same key many times in a row.
    last: Option<(u128, usize)>,
    prototype: Rc<Vec<Node>>,
    /// When every sub-aggregation is a single-pass statistic (sum, avg, min, max, value_count,
    /// stats), their state lives here, `prototype.len()` entries per bucket, and the prototype
    /// nodes only read the columns: a terms aggregation over addresses makes millions of
    /// buckets, and a set of nodes cloned for each cost more than the counting.
    flat_stats: Option<Vec<Stats>>,
    /// With dense keys (term ordinals, address codes) and only single-pass statistics below,
    /// the key is the bucket's row: no lookup while collecting, and harvest reads the buckets
    /// in key order, one after the other.
    direct: Option<StatRows>,
    /// Every new bucket is charged here; none is made once it is spent.
    guard: Arc<SearchGuard>,
    /// What a new bucket costs: its entry, and its sub-aggregations' state.
    bucket_bytes: usize,
}

/// The most memory direct buckets take per segment and aggregation; beyond, buckets are
/// looked up.
const MAX_DIRECT_BYTES: usize = 64 << 20;

impl Buckets {
    fn new(keys: KeySpace, prototype: Rc<Vec<Node>>, guard: &Arc<SearchGuard>) -> Buckets {
        let single_pass = prototype.iter().all(Node::is_single_pass_stat);
        let lanes: Vec<Lanes> = prototype.iter().filter_map(Node::lanes).collect();
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
            _ => (None, KeyMap::Sparse(HashMap::default())),
        };
        let sub_state: usize = if !prototype.is_empty() && single_pass {
            prototype.len() * std::mem::size_of::<Stats>()
        } else {
            prototype.iter().map(Node::heap_bytes).sum()
        };
        Buckets {
            guard: guard.clone(),
            // The bucket, its key, and a hash-map entry when keys are sparse.
            bucket_bytes: std::mem::size_of::<SegBucket>() + 48 + sub_state,
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
    fn collect(&mut self, key: u128, doc: DocId, score: Score) {
        if let Some(direct) = &mut self.direct {
            let prototype = &self.prototype;
            direct.add(key as usize, |position| prototype[position].stat_value(doc));
            return;
        }
        let index = match self.last {
            Some((last, index)) if last == key => index,
            _ => {
                let Some(index) = self.bucket_of(key) else {
                    return;
                };
                self.last = Some((key, index));
                index
            }
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

    /// The bucket of a key, made on first use; `None` when the search's memory is spent.
    fn bucket_of(&mut self, key: u128) -> Option<usize> {
        match self.map.get(key) {
            Some(index) => Some(index),
            None => {
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
                self.buckets.push(SegBucket { count: 0, subs });
                Some(index)
            }
        }
    }

    /// Direct buckets of an address field, keyed by their codes (see [`super::intermediate::Run::Coded`]).
    fn harvest_codes(self, decoder: AddressDecoder, request: &AggRequest) -> IntermediateAgg {
        let Some(direct) = self.direct else {
            return IntermediateAgg::Buckets(BucketList::default());
        };
        let (codes, rows) = direct.compact();
        IntermediateAgg::Buckets(BucketList::from_codes(codes, rows, decoder, request))
    }

    /// The buckets with global keys, visited by ascending segment key: term ordinals and
    /// address codes follow the order of their values, so the list comes out sorted, and
    /// address codes are cheaper to decode in order (a search in sorted ranges).
    fn harvest(
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

/// A bucket's single-pass statistics as the results of its sub-aggregations.
fn stat_results(stats: &[Stats]) -> smallvec::SmallVec<[IntermediateAgg; 1]> {
    stats
        .iter()
        .map(|stats| IntermediateAgg::Metric(IntermediateMetric::Stats(*stats)))
        .collect()
}

/// Adds a document's value to the statistics of a single-pass metric: a count of values for
/// `value_count`, the number (or the `missing` default) otherwise.
#[inline]
fn add_stat(
    accessor: &Accessor,
    kind: &MetricKind,
    missing: Option<f64>,
    doc: DocId,
    stats: &mut Stats,
) {
    if let Some(value) = stat_value(accessor, kind, missing, doc) {
        match kind {
            MetricKind::ValueCount => stats.count += 1,
            _ => stats.add(value),
        }
    }
}

/// The value a single-pass metric counts for a document: the number (or the `missing`
/// default), or for `value_count` any number when the document has a value.
#[inline]
fn stat_value(
    accessor: &Accessor,
    kind: &MetricKind,
    missing: Option<f64>,
    doc: DocId,
) -> Option<f64> {
    match kind {
        MetricKind::ValueCount => accessor.raw(doc).map(|_| 0.0),
        _ => accessor.number(doc).or(missing),
    }
}

/// The keys a cardinality has seen in a segment.
#[derive(Clone)]
enum DistinctKeys {
    Set(HashSet<u128>),
    /// A bit per key of a dense key space (term ordinals, address codes), for a cardinality
    /// that is not under a bucket: over a week of flows a hash set of a million addresses
    /// was most of the search.
    Bits(Vec<u64>),
}

impl DistinctKeys {
    #[inline]
    fn insert(&mut self, key: u128) {
        match self {
            DistinctKeys::Set(set) => {
                set.insert(key);
            }
            DistinctKeys::Bits(bits) => {
                if let Some(word) = bits.get_mut((key / 64) as usize) {
                    *word |= 1 << (key % 64);
                }
            }
        }
    }

    /// The keys, ascending.
    fn into_sorted(self) -> Vec<u128> {
        match self {
            DistinctKeys::Set(set) => {
                let mut keys: Vec<u128> = set.into_iter().collect();
                keys.sort_unstable();
                keys
            }
            DistinctKeys::Bits(bits) => {
                let mut keys = Vec::new();
                for (index, mut word) in bits.into_iter().enumerate() {
                    while word != 0 {
                        keys.push(index as u128 * 64 + u128::from(word.trailing_zeros()));
                        word &= word - 1;
                    }
                }
                keys
            }
        }
    }
}

/// How many keys a column's segment-local keys span, when they are dense enough to index a
/// table by: term ordinals always; address codes when they number no more than a few per
/// document (beyond, a table would be mostly empty).
fn dense_keys(accessor: &Accessor, reader: &SegmentReader) -> Option<usize> {
    match accessor {
        Accessor::Str { dict, .. } => Some(dict.num_terms()),
        Accessor::IpCode { codes, .. } if codes.max_value() <= 4 * u64::from(reader.max_doc()) => {
            Some(codes.max_value() as usize + 1)
        }
        _ => None,
    }
}

/// The `missing` key of a terms aggregation.
const MISSING_SLOT: u128 = u128::MAX;

/// Turns a date into its bucket's start; remembers the last bucket, since documents arrive
/// roughly in time order.
#[derive(Clone)]
struct Rounder {
    interval: Interval,
    zone: super::super::datemath::Zone,
    offset: i64,
    last: (i64, i64),
}

impl Rounder {
    #[inline]
    fn key(&mut self, t: i64) -> i64 {
        if t >= self.last.0 && t < self.last.1 {
            return self.last.0;
        }
        let start = self.floor(t);
        self.last = (start, self.next(start));
        start
    }

    fn floor(&self, t: i64) -> i64 {
        match self.interval {
            Interval::Fixed(step) => {
                let zone_offset = i64::from(self.zone.offset_secs(t)) * 1000;
                (t + zone_offset - self.offset).div_euclid(step) * step + self.offset - zone_offset
            }
            Interval::Calendar(unit) => unit.floor(t - self.offset, &self.zone) + self.offset,
        }
    }

    /// The start of the bucket after the one starting at `start`.
    pub fn next(&self, start: i64) -> i64 {
        match self.interval {
            Interval::Fixed(step) => start + step,
            Interval::Calendar(unit) => unit
                .add(start - self.offset, 1, &self.zone)
                .map_or(i64::MAX, |t| t + self.offset),
        }
    }
}

/// A rounder for a date histogram request (used again to fill empty buckets).
pub fn rounder_for(request: &super::request::DateHistogramAgg) -> impl Fn(i64) -> (i64, i64) + '_ {
    let rounder = Rounder {
        interval: request.interval,
        zone: request.zone,
        offset: request.offset_ms,
        last: (0, 0),
    };
    move |t| {
        let start = rounder.floor(t);
        (start, rounder.next(start))
    }
}

/// A range's bounds: `(ip_from, ip_to, from, to)`.
type RangeBounds = (Option<u128>, Option<u128>, Option<f64>, Option<f64>);

#[derive(Clone)]
enum Node {
    Terms {
        accessor: Accessor,
        missing: bool,
        buckets: Buckets,
    },
    DateHistogram {
        accessor: Accessor,
        rounder: Rounder,
        bounds: (i64, i64),
        buckets: Buckets,
    },
    Histogram {
        accessor: Accessor,
        interval: f64,
        offset: f64,
        buckets: Buckets,
    },
    Range {
        accessor: Accessor,
        /// `[from, to)` per range, as numbers or addresses.
        bounds: Rc<Vec<RangeBounds>>,
        ip: bool,
        buckets: Buckets,
    },
    Filters {
        matches: Rc<Vec<BitSet>>,
        other: bool,
        buckets: Buckets,
    },
    Metric {
        accessor: Accessor,
        kind: MetricKind,
        missing: Option<f64>,
        stats: Stats,
        values: Vec<f64>,
        distinct: DistinctKeys,
    },
    TopHits {
        sorter: Rc<SegmentSorter>,
        list: Vec<(super::super::hits::SortKey, HitAddress)>,
        keep: usize,
        total: u64,
        index: u32,
        segment: u32,
    },
}

impl Node {
    fn new(request: &AggRequest, context: &SegmentContext<'_>) -> Result<Node, SearchError> {
        let prototype = || -> Result<Rc<Vec<Node>>, SearchError> {
            Ok(Rc::new(
                request
                    .children
                    .iter()
                    .map(|child| Node::new(child, context))
                    .collect::<Result<Vec<_>, _>>()?,
            ))
        };
        let open = |field: &super::request::AggField| {
            context
                .columns
                .open(context.reader, &field.name, field.field)
        };
        Ok(match &request.kind {
            AggKind::Terms(terms) => {
                let accessor = context.columns.open_keys(
                    context.reader,
                    &terms.field.name,
                    terms.field.field,
                )?;
                // A table indexed by key spares a hash lookup per document.
                let keys = match dense_keys(&accessor, context.reader) {
                    Some(keys) if terms.missing.is_none() => KeySpace::Dense(keys),
                    _ => KeySpace::Sparse,
                };
                Node::Terms {
                    missing: terms.missing.is_some(),
                    accessor,
                    buckets: Buckets::new(keys, prototype()?, context.guard),
                }
            }
            AggKind::DateHistogram(histogram) => Node::DateHistogram {
                accessor: open(&histogram.field)?,
                rounder: Rounder {
                    interval: histogram.interval,
                    zone: histogram.zone,
                    offset: histogram.offset_ms,
                    last: (0, 0),
                },
                bounds: match histogram.hard_bounds {
                    Some((low, high)) => (low.unwrap_or(i64::MIN), high.unwrap_or(i64::MAX)),
                    None => (i64::MIN, i64::MAX),
                },
                buckets: Buckets::new(KeySpace::Sparse, prototype()?, context.guard),
            },
            AggKind::Histogram(histogram) => Node::Histogram {
                accessor: open(&histogram.field)?,
                interval: histogram.interval,
                offset: histogram.offset,
                buckets: Buckets::new(KeySpace::Sparse, prototype()?, context.guard),
            },
            AggKind::Range(range) => Node::Range {
                accessor: open(&range.field)?,
                ip: matches!(range.flavor, RangeFlavor::Ip),
                bounds: Rc::new(
                    range
                        .ranges
                        .iter()
                        .map(|r| (r.ip_from, r.ip_to, r.from, r.to))
                        .collect(),
                ),
                buckets: Buckets::new(KeySpace::Sparse, prototype()?, context.guard),
            },
            AggKind::Filter(filter) => Node::Filters {
                matches: Rc::new(vec![matching_docs(filter.query.as_ref(), context)?]),
                other: false,
                buckets: Buckets::new(KeySpace::Sparse, prototype()?, context.guard),
            },
            AggKind::Filters(filters) => Node::Filters {
                matches: Rc::new(
                    filters
                        .filters
                        .iter()
                        .map(|(_, query)| matching_docs(query.as_ref(), context))
                        .collect::<Result<_, _>>()?,
                ),
                other: filters.other_bucket_key.is_some(),
                buckets: Buckets::new(KeySpace::Sparse, prototype()?, context.guard),
            },
            AggKind::Metric(metric) => Node::Metric {
                // Cardinality keeps keys (decoded once per distinct value at harvest); the
                // other metrics read numbers.
                accessor: match metric.kind {
                    MetricKind::Cardinality => context.columns.open_keys(
                        context.reader,
                        &metric.field.name,
                        metric.field.field,
                    )?,
                    _ => open(&metric.field)?,
                },
                kind: metric.kind.clone(),
                missing: metric.missing,
                stats: Stats::default(),
                values: Vec::new(),
                distinct: DistinctKeys::Set(HashSet::new()),
            },
            AggKind::TopHits(top) => Node::TopHits {
                sorter: Rc::new(SegmentSorter::new(&top.sort, context.reader)?),
                list: Vec::new(),
                keep: top.from + top.size,
                total: 0,
                index: context.index,
                segment: context.segment,
            },
        })
    }

    /// What a copy of this node (made for each bucket above it) takes on the heap, at first:
    /// its tables of buckets by key, its direct rows.
    fn heap_bytes(&self) -> usize {
        let tables = match self {
            Node::Terms { buckets, .. }
            | Node::DateHistogram { buckets, .. }
            | Node::Histogram { buckets, .. }
            | Node::Range { buckets, .. }
            | Node::Filters { buckets, .. } => {
                let map = match &buckets.map {
                    KeyMap::Dense(slots) => slots.len() * std::mem::size_of::<u32>(),
                    KeyMap::Sparse(_) => 0,
                };
                map + buckets.direct.as_ref().map_or(0, StatRows::heap_bytes)
            }
            Node::Metric { .. } | Node::TopHits { .. } => 0,
        };
        std::mem::size_of::<Node>() + tables
    }

    /// Lets a cardinality that is not under a bucket keep a bit per key of a dense key space.
    fn count_distinct_by_bits(&mut self, reader: &SegmentReader) {
        if let Node::Metric {
            kind: MetricKind::Cardinality,
            accessor,
            distinct,
            ..
        } = self
        {
            if let Some(keys) = dense_keys(accessor, reader) {
                *distinct = DistinctKeys::Bits(vec![0; keys.div_ceil(64)]);
            }
        }
    }

    /// A metric computed in one pass into [`Stats`] (see [`Buckets::flat_stats`]).
    fn is_single_pass_stat(&self) -> bool {
        matches!(
            self,
            Node::Metric {
                kind: MetricKind::Avg
                    | MetricKind::Sum
                    | MetricKind::Min
                    | MetricKind::Max
                    | MetricKind::ValueCount
                    | MetricKind::Stats,
                ..
            }
        )
    }

    /// What a single-pass metric keeps per direct bucket.
    fn lanes(&self) -> Option<Lanes> {
        match self {
            Node::Metric {
                kind,
                accessor,
                missing,
                ..
            } if self.is_single_pass_stat() => {
                Some(Lanes::of(kind, accessor.never_negative(*missing)))
            }
            _ => None,
        }
    }

    /// The value a single-pass metric counts for a document (any number for `value_count`).
    #[inline]
    fn stat_value(&self, doc: DocId) -> Option<f64> {
        match self {
            Node::Metric {
                accessor,
                kind,
                missing,
                ..
            } => stat_value(accessor, kind, *missing, doc),
            _ => None,
        }
    }

    /// Adds a document's value to statistics kept outside the node (a single-pass metric).
    #[inline]
    fn add_stat(&self, doc: DocId, stats: &mut Stats) {
        if let Node::Metric {
            accessor,
            kind,
            missing,
            ..
        } = self
        {
            add_stat(accessor, kind, *missing, doc, stats);
        }
    }

    /// Collects a block of documents reading each column once for the block, when this is a
    /// terms aggregation with direct buckets and integer statistics below (a top-talkers
    /// table). Says whether it did.
    fn collect_block(&mut self, docs: &[DocId], block: &mut BlockValues) -> bool {
        let Node::Terms {
            accessor,
            missing: false,
            buckets,
        } = self
        else {
            return false;
        };
        let Some(direct) = &mut buckets.direct else {
            return false;
        };
        let keys = match accessor {
            Accessor::Str { ords, .. } => ords,
            Accessor::IpCode { codes, .. } => codes,
            _ => return false,
        };
        let prototype = &buckets.prototype;
        block.values.resize_with(prototype.len(), Vec::new);
        for (node, values) in prototype.iter().zip(&mut block.values) {
            let Node::Metric {
                accessor: Accessor::I64(column),
                missing: None,
                ..
            } = node
            else {
                return false;
            };
            column.read_block(docs, &mut block.value_scratch, values);
        }
        keys.read_block(docs, &mut block.key_scratch, &mut block.keys);
        for key in block.keys.iter().flatten() {
            direct.prefetch(*key as usize);
        }
        direct.add_block(&block.keys, &block.values);
        true
    }

    #[inline]
    fn collect(&mut self, doc: DocId, score: Score) {
        match self {
            Node::Terms {
                accessor,
                missing,
                buckets,
            } => match accessor.raw(doc) {
                Some(key) => buckets.collect(key, doc, score),
                None if *missing => buckets.collect(MISSING_SLOT, doc, score),
                None => {}
            },
            Node::DateHistogram {
                accessor,
                rounder,
                bounds,
                buckets,
            } => {
                if let Some(t) = accessor.int(doc) {
                    if t >= bounds.0 && t <= bounds.1 {
                        let key = rounder.key(t);
                        buckets.collect(key as u64 as u128, doc, score);
                    }
                }
            }
            Node::Histogram {
                accessor,
                interval,
                offset,
                buckets,
            } => {
                if let Some(v) = accessor.number(doc) {
                    let key = ((v - *offset) / *interval).floor() * *interval + *offset;
                    buckets.collect(u128::from(key.to_bits()), doc, score);
                }
            }
            Node::Range {
                accessor,
                bounds,
                ip,
                buckets,
            } => {
                if *ip {
                    let Some(value) = accessor.raw(doc) else {
                        return;
                    };
                    for (index, (from, to, _, _)) in bounds.iter().enumerate() {
                        if from.is_none_or(|f| value >= f) && to.is_none_or(|t| value < t) {
                            buckets.collect(index as u128, doc, score);
                        }
                    }
                } else {
                    let Some(value) = accessor.number(doc) else {
                        return;
                    };
                    for (index, (_, _, from, to)) in bounds.iter().enumerate() {
                        if from.is_none_or(|f| value >= f) && to.is_none_or(|t| value < t) {
                            buckets.collect(index as u128, doc, score);
                        }
                    }
                }
            }
            Node::Filters {
                matches,
                other,
                buckets,
            } => {
                let mut any = false;
                for (index, set) in matches.iter().enumerate() {
                    if set.contains(doc) {
                        any = true;
                        buckets.collect(index as u128, doc, score);
                    }
                }
                if *other && !any {
                    buckets.collect(u128::MAX, doc, score);
                }
            }
            Node::Metric {
                accessor,
                kind,
                missing,
                stats,
                values,
                distinct,
            } => match kind {
                MetricKind::Cardinality => {
                    if let Some(raw) = accessor.raw(doc) {
                        distinct.insert(raw);
                    }
                }
                MetricKind::Percentiles { .. } => {
                    if let Some(v) = accessor.number(doc).or(*missing) {
                        values.push(v);
                    }
                }
                _ => add_stat(accessor, kind, *missing, doc, stats),
            },
            Node::TopHits {
                sorter,
                list,
                keep,
                total,
                index,
                segment,
                ..
            } => {
                *total += 1;
                let key = sorter.key(doc, score, global_doc(*index, *segment, doc));
                list.push((
                    key,
                    HitAddress {
                        index: *index,
                        segment: *segment,
                        doc,
                    },
                ));
                if list.len() >= *keep * 2 + 16 {
                    list.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
                    list.truncate(*keep);
                }
            }
        }
    }

    fn harvest(self, request: &AggRequest) -> IntermediateAgg {
        match self {
            Node::Terms {
                accessor, buckets, ..
            } => {
                let missing_key = match &request.kind {
                    AggKind::Terms(terms) => terms.missing.as_ref().map(missing_bucket_key),
                    _ => None,
                };
                if let (Accessor::IpCode { space, .. }, Some(_)) = (&accessor, &buckets.direct) {
                    // Address buckets stay by code until they must be merged.
                    return buckets.harvest_codes(AddressDecoder(space.clone()), request);
                }
                let mut agg = buckets.harvest(request, |key| {
                    if key == MISSING_SLOT {
                        return missing_key.clone();
                    }
                    Some(match &accessor {
                        Accessor::Str { .. } => BucketKey::Str(accessor.term(key as u64)?),
                        Accessor::I64(_) | Accessor::Date(_) => BucketKey::I64(key as u64 as i64),
                        Accessor::Ip(_) | Accessor::IpCode { .. } => {
                            BucketKey::Ip(accessor.ip(key))
                        }
                        Accessor::Missing => return None,
                    })
                });
                // `min_doc_count: 0` lists every term of the field, matched or not.
                if let (AggKind::Terms(terms), IntermediateAgg::Buckets(buckets)) =
                    (&request.kind, &mut agg)
                {
                    if terms.min_doc_count == 0 {
                        // Every term with no documents: merged with the counted ones, they add
                        // nothing but their presence.
                        let empty = IntermediateBucket {
                            doc_count: 0,
                            subs: request.children.iter().map(empty_intermediate).collect(),
                        };
                        buckets.add(
                            accessor
                                .all_terms()
                                .into_iter()
                                .map(|term| (BucketKey::Str(term), empty.clone()))
                                .collect(),
                        );
                    }
                }
                agg
            }
            Node::DateHistogram { buckets, .. } => {
                buckets.harvest(request, |key| Some(BucketKey::I64(key as u64 as i64)))
            }
            Node::Histogram { buckets, .. } => {
                buckets.harvest(request, |key| Some(BucketKey::F64(key as u64)))
            }
            Node::Range { buckets, .. } => {
                buckets.harvest(request, |key| Some(BucketKey::Index(key as usize)))
            }
            Node::Filters { buckets, .. } => buckets.harvest(request, |key| {
                Some(BucketKey::Index(if key == u128::MAX {
                    usize::MAX
                } else {
                    key as usize
                }))
            }),
            Node::Metric {
                accessor,
                kind,
                stats,
                values,
                distinct,
                ..
            } => IntermediateAgg::Metric(match kind {
                MetricKind::Percentiles { .. } => IntermediateMetric::Values(values),
                MetricKind::Cardinality => IntermediateMetric::Distinct({
                    let keys = distinct.into_sorted();
                    let values = match &accessor {
                        // Address codes decode in order; digests and number bits do not.
                        Accessor::IpCode { .. } => accessor.ips_in_order(keys),
                        _ => {
                            let mut values: Vec<u128> = keys
                                .into_iter()
                                .map(|raw| match &accessor {
                                    Accessor::Str { .. } => u128::from(xxhash_rust::xxh3::xxh3_64(
                                        accessor.term(raw as u64).unwrap_or_default().as_bytes(),
                                    )),
                                    _ => accessor.ip(raw),
                                })
                                .collect();
                            values.sort_unstable();
                            values.dedup();
                            values
                        }
                    };
                    DistinctRuns::from_sorted(values)
                }),
                _ => IntermediateMetric::Stats(stats),
            }),
            Node::TopHits {
                mut list,
                keep,
                total,
                ..
            } => {
                list.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
                list.truncate(keep);
                IntermediateAgg::TopHits(IntermediateTopHits {
                    total,
                    docs: list,
                    keep,
                })
            }
        }
    }
}

/// The bucket key a terms `missing` value stands for.
pub fn missing_bucket_key(value: &serde_json::Value) -> BucketKey {
    match value {
        serde_json::Value::Number(n) if n.is_i64() => {
            BucketKey::I64(n.as_i64().unwrap_or_default())
        }
        serde_json::Value::String(s) => BucketKey::Str(s.clone()),
        other => BucketKey::Str(other.to_string()),
    }
}

/// The documents of a segment matching a filter.
fn matching_docs(
    query: &dyn tantivy::query::Query,
    context: &SegmentContext<'_>,
) -> Result<BitSet, SearchError> {
    let weight = query
        .weight(EnableScoring::disabled_from_schema(&context.schema.schema))
        .map_err(|e| SearchError::Internal(e.to_string()))?;
    let mut set = BitSet::with_max_value(context.reader.max_doc());
    weight
        .for_each_no_score(context.reader, &mut |docs| {
            for &doc in docs {
                set.insert(doc);
            }
        })
        .map_err(|e| SearchError::Internal(e.to_string()))?;
    Ok(set)
}

/// Counts buckets against [`MAX_BUCKETS`] while results are rendered.
pub fn check_bucket_budget(used: usize) -> Result<(), SearchError> {
    if used > MAX_BUCKETS {
        return Err(SearchError::TooManyBuckets);
    }
    Ok(())
}
