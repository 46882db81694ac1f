//! Visualization + time range + filters → the Elasticsearch request body. The one builder every
//! chart, the server-side renderer and exported visualizations use.

use serde_json::{json, Value};

/// The time field of flow documents (the Lambda's `@timestamp`, the flow's start).
pub const TIME_FIELD: &str = "@timestamp";

/// Flow counts per `interval_ms` bucket in `[from_ms, to_ms)`, split by `split_field`.
pub fn time_series_request(from_ms: i64, to_ms: i64, interval_ms: i64, split_field: &str) -> Value {
    json!({
        "size": 0,
        "query": { "bool": { "filter": [ time_range_filter(from_ms, to_ms) ] } },
        "aggs": {
            "over_time": {
                "date_histogram": {
                    "field": TIME_FIELD,
                    "fixed_interval": format!("{}ms", interval_ms),
                    "min_doc_count": 0,
                    "extended_bounds": { "min": from_ms, "max": to_ms - 1 },
                },
                "aggs": {
                    "split": { "terms": { "field": split_field, "size": 10 } }
                }
            }
        }
    })
}

/// The range filter Kibana sends for a time picker range.
pub fn time_range_filter(from_ms: i64, to_ms: i64) -> Value {
    json!({
        "range": {
            TIME_FIELD: { "gte": from_ms, "lt": to_ms, "format": "epoch_millis" }
        }
    })
}
