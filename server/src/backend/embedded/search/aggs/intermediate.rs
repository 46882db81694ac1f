//! Aggregation results that can be merged: across segments, then across indices. Keys are
//! global values (strings, numbers, addresses), never segment ordinals.

use std::collections::HashSet;

/// Fast hashing for bucket keys (no untrusted keys to defend against: they are values of the data).
pub type HashMap<K, V> = rustc_hash::FxHashMap<K, V>;

use super::super::hits::SortKey;

/// The merged state of one aggregation.
#[derive(Clone, Debug, PartialEq)]
pub enum IAgg {
    Buckets(HashMap<BucketKey, IBucket>),
    Metric(IMetric),
    TopHits(ITopHits),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct IBucket {
    pub doc_count: u64,
    /// One entry per sub-aggregation, in request order. Inline for the usual single
    /// sub-aggregation: a terms aggregation over addresses has millions of buckets, and an
    /// allocation each (made, then freed) cost more than the counting.
    pub subs: smallvec::SmallVec<[IAgg; 1]>,
}

/// A bucket's identity.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BucketKey {
    Str(String),
    I64(i64),
    /// An IP address (IPv6 or IPv4-mapped) as a number.
    Ip(u128),
    /// A histogram key (`f64::to_bits`).
    F64(u64),
    /// The n-th range or filter of the request; `usize::MAX` is the "other" bucket.
    Index(usize),
}

/// Metric state.
#[derive(Clone, Debug, PartialEq)]
pub enum IMetric {
    Stats(Stats),
    /// Every value, for exact percentiles.
    Values(Vec<f64>),
    /// Digests of the distinct values, for exact cardinality.
    Distinct(HashSet<u64>),
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

    fn merge(&mut self, other: &Stats) {
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }
}

/// The best documents of a bucket, by the top-hits sort.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ITopHits {
    pub total: u64,
    /// Sorted best first, at most `from + size` long.
    pub docs: Vec<(SortKey, HitAddress)>,
    pub keep: usize,
}

/// Where a document lives: which searched index, segment and doc id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HitAddress {
    pub index: u32,
    pub segment: u32,
    pub doc: u32,
}

impl IAgg {
    /// Folds `other` (the same aggregation over other documents) into `self`.
    pub fn merge(&mut self, other: IAgg) {
        match (self, other) {
            (IAgg::Buckets(mine), IAgg::Buckets(theirs)) => {
                for (key, bucket) in theirs {
                    match mine.get_mut(&key) {
                        Some(existing) => existing.merge(bucket),
                        None => {
                            mine.insert(key, bucket);
                        }
                    }
                }
            }
            (IAgg::Metric(mine), IAgg::Metric(theirs)) => match (mine, theirs) {
                (IMetric::Stats(a), IMetric::Stats(b)) => a.merge(&b),
                (IMetric::Values(a), IMetric::Values(b)) => a.extend(b),
                (IMetric::Distinct(a), IMetric::Distinct(b)) => a.extend(b),
                _ => unreachable!("the same request yields the same metric kind"),
            },
            (IAgg::TopHits(mine), IAgg::TopHits(theirs)) => {
                mine.total += theirs.total;
                mine.docs.extend(theirs.docs);
                mine.docs.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
                mine.docs.truncate(mine.keep);
            }
            _ => unreachable!("the same request yields the same aggregation kind"),
        }
    }
}

impl IBucket {
    pub fn merge(&mut self, other: IBucket) {
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
pub fn merge_all(parts: Vec<Vec<IAgg>>) -> Option<Vec<IAgg>> {
    let mut parts = parts.into_iter();
    let mut merged = parts.next()?;
    for part in parts {
        for (mine, theirs) in merged.iter_mut().zip(part) {
            mine.merge(theirs);
        }
    }
    Some(merged)
}
