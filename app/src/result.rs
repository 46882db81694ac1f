//! Elasticsearch response → chart data: pie rings, series over an x axis, a single metric, or
//! table rows. The one place responses are read; the chart drawers take only these types, so
//! the browser and the server draw the same thing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::model::field_format::{FieldFormat, FieldFormats, ValueFormat};
use crate::model::filter::{Filter, FilterKind};
use crate::model::measure::{Measure, ValueAxis};
use crate::model::names;
use crate::model::time::Resolved;
use crate::model::visualization::{
    source_field, BarMode, BucketAgg, ChartKind, Metric, ThresholdLine, Visualization,
};
use crate::query::{
    bucket_name, interval_ms, metric_name, ordered_buckets, pipeline_name, CURRENT, MISSING_KEY,
    SHIFTED,
};

mod sankey;

pub use sankey::{SankeyData, SankeyLink, SankeyNode, MAX_NODES_PER_LEVEL};

/// One chart's worth of data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChartData {
    /// Rings of slices.
    Pie(PieData),
    /// Series over an x axis.
    Xy(XyData),
    /// One number.
    Metric(MetricData),
    /// Rows and columns.
    Table(TableData),
    /// Columns of nodes joined by links.
    Sankey(SankeyData),
}

impl ChartData {
    /// The labels a chart colours: its series, or its slices.
    pub fn labels(&self) -> Vec<&str> {
        match self {
            // A heatmap's rows are coloured by value, not by term.
            ChartData::Xy(xy) if xy.style == XyStyle::Heatmap => Vec::new(),
            // Terms only: a metric's name is no term to keep one colour for.
            ChartData::Xy(xy) => xy
                .series
                .iter()
                .filter_map(|s| s.term.as_ref().map(|(term, _)| term.as_str()))
                .collect(),
            ChartData::Pie(pie) => pie
                .rings
                .iter()
                .flat_map(|ring| ring.slices.iter().map(|s| s.label.as_str()))
                .collect(),
            ChartData::Sankey(sankey) => sankey.nodes.iter().map(|n| n.label.as_str()).collect(),
            ChartData::Metric(_) | ChartData::Table(_) => Vec::new(),
        }
    }
}

/// Concentric rings: ring 0 is the innermost (the first split-slices bucket).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PieData {
    /// The rings, innermost first.
    pub rings: Vec<Ring>,
    /// Drawn with a hole.
    pub donut: bool,
    /// Slice labels on the pie.
    pub show_labels: bool,
    /// Slice shares as percentages.
    pub show_percent: bool,
    /// What the slices measure (`Count`).
    pub metric_label: String,
    /// How their values read (`36.8 GB`).
    #[serde(default)]
    pub value_format: ValueFormat,
}

/// One ring of a pie: one bucket level.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Ring {
    /// What the ring splits by (`dstport`).
    pub label: String,
    /// Its slices, in order round the ring.
    pub slices: Vec<Slice>,
}

/// A slice: its share of the circle `[start, end)` as fractions of a turn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Slice {
    /// The bucket's key, as shown.
    pub label: String,
    /// The metric's value.
    pub value: f64,
    /// Where it starts, as a fraction of a turn.
    pub start: f64,
    /// Where it ends, as a fraction of a turn.
    pub end: f64,
    /// The slice of the ring inside this one that holds it.
    pub parent: Option<usize>,
    /// Filters that select this slice's documents (a click adds them to the dashboard);
    /// none when no pills can (it, or a slice it is inside, is a bucket pills cannot say).
    pub filters: Vec<Filter>,
    /// The filters of its own bucket alone, without the path to it: what its term selects
    /// wherever it appears (443 under ACCEPT and under REJECT), for the legend.
    #[serde(default)]
    pub own: Vec<Filter>,
}

/// How an xy chart's x axis reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum XAxis {
    /// Epoch milliseconds, buckets `interval_ms` wide, over `[from_ms, to_ms]`.
    Time {
        /// The range's start.
        from_ms: i64,
        /// The range's end.
        to_ms: i64,
        /// The buckets' width.
        interval_ms: i64,
    },
    /// Numbers (histogram keys), buckets `interval` wide.
    Numeric {
        /// The buckets' width.
        interval: f64,
    },
    /// Named categories at x = 0, 1, 2, …
    Categories {
        /// The labels, in x order.
        labels: Vec<String>,
    },
}

/// How an xy chart draws its series.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum XyStyle {
    /// Lines.
    #[default]
    Line,
    /// Filled areas.
    Area,
    /// Vertical bars.
    Bar,
    /// Horizontal bars: buckets down the side, values along the bottom.
    HorizontalBar,
    /// A heatmap: a row per series, a cell per x bucket, coloured by the value.
    Heatmap,
}

/// Series sharing one x axis.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct XyData {
    /// What the x axis reads.
    pub x: XAxis,
    /// How the series are drawn.
    pub style: XyStyle,
    /// Stacked or side by side, for bars.
    pub bar_mode: BarMode,
    /// The series; one unnamed series when nothing splits them.
    pub series: Vec<Series>,
    /// What the left value axis measures (`Count`, `Sum of bytes`), or the user's title.
    pub metric_label: String,
    /// What the right value axis measures, when a series is read on it.
    #[serde(default)]
    pub right_label: Option<String>,
    /// Times shown in UTC rather than the viewer's zone.
    pub utc: bool,
    /// For a category axis, the filters selecting each category (`None`: no pills can).
    #[serde(default)]
    pub category_filters: Vec<Option<Vec<Filter>>>,
    /// The x axis's title: the bucket's field, with the interval of a date histogram
    /// (`@timestamp per 30 minutes`, the interval "auto" chose).
    #[serde(default)]
    pub x_title: String,
    /// A reference line across the values (not drawn on heatmaps).
    #[serde(default)]
    pub threshold: Option<ThresholdLine>,
    /// How the left axis's values read: its metrics' format where they share one.
    #[serde(default)]
    pub left_format: ValueFormat,
    /// How the right axis's values read.
    #[serde(default)]
    pub right_format: ValueFormat,
    /// How a numeric x axis (a histogram) reads: bytes for a histogram of `bytes`.
    #[serde(default)]
    pub x_format: ValueFormat,
}

/// One series: a label, its points, and the filters that select it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Its name in the legend.
    pub label: String,
    /// `(x, y)` in x order; buckets without a value are left out.
    pub points: Vec<(f64, f64)>,
    /// Filters selecting its flows (a click adds them); `None` when no pills can select
    /// them, and then a click inside it filters nothing.
    pub filters: Option<Vec<Filter>>,
    /// The value axis it is read on.
    #[serde(default)]
    pub axis: ValueAxis,
    /// For a series of a split: its term (`ACCEPT`), whose colour it takes (one per term
    /// across a dashboard), and which of several metrics it shows (0 for the first; later
    /// ones are drawn dashed). `None` for a metric's only series, which takes a colour of
    /// the chart's own.
    #[serde(default)]
    pub term: Option<(String, usize)>,
    /// How its values read in tooltips.
    #[serde(default)]
    pub format: ValueFormat,
}

impl Series {
    /// The label whose colour it is drawn in: its term's, or its own.
    pub fn color_key(&self) -> &str {
        self.term.as_ref().map_or(&self.label, |(term, _)| term)
    }

    /// Whether it is drawn dashed (hollow in the legend): a later metric of a term.
    pub fn dashed(&self) -> bool {
        self.term.as_ref().is_some_and(|(_, metric)| *metric > 0)
    }
}

/// A metric visualization's numbers, one per metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricData {
    /// The numbers, in the visualization's order.
    pub values: Vec<MetricValue>,
}

/// One number of a metric visualization.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricValue {
    /// What it measures.
    pub label: String,
    /// Its value; `None` when nothing matched and the metric has no zero (an average), or
    /// when it is text.
    pub value: Option<f64>,
    /// A top hit's text (`10.0.1.5, 10.0.1.9`), shown as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// How it reads.
    #[serde(default)]
    pub format: ValueFormat,
}

/// A data table: bucket columns, then the metric.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TableData {
    /// The column headings.
    pub columns: Vec<String>,
    /// The cells, row by row, as JSON values.
    pub rows: Vec<Vec<Value>>,
    /// Row by row, the filter that selects each bucket cell (`None` for a time bucket, which
    /// has no filter of its own): a click on a cell filters by it, and a row's flows are those
    /// of all its cells.
    #[serde(default)]
    pub cell_filters: Vec<Vec<Option<Filter>>>,
    /// How each bucket column's cells read (an address column may link out).
    #[serde(default)]
    pub key_formats: Vec<FieldFormat>,
    /// How each metric column's cells read, after the bucket columns.
    #[serde(default)]
    pub value_formats: Vec<ValueFormat>,
    /// What is known of the addresses in bucket cells, by cell (see [`ADDRESS_FACTS`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub facts: BTreeMap<String, String>,
}

impl TableData {
    /// A cell as shown: a metric in its format (`36.81 GB`), a bucket's label in its field's;
    /// `—` for no value.
    pub fn cell_text(&self, column: usize, cell: &Value) -> String {
        if cell.is_null() {
            return "—".into();
        }
        let keys = self.key_formats.len();
        match (column.checked_sub(keys), cell.as_f64()) {
            (Some(metric), Some(value)) => self
                .value_formats
                .get(metric)
                .copied()
                .unwrap_or_default()
                .exact(value),
            _ => {
                let text = match self.key_formats.get(column) {
                    Some(format) => format.text(cell),
                    None => FieldFormat::Number.text(cell),
                };
                match cell.as_str().and_then(|key| self.facts.get(key)) {
                    Some(facts) if column < keys => format!("{text} ({facts})"),
                    _ => text,
                }
            }
        }
    }

    /// The link a bucket cell makes, in a column whose field links out: made of the one raw
    /// value the cell's filter selects (`443`, not the label `443 (https)`). A cell of no
    /// single value (a range, the flows missing the field) makes none.
    pub fn cell_link(&self, column: usize, filter: Option<&Filter>) -> Option<String> {
        let format = self.key_formats.get(column)?;
        match filter {
            Some(Filter {
                kind: FilterKind::Phrase { value },
                negate: false,
                ..
            }) => format.link(value),
            _ => None,
        }
    }

    /// The filters selecting a row's flows, when each of its bucket cells has one.
    pub fn row_filters(&self, row: usize) -> Option<Vec<Filter>> {
        self.cell_filters.get(row)?.iter().cloned().collect()
    }
}

impl XyStyle {
    /// Whether it draws bars, which stack.
    pub fn is_bar(self) -> bool {
        matches!(self, XyStyle::Bar | XyStyle::HorizontalBar)
    }
}

impl XyData {
    /// The largest y of the series read on `axis`, stacked when bars stack.
    pub fn max_y_on(&self, axis: ValueAxis) -> f64 {
        let on_axis = self.series.iter().filter(|s| s.axis == axis);
        if self.style.is_bar() && self.bar_mode == BarMode::Stacked {
            let mut totals: std::collections::BTreeMap<u64, f64> =
                std::collections::BTreeMap::new();
            for series in on_axis {
                for (x, y) in &series.points {
                    *totals.entry(x.to_bits()).or_default() += y.max(0.0);
                }
            }
            totals.values().copied().fold(0.0, f64::max)
        } else {
            on_axis
                .flat_map(|s| s.points.iter().map(|p| p.1))
                .fold(0.0, f64::max)
        }
    }

    /// The largest y on the left axis.
    pub fn max_y(&self) -> f64 {
        self.max_y_on(ValueAxis::Left)
    }

    /// Whether a series is read on a right axis.
    pub fn has_right_axis(&self) -> bool {
        self.series.iter().any(|s| s.axis == ValueAxis::Right)
    }

    /// Every bucket's x, in order, once: the positions of the chart's buckets.
    pub fn x_values(&self) -> Vec<f64> {
        let mut xs: Vec<f64> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        xs
    }

    /// Whether there is no point to draw.
    pub fn is_empty(&self) -> bool {
        self.series.iter().all(|s| s.points.is_empty())
    }
}

/// A response that does not have the shape its request asked for.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("unexpected search response: {0}")]
pub struct ResultError(pub String);

/// A bucket's key as shown, and the value a filter on it matches.
fn bucket_key(agg: &BucketAgg, key_name: &str, bucket: &Value) -> (String, Value) {
    match agg {
        BucketAgg::Filters { .. } | BucketAgg::Network { .. } | BucketAgg::Direction {} => {
            (key_name.to_owned(), json!(key_name))
        }
        BucketAgg::DateHistogram { .. } => {
            let key = bucket.get("key").cloned().unwrap_or(Value::Null);
            let label = bucket
                .get("key_as_string")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| key.to_string());
            (label, key)
        }
        BucketAgg::MultiTerms { fields, .. } => {
            let key = bucket.get("key").cloned().unwrap_or(Value::Null);
            let label = multi_key_parts(fields, &key)
                .iter()
                .map(|(field, part)| names::display(field, part))
                .collect::<Vec<_>>()
                .join(" · ");
            (label, key)
        }
        _ => {
            let key = bucket.get("key").cloned().unwrap_or(Value::Null);
            let label = match (&key, agg) {
                (Value::String(s), _) if s == MISSING_KEY => "Missing".to_owned(),
                // Ports and protocols with their names: `443 (https)`, `6 (tcp)`.
                (key, BucketAgg::Terms { field, .. }) => names::display(field, key),
                (Value::String(s), _) => s.clone(),
                (other, _) => other.to_string(),
            };
            (label, key)
        }
    }
}

/// Where a bucket keyed by an address carries what is known of it (`SE · AS29518 Bredband2
/// AB`), added by the server in front of a cluster with GeoIP and ASN databases: a string,
/// or for several values, one per value (`null` where none is known).
pub const ADDRESS_FACTS: &str = "flowdash_facts";

/// A bucket's label for a chart, in its field's format where that is not a plain number (a
/// terms split on bytes reads `1.5 kB`, an address its link's label), with what is known of
/// an address beside it (`89.160.20.200 (SE · AS29518 Bredband2 AB)`). The filters come from
/// the label as [`bucket_key`] made it; tables format their cells themselves.
fn formatted_label(
    agg: &BucketAgg,
    bucket: &Value,
    key: &Value,
    label: String,
    formats: &FieldFormats,
) -> String {
    let part = |field: &str, value: &Value| match formats.of(field) {
        FieldFormat::Number => names::display(field, value),
        format => format.text(value),
    };
    let facts = bucket.get(ADDRESS_FACTS);
    let with_facts = |text: String, facts: Option<&Value>| match facts.and_then(Value::as_str) {
        Some(facts) => format!("{text} ({facts})"),
        None => text,
    };
    match agg {
        BucketAgg::Terms { field, .. } | BucketAgg::Histogram { field, .. }
            if key.as_str() != Some(MISSING_KEY) && formats.of(field) != FieldFormat::Number =>
        {
            with_facts(part(field, key), facts)
        }
        BucketAgg::MultiTerms { fields, .. } => multi_key_parts(fields, key)
            .iter()
            .enumerate()
            .map(|(index, (field, value))| {
                with_facts(part(field, value), facts.and_then(|f| f.get(index)))
            })
            .collect::<Vec<_>>()
            .join(" · "),
        _ => with_facts(label, facts),
    }
}

/// A multi terms key's values, each with its field.
fn multi_key_parts<'a>(fields: &'a [String], key: &'a Value) -> Vec<(&'a str, &'a Value)> {
    let parts = key.as_array().map(Vec::as_slice).unwrap_or_default();
    fields.iter().map(String::as_str).zip(parts).collect()
}

/// The filters that select a bucket's documents: one, or one per field of a multi terms key,
/// or the pills a network's request carried. `None` when no pills can select them (a time
/// bucket, a network nested in a foreign one): then no click inside that bucket filters,
/// since the pills of what it holds alone would select more than was clicked.
fn bucket_filters(
    agg: &BucketAgg,
    level: &Value,
    bucket: &Value,
    key: &Value,
    label: &str,
) -> Option<Vec<Filter>> {
    match agg {
        // A network or direction: the pills its request put in `meta`, which the answer echoes.
        BucketAgg::Network { .. } | BucketAgg::Direction {} => level
            .get("meta")
            .and_then(|meta| meta.get("filters"))
            .and_then(|pills| pills.get(label))
            .and_then(|pills| serde_json::from_value(pills.clone()).ok()),
        BucketAgg::MultiTerms { fields, .. } => Some(
            multi_key_parts(fields, key)
                .into_iter()
                .map(|(field, part)| Filter::phrase(field, part.clone()))
                .collect(),
        ),
        agg => bucket_filter(agg, bucket, key, label).map(|filter| vec![filter]),
    }
}

/// The filters of a path of buckets: every level's, or `None` when a level has none.
fn path_filters(path: &Option<Vec<Filter>>, more: Option<Vec<Filter>>) -> Option<Vec<Filter>> {
    let mut filters = path.clone()?;
    filters.extend(more?);
    Some(filters)
}

/// The filter that selects a bucket's documents, for a split of one field (or none).
fn bucket_filter(agg: &BucketAgg, bucket: &Value, key: &Value, label: &str) -> Option<Filter> {
    match agg {
        BucketAgg::Terms { field, .. } if key == &json!(MISSING_KEY) => Some(Filter {
            field: field.clone(),
            kind: FilterKind::Exists,
            negate: true,
            disabled: false,
            pinned: false,
        }),
        BucketAgg::Terms { field, .. } | BucketAgg::SignificantTerms { field, .. } => {
            Some(Filter::phrase(field, key.clone()))
        }
        // A CIDR block's key is the block, which a phrase filter on an address matches.
        BucketAgg::IpRange { field, .. } if label.contains('/') => {
            Some(Filter::phrase(field, json!(label)))
        }
        BucketAgg::IpPrefix { field, .. } => key
            .as_str()
            .filter(|block| block.contains('/'))
            .map(|block| Filter::phrase(field, json!(block))),
        BucketAgg::IpRange { field, .. } | BucketAgg::DateRange { field, .. } => {
            let bound = |name: &str| bucket.get(name).filter(|v| !v.is_null()).cloned();
            Some(Filter {
                field: field.clone(),
                kind: FilterKind::Range {
                    from: bound("from"),
                    to: bound("to"),
                    to_inclusive: false,
                },
                negate: false,
                disabled: false,
                pinned: false,
            })
        }
        BucketAgg::Histogram { field, interval } => key.as_f64().map(|from| Filter {
            field: field.clone(),
            kind: FilterKind::Range {
                from: Some(json!(from)),
                to: Some(json!(from + interval)),
                to_inclusive: false,
            },
            negate: false,
            disabled: false,
            pinned: false,
        }),
        BucketAgg::Range { field, .. } => {
            let (from, to) = label.split_once('-').unwrap_or(("*", "*"));
            let bound = |text: &str| text.parse::<f64>().ok().map(|v| json!(v));
            Some(Filter {
                field: field.clone(),
                kind: FilterKind::Range {
                    from: bound(from),
                    to: bound(to),
                    to_inclusive: false,
                },
                negate: false,
                disabled: false,
                pinned: false,
            })
        }
        // A network or direction is a query over address ranges, which no filter pill holds.
        BucketAgg::DateHistogram { .. }
        | BucketAgg::Filters { .. }
        | BucketAgg::MultiTerms { .. }
        | BucketAgg::Network { .. }
        | BucketAgg::Direction {} => None,
    }
}

/// The buckets of an aggregation, as `(key name, bucket)`: arrays and keyed objects alike.
fn buckets_of(agg: &Value) -> Vec<(String, &Value)> {
    match agg.get("buckets") {
        Some(Value::Array(items)) => items.iter().map(|b| (String::new(), b)).collect(),
        Some(Value::Object(named)) => named.iter().map(|(k, b)| (k.clone(), b)).collect(),
        _ => Vec::new(),
    }
}

/// The value of `metric`, named `name` in the request, in a bucket (or the whole response
/// for `metric` charts).
pub fn metric_value(name: &str, metric: &Metric, bucket: &Value) -> Option<f64> {
    match metric {
        Metric::Count => bucket.get("doc_count").and_then(Value::as_f64),
        // One asked value of a multi-value answer, keyed or listed.
        Metric::Percentile { .. } | Metric::Median { .. } | Metric::PercentileRank { .. } => bucket
            .get(name)
            .and_then(|m| m.get("values"))
            .and_then(|values| match values {
                Value::Object(o) => o.values().next().and_then(Value::as_f64),
                Value::Array(a) => a
                    .first()
                    .and_then(|v| v.get("value"))
                    .and_then(Value::as_f64),
                _ => None,
            }),
        Metric::StdDeviation { .. } => bucket
            .get(name)
            .and_then(|m| m.get("std_deviation"))
            .and_then(Value::as_f64),
        Metric::TopHit { .. } => metric_json(name, metric, bucket).and_then(|v| v.as_f64()),
        _ => bucket
            .get(name)
            .and_then(|m| m.get("value"))
            .and_then(Value::as_f64),
    }
}

/// The value of `metric` in a bucket as JSON: a number, or a top hit's text.
fn metric_json(name: &str, metric: &Metric, bucket: &Value) -> Option<Value> {
    match metric {
        Metric::TopHit { field, combine, .. } => {
            let hits = bucket.get(name)?.pointer("/hits/hits")?.as_array()?;
            let values: Vec<Value> = hits
                .iter()
                .filter_map(|hit| source_value(hit.get("_source")?, source_field(field)))
                .flat_map(|value| match value {
                    Value::Array(items) => items.clone(),
                    Value::Null => Vec::new(),
                    one => vec![one.clone()],
                })
                .collect();
            combine.apply(&values)
        }
        other => metric_value(name, other, bucket).map(|v| json!(v)),
    }
}

/// A field of a hit's `_source`: a key of its own, or a path through objects (`a.b`).
fn source_value<'a>(source: &'a Value, field: &str) -> Option<&'a Value> {
    source.get(field).or_else(|| {
        field
            .split('.')
            .try_fold(source, |value, part| value.get(part))
    })
}

/// Metric `index` of the visualization as a table cell or a metric chart shows it: a number
/// as [`measure_value`] reads it, or a top hit's text.
fn measure_cell(index: usize, measure: &Measure, bucket: &Value, span_ms: f64) -> Value {
    match &measure.metric {
        Metric::TopHit { .. } if measure.pipeline.is_none() => {
            metric_json(&metric_name(index), &measure.metric, bucket).unwrap_or(Value::Null)
        }
        _ => measure_value(index, measure, bucket, span_ms).map_or(Value::Null, |v| json!(v)),
    }
}

/// Metric `index` of the visualization, `measure`, as shown in a bucket that covers
/// `span_ms` of the time range: its pipeline's value or its own, as a rate if it is one.
fn measure_value(index: usize, measure: &Measure, bucket: &Value, span_ms: f64) -> Option<f64> {
    let name = metric_name(index);
    let value = match &measure.pipeline {
        // The first buckets of a derivative or difference have none: a gap.
        Some(_) => bucket
            .get(pipeline_name(&name))
            .and_then(|p| p.get("value"))
            .and_then(Value::as_f64),
        None => metric_value(&name, &measure.metric, bucket)
            .or_else(|| measure.zero_when_empty().then_some(0.0)),
    }?;
    Some(match measure.rate {
        Some(unit) => value * unit.ms() / span_ms.max(1.0),
        None => value,
    })
}

/// What a response is read with: the visualization, its clock and its field formats.
#[derive(Clone, Copy)]
struct Reading<'a> {
    vis: &'a Visualization,
    clock: Clock,
    formats: &'a FieldFormats,
}

/// A chart's time range, and how much of it had passed when it was drawn: a rate divides by
/// the time its flows had to happen in, not by the hours of "Today" still ahead.
#[derive(Clone, Copy, Debug)]
struct Clock {
    /// The range the request was built for: its intervals and axis follow it.
    time: Resolved,
    /// The end of what had happened: the range's end, or the moment of drawing if earlier.
    until_ms: i64,
}

impl Clock {
    fn new(time: Resolved, now_ms: i64) -> Clock {
        Clock {
            time,
            // Not `clamp`, which panics on a range that ends before it starts.
            until_ms: now_ms.max(time.from_ms).min(time.to_ms),
        }
    }

    /// How long the range had run, in milliseconds (at least 1).
    fn elapsed_ms(&self) -> f64 {
        (self.until_ms - self.time.from_ms).max(1) as f64
    }

    /// The same `ms` earlier, for a time-shifted series.
    fn shifted_back(&self, ms: i64) -> Clock {
        Clock {
            time: self.time.shifted_back(ms),
            until_ms: self.until_ms.saturating_sub(ms),
        }
    }
}

/// How much of the time range each of a level's buckets covers, in milliseconds: a time
/// bucket runs to the next one's start (months and days in a zone differ in length) and is
/// cut at the range's start and at the end of what had happened (a bucket wholly ahead keeps
/// its length); other buckets cover what their parent does.
fn bucket_spans(
    agg: &BucketAgg,
    buckets: &[(String, &Value)],
    clock: Clock,
    parent: f64,
) -> Vec<f64> {
    let BucketAgg::DateHistogram { interval, .. } = agg else {
        return vec![parent; buckets.len()];
    };
    let starts: Vec<Option<f64>> = buckets
        .iter()
        .map(|(_, b)| b.get("key").and_then(Value::as_f64))
        .collect();
    let nominal = interval_ms(interval, clock.time) as f64;
    let (from, until) = (clock.time.from_ms as f64, clock.until_ms as f64);
    (0..starts.len())
        .map(|i| {
            let Some(start) = starts[i] else {
                return parent;
            };
            let end = starts
                .get(i + 1)
                .copied()
                .flatten()
                .unwrap_or(start + nominal);
            let passed = end.min(until) - start.max(from);
            if passed > 0.0 {
                passed
            } else {
                (end - start).max(1.0)
            }
        })
        .collect()
}

/// Turns a response into chart data for `vis` (the request was built for `time`, and is
/// drawn at `now_ms`), its values and keys in its index pattern's `formats`.
pub fn chart_data(
    vis: &Visualization,
    response: &Value,
    time: Resolved,
    now_ms: i64,
    formats: &FieldFormats,
) -> Result<ChartData, ResultError> {
    let clock = Clock::new(time, now_ms);
    let read = Reading {
        vis,
        clock,
        formats,
    };
    let aggs = response.get("aggregations").cloned().unwrap_or(Value::Null);
    // A metric over everything matched: a metric chart, or a pie not split yet.
    let whole = |index: usize, measure: &Measure| {
        let mut all = match &aggs {
            Value::Object(aggs) => aggs.clone(),
            _ => serde_json::Map::new(),
        };
        // A count over everything is the number of hits.
        let total = response
            .pointer("/hits/total/value")
            .or_else(|| response.pointer("/hits/total"));
        all.insert("doc_count".into(), total.cloned().unwrap_or(Value::Null));
        measure_cell(index, measure, &Value::Object(all), clock.elapsed_ms())
    };
    match vis.kind {
        ChartKind::Metric => Ok(ChartData::Metric(MetricData {
            values: vis
                .metrics
                .iter()
                .enumerate()
                .map(|(index, measure)| {
                    let value = whole(index, measure);
                    let format = formats.of_measure(measure);
                    // A flow's value reads whole (port 44321, not 44.3k).
                    let text = match (&measure.metric, &value) {
                        (_, Value::String(text)) => Some(text.clone()),
                        (Metric::TopHit { .. }, Value::Number(n)) => {
                            n.as_f64().map(|n| format.exact(n))
                        }
                        _ => None,
                    };
                    MetricValue {
                        label: measure.label(),
                        value: value.as_f64(),
                        text,
                        format,
                    }
                })
                .collect(),
        })),
        ChartKind::Pie if vis.buckets.is_empty() => {
            let measure = vis.metrics.first().cloned().unwrap_or_default();
            let label = measure.label();
            let slices = match whole(0, &measure).as_f64() {
                Some(value) if value > 0.0 => vec![Slice {
                    label: label.clone(),
                    value,
                    start: 0.0,
                    end: 1.0,
                    parent: None,
                    filters: Vec::new(),
                    own: Vec::new(),
                }],
                _ => Vec::new(),
            };
            Ok(ChartData::Pie(PieData {
                rings: vec![Ring {
                    label: label.clone(),
                    slices,
                }],
                donut: vis.options.donut,
                show_labels: vis.options.show_labels,
                show_percent: vis.options.show_percent,
                metric_label: label,
                value_format: formats.of_measure(&measure),
            }))
        }
        ChartKind::Pie => Ok(ChartData::Pie(pie(&read, &aggs)?)),
        ChartKind::Table => Ok(ChartData::Table(table(&read, &aggs))),
        ChartKind::Sankey => {
            let measure = vis.metrics.first().cloned().unwrap_or_default();
            let whole = whole(0, &measure).as_f64();
            Ok(ChartData::Sankey(sankey::sankey(&read, &aggs, whole)))
        }
        ChartKind::Line
        | ChartKind::Area
        | ChartKind::Bar
        | ChartKind::HorizontalBar
        | ChartKind::Heatmap => match vis.time_shift_ms() {
            None => Ok(ChartData::Xy(xy(&read, &aggs)?)),
            Some(shift) => Ok(ChartData::Xy(with_time_shift(&read, &aggs, shift)?)),
        },
    }
}

/// The series of the chart's own range, then each again as it was `shift` ms before, moved
/// onto the same time axis (see `query::build_request`).
fn with_time_shift(read: &Reading<'_>, aggs: &Value, shift: i64) -> Result<XyData, ResultError> {
    let branch = |name: &str| aggs.get(name).cloned().unwrap_or(Value::Null);
    let mut chart = xy(read, &branch(CURRENT))?;
    let earlier = xy(
        &Reading {
            clock: read.clock.shifted_back(shift),
            ..*read
        },
        &branch(SHIFTED),
    )?;
    let suffix = ago(shift);
    chart
        .series
        .extend(earlier.series.into_iter().map(|series| {
            Series {
                label: format!("{} ({suffix})", series.label),
                points: series
                    .points
                    .into_iter()
                    .map(|(x, y)| (x + shift as f64, y))
                    .collect(),
                filters: series.filters,
                axis: series.axis,
                // Last week's series has its own colour, not this week's.
                term: None,
                format: series.format,
            }
        }));
    // A bar of last week stacked on this week's would add the two: bars stand side by side.
    chart.bar_mode = BarMode::Grouped;
    Ok(chart)
}

/// A pie level still to read: the container of its aggregation, the parent slice, the
/// parent's span of the turn, the parent's value, the filters of the path to it, and the
/// time the parent covers (a rate's divisor).
type Frontier = (
    Value,
    Option<usize>,
    (f64, f64),
    f64,
    Option<Vec<Filter>>,
    f64,
);

fn pie(read: &Reading<'_>, aggs: &Value) -> Result<PieData, ResultError> {
    let Reading {
        vis,
        clock,
        formats,
    } = *read;
    let levels = ordered_buckets(vis);
    let measure = vis.metrics.first().cloned().unwrap_or_default();
    let mut rings: Vec<Ring> = levels
        .iter()
        .map(|agg| Ring {
            label: agg.label(),
            slices: Vec::new(),
        })
        .collect();
    // Walk level by level.
    let mut frontier: Vec<Frontier> = vec![(
        aggs.clone(),
        None,
        (0.0, 1.0),
        f64::NAN,
        Some(Vec::new()),
        clock.elapsed_ms(),
    )];
    for (level, agg) in levels.iter().enumerate() {
        let mut next = Vec::new();
        for (container, parent, (start, end), parent_value, path, span_ms) in frontier {
            let Some(level_agg) = container.get(bucket_name(level)) else {
                continue;
            };
            let buckets = buckets_of(level_agg);
            // A ring of time buckets divides each slice's rate by its own bucket's time.
            let spans = bucket_spans(agg, &buckets, clock, span_ms);
            let mut entries: Vec<(String, Value, f64, &Value, f64)> = Vec::new();
            for ((name, bucket), bucket_span) in buckets.iter().zip(spans) {
                let (label, key) = bucket_key(agg, name, bucket);
                let value = measure_value(0, &measure, bucket, bucket_span).unwrap_or(0.0);
                entries.push((label, key, value, *bucket, bucket_span));
            }
            // "Other": the documents of the terms not shown (counts only; see query::other_request).
            let other = match (agg, &measure.metric) {
                (
                    BucketAgg::Terms {
                        other_bucket: true, ..
                    },
                    Metric::Count,
                ) => {
                    let others = json!({ "doc_count": level_agg.get("sum_other_doc_count") });
                    measure_value(0, &measure, &others, span_ms).unwrap_or(0.0)
                }
                _ => 0.0,
            };
            let shown: f64 = entries.iter().map(|e| e.2).sum();
            let whole = if parent.is_none() || parent_value.is_nan() {
                shown + other
            } else {
                parent_value.max(shown + other)
            };
            if whole <= 0.0 {
                continue;
            }
            let span = end - start;
            let mut cursor = start;
            for (label, key, value, bucket, bucket_span) in entries {
                let width = span * value / whole;
                let own = bucket_filters(agg, level_agg, bucket, &key, &label);
                let filters = path_filters(&path, own.clone());
                let index = rings[level].slices.len();
                rings[level].slices.push(Slice {
                    label: formatted_label(agg, bucket, &key, label, formats),
                    value,
                    start: cursor,
                    end: cursor + width,
                    parent,
                    filters: filters.clone().unwrap_or_default(),
                    own: own.unwrap_or_default(),
                });
                next.push((
                    bucket.clone(),
                    Some(index),
                    (cursor, cursor + width),
                    value,
                    filters,
                    bucket_span,
                ));
                cursor += width;
            }
            if other > 0.0 {
                let mut own = Vec::new();
                if let BucketAgg::Terms { field, .. } = agg {
                    let shown_keys: Vec<Value> = rings[level]
                        .slices
                        .iter()
                        .rev()
                        .take_while(|s| s.parent == parent)
                        .filter_map(|s| s.own.last())
                        .filter_map(|f| match &f.kind {
                            FilterKind::Phrase { value } => Some(value.clone()),
                            _ => None,
                        })
                        .collect();
                    own.push(Filter {
                        field: field.clone(),
                        kind: FilterKind::Phrases { values: shown_keys },
                        negate: true,
                        disabled: false,
                        pinned: false,
                    });
                }
                rings[level].slices.push(Slice {
                    label: "Other".into(),
                    value: other,
                    start: cursor,
                    end: cursor + span * other / whole,
                    parent,
                    filters: path_filters(&path, Some(own.clone())).unwrap_or_default(),
                    own,
                });
            }
        }
        frontier = next;
    }
    Ok(PieData {
        rings,
        donut: vis.options.donut,
        show_labels: vis.options.show_labels,
        show_percent: vis.options.show_percent,
        metric_label: measure.label(),
        value_format: formats.of_measure(&measure),
    })
}

fn xy(read: &Reading<'_>, aggs: &Value) -> Result<XyData, ResultError> {
    let Reading {
        vis,
        clock,
        formats,
    } = *read;
    let time = clock.time;
    let x_agg = vis
        .x_axis()
        .ok_or_else(|| ResultError("a line, area or bar chart needs an x axis".into()))?;
    let style = match vis.kind {
        ChartKind::Area => XyStyle::Area,
        ChartKind::Bar => XyStyle::Bar,
        ChartKind::HorizontalBar => XyStyle::HorizontalBar,
        ChartKind::Heatmap => XyStyle::Heatmap,
        _ => XyStyle::Line,
    };
    let several = vis.metrics.len() > 1;
    /// A series' term (none when nothing splits), its buckets, the filters selecting it,
    /// and the time it covers (a split by time covers its own bucket).
    type Split = (Option<String>, Value, Option<Vec<Filter>>, f64);
    // The split series (outer level, if any), then the x axis.
    let (series_containers, x_level): (Vec<Split>, usize) = match vis.split_series() {
        Some(split) => {
            let outer = aggs.get(bucket_name(0)).cloned().unwrap_or(Value::Null);
            let buckets = buckets_of(&outer);
            let spans = bucket_spans(split, &buckets, clock, clock.elapsed_ms());
            let series = buckets
                .into_iter()
                .zip(spans)
                .map(|((name, bucket), span_ms)| {
                    let (label, key) = bucket_key(split, &name, bucket);
                    let filters = bucket_filters(split, &outer, bucket, &key, &label);
                    let label = formatted_label(split, bucket, &key, label, formats);
                    (Some(label), bucket.clone(), filters, span_ms)
                })
                .collect();
            (series, 1)
        }
        None => (
            vec![(None, aggs.clone(), Some(Vec::new()), clock.elapsed_ms())],
            0,
        ),
    };
    // Categories by their labels as bucket_key makes them, and as the chart shows them.
    let mut categories: Vec<String> = Vec::new();
    let mut category_labels: Vec<String> = Vec::new();
    let mut category_filters: Vec<Option<Vec<Filter>>> = Vec::new();
    let mut series = Vec::new();
    // Metric by metric, a series per split term: the legend lists a metric's series together.
    for (index, measure) in vis.metrics.iter().enumerate() {
        let measure_label = measure.label();
        for (split_label, container, filters, split_span) in &series_containers {
            let Some(x) = container.get(bucket_name(x_level)) else {
                continue;
            };
            let buckets = buckets_of(x);
            let spans = bucket_spans(x_agg, &buckets, clock, *split_span);
            let mut points = Vec::new();
            for ((name, bucket), span_ms) in buckets.into_iter().zip(spans) {
                let (x_label, key) = bucket_key(x_agg, &name, bucket);
                let value = measure_value(index, measure, bucket, span_ms);
                let x_value = match x_agg {
                    BucketAgg::DateHistogram { .. } | BucketAgg::Histogram { .. } => key.as_f64(),
                    _ => Some(match categories.iter().position(|c| *c == x_label) {
                        Some(index) => index as f64,
                        None => {
                            category_filters.push(bucket_filters(x_agg, x, bucket, &key, &x_label));
                            category_labels.push(formatted_label(
                                x_agg,
                                bucket,
                                &key,
                                x_label.clone(),
                                formats,
                            ));
                            categories.push(x_label.clone());
                            (categories.len() - 1) as f64
                        }
                    }),
                };
                if let (Some(x), Some(y)) = (x_value, value) {
                    points.push((x, y));
                }
            }
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            if let (BucketAgg::DateHistogram { interval, .. }, true) =
                (x_agg, vis.options.drop_partial_buckets)
            {
                let width = interval_ms(interval, time) as f64;
                let (from, to) = (time.from_ms as f64, time.to_ms as f64);
                let whole = |start: f64| start >= from && start + width <= to;
                // A range narrower than one interval keeps its partial buckets: better than none.
                if points.iter().any(|(start, _)| whole(*start)) {
                    points.retain(|(start, _)| whole(*start));
                }
            }
            let label = match (split_label, several) {
                (Some(term), false) => term.clone(),
                (Some(term), true) => format!("{term}: {measure_label}"),
                (None, _) => measure_label.clone(),
            };
            let term = split_label.clone().map(|term| (term, index));
            series.push(Series {
                label,
                points,
                filters: filters.clone(),
                axis: measure.axis,
                term,
                format: formats.of_measure(measure),
            });
        }
    }
    let titles = &vis.options.axis_titles;
    let x_title = match x_agg {
        _ if !titles.x.trim().is_empty() => titles.x.trim().to_owned(),
        BucketAgg::DateHistogram { field, interval } => {
            format!("{field} {}", per_interval(interval_ms(interval, time)))
        }
        other => other.label(),
    };
    // An axis is titled by the user, or by the metrics read on it.
    let axis_title = |axis: ValueAxis, custom: &str| {
        let custom = custom.trim();
        if !custom.is_empty() {
            return Some(custom.to_owned());
        }
        let labels: Vec<String> = vis
            .metrics
            .iter()
            .filter(|m| m.axis == axis)
            .map(Measure::label)
            .collect();
        (!labels.is_empty()).then(|| labels.join(", "))
    };
    // An axis reads in its metrics' format where they share one.
    let axis_format = |axis: ValueAxis| {
        ValueFormat::shared(
            vis.metrics
                .iter()
                .filter(|m| m.axis == axis)
                .map(|m| formats.of_measure(m)),
        )
    };
    let x = match x_agg {
        BucketAgg::DateHistogram { interval, .. } => XAxis::Time {
            from_ms: time.from_ms,
            to_ms: time.to_ms,
            interval_ms: interval_ms(interval, time),
        },
        BucketAgg::Histogram { interval, .. } => XAxis::Numeric {
            interval: *interval,
        },
        _ => XAxis::Categories {
            labels: category_labels,
        },
    };
    Ok(XyData {
        x,
        style,
        // Bars of different metrics would add up unlike things: they stand side by side.
        bar_mode: if several {
            BarMode::Grouped
        } else {
            vis.options.bar_mode
        },
        series,
        metric_label: axis_title(ValueAxis::Left, &titles.left).unwrap_or_default(),
        right_label: vis
            .metrics
            .iter()
            .any(|m| m.axis == ValueAxis::Right)
            .then(|| axis_title(ValueAxis::Right, &titles.right).unwrap_or_default()),
        utc: vis.options.utc,
        category_filters,
        x_title,
        threshold: vis.options.threshold.clone(),
        left_format: axis_format(ValueAxis::Left),
        right_format: axis_format(ValueAxis::Right),
        x_format: ValueFormat {
            bytes: matches!(x_agg, BucketAgg::Histogram { field, .. } if formats.of(field) == FieldFormat::Bytes),
            per: None,
        },
    })
}

/// `per minute`, `per 30 minutes`, `per 3 hours`, `per day`: an interval as an axis says it.
fn per_interval(ms: i64) -> String {
    match duration_in_words(ms) {
        (1, unit) => format!("per {unit}"),
        (n, unit) => format!("per {n} {unit}s"),
    }
}

/// `1 week ago`, `30 days ago`: how a time-shifted series is labelled.
pub fn ago(ms: i64) -> String {
    match duration_in_words(ms) {
        (1, unit) => format!("1 {unit} ago"),
        (n, unit) => format!("{n} {unit}s ago"),
    }
}

/// A duration as a count of the largest unit that divides it: `(30, "minute")`.
fn duration_in_words(ms: i64) -> (i64, &'static str) {
    const UNITS: [(i64, &str); 6] = [
        (7 * 86_400_000, "week"),
        (86_400_000, "day"),
        (3_600_000, "hour"),
        (60_000, "minute"),
        (1000, "second"),
        (1, "millisecond"),
    ];
    let (size, unit) = UNITS
        .iter()
        .find(|(size, _)| ms >= *size && ms % size == 0)
        .copied()
        .unwrap_or((1, "millisecond"));
    (ms / size, unit)
}

fn table(read: &Reading<'_>, aggs: &Value) -> TableData {
    let Reading {
        vis,
        clock,
        formats,
    } = *read;
    let levels = ordered_buckets(vis);
    // A column per level, and per field of a multi terms level.
    let mut columns: Vec<String> = levels
        .iter()
        .flat_map(|agg| match agg {
            BucketAgg::MultiTerms { fields, .. } => fields.clone(),
            agg => vec![agg.label()],
        })
        .collect();
    columns.extend(vis.metrics.iter().map(Measure::label));
    let mut table = TableData {
        columns,
        // A time bucket's label is a date, whatever its field's format.
        key_formats: levels
            .iter()
            .flat_map(|agg| match agg {
                BucketAgg::DateHistogram { .. } => vec![FieldFormat::Number],
                BucketAgg::Filters { .. } | BucketAgg::Direction {} | BucketAgg::Network { .. } => {
                    vec![FieldFormat::Number]
                }
                agg => agg.fields().into_iter().map(|f| formats.of(f)).collect(),
            })
            .collect(),
        value_formats: vis.metrics.iter().map(|m| formats.of_measure(m)).collect(),
        ..TableData::default()
    };
    /// The path to the current bucket: its cells and their filters.
    #[derive(Default)]
    struct Path {
        cells: Vec<Value>,
        filters: Vec<Option<Filter>>,
    }
    struct Walk<'a> {
        vis: &'a Visualization,
        levels: Vec<&'a BucketAgg>,
        clock: Clock,
    }
    fn walk(
        how: &Walk<'_>,
        level: usize,
        container: &Value,
        span_ms: f64,
        path: &mut Path,
        table: &mut TableData,
    ) {
        if level == how.levels.len() {
            let mut row = path.cells.clone();
            row.extend(
                how.vis
                    .metrics
                    .iter()
                    .enumerate()
                    .map(|(index, measure)| measure_cell(index, measure, container, span_ms)),
            );
            table.rows.push(row);
            table.cell_filters.push(path.filters.clone());
            return;
        }
        let Some(answer) = container.get(bucket_name(level)) else {
            return;
        };
        let buckets = buckets_of(answer);
        let spans = bucket_spans(how.levels[level], &buckets, how.clock, span_ms);
        for ((name, bucket), span_ms) in buckets.into_iter().zip(spans) {
            let agg = how.levels[level];
            let (label, key) = bucket_key(agg, &name, bucket);
            // What is known of an address key, shown beside its cells.
            let facts = bucket.get(ADDRESS_FACTS);
            // A multi terms bucket fills a cell per field, each filtering by its value.
            let cells: Vec<(String, Option<Filter>)> = match agg {
                BucketAgg::MultiTerms { fields, .. } => multi_key_parts(fields, &key)
                    .into_iter()
                    .enumerate()
                    .map(|(index, (field, part))| {
                        let filter = Filter::phrase(field, part.clone());
                        let text = names::display(field, part);
                        if let Some(fact) = facts.and_then(|f| f.get(index)?.as_str()) {
                            table.facts.insert(text.clone(), fact.to_owned());
                        }
                        (text, Some(filter))
                    })
                    .collect(),
                // A cell holds one pill: a bucket selected by several (a network with ranges
                // inside it) filters from the chart, not from its cell.
                agg => {
                    let filter = bucket_filters(agg, answer, bucket, &key, &label)
                        .and_then(|mut filters| (filters.len() == 1).then(|| filters.remove(0)));
                    if let Some(fact) = facts.and_then(Value::as_str) {
                        table.facts.insert(label.clone(), fact.to_owned());
                    }
                    vec![(label.clone(), filter)]
                }
            };
            let depth = path.cells.len();
            for (cell, filter) in cells {
                path.cells.push(json!(cell));
                path.filters.push(filter);
            }
            walk(how, level + 1, bucket, span_ms, path, table);
            path.cells.truncate(depth);
            path.filters.truncate(depth);
        }
    }
    let how = Walk { vis, levels, clock };
    walk(
        &how,
        0,
        aggs,
        clock.elapsed_ms(),
        &mut Path::default(),
        &mut table,
    );
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::visualization::Visualization;

    fn pie_response() -> Value {
        json!({
            "hits": { "total": { "value": 100, "relation": "eq" } },
            "aggregations": { "2": { "doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": [
                { "key": "ACCEPT", "doc_count": 80, "3": { "sum_other_doc_count": 20, "buckets": [
                    { "key": 443, "doc_count": 50 }, { "key": 53, "doc_count": 10 } ] } },
                { "key": "REJECT", "doc_count": 20, "3": { "sum_other_doc_count": 0, "buckets": [
                    { "key": 22, "doc_count": 15 }, { "key": 3389, "doc_count": 5 } ] } }
            ] } }
        })
    }

    /// `response` read for `vis` over [`TIME`], drawn at its end, in the default formats.
    fn read(vis: &Visualization, response: &Value) -> ChartData {
        chart_data(vis, response, TIME, TIME.to_ms, &FieldFormats::default()).unwrap()
    }

    const TIME: Resolved = Resolved {
        from_ms: 0,
        to_ms: 3_600_000,
    };

    /// A split on a field with a format reads in it on charts, and still filters by value.
    #[test]
    fn chart_labels_take_their_fields_format() {
        let mut vis = Visualization::example_action_port_pie();
        vis.buckets.truncate(1);
        vis.buckets[0].agg = BucketAgg::Terms {
            field: "bytes".into(),
            size: 5,
            order: Default::default(),
            other_bucket: false,
            missing_bucket: false,
        };
        let response = json!({ "aggregations": { "2": { "buckets": [
            { "key": 1500, "doc_count": 3 }, { "key": 40, "doc_count": 1 } ] } } });
        let ChartData::Pie(pie) = read(&vis, &response) else {
            panic!("not a pie")
        };
        let slices = &pie.rings[0].slices;
        assert_eq!(slices[0].label, "1.5 kB");
        assert_eq!(slices[1].label, "40 B");
        assert_eq!(
            slices[0].filters,
            vec![Filter::phrase("bytes", json!(1500))]
        );
    }

    /// A network no pills can select makes no filter, nor do the slices inside it: their
    /// own pills alone (port 22) would select more than was clicked (a's flows to port 22).
    #[test]
    fn nothing_inside_a_bucket_without_pills_filters() {
        let mut vis = Visualization::example_action_port_pie();
        vis.buckets[0].agg = BucketAgg::Network {
            field: "srcaddr".into(),
        };
        let b = Filter::phrase("srcaddr", json!("10.1.0.0/16"));
        let port = |n: u64| json!({ "3": { "buckets": [ { "key": 22, "doc_count": n } ] }, "doc_count": n });
        let response = json!({ "aggregations": { "2": {
            "meta": { "filters": { "b": [b] } },
            "buckets": { "a": port(5), "b": port(2) } } } });
        let ChartData::Pie(pie) = read(&vis, &response) else {
            panic!("not a pie")
        };
        let filters = |ring: usize| -> Vec<(String, Vec<Filter>)> {
            let ring = &pie.rings[ring].slices;
            ring.iter()
                .map(|s| (s.label.clone(), s.filters.clone()))
                .collect()
        };
        assert_eq!(
            filters(0),
            [("a".into(), vec![]), ("b".into(), vec![b.clone()])]
        );
        let to_22 = Filter::phrase("dstport", json!(22));
        assert_eq!(
            filters(1),
            [
                ("22 (ssh)".into(), vec![]),
                ("22 (ssh)".into(), vec![b.clone(), to_22.clone()])
            ]
        );
        // The legend's port 22 still filters by the port, wherever it appears.
        assert_eq!(pie.rings[1].slices[0].own, std::slice::from_ref(&to_22));

        // A bar per port, a series per network: a's bars filter nothing either.
        vis.kind = ChartKind::Bar;
        vis.buckets[0].role = crate::model::visualization::BucketRole::SplitSeries;
        vis.buckets[1].role = crate::model::visualization::BucketRole::XAxis;
        let ChartData::Xy(xy) = read(&vis, &response) else {
            panic!("not a bar chart")
        };
        let series: Vec<_> = xy.series.iter().map(|s| s.filters.clone()).collect();
        assert_eq!(series, [None, Some(vec![b])]);
        assert_eq!(xy.category_filters, [Some(vec![to_22])]);
    }

    #[test]
    fn pie_rings_nest_inside_their_parents() {
        let mut vis = Visualization::example_action_port_pie();
        if let BucketAgg::Terms { other_bucket, .. } = &mut vis.buckets[1].agg {
            *other_bucket = true;
        }
        let ChartData::Pie(pie) = read(&vis, &pie_response()) else {
            panic!()
        };
        let inner = &pie.rings[0].slices;
        assert_eq!(
            inner
                .iter()
                .map(|s| (s.label.as_str(), s.start, s.end))
                .collect::<Vec<_>>(),
            [("ACCEPT", 0.0, 0.8), ("REJECT", 0.8, 1.0)]
        );
        let outer = &pie.rings[1].slices;
        let labels: Vec<_> = outer.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(
            labels,
            ["443 (https)", "53 (dns)", "Other", "22 (ssh)", "3389 (rdp)"]
        );
        // 443 is 50 of ACCEPT's 80, inside ACCEPT's 0.0-0.8.
        assert!((outer[0].end - 0.5).abs() < 1e-9);
        assert!(
            (outer[2].end - 0.8).abs() < 1e-9,
            "Other closes the parent: {:?}",
            outer[2]
        );
        assert_eq!(outer[3].parent, Some(1));
        assert!((outer[4].end - 1.0).abs() < 1e-9);
        assert_eq!(
            outer[0].filters,
            vec![
                Filter::phrase("action", json!("ACCEPT")),
                Filter::phrase("dstport", json!(443))
            ]
        );
        let other = &outer[2].filters[1];
        assert!(other.negate);
        assert_eq!(
            other.kind,
            FilterKind::Phrases {
                values: vec![json!(53), json!(443)]
            }
        );
    }

    #[test]
    fn a_pie_not_split_yet_is_one_whole_slice() {
        let mut vis = Visualization::example_action_port_pie();
        vis.buckets.clear();
        let response = json!({ "hits": { "total": { "value": 42, "relation": "eq" } } });
        let ChartData::Pie(pie) = read(&vis, &response) else {
            panic!("a pie")
        };
        assert_eq!(pie.rings.len(), 1);
        assert_eq!(pie.rings[0].slices.len(), 1);
        assert_eq!(pie.rings[0].slices[0].value, 42.0);
        assert_eq!(
            (pie.rings[0].slices[0].start, pie.rings[0].slices[0].end),
            (0.0, 1.0)
        );
    }

    #[test]
    fn series_per_action_over_time() {
        let response = json!({ "aggregations": { "2": { "buckets": [
            { "key": "ACCEPT", "doc_count": 7, "3": { "buckets": [
                { "key": 0, "key_as_string": "1970-01-01T00:00:00.000Z", "doc_count": 3 },
                { "key": 60000, "key_as_string": "1970-01-01T00:01:00.000Z", "doc_count": 4 } ] } },
            { "key": "REJECT", "doc_count": 1, "3": { "buckets": [
                { "key": 0, "doc_count": 0 }, { "key": 60000, "doc_count": 1 } ] } }
        ] } } });
        let ChartData::Xy(xy) = read(&Visualization::example_flows_over_time(), &response) else {
            panic!()
        };
        assert_eq!(xy.series.len(), 2);
        assert_eq!(xy.series[0].label, "ACCEPT");
        assert_eq!(xy.series[0].points, vec![(0.0, 3.0), (60_000.0, 4.0)]);
        assert_eq!(xy.series[1].points, vec![(0.0, 0.0), (60_000.0, 1.0)]);
        assert_eq!(
            xy.series[1].filters,
            Some(vec![Filter::phrase("action", json!("REJECT"))])
        );
        assert_eq!(
            xy.x,
            XAxis::Time {
                from_ms: 0,
                to_ms: 3_600_000,
                interval_ms: 60_000
            }
        );
        assert_eq!(xy.max_y(), 4.0);
        // Auto chose one minute over the hour.
        assert_eq!(xy.x_title, "@timestamp per minute");
        assert_eq!(per_interval(30 * 60_000), "per 30 minutes");
        assert_eq!(per_interval(3 * 3_600_000), "per 3 hours");
        assert_eq!(per_interval(86_400_000), "per day");
    }

    #[test]
    fn time_buckets_sticking_out_of_the_range_are_dropped() {
        // 00:00:30 to 00:03:30 in minutes: the first and last buckets hold half a minute each.
        let time = Resolved {
            from_ms: 30_000,
            to_ms: 210_000,
        };
        let response = json!({ "aggregations": { "2": { "buckets": [
            { "key": "ACCEPT", "doc_count": 12, "3": { "buckets": [
                { "key": 0, "doc_count": 1 }, { "key": 60000, "doc_count": 4 },
                { "key": 120000, "doc_count": 5 }, { "key": 180000, "doc_count": 2 } ] } }
        ] } } });
        let mut vis = Visualization::example_flows_over_time();
        if let Some(BucketAgg::DateHistogram { interval, .. }) = vis
            .buckets
            .iter_mut()
            .map(|b| &mut b.agg)
            .find(|a| matches!(a, BucketAgg::DateHistogram { .. }))
        {
            *interval = crate::model::visualization::Interval::Fixed("1m".into());
        }
        let points = |vis: &Visualization, time: Resolved| match chart_data(
            vis,
            &response,
            time,
            time.to_ms,
            &FieldFormats::default(),
        )
        .unwrap()
        {
            ChartData::Xy(xy) => xy.series[0].points.clone(),
            _ => panic!(),
        };
        assert_eq!(points(&vis, time), vec![(60_000.0, 4.0), (120_000.0, 5.0)]);
        vis.options.drop_partial_buckets = false;
        assert_eq!(points(&vis, time).len(), 4);
        // A range inside one bucket keeps what it has.
        vis.options.drop_partial_buckets = true;
        let narrow = Resolved {
            from_ms: 70_000,
            to_ms: 80_000,
        };
        assert_eq!(points(&vis, narrow).len(), 4);
    }

    #[test]
    fn rates_divide_by_the_time_that_had_passed_in_their_own_buckets() {
        use crate::model::measure::RateUnit;
        use crate::model::visualization::{BucketRole, Interval};
        const HOUR: i64 = 3_600_000;
        // "Today", drawn at 05:30: the hours ahead hold no flows and divide nothing.
        let today = Resolved {
            from_ms: 0,
            to_ms: 24 * HOUR,
        };
        let now = 5 * HOUR + HOUR / 2;
        let mut vis = Visualization::example_flows_over_time();
        vis.metrics[0].rate = Some(RateUnit::Hour);
        for bucket in &mut vis.buckets {
            if let BucketAgg::DateHistogram { interval, .. } = &mut bucket.agg {
                *interval = Interval::Fixed("1h".into());
            }
        }
        let hours: Vec<Value> = (0..6)
            .map(|h| json!({ "key": h * HOUR, "doc_count": if h == 5 { 30 } else { 60 } }))
            .collect();
        let response = json!({ "hits": { "total": { "value": 330 } }, "aggregations": { "2": {
            "buckets": [ { "key": "ACCEPT", "doc_count": 330, "3": { "buckets": hours } } ] } } });
        let ChartData::Xy(xy) =
            chart_data(&vis, &response, today, now, &FieldFormats::default()).unwrap()
        else {
            panic!()
        };
        // Half of the sixth hour had passed: its 30 flows are 60 an hour, as are the others'.
        assert!(
            xy.series[0].points.iter().all(|(_, y)| *y == 60.0),
            "{:?}",
            xy.series[0].points
        );
        // A number over the whole of "Today": 330 flows in 5.5 hours.
        vis.kind = ChartKind::Metric;
        vis.buckets.clear();
        let ChartData::Metric(metric) =
            chart_data(&vis, &response, today, now, &FieldFormats::default()).unwrap()
        else {
            panic!()
        };
        assert_eq!(metric.values[0].value, Some(60.0));

        // Series split by hour over actions: each hour's rate is over its own hour.
        let mut by_hour = Visualization::example_flows_over_time();
        by_hour.metrics[0].rate = Some(RateUnit::Hour);
        for bucket in &mut by_hour.buckets {
            bucket.role = match bucket.role {
                BucketRole::XAxis => BucketRole::SplitSeries,
                _ => BucketRole::XAxis,
            };
            if let BucketAgg::DateHistogram { interval, .. } = &mut bucket.agg {
                *interval = Interval::Fixed("1h".into());
            }
        }
        by_hour.validate().unwrap();
        let response = json!({ "aggregations": { "2": { "buckets": [
            { "key": 0, "doc_count": 40, "3": { "buckets": [
                { "key": "ACCEPT", "doc_count": 30 }, { "key": "REJECT", "doc_count": 10 } ] } },
            { "key": HOUR, "doc_count": 5, "3": { "buckets": [
                { "key": "ACCEPT", "doc_count": 5 } ] } }
        ] } } });
        let two_hours = Resolved {
            from_ms: 0,
            to_ms: 2 * HOUR,
        };
        let ChartData::Xy(xy) = chart_data(
            &by_hour,
            &response,
            two_hours,
            now,
            &FieldFormats::default(),
        )
        .unwrap() else {
            panic!()
        };
        let points: Vec<Vec<(f64, f64)>> = xy.series.iter().map(|s| s.points.clone()).collect();
        assert_eq!(points, [vec![(0.0, 30.0), (1.0, 10.0)], vec![(0.0, 5.0)]]);
    }

    #[test]
    fn metric_and_table() {
        let mut vis = Visualization::example_action_port_pie();
        vis.kind = ChartKind::Table;
        for bucket in &mut vis.buckets {
            bucket.role = crate::model::visualization::BucketRole::Rows;
        }
        let ChartData::Table(table) = read(&vis, &pie_response()) else {
            panic!()
        };
        assert_eq!(table.columns, ["action", "dstport", "Count"]);
        assert_eq!(
            table.rows[0],
            vec![json!("ACCEPT"), json!("443 (https)"), json!(50.0)]
        );
        assert_eq!(table.rows.len(), 4);
        // A row's flows: the filters of its cells.
        assert_eq!(
            table.row_filters(0).unwrap(),
            vec![
                Filter::phrase("action", json!("ACCEPT")),
                Filter::phrase("dstport", json!(443))
            ]
        );
        vis.kind = ChartKind::Metric;
        vis.buckets.clear();
        let ChartData::Metric(metric) = read(&vis, &pie_response()) else {
            panic!()
        };
        assert_eq!(metric.values[0].value, Some(100.0));
    }

    /// A multi terms split: a table column per field, each cell filtering by its own value
    /// (a row's flows by all of them); a pie slice labelled with every value, named.
    #[test]
    fn conversations_fill_a_column_per_field() {
        let mut vis = Visualization::example_action_port_pie();
        vis.kind = ChartKind::Table;
        vis.buckets = vec![crate::model::visualization::Bucket {
            role: crate::model::visualization::BucketRole::Rows,
            agg: BucketAgg::MultiTerms {
                fields: vec!["srcaddr".into(), "dstport".into()],
                size: 10,
                order: Default::default(),
            },
        }];
        let response = json!({ "hits": { "total": { "value": 9 } }, "aggregations": { "2": {
            "sum_other_doc_count": 0, "buckets": [
                { "key": ["10.0.0.1", 443], "key_as_string": "10.0.0.1|443", "doc_count": 7 },
                { "key": ["10.0.0.2", 22], "key_as_string": "10.0.0.2|22", "doc_count": 2 } ] } } });
        let ChartData::Table(table) = read(&vis, &response) else {
            panic!()
        };
        assert_eq!(table.columns, ["srcaddr", "dstport", "Count"]);
        assert_eq!(
            table.rows[0],
            vec![json!("10.0.0.1"), json!("443 (https)"), json!(7.0)]
        );
        assert_eq!(
            table.cell_filters[1],
            vec![
                Some(Filter::phrase("srcaddr", json!("10.0.0.2"))),
                Some(Filter::phrase("dstport", json!(22)))
            ]
        );
        assert_eq!(table.key_formats.len(), 2);
        vis.kind = ChartKind::Pie;
        vis.buckets[0].role = crate::model::visualization::BucketRole::SplitSlices;
        let ChartData::Pie(pie) = read(&vis, &response) else {
            panic!()
        };
        let slice = &pie.rings[0].slices[0];
        assert_eq!(slice.label, "10.0.0.1 · 443 (https)");
        assert_eq!(
            slice.filters,
            vec![
                Filter::phrase("srcaddr", json!("10.0.0.1")),
                Filter::phrase("dstport", json!(443))
            ]
        );
    }
}
