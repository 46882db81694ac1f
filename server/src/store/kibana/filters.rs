//! Kibana filter pills (a `searchSourceJSON.filter` array) into flowdash's filters, for
//! visualizations, dashboards and saved searches alike.

use app::model::filter::{Filter, FilterKind};
use serde_json::{Map, Value};

/// Kibana 7.x filters as flowdash filters: `phrase`, `phrases`, `range` and `exists`, with
/// their `negate` and `disabled`. A filter that does not map (custom DSL, `query_string`, geo,
/// …) is left out with a warning naming it, and a bound flowdash can only approximate (`gt`,
/// `lte`) is kept with a warning: neither fails the object.
pub(super) fn kibana_filters(filters: Option<&Value>, warnings: &mut Vec<String>) -> Vec<Filter> {
    let filters = match filters {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(filters)) => filters,
        Some(other) => {
            warnings.push(format!(
                "the saved filters were left out: a list was expected, not {other}"
            ));
            return Vec::new();
        }
    };
    filters
        .iter()
        .enumerate()
        .filter_map(|(index, filter)| match kibana_filter(filter, warnings) {
            Ok(converted) => Some(converted),
            Err(reason) => {
                warnings.push(format!(
                    "filter {} was left out: {reason}",
                    filter_name(filter, index)
                ));
                None
            }
        })
        .collect()
}

/// One filter, or why it does not map.
fn kibana_filter(filter: &Value, warnings: &mut Vec<String>) -> Result<Filter, String> {
    let meta = filter.get("meta").unwrap_or(&Value::Null);
    let field = meta
        .get("key")
        .and_then(Value::as_str)
        .filter(|key| !key.trim().is_empty());
    let kind = match (filter_type(filter).as_str(), field) {
        ("phrase", Some(field)) => FilterKind::Phrase {
            value: phrase_value(filter, field)?,
        },
        ("phrases", Some(field)) => FilterKind::Phrases {
            values: phrases_values(filter, field)?,
        },
        ("range", Some(field)) => range_kind(filter, field, warnings)?,
        ("exists", Some(_)) => FilterKind::Exists,
        ("phrase" | "phrases" | "range" | "exists", None) => {
            return Err("it names no field (meta.key)".into())
        }
        (other, _) => {
            return Err(format!(
                "{other} filters are not imported (only phrase, phrases, range and exists)"
            ))
        }
    };
    let flag = |name: &str| meta.get(name).and_then(Value::as_bool).unwrap_or(false);
    Ok(Filter {
        field: field.unwrap_or_default().to_owned(),
        kind,
        negate: flag("negate"),
        disabled: flag("disabled"),
        // Kibana does not save pinned (global) filters with objects.
        pinned: false,
    })
}

/// `meta.type`; a filter without one is named by its query's kind (`query_string`, `bool`).
fn filter_type(filter: &Value) -> String {
    filter
        .pointer("/meta/type")
        .and_then(Value::as_str)
        .or_else(|| first_key(filter.get("query")?))
        .unwrap_or("custom")
        .to_owned()
}

fn first_key(value: &Value) -> Option<&str> {
    value.as_object()?.keys().next().map(String::as_str)
}

/// How a warning names a filter: its alias, its field, or its query.
fn filter_name(filter: &Value, index: usize) -> String {
    const LONGEST: usize = 80;
    let meta = filter.get("meta").unwrap_or(&Value::Null);
    let named = ["alias", "key"]
        .iter()
        .find_map(|name| {
            meta.get(*name)
                .and_then(Value::as_str)
                .filter(|name| !name.trim().is_empty())
        })
        .map(str::to_owned)
        .or_else(|| filter.get("query").map(Value::to_string));
    match named {
        Some(name) if name.chars().count() > LONGEST => format!(
            "{} ({}, {}…)",
            index + 1,
            filter_type(filter),
            name.chars().take(LONGEST).collect::<String>()
        ),
        Some(name) => format!("{} ({}, {name})", index + 1, filter_type(filter)),
        None => format!("{} ({})", index + 1, filter_type(filter)),
    }
}

/// A phrase filter's value: `meta.params.query`, or its `match_phrase` (a value, or an
/// object with `query`).
fn phrase_value(filter: &Value, field: &str) -> Result<Value, String> {
    filter
        .pointer("/meta/params/query")
        .or_else(|| {
            let phrase = filter.get("query")?.get("match_phrase")?.get(field)?;
            Some(phrase.get("query").unwrap_or(phrase))
        })
        .filter(|value| !value.is_null())
        .cloned()
        .ok_or_else(|| "a phrase filter without a value".into())
}

/// A phrases filter's values: `meta.params`, or the phrases of its `bool.should`.
fn phrases_values(filter: &Value, field: &str) -> Result<Vec<Value>, String> {
    let values = match filter.pointer("/meta/params").and_then(Value::as_array) {
        Some(values) => values.clone(),
        None => filter
            .pointer("/query/bool/should")
            .and_then(Value::as_array)
            .map(|should| {
                should
                    .iter()
                    .filter_map(|clause| clause.get("match_phrase")?.get(field).cloned())
                    .collect()
            })
            .unwrap_or_default(),
    };
    if values.is_empty() {
        return Err("a phrases filter without values".into());
    }
    Ok(values)
}

/// A range filter's bounds, from `meta.params` or its `range` (top level, or under `query`
/// as later 7.x versions save it). flowdash ranges are `from <= x`, and `x < to` or
/// `x <= to`: `gt` is kept as `gte`, with a warning.
fn range_kind(
    filter: &Value,
    field: &str,
    warnings: &mut Vec<String>,
) -> Result<FilterKind, String> {
    let empty = Map::new();
    let bounds = filter
        .pointer("/meta/params")
        .and_then(Value::as_object)
        .filter(|params| {
            ["gte", "gt", "lt", "lte"]
                .iter()
                .any(|b| params.contains_key(*b))
        })
        .or_else(|| filter.get("range")?.get(field)?.as_object())
        .or_else(|| filter.get("query")?.get("range")?.get(field)?.as_object())
        .unwrap_or(&empty);
    let bound = |name: &str| bounds.get(name).filter(|v| !v.is_null()).cloned();
    let from = match (bound("gte"), bound("gt")) {
        (Some(inclusive), _) => Some(inclusive),
        (None, Some(exclusive)) => {
            warnings.push(format!(
                "range filter on {field}: gt {exclusive} is approximated as gte {exclusive} \
                 ({exclusive} itself now matches)"
            ));
            Some(exclusive)
        }
        (None, None) => None,
    };
    let (to, to_inclusive) = match (bound("lt"), bound("lte")) {
        (Some(exclusive), _) => (Some(exclusive), false),
        (None, Some(inclusive)) => (Some(inclusive), true),
        (None, None) => (None, false),
    };
    if from.is_none() && to.is_none() {
        return Err("a range filter without bounds".into());
    }
    Ok(FilterKind::Range {
        from,
        to,
        to_inclusive,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The filters and warnings of one Kibana filter list.
    fn convert(filters: Value) -> (Vec<Filter>, Vec<String>) {
        let mut warnings = Vec::new();
        let converted = kibana_filters(Some(&filters), &mut warnings);
        (converted, warnings)
    }

    fn meta(filter_type: &str, key: &str, params: Value) -> Value {
        json!({ "type": filter_type, "key": key, "params": params, "negate": false,
            "disabled": false, "alias": null, "index": "k-pattern" })
    }

    #[test]
    fn phrase_filters_read_params_or_match_phrase() {
        let (filters, warnings) = convert(json!([
            { "meta": meta("phrase", "dstport", json!({ "query": 22 })),
              "query": { "match_phrase": { "dstport": 22 } }, "$state": { "store": "appState" } },
            { "meta": { "type": "phrase", "key": "action" },
              "query": { "match_phrase": { "action": { "query": "REJECT", "type": "phrase" } } } },
            { "meta": { "type": "phrase", "key": "protocol" },
              "query": { "match_phrase": { "protocol": 6 } } },
        ]));
        assert_eq!(
            filters,
            [
                Filter::phrase("dstport", json!(22)),
                Filter::phrase("action", json!("REJECT")),
                Filter::phrase("protocol", json!(6)),
            ]
        );
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn phrases_filters_read_params_or_should() {
        let (filters, warnings) = convert(json!([
            { "meta": meta("phrases", "dstport", json!([22, 3389])) },
            { "meta": { "type": "phrases", "key": "action" },
              "query": { "bool": { "minimum_should_match": 1, "should": [
                  { "match_phrase": { "action": "REJECT" } }, { "match_phrase": { "action": "ACCEPT" } } ] } } },
        ]));
        let kinds: Vec<_> = filters.iter().map(|f| &f.kind).collect();
        assert_eq!(
            kinds,
            [
                &FilterKind::Phrases {
                    values: vec![json!(22), json!(3389)]
                },
                &FilterKind::Phrases {
                    values: vec![json!("REJECT"), json!("ACCEPT")]
                },
            ]
        );
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn range_filters_keep_exact_bounds_and_say_what_is_approximated() {
        let range = |from: Option<i64>, to: Option<i64>| FilterKind::Range {
            from: from.map(Value::from),
            to: to.map(Value::from),
            to_inclusive: false,
        };
        let (filters, warnings) = convert(json!([
            { "meta": meta("range", "bytes", json!({ "gte": 1000, "lt": 5000 })),
              "range": { "bytes": { "gte": 1000, "lt": 5000 } } },
            { "meta": { "type": "range", "key": "packets" },
              "query": { "range": { "packets": { "gte": 10 } } } },
        ]));
        assert_eq!(filters[0].kind, range(Some(1000), Some(5000)));
        assert_eq!(filters[1].kind, range(Some(10), None));
        assert!(
            warnings.is_empty(),
            "exact bounds need no warning: {warnings:?}"
        );

        let (filters, warnings) = convert(json!([
            { "meta": meta("range", "bytes", json!({ "gt": 1000, "lte": 5000 })),
              "range": { "bytes": { "gt": 1000, "lte": 5000 } } },
        ]));
        assert_eq!(
            filters[0].kind,
            FilterKind::Range {
                from: Some(json!(1000)),
                to: Some(json!(5000)),
                to_inclusive: true,
            },
            "lte is kept exactly"
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("gt 1000 is approximated as gte 1000"));
    }

    #[test]
    fn exists_filters_and_their_negate_and_disabled() {
        let (filters, warnings) = convert(json!([
            { "meta": { "type": "exists", "key": "srcaddr", "value": "exists", "negate": true, "disabled": true },
              "exists": { "field": "srcaddr" } },
        ]));
        assert_eq!(
            filters,
            [Filter {
                field: "srcaddr".into(),
                kind: FilterKind::Exists,
                negate: true,
                disabled: true,
                pinned: false,
            }]
        );
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn unmappable_filters_are_left_out_with_a_warning_naming_them() {
        let (filters, warnings) = convert(json!([
            { "meta": { "type": "custom", "alias": "Big talkers", "key": "query" },
              "query": { "bool": { "must": [ { "range": { "bytes": { "gte": 1 } } } ] } } },
            { "meta": { "negate": false, "disabled": false },
              "query": { "query_string": { "query": "srcaddr:10.*" } } },
            { "meta": { "type": "geo_bounding_box", "key": "location" } },
            { "meta": meta("exists", "vpc_id", Value::Null) },
        ]));
        assert_eq!(filters.len(), 1, "the one that maps is kept");
        assert_eq!(filters[0].field, "vpc_id");
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings[0].contains("custom, Big talkers"), "{warnings:?}");
        assert!(
            warnings[1].contains("query_string") && warnings[1].contains("srcaddr:10.*"),
            "{warnings:?}"
        );
        assert!(
            warnings[2].contains("geo_bounding_box, location"),
            "{warnings:?}"
        );
        assert!(warnings.iter().all(|w| w.contains("was left out")));

        let (filters, warnings) = convert(json!({ "not": "a list" }));
        assert!(filters.is_empty());
        assert_eq!(warnings.len(), 1);
    }
}
