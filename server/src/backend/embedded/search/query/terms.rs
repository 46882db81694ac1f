//! Tests of a field's values that tantivy has no query for, or none that scales: equality on
//! a column, a predicate over a keyword dictionary, and address blocks.
//! Used by [`super::compile`] and the `@message` search.

use std::ops::Bound;

use tantivy::query::{Query as TantivyQuery, RangeQuery};
use tantivy::Term;

use crate::backend::embedded::schema::SchemaField;
use crate::backend::embedded::search::columns::{terms_where, Accessor};

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

pub(super) fn addresses_within(
    name: &str,
    field: SchemaField,
    ranges: Vec<(u128, u128)>,
) -> Box<dyn TantivyQuery> {
    column_where(name, field, move |address| {
        let after = ranges.partition_point(|(low, _)| *low <= address);
        after > 0 && address <= ranges[after - 1].1
    })
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
