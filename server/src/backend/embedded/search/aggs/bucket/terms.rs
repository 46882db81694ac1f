//! `terms`: a bucket per distinct value of a field, the best `size` of them by the order
//! asked. Segments key buckets by term ordinal or address code (dense tables, no hashing);
//! merging chooses the best buckets without merging them all when the order allows it
//! (see [`BestBuckets`]).

use std::ops::Range;

use app::model::flow::FieldType;
use serde_json::{json, Map, Value as Json};
use tantivy::{DocId, Score};

use super::super::super::columns::Accessor;
use super::super::super::datemath::{format_iso, DateFormats, Zone};
use super::super::super::hits::Direction;
use super::super::super::query::QueryContext;
use super::super::super::SearchError;
use super::super::buckets::{dense_keys, BlockValues, Buckets, KeySpace, SplitScratch};
use super::super::intermediate::best::{BestBuckets, Rank};
use super::super::intermediate::{
    BucketKey, BucketList, CodeDecoder, IntermediateAgg, IntermediateBucket,
};
use super::super::metric::MetricKind;
use super::super::options::{bad, field_of, options, usize_option, AggField};
use super::super::order::{compare_candidates, parse_order, BucketOrder, Candidate, MetricPath};
use super::super::response::{key_text, RenderContext};
use super::super::{
    empty_intermediate, render_subs, AggKind, AggRequest, SegmentAgg, SegmentContext,
};
use crate::backend::embedded::schema::{from_ipv6, to_ipv6};

#[derive(Debug)]
pub struct TermsAgg {
    pub field: AggField,
    pub size: usize,
    pub order: Vec<BucketOrder>,
    pub min_doc_count: u64,
    /// The key of documents without the field (Kibana's "Missing" bucket).
    pub missing: Option<Json>,
    pub include: Option<TermFilter>,
    pub exclude: Option<TermFilter>,
    /// `rare_terms`: every term with at most this many documents, rarest first, instead of
    /// the best `size`.
    pub rare_max_doc_count: Option<u64>,
    /// Only these keys are kept when segments are harvested: a significant terms
    /// aggregation's background counts the terms its foreground found, not every term.
    pub only: Option<std::sync::Arc<std::collections::HashSet<BucketKey>>>,
}

/// `include` / `exclude`: a regular expression or a list of exact values.
#[derive(Debug)]
pub enum TermFilter {
    Regex(regex::Regex),
    Values(Vec<String>),
}

impl TermFilter {
    pub fn matches(&self, key: &str) -> bool {
        match self {
            TermFilter::Regex(regex) => regex.is_match(key),
            TermFilter::Values(values) => values.iter().any(|v| v == key),
        }
    }
}

/// An `include` or `exclude` of aggregation `name` on `field`. Listed values are read as the
/// field holds them (a date as epoch milliseconds, an address in its canonical form), so
/// that they compare with bucket keys; a regular expression applies to strings only.
fn parse_term_filter(
    name: &str,
    value: &Json,
    field: &AggField,
) -> Result<TermFilter, SearchError> {
    let field_type = field.field_type();
    match value {
        Json::String(pattern) => {
            if !matches!(field_type, FieldType::Keyword | FieldType::Text) {
                return Err(SearchError::illegal(format!(
                    "Aggregation [{name}] cannot support regular expression style include/exclude settings as they can only be applied to string fields. Use an array of values for include/exclude clauses"
                )));
            }
            regex::Regex::new(&format!("^(?:{pattern})$"))
                .map(TermFilter::Regex)
                .map_err(|e| bad(format!("invalid include/exclude pattern [{pattern}]: {e}")))
        }
        Json::Array(values) => Ok(TermFilter::Values(
            values
                .iter()
                .map(|v| key_text_of(v, field_type, &field.name))
                .collect::<Result<_, _>>()?,
        )),
        _ => Err(SearchError::unsupported(
            "include/exclude partitions are not supported by the embedded engine",
        )),
    }
}

/// A listed value as [`key_text`] prints the bucket key it stands for.
fn key_text_of(value: &Json, field_type: FieldType, field: &str) -> Result<String, SearchError> {
    let text = match value {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    };
    Ok(match field_type {
        FieldType::Date => {
            let ms = match value {
                Json::Number(n) => n.as_f64().map(|v| v as i64),
                _ => DateFormats::default().parse_date(&text, &Zone::utc()).ok(),
            };
            ms.ok_or_else(|| bad(format!("failed to parse date field [{text}] of [{field}]")))?
                .to_string()
        }
        // `1.0` lists the bucket `1`.
        FieldType::Long => match text.parse::<f64>() {
            Ok(v) if v.fract() == 0.0 && v.abs() < 9.2e18 => (v as i64).to_string(),
            _ => text,
        },
        FieldType::Ip => match text.parse::<std::net::IpAddr>() {
            // `::ffff:10.0.0.1` is `10.0.0.1`, as the bucket's key prints.
            Ok(ip) => from_ipv6(to_ipv6(ip)).to_string(),
            Err(_) => text,
        },
        FieldType::Keyword | FieldType::Text => text,
    })
}

pub fn parse(
    name: &str,
    agg_type: &str,
    value: &Json,
    context: &QueryContext<'_>,
) -> Result<TermsAgg, SearchError> {
    let o = options(
        name,
        agg_type,
        value,
        &[
            "field",
            "size",
            "shard_size",
            "order",
            "min_doc_count",
            "shard_min_doc_count",
            "missing",
            "include",
            "exclude",
            "show_term_doc_count_error",
            "execution_hint",
            "collect_mode",
            "value_type",
            "format",
        ],
    )?;
    let field = field_of(name, agg_type, o, context)?;
    let order = match o.get("order") {
        Some(order) => parse_order(order)?,
        None => vec![BucketOrder::Count(Direction::Desc)],
    };
    let min_doc_count = usize_option(o, "min_doc_count", 1)? as u64;
    if min_doc_count == 0 && field.field_type() != FieldType::Keyword {
        return Err(SearchError::unsupported(format!(
            "[min_doc_count: 0] on non-keyword field [{}] is not supported by the embedded engine",
            field.name
        )));
    }
    Ok(TermsAgg {
        size: usize_option(o, "size", 10)?,
        order,
        min_doc_count,
        missing: o.get("missing").cloned(),
        include: o
            .get("include")
            .map(|v| parse_term_filter(name, v, &field))
            .transpose()?,
        exclude: o
            .get("exclude")
            .map(|v| parse_term_filter(name, v, &field))
            .transpose()?,
        field,
        rare_max_doc_count: None,
        only: None,
    })
}

/// The most `max_doc_count` a `rare_terms` takes, as in Elasticsearch.
const MAX_RARE_DOC_COUNT: u64 = 100;

/// `rare_terms`: the terms of a field found in few documents. Elasticsearch counts them
/// with a cuckoo filter (`precision`); the embedded engine counts every term exactly.
pub fn parse_rare(
    name: &str,
    agg_type: &str,
    value: &Json,
    context: &QueryContext<'_>,
) -> Result<TermsAgg, SearchError> {
    let o = options(
        name,
        agg_type,
        value,
        &[
            "field",
            "max_doc_count",
            "precision",
            "missing",
            "include",
            "exclude",
            "value_type",
            "format",
        ],
    )?;
    let field = field_of(name, agg_type, o, context)?;
    let max_doc_count = match o.get("max_doc_count") {
        None => 1,
        Some(value) => value
            .as_i64()
            .ok_or_else(|| bad("[max_doc_count] must be an integer"))?,
    };
    // Elasticsearch's words, its missing spaces included.
    if max_doc_count <= 0 {
        return Err(SearchError::illegal(format!(
            "[max_doc_count] must be greater than 0. Found [{max_doc_count}] in [{name}]"
        )));
    }
    if max_doc_count as u64 > MAX_RARE_DOC_COUNT {
        return Err(SearchError::illegal(format!(
            "[max_doc_count] must be smallerthan {MAX_RARE_DOC_COUNT}in [{name}]"
        )));
    }
    if let Some(precision) = o.get("precision") {
        if precision.as_f64().is_none_or(|p| p < 0.00001) {
            return Err(SearchError::illegal(
                "[precision] must be greater than 0.00001",
            ));
        }
    }
    let filter = |key: &str| {
        o.get(key)
            .map(|v| parse_term_filter(name, v, &field))
            .transpose()
    };
    Ok(TermsAgg {
        size: usize::MAX,
        order: vec![
            BucketOrder::Count(Direction::Asc),
            BucketOrder::Key(Direction::Asc),
        ],
        min_doc_count: 1,
        missing: o.get("missing").cloned(),
        include: filter("include")?,
        exclude: filter("exclude")?,
        rare_max_doc_count: Some(max_doc_count as u64),
        field,
        only: None,
    })
}

impl TermsAgg {
    /// Whether `include` and `exclude` let a bucket's key be shown.
    pub fn keeps(&self, key: &BucketKey) -> bool {
        if self.include.is_none() && self.exclude.is_none() {
            return true;
        }
        let text = key_text(key);
        self.include.as_ref().is_none_or(|f| f.matches(&text))
            && !self.exclude.as_ref().is_some_and(|f| f.matches(&text))
    }

    /// How the best buckets can be chosen without merging them all, if the order allows it:
    /// descending by count or by a sum, value count or max sub-aggregation, with no include
    /// or exclude filter.
    pub fn best_buckets(&self, children: &[AggRequest]) -> Option<BestBuckets> {
        if self.include.is_some() || self.exclude.is_some() || self.rare_max_doc_count.is_some() {
            return None;
        }
        best_buckets_by(&self.order, self.size, self.min_doc_count, children)
    }
}

/// How the best `size` buckets in `order` can be chosen without merging them all (see
/// [`BestBuckets`]): when the order is descending by count, or by a sum, value count or max
/// sub-aggregation.
pub fn best_buckets_by(
    order: &[BucketOrder],
    size: usize,
    min_doc_count: u64,
    children: &[AggRequest],
) -> Option<BestBuckets> {
    if size == 0 {
        return None;
    }
    let rank = match order.first()? {
        BucketOrder::Count(Direction::Desc) => Rank::Count,
        BucketOrder::Metric {
            path,
            direction: Direction::Desc,
        } => {
            let (name, property) = match path.split_once(['.', '[']) {
                Some((name, rest)) => (name, Some(rest.trim_end_matches(']'))),
                None => (path.as_str(), None),
            };
            let position = children.iter().position(|c| c.name == name)?;
            let AggKind::Metric(metric) = &children[position].kind else {
                return None;
            };
            match (&metric.kind, property) {
                (MetricKind::Sum, None | Some("value")) | (MetricKind::Stats, Some("sum")) => {
                    Rank::Sum(position)
                }
                (MetricKind::ValueCount, None | Some("value"))
                | (MetricKind::Stats, Some("count")) => Rank::ValueCount(position),
                (MetricKind::Max, None | Some("value")) | (MetricKind::Stats, Some("max")) => {
                    Rank::Max(position)
                }
                _ => return None,
            }
        }
        _ => return None,
    };
    Some(BestBuckets::new(size, min_doc_count, rank))
}

/// The most keys a table of integers indexed by value may span, in all its copies together:
/// 4M slots, 16 MB of slots or 32 MB of counts. A port's table spans 65,536, so the ports
/// under each of the 7 x 7 pairs of named networks of a Sankey fit.
const MAX_DENSE_INTEGER_KEYS: usize = 1 << 22;

/// The keys an integer column's values span in a segment and the least of them, when a table
/// indexed by value fits: the span is at most 65,536 (ports, protocols; not byte counts), no
/// more than a few per document, and within [`MAX_DENSE_INTEGER_KEYS`] in every copy the
/// segment can make.
fn dense_integers(accessor: &Accessor, context: &SegmentContext<'_>) -> Option<(usize, i64)> {
    let Accessor::I64(column) = accessor else {
        return None;
    };
    let (least, most) = (column.min_value(), column.max_value());
    let span = usize::try_from(most.checked_sub(least)?)
        .ok()?
        .checked_add(1)?;
    (span <= 1 << 16
        && span <= 4 * context.reader.max_doc() as usize
        && context.copies.saturating_mul(span) <= MAX_DENSE_INTEGER_KEYS)
        .then_some((span, least))
}

/// The segment key of the `missing` bucket.
const MISSING_SLOT: u128 = u128::MAX;

/// A terms aggregation in one segment.
#[derive(Clone)]
pub struct TermsSegment {
    accessor: Accessor,
    missing: bool,
    /// Subtracted from an integer to make its key: the least value, when the values span
    /// few enough keys to index a table by (ports, protocols); 0 otherwise.
    offset: u64,
    buckets: Buckets,
}

impl TermsSegment {
    pub fn new(
        terms: &TermsAgg,
        context: &SegmentContext<'_>,
        prototype: std::rc::Rc<Vec<SegmentAgg>>,
    ) -> Result<Self, SearchError> {
        let accessor =
            context
                .columns
                .open_keys(context.reader, &terms.field.name, terms.field.field)?;
        // A table indexed by key spares a hash lookup per document.
        let (keys, offset) = match dense_keys(&accessor, context.reader) {
            Some(keys) if terms.missing.is_none() => (KeySpace::Dense(keys), 0),
            _ => match dense_integers(&accessor, context) {
                Some((keys, least)) if terms.missing.is_none() => {
                    (KeySpace::Dense(keys), least as u64)
                }
                _ => (KeySpace::Sparse, 0),
            },
        };
        Ok(TermsSegment {
            missing: terms.missing.is_some(),
            offset,
            accessor,
            buckets: Buckets::new(keys, prototype, context.guard),
        })
    }

    pub fn buckets(&self) -> &Buckets {
        &self.buckets
    }

    #[inline]
    pub fn collect(&mut self, doc: DocId, score: Score) {
        match self.accessor.raw(doc) {
            // An integer's key as its bits less the offset, as blocks make it.
            Some(key) if self.offset != 0 => {
                let key = (key as u64).wrapping_sub(self.offset);
                self.buckets.collect(u128::from(key), doc, score)
            }
            Some(key) => self.buckets.collect(key, doc, score),
            None if self.missing => self.buckets.collect(MISSING_SLOT, doc, score),
            None => {}
        }
    }

    /// Collects a block of documents reading each column once for the block: into direct
    /// rows with integer statistics below (a top-talkers table) at once; into other buckets
    /// (a split of a histogram, say) by sorting the block by key, each key's documents going
    /// to its bucket's sub-aggregations at once. Says whether it did.
    pub fn collect_block(&mut self, docs: &[DocId], block: &mut BlockValues) -> bool {
        if self.missing {
            return false;
        }
        if self.buckets.direct.is_none() {
            return self.collect_block_by_key(docs, block);
        }
        // Rows by key: the block is one run.
        let mut keys = std::mem::take(&mut block.keys);
        let read = self.read_keys_and_values(docs, block, &mut keys);
        if read {
            self.add_run(&keys, &block.values, 0..docs.len());
        }
        block.keys = keys;
        read
    }

    /// Whether the buckets are rows by key (counts, and single-pass statistics): keys and
    /// values read once for a parent's whole block ([`TermsSegment::read_keys_and_values`])
    /// can then be added run by run ([`TermsSegment::add_run`]).
    pub fn rows_by_key(&self) -> bool {
        !self.missing && self.buckets.direct.is_some()
    }

    /// The key of each document of `docs` (ascending) into `keys`, and its statistics' values
    /// into the block's, as [`TermsSegment::add_run`] takes them; false when a column cannot
    /// be read a block at a time.
    pub fn read_keys_and_values(
        &self,
        docs: &[DocId],
        block: &mut BlockValues,
        keys: &mut Vec<Option<u64>>,
    ) -> bool {
        if !block.read_stats(&self.buckets.prototype, docs)
            || !block.read_keys(&self.accessor, docs, keys)
        {
            return false;
        }
        for key in keys.iter_mut().flatten() {
            *key = key.wrapping_sub(self.offset);
        }
        true
    }

    /// Adds the documents at `run` of a block read by
    /// [`TermsSegment::read_keys_and_values`], when [`TermsSegment::rows_by_key`].
    pub fn add_run(
        &mut self,
        keys: &[Option<u64>],
        values: &[Vec<Option<i64>>],
        run: Range<usize>,
    ) {
        if let Some(direct) = &mut self.buckets.direct {
            for key in keys[run.clone()].iter().flatten() {
                direct.prefetch(*key as usize);
            }
            direct.add_run(keys, values, run);
        }
    }

    fn collect_block_by_key(&mut self, docs: &[DocId], block: &mut BlockValues) -> bool {
        if !block.read_block_keys(&self.accessor, docs) {
            return false;
        }
        let mut scratch = block.take_split();
        let SplitScratch {
            by_key,
            run,
            counts,
            ..
        } = &mut scratch;
        by_key.clear();
        by_key.extend(
            block
                .keys
                .iter()
                .zip(docs)
                .filter_map(|(key, &doc)| Some(((*key)?.wrapping_sub(self.offset), doc))),
        );
        let (low, high) = by_key.iter().fold((u64::MAX, 0), |(low, high), &(key, _)| {
            (low.min(key), high.max(key))
        });
        if low <= high && high - low <= by_key.len() as u64 {
            // Few keys (an action, a protocol): counted and placed in one pass each, instead
            // of sorted, which took a third of a pie's time. Documents stay ascending within
            // a key, as sub-aggregations read them.
            counts.clear();
            counts.resize((high - low) as usize + 2, 0);
            for &(key, _) in by_key.iter() {
                counts[(key - low) as usize + 1] += 1;
            }
            for slot in 1..counts.len() {
                counts[slot] += counts[slot - 1];
            }
            run.clear();
            run.resize(by_key.len(), 0);
            for &(key, doc) in by_key.iter() {
                let at = &mut counts[(key - low) as usize];
                run[*at as usize] = doc;
                *at += 1;
            }
            // Each key's documents now end where the next key's start.
            let mut start = 0;
            for (offset, &end) in counts.iter().enumerate().take(counts.len() - 1) {
                if end as usize > start {
                    let key = low + offset as u64;
                    self.buckets
                        .collect_run(u128::from(key), &run[start..end as usize], block);
                    start = end as usize;
                }
            }
        } else {
            // Documents ascending within a key, as sub-aggregations read them.
            by_key.sort_unstable();
            for same_key in by_key.chunk_by(|a, b| a.0 == b.0) {
                run.clear();
                run.extend(same_key.iter().map(|&(_, doc)| doc));
                self.buckets
                    .collect_run(u128::from(same_key[0].0), run, block);
            }
        }
        block.give_back(scratch);
        true
    }

    pub fn harvest(self, request: &AggRequest, terms: &TermsAgg) -> IntermediateAgg {
        let TermsSegment {
            accessor,
            buckets,
            offset,
            ..
        } = self;
        // Address and port buckets stay by code until they must be merged; the rows of
        // integers are indexed by value less the least (`dense_integers`).
        match (&accessor, &buckets.direct, &terms.only) {
            (Accessor::IpCode { space, .. }, Some(_), None) => {
                return buckets.harvest_codes(CodeDecoder::Address(space.clone()), request);
            }
            (Accessor::I64(_), Some(_), None) if terms.min_doc_count > 0 => {
                let least = offset as i64;
                return buckets.harvest_codes(CodeDecoder::Integer { least }, request);
            }
            _ => {}
        }
        let missing_key = terms.missing.as_ref().map(missing_bucket_key);
        let mut agg = buckets.harvest(request, |key| {
            if key == MISSING_SLOT {
                return missing_key.clone();
            }
            let key = match &accessor {
                Accessor::Str { .. } => BucketKey::Str(accessor.term(key as u64)?),
                Accessor::I64(_) | Accessor::Date(_) => {
                    BucketKey::I64((key as u64).wrapping_add(offset) as i64)
                }
                Accessor::Ip(_) | Accessor::IpCode { .. } => BucketKey::Ip(accessor.ip(key)),
                Accessor::Missing => return None,
            };
            terms
                .only
                .as_ref()
                .is_none_or(|only| only.contains(&key))
                .then_some(key)
        });
        // `min_doc_count: 0` lists every term of the field, matched or not.
        if let (0, IntermediateAgg::Buckets(buckets)) = (terms.min_doc_count, &mut agg) {
            // Every term with no documents: merged with the counted ones, they add nothing
            // but their presence.
            let empty = IntermediateBucket {
                doc_count: 0,
                subs: request.children.iter().map(empty_intermediate).collect(),
            };
            buckets.add(
                accessor
                    .all_terms()
                    .into_iter()
                    .map(|term| (BucketKey::Str(term), empty.clone()))
                    .collect(),
            );
        }
        agg
    }
}

/// The bucket key a terms `missing` value stands for.
pub fn missing_bucket_key(value: &Json) -> BucketKey {
    match value {
        Json::Number(n) if n.is_i64() => BucketKey::I64(n.as_i64().unwrap_or_default()),
        Json::String(s) => BucketKey::Str(s.clone()),
        other => BucketKey::Str(other.to_string()),
    }
}

/// The JSON of a bucket key of a field, and its `key_as_string` where Elasticsearch gives one
/// (dates).
pub fn term_key_json(field: &AggField, key: &BucketKey) -> (Json, Option<String>) {
    match key {
        BucketKey::Str(s) => (json!(s), None),
        BucketKey::I64(v) if field.field_type() == FieldType::Date => {
            (json!(v), Some(format_iso(*v, &Zone::utc())))
        }
        BucketKey::I64(v) => (json!(v), None),
        BucketKey::Ip(ip) => (json!(from_ipv6((*ip).into()).to_string()), None),
        BucketKey::F64(bits) => (json!(f64::from_bits(*bits)), None),
        BucketKey::Index(i) => (json!(i), None),
        BucketKey::Null => (Json::Null, None),
        BucketKey::Tuple(keys) => (
            Json::Array(keys.iter().map(|k| term_key_json(field, k).0).collect()),
            None,
        ),
    }
}

/// Which buckets a terms-like aggregation shows: the best `size` by `order` of those with
/// `min_doc_count..=max_doc_count` documents that `keep` accepts.
pub struct Selection<'a> {
    pub order: &'a [BucketOrder],
    pub size: usize,
    pub min_doc_count: u64,
    pub max_doc_count: u64,
}

impl Selection<'_> {
    /// The buckets shown, in order, and the documents of the eligible buckets left out
    /// (`sum_other_doc_count`).
    pub fn choose<'b>(
        &self,
        request: &'b AggRequest,
        buckets: &'b BucketList,
        keep: impl Fn(&BucketKey) -> bool,
        context: &RenderContext<'_>,
    ) -> Result<(Vec<Candidate<'b>>, u64), SearchError>
    where
        Self: 'b,
    {
        let metric_paths = self
            .order
            .iter()
            .filter_map(|o| match o {
                BucketOrder::Metric { path, .. } => Some(MetricPath::resolve(request, path)),
                _ => None,
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut eligible: Vec<Candidate<'_>> = Vec::with_capacity(buckets.iter().len());
        let mut other = buckets.left_out_doc_count();
        for (key, bucket) in buckets.iter() {
            if !keep(key) || bucket.doc_count > self.max_doc_count {
                continue;
            }
            if bucket.doc_count < self.min_doc_count {
                other += bucket.doc_count;
                continue;
            }
            let metrics = metric_paths
                .iter()
                .map(|path| path.value(bucket))
                .collect::<Result<_, _>>()?;
            eligible.push(Candidate {
                key,
                bucket,
                metrics,
            });
        }
        // The best `size` buckets: a selection, then a sort of just those.
        let order = self.order;
        if eligible.len() > self.size {
            if self.size > 0 {
                eligible
                    .select_nth_unstable_by(self.size - 1, |a, b| compare_candidates(order, a, b));
            }
            other += eligible[self.size..]
                .iter()
                .map(|c| c.bucket.doc_count)
                .sum::<u64>();
            eligible.truncate(self.size);
        }
        eligible.sort_by(|a, b| compare_candidates(order, a, b));
        context.spend(eligible.len())?;
        Ok((eligible, other))
    }
}

pub fn render(
    request: &AggRequest,
    terms: &TermsAgg,
    result: &IntermediateAgg,
    context: &RenderContext<'_>,
) -> Result<Map<String, Json>, SearchError> {
    let buckets = context.buckets_of(result);
    let missing_key = terms.missing.as_ref().map(missing_bucket_key);
    let keep = |key: &BucketKey| terms.keeps(key);
    // `rare_terms` (see [`parse_rare`]) shows every term with few enough documents.
    let selection = Selection {
        order: &terms.order,
        size: terms.size,
        min_doc_count: terms.min_doc_count,
        max_doc_count: terms.rare_max_doc_count.unwrap_or(u64::MAX),
    };
    let (chosen, other) = selection.choose(request, buckets, keep, context)?;
    let mut rendered = Vec::with_capacity(chosen.len());
    for Candidate { key, bucket, .. } in chosen {
        let mut entry = Map::new();
        let (key_json, key_as_string) = if Some(key) == missing_key.as_ref() {
            (terms.missing.clone().unwrap_or(Json::Null), None)
        } else {
            term_key_json(&terms.field, key)
        };
        entry.insert("key".into(), key_json);
        if let Some(text) = key_as_string {
            entry.insert("key_as_string".into(), json!(text));
        }
        entry.insert("doc_count".into(), json!(bucket.doc_count));
        render_subs(request, bucket, &mut entry, context)?;
        rendered.push(Json::Object(entry));
    }
    let mut out = Map::new();
    if terms.rare_max_doc_count.is_none() {
        out.insert("doc_count_error_upper_bound".into(), json!(0));
        out.insert("sum_other_doc_count".into(), json!(other));
    }
    out.insert("buckets".into(), Json::Array(rendered));
    Ok(out)
}
