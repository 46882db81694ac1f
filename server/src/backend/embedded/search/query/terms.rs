//! Tests of a field's values that tantivy has no query for, or none that scales: equality on
//! a column, a predicate over a keyword dictionary, and address blocks.
//! Used by [`super::compile`] and the `@message` search.

use std::ops::Bound;
use std::sync::Arc;

use rustc_hash::FxHashSet;
use tantivy::columnar::column_values::{CompactHit, CompactSpaceU64Accessor};
use tantivy::query::{
    ConstScorer, EmptyScorer, EnableScoring, Explanation, Query as TantivyQuery, RangeQuery,
    Scorer, Weight,
};
use tantivy::{DocId, DocSet, Score, SegmentReader, Term, TERMINATED};

use crate::backend::embedded::schema::SchemaField;
use crate::backend::embedded::search::column_cache::SearchColumns;
use crate::backend::embedded::search::columns::{terms_where, Accessor, FastColumn, CHUNK_DOCS};

/// Documents whose (fast) field equals `term`: numbers, addresses and dates are not in the
/// inverted index, their columns answer instead.
pub(crate) fn equal_to(term: Term) -> Box<dyn TantivyQuery> {
    Box::new(RangeQuery::new(
        Bound::Included(term.clone()),
        Bound::Included(term),
    ))
}

/// Documents whose keyword value satisfies `keep`, tested once per term of each segment.
pub(super) fn keywords_where(
    field: &str,
    keep: impl Fn(&str) -> bool + Send + Sync + 'static,
) -> Box<dyn TantivyQuery> {
    let name = field.strip_suffix(".keyword").unwrap_or(field).to_owned();
    let predicate = tantivy::query::doc_predicate_query::FunctionPredicate::from(
        move |reader: &tantivy::SegmentReader| {
            let column = reader.fast_fields().str(&name)?;
            let matching = match &column {
                Some(column) => terms_where(column, &keep)?,
                None => tantivy::BitSet::with_max_value(0),
            };
            let ords = column.map(|c| c.ords().clone());
            Ok(move |doc: tantivy::DocId| {
                ords.as_ref()
                    .and_then(|ords| ords.first(doc))
                    .is_some_and(|ord| matching.contains(ord as u32))
            })
        },
    );
    Box::new(tantivy::query::doc_predicate_query::DocPredicateQuery::from(predicate))
}

/// Documents whose value of a number, date or address column satisfies `keep` (given the
/// value as [`Accessor::raw`] gives it).
pub(super) fn column_where(
    name: &str,
    field: SchemaField,
    keep: impl Fn(u128) -> bool + Send + Sync + 'static,
) -> Box<dyn TantivyQuery> {
    let name = name.strip_suffix(".keyword").unwrap_or(name).to_owned();
    let keep = std::sync::Arc::new(keep);
    let predicate = tantivy::query::doc_predicate_query::FunctionPredicate::from(
        move |reader: &tantivy::SegmentReader| {
            let column = Accessor::open(reader, &name, field)
                .map_err(|e| tantivy::TantivyError::InternalError(e.to_string()))?;
            let keep = keep.clone();
            Ok(move |doc: tantivy::DocId| column.raw(doc).is_some_and(|key| keep(key)))
        },
    );
    Box::new(tantivy::query::doc_predicate_query::DocPredicateQuery::from(predicate))
}

/// What [`ColumnMatch`] tests a document's value for.
#[derive(Clone, Debug)]
pub(crate) enum ValueTest {
    /// A keyword equal to this.
    Word(String),
    /// An integer within these bounds, both included.
    Ints(i64, i64),
    /// One of these integers.
    IntSet(Arc<FxHashSet<i64>>),
    /// An address within one of these ranges (IPv4 mapped into IPv6; first and last address
    /// of each, sorted and disjoint): CIDR blocks.
    Addresses(Arc<[(u128, u128)]>),
}

/// Documents whose value of a keyword, integer or address column passes a [`ValueTest`]: the
/// field filters of dashboards (`action:REJECT`, `dstport:443`, `srcaddr:10.0.0.0/8`). Each
/// segment's column is read in one pass into a set of documents, through the column its index
/// keeps for aggregations when the search gave it ([`SearchColumns`]).
#[derive(Clone)]
pub(crate) struct ColumnMatch {
    name: String,
    field: SchemaField,
    test: ValueTest,
    columns: SearchColumns,
}

impl std::fmt::Debug for ColumnMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ColumnMatch({} {:?})", self.name, self.test)
    }
}

impl ColumnMatch {
    /// The query of documents whose `name` passes `test`.
    pub(crate) fn query(
        name: &str,
        field: SchemaField,
        test: ValueTest,
        columns: &SearchColumns,
    ) -> Box<dyn TantivyQuery> {
        Box::new(ColumnMatch {
            name: name.strip_suffix(".keyword").unwrap_or(name).to_owned(),
            field,
            test,
            columns: columns.clone(),
        })
    }

    /// The segment's documents that match (deleted ones too: collectors skip those), found a
    /// chunk at a time as they are asked for; `None` when the segment has none for certain
    /// (a word its dictionary lacks, addresses outside its own).
    fn matches(&self, reader: &SegmentReader) -> tantivy::Result<Option<Box<dyn DocSet>>> {
        let internal = |e: crate::backend::embedded::search::SearchError| {
            tantivy::TantivyError::InternalError(e.to_string())
        };
        let accessor = match self.columns.get(reader) {
            Some(columns) => columns.open_keys(reader, &self.name, self.field),
            None => Accessor::open(reader, &self.name, self.field),
        }
        .map_err(internal)?;
        let max_doc = reader.max_doc();
        fn boxed<T, F>(column: &FastColumn<T>, max_doc: DocId, keep: F) -> Option<Box<dyn DocSet>>
        where
            T: PartialOrd + Copy + std::fmt::Debug + Send + Sync + 'static,
            F: Fn(T) -> bool + Send + Sync + 'static,
        {
            Some(Box::new(ColumnMatches::new(column.clone(), max_doc, keep)))
        }
        Ok(match (&accessor, &self.test) {
            (Accessor::Str { ords, dict }, ValueTest::Word(word)) => {
                let ord = dict.dictionary().term_ord(word)?;
                ord.and_then(|ord| boxed(ords, max_doc, move |o| o == ord))
            }
            (Accessor::I64(column), &ValueTest::Ints(low, high)) => {
                boxed(column, max_doc, move |v| (low..=high).contains(&v))
            }
            (Accessor::I64(column), ValueTest::IntSet(numbers)) => {
                let numbers = numbers.clone();
                boxed(column, max_doc, move |v| numbers.contains(&v))
            }
            (Accessor::Ip(column), ValueTest::Addresses(ranges)) => {
                let ranges = ranges.clone();
                boxed(column, max_doc, move |a| within(&ranges, u128::from(a)))
            }
            (Accessor::IpCode { codes, space, .. }, ValueTest::Addresses(ranges)) => {
                let code_ranges: Vec<(u64, u64)> = ranges
                    .iter()
                    .filter_map(|&(low, high)| code_range(space, low, high))
                    .collect();
                match code_ranges[..] {
                    [] => None,
                    [(low, high)] => boxed(codes, max_doc, move |c| (low..=high).contains(&c)),
                    _ => boxed(codes, max_doc, move |c| within(&code_ranges, c)),
                }
            }
            // No document of the segment has the field.
            _ => None,
        })
    }
}

/// The documents of a segment whose value passes a test, a chunk of [`CHUNK_DOCS`] tested
/// when the first of its documents is asked for: intersected with a narrow time range, a
/// filter reads the chunks that range reaches, not the segment.
struct ColumnMatches<T, F> {
    column: FastColumn<T>,
    keep: F,
    max_doc: DocId,
    /// The chunk tested last, and a bit per document of it that matches.
    chunk: DocId,
    matches: [u64; CHUNK_DOCS / 64],
    values: Vec<T>,
    stored: Vec<u64>,
    doc: DocId,
}

impl<T, F> ColumnMatches<T, F>
where
    T: PartialOrd + Copy + std::fmt::Debug + Send + Sync + 'static,
    F: Fn(T) -> bool + Send + Sync + 'static,
{
    fn new(column: FastColumn<T>, max_doc: DocId, keep: F) -> Self {
        let mut matches = ColumnMatches {
            column,
            keep,
            max_doc,
            chunk: 0,
            matches: [0; CHUNK_DOCS / 64],
            values: Vec::new(),
            stored: Vec::new(),
            doc: 0,
        };
        matches.test_chunk(0);
        matches.doc = matches.first_from(0);
        matches
    }

    fn test_chunk(&mut self, chunk: DocId) {
        self.chunk = chunk;
        self.column.chunk_where(
            chunk,
            self.max_doc,
            &self.keep,
            (&mut self.values, &mut self.stored),
            &mut self.matches,
        );
    }

    /// The first matching document at or after `target`, testing chunks as it goes.
    fn first_from(&mut self, target: DocId) -> DocId {
        let chunk_docs = CHUNK_DOCS as DocId;
        let mut from = target;
        while from < self.max_doc {
            let chunk = from / chunk_docs;
            if chunk != self.chunk {
                self.test_chunk(chunk);
            }
            let base = chunk * chunk_docs;
            let mut word = ((from - base) / 64) as usize;
            let mut bits = self.matches[word] & (u64::MAX << (from % 64));
            loop {
                if bits != 0 {
                    return base + word as DocId * 64 + bits.trailing_zeros();
                }
                word += 1;
                if word == self.matches.len() {
                    break;
                }
                bits = self.matches[word];
            }
            from = base + chunk_docs;
        }
        TERMINATED
    }
}

impl<T, F> DocSet for ColumnMatches<T, F>
where
    T: PartialOrd + Copy + std::fmt::Debug + Send + Sync + 'static,
    F: Fn(T) -> bool + Send + Sync + 'static,
{
    fn advance(&mut self) -> DocId {
        if self.doc != TERMINATED {
            self.doc = self.first_from(self.doc + 1);
        }
        self.doc
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc != TERMINATED && target > self.doc {
            self.doc = self.first_from(target);
        }
        self.doc
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.max_doc
    }
}

/// Whether `value` lies in one of `ranges` (sorted, disjoint, both ends included).
fn within<T: Ord + Copy>(ranges: &[(T, T)], value: T) -> bool {
    let after = ranges.partition_point(|&(low, _)| low <= value);
    after > 0 && value <= ranges[after - 1].1
}

/// The compact codes of the addresses `low..=high` of a segment's address column (codes keep
/// the addresses' order); `None` when the column has none of them.
fn code_range(space: &CompactSpaceU64Accessor, low: u128, high: u128) -> Option<(u64, u64)> {
    let first = match space.u128_to_next_compact(low) {
        CompactHit::Exact(code) | CompactHit::Next(code) => code,
        CompactHit::AfterLast => return None,
    };
    let last = match space.u128_to_next_compact(high) {
        CompactHit::Exact(code) => code,
        CompactHit::Next(code) => code.checked_sub(1)?,
        CompactHit::AfterLast => u32::MAX,
    };
    (first <= last).then_some((u64::from(first), u64::from(last)))
}

impl TantivyQuery for ColumnMatch {
    fn weight(&self, _scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

impl Weight for ColumnMatch {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        // A segment with none for certain gets the empty scorer, which a boolean query leaves
        // out: a `must_not` of a value no flow has (a dashboard's "not this account") costs
        // nothing per document.
        Ok(match self.matches(reader)? {
            Some(docs) => Box::new(ConstScorer::new(docs, boost)),
            None => Box::new(EmptyScorer),
        })
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let found = self
            .matches(reader)?
            .is_some_and(|mut docs| docs.seek(doc) == doc);
        if found {
            Ok(Explanation::new("ColumnMatch", 1.0))
        } else {
            Err(tantivy::TantivyError::InvalidArgument(format!(
                "Document #({doc}) does not match"
            )))
        }
    }
}
