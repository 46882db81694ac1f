//! `typed_keys`: aggregation names in the answer prefixed with their result type
//! (`sterms#by_action`, `avg#mean`), as the Java and other typed clients ask, so that they
//! know how to read each one. The types come from the request: its aggregation kinds, and for
//! `terms` the field's type.

use serde_json::{Map, Value};

/// Prefixes every aggregation name under `response["aggregations"]` with its type.
pub fn apply(request: &Value, response: &mut Value) {
    let (Some(requested), Some(answered)) = (
        request.get("aggs").or_else(|| request.get("aggregations")),
        response
            .get_mut("aggregations")
            .and_then(Value::as_object_mut),
    ) else {
        return;
    };
    rename_level(requested, answered);
}

/// Renames the aggregations `requested` describes within `answered` (one level), then
/// descends into their buckets.
fn rename_level(requested: &Value, answered: &mut Map<String, Value>) {
    let Some(requested) = requested.as_object() else {
        return;
    };
    for (name, spec) in requested {
        let Some(mut result) = answered.remove(name) else {
            continue;
        };
        let subs = spec.get("aggs").or_else(|| spec.get("aggregations"));
        if let Some(subs) = subs {
            match result.get_mut("buckets") {
                Some(Value::Array(buckets)) => buckets
                    .iter_mut()
                    .filter_map(Value::as_object_mut)
                    .for_each(|bucket| rename_level(subs, bucket)),
                Some(Value::Object(keyed)) => keyed
                    .values_mut()
                    .filter_map(Value::as_object_mut)
                    .for_each(|bucket| rename_level(subs, bucket)),
                // A single-bucket aggregation holds its sub-aggregations itself.
                _ => {
                    if let Some(single) = result.as_object_mut() {
                        rename_level(subs, single);
                    }
                }
            }
        }
        let typed = match result_type(spec) {
            Some(kind) => format!("{kind}#{name}"),
            None => name.clone(),
        };
        answered.insert(typed, result);
    }
}

/// The result type Elasticsearch names an aggregation's answer by.
fn result_type(spec: &Value) -> Option<String> {
    let spec = spec.as_object()?;
    let (kind, options) = spec
        .iter()
        .find(|(key, _)| !matches!(key.as_str(), "aggs" | "aggregations" | "meta"))?;
    let hdr = options.get("hdr").is_some();
    Some(
        match kind.as_str() {
            // Terms name their answer by the field's type: long, string or unmapped.
            "terms" | "rare_terms" | "significant_terms" => {
                let field = options.get("field").and_then(Value::as_str).unwrap_or("");
                let field = field.strip_suffix(".keyword").unwrap_or(field);
                use app::model::flow::{document_field_type, FieldType};
                let by_type = match document_field_type(field) {
                    Some(FieldType::Long | FieldType::Date) => "l",
                    Some(_) => "s",
                    None => "um",
                };
                return Some(match kind.as_str() {
                    "terms" => format!("{by_type}terms"),
                    "rare_terms" => format!("{by_type}rareterms"),
                    // SignificantLongTerms, SignificantStringTerms, UnmappedSignificantTerms.
                    _ if by_type == "um" => "umsigterms".to_owned(),
                    _ => format!("sig{by_type}terms"),
                });
            }
            "percentiles" if hdr => "hdr_percentiles",
            "percentiles" => "tdigest_percentiles",
            "percentile_ranks" if hdr => "hdr_percentile_ranks",
            "percentile_ranks" => "tdigest_percentile_ranks",
            "cumulative_sum" | "serial_diff" | "moving_fn" | "avg_bucket" | "sum_bucket" => {
                "simple_value"
            }
            "min_bucket" | "max_bucket" => "bucket_metric_value",
            other => other,
        }
        .to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn names_carry_their_types_at_every_level() {
        let request = json!({ "aggs": {
            "by_action": { "terms": { "field": "action" }, "aggs": {
                "per_hour": { "date_histogram": { "field": "@timestamp", "fixed_interval": "1h" },
                    "aggs": { "bytes": { "sum": { "field": "bytes" } },
                              "running": { "cumulative_sum": { "buckets_path": "bytes" } } } } } },
            "ports": { "terms": { "field": "dstport" } },
            "rare": { "rare_terms": { "field": "action" } },
            "odd": { "significant_terms": { "field": "dstport" } },
            "rejected": { "filter": { "term": { "action": "REJECT" } },
                "aggs": { "p": { "percentiles": { "field": "bytes" } } } },
            "top": { "max_bucket": { "buckets_path": "ports>_count" } }
        } });
        let mut response = json!({ "aggregations": {
            "by_action": { "buckets": [ { "key": "ACCEPT", "doc_count": 1, "per_hour": { "buckets": [
                { "key": 0, "doc_count": 1, "bytes": { "value": 5.0 }, "running": { "value": 5.0 } } ] } } ] },
            "ports": { "buckets": [] },
            "rare": { "buckets": [] },
            "odd": { "doc_count": 0, "bg_count": 0, "buckets": [] },
            "rejected": { "doc_count": 0, "p": { "values": {} } },
            "top": { "value": null, "keys": [] }
        } });
        apply(&request, &mut response);
        let aggs = &response["aggregations"];
        let hour = &aggs["sterms#by_action"]["buckets"][0]["date_histogram#per_hour"]["buckets"][0];
        assert_eq!(hour["sum#bytes"], json!({ "value": 5.0 }));
        assert_eq!(hour["simple_value#running"], json!({ "value": 5.0 }));
        assert!(aggs.get("lterms#ports").is_some());
        assert!(aggs.get("srareterms#rare").is_some());
        assert!(aggs.get("siglterms#odd").is_some());
        assert!(aggs["filter#rejected"]
            .get("tdigest_percentiles#p")
            .is_some());
        assert!(aggs.get("bucket_metric_value#top").is_some());
    }
}
