//! Elasticsearch's JSON query DSL → [`Query`].

use serde_json::{Map, Value as Json};

use super::ast::{BoolQuery, MinimumShouldMatch, Query, RangeSpec};
use crate::backend::embedded::search::SearchError;

/// Elasticsearch's `index.max_terms_count`: the most values one `terms` query may list.
pub const MAX_TERMS_COUNT: usize = 65_536;

pub(super) fn bad(reason: impl Into<String>) -> SearchError {
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
            let mut options = crate::backend::embedded::search::lucene::Options::default();
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
            Ok(Query::QueryString(Box::new(
                crate::backend::embedded::search::lucene::parse(text, &options)?,
            )))
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

pub(super) fn scalar_text(value: &Json) -> Option<String> {
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
