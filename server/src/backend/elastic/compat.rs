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
        let mut parts = number.split(['.', '-']).map(|p| p.parse::<u32>().ok());
        let major = parts.next()??;
        let minor = parts.next().flatten().unwrap_or(0);
        let opensearch = root
            .pointer("/version/distribution")
            .and_then(Value::as_str)
            == Some("opensearch");
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
}
