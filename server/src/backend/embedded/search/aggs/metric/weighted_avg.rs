//! `weighted_avg`: the average of one field's values, each weighted by another field of the
//! same document (for example the mean packet size weighted by packets). A kind added in one
//! file through [`AggregationKind`]; Elasticsearch's answer is `null` when no document has
//! both values.

use app::model::flow::FieldType;
use serde_json::{json, Map, Value as Json};
use tantivy::DocId;

use super::super::super::columns::Accessor;
use super::super::super::query::QueryContext;
use super::super::super::SearchError;
use super::super::intermediate::custom::MergeState;
use super::super::kind::{custom, AggregationKind, SegmentState};
use super::super::options::{bad, field_of, options, AggField};
use super::super::{AggKind, SegmentContext};

/// One side of the average: a numeric field, and a default for documents without it.
#[derive(Debug)]
struct Source {
    field: AggField,
    missing: Option<f64>,
}

#[derive(Debug)]
pub struct WeightedAvgAgg {
    value: Source,
    weight: Source,
}

pub fn parse(
    name: &str,
    agg_type: &str,
    value: &Json,
    context: &QueryContext<'_>,
) -> Result<AggKind, SearchError> {
    let o = options(name, agg_type, value, &["value", "weight", "value_type"])?;
    let source = |key: &str| -> Result<Source, SearchError> {
        let side = o
            .get(key)
            .ok_or_else(|| bad(format!("[{agg_type}] aggregation [{name}] needs [{key}]")))?;
        let side = options(
            name,
            &format!("{agg_type}.{key}"),
            side,
            &["field", "missing"],
        )?;
        let field = field_of(name, agg_type, side, context)?;
        field.require(agg_type, &[FieldType::Long, FieldType::Date])?;
        let missing = match side.get("missing") {
            None => None,
            Some(v) => Some(
                v.as_f64()
                    .ok_or_else(|| bad(format!("[{key}.missing] must be a number")))?,
            ),
        };
        Ok(Source { field, missing })
    };
    Ok(custom(WeightedAvgAgg {
        value: source("value")?,
        weight: source("weight")?,
    }))
}

/// Σ value × weight and Σ weight.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct WeightedSums {
    weighted: f64,
    weights: f64,
}

impl MergeState for WeightedSums {
    fn merge(&mut self, other: Self) {
        self.weighted += other.weighted;
        self.weights += other.weights;
    }
}

#[derive(Clone)]
pub struct WeightedAvgSegment {
    value: (Accessor, Option<f64>),
    weight: (Accessor, Option<f64>),
    sums: WeightedSums,
}

impl AggregationKind for WeightedAvgAgg {
    type State = WeightedSums;
    type Segment = WeightedAvgSegment;

    fn segment(&self, context: &SegmentContext<'_>) -> Result<WeightedAvgSegment, SearchError> {
        let open = |source: &Source| -> Result<(Accessor, Option<f64>), SearchError> {
            let field = &source.field;
            let accessor = context
                .columns
                .open(context.reader, &field.name, field.field)?;
            Ok((accessor, source.missing))
        };
        Ok(WeightedAvgSegment {
            value: open(&self.value)?,
            weight: open(&self.weight)?,
            sums: WeightedSums::default(),
        })
    }

    fn render(&self, sums: &WeightedSums) -> Map<String, Json> {
        let mut out = Map::new();
        let value = (sums.weights != 0.0).then(|| sums.weighted / sums.weights);
        out.insert("value".into(), value.map_or(Json::Null, |v| json!(v)));
        out
    }
}

impl SegmentState for WeightedAvgSegment {
    type State = WeightedSums;

    #[inline]
    fn collect(&mut self, doc: DocId) {
        let read =
            |(accessor, missing): &(Accessor, Option<f64>)| accessor.number(doc).or(*missing);
        if let (Some(value), Some(weight)) = (read(&self.value), read(&self.weight)) {
            self.sums.weighted += value * weight;
            self.sums.weights += weight;
        }
    }

    fn harvest(self) -> WeightedSums {
        self.sums
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::super::super::tests::{fixture, int, search, search_error};

    /// The mean bytes per flow weighted by packets, from the records.
    fn expected(docs: Vec<(i64, i64)>) -> Option<f64> {
        let (weighted, weights) = docs
            .into_iter()
            .fold((0.0, 0.0), |(s, w), (bytes, packets)| {
                (s + bytes as f64 * packets as f64, w + packets as f64)
            });
        (weights != 0.0).then(|| weighted / weights)
    }

    #[test]
    fn weighted_avg_agrees_with_the_records_at_the_top_and_per_bucket() {
        let answer = search(json!({
            "size": 0,
            "aggs": {
                "w": { "weighted_avg": { "value": { "field": "bytes" }, "weight": { "field": "packets" } } },
                "by_action": {
                    "terms": { "field": "action" },
                    "aggs": { "w": { "weighted_avg": { "value": { "field": "bytes" }, "weight": { "field": "packets" } } } }
                }
            }
        }));
        let docs = &fixture().docs;
        let pairs = |action: Option<&str>| -> Vec<(i64, i64)> {
            docs.iter()
                .filter(|doc| {
                    action.is_none_or(|a| {
                        matches!(doc.get("action"), Some(crate::ingest::DocValue::Str(s)) if s.as_str() == a)
                    })
                })
                .filter_map(|doc| Some((int(doc, "bytes")?, int(doc, "packets")?)))
                .collect()
        };
        let close = |got: &serde_json::Value, want: Option<f64>| {
            let want = want.expect("the demo has bytes and packets");
            let got = got.as_f64().unwrap();
            assert!((got - want).abs() <= want.abs() * 1e-9, "{got} vs {want}");
        };
        close(&answer["aggregations"]["w"]["value"], expected(pairs(None)));
        let buckets = answer["aggregations"]["by_action"]["buckets"]
            .as_array()
            .unwrap();
        assert_eq!(buckets.len(), 2);
        for bucket in buckets {
            let action = bucket["key"].as_str().unwrap();
            close(&bucket["w"]["value"], expected(pairs(Some(action))));
        }
    }

    #[test]
    fn weighted_avg_of_nothing_is_null_and_missing_weights_count() {
        let none = search(json!({
            "size": 0,
            "query": { "term": { "action": "no-such-action" } },
            "aggs": { "w": { "weighted_avg": { "value": { "field": "bytes" }, "weight": { "field": "packets" } } } }
        }));
        assert_eq!(none["aggregations"]["w"], json!({ "value": null }));
        // A flow without TCP flags (not TCP, or a v2 record) weighs 2.
        let answer = search(json!({
            "size": 0,
            "aggs": {
                "w": { "weighted_avg": { "value": { "field": "bytes" }, "weight": { "field": "tcp_flags", "missing": 2 } } }
            }
        }));
        let pairs: Vec<(i64, i64)> = fixture()
            .docs
            .iter()
            .filter_map(|doc| Some((int(doc, "bytes")?, int(doc, "tcp_flags").unwrap_or(2))))
            .collect();
        assert!(
            pairs.iter().any(|(_, weight)| *weight != 2),
            "some flows have flags"
        );
        let want = expected(pairs).unwrap();
        let got = answer["aggregations"]["w"]["value"].as_f64().unwrap();
        assert!((got - want).abs() <= want * 1e-9, "{got} vs {want}");
    }

    #[test]
    fn weighted_avg_names_what_is_wrong() {
        let cases = [
            (json!({ "value": { "field": "bytes" } }), "needs [weight]"),
            (
                json!({ "value": { "field": "bytes" }, "weight": { "field": "action" } }),
                "Field [action] of type [keyword] is not supported for aggregation [weighted_avg]",
            ),
            (
                json!({ "value": { "field": "bytes", "script": "x" }, "weight": { "field": "packets" } }),
                "[weighted_avg.value] option [script]",
            ),
        ];
        for (body, expected) in cases {
            let error = search_error(json!({ "aggs": { "w": { "weighted_avg": body } } }));
            assert!(error.contains(expected), "{error} lacks {expected}");
        }
    }
}
