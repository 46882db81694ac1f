//! The query DSL: Elasticsearch JSON (or a Lucene query string) → a typed [`Query`] → a
//! tantivy query over the flow schema. Anything outside what the engine supports is a 400
//! naming it.

use std::net::IpAddr;
use std::ops::Bound;

use app::model::flow::FieldType;
use serde_json::{Map, Value as Json};
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, ExistsQuery, Occur, Query as TantivyQuery, RangeQuery,
};
use tantivy::{DateTime, Term};

use super::columns::{terms_where, Accessor};
use super::datemath::{eval_date_math, DateFormats, Rounding, Zone};
use super::message;
use super::wildcard;
use super::SearchError;
use crate::backend::embedded::schema::{to_ipv6, FlowSchema, SchemaField, TIMESTAMP};

/// A parsed query.
#[derive(Clone, Debug, PartialEq)]
pub enum Query {
    MatchAll,
    MatchNone,
    Term {
        field: String,
        value: Json,
    },
    Terms {
        field: String,
        values: Vec<Json>,
    },
    Range(RangeSpec),
    /// `match`: analyzed on text fields, exact elsewhere.
    Match {
        field: String,
        text: String,
        all_terms: bool,
    },
    MatchPhrase {
        field: String,
        text: String,
    },
    Exists {
        field: String,
    },
    Prefix {
        field: String,
        prefix: String,
    },
    /// `*` and `?` wildcards on a keyword field.
    Wildcard {
        field: String,
        pattern: String,
    },
    Ids(Vec<String>),
    Bool(BoolQuery),
    /// A Lucene query string, parsed into a query of its own.
    QueryString(Box<Query>),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct BoolQuery {
    pub must: Vec<Query>,
    pub filter: Vec<Query>,
    pub should: Vec<Query>,
    pub must_not: Vec<Query>,
    pub minimum_should_match: Option<MinimumShouldMatch>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum MinimumShouldMatch {
    Count(i64),
    Percent(i64),
}

/// A range query's bounds, kept as sent until the field's type is known.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RangeSpec {
    pub field: String,
    pub gte: Option<Json>,
    pub gt: Option<Json>,
    pub lte: Option<Json>,
    pub lt: Option<Json>,
    pub format: Option<String>,
    pub time_zone: Option<String>,
}

/// Elasticsearch's `index.max_terms_count`: the most values one `terms` query may list.
pub const MAX_TERMS_COUNT: usize = 65_536;

/// From this many values on, a `terms` query tests each document's value against a set
/// instead of running a query per value.
const VALUE_SET_FROM: usize = 16;

fn bad(reason: impl Into<String>) -> SearchError {
    SearchError::parsing(reason)
}

/// Parses a query object (`{"bool": {...}}`, `{"term": {...}}`, …).
pub fn parse_query(value: &Json) -> Result<Query, SearchError> {
    let object = value
        .as_object()
        .ok_or_else(|| bad("[query] must be an object"))?;
    let mut entries = object.iter();
    let (kind, body) = match (entries.next(), entries.next()) {
        (Some(entry), None) => entry,
        (None, _) => return Ok(Query::MatchAll),
        (Some(_), Some((second, _))) => {
            return Err(bad(format!(
                "[query] holds more than one query; found [{second}] after the first (combine them with [bool])"
            )))
        }
    };
    match kind.as_str() {
        "match_all" => Ok(Query::MatchAll),
        "match_none" => Ok(Query::MatchNone),
        "bool" => parse_bool(body),
        "term" => {
            let (field, value) = single_field(kind, body)?;
            let value = match value {
                Json::Object(o) => o
                    .get("value")
                    .cloned()
                    .ok_or_else(|| bad(format!("[term] [{field}] has no [value]")))?,
                other => other.clone(),
            };
            Ok(Query::Term { field, value })
        }
        "terms" => {
            let object = body
                .as_object()
                .ok_or_else(|| bad("[terms] must be an object"))?;
            let mut fields = object.iter().filter(|(k, _)| k.as_str() != "boost");
            let (field, values) = fields.next().ok_or_else(|| bad("[terms] names no field"))?;
            let values = values.as_array().ok_or_else(|| {
                bad(format!(
                    "[terms] [{field}] must be an array of values (terms lookup is not supported)"
                ))
            })?;
            if values.len() > MAX_TERMS_COUNT {
                return Err(SearchError::illegal(format!(
                    "The number of terms [{}] used in the Terms Query request has exceeded the allowed maximum of [{MAX_TERMS_COUNT}]. This maximum can be set by changing the [index.max_terms_count] index level setting.",
                    values.len()
                )));
            }
            Ok(Query::Terms {
                field: field.clone(),
                values: values.clone(),
            })
        }
        "range" => {
            let (field, spec) = single_field(kind, body)?;
            let spec = spec
                .as_object()
                .ok_or_else(|| bad(format!("[range] [{field}] must be an object")))?;
            parse_range(&field, spec)
        }
        "match" | "match_phrase" => {
            let (field, spec) = single_field(kind, body)?;
            let (text, operator) = match spec {
                Json::Object(o) => {
                    for key in o.keys() {
                        if !matches!(
                            key.as_str(),
                            "query"
                                | "operator"
                                | "boost"
                                | "lenient"
                                | "zero_terms_query"
                                | "analyzer"
                                | "slop"
                        ) {
                            return Err(bad(format!("[{kind}] option [{key}] is not supported")));
                        }
                    }
                    (
                        o.get("query")
                            .ok_or_else(|| bad(format!("[{kind}] [{field}] has no [query]")))?
                            .clone(),
                        o.get("operator")
                            .and_then(Json::as_str)
                            .unwrap_or("or")
                            .to_ascii_lowercase(),
                    )
                }
                other => (other.clone(), "or".to_owned()),
            };
            let text = scalar_text(&text).ok_or_else(|| {
                bad(format!(
                    "[{kind}] [{field}] query must be a string or number"
                ))
            })?;
            Ok(if kind == "match" {
                Query::Match {
                    field,
                    text,
                    all_terms: operator == "and",
                }
            } else {
                Query::MatchPhrase { field, text }
            })
        }
        "exists" => {
            let field = body
                .get("field")
                .and_then(Json::as_str)
                .ok_or_else(|| bad("[exists] must name a [field]"))?;
            Ok(Query::Exists {
                field: field.to_owned(),
            })
        }
        "prefix" | "wildcard" => {
            let (field, spec) = single_field(kind, body)?;
            let value = match spec {
                Json::Object(o) => o
                    .get("value")
                    .or_else(|| o.get("wildcard"))
                    .cloned()
                    .unwrap_or(Json::Null),
                other => other.clone(),
            };
            let value = value
                .as_str()
                .ok_or_else(|| bad(format!("[{kind}] [{field}] value must be a string")))?
                .to_owned();
            Ok(if kind == "prefix" {
                Query::Prefix {
                    field,
                    prefix: value,
                }
            } else {
                Query::Wildcard {
                    field,
                    pattern: value,
                }
            })
        }
        "ids" => {
            let values = body
                .get("values")
                .and_then(Json::as_array)
                .ok_or_else(|| bad("[ids] must have an array of [values]"))?;
            Ok(Query::Ids(values.iter().filter_map(scalar_text).collect()))
        }
        "query_string" => {
            let object = body
                .as_object()
                .ok_or_else(|| bad("[query_string] must be an object"))?;
            let text = object
                .get("query")
                .and_then(Json::as_str)
                .ok_or_else(|| bad("[query_string] must have a [query] string"))?;
            let mut options = super::lucene::Options::default();
            for (key, value) in object {
                match key.as_str() {
                    "query"
                    | "analyze_wildcard"
                    | "boost"
                    | "lenient"
                    | "time_zone"
                    | "allow_leading_wildcard"
                    | "fuzziness" => {}
                    "default_operator" => {
                        options.default_and = value
                            .as_str()
                            .is_some_and(|v| v.eq_ignore_ascii_case("and"))
                    }
                    "default_field" => {
                        options.default_field =
                            value.as_str().filter(|f| *f != "*").map(str::to_owned);
                    }
                    "fields" => {
                        let fields: Vec<&str> = value
                            .as_array()
                            .map(|a| a.iter().filter_map(Json::as_str).collect())
                            .unwrap_or_default();
                        if !fields.is_empty() && fields != ["*"] {
                            if fields.len() > 1 {
                                return Err(bad("[query_string] [fields] with more than one field is not supported"));
                            }
                            options.default_field = Some(fields[0].to_owned());
                        }
                    }
                    other => {
                        return Err(bad(format!(
                            "[query_string] option [{other}] is not supported"
                        )))
                    }
                }
            }
            Ok(Query::QueryString(Box::new(super::lucene::parse(
                text, &options,
            )?)))
        }
        "constant_score" => {
            let filter = body
                .get("filter")
                .ok_or_else(|| bad("[constant_score] must have a [filter]"))?;
            parse_query(filter)
        }
        other => Err(SearchError::unsupported(format!(
            "query [{other}] is not supported by the embedded engine"
        ))),
    }
}

fn single_field<'a>(kind: &str, body: &'a Json) -> Result<(String, &'a Json), SearchError> {
    let object = body
        .as_object()
        .ok_or_else(|| bad(format!("[{kind}] must be an object")))?;
    let mut fields = object.iter();
    match (fields.next(), fields.next()) {
        (Some((field, value)), None) => Ok((field.clone(), value)),
        (None, _) => Err(bad(format!("[{kind}] names no field"))),
        _ => Err(bad(format!(
            "[{kind}] query doesn't support multiple fields"
        ))),
    }
}

fn scalar_text(value: &Json) -> Option<String> {
    match value {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn parse_range(field: &str, spec: &Map<String, Json>) -> Result<Query, SearchError> {
    let mut range = RangeSpec {
        field: field.to_owned(),
        ..RangeSpec::default()
    };
    // The legacy form (`from`/`to` with `include_lower`/`include_upper`) that Kibana 6 sends.
    let include_lower = spec
        .get("include_lower")
        .and_then(Json::as_bool)
        .unwrap_or(true);
    let include_upper = spec
        .get("include_upper")
        .and_then(Json::as_bool)
        .unwrap_or(true);
    for (key, value) in spec {
        let value = (!value.is_null()).then(|| value.clone());
        match key.as_str() {
            "gte" => range.gte = value,
            "gt" => range.gt = value,
            "lte" => range.lte = value,
            "lt" => range.lt = value,
            "from" if include_lower => range.gte = value,
            "from" => range.gt = value,
            "to" if include_upper => range.lte = value,
            "to" => range.lt = value,
            "format" => range.format = value.and_then(|v| v.as_str().map(str::to_owned)),
            "time_zone" => range.time_zone = value.and_then(|v| v.as_str().map(str::to_owned)),
            "include_lower" | "include_upper" | "boost" => {}
            "relation"
                if value
                    .as_ref()
                    .and_then(Json::as_str)
                    .is_some_and(|r| r.eq_ignore_ascii_case("intersects")) => {}
            other => return Err(bad(format!("[range] query does not support [{other}]"))),
        }
    }
    Ok(Query::Range(range))
}

fn parse_clauses(value: &Json) -> Result<Vec<Query>, SearchError> {
    match value {
        Json::Array(items) => items.iter().map(parse_query).collect(),
        Json::Object(_) => Ok(vec![parse_query(value)?]),
        _ => Err(bad("[bool] clauses must be an object or an array")),
    }
}

fn parse_bool(body: &Json) -> Result<Query, SearchError> {
    let object = body
        .as_object()
        .ok_or_else(|| bad("[bool] must be an object"))?;
    let mut query = BoolQuery::default();
    for (key, value) in object {
        match key.as_str() {
            "must" => query.must = parse_clauses(value)?,
            "filter" => query.filter = parse_clauses(value)?,
            "should" => query.should = parse_clauses(value)?,
            "must_not" => query.must_not = parse_clauses(value)?,
            "minimum_should_match" => {
                query.minimum_should_match = Some(match value {
                    Json::Number(n) => MinimumShouldMatch::Count(
                        n.as_i64()
                            .ok_or_else(|| bad("[minimum_should_match] must be an integer"))?,
                    ),
                    Json::String(s) if s.ends_with('%') => {
                        MinimumShouldMatch::Percent(s.trim_end_matches('%').parse().map_err(
                            |_| bad(format!("[minimum_should_match] [{s}] is not supported")),
                        )?)
                    }
                    Json::String(s) => MinimumShouldMatch::Count(s.parse().map_err(|_| {
                        bad(format!("[minimum_should_match] [{s}] is not supported"))
                    })?),
                    _ => return Err(bad("[minimum_should_match] must be a number or a string")),
                })
            }
            "boost" | "_name" | "adjust_pure_negative" => {}
            other => return Err(bad(format!("[bool] query does not support [{other}]"))),
        }
    }
    Ok(Query::Bool(query))
}

/// Bounds on `@timestamp` that every matching document satisfies: used to skip indices whose
/// time span cannot match. Conservative: when in doubt, unbounded.
pub fn time_bounds(query: &Query, context: &QueryContext<'_>) -> (Option<i64>, Option<i64>) {
    match query {
        Query::Range(range) if range.field == TIMESTAMP => {
            let zone = range
                .time_zone
                .as_deref()
                .and_then(|z| Zone::parse(z).ok())
                .unwrap_or_default();
            let formats = range
                .format
                .as_deref()
                .and_then(|f| DateFormats::parse(f).ok())
                .unwrap_or_default();
            let eval = |value: &Option<Json>, rounding| {
                value
                    .as_ref()
                    .and_then(|v| date_value(v, context.now_ms, &formats, &zone, rounding).ok())
            };
            let low = eval(&range.gte, Rounding::Down).or_else(|| eval(&range.gt, Rounding::Up));
            let high = eval(&range.lte, Rounding::Up).or_else(|| eval(&range.lt, Rounding::Down));
            (low, high)
        }
        Query::Bool(b) => {
            let mut bounds = (None, None);
            for clause in b.must.iter().chain(&b.filter) {
                let (low, high) = time_bounds(clause, context);
                bounds.0 = max_option(bounds.0, low);
                bounds.1 = min_option(bounds.1, high);
            }
            bounds
        }
        Query::QueryString(inner) => time_bounds(inner, context),
        _ => (None, None),
    }
}

fn max_option(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

fn min_option(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// What compiling a query needs to know.
pub struct QueryContext<'a> {
    pub schema: &'a FlowSchema,
    pub now_ms: i64,
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
    let mut analyzer = crate::backend::embedded::schema::query_analyzer();
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

/// The exact term a value denotes in a keyword field.
fn exact_term(field: SchemaField, name: &str, value: &Json) -> Result<Term, SearchError> {
    Ok(Term::from_field_text(
        field.field,
        &exact_word(name, value)?,
    ))
}

/// Documents whose (fast) field equals `term`: numbers, addresses and dates are not in the
/// inverted index, their columns answer instead.
pub(super) fn equal_to(term: Term) -> Box<dyn TantivyQuery> {
    Box::new(RangeQuery::new(
        Bound::Included(term.clone()),
        Bound::Included(term),
    ))
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
    Ok(match field.field_type {
        FieldType::Keyword => equal_to(exact_term(field, name, value)?),
        FieldType::Text => message::word_query(context.schema, field, &exact_word(name, value)?),
        FieldType::Long => equal_to(Term::from_field_i64(field.field, long_value(name, value)?)),
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
            Box::new(RangeQuery::new(
                Bound::Included(Term::from_field_ip_addr(field.field, low)),
                Bound::Included(Term::from_field_ip_addr(field.field, high)),
            ))
        }
        FieldType::Date => {
            let ms = date_value(
                value,
                context.now_ms,
                &DateFormats::default(),
                &Zone::utc(),
                Rounding::Down,
            )?;
            equal_to(Term::from_field_date(
                field.field,
                DateTime::from_timestamp_millis(ms),
            ))
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

/// A date given as epoch millis (a number) or a string in `formats`, with date math.
pub fn date_value(
    value: &Json,
    now_ms: i64,
    formats: &DateFormats,
    zone: &Zone,
    rounding: Rounding,
) -> Result<i64, SearchError> {
    match value {
        Json::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .ok_or_else(|| SearchError::parsing(format!("failed to parse date field [{n}]"))),
        Json::String(s) => eval_date_math(s, now_ms, formats, zone, rounding)
            .map_err(|e| SearchError::parsing(e.to_string())),
        other => Err(SearchError::parsing(format!(
            "failed to parse date field [{other}]"
        ))),
    }
}

fn range_query(
    range: &RangeSpec,
    context: &QueryContext<'_>,
) -> Result<Box<dyn TantivyQuery>, SearchError> {
    let field = context.field(&range.field)?;
    let name = range.field.as_str();
    let zone = match &range.time_zone {
        Some(z) => Zone::parse(z).map_err(|e| SearchError::parsing(e.to_string()))?,
        None => Zone::utc(),
    };
    let formats = match &range.format {
        Some(f) => DateFormats::parse(f).map_err(|e| SearchError::parsing(e.to_string()))?,
        None => DateFormats::default(),
    };
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
                let ms = date_value(value, context.now_ms, &formats, &zone, rounding)?;
                Term::from_field_date(field.field, DateTime::from_timestamp_millis(ms))
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
    // Date rounding follows Elasticsearch: gt and lte round up, gte and lt round down.
    let lower = match (&range.gte, &range.gt) {
        (Some(v), _) => Bound::Included(term_for(v, Rounding::Down)?),
        (None, Some(v)) => Bound::Excluded(term_for(v, Rounding::Up)?),
        (None, None) => Bound::Unbounded,
    };
    let upper = match (&range.lte, &range.lt) {
        (Some(v), _) => Bound::Included(term_for(v, Rounding::Up)?),
        (None, Some(v)) => Bound::Excluded(term_for(v, Rounding::Down)?),
        (None, None) => Bound::Unbounded,
    };
    if matches!((&lower, &upper), (Bound::Unbounded, Bound::Unbounded)) {
        // No bounds: every document with a value.
        let name = name.strip_suffix(".keyword").unwrap_or(name);
        return Ok(Box::new(ExistsQuery::new(name.to_owned(), false)));
    }
    Ok(Box::new(RangeQuery::new(lower, upper)))
}

/// Documents whose keyword value satisfies `keep`, tested once per term of each segment.
fn keywords_where(
    field: &str,
    keep: impl Fn(&str) -> bool + Send + Sync + 'static,
) -> Box<dyn TantivyQuery> {
    let name = field.strip_suffix(".keyword").unwrap_or(field).to_owned();
    let predicate = tantivy::query::doc_predicate_query::FunctionPredicate::from(
        move |reader: &tantivy::SegmentReader| {
            let column = reader.fast_fields().str(&name)?;
            let matching = match &column {
                Some(column) => terms_where(column, &keep)?,
                None => tantivy::BitSet::with_max_value(0),
            };
            let ords = column.map(|c| c.ords().clone());
            Ok(move |doc: tantivy::DocId| {
                ords.as_ref()
                    .and_then(|ords| ords.first(doc))
                    .is_some_and(|ord| matching.contains(ord as u32))
            })
        },
    );
    Box::new(tantivy::query::doc_predicate_query::DocPredicateQuery::from(predicate))
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
            return Ok(addresses_within(name, field, address_ranges(name, values)?));
        }
        FieldType::Long => keys(&|v| long_value(name, v))?,
        FieldType::Date => keys(&|v| {
            date_value(
                v,
                context.now_ms,
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

fn addresses_within(
    name: &str,
    field: SchemaField,
    ranges: Vec<(u128, u128)>,
) -> Box<dyn TantivyQuery> {
    column_where(name, field, move |address| {
        let after = ranges.partition_point(|(low, _)| *low <= address);
        after > 0 && address <= ranges[after - 1].1
    })
}

/// Documents whose value of a number, date or address column satisfies `keep` (given the
/// value as [`Accessor::raw`] gives it).
fn column_where(
    name: &str,
    field: SchemaField,
    keep: impl Fn(u128) -> bool + Send + Sync + 'static,
) -> Box<dyn TantivyQuery> {
    let name = name.strip_suffix(".keyword").unwrap_or(name).to_owned();
    let keep = std::sync::Arc::new(keep);
    let predicate = tantivy::query::doc_predicate_query::FunctionPredicate::from(
        move |reader: &tantivy::SegmentReader| {
            let column = Accessor::open(reader, &name, field)
                .map_err(|e| tantivy::TantivyError::InternalError(e.to_string()))?;
            let keep = keep.clone();
            Ok(move |doc: tantivy::DocId| column.raw(doc).is_some_and(|key| keep(key)))
        },
    );
    Box::new(tantivy::query::doc_predicate_query::DocPredicateQuery::from(predicate))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_the_kibana_pie_query() {
        let query = parse_query(&json!({
            "bool": {
                "must": [],
                "filter": [
                    { "match_all": {} },
                    { "range": { "@timestamp": { "gte": "2020-03-06T04:00:00.000Z", "lte": "2020-03-06T05:00:00.000Z", "format": "strict_date_optional_time" } } }
                ],
                "should": [],
                "must_not": [ { "match_phrase": { "action": "REJECT" } } ]
            }
        }))
        .unwrap();
        let schema = FlowSchema::new();
        let context = QueryContext {
            schema: &schema,
            now_ms: 0,
        };
        assert_eq!(
            time_bounds(&query, &context),
            (Some(1_583_467_200_000), Some(1_583_470_800_000))
        );
        compile(&query, &context).unwrap();
    }

    #[test]
    fn unsupported_and_malformed_queries_say_what() {
        let error = parse_query(&json!({ "geo_distance": {} })).unwrap_err();
        assert_eq!(
            error.to_string(),
            "query [geo_distance] is not supported by the embedded engine"
        );
        let error = parse_query(&json!({ "term": { "a": 1 }, "match": { "b": 2 } })).unwrap_err();
        assert!(error.to_string().contains("more than one query"));
        let error = parse_query(&json!({ "bool": { "mustt": [] } })).unwrap_err();
        assert_eq!(error.to_string(), "[bool] query does not support [mustt]");
        let schema = FlowSchema::new();
        let context = QueryContext {
            schema: &schema,
            now_ms: 0,
        };
        let error = compile(
            &parse_query(&json!({ "term": { "nope": 1 } })).unwrap(),
            &context,
        )
        .err()
        .unwrap();
        assert!(error.to_string().starts_with("field [nope] is not a field"));
        let error = compile(
            &parse_query(&json!({ "term": { "dstport": "http" } })).unwrap(),
            &context,
        )
        .err()
        .unwrap();
        assert_eq!(
            error.to_string(),
            "field [dstport] of type [long]: [\"http\"] is not a whole number"
        );
    }

    #[test]
    fn cidr_blocks() {
        let (low, high) = parse_cidr("10.0.0.0/8").unwrap();
        assert_eq!(
            super::super::super::schema::from_ipv6(low).to_string(),
            "10.0.0.0"
        );
        assert_eq!(
            super::super::super::schema::from_ipv6(high).to_string(),
            "10.255.255.255"
        );
        let (low, high) = parse_cidr("10.1.2.3").unwrap();
        assert_eq!(low, high);
        let (low, high) = parse_cidr("2001:db8::/32").unwrap();
        assert_eq!(low.to_string(), "2001:db8::");
        assert_eq!(high.to_string(), "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
        assert_eq!(parse_cidr("10.0.0.0/33"), None);
        assert_eq!(parse_cidr("nope"), None);
    }
}
