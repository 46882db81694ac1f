//! `avg`, `sum`, `min`, `max`, `value_count` and `stats`: one pass over the values into
//! [`Stats`] (count, sum, minimum, maximum), merged by adding up.

use serde_json::{json, Map, Value as Json};
use tantivy::DocId;

use super::super::super::columns::Accessor;
use super::super::super::datemath::{format_iso, Zone};
use super::super::intermediate::stat_rows::StatLanes;
use super::super::intermediate::{IntermediateMetric, Stats};
use super::MetricKind;

/// The parts of [`Stats`] a metric keeps per bucket when buckets are rows (see
/// [`StatLanes`]): those its answer reads, and those the choice of the best buckets reads.
pub fn lanes(kind: &MetricKind, never_negative: bool) -> StatLanes {
    match kind {
        MetricKind::ValueCount => StatLanes::COUNT,
        MetricKind::Sum if never_negative => StatLanes::UNSIGNED_SUM,
        MetricKind::Sum => StatLanes::SIGNED_SUM,
        MetricKind::Avg => StatLanes::new(true, true, false, false),
        MetricKind::Min => StatLanes::new(true, false, true, false),
        MetricKind::Max => StatLanes::new(true, false, true, true),
        _ => StatLanes::new(true, true, true, true),
    }
}

/// Adds a document's value to the statistics of a single-pass metric: a count of values for
/// `value_count`, the number (or the `missing` default) otherwise.
#[inline]
pub fn add_stat(
    accessor: &Accessor,
    kind: &MetricKind,
    missing: Option<f64>,
    doc: DocId,
    stats: &mut Stats,
) {
    if let Some(value) = stat_value(accessor, kind, missing, doc) {
        match kind {
            MetricKind::ValueCount => stats.count += 1,
            _ => stats.add(value),
        }
    }
}

/// The value a single-pass metric counts for a document: the number (or the `missing`
/// default), or for `value_count` any number when the document has a value.
#[inline]
pub fn stat_value(
    accessor: &Accessor,
    kind: &MetricKind,
    missing: Option<f64>,
    doc: DocId,
) -> Option<f64> {
    match kind {
        MetricKind::ValueCount => accessor.raw(doc).map(|_| 0.0),
        _ => accessor.number(doc).or(missing),
    }
}

/// One of `stats`' values: `count`, `sum`, `min`, `max` or `avg` (`None` without values).
pub fn stats_value(stats: &Stats, property: &str) -> Option<f64> {
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

/// The value of a single-value metric (what a bucket order by it compares).
pub fn single_value(kind: &MetricKind, state: &IntermediateMetric) -> Option<f64> {
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

/// The response of a single-pass metric; dates also as text, as Elasticsearch answers them.
pub fn render(kind: &MetricKind, stats: &Stats, is_date: bool) -> Map<String, Json> {
    let number = |v: Option<f64>| v.map_or(Json::Null, |v| json!(v));
    let mut out = Map::new();
    match kind {
        MetricKind::Stats => {
            out.insert("count".into(), json!(stats.count));
            out.insert("min".into(), number(stats_value(stats, "min")));
            out.insert("max".into(), number(stats_value(stats, "max")));
            out.insert("avg".into(), number(stats_value(stats, "avg")));
            out.insert("sum".into(), json!(stats.sum));
        }
        MetricKind::ValueCount => {
            out.insert("value".into(), json!(stats.count));
        }
        kind => {
            let value = single_value(kind, &IntermediateMetric::Stats(*stats));
            out.insert(
                "value".into(),
                match kind {
                    MetricKind::Sum => json!(value.unwrap_or(0.0)),
                    _ => number(value),
                },
            );
            if let (true, Some(v)) = (is_date, value) {
                out.insert(
                    "value_as_string".into(),
                    json!(format_iso(v as i64, &Zone::utc())),
                );
            }
        }
    }
    out
}
