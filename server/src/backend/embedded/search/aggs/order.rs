//! How buckets are ordered: `order` parsed once, and compared by count, by key, or by the
//! value of a metric sub-aggregation (`stats.max`, `percentiles.95`).

use std::cmp::Ordering;

use serde_json::{Map, Value as Json};

use super::super::hits::Direction;
use super::super::SearchError;
use super::intermediate::{BucketKey, IntermediateAgg, IntermediateBucket, IntermediateMetric};
use super::metric::{percentile, render_spread, single_value, stats_value, MetricKind};
use super::options::bad;
use super::{AggKind, AggRequest};

/// How terms and histogram buckets are ordered.
#[derive(Clone, Debug, PartialEq)]
pub enum BucketOrder {
    Count(Direction),
    Key(Direction),
    /// By a single-value sub-aggregation, or a value of a multi-value one (`stats.max`,
    /// `percentiles[95]` written `percentiles.95`).
    Metric {
        path: String,
        direction: Direction,
    },
}

fn parse_direction(value: &Json) -> Result<Direction, SearchError> {
    match value.as_str().map(str::to_ascii_lowercase).as_deref() {
        Some("asc") => Ok(Direction::Asc),
        Some("desc") => Ok(Direction::Desc),
        _ => Err(bad(format!("unknown order direction [{value}]"))),
    }
}

/// An `order`: one object, or an array of them, each `{ "_count" | "_key" | path: direction }`.
pub fn parse_order(value: &Json) -> Result<Vec<BucketOrder>, SearchError> {
    let entries: Vec<&Map<String, Json>> = match value {
        Json::Object(o) => vec![o],
        Json::Array(items) => items
            .iter()
            .map(|i| {
                i.as_object()
                    .ok_or_else(|| bad("[order] entries must be objects"))
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(bad("[order] must be an object or an array")),
    };
    let mut orders = Vec::new();
    for entry in entries {
        for (key, direction) in entry {
            let direction = parse_direction(direction)?;
            orders.push(match key.as_str() {
                "_count" => BucketOrder::Count(direction),
                "_key" | "_term" | "_time" => BucketOrder::Key(direction),
                path => BucketOrder::Metric {
                    path: path.to_owned(),
                    direction,
                },
            });
        }
    }
    Ok(orders)
}

/// A histogram's `order`: by key or count only.
pub fn single_order(o: &Map<String, Json>) -> Result<Option<BucketOrder>, SearchError> {
    match o.get("order") {
        Some(order) => {
            let mut orders = parse_order(order)?;
            if orders.len() != 1 || matches!(orders[0], BucketOrder::Metric { .. }) {
                return Err(SearchError::unsupported(
                    "histograms can be ordered by [_key] or [_count] only in the embedded engine",
                ));
            }
            Ok(orders.pop())
        }
        None => Ok(None),
    }
}

/// `ordering` as asked: reversed for descending.
pub fn directed(ordering: Ordering, direction: Direction) -> Ordering {
    match direction {
        Direction::Asc => ordering,
        Direction::Desc => ordering.reverse(),
    }
}

/// Keys in their natural order (histogram keys as numbers, not as bits).
pub fn compare_keys(a: &BucketKey, b: &BucketKey) -> Ordering {
    match (a, b) {
        (BucketKey::F64(a), BucketKey::F64(b)) => f64::from_bits(*a).total_cmp(&f64::from_bits(*b)),
        (BucketKey::Tuple(a), BucketKey::Tuple(b)) => a
            .iter()
            .zip(b.iter())
            .map(|(a, b)| compare_keys(a, b))
            .find(|ordering| ordering.is_ne())
            .unwrap_or_else(|| a.len().cmp(&b.len())),
        _ => a.cmp(b),
    }
}

/// A sub-aggregation an order refers to (`name`, `name.value`, `name.max`, `name.95` or
/// `name[95.0]`), resolved once per request rather than once per bucket.
pub struct MetricPath<'a> {
    position: usize,
    kind: &'a MetricKind,
    property: Option<&'a str>,
    path: &'a str,
}

impl<'a> MetricPath<'a> {
    pub fn resolve(request: &'a AggRequest, path: &'a str) -> Result<MetricPath<'a>, SearchError> {
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
    pub fn value(&self, bucket: &IntermediateBucket) -> Result<Option<f64>, SearchError> {
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
            (
                kind @ (MetricKind::ExtendedStats { .. }
                | MetricKind::PercentileRanks { .. }
                | MetricKind::MedianAbsoluteDeviation),
                IntermediateMetric::Values(values),
                property,
            ) => {
                let rendered = render_spread(kind, values);
                let key = property.unwrap_or("value");
                rendered
                    .get(key)
                    .or_else(|| rendered.get("values").and_then(|v| v.get(key)))
                    .and_then(serde_json::Value::as_f64)
            }
            (kind, state, None | Some("value")) => single_value(kind, state),
            _ => {
                return Err(SearchError::illegal(format!(
                    "Invalid aggregator order path [{path}]"
                )))
            }
        })
    }
}

/// A bucket with the values its order compares, computed once (sub-aggregation values
/// included), so sorting millions of buckets stays cheap.
pub struct Candidate<'a> {
    pub key: &'a BucketKey,
    pub bucket: &'a IntermediateBucket,
    /// Inline: millions of candidates must not mean millions of allocations.
    pub metrics: smallvec::SmallVec<[Option<f64>; 2]>,
}

/// Compares two candidates by `orders`, then by key.
pub fn compare_candidates(
    orders: &[BucketOrder],
    a: &Candidate<'_>,
    b: &Candidate<'_>,
) -> Ordering {
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
