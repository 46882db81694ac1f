//! Metric aggregations: one number (or a few) computed from a field's values over the
//! documents of a bucket. The single-pass statistics (avg, sum, min, max, value_count,
//! stats) share one state, [`Stats`], which bucket kinds can keep in flat rows; cardinality
//! and percentiles keep the values themselves, for exact answers.

mod cardinality;
mod percentiles;
pub(crate) mod spread;
mod stats;
pub mod top_hits;
pub mod weighted_avg;

use std::collections::HashSet;

use app::model::flow::FieldType;
use serde_json::{json, Map, Value as Json};
use tantivy::{DocId, SegmentReader};

use self::cardinality::DistinctKeys;
pub use self::percentiles::percentile;
pub use self::stats::{single_value, stats_value};
use super::super::columns::{Accessor, BlockScratch, FastColumn};
use super::super::query::QueryContext;
use super::super::SearchError;
use super::buckets::{dense_keys, BlockValues};
use super::intermediate::stat_rows::StatLanes;
use super::intermediate::{DistinctRuns, IntermediateAgg, IntermediateMetric, Stats};
use super::options::{bad, field_of, options, AggField};
use super::SegmentContext;

/// A metric over one field.
#[derive(Debug)]
pub struct MetricAgg {
    pub kind: MetricKind,
    pub field: AggField,
    /// Value used for documents without the field.
    pub missing: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MetricKind {
    Avg,
    Sum,
    Min,
    Max,
    ValueCount,
    Cardinality,
    Stats,
    Percentiles { percents: Vec<f64>, keyed: bool },
    ExtendedStats { sigma: f64 },
    PercentileRanks { values: Vec<f64>, keyed: bool },
    MedianAbsoluteDeviation,
}

impl MetricKind {
    /// A metric computed in one pass into [`Stats`].
    pub fn is_single_pass(&self) -> bool {
        !matches!(self, MetricKind::Cardinality) && !self.keeps_values()
    }

    /// A metric computed from every value, kept (exact where Elasticsearch approximates).
    fn keeps_values(&self) -> bool {
        matches!(
            self,
            MetricKind::Percentiles { .. }
                | MetricKind::ExtendedStats { .. }
                | MetricKind::PercentileRanks { .. }
                | MetricKind::MedianAbsoluteDeviation
        )
    }
}

/// Parses `avg`, `sum`, `min`, `max`, `value_count`, `cardinality`, `stats` and
/// `percentiles`.
pub fn parse(
    name: &str,
    agg_type: &str,
    value: &Json,
    context: &QueryContext<'_>,
) -> Result<MetricAgg, SearchError> {
    let o = options(
        name,
        agg_type,
        value,
        &[
            "field",
            "missing",
            "percents",
            "keyed",
            "precision_threshold",
            "format",
            "tdigest",
            "hdr",
            "sigma",
            "values",
            "compression",
        ],
    )?;
    let field = field_of(name, agg_type, o, context)?;
    let kind = match agg_type {
        "avg" => MetricKind::Avg,
        "sum" => MetricKind::Sum,
        "min" => MetricKind::Min,
        "max" => MetricKind::Max,
        "value_count" => MetricKind::ValueCount,
        "cardinality" => {
            // Exact whatever the threshold, but one Elasticsearch refuses is refused here too.
            if let Some(threshold) = o.get("precision_threshold") {
                match threshold.as_i64() {
                    Some(t) if t >= 0 => {}
                    _ => {
                        return Err(SearchError::illegal(format!(
                        "[precisionThreshold] must be greater than or equal to 0. Found [{threshold}] in [{name}]"
                    )))
                    }
                }
            }
            MetricKind::Cardinality
        }
        "stats" => MetricKind::Stats,
        "extended_stats" => spread::parse_extended_stats(name, o)?,
        "percentile_ranks" => spread::parse_percentile_ranks(name, o)?,
        "median_absolute_deviation" => MetricKind::MedianAbsoluteDeviation,
        _ => percentiles::parse(name, o)?,
    };
    if !matches!(kind, MetricKind::ValueCount | MetricKind::Cardinality) {
        field.require(agg_type, &[FieldType::Long, FieldType::Date])?;
    }
    let missing = match o.get("missing") {
        Some(v) => Some(
            v.as_f64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .ok_or_else(|| bad("[missing] must be a number"))?,
        ),
        None => None,
    };
    Ok(MetricAgg {
        kind,
        field,
        missing,
    })
}

/// The values of a block of documents for a single-pass metric.
pub enum BlockSource<'a> {
    /// Read from the column.
    Column(&'a FastColumn<i64>),
    /// The same for every document.
    Constant(i64),
}

impl BlockSource<'_> {
    /// The value of each document of `docs` into `out`.
    pub fn read_block(
        &self,
        docs: &[DocId],
        scratch: &mut BlockScratch<i64>,
        out: &mut Vec<Option<i64>>,
    ) {
        match self {
            BlockSource::Column(column) => column.read_block(docs, scratch, out),
            BlockSource::Constant(value) => {
                out.clear();
                out.resize(docs.len(), Some(*value));
            }
        }
    }
}

/// A metric's state in one segment.
#[derive(Clone)]
pub struct MetricSegment {
    accessor: Accessor,
    kind: MetricKind,
    missing: Option<f64>,
    stats: Stats,
    values: Vec<f64>,
    distinct: DistinctKeys,
}

impl MetricSegment {
    pub fn new(metric: &MetricAgg, context: &SegmentContext<'_>) -> Result<Self, SearchError> {
        let field = &metric.field;
        Ok(MetricSegment {
            // Cardinality keeps keys (decoded once per distinct value at harvest); the other
            // metrics read numbers.
            accessor: match metric.kind {
                MetricKind::Cardinality => {
                    context
                        .columns
                        .open_keys(context.reader, &field.name, field.field)?
                }
                _ => context
                    .columns
                    .open(context.reader, &field.name, field.field)?,
            },
            kind: metric.kind.clone(),
            missing: metric.missing,
            stats: Stats::default(),
            values: Vec::new(),
            distinct: DistinctKeys::Set(HashSet::new()),
        })
    }

    /// Lets a cardinality that is not under a bucket keep a bit per key of a dense key space.
    pub fn count_distinct_by_bits(&mut self, reader: &SegmentReader) {
        if self.kind == MetricKind::Cardinality {
            if let Some(keys) = dense_keys(&self.accessor, reader) {
                self.distinct = DistinctKeys::bits(keys);
            }
        }
    }

    pub fn is_single_pass(&self) -> bool {
        self.kind.is_single_pass()
    }

    /// What a single-pass metric keeps per direct bucket.
    pub fn lanes(&self) -> Option<StatLanes> {
        self.is_single_pass()
            .then(|| stats::lanes(&self.kind, self.accessor.never_negative(self.missing)))
    }

    /// Where a block of documents' integer values can be read from: the column, when nothing
    /// replaces a missing value; the `missing` value itself in a segment without the column
    /// (the flow count a search of rollups sums over raw flows, which have none).
    pub fn block_source(&self) -> Option<BlockSource<'_>> {
        match (&self.accessor, self.missing) {
            (Accessor::I64(column), None) => Some(BlockSource::Column(column)),
            (Accessor::Missing, Some(value))
                if value.fract() == 0.0 && value.abs() < (1u64 << 53) as f64 =>
            {
                Some(BlockSource::Constant(value as i64))
            }
            _ => None,
        }
    }

    /// Collects a block of documents with one read of the column, for a single-pass metric
    /// of an integer field (the bytes a table totals) or distinct keys; says whether it did.
    pub fn collect_block(&mut self, docs: &[DocId], block: &mut BlockValues) -> bool {
        if self.kind == MetricKind::Cardinality {
            // Distinct keys: one read of the key column (term ordinals, address codes).
            if !self
                .accessor
                .read_raw_block(docs, &mut block.raw_scratch, &mut block.keys)
            {
                return false;
            }
            for key in block.keys.iter().flatten() {
                self.distinct.insert(u128::from(*key));
            }
            return true;
        }
        if !self.is_single_pass() {
            return false;
        }
        let Some(source) = self.block_source() else {
            return false;
        };
        block.values.resize_with(1, Vec::new);
        source.read_block(docs, &mut block.value_scratch, &mut block.values[0]);
        let values = &block.values[0];
        match self.kind {
            MetricKind::ValueCount => self.stats.count += values.iter().flatten().count() as u64,
            MetricKind::Sum => self.stats.add_int_sum(values),
            _ => self.stats.add_ints(values),
        }
        true
    }

    /// Adds a value of [`MetricSegment::block_source`] to statistics.
    #[inline]
    pub fn add_int_stat(&self, value: i64, stats: &mut Stats) {
        match self.kind {
            MetricKind::ValueCount => stats.count += 1,
            _ => stats.add(value as f64),
        }
    }

    /// The value a single-pass metric counts for a document (any number for `value_count`).
    #[inline]
    pub fn stat_value(&self, doc: DocId) -> Option<f64> {
        stats::stat_value(&self.accessor, &self.kind, self.missing, doc)
    }

    /// Adds a document's value to statistics kept outside the segment state (see
    /// [`super::buckets::Buckets`]).
    #[inline]
    pub fn add_stat(&self, doc: DocId, stats: &mut Stats) {
        stats::add_stat(&self.accessor, &self.kind, self.missing, doc, stats);
    }

    #[inline]
    pub fn collect(&mut self, doc: DocId) {
        match self.kind {
            MetricKind::Cardinality => {
                if let Some(raw) = self.accessor.raw(doc) {
                    self.distinct.insert(raw);
                }
            }
            ref kind if kind.keeps_values() => {
                if let Some(v) = self.accessor.number(doc).or(self.missing) {
                    self.values.push(v);
                }
            }
            _ => stats::add_stat(
                &self.accessor,
                &self.kind,
                self.missing,
                doc,
                &mut self.stats,
            ),
        }
    }

    pub fn harvest(self) -> IntermediateAgg {
        IntermediateAgg::Metric(match self.kind {
            ref kind if kind.keeps_values() => IntermediateMetric::Values(self.values),
            MetricKind::Cardinality => {
                IntermediateMetric::Distinct(cardinality::harvest(self.distinct, &self.accessor))
            }
            _ => IntermediateMetric::Stats(self.stats),
        })
    }
}

/// A metric's result over no documents.
pub fn empty(metric: &MetricAgg) -> IntermediateAgg {
    IntermediateAgg::Metric(match metric.kind {
        ref kind if kind.keeps_values() => IntermediateMetric::Values(Vec::new()),
        MetricKind::Cardinality => IntermediateMetric::Distinct(DistinctRuns::default()),
        _ => IntermediateMetric::Stats(Stats::default()),
    })
}

/// The response of `extended_stats`, `percentile_ranks` or `median_absolute_deviation` from
/// their values (also what orders buckets by them).
pub fn render_spread(kind: &MetricKind, values: &[f64]) -> Map<String, Json> {
    match kind {
        MetricKind::ExtendedStats { sigma } => spread::render_extended_stats(*sigma, values),
        MetricKind::PercentileRanks {
            values: asked,
            keyed,
        } => spread::render_percentile_ranks(asked, *keyed, values),
        MetricKind::MedianAbsoluteDeviation => spread::render_median_absolute_deviation(values),
        _ => Map::new(),
    }
}

/// A metric's response.
pub fn render(metric: &MetricAgg, result: &IntermediateAgg) -> Map<String, Json> {
    let state = match result {
        IntermediateAgg::Metric(state) => state.clone(),
        _ => IntermediateMetric::Stats(Stats::default()),
    };
    match (&metric.kind, &state) {
        (MetricKind::Percentiles { percents, keyed }, IntermediateMetric::Values(values)) => {
            percentiles::render(percents, *keyed, values)
        }
        (kind, IntermediateMetric::Values(values)) => render_spread(kind, values),
        (MetricKind::Cardinality, IntermediateMetric::Distinct(set)) => {
            let mut out = Map::new();
            out.insert("value".into(), json!(set.len()));
            out
        }
        (kind, IntermediateMetric::Stats(stats)) => {
            stats::render(kind, stats, metric.field.field_type() == FieldType::Date)
        }
        _ => Map::new(),
    }
}
