//! Aggregations, in tantivy's shape: a request is parsed once into a tree of [`AggRequest`]s;
//! each segment collects it into a tree of [`SegmentAgg`]s ([`collect`]); their results,
//! [`IntermediateAgg`]s, merge across segments and indices ([`intermediate`]); the merged
//! tree is rendered as Elasticsearch's response ([`response`]).
//!
//! Each kind lives in one file under [`bucket`] or [`metric`], holding its request type and
//! parsing, its segment state, and its rendering. This module is the one place that lists
//! them: [`parse_kind`] maps a type name to its parser, and [`AggKind`] and [`SegmentAgg`]
//! dispatch to the kinds with one match arm each. The kinds on dashboards' hot paths are enum
//! variants rather than trait objects so that collection inlines.
//!
//! Adding a kind: write its file implementing [`kind::AggregationKind`] (see
//! `metric/weighted_avg.rs`), declare the module, and add its line to [`parse_kind`]. A kind
//! on a hot path can become an enum variant later, with its match arms here.

pub(crate) mod bucket;
mod buckets;
pub(crate) mod collect;
pub(crate) mod intermediate;
pub(crate) mod kind;
pub(crate) mod metric;
mod options;
mod order;
pub(crate) mod pipeline;
pub(crate) mod response;

use std::rc::Rc;
use std::sync::Arc;

use serde_json::{Map, Value as Json};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use self::bucket::auto_date_histogram;
use self::bucket::composite::{self, CompositeAgg};
use self::bucket::date_histogram::{self, DateHistogramAgg, DateHistogramSegment};
use self::bucket::filters::{self, FilterAgg, FiltersAgg, FiltersSegment};
use self::bucket::histogram::{self, HistogramAgg, HistogramSegment};
use self::bucket::ip_prefix::{self, IpPrefixAgg, IpPrefixSegment};
use self::bucket::multi_key::MultiKeySegment;
use self::bucket::multi_terms::{self, MultiTermsAgg};
use self::bucket::range::{self, RangeAgg, RangeSegment};
use self::bucket::significant_terms::{self, SignificantTermsAgg};
use self::bucket::terms::{self, best_buckets_by, TermsAgg, TermsSegment};
use self::buckets::{BlockValues, Buckets};
use self::intermediate::best::BestBuckets;
use self::intermediate::stat_rows::StatLanes;
use self::intermediate::{BucketList, IntermediateAgg, IntermediateBucket, Stats};
use self::kind::{DynKind, DynSegment};
use self::metric::top_hits::{self, TopHitsAgg, TopHitsSegment};
use self::metric::{MetricAgg, MetricSegment};
use self::options::bad;
use self::response::RenderContext;
use super::column_cache::SegmentColumns;
use super::columns::Accessor;
use super::guard::SearchGuard;
use super::query::QueryContext;
use super::SearchError;
use crate::backend::embedded::schema::FlowSchema;

/// One named aggregation and its sub-aggregations.
#[derive(Debug)]
pub struct AggRequest {
    pub(crate) name: String,
    pub(crate) kind: AggKind,
    pub(crate) children: Vec<AggRequest>,
    /// `meta` is echoed back, as Elasticsearch does.
    pub(crate) meta: Option<Json>,
}

/// What an aggregation computes: one variant per kind (the metrics share one).
#[derive(Debug)]
pub(crate) enum AggKind {
    Terms(TermsAgg),
    SignificantTerms(SignificantTermsAgg),
    MultiTerms(MultiTermsAgg),
    Composite(CompositeAgg),
    DateHistogram(DateHistogramAgg),
    Histogram(HistogramAgg),
    Range(RangeAgg),
    IpPrefix(IpPrefixAgg),
    Filter(FilterAgg),
    Filters(FiltersAgg),
    Metric(MetricAgg),
    TopHits(TopHitsAgg),
    /// A kind added in one file (see [`kind`]).
    Custom(Box<dyn DynKind>),
    /// Computed from other aggregations' answers (see [`pipeline`]).
    Pipeline(Box<pipeline::Pipeline>),
}

impl AggKind {
    /// The type name a request gives it (the first of its names, for kinds with several).
    fn type_name(&self) -> &'static str {
        match self {
            AggKind::Terms(terms) if terms.rare_max_doc_count.is_some() => "rare_terms",
            AggKind::Terms(_) => "terms",
            AggKind::SignificantTerms(_) => "significant_terms",
            AggKind::MultiTerms(_) => "multi_terms",
            AggKind::Composite(_) => "composite",
            AggKind::DateHistogram(histogram) if histogram.auto.is_some() => "auto_date_histogram",
            AggKind::DateHistogram(_) => "date_histogram",
            AggKind::Histogram(_) => "histogram",
            AggKind::Range(_) => "range",
            AggKind::IpPrefix(_) => "ip_prefix",
            AggKind::Filter(_) => "filter",
            AggKind::Filters(_) => "filters",
            AggKind::Metric(_) => "metric",
            AggKind::TopHits(_) => "top_hits",
            AggKind::Custom(_) => "custom",
            AggKind::Pipeline(_) => "pipeline",
        }
    }

    /// Whether sub-aggregations can go under it.
    fn takes_children(&self) -> bool {
        !matches!(
            self,
            AggKind::Metric(_) | AggKind::TopHits(_) | AggKind::Custom(_) | AggKind::Pipeline(_)
        )
    }
}

/// Parses one kind's options: the line a new kind adds.
fn parse_kind(
    name: &str,
    agg_type: &str,
    value: &Json,
    context: &QueryContext<'_>,
) -> Result<AggKind, SearchError> {
    Ok(match agg_type {
        "terms" => AggKind::Terms(terms::parse(name, agg_type, value, context)?),
        "rare_terms" => AggKind::Terms(terms::parse_rare(name, agg_type, value, context)?),
        "significant_terms" => {
            AggKind::SignificantTerms(significant_terms::parse(name, agg_type, value, context)?)
        }
        "multi_terms" => AggKind::MultiTerms(multi_terms::parse(name, agg_type, value, context)?),
        "composite" => AggKind::Composite(composite::parse(name, agg_type, value, context)?),
        "date_histogram" => {
            AggKind::DateHistogram(date_histogram::parse(name, agg_type, value, context)?)
        }
        "auto_date_histogram" => {
            AggKind::DateHistogram(auto_date_histogram::parse(name, agg_type, value, context)?)
        }
        "histogram" => AggKind::Histogram(histogram::parse(name, agg_type, value, context)?),
        "range" | "date_range" | "ip_range" => {
            AggKind::Range(range::parse(name, agg_type, value, context)?)
        }
        "ip_prefix" => AggKind::IpPrefix(ip_prefix::parse(name, agg_type, value, context)?),
        "filter" => AggKind::Filter(filters::parse_filter(value, context)?),
        "filters" => AggKind::Filters(filters::parse_filters(name, agg_type, value, context)?),
        "avg"
        | "sum"
        | "min"
        | "max"
        | "value_count"
        | "cardinality"
        | "stats"
        | "percentiles"
        | "extended_stats"
        | "percentile_ranks"
        | "median_absolute_deviation" => {
            AggKind::Metric(metric::parse(name, agg_type, value, context)?)
        }
        "top_hits" => AggKind::TopHits(top_hits::parse(name, agg_type, value, context)?),
        "weighted_avg" => metric::weighted_avg::parse(name, agg_type, value, context)?,
        pipeline_type if pipeline::TYPES.contains(&pipeline_type) => {
            pipeline::parse(name, agg_type, value)?
        }
        other => {
            return Err(SearchError::unsupported(format!(
                "aggregation type [{other}] (in [{name}]) is not supported by the embedded engine"
            )))
        }
    })
}

/// Parses the top-level `aggs` object.
pub fn parse_aggs(
    value: &Json,
    context: &QueryContext<'_>,
) -> Result<Vec<AggRequest>, SearchError> {
    let aggs = parse_children(value, context)?;
    pipeline::check_placement(None, &aggs)?;
    Ok(aggs)
}

fn parse_children(
    value: &Json,
    context: &QueryContext<'_>,
) -> Result<Vec<AggRequest>, SearchError> {
    let object = value
        .as_object()
        .ok_or_else(|| bad("[aggs] must be an object"))?;
    object
        .iter()
        .map(|(name, body)| parse_agg(name, body, context))
        .collect()
}

fn parse_agg(
    name: &str,
    body: &Json,
    context: &QueryContext<'_>,
) -> Result<AggRequest, SearchError> {
    let object = body
        .as_object()
        .ok_or_else(|| bad(format!("aggregation [{name}] must be an object")))?;
    let mut kind = None;
    let mut children = Vec::new();
    let mut meta = None;
    for (key, value) in object {
        match key.as_str() {
            "aggs" | "aggregations" => children = parse_children(value, context)?,
            "meta" => meta = Some(value.clone()),
            agg_type => {
                if kind.is_some() {
                    return Err(bad(format!(
                        "found two aggregation type definitions in [{name}]: [{agg_type}] and another"
                    )));
                }
                kind = Some(parse_kind(name, agg_type, value, context)?);
            }
        }
    }
    let kind = kind.ok_or_else(|| bad(format!("missing aggregation type in [{name}]")))?;
    pipeline::check_placement(Some(&kind), &children)?;
    if children
        .iter()
        .any(|child| matches!(child.kind, AggKind::Composite(_)))
    {
        // Elasticsearch names the parent by its Java factory class.
        let factory: String = kind
            .type_name()
            .split('_')
            .map(|word| word[..1].to_ascii_uppercase() + &word[1..])
            .collect();
        return Err(SearchError::illegal(format!(
            "[composite] aggregation cannot be used with a parent aggregation of type: [{factory}AggregatorFactory]"
        )));
    }
    if !children.is_empty() && !kind.takes_children() {
        let agg_type = match kind {
            AggKind::TopHits(_) => "top_hits",
            _ => "metric",
        };
        return Err(bad(format!(
            "aggregator [{name}] of type [{agg_type}] cannot accept sub-aggregations"
        )));
    }
    Ok(AggRequest {
        name: name.to_owned(),
        kind,
        children,
        meta,
    })
}

impl AggRequest {
    /// The most buckets a segment's state of this aggregation can make, where it is known
    /// before collecting: a bucket per filter (and the other bucket), per term of a keyword
    /// field; unbounded (`usize::MAX`) otherwise.
    fn most_buckets_in(&self, context: &SegmentContext<'_>) -> usize {
        match &self.kind {
            AggKind::Filter(_) => 1,
            AggKind::Filters(filters) => filters.filters.len() + 1,
            AggKind::Terms(terms) if terms.missing.is_none() => {
                match context.columns.open_keys(
                    context.reader,
                    &terms.field.name,
                    terms.field.field,
                ) {
                    Ok(Accessor::Str { dict, .. }) => dict.num_terms(),
                    _ => usize::MAX,
                }
            }
            _ => usize::MAX,
        }
    }

    /// A terms aggregation over the terms `only` of `field`, in key order: the counts a
    /// significant terms aggregation's background needs.
    pub fn counts_of(
        field: &options::AggField,
        only: Arc<std::collections::HashSet<intermediate::BucketKey>>,
    ) -> AggRequest {
        AggRequest {
            name: field.name.clone(),
            kind: AggKind::Terms(TermsAgg {
                field: field.clone(),
                size: usize::MAX,
                order: vec![order::BucketOrder::Key(super::hits::Direction::Asc)],
                min_doc_count: 1,
                missing: None,
                include: None,
                exclude: None,
                rare_max_doc_count: None,
                only: Some(only),
            }),
            children: Vec::new(),
            meta: None,
        }
    }

    /// How merging may choose the best buckets without merging every bucket (terms only).
    pub fn best_buckets(&self) -> Option<BestBuckets> {
        match &self.kind {
            AggKind::Terms(terms) => terms.best_buckets(&self.children),
            AggKind::MultiTerms(multi) => best_buckets_by(
                &multi.order,
                multi.size,
                multi.min_doc_count,
                &self.children,
            ),
            _ => None,
        }
    }
}

/// What a segment's aggregations are made from.
#[derive(Clone, Copy)]
pub(crate) struct SegmentContext<'a> {
    pub reader: &'a SegmentReader,
    pub columns: &'a SegmentColumns,
    /// How many copies of an aggregation's state the segment may make at most: one at the
    /// top, one per bucket of each aggregation above whose buckets are few and known
    /// (filters, terms of a keyword), else unbounded. Tables sized by key are kept for
    /// aggregations that cannot be copied beyond measure.
    pub copies: usize,
    pub schema: &'a FlowSchema,
    /// The position of the searched index among all searched, for hit addresses.
    pub index: u32,
    pub segment: SegmentOrdinal,
    pub guard: &'a Arc<SearchGuard>,
}

/// An aggregation's state while one segment is collected.
#[derive(Clone)]
pub(crate) enum SegmentAgg {
    Terms(TermsSegment),
    MultiKey(MultiKeySegment),
    DateHistogram(DateHistogramSegment),
    Histogram(HistogramSegment),
    Range(RangeSegment),
    IpPrefix(IpPrefixSegment),
    Filters(FiltersSegment),
    Metric(MetricSegment),
    TopHits(TopHitsSegment),
    Custom(Box<dyn DynSegment>),
}

impl SegmentAgg {
    pub fn new(
        request: &AggRequest,
        context: &SegmentContext<'_>,
    ) -> Result<SegmentAgg, SearchError> {
        // The sub-aggregations every bucket starts from.
        let prototype = || -> Result<Rc<Vec<SegmentAgg>>, SearchError> {
            let context = SegmentContext {
                // Each bucket's copy, and the prototype copies are made from.
                copies: context
                    .copies
                    .saturating_mul(request.most_buckets_in(context).saturating_add(1)),
                ..*context
            };
            Ok(Rc::new(
                request
                    .children
                    .iter()
                    .map(|child| SegmentAgg::new(child, &context))
                    .collect::<Result<Vec<_>, _>>()?,
            ))
        };
        Ok(match &request.kind {
            AggKind::Terms(terms)
            | AggKind::SignificantTerms(SignificantTermsAgg { terms, .. }) => {
                SegmentAgg::Terms(TermsSegment::new(terms, context, prototype()?)?)
            }
            AggKind::MultiTerms(multi) => SegmentAgg::MultiKey(MultiKeySegment::new(
                multi.sources.iter(),
                None,
                multi.sieve.admitted(),
                context,
                prototype()?,
            )?),
            AggKind::Composite(composite) => SegmentAgg::MultiKey(MultiKeySegment::new(
                composite.key_sources(),
                Some(&composite.page),
                None,
                context,
                prototype()?,
            )?),
            AggKind::DateHistogram(histogram) => SegmentAgg::DateHistogram(
                DateHistogramSegment::new(histogram, context, prototype()?)?,
            ),
            AggKind::Histogram(histogram) => {
                SegmentAgg::Histogram(HistogramSegment::new(histogram, context, prototype()?)?)
            }
            AggKind::Range(range) => {
                SegmentAgg::Range(RangeSegment::new(range, context, prototype()?)?)
            }
            AggKind::IpPrefix(prefix) => {
                SegmentAgg::IpPrefix(IpPrefixSegment::new(prefix, context, prototype()?)?)
            }
            AggKind::Filter(filter) => {
                SegmentAgg::Filters(FiltersSegment::filter(filter, context, prototype()?)?)
            }
            AggKind::Filters(filters) => {
                SegmentAgg::Filters(FiltersSegment::filters(filters, context, prototype()?)?)
            }
            AggKind::Metric(metric) => SegmentAgg::Metric(MetricSegment::new(metric, context)?),
            AggKind::TopHits(top) => SegmentAgg::TopHits(TopHitsSegment::new(top, context)?),
            AggKind::Custom(kind) => SegmentAgg::Custom(kind.segment(context)?),
            AggKind::Pipeline(_) => SegmentAgg::Custom(Box::new(pipeline::NoState)),
        })
    }

    /// A bucket aggregation's buckets.
    fn buckets(&self) -> Option<&Buckets> {
        match self {
            SegmentAgg::Terms(terms) => Some(terms.buckets()),
            SegmentAgg::MultiKey(multi) => Some(multi.buckets()),
            SegmentAgg::DateHistogram(histogram) => Some(histogram.buckets()),
            SegmentAgg::Histogram(histogram) => Some(histogram.buckets()),
            SegmentAgg::Range(range) => Some(range.buckets()),
            SegmentAgg::IpPrefix(prefix) => Some(prefix.buckets()),
            SegmentAgg::Filters(filters) => Some(filters.buckets()),
            SegmentAgg::Metric(_) | SegmentAgg::TopHits(_) | SegmentAgg::Custom(_) => None,
        }
    }

    /// What a copy of this state (made for each bucket above it) takes on the heap, at first.
    pub fn heap_bytes(&self) -> usize {
        std::mem::size_of::<SegmentAgg>() + self.buckets().map_or(0, Buckets::heap_bytes)
    }

    /// Lets a cardinality that is not under a bucket keep a bit per key of a dense key space.
    pub fn count_distinct_by_bits(&mut self, reader: &SegmentReader) {
        if let SegmentAgg::Metric(metric) = self {
            metric.count_distinct_by_bits(reader);
        }
    }

    /// A metric computed in one pass into [`Stats`] (see [`Buckets`]' flat statistics).
    pub fn is_single_pass_stat(&self) -> bool {
        matches!(self, SegmentAgg::Metric(metric) if metric.is_single_pass())
    }

    /// What a single-pass metric keeps per direct bucket.
    pub fn lanes(&self) -> Option<StatLanes> {
        match self {
            SegmentAgg::Metric(metric) => metric.lanes(),
            _ => None,
        }
    }

    /// Where a single-pass metric reads blocks of documents' values from.
    fn block_source(&self) -> Option<metric::BlockSource<'_>> {
        match self {
            SegmentAgg::Metric(metric) if metric.is_single_pass() => metric.block_source(),
            _ => None,
        }
    }

    /// The value a single-pass metric counts for a document (any number for `value_count`).
    #[inline]
    pub fn stat_value(&self, doc: DocId) -> Option<f64> {
        match self {
            SegmentAgg::Metric(metric) => metric.stat_value(doc),
            _ => None,
        }
    }

    /// Adds a document's value to statistics kept outside the state (a single-pass metric).
    #[inline]
    pub fn add_stat(&self, doc: DocId, stats: &mut Stats) {
        if let SegmentAgg::Metric(metric) = self {
            metric.add_stat(doc, stats);
        }
    }

    /// Adds an integer value read from [`SegmentAgg::block_source`] to
    /// statistics kept outside the state.
    #[inline]
    pub fn add_int_stat(&self, value: i64, stats: &mut Stats) {
        if let SegmentAgg::Metric(metric) = self {
            metric.add_int_stat(value, stats);
        }
    }

    /// Collects a block of documents at once where the kind can; says whether it did.
    pub fn collect_block(&mut self, docs: &[DocId], block: &mut BlockValues) -> bool {
        match self {
            SegmentAgg::Terms(terms) => terms.collect_block(docs, block),
            SegmentAgg::MultiKey(multi) => multi.collect_block(docs, block),
            SegmentAgg::Metric(metric) => metric.collect_block(docs, block),
            SegmentAgg::DateHistogram(histogram) => histogram.collect_block(docs, block),
            SegmentAgg::Filters(filters) => filters.collect_block(docs, block),
            SegmentAgg::Custom(custom) => custom.collect_block(docs),
            _ => false,
        }
    }

    /// Collects a block of documents (ascending), at once where the kind can, one by one
    /// where it cannot. Nothing is scored.
    pub fn collect_docs(&mut self, docs: &[DocId], block: &mut BlockValues) {
        if !self.collect_block(docs, block) {
            for &doc in docs {
                self.collect(doc, 0.0);
            }
        }
    }

    #[inline]
    pub fn collect(&mut self, doc: DocId, score: Score) {
        match self {
            SegmentAgg::Terms(terms) => terms.collect(doc, score),
            SegmentAgg::MultiKey(multi) => multi.collect(doc, score),
            SegmentAgg::DateHistogram(histogram) => histogram.collect(doc, score),
            SegmentAgg::Histogram(histogram) => histogram.collect(doc, score),
            SegmentAgg::Range(range) => range.collect(doc, score),
            SegmentAgg::IpPrefix(prefix) => prefix.collect(doc, score),
            SegmentAgg::Filters(filters) => filters.collect(doc, score),
            SegmentAgg::Metric(metric) => metric.collect(doc),
            SegmentAgg::TopHits(top) => top.collect(doc, score),
            SegmentAgg::Custom(custom) => custom.collect(doc),
        }
    }

    pub fn harvest(self, request: &AggRequest) -> IntermediateAgg {
        match (self, &request.kind) {
            (SegmentAgg::Terms(segment), AggKind::Terms(terms))
            | (
                SegmentAgg::Terms(segment),
                AggKind::SignificantTerms(SignificantTermsAgg { terms, .. }),
            ) => segment.harvest(request, terms),
            (SegmentAgg::MultiKey(segment), AggKind::Composite(composite)) => {
                let mut page = segment.harvest(request, |key| composite.is_after(key));
                if let IntermediateAgg::Buckets(buckets) = &mut page {
                    buckets.keep_first(composite.page.size, |a, b| composite.compare(a, b));
                }
                page
            }
            (SegmentAgg::MultiKey(segment), _) => segment.harvest(request, |_| true),
            (SegmentAgg::DateHistogram(segment), _) => segment.harvest(request),
            (SegmentAgg::Histogram(segment), _) => segment.harvest(request),
            (SegmentAgg::Range(segment), _) => segment.harvest(request),
            (SegmentAgg::IpPrefix(segment), _) => segment.harvest(request),
            (SegmentAgg::Filters(segment), _) => segment.harvest(request),
            (SegmentAgg::Metric(segment), _) => segment.harvest(),
            (SegmentAgg::TopHits(segment), _) => segment.harvest(),
            (SegmentAgg::Custom(segment), _) => IntermediateAgg::Custom(segment.harvest()),
            // A segment state is made from its request, so the kinds always agree.
            (SegmentAgg::Terms(_), _) => empty_intermediate(request),
        }
    }
}

/// An aggregation's result over no documents.
pub fn empty_intermediate(request: &AggRequest) -> IntermediateAgg {
    match &request.kind {
        AggKind::Metric(metric) => metric::empty(metric),
        AggKind::TopHits(top) => top_hits::empty(top),
        AggKind::Custom(kind) => IntermediateAgg::Custom(kind.empty()),
        AggKind::Pipeline(_) => IntermediateAgg::Custom(Box::new(pipeline::NoState)),
        _ => IntermediateAgg::Buckets(BucketList::default()),
    }
}

/// Renders one aggregation, and its `meta`.
fn render_agg(
    request: &AggRequest,
    result: &IntermediateAgg,
    context: &RenderContext<'_>,
) -> Result<Json, SearchError> {
    let mut out = match &request.kind {
        AggKind::Terms(terms) => terms::render(request, terms, result, context)?,
        AggKind::SignificantTerms(significant) => {
            significant_terms::render(request, significant, result, context)?
        }
        AggKind::MultiTerms(multi) => multi_terms::render(request, multi, result, context)?,
        AggKind::Composite(composite) => composite::render(request, composite, result, context)?,
        AggKind::DateHistogram(histogram) => match &histogram.auto {
            Some(auto) => auto_date_histogram::render(request, histogram, auto, result, context)?,
            None => date_histogram::render(request, histogram, result, context)?,
        },
        AggKind::Histogram(histogram) => histogram::render(request, histogram, result, context)?,
        AggKind::Range(range) => range::render(request, range, result, context)?,
        AggKind::IpPrefix(prefix) => ip_prefix::render(request, prefix, result, context)?,
        AggKind::Filter(_) => filters::render_filter(request, result, context)?,
        AggKind::Filters(filters) => filters::render_filters(request, filters, result, context)?,
        AggKind::Metric(metric) => metric::render(metric, result),
        AggKind::TopHits(top) => top_hits::render(top, result, context)?,
        AggKind::Custom(kind) => match result {
            IntermediateAgg::Custom(state) => kind.render(state.as_ref())?,
            _ => kind.render(kind.empty().as_ref())?,
        },
        // Rendered by the aggregation they sit in or beside.
        AggKind::Pipeline(_) => Map::new(),
    };
    pipeline::apply_parents(request, &mut out)?;
    if let Some(meta) = &request.meta {
        out.insert("meta".into(), meta.clone());
    }
    Ok(Json::Object(out))
}

/// Renders a bucket's sub-aggregations into its entry.
fn render_subs(
    request: &AggRequest,
    bucket: &IntermediateBucket,
    out: &mut Map<String, Json>,
    context: &RenderContext<'_>,
) -> Result<(), SearchError> {
    let outer_subset = context.subset_size.replace(bucket.doc_count);
    for (index, child) in request.children.iter().enumerate() {
        if matches!(child.kind, AggKind::Pipeline(_)) {
            continue;
        }
        let value = match bucket.subs.get(index) {
            Some(result) => render_agg(child, result, context)?,
            None => render_agg(child, &empty_intermediate(child), context)?,
        };
        out.insert(child.name.clone(), value);
    }
    context.subset_size.set(outer_subset);
    pipeline::apply_siblings(&request.children, out)
}
