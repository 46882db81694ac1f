//! Buckets keyed by several values at once, for `multi_terms` and `composite`. Each source
//! turns a document into one segment-local key (a term ordinal, an address code, a rounded
//! date, a histogram key); the tuple of them is a row of a [`TupleTable`], numbered on first
//! sight, and [`Buckets`] keeps the buckets by that number. Harvest turns each tuple into a
//! [`BucketKey::Tuple`] of values, or, for a `multi_terms` whose best buckets can be chosen,
//! keeps the rows and decodes only the candidates (a [`TupleRun`]).
//!
//! A composite wants one page of keys, however many there are: its segment keeps no more
//! than a few pages of tuples at once, letting go of those that sort after the first `size`
//! (a [`KeyPage`]), so memory follows the page size and not the number of combinations.

use std::cmp::Ordering;
use std::rc::Rc;
use std::sync::Arc;

use app::model::flow::FieldType;
use tantivy::index::SegmentId;
use tantivy::{DocId, Score};

use super::super::super::column_cache::SegmentColumns;
use super::super::super::columns::Accessor;
use super::super::super::datemath::Zone;
use super::super::super::hits::Direction;
use super::super::super::SearchError;
use super::super::buckets::{BlockValues, Buckets, KeySpace};
use super::super::intermediate::tuples::{KeyCodec, TupleLayout, TupleRun, TupleTable};
use super::super::intermediate::{BucketKey, BucketList, IntermediateAgg};
use super::super::options::AggField;
use super::super::order::{compare_keys, directed};
use super::super::{AggRequest, SegmentAgg, SegmentContext};
use super::collisions::{shared_digests, DigestNumbers};
use super::date_histogram::{Interval, Rounder};
use super::sieve::{Admitted, SegmentSieve};
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

/// Which keys a composite answers: those after `after`, the first `size` of them in the
/// order of its sources' directions.
#[derive(Clone, Debug)]
pub struct KeyPage {
    pub size: usize,
    pub directions: Vec<Direction>,
    pub after: Option<BucketKey>,
}

impl KeyPage {
    /// Composite keys in the order of the pages: source by source, each in its own
    /// direction, null (a `missing_bucket`) first when ascending.
    pub fn compare(&self, a: &BucketKey, b: &BucketKey) -> Ordering {
        let (BucketKey::Tuple(a), BucketKey::Tuple(b)) = (a, b) else {
            return compare_keys(a, b);
        };
        a.iter()
            .zip(b.iter())
            .zip(&self.directions)
            .map(|((a, b), direction)| directed(compare_keys(a, b), *direction))
            .find(|ordering| ordering.is_ne())
            .unwrap_or(Ordering::Equal)
    }

    /// Whether a key belongs to this page or a later one.
    pub fn is_after(&self, key: &BucketKey) -> bool {
        self.after
            .as_ref()
            .is_none_or(|after| self.compare(key, after) == Ordering::Greater)
    }
}

/// A segment's hold on a page: the tuples it keeps and the last key worth keeping.
#[derive(Clone)]
struct PageBound {
    page: KeyPage,
    /// Once set, a tuple sorting after this key cannot be on the page: enough before it were
    /// seen.
    last_wanted: Option<BucketKey>,
    /// Bucket numbers let go, for new tuples to take.
    free: Vec<u32>,
    /// Tuples refused lately, so that their next documents are refused without reading
    /// their values again; forgotten when full.
    refused: TupleTable,
}

/// A page's segment keeps this many pages of tuples before it lets go of the later ones.
const PAGES_HELD: usize = 4;

/// It keeps at least this many, so that letting go is rare on small pages.
const MIN_TUPLES_HELD: usize = 1024;

/// Refused tuples remembered at most.
const MAX_REFUSED: usize = 16 * 1024;

/// The top conversations group flows by digest when their sieve admits at most this many
/// bins (a sixty-fourth of them, enough for the first pass of 256 buckets): checking which
/// digests are shared holds a row of keys per digest of the bins.
const MAX_BINS_BY_DIGEST: usize = 1024;

/// A segment's digests are checked once the flows grouped by their keys number this share of
/// its documents: the check reads the digests of all of them, which a search of a few
/// minutes of a day's segment would not repay.
const GROUPED_SHARE_BEFORE_CHECK: u64 = 16;

/// How the top conversations' flows find their bucket (see `collisions.rs`).
#[derive(Clone)]
enum DigestGrouping {
    /// By their keys.
    Off,
    /// By their keys, until `grouped` reaches `worth`: the segment's digests are then checked.
    Pending {
        grouped: u64,
        worth: u64,
        columns: SegmentColumns,
        segment: SegmentId,
        max_doc: DocId,
    },
    /// By their digest once one flow of it was grouped by its keys.
    On(Box<DigestNumbers>),
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
    /// Whether its keys are values read as words a block at a time, and documents without one
    /// are left out (see [`MultiKeySegment::collect_block`]).
    fn reads_words(&self) -> bool {
        matches!(self.kind, SourceKind::Terms) && self.skip_missing
    }

    /// How the source's keys are held in a row and decoded.
    fn codec(&self) -> KeyCodec {
        match &self.kind {
            SourceKind::Terms => match &self.accessor {
                Accessor::Str { dict, .. } => KeyCodec::Term(dict.clone()),
                Accessor::IpCode { space, .. } => KeyCodec::AddressCode(space.clone()),
                Accessor::Ip(_) => KeyCodec::Address,
                Accessor::I64(_) | Accessor::Date(_) | Accessor::Missing => KeyCodec::Integer,
            },
            SourceKind::Histogram { .. } => KeyCodec::Float,
            SourceKind::DateHistogram { .. } => KeyCodec::Integer,
        }
    }

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
}

/// Buckets keyed by a tuple of values, in one segment.
#[derive(Clone)]
pub struct MultiKeySegment {
    sources: Vec<SourceReader>,
    /// The key of each source's missing documents, for those that have a bucket.
    missing: Vec<Option<BucketKey>>,
    layout: TupleLayout,
    /// The tuples held, by bucket number.
    tuples: TupleTable,
    /// The row of the document being collected.
    scratch: Vec<u64>,
    buckets: Buckets,
    /// For a composite: the page and what is held for it.
    page: Option<Box<PageBound>>,
    /// With a page: each held tuple's key as values, by bucket number.
    values: Vec<Option<BucketKey>>,
    /// For the top conversations: the flows grouped, and the count of those left out.
    sieve: Option<Box<SegmentSieve>>,
    /// For the top conversations: how flows find their bucket.
    by_digest: DigestGrouping,
}

impl MultiKeySegment {
    /// Buckets for every tuple (`page: None`, `multi_terms`) or for one page of them; with a
    /// sieve, only for the tuples of the flows it admits.
    pub fn new<'s>(
        sources: impl Iterator<Item = &'s KeySource> + Clone,
        page: Option<&KeyPage>,
        sieve: Option<Arc<Admitted>>,
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
        let layout = TupleLayout::new(readers.iter().map(SourceReader::codec).collect());
        let width = layout.width();
        let sieve = sieve
            .map(|admitted| SegmentSieve::open(admitted, context).map(Box::new))
            .transpose()?;
        let by_digest = match &sieve {
            Some(sieve)
                if page.is_none()
                    && sieve.admitted().bin_count() <= MAX_BINS_BY_DIGEST
                    && readers.iter().all(SourceReader::reads_words) =>
            {
                let segment = context.reader.segment_id();
                match context
                    .columns
                    .checked_digests(segment, sieve.admitted().bins())
                {
                    Some(known) => DigestGrouping::On(Box::new(DigestNumbers::new(known))),
                    None => DigestGrouping::Pending {
                        grouped: 0,
                        worth: u64::from(context.reader.max_doc()) / GROUPED_SHARE_BEFORE_CHECK,
                        columns: context.columns.clone(),
                        segment,
                        max_doc: context.reader.max_doc(),
                    },
                }
            }
            _ => DigestGrouping::Off,
        };
        Ok(MultiKeySegment {
            sources: readers,
            missing: sources
                .map(|source| match &source.missing {
                    Missing::Skip => None,
                    Missing::Null => Some(BucketKey::Null),
                    Missing::Value(value) => Some(missing_bucket_key(value)),
                })
                .collect(),
            layout,
            tuples: TupleTable::new(width),
            scratch: vec![0; width],
            // A page lets numbers go and takes them again, which rows kept directly do not
            // allow.
            buckets: Buckets::new(
                match page {
                    Some(_) => KeySpace::Sparse,
                    None => KeySpace::Sequential,
                },
                prototype,
                context.guard,
            ),
            page: page.map(|page| {
                Box::new(PageBound {
                    page: page.clone(),
                    last_wanted: None,
                    free: Vec::new(),
                    refused: TupleTable::new(width),
                })
            }),
            values: Vec::new(),
            sieve,
            by_digest,
        })
    }

    pub fn buckets(&self) -> &Buckets {
        &self.buckets
    }

    #[inline]
    pub fn collect(&mut self, doc: DocId, score: Score) {
        if let Some(sieve) = &mut self.sieve {
            if !sieve.admits(doc) {
                return;
            }
        }
        self.layout.clear(&mut self.scratch);
        for (position, source) in self.sources.iter_mut().enumerate() {
            match source.key(doc) {
                Some(key) => self.layout.set(&mut self.scratch, position, key),
                None if source.skip_missing => return,
                None => {}
            }
        }
        let hash = TupleTable::hash(&self.scratch);
        let number = match self.tuples.find_hashed(&self.scratch, hash) {
            Some(number) => number,
            // Not rare: over a day of flows, nearly every conversation is new.
            None => match self.hold_new_tuple(hash) {
                Some(number) => number,
                None => return,
            },
        };
        self.buckets.collect(u128::from(number), doc, score);
    }

    /// Collects a block of documents reading each column once for the block, when the tuples
    /// have no page, every source is a value read as a word (term ordinal, address code,
    /// integer) and skips documents without one, and the buckets are direct rows with
    /// integer statistics below (the top conversations). Says whether it did.
    pub fn collect_block(&mut self, docs: &[DocId], block: &mut BlockValues) -> bool {
        let Some(mut sieve) = self.sieve.take() else {
            return self.collect_block_of(docs, None, block);
        };
        let left_out = sieve.admit_block(docs);
        if sieve.admitted_docs.is_empty() {
            sieve.left_out += left_out;
            self.sieve = Some(sieve);
            return true;
        }
        self.count_grouped(&sieve);
        let collected =
            self.collect_block_of(&sieve.admitted_docs, Some(&sieve.admitted_digests), block);
        if collected {
            sieve.left_out += left_out;
        }
        self.sieve = Some(sieve);
        collected
    }

    /// Counts the flows of a block about to be grouped, and checks the segment's digests once
    /// enough were: its next flows are grouped by digest.
    fn count_grouped(&mut self, sieve: &SegmentSieve) {
        let DigestGrouping::Pending {
            grouped,
            worth,
            columns,
            segment,
            max_doc,
        } = &mut self.by_digest
        else {
            return;
        };
        *grouped += sieve.admitted_docs.len() as u64;
        if *grouped < *worth {
            return;
        }
        let keys: Vec<&Accessor> = self.sources.iter().map(|source| &source.accessor).collect();
        let checked = columns.digest_collisions(*segment, sieve.admitted().bins(), |bins| {
            shared_digests(*max_doc, sieve.digests(), &keys, bins)
        });
        self.by_digest = match checked {
            Some(known) => DigestGrouping::On(Box::new(DigestNumbers::new(known))),
            None => DigestGrouping::Off,
        };
    }

    /// [`MultiKeySegment::collect_block`] of the documents its sieve admits, with their
    /// digests: a flow whose digest was seen takes its bucket without its keys being read.
    fn collect_block_of(
        &mut self,
        docs: &[DocId],
        digests: Option<&[u64]>,
        block: &mut BlockValues,
    ) -> bool {
        if self.page.is_some()
            || self.buckets.direct.is_none()
            || !self.sources.iter().all(SourceReader::reads_words)
            || !block.read_stats(&self.buckets.prototype, docs)
        {
            return false;
        }
        block.keys.clear();
        block.keyed_docs.clear();
        block.keyed_positions.clear();
        let mut last_row = None;
        match (digests, &self.by_digest) {
            (Some(digests), DigestGrouping::On(by_digest)) => {
                for (position, &digest) in digests.iter().enumerate() {
                    let number = by_digest.number(digest);
                    if number.is_none() {
                        block.keyed_docs.push(docs[position]);
                        block.keyed_positions.push(position);
                    }
                    last_row = last_row.max(number);
                    block.keys.push(number.map(u64::from));
                }
            }
            _ => {
                block.keys.resize(docs.len(), None);
                block.keyed_docs.extend_from_slice(docs);
                block.keyed_positions.extend(0..docs.len());
            }
        }
        block.source_keys.resize_with(self.sources.len(), Vec::new);
        for (source, keys) in self.sources.iter().zip(&mut block.source_keys) {
            if !source
                .accessor
                .read_raw_block(&block.keyed_docs, &mut block.raw_scratch, keys)
            {
                return false;
            }
        }
        // Each document's row and its hash first, its place in the index asked of the cache;
        // then each row found or held, its number the key of its bucket's row.
        let width = self.scratch.len();
        block.tuple_rows.clear();
        block.hashes.clear();
        'docs: for index in 0..block.keyed_docs.len() {
            // A row whose sources are not all set is not grouped (its hash is `None`).
            self.layout.clear_mask(&mut self.scratch);
            for (source, keys) in block.source_keys.iter().enumerate() {
                let Some(key) = keys[index] else {
                    block.hashes.push(None);
                    block.tuple_rows.extend_from_slice(&self.scratch);
                    continue 'docs;
                };
                self.layout.set(&mut self.scratch, source, u128::from(key));
            }
            let hash = TupleTable::hash(&self.scratch);
            self.tuples.prefetch(hash);
            block.hashes.push(Some(hash));
            block.tuple_rows.extend_from_slice(&self.scratch);
        }
        for (index, hash) in block.hashes.iter().enumerate() {
            let Some(hash) = *hash else {
                continue;
            };
            let row = &block.tuple_rows[index * width..(index + 1) * width];
            let number = match self.tuples.find_hashed(row, hash) {
                Some(number) => Some(number),
                None => {
                    self.scratch.copy_from_slice(row);
                    self.hold_new_tuple(hash)
                }
            };
            let position = block.keyed_positions[index];
            if let (Some(number), Some(digests), DigestGrouping::On(by_digest)) =
                (number, digests, &mut self.by_digest)
            {
                by_digest.learn(digests[position], number);
            }
            last_row = last_row.max(number);
            block.keys[position] = number.map(u64::from);
        }
        // The rows through the largest number met.
        if let Some(row) = last_row {
            let Some(direct) = self.buckets.direct_rows_through(row as usize) else {
                return true;
            };
            direct.add_block(&block.keys, &block.values);
        }
        true
    }

    /// A bucket number for the tuple in `scratch` (whose hash is `hash`), seen for the first
    /// time; `None` when it is not on the page or the search's memory is spent.
    fn hold_new_tuple(&mut self, hash: u32) -> Option<u32> {
        let buckets = &self.buckets;
        let Some(bound) = self.page.as_deref_mut() else {
            if !self.tuples.make_room(|bytes| buckets.charge(bytes)) {
                return None;
            }
            return Some(self.tuples.push_hashed(&self.scratch, hash));
        };
        if bound.refused.find_hashed(&self.scratch, hash).is_some() {
            return None;
        }
        let key = self.layout.values(&self.scratch, &self.missing)?;
        let wanted = bound.page.is_after(&key)
            && bound
                .last_wanted
                .as_ref()
                .is_none_or(|last| bound.page.compare(&key, last) == Ordering::Less);
        if !wanted {
            if bound.refused.held() >= MAX_REFUSED {
                bound.refused.clear();
            }
            // At most `MAX_REFUSED` rows: not charged.
            bound.refused.push_hashed(&self.scratch, hash);
            return None;
        }
        let number = match bound.free.pop() {
            Some(number) => {
                self.tuples.reuse(number, &self.scratch);
                self.values[number as usize] = Some(key);
                number
            }
            None => {
                if !buckets.charge(std::mem::size_of::<BucketKey>())
                    || !self.tuples.make_room(|bytes| buckets.charge(bytes))
                {
                    return None;
                }
                self.values.push(Some(key));
                self.tuples.push_hashed(&self.scratch, hash)
            }
        };
        if self.tuples.held()
            >= PAGES_HELD
                .saturating_mul(bound.page.size)
                .max(MIN_TUPLES_HELD)
        {
            self.let_go_past_the_page();
            // The new tuple may be one of those let go.
            self.values[number as usize].as_ref()?;
        }
        Some(number)
    }

    /// Keeps the first `size` tuples held and lets the others go: their buckets are emptied
    /// for new tuples, and no tuple after the last one kept is taken again.
    fn let_go_past_the_page(&mut self) {
        let Some(bound) = self.page.as_deref_mut() else {
            return;
        };
        let mut held: Vec<u32> = self.tuples.held_numbers().collect();
        let size = bound.page.size;
        if held.len() <= size {
            return;
        }
        let values = &self.values;
        let key = |number: &u32| values[*number as usize].as_ref();
        held.select_nth_unstable_by(size - 1, |a, b| match (key(a), key(b)) {
            (Some(a), Some(b)) => bound.page.compare(a, b),
            _ => Ordering::Equal,
        });
        bound.last_wanted = key(&held[size - 1]).cloned();
        for &number in &held[size..] {
            self.tuples.let_go(number);
            self.values[number as usize] = None;
            self.buckets.empty(u128::from(number));
            bound.free.push(number);
        }
        bound.refused.clear();
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
            layout,
            tuples,
            buckets,
            mut values,
            page,
            sieve,
            ..
        } = self;
        let left_out = sieve.map_or(0, |sieve| sieve.left_out);
        // Every source has a value in every bucket (a tuple missing one is not made into a
        // key of values, which would be ambiguous with a `missing` value that a document has).
        let rows_kept = page.is_none()
            && sources.iter().all(|source| source.skip_missing)
            && buckets.direct.is_some()
            && request.best_buckets().is_some();
        let mut harvested = if rows_kept {
            IntermediateAgg::Buckets(match buckets.into_direct() {
                Some((numbers, rows)) => {
                    BucketList::from_tuples(TupleRun::new(layout, tuples, numbers, rows), request)
                }
                None => BucketList::default(),
            })
        } else {
            buckets.harvest(request, |number| {
                let key = match values.get_mut(number as usize) {
                    Some(value) => value.take()?,
                    None => layout.values(tuples.row(number as u32), &missing)?,
                };
                keep(&key).then_some(key)
            })
        };
        if let IntermediateAgg::Buckets(list) = &mut harvested {
            list.leave_out(left_out);
        }
        harvested
    }
}
