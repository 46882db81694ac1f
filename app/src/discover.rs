//! Discover: a search of raw flows as the user sees it (index pattern, time, query, filters,
//! columns, sort), as it lives in the URL; the one request that fetches a page of flows with
//! the histogram above them; and reading its answer. The page, the CSV export and saved
//! searches all go through here.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::api::encode;
use crate::model::field_format::{FieldFormat, FieldFormats};
use crate::model::search::SortField;
use crate::model::visualization::{
    Bucket, BucketAgg, BucketRole, ChartKind, ChartOptions, Interval, Metric, Visualization,
};
use crate::panels::ViewInputs;
use crate::query::{build_query, build_request, QueryError, SearchContext};
use crate::result::{chart_data, ChartData, ResultError};
use crate::state::{query_pairs, ViewState};

/// Rows per page of the flow table.
pub const PAGE_SIZE: usize = 50;

/// The index pattern Discover opens when the URL names none.
pub const DEFAULT_PATTERN: &str = "cwl-*";

/// What a Discover view shows: the dashboard-like view (time, refresh, query, filters) plus the
/// index pattern, the table's columns and its sort, and the saved search it was opened from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DiscoverState {
    /// Time, refresh, query and filters, as on dashboards.
    pub view: ViewState,
    /// The index pattern's title; [`DEFAULT_PATTERN`] when `None`.
    pub index: Option<String>,
    /// Columns besides time; none shows the document summary.
    pub columns: Vec<String>,
    /// Sort columns; none sorts by time, newest first.
    pub sort: Vec<SortField>,
    /// The id of the saved search this view was opened from.
    pub search: Option<String>,
}

impl DiscoverState {
    /// Reads `?index=cwl-*&from=now-15m&to=now&q=...&columns=srcaddr,dstport&sort=bytes:desc`.
    pub fn from_query_string(query: &str) -> DiscoverState {
        let mut state = DiscoverState {
            view: ViewState::from_query_string(query),
            ..DiscoverState::default()
        };
        for (key, value) in query_pairs(query) {
            match key {
                "index" if !value.is_empty() => state.index = Some(value),
                "columns" => state.columns = split_list(&value),
                "sort" => {
                    state.sort = split_list(&value)
                        .into_iter()
                        .map(|item| match item.rsplit_once(':') {
                            Some((field, "desc")) => SortField::desc(field),
                            Some((field, "asc")) => SortField::asc(field),
                            _ => SortField::asc(&item),
                        })
                        .collect()
                }
                "search" if !value.is_empty() => state.search = Some(value),
                _ => {}
            }
        }
        state
    }

    /// The query string for this state (with the leading `?`, or empty).
    pub fn to_query_string(&self) -> String {
        let mut parts = Vec::new();
        if let Some(index) = &self.index {
            parts.push(format!("index={}", encode(index)));
        }
        if let Some(search) = &self.search {
            parts.push(format!("search={}", encode(search)));
        }
        let view = self.view.to_query_string();
        if let Some(view) = view.strip_prefix('?') {
            parts.push(view.to_owned());
        }
        if !self.columns.is_empty() {
            parts.push(format!("columns={}", encode(&self.columns.join(","))));
        }
        if !self.sort.is_empty() {
            let sort: Vec<String> = self
                .sort
                .iter()
                .map(|s| format!("{}:{}", s.field, if s.descending { "desc" } else { "asc" }))
                .collect();
            parts.push(format!("sort={}", encode(&sort.join(","))));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    }

    /// This view with `column` added at the end, or removed when it is shown.
    pub fn with_column_toggled(self, column: &str) -> DiscoverState {
        let mut columns = self.columns;
        match columns.iter().position(|c| c == column) {
            Some(i) => {
                columns.remove(i);
            }
            None => columns.push(column.to_owned()),
        }
        DiscoverState { columns, ..self }
    }

    /// The index pattern searched.
    pub fn pattern(&self) -> &str {
        self.index.as_deref().unwrap_or(DEFAULT_PATTERN)
    }
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The histogram above the table: matching flows per auto interval of the time field, as a
/// bar chart drawn by the same code as every other chart.
pub fn histogram_visualization(pattern: &str, time_field: &str) -> Visualization {
    Visualization {
        version: crate::model::visualization::VISUALIZATION_VERSION,
        title: "Flows over time".into(),
        description: String::new(),
        kind: ChartKind::Bar,
        index_pattern: pattern.to_owned(),
        metrics: vec![Metric::Count.into()],
        buckets: vec![Bucket {
            role: BucketRole::XAxis,
            agg: BucketAgg::DateHistogram {
                field: time_field.to_owned(),
                interval: Interval::Auto,
            },
        }],
        options: ChartOptions::default(),
        query: Default::default(),
        filters: Vec::new(),
        saved_search: None,
    }
}

/// Which page of flows to fetch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PageRequest {
    /// The last row's `sort` values of the page before (`search_after`); `None` for the first.
    pub after: Option<Vec<Value>>,
    /// Flows on the page.
    pub size: usize,
    /// Whether to count and histogram the matches too (the first page does).
    pub histogram: bool,
}

/// The sort a request sends: the chosen columns (time, newest first, when none), then time,
/// then `_id`, so that every flow has a distinct place and `search_after` pages neither skip
/// nor repeat flows that tie on the chosen columns.
pub fn effective_sort(sort: &[SortField], time_field: &str) -> Vec<SortField> {
    let mut effective: Vec<SortField> = sort.to_vec();
    if !effective.iter().any(|s| s.field == time_field) {
        effective.push(SortField::desc(time_field));
    }
    effective.push(SortField::asc("_id"));
    effective
}

/// The request body for a page of flows: the view's query and filters (and a saved search's,
/// in `inputs`), sorted, after the previous page, with the histogram on the first page.
pub fn page_request(
    pattern: &str,
    time_field: &str,
    sort: &[SortField],
    inputs: &ViewInputs,
    page: &PageRequest,
) -> Result<Value, QueryError> {
    let histogram = histogram_visualization(pattern, time_field);
    let context = inputs.context(time_field);
    let mut body = if page.histogram {
        build_request(&histogram, &context)?
    } else {
        json!({ "query": build_query(&histogram, &context)?, "track_total_hits": false })
    };
    let sort: Vec<Value> = effective_sort(sort, time_field)
        .iter()
        .map(|s| {
            let order = if s.descending { "desc" } else { "asc" };
            if s.field == "_id" {
                json!({ "_id": order })
            } else {
                // Indices that lack the field (older record formats) sort it as missing.
                json!({ &s.field: { "order": order, "unmapped_type": "boolean" } })
            }
        })
        .collect();
    body["sort"] = Value::Array(sort);
    body["size"] = json!(page.size);
    if let Some(after) = &page.after {
        body["search_after"] = Value::Array(after.clone());
    }
    Ok(body)
}

/// The Discover view behind a dashboard panel: the panel's index pattern, the dashboard's
/// time, and the query and filters of both the dashboard and the visualization. Two queries
/// in one language are joined with `and`; in two languages they cannot be, and the answer
/// says so rather than drop one.
pub fn drilldown_state(
    vis: &Visualization,
    time: crate::model::time::TimeRange,
    query: &crate::model::filter::QueryText,
    filters: &[crate::model::filter::Filter],
) -> Result<DiscoverState, String> {
    let query = query.and(&vis.query).ok_or_else(|| {
        format!(
            "the dashboard's query and the query of “{}” are in different languages; change one to view their flows",
            vis.title
        )
    })?;
    let mut all_filters = filters.to_vec();
    all_filters.extend(vis.filters.iter().cloned());
    Ok(DiscoverState {
        view: ViewState {
            time: Some(time),
            query,
            filters: all_filters,
            ..ViewState::default()
        },
        index: Some(vis.index_pattern.clone()),
        ..DiscoverState::default()
    })
}

/// How far from a flow its surrounding flows are looked for, each way.
pub const SURROUNDING_WINDOW_MS: i64 = 24 * 3_600_000;

/// A single flow by index and id, with its place in time order (`sort`: time, then `_id`).
pub fn flow_request(id: &str, time_field: &str) -> Value {
    json!({
        "query": { "ids": { "values": [id] } },
        "size": 1,
        "sort": [{ time_field: "asc" }, { "_id": "asc" }],
    })
}

/// The `count` flows just before (`earlier`) or just after a flow in time, `anchor` being its
/// sort values from [`flow_request`], within [`SURROUNDING_WINDOW_MS`], narrowed by a query and
/// filters when given (the view's, or none). Earlier flows come nearest first.
pub fn surrounding_request(
    pattern: &str,
    time_field: &str,
    anchor: &[Value],
    count: usize,
    earlier: bool,
    inputs: &ViewInputs,
) -> Result<Value, QueryError> {
    let anchor_ms = anchor.first().and_then(Value::as_i64).unwrap_or_default();
    let time = if earlier {
        crate::model::time::Resolved {
            from_ms: anchor_ms - SURROUNDING_WINDOW_MS,
            to_ms: anchor_ms,
        }
    } else {
        crate::model::time::Resolved {
            from_ms: anchor_ms,
            to_ms: anchor_ms + SURROUNDING_WINDOW_MS,
        }
    };
    let histogram = histogram_visualization(pattern, time_field);
    let context = SearchContext {
        time,
        time_zone: None,
        ..inputs.context(time_field)
    };
    let order = if earlier { "desc" } else { "asc" };
    Ok(json!({
        "query": build_query(&histogram, &context)?,
        "size": count,
        "track_total_hits": false,
        "sort": [{ time_field: order }, { "_id": order }],
        "search_after": anchor,
    }))
}

/// One flow of a page, as the search answered it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlowRow {
    /// The daily index holding it (`cwl-2020.03.07`).
    pub index: String,
    /// Its document id.
    pub id: String,
    /// Its place in the sort, for the next page's `search_after`.
    pub sort: Vec<Value>,
    /// The flow's document.
    pub source: Map<String, Value>,
}

/// A page of flows, with the match count and histogram when asked for.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FlowPage {
    /// The flows, in sort order.
    pub rows: Vec<FlowRow>,
    /// Matching flows, when counted.
    pub total: Option<u64>,
    /// Matching flows over time, when asked for.
    pub histogram: Option<ChartData>,
    /// What the answer lacks, when some indices did not answer (days whose flows retention
    /// deleted, a cluster's failed shards).
    #[serde(default)]
    pub partial: Option<String>,
}

/// Reads a page from its answer.
pub fn read_page(
    pattern: &str,
    time_field: &str,
    response: &Value,
    inputs: &ViewInputs,
    histogram: bool,
) -> Result<FlowPage, ResultError> {
    let hits = response["hits"]["hits"]
        .as_array()
        .ok_or_else(|| ResultError("the answer has no hits".into()))?;
    let rows = hits
        .iter()
        .map(|hit| FlowRow {
            index: hit["_index"].as_str().unwrap_or_default().to_owned(),
            id: hit["_id"].as_str().unwrap_or_default().to_owned(),
            sort: hit["sort"].as_array().cloned().unwrap_or_default(),
            source: hit["_source"].as_object().cloned().unwrap_or_default(),
        })
        .collect();
    let total = match &response["hits"]["total"] {
        Value::Number(n) => n.as_u64(),
        total => total["value"].as_u64(),
    };
    let histogram = if histogram {
        Some(chart_data(
            &histogram_visualization(pattern, time_field),
            response,
            inputs.time,
            inputs.now_ms,
            &Default::default(),
        )?)
    } else {
        None
    };
    Ok(FlowPage {
        rows,
        total: histogram.as_ref().and(total),
        histogram,
        partial: crate::inspect::partial_answer(response),
    })
}

/// Fields shown first in a flow's summary, in this order; the rest follow alphabetically.
const SUMMARY_FIRST: &[&str] = &[
    "action",
    "srcaddr",
    "srcport",
    "dstaddr",
    "dstport",
    "protocol",
    "bytes",
    "packets",
    "interface_id",
    "log_status",
];

/// A flow's fields in summary order, without the time field and the raw message: what the
/// table's "Document" column and the expanded flow show.
pub fn summary_fields<'a>(
    source: &'a Map<String, Value>,
    time_field: &str,
) -> Vec<(&'a str, &'a Value)> {
    let mut fields: Vec<(&str, &Value)> = source
        .iter()
        .filter(|(name, _)| name.as_str() != time_field && name.as_str() != "@message")
        .map(|(name, value)| (name.as_str(), value))
        .collect();
    let rank = |name: &str| {
        SUMMARY_FIRST
            .iter()
            .position(|f| *f == name)
            .unwrap_or(SUMMARY_FIRST.len())
    };
    fields.sort_by(|a, b| rank(a.0).cmp(&rank(b.0)).then(a.0.cmp(b.0)));
    fields
}

/// A time value as the table shows it: the viewer's local time, to the second.
pub fn time_text(value: Option<&Value>, utc_offset_secs: i32) -> String {
    let ms = match value {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp_millis()),
        _ => None,
    };
    match ms.and_then(chrono::DateTime::from_timestamp_millis) {
        Some(t) => {
            let offset = chrono::FixedOffset::east_opt(utc_offset_secs)
                .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("zero offset"));
            t.with_timezone(&offset)
                .format("%b %-d, %Y @ %H:%M:%S")
                .to_string()
        }
        None => value.map(cell_text).unwrap_or_default(),
    }
}

/// A field value as a table cell shows it: strings bare, arrays joined, the rest as JSON.
pub fn cell_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(cell_text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// The value of `field` as the flow views show it: a cell's text, in the field's format
/// (`36.81 GB`), with ports and protocols named (`443 (https)`).
pub fn field_text(formats: &FieldFormats, field: &str, value: &Value) -> String {
    match (value, formats.of(field)) {
        (Value::Null, _) => String::new(),
        (Value::Array(items), _) => items
            .iter()
            .map(|item| field_text(formats, field, item))
            .collect::<Vec<_>>()
            .join(", "),
        (scalar, FieldFormat::Number) => crate::model::names::display(field, scalar),
        (scalar, format) => format.text(scalar),
    }
}

/// Where a value of `field` links to, when the field is formatted as a link.
pub fn field_link(formats: &FieldFormats, field: &str, value: &Value) -> Option<String> {
    formats.of(field).link(value)
}

/// The value of `field` in a flow, following dotted names into objects.
pub fn field_value<'a>(source: &'a Map<String, Value>, field: &str) -> Option<&'a Value> {
    if let Some(value) = source.get(field) {
        return Some(value);
    }
    let (head, rest) = field.split_once('.')?;
    match source.get(head)? {
        Value::Object(inner) => field_value(inner, rest),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::filter::{Filter, QueryText};
    use crate::model::time::{Resolved, TimeRange};

    #[test]
    fn the_url_carries_pattern_columns_sort_and_the_view() {
        let state = DiscoverState {
            view: ViewState {
                time: Some(TimeRange::last("15m")),
                query: QueryText::kql("action:REJECT"),
                filters: vec![Filter::phrase("srcaddr", json!("10.0.0.5"))],
                ..ViewState::default()
            },
            index: Some("cwl-*".into()),
            columns: vec!["srcaddr".into(), "dstport".into()],
            sort: vec![SortField::desc("bytes"), SortField::asc("dstport")],
            search: Some("rejects".into()),
        };
        let url = state.to_query_string();
        assert!(
            url.starts_with("?index=cwl-%2A&search=rejects&from=now-15m"),
            "{url}"
        );
        assert_eq!(DiscoverState::from_query_string(&url), state);
        assert_eq!(
            DiscoverState::from_query_string(""),
            DiscoverState::default()
        );
        assert_eq!(DiscoverState::default().pattern(), "cwl-*");
    }

    #[test]
    fn pages_sort_uniquely_and_continue_after_the_last_row() {
        let inputs = ViewInputs {
            time: Resolved {
                from_ms: 0,
                to_ms: 3_600_000,
            },
            query: QueryText::kql("action:REJECT"),
            filters: vec![],
            time_zone: None,
            now_ms: 3_600_000,
        };
        let first = page_request(
            "cwl-*",
            "@timestamp",
            &[SortField::desc("bytes")],
            &inputs,
            &PageRequest {
                after: None,
                size: 50,
                histogram: true,
            },
        )
        .unwrap();
        assert_eq!(
            first["sort"],
            json!([
                { "bytes": { "order": "desc", "unmapped_type": "boolean" } },
                { "@timestamp": { "order": "desc", "unmapped_type": "boolean" } },
                { "_id": "asc" }
            ])
        );
        assert_eq!(first["track_total_hits"], json!(true));
        assert!(first["aggs"]["2"]["date_histogram"].is_object(), "{first}");
        let next = page_request(
            "cwl-*",
            "@timestamp",
            &[],
            &inputs,
            &PageRequest {
                after: Some(vec![json!(5), json!("id")]),
                size: 50,
                histogram: false,
            },
        )
        .unwrap();
        assert_eq!(next["search_after"], json!([5, "id"]));
        assert!(next.get("aggs").is_none());
        assert_eq!(
            next["sort"][0],
            json!({ "@timestamp": { "order": "desc", "unmapped_type": "boolean" } })
        );
    }

    #[test]
    fn a_panel_drills_down_with_its_own_query_and_filters() {
        let mut vis = Visualization::example_action_port_pie();
        vis.query = QueryText::kql("dstport:22");
        vis.filters = vec![Filter::phrase("action", json!("REJECT"))];
        let dashboard_filters = [Filter::phrase("srcaddr", json!("10.0.0.5"))];
        let state = drilldown_state(
            &vis,
            TimeRange::last("1h"),
            &QueryText::kql("protocol:6"),
            &dashboard_filters,
        )
        .unwrap();
        assert_eq!(state.view.query.text, "(protocol:6) and (dstport:22)");
        assert_eq!(state.view.filters.len(), 2);
        assert_eq!(state.index.as_deref(), Some(vis.index_pattern.as_str()));
        assert_eq!(state.view.time, Some(TimeRange::last("1h")));
        let lucene = QueryText {
            language: crate::model::filter::QueryLanguage::Lucene,
            text: "x:1".into(),
        };
        assert!(drilldown_state(&vis, TimeRange::last("1h"), &lucene, &[]).is_err());
    }

    #[test]
    fn times_read_in_the_viewer_zone() {
        let value = serde_json::json!("2020-03-06T12:00:00Z");
        assert_eq!(time_text(Some(&value), 3600), "Mar 6, 2020 @ 13:00:00");
        assert_eq!(
            time_text(Some(&serde_json::json!(0)), 0),
            "Jan 1, 1970 @ 00:00:00"
        );
    }

    #[test]
    fn summaries_lead_with_the_flow_and_cells_read_plainly() {
        let source = json!({
            "@timestamp": "2020-01-01T00:00:00Z", "@message": "2 …", "account_id": "1",
            "bytes": 840, "action": "REJECT", "dstport": 22, "srcaddr": "10.0.0.5",
            "tags": ["a", "b"], "nested": { "inner": 1 }
        });
        let source = source.as_object().unwrap();
        let names: Vec<&str> = summary_fields(source, "@timestamp")
            .iter()
            .map(|f| f.0)
            .collect();
        assert_eq!(
            names,
            [
                "action",
                "srcaddr",
                "dstport",
                "bytes",
                "account_id",
                "nested",
                "tags"
            ]
        );
        assert_eq!(cell_text(&json!(["a", 1])), "a, 1");
        assert_eq!(cell_text(&json!(null)), "");
        let formats = FieldFormats::default();
        assert_eq!(field_text(&formats, "dstport", &json!(443)), "443 (https)");
        assert_eq!(
            field_text(&formats, "protocol", &json!([6, 17])),
            "6 (tcp), 17 (udp)"
        );
        assert_eq!(
            field_text(&formats, "srcaddr", &json!("10.0.0.1")),
            "10.0.0.1"
        );
        assert_eq!(
            field_text(&formats, "bytes", &json!(36_812_345)),
            "36.81 MB"
        );
        let linked = crate::model::field_format::whois_link("srcaddr");
        assert_eq!(
            field_text(&linked, "srcaddr", &json!("10.0.0.1")),
            "10.0.0.1"
        );
        assert_eq!(
            field_link(&linked, "srcaddr", &json!("10.0.0.1")).as_deref(),
            Some("https://whois.example/10.0.0.1")
        );
        assert_eq!(field_link(&formats, "srcaddr", &json!("10.0.0.1")), None);
        assert_eq!(field_value(source, "nested.inner"), Some(&json!(1)));
    }
}
