//! Aggregation results that can be merged: across segments, then across indices. Keys are
//! global values (strings, numbers, addresses), never segment ordinals.

use std::cmp::Ordering;
use std::collections::binary_heap::PeekMut;
use std::collections::BinaryHeap;
use std::sync::Arc;

use tantivy::columnar::column_values::{CompactHit, CompactSpaceU64Accessor};

/// Fast hashing for bucket keys (no untrusted keys to defend against: they are values of the data).
pub type HashMap<K, V> = rustc_hash::FxHashMap<K, V>;

pub mod best;
pub mod custom;
pub mod stat_rows;
pub mod tuples;

use self::best::Ranked;
use self::custom::DynState;
use self::stat_rows::StatRows;
use self::tuples::TupleRun;
use super::super::hits::{HitAddress, SortKey};
use super::AggRequest;

/// The merged state of one aggregation.
#[derive(Clone, Debug, PartialEq)]
pub enum IntermediateAgg {
    Buckets(BucketList),
    Metric(IntermediateMetric),
    TopHits(IntermediateTopHits),
    /// The state of a kind added through [`super::kind`].
    Custom(Box<dyn DynState>),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct IntermediateBucket {
    pub doc_count: u64,
    /// One entry per sub-aggregation, in request order. Inline for the usual single
    /// sub-aggregation: a terms aggregation over addresses has millions of buckets, and an
    /// allocation each (made, then freed) cost more than the counting.
    pub subs: smallvec::SmallVec<[IntermediateAgg; 1]>,
}

/// A bucket aggregation's buckets, as runs sorted by key: one per segment while results are
/// merged (merging only gathers runs), one after [`IntermediateAgg::finish`]. A terms aggregation over
/// addresses has millions of buckets; folding them into a hash map index after index cost
/// seconds, where one k-way merge of the sorted runs at the end is linear.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BucketList {
    runs: Vec<SortedRun>,
    /// Documents of the buckets left out when only the best could be merged (see
    /// [`best`]): they belong to `sum_other_doc_count`.
    left_out_doc_count: u64,
}

impl BucketList {
    /// No buckets.
    pub const EMPTY: BucketList = BucketList {
        runs: Vec::new(),
        left_out_doc_count: 0,
    };

    /// The buckets of one segment: keys unique, in any order.
    pub fn from_unique(mut buckets: Vec<(BucketKey, IntermediateBucket)>) -> BucketList {
        if !buckets.is_sorted_by(|a, b| a.0 <= b.0) {
            buckets.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        }
        BucketList {
            runs: if buckets.is_empty() {
                Vec::new()
            } else {
                vec![SortedRun::Keyed(buckets)]
            },
            left_out_doc_count: 0,
        }
    }

    /// The buckets of one segment's address or small-integer field, by ascending code, ranked
    /// for choosing the best (see [`best`]) when the request's order allows that.
    pub fn from_codes(
        codes: Vec<u32>,
        rows: StatRows,
        decoder: CodeDecoder,
        request: &AggRequest,
    ) -> Self {
        // Integer runs are merged by value, then ranked once (see `merge_integer_runs`).
        let integer = matches!(decoder, CodeDecoder::Integer { .. });
        let run = SortedRun::Coded {
            codes,
            rows,
            decoder,
            ranked: None,
        };
        if integer {
            BucketList::of_run(run)
        } else {
            BucketList::ranked(run, request)
        }
    }

    /// The buckets of one segment's `multi_terms`, as rows of tuples, ranked for choosing the
    /// best (see [`best`]).
    pub fn from_tuples(run: TupleRun, request: &AggRequest) -> Self {
        BucketList::ranked(SortedRun::Tuples(Box::new(run)), request)
    }

    /// One segment's run, ranked where it was collected when the request's order allows
    /// choosing the best.
    fn ranked(mut run: SortedRun, request: &AggRequest) -> Self {
        if let Some(best) = request.best_buckets() {
            let ranked = best.rank_run(&run);
            match &mut run {
                SortedRun::Coded { ranked: slot, .. } => *slot = ranked,
                SortedRun::Tuples(tuples) => tuples.ranked = ranked,
                SortedRun::Keyed(_) => {}
            }
        }
        BucketList::of_run(run)
    }

    /// One segment's run as it is.
    fn of_run(run: SortedRun) -> Self {
        BucketList {
            runs: if run.is_empty() {
                Vec::new()
            } else {
                vec![run]
            },
            left_out_doc_count: 0,
        }
    }

    /// Adds buckets whose keys may already be present (their counts and results add up).
    pub fn add(&mut self, buckets: Vec<(BucketKey, IntermediateBucket)>) {
        self.merge(BucketList::from_unique(buckets));
    }

    fn merge(&mut self, other: BucketList) {
        self.runs.extend(other.runs);
        self.left_out_doc_count += other.left_out_doc_count;
    }

    /// Merges the runs into one (only the buckets that can be shown, when the request's order
    /// allows choosing them), then the buckets' own sub-aggregations.
    fn finish(&mut self, request: &AggRequest) {
        let merged = matches!(self.runs.as_slice(), [] | [SortedRun::Keyed(_)]);
        if !merged {
            let mut runs = std::mem::take(&mut self.runs);
            merge_integer_runs(&mut runs);
            if let Some(best) = request.best_buckets() {
                if let [run @ SortedRun::Coded { ranked: None, .. }] = runs.as_mut_slice() {
                    // Merged here: ranked, only the best are decoded.
                    let ranked = best.rank_run(run);
                    if let SortedRun::Coded { ranked: slot, .. } = run {
                        *slot = ranked;
                    }
                }
                match best.choose(runs) {
                    Ok(chosen) => {
                        self.left_out_doc_count += chosen.other_doc_count;
                        runs = vec![SortedRun::Keyed(chosen.buckets)];
                    }
                    Err(untouched) => runs = untouched,
                }
            }
            self.runs = vec![SortedRun::Keyed(merge_runs(runs))];
        }
        if let Some(SortedRun::Keyed(run)) = self.runs.first_mut() {
            for (_, bucket) in run {
                for (sub, child) in bucket.subs.iter_mut().zip(&request.children) {
                    sub.finish(child);
                }
            }
        }
    }

    /// Merges runs of keyed buckets into one, and runs of integer codes into one, then the
    /// buckets' own sub-aggregations: the same buckets as merging at the end, in the room of
    /// their union. Runs by address codes or tuples are left as they are: they are decoded
    /// only when merged at the end, where the best are chosen from them.
    fn compact(&mut self) {
        merge_integer_runs(&mut self.runs);
        if self.runs.len() > 1
            && self
                .runs
                .iter()
                .all(|run| matches!(run, SortedRun::Keyed(_)))
        {
            let runs = std::mem::take(&mut self.runs);
            let mut merged = merge_runs(runs);
            // Made with room for every run's buckets; the union may be far fewer.
            merged.shrink_to_fit();
            self.runs = vec![SortedRun::Keyed(merged)];
        }
        if let [SortedRun::Keyed(run)] = self.runs.as_mut_slice() {
            for (_, bucket) in run {
                for sub in &mut bucket.subs {
                    sub.compact();
                }
            }
        }
    }

    /// Keeps the first `n` buckets of one segment by `compare` (a composite's page: the
    /// first `n` of every segment hold the first `n` of all).
    pub fn keep_first(&mut self, n: usize, compare: impl Fn(&BucketKey, &BucketKey) -> Ordering) {
        let [SortedRun::Keyed(run)] = self.runs.as_mut_slice() else {
            return;
        };
        if run.len() > n {
            if n > 0 {
                run.select_nth_unstable_by(n - 1, |a, b| compare(&a.0, &b.0));
            }
            run.truncate(n);
            run.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        }
    }

    /// Counts documents that were left out of every bucket because theirs cannot be shown.
    pub fn leave_out(&mut self, docs: u64) {
        self.left_out_doc_count += docs;
    }

    /// Documents in buckets that were left out because they cannot be shown.
    pub fn left_out_doc_count(&self) -> u64 {
        self.left_out_doc_count
    }

    fn merged(&self) -> &[(BucketKey, IntermediateBucket)] {
        match self.runs.as_slice() {
            [SortedRun::Keyed(run)] => run,
            [] => &[],
            _ => {
                debug_assert!(false, "bucket runs read before IntermediateAgg::finish");
                &[]
            }
        }
    }

    /// The buckets in key order (after [`IntermediateAgg::finish`]).
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&BucketKey, &IntermediateBucket)> {
        self.merged().iter().map(|(key, bucket)| (key, bucket))
    }

    /// The bucket with this key (after [`IntermediateAgg::finish`]).
    pub fn get(&self, key: &BucketKey) -> Option<&IntermediateBucket> {
        let run = self.merged();
        run.binary_search_by(|(k, _)| k.cmp(key))
            .ok()
            .map(|index| &run[index].1)
    }
}

/// The head of a run during a k-way merge: the smallest key first, then the earliest run.
struct Head {
    key: BucketKey,
    bucket: IntermediateBucket,
    run: usize,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Head {}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        // `BinaryHeap` pops the greatest: reversed, it pops the smallest key.
        other.key.cmp(&self.key).then(other.run.cmp(&self.run))
    }
}

/// One segment's buckets, sorted by key.
#[derive(Clone, Debug, PartialEq)]
pub enum SortedRun {
    Keyed(Vec<(BucketKey, IntermediateBucket)>),
    /// The buckets of a field by codes that follow the order of its values, with single-pass
    /// statistics below: an address field's compact codes in its segment, or an integer's
    /// value less the least (ports, protocols). Most buckets of a terms aggregation over
    /// addresses or ports are never shown: they are decoded, and made buckets, only when they
    /// must be merged. (Decoding an address is a search in the segment's value ranges; a
    /// Sankey's ports, made buckets in every segment and merged as such, took a quarter of
    /// its time.)
    Coded {
        codes: Vec<u32>,
        rows: StatRows,
        decoder: CodeDecoder,
        ranked: Option<Ranked>,
    },
    /// The buckets of a `multi_terms` by the segment's tuples of keys (see [`tuples`]): like
    /// addresses, decoded only when they must be merged. Not in key order: they are put in
    /// order when merged.
    Tuples(Box<TupleRun>),
}

/// Turns a run's codes back into keys (and keys into codes).
#[derive(Clone)]
pub enum CodeDecoder {
    /// A segment's compact codes of an address column.
    Address(Arc<CompactSpaceU64Accessor>),
    /// An integer less `least`.
    Integer { least: i64 },
}

impl std::fmt::Debug for CodeDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CodeDecoder::Address(_) => f.write_str("Address"),
            CodeDecoder::Integer { least } => write!(f, "Integer {{ least: {least} }}"),
        }
    }
}

impl PartialEq for CodeDecoder {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (CodeDecoder::Address(a), CodeDecoder::Address(b)) => Arc::ptr_eq(a, b),
            (CodeDecoder::Integer { least: a }, CodeDecoder::Integer { least: b }) => a == b,
            _ => false,
        }
    }
}

impl CodeDecoder {
    fn key(&self, code: u32) -> BucketKey {
        match self {
            CodeDecoder::Address(space) => BucketKey::Ip(space.compact_to_u128(code)),
            CodeDecoder::Integer { least } => BucketKey::I64(least.wrapping_add(i64::from(code))),
        }
    }

    /// The code of `key`, if the run's field can hold it.
    fn code(&self, key: &BucketKey) -> Option<u32> {
        match (self, key) {
            (CodeDecoder::Address(space), BucketKey::Ip(address)) => {
                match space.u128_to_next_compact(*address) {
                    CompactHit::Exact(code) => Some(code),
                    _ => None,
                }
            }
            (CodeDecoder::Integer { least }, BucketKey::I64(value)) => {
                u32::try_from(value.checked_sub(*least)?).ok()
            }
            _ => None,
        }
    }
}

/// The most values a merged run of integer codes may span: a table of that many rows is
/// filled from every run's rows, then compacted. Ports and protocols span at most 65,536.
const MAX_MERGED_INTEGER_SPAN: i64 = 1 << 17;

/// Merges runs of integer codes into one by adding each run's rows into a table indexed by
/// value: no keys are compared and no buckets made. Beside keyed runs, or spanning too many
/// values, they become keyed runs, which merge as such; beside runs of other codes they are
/// left as they are.
fn merge_integer_runs(runs: &mut Vec<SortedRun>) {
    let integer = |run: &SortedRun| match run {
        SortedRun::Coded {
            codes,
            decoder: CodeDecoder::Integer { least },
            ..
        } => Some((*least, least.saturating_add(i64::from(*codes.last()?)))),
        _ => None,
    };
    let mut span: Option<(i64, i64)> = None;
    let mut keyed = 0;
    for run in runs.iter() {
        match (integer(run), run) {
            (Some((low, high)), _) => {
                span = Some(span.map_or((low, high), |(l, h)| (l.min(low), h.max(high))))
            }
            (None, SortedRun::Keyed(_)) => keyed += 1,
            // An empty run of codes, or other codes: nothing to merge by value.
            (None, _) => return,
        }
    }
    let Some((least, most)) = span else {
        return;
    };
    // Values of a field far apart in different segments (any integer may be a key) span
    // more than a table should, or than an `i64` holds.
    let too_wide = most
        .checked_sub(least)
        .is_none_or(|span| span >= MAX_MERGED_INTEGER_SPAN);
    if keyed > 0 || too_wide {
        for run in runs.iter_mut() {
            if matches!(run, SortedRun::Coded { .. }) {
                *run = SortedRun::Keyed(
                    std::mem::replace(run, SortedRun::Keyed(Vec::new())).into_keyed(),
                );
            }
        }
        return;
    }
    if runs.len() < 2 {
        return;
    }
    let mut table: Option<StatRows> = None;
    for run in runs.drain(..) {
        let SortedRun::Coded {
            codes,
            rows,
            decoder: CodeDecoder::Integer { least: own },
            ..
        } = run
        else {
            continue;
        };
        let table = table.get_or_insert_with(|| rows.empty_like((most - least + 1) as usize));
        let shift = (own - least) as usize;
        for (row, code) in codes.into_iter().enumerate() {
            table.merge_row(code as usize + shift, &rows, row);
        }
    }
    if let Some(table) = table {
        let (codes, rows) = table.compact();
        runs.push(SortedRun::Coded {
            codes,
            rows,
            decoder: CodeDecoder::Integer { least },
            ranked: None,
        });
    }
}

impl SortedRun {
    pub fn len(&self) -> usize {
        match self {
            SortedRun::Keyed(run) => run.len(),
            SortedRun::Coded { codes, .. } => codes.len(),
            SortedRun::Tuples(run) => run.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The run ranked for choosing the best buckets, if that was done where it was collected.
    pub fn ranked(&self) -> Option<&Ranked> {
        match self {
            SortedRun::Coded { ranked, .. } => ranked.as_ref(),
            SortedRun::Tuples(run) => run.ranked.as_ref(),
            SortedRun::Keyed(_) => None,
        }
    }

    pub fn doc_count(&self, index: usize) -> u64 {
        match self {
            SortedRun::Keyed(run) => run[index].1.doc_count,
            SortedRun::Coded { rows, .. } => rows.doc_count(index),
            SortedRun::Tuples(run) => run.rows().doc_count(index),
        }
    }

    /// The statistics of the bucket's sub-aggregation `position`, if it is a single-pass one.
    pub fn stats(&self, index: usize, position: usize) -> Option<Stats> {
        match self {
            SortedRun::Keyed(run) => match run[index].1.subs.get(position) {
                Some(IntermediateAgg::Metric(IntermediateMetric::Stats(stats))) => Some(*stats),
                _ => None,
            },
            SortedRun::Coded { rows, .. } => rows.stats(index, position),
            SortedRun::Tuples(run) => run.rows().stats(index, position),
        }
    }

    /// The key of the bucket at `index` (decoded, for addresses).
    pub fn key(&self, index: usize) -> BucketKey {
        match self {
            SortedRun::Keyed(run) => run[index].0.clone(),
            SortedRun::Coded { codes, decoder, .. } => decoder.key(codes[index]),
            SortedRun::Tuples(run) => run.key(index),
        }
    }

    /// Where the bucket of `key` is, if the run has one.
    pub fn find(&self, key: &BucketKey) -> Option<usize> {
        match self {
            SortedRun::Keyed(run) => run.binary_search_by(|(k, _)| k.cmp(key)).ok(),
            SortedRun::Coded { codes, decoder, .. } => {
                codes.binary_search(&decoder.code(key)?).ok()
            }
            SortedRun::Tuples(run) => run.find(key),
        }
    }

    /// Takes the bucket at `index` out (a keyed run is left with an empty one).
    pub fn take(&mut self, index: usize) -> IntermediateBucket {
        match self {
            SortedRun::Keyed(run) => std::mem::take(&mut run[index].1),
            SortedRun::Coded { rows, .. } => rows.bucket(index),
            SortedRun::Tuples(run) => run.rows().bucket(index),
        }
    }

    fn into_keyed(self) -> Vec<(BucketKey, IntermediateBucket)> {
        match self {
            SortedRun::Keyed(run) => run,
            SortedRun::Coded {
                codes,
                rows,
                decoder,
                ..
            } => codes
                .into_iter()
                .enumerate()
                .map(|(row, code)| (decoder.key(code), rows.bucket(row)))
                .collect(),
            SortedRun::Tuples(run) => run.into_keyed(),
        }
    }
}

/// One sorted run from several, buckets of equal keys merged.
fn merge_runs(runs: Vec<SortedRun>) -> Vec<(BucketKey, IntermediateBucket)> {
    let mut runs: Vec<Vec<(BucketKey, IntermediateBucket)>> =
        runs.into_iter().map(SortedRun::into_keyed).collect();
    if runs.len() == 1 {
        return runs.pop().unwrap_or_default();
    }
    // Room for every bucket: growing a vector of millions of buckets copies them again and again.
    let mut out: Vec<(BucketKey, IntermediateBucket)> =
        Vec::with_capacity(runs.iter().map(Vec::len).sum());
    let mut rest: Vec<_> = runs.into_iter().map(Vec::into_iter).collect();
    let mut heads = BinaryHeap::with_capacity(rest.len());
    for (run, buckets) in rest.iter_mut().enumerate() {
        if let Some((key, bucket)) = buckets.next() {
            heads.push(Head { key, bucket, run });
        }
    }
    // The smallest head is replaced in place by its run's next bucket: one sift per bucket.
    while let Some(mut top) = heads.peek_mut() {
        let (key, bucket) = match rest[top.run].next() {
            Some((key, bucket)) => {
                let key = std::mem::replace(&mut top.key, key);
                let bucket = std::mem::replace(&mut top.bucket, bucket);
                drop(top);
                (key, bucket)
            }
            None => {
                let Head { key, bucket, .. } = PeekMut::pop(top);
                (key, bucket)
            }
        };
        match out.last_mut() {
            Some((last, existing)) if *last == key => existing.merge(bucket),
            _ => out.push((key, bucket)),
        }
    }
    out
}

/// A bucket's identity.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BucketKey {
    /// No value (a composite source's `missing_bucket`): before every value.
    Null,
    Str(String),
    I64(i64),
    /// An IP address (IPv6 or IPv4-mapped) as a number.
    Ip(u128),
    /// A histogram key (`f64::to_bits`).
    F64(u64),
    /// The n-th range or filter of the request; `usize::MAX` is the "other" bucket.
    Index(usize),
    /// One key per source of a `multi_terms` or `composite`, in request order.
    Tuple(Box<[BucketKey]>),
}

/// The distinct values of a cardinality, as sorted runs (one per segment) united once when
/// finished: addresses as themselves, strings as 64-bit digests, numbers as their bits. A
/// week of flows has millions of distinct addresses, and inserting every segment's into one
/// hash set cost more than counting them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DistinctRuns {
    runs: Vec<Vec<u128>>,
}

impl DistinctRuns {
    /// One segment's distinct values, ascending.
    pub fn from_sorted(values: Vec<u128>) -> DistinctRuns {
        debug_assert!(values.is_sorted_by(|a, b| a < b));
        DistinctRuns { runs: vec![values] }
    }

    /// Unites the runs pairwise until one is left: each round reads every value once.
    fn finish(&mut self) {
        while self.runs.len() > 1 {
            let runs = std::mem::take(&mut self.runs);
            let mut pairs = runs.into_iter();
            while let Some(first) = pairs.next() {
                self.runs.push(match pairs.next() {
                    Some(second) => union(&first, &second),
                    None => first,
                });
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.runs.iter().all(Vec::is_empty)
    }

    /// How many distinct values there are (after [`IntermediateAgg::finish`]).
    pub fn len(&self) -> usize {
        match self.runs.as_slice() {
            [] => 0,
            [run] => run.len(),
            _ => {
                let mut united = self.clone();
                united.finish();
                united.len()
            }
        }
    }
}

/// The union of two ascending lists of distinct values.
fn union(a: &[u128], b: &[u128]) -> Vec<u128> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// Metric state.
#[derive(Clone, Debug, PartialEq)]
pub enum IntermediateMetric {
    Stats(Stats),
    /// Every value, for exact percentiles.
    Values(Vec<f64>),
    /// The distinct values, for exact cardinality.
    Distinct(DistinctRuns),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl Stats {
    #[inline]
    pub fn add(&mut self, value: f64) {
        self.count += 1;
        self.sum += value;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }

    /// Adds a block's integers (`None`s are skipped). Summed and compared as integers, then
    /// added once: a floating addition or comparison per value waits for the one before, and
    /// was the slowest part of totalling a day's bytes. The sums are the same while they are
    /// below 2^53, where floating sums of integers are exact.
    pub fn add_ints(&mut self, values: &[Option<i64>]) {
        let (mut count, mut sum, mut min, mut max) = (0u64, 0i128, i64::MAX, i64::MIN);
        for &value in values.iter().flatten() {
            count += 1;
            sum += i128::from(value);
            min = min.min(value);
            max = max.max(value);
        }
        if count > 0 {
            self.count += count;
            self.sum += sum as f64;
            self.min = self.min.min(min as f64);
            self.max = self.max.max(max as f64);
        }
    }

    /// [`Stats::add_ints`] for a `sum`, which renders neither extreme: the block's count
    /// and sum alone, with no branch per value. The sum is an `i64`'s while no value is
    /// beyond 2^52 (a block holds far fewer than 2^11 of them); otherwise the block is added
    /// as `add_ints` adds it.
    pub fn add_int_sum(&mut self, values: &[Option<i64>]) {
        const BEYOND: i64 = 1 << 52;
        let (mut count, mut sum, mut outside) = (0u64, 0i64, false);
        for value in values {
            count += u64::from(value.is_some());
            let value = value.unwrap_or(0);
            sum = sum.wrapping_add(value);
            outside |= value.unsigned_abs() >= BEYOND as u64;
        }
        if outside || values.len() >= 1 << 11 {
            self.add_ints(values);
        } else if count > 0 {
            self.count += count;
            self.sum += sum as f64;
        }
    }

    fn merge(&mut self, other: &Stats) {
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }
}

/// The best documents of a bucket, by the top-hits sort.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IntermediateTopHits {
    pub total: u64,
    /// Sorted best first, at most `from + size` long.
    pub docs: Vec<(SortKey, HitAddress)>,
    pub keep: usize,
}

impl IntermediateAgg {
    /// Folds `other` (the same aggregation over other documents) into `self`.
    pub fn merge(&mut self, other: IntermediateAgg) {
        match (self, other) {
            (IntermediateAgg::Buckets(mine), IntermediateAgg::Buckets(theirs)) => {
                mine.merge(theirs)
            }
            (IntermediateAgg::Metric(mine), IntermediateAgg::Metric(theirs)) => {
                match (mine, theirs) {
                    (IntermediateMetric::Stats(a), IntermediateMetric::Stats(b)) => a.merge(&b),
                    (IntermediateMetric::Values(a), IntermediateMetric::Values(b)) => a.extend(b),
                    (IntermediateMetric::Distinct(a), IntermediateMetric::Distinct(b)) => {
                        a.runs.extend(b.runs)
                    }
                    _ => unreachable!("the same request yields the same metric kind"),
                }
            }
            (IntermediateAgg::TopHits(mine), IntermediateAgg::TopHits(theirs)) => {
                mine.total += theirs.total;
                mine.docs.extend(theirs.docs);
                mine.docs.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
                mine.docs.truncate(mine.keep);
            }
            (IntermediateAgg::Custom(mine), IntermediateAgg::Custom(theirs)) => {
                mine.merge_boxed(theirs)
            }
            _ => unreachable!("the same request yields the same aggregation kind"),
        }
    }
}

/// What results held between harvest and merge take on the heap, counted against the search's
/// memory budget: the large parts (bucket tables, value lists); a kind's own state counts only
/// its box.
impl IntermediateAgg {
    pub fn heap_bytes(&self) -> usize {
        match self {
            IntermediateAgg::Buckets(list) => list.runs.iter().map(SortedRun::heap_bytes).sum(),
            IntermediateAgg::Metric(IntermediateMetric::Stats(_)) => 0,
            IntermediateAgg::Metric(IntermediateMetric::Values(values)) => {
                values.capacity() * std::mem::size_of::<f64>()
            }
            IntermediateAgg::Metric(IntermediateMetric::Distinct(distinct)) => distinct
                .runs
                .iter()
                .map(|run| run.capacity() * std::mem::size_of::<u128>())
                .sum(),
            IntermediateAgg::TopHits(hits) => {
                hits.docs.capacity() * std::mem::size_of::<(SortKey, HitAddress)>()
            }
            IntermediateAgg::Custom(_) => std::mem::size_of::<usize>() * 2,
        }
    }
}

impl SortedRun {
    fn heap_bytes(&self) -> usize {
        match self {
            SortedRun::Keyed(buckets) => {
                buckets.capacity() * std::mem::size_of::<(BucketKey, IntermediateBucket)>()
                    + buckets
                        .iter()
                        .map(|(key, bucket)| key.heap_bytes() + bucket.heap_bytes())
                        .sum::<usize>()
            }
            SortedRun::Coded {
                codes,
                rows,
                ranked,
                ..
            } => {
                codes.capacity() * std::mem::size_of::<u32>()
                    + rows.heap_bytes()
                    + ranked.as_ref().map_or(0, Ranked::heap_bytes)
            }
            SortedRun::Tuples(run) => std::mem::size_of::<TupleRun>() + run.heap_bytes(),
        }
    }
}

impl IntermediateBucket {
    fn heap_bytes(&self) -> usize {
        let spilled = if self.subs.spilled() {
            self.subs.capacity() * std::mem::size_of::<IntermediateAgg>()
        } else {
            0
        };
        spilled
            + self
                .subs
                .iter()
                .map(IntermediateAgg::heap_bytes)
                .sum::<usize>()
    }
}

impl BucketKey {
    fn heap_bytes(&self) -> usize {
        match self {
            BucketKey::Str(text) => text.capacity(),
            BucketKey::Tuple(keys) => {
                keys.len() * std::mem::size_of::<BucketKey>()
                    + keys.iter().map(BucketKey::heap_bytes).sum::<usize>()
            }
            _ => 0,
        }
    }
}

impl IntermediateAgg {
    /// Merges what was gathered so far where that makes it smaller without losing anything
    /// (see [`BucketList::compact`]): distinct values are united, keyed bucket runs merged.
    pub fn compact(&mut self) {
        match self {
            IntermediateAgg::Buckets(buckets) => buckets.compact(),
            IntermediateAgg::Metric(IntermediateMetric::Distinct(distinct)) => {
                distinct.finish();
                // United with room for both sides; held until the search ends.
                for run in &mut distinct.runs {
                    run.shrink_to_fit();
                }
            }
            _ => {}
        }
    }
}

impl IntermediateAgg {
    /// Completes the merged results of `request` for rendering: bucket runs become one
    /// sorted list.
    pub fn finish(&mut self, request: &AggRequest) {
        match self {
            IntermediateAgg::Buckets(buckets) => buckets.finish(request),
            IntermediateAgg::Metric(IntermediateMetric::Distinct(distinct)) => distinct.finish(),
            _ => {}
        }
    }
}

impl IntermediateBucket {
    pub fn merge(&mut self, other: IntermediateBucket) {
        self.doc_count += other.doc_count;
        if self.subs.is_empty() {
            self.subs = other.subs;
            return;
        }
        for (mine, theirs) in self.subs.iter_mut().zip(other.subs) {
            mine.merge(theirs);
        }
    }
}

/// Merges per-index (or per-segment) lists of top-level aggregations.
pub fn merge_all(parts: Vec<Vec<IntermediateAgg>>) -> Option<Vec<IntermediateAgg>> {
    let mut parts = parts.into_iter();
    let mut merged = parts.next()?;
    for part in parts {
        for (mine, theirs) in merged.iter_mut().zip(part) {
            mine.merge(theirs);
        }
    }
    Some(merged)
}

#[cfg(test)]
mod tests {
    use super::stat_rows::StatLanes;
    use super::*;

    #[test]
    fn a_block_of_integers_totals_as_its_values_added_one_by_one() {
        let one_by_one = |blocks: &[&[Option<i64>]]| {
            let mut stats = Stats::default();
            for value in blocks.iter().flat_map(|block| block.iter().flatten()) {
                stats.add(*value as f64);
            }
            stats
        };
        let small: &[Option<i64>] = &[Some(7), None, Some(-3), Some(1 << 40), None, Some(0)];
        let negative: &[Option<i64>] = &[Some(-(1 << 45)), Some(12)];
        let blocks = [small, negative, &[None, None]];
        let (mut sums, mut stats) = (Stats::default(), Stats::default());
        for block in blocks {
            sums.add_int_sum(block);
            stats.add_ints(block);
        }
        assert_eq!(stats, one_by_one(&blocks));
        assert_eq!((sums.count, sums.sum), (stats.count, stats.sum));
        // Values whose sum an `i64` may not hold are added as `add_ints` adds them.
        let huge: &[Option<i64>] = &[Some(i64::MAX), Some(i64::MAX), Some(1 << 52), None];
        let (mut sum, mut all) = (Stats::default(), Stats::default());
        sum.add_int_sum(huge);
        all.add_ints(huge);
        assert_eq!(
            (sum.count, sum.sum),
            (3, 2.0 * i64::MAX as f64 + (1u64 << 52) as f64)
        );
        assert_eq!(
            (all.count, all.sum, all.max),
            (sum.count, sum.sum, i64::MAX as f64)
        );
    }

    /// A run of integer codes from `least`: each `(value, bytes)` a document.
    fn integer_run(least: i64, documents: &[(i64, f64)]) -> SortedRun {
        let stats = [StatLanes::new(true, true, true, true)];
        let span = documents.iter().map(|(v, _)| v - least + 1).max().unwrap();
        let mut rows = StatRows::new(span as usize, &stats);
        for (value, bytes) in documents {
            rows.add((value - least) as usize, |_| Some(*bytes));
        }
        let (codes, rows) = rows.compact();
        SortedRun::Coded {
            codes,
            rows,
            decoder: CodeDecoder::Integer { least },
            ranked: None,
        }
    }

    fn runs() -> Vec<SortedRun> {
        vec![
            integer_run(10, &[(10, 5.0), (15, 7.0), (15, 1.0)]),
            integer_run(12, &[(15, 3.0), (112, 9.0)]),
            integer_run(0, &[(3, 4.0), (10, 2.0)]),
        ]
    }

    #[test]
    fn runs_of_integer_codes_merge_by_value_as_keyed_buckets_merge() {
        let expected = merge_runs(runs());
        assert_eq!(expected.len(), 4, "3, 10, 15 and 112");
        let mut merged = runs();
        merge_integer_runs(&mut merged);
        assert!(matches!(
            merged.as_slice(),
            [SortedRun::Coded {
                decoder: CodeDecoder::Integer { least: 0 },
                ..
            }]
        ));
        assert_eq!(merge_runs(merged), expected);

        // Beside a keyed run, or spanning too many values, they are merged as keyed runs.
        let keyed = SortedRun::Keyed(merge_runs(vec![integer_run(1, &[(15, 2.0)])]));
        let mut mixed = runs();
        mixed.push(keyed.clone());
        merge_integer_runs(&mut mixed);
        assert!(mixed.iter().all(|run| matches!(run, SortedRun::Keyed(_))));
        let mut with_keyed = runs();
        with_keyed.push(keyed);
        assert_eq!(merge_runs(mixed), merge_runs(with_keyed));
        let mut wide = runs();
        wide.push(integer_run(
            MAX_MERGED_INTEGER_SPAN,
            &[(MAX_MERGED_INTEGER_SPAN, 1.0)],
        ));
        merge_integer_runs(&mut wide);
        assert_eq!(wide.len(), 4);
        assert!(wide.iter().all(|run| matches!(run, SortedRun::Keyed(_))));
        let mut extremes = vec![
            integer_run(i64::MIN, &[(i64::MIN, 1.0)]),
            integer_run(i64::MAX - 1, &[(i64::MAX, 2.0)]),
        ];
        let expected = merge_runs(extremes.clone());
        merge_integer_runs(&mut extremes);
        assert_eq!(merge_runs(extremes), expected);
    }

    #[test]
    fn a_key_is_found_in_a_run_of_integer_codes_only_where_it_has_a_bucket() {
        let run = integer_run(10, &[(10, 5.0), (15, 7.0)]);
        assert_eq!(run.find(&BucketKey::I64(15)), Some(1));
        assert_eq!(run.key(1), BucketKey::I64(15));
        for absent in [BucketKey::I64(12), BucketKey::I64(9), BucketKey::Ip(15)] {
            assert_eq!(run.find(&absent), None, "{absent:?}");
        }
    }
}
