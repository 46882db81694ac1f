//! Collection: per segment, every matching document walks the aggregation tree once
//! ([`SegmentAgg`]); bucket keys are segment-local (term ordinals) until harvest turns them
//! into values. Segments' results merge per index, then across indices.

use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use super::super::columns::SegmentColumns;
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
    pub columns: Arc<SegmentColumns>,
    /// The search's memory budget and deadline, shared by all its collectors.
    pub guard: Arc<SearchGuard>,
}

/// The result of [`FlowCollector`] over one index.
#[derive(Debug, Default)]
pub struct Collected {
    pub total: u64,
    pub aggs: Vec<IntermediateAgg>,
    pub hits: Vec<(SortKey, HitAddress)>,
}

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
        let context = SegmentContext {
            reader,
            schema: &self.schema,
            index: self.index,
            segment,
            columns: &self.columns,
            guard: &self.guard,
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
            guard: self.guard.clone(),
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
        let mut top = TopN::new(self.hits.as_ref().map_or(0, |(keep, _)| *keep));
        for fruit in fruits {
            merged.total += fruit.total;
            aggs.push(fruit.aggs);
            for (key, address) in fruit.hits {
                top.push(key, address);
            }
        }
        merged.aggs =
            merge_all(aggs).unwrap_or_else(|| self.aggs.iter().map(empty_intermediate).collect());
        merged.hits = top.into_sorted();
        Ok(merged)
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
                columns: index.columns(),
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
    guard: Arc<SearchGuard>,
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
        let aggs = self
            .nodes
            .into_iter()
            .zip(self.requests.iter())
            .map(|(node, request)| node.harvest(request))
            .collect();
        Collected {
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
