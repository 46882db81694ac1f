//! [`Query`] → a tantivy query over the flow schema: fields looked up, values typed, and the
//! `@message` searches handed to [`crate::backend::embedded::search::message`].

use std::net::IpAddr;
use std::ops::Bound;
use std::sync::Arc;

use app::model::flow::FieldType;
use serde_json::Value as Json;
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, ExistsQuery, Occur, Query as TantivyQuery, RangeQuery,
};
use tantivy::{DateTime, Term};

use super::ast::{BoolQuery, MinimumShouldMatch, Query, RangeSpec};
use super::parse::{bad, scalar_text};
use super::terms::{column_where, equal_to, keywords_where, ColumnMatch, ValueTest};
use super::time_bounds::{date_reading, date_value, range_bounds};
use crate::backend::embedded::message_words::search as message;
use crate::backend::embedded::schema::{to_ipv6, FlowSchema, SchemaField};
use crate::backend::embedded::search::column_cache::SearchColumns;
use crate::backend::embedded::search::datemath::{DateFormats, Now, Rounding, Zone};
use crate::backend::embedded::search::{wildcard, SearchError};

/// From this many values on, a `terms` query tests each document's value against a set
/// instead of running a query per value.
const VALUE_SET_FROM: usize = 16;

/// What compiling a query needs to know.
pub struct QueryContext<'a> {
    /// The flow documents' fields and their types.
    pub schema: &'a FlowSchema,
    /// "Now" for date math (`now-15m`).
    pub now: Now,
    /// The columns the indices searched keep, for queries that read a column.
    pub columns: SearchColumns,
}

impl QueryContext<'_> {
    fn field(&self, name: &str) -> Result<SchemaField, SearchError> {
        self.schema.field(name).ok_or_else(|| unknown_field(name))
    }
}

pub fn unknown_field(name: &str) -> SearchError {
    SearchError::illegal(format!(
        "field [{name}] is not a field of the embedded engine's flow documents; the fields are those of VPC and Transit Gateway flow logs (see /api/fields)"
    ))
}

fn tokens(text: &str) -> Vec<String> {
    let mut analyzer = crate::backend::embedded::message_words::tokenizer::query_analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while let Some(token) = stream.next() {
        out.push(token.text.clone());
    }
    out
}

/// Compiles a query for tantivy.
pub fn compile(
    query: &Query,
    context: &QueryContext<'_>,
) -> Result<Box<dyn TantivyQuery>, SearchError> {
    if query
        .field()
        .is_some_and(|field| context.schema.field(field).is_none())
    {
        // Elasticsearch finds no document by a field its indices do not map.
        return Ok(Box::new(EmptyQuery));
    }
    Ok(match query {
        Query::MatchAll => Box::new(AllQuery),
        Query::MatchNone => Box::new(EmptyQuery),
        Query::Term { field, value } => value_query(field, context.field(field)?, value, context)?,
        Query::Terms { field, values }
            if values.len() >= VALUE_SET_FROM
                && context.field(field)?.field_type != FieldType::Text =>
        {
            any_of(field, context.field(field)?, values, context)?
        }
        Query::Terms { field, values } => {
            // Any of the values, each as a `term` query has it.
            let schema_field = context.field(field)?;
            let clauses = values
                .iter()
                .map(|v| Ok((Occur::Should, value_query(field, schema_field, v, context)?)))
                .collect::<Result<Vec<_>, SearchError>>()?;
            Box::new(BooleanQuery::new(clauses))
        }
        Query::Range(range) => range_query(range, context)?,
        Query::Match {
            field,
            text,
            all_terms,
        } => {
            let schema_field = context.field(field)?;
            if schema_field.field_type == FieldType::Text {
                let occur = if *all_terms {
                    Occur::Must
                } else {
                    Occur::Should
                };
                let clauses: Vec<(Occur, Box<dyn TantivyQuery>)> = tokens(text)
                    .into_iter()
                    .map(|t| (occur, message::word_query(context.schema, schema_field, &t)))
                    .collect();
                if clauses.is_empty() {
                    Box::new(EmptyQuery)
                } else {
                    Box::new(BooleanQuery::new(clauses))
                }
            } else {
                value_query(field, schema_field, &Json::String(text.clone()), context)?
            }
        }
        Query::MatchPhrase { field, text } => {
            let schema_field = context.field(field)?;
            if schema_field.field_type == FieldType::Text {
                let words = tokens(text);
                match words.len() {
                    0 => Box::new(EmptyQuery),
                    1 => message::word_query(context.schema, schema_field, &words[0]),
                    _ => {
                        return Err(SearchError::unsupported(format!(
                            "phrases of several words on [{field}] are not supported by the embedded engine (it indexes the words of records, not their positions); search one word (an address, an ENI id), or the fields (srcaddr:10.0.0.5 AND dstport:443)"
                        )))
                    }
                }
            } else {
                value_query(field, schema_field, &Json::String(text.clone()), context)?
            }
        }
        Query::Exists { field } => {
            let schema_field = context.field(field)?;
            if schema_field.field_type == FieldType::Text {
                message::exists_query(schema_field)?
            } else {
                let name = field.strip_suffix(".keyword").unwrap_or(field);
                Box::new(ExistsQuery::new(name.to_owned(), false))
            }
        }
        Query::Prefix { field, prefix } => {
            keyword_field(context, field, "prefix")?;
            let prefix = prefix.clone();
            keywords_where(field, move |term| term.starts_with(&prefix))
        }
        Query::Wildcard { field, pattern } => {
            // On text (`@message`) the pattern matches single tokens, which are lowercase.
            let schema_field = context.field(field)?;
            wildcard::check_pattern(field, pattern)?;
            match schema_field.field_type {
                FieldType::Keyword => {
                    let pattern = pattern.clone();
                    keywords_where(field, move |term| {
                        wildcard::glob_match(pattern.as_bytes(), term.as_bytes())
                    })
                }
                FieldType::Text => {
                    message::wildcard_query(context.schema, schema_field, &pattern.to_lowercase())?
                }
                _ => {
                    return Err(SearchError::illegal(format!(
                    "[wildcard] queries work on keyword and text fields; [{field}] is of type [{}]",
                    schema_field.field_type.es_type()
                )))
                }
            }
        }
        Query::Ids(ids) => {
            let by_digest = |id: &String| {
                let hash = crate::ingest::document::id_hash(id);
                (
                    Occur::Should,
                    crate::backend::embedded::index::id_query(context.schema, hash),
                )
            };
            Box::new(BooleanQuery::new(ids.iter().map(by_digest).collect()))
        }
        Query::QueryString(inner) => compile(inner, context)?,
        Query::Bool(b) => compile_bool(b, context)?,
    })
}

fn compile_bool(
    b: &BoolQuery,
    context: &QueryContext<'_>,
) -> Result<Box<dyn TantivyQuery>, SearchError> {
    let mut clauses: Vec<(Occur, Box<dyn TantivyQuery>)> = Vec::new();
    for q in &b.must {
        clauses.push((Occur::Must, compile(q, context)?));
    }
    for q in &b.filter {
        clauses.push((Occur::Must, compile(q, context)?));
    }
    for q in &b.must_not {
        clauses.push((Occur::MustNot, compile(q, context)?));
    }
    let required = !b.must.is_empty() || !b.filter.is_empty();
    let should_count = b.should.len() as i64;
    let minimum = match &b.minimum_should_match {
        Some(MinimumShouldMatch::Count(n)) if *n < 0 => (should_count + n).max(0),
        Some(MinimumShouldMatch::Count(n)) => *n,
        Some(MinimumShouldMatch::Percent(p)) if *p < 0 => should_count - (should_count * -p / 100),
        Some(MinimumShouldMatch::Percent(p)) => should_count * p / 100,
        // Without must/filter, at least one should clause has to match.
        None => i64::from(!required && should_count > 0),
    };
    if minimum > should_count {
        return Ok(Box::new(EmptyQuery));
    }
    if !b.should.is_empty() {
        let should: Vec<Box<dyn TantivyQuery>> = b
            .should
            .iter()
            .map(|q| compile(q, context))
            .collect::<Result<_, _>>()?;
        if minimum > 0 {
            clauses.push((
                Occur::Must,
                Box::new(BooleanQuery::union_with_minimum_required_clauses(
                    should,
                    minimum as usize,
                )),
            ));
        }
        // Optional should clauses only change scores; the engine does not score filters.
    }
    // A query of exclusions alone matches everything else.
    if !clauses.iter().any(|(occur, _)| *occur == Occur::Must) {
        clauses.push((Occur::Must, Box::new(AllQuery)));
    }
    Ok(Box::new(BooleanQuery::new(clauses)))
}

fn keyword_field(
    context: &QueryContext<'_>,
    field: &str,
    kind: &str,
) -> Result<SchemaField, SearchError> {
    let schema_field = context.field(field)?;
    if schema_field.field_type != FieldType::Keyword {
        return Err(SearchError::illegal(format!(
            "[{kind}] queries work on keyword fields; [{field}] is of type [{}]",
            schema_field.field_type.es_type()
        )));
    }
    Ok(schema_field)
}

/// The exact text a value denotes in a keyword or text field.
fn exact_word(name: &str, value: &Json) -> Result<String, SearchError> {
    scalar_text(value).ok_or_else(|| bad(format!("[{name}] value must be a string")))
}

fn long_value(name: &str, value: &Json) -> Result<i64, SearchError> {
    let number = match value {
        Json::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Json::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    number.ok_or_else(|| {
        SearchError::illegal(format!(
            "field [{name}] of type [long]: [{value}] is not a whole number"
        ))
    })
}

/// A query for documents whose field equals `value` (or, for IP fields, lies in a CIDR block).
fn value_query(
    name: &str,
    field: SchemaField,
    value: &Json,
    context: &QueryContext<'_>,
) -> Result<Box<dyn TantivyQuery>, SearchError> {
    let matching = |test| ColumnMatch::query(name, field, test, &context.columns);
    Ok(match field.field_type {
        FieldType::Keyword => matching(ValueTest::Word(exact_word(name, value)?)),
        FieldType::Text => message::word_query(context.schema, field, &exact_word(name, value)?),
        FieldType::Long => {
            let number = long_value(name, value)?;
            matching(ValueTest::Ints(number, number))
        }
        FieldType::Ip => {
            let text = value.as_str().ok_or_else(|| {
                bad(format!(
                    "[{name}] value must be an IP address or CIDR block"
                ))
            })?;
            let (low, high) = parse_cidr(text).ok_or_else(|| {
                SearchError::illegal(format!(
                    "[{text}] is not an IP address or CIDR block for field [{name}]"
                ))
            })?;
            matching(ValueTest::Addresses(Arc::new([(low.into(), high.into())])))
        }
        FieldType::Date => {
            let ms = date_value(
                value,
                &context.now,
                &DateFormats::default(),
                &Zone::utc(),
                Rounding::Down,
            )?;
            equal_to(Term::from_field_date(field.field, stored_date(ms)))
        }
    })
}

/// An address (one address) or a CIDR block, as the first and last IPv6 (mapped) addresses.
pub fn parse_cidr(text: &str) -> Option<(std::net::Ipv6Addr, std::net::Ipv6Addr)> {
    let (address, prefix) = match text.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix.parse::<u8>().ok()?)),
        None => (text, None),
    };
    let ip: IpAddr = address.trim().parse().ok()?;
    let (bits, extra) = match ip {
        IpAddr::V4(_) => (prefix.unwrap_or(32), 96u8),
        IpAddr::V6(_) => (prefix.unwrap_or(128), 0u8),
    };
    if u32::from(bits) + u32::from(extra) > 128 {
        return None;
    }
    let value = u128::from(to_ipv6(ip));
    let host_bits = 128 - u32::from(bits + extra);
    let mask = if host_bits == 128 {
        u128::MAX
    } else {
        (1u128 << host_bits) - 1
    };
    Some(((value & !mask).into(), (value | mask).into()))
}

/// A date as the index stores it (nanoseconds in an `i64`), dates beyond its range at its
/// ends: `lte` a date in the year 300 000 includes every flow, where the nanoseconds would
/// have wrapped around.
fn stored_date(ms: i64) -> DateTime {
    const LIMIT_MS: i64 = i64::MAX / 1_000_000;
    DateTime::from_timestamp_millis(ms.clamp(-LIMIT_MS, LIMIT_MS))
}

fn range_query(
    range: &RangeSpec,
    context: &QueryContext<'_>,
) -> Result<Box<dyn TantivyQuery>, SearchError> {
    let field = context.field(&range.field)?;
    let name = range.field.as_str();
    let (zone, formats) = date_reading(range)?;
    // Lower bound: gte, else gt (exclusive); upper: lte, else lt.
    let term_for = |value: &Json, rounding: Rounding| -> Result<Term, SearchError> {
        Ok(match field.field_type {
            FieldType::Long => {
                let f = match value {
                    Json::Number(n) => n.as_f64(),
                    Json::String(s) => s.trim().parse::<f64>().ok(),
                    _ => None,
                }
                .ok_or_else(|| {
                    SearchError::parsing(format!("[range] [{name}]: [{value}] is not a number"))
                })?;
                // Fractions round toward the inside of the range.
                let v = if rounding == Rounding::Up {
                    f.floor()
                } else {
                    f.ceil()
                };
                Term::from_field_i64(field.field, v as i64)
            }
            FieldType::Date => {
                let ms = date_value(value, &context.now, &formats, &zone, rounding)?;
                Term::from_field_date(field.field, stored_date(ms))
            }
            FieldType::Ip => {
                let ip: IpAddr = value.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| {
                    SearchError::parsing(format!(
                        "[range] [{name}]: [{value}] is not an IP address"
                    ))
                })?;
                Term::from_field_ip_addr(field.field, to_ipv6(ip))
            }
            FieldType::Keyword => Term::from_field_text(
                field.field,
                &scalar_text(value).ok_or_else(|| {
                    SearchError::parsing(format!("[range] [{name}] bound must be a string"))
                })?,
            ),
            FieldType::Text => {
                return Err(SearchError::illegal(format!(
                    "[range] queries on text field [{name}] are not supported"
                )))
            }
        })
    };
    let (lower, upper) = range_bounds(range, term_for)?;
    if matches!((&lower, &upper), (Bound::Unbounded, Bound::Unbounded)) {
        // No bounds: every document with a value.
        let name = name.strip_suffix(".keyword").unwrap_or(name);
        return Ok(Box::new(ExistsQuery::new(name.to_owned(), false)));
    }
    if let Some(test) = column_range(field.field_type, &lower, &upper) {
        return Ok(ColumnMatch::query(name, field, test, &context.columns));
    }
    Ok(Box::new(RangeQuery::new(lower, upper)))
}

/// A range of integers or addresses as the [`ValueTest`] of its values, both bounds included
/// (`None` for other fields, and for bounds past the last value, which tantivy's range query
/// takes as they are).
fn column_range(
    field_type: FieldType,
    lower: &Bound<Term>,
    upper: &Bound<Term>,
) -> Option<ValueTest> {
    /// The least and the greatest value within the bounds, `value` reading a bound's term.
    fn inclusive<T>(
        lower: &Bound<Term>,
        upper: &Bound<Term>,
        value: impl Fn(&Term) -> Option<T>,
        (least, greatest): (T, T),
        (above, below): (impl Fn(T) -> Option<T>, impl Fn(T) -> Option<T>),
    ) -> Option<(T, T)> {
        let low = match lower {
            Bound::Included(term) => value(term)?,
            Bound::Excluded(term) => above(value(term)?)?,
            Bound::Unbounded => least,
        };
        let high = match upper {
            Bound::Included(term) => value(term)?,
            Bound::Excluded(term) => below(value(term)?)?,
            Bound::Unbounded => greatest,
        };
        Some((low, high))
    }
    match field_type {
        FieldType::Long => {
            let (low, high) = inclusive(
                lower,
                upper,
                |term| term.value().as_i64(),
                (i64::MIN, i64::MAX),
                (|v: i64| v.checked_add(1), |v: i64| v.checked_sub(1)),
            )?;
            Some(ValueTest::Ints(low, high))
        }
        FieldType::Ip => {
            let (low, high) = inclusive(
                lower,
                upper,
                |term| term.value().as_ip_addr().map(u128::from),
                (u128::MIN, u128::MAX),
                (|v: u128| v.checked_add(1), |v: u128| v.checked_sub(1)),
            )?;
            Some(ValueTest::Addresses(Arc::new([(low, high)])))
        }
        _ => None,
    }
}

/// A `terms` query of many values, as one test of each document's value against a set. A
/// boolean query with a clause per value keeps a scorer, and its buffers, per value and
/// segment: ten thousand values took gigabytes.
fn any_of(
    name: &str,
    field: SchemaField,
    values: &[Json],
    context: &QueryContext<'_>,
) -> Result<Box<dyn TantivyQuery>, SearchError> {
    let keys = |key: &dyn Fn(&Json) -> Result<i64, SearchError>| {
        values
            .iter()
            .map(|v| key(v).map(|k| k as u64 as u128))
            .collect::<Result<rustc_hash::FxHashSet<u128>, SearchError>>()
    };
    let keys = match field.field_type {
        FieldType::Keyword => {
            let words = values
                .iter()
                .map(|v| exact_word(name, v))
                .collect::<Result<rustc_hash::FxHashSet<String>, SearchError>>()?;
            return Ok(keywords_where(name, move |term| words.contains(term)));
        }
        FieldType::Text => {
            return Err(SearchError::Internal(format!(
                "[{name}] is text: its terms are words, not a column"
            )))
        }
        FieldType::Ip => {
            let ranges = address_ranges(name, values)?;
            return Ok(ColumnMatch::query(
                name,
                field,
                ValueTest::Addresses(ranges.into()),
                &context.columns,
            ));
        }
        FieldType::Long => {
            let numbers = values
                .iter()
                .map(|v| long_value(name, v))
                .collect::<Result<rustc_hash::FxHashSet<i64>, SearchError>>()?;
            return Ok(ColumnMatch::query(
                name,
                field,
                ValueTest::IntSet(Arc::new(numbers)),
                &context.columns,
            ));
        }
        FieldType::Date => keys(&|v| {
            date_value(
                v,
                &context.now,
                &DateFormats::default(),
                &Zone::utc(),
                Rounding::Down,
            )
        })?,
    };
    Ok(column_where(name, field, move |key| keys.contains(&key)))
}

/// Address blocks as sorted, disjoint ranges of addresses (IPv4 mapped into IPv6).
fn address_ranges(name: &str, values: &[Json]) -> Result<Vec<(u128, u128)>, SearchError> {
    let mut ranges = values
        .iter()
        .map(|value| {
            let text = value.as_str().unwrap_or_default();
            parse_cidr(text)
                .map(|(low, high)| (u128::from(low), u128::from(high)))
                .ok_or_else(|| {
                    SearchError::illegal(format!(
                        "[{value}] is not an IP address or CIDR block for field [{name}]"
                    ))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    ranges.sort_unstable();
    let mut merged: Vec<(u128, u128)> = Vec::with_capacity(ranges.len());
    for (low, high) in ranges {
        match merged.last_mut() {
            Some((_, last_high)) if low <= last_high.saturating_add(1) => {
                *last_high = (*last_high).max(high)
            }
            _ => merged.push((low, high)),
        }
    }
    Ok(merged)
}
