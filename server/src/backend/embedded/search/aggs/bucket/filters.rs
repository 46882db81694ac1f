//! `filter` and `filters`: a bucket per query (and an "other" bucket for documents that
//! match none). Each query's matching documents are found once per segment, as a bit set;
//! filters that only ask which ranges one address is in (a split by network) read the address
//! instead ([`address_sets`]), and a filter that only asks whether a field has a value reads
//! the field's column for the documents collected.

use std::rc::Rc;

use serde_json::{json, Map, Value as Json};
use tantivy::query::EnableScoring;
use tantivy::{BitSet, DocId, Score};

use super::super::super::columns::Accessor;
use super::super::super::query::{compile, parse_query, Query, QueryContext};
use super::super::super::SearchError;
use super::super::buckets::{BlockValues, Buckets, KeySpace};
use super::super::intermediate::{BucketKey, IntermediateAgg};
use super::super::options::{bad, bool_option, options};
use super::super::response::RenderContext;
use super::super::{render_subs, AggRequest, SegmentAgg, SegmentContext};
use super::address_sets::{address_sets, AddressSet, AddressTable};
use crate::backend::embedded::schema::SchemaField;
use app::model::flow::FieldType;

#[derive(Debug)]
pub struct FilterAgg {
    pub query: Box<dyn tantivy::query::Query>,
    /// When the filter only asks whether a field has a value (`exists`, or a `bool` of one
    /// `must_not` `exists`): the field, and whether a value is wanted. Tested on the column
    /// for the documents collected, instead of listing the whole segment's.
    pub presence: Option<(SchemaField, String, bool)>,
}

#[derive(Debug)]
pub struct FiltersAgg {
    pub filters: Vec<(String, Box<dyn tantivy::query::Query>)>,
    /// Filters given as an object (named buckets) rather than an array.
    pub keyed: bool,
    pub other_bucket_key: Option<String>,
    /// When every filter asks only which ranges of one address field a flow is in: the
    /// field and each filter's ranges.
    pub addresses: Option<(String, SchemaField, Vec<AddressSet>)>,
}

/// The key of the "other" bucket among the filters' positions.
const OTHER: usize = usize::MAX;

pub fn parse_filter(value: &Json, context: &QueryContext<'_>) -> Result<FilterAgg, SearchError> {
    let query = parse_query(value)?;
    let exists = |query: &Query| match query {
        Query::Exists { field } => {
            let schema_field = context.schema.field(field)?;
            let name = field.strip_suffix(".keyword").unwrap_or(field).to_owned();
            (schema_field.field_type != FieldType::Text).then_some((schema_field, name))
        }
        _ => None,
    };
    let presence = match &query {
        Query::Bool(b)
            if b.must.is_empty()
                && b.filter.is_empty()
                && b.should.is_empty()
                && b.minimum_should_match.is_none()
                && b.must_not.len() == 1 =>
        {
            exists(&b.must_not[0]).map(|(field, name)| (field, name, false))
        }
        other => exists(other).map(|(field, name)| (field, name, true)),
    };
    Ok(FilterAgg {
        query: compile(&query, context)?,
        presence,
    })
}

pub fn parse_filters(
    name: &str,
    agg_type: &str,
    value: &Json,
    context: &QueryContext<'_>,
) -> Result<FiltersAgg, SearchError> {
    let o = options(
        name,
        agg_type,
        value,
        &["filters", "other_bucket", "other_bucket_key"],
    )?;
    let (filters, keyed): (Vec<(String, &Json)>, bool) = match o.get("filters") {
        Some(Json::Object(named)) => (named.iter().map(|(k, v)| (k.clone(), v)).collect(), true),
        Some(Json::Array(anonymous)) => (
            anonymous
                .iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v))
                .collect(),
            false,
        ),
        _ => {
            return Err(bad(format!(
                "[filters] aggregation [{name}] needs [filters], an object or an array"
            )))
        }
    };
    let parsed = filters
        .into_iter()
        .map(|(key, query)| Ok((key, parse_query(query)?)))
        .collect::<Result<Vec<_>, SearchError>>()?;
    let queries: Vec<_> = parsed.iter().map(|(_, query)| query.clone()).collect();
    let addresses = address_sets(&queries, context);
    let filters = parsed
        .into_iter()
        .map(|(key, query)| Ok((key, compile(&query, context)?)))
        .collect::<Result<Vec<_>, SearchError>>()?;
    let other_key = o
        .get("other_bucket_key")
        .and_then(Json::as_str)
        .map(str::to_owned);
    let other = bool_option(o, "other_bucket") || other_key.is_some();
    Ok(FiltersAgg {
        filters,
        keyed,
        other_bucket_key: other.then(|| other_key.unwrap_or_else(|| "_other_".to_owned())),
        addresses,
    })
}

/// `filter` or `filters` in one segment.
#[derive(Clone)]
pub struct FiltersSegment {
    matches: Matches,
    /// The key of the bucket of documents no filter matches, if it is asked for: the one
    /// after the filters' own, so that the keys index a table.
    other: Option<u128>,
    buckets: Buckets,
}

/// How a segment's documents are matched to the filters.
#[derive(Clone)]
enum Matches {
    /// Each filter's documents, as a bit set.
    Sets(Rc<Vec<BitSet>>),
    /// The filters holding each stretch of the address column's keys, and the column.
    Addresses(Rc<(Accessor, AddressTable)>),
    /// Whether the column has a value (`true`) or has none (`false`).
    Presence(Rc<Accessor>, bool),
}

impl FiltersSegment {
    pub fn filter(
        filter: &FilterAgg,
        context: &SegmentContext<'_>,
        prototype: Rc<Vec<SegmentAgg>>,
    ) -> Result<Self, SearchError> {
        let matches = match &filter.presence {
            Some((field, name, wanted)) => Matches::Presence(
                Rc::new(context.columns.open_keys(context.reader, name, *field)?),
                *wanted,
            ),
            None => Matches::Sets(Rc::new(vec![matching_docs(
                filter.query.as_ref(),
                context,
            )?])),
        };
        Ok(FiltersSegment {
            matches,
            other: None,
            buckets: Buckets::new(KeySpace::Dense(1), prototype, context.guard),
        })
    }

    pub fn filters(
        filters: &FiltersAgg,
        context: &SegmentContext<'_>,
        prototype: Rc<Vec<SegmentAgg>>,
    ) -> Result<Self, SearchError> {
        let column = match &filters.addresses {
            Some((name, field, sets)) => {
                let accessor = context.columns.open_keys(context.reader, name, *field)?;
                // A term matches a document with any of several values: the first is not all.
                let one_value = match &accessor {
                    Accessor::Ip(column) => !column.multivalued(),
                    Accessor::IpCode { codes, .. } => !codes.multivalued(),
                    _ => true,
                };
                one_value.then_some((accessor, sets))
            }
            None => None,
        };
        let matches = match column {
            Some((accessor, sets)) => {
                let keys: Vec<AddressSet> = sets.iter().map(|set| set.in_keys(&accessor)).collect();
                Matches::Addresses(Rc::new((accessor, AddressTable::new(&keys))))
            }
            None => Matches::Sets(Rc::new(
                filters
                    .filters
                    .iter()
                    .map(|(_, query)| matching_docs(query.as_ref(), context))
                    .collect::<Result<_, _>>()?,
            )),
        };
        let count = filters.filters.len();
        // A table of a few slots per copy (one per outer bucket, filled or not); more filters
        // are looked up, in buckets made as documents fill them.
        let keys = if count < 8 {
            KeySpace::Dense(count + 1)
        } else {
            KeySpace::Sparse
        };
        Ok(FiltersSegment {
            matches,
            other: filters.other_bucket_key.as_ref().map(|_| count as u128),
            buckets: Buckets::new(keys, prototype, context.guard),
        })
    }

    pub fn buckets(&self) -> &Buckets {
        &self.buckets
    }

    #[inline]
    pub fn collect(&mut self, doc: DocId, score: Score) {
        let mut any = false;
        match &self.matches {
            Matches::Sets(sets) => {
                for (index, set) in sets.iter().enumerate() {
                    if set.contains(doc) {
                        any = true;
                        self.buckets.collect(index as u128, doc, score);
                    }
                }
            }
            Matches::Addresses(column) => {
                let (accessor, table) = &**column;
                let filters = table.filters_of(accessor.raw(doc));
                any = !filters.is_empty();
                for &index in filters {
                    self.buckets.collect(u128::from(index), doc, score);
                }
            }
            Matches::Presence(accessor, wanted) => {
                if accessor.raw(doc).is_some() == *wanted {
                    any = true;
                    self.buckets.collect(0, doc, score);
                }
            }
        }
        if let (Some(other), false) = (self.other, any) {
            self.buckets.collect(other, doc, score);
        }
    }

    /// Collects a block of documents: sorted into their buckets first (an address column
    /// read once for the block), then each bucket's documents go to its sub-aggregations at
    /// once.
    pub fn collect_block(&mut self, docs: &[DocId], block: &mut BlockValues) -> bool {
        let FiltersSegment {
            matches,
            other,
            buckets,
        } = self;
        // Each filter's documents, then the other bucket's.
        let mut scratch = block.take_split();
        let groups = &mut scratch.groups;
        let filters = match matches {
            Matches::Sets(sets) => sets.len(),
            Matches::Addresses(column) => column.1.filters(),
            Matches::Presence(..) => 1,
        };
        groups.resize_with(filters + 1, Vec::new);
        groups.iter_mut().for_each(Vec::clear);
        match matches {
            Matches::Sets(sets) => {
                for (set, group) in sets.iter().zip(groups.iter_mut()) {
                    group.extend(docs.iter().filter(|&&doc| set.contains(doc)));
                }
                if other.is_some() {
                    let others = docs
                        .iter()
                        .filter(|&&doc| !sets.iter().any(|set| set.contains(doc)));
                    groups[filters].extend(others);
                }
            }
            Matches::Addresses(column) => {
                let (accessor, table) = &**column;
                if !block.read_block_keys(accessor, docs) {
                    block.give_back(scratch);
                    return false;
                }
                match table.single_places() {
                    // The "other" group is filled whether asked for or not, and not collected
                    // unless it is.
                    Some(places) => {
                        for (&doc, &key) in docs.iter().zip(&block.keys) {
                            groups[places.place_of(key) as usize].push(doc);
                        }
                    }
                    None => {
                        for (&doc, key) in docs.iter().zip(&block.keys) {
                            let members = table.filters_of(key.map(u128::from));
                            for &index in members {
                                groups[index as usize].push(doc);
                            }
                            if members.is_empty() && other.is_some() {
                                groups[filters].push(doc);
                            }
                        }
                    }
                }
            }
            Matches::Presence(accessor, wanted) => {
                if !block.read_block_keys(accessor, docs) {
                    block.give_back(scratch);
                    return false;
                }
                let matching = docs
                    .iter()
                    .zip(&block.keys)
                    .filter(|(_, key)| key.is_some() == *wanted)
                    .map(|(&doc, _)| doc);
                groups[0].extend(matching);
            }
        }
        for (index, group) in groups.iter().enumerate() {
            if group.is_empty() {
                continue;
            }
            let key = match *other {
                Some(other) if index == filters => other,
                None if index == filters => continue,
                _ => index as u128,
            };
            buckets.collect_run(key, group, block);
        }
        block.give_back(scratch);
        true
    }

    pub fn harvest(self, request: &AggRequest) -> IntermediateAgg {
        let other = self.other;
        self.buckets.harvest(request, |key| {
            Some(BucketKey::Index(if Some(key) == other {
                OTHER
            } else {
                key as usize
            }))
        })
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

/// A `filter`: one bucket, rendered as the aggregation itself.
pub fn render_filter(
    request: &AggRequest,
    result: &IntermediateAgg,
    context: &RenderContext<'_>,
) -> Result<Map<String, Json>, SearchError> {
    let bucket = context
        .buckets_of(result)
        .get(&BucketKey::Index(0))
        .cloned()
        .unwrap_or_default();
    let mut out = Map::new();
    out.insert("doc_count".into(), json!(bucket.doc_count));
    render_subs(request, &bucket, &mut out, context)?;
    Ok(out)
}

/// `filters`: named buckets as an object, anonymous ones as an array in request order.
pub fn render_filters(
    request: &AggRequest,
    filters: &FiltersAgg,
    result: &IntermediateAgg,
    context: &RenderContext<'_>,
) -> Result<Map<String, Json>, SearchError> {
    let buckets = context.buckets_of(result);
    let mut keys: Vec<(String, BucketKey)> = filters
        .filters
        .iter()
        .enumerate()
        .map(|(i, (key, _))| (key.clone(), BucketKey::Index(i)))
        .collect();
    if let Some(other) = &filters.other_bucket_key {
        keys.push((other.clone(), BucketKey::Index(OTHER)));
    }
    context.spend(keys.len())?;
    let mut rendered = Vec::with_capacity(keys.len());
    for (name, key) in keys {
        let bucket = buckets.get(&key).cloned().unwrap_or_default();
        let mut entry = Map::new();
        entry.insert("doc_count".into(), json!(bucket.doc_count));
        render_subs(request, &bucket, &mut entry, context)?;
        rendered.push((name, Json::Object(entry)));
    }
    Ok(super::super::response::bucket_list(rendered, filters.keyed))
}
