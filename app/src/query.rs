//! Visualization + time range + query + filters → the Elasticsearch request body. The one
//! builder the editor, the dashboards, the server-side renderer and exported visualizations
//! use. Aggregations are named `"2"`, `"3"`, … by bucket level, the first metric `"1"`, as
//! Kibana names them, and further metrics `"1-2"`, `"1-3"`, ….

use serde_json::{json, Map, Value};

use crate::model::filter::{Filter, QueryText};
use crate::model::flow::document_field_type;
use crate::model::kql::KqlError;
use crate::model::network::{direction_filters, direction_queries, Networks, UNNAMED};
use crate::model::time::{
    auto_interval, is_calendar_interval, iso_utc, parse_duration_ms, Resolved,
};
use crate::model::visualization::{
    source_field, BucketAgg, BucketRole, ChartKind, Interval, IpRangeSpec, Metric, TermsOrder,
    Visualization,
};

/// Where and when to search, besides what the visualization itself says.
#[derive(Clone, Debug)]
pub struct SearchContext<'a> {
    /// The time range searched.
    pub time: Resolved,
    /// The index pattern's time field.
    pub time_field: &'a str,
    /// The dashboard's query and filters (the visualization adds its own).
    pub query: &'a QueryText,
    /// The dashboard's filters.
    pub filters: &'a [Filter],
    /// The viewer's time zone, for calendar intervals (`+09:00`); `None` is UTC.
    pub time_zone: Option<String>,
    /// The named address ranges a split by network or direction uses.
    pub networks: &'a Networks,
}

/// A request that cannot be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The KQL query does not parse.
    #[error(transparent)]
    Kql(#[from] KqlError),
}

/// The first metric's aggregation name.
pub const METRIC: &str = "1";

/// The aggregation name of metric `index` (0-based): [`METRIC`], then `1-2`, `1-3`, ….
pub fn metric_name(index: usize) -> String {
    match index {
        0 => METRIC.to_owned(),
        n => format!("{METRIC}-{}", n + 1),
    }
}

/// The name of a parent pipeline over the metric named `metric`, beside it in each time
/// bucket.
pub fn pipeline_name(metric: &str) -> String {
    format!("{metric}-pipeline")
}

/// For a statistic over buckets: the inner split it runs over, beside it.
fn per_bucket_name(metric: &str) -> String {
    format!("{metric}-per")
}

/// For a statistic over buckets: its metric over the whole bucket, which orders terms (a
/// pipeline's value cannot).
fn whole_bucket_name(metric: &str) -> String {
    format!("{metric}-whole")
}

/// The aggregation name of bucket level `level` (0-based).
pub fn bucket_name(level: usize) -> String {
    (level + 2).to_string()
}

/// With a time shift, the aggregation holding the chart's own time range…
pub const CURRENT: &str = "current";
/// …and the one holding the same range, shifted back.
pub const SHIFTED: &str = "shifted";

/// The request body for a visualization.
///
/// A time-shifted chart is still one search: it matches both ranges, and a `filter`
/// aggregation per range ([`CURRENT`], [`SHIFTED`]) holds each range's own tree, whose date
/// histogram has that range's bounds.
pub fn build_request(
    vis: &Visualization,
    context: &SearchContext<'_>,
) -> Result<Value, QueryError> {
    let query = build_query(vis, context)?;
    let aggs = match vis.time_shift_ms() {
        None => aggs_tree(vis, context),
        Some(shift) => {
            let shifted = SearchContext {
                time: context.time.shifted_back(shift),
                ..context.clone()
            };
            let mut both = Map::new();
            for (name, context) in [(CURRENT, context), (SHIFTED, &shifted)] {
                let mut branch = json!({ "filter": time_range(context.time_field, context.time) });
                let tree = aggs_tree(vis, context);
                if !tree.is_empty() {
                    branch["aggs"] = Value::Object(tree);
                }
                both.insert(name.into(), branch);
            }
            both
        }
    };
    let mut body = json!({ "size": 0, "track_total_hits": true, "query": query });
    if !aggs.is_empty() {
        body["aggs"] = Value::Object(aggs);
    }
    Ok(body)
}

/// The visualization's aggregations, level by level.
fn aggs_tree(vis: &Visualization, context: &SearchContext<'_>) -> Map<String, Value> {
    let buckets = ordered_buckets(vis);
    // The metrics sit at every level: pie rings and table rows read them per level, and a
    // terms level ordered by the first needs it as a direct child (an order path cannot
    // reach through a level).
    let mut metric = Map::new();
    for (index, measure) in vis.metrics.iter().enumerate() {
        metric.extend(metric_aggs(&metric_name(index), &measure.metric, context));
    }
    let mut aggs = metric.clone();
    // Pipelines go in the time buckets only: they need a histogram for parent.
    for (index, measure) in vis.metrics.iter().enumerate() {
        if let Some(pipeline) = &measure.pipeline {
            let name = metric_name(index);
            aggs.insert(
                pipeline_name(&name),
                pipeline.agg(&metric_order_path(&name, &measure.metric)),
            );
        }
    }
    for (level, agg) in buckets.iter().enumerate().rev() {
        let mut bucket = bucket_agg(vis.metric(), agg, context);
        add_sub_aggs(&mut bucket, aggs);
        aggs = metric.clone();
        aggs.insert(bucket_name(level), Value::Object(bucket));
    }
    aggs
}

/// Puts `aggs` under an aggregation, beside what it has there of its own (a prefix split's
/// `bucket_sort`).
fn add_sub_aggs(agg: &mut Map<String, Value>, aggs: Map<String, Value>) {
    if aggs.is_empty() {
        return;
    }
    match agg.get_mut("aggs") {
        Some(Value::Object(own)) => own.extend(aggs),
        _ => {
            agg.insert("aggs".into(), Value::Object(aggs));
        }
    }
}

/// The pipeline keeping a prefix split's largest networks: `ip_prefix` has no size of its own.
const TOP_NETWORKS: &str = "top_networks";

/// `time` on the time field, as a range query.
fn time_range(time_field: &str, time: Resolved) -> Value {
    json!({
        "range": { time_field: {
            "gte": iso_utc(time.from_ms),
            "lte": iso_utc(time.to_ms),
            "format": "strict_date_optional_time",
        } }
    })
}

/// Bucket levels from the outside in. For xy charts the split series is the outer level, so
/// a series is the same top-N terms across the whole time axis.
pub fn ordered_buckets(vis: &Visualization) -> Vec<&BucketAgg> {
    if vis.kind.is_xy() {
        vis.split_series().into_iter().chain(vis.x_axis()).collect()
    } else if vis.kind == ChartKind::Metric {
        Vec::new()
    } else {
        vis.buckets.iter().map(|b| &b.agg).collect()
    }
}

/// The query: time range, the dashboard's query and filters, the visualization's own.
pub fn build_query(vis: &Visualization, context: &SearchContext<'_>) -> Result<Value, QueryError> {
    let current = time_range(context.time_field, context.time);
    // A time-shifted chart matches its range and the shifted one.
    let time = match vis.time_shift_ms() {
        Some(shift) => json!({ "bool": { "should": [
            current,
            time_range(context.time_field, context.time.shifted_back(shift)),
        ], "minimum_should_match": 1 } }),
        None => current,
    };
    let mut filter = vec![time];
    let mut must_not = Vec::new();
    for query in [context.query, &vis.query] {
        if let Some(dsl) = query.to_dsl()? {
            filter.push(dsl);
        }
    }
    for f in context
        .filters
        .iter()
        .chain(&vis.filters)
        .filter(|f| !f.disabled)
    {
        if f.negate {
            must_not.push(f.to_dsl());
        } else {
            filter.push(f.to_dsl());
        }
    }
    // A prefix split keeps to its family's addresses: Elasticsearch masks any address as the
    // family asked, an IPv6 one with an IPv4 prefix into 0.0.0.0/24. `0.0.0.0/0` holds
    // every IPv4 address and no IPv6 one.
    for agg in ordered_buckets(vis) {
        if let BucketAgg::IpPrefix { field, ipv6, .. } = agg {
            let ipv4 = json!({ "term": { field: "0.0.0.0/0" } });
            match ipv6 {
                true => {
                    filter.push(json!({ "exists": { "field": field } }));
                    must_not.push(ipv4);
                }
                false => filter.push(ipv4),
            }
        }
    }
    Ok(json!({ "bool": { "filter": filter, "must_not": must_not } }))
}

/// The aggregations computing `metric` under the name `name` (none for a count).
fn metric_aggs(name: &str, metric: &Metric, context: &SearchContext<'_>) -> Map<String, Value> {
    let agg = match metric {
        Metric::Count => return Map::new(),
        Metric::OverBuckets { stat, per, of } => {
            let mut split = bucket_agg(of, per, context);
            // Inside the inner split, the metric has the split to itself: the first name.
            add_sub_aggs(&mut split, metric_aggs(METRIC, of, context));
            let per_bucket = per_bucket_name(name);
            let path = format!("{per_bucket}>{}", value_path(METRIC, of));
            let mut aggs = Map::new();
            aggs.insert(per_bucket, Value::Object(split));
            aggs.insert(
                name.into(),
                json!({ stat.agg_type(): { "buckets_path": path } }),
            );
            if let Some(whole) = metric_aggs(METRIC, of, context).remove(METRIC) {
                aggs.insert(whole_bucket_name(name), whole);
            }
            return aggs;
        }
        Metric::Sum { field } => json!({ "sum": { "field": field } }),
        Metric::Avg { field } => json!({ "avg": { "field": field } }),
        Metric::Min { field } => json!({ "min": { "field": field } }),
        Metric::Max { field } => json!({ "max": { "field": field } }),
        Metric::UniqueCount { field } => json!({ "cardinality": { "field": field } }),
        Metric::Percentile { field, percent } => {
            json!({ "percentiles": { "field": field, "percents": [percent] } })
        }
        Metric::Median { field } => {
            json!({ "percentiles": { "field": field, "percents": [50.0] } })
        }
        Metric::StdDeviation { field } => json!({ "extended_stats": { "field": field } }),
        Metric::PercentileRank { field, value } => {
            json!({ "percentile_ranks": { "field": field, "values": [value] } })
        }
        // Only the field shown comes back with each flow.
        Metric::TopHit {
            field,
            size,
            sort_field,
            descending,
            ..
        } => {
            // An index without the sort field has its flows last, rather than failing the
            // search; typed as the flows' field, or as Kibana types an unknown one.
            let unmapped_type = document_field_type(sort_field).map_or("boolean", |t| t.es_type());
            let order = if *descending { "desc" } else { "asc" };
            json!({ "top_hits": {
                "size": size,
                "sort": [{ sort_field: { "order": order, "unmapped_type": unmapped_type } }],
                "_source": { "includes": [source_field(field)] },
            } })
        }
    };
    let mut aggs = Map::new();
    aggs.insert(name.into(), agg);
    aggs
}

/// The path a terms order uses to sort by the metric named `name`. A statistic over buckets
/// orders by its metric over the whole bucket: the top sources by bytes, each showing its
/// busiest hour.
fn metric_order_path(name: &str, metric: &Metric) -> String {
    match metric {
        Metric::OverBuckets { of, .. } => value_path(&whole_bucket_name(name), of),
        // No order reaches into a flow's value (nor does Kibana offer it): the most flows rank.
        Metric::TopHit { .. } => "_count".into(),
        metric => value_path(name, metric),
    }
}

/// The buckets path of `metric`'s value when its aggregation is named `name`.
fn value_path(name: &str, metric: &Metric) -> String {
    match metric {
        Metric::Count => "_count".into(),
        // Brackets: Elasticsearch reads a path's key after its last dot, so `1.95.0` would
        // name the key `0` of an aggregation `1.95`.
        Metric::Percentile { percent, .. } => format!("{name}[{percent:?}]"),
        Metric::Median { .. } => format!("{name}[50.0]"),
        Metric::StdDeviation { .. } => format!("{name}.std_deviation"),
        Metric::PercentileRank { value, .. } => format!("{name}[{value:?}]"),
        _ => name.into(),
    }
}

/// The placeholder key of documents without the field (rendered "Missing").
pub const MISSING_KEY: &str = "__missing__";

/// The `meta` of a split whose buckets' filter pills the request carries, by bucket key;
/// a bucket no pills can select is left out (a click on it, or inside it, filters nothing).
fn pills_meta(pills: Vec<(String, Option<Vec<Filter>>)>) -> Value {
    let pills: Map<String, Value> = pills
        .into_iter()
        .filter_map(|(key, filters)| Some((key, json!(filters?))))
        .collect();
    json!({ "filters": pills })
}

/// A terms-like order: by `metric` (the count for a count) or by key.
fn terms_order(metric: &Metric, order: &TermsOrder) -> Value {
    match order {
        TermsOrder::MetricDesc => json!({ metric_order_path(METRIC, metric): "desc" }),
        TermsOrder::MetricAsc => json!({ metric_order_path(METRIC, metric): "asc" }),
        TermsOrder::KeyAsc => json!({ "_key": "asc" }),
        TermsOrder::KeyDesc => json!({ "_key": "desc" }),
    }
}

/// `agg`'s aggregation, its terms ordered by `metric`.
fn bucket_agg(metric: &Metric, agg: &BucketAgg, context: &SearchContext<'_>) -> Map<String, Value> {
    let mut out = Map::new();
    match agg {
        BucketAgg::Terms {
            field,
            size,
            order,
            missing_bucket,
            ..
        } => {
            let order = terms_order(metric, order);
            let mut terms = json!({ "field": field, "size": size, "order": order });
            if *missing_bucket {
                terms["missing"] = json!(MISSING_KEY);
            }
            out.insert("terms".into(), terms);
        }
        BucketAgg::MultiTerms {
            fields,
            size,
            order,
        } => {
            let terms: Vec<Value> = fields.iter().map(|f| json!({ "field": f })).collect();
            out.insert(
                "multi_terms".into(),
                json!({ "terms": terms, "size": size, "order": terms_order(metric, order) }),
            );
        }
        BucketAgg::DateHistogram { field, interval } => {
            let (key, value) = date_interval(interval, context.time);
            let mut histogram = json!({
                "field": field,
                key: value,
                "min_doc_count": 0,
                "extended_bounds": { "min": context.time.from_ms, "max": context.time.to_ms },
            });
            if let Some(zone) = &context.time_zone {
                histogram["time_zone"] = json!(zone);
            }
            out.insert("date_histogram".into(), histogram);
        }
        BucketAgg::Histogram { field, interval } => {
            out.insert(
                "histogram".into(),
                json!({ "field": field, "interval": interval, "min_doc_count": 1 }),
            );
        }
        BucketAgg::Range { field, ranges } => {
            let ranges: Vec<Value> = ranges
                .iter()
                .map(|r| {
                    let mut range = Map::new();
                    if let Some(from) = r.from {
                        range.insert("from".into(), json!(from));
                    }
                    if let Some(to) = r.to {
                        range.insert("to".into(), json!(to));
                    }
                    Value::Object(range)
                })
                .collect();
            out.insert(
                "range".into(),
                json!({ "field": field, "ranges": ranges, "keyed": false }),
            );
        }
        BucketAgg::SignificantTerms { field, size } => {
            out.insert(
                "significant_terms".into(),
                json!({ "field": field, "size": size }),
            );
        }
        BucketAgg::IpRange { field, ranges } => {
            let ranges: Vec<Value> = ranges
                .iter()
                .map(|range| match range {
                    IpRangeSpec::Mask(mask) => json!({ "mask": mask }),
                    IpRangeSpec::FromTo { from, to } => {
                        let mut bounds = Map::new();
                        if let Some(from) = from {
                            bounds.insert("from".into(), json!(from));
                        }
                        if let Some(to) = to {
                            bounds.insert("to".into(), json!(to));
                        }
                        Value::Object(bounds)
                    }
                })
                .collect();
            out.insert(
                "ip_range".into(),
                json!({ "field": field, "ranges": ranges }),
            );
        }
        BucketAgg::IpPrefix {
            field,
            prefix_length,
            ipv6,
            size,
        } => {
            out.insert(
                "ip_prefix".into(),
                json!({ "field": field, "prefix_length": prefix_length, "is_ipv6": ipv6,
                    "append_prefix_length": true, "keyed": false, "min_doc_count": 1 }),
            );
            let sort = json!([{ metric_order_path(METRIC, metric): { "order": "desc" } }]);
            out.insert(
                "aggs".into(),
                json!({ TOP_NETWORKS: { "bucket_sort": { "sort": sort, "size": size } } }),
            );
        }
        BucketAgg::DateRange { field, ranges } => {
            let ranges: Vec<Value> = ranges
                .iter()
                .map(|range| {
                    let mut bounds = Map::new();
                    if let Some(from) = &range.from {
                        bounds.insert("from".into(), json!(from));
                    }
                    if let Some(to) = &range.to {
                        bounds.insert("to".into(), json!(to));
                    }
                    Value::Object(bounds)
                })
                .collect();
            let mut date_range = json!({ "field": field, "ranges": ranges });
            if let Some(zone) = &context.time_zone {
                date_range["time_zone"] = json!(zone);
            }
            out.insert("date_range".into(), date_range);
        }
        BucketAgg::Network { field } => {
            // Each range without the more specific ones inside it; the rest "Unnamed" (with
            // none named, the one bucket is every address already).
            let named: Map<String, Value> =
                context.networks.split_queries(field).into_iter().collect();
            let mut filters = json!({ "filters": named });
            if !context.networks.is_empty() {
                filters["other_bucket_key"] = json!(UNNAMED);
            }
            out.insert("filters".into(), filters);
            // The pills a click on a bucket adds, which the answer echoes.
            out.insert(
                "meta".into(),
                pills_meta(context.networks.split_filters(field)),
            );
        }
        BucketAgg::Direction {} => {
            let named: Map<String, Value> =
                direction_queries(context.networks).into_iter().collect();
            out.insert("filters".into(), json!({ "filters": named }));
            if let Some(pills) = direction_filters(context.networks) {
                let pills = pills.into_iter().map(|(key, f)| (key, Some(f))).collect();
                out.insert("meta".into(), pills_meta(pills));
            }
        }
        BucketAgg::Filters { filters } => {
            let mut named = Map::new();
            for filter in filters {
                let query = filter
                    .query
                    .to_dsl()
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| json!({ "match_all": {} }));
                named.insert(filter.label.clone(), query);
            }
            out.insert("filters".into(), json!({ "filters": named }));
        }
    }
    out
}

/// The date histogram interval key and value: auto picks about 50 buckets for the range;
/// days and longer follow the calendar.
pub fn date_interval(interval: &Interval, time: Resolved) -> (&'static str, String) {
    let text = match interval {
        Interval::Auto => auto_interval(time.span_ms()).0.to_owned(),
        Interval::Fixed(text) => return ("fixed_interval", text.clone()),
        Interval::Calendar(text) => return ("calendar_interval", text.clone()),
    };
    if is_calendar_interval(&text) {
        ("calendar_interval", text)
    } else {
        ("fixed_interval", text)
    }
}

/// The interval in milliseconds a date histogram will use (for axis and bucket widths).
pub fn interval_ms(interval: &Interval, time: Resolved) -> i64 {
    let (_, text) = date_interval(interval, time);
    parse_duration_ms(&text).unwrap_or(60_000)
}

/// The role buckets of each level play, outside in.
pub fn level_roles(vis: &Visualization) -> Vec<BucketRole> {
    if vis.kind.is_xy() {
        let mut roles = Vec::new();
        if vis.split_series().is_some() {
            roles.push(BucketRole::SplitSeries);
        }
        if vis.x_axis().is_some() {
            roles.push(BucketRole::XAxis);
        }
        roles
    } else {
        vis.buckets.iter().map(|b| b.role).collect()
    }
}

/// The follow-up request that sizes "Other" slices for metrics other than count: one
/// `filters` bucket per parent path, matching the parent's documents outside the terms shown.
/// (For counts, `sum_other_doc_count` already gives the answer, no second request.)
pub fn other_request(
    vis: &Visualization,
    context: &SearchContext<'_>,
    shown: &[OtherGroup],
) -> Result<Option<Value>, QueryError> {
    if *vis.metric() == Metric::Count || shown.is_empty() {
        return Ok(None);
    }
    let mut filters = Map::new();
    for group in shown {
        let mut must: Vec<Value> = group
            .parents
            .iter()
            .map(|(field, key)| json!({ "match_phrase": { field: key } }))
            .collect();
        must.push(json!({ "exists": { "field": group.field } }));
        filters.insert(
            group.key(),
            json!({ "bool": { "filter": must, "must_not": [ { "terms": { group.field.clone(): group.shown } } ] } }),
        );
    }
    let body = json!({
        "size": 0,
        "query": build_query(vis, context)?,
        "aggs": { "other": { "filters": { "filters": filters }, "aggs": metric_aggs(METRIC, vis.metric(), context) } }
    });
    Ok(Some(body))
}

/// One terms bucket list that has an "Other": where it is (its parents' keys), its field, and
/// the keys it shows.
#[derive(Clone, Debug, PartialEq)]
pub struct OtherGroup {
    /// The keys of the enclosing buckets, field by field.
    pub parents: Vec<(String, Value)>,
    /// The terms field.
    pub field: String,
    /// The keys shown as buckets of their own; "Other" is everything else.
    pub shown: Vec<Value>,
}

impl OtherGroup {
    /// The filter name: the parent keys joined.
    pub fn key(&self) -> String {
        let parts: Vec<String> = self
            .parents
            .iter()
            .map(|(_, key)| key.to_string())
            .collect();
        format!("other:{}", parts.join("/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::visualization::Visualization;

    fn context<'a>(query: &'a QueryText, filters: &'a [Filter]) -> SearchContext<'a> {
        SearchContext {
            time: Resolved {
                from_ms: 1_583_467_620_000,
                to_ms: 1_583_471_220_000,
            },
            time_field: "@timestamp",
            query,
            filters,
            time_zone: None,
            networks: &crate::model::network::NO_NETWORKS,
        }
    }

    #[test]
    fn a_time_shift_is_one_search_with_a_branch_per_range() {
        let query = QueryText::default();
        let mut vis = Visualization::example_flows_over_time();
        vis.options.time_shift = Some("1d".into());
        let context = context(&query, &[]);
        let body = build_request(&vis, &context).unwrap();
        const DAY: i64 = 86_400_000;
        let (from, to) = (context.time.from_ms, context.time.to_ms);
        // Both ranges match…
        let should = &body["query"]["bool"]["filter"][0]["bool"]["should"];
        assert_eq!(should[0]["range"]["@timestamp"]["gte"], iso_utc(from));
        assert_eq!(should[1]["range"]["@timestamp"]["gte"], iso_utc(from - DAY));
        assert_eq!(should[1]["range"]["@timestamp"]["lte"], iso_utc(to - DAY));
        // …and each range's branch holds the whole tree, its histogram bounded by its range.
        for (name, shift) in [(CURRENT, 0), (SHIFTED, DAY)] {
            let branch = &body["aggs"][name];
            assert_eq!(
                branch["filter"]["range"]["@timestamp"]["gte"],
                iso_utc(from - shift)
            );
            assert_eq!(
                branch["aggs"]["2"]["aggs"]["3"]["date_histogram"]["extended_bounds"],
                json!({ "min": from - shift, "max": to - shift }),
                "{name}"
            );
        }
    }

    /// A prefix split keeps its largest networks by the metric, beside the metric and the
    /// level inside it; a prefix no network of its family has is named.
    #[test]
    fn a_prefix_split_keeps_its_largest_networks() {
        use crate::model::visualization::Metric;
        let query = QueryText::default();
        let mut vis = Visualization::example_action_port_pie();
        vis.buckets[0].agg = BucketAgg::IpPrefix {
            field: "srcaddr".into(),
            prefix_length: 24,
            ipv6: false,
            size: 5,
        };
        vis.metrics[0].metric = Metric::Sum {
            field: "bytes".into(),
        };
        vis.validate().unwrap();
        let body = build_request(&vis, &context(&query, &[])).unwrap();
        let networks = &body["aggs"]["2"];
        assert_eq!(
            networks["ip_prefix"],
            json!({ "field": "srcaddr", "prefix_length": 24, "is_ipv6": false,
                "append_prefix_length": true, "keyed": false, "min_doc_count": 1 })
        );
        assert_eq!(
            networks["aggs"][TOP_NETWORKS],
            json!({ "bucket_sort": { "sort": [{ "1": { "order": "desc" } }], "size": 5 } })
        );
        assert!(networks["aggs"][METRIC].is_object(), "{networks}");
        assert!(networks["aggs"]["3"]["terms"].is_object(), "{networks}");
        let ipv4 = json!({ "term": { "srcaddr": "0.0.0.0/0" } });
        let query = &body["query"]["bool"];
        assert!(
            query["filter"].as_array().unwrap().contains(&ipv4),
            "{query}"
        );

        // Over time, every network's histogram would be kept until the largest are chosen.
        let mut over_time = Visualization::example_flows_over_time();
        over_time.buckets[1].agg = vis.buckets[0].agg.clone();
        let error = over_time.validate().unwrap_err().to_string();
        assert!(error.contains("cannot hold a histogram"), "{error}");
        // Rings of both families of one field would keep no flow.
        let mut both = vis.clone();
        both.buckets[1].agg = BucketAgg::IpPrefix {
            field: "srcaddr".into(),
            prefix_length: 64,
            ipv6: true,
            size: 5,
        };
        let error = both.validate().unwrap_err();
        assert_eq!(error.path, "buckets[1].agg.ip_prefix.ipv6", "{error}");

        vis.buckets[0].agg = BucketAgg::IpPrefix {
            field: "srcaddr".into(),
            prefix_length: 33,
            ipv6: false,
            size: 5,
        };
        let error = vis.validate().unwrap_err().to_string();
        assert!(
            error.starts_with("buckets[0].agg.ip_prefix.prefix_length: must be at most 32"),
            "{error}"
        );
    }

    #[test]
    fn a_pipeline_sits_in_the_time_buckets_and_series_rank_by_the_metric() {
        use crate::model::visualization::{Metric, ParentPipeline};
        let query = QueryText::default();
        let mut vis = Visualization::example_flows_over_time();
        vis.metrics[0].metric = Metric::Percentile {
            field: "bytes".into(),
            percent: 95.0,
        };
        vis.metrics[0].pipeline = Some(ParentPipeline::MovingAverage { window: 4 });
        vis.validate().unwrap();
        let body = build_request(&vis, &context(&query, &[])).unwrap();
        let series = &body["aggs"]["2"];
        assert!(series["aggs"].get("1-pipeline").is_none(), "{series}");
        assert_eq!(series["terms"]["order"], json!({ "1[95.0]": "desc" }));
        let time = &series["aggs"]["3"]["aggs"];
        assert_eq!(
            time["1-pipeline"],
            json!({ "moving_fn": { "buckets_path": "1[95.0]", "window": 4,
                "script": "MovingFunctions.unweightedAvg(values)" } })
        );
        assert!(time.get(METRIC).is_some());

        // Only over a date histogram.
        let mut pie = Visualization::example_action_port_pie();
        pie.metrics[0].pipeline = Some(ParentPipeline::CumulativeSum);
        assert!(pie
            .validate()
            .unwrap_err()
            .to_string()
            .starts_with("metrics[0].pipeline"));
    }

    #[test]
    fn every_metric_has_its_name_and_pipeline_and_terms_rank_by_the_first() {
        use crate::model::measure::Measure;
        use crate::model::visualization::ParentPipeline;
        let query = QueryText::default();
        let mut vis = Visualization::example_flows_over_time();
        vis.metrics = vec![
            Metric::Sum {
                field: "bytes".into(),
            }
            .into(),
            Measure {
                pipeline: Some(ParentPipeline::CumulativeSum),
                ..Metric::Max {
                    field: "packets".into(),
                }
                .into()
            },
        ];
        vis.validate().unwrap();
        let body = build_request(&vis, &context(&query, &[])).unwrap();
        let series = &body["aggs"]["2"];
        assert_eq!(series["terms"]["order"], json!({ "1": "desc" }));
        assert_eq!(series["aggs"]["1"], json!({ "sum": { "field": "bytes" } }));
        assert_eq!(
            series["aggs"]["1-2"],
            json!({ "max": { "field": "packets" } })
        );
        let time = &series["aggs"]["3"]["aggs"];
        assert_eq!(time["1-2"], json!({ "max": { "field": "packets" } }));
        assert_eq!(
            time["1-2-pipeline"],
            json!({ "cumulative_sum": { "buckets_path": "1-2" } })
        );
        assert!(time.get("1-pipeline").is_none(), "{time}");
    }

    #[test]
    fn the_seed_pie_request_is_kibanas() {
        let query = QueryText::default();
        let body = build_request(
            &Visualization::example_action_port_pie(),
            &context(&query, &[]),
        )
        .unwrap();
        assert_eq!(
            body,
            json!({
                "size": 0,
                "track_total_hits": true,
                "query": { "bool": { "filter": [
                    { "range": { "@timestamp": { "gte": "2020-03-06T04:07:00.000Z", "lte": "2020-03-06T05:07:00.000Z", "format": "strict_date_optional_time" } } }
                ], "must_not": [] } },
                "aggs": { "2": {
                    "terms": { "field": "action", "size": 5, "order": { "_count": "desc" } },
                    "aggs": { "3": { "terms": { "field": "dstport", "size": 5, "order": { "_count": "desc" } } } }
                } }
            })
        );
    }

    #[test]
    fn lines_split_outside_the_time_axis_with_an_auto_interval() {
        let query = QueryText::kql("dstport:22");
        let mut filter = Filter::phrase("action", json!("REJECT"));
        filter.negate = true;
        let filters = [
            filter,
            Filter {
                disabled: true,
                ..Filter::phrase("x", json!(1))
            },
        ];
        let body = build_request(
            &Visualization::example_flows_over_time(),
            &context(&query, &filters),
        )
        .unwrap();
        assert_eq!(
            body["query"]["bool"]["filter"][1],
            json!({ "match_phrase": { "dstport": 22 } })
        );
        assert_eq!(
            body["query"]["bool"]["must_not"],
            json!([{ "match_phrase": { "action": "REJECT" } }])
        );
        assert_eq!(
            body["query"]["bool"]["filter"].as_array().unwrap().len(),
            2,
            "disabled filters are left out"
        );
        assert_eq!(body["aggs"]["2"]["terms"]["field"], "action");
        let histogram = &body["aggs"]["2"]["aggs"]["3"]["date_histogram"];
        assert_eq!(
            histogram["fixed_interval"], "1m",
            "an hour in about 50 buckets"
        );
        assert_eq!(histogram["extended_bounds"]["min"], 1_583_467_620_000i64);
    }

    #[test]
    fn a_statistic_over_buckets_sits_beside_its_split_and_terms_rank_by_its_metric() {
        use crate::model::visualization::{BucketStat, Interval, ParentPipeline};
        let mut vis = Visualization::example_action_port_pie();
        vis.buckets.truncate(1);
        vis.metrics[0].metric = Metric::OverBuckets {
            stat: BucketStat::Max,
            per: Box::new(BucketAgg::DateHistogram {
                field: "@timestamp".into(),
                interval: Interval::Fixed("1h".into()),
            }),
            of: Box::new(Metric::Percentile {
                field: "bytes".into(),
                percent: 99.5,
            }),
        };
        vis.validate().unwrap();
        assert_eq!(
            vis.metric().label(),
            "Max of 99.5th percentile of bytes per 1h"
        );
        let query = QueryText::default();
        let body = build_request(&vis, &context(&query, &[])).unwrap();
        let ring = &body["aggs"]["2"];
        // Ranked by the percentile over the whole slice: a pipeline's value cannot order terms.
        assert_eq!(ring["terms"]["order"], json!({ "1-whole[99.5]": "desc" }));
        let inside = &ring["aggs"];
        assert_eq!(
            inside[METRIC],
            json!({ "max_bucket": { "buckets_path": "1-per>1[99.5]" } })
        );
        assert_eq!(inside["1-per"]["date_histogram"]["fixed_interval"], "1h");
        assert_eq!(
            inside["1-per"]["aggs"][METRIC],
            json!({ "percentiles": { "field": "bytes", "percents": [99.5] } })
        );
        assert_eq!(inside["1-whole"], inside["1-per"]["aggs"][METRIC]);

        // Not over another statistic, not with a parent pipeline, and its split is checked.
        let mut nested = vis.clone();
        nested.metrics[0].metric = Metric::OverBuckets {
            stat: BucketStat::Sum,
            per: Box::new(BucketAgg::Filters { filters: vec![] }),
            of: Box::new(vis.metric().clone()),
        };
        assert_eq!(
            nested.validate().unwrap_err().path,
            "metrics[0].metric.over_buckets.per.filters.filters"
        );
        if let Metric::OverBuckets { per, .. } = &mut nested.metrics[0].metric {
            **per = BucketAgg::DateHistogram {
                field: "@timestamp".into(),
                interval: Interval::Auto,
            };
        }
        assert_eq!(
            nested.validate().unwrap_err().path,
            "metrics[0].metric.over_buckets.of"
        );
        let mut piped = Visualization::example_flows_over_time();
        piped.metrics[0].metric = vis.metric().clone();
        piped.metrics[0].pipeline = Some(ParentPipeline::Derivative);
        assert_eq!(piped.validate().unwrap_err().path, "metrics[0].pipeline");
    }

    /// A multi terms split asks for the combinations of its fields, ranked by the metric.
    #[test]
    fn a_multi_terms_split_ranks_combinations_by_the_metric() {
        let mut vis = Visualization::example_action_port_pie();
        vis.metrics[0].metric = Metric::Sum {
            field: "bytes".into(),
        };
        vis.buckets.truncate(1);
        vis.buckets[0].agg = BucketAgg::MultiTerms {
            fields: vec!["srcaddr".into(), "dstaddr".into()],
            size: 7,
            order: TermsOrder::MetricDesc,
        };
        vis.validate().unwrap();
        let query = QueryText::default();
        let body = build_request(&vis, &context(&query, &[])).unwrap();
        assert_eq!(
            body["aggs"]["2"]["multi_terms"],
            json!({ "terms": [{ "field": "srcaddr" }, { "field": "dstaddr" }], "size": 7,
                "order": { "1": "desc" } })
        );
        assert_eq!(
            body["aggs"]["2"]["aggs"]["1"],
            json!({ "sum": { "field": "bytes" } })
        );
        // One field, or five, is not a multi terms split.
        vis.buckets[0].agg = BucketAgg::MultiTerms {
            fields: vec!["srcaddr".into()],
            size: 7,
            order: TermsOrder::MetricDesc,
        };
        let error = vis.validate().unwrap_err();
        assert!(error.to_string().contains("multi_terms.fields"), "{error}");
    }

    #[test]
    fn metrics_and_orders() {
        let mut vis = Visualization::example_action_port_pie();
        vis.metrics[0].metric = Metric::Sum {
            field: "bytes".into(),
        };
        let query = QueryText::default();
        let body = build_request(&vis, &context(&query, &[])).unwrap();
        assert_eq!(body["aggs"]["2"]["terms"]["order"], json!({ "1": "desc" }));
        assert_eq!(
            body["aggs"]["2"]["aggs"]["3"]["aggs"]["1"],
            json!({ "sum": { "field": "bytes" } })
        );
        // The outer ring is ordered by (and drawn with) the metric, so it is a direct child there too.
        assert_eq!(
            body["aggs"]["2"]["aggs"]["1"],
            json!({ "sum": { "field": "bytes" } })
        );
        let other = other_request(
            &vis,
            &context(&query, &[]),
            &[OtherGroup {
                parents: vec![("action".into(), json!("ACCEPT"))],
                field: "dstport".into(),
                shown: vec![json!(443), json!(53)],
            }],
        )
        .unwrap()
        .unwrap();
        let filter = &other["aggs"]["other"]["filters"]["filters"]["other:\"ACCEPT\""];
        assert_eq!(
            filter["bool"]["must_not"][0],
            json!({ "terms": { "dstport": [443, 53] } })
        );
        assert_eq!(
            other["aggs"]["other"]["aggs"]["1"],
            json!({ "sum": { "field": "bytes" } })
        );
    }

    #[test]
    fn bad_kql_is_an_error() {
        let query = QueryText::kql("action:(ACCEPT");
        assert!(build_request(
            &Visualization::example_action_port_pie(),
            &context(&query, &[])
        )
        .is_err());
    }
}
