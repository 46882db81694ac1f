//! Buckets keyed by several values at once, for `multi_terms` and `composite`. Each source
//! turns a document into one segment-local key (a term ordinal, an address code, a rounded
//! date, a histogram key); the tuple of them is numbered on first sight, and [`Buckets`] keeps
//! the buckets by that number. Harvest turns each tuple into a [`BucketKey::Tuple`] of values.

use std::rc::Rc;

use app::model::flow::FieldType;
use smallvec::SmallVec;
use tantivy::{DocId, Score};

use super::super::super::columns::Accessor;
use super::super::super::datemath::Zone;
use super::super::super::SearchError;
use super::super::buckets::{Buckets, KeySpace};
use super::super::intermediate::{BucketKey, HashMap, IntermediateAgg};
use super::super::options::AggField;
use super::super::{AggRequest, SegmentAgg, SegmentContext};
use super::date_histogram::{Interval, Rounder};
use super::terms::missing_bucket_key;

/// How a source makes a document's key from its field's value.
#[derive(Clone, Debug)]
pub enum SourceKind {
    /// The value itself.
    Terms,
    /// The start of the fixed-width interval holding the value.
    Histogram { interval: f64, offset: f64 },
    /// The start of the (calendar or fixed) interval holding the date, in a time zone.
    DateHistogram {
        interval: Interval,
        zone: Zone,
        offset_ms: i64,
    },
}

/// What a document without a value for a source becomes.
#[derive(Clone, Debug)]
pub enum Missing {
    /// It is left out of the aggregation.
    Skip,
    /// Its key is null (`composite`'s `missing_bucket`).
    Null,
    /// Its key is this value (`multi_terms`' `missing`).
    Value(serde_json::Value),
}

/// One value of a multi-valued key.
#[derive(Clone, Debug)]
pub struct KeySource {
    pub field: AggField,
    pub kind: SourceKind,
    pub missing: Missing,
}

impl KeySource {
    /// Refuses a field the source cannot read, as Elasticsearch words it.
    pub fn check(&self, agg_type: &str) -> Result<(), SearchError> {
        match self.kind {
            SourceKind::Terms => Ok(()),
            SourceKind::Histogram { .. } => self
                .field
                .require(agg_type, &[FieldType::Long, FieldType::Date]),
            SourceKind::DateHistogram { .. } => self.field.require(agg_type, &[FieldType::Date]),
        }
    }
}

/// A source reading one segment.
#[derive(Clone)]
struct SourceReader {
    accessor: Accessor,
    kind: SourceKind,
    rounder: Option<Rounder>,
    skip_missing: bool,
}

impl SourceReader {
    #[inline]
    fn key(&mut self, doc: DocId) -> Option<u128> {
        match &self.kind {
            SourceKind::Terms => self.accessor.raw(doc),
            SourceKind::Histogram { interval, offset } => {
                let value = self.accessor.number(doc)?;
                let key = ((value - offset) / interval).floor() * interval + offset;
                Some(u128::from(key.to_bits()))
            }
            SourceKind::DateHistogram { .. } => {
                let t = self.accessor.int(doc)?;
                let rounder = self.rounder.as_mut()?;
                Some(rounder.key(t) as u64 as u128)
            }
        }
    }

    /// The value a segment-local key stands for.
    fn value(&self, key: u128) -> Option<BucketKey> {
        Some(match &self.kind {
            SourceKind::Terms => match &self.accessor {
                Accessor::Str { .. } => BucketKey::Str(self.accessor.term(key as u64)?),
                Accessor::I64(_) | Accessor::Date(_) => BucketKey::I64(key as u64 as i64),
                Accessor::Ip(_) | Accessor::IpCode { .. } => BucketKey::Ip(self.accessor.ip(key)),
                Accessor::Missing => return None,
            },
            SourceKind::Histogram { .. } => BucketKey::F64(key as u64),
            SourceKind::DateHistogram { .. } => BucketKey::I64(key as u64 as i64),
        })
    }
}

/// The segment-local keys of one document, one per source (`None`: no value).
type LocalTuple = SmallVec<[Option<u128>; 3]>;

/// Buckets keyed by a tuple of values, in one segment.
#[derive(Clone)]
pub struct MultiKeySegment {
    sources: Vec<SourceReader>,
    /// The key of each source's missing documents, for those that have a bucket.
    missing: Vec<Option<BucketKey>>,
    /// Each tuple seen, by its bucket number.
    tuples: Vec<LocalTuple>,
    numbers: HashMap<LocalTuple, u32>,
    scratch: LocalTuple,
    buckets: Buckets,
}

/// What a tuple seen for the first time costs besides its bucket: its copy in `tuples`, its
/// map entry.
const TUPLE_BYTES: usize = 2 * std::mem::size_of::<LocalTuple>() + 16;

impl MultiKeySegment {
    pub fn new<'s>(
        sources: impl Iterator<Item = &'s KeySource> + Clone,
        context: &SegmentContext<'_>,
        prototype: Rc<Vec<SegmentAgg>>,
    ) -> Result<Self, SearchError> {
        let readers = sources
            .clone()
            .map(|source| {
                let field = &source.field;
                let accessor = match source.kind {
                    SourceKind::Terms => {
                        context
                            .columns
                            .open_keys(context.reader, &field.name, field.field)?
                    }
                    _ => context
                        .columns
                        .open(context.reader, &field.name, field.field)?,
                };
                Ok(SourceReader {
                    accessor,
                    rounder: match source.kind {
                        SourceKind::DateHistogram {
                            interval,
                            zone,
                            offset_ms,
                        } => Some(Rounder::new(interval, zone, offset_ms)),
                        _ => None,
                    },
                    kind: source.kind.clone(),
                    skip_missing: matches!(source.missing, Missing::Skip),
                })
            })
            .collect::<Result<Vec<_>, SearchError>>()?;
        Ok(MultiKeySegment {
            sources: readers,
            missing: sources
                .map(|source| match &source.missing {
                    Missing::Skip => None,
                    Missing::Null => Some(BucketKey::Null),
                    Missing::Value(value) => Some(missing_bucket_key(value)),
                })
                .collect(),
            tuples: Vec::new(),
            numbers: HashMap::default(),
            scratch: LocalTuple::new(),
            buckets: Buckets::new(KeySpace::Sparse, prototype, context.guard),
        })
    }

    pub fn buckets(&self) -> &Buckets {
        &self.buckets
    }

    #[inline]
    pub fn collect(&mut self, doc: DocId, score: Score) {
        self.scratch.clear();
        for source in &mut self.sources {
            let key = source.key(doc);
            if key.is_none() && source.skip_missing {
                return;
            }
            self.scratch.push(key);
        }
        let number = match self.numbers.get(&self.scratch) {
            Some(&number) => number,
            None => {
                if !self.buckets.charge(TUPLE_BYTES) {
                    return;
                }
                let number = self.tuples.len() as u32;
                self.tuples.push(self.scratch.clone());
                self.numbers.insert(self.scratch.clone(), number);
                number
            }
        };
        self.buckets.collect(u128::from(number), doc, score);
    }

    /// The buckets by their keys as values, each a [`BucketKey::Tuple`]; `keep` chooses
    /// which (a composite's page), before their sub-aggregations are harvested.
    pub fn harvest(
        self,
        request: &AggRequest,
        keep: impl Fn(&BucketKey) -> bool,
    ) -> IntermediateAgg {
        let MultiKeySegment {
            sources,
            missing,
            tuples,
            buckets,
            ..
        } = self;
        buckets.harvest(request, |number| {
            let tuple = tuples.get(number as usize)?;
            let values = tuple
                .iter()
                .zip(&sources)
                .zip(&missing)
                .map(|((key, source), missing)| match key {
                    Some(key) => source.value(*key),
                    None => missing.clone(),
                })
                .collect::<Option<Box<[BucketKey]>>>()?;
            let key = BucketKey::Tuple(values);
            keep(&key).then_some(key)
        })
    }
}
