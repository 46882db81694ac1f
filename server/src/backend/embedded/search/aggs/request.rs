//! Aggregation requests: parsed from Elasticsearch JSON and checked against the schema, so
//! collection never meets a field of the wrong type. Everything unsupported is refused here.

use std::net::IpAddr;

use app::model::flow::FieldType;
use serde_json::{Map, Value as Json};

use super::super::datemath::{DateFormats, Rounding, Unit, Zone};
use super::super::hits::{parse_sort, parse_source_filter, Direction, SortSpec, SourceFilter};
use super::super::query::{
    compile, date_value, parse_cidr, parse_query, unknown_field, QueryContext,
};
use super::super::SearchError;
use crate::backend::embedded::schema::SchemaField;

/// One named aggregation and its sub-aggregations.
#[derive(Debug)]
pub struct AggRequest {
    pub name: String,
    pub kind: AggKind,
    pub children: Vec<AggRequest>,
    /// `meta` is echoed back, as Elasticsearch does.
    pub meta: Option<Json>,
}

#[derive(Debug)]
pub enum AggKind {
    Terms(TermsAgg),
    DateHistogram(DateHistogramAgg),
    Histogram(HistogramAgg),
    Range(RangeAgg),
    Filter(FilterAgg),
    Filters(FiltersAgg),
    Metric(MetricAgg),
    TopHits(TopHitsAgg),
}

/// A field an aggregation reads, resolved in the schema.
#[derive(Clone, Debug)]
pub struct AggField {
    /// The schema name (`action`, also for `action.keyword`).
    pub name: String,
    pub field: SchemaField,
}

impl AggField {
    pub fn field_type(&self) -> FieldType {
        self.field.field_type
    }
}

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

#[derive(Debug)]
pub struct TermsAgg {
    pub field: AggField,
    pub size: usize,
    pub order: Vec<BucketOrder>,
    pub min_doc_count: u64,
    /// The key of documents without the field (Kibana's "Missing" bucket).
    pub missing: Option<Json>,
    pub include: Option<TermFilter>,
    pub exclude: Option<TermFilter>,
}

/// `include` / `exclude`: a regular expression or a list of exact values.
#[derive(Debug)]
pub enum TermFilter {
    Regex(regex::Regex),
    Values(Vec<String>),
}

impl TermFilter {
    pub fn matches(&self, key: &str) -> bool {
        match self {
            TermFilter::Regex(regex) => regex.is_match(key),
            TermFilter::Values(values) => values.iter().any(|v| v == key),
        }
    }
}

/// A date histogram's interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Interval {
    Fixed(i64),
    Calendar(Unit),
}

#[derive(Debug)]
pub struct DateHistogramAgg {
    pub field: AggField,
    pub interval: Interval,
    pub zone: Zone,
    pub offset_ms: i64,
    pub min_doc_count: u64,
    pub extended_bounds: Option<(i64, i64)>,
    pub hard_bounds: Option<(Option<i64>, Option<i64>)>,
    pub format: DateFormats,
    pub keyed: bool,
    pub order: BucketOrder,
}

#[derive(Debug)]
pub struct HistogramAgg {
    pub field: AggField,
    pub interval: f64,
    pub offset: f64,
    pub min_doc_count: u64,
    pub extended_bounds: Option<(f64, f64)>,
    pub keyed: bool,
    pub order: BucketOrder,
}

/// `range`, `date_range` and `ip_range`: bounds are kept as numbers (or u128 addresses).
#[derive(Debug)]
pub struct RangeAgg {
    pub field: AggField,
    pub flavor: RangeFlavor,
    pub ranges: Vec<RangeBucket>,
    pub keyed: bool,
}

#[derive(Debug)]
pub enum RangeFlavor {
    Number,
    Date { format: DateFormats, zone: Zone },
    Ip,
}

/// `[from, to)`.
#[derive(Clone, Debug, PartialEq)]
pub struct RangeBucket {
    pub key: Option<String>,
    pub from: Option<f64>,
    pub to: Option<f64>,
    /// For `ip_range`: the bounds as addresses, `to` exclusive.
    pub ip_from: Option<u128>,
    pub ip_to: Option<u128>,
    pub mask: Option<String>,
}

#[derive(Debug)]
pub struct FilterAgg {
    pub query: Box<dyn tantivy::query::Query>,
}

#[derive(Debug)]
pub struct FiltersAgg {
    pub filters: Vec<(String, Box<dyn tantivy::query::Query>)>,
    /// Filters given as an object (named buckets) rather than an array.
    pub keyed: bool,
    pub other_bucket_key: Option<String>,
}

#[derive(Debug)]
pub struct MetricAgg {
    pub kind: MetricKind,
    pub field: AggField,
    /// Value used for documents without the field.
    pub missing: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MetricKind {
    Avg,
    Sum,
    Min,
    Max,
    ValueCount,
    Cardinality,
    Stats,
    Percentiles { percents: Vec<f64>, keyed: bool },
}

#[derive(Debug)]
pub struct TopHitsAgg {
    pub size: usize,
    pub from: usize,
    pub sort: SortSpec,
    pub source: SourceFilter,
}

/// Elasticsearch's default `search.max_buckets`.
pub const MAX_BUCKETS: usize = 65_535;

fn bad(reason: impl Into<String>) -> SearchError {
    SearchError::parsing(reason)
}

/// Parses an `aggs` object.
pub fn parse_aggs(
    value: &Json,
    context: &QueryContext<'_>,
) -> Result<Vec<AggRequest>, SearchError> {
    let object = value
        .as_object()
        .ok_or_else(|| bad("[aggs] must be an object"))?;
    object
        .iter()
        .map(|(name, body)| parse_agg(name, body, context))
        .collect()
}

fn parse_agg(
    name: &str,
    body: &Json,
    context: &QueryContext<'_>,
) -> Result<AggRequest, SearchError> {
    let object = body
        .as_object()
        .ok_or_else(|| bad(format!("aggregation [{name}] must be an object")))?;
    let mut kind = None;
    let mut children = Vec::new();
    let mut meta = None;
    for (key, value) in object {
        match key.as_str() {
            "aggs" | "aggregations" => children = parse_aggs(value, context)?,
            "meta" => meta = Some(value.clone()),
            agg_type => {
                if kind.is_some() {
                    return Err(bad(format!(
                        "found two aggregation type definitions in [{name}]: [{agg_type}] and another"
                    )));
                }
                kind = Some(parse_kind(name, agg_type, value, context)?);
            }
        }
    }
    let kind = kind.ok_or_else(|| bad(format!("missing aggregation type in [{name}]")))?;
    if !children.is_empty() && matches!(kind, AggKind::Metric(_) | AggKind::TopHits(_)) {
        return Err(bad(format!(
            "aggregator [{name}] of type [{}] cannot accept sub-aggregations",
            agg_type_name(&kind)
        )));
    }
    Ok(AggRequest {
        name: name.to_owned(),
        kind,
        children,
        meta,
    })
}

fn agg_type_name(kind: &AggKind) -> &'static str {
    match kind {
        AggKind::Metric(_) => "metric",
        AggKind::TopHits(_) => "top_hits",
        _ => "bucket",
    }
}

fn options<'a>(
    name: &str,
    agg_type: &str,
    value: &'a Json,
    allowed: &[&str],
) -> Result<&'a Map<String, Json>, SearchError> {
    let object = value
        .as_object()
        .ok_or_else(|| bad(format!("[{agg_type}] of [{name}] must be an object")))?;
    for key in object.keys() {
        if !allowed.contains(&key.as_str()) {
            return Err(SearchError::unsupported(format!(
                "[{agg_type}] option [{key}] (in aggregation [{name}]) is not supported by the embedded engine"
            )));
        }
    }
    Ok(object)
}

fn field_of(
    name: &str,
    agg_type: &str,
    object: &Map<String, Json>,
    context: &QueryContext<'_>,
) -> Result<AggField, SearchError> {
    if object.contains_key("script") {
        return Err(SearchError::unsupported(format!(
            "scripts (in aggregation [{name}]) are not supported by the embedded engine"
        )));
    }
    let field = object.get("field").and_then(Json::as_str).ok_or_else(|| {
        bad(format!(
            "[{agg_type}] aggregation [{name}] must name a [field]"
        ))
    })?;
    let schema_field = context
        .schema
        .field(field)
        .ok_or_else(|| unknown_field(field))?;
    if schema_field.field_type == FieldType::Text {
        return Err(SearchError::illegal(format!(
            "Text fields are not optimised for operations that require per-document field data like aggregations and sorting: [{field}] is a text field"
        )));
    }
    Ok(AggField {
        name: field.strip_suffix(".keyword").unwrap_or(field).to_owned(),
        field: schema_field,
    })
}

fn usize_option(
    object: &Map<String, Json>,
    key: &str,
    default: usize,
) -> Result<usize, SearchError> {
    match object.get(key) {
        None | Some(Json::Null) => Ok(default),
        Some(value) => value
            .as_u64()
            .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
            .map(|v| v as usize)
            .ok_or_else(|| bad(format!("[{key}] must be a non-negative integer"))),
    }
}

fn bool_option(object: &Map<String, Json>, key: &str) -> bool {
    object.get(key).and_then(Json::as_bool).unwrap_or(false)
}

fn parse_direction(value: &Json) -> Result<Direction, SearchError> {
    match value.as_str().map(str::to_ascii_lowercase).as_deref() {
        Some("asc") => Ok(Direction::Asc),
        Some("desc") => Ok(Direction::Desc),
        _ => Err(bad(format!("unknown order direction [{value}]"))),
    }
}

fn parse_order(value: &Json) -> Result<Vec<BucketOrder>, SearchError> {
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

fn parse_term_filter(value: &Json) -> Result<TermFilter, SearchError> {
    match value {
        Json::String(pattern) => regex::Regex::new(&format!("^(?:{pattern})$"))
            .map(TermFilter::Regex)
            .map_err(|e| bad(format!("invalid include/exclude pattern [{pattern}]: {e}"))),
        Json::Array(values) => Ok(TermFilter::Values(
            values
                .iter()
                .map(|v| match v {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
        )),
        _ => Err(SearchError::unsupported(
            "include/exclude partitions are not supported by the embedded engine",
        )),
    }
}

fn parse_kind(
    name: &str,
    agg_type: &str,
    value: &Json,
    context: &QueryContext<'_>,
) -> Result<AggKind, SearchError> {
    Ok(match agg_type {
        "terms" => {
            let o = options(
                name,
                agg_type,
                value,
                &[
                    "field",
                    "size",
                    "shard_size",
                    "order",
                    "min_doc_count",
                    "shard_min_doc_count",
                    "missing",
                    "include",
                    "exclude",
                    "show_term_doc_count_error",
                    "execution_hint",
                    "collect_mode",
                    "value_type",
                    "format",
                ],
            )?;
            let field = field_of(name, agg_type, o, context)?;
            let order = match o.get("order") {
                Some(order) => parse_order(order)?,
                None => vec![BucketOrder::Count(Direction::Desc)],
            };
            let min_doc_count = usize_option(o, "min_doc_count", 1)? as u64;
            if min_doc_count == 0 && field.field_type() != FieldType::Keyword {
                return Err(SearchError::unsupported(format!(
                    "[min_doc_count: 0] on non-keyword field [{}] is not supported by the embedded engine",
                    field.name
                )));
            }
            AggKind::Terms(TermsAgg {
                size: usize_option(o, "size", 10)?,
                order,
                min_doc_count,
                missing: o.get("missing").cloned(),
                include: o.get("include").map(parse_term_filter).transpose()?,
                exclude: o.get("exclude").map(parse_term_filter).transpose()?,
                field,
            })
        }
        "date_histogram" | "auto_date_histogram" if agg_type == "auto_date_histogram" => {
            return Err(SearchError::unsupported(
                "[auto_date_histogram] is not supported by the embedded engine",
            ));
        }
        "date_histogram" => {
            let o = options(
                name,
                agg_type,
                value,
                &[
                    "field",
                    "fixed_interval",
                    "calendar_interval",
                    "interval",
                    "time_zone",
                    "offset",
                    "min_doc_count",
                    "extended_bounds",
                    "hard_bounds",
                    "format",
                    "keyed",
                    "order",
                    "missing",
                ],
            )?;
            if o.contains_key("missing") {
                return Err(SearchError::unsupported(
                    "[date_histogram] [missing] is not supported by the embedded engine",
                ));
            }
            let field = field_of(name, agg_type, o, context)?;
            if field.field_type() != FieldType::Date {
                return Err(SearchError::illegal(format!(
                    "Field [{}] of type [{}] is not supported for aggregation [date_histogram]",
                    field.name,
                    field.field_type().es_type()
                )));
            }
            let interval = parse_interval(o)?;
            let zone = match o.get("time_zone").and_then(Json::as_str) {
                Some(z) => Zone::parse(z).map_err(|e| bad(e.to_string()))?,
                None => Zone::utc(),
            };
            let format = match o.get("format").and_then(Json::as_str) {
                Some(f) => {
                    DateFormats::parse(f).map_err(|e| SearchError::unsupported(e.to_string()))?
                }
                None => DateFormats::default(),
            };
            let date_bound =
                |v: &Json, rounding| date_value(v, context.now_ms, &format, &zone, rounding);
            let extended_bounds = match o.get("extended_bounds") {
                Some(bounds) => Some((
                    date_bound(
                        bounds
                            .get("min")
                            .ok_or_else(|| bad("[extended_bounds] needs [min]"))?,
                        Rounding::Down,
                    )?,
                    date_bound(
                        bounds
                            .get("max")
                            .ok_or_else(|| bad("[extended_bounds] needs [max]"))?,
                        Rounding::Up,
                    )?,
                )),
                None => None,
            };
            let hard_bounds = match o.get("hard_bounds") {
                Some(bounds) => Some((
                    bounds
                        .get("min")
                        .map(|v| date_bound(v, Rounding::Down))
                        .transpose()?,
                    bounds
                        .get("max")
                        .map(|v| date_bound(v, Rounding::Up))
                        .transpose()?,
                )),
                None => None,
            };
            let offset_ms = match o.get("offset") {
                Some(Json::String(s)) => parse_signed_duration(s)?,
                Some(Json::Number(n)) => n.as_i64().unwrap_or(0),
                _ => 0,
            };
            AggKind::DateHistogram(DateHistogramAgg {
                field,
                interval,
                zone,
                offset_ms,
                min_doc_count: usize_option(o, "min_doc_count", 0)? as u64,
                extended_bounds,
                hard_bounds,
                format,
                keyed: bool_option(o, "keyed"),
                order: single_order(o)?.unwrap_or(BucketOrder::Key(Direction::Asc)),
            })
        }
        "histogram" => {
            let o = options(
                name,
                agg_type,
                value,
                &[
                    "field",
                    "interval",
                    "offset",
                    "min_doc_count",
                    "extended_bounds",
                    "keyed",
                    "order",
                ],
            )?;
            let field = field_of(name, agg_type, o, context)?;
            if !matches!(field.field_type(), FieldType::Long | FieldType::Date) {
                return Err(SearchError::illegal(format!(
                    "Field [{}] of type [{}] is not supported for aggregation [histogram]",
                    field.name,
                    field.field_type().es_type()
                )));
            }
            let interval = o
                .get("interval")
                .and_then(Json::as_f64)
                .filter(|i| *i > 0.0)
                .ok_or_else(|| {
                    bad(format!(
                        "[interval] must be a positive number in [histogram] aggregation [{name}]"
                    ))
                })?;
            let extended_bounds = match o.get("extended_bounds") {
                Some(b) => Some((
                    b.get("min")
                        .and_then(Json::as_f64)
                        .ok_or_else(|| bad("[extended_bounds] needs a numeric [min]"))?,
                    b.get("max")
                        .and_then(Json::as_f64)
                        .ok_or_else(|| bad("[extended_bounds] needs a numeric [max]"))?,
                )),
                None => None,
            };
            AggKind::Histogram(HistogramAgg {
                field,
                interval,
                offset: o.get("offset").and_then(Json::as_f64).unwrap_or(0.0),
                min_doc_count: usize_option(o, "min_doc_count", 0)? as u64,
                extended_bounds,
                keyed: bool_option(o, "keyed"),
                order: single_order(o)?.unwrap_or(BucketOrder::Key(Direction::Asc)),
            })
        }
        "range" | "date_range" | "ip_range" => parse_range_agg(name, agg_type, value, context)?,
        "filter" => AggKind::Filter(FilterAgg {
            query: compile(&parse_query(value)?, context)?,
        }),
        "filters" => {
            let o = options(
                name,
                agg_type,
                value,
                &["filters", "other_bucket", "other_bucket_key"],
            )?;
            let (filters, keyed): (Vec<(String, &Json)>, bool) = match o.get("filters") {
                Some(Json::Object(named)) => {
                    (named.iter().map(|(k, v)| (k.clone(), v)).collect(), true)
                }
                Some(Json::Array(anonymous)) => (
                    anonymous
                        .iter()
                        .enumerate()
                        .map(|(i, v)| (i.to_string(), v))
                        .collect(),
                    false,
                ),
                _ => {
                    return Err(bad(format!(
                        "[filters] aggregation [{name}] needs [filters], an object or an array"
                    )))
                }
            };
            let filters = filters
                .into_iter()
                .map(|(key, query)| Ok((key, compile(&parse_query(query)?, context)?)))
                .collect::<Result<Vec<_>, SearchError>>()?;
            let other_key = o
                .get("other_bucket_key")
                .and_then(Json::as_str)
                .map(str::to_owned);
            let other = bool_option(o, "other_bucket") || other_key.is_some();
            AggKind::Filters(FiltersAgg {
                filters,
                keyed,
                other_bucket_key: other.then(|| other_key.unwrap_or_else(|| "_other_".to_owned())),
            })
        }
        "avg" | "sum" | "min" | "max" | "value_count" | "cardinality" | "stats" | "percentiles" => {
            let o = options(
                name,
                agg_type,
                value,
                &[
                    "field",
                    "missing",
                    "percents",
                    "keyed",
                    "precision_threshold",
                    "format",
                    "tdigest",
                ],
            )?;
            let field = field_of(name, agg_type, o, context)?;
            let numeric = matches!(field.field_type(), FieldType::Long | FieldType::Date);
            let kind = match agg_type {
                "avg" => MetricKind::Avg,
                "sum" => MetricKind::Sum,
                "min" => MetricKind::Min,
                "max" => MetricKind::Max,
                "value_count" => MetricKind::ValueCount,
                "cardinality" => MetricKind::Cardinality,
                "stats" => MetricKind::Stats,
                _ => {
                    let percents = match o.get("percents") {
                        Some(Json::Array(values)) => values
                            .iter()
                            .map(|v| {
                                v.as_f64()
                                    .filter(|p| (0.0..=100.0).contains(p))
                                    .ok_or_else(|| bad("[percents] must be numbers from 0 to 100"))
                            })
                            .collect::<Result<Vec<_>, _>>()?,
                        None => vec![1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0],
                        _ => return Err(bad("[percents] must be an array")),
                    };
                    MetricKind::Percentiles {
                        percents,
                        keyed: o.get("keyed").and_then(Json::as_bool).unwrap_or(true),
                    }
                }
            };
            if !numeric && !matches!(kind, MetricKind::ValueCount | MetricKind::Cardinality) {
                return Err(SearchError::illegal(format!(
                    "Field [{}] of type [{}] is not supported for aggregation [{agg_type}]",
                    field.name,
                    field.field_type().es_type()
                )));
            }
            let missing = match o.get("missing") {
                Some(v) => Some(
                    v.as_f64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                        .ok_or_else(|| bad("[missing] must be a number"))?,
                ),
                None => None,
            };
            AggKind::Metric(MetricAgg {
                kind,
                field,
                missing,
            })
        }
        "top_hits" => {
            let o = options(
                name,
                agg_type,
                value,
                &[
                    "size",
                    "from",
                    "sort",
                    "_source",
                    "version",
                    "explain",
                    "track_scores",
                    "docvalue_fields",
                    "stored_fields",
                ],
            )?;
            AggKind::TopHits(TopHitsAgg {
                size: usize_option(o, "size", 3)?.min(100),
                from: usize_option(o, "from", 0)?,
                sort: match o.get("sort") {
                    Some(sort) => parse_sort(sort, context.schema)?,
                    None => SortSpec::default(),
                },
                source: match o.get("_source") {
                    Some(source) => parse_source_filter(source)?,
                    None => SourceFilter::default(),
                },
            })
        }
        other => {
            return Err(SearchError::unsupported(format!(
                "aggregation type [{other}] (in [{name}]) is not supported by the embedded engine"
            )))
        }
    })
}

fn single_order(o: &Map<String, Json>) -> Result<Option<BucketOrder>, SearchError> {
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

/// `fixed_interval` (`30s`, `90m`), `calendar_interval` (`1d`, `month`), or the 6.x
/// `interval`, which is calendar for a single unit and fixed otherwise.
fn parse_interval(o: &Map<String, Json>) -> Result<Interval, SearchError> {
    let text = |key: &str| o.get(key).and_then(Json::as_str);
    if let Some(fixed) = text("fixed_interval") {
        return parse_fixed(fixed).map(Interval::Fixed);
    }
    if let Some(calendar) = text("calendar_interval") {
        return parse_calendar(calendar)
            .map(Interval::Calendar)
            .ok_or_else(|| bad(format!("The supplied interval [{calendar}] could not be parsed as a calendar interval.")));
    }
    if let Some(legacy) = o.get("interval") {
        if let Some(ms) = legacy.as_i64() {
            return Ok(Interval::Fixed(ms));
        }
        let legacy = legacy.as_str().unwrap_or_default();
        if let Some(unit) = parse_calendar(legacy) {
            return Ok(Interval::Calendar(unit));
        }
        return parse_fixed(legacy).map(Interval::Fixed);
    }
    Err(bad(
        "[date_histogram] needs [fixed_interval], [calendar_interval] or [interval]",
    ))
}

fn parse_calendar(text: &str) -> Option<Unit> {
    Some(match text {
        "1m" | "minute" => Unit::Minute,
        "1h" | "hour" => Unit::Hour,
        "1d" | "day" => Unit::Day,
        "1w" | "week" => Unit::Week,
        "1M" | "month" => Unit::Month,
        "1q" | "quarter" => Unit::Quarter,
        "1y" | "year" => Unit::Year,
        "1s" | "second" => Unit::Second,
        _ => return None,
    })
}

/// `500ms`, `30s`, `5m`, `12h`, `7d`: a fixed number of milliseconds.
pub fn parse_fixed(text: &str) -> Result<i64, SearchError> {
    let error = || {
        bad(format!("failed to parse setting [fixed_interval] with value [{text}] as a time value: unit is missing or unrecognized"))
    };
    let digits: String = text.chars().take_while(|c| c.is_ascii_digit()).collect();
    let unit = &text[digits.len()..];
    let amount: i64 = digits.parse().map_err(|_| error())?;
    let scale = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(error()),
    };
    match amount.checked_mul(scale) {
        Some(ms) if ms > 0 => Ok(ms),
        _ => Err(error()),
    }
}

fn parse_signed_duration(text: &str) -> Result<i64, SearchError> {
    let (sign, rest) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text.strip_prefix('+').unwrap_or(text)),
    };
    Ok(sign * parse_fixed(rest)?)
}

fn parse_range_agg(
    name: &str,
    agg_type: &str,
    value: &Json,
    context: &QueryContext<'_>,
) -> Result<AggKind, SearchError> {
    let o = options(
        name,
        agg_type,
        value,
        &["field", "ranges", "keyed", "format", "time_zone", "missing"],
    )?;
    if o.contains_key("missing") {
        return Err(SearchError::unsupported(format!(
            "[{agg_type}] [missing] is not supported by the embedded engine"
        )));
    }
    let field = field_of(name, agg_type, o, context)?;
    let flavor = match (agg_type, field.field_type()) {
        ("range", FieldType::Long | FieldType::Date) => RangeFlavor::Number,
        ("date_range", FieldType::Date) => RangeFlavor::Date {
            format: match o.get("format").and_then(Json::as_str) {
                Some(f) => {
                    DateFormats::parse(f).map_err(|e| SearchError::unsupported(e.to_string()))?
                }
                None => DateFormats::default(),
            },
            zone: match o.get("time_zone").and_then(Json::as_str) {
                Some(z) => Zone::parse(z).map_err(|e| bad(e.to_string()))?,
                None => Zone::utc(),
            },
        },
        ("ip_range", FieldType::Ip) => RangeFlavor::Ip,
        (_, field_type) => {
            return Err(SearchError::illegal(format!(
                "Field [{}] of type [{}] is not supported for aggregation [{agg_type}]",
                field.name,
                field_type.es_type()
            )))
        }
    };
    let ranges = o.get("ranges").and_then(Json::as_array).ok_or_else(|| {
        bad(format!(
            "[{agg_type}] aggregation [{name}] needs an array of [ranges]"
        ))
    })?;
    let mut buckets = Vec::with_capacity(ranges.len());
    for range in ranges {
        let key = range.get("key").and_then(Json::as_str).map(str::to_owned);
        let mut bucket = RangeBucket {
            key,
            from: None,
            to: None,
            ip_from: None,
            ip_to: None,
            mask: None,
        };
        match &flavor {
            RangeFlavor::Number => {
                let number = |k: &str| -> Result<Option<f64>, SearchError> {
                    match range.get(k) {
                        None | Some(Json::Null) => Ok(None),
                        Some(v) => v
                            .as_f64()
                            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                            .map(Some)
                            .ok_or_else(|| {
                                bad(format!(
                                    "[{k}] must be a number in [range] aggregation [{name}]"
                                ))
                            }),
                    }
                };
                bucket.from = number("from")?;
                bucket.to = number("to")?;
            }
            RangeFlavor::Date { format, zone } => {
                let date = |k: &str| -> Result<Option<f64>, SearchError> {
                    match range.get(k) {
                        None | Some(Json::Null) => Ok(None),
                        Some(v) => {
                            Ok(Some(
                                date_value(v, context.now_ms, format, zone, Rounding::Down)? as f64,
                            ))
                        }
                    }
                };
                bucket.from = date("from")?;
                bucket.to = date("to")?;
            }
            RangeFlavor::Ip => {
                if let Some(mask) = range.get("mask").and_then(Json::as_str) {
                    let (low, high) = parse_cidr(mask)
                        .ok_or_else(|| bad(format!("[mask] [{mask}] is not a CIDR block")))?;
                    bucket.ip_from = Some(u128::from(low));
                    bucket.ip_to = u128::from(high).checked_add(1);
                    bucket.mask = Some(mask.to_owned());
                } else {
                    let address = |k: &str| -> Result<Option<u128>, SearchError> {
                        match range.get(k).and_then(Json::as_str) {
                            None => Ok(None),
                            Some(text) => text
                                .parse::<IpAddr>()
                                .map(|ip| {
                                    Some(u128::from(crate::backend::embedded::schema::to_ipv6(ip)))
                                })
                                .map_err(|_| bad(format!("[{k}] [{text}] is not an IP address"))),
                        }
                    };
                    bucket.ip_from = address("from")?;
                    bucket.ip_to = address("to")?;
                }
            }
        }
        buckets.push(bucket);
    }
    Ok(AggKind::Range(RangeAgg {
        field,
        flavor,
        ranges: buckets,
        keyed: bool_option(o, "keyed"),
    }))
}
