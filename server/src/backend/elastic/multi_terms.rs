//! `multi_terms` on clusters that lack it (Elasticsearch before 7.12, OpenSearch before 2.1):
//! the same buckets, ranked here from every page of a `composite` aggregation over the same
//! fields. A composite bucket holds all of its combination's documents, so the answer is exact
//! (where a real `multi_terms` may only estimate); the combinations gathered are bounded, and
//! past the bound the search is refused with a way out rather than answered in part.
//!
//! Only a `multi_terms` at the top of a search can be answered so: Elasticsearch refuses a
//! `composite` under another aggregation. One deeper stays, and is refused with the version
//! it needs.

use std::cmp::Ordering;
use std::net::IpAddr;

use serde_json::{json, Map, Value};

use crate::backend::BackendError;

/// Combinations one emulated `multi_terms` may gather before it is refused.
pub const MAX_COMBINATIONS: usize = 100_000;

/// Combinations asked per composite page: with a few sub-buckets each, within the
/// `search.max_buckets` of every 7.x cluster (10,000 before 7.10).
const PAGE_SIZE: usize = 1_000;

/// A top-level `multi_terms`, to be answered from composite pages.
#[derive(Debug)]
pub struct Emulated {
    /// Its name in the search.
    name: String,
    /// The fields, each with the value standing in for documents without it.
    sources: Vec<Source>,
    size: usize,
    min_doc_count: u64,
    order: Vec<(OrderKey, bool)>,
    /// Its sub-aggregations, computed per composite bucket as per `multi_terms` bucket.
    subs: Option<Value>,
    /// Echoed in the answer, as Elasticsearch echoes it.
    meta: Option<Value>,
}

#[derive(Debug)]
struct Source {
    field: String,
    missing: Option<Value>,
}

/// What an `order` entry compares: `bool` beside it says descending.
#[derive(Debug)]
enum OrderKey {
    Count,
    Key,
    /// A sub-aggregation's value: `name`, `name.prop` or `name[prop]`.
    Metric(String),
}

fn bad(reason: impl Into<String>) -> BackendError {
    BackendError::bad_request("illegal_argument_exception", reason)
}

/// Takes the top-level `multi_terms` aggregations out of `body`, to be answered by
/// [`Emulated::answer`]; the rest of the search stays as it is.
pub fn take(body: &mut Value) -> Result<Vec<Emulated>, BackendError> {
    let mut taken = Vec::new();
    for key in ["aggs", "aggregations"] {
        let Some(Value::Object(aggs)) = body.get_mut(key) else {
            continue;
        };
        let names: Vec<String> = aggs
            .iter()
            .filter(|(_, spec)| spec.get("multi_terms").is_some())
            .map(|(name, _)| name.clone())
            .collect();
        for name in names {
            if let Some(spec) = aggs.remove(&name) {
                taken.push(Emulated::parse(name, &spec)?);
            }
        }
        if aggs.is_empty() {
            if let Some(object) = body.as_object_mut() {
                object.remove(key);
            }
        }
    }
    Ok(taken)
}

impl Emulated {
    fn parse(name: String, spec: &Value) -> Result<Emulated, BackendError> {
        let unanswerable = |what: &str| {
            bad(format!(
                "[{name}]: {what} cannot be answered on a cluster without [multi_terms] (Elasticsearch 7.12 or later)"
            ))
        };
        let mut subs = None;
        let mut meta = None;
        for (key, value) in spec.as_object().into_iter().flatten() {
            match key.as_str() {
                "multi_terms" => {}
                "aggs" | "aggregations" => subs = Some(value.clone()),
                "meta" => meta = Some(value.clone()),
                other => return Err(unanswerable(&format!("[{other}]"))),
            }
        }
        let options = spec["multi_terms"]
            .as_object()
            .ok_or_else(|| bad(format!("[multi_terms] of [{name}] must be an object")))?;
        let mut sources = Vec::new();
        let mut size = 10;
        let mut min_doc_count = 1;
        let mut order = vec![(OrderKey::Count, true), (OrderKey::Key, false)];
        for (key, value) in options {
            match key.as_str() {
                "terms" => {
                    for term in value.as_array().into_iter().flatten() {
                        let field = term.get("field").and_then(Value::as_str);
                        let known = term
                            .as_object()
                            .into_iter()
                            .flatten()
                            .all(|(k, _)| k == "field" || k == "missing");
                        match field {
                            Some(field) if known => sources.push(Source {
                                field: field.to_owned(),
                                missing: term.get("missing").filter(|m| !m.is_null()).cloned(),
                            }),
                            _ => return Err(unanswerable("a term other than a field")),
                        }
                    }
                }
                "size" => size = count(value, &name, "size")?,
                "min_doc_count" => min_doc_count = count(value, &name, "min_doc_count")? as u64,
                "order" => order = parse_order(value, &name)?,
                // Per-shard tuning, meaningless for an exact answer.
                "shard_size"
                | "shard_min_doc_count"
                | "show_term_doc_count_error"
                | "collect_mode" => {}
                other => return Err(unanswerable(&format!("[{other}]"))),
            }
        }
        if sources.len() < 2 {
            return Err(bad(format!(
                "The [terms] parameter in the aggregation [{name}] must be present and have at least 2 fields or scripts."
            )));
        }
        if size == 0 {
            return Err(bad(format!(
                "[size] must be greater than 0. Found [0] in [{name}]"
            )));
        }
        Ok(Emulated {
            name,
            sources,
            size,
            min_doc_count,
            order,
            subs,
            meta,
        })
    }

    /// The name it answers under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The search for one composite page after `after` (the first without), with `query`.
    pub fn page(&self, query: Option<&Value>, after: Option<&Value>) -> Value {
        let sources: Vec<Value> = self
            .sources
            .iter()
            .enumerate()
            .map(|(i, source)| {
                let mut terms = json!({ "field": source.field });
                if source.missing.is_some() {
                    terms["missing_bucket"] = json!(true);
                }
                json!({ i.to_string(): { "terms": terms } })
            })
            .collect();
        let mut composite = json!({ "size": PAGE_SIZE, "sources": sources });
        if let Some(after) = after {
            composite["after"] = after.clone();
        }
        let mut agg = json!({ "composite": composite });
        if let Some(subs) = &self.subs {
            agg["aggs"] = subs.clone();
        }
        let mut body = json!({ "size": 0, "aggs": { self.name.clone(): agg } });
        if let Some(query) = query {
            body["query"] = query.clone();
        }
        body
    }

    /// Reads one page's answer into `gathered`: the key to ask the next page after, or
    /// `None` when this was the last.
    pub fn gather(
        &self,
        response: &mut Value,
        gathered: &mut Vec<Value>,
    ) -> Result<Option<Value>, BackendError> {
        let agg = response
            .pointer_mut(&format!("/aggregations/{}", pointer_escape(&self.name)))
            .ok_or_else(|| {
                BackendError::Internal(format!("the cluster did not answer [{}]", self.name))
            })?;
        let buckets = match agg.get_mut("buckets").map(Value::take) {
            Some(Value::Array(buckets)) => buckets,
            _ => Vec::new(),
        };
        let full = buckets.len() >= PAGE_SIZE;
        gathered.extend(buckets);
        if gathered.len() > MAX_COMBINATIONS {
            return Err(BackendError::bad_request(
                "too_many_buckets_exception",
                format!(
                    "[{}] has more than {MAX_COMBINATIONS} combinations; a cluster without [multi_terms] (Elasticsearch 7.12 or later) has them ranked by flowdash, which holds no more. Narrow the time range or the query.",
                    self.name
                ),
            ));
        }
        Ok(match agg.get("after_key") {
            Some(after) if full => Some(after.clone()),
            _ => None,
        })
    }

    /// The `multi_terms` answer from every composite bucket gathered: the best `size` by the
    /// order asked, keys as arrays and `|`-joined text, the rest's documents counted.
    pub fn answer(&self, gathered: Vec<Value>) -> Result<Value, BackendError> {
        struct Candidate {
            keys: Vec<Value>,
            doc_count: u64,
            metrics: Vec<Option<f64>>,
            bucket: Map<String, Value>,
        }
        let mut other = 0;
        let mut candidates = Vec::with_capacity(gathered.len());
        for bucket in gathered {
            let Value::Object(mut bucket) = bucket else {
                continue;
            };
            let doc_count = bucket.get("doc_count").and_then(Value::as_u64).unwrap_or(0);
            if doc_count < self.min_doc_count {
                other += doc_count;
                continue;
            }
            let composite_key = bucket.remove("key").unwrap_or(Value::Null);
            let keys = self
                .sources
                .iter()
                .enumerate()
                .map(|(i, source)| match composite_key.get(i.to_string()) {
                    Some(Value::Null) | None => source.missing.clone().unwrap_or(Value::Null),
                    Some(value) => value.clone(),
                })
                .collect();
            let metrics = self
                .order
                .iter()
                .filter_map(|(key, _)| match key {
                    OrderKey::Metric(path) => Some(metric_value(&bucket, path)),
                    _ => None,
                })
                .collect::<Result<_, _>>()?;
            bucket.remove("doc_count");
            candidates.push(Candidate {
                keys,
                doc_count,
                metrics,
                bucket,
            });
        }
        let compare = |a: &Candidate, b: &Candidate| {
            let mut metric = 0;
            for (key, descending) in &self.order {
                let ordering = match key {
                    OrderKey::Count => a.doc_count.cmp(&b.doc_count),
                    OrderKey::Key => compare_keys(&a.keys, &b.keys),
                    OrderKey::Metric(_) => {
                        let (x, y) = (a.metrics[metric], b.metrics[metric]);
                        metric += 1;
                        match (x, y) {
                            (Some(x), Some(y)) => x.total_cmp(&y),
                            // A bucket without the value comes last either way.
                            (Some(_), None) => return Ordering::Less,
                            (None, Some(_)) => return Ordering::Greater,
                            (None, None) => Ordering::Equal,
                        }
                    }
                };
                let ordering = if *descending {
                    ordering.reverse()
                } else {
                    ordering
                };
                if ordering.is_ne() {
                    return ordering;
                }
            }
            compare_keys(&a.keys, &b.keys)
        };
        candidates.sort_by(compare);
        if candidates.len() > self.size {
            other += candidates
                .drain(self.size..)
                .map(|c| c.doc_count)
                .sum::<u64>();
        }
        let buckets: Vec<Value> = candidates
            .into_iter()
            .map(|candidate| {
                let text: Vec<String> = candidate.keys.iter().map(key_text).collect();
                let mut bucket = candidate.bucket;
                bucket.insert("key".into(), Value::Array(candidate.keys));
                bucket.insert("key_as_string".into(), json!(text.join("|")));
                bucket.insert("doc_count".into(), json!(candidate.doc_count));
                Value::Object(bucket)
            })
            .collect();
        let mut answer = json!({
            "doc_count_error_upper_bound": 0,
            "sum_other_doc_count": other,
            "buckets": buckets,
        });
        if let Some(meta) = &self.meta {
            answer["meta"] = meta.clone();
        }
        Ok(answer)
    }
}

/// A non-negative whole number option.
fn count(value: &Value, name: &str, option: &str) -> Result<usize, BackendError> {
    value
        .as_u64()
        .and_then(|v| usize::try_from(v).ok())
        .ok_or_else(|| {
            bad(format!(
                "[{option}] of [{name}] must be a whole number, not {value}"
            ))
        })
}

/// `{"_count": "desc"}` or a list of such, as `terms` reads them.
fn parse_order(value: &Value, name: &str) -> Result<Vec<(OrderKey, bool)>, BackendError> {
    let entries: Vec<&Value> = match value {
        Value::Array(entries) => entries.iter().collect(),
        entry => vec![entry],
    };
    let mut order = Vec::new();
    for entry in entries {
        let entry = entry.as_object().ok_or_else(|| {
            bad(format!(
                "[order] of [{name}] must be an object or a list of them"
            ))
        })?;
        for (key, direction) in entry {
            let descending = match direction.as_str() {
                Some("desc") => true,
                Some("asc") => false,
                _ => {
                    return Err(bad(format!(
                        "Unknown order direction [{direction}] in [{name}]: use [asc] or [desc]"
                    )))
                }
            };
            let key = match key.as_str() {
                "_count" => OrderKey::Count,
                "_key" | "_term" => OrderKey::Key,
                path => OrderKey::Metric(path.to_owned()),
            };
            order.push((key, descending));
        }
    }
    Ok(order)
}

/// A sub-aggregation's value in a bucket: `name` (its `value`), `name.prop` or `name[prop]`,
/// a property of its own or of its `values` (percentiles, keyed `"95.0"`).
fn metric_value(bucket: &Map<String, Value>, path: &str) -> Result<Option<f64>, BackendError> {
    let (name, property) = match path.split_once(['.', '[']) {
        Some((name, rest)) => (name, rest.trim_end_matches(']')),
        None => (path, "value"),
    };
    let agg = bucket.get(name).ok_or_else(|| {
        bad(format!(
            "Invalid aggregator order path [{path}]: unknown aggregation [{name}]"
        ))
    })?;
    let same_number = |key: &str| match (key.parse::<f64>(), property.parse::<f64>()) {
        (Ok(a), Ok(b)) => a == b,
        _ => key == property,
    };
    Ok(agg
        .get(property)
        .or_else(|| {
            agg.get("values")
                .and_then(Value::as_object)
                .and_then(|values| values.iter().find(|(k, _)| same_number(k)))
                .map(|(_, v)| v)
        })
        .and_then(Value::as_f64))
}

/// Keys compared value by value, as the cluster orders them: numbers as numbers, addresses
/// by their bytes, other text as text.
fn compare_keys(a: &[Value], b: &[Value]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(a, b)| compare_values(a, b))
        .find(|o| o.is_ne())
        .unwrap_or_else(|| a.len().cmp(&b.len()))
}

fn compare_values(a: &Value, b: &Value) -> Ordering {
    fn rank(value: &Value) -> u8 {
        match value {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Number(_) => 2,
            Value::String(_) => 3,
            _ => 4,
        }
    }
    fn address(text: &str) -> Option<[u8; 16]> {
        match text.parse::<IpAddr>().ok()? {
            IpAddr::V4(v4) => Some(v4.to_ipv6_mapped().octets()),
            IpAddr::V6(v6) => Some(v6.octets()),
        }
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => {
                let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
                x.total_cmp(&y)
            }
        },
        (Value::String(x), Value::String(y)) => match (address(x), address(y)) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => x.cmp(y),
        },
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// A key part as `key_as_string` prints it.
fn key_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// `name` as one JSON pointer step.
fn pointer_escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emulated(spec: Value) -> Emulated {
        let mut body =
            json!({ "aggs": { "pairs": spec, "other": { "terms": { "field": "action" } } } });
        let [taken] = take(&mut body).unwrap().try_into().unwrap();
        assert_eq!(
            body,
            json!({ "aggs": { "other": { "terms": { "field": "action" } } } })
        );
        taken
    }

    /// Buckets from several pages rank as one: by count, ties by key (addresses by their
    /// bytes, so 10.0.0.9 before 10.0.0.10), the rest counted as other.
    #[test]
    fn pages_rank_as_one_multi_terms() {
        let pairs = emulated(json!({ "multi_terms": {
            "terms": [{ "field": "srcaddr" }, { "field": "dstport", "missing": 0 }], "size": 2 } }));
        let page = pairs.page(Some(&json!({ "match_all": {} })), None);
        assert_eq!(
            page["aggs"]["pairs"]["composite"]["sources"],
            json!([{ "0": { "terms": { "field": "srcaddr" } } },
                   { "1": { "terms": { "field": "dstport", "missing_bucket": true } } }])
        );
        let gathered = vec![
            json!({ "key": { "0": "10.0.0.10", "1": 22 }, "doc_count": 5 }),
            json!({ "key": { "0": "10.0.0.9", "1": null }, "doc_count": 5 }),
            json!({ "key": { "0": "10.0.0.1", "1": 443 }, "doc_count": 2 }),
        ];
        assert_eq!(
            pairs.answer(gathered).unwrap(),
            json!({ "doc_count_error_upper_bound": 0, "sum_other_doc_count": 2, "buckets": [
                { "key": ["10.0.0.9", 0], "key_as_string": "10.0.0.9|0", "doc_count": 5 },
                { "key": ["10.0.0.10", 22], "key_as_string": "10.0.0.10|22", "doc_count": 5 },
            ] })
        );
    }

    /// An order by a sub-aggregation reads its value in each bucket; a path to none is an
    /// error naming it.
    #[test]
    fn an_order_by_a_metric_reads_the_sub_aggregation() {
        let pairs = emulated(json!({ "multi_terms": {
            "terms": [{ "field": "srcaddr" }, { "field": "dstaddr" }], "order": { "b": "desc" } },
            "aggs": { "b": { "sum": { "field": "bytes" } } } }));
        let gathered = vec![
            json!({ "key": { "0": "a", "1": "b" }, "doc_count": 9, "b": { "value": 10.0 } }),
            json!({ "key": { "0": "c", "1": "d" }, "doc_count": 1, "b": { "value": 99.0 } }),
        ];
        let answer = pairs.answer(gathered).unwrap();
        assert_eq!(answer["buckets"][0]["key"], json!(["c", "d"]));
        assert_eq!(answer["buckets"][0]["b"], json!({ "value": 99.0 }));
        let wrong = emulated(json!({ "multi_terms": {
            "terms": [{ "field": "srcaddr" }, { "field": "dstaddr" }], "order": { "x": "desc" } } }));
        let error = wrong
            .answer(vec![
                json!({ "key": { "0": "a", "1": "b" }, "doc_count": 1 }),
            ])
            .unwrap_err();
        assert!(
            error.to_string().contains("unknown aggregation [x]"),
            "{error}"
        );
    }

    /// What composite cannot answer is refused by name, never answered differently.
    #[test]
    fn what_composite_cannot_answer_is_refused() {
        for spec in [
            json!({ "multi_terms": { "terms": [{ "script": "1" }, { "field": "a" }] } }),
            json!({ "multi_terms": { "terms": [{ "field": "a" }, { "field": "b" }], "format": "x" } }),
            json!({ "multi_terms": { "terms": [{ "field": "a" }] } }),
            json!({ "multi_terms": { "terms": [{ "field": "a" }, { "field": "b" }], "size": 0 } }),
        ] {
            let mut body = json!({ "aggs": { "pairs": spec } });
            assert!(take(&mut body).is_err(), "{body}");
        }
    }
}
