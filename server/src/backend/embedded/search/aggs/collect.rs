//! Collection: per segment, every matching document walks the aggregation tree once
//! ([`SegmentAgg`]); bucket keys are segment-local (term ordinals) until harvest turns them
//! into values. Segments' results are folded together as they come, across every index
//! searched ([`FlowCollector::fold`]), unless a search asks for one result per index.

use std::sync::{Arc, Mutex};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use super::super::column_cache::SegmentColumns;
use super::super::guard::SearchGuard;
use super::super::hits::{global_doc, HitAddress, SegmentSorter, SortKey, SortSpec, TopN};
use super::super::SearchError;
use super::buckets::BlockValues;
use super::intermediate::{merge_all, IntermediateAgg};
use super::{empty_intermediate, AggRequest, SegmentAgg, SegmentContext};
use crate::backend::embedded::index::FlowIndex;
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
    pub columns: SegmentColumns,
    /// The search's memory budget and deadline, shared by all its collectors.
    pub guard: Arc<SearchGuard>,
}

/// The result of [`FlowCollector`] over segments of one index or more.
#[derive(Debug, Default)]
pub struct Collected {
    pub total: u64,
    pub aggs: Vec<IntermediateAgg>,
    pub hits: Vec<(SortKey, HitAddress)>,
    /// What `aggs` take, charged to the search until they are dropped.
    held: Option<SearchGuard>,
}

impl Collected {
    /// The bytes its aggregations are charged for.
    fn held_bytes(&self) -> usize {
        self.held.as_ref().map_or(0, SearchGuard::held_bytes)
    }
}

/// Segments' results folded together as they come (see [`FlowCollector::fold`]).
#[derive(Default)]
pub struct Folded {
    done: Option<Collected>,
    /// Results not yet merged into `done`, and the bytes they hold.
    pending: Vec<Collected>,
    pending_bytes: usize,
    /// The bytes `done` held when it was last compacted.
    done_bytes: usize,
}

/// Results held before they are compacted into what is done, at the least (or a sixteenth of
/// the search's budget, if less): most searches hold far less and are merged once, at the end.
const MIN_COMPACT_BYTES: usize = 16 << 20;

impl Collector for FlowCollector {
    type Fruit = Collected;
    type Child = SegmentFlowCollector;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentFlowCollector> {
        // A search past its deadline collects no further segment.
        self.guard.check_deadline();
        // The segment's tables are given back once it is harvested; what it hands on is
        // charged to the search then.
        let segment_guard = Arc::new(self.guard.scope());
        let context = SegmentContext {
            reader,
            schema: &self.schema,
            index: self.index,
            segment,
            columns: &self.columns,
            guard: &segment_guard,
            copies: 1,
        };
        // Errors cannot leave through tantivy's API typed: the guard keeps the first, stops
        // the search, and the search answers it.
        let (nodes, hits) = match self.segment_state(&context) {
            Ok(state) => state,
            Err(error) => {
                self.guard.fail(error);
                (Vec::new(), None)
            }
        };
        Ok(SegmentFlowCollector {
            guard: segment_guard,
            search_guard: self.guard.clone(),
            since_clock: 0,
            total: 0,
            nodes,
            block: BlockValues::default(),
            pending: Vec::new(),
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

    fn merge_fruits(&self, fruits: Vec<Collected>) -> tantivy::Result<Collected> {
        let mut merged = Collected::default();
        let mut aggs = Vec::new();
        let mut held = Vec::new();
        let mut top = TopN::new(self.hits.as_ref().map_or(0, |(keep, _)| *keep));
        for fruit in fruits {
            merged.total += fruit.total;
            aggs.push(fruit.aggs);
            held.extend(fruit.held);
            for (key, address) in fruit.hits {
                top.push(key, address);
            }
        }
        merged.aggs =
            merge_all(aggs).unwrap_or_else(|| self.aggs.iter().map(empty_intermediate).collect());
        merged.hits = top.into_sorted();
        // Merging gathers the parts' buckets without copying them: their charges stay.
        merged.held = held.into_iter().reduce(|mut all, part| {
            all.take_over(part);
            all
        });
        Ok(merged)
    }
}

impl FlowCollector {
    /// Adds one segment's result to `folded`, shared by the search threads. Once the results
    /// waiting to be merged hold as much as what is merged (and at least
    /// [`MIN_COMPACT_BYTES`] or a sixteenth of the budget), the thread that adds the last
    /// takes them all, merges and compacts them outside the lock, and puts back what it made:
    /// a month of segments then holds about the union of their buckets rather than the sum.
    /// Each compaction takes in at least as much new as was merged before it, so the merging
    /// work stays linear in what the segments hand on.
    pub fn fold(&self, folded: &Mutex<Folded>, fruit: Collected) -> tantivy::Result<()> {
        let lock = || folded.lock().unwrap_or_else(|e| e.into_inner());
        let parts = {
            let mut folded = lock();
            folded.pending_bytes += fruit.held_bytes();
            folded.pending.push(fruit);
            let least = MIN_COMPACT_BYTES.min(self.guard.budget() / 16);
            // A stopped search answers its error: nothing it holds is worth merging.
            if folded.pending_bytes < folded.done_bytes.max(least) || self.guard.stopped() {
                return Ok(());
            }
            folded.pending_bytes = 0;
            let mut parts = std::mem::take(&mut folded.pending);
            parts.extend(folded.done.take());
            if parts.len() == 1 {
                // Nothing to merge it with: it is what is done.
                folded.done = parts.pop();
                folded.done_bytes = folded.done.as_ref().map_or(0, Collected::held_bytes);
                return Ok(());
            }
            parts
        };
        let mut merged = self.merge_fruits(parts)?;
        for agg in &mut merged.aggs {
            agg.compact();
        }
        // The parts' charges, taken over by the merged result, become what it holds now:
        // most of it was moved, not copied (address and tuple runs, values), and charging
        // the copy before giving back the parts would count it twice.
        let bytes = merged.aggs.iter().map(IntermediateAgg::heap_bytes).sum();
        merged
            .held
            .get_or_insert_with(|| self.guard.scope())
            .recharge(bytes);
        let mut folded = lock();
        // Another thread may have put back what it compacted meanwhile: this waits its turn.
        if folded.done.is_none() {
            folded.done = Some(merged);
            folded.done_bytes = bytes;
        } else {
            folded.pending.push(merged);
            folded.pending_bytes += bytes;
        }
        Ok(())
    }

    /// Everything folded into `folded`, merged.
    pub fn finish_fold(&self, folded: Folded) -> tantivy::Result<Collected> {
        let mut parts = folded.pending;
        parts.extend(folded.done);
        self.merge_fruits(parts)
    }
}

impl FlowCollector {
    /// One collector per index searched, in order, all collecting `aggs` and `hits` under the
    /// search's `guard`.
    pub fn one_per_index<'a>(
        indices: impl IntoIterator<Item = &'a FlowIndex>,
        aggs: &Arc<Vec<AggRequest>>,
        hits: Option<(usize, SortSpec)>,
        schema: &Arc<FlowSchema>,
        guard: &Arc<SearchGuard>,
    ) -> Vec<FlowCollector> {
        indices
            .into_iter()
            .enumerate()
            .map(|(position, index)| FlowCollector {
                guard: guard.clone(),
                columns: index.columns(guard.search()),
                aggs: aggs.clone(),
                schema: schema.clone(),
                hits: hits.clone(),
                index: position as u32,
            })
            .collect()
    }

    /// A segment's aggregation nodes and hit sorter.
    fn segment_state(
        &self,
        context: &SegmentContext<'_>,
    ) -> Result<(Vec<SegmentAgg>, Option<SegmentHits>), SearchError> {
        let mut nodes = self
            .aggs
            .iter()
            .map(|request| SegmentAgg::new(request, context))
            .collect::<Result<Vec<_>, _>>()?;
        for node in &mut nodes {
            node.count_distinct_by_bits(context.reader);
        }
        let hits = match &self.hits {
            Some((keep, sort)) => {
                Some((TopN::new(*keep), SegmentSorter::new(sort, context.reader)?))
            }
            None => None,
        };
        Ok((nodes, hits))
    }
}

/// A segment's best hits so far, and how it sorts them.
type SegmentHits = (TopN, SegmentSorter);

/// Documents collected together where nothing is scored.
const BLOCK_DOCS: usize = 1024;

/// Documents collected between two looks at the clock.
const CLOCK_EVERY_DOCS: u32 = 1 << 16;

pub struct SegmentFlowCollector {
    /// The segment's own scope of the search's guard (see [`SearchGuard::scope`]).
    guard: Arc<SearchGuard>,
    /// The search's guard, charged with what the segment hands on.
    search_guard: Arc<SearchGuard>,
    /// Documents since the deadline was last checked.
    since_clock: u32,
    total: u64,
    nodes: Vec<SegmentAgg>,
    /// Column values of the current block, reused.
    block: BlockValues,
    /// Matching documents not yet collected, ascending.
    pending: Vec<DocId>,
    hits: Option<SegmentHits>,
    requests: Arc<Vec<AggRequest>>,
    index: u32,
    segment: SegmentOrdinal,
}

impl SegmentCollector for SegmentFlowCollector {
    type Fruit = Collected;

    /// Blocks of matching documents (when nothing is scored): aggregations that can read
    /// their columns a block at a time do, the others go document by document. tantivy's
    /// blocks of 64 are gathered into blocks of [`BLOCK_DOCS`]: each block costs every
    /// level of the aggregation tree a call, a column read and a sort into buckets.
    fn collect_block(&mut self, docs: &[DocId]) {
        if self.hits.is_some() {
            for &doc in docs {
                self.collect(doc, 0.0);
            }
            return;
        }
        self.pending.extend_from_slice(docs);
        if self.pending.len() >= BLOCK_DOCS {
            self.collect_pending();
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
            let Some(key) = sorter.key(doc, score, global_doc(self.index, self.segment, doc))
            else {
                return;
            };
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

    fn harvest(mut self) -> Collected {
        self.collect_pending();
        let aggs: Vec<IntermediateAgg> = self
            .nodes
            .into_iter()
            .zip(self.requests.iter())
            .map(|(node, request)| node.harvest(request))
            .collect();
        // Held until merged; past the budget, the search stops with its error and the
        // buckets are dropped with it.
        let held = self.search_guard.scope();
        held.charge(aggs.iter().map(IntermediateAgg::heap_bytes).sum());
        Collected {
            held: Some(held),
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
    /// Collects the documents gathered so far, as one block.
    fn collect_pending(&mut self) {
        let docs = std::mem::take(&mut self.pending);
        if !docs.is_empty() && !self.out_of_budget(docs.len() as u32) {
            self.total += docs.len() as u64;
            self.block.begin(&docs);
            for node in &mut self.nodes {
                node.collect_docs(&docs, &mut self.block);
            }
        }
        self.pending = docs;
        self.pending.clear();
    }

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
