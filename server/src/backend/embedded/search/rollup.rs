//! Answering a search from rollups (see `embedded/rollup`) where the answer is exactly the
//! one the raw flows give, as Elasticsearch's rollup search rewrote requests for rollup
//! indices.
//!
//! A search qualifies when it asks for no hits, filters and splits only on one cuboid's
//! dimensions, bounds time only at its top level, and aggregates with what rollup documents
//! keep: terms, histograms, ranges and filters over dimensions, date histograms whose buckets
//! are whole multiples of the cuboid's resolution (hours, or minutes for the per-minute
//! cuboid, tried when no hourly one answers), sums of bytes and packets, distinct counts of
//! dimensions. Then:
//! - each index with a rollup for its current flows is read in parts: its rollup for the
//!   whole hours (or minutes) within the query's time range, its raw flows for the partial
//!   ones at either end; indices without one are read raw;
//! - a document stands for `_flow_count` flows (a raw flow has none, and counts one): every
//!   bucket gets a hidden sum of it, which becomes its `doc_count`, and terms order by it
//!   where they ordered by count;
//! - the answer is given back in the request's own shape: counts, `sum_other_doc_count` and
//!   the total hits from the hidden sums, the hidden aggregations removed.
//!
//! Anything else (an option this module does not know, a minimum count, an aggregation
//! that reads per-flow values) is read raw.

use std::sync::Arc;

use serde_json::{json, Map, Value as Json};
use tantivy::Searcher;

use super::aggs::{parse_aggs, AggRequest};
use super::datemath::Zone;
use super::query::{compile, date_bounds, half_open, BoolQuery, Query, QueryContext, RangeSpec};
use super::{SearchBody, SearchError, TrackTotalHits};
use crate::backend::embedded::index::{stats_of, FlowIndex};
use crate::backend::embedded::rollup::{Rollup, CUBOIDS, HOUR_MS, MINUTE_MS, SUMMED};
use crate::backend::embedded::schema::{FLOW_COUNT, TIMESTAMP};
use crate::backend::embedded::EmbeddedEngine;

/// The hidden sum each bucket gets: the flows it holds.
const FLOWS: &str = "__flows";
/// The hidden filter beside a terms aggregation: the flows lacking its field.
const MISSING_PREFIX: &str = "__missing_";

/// A search found able to use rollups, before its queries are compiled.
pub(crate) struct Chosen {
    /// The request's aggregations, rewritten to count flows.
    rewritten: Json,
    /// The aggregation tree, to give the answer its request's shape.
    tree: Vec<Node>,
    /// The whole hours (or minutes) read from rollups, `[from, to)` in epoch ms.
    hours: (i64, i64),
    /// The query's own time range, `[from, to)` in epoch ms, exact.
    range: (i64, i64),
    /// Per selected index, the cuboid read for that stretch, when it has one.
    pub cuboids: Vec<Option<Cuboid>>,
}

/// An index's cuboid, as a search reads it.
pub(crate) struct Cuboid {
    pub index: Arc<FlowIndex>,
    pub searcher: Searcher,
    /// Whether some of the index's flows lie before the rolled stretch: they are read raw.
    pub flows_before: bool,
    /// Or after them.
    pub flows_after: bool,
}

/// A search that reads rollups, ready to run.
pub(crate) struct RollupSearch {
    /// The rewritten aggregations, as raw flows are read with.
    pub aggs: Vec<AggRequest>,
    /// The same, as rollups are read with.
    pub rolled_aggs: Arc<Vec<AggRequest>>,
    /// What indices with a rollup read of their raw flows before the rolled hours.
    pub before: Box<dyn tantivy::query::Query>,
    /// And after them.
    pub after: Box<dyn tantivy::query::Query>,
    /// What rollups are read with: the rolled hours.
    pub rolled: Box<dyn tantivy::query::Query>,
    /// Per selected index, the cuboid read for the rolled hours.
    pub cuboids: Vec<Option<Cuboid>>,
    tree: Vec<Node>,
}

/// An aggregation of the request, as far as its answer is rewritten.
#[derive(Debug)]
struct Node {
    name: String,
    kind: NodeKind,
    children: Vec<Node>,
}

#[derive(Debug, PartialEq)]
enum NodeKind {
    /// Terms: buckets, and `sum_other_doc_count` (counting flows lacking the field unless
    /// `missing` gives them a bucket).
    Terms { has_missing_bucket: bool },
    /// Histograms, ranges, filters: buckets.
    Buckets,
    /// `filter`: one bucket, the aggregation's own object.
    Single,
    /// A metric: nothing to rewrite.
    Metric,
}

/// Whether the search can read rollups, and where: `None` reads it raw.
pub(crate) fn choose(
    engine: &EmbeddedEngine,
    body: &Json,
    request: &SearchBody,
    selected: &[Arc<FlowIndex>],
    searchers: &[(String, Searcher)],
    context: &QueryContext<'_>,
) -> Option<Chosen> {
    if request.size != 0 || request.from != 0 || request.sort.after.is_some() {
        return None;
    }
    let mut fields = Vec::new();
    let mut time = TimeLimits::default();
    if !query_reads(&request.query, true, context, &mut fields, &mut time) {
        return None;
    }
    // An unbounded end is the hour of the searched flows' first or last: no flow lies
    // beyond it.
    // The bounds of the snapshots read, not the indices' kept counts: those are refreshed
    // when the number of flows changes, and a rollup answers for this very snapshot.
    // An index kept only as its rollup has the bounds of the flows it stands for.
    let stats: Vec<_> = selected
        .iter()
        .zip(searchers)
        .map(|(index, (_, searcher))| match index.rolled_up_only() {
            true => index.stats(),
            false => stats_of(searcher),
        })
        .collect();
    let first = stats.iter().filter_map(|s| s.min_ms).min()?;
    let last = stats.iter().filter_map(|s| s.max_ms).max()?;
    let empty = Map::new();
    let aggs = match body.get("aggs").or_else(|| body.get("aggregations")) {
        Some(Json::Object(aggs)) => aggs,
        Some(_) => return None,
        None => &empty,
    };
    // Hourly cuboids first (fewer documents), then the per-minute one for buckets of minutes.
    for resolution in [HOUR_MS, MINUTE_MS] {
        // An unbounded end is the stretch of the searched flows' first or last: no flow
        // lies beyond it.
        let limits = TimeLimits {
            from: time
                .from
                .or(Some(first.div_euclid(resolution) * resolution)),
            to: time
                .to
                .or((last.div_euclid(resolution) + 1).checked_mul(resolution)),
        };
        let Some(rolled) = limits.whole_units(resolution) else {
            continue;
        };
        let mut rewriter = Rewriter {
            context,
            fields: fields.clone(),
            rolled,
            resolution,
        };
        let Some((mut rewritten, tree)) = rewriter.level(aggs) else {
            continue;
        };
        rewritten.insert(FLOWS.into(), flows_sum());
        let dimensions = rewriter.fields.iter().map(String::as_str);
        // One cuboid for all indices: the same documents answer whatever day they are of.
        let Some(cuboid) = CUBOIDS.iter().position(|c| {
            c.resolution_ms == resolution && dimensions.clone().all(|f| c.dimensions.contains(&f))
        }) else {
            continue;
        };
        // Whether the query reaches into the partial stretch before the rolled ones, or after.
        let (from, to) = (limits.from?, limits.to?);
        let (reaches_before, reaches_after) = (from < rolled.0, to > rolled.1);
        let cuboids: Vec<Option<Cuboid>> = selected
            .iter()
            .zip(searchers)
            .zip(&stats)
            .map(|((index, (_, searcher)), stats)| {
                let (min, max) = (stats.min_ms?, stats.max_ms?);
                if max < rolled.0 || min >= rolled.1 {
                    return None;
                }
                let rollup: Arc<Rollup> = engine.rollup_for(index, searcher)?;
                let cuboid = rollup.cuboid(cuboid)?.clone();
                // Of an index kept only as its rollup, the partial stretches have no flows.
                let raw = !index.rolled_up_only();
                Some(Cuboid {
                    searcher: cuboid.searcher(),
                    index: cuboid,
                    flows_before: raw && reaches_before && min < rolled.0,
                    flows_after: raw && reaches_after && max >= rolled.1,
                })
            })
            .collect();
        if cuboids.iter().all(Option::is_none) {
            continue;
        }
        return Some(Chosen {
            rewritten: Json::Object(rewritten),
            tree,
            hours: rolled,
            range: (from, to),
            cuboids,
        });
    }
    None
}

impl Chosen {
    /// Compiles the rewritten aggregations and the queries of the three parts: the partial
    /// hours before and after the rolled ones (raw), and the rolled hours (once the
    /// context has the rollups' columns).
    pub fn compile(
        self,
        query: &Query,
        context: &QueryContext<'_>,
    ) -> Result<RollupSearch, SearchError> {
        let aggs = parse_aggs(&self.rewritten, context)?;
        let rolled_aggs = Arc::new(parse_aggs(&for_rollups(&self.rewritten), context)?);
        // Each part is the query with its time range replaced by the part's: two ranges on
        // the time column would each test every flow of the day, where one is read only
        // as far as it reaches.
        let untimed = without_time(query);
        let part = |from: i64, to: i64| {
            compile(
                &Query::Bool(BoolQuery {
                    filter: vec![
                        untimed.clone(),
                        Query::Range(RangeSpec {
                            field: TIMESTAMP.into(),
                            gte: Some(json!(from)),
                            lt: Some(json!(to)),
                            format: Some("epoch_millis".into()),
                            ..RangeSpec::default()
                        }),
                    ],
                    ..BoolQuery::default()
                }),
                context,
            )
        };
        let before = part(self.range.0, self.hours.0)?;
        let after = part(self.hours.1, self.range.1)?;
        let rolled = part(self.hours.0, self.hours.1)?;
        Ok(RollupSearch {
            aggs,
            rolled_aggs,
            before,
            after,
            rolled,
            cuboids: self.cuboids,
            tree: self.tree,
        })
    }
}

impl RollupSearch {
    /// Gives the answer the request's shape: flows as counts, hidden sums removed.
    pub fn restore(&self, response: &mut Json, track_total_hits: TrackTotalHits) {
        let Some(aggregations) = response
            .get_mut("aggregations")
            .and_then(Json::as_object_mut)
        else {
            return;
        };
        let total = take_flows(aggregations);
        restore_level(&self.tree, aggregations, total);
        if aggregations.is_empty() {
            response
                .as_object_mut()
                .expect("an answer is an object")
                .remove("aggregations");
        }
        let hits = &mut response["hits"];
        match track_total_hits {
            TrackTotalHits::Off => {}
            TrackTotalHits::UpTo(limit) if total > limit => {
                hits["total"] = json!({ "value": limit, "relation": "gte" })
            }
            _ => hits["total"] = json!({ "value": total, "relation": "eq" }),
        }
    }
}

/// The hidden sum of flows: a raw flow has no flow count and counts one.
fn flows_sum() -> Json {
    json!({ "sum": { "field": FLOW_COUNT, "missing": 1 } })
}

/// The aggregations as rollups are read with: every rollup document has a flow count, and
/// a sum without a `missing` value reads its column a block at a time.
fn for_rollups(aggs: &Json) -> Json {
    match aggs {
        Json::Object(object) => Json::Object(
            object
                .iter()
                .map(|(key, value)| {
                    // `__flows` names the sum, and in an `order` its direction.
                    let value = if key == FLOWS && value.get("sum").is_some() {
                        json!({ "sum": { "field": FLOW_COUNT } })
                    } else {
                        for_rollups(value)
                    };
                    (key.clone(), value)
                })
                .collect(),
        ),
        Json::Array(items) => Json::Array(items.iter().map(for_rollups).collect()),
        other => other.clone(),
    }
}

/// Removes a bucket's hidden sum and gives its value.
fn take_flows(bucket: &mut Map<String, Json>) -> u64 {
    bucket
        .remove(FLOWS)
        .and_then(|sum| sum.get("value").and_then(Json::as_f64))
        .map_or(0, |value| value.round() as u64)
}

fn restore_level(nodes: &[Node], level: &mut Map<String, Json>, parent_flows: u64) {
    for node in nodes {
        let hidden = level.remove(&format!("{MISSING_PREFIX}{}", node.name));
        let Some(answer) = level.get_mut(&node.name).and_then(Json::as_object_mut) else {
            continue;
        };
        let restore_bucket = |bucket: &mut Json| -> u64 {
            let Some(bucket) = bucket.as_object_mut() else {
                return 0;
            };
            let flows = take_flows(bucket);
            bucket.insert("doc_count".into(), json!(flows));
            restore_level(&node.children, bucket, flows);
            flows
        };
        match node.kind {
            NodeKind::Metric => {}
            NodeKind::Single => {
                let flows = take_flows(answer);
                answer.insert("doc_count".into(), json!(flows));
                restore_level(&node.children, answer, flows);
            }
            NodeKind::Buckets | NodeKind::Terms { .. } => {
                let shown: u64 = match answer.get_mut("buckets") {
                    Some(Json::Array(buckets)) => buckets.iter_mut().map(restore_bucket).sum(),
                    Some(Json::Object(buckets)) => buckets.values_mut().map(restore_bucket).sum(),
                    _ => 0,
                };
                if let NodeKind::Terms { has_missing_bucket } = node.kind {
                    let missing = match hidden {
                        Some(Json::Object(mut filter)) if !has_missing_bucket => {
                            take_flows(&mut filter)
                        }
                        _ => 0,
                    };
                    let other = parent_flows.saturating_sub(missing + shown);
                    answer.insert("sum_other_doc_count".into(), json!(other));
                }
            }
        }
    }
}

/// The query's bounds on `@timestamp`, exact and half-open.
#[derive(Default)]
struct TimeLimits {
    from: Option<i64>,
    to: Option<i64>,
}

impl TimeLimits {
    /// The whole stretches of `unit` ms within the bounds, when there is at least one.
    fn whole_units(&self, unit: i64) -> Option<(i64, i64)> {
        let from = self.from?;
        let up = i64::from(from.rem_euclid(unit) != 0);
        let from = from.div_euclid(unit).checked_add(up)?.checked_mul(unit)?;
        let to = self.to?.div_euclid(unit) * unit;
        (from < to).then_some((from, to))
    }

    /// Narrows the bounds by a range on `@timestamp`; false when a bound does not resolve.
    fn narrow(&mut self, range: &RangeSpec, context: &QueryContext<'_>) -> bool {
        let Some((from, to)) = date_bounds(range, &context.now).ok().and_then(half_open) else {
            return false;
        };
        if let Some(from) = from {
            self.from = Some(self.from.map_or(from, |f| f.max(from)));
        }
        if let Some(to) = to {
            self.to = Some(self.to.map_or(to, |t| t.min(to)));
        }
        true
    }
}

/// The query without its time bounds, which [`query_reads`] found only at its top level.
fn without_time(query: &Query) -> Query {
    match query {
        Query::Range(range) if range.field == TIMESTAMP => Query::MatchAll,
        Query::Bool(b) => Query::Bool(BoolQuery {
            must: b.must.iter().map(without_time).collect(),
            filter: b.filter.iter().map(without_time).collect(),
            ..b.clone()
        }),
        Query::QueryString(inner) => Query::QueryString(Box::new(without_time(inner))),
        other => other.clone(),
    }
}

/// Whether a query looks only at dimensions (added to `fields`) and bounds time only where
/// every match must satisfy the bound (`conjunctive`), narrowing `time` by those bounds.
fn query_reads(
    query: &Query,
    conjunctive: bool,
    context: &QueryContext<'_>,
    fields: &mut Vec<String>,
    time: &mut TimeLimits,
) -> bool {
    match query {
        Query::MatchAll | Query::MatchNone => true,
        Query::Range(range) if range.field == TIMESTAMP => {
            conjunctive && time.narrow(range, context)
        }
        Query::Ids(_) => false,
        Query::Bool(b) => {
            b.must
                .iter()
                .chain(&b.filter)
                .all(|q| query_reads(q, conjunctive, context, fields, time))
                && b.should
                    .iter()
                    .chain(&b.must_not)
                    .all(|q| query_reads(q, false, context, fields, time))
        }
        Query::QueryString(inner) => query_reads(inner, conjunctive, context, fields, time),
        // A test of one field's values (term, terms, match, range, exists, prefix, wildcard).
        leaf => leaf
            .field()
            .is_some_and(|field| dimension(field, context, fields)),
    }
}

/// Whether `name` is a field some cuboid keeps (added to `fields` by its schema name).
fn dimension(name: &str, context: &QueryContext<'_>, fields: &mut Vec<String>) -> bool {
    let name = name.strip_suffix(".keyword").unwrap_or(name);
    if context.schema.field(name).is_none() || !crate::backend::embedded::rollup::is_dimension(name)
    {
        return false;
    }
    if !fields.iter().any(|f| f == name) {
        fields.push(name.to_owned());
    }
    true
}

/// Checks and rewrites a request's aggregations, level by level.
struct Rewriter<'c, 'a> {
    context: &'c QueryContext<'a>,
    /// The dimensions read so far.
    fields: Vec<String>,
    /// The rolled stretch, for time zones whose offsets must be whole units there.
    rolled: (i64, i64),
    /// The cuboids' resolution: buckets must be whole multiples of it.
    resolution: i64,
}

/// Options each aggregation may have for its answer to come from rollups unchanged. Not
/// `include` or `exclude` (a terms' `sum_other_doc_count` counts only the terms they let
/// through, which the hidden sums cannot tell), nor a date histogram's `hard_bounds` (rollup
/// documents are stamped at their hour's start: a bound inside an hour would cut it
/// elsewhere than the flows).
const TERMS_OPTIONS: &[&str] = &[
    "field",
    "size",
    "order",
    "missing",
    "min_doc_count",
    "shard_size",
    "show_term_doc_count_error",
    "value_type",
    "format",
];
const DATE_HISTOGRAM_OPTIONS: &[&str] = &[
    "field",
    "fixed_interval",
    "calendar_interval",
    "interval",
    "time_zone",
    "min_doc_count",
    "extended_bounds",
    "format",
    "offset",
    "keyed",
    "order",
];
const HISTOGRAM_OPTIONS: &[&str] = &[
    "field",
    "interval",
    "min_doc_count",
    "extended_bounds",
    "hard_bounds",
    "offset",
    "keyed",
    "order",
    "format",
];
const RANGE_OPTIONS: &[&str] = &["field", "ranges", "keyed", "format"];
const FILTERS_OPTIONS: &[&str] = &["filters", "other_bucket", "other_bucket_key", "keyed"];

impl Rewriter<'_, '_> {
    /// One level of aggregations: rewritten, with its tree; `None` when one cannot be read
    /// from rollups.
    fn level(&mut self, aggs: &Map<String, Json>) -> Option<(Map<String, Json>, Vec<Node>)> {
        let mut rewritten = Map::new();
        let mut nodes = Vec::new();
        for (name, definition) in aggs {
            if name.starts_with("__") {
                return None;
            }
            let definition = definition.as_object()?;
            let mut kinds = definition
                .iter()
                .filter(|(key, _)| !matches!(key.as_str(), "aggs" | "aggregations" | "meta"));
            let (agg_type, options) = kinds.next()?;
            if kinds.next().is_some() {
                return None;
            }
            let options = options.as_object()?;
            let children = match definition
                .get("aggs")
                .or_else(|| definition.get("aggregations"))
            {
                Some(Json::Object(children)) => Some(children),
                Some(_) => return None,
                None => None,
            };
            let (kind, options) = self.aggregation(agg_type, options)?;
            let mut out = Map::new();
            if let Some(meta) = definition.get("meta") {
                out.insert("meta".into(), meta.clone());
            }
            let (mut sub, sub_nodes) = match children {
                Some(children) => self.level(children)?,
                None => (Map::new(), Vec::new()),
            };
            if kind == NodeKind::Metric {
                if !sub.is_empty() {
                    return None;
                }
            } else {
                sub.insert(FLOWS.into(), flows_sum());
                out.insert("aggs".into(), Json::Object(sub));
            }
            if let NodeKind::Terms {
                has_missing_bucket: false,
            } = kind
            {
                let field = options["field"].clone();
                rewritten.insert(
                    format!("{MISSING_PREFIX}{name}"),
                    json!({
                        "filter": { "bool": { "must_not": [ { "exists": { "field": field } } ] } },
                        "aggs": { FLOWS: flows_sum() }
                    }),
                );
            }
            out.insert(agg_type.clone(), Json::Object(options));
            rewritten.insert(name.clone(), Json::Object(out));
            nodes.push(Node {
                name: name.clone(),
                kind,
                children: sub_nodes,
            });
        }
        Some((rewritten, nodes))
    }

    /// Checks one aggregation's options and rewrites them; `None` when rollups cannot answer
    /// it.
    fn aggregation(
        &mut self,
        agg_type: &str,
        options: &Map<String, Json>,
    ) -> Option<(NodeKind, Map<String, Json>)> {
        let only = |allowed: &[&str]| options.keys().all(|k| allowed.contains(&k.as_str()));
        let mut options = options.clone();
        let min_doc_count = options.get("min_doc_count").map_or(Some(1), Json::as_u64)?;
        let kind = match agg_type {
            "terms" => {
                // Terms listed with no flows come from an index's dictionary, which a
                // rollup's differs from.
                if !only(TERMS_OPTIONS) || min_doc_count != 1 {
                    return None;
                }
                self.field(&options)?;
                let order = options
                    .remove("order")
                    .unwrap_or_else(|| json!([{ "_count": "desc" }, { "_key": "asc" }]));
                options.insert("order".into(), count_order_to_flows(order)?);
                NodeKind::Terms {
                    has_missing_bucket: options.contains_key("missing"),
                }
            }
            "date_histogram" => {
                if !only(DATE_HISTOGRAM_OPTIONS)
                    || min_doc_count > 1
                    || options.get("field").and_then(Json::as_str) != Some(TIMESTAMP)
                    || !self.whole_unit_buckets(&options)
                {
                    return None;
                }
                if !by_key_only(options.get("order")) {
                    return None;
                }
                NodeKind::Buckets
            }
            "histogram" => {
                if !only(HISTOGRAM_OPTIONS)
                    || min_doc_count > 1
                    || !by_key_only(options.get("order"))
                {
                    return None;
                }
                self.field(&options)?;
                NodeKind::Buckets
            }
            "range" => {
                if !only(RANGE_OPTIONS) {
                    return None;
                }
                self.field(&options)?;
                NodeKind::Buckets
            }
            "filters" => {
                if !only(FILTERS_OPTIONS) {
                    return None;
                }
                let queries: Vec<&Json> = match options.get("filters")? {
                    Json::Object(named) => named.values().collect(),
                    Json::Array(listed) => listed.iter().collect(),
                    _ => return None,
                };
                for query in queries {
                    self.bucket_query(query)?;
                }
                NodeKind::Buckets
            }
            "filter" => {
                self.bucket_query(&Json::Object(options.clone()))?;
                NodeKind::Single
            }
            "sum" => {
                let field = options.get("field").and_then(Json::as_str)?;
                if !only(&["field", "format"]) || !SUMMED.contains(&field) {
                    return None;
                }
                NodeKind::Metric
            }
            "cardinality" => {
                if !only(&["field", "precision_threshold"]) {
                    return None;
                }
                self.field(&options)?;
                NodeKind::Metric
            }
            _ => return None,
        };
        Some((kind, options))
    }

    /// The aggregation's `field`, when it is a dimension it can split or count by.
    /// Addresses are filtered on in rollups but not aggregated: bucket tables index an
    /// address by its segment's compact code, and a rollup's segment, with few documents for
    /// its many addresses, keeps codes spread hundreds of times wider than its documents, so
    /// its buckets are hashed and the rollup read slower than the flows.
    fn field(&mut self, options: &Map<String, Json>) -> Option<()> {
        let field = options.get("field").and_then(Json::as_str)?;
        let schema_field = self.context.schema.field(field)?;
        if schema_field.field_type == app::model::flow::FieldType::Ip {
            return None;
        }
        dimension(field, self.context, &mut self.fields).then_some(())
    }

    /// A bucket's query: dimensions only, no time bound (a bucket's bound would cut hours).
    fn bucket_query(&mut self, query: &Json) -> Option<()> {
        let query = super::query::parse_query(query).ok()?;
        let mut time = TimeLimits::default();
        query_reads(&query, false, self.context, &mut self.fields, &mut time).then_some(())
    }

    /// Whether every bucket boundary of a date histogram falls on a whole unit of the
    /// resolution (hour or minute) in the rolled stretch: intervals of whole units (or
    /// calendar units that long and longer), an offset of whole units, and a time zone whose
    /// offset is a whole number of units throughout.
    fn whole_unit_buckets(&self, options: &Map<String, Json>) -> bool {
        let interval = ["fixed_interval", "calendar_interval", "interval"]
            .iter()
            .find_map(|key| options.get(*key).and_then(Json::as_str));
        let Some(interval) = interval else {
            return false;
        };
        let calendar = matches!(
            interval,
            "1h" | "hour"
                | "1d"
                | "day"
                | "1w"
                | "week"
                | "1M"
                | "month"
                | "1q"
                | "quarter"
                | "1y"
                | "year"
        ) || (self.resolution == MINUTE_MS && matches!(interval, "1m" | "minute"));
        let whole = |ms: i64| ms % self.resolution == 0;
        if !calendar && !duration_ms(interval).is_some_and(|ms| ms > 0 && whole(ms)) {
            return false;
        }
        if let Some(offset) = options.get("offset") {
            let whole = match offset {
                Json::String(s) => {
                    let (sign, rest) = match s.strip_prefix('-') {
                        Some(rest) => (-1, rest),
                        None => (1, s.strip_prefix('+').unwrap_or(s)),
                    };
                    duration_ms(rest).map(|ms| sign * ms)
                }
                Json::Number(n) => n.as_i64(),
                _ => None,
            };
            if whole.is_none_or(|ms| ms % self.resolution != 0) {
                return false;
            }
        }
        let zone = match options
            .get("time_zone")
            .map(|z| z.as_str().map(Zone::parse))
        {
            None => return true,
            Some(Some(Ok(zone))) => zone,
            Some(_) => return false,
        };
        // Offsets change at most a few times a year: sampling every day catches a zone that
        // leaves whole units for a day or more, and the ends catch the rest.
        let (from, to) = self.rolled;
        let unit_secs = self.resolution / 1000;
        let whole = |at: i64| i64::from(zone.offset_secs(at)) % unit_secs == 0;
        let step = 86_400_000;
        let span = to.saturating_sub(from);
        if span / step > 4_000 {
            return matches!(zone, Zone::Fixed(_)) && whole(from);
        }
        (0..=span / step).all(|day| whole(from + day * step)) && whole(to - 1)
    }
}

/// Whether a histogram's `order`, if any, is by key: one by count would have to be by the
/// hidden flow count, which histograms cannot be ordered by.
fn by_key_only(order: Option<&Json>) -> bool {
    let by_key = |entry: &Json| {
        entry
            .as_object()
            .is_some_and(|o| o.len() == 1 && o.contains_key("_key"))
    };
    match order {
        None => true,
        Some(Json::Array(entries)) => entries.iter().all(by_key),
        Some(entry) => by_key(entry),
    }
}

/// Terms ordered by `_count` are ordered by the hidden flow count instead, and ties by key,
/// as Elasticsearch breaks them.
fn count_order_to_flows(order: Json) -> Option<Json> {
    let entries = match order {
        Json::Array(entries) => entries,
        one => vec![one],
    };
    let mut rewritten = Vec::with_capacity(entries.len() + 1);
    for entry in entries {
        let mut out = Map::new();
        for (key, direction) in entry.as_object()? {
            let key = if key == "_count" { FLOWS } else { key.as_str() };
            out.insert(key.to_owned(), direction.clone());
        }
        rewritten.push(Json::Object(out));
    }
    let by_key = |entry: &Json| entry.get("_key").is_some() || entry.get("_term").is_some();
    if !rewritten.iter().any(by_key) {
        rewritten.push(json!({ "_key": "asc" }));
    }
    Some(Json::Array(rewritten))
}

/// `90m`, `2h`, `1d` as milliseconds.
fn duration_ms(text: &str) -> Option<i64> {
    let digits = text.find(|c: char| !c.is_ascii_digit())?;
    let (count, unit) = text.split_at(digits);
    let count: i64 = count.parse().ok()?;
    let unit_ms = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => HOUR_MS,
        "d" => 24 * HOUR_MS,
        _ => return None,
    };
    count.checked_mul(unit_ms)
}
