//! The top conversations without a table of every conversation. Nearly every flow of a day
//! is a conversation of its own, so grouping them all exactly (a table of millions of rows,
//! read at random) was most of the overview's cost, and over a month more than a search's
//! memory. The few conversations shown carry a large share of the bytes; the rest are
//! spread thin.
//!
//! A first pass sums the rank (flows, or a sum of bytes) of the matching flows by bin: the
//! top 16 bits of each flow's conversation digest, written at ingest (see
//! `embedded/conversation.rs`). A conversation's total is at most its bin's. The search's
//! pass then groups only the flows of the bins with the largest totals, four per bucket
//! asked for (the others are counted in `sum_other_doc_count`), and the answer is checked:
//! if the `size`-th best conversation found totals `L`, and every bin left out totals less
//! than `L`, no conversation left out can be among the best. Otherwise the `multi_terms` is
//! collected again, alone, over every bin totalling at least `L`: those hold every
//! conversation reaching `L`, so the best are all among them. The answer is always the
//! exact one, and the memory it takes follows the flows of the bins grouped, not the number
//! of conversations.
//!
//! Flows without a digest (written before digests were, or with a field twice) are always
//! grouped, and may add to any conversation: the rank they total, `U`, is added to every
//! bin's bound (the bins left out must total less than `L - U`). The sieve serves a `multi_terms` at the top of the request over exactly the
//! digested fields, ranked by count or by a sum of a field whose values are not negative.

use std::fmt;
use std::sync::{Arc, Mutex};

use app::model::flow::FieldType;
use serde_json::{Map, Value as Json};
use tantivy::DocId;

use super::super::super::columns::{Accessor, RawBlockScratch};
use super::super::super::SearchError;
use super::super::intermediate::custom::MergeState;
use super::super::intermediate::IntermediateAgg;
use super::super::kind::{custom, AggregationKind, SegmentState};
use super::super::{AggKind, SegmentContext};
use crate::backend::embedded::conversation;
use crate::backend::embedded::schema::{SchemaField, CONVERSATION};

/// Bins are the digest's top bits: 65,536 of them, half a megabyte of totals per segment.
const BIN_BITS: u32 = 16;
pub(crate) const BINS: usize = 1 << BIN_BITS;

/// The exact pass first groups this many bins per bucket asked for, those with the largest
/// totals: enough that the conversations just below the best are grouped too (they are what
/// the bins left out are compared with), few enough to group quickly.
const FIRST_BINS_PER_BUCKET: usize = 4;

/// Digests have this many bits (see [`conversation::digest`]).
const DIGEST_BITS: u32 = 31;

/// A digest's bin.
#[inline]
pub(crate) fn bin(digest: u64) -> usize {
    (digest >> (DIGEST_BITS - BIN_BITS)) as usize & (BINS - 1)
}

/// Whether a digest's bin is among `bins`, a bit per bin.
#[inline]
pub(crate) fn in_bins(bins: &[u64], digest: u64) -> bool {
    let bin = bin(digest);
    bins[bin / 64] & (1 << (bin % 64)) != 0
}

/// A `multi_terms`' sieve: empty until the first pass chose the bins to group.
#[derive(Debug, Default)]
pub struct Sieve(Mutex<Option<Arc<Admitted>>>);

impl Sieve {
    /// The bins the exact pass groups, when it groups only some.
    pub fn admitted(&self) -> Option<Arc<Admitted>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn set(&self, admitted: Option<Admitted>) {
        self.set_shared(admitted.map(Arc::new));
    }

    pub fn set_shared(&self, admitted: Option<Arc<Admitted>>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = admitted;
    }
}

/// The bins grouped exactly, and the first pass's totals to widen them by.
pub struct Admitted {
    bits: Vec<u64>,
    totals: Arc<BinTotals>,
    /// The largest total of a bin left out.
    left_out_max: u64,
}

impl fmt::Debug for Admitted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Admitted({} bins, left out < {})",
            self.bin_count(),
            self.left_out_max
        )
    }
}

impl Admitted {
    /// The bins grouped, a bit per bin.
    pub fn bins(&self) -> &[u64] {
        &self.bits
    }

    /// How many bins are grouped.
    pub fn bin_count(&self) -> usize {
        conversation::bin_count(&self.bits)
    }

    /// The bins totalling at least `least`; `None` when that leaves out none with flows, and
    /// the sieve would only cost a pass.
    fn at_least(totals: Arc<BinTotals>, least: u64) -> Option<Admitted> {
        let mut bits = vec![0u64; BINS / 64];
        let mut left_out_max = 0;
        let mut left_out_any = false;
        for (bin, &total) in totals.totals.iter().enumerate() {
            if total >= least {
                bits[bin / 64] |= 1 << (bin % 64);
            } else if total > 0 {
                left_out_max = left_out_max.max(total);
                left_out_any = true;
            }
        }
        left_out_any.then_some(Admitted {
            bits,
            totals,
            left_out_max,
        })
    }

    /// The bins the first pass's `result` gives the largest totals, `FIRST_BINS_PER_BUCKET`
    /// per bucket of `size`. `None`, and no sieve, when that leaves no flows out, when a value
    /// was negative or a total is past what the answer's floating sums hold exactly, and when
    /// the flows without a digest (a store written before them) total as much as a bin
    /// grouped: the check would then fail, and the sieve cost two passes more.
    pub fn first_bins(result: &IntermediateAgg, size: usize) -> Option<Admitted> {
        const EXACT: u64 = 1 << f64::MANTISSA_DIGITS;
        let totals = match result {
            IntermediateAgg::Custom(state) => state.as_any().downcast_ref::<BinTotals>()?,
            _ => return None,
        };
        if totals.negative
            || totals.totals.len() != BINS
            || totals.undigested >= EXACT
            || totals.totals.iter().any(|&total| total >= EXACT)
        {
            return None;
        }
        let mut sorted = totals.totals.clone();
        let nth = FIRST_BINS_PER_BUCKET.saturating_mul(size).clamp(1, BINS) - 1;
        let (_, least, _) = sorted.select_nth_unstable_by(nth, |a, b| b.cmp(a));
        let least = (*least).max(1);
        if totals.undigested >= least {
            return None;
        }
        Admitted::at_least(Arc::new(totals.clone()), least)
    }

    /// `None` when the conversations grouped hold the best, the `size`-th of which totals
    /// `least`: no bin left out can hold one reaching it, with every undigested flow added.
    /// Otherwise the bins that can (`Some(None)` when that is every bin with flows).
    pub fn widened_for(&self, least: f64) -> Option<Option<Admitted>> {
        let undigested = self.totals.undigested;
        if (self.left_out_max.saturating_add(undigested) as f64) < least {
            return None;
        }
        let least = (least.max(0.0) as u64).saturating_sub(undigested).max(1);
        Some(Admitted::at_least(self.totals.clone(), least))
    }

    /// Whether a flow with this digest is grouped: every flow without one is (those in no
    /// conversation are then skipped for their missing field).
    #[inline]
    pub fn admits(&self, digest: Option<u64>) -> bool {
        digest.is_none_or(|digest| {
            digest >= conversation::UNDIGESTED as u64 || in_bins(&self.bits, digest)
        })
    }
}

/// What the first pass sums per bin.
#[derive(Clone, Debug)]
pub enum ProbeRank {
    Count,
    /// A `sum` of an integer field, with its `missing` value (a whole number, not negative).
    Sum {
        field: SchemaField,
        name: String,
        missing: u64,
    },
}

/// A segment's part of a [`super::sieve::Sieve`].
#[derive(Clone)]
pub struct SegmentSieve {
    admitted: Arc<Admitted>,
    digests: Accessor,
    /// The flows with a conversation left out so far.
    pub left_out: u64,
    scratch: RawBlockScratch,
    digest_block: Vec<Option<u64>>,
    /// The flows of the last block admitted ([`SegmentSieve::admit_block`]), and their
    /// digests (those at or above [`conversation::UNDIGESTED`], and `UNDIGESTED` for a flow
    /// without any, stand for no one conversation).
    pub admitted_docs: Vec<DocId>,
    pub admitted_digests: Vec<u64>,
}

impl SegmentSieve {
    pub fn open(
        admitted: Arc<Admitted>,
        context: &SegmentContext<'_>,
    ) -> Result<Self, SearchError> {
        Ok(SegmentSieve {
            admitted,
            digests: open_digests(context)?,
            left_out: 0,
            scratch: RawBlockScratch::default(),
            digest_block: Vec::new(),
            admitted_docs: Vec::new(),
            admitted_digests: Vec::new(),
        })
    }

    /// The segment's column of digests.
    pub fn digests(&self) -> &Accessor {
        &self.digests
    }

    /// The bins grouped.
    pub fn admitted(&self) -> &Admitted {
        &self.admitted
    }

    /// Whether a document is grouped; counts it when it is not.
    #[inline]
    pub fn admits(&mut self, doc: DocId) -> bool {
        let admitted = self
            .admitted
            .admits(self.digests.int(doc).map(|d| d as u64));
        self.left_out += u64::from(!admitted);
        admitted
    }

    /// The documents of `docs` that are grouped, into `admitted_docs` (their digests into
    /// `admitted_digests`); how many are not.
    pub fn admit_block(&mut self, docs: &[DocId]) -> u64 {
        self.admitted_docs.clear();
        self.admitted_digests.clear();
        if !self
            .digests
            .read_raw_block(docs, &mut self.scratch, &mut self.digest_block)
        {
            // No digests in this segment: every flow is grouped.
            self.admitted_docs.extend_from_slice(docs);
            self.admitted_digests
                .resize(docs.len(), conversation::UNDIGESTED as u64);
            return 0;
        }
        for (&doc, &digest) in docs.iter().zip(&self.digest_block) {
            if self.admitted.admits(digest) {
                self.admitted_docs.push(doc);
                self.admitted_digests
                    .push(digest.unwrap_or(conversation::UNDIGESTED as u64));
            }
        }
        (docs.len() - self.admitted_docs.len()) as u64
    }
}

/// A segment's column of conversation digests (missing in one written before them).
fn open_digests(context: &SegmentContext<'_>) -> Result<Accessor, SearchError> {
    let field = SchemaField {
        field: context.schema.conversation,
        field_type: FieldType::Long,
        of_record: false,
    };
    context.columns.open(context.reader, CONVERSATION, field)
}

/// The first pass of one sieved `multi_terms`, as an aggregation.
pub fn probe(rank: ProbeRank) -> AggKind {
    custom(Probe { rank })
}

#[derive(Debug)]
struct Probe {
    rank: ProbeRank,
}

/// Rank totals by bin.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BinTotals {
    /// Empty, or one per bin.
    totals: Vec<u64>,
    /// The total of the flows in conversations without a digest.
    undigested: u64,
    /// A value summed was negative: a bin's total then bounds nothing.
    negative: bool,
}

impl MergeState for BinTotals {
    fn merge(&mut self, other: Self) {
        self.negative |= other.negative;
        self.undigested = self.undigested.saturating_add(other.undigested);
        if self.totals.is_empty() {
            self.totals = other.totals;
        } else {
            for (mine, theirs) in self.totals.iter_mut().zip(other.totals) {
                *mine = mine.saturating_add(theirs);
            }
        }
    }
}

/// The first pass in one segment.
#[derive(Clone)]
struct ProbeSegment {
    digests: Accessor,
    /// The summed field, `None` when counting.
    values: Option<Accessor>,
    missing: u64,
    totals: BinTotals,
    scratch: RawBlockScratch,
    digest_block: Vec<Option<u64>>,
    value_block: Vec<Option<u64>>,
}

impl AggregationKind for Probe {
    type State = BinTotals;
    type Segment = ProbeSegment;

    fn segment(&self, context: &SegmentContext<'_>) -> Result<ProbeSegment, SearchError> {
        let digests = open_digests(context)?;
        let (values, missing) = match &self.rank {
            ProbeRank::Count => (None, 0),
            ProbeRank::Sum {
                field,
                name,
                missing,
            } => (
                Some(context.columns.open(context.reader, name, *field)?),
                *missing,
            ),
        };
        Ok(ProbeSegment {
            digests,
            values,
            missing,
            totals: BinTotals {
                totals: vec![0; BINS],
                undigested: 0,
                negative: false,
            },
            scratch: RawBlockScratch::default(),
            digest_block: Vec::new(),
            value_block: Vec::new(),
        })
    }

    /// Never rendered: its result chooses the bins.
    fn render(&self, _: &BinTotals) -> Map<String, Json> {
        Map::new()
    }
}

impl ProbeSegment {
    /// Adds a flow's rank to its bin, or to the undigested total (a flow written before
    /// digests were, `None`, or [`conversation::UNDIGESTED`]).
    #[inline]
    fn add(&mut self, digest: Option<u64>, value: Option<u64>) {
        let digest = digest.unwrap_or(conversation::UNDIGESTED as u64);
        if digest == conversation::NO_CONVERSATION as u64 {
            return;
        }
        let value = match &self.values {
            None => 1,
            Some(_) => match value {
                Some(v) if (v as i64) < 0 => {
                    self.totals.negative = true;
                    return;
                }
                Some(v) => v,
                None => self.missing,
            },
        };
        let total = match digest {
            digest if digest >= conversation::UNDIGESTED as u64 => &mut self.totals.undigested,
            digest => &mut self.totals.totals[bin(digest)],
        };
        *total = total.saturating_add(value);
    }
}

impl SegmentState for ProbeSegment {
    type State = BinTotals;

    fn collect(&mut self, doc: DocId) {
        let digest = self.digests.int(doc).map(|d| d as u64);
        let value = self
            .values
            .as_ref()
            .and_then(|values| values.int(doc))
            .map(|v| v as u64);
        self.add(digest, value);
    }

    fn collect_block(&mut self, docs: &[DocId]) -> bool {
        let mut digests = std::mem::take(&mut self.digest_block);
        let mut values = std::mem::take(&mut self.value_block);
        let read = if matches!(self.digests, Accessor::Missing) {
            // Written before digests were: every flow's conversation is unknown.
            digests.clear();
            digests.resize(docs.len(), None);
            true
        } else {
            self.digests
                .read_raw_block(docs, &mut self.scratch, &mut digests)
        } && self
            .values
            .as_ref()
            .is_none_or(|column| column.read_raw_block(docs, &mut self.scratch, &mut values));
        if read {
            if self.values.is_none() {
                for digest in &digests {
                    self.add(*digest, None);
                }
            } else {
                for (digest, value) in digests.iter().zip(&values) {
                    self.add(*digest, *value);
                }
            }
        }
        self.digest_block = digests;
        self.value_block = values;
        read
    }

    fn harvest(self) -> BinTotals {
        self.totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(bins: &[(usize, u64)], undigested: u64) -> Arc<BinTotals> {
        let mut totals = vec![0; BINS];
        for &(bin, total) in bins {
            totals[bin] = total;
        }
        Arc::new(BinTotals {
            totals,
            undigested,
            negative: false,
        })
    }

    fn digest_in(bin: usize) -> Option<u64> {
        Some((bin as u64) << (DIGEST_BITS - BIN_BITS))
    }

    #[test]
    fn bins_left_out_are_bounded_with_every_undigested_flow_added() {
        let bins = [(1, 100), (2, 40), (3, 9), (4, 2)];
        let admitted = Admitted::at_least(totals(&bins, 0), 40).unwrap();
        assert!(admitted.admits(digest_in(1)) && admitted.admits(digest_in(2)));
        assert!(!admitted.admits(digest_in(3)) && !admitted.admits(digest_in(4)));
        // Flows without a digest, and those standing for several, are always grouped.
        assert!(admitted.admits(None));
        assert!(admitted.admits(Some(conversation::UNDIGESTED as u64)));
        assert!(admitted.admits(Some(conversation::NO_CONVERSATION as u64)));
        // The tenth best found totals 10: no bin left out reaches it.
        assert!(admitted.widened_for(10.0).is_none());
        // It totals 9: bin 3 may hold one as good, and is grouped too.
        let widened = admitted.widened_for(9.0).unwrap().unwrap();
        assert!(widened.admits(digest_in(3)) && !widened.admits(digest_in(4)));

        // Two flows whose conversation is unknown may add to any: bin 3's conversations may
        // reach 11, and bin 4's 4.
        let admitted = Admitted::at_least(totals(&bins, 2), 40).unwrap();
        assert!(admitted.widened_for(12.0).is_none());
        let widened = admitted.widened_for(11.0).unwrap().unwrap();
        assert!(widened.admits(digest_in(3)) && !widened.admits(digest_in(4)));
        // Every bin with flows can: the sieve is let go.
        assert!(admitted.widened_for(4.0).unwrap().is_none());
    }

    #[test]
    fn the_first_bins_are_the_largest_and_any_size_is_taken() {
        let first_pass = |bins: &[(usize, u64)], undigested| {
            IntermediateAgg::Custom(Box::new(totals(bins, undigested).as_ref().clone()))
        };
        let bins: Vec<(usize, u64)> = (0..100).map(|bin| (bin, 1000 - bin as u64)).collect();
        // Four bins per bucket: the 40 largest.
        let admitted = Admitted::first_bins(&first_pass(&bins, 0), 10).unwrap();
        assert!(admitted.admits(digest_in(39)) && !admitted.admits(digest_in(40)));
        // Every bin, for a size past them all, or past what a word holds: no sieve.
        assert!(Admitted::first_bins(&first_pass(&bins, 0), 25).is_none());
        assert!(Admitted::first_bins(&first_pass(&bins, 0), usize::MAX).is_none());
        // Flows without a digest outweighing a first bin: no sieve either.
        assert!(Admitted::first_bins(&first_pass(&bins, 961), 10).is_none());
        assert!(Admitted::first_bins(&first_pass(&bins, 960), 10).is_some());
        // A total past 2^53 would not be compared exactly with the answer's sums.
        assert!(Admitted::first_bins(&first_pass(&[(0, 1 << 53), (1, 1)], 0), 1).is_none());
    }
}
