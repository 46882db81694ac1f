//! `composite`: buckets keyed by the values of several sources (terms, histogram,
//! date_histogram), in key order, a page of `size` at a time: `after` names the last key of
//! the previous page, and every answer gives the `after_key` of the next. A client pages
//! through every combination without the engine holding more than a few pages per segment:
//! each segment keeps its first `size` keys after `after` (multi_key.rs lets the later ones
//! go while collecting), which together hold the first `size` keys of all.

use std::cmp::Ordering;

use app::model::flow::FieldType;
use serde_json::{json, Map, Value as Json};

use super::super::super::datemath::{DateFormats, Zone};
use super::super::super::hits::Direction;
use super::super::super::query::QueryContext;
use super::super::super::SearchError;
use super::super::intermediate::{BucketKey, IntermediateAgg};
use super::super::options::{
    bad, bool_option, field_of, format_option, options, usize_option, zone_option,
};
use super::super::response::RenderContext;
use super::super::{render_subs, AggRequest};
use super::date_histogram::{parse_interval, parse_signed_duration};
use super::multi_key::{KeyPage, KeySource, Missing, SourceKind};
use super::terms::term_key_json;
use crate::backend::embedded::schema::to_ipv6;

/// One named source of a composite key.
#[derive(Debug)]
pub struct CompositeSource {
    pub name: String,
    pub source: KeySource,
    pub direction: Direction,
    /// A date_histogram's `format`: its keys are then strings.
    pub format: Option<DateFormats>,
    pub zone: Zone,
}

#[derive(Debug)]
pub struct CompositeAgg {
    pub sources: Vec<CompositeSource>,
    /// The page asked for: `size` keys after `after`.
    pub page: KeyPage,
}

pub fn parse(
    name: &str,
    agg_type: &str,
    value: &Json,
    context: &QueryContext<'_>,
) -> Result<CompositeAgg, SearchError> {
    let o = options(name, agg_type, value, &["sources", "size", "after"])?;
    let entries = o
        .get("sources")
        .ok_or_else(|| SearchError::illegal("Required [sources]"))?
        .as_array()
        .ok_or_else(|| bad("[sources] must be an array"))?;
    if entries.is_empty() {
        return Err(SearchError::illegal(
            "Composite [sources] cannot be null or empty",
        ));
    }
    let mut sources: Vec<CompositeSource> = Vec::with_capacity(entries.len());
    for entry in entries {
        let source = parse_source(name, entry, context)?;
        if sources.iter().any(|s| s.name == source.name) {
            return Err(SearchError::illegal(format!(
                "Composite source names must be unique, found duplicates: [{}]",
                source.name
            )));
        }
        sources.push(source);
    }
    let size = usize_option(o, "size", 10)?;
    if size == 0 {
        return Err(SearchError::illegal(format!(
            "[size] must be greater than 0. Found [0] in [{name}]"
        )));
    }
    let after = o
        .get("after")
        .map(|after| parse_after(after, &sources))
        .transpose()?;
    Ok(CompositeAgg {
        page: KeyPage {
            size,
            directions: sources.iter().map(|s| s.direction).collect(),
            after,
        },
        sources,
    })
}

/// `{ "name": { "terms" | "histogram" | "date_histogram": { ... } } }`.
fn parse_source(
    name: &str,
    entry: &Json,
    context: &QueryContext<'_>,
) -> Result<CompositeSource, SearchError> {
    let (source_name, body) = match entry.as_object() {
        Some(object) if object.len() == 1 => object.iter().next().unwrap_or_else(|| unreachable!()),
        _ => {
            return Err(bad(format!(
                "each of [sources] in [{name}] must be an object with one named source"
            )))
        }
    };
    let (source_type, o) = match body.as_object() {
        Some(object) if object.len() == 1 => {
            let (source_type, o) = object.iter().next().unwrap_or_else(|| unreachable!());
            (source_type.as_str(), o)
        }
        _ => {
            return Err(bad(format!(
                "source [{source_name}] in [{name}] must name one source type"
            )))
        }
    };
    let common = ["field", "order", "missing_bucket", "value_type", "script"];
    let allowed: Vec<&str> = match source_type {
        "terms" => common.to_vec(),
        "histogram" => [&common[..], &["interval", "format"]].concat(),
        "date_histogram" => [
            &common[..],
            &[
                "calendar_interval",
                "fixed_interval",
                "interval",
                "time_zone",
                "offset",
                "format",
            ],
        ]
        .concat(),
        other => {
            return Err(SearchError::unsupported(format!(
            "composite source type [{other}] (in [{name}]) is not supported by the embedded engine"
        )))
        }
    };
    let o = options(source_name, source_type, o, &allowed)?;
    let field = field_of(source_name, source_type, o, context)?;
    let direction = match o.get("order") {
        None => Direction::Asc,
        Some(Json::String(order)) if order == "asc" => Direction::Asc,
        Some(Json::String(order)) if order == "desc" => Direction::Desc,
        Some(Json::String(other)) => return Err(bad(format!("Unknown order [{other}]"))),
        Some(other) => {
            return Err(bad(format!(
                "[order] of source [{source_name}] must be [asc] or [desc], found [{other}]"
            )))
        }
    };
    let zone = zone_option(o)?;
    let kind = match source_type {
        "terms" => SourceKind::Terms,
        "histogram" => SourceKind::Histogram {
            interval: o
                .get("interval")
                .and_then(Json::as_f64)
                .filter(|i| *i > 0.0)
                .ok_or_else(|| {
                    SearchError::illegal(format!(
                        "[interval] must be greater than 0 for [histogram] source [{source_name}]"
                    ))
                })?,
            offset: 0.0,
        },
        _ => SourceKind::DateHistogram {
            interval: parse_interval(o)?,
            zone,
            offset_ms: match o.get("offset") {
                Some(Json::String(s)) => parse_signed_duration(s)?,
                Some(Json::Number(n)) => n.as_i64().unwrap_or(0),
                _ => 0,
            },
        },
    };
    let format = match (source_type, o.get("format")) {
        ("date_histogram", Some(_)) => Some(format_option(o)?),
        _ => None,
    };
    let source = KeySource {
        field,
        kind,
        missing: if bool_option(o, "missing_bucket") {
            Missing::Null
        } else {
            Missing::Skip
        },
    };
    source.check(source_type)?;
    Ok(CompositeSource {
        name: source_name.clone(),
        source,
        direction,
        format,
        zone,
    })
}

/// `after`: a value for every source, read as the source's keys are.
fn parse_after(after: &Json, sources: &[CompositeSource]) -> Result<BucketKey, SearchError> {
    let object = after
        .as_object()
        .ok_or_else(|| bad("[after] must be an object"))?;
    if object.len() != sources.len() {
        return Err(SearchError::illegal(format!(
            "[after] has {} value(s) but [sources] has {}",
            object.len(),
            sources.len()
        )));
    }
    let keys = sources
        .iter()
        .map(|source| {
            let value = object.get(&source.name).ok_or_else(|| {
                SearchError::illegal(format!("Missing value for [after.{}]", source.name))
            })?;
            after_value(source, value)
        })
        .collect::<Result<Box<[BucketKey]>, SearchError>>()?;
    Ok(BucketKey::Tuple(keys))
}

fn after_value(source: &CompositeSource, value: &Json) -> Result<BucketKey, SearchError> {
    let invalid = || {
        SearchError::illegal(format!(
            "Invalid value for [after.{}], expected comparable, got [{value}]",
            source.name
        ))
    };
    if value.is_null() {
        return Ok(BucketKey::Null);
    }
    let text = match value {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    };
    let date = |text: &str| -> Result<i64, SearchError> {
        match value.as_i64() {
            Some(ms) => Ok(ms),
            None => source
                .format
                .clone()
                .unwrap_or_default()
                .parse_date(text, &source.zone)
                .map_err(|_| invalid()),
        }
    };
    Ok(match &source.source.kind {
        SourceKind::Histogram { .. } => {
            BucketKey::F64(text.parse::<f64>().map_err(|_| invalid())?.to_bits())
        }
        SourceKind::DateHistogram { .. } => BucketKey::I64(date(&text)?),
        SourceKind::Terms => match source.source.field.field_type() {
            // Strings and addresses are written as strings only.
            FieldType::Keyword | FieldType::Text | FieldType::Ip if !value.is_string() => {
                return Err(SearchError::illegal(format!(
                    "invalid value, expected string, got {}",
                    java_type(value)
                )))
            }
            _ if source.source.field.unmapped => BucketKey::Str(text),
            FieldType::Keyword | FieldType::Text => BucketKey::Str(text),
            FieldType::Long => BucketKey::I64(match value.as_f64() {
                Some(v) if v.fract() == 0.0 => v as i64,
                _ => text.parse().map_err(|_| invalid())?,
            }),
            FieldType::Date => BucketKey::I64(date(&text)?),
            FieldType::Ip => {
                BucketKey::Ip(u128::from(to_ipv6(text.parse().map_err(|_| invalid())?)))
            }
        },
    })
}

/// The Java type Elasticsearch names for a JSON value it did not expect.
fn java_type(value: &Json) -> &'static str {
    match value {
        Json::Number(n) if n.is_f64() => "Double",
        Json::Number(n) if n.as_i64().is_some_and(|v| i32::try_from(v).is_ok()) => "Integer",
        Json::Number(_) => "Long",
        Json::Bool(_) => "Boolean",
        Json::Array(_) => "ArrayList",
        Json::Object(_) => "HashMap",
        Json::String(_) => "String",
        Json::Null => "null",
    }
}

impl CompositeAgg {
    pub fn compare(&self, a: &BucketKey, b: &BucketKey) -> Ordering {
        self.page.compare(a, b)
    }

    pub fn is_after(&self, key: &BucketKey) -> bool {
        self.page.is_after(key)
    }

    pub fn key_sources(&self) -> impl Iterator<Item = &KeySource> + Clone {
        self.sources.iter().map(|s| &s.source)
    }

    /// A key as the response's object of values by source name.
    fn key_json(&self, key: &BucketKey) -> Json {
        let BucketKey::Tuple(values) = key else {
            return Json::Null;
        };
        let object: Map<String, Json> = values
            .iter()
            .zip(&self.sources)
            .map(|(value, source)| {
                let json = match (value, &source.format) {
                    (BucketKey::I64(ms), Some(format)) => json!(format.format(*ms, &source.zone)),
                    _ => term_key_json(&source.source.field, value).0,
                };
                (source.name.clone(), json)
            })
            .collect();
        Json::Object(object)
    }
}

pub fn render(
    request: &AggRequest,
    composite: &CompositeAgg,
    result: &IntermediateAgg,
    context: &RenderContext<'_>,
) -> Result<Map<String, Json>, SearchError> {
    let mut page: Vec<_> = context
        .buckets_of(result)
        .iter()
        .filter(|(key, _)| composite.is_after(key))
        .collect();
    page.sort_by(|a, b| composite.compare(a.0, b.0));
    page.truncate(composite.page.size);
    context.spend(page.len())?;
    let mut out = Map::new();
    if let Some((last, _)) = page.last() {
        out.insert("after_key".into(), composite.key_json(last));
    }
    let mut rendered = Vec::with_capacity(page.len());
    for (key, bucket) in page {
        let mut entry = Map::new();
        entry.insert("key".into(), composite.key_json(key));
        entry.insert("doc_count".into(), json!(bucket.doc_count));
        render_subs(request, bucket, &mut entry, context)?;
        rendered.push(Json::Object(entry));
    }
    out.insert("buckets".into(), Json::Array(rendered));
    Ok(out)
}
