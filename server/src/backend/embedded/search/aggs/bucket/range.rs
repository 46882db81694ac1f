//! `range`, `date_range` and `ip_range`: a bucket per `[from, to)` range of a field; a
//! document can fall in several.

use std::net::IpAddr;
use std::rc::Rc;

use app::model::flow::FieldType;
use serde_json::{json, Map, Value as Json};
use tantivy::{DocId, Score};

use super::super::super::columns::Accessor;
use super::super::super::datemath::{DateFormats, Rounding, Zone};
use super::super::super::query::{date_value, parse_cidr, QueryContext};
use super::super::super::SearchError;
use super::super::buckets::{Buckets, KeySpace};
use super::super::intermediate::{BucketKey, IntermediateAgg};
use super::super::options::{
    bad, bool_option, field_of, format_option, options, zone_option, AggField,
};
use super::super::response::{bucket_list, double_text, RenderContext};
use super::super::{render_subs, AggRequest, SegmentAgg, SegmentContext};
use crate::backend::embedded::schema::{from_ipv6, to_ipv6};

/// Bounds are kept as numbers (or u128 addresses).
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

pub fn parse(
    name: &str,
    agg_type: &str,
    value: &Json,
    context: &QueryContext<'_>,
) -> Result<RangeAgg, SearchError> {
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
    // An unmapped field is read as the kind of range asks (its buckets stay empty).
    let field_type = match (field.unmapped, agg_type) {
        (true, "date_range") => FieldType::Date,
        (true, "ip_range") => FieldType::Ip,
        (true, _) => FieldType::Long,
        (false, _) => field.field_type(),
    };
    let flavor = match (agg_type, field_type) {
        ("range", FieldType::Long | FieldType::Date) => RangeFlavor::Number,
        ("date_range", FieldType::Date) => RangeFlavor::Date {
            format: format_option(o)?,
            zone: zone_option(o)?,
        },
        ("ip_range", FieldType::Ip) => RangeFlavor::Ip,
        _ => return Err(field.unsupported_by(agg_type)),
    };
    let ranges = o.get("ranges").and_then(Json::as_array).ok_or_else(|| {
        bad(format!(
            "[{agg_type}] aggregation [{name}] needs an array of [ranges]"
        ))
    })?;
    let buckets = ranges
        .iter()
        .map(|range| parse_range(name, range, &flavor, context))
        .collect::<Result<_, _>>()?;
    Ok(RangeAgg {
        field,
        flavor,
        ranges: buckets,
        keyed: bool_option(o, "keyed"),
    })
}

fn parse_range(
    name: &str,
    range: &Json,
    flavor: &RangeFlavor,
    context: &QueryContext<'_>,
) -> Result<RangeBucket, SearchError> {
    let mut bucket = RangeBucket {
        key: range.get("key").and_then(Json::as_str).map(str::to_owned),
        from: None,
        to: None,
        ip_from: None,
        ip_to: None,
        mask: None,
    };
    match flavor {
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
                    Some(v) => Ok(Some(
                        date_value(v, &context.now, format, zone, Rounding::Down)? as f64,
                    )),
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
                            .map(|ip| Some(u128::from(to_ipv6(ip))))
                            .map_err(|_| bad(format!("[{k}] [{text}] is not an IP address"))),
                    }
                };
                bucket.ip_from = address("from")?;
                bucket.ip_to = address("to")?;
            }
        }
    }
    Ok(bucket)
}

/// A range's bounds: `(ip_from, ip_to, from, to)`.
type RangeBounds = (Option<u128>, Option<u128>, Option<f64>, Option<f64>);

/// A range aggregation in one segment: the key of a bucket is its range's position.
#[derive(Clone)]
pub struct RangeSegment {
    accessor: Accessor,
    /// `[from, to)` per range, as numbers or addresses.
    bounds: Rc<Vec<RangeBounds>>,
    ip: bool,
    buckets: Buckets,
}

impl RangeSegment {
    pub fn new(
        range: &RangeAgg,
        context: &SegmentContext<'_>,
        prototype: Rc<Vec<SegmentAgg>>,
    ) -> Result<Self, SearchError> {
        let field = &range.field;
        Ok(RangeSegment {
            accessor: context
                .columns
                .open(context.reader, &field.name, field.field)?,
            ip: matches!(range.flavor, RangeFlavor::Ip),
            bounds: Rc::new(
                range
                    .ranges
                    .iter()
                    .map(|r| (r.ip_from, r.ip_to, r.from, r.to))
                    .collect(),
            ),
            buckets: Buckets::new(KeySpace::Sparse, prototype, context.guard),
        })
    }

    pub fn buckets(&self) -> &Buckets {
        &self.buckets
    }

    #[inline]
    pub fn collect(&mut self, doc: DocId, score: Score) {
        if self.ip {
            let Some(value) = self.accessor.raw(doc) else {
                return;
            };
            for (index, (from, to, _, _)) in self.bounds.iter().enumerate() {
                if from.is_none_or(|f| value >= f) && to.is_none_or(|t| value < t) {
                    self.buckets.collect(index as u128, doc, score);
                }
            }
        } else {
            let Some(value) = self.accessor.number(doc) else {
                return;
            };
            for (index, (_, _, from, to)) in self.bounds.iter().enumerate() {
                if from.is_none_or(|f| value >= f) && to.is_none_or(|t| value < t) {
                    self.buckets.collect(index as u128, doc, score);
                }
            }
        }
    }

    pub fn harvest(self, request: &AggRequest) -> IntermediateAgg {
        self.buckets
            .harvest(request, |key| Some(BucketKey::Index(key as usize)))
    }
}

pub fn render(
    request: &AggRequest,
    range: &RangeAgg,
    result: &IntermediateAgg,
    context: &RenderContext<'_>,
) -> Result<Map<String, Json>, SearchError> {
    let buckets = context.buckets_of(result);
    context.spend(range.ranges.len())?;
    let mut rendered = Vec::with_capacity(range.ranges.len());
    for (index, spec) in range.ranges.iter().enumerate() {
        let bucket = buckets
            .get(&BucketKey::Index(index))
            .cloned()
            .unwrap_or_default();
        let mut entry = Map::new();
        let key = match &range.flavor {
            RangeFlavor::Number => {
                let key = spec.key.clone().unwrap_or_else(|| {
                    format!(
                        "{}-{}",
                        spec.from.map_or("*".to_owned(), double_text),
                        spec.to.map_or("*".to_owned(), double_text)
                    )
                });
                entry.insert("key".into(), json!(key));
                if let Some(from) = spec.from {
                    entry.insert("from".into(), json!(from));
                }
                if let Some(to) = spec.to {
                    entry.insert("to".into(), json!(to));
                }
                key
            }
            RangeFlavor::Date { format, zone } => {
                let text = |v: f64| format.format(v as i64, zone);
                let key = spec.key.clone().unwrap_or_else(|| {
                    format!(
                        "{}-{}",
                        spec.from.map_or("*".to_owned(), text),
                        spec.to.map_or("*".to_owned(), text)
                    )
                });
                entry.insert("key".into(), json!(key));
                if let Some(from) = spec.from {
                    entry.insert("from".into(), json!(from));
                    entry.insert("from_as_string".into(), json!(text(from)));
                }
                if let Some(to) = spec.to {
                    entry.insert("to".into(), json!(to));
                    entry.insert("to_as_string".into(), json!(text(to)));
                }
                key
            }
            RangeFlavor::Ip => {
                let text = |v: u128| from_ipv6(v.into()).to_string();
                let key = spec
                    .key
                    .clone()
                    .or_else(|| spec.mask.clone())
                    .unwrap_or_else(|| {
                        format!(
                            "{}-{}",
                            spec.ip_from.map_or("*".to_owned(), text),
                            spec.ip_to.map_or("*".to_owned(), text)
                        )
                    });
                entry.insert("key".into(), json!(key));
                if let Some(from) = spec.ip_from {
                    entry.insert("from".into(), json!(text(from)));
                }
                if let Some(to) = spec.ip_to {
                    entry.insert("to".into(), json!(text(to)));
                }
                key
            }
        };
        if range.keyed {
            // Keyed, the key names the bucket and is not repeated inside it.
            entry.remove("key");
        }
        entry.insert("doc_count".into(), json!(bucket.doc_count));
        render_subs(request, &bucket, &mut entry, context)?;
        rendered.push((key, Json::Object(entry)));
    }
    Ok(bucket_list(rendered, range.keyed))
}
