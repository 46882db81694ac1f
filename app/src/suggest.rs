//! Query bar suggestions (KQL): field names while a field is typed, the field's most common
//! values in the time range once `field:` is, and the user's recent queries in an empty bar.
//! Pure functions of the text and the answers; `components::query_bar` shows them.

use serde_json::{json, Value};

use crate::model::index_pattern::FieldSpec;

/// Most suggestions shown at once.
pub const MAX_SUGGESTIONS: usize = 10;

/// Values asked of the engine for a field: its most common, filtered by what was typed.
const VALUES_ASKED: usize = 50;

/// Recent queries kept in the browser.
pub const HISTORY_KEPT: usize = 10;

/// What the end of the query text is a part of.
#[derive(Clone, Debug, PartialEq)]
pub enum Wanted {
    /// A field name.
    Field {
        /// What was typed of it.
        prefix: String,
    },
    /// A value of a field.
    Value {
        /// The field, before the colon.
        field: String,
        /// What was typed of the value.
        prefix: String,
    },
}

/// A suggestion: what the list shows, and the query text accepting it gives.
#[derive(Clone, Debug, PartialEq)]
pub struct Suggestion {
    /// As listed.
    pub label: String,
    /// `field`, `value` or `recent`.
    pub kind: &'static str,
    /// The whole query with the suggestion in place.
    pub text: String,
}

/// Where the last term of `text` starts: after the last space or opening parenthesis.
fn last_term_start(text: &str) -> usize {
    text.rfind([' ', '(']).map_or(0, |i| i + 1)
}

/// What is being typed at the end of `text`; `None` after a space (nothing is).
pub fn wanted(text: &str) -> Option<Wanted> {
    let term = &text[last_term_start(text)..];
    if term.is_empty() {
        return None;
    }
    if let Some((field, value)) = term.split_once(':') {
        let prefix = value.trim_start().trim_start_matches('"').to_owned();
        return (!field.is_empty()).then(|| Wanted::Value {
            field: field.to_owned(),
            prefix,
        });
    }
    // The words of the language are not fields.
    if ["and", "or", "not"].contains(&term.to_ascii_lowercase().as_str()) {
        return None;
    }
    Some(Wanted::Field {
        prefix: term.to_owned(),
    })
}

/// The searchable fields matching `prefix` (names starting with it first, then containing it),
/// each completing the term to `field:`.
pub fn field_suggestions(text: &str, prefix: &str, fields: &[FieldSpec]) -> Vec<Suggestion> {
    let lower = prefix.to_lowercase();
    let mut names: Vec<&str> = fields
        .iter()
        .filter(|f| f.searchable && !f.name.starts_with('_'))
        .map(|f| f.name.as_str())
        .filter(|name| name.to_lowercase().contains(&lower))
        .collect();
    names.sort_by_key(|name| (!name.to_lowercase().starts_with(&lower), *name));
    names.dedup();
    let head = &text[..last_term_start(text)];
    names
        .into_iter()
        .filter(|name| *name != prefix)
        .take(MAX_SUGGESTIONS)
        .map(|name| Suggestion {
            label: name.to_owned(),
            kind: "field",
            text: format!("{head}{name}:"),
        })
        .collect()
}

/// The search for `field`'s most common values between `from` and `to` (date math), on
/// `time_field`.
pub fn values_request(field: &str, time_field: &str, from: &str, to: &str) -> Value {
    json!({
        "size": 0,
        "track_total_hits": false,
        "query": { "bool": { "filter": [
            { "range": { time_field: { "gte": from, "lte": to, "format": "strict_date_optional_time" } } }
        ] } },
        "aggs": { "values": { "terms": { "field": field, "size": VALUES_ASKED } } }
    })
}

/// The values in a [`values_request`]'s answer, most common first.
pub fn values_in(answer: &Value) -> Vec<String> {
    answer
        .pointer("/aggregations/values/buckets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|bucket| {
            let key = bucket.get("key_as_string").or_else(|| bucket.get("key"))?;
            Some(match key {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        })
        .collect()
}

/// The values starting with (then containing) `prefix`, each completing the term to
/// `field:value ` (quoted when KQL needs it).
pub fn value_suggestions(
    text: &str,
    field: &str,
    prefix: &str,
    values: &[String],
) -> Vec<Suggestion> {
    let lower = prefix.to_lowercase();
    let mut matching: Vec<&String> = values
        .iter()
        .filter(|v| v.to_lowercase().contains(&lower))
        .collect();
    // Stable: most common first within each group.
    matching.sort_by_key(|v| !v.to_lowercase().starts_with(&lower));
    let head = &text[..last_term_start(text)];
    matching
        .into_iter()
        .filter(|v| v.as_str() != prefix)
        .take(MAX_SUGGESTIONS)
        .map(|value| Suggestion {
            label: value.clone(),
            kind: "value",
            text: format!("{head}{field}:{} ", kql_value(value)),
        })
        .collect()
}

/// A value as KQL reads it: bare when it is a plain word, number or address, quoted otherwise.
fn kql_value(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_alphanumeric() || "._-/".contains(c));
    if plain {
        value.to_owned()
    } else {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// The recent queries an empty bar offers.
pub fn recent_suggestions(history: &[String]) -> Vec<Suggestion> {
    history
        .iter()
        .take(MAX_SUGGESTIONS)
        .map(|query| Suggestion {
            label: query.clone(),
            kind: "recent",
            text: query.clone(),
        })
        .collect()
}

/// `history` with `query` first, once, and at most [`HISTORY_KEPT`] queries.
pub fn remember(history: &[String], query: &str) -> Vec<String> {
    let query = query.trim();
    if query.is_empty() {
        return history.to_vec();
    }
    std::iter::once(query.to_owned())
        .chain(history.iter().filter(|q| q.as_str() != query).cloned())
        .take(HISTORY_KEPT)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, searchable: bool) -> FieldSpec {
        FieldSpec {
            name: name.into(),
            field_type: "keyword".into(),
            aggregatable: true,
            searchable,
        }
    }

    #[test]
    fn the_end_of_the_query_says_what_is_typed() {
        assert_eq!(
            wanted("action:REJECT and dst"),
            Some(Wanted::Field {
                prefix: "dst".into()
            })
        );
        assert_eq!(
            wanted("not (srcaddr:10."),
            Some(Wanted::Value {
                field: "srcaddr".into(),
                prefix: "10.".into()
            })
        );
        assert_eq!(
            wanted("action:\"REJ"),
            Some(Wanted::Value {
                field: "action".into(),
                prefix: "REJ".into()
            })
        );
        assert_eq!(wanted("action:REJECT "), None);
        assert_eq!(wanted("action:REJECT and"), None);
        assert_eq!(wanted(""), None);
    }

    #[test]
    fn fields_then_values_complete_the_last_term() {
        let fields = [
            field("dstport", true),
            field("dstaddr", true),
            field("srcaddr", true),
            field("_id", true),
            field("hidden", false),
        ];
        let texts: Vec<String> = field_suggestions("action:REJECT and addr", "addr", &fields)
            .into_iter()
            .map(|s| s.text)
            .collect();
        assert_eq!(
            texts,
            ["action:REJECT and dstaddr:", "action:REJECT and srcaddr:"]
        );
        let starting: Vec<String> = field_suggestions("dst", "dst", &fields)
            .into_iter()
            .map(|s| s.label)
            .collect();
        assert_eq!(starting, ["dstaddr", "dstport"]);

        let answer = json!({ "aggregations": { "values": { "buckets": [
            { "key": 443, "doc_count": 9 }, { "key": 22, "doc_count": 5 }, { "key": 3389, "doc_count": 2 }
        ] } } });
        let values = values_in(&answer);
        assert_eq!(values, ["443", "22", "3389"]);
        let offered = value_suggestions("dstport:3", "dstport", "3", &values);
        assert_eq!(offered.len(), 2);
        assert_eq!(offered[0].text, "dstport:3389 ");
        assert_eq!(offered[1].label, "443");
        // Values KQL would misread are quoted.
        let quoted = value_suggestions("msg:", "msg", "", &["a b \"c\"".to_owned()]);
        assert_eq!(quoted[0].text, "msg:\"a b \\\"c\\\"\" ");
        let ipv6 = value_suggestions("srcaddr:", "srcaddr", "", &["2001:db8::1".to_owned()]);
        assert_eq!(ipv6[0].text, "srcaddr:\"2001:db8::1\" ");
    }

    #[test]
    fn history_keeps_the_latest_queries_once() {
        let history = remember(&[], "action:REJECT");
        let history = remember(&history, "dstport:22");
        let history = remember(&history, " action:REJECT ");
        assert_eq!(history, ["action:REJECT", "dstport:22"]);
        assert_eq!(remember(&history, "  "), history);
        let mut long = Vec::new();
        for i in 0..15 {
            long = remember(&long, &format!("q{i}"));
        }
        assert_eq!(long.len(), HISTORY_KEPT);
        assert_eq!(long[0], "q14");
        assert_eq!(recent_suggestions(&long).len(), MAX_SUGGESTIONS);
    }
}
