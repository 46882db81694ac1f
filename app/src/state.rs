//! What a dashboard or editor view shows, besides its objects: time range, refresh, query,
//! filters, the full-screen panel. It lives in the URL, so copying the address bar reproduces
//! the view and back/forward walk through changes.

use crate::api::{decode, encode};
use crate::model::filter::{Filter, QueryLanguage, QueryText};
use crate::model::time::TimeRange;

/// What a dashboard view shows besides its panels, as its URL carries it: time, refresh,
/// query, filters, the full-screen panel and kiosk mode.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ViewState {
    /// The time range; `None` uses the dashboard's or the default.
    pub time: Option<TimeRange>,
    /// Auto-refresh interval; `None` is off.
    pub refresh_ms: Option<u64>,
    /// The query bar's query.
    pub query: QueryText,
    /// The filter pills.
    pub filters: Vec<Filter>,
    /// The panel shown full screen.
    pub full: Option<String>,
    /// The dashboard alone, without the app's bars: for a wall screen (Kibana's full-screen
    /// mode).
    pub kiosk: bool,
}

impl ViewState {
    /// Reads the URL's query string (`?from=now-24h&to=now&q=...`).
    pub fn from_query_string(query: &str) -> ViewState {
        let mut state = ViewState::default();
        let (mut from, mut to) = (None, None);
        for (key, value) in query_pairs(query) {
            match key {
                "from" => from = Some(value),
                "to" => to = Some(value),
                "refresh" => state.refresh_ms = value.parse().ok().filter(|ms| *ms > 0),
                "q" => state.query.text = value,
                "lang" if value == "lucene" => state.query.language = QueryLanguage::Lucene,
                "filters" => state.filters = serde_json::from_str(&value).unwrap_or_default(),
                "full" => state.full = Some(value).filter(|v| !v.is_empty()),
                "kiosk" => state.kiosk = value == "true",
                _ => {}
            }
        }
        if from.is_some() || to.is_some() {
            state.time = Some(TimeRange {
                from: from.unwrap_or_else(|| "now-24h".into()),
                to: to.unwrap_or_else(|| "now".into()),
            });
        }
        state
    }

    /// The query string for this state (with the leading `?`, or empty).
    pub fn to_query_string(&self) -> String {
        let mut parts = Vec::new();
        if let Some(time) = &self.time {
            parts.push(format!("from={}", encode(&time.from)));
            parts.push(format!("to={}", encode(&time.to)));
        }
        if let Some(ms) = self.refresh_ms {
            parts.push(format!("refresh={ms}"));
        }
        if !self.query.text.is_empty() {
            parts.push(format!("q={}", encode(&self.query.text)));
        }
        if self.query.language == QueryLanguage::Lucene {
            parts.push("lang=lucene".into());
        }
        if !self.filters.is_empty() {
            let json = serde_json::to_string(&self.filters).unwrap_or_default();
            parts.push(format!("filters={}", encode(&json)));
        }
        if let Some(full) = &self.full {
            parts.push(format!("full={}", encode(full)));
        }
        if self.kiosk {
            parts.push("kiosk=true".into());
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    }

    /// Adds filters, skipping ones already there (a second click on a slice changes nothing).
    pub fn with_filters(&self, added: &[Filter]) -> ViewState {
        let mut next = self.clone();
        for filter in added {
            if !next.filters.iter().any(|f| {
                f.field == filter.field && f.kind == filter.kind && f.negate == filter.negate
            }) {
                next.filters.push(filter.clone());
            }
        }
        next
    }
}

/// The `key=value` pairs of a URL's query string (with or without its `?`), values decoded.
pub fn query_pairs(query: &str) -> impl Iterator<Item = (&str, String)> {
    query
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key, decode(value))
        })
}

/// Refresh intervals the picker offers.
pub const REFRESH_CHOICES: &[(&str, Option<u64>)] = &[
    ("Off", None),
    ("10 s", Some(10_000)),
    ("30 s", Some(30_000)),
    ("1 m", Some(60_000)),
    ("5 m", Some(300_000)),
];

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_url_carries_the_whole_view() {
        let mut negated = Filter::phrase("dstport", json!(443));
        negated.negate = true;
        let state = ViewState {
            time: Some(TimeRange::last("1h")),
            refresh_ms: Some(30_000),
            query: QueryText {
                language: QueryLanguage::Lucene,
                text: "srcaddr:10.0.0.0/8 AND action:REJECT".into(),
            },
            filters: vec![Filter::phrase("action", json!("REJECT")), negated],
            full: Some("3".into()),
            kiosk: true,
        };
        let url = state.to_query_string();
        assert!(
            url.starts_with("?from=now-1h&to=now&refresh=30000&q="),
            "{url}"
        );
        assert_eq!(ViewState::from_query_string(&url), state);
        assert_eq!(ViewState::from_query_string(""), ViewState::default());
        assert_eq!(ViewState::default().to_query_string(), "");
    }

    #[test]
    fn filters_are_added_once() {
        let state = ViewState::default().with_filters(&[Filter::phrase("action", json!("REJECT"))]);
        let again = state.with_filters(&[Filter::phrase("action", json!("REJECT"))]);
        assert_eq!(again.filters.len(), 1);
    }
}
