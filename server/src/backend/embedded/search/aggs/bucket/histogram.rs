//! `histogram`: a bucket per fixed-width interval of a numeric field.

use app::model::flow::FieldType;
use serde_json::{json, Value as Json};
use tantivy::{DocId, Score};

use super::super::super::columns::Accessor;
use super::super::super::hits::Direction;
use super::super::super::query::QueryContext;
use super::super::super::{SearchError, MAX_BUCKETS};
use super::super::buckets::{Buckets, KeySpace};
use super::super::intermediate::{BucketKey, IntermediateAgg, IntermediateBucket};
use super::super::options::{bad, bool_option, field_of, options, usize_option, AggField};
use super::super::order::{directed, single_order, BucketOrder};
use super::super::response::{bucket_list, RenderContext};
use super::super::{render_subs, AggRequest, SegmentAgg, SegmentContext};

#[derive(Debug)]
pub struct HistogramAgg {
    pub field: AggField,
    pub interval: f64,
    pub offset: f64,
    pub min_doc_count: u64,
    pub extended_bounds: Option<(f64, f64)>,
    pub keyed: bool,
    pub order: BucketOrder,
}

impl HistogramAgg {
    /// The key of the bucket holding `value`.
    fn floor(&self, value: f64) -> f64 {
        ((value - self.offset) / self.interval).floor() * self.interval + self.offset
    }
}

pub fn parse(
    name: &str,
    agg_type: &str,
    value: &Json,
    context: &QueryContext<'_>,
) -> Result<HistogramAgg, SearchError> {
    let o = options(
        name,
        agg_type,
        value,
        &[
            "field",
            "interval",
            "offset",
            "min_doc_count",
            "extended_bounds",
            "keyed",
            "order",
        ],
    )?;
    let field = field_of(name, agg_type, o, context)?;
    field.require("histogram", &[FieldType::Long, FieldType::Date])?;
    let interval = o
        .get("interval")
        .and_then(Json::as_f64)
        .filter(|i| *i > 0.0)
        .ok_or_else(|| {
            bad(format!(
                "[interval] must be a positive number in [histogram] aggregation [{name}]"
            ))
        })?;
    let extended_bounds = match o.get("extended_bounds") {
        Some(b) => Some((
            b.get("min")
                .and_then(Json::as_f64)
                .ok_or_else(|| bad("[extended_bounds] needs a numeric [min]"))?,
            b.get("max")
                .and_then(Json::as_f64)
                .ok_or_else(|| bad("[extended_bounds] needs a numeric [max]"))?,
        )),
        None => None,
    };
    Ok(HistogramAgg {
        field,
        interval,
        offset: o.get("offset").and_then(Json::as_f64).unwrap_or(0.0),
        min_doc_count: usize_option(o, "min_doc_count", 0)? as u64,
        extended_bounds,
        keyed: bool_option(o, "keyed"),
        order: single_order(o)?.unwrap_or(BucketOrder::Key(Direction::Asc)),
    })
}

/// A histogram in one segment.
#[derive(Clone)]
pub struct HistogramSegment {
    accessor: Accessor,
    interval: f64,
    offset: f64,
    buckets: Buckets,
}

impl HistogramSegment {
    pub fn new(
        histogram: &HistogramAgg,
        context: &SegmentContext<'_>,
        prototype: std::rc::Rc<Vec<SegmentAgg>>,
    ) -> Result<Self, SearchError> {
        let field = &histogram.field;
        Ok(HistogramSegment {
            accessor: context
                .columns
                .open(context.reader, &field.name, field.field)?,
            interval: histogram.interval,
            offset: histogram.offset,
            buckets: Buckets::new(KeySpace::Sparse, prototype, context.guard),
        })
    }

    pub fn buckets(&self) -> &Buckets {
        &self.buckets
    }

    #[inline]
    pub fn collect(&mut self, doc: DocId, score: Score) {
        if let Some(v) = self.accessor.number(doc) {
            let key = ((v - self.offset) / self.interval).floor() * self.interval + self.offset;
            self.buckets.collect(u128::from(key.to_bits()), doc, score);
        }
    }

    pub fn harvest(self, request: &AggRequest) -> IntermediateAgg {
        self.buckets
            .harvest(request, |key| Some(BucketKey::F64(key as u64)))
    }
}

pub fn render(
    request: &AggRequest,
    histogram: &HistogramAgg,
    result: &IntermediateAgg,
    context: &RenderContext<'_>,
) -> Result<serde_json::Map<String, Json>, SearchError> {
    let buckets = context.buckets_of(result);
    let mut keys: Vec<f64> = buckets
        .iter()
        .filter(|(_, b)| b.doc_count >= histogram.min_doc_count.max(1))
        .filter_map(|(k, _)| match k {
            BucketKey::F64(bits) => Some(f64::from_bits(*bits)),
            _ => None,
        })
        .collect();
    keys.sort_by(f64::total_cmp);
    if histogram.min_doc_count == 0 {
        let mut low = keys.first().copied();
        let mut high = keys.last().copied();
        if let Some((min, max)) = histogram.extended_bounds {
            low = Some(low.map_or(histogram.floor(min), |l| l.min(histogram.floor(min))));
            high = Some(high.map_or(histogram.floor(max), |h| h.max(histogram.floor(max))));
        }
        keys.clear();
        if let (Some(low), Some(high)) = (low, high) {
            let count = ((high - low) / histogram.interval).round() as usize + 1;
            if count > MAX_BUCKETS {
                return Err(SearchError::TooManyBuckets);
            }
            keys = (0..count)
                .map(|i| {
                    histogram.floor(low + i as f64 * histogram.interval + histogram.interval / 2.0)
                })
                .collect();
        }
    }
    context.spend(keys.len())?;
    let empty = IntermediateBucket::default();
    let mut entries: Vec<(f64, &IntermediateBucket)> = keys
        .into_iter()
        .map(|key| {
            (
                key,
                buckets
                    .get(&BucketKey::F64(key.to_bits()))
                    .unwrap_or(&empty),
            )
        })
        .collect();
    match histogram.order {
        BucketOrder::Key(Direction::Desc) => entries.reverse(),
        BucketOrder::Count(direction) => entries.sort_by(|a, b| {
            directed(a.1.doc_count.cmp(&b.1.doc_count), direction).then(a.0.total_cmp(&b.0))
        }),
        _ => {}
    }
    let mut rendered = Vec::with_capacity(entries.len());
    for (key, bucket) in entries {
        let mut entry = serde_json::Map::new();
        entry.insert("key".into(), json!(key));
        entry.insert("doc_count".into(), json!(bucket.doc_count));
        render_subs(request, bucket, &mut entry, context)?;
        rendered.push((format!("{key:?}"), Json::Object(entry)));
    }
    Ok(bucket_list(rendered, histogram.keyed))
}
