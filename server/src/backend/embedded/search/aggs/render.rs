//! Merged aggregation results → Elasticsearch's response JSON, field for field: `key`,
//! `key_as_string`, `doc_count`, `doc_count_error_upper_bound`, `sum_other_doc_count`, empty
//! buckets filled in date histograms, ranges keyed as Elasticsearch keys them.

use std::cell::Cell;
use std::cmp::Ordering;

use app::model::flow::FieldType;
use serde_json::{json, Map, Value as Json};

use super::super::hits::Direction;
use super::super::hits::{HitRenderer, SortSpec};
use super::super::SearchError;
use super::collect::{check_bucket_budget, empty_intermediate, missing_bucket_key, rounder_for};
use super::intermediate::{
    BucketKey, BucketList, IntermediateAgg, IntermediateBucket, IntermediateMetric, Stats,
};
use super::request::{
    AggField, AggKind, AggRequest, BucketOrder, DateHistogramAgg, HistogramAgg, MetricAgg,
    MetricKind, RangeAgg, RangeFlavor, TermsAgg,
};
use crate::backend::embedded::schema::from_ipv6;

/// What rendering needs besides the results.
pub struct RenderContext<'a> {
    pub hits: &'a HitRenderer<'a>,
    pub buckets: Cell<usize>,
}

impl RenderContext<'_> {
    fn spend(&self, buckets: usize) -> Result<(), SearchError> {
        self.buckets.set(self.buckets.get() + buckets);
        check_bucket_budget(self.buckets.get())
    }
}

/// Renders the `aggregations` object.
pub fn render_aggs(
    requests: &[AggRequest],
    results: &[IntermediateAgg],
    context: &RenderContext<'_>,
) -> Result<Map<String, Json>, SearchError> {
    let mut out = Map::new();
    for (request, result) in requests.iter().zip(results) {
        out.insert(request.name.clone(), render_agg(request, result, context)?);
    }
    Ok(out)
}

fn render_subs(
    request: &AggRequest,
    bucket: &IntermediateBucket,
    out: &mut Map<String, Json>,
    context: &RenderContext<'_>,
) -> Result<(), SearchError> {
    for (index, child) in request.children.iter().enumerate() {
        let value = match bucket.subs.get(index) {
            Some(result) => render_agg(child, result, context)?,
            None => render_agg(child, &empty_intermediate(child), context)?,
        };
        out.insert(child.name.clone(), value);
    }
    Ok(())
}

fn render_agg(
    request: &AggRequest,
    result: &IntermediateAgg,
    context: &RenderContext<'_>,
) -> Result<Json, SearchError> {
    let empty = BucketList::default();
    let buckets = match result {
        IntermediateAgg::Buckets(buckets) => buckets,
        _ => &empty,
    };
    let mut out = match &request.kind {
        AggKind::Terms(terms) => render_terms(request, terms, buckets, context)?,
        AggKind::DateHistogram(histogram) => {
            render_date_histogram(request, histogram, buckets, context)?
        }
        AggKind::Histogram(histogram) => render_histogram(request, histogram, buckets, context)?,
        AggKind::Range(range) => render_range(request, range, buckets, context)?,
        AggKind::Filter(_) => {
            let bucket = buckets
                .get(&BucketKey::Index(0))
                .cloned()
                .unwrap_or_default();
            let mut out = Map::new();
            out.insert("doc_count".into(), json!(bucket.doc_count));
            render_subs(request, &bucket, &mut out, context)?;
            out
        }
        AggKind::Filters(filters) => {
            let mut keys: Vec<(String, BucketKey)> = filters
                .filters
                .iter()
                .enumerate()
                .map(|(i, (key, _))| (key.clone(), BucketKey::Index(i)))
                .collect();
            if let Some(other) = &filters.other_bucket_key {
                keys.push((other.clone(), BucketKey::Index(usize::MAX)));
            }
            context.spend(keys.len())?;
            let mut rendered = Vec::with_capacity(keys.len());
            for (name, key) in keys {
                let bucket = buckets.get(&key).cloned().unwrap_or_default();
                let mut entry = Map::new();
                if !filters.keyed {
                    // Anonymous filters have no key; Elasticsearch lists their buckets in order.
                }
                entry.insert("doc_count".into(), json!(bucket.doc_count));
                render_subs(request, &bucket, &mut entry, context)?;
                rendered.push((name, Json::Object(entry)));
            }
            let mut out = Map::new();
            out.insert(
                "buckets".into(),
                if filters.keyed {
                    Json::Object(rendered.into_iter().collect())
                } else {
                    Json::Array(rendered.into_iter().map(|(_, v)| v).collect())
                },
            );
            out
        }
        AggKind::Metric(metric) => render_metric(metric, result),
        AggKind::TopHits(top) => {
            let IntermediateAgg::TopHits(state) = result else {
                return Err(SearchError::Internal(
                    "top_hits result of the wrong kind".into(),
                ));
            };
            let sort: &SortSpec = &top.sort;
            let hits = state
                .docs
                .iter()
                .skip(top.from)
                .take(top.size)
                .map(|(key, address)| context.hits.render(*address, key, sort, &top.source, &[]))
                .collect::<Result<Vec<_>, _>>()?;
            let max_score = if sort.explicit() {
                Json::Null
            } else {
                hits.first()
                    .and_then(|h| h.get("_score").cloned())
                    .unwrap_or(Json::Null)
            };
            let mut out = Map::new();
            out.insert(
                "hits".into(),
                json!({
                    "total": { "value": state.total, "relation": "eq" },
                    "max_score": max_score,
                    "hits": hits,
                }),
            );
            out
        }
    };
    if let Some(meta) = &request.meta {
        out.insert("meta".into(), meta.clone());
    }
    Ok(Json::Object(out))
}

/// The JSON of a terms bucket key, by field type.
fn term_key_json(field: &AggField, key: &BucketKey) -> (Json, Option<String>) {
    match key {
        BucketKey::Str(s) => (json!(s), None),
        BucketKey::I64(v) if field.field_type() == FieldType::Date => (
            json!(v),
            Some(super::super::datemath::format_iso(
                *v,
                &super::super::datemath::Zone::utc(),
            )),
        ),
        BucketKey::I64(v) => (json!(v), None),
        BucketKey::Ip(ip) => (json!(from_ipv6((*ip).into()).to_string()), None),
        BucketKey::F64(bits) => (json!(f64::from_bits(*bits)), None),
        BucketKey::Index(i) => (json!(i), None),
    }
}

fn key_text(key: &BucketKey) -> String {
    match key {
        BucketKey::Str(s) => s.clone(),
        BucketKey::I64(v) => v.to_string(),
        BucketKey::Ip(ip) => from_ipv6((*ip).into()).to_string(),
        BucketKey::F64(bits) => f64::from_bits(*bits).to_string(),
        BucketKey::Index(i) => i.to_string(),
    }
}

fn compare_keys(a: &BucketKey, b: &BucketKey) -> Ordering {
    match (a, b) {
        (BucketKey::F64(a), BucketKey::F64(b)) => f64::from_bits(*a).total_cmp(&f64::from_bits(*b)),
        _ => a.cmp(b),
    }
}

/// A sub-aggregation an order refers to (`name`, `name.value`, `name.max`, `name.95` or
/// `name[95.0]`), resolved once per request rather than once per bucket.
struct MetricPath<'a> {
    position: usize,
    kind: &'a MetricKind,
    property: Option<&'a str>,
    path: &'a str,
}

impl<'a> MetricPath<'a> {
    fn resolve(request: &'a AggRequest, path: &'a str) -> Result<MetricPath<'a>, SearchError> {
        let (name, property) = match path.split_once(['.', '[']) {
            Some((name, rest)) => (name, Some(rest.trim_end_matches(']'))),
            None => (path, None),
        };
        let Some(position) = request.children.iter().position(|c| c.name == name) else {
            return Err(SearchError::illegal(format!(
                "Invalid aggregator order path [{path}]: unknown aggregation [{name}]"
            )));
        };
        let AggKind::Metric(metric) = &request.children[position].kind else {
            return Err(SearchError::illegal(format!(
                "Invalid aggregator order path [{path}]: buckets can only be sorted on a metric sub-aggregation"
            )));
        };
        Ok(MetricPath {
            position,
            kind: &metric.kind,
            property,
            path,
        })
    }

    /// The value in one bucket.
    fn value(&self, bucket: &IntermediateBucket) -> Result<Option<f64>, SearchError> {
        let Some(IntermediateAgg::Metric(state)) = bucket.subs.get(self.position) else {
            return Ok(None);
        };
        let path = self.path;
        Ok(match (self.kind, state, self.property) {
            (MetricKind::Percentiles { .. }, IntermediateMetric::Values(values), Some(p)) => {
                let mut values = values.clone();
                let p: f64 = p.parse().map_err(|_| {
                    SearchError::illegal(format!("Invalid aggregator order path [{path}]"))
                })?;
                values.sort_by(f64::total_cmp);
                percentile(&values, p)
            }
            (MetricKind::Stats, IntermediateMetric::Stats(stats), Some(p)) => stats_value(stats, p),
            (kind, state, None | Some("value")) => single_value(kind, state),
            _ => {
                return Err(SearchError::illegal(format!(
                    "Invalid aggregator order path [{path}]"
                )))
            }
        })
    }
}

fn stats_value(stats: &Stats, property: &str) -> Option<f64> {
    if stats.count == 0 && property != "count" && property != "sum" {
        return None;
    }
    match property {
        "count" => Some(stats.count as f64),
        "sum" => Some(stats.sum),
        "min" => Some(stats.min),
        "max" => Some(stats.max),
        "avg" => Some(stats.sum / stats.count as f64),
        _ => None,
    }
}

fn single_value(kind: &MetricKind, state: &IntermediateMetric) -> Option<f64> {
    match (kind, state) {
        (MetricKind::Avg, IntermediateMetric::Stats(s)) => stats_value(s, "avg"),
        (MetricKind::Sum, IntermediateMetric::Stats(s)) => Some(s.sum),
        (MetricKind::Min, IntermediateMetric::Stats(s)) => stats_value(s, "min"),
        (MetricKind::Max, IntermediateMetric::Stats(s)) => stats_value(s, "max"),
        (MetricKind::ValueCount, IntermediateMetric::Stats(s)) => Some(s.count as f64),
        (MetricKind::Cardinality, IntermediateMetric::Distinct(set)) => Some(set.len() as f64),
        _ => None,
    }
}

/// Linear interpolation between the closest ranks (exact, unlike Elasticsearch's t-digest,
/// which approximates the same quantity).
fn percentile(sorted: &[f64], percent: f64) -> Option<f64> {
    match sorted.len() {
        0 => None,
        1 => Some(sorted[0]),
        n => {
            let rank = percent / 100.0 * (n - 1) as f64;
            let low = rank.floor() as usize;
            let high = rank.ceil() as usize;
            Some(sorted[low] + (sorted[high] - sorted[low]) * (rank - low as f64))
        }
    }
}

fn directed(ordering: Ordering, direction: Direction) -> Ordering {
    match direction {
        Direction::Asc => ordering,
        Direction::Desc => ordering.reverse(),
    }
}

/// A terms bucket with the values its order compares, computed once (sub-aggregation
/// values included), so sorting millions of buckets stays cheap.
struct Candidate<'a> {
    key: &'a BucketKey,
    bucket: &'a IntermediateBucket,
    /// Inline: millions of candidates must not mean millions of allocations.
    metrics: smallvec::SmallVec<[Option<f64>; 2]>,
}

fn compare_candidates(orders: &[BucketOrder], a: &Candidate<'_>, b: &Candidate<'_>) -> Ordering {
    let mut metric = 0;
    for order in orders {
        let ordering = match order {
            BucketOrder::Count(direction) => {
                directed(a.bucket.doc_count.cmp(&b.bucket.doc_count), *direction)
            }
            BucketOrder::Key(direction) => directed(compare_keys(a.key, b.key), *direction),
            BucketOrder::Metric { direction, .. } => {
                let (x, y) = (a.metrics[metric], b.metrics[metric]);
                metric += 1;
                match (x, y) {
                    (Some(x), Some(y)) => directed(x.total_cmp(&y), *direction),
                    (Some(_), None) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                    (None, None) => Ordering::Equal,
                }
            }
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    compare_keys(a.key, b.key)
}

fn render_terms(
    request: &AggRequest,
    terms: &TermsAgg,
    buckets: &BucketList,
    context: &RenderContext<'_>,
) -> Result<Map<String, Json>, SearchError> {
    let missing_key = terms.missing.as_ref().map(missing_bucket_key);
    let filtered = terms.include.is_some() || terms.exclude.is_some();
    let metric_paths = terms
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
        if filtered {
            let text = key_text(key);
            if !terms.include.as_ref().is_none_or(|f| f.matches(&text))
                || terms.exclude.as_ref().is_some_and(|f| f.matches(&text))
            {
                continue;
            }
        }
        if bucket.doc_count < terms.min_doc_count {
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
    if eligible.len() > terms.size {
        if terms.size > 0 {
            eligible.select_nth_unstable_by(terms.size - 1, |a, b| {
                compare_candidates(&terms.order, a, b)
            });
        }
        other += eligible[terms.size..]
            .iter()
            .map(|c| c.bucket.doc_count)
            .sum::<u64>();
        eligible.truncate(terms.size);
    }
    eligible.sort_by(|a, b| compare_candidates(&terms.order, a, b));
    let shown: Vec<(&BucketKey, &IntermediateBucket)> =
        eligible.iter().map(|c| (c.key, c.bucket)).collect();
    context.spend(shown.len())?;
    let mut rendered = Vec::with_capacity(shown.len());
    for (key, bucket) in shown {
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
    out.insert("doc_count_error_upper_bound".into(), json!(0));
    out.insert("sum_other_doc_count".into(), json!(other));
    out.insert("buckets".into(), Json::Array(rendered));
    Ok(out)
}

fn render_date_histogram(
    request: &AggRequest,
    histogram: &DateHistogramAgg,
    buckets: &BucketList,
    context: &RenderContext<'_>,
) -> Result<Map<String, Json>, SearchError> {
    let round = rounder_for(histogram);
    let mut keys: Vec<i64> = buckets
        .iter()
        .filter(|(_, b)| b.doc_count >= histogram.min_doc_count.max(1))
        .filter_map(|(k, _)| match k {
            BucketKey::I64(v) => Some(*v),
            _ => None,
        })
        .collect();
    keys.sort_unstable();
    if histogram.min_doc_count == 0 {
        let mut low = keys.first().copied();
        let mut high = keys.last().copied();
        if let Some((min, max)) = histogram.extended_bounds {
            low = Some(low.map_or(round(min).0, |l| l.min(round(min).0)));
            high = Some(high.map_or(round(max).0, |h| h.max(round(max).0)));
        }
        if let Some((hard_low, hard_high)) = histogram.hard_bounds {
            if let (Some(l), Some(hl)) = (low, hard_low) {
                low = Some(l.max(round(hl).0));
            }
            if let (Some(h), Some(hh)) = (high, hard_high) {
                high = Some(h.min(round(hh).0));
            }
        }
        keys.clear();
        if let (Some(low), Some(high)) = (low, high) {
            let mut key = low;
            while key <= high {
                keys.push(key);
                context.spend(0)?;
                if keys.len() > super::request::MAX_BUCKETS {
                    return Err(SearchError::TooManyBuckets);
                }
                let (_, next) = round(key);
                if next <= key {
                    break;
                }
                key = round(next).0;
            }
        }
    }
    context.spend(keys.len())?;
    let empty = IntermediateBucket::default();
    let mut entries: Vec<(i64, &IntermediateBucket)> = keys
        .into_iter()
        .map(|key| (key, buckets.get(&BucketKey::I64(key)).unwrap_or(&empty)))
        .collect();
    match histogram.order {
        BucketOrder::Key(Direction::Desc) => entries.reverse(),
        BucketOrder::Count(direction) => entries.sort_by(|a, b| {
            directed(a.1.doc_count.cmp(&b.1.doc_count), direction).then(a.0.cmp(&b.0))
        }),
        _ => {}
    }
    let mut rendered = Vec::with_capacity(entries.len());
    for (key, bucket) in entries {
        let mut entry = Map::new();
        let text = histogram.format.format(key, &histogram.zone);
        entry.insert("key_as_string".into(), json!(text));
        entry.insert("key".into(), json!(key));
        entry.insert("doc_count".into(), json!(bucket.doc_count));
        render_subs(request, bucket, &mut entry, context)?;
        rendered.push((text, Json::Object(entry)));
    }
    Ok(bucket_list(rendered, histogram.keyed))
}

fn bucket_list(rendered: Vec<(String, Json)>, keyed: bool) -> Map<String, Json> {
    let mut out = Map::new();
    out.insert(
        "buckets".into(),
        if keyed {
            Json::Object(rendered.into_iter().collect())
        } else {
            Json::Array(rendered.into_iter().map(|(_, v)| v).collect())
        },
    );
    out
}

fn render_histogram(
    request: &AggRequest,
    histogram: &HistogramAgg,
    buckets: &BucketList,
    context: &RenderContext<'_>,
) -> Result<Map<String, Json>, SearchError> {
    let floor = |v: f64| {
        ((v - histogram.offset) / histogram.interval).floor() * histogram.interval
            + histogram.offset
    };
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
            low = Some(low.map_or(floor(min), |l| l.min(floor(min))));
            high = Some(high.map_or(floor(max), |h| h.max(floor(max))));
        }
        keys.clear();
        if let (Some(low), Some(high)) = (low, high) {
            let count = ((high - low) / histogram.interval).round() as usize + 1;
            if count > super::request::MAX_BUCKETS {
                return Err(SearchError::TooManyBuckets);
            }
            keys = (0..count)
                .map(|i| floor(low + i as f64 * histogram.interval + histogram.interval / 2.0))
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
        let mut entry = Map::new();
        entry.insert("key".into(), json!(key));
        entry.insert("doc_count".into(), json!(bucket.doc_count));
        render_subs(request, bucket, &mut entry, context)?;
        rendered.push((format!("{key:?}"), Json::Object(entry)));
    }
    Ok(bucket_list(rendered, histogram.keyed))
}

/// `100.0` as Elasticsearch prints doubles in range keys.
fn double_text(value: f64) -> String {
    format!("{value:?}")
}

fn render_range(
    request: &AggRequest,
    range: &RangeAgg,
    buckets: &BucketList,
    context: &RenderContext<'_>,
) -> Result<Map<String, Json>, SearchError> {
    context.spend(range.ranges.len())?;
    let mut rendered = Vec::with_capacity(range.ranges.len());
    for (index, spec) in range.ranges.iter().enumerate() {
        let bucket = buckets
            .get(&BucketKey::Index(index))
            .cloned()
            .unwrap_or_default();
        let mut entry = Map::new();
        let key = match &range.flavor {
            RangeFlavor::Number => {
                let key = spec.key.clone().unwrap_or_else(|| {
                    format!(
                        "{}-{}",
                        spec.from.map_or("*".to_owned(), double_text),
                        spec.to.map_or("*".to_owned(), double_text)
                    )
                });
                entry.insert("key".into(), json!(key));
                if let Some(from) = spec.from {
                    entry.insert("from".into(), json!(from));
                }
                if let Some(to) = spec.to {
                    entry.insert("to".into(), json!(to));
                }
                key
            }
            RangeFlavor::Date { format, zone } => {
                let text = |v: f64| format.format(v as i64, zone);
                let key = spec.key.clone().unwrap_or_else(|| {
                    format!(
                        "{}-{}",
                        spec.from.map_or("*".to_owned(), text),
                        spec.to.map_or("*".to_owned(), text)
                    )
                });
                entry.insert("key".into(), json!(key));
                if let Some(from) = spec.from {
                    entry.insert("from".into(), json!(from));
                    entry.insert("from_as_string".into(), json!(text(from)));
                }
                if let Some(to) = spec.to {
                    entry.insert("to".into(), json!(to));
                    entry.insert("to_as_string".into(), json!(text(to)));
                }
                key
            }
            RangeFlavor::Ip => {
                let text = |v: u128| from_ipv6(v.into()).to_string();
                let key = spec
                    .key
                    .clone()
                    .or_else(|| spec.mask.clone())
                    .unwrap_or_else(|| {
                        format!(
                            "{}-{}",
                            spec.ip_from.map_or("*".to_owned(), text),
                            spec.ip_to.map_or("*".to_owned(), text)
                        )
                    });
                entry.insert("key".into(), json!(key));
                if let Some(from) = spec.ip_from {
                    entry.insert("from".into(), json!(text(from)));
                }
                if let Some(to) = spec.ip_to {
                    entry.insert("to".into(), json!(text(to)));
                }
                key
            }
        };
        if range.keyed {
            // Keyed, the key names the bucket and is not repeated inside it.
            entry.remove("key");
        }
        entry.insert("doc_count".into(), json!(bucket.doc_count));
        render_subs(request, &bucket, &mut entry, context)?;
        rendered.push((key, Json::Object(entry)));
    }
    Ok(bucket_list(rendered, range.keyed))
}

fn render_metric(metric: &MetricAgg, result: &IntermediateAgg) -> Map<String, Json> {
    let is_date = metric.field.field_type() == FieldType::Date;
    let mut out = Map::new();
    let state = match result {
        IntermediateAgg::Metric(state) => state.clone(),
        _ => IntermediateMetric::Stats(Stats::default()),
    };
    let number = |v: Option<f64>| v.map_or(Json::Null, |v| json!(v));
    let with_string = |out: &mut Map<String, Json>, v: Option<f64>| {
        if let (true, Some(v)) = (is_date, v) {
            out.insert(
                "value_as_string".into(),
                json!(super::super::datemath::format_iso(
                    v as i64,
                    &super::super::datemath::Zone::utc()
                )),
            );
        }
    };
    match (&metric.kind, &state) {
        (MetricKind::Stats, IntermediateMetric::Stats(stats)) => {
            out.insert("count".into(), json!(stats.count));
            out.insert("min".into(), number(stats_value(stats, "min")));
            out.insert("max".into(), number(stats_value(stats, "max")));
            out.insert("avg".into(), number(stats_value(stats, "avg")));
            out.insert("sum".into(), json!(stats.sum));
        }
        (MetricKind::Percentiles { percents, keyed }, IntermediateMetric::Values(values)) => {
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let entries: Vec<(String, Option<f64>, f64)> = percents
                .iter()
                .map(|p| (double_text(*p), percentile(&sorted, *p), *p))
                .collect();
            out.insert(
                "values".into(),
                if *keyed {
                    Json::Object(
                        entries
                            .into_iter()
                            .map(|(k, v, _)| (k, number(v)))
                            .collect(),
                    )
                } else {
                    Json::Array(
                        entries
                            .into_iter()
                            .map(|(_, v, p)| json!({ "key": p, "value": number(v) }))
                            .collect(),
                    )
                },
            );
        }
        (MetricKind::ValueCount, IntermediateMetric::Stats(stats)) => {
            out.insert("value".into(), json!(stats.count));
        }
        (MetricKind::Cardinality, IntermediateMetric::Distinct(set)) => {
            out.insert("value".into(), json!(set.len()));
        }
        (kind, state) => {
            let value = single_value(kind, state);
            out.insert(
                "value".into(),
                match kind {
                    MetricKind::Sum => json!(value.unwrap_or(0.0)),
                    _ => number(value),
                },
            );
            with_string(&mut out, value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_between_ranks() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), Some(50.5));
        assert_eq!(percentile(&values, 0.0), Some(1.0));
        assert_eq!(percentile(&values, 100.0), Some(100.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn doubles_print_like_java() {
        assert_eq!(double_text(100.0), "100.0");
        assert_eq!(double_text(0.5), "0.5");
    }
}
