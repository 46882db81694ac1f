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
use std::collections::HashMap;

use serde_json::{json, Map, Value};

use crate::backend::BackendError;

/// Combinations one emulated `multi_terms` may gather before it is refused.
pub const MAX_COMBINATIONS: usize = 100_000;

/// Combinations first asked per composite page: with a few sub-buckets each, within the
/// `search.max_buckets` of every 7.x cluster (10,000 before 7.10). A cluster that refuses a
/// page for its buckets is asked for smaller ones.
pub const PAGE_SIZE: usize = 1_000;

/// What of a search (of the options the policy lets through) selects the documents its
/// aggregations count or defines the fields they read, and so goes in every composite page;
/// the rest only its hits need.
const SELECTING: [&str; 5] = [
    "query",
    "min_score",
    "terminate_after",
    "timeout",
    "runtime_mappings",
];

/// The search every composite page of `body` shares: what selects its documents, none of
/// what only its hits need.
pub fn page_base(body: &Value) -> Value {
    let mut base: Map<String, Value> = body.as_object().cloned().unwrap_or_default();
    base.retain(|key, _| SELECTING.contains(&key.as_str()));
    base.insert("size".into(), json!(0));
    Value::Object(base)
}

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
                "aggs" | "aggregations" => {
                    // A pipeline that drops buckets would drop them page by page: a short
                    // page would end the paging, and the rest would rank without them.
                    let dropping = value.as_object().into_iter().flatten().find(|(_, sub)| {
                        sub.get("bucket_sort").is_some() || sub.get("bucket_selector").is_some()
                    });
                    if let Some((sub, _)) = dropping {
                        return Err(unanswerable(&format!(
                            "the sub-aggregation [{sub}] that drops buckets"
                        )));
                    }
                    subs = Some(value.clone());
                }
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

    /// The search for one composite page of `page_size` after `after` (the first without),
    /// over `base` (see [`page_base`]).
    fn page(&self, base: &Value, after: Option<&Value>, page_size: usize) -> Value {
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
        let mut composite = json!({ "size": page_size, "sources": sources });
        if let Some(after) = after {
            composite["after"] = after.clone();
        }
        let mut agg = json!({ "composite": composite });
        if let Some(subs) = &self.subs {
            agg["aggs"] = subs.clone();
        }
        let mut body = base.clone();
        body["aggs"] = json!({ self.name.clone(): agg });
        body
    }
}

/// The composite pages of one emulated `multi_terms`, asked one after the other.
pub struct Pages<'a> {
    multi: &'a Emulated,
    /// Every composite bucket so far, in the cluster's key order.
    gathered: Vec<Value>,
    /// The key the next page starts after; `None` before the first.
    after: Option<Value>,
    done: bool,
}

impl<'a> Pages<'a> {
    pub fn new(multi: &'a Emulated) -> Pages<'a> {
        Pages {
            multi,
            gathered: Vec::new(),
            after: None,
            done: false,
        }
    }

    /// The search for the next page, of `page_size` combinations; `None` once the last
    /// was gathered.
    pub fn next_page(&self, base: &Value, page_size: usize) -> Option<Value> {
        (!self.done).then(|| self.multi.page(base, self.after.as_ref(), page_size))
    }

    /// Reads the answer to the page of `page_size` last asked. A page the cluster answered
    /// in part (timed out, or shards failed) is an error: its combinations would be counted
    /// short, silently, and their ranking across pages be wrong. (A real `multi_terms` that
    /// times out answers in part, saying `timed_out`; here a search's `timeout` is a 504.) Shards that failed for their buckets fail as the whole search would
    /// (`too_many_buckets_exception`), to be asked again smaller.
    pub fn gather(&mut self, response: &mut Value, page_size: usize) -> Result<(), BackendError> {
        let name = &self.multi.name;
        if response.get("timed_out") == Some(&Value::Bool(true)) {
            return Err(BackendError::Cluster {
                status: 504,
                kind: "search_timeout".into(),
                reason: format!(
                    "a page of [{name}] timed out on the cluster, and would count its combinations in part"
                ),
            });
        }
        let failed = response.pointer("/_shards/failed").and_then(Value::as_u64);
        if let Some(failed @ 1..) = failed {
            let causes: Vec<&Value> = response
                .pointer("/_shards/failures")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|failure| failure.get("reason"))
                .collect();
            let cause = causes
                .iter()
                .find(|c| c["type"] == "too_many_buckets_exception")
                .or(causes.first());
            let text = |key: &str| cause.and_then(|c| c[key].as_str()).unwrap_or_default();
            return Err(BackendError::Cluster {
                status: 502,
                kind: match text("type") {
                    "" => "shard_failure".into(),
                    kind => kind.into(),
                },
                reason: format!(
                    "{failed} shard(s) failed a page of [{name}]: {}",
                    super::summarize(text("reason"))
                ),
            });
        }
        let agg = response
            .pointer_mut(&format!("/aggregations/{}", pointer_escape(name)))
            .ok_or_else(|| {
                BackendError::Internal(format!("the cluster did not answer [{name}]"))
            })?;
        let buckets = match agg.get_mut("buckets").map(Value::take) {
            Some(Value::Array(buckets)) => buckets,
            _ => Vec::new(),
        };
        // Clusters before 6.3 give no `after_key`: the last bucket's key is the same.
        let after = agg
            .get("after_key")
            .or_else(|| buckets.last().and_then(|b| b.get("key")))
            .cloned();
        self.done = buckets.len() < page_size;
        self.gathered.extend(buckets);
        if self.gathered.len() > MAX_COMBINATIONS {
            return Err(BackendError::bad_request(
                "too_many_buckets_exception",
                format!(
                    "[{name}] has more than {MAX_COMBINATIONS} combinations; a cluster without [multi_terms] (Elasticsearch 7.12 or later) has them ranked by flowdash, which holds no more. Narrow the time range or the query."
                ),
            ));
        }
        if !self.done {
            if after.is_none() || after == self.after {
                return Err(BackendError::Internal(format!(
                    "the cluster's pages of [{name}] did not move on (after {}): its composite aggregation cannot be paged",
                    after.unwrap_or(Value::Null)
                )));
            }
            self.after = after;
        }
        Ok(())
    }

    /// The `multi_terms` answer from every composite bucket gathered.
    pub fn answer(self) -> Result<Value, BackendError> {
        self.multi.answer(self.gathered)
    }
}

impl Emulated {
    /// The `multi_terms` answer from composite buckets in the cluster's key order: the best
    /// `size` by the order asked (keys in the cluster's order, so addresses by their bytes
    /// and keywords as text), keys as arrays and `|`-joined text, the rest's documents
    /// counted. A combination a `missing` value makes equal to another is one bucket.
    fn answer(&self, gathered: Vec<Value>) -> Result<Value, BackendError> {
        struct Candidate {
            keys: Vec<Value>,
            /// Where the cluster put it, ordering keys.
            position: usize,
            /// A `missing` value stands in a key.
            stood_in: Option<usize>,
            doc_count: u64,
            metrics: Vec<Option<f64>>,
            bucket: Map<String, Value>,
            /// Its place in key order (see [`key_ranks`]).
            rank: usize,
        }
        let mut candidates: Vec<Candidate> = Vec::with_capacity(gathered.len());
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (position, bucket) in gathered.into_iter().enumerate() {
            let Value::Object(mut bucket) = bucket else {
                continue;
            };
            let doc_count = bucket.get("doc_count").and_then(Value::as_u64).unwrap_or(0);
            let composite_key = bucket.remove("key").unwrap_or(Value::Null);
            let mut stood_in = None;
            let keys: Vec<Value> = self
                .sources
                .iter()
                .enumerate()
                .map(|(i, source)| match composite_key.get(i.to_string()) {
                    Some(Value::Null) | None => {
                        if source.missing.is_some() {
                            stood_in = stood_in.or(Some(i));
                        }
                        source.missing.clone().unwrap_or(Value::Null)
                    }
                    Some(value) => value.clone(),
                })
                .collect();
            if self.sources.iter().any(|s| s.missing.is_some()) {
                let text = Value::Array(keys.clone()).to_string();
                if let Some(&same) = seen.get(&text) {
                    if self.subs.is_some() {
                        return Err(bad(format!(
                            "[{}]: documents without a field take its [missing] value, which other documents have; their sub-aggregations cannot be merged on a cluster without [multi_terms] (Elasticsearch 7.12 or later). Pick a [missing] value no document has.",
                            self.name
                        )));
                    }
                    let into = &mut candidates[same];
                    into.doc_count += doc_count;
                    if into.stood_in.is_some() {
                        into.position = position;
                        into.stood_in = stood_in;
                    }
                    continue;
                }
                seen.insert(text, candidates.len());
            }
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
                position,
                stood_in,
                doc_count,
                metrics,
                bucket,
                rank: 0,
            });
        }
        let mut other = 0;
        candidates.retain(|c| {
            let kept = c.doc_count >= self.min_doc_count;
            if !kept {
                other += c.doc_count;
            }
            kept
        });
        let ranks = key_ranks(
            &candidates
                .iter()
                .map(|c| (c.position, &c.keys[..], c.stood_in))
                .collect::<Vec<_>>(),
        );
        for (candidate, rank) in candidates.iter_mut().zip(ranks) {
            candidate.rank = rank;
        }
        let compare = |a: &Candidate, b: &Candidate| {
            let mut metric = 0;
            for (key, descending) in &self.order {
                let ordering = match key {
                    OrderKey::Count => a.doc_count.cmp(&b.doc_count),
                    OrderKey::Key => a.rank.cmp(&b.rank),
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
            a.rank.cmp(&b.rank)
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

/// Each combination's place in key order, given as `(its place in the cluster's order, its
/// keys, the first key a `missing` value stands in)`. The cluster put a stood-in combination
/// where its null sorts, first among the combinations sharing its keys before that one; it is
/// moved among them to where its value goes, in the order the column's values have there
/// ([`TypedKey`], or as text where that is the cluster's order: a keyword field of addresses
/// puts `10.0.0.10` before `10.0.0.9`), or left where it is if neither is. Each column's
/// groups are keyed once, so a stood-in costs a binary search; ranks are computed once, so
/// the order is total whatever the values.
fn key_ranks(combinations: &[(usize, &[Value], Option<usize>)]) -> Vec<usize> {
    let mut plain: Vec<(usize, usize)> = combinations
        .iter()
        .enumerate()
        .filter(|(_, (_, _, stood_in))| stood_in.is_none())
        .map(|(index, (position, _, _))| (*position, index))
        .collect();
    plain.sort_unstable();
    let columns: std::collections::BTreeSet<usize> =
        combinations.iter().filter_map(|c| c.2).collect();
    let placings: HashMap<usize, ColumnPlacing> = columns
        .into_iter()
        .map(|column| (column, ColumnPlacing::new(combinations, &plain, column)))
        .collect();
    // (place among the plain ones, plain (after the stood-in ones placed there), the
    // stood-in's keys from its column, position, index)
    let mut order: Vec<(usize, bool, Vec<TypedKey>, usize, usize)> = plain
        .iter()
        .enumerate()
        .map(|(place, &(position, index))| (place, true, Vec::new(), position, index))
        .collect();
    for (index, &(position, keys, stood_in)) in combinations.iter().enumerate() {
        let Some(column) = stood_in else {
            continue;
        };
        let first = plain.partition_point(|(plain_position, _)| *plain_position < position);
        let (before, own) = placings[&column].place(keys);
        order.push((first + before, false, own, position, index));
    }
    order.sort_unstable();
    let mut ranks = vec![0; combinations.len()];
    for (rank, entry) in order.iter().enumerate() {
        ranks[entry.4] = rank;
    }
    ranks
}

/// Where combinations whose key `column` a `missing` value stands in go among the plain ones
/// sharing their keys before it: each such group's keys from `column` on, in the cluster's
/// order, read in the one way that keeps every group in that order (none: left in place).
struct ColumnPlacing {
    column: usize,
    read: Option<fn(&Value) -> TypedKey>,
    groups: HashMap<String, Vec<Vec<TypedKey>>>,
}

impl ColumnPlacing {
    fn new(
        combinations: &[(usize, &[Value], Option<usize>)],
        plain: &[(usize, usize)],
        column: usize,
    ) -> ColumnPlacing {
        let prefix = |keys: &[Value]| Value::from(&keys[..column.min(keys.len())]).to_string();
        let rest = |keys: &[Value], read: fn(&Value) -> TypedKey| -> Vec<TypedKey> {
            keys.get(column..)
                .unwrap_or_default()
                .iter()
                .map(read)
                .collect()
        };
        let mut members: HashMap<String, Vec<usize>> = HashMap::new();
        for &(_, index) in plain {
            members
                .entry(prefix(combinations[index].1))
                .or_default()
                .push(index);
        }
        let readings: [fn(&Value) -> TypedKey; 2] = [TypedKey::of, TypedKey::as_text];
        for read in readings {
            let groups: HashMap<String, Vec<Vec<TypedKey>>> = members
                .iter()
                .map(|(key, indices)| {
                    let keys = indices.iter().map(|&i| rest(combinations[i].1, read));
                    (key.clone(), keys.collect())
                })
                .collect();
            if groups.values().all(|keys| keys.is_sorted()) {
                return ColumnPlacing {
                    column,
                    read: Some(read),
                    groups,
                };
            }
        }
        ColumnPlacing {
            column,
            read: None,
            groups: HashMap::new(),
        }
    }

    /// How many of its group go before a combination with `keys`, and its keys from the
    /// column as read (to order stood-in combinations placed at one spot).
    fn place(&self, keys: &[Value]) -> (usize, Vec<TypedKey>) {
        let Some(read) = self.read else {
            return (0, Vec::new());
        };
        let split = self.column.min(keys.len());
        let own: Vec<TypedKey> = keys[split..].iter().map(read).collect();
        let prefix = Value::from(&keys[..split]).to_string();
        let before = self
            .groups
            .get(&prefix)
            .map_or(0, |group| group.partition_point(|other| *other < own));
        (before, own)
    }
}

/// A key part in an order of its kind, for placing a `missing` value among the cluster's
/// keys: numbers by value, addresses by their bytes (as the cluster orders `ip` fields, IPv4
/// as IPv4-mapped IPv6), other text by its bytes.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum TypedKey {
    Null,
    Bool(bool),
    /// An `f64`'s bits, flipped so that they order as the number does.
    Number(u64),
    Address(u128),
    Text(String),
}

impl TypedKey {
    fn of(value: &Value) -> TypedKey {
        match value {
            Value::Null => TypedKey::Null,
            Value::Bool(b) => TypedKey::Bool(*b),
            Value::Number(n) => {
                let bits = n.as_f64().unwrap_or(0.0).to_bits();
                TypedKey::Number(if bits >> 63 == 1 {
                    !bits
                } else {
                    bits | 1 << 63
                })
            }
            Value::String(text) => match text.parse::<std::net::IpAddr>() {
                Ok(std::net::IpAddr::V4(v4)) => TypedKey::Address(v4.to_ipv6_mapped().into()),
                Ok(std::net::IpAddr::V6(v6)) => TypedKey::Address(v6.into()),
                Err(_) => TypedKey::Text(text.clone()),
            },
            other => TypedKey::Text(other.to_string()),
        }
    }

    /// Strings as text whatever they look like (a keyword field's order); the rest as
    /// [`TypedKey::of`].
    fn as_text(value: &Value) -> TypedKey {
        match value {
            Value::String(text) => TypedKey::Text(text.clone()),
            other => TypedKey::of(other),
        }
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

    /// Pages share what selects the search's documents, not what only its hits need.
    #[test]
    fn pages_keep_the_search_but_its_hits() {
        let pairs = emulated(json!({ "multi_terms": {
            "terms": [{ "field": "srcaddr" }, { "field": "dstport", "missing": 0 }], "size": 2 } }));
        let search = json!({ "size": 5, "sort": ["@timestamp"], "query": { "match_all": {} },
            "min_score": 1, "post_filter": { "match_all": {} }, "highlight": {},
            "runtime_mappings": { "hour": { "type": "long" } },
            "aggs": { "other": { "terms": { "field": "action" } } } });
        let page = pairs.page(&page_base(&search), None, 7);
        assert_eq!(
            page,
            json!({ "size": 0, "query": { "match_all": {} }, "min_score": 1,
                "runtime_mappings": { "hour": { "type": "long" } },
                "aggs": { "pairs": { "composite": { "size": 7, "sources": [
                    { "0": { "terms": { "field": "srcaddr" } } },
                    { "1": { "terms": { "field": "dstport", "missing_bucket": true } } }] } } } })
        );
    }

    /// Pages move on by `after_key`, or by the last key where the cluster (before 6.3)
    /// gives none; a cluster that repeats a page is an error, not a loop.
    #[test]
    fn pages_move_on_or_stop_saying_why() {
        let pairs = emulated(json!({ "multi_terms": {
            "terms": [{ "field": "srcaddr" }, { "field": "dstaddr" }] } }));
        let base = page_base(&json!({}));
        let mut pages = Pages::new(&pairs);
        let page = |key: &str| {
            json!({ "aggregations": { "pairs": { "buckets": [
            { "key": { "0": key, "1": "x" }, "doc_count": 1 }] } } })
        };
        pages.gather(&mut page("a"), 1).unwrap();
        let next = pages.next_page(&base, 1).unwrap();
        assert_eq!(
            next["aggs"]["pairs"]["composite"]["after"],
            json!({ "0": "a", "1": "x" })
        );
        let error = pages.gather(&mut page("a"), 1).unwrap_err();
        assert!(error.to_string().contains("did not move on"), "{error}");
        let mut pages = Pages::new(&pairs);
        pages.gather(&mut page("a"), 2).unwrap();
        assert!(pages.next_page(&base, 2).is_none());
    }

    /// A page answered in part is an error, never a partial answer; shards that failed for
    /// their buckets say so, and the page is asked again smaller.
    #[test]
    fn a_partial_page_is_an_error() {
        let pairs = emulated(json!({ "multi_terms": {
            "terms": [{ "field": "srcaddr" }, { "field": "dstaddr" }] } }));
        let answered = json!({ "aggregations": { "pairs": { "buckets": [
            { "key": { "0": "a", "1": "x" }, "doc_count": 1 }] } } });
        let mut timed_out = answered.clone();
        timed_out["timed_out"] = json!(true);
        let error = Pages::new(&pairs).gather(&mut timed_out, 1).unwrap_err();
        assert_eq!(error.status(), 504, "{error}");
        let mut failed = answered.clone();
        failed["_shards"] = json!({ "total": 3, "successful": 1, "failed": 2, "failures": [
            { "shard": 0, "reason": { "type": "illegal_argument_exception", "reason": "x" } },
            { "shard": 1, "reason": { "type": "too_many_buckets_exception", "reason": "y" } }] });
        let error = Pages::new(&pairs).gather(&mut failed, 1).unwrap_err();
        assert!(super::super::is_too_many_buckets(&error), "{error}");
        assert!(error.to_string().contains("2 shard(s)"), "{error}");
        let mut fine = answered;
        fine["_shards"] = json!({ "total": 3, "successful": 3, "failed": 0 });
        fine["timed_out"] = json!(false);
        Pages::new(&pairs).gather(&mut fine, 1).unwrap();
    }

    /// A combination a `missing` value stands in is placed by that value among those
    /// sharing its keys before it, not where the cluster put its null, whether the cluster
    /// orders addresses by their bytes (an `ip` field) or as text (a keyword).
    #[test]
    fn a_stood_in_key_sorts_by_its_value() {
        let pairs = emulated(json!({ "multi_terms": {
            "terms": [{ "field": "srcaddr" }, { "field": "dstport", "missing": 65536 }],
            "order": { "_key": "asc" } } }));
        // The answer's keys, from composite buckets of (address, port) in the cluster's order.
        let keys = |composite: &[(&str, Value)]| -> Vec<Value> {
            let gathered = composite
                .iter()
                .map(
                    |(address, port)| json!({ "key": { "0": address, "1": port }, "doc_count": 1 }),
                )
                .collect();
            let answer = pairs.answer(gathered).unwrap();
            answer["buckets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["key"].clone())
                .collect()
        };
        let addresses = [
            ("10.0.0.9", Value::Null),
            ("10.0.0.9", json!(22)),
            ("10.0.0.9", json!(443)),
            ("10.0.0.10", Value::Null),
            ("10.0.0.10", json!(80)),
        ];
        assert_eq!(
            keys(&addresses),
            [
                json!(["10.0.0.9", 22]),
                json!(["10.0.0.9", 443]),
                json!(["10.0.0.9", 65536]),
                json!(["10.0.0.10", 80]),
                json!(["10.0.0.10", 65536]),
            ]
        );
        let texts = [
            ("10.0.0.10", json!(80)),
            ("10.0.0.9", Value::Null),
            ("10.0.0.9", json!(22)),
        ];
        assert_eq!(
            keys(&texts),
            [
                json!(["10.0.0.10", 80]),
                json!(["10.0.0.9", 22]),
                json!(["10.0.0.9", 65536]),
            ]
        );
        // A missing address, on a keyword field: among the others as text.
        let sources = emulated(json!({ "multi_terms": {
            "terms": [{ "field": "srcaddr", "missing": "10.0.0.5" }, { "field": "dstport" }],
            "order": { "_key": "asc" } } }));
        let gathered = vec![
            json!({ "key": { "0": null, "1": 22 }, "doc_count": 1 }),
            json!({ "key": { "0": "10.0.0.10", "1": 80 }, "doc_count": 1 }),
            json!({ "key": { "0": "10.0.0.9", "1": 22 }, "doc_count": 1 }),
        ];
        let answer = sources.answer(gathered).unwrap();
        let keys: Vec<&Value> = answer["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| &b["key"])
            .collect();
        assert_eq!(
            keys,
            [
                &json!(["10.0.0.10", 80]),
                &json!(["10.0.0.5", 22]),
                &json!(["10.0.0.9", 22]),
            ]
        );
    }

    /// 100,000 combinations a `missing` value stands in, among 100,000 others, each get a
    /// rank of their own (placing one is a binary search in its group).
    #[test]
    fn many_stood_in_keys_each_get_a_rank() {
        let keys: Vec<Vec<Value>> = (0..200_000u32)
            .map(|i| {
                vec![
                    json!(format!("10.{}.{}.0", i / 65_536, i / 256 % 256)),
                    json!(i),
                ]
            })
            .collect();
        let combinations: Vec<(usize, &[Value], Option<usize>)> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (i, &k[..], (i % 2 == 0).then_some(0)))
            .collect();
        let ranks = key_ranks(&combinations);
        assert_eq!(ranks.len(), 200_000);
        let mut seen = ranks.clone();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 200_000, "every rank once");
    }

    /// A `missing` value some documents have makes one combination of two composite
    /// buckets; with sub-aggregations, which cannot be added, that is refused.
    #[test]
    fn a_missing_value_merges_with_the_same_value() {
        let spec = json!({ "multi_terms": {
            "terms": [{ "field": "srcaddr" }, { "field": "dstport", "missing": 0 }] } });
        let gathered = vec![
            json!({ "key": { "0": "10.0.0.1", "1": null }, "doc_count": 2 }),
            json!({ "key": { "0": "10.0.0.1", "1": 0 }, "doc_count": 3 }),
        ];
        let answer = emulated(spec.clone()).answer(gathered.clone()).unwrap();
        assert_eq!(answer["buckets"][0]["doc_count"], 5);
        assert_eq!(answer["buckets"].as_array().unwrap().len(), 1);
        let mut with_subs = spec;
        with_subs["aggs"] = json!({ "b": { "sum": { "field": "bytes" } } });
        let error = emulated(with_subs).answer(gathered).unwrap_err();
        assert!(error.to_string().contains("[missing]"), "{error}");
    }

    /// Buckets from several pages rank as one: by count, ties by the cluster's key order
    /// (addresses by their bytes, so 10.0.0.9 before 10.0.0.10), the rest counted as other.
    #[test]
    fn pages_rank_as_one_multi_terms() {
        let pairs = emulated(json!({ "multi_terms": {
            "terms": [{ "field": "srcaddr" }, { "field": "dstport", "missing": 0 }], "size": 2 } }));
        let gathered = vec![
            json!({ "key": { "0": "10.0.0.1", "1": 443 }, "doc_count": 2 }),
            json!({ "key": { "0": "10.0.0.9", "1": null }, "doc_count": 5 }),
            json!({ "key": { "0": "10.0.0.10", "1": 22 }, "doc_count": 5 }),
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
            json!({ "multi_terms": { "terms": [{ "field": "a" }, { "field": "b" }] },
                "aggs": { "top": { "bucket_sort": { "size": 3 } } } }),
        ] {
            let mut body = json!({ "aggs": { "pairs": spec } });
            assert!(take(&mut body).is_err(), "{body}");
        }
    }
}
