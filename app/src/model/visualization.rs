//! Visualizations: what a user builds in the editor, saves, exports as JSON and puts on
//! dashboards. A visualization plus a time range and filters becomes one Elasticsearch request
//! (see [`crate::query`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::filter::{Filter, QueryText};

/// The version of the visualization JSON this code writes; older ones are migrated on read.
pub const VISUALIZATION_VERSION: u32 = 1;

fn current_version() -> u32 {
    VISUALIZATION_VERSION
}

/// A saved chart definition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Visualization {
    #[serde(default = "current_version")]
    pub version: u32,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub kind: ChartKind,
    /// The index pattern searched (`cwl-*`).
    pub index_pattern: String,
    #[serde(default)]
    pub metric: Metric,
    /// In order: for pies, the split-slices rings (inner first); for line, area and bar
    /// charts, the x axis and an optional split series; for tables, the row splits.
    #[serde(default)]
    pub buckets: Vec<Bucket>,
    #[serde(default)]
    pub options: ChartOptions,
    /// The visualization's own query and filters, applied on top of a dashboard's.
    #[serde(default)]
    pub query: QueryText,
    #[serde(default)]
    pub filters: Vec<Filter>,
    /// The saved search it is built on, by id: that search's index pattern, query and
    /// filters apply too, so editing the search changes the chart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved_search: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    Pie,
    Line,
    Area,
    Bar,
    Metric,
    Table,
}

impl ChartKind {
    pub const ALL: [ChartKind; 6] = [
        ChartKind::Pie,
        ChartKind::Line,
        ChartKind::Area,
        ChartKind::Bar,
        ChartKind::Metric,
        ChartKind::Table,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ChartKind::Pie => "Pie",
            ChartKind::Line => "Line",
            ChartKind::Area => "Area",
            ChartKind::Bar => "Vertical bar",
            ChartKind::Metric => "Metric",
            ChartKind::Table => "Data table",
        }
    }

    pub fn is_xy(self) -> bool {
        matches!(self, ChartKind::Line | ChartKind::Area | ChartKind::Bar)
    }
}

/// What sizes slices, points and bars.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Metric {
    #[default]
    Count,
    Sum {
        field: String,
    },
    Avg {
        field: String,
    },
    Min {
        field: String,
    },
    Max {
        field: String,
    },
    UniqueCount {
        field: String,
    },
    Percentile {
        field: String,
        percent: f64,
    },
}

impl Metric {
    pub fn field(&self) -> Option<&str> {
        match self {
            Metric::Count => None,
            Metric::Sum { field }
            | Metric::Avg { field }
            | Metric::Min { field }
            | Metric::Max { field }
            | Metric::UniqueCount { field }
            | Metric::Percentile { field, .. } => Some(field),
        }
    }

    /// `Count`, `Sum of bytes`, …
    pub fn label(&self) -> String {
        match self {
            Metric::Count => "Count".into(),
            Metric::Sum { field } => format!("Sum of {field}"),
            Metric::Avg { field } => format!("Average {field}"),
            Metric::Min { field } => format!("Min {field}"),
            Metric::Max { field } => format!("Max {field}"),
            Metric::UniqueCount { field } => format!("Unique count of {field}"),
            Metric::Percentile { field, percent } => format!("{percent}th percentile of {field}"),
        }
    }

    /// Whether absent values read as 0 (counts and sums) rather than as gaps.
    pub fn zero_when_empty(&self) -> bool {
        matches!(
            self,
            Metric::Count | Metric::Sum { .. } | Metric::UniqueCount { .. }
        )
    }
}

/// One level of bucketing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bucket {
    pub role: BucketRole,
    pub agg: BucketAgg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BucketRole {
    SplitSlices,
    XAxis,
    SplitSeries,
    Rows,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum BucketAgg {
    Terms {
        field: String,
        #[serde(default = "default_size")]
        size: u32,
        #[serde(default)]
        order: TermsOrder,
        /// Show the rest as one "Other" bucket.
        #[serde(default)]
        other_bucket: bool,
        /// Show documents without the field as a "Missing" bucket.
        #[serde(default)]
        missing_bucket: bool,
    },
    DateHistogram {
        #[serde(default = "default_time_field")]
        field: String,
        #[serde(default)]
        interval: Interval,
    },
    Histogram {
        field: String,
        interval: f64,
    },
    Range {
        field: String,
        ranges: Vec<NumberRange>,
    },
    Filters {
        filters: Vec<NamedFilter>,
    },
}

fn default_size() -> u32 {
    5
}

fn default_time_field() -> String {
    "@timestamp".into()
}

impl BucketAgg {
    /// The JSON name of the aggregation type (`terms`, `date_histogram`, …).
    pub fn type_name(&self) -> &'static str {
        match self {
            BucketAgg::Terms { .. } => "terms",
            BucketAgg::DateHistogram { .. } => "date_histogram",
            BucketAgg::Histogram { .. } => "histogram",
            BucketAgg::Range { .. } => "range",
            BucketAgg::Filters { .. } => "filters",
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            BucketAgg::Terms { field, .. }
            | BucketAgg::DateHistogram { field, .. }
            | BucketAgg::Histogram { field, .. }
            | BucketAgg::Range { field, .. } => Some(field),
            BucketAgg::Filters { .. } => None,
        }
    }

    /// A short description for legends and axis titles.
    pub fn label(&self) -> String {
        match self {
            BucketAgg::Terms { field, .. } => field.clone(),
            BucketAgg::DateHistogram { field, .. } => format!("{field} per interval"),
            BucketAgg::Histogram { field, interval } => format!("{field} by {interval}"),
            BucketAgg::Range { field, .. } => format!("{field} ranges"),
            BucketAgg::Filters { .. } => "Filters".into(),
        }
    }
}

/// How terms buckets are ordered and which are kept.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TermsOrder {
    /// The largest by the visualization's metric (by document count for `Count`).
    #[default]
    MetricDesc,
    MetricAsc,
    KeyAsc,
    KeyDesc,
}

/// A date histogram interval: Kibana's "auto" (about 50 buckets for the range), a fixed one
/// (`30s`, `5m`, `1h`) or a calendar one (`1d`, `1w`, `1M`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    #[default]
    Auto,
    Fixed(String),
    Calendar(String),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumberRange {
    #[serde(default)]
    pub from: Option<f64>,
    #[serde(default)]
    pub to: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedFilter {
    pub label: String,
    pub query: QueryText,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegendPosition {
    #[default]
    Right,
    Bottom,
    Hidden,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BarMode {
    #[default]
    Stacked,
    Grouped,
}

/// Presentation options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChartOptions {
    pub donut: bool,
    pub show_labels: bool,
    pub show_percent: bool,
    pub legend: LegendPosition,
    pub bar_mode: BarMode,
    /// Fixed colours by term (`"REJECT": "#e7664c"`).
    pub colors: BTreeMap<String, String>,
    /// Times on the axis in UTC rather than the viewer's time zone.
    pub utc: bool,
    /// Leaves out the time buckets that stick out of the time range at either end: they hold
    /// only part of their interval's flows, and would be drawn as drops (Kibana's "Drop
    /// partial buckets"; on by default here).
    pub drop_partial_buckets: bool,
}

impl Default for ChartOptions {
    fn default() -> Self {
        ChartOptions {
            donut: true,
            show_labels: true,
            show_percent: true,
            legend: LegendPosition::Right,
            bar_mode: BarMode::Stacked,
            colors: BTreeMap::new(),
            utc: false,
            drop_partial_buckets: true,
        }
    }
}

/// A visualization that cannot be used, naming the field at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ModelError {
    /// Where in the JSON: `buckets[1].agg.field`.
    pub path: String,
    pub reason: String,
}

impl ModelError {
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> ModelError {
        ModelError {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

impl Visualization {
    /// Reads visualization JSON; a bad value is reported with its path.
    pub fn from_json(json: &str) -> Result<Visualization, ModelError> {
        let vis: Visualization = super::from_json_with_path(json)?;
        vis.validate()?;
        Ok(vis)
    }

    /// The same from a JSON value.
    pub fn from_value(value: serde_json::Value) -> Result<Visualization, ModelError> {
        Visualization::from_json(&value.to_string())
    }

    /// Checks what the types cannot: required fields, bucket roles that fit the chart kind.
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.version > VISUALIZATION_VERSION {
            return Err(ModelError::new(
                "version",
                format!(
                    "version {} is newer than this flowdash understands ({VISUALIZATION_VERSION})",
                    self.version
                ),
            ));
        }
        if self.title.trim().is_empty() {
            return Err(ModelError::new("title", "must not be empty"));
        }
        if self.index_pattern.trim().is_empty() {
            return Err(ModelError::new("index_pattern", "must not be empty"));
        }
        if let Some(field) = self.metric.field() {
            if field.trim().is_empty() {
                return Err(ModelError::new("metric.field", "must name a field"));
            }
        }
        if let Metric::Percentile { percent, .. } = self.metric {
            if !(0.0..=100.0).contains(&percent) {
                return Err(ModelError::new(
                    "metric.percent",
                    "must be between 0 and 100",
                ));
            }
        }
        let allowed: &[BucketRole] = match self.kind {
            ChartKind::Pie => &[BucketRole::SplitSlices],
            ChartKind::Line | ChartKind::Area | ChartKind::Bar => {
                &[BucketRole::XAxis, BucketRole::SplitSeries]
            }
            ChartKind::Metric => &[],
            ChartKind::Table => &[BucketRole::Rows],
        };
        for (index, bucket) in self.buckets.iter().enumerate() {
            let path = |field: &str| format!("buckets[{index}].{field}");
            let agg_path =
                |field: &str| format!("buckets[{index}].agg.{}.{field}", bucket.agg.type_name());
            if !allowed.contains(&bucket.role) {
                return Err(ModelError::new(
                    path("role"),
                    format!(
                        "a {} chart does not take {:?} buckets",
                        self.kind.label(),
                        bucket.role
                    ),
                ));
            }
            if let Some(field) = bucket.agg.field() {
                if field.trim().is_empty() {
                    return Err(ModelError::new(agg_path("field"), "must name a field"));
                }
            }
            match &bucket.agg {
                BucketAgg::Terms { size, .. } if *size == 0 || *size > 500 => {
                    return Err(ModelError::new(
                        agg_path("size"),
                        "must be between 1 and 500",
                    ));
                }
                BucketAgg::Histogram { interval, .. } if *interval <= 0.0 => {
                    return Err(ModelError::new(agg_path("interval"), "must be positive"));
                }
                BucketAgg::Range { ranges, .. } if ranges.is_empty() => {
                    return Err(ModelError::new(
                        agg_path("ranges"),
                        "needs at least one range",
                    ));
                }
                BucketAgg::Filters { filters } if filters.is_empty() => {
                    return Err(ModelError::new(
                        agg_path("filters"),
                        "needs at least one filter",
                    ));
                }
                BucketAgg::DateHistogram {
                    interval: Interval::Fixed(text) | Interval::Calendar(text),
                    ..
                } if super::time::parse_duration_ms(text).is_none() => {
                    return Err(ModelError::new(
                        agg_path("interval"),
                        format!("`{text}` is not an interval such as 30s, 5m, 1h or 1d"),
                    ));
                }
                _ => {}
            }
        }
        if self.kind.is_xy() {
            let x_axes = self
                .buckets
                .iter()
                .filter(|b| b.role == BucketRole::XAxis)
                .count();
            let splits = self
                .buckets
                .iter()
                .filter(|b| b.role == BucketRole::SplitSeries)
                .count();
            if x_axes > 1 || splits > 1 {
                return Err(ModelError::new(
                    "buckets",
                    "line, area and bar charts take one x axis and at most one split series",
                ));
            }
        }
        if self.kind == ChartKind::Pie && self.buckets.len() > 4 {
            return Err(ModelError::new("buckets", "a pie takes at most 4 rings"));
        }
        Ok(())
    }

    /// The x-axis bucket of an xy chart.
    pub fn x_axis(&self) -> Option<&BucketAgg> {
        self.buckets
            .iter()
            .find(|b| b.role == BucketRole::XAxis)
            .map(|b| &b.agg)
    }

    /// The split-series bucket of an xy chart.
    pub fn split_series(&self) -> Option<&BucketAgg> {
        self.buckets
            .iter()
            .find(|b| b.role == BucketRole::SplitSeries)
            .map(|b| &b.agg)
    }

    /// The seed's pie: ACCEPT / REJECT, then destination ports as an outer ring.
    pub fn example_action_port_pie() -> Visualization {
        Visualization {
            version: VISUALIZATION_VERSION,
            title: "Action and destination port".into(),
            description: "Accepted and rejected flows, and the destination ports inside each."
                .into(),
            kind: ChartKind::Pie,
            index_pattern: "cwl-*".into(),
            metric: Metric::Count,
            buckets: vec![
                terms_bucket(BucketRole::SplitSlices, "action", 5),
                terms_bucket(BucketRole::SplitSlices, "dstport", 5),
            ],
            options: ChartOptions::default(),
            query: QueryText::default(),
            filters: Vec::new(),
            saved_search: None,
        }
    }

    /// The seed's line: accepted and rejected flows per interval.
    pub fn example_flows_over_time() -> Visualization {
        Visualization {
            version: VISUALIZATION_VERSION,
            title: "Flows over time by action".into(),
            description: String::new(),
            kind: ChartKind::Line,
            index_pattern: "cwl-*".into(),
            metric: Metric::Count,
            buckets: vec![
                Bucket {
                    role: BucketRole::XAxis,
                    agg: BucketAgg::DateHistogram {
                        field: "@timestamp".into(),
                        interval: Interval::Auto,
                    },
                },
                terms_bucket(BucketRole::SplitSeries, "action", 3),
            ],
            options: ChartOptions::default(),
            query: QueryText::default(),
            filters: Vec::new(),
            saved_search: None,
        }
    }
}

/// A terms bucket with the usual defaults.
pub fn terms_bucket(role: BucketRole, field: &str, size: u32) -> Bucket {
    Bucket {
        role,
        agg: BucketAgg::Terms {
            field: field.into(),
            size,
            order: TermsOrder::MetricDesc,
            other_bucket: false,
            missing_bucket: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trips() {
        let vis = Visualization::example_action_port_pie();
        let json = serde_json::to_string_pretty(&vis).unwrap();
        assert_eq!(Visualization::from_json(&json).unwrap(), vis);
    }

    #[test]
    fn bad_json_names_the_field() {
        let mut value = serde_json::to_value(Visualization::example_action_port_pie()).unwrap();
        value["buckets"][1]["agg"]["terms"]["size"] = serde_json::json!("five");
        let error = Visualization::from_value(value).unwrap_err();
        assert_eq!(error.path, "buckets[1].agg.terms.size");
        assert!(error.reason.contains("invalid type"), "{error}");

        let mut value = serde_json::to_value(Visualization::example_action_port_pie()).unwrap();
        value["buckets"][0]["agg"]["terms"]["feild"] = serde_json::json!("x");
        let error = Visualization::from_value(value).unwrap_err();
        assert!(error.to_string().contains("feild"), "{error}");

        let mut value = serde_json::to_value(Visualization::example_flows_over_time()).unwrap();
        value["buckets"][0]["role"] = serde_json::json!("split_slices");
        let error = Visualization::from_value(value).unwrap_err();
        assert_eq!(error.path, "buckets[0].role");

        let mut value = serde_json::to_value(Visualization::example_flows_over_time()).unwrap();
        value["kind"] = serde_json::json!("radar");
        assert_eq!(Visualization::from_value(value).unwrap_err().path, "kind");

        let mut value = serde_json::to_value(Visualization::example_flows_over_time()).unwrap();
        value["buckets"][0]["agg"]["date_histogram"]["interval"] =
            serde_json::json!({ "fixed": "5 minutes" });
        assert_eq!(
            Visualization::from_value(value).unwrap_err().path,
            "buckets[0].agg.date_histogram.interval"
        );
    }
}
