//! The examples of the Elasticsearch reference documentation, run against flowdash's `/es`
//! surface over HTTP: the documents of each example's data set go in through `_bulk`, the
//! request goes to `_search`, and the answer must be the one the docs print, value for value
//! (`testdata/es-reference-examples.json` says where each example comes from).
//!
//! The embedded engine's documents are flow documents, so each data set's fields are mapped
//! onto flow fields of the same type (`price` → `bytes`), in the documents and in the request.
//! The documents keep their own fields too, so hits show `_source` as the docs do.

use serde_json::{Map, Value};

use super::tests::TestServer;

const EXAMPLES: &str = include_str!("../../testdata/es-reference-examples.json");

#[tokio::test]
async fn answers_match_the_examples_of_the_elasticsearch_reference() {
    let file: Value = serde_json::from_str(EXAMPLES).unwrap();
    let server = TestServer::start().await;
    let fixtures = file["fixtures"].as_object().unwrap();
    for (name, fixture) in fixtures {
        load_fixture(&server, name, fixture).await;
    }
    let examples = file["examples"].as_array().unwrap();
    let mut failures = Vec::new();
    for example in examples {
        let name = example["name"].as_str().unwrap();
        let fixture = &fixtures[example["fixture"].as_str().unwrap()];
        let fields = fixture["fields"].as_object().unwrap();
        let request = rename_fields(&example["request"], fields);
        let path = format!("/es/{}/_search", fixture["index"].as_str().unwrap());
        let (status, mut response) = server.post_json(&path, &request).await;
        if status != 200 {
            failures.push(format!("{name}: status {status}: {response}"));
            continue;
        }
        drop_added_source_fields(&mut response, fields);
        let unchecked: Vec<&str> = example["unchecked"]
            .as_array()
            .map(|paths| paths.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let complete = example["complete"].as_bool().unwrap_or(false);
        let mut differences = Vec::new();
        let mut comparison = Comparison {
            unchecked: &unchecked,
            differences: &mut differences,
        };
        comparison.compare(&response, &example["response"], "", !complete);
        if !differences.is_empty() {
            failures.push(format!(
                "{name} ({}):\n    {}\n    response: {response}",
                example["source"].as_str().unwrap_or_default(),
                differences.join("\n    ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} examples differ:\n{}",
        failures.len(),
        examples.len(),
        failures.join("\n")
    );
}

/// Bulk-writes a data set. Each document gets its position as `_id`: without one, the engine
/// derives the id from the content (so re-delivered lines land once), and the `latency` data
/// set repeats documents that Elasticsearch would store twice under random ids.
async fn load_fixture(server: &TestServer, name: &str, fixture: &Value) {
    let index = fixture["index"].as_str().unwrap();
    let fields = fixture["fields"].as_object().unwrap();
    let mut body = String::new();
    for (position, doc) in fixture["docs"].as_array().unwrap().iter().enumerate() {
        let mut doc = doc.as_object().unwrap().clone();
        let mut added = Map::new();
        for (from, to) in fields {
            if let Some(value) = doc.get(from) {
                let to = to.as_str().unwrap();
                let value = if to == "@timestamp" {
                    Value::String(iso_date(value.as_str().unwrap()))
                } else {
                    value.clone()
                };
                added.insert(to.to_owned(), value);
            }
        }
        // Data sets without dates get one: documents are placed in time.
        added
            .entry("@timestamp")
            .or_insert_with(|| Value::String("2015-01-01T00:00:00Z".into()));
        doc.extend(added);
        body.push_str(&format!(
            "{}\n{}\n",
            serde_json::json!({ "index": { "_index": index, "_id": position.to_string() } }),
            Value::Object(doc)
        ));
    }
    let (status, answer) = server.post("/es/_bulk", body).await;
    assert_eq!(status, 200, "{name}: {answer}");
    assert_eq!(answer["errors"], false, "{name}: {answer}");
}

/// `2015/01/01 00:00:00` (the `sales` data set's format) and zone-less times as ISO 8601 UTC.
fn iso_date(text: &str) -> String {
    let text = text.replace('/', "-").replacen(' ', "T", 1);
    if text.ends_with('Z') {
        text
    } else {
        format!("{text}Z")
    }
}

/// The request with the data set's field names replaced by the flow fields they map to, where
/// a request names fields: `field`, the field keys of term-level and match queries, and sorts.
fn rename_fields(request: &Value, fields: &Map<String, Value>) -> Value {
    let rename = |name: &str| -> String {
        fields
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or(name)
            .to_owned()
    };
    match request {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .map(|(key, value)| {
                    let value = match (key.as_str(), value) {
                        ("field", Value::String(name)) => Value::String(rename(name)),
                        // A query names its field by key; the aggregations of the same names
                        // (`terms`, `range`) have a `field`.
                        (
                            "term" | "terms" | "match" | "match_phrase" | "range" | "prefix",
                            Value::Object(query),
                        ) if !query.contains_key("field") => Value::Object(
                            query
                                .iter()
                                .map(|(name, v)| (rename(name), rename_fields(v, fields)))
                                .collect(),
                        ),
                        ("sort", Value::Array(sorts)) => Value::Array(
                            sorts
                                .iter()
                                .map(|sort| match sort {
                                    Value::String(name) => Value::String(rename(name)),
                                    Value::Object(by) => Value::Object(
                                        by.iter().map(|(n, v)| (rename(n), v.clone())).collect(),
                                    ),
                                    other => other.clone(),
                                })
                                .collect(),
                        ),
                        _ => rename_fields(value, fields),
                    };
                    (key.clone(), value)
                })
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| rename_fields(v, fields)).collect())
        }
        other => other.clone(),
    }
}

/// Removes from every `_source` the flow fields the test added to the documents.
fn drop_added_source_fields(response: &mut Value, fields: &Map<String, Value>) {
    match response {
        Value::Object(object) => {
            if let Some(Value::Object(source)) = object.get_mut("_source") {
                for added in fields
                    .values()
                    .filter_map(Value::as_str)
                    .chain(["@timestamp"])
                {
                    source.remove(added);
                }
            }
            for value in object.values_mut() {
                drop_added_source_fields(value, fields);
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| drop_added_source_fields(v, fields)),
        _ => {}
    }
}

/// Keys the emulated Elasticsearch 7.x has where the docs' 8.x-era examples do not: every hit
/// carries `_type: "_doc"` until 8.0.
const VERSION_KEYS: &[&str] = &["_type"];

/// A structural comparison that says where answers differ.
struct Comparison<'a> {
    /// Dotted paths whose values are not compared (ids the engine makes up).
    unchecked: &'a [&'a str],
    differences: &'a mut Vec<String>,
}

impl Comparison<'_> {
    /// Compares `actual` with `expected`. With `partial`, only the keys `expected` has are
    /// compared (the docs' `...` at the top of a response); below, objects must have the
    /// same keys. Numbers compare as numbers, but an integer is never a double or the reverse
    /// (`"count": 2`, `"sum": 150.0`), as strict clients parse them differently.
    fn compare(&mut self, actual: &Value, expected: &Value, path: &str, partial: bool) {
        if self.unchecked.contains(&path) {
            return;
        }
        let at = |key: &str| {
            if path.is_empty() {
                key.to_owned()
            } else {
                format!("{path}.{key}")
            }
        };
        match (actual, expected) {
            (Value::Object(actual), Value::Object(expected)) => {
                for (key, value) in expected {
                    match actual.get(key) {
                        Some(found) => self.compare(found, value, &at(key), false),
                        None => self.differences.push(format!("{} is missing", at(key))),
                    }
                }
                if !partial {
                    for key in actual.keys().filter(|k| {
                        !expected.contains_key(*k) && !VERSION_KEYS.contains(&k.as_str())
                    }) {
                        self.differences
                            .push(format!("{} is not expected", at(key)));
                    }
                }
            }
            (Value::Array(actual), Value::Array(expected)) => {
                if actual.len() != expected.len() {
                    self.differences.push(format!(
                        "{path} has {} entries, expected {}",
                        actual.len(),
                        expected.len()
                    ));
                }
                for (index, (found, value)) in actual.iter().zip(expected).enumerate() {
                    self.compare(found, value, &at(&index.to_string()), false);
                }
            }
            (Value::Number(a), Value::Number(e)) => {
                let (x, y) = (
                    a.as_f64().unwrap_or(f64::NAN),
                    e.as_f64().unwrap_or(f64::NAN),
                );
                let close = (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0);
                if !close || a.is_f64() != e.is_f64() {
                    self.differences
                        .push(format!("{path} is {a}, expected {e}"));
                }
            }
            (actual, expected) if actual == expected => {}
            (actual, expected) => self
                .differences
                .push(format!("{path} is {actual}, expected {expected}")),
        }
    }
}
