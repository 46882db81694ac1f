//! What a browser's search may ask of the user's cluster. The index allow-list decides where
//! a search goes; this decides what it may do there. Some query and aggregation kinds reach
//! beyond the searched indices or run code on the cluster: scripts, `terms` lookup (which
//! reads any index, `.flowdash` included), `more_like_this` with documents of other indices,
//! `wrapper` (a query hidden in base64) and stored or runtime fields. Search bodies pass an
//! allow-list of kinds, as the embedded engine has in effect; scripts and lookups pass only
//! with `--es-allow-scripts`.

use serde_json::{Map, Value};

use crate::backend::embedded::search::check_nesting;
use crate::backend::BackendError;

/// Top-level options of a search body.
const BODY_KEYS: &[&str] = &[
    "query",
    "post_filter",
    "aggs",
    "aggregations",
    "size",
    "from",
    "sort",
    "_source",
    "track_total_hits",
    "docvalue_fields",
    "fields",
    "search_after",
    "timeout",
    "highlight",
    "version",
    "seq_no_primary_term",
    "stored_fields",
    "min_score",
    "terminate_after",
    "track_scores",
    "explain",
    "profile",
    "collapse",
];

/// Query kinds, with the keys of each that hold queries of their own.
const QUERY_KINDS: &[(&str, &[&str])] = &[
    ("match_all", &[]),
    ("match_none", &[]),
    ("bool", &["must", "filter", "should", "must_not"]),
    ("term", &[]),
    ("terms", &[]),
    ("range", &[]),
    ("match", &[]),
    ("match_phrase", &[]),
    ("match_phrase_prefix", &[]),
    ("match_bool_prefix", &[]),
    ("multi_match", &[]),
    ("exists", &[]),
    ("prefix", &[]),
    ("wildcard", &[]),
    ("regexp", &[]),
    ("fuzzy", &[]),
    ("ids", &[]),
    ("query_string", &[]),
    ("simple_query_string", &[]),
    ("constant_score", &["filter"]),
    ("dis_max", &["queries"]),
    ("boosting", &["positive", "negative"]),
    ("nested", &["query"]),
    ("more_like_this", &[]),
];

/// Query kinds that run code or read other indices: allowed only with scripts.
const SCRIPTED_QUERIES: &[&str] = &[
    "script",
    "script_score",
    "function_score",
    "terms_set",
    "wrapper",
    "percolate",
];

/// Aggregation kinds Kibana's editors and flowdash send.
const AGGREGATION_KINDS: &[&str] = &[
    "terms",
    "significant_terms",
    "rare_terms",
    "multi_terms",
    "composite",
    "date_histogram",
    "auto_date_histogram",
    "histogram",
    "range",
    "date_range",
    "ip_range",
    "ip_prefix",
    "filter",
    "filters",
    "missing",
    "sampler",
    "diversified_sampler",
    "nested",
    "reverse_nested",
    "cardinality",
    "avg",
    "sum",
    "min",
    "max",
    "value_count",
    "stats",
    "extended_stats",
    "percentiles",
    "percentile_ranks",
    "median_absolute_deviation",
    "weighted_avg",
    "top_hits",
    "top_metrics",
    "derivative",
    "cumulative_sum",
    "moving_avg",
    "moving_fn",
    "serial_diff",
    "bucket_sort",
    "avg_bucket",
    "sum_bucket",
    "min_bucket",
    "max_bucket",
    "stats_bucket",
    "extended_stats_bucket",
    "percentiles_bucket",
    // Script-driven: allowed only with scripts.
    "bucket_script",
    "bucket_selector",
    "scripted_metric",
];

/// Kinds that run code on the cluster.
const SCRIPTED_AGGREGATIONS: &[&str] = &["bucket_script", "bucket_selector", "scripted_metric"];

/// Checks a search body before it is sent to the cluster.
pub fn check_search_body(body: &Value, allow_scripts: bool) -> Result<(), BackendError> {
    check_nesting(body)
        .map_err(|e| BackendError::bad_request("parsing_exception", e.to_string()))?;
    let Some(object) = body.as_object() else {
        return if body.is_null() {
            Ok(())
        } else {
            Err(refused("the search body must be an object"))
        };
    };
    let policy = Policy { allow_scripts };
    for (key, value) in object {
        match key.as_str() {
            "query" | "post_filter" => policy.query(value)?,
            "aggs" | "aggregations" => policy.aggregations(value)?,
            "sort" => policy.sort(value)?,
            key if BODY_KEYS.contains(&key) => {}
            "script_fields" | "runtime_mappings" if allow_scripts => {}
            other => {
                return Err(refused(format!(
                    "search option [{other}] is not sent to the cluster by flowdash"
                )))
            }
        }
    }
    Ok(())
}

fn refused(reason: impl Into<String>) -> BackendError {
    BackendError::bad_request("security_exception", reason)
}

fn scripts_refused(what: &str) -> BackendError {
    refused(format!(
        "{what} is not sent to the cluster: scripts and lookups in other indices are refused unless flowdash runs with --es-allow-scripts"
    ))
}

struct Policy {
    allow_scripts: bool,
}

impl Policy {
    fn query(&self, value: &Value) -> Result<(), BackendError> {
        let object = value
            .as_object()
            .ok_or_else(|| refused("a query must be an object"))?;
        for (kind, body) in object {
            let Some((_, children)) = QUERY_KINDS.iter().find(|(k, _)| k == kind) else {
                if !SCRIPTED_QUERIES.contains(&kind.as_str()) {
                    return Err(refused(format!(
                        "query [{kind}] is not sent to the cluster by flowdash"
                    )));
                }
                if !self.allow_scripts {
                    return Err(scripts_refused(&format!("query [{kind}]")));
                }
                continue;
            };
            match kind.as_str() {
                "terms" if !self.allow_scripts => terms_lookup(body)?,
                "more_like_this" if !self.allow_scripts => more_like_documents(body)?,
                _ => {}
            }
            for child in *children {
                match body.get(*child) {
                    Some(Value::Array(items)) => {
                        items.iter().try_for_each(|item| self.query(item))?
                    }
                    Some(item @ Value::Object(_)) => self.query(item)?,
                    _ => {}
                }
            }
        }
        Ok(())
    }

    fn aggregations(&self, value: &Value) -> Result<(), BackendError> {
        let named = value
            .as_object()
            .ok_or_else(|| refused("[aggs] must be an object"))?;
        for (name, aggregation) in named {
            let aggregation = aggregation
                .as_object()
                .ok_or_else(|| refused(format!("aggregation [{name}] must be an object")))?;
            for (kind, body) in aggregation {
                match kind.as_str() {
                    "aggs" | "aggregations" => self.aggregations(body)?,
                    "meta" => {}
                    kind if AGGREGATION_KINDS.contains(&kind) => {
                        if !self.allow_scripts
                            && (SCRIPTED_AGGREGATIONS.contains(&kind)
                                || (kind != "moving_fn" && holds_script(body)))
                        {
                            return Err(scripts_refused(&format!(
                                "aggregation [{kind}] with a script"
                            )));
                        }
                        self.aggregation_queries(kind, body)?;
                    }
                    other => {
                        return Err(refused(format!(
                            "aggregation [{other}] is not sent to the cluster by flowdash"
                        )))
                    }
                }
            }
        }
        Ok(())
    }

    /// The queries inside `filter` and `filters` aggregations.
    fn aggregation_queries(&self, kind: &str, body: &Value) -> Result<(), BackendError> {
        match kind {
            "filter" => self.query(body),
            "filters" => match body.get("filters") {
                Some(Value::Object(named)) => named.values().try_for_each(|q| self.query(q)),
                Some(Value::Array(items)) => items.iter().try_for_each(|q| self.query(q)),
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }

    fn sort(&self, value: &Value) -> Result<(), BackendError> {
        let scripted = |item: &Value| item.as_object().is_some_and(|o| o.contains_key("_script"));
        let has_script = match value {
            Value::Array(items) => items.iter().any(scripted),
            other => scripted(other),
        };
        if has_script && !self.allow_scripts {
            return Err(scripts_refused("a [_script] sort"));
        }
        Ok(())
    }
}

/// `terms` with an object instead of a list of values reads them from a document of any
/// index.
fn terms_lookup(body: &Value) -> Result<(), BackendError> {
    let lookup = body
        .as_object()
        .into_iter()
        .flat_map(Map::iter)
        .any(|(field, values)| field != "boost" && values.is_object());
    if lookup {
        return Err(scripts_refused("a [terms] lookup"));
    }
    Ok(())
}

/// `more_like_this` with documents (`{"_index", "_id"}`) in `like` or `unlike`.
fn more_like_documents(body: &Value) -> Result<(), BackendError> {
    let documents = ["like", "unlike"].iter().any(|key| match body.get(*key) {
        Some(Value::Array(items)) => items.iter().any(Value::is_object),
        Some(Value::Object(_)) => true,
        _ => false,
    });
    if documents {
        return Err(scripts_refused("[more_like_this] with documents"));
    }
    Ok(())
}

/// Whether an aggregation's parameters hold a script (`"script"` at any depth).
fn holds_script(value: &Value) -> bool {
    match value {
        Value::Object(object) => object
            .iter()
            .any(|(key, value)| key == "script" || holds_script(value)),
        Value::Array(items) => items.iter().any(holds_script),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn what_kibana_and_flowdash_send_passes() {
        let body = json!({
            "size": 0, "track_total_hits": true,
            "query": { "bool": { "filter": [
                { "range": { "@timestamp": { "gte": "now-1h" } } },
                { "bool": { "should": [ { "match_phrase": { "action": "REJECT" } } ], "minimum_should_match": 1 } },
                { "query_string": { "query": "dstport:22" } },
                { "terms": { "dstport": [22, 3389] } }
            ], "must_not": [ { "exists": { "field": "x" } } ] } },
            "aggs": { "2": { "terms": { "field": "action", "size": 5 },
                "aggs": { "3": { "date_histogram": { "field": "@timestamp", "fixed_interval": "1m" } },
                          "4": { "filters": { "filters": { "a": { "term": { "action": "ACCEPT" } } } } },
                          "5": { "moving_fn": { "buckets_path": "_count", "window": 5, "script": "MovingFunctions.unweightedAvg(values)" } } } } }
        });
        check_search_body(&body, false).unwrap();
    }

    #[test]
    fn scripts_lookups_and_unknown_kinds_are_refused() {
        for body in [
            json!({ "query": { "script": { "script": "1" } } }),
            json!({ "query": { "bool": { "filter": [ { "terms": { "srcaddr": { "index": ".flowdash", "id": "x", "path": "y" } } } ] } } }),
            json!({ "query": { "more_like_this": { "fields": ["a"], "like": [ { "_index": ".flowdash", "_id": "x" } ] } } }),
            json!({ "query": { "wrapper": { "query": "eyJ0ZXJtIjp7fX0=" } } }),
            json!({ "aggs": { "a": { "terms": { "script": { "source": "doc['x']" } } } } }),
            json!({ "aggs": { "a": { "scripted_metric": {} } } }),
            json!({ "aggs": { "a": { "filter": { "script": { "script": "1" } } } } }),
            json!({ "script_fields": { "x": { "script": "1" } } }),
            json!({ "runtime_mappings": {} }),
            json!({ "sort": [ { "_script": { "script": "1" } } ] }),
            json!({ "query": { "geo_shape": {} } }),
            json!({ "aggs": { "a": { "geo_bounds": {} } } }),
        ] {
            let error = check_search_body(&body, false).expect_err("refused");
            assert_eq!(error.status(), 400, "{body}");
        }
        check_search_body(&json!({ "query": { "script": { "script": "1" } } }), true).unwrap();
    }
}
