//! What differs between Elasticsearch 6.x, 7.x, 8.x and OpenSearch 1–2, handled in one place:
//! requests are adapted to the cluster's version, responses to the 7.x shape flowdash reads.

use serde_json::{json, Value};

/// A cluster's version, from `GET /`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClusterVersion {
    /// Major version number (`7` of `7.10.2`).
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Whether the cluster is OpenSearch.
    pub opensearch: bool,
}

impl ClusterVersion {
    /// Reads `version.number` and `version.distribution` of a `GET /` answer.
    pub fn from_root(root: &Value) -> Option<ClusterVersion> {
        let number = root.pointer("/version/number")?.as_str()?;
        let opensearch = root
            .pointer("/version/distribution")
            .and_then(Value::as_str)
            == Some("opensearch");
        ClusterVersion::from_number(number, opensearch)
    }

    /// Reads a version number: `7.10.2`, `8.0.0-rc1`.
    pub fn from_number(number: &str, opensearch: bool) -> Option<ClusterVersion> {
        let mut parts = number.split(['.', '-']).map(|p| p.parse::<u32>().ok());
        let major = parts.next()??;
        let minor = parts.next().flatten().unwrap_or(0);
        Some(ClusterVersion {
            major,
            minor,
            opensearch,
        })
    }

    /// Whether `date_histogram` takes `fixed_interval` / `calendar_interval` (7.2+, OpenSearch).
    pub fn has_split_intervals(&self) -> bool {
        self.opensearch || self.major > 7 || (self.major == 7 && self.minor >= 2)
    }

    /// Whether searches accept `track_total_hits` (7.0+, OpenSearch).
    pub fn tracks_total_hits(&self) -> bool {
        self.opensearch || self.major >= 7
    }

    /// Whether bulk actions need a `_type` (6.x).
    pub fn needs_type(&self) -> bool {
        !self.opensearch && self.major < 7
    }

    /// Whether sorting on `_id` is refused: Elasticsearch 8 turned off `_id` field data
    /// (`indices.id_field_data.enabled`); 6.x, 7.x and OpenSearch still sort on it.
    pub fn refuses_id_sort(&self) -> bool {
        !self.opensearch && self.major >= 8
    }
}

/// A major and minor version.
type Release = (u32, u32);

/// Aggregations newer than some clusters flowdash talks to: the first Elasticsearch version
/// that runs each, and the first OpenSearch version (`None`: OpenSearch has none).
const AGGREGATIONS_SINCE: &[(&str, Release, Option<Release>)] = &[
    ("composite", (6, 1), Some((1, 0))),
    ("weighted_avg", (6, 4), Some((1, 0))),
    ("moving_fn", (6, 4), Some((1, 0))),
    ("bucket_sort", (6, 4), Some((1, 0))),
    ("auto_date_histogram", (6, 5), Some((1, 0))),
    ("median_absolute_deviation", (6, 6), Some((1, 0))),
    ("rare_terms", (7, 3), Some((1, 0))),
    ("cumulative_cardinality", (7, 4), Some((1, 0))),
    ("string_stats", (7, 6), Some((1, 0))),
    ("boxplot", (7, 7), Some((1, 0))),
    ("top_metrics", (7, 7), Some((1, 0))),
    ("variable_width_histogram", (7, 9), Some((1, 0))),
    ("normalize", (7, 9), Some((1, 0))),
    ("moving_percentiles", (7, 9), Some((1, 0))),
    ("rate", (7, 10), Some((1, 0))),
    ("multi_terms", (7, 12), Some((2, 1))),
    ("ip_prefix", (8, 1), None),
    ("categorize_text", (8, 1), None),
    ("random_sampler", (8, 2), None),
];

impl ClusterVersion {
    /// The first aggregation of a search body that this cluster cannot run, as a message
    /// saying which version it needs: sent anyway, the cluster would only answer that the
    /// type is unknown.
    pub fn lacking_aggregation(&self, body: &Value) -> Option<String> {
        let mut pending: Vec<&Value> = ["aggs", "aggregations"]
            .iter()
            .filter_map(|key| body.get(key))
            .collect();
        while let Some(aggs) = pending.pop() {
            for (name, spec) in aggs.as_object().into_iter().flatten() {
                for (key, value) in spec.as_object().into_iter().flatten() {
                    match key.as_str() {
                        "aggs" | "aggregations" => pending.push(value),
                        "meta" => {}
                        agg_type => {
                            if let Some(message) = self.lacks(agg_type, name) {
                                return Some(message);
                            }
                        }
                    }
                }
            }
        }
        None
    }

    /// Whether the cluster runs aggregations of type `agg_type`.
    pub fn runs(&self, agg_type: &str) -> bool {
        self.lacks(agg_type, "").is_none()
    }

    fn lacks(&self, agg_type: &str, name: &str) -> Option<String> {
        let (_, elasticsearch, opensearch) = AGGREGATIONS_SINCE
            .iter()
            .find(|(known, _, _)| *known == agg_type)?;
        let (product, needed) = if self.opensearch {
            ("OpenSearch", *opensearch)
        } else {
            ("Elasticsearch", Some(*elasticsearch))
        };
        let runs = |(major, minor): Release| (self.major, self.minor) >= (major, minor);
        let cluster = format!("{product} {}.{}", self.major, self.minor);
        match needed {
            Some(version) if runs(version) => None,
            Some((major, minor)) => Some(format!(
                "aggregation [{agg_type}] (in [{name}]) needs {product} {major}.{minor} or later, and the cluster runs {cluster}"
            )),
            None => Some(format!(
                "aggregation [{agg_type}] (in [{name}]) is not available in {product}, which the cluster runs ({cluster})"
            )),
        }
    }
}

/// A search's sort keys as written: `"f"`, `{"f": "desc"}`, `{"f": {...}}`, alone or in a list.
fn sort_keys(body: &Value) -> Vec<&str> {
    fn key(entry: &Value) -> Option<&str> {
        match entry {
            Value::String(field) => Some(field.as_str()),
            Value::Object(object) => object.keys().next().map(String::as_str),
            _ => None,
        }
    }
    match body.get("sort") {
        Some(Value::Array(entries)) => entries.iter().filter_map(key).collect(),
        Some(entry) => key(entry).into_iter().collect(),
        None => Vec::new(),
    }
}

/// Where `_id` is among a search's sort keys, if it is one.
pub fn id_sort_position(body: &Value) -> Option<usize> {
    sort_keys(body).iter().position(|key| *key == "_id")
}

/// For a cluster that refuses `_id` sorts: sorts on `field` instead, in the same order and as
/// a keyword where an index lacks it. Without a field the `_id` key is dropped, and with it
/// its value in `search_after`, so that the two stay aligned.
pub fn replace_id_sort(body: &mut Value, field: Option<&str>) {
    let Some(position) = id_sort_position(body) else {
        return;
    };
    let Some(object) = body.as_object_mut() else {
        return;
    };
    let mut entries = match object.remove("sort") {
        Some(Value::Array(entries)) => entries,
        Some(entry) => vec![entry],
        None => return,
    };
    match field {
        Some(field) => {
            let order = match &entries[position] {
                Value::Object(key) => match key.get("_id") {
                    Some(Value::String(order)) => order.clone(),
                    Some(options) => options["order"].as_str().unwrap_or("asc").to_owned(),
                    None => "asc".to_owned(),
                },
                _ => "asc".to_owned(),
            };
            entries[position] = json!({ field: { "order": order, "unmapped_type": "keyword" } });
        }
        None => {
            entries.remove(position);
            if let Some(Value::Array(after)) = object.get_mut("search_after") {
                if position < after.len() {
                    after.remove(position);
                }
            }
        }
    }
    object.insert("sort".into(), Value::Array(entries));
}

/// Calendar units as `interval` and `calendar_interval` write them.
fn is_calendar(interval: &str) -> bool {
    matches!(
        interval,
        "1m" | "1h"
            | "1d"
            | "1w"
            | "1M"
            | "1q"
            | "1y"
            | "minute"
            | "hour"
            | "day"
            | "week"
            | "month"
            | "quarter"
            | "year"
    )
}

/// Rewrites a search body for `version`, in place.
pub fn adapt_request(body: &mut Value, version: ClusterVersion) {
    if let Some(object) = body.as_object_mut() {
        if !version.tracks_total_hits() {
            object.remove("track_total_hits");
        }
    }
    adapt_intervals(body, version);
}

fn adapt_intervals(value: &mut Value, version: ClusterVersion) {
    match value {
        Value::Object(object) => {
            if let Some(Value::Object(histogram)) = object.get_mut("date_histogram") {
                if version.has_split_intervals() {
                    if let Some(legacy) = histogram.remove("interval") {
                        let key = match legacy.as_str() {
                            Some(text) if is_calendar(text) => "calendar_interval",
                            _ => "fixed_interval",
                        };
                        histogram.insert(key.into(), legacy);
                    }
                } else if let Some(interval) = histogram
                    .remove("fixed_interval")
                    .or_else(|| histogram.remove("calendar_interval"))
                {
                    histogram.insert("interval".into(), interval);
                }
            }
            for child in object.values_mut() {
                adapt_intervals(child, version);
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| adapt_intervals(item, version)),
        _ => {}
    }
}

/// Brings a search response to the 7.x shape: `hits.total` as `{value, relation}`.
pub fn normalize_response(response: &mut Value) {
    if let Some(total) = response.pointer_mut("/hits/total") {
        if let Some(count) = total.as_u64() {
            *total = json!({ "value": count, "relation": "eq" });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ES6: ClusterVersion = ClusterVersion {
        major: 6,
        minor: 8,
        opensearch: false,
    };
    const ES7: ClusterVersion = ClusterVersion {
        major: 7,
        minor: 10,
        opensearch: false,
    };
    const OS2: ClusterVersion = ClusterVersion {
        major: 2,
        minor: 11,
        opensearch: true,
    };

    fn histogram(field: &str, value: &str) -> Value {
        json!({ "track_total_hits": true, "aggs": { "a": { "terms": { "field": "action" }, "aggs": { "t": { "date_histogram": { "field": "@timestamp", field: value } } } } } })
    }

    #[test]
    fn opensearch_versions_are_read_as_opensearch_versions() {
        let body =
            |agg_type: &str| json!({ "aggs": { "x": { agg_type: { "field": "srcaddr" } } } });
        assert_eq!(
            OS2.lacking_aggregation(&body("multi_terms")),
            None,
            "2.1 has it"
        );
        let os1 = ClusterVersion {
            major: 1,
            minor: 3,
            opensearch: true,
        };
        assert_eq!(
            os1.lacking_aggregation(&body("multi_terms")).as_deref(),
            Some("aggregation [multi_terms] (in [x]) needs OpenSearch 2.1 or later, and the cluster runs OpenSearch 1.3")
        );
        assert!(OS2
            .lacking_aggregation(&body("ip_prefix"))
            .unwrap()
            .contains("not available in OpenSearch"));
        assert_eq!(ES7.lacking_aggregation(&body("terms")), None);
        assert!(ES7.lacking_aggregation(&body("ip_prefix")).is_some());
        assert_eq!(ES6.lacking_aggregation(&body("composite")), None);
    }

    #[test]
    fn versions_are_read_from_the_root_answer() {
        let es = json!({ "version": { "number": "7.10.2" } });
        assert_eq!(ClusterVersion::from_root(&es), Some(ES7));
        let os = json!({ "version": { "number": "2.11.0", "distribution": "opensearch" } });
        assert_eq!(ClusterVersion::from_root(&os), Some(OS2));
        assert_eq!(ClusterVersion::from_root(&json!({})), None);
    }

    #[test]
    fn intervals_follow_the_version() {
        let mut body = histogram("fixed_interval", "30s");
        adapt_request(&mut body, ES6);
        assert_eq!(
            body.pointer("/aggs/a/aggs/t/date_histogram/interval"),
            Some(&json!("30s"))
        );
        assert!(body.get("track_total_hits").is_none());

        let mut body = histogram("interval", "1d");
        adapt_request(&mut body, ES7);
        assert_eq!(
            body.pointer("/aggs/a/aggs/t/date_histogram/calendar_interval"),
            Some(&json!("1d"))
        );
        let mut body = histogram("interval", "90m");
        adapt_request(&mut body, OS2);
        assert_eq!(
            body.pointer("/aggs/a/aggs/t/date_histogram/fixed_interval"),
            Some(&json!("90m"))
        );
        assert_eq!(body["track_total_hits"], true);
    }

    #[test]
    fn totals_become_objects() {
        let mut response = json!({ "hits": { "total": 42, "hits": [] } });
        normalize_response(&mut response);
        assert_eq!(
            response["hits"]["total"],
            json!({ "value": 42, "relation": "eq" })
        );
    }

    #[test]
    fn id_sorts_become_the_documents_at_id_on_clusters_that_refuse_them() {
        let es8 = ClusterVersion {
            major: 8,
            minor: 11,
            opensearch: false,
        };
        assert!(es8.refuses_id_sort() && !ES7.refuses_id_sort() && !ES6.refuses_id_sort());
        let request = json!({
            "sort": [{ "@timestamp": { "order": "desc" } }, { "_id": "desc" }],
            "search_after": [1_000, "abc"],
        });
        let mut replaced = request.clone();
        replace_id_sort(&mut replaced, Some("@id"));
        assert_eq!(
            replaced["sort"][1],
            json!({ "@id": { "order": "desc", "unmapped_type": "keyword" } })
        );
        assert_eq!(replaced["search_after"], request["search_after"]);
        // With no stand-in, the key goes, and its value in search_after with it.
        let mut dropped = request.clone();
        replace_id_sort(&mut dropped, None);
        assert_eq!(
            dropped["sort"],
            json!([{ "@timestamp": { "order": "desc" } }])
        );
        assert_eq!(dropped["search_after"], json!([1_000]));
        // Every way of writing a sort key is read.
        for sort in [
            json!("_id"),
            json!(["_id"]),
            json!({ "_id": { "order": "asc" } }),
        ] {
            assert_eq!(
                id_sort_position(&json!({ "sort": sort })),
                Some(0),
                "{sort}"
            );
        }
        assert_eq!(id_sort_position(&json!({ "sort": ["@timestamp"] })), None);
        let mut plain = json!({ "sort": "_id" });
        replace_id_sort(&mut plain, Some("@id.keyword"));
        assert_eq!(
            plain["sort"],
            json!([{ "@id.keyword": { "order": "asc", "unmapped_type": "keyword" } }])
        );
    }
}
