//! Visualizations: what a user builds in the editor, saves, exports as JSON and puts on
//! dashboards. A visualization plus a time range and filters becomes one Elasticsearch request
//! (see [`crate::query`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::filter::{Filter, QueryText};
use super::measure::{AxisTitles, Measure, ValueAxis, MAX_LABEL_CHARS, MAX_METRICS};

/// The version of the visualization JSON this code writes; older ones are migrated on read.
pub const VISUALIZATION_VERSION: u32 = 2;

fn current_version() -> u32 {
    VISUALIZATION_VERSION
}

/// A saved chart definition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Visualization {
    /// The format's version.
    #[serde(default = "current_version")]
    pub version: u32,
    /// Its name.
    pub title: String,
    /// Free text under the title.
    #[serde(default)]
    pub description: String,
    /// The chart type.
    pub kind: ChartKind,
    /// The index pattern searched (`cwl-*`).
    pub index_pattern: String,
    /// What sizes slices, points and bars: one metric, or several for line, area and bar
    /// charts (a series each), tables (a column each) and metric charts (a number each).
    pub metrics: Vec<Measure>,
    /// In order: for pies, the split-slices rings (inner first); for line, area and bar
    /// charts, the x axis and an optional split series; for tables, the row splits.
    #[serde(default)]
    pub buckets: Vec<Bucket>,
    /// Presentation: donut, labels, legend, bar mode, colours.
    #[serde(default)]
    pub options: ChartOptions,
    /// The visualization's own query and filters, applied on top of a dashboard's.
    #[serde(default)]
    pub query: QueryText,
    /// The visualization's own filters, applied on top of a dashboard's.
    #[serde(default)]
    pub filters: Vec<Filter>,
    /// The saved search it is built on, by id: that search's index pattern, query and
    /// filters apply too, so editing the search changes the chart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved_search: Option<String>,
}

/// The chart types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    /// Nested rings of slices.
    Pie,
    /// Lines over an x axis.
    Line,
    /// Filled areas over an x axis.
    Area,
    /// Vertical bars over an x axis.
    Bar,
    /// Bars across, buckets down the side: room for long labels such as addresses.
    HorizontalBar,
    /// A grid of cells, x buckets across and y buckets (the split) down, each coloured by
    /// its metric: ports by hour, sources by destinations.
    Heatmap,
    /// One big number.
    Metric,
    /// Rows of buckets with their metric.
    Table,
    /// Columns of nodes, one per bucket level, joined by links as wide as the flows between
    /// them: source network → destination network → service.
    Sankey,
}

impl ChartKind {
    /// Every type, in the order the editor offers them.
    pub const ALL: [ChartKind; 9] = [
        ChartKind::Pie,
        ChartKind::Line,
        ChartKind::Area,
        ChartKind::Bar,
        ChartKind::HorizontalBar,
        ChartKind::Heatmap,
        ChartKind::Metric,
        ChartKind::Table,
        ChartKind::Sankey,
    ];

    /// The type's name, as the editor shows it.
    pub fn label(self) -> &'static str {
        match self {
            ChartKind::Pie => "Pie",
            ChartKind::Line => "Line",
            ChartKind::Area => "Area",
            ChartKind::Bar => "Vertical bar",
            ChartKind::HorizontalBar => "Horizontal bar",
            ChartKind::Heatmap => "Heatmap",
            ChartKind::Metric => "Metric",
            ChartKind::Table => "Data table",
            ChartKind::Sankey => "Sankey",
        }
    }

    /// Whether it has an x axis (line, area, bars or a heatmap; a horizontal bar chart's runs
    /// down the side). Such charts take an x-axis bucket and at most one split: a heatmap's
    /// split is its y axis.
    pub fn is_xy(self) -> bool {
        matches!(
            self,
            ChartKind::Line
                | ChartKind::Area
                | ChartKind::Bar
                | ChartKind::HorizontalBar
                | ChartKind::Heatmap
        )
    }
}

/// What sizes slices, points and bars.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Metric {
    /// Number of flows.
    #[default]
    Count,
    /// Sum of a numeric field.
    Sum {
        /// The numeric field.
        field: String,
    },
    /// Average of a numeric field.
    Avg {
        /// The numeric field.
        field: String,
    },
    /// Smallest value of a field.
    Min {
        /// The numeric or date field.
        field: String,
    },
    /// Largest value of a field.
    Max {
        /// The numeric or date field.
        field: String,
    },
    /// Distinct values of a field (Elasticsearch's `cardinality`).
    UniqueCount {
        /// The field counted.
        field: String,
    },
    /// A percentile of a numeric field.
    Percentile {
        /// The numeric field.
        field: String,
        /// Which percentile, 0–100.
        percent: f64,
    },
    /// The middle value of a numeric field (the 50th percentile, as Kibana's "Median").
    Median {
        /// The numeric field.
        field: String,
    },
    /// The standard deviation of a numeric field (Kibana's "Std Deviation").
    StdDeviation {
        /// The numeric field.
        field: String,
    },
    /// The share of flows, in percent, whose field is at most a value (Kibana's "Percentile
    /// Ranks"): how many flows carry 1,500 bytes or less.
    PercentileRank {
        /// The numeric field.
        field: String,
        /// The value whose rank is shown.
        value: f64,
    },
    /// A field's value in the first flows by a sort (Kibana's "Top Hit"): the latest source
    /// address, the bytes of the newest flow. The values of several flows are combined.
    TopHit {
        /// The field shown.
        field: String,
        /// How many flows, 1–100.
        size: u32,
        /// The field the flows are sorted by (the time field, for the latest).
        sort_field: String,
        /// Largest (latest) first.
        descending: bool,
        /// How the flows' values make one.
        combine: TopHitCombine,
    },
    /// A statistic of a metric over the buckets of an inner split (Kibana's sibling pipeline
    /// metrics: average, sum, min and max bucket): the busiest hour's bytes, the average
    /// flows per destination port.
    OverBuckets {
        /// Which statistic.
        stat: BucketStat,
        /// The inner split. Its empty time buckets count, as zero flows or bytes.
        per: Box<BucketAgg>,
        /// The metric in each of its buckets; not itself a statistic over buckets.
        of: Box<Metric>,
    },
}

/// What a per-bucket statistic takes of the buckets' values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BucketStat {
    /// Their mean (`avg_bucket`).
    Avg,
    /// Their total (`sum_bucket`).
    Sum,
    /// The smallest (`min_bucket`).
    Min,
    /// The largest (`max_bucket`).
    Max,
}

impl BucketStat {
    /// Every statistic, as the editor lists them.
    pub const ALL: [BucketStat; 4] = [
        BucketStat::Avg,
        BucketStat::Sum,
        BucketStat::Min,
        BucketStat::Max,
    ];

    /// Its Elasticsearch sibling pipeline aggregation.
    pub fn agg_type(self) -> &'static str {
        match self {
            BucketStat::Avg => "avg_bucket",
            BucketStat::Sum => "sum_bucket",
            BucketStat::Min => "min_bucket",
            BucketStat::Max => "max_bucket",
        }
    }

    /// The statistic for an Elasticsearch (or Kibana) aggregation type.
    pub fn from_agg_type(agg_type: &str) -> Option<BucketStat> {
        BucketStat::ALL
            .into_iter()
            .find(|s| s.agg_type() == agg_type)
    }

    /// As labels and the editor name it.
    pub fn label(self) -> &'static str {
        match self {
            BucketStat::Avg => "Average",
            BucketStat::Sum => "Sum",
            BucketStat::Min => "Min",
            BucketStat::Max => "Max",
        }
    }
}

/// How a top hit's values make one (Kibana's "Aggregate with").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TopHitCombine {
    /// Listed, comma-separated: a number only when there is one (any field).
    #[default]
    Concat,
    /// Their total (numbers).
    Sum,
    /// Their mean (numbers).
    Avg,
    /// The smallest (numbers).
    Min,
    /// The largest (numbers).
    Max,
}

impl TopHitCombine {
    /// Every way, as the editor lists them.
    pub const ALL: [TopHitCombine; 5] = [
        TopHitCombine::Concat,
        TopHitCombine::Sum,
        TopHitCombine::Avg,
        TopHitCombine::Min,
        TopHitCombine::Max,
    ];

    /// Kibana's name for it, which the editor and imports use.
    pub fn kibana_name(self) -> &'static str {
        match self {
            TopHitCombine::Concat => "concat",
            TopHitCombine::Sum => "sum",
            TopHitCombine::Avg => "average",
            TopHitCombine::Min => "min",
            TopHitCombine::Max => "max",
        }
    }

    /// The way Kibana names `name`.
    pub fn from_kibana_name(name: &str) -> Option<TopHitCombine> {
        TopHitCombine::ALL
            .into_iter()
            .find(|c| c.kibana_name() == name)
    }

    /// As the editor names it.
    pub fn label(self) -> &'static str {
        match self {
            TopHitCombine::Concat => "Concatenate",
            TopHitCombine::Sum => "Sum",
            TopHitCombine::Avg => "Average",
            TopHitCombine::Min => "Min",
            TopHitCombine::Max => "Max",
        }
    }

    /// Combines the flows' values, in their order: `None` when there are none (or, to add
    /// them up, no numbers among them).
    pub fn apply(self, values: &[serde_json::Value]) -> Option<serde_json::Value> {
        use serde_json::Value;
        // A number indexed as text (`"1500"`) still adds up.
        let numbers = || {
            values
                .iter()
                .filter_map(|v| v.as_f64().or_else(|| v.as_str()?.trim().parse().ok()))
                .filter(|n: &f64| n.is_finite())
        };
        let number = |n: Option<f64>| n.and_then(serde_json::Number::from_f64).map(Value::Number);
        match self {
            TopHitCombine::Concat => match values {
                [] => None,
                [one] => Some(one.clone()),
                many => Some(Value::String(
                    many.iter()
                        .map(|v| match v {
                            Value::String(text) => text.clone(),
                            other => other.to_string(),
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                )),
            },
            TopHitCombine::Sum => number(numbers().reduce(|a, b| a + b)),
            TopHitCombine::Avg => {
                let (sum, n) = numbers().fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
                number((n > 0).then(|| sum / n as f64))
            }
            TopHitCombine::Min => number(numbers().reduce(f64::min)),
            TopHitCombine::Max => number(numbers().reduce(f64::max)),
        }
    }
}

/// The most flows a top hit combines.
pub const MAX_TOP_HITS: u32 = 100;

/// Where a hit's `_source` holds `field`: a `.keyword` sub-field is its parent's value.
pub fn source_field(field: &str) -> &str {
    field.strip_suffix(".keyword").unwrap_or(field)
}

impl Metric {
    /// The field the metric reads, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            Metric::Count => None,
            Metric::Sum { field }
            | Metric::Avg { field }
            | Metric::Min { field }
            | Metric::Max { field }
            | Metric::UniqueCount { field }
            | Metric::Percentile { field, .. }
            | Metric::Median { field }
            | Metric::StdDeviation { field }
            | Metric::PercentileRank { field, .. }
            | Metric::TopHit { field, .. } => Some(field),
            Metric::OverBuckets { of, .. } => of.field(),
        }
    }

    /// Makes a top hit drawable on a chart of `kind`, where it is text that only a data table
    /// or a metric chart shows: one flow's bytes rather than its address, the largest of
    /// several flows' values rather than their list.
    pub fn fit_to_chart(&mut self, kind: ChartKind) {
        if matches!(kind, ChartKind::Table | ChartKind::Metric) || !self.may_be_text() {
            return;
        }
        if let Metric::TopHit {
            field,
            size,
            combine,
            ..
        } = self
        {
            if crate::model::flow::document_field_type(source_field(field))
                .is_some_and(|t| !t.is_number())
            {
                *field = "bytes".into();
            }
            if *size > 1 {
                *combine = TopHitCombine::Max;
            }
        }
    }

    /// Whether its value may be text, which only a data table or a metric chart shows: a top
    /// hit listing several flows' values, or one of a field that holds no numbers.
    pub fn may_be_text(&self) -> bool {
        match self {
            Metric::TopHit {
                field,
                size,
                combine: TopHitCombine::Concat,
                ..
            } => {
                *size > 1
                    || crate::model::flow::document_field_type(source_field(field))
                        .is_some_and(|kind| !kind.is_number())
            }
            _ => false,
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
            Metric::Median { field } => format!("Median {field}"),
            Metric::StdDeviation { field } => format!("Standard deviation of {field}"),
            Metric::PercentileRank { field, value } => {
                format!("Percentile rank {value} of {field}")
            }
            // As Kibana names it: `Last bytes`, `First 3 srcaddr`.
            Metric::TopHit {
                field,
                size,
                descending,
                ..
            } => {
                let which = if *descending { "Last" } else { "First" };
                match size {
                    1 => format!("{which} {field}"),
                    n => format!("{which} {n} {field}"),
                }
            }
            Metric::OverBuckets { stat, per, of } => {
                format!(
                    "{} of {} per {}",
                    stat.label(),
                    of.label(),
                    per.unit_label()
                )
            }
        }
    }

    /// Whether absent values read as 0 (counts and sums) rather than as gaps.
    pub fn zero_when_empty(&self) -> bool {
        match self {
            Metric::Count | Metric::Sum { .. } | Metric::UniqueCount { .. } => true,
            Metric::OverBuckets { stat, of, .. } => {
                *stat == BucketStat::Sum && of.zero_when_empty()
            }
            _ => false,
        }
    }
}

/// One level of bucketing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bucket {
    /// What the level does in the chart.
    pub role: BucketRole,
    /// How it splits the flows.
    pub agg: BucketAgg,
}

/// What a bucket level does in a chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BucketRole {
    /// A ring of a pie.
    SplitSlices,
    /// The x axis of a line, area or bar chart.
    XAxis,
    /// One series per bucket.
    SplitSeries,
    /// Rows of a data table.
    Rows,
    /// A column of a Sankey diagram's nodes.
    Nodes,
}

/// How a bucket level splits flows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum BucketAgg {
    /// The top values of a field.
    Terms {
        /// The field.
        field: String,
        /// How many values.
        #[serde(default = "default_size")]
        size: u32,
        /// Which values count as top, and their order.
        #[serde(default)]
        order: TermsOrder,
        /// Show the rest as one "Other" bucket.
        #[serde(default)]
        other_bucket: bool,
        /// Show documents without the field as a "Missing" bucket.
        #[serde(default)]
        missing_bucket: bool,
    },
    /// The top combinations of several fields' values (Kibana Lens's multi-field "Top
    /// values"): conversations as source, destination, port and protocol together.
    MultiTerms {
        /// The fields, 2 to 4.
        fields: Vec<String>,
        /// How many combinations.
        #[serde(default = "default_size")]
        size: u32,
        /// Which combinations count as top, and their order.
        #[serde(default)]
        order: TermsOrder,
    },
    /// Time buckets of a fixed or calendar interval.
    DateHistogram {
        /// The date field (the index pattern's time field by default).
        #[serde(default = "default_time_field")]
        field: String,
        /// The bucket width.
        #[serde(default)]
        interval: Interval,
    },
    /// Numeric buckets of a fixed width.
    Histogram {
        /// The numeric field.
        field: String,
        /// The bucket width.
        interval: f64,
    },
    /// Numeric ranges of the user's choosing.
    Range {
        /// The numeric field.
        field: String,
        /// The ranges, each a bucket.
        ranges: Vec<NumberRange>,
    },
    /// One bucket per query.
    Filters {
        /// The queries and their labels.
        filters: Vec<NamedFilter>,
    },
    /// The values of a field found unusually often in the flows shown, against all flows
    /// (Kibana's "Significant terms"): the ports that stand out among rejected flows.
    SignificantTerms {
        /// The field.
        field: String,
        /// How many values.
        #[serde(default = "default_size")]
        size: u32,
    },
    /// By the named network (Management → Networks) holding an address, the most specific
    /// first; addresses no range holds are "Unnamed".
    Network {
        /// The address field (`srcaddr` for source networks).
        field: String,
    },
    /// By traffic direction: inbound, outbound, internal or external, from the private
    /// ranges and the named networks.
    Direction {},
    /// Address ranges of the user's choosing: CIDR blocks or from–to pairs.
    IpRange {
        /// The address field.
        field: String,
        /// The ranges, each a bucket.
        ranges: Vec<IpRangeSpec>,
    },
    /// The networks of one prefix length holding an address (`10.0.1.0/24`), the largest by
    /// the metric first: top talking subnets. Elasticsearch 8.1 or later, or the embedded
    /// engine.
    IpPrefix {
        /// The address field.
        field: String,
        /// The networks' prefix length: up to 32, or 128 for `ipv6`.
        prefix_length: u8,
        /// IPv6 networks of the flows with IPv6 addresses, rather than IPv4 networks of the
        /// flows with IPv4 ones (the search keeps to that family: a mask of the other would
        /// make networks no address is in).
        #[serde(default)]
        ipv6: bool,
        /// How many networks.
        #[serde(default = "default_size")]
        size: u32,
    },
    /// Time ranges of the user's choosing, in date math (`now-1d/d`).
    DateRange {
        /// The date field.
        #[serde(default = "default_time_field")]
        field: String,
        /// The ranges, each a bucket.
        ranges: Vec<DateRangeSpec>,
    },
}

/// One bucket of an address range aggregation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum IpRangeSpec {
    /// A CIDR block: `10.0.0.0/8`.
    Mask(String),
    /// From an address (inclusive) to another (exclusive); `None` is unbounded.
    FromTo {
        /// The first address.
        #[serde(default)]
        from: Option<String>,
        /// The address after the last.
        #[serde(default)]
        to: Option<String>,
    },
}

impl IpRangeSpec {
    /// How the editor writes it: `10.0.0.0/8`, `10.0.0.1-10.0.0.9`, `-10.0.0.9`.
    pub fn text(&self) -> String {
        match self {
            IpRangeSpec::Mask(mask) => mask.clone(),
            IpRangeSpec::FromTo { from, to } => format!(
                "{}-{}",
                from.as_deref().unwrap_or_default(),
                to.as_deref().unwrap_or_default()
            ),
        }
    }

    /// Reads what [`IpRangeSpec::text`] writes; `None` for what is no address range.
    pub fn parse(text: &str) -> Option<IpRangeSpec> {
        let text = text.trim();
        let address = |s: &str| s.parse::<std::net::IpAddr>().is_ok();
        if let Some((ip, prefix)) = text.split_once('/') {
            return (address(ip) && prefix.parse::<u8>().is_ok())
                .then(|| IpRangeSpec::Mask(text.to_owned()));
        }
        let (from, to) = text.split_once('-')?;
        let bound = |s: &str| {
            let s = s.trim();
            match s {
                "" | "*" => Some(None),
                s if address(s) => Some(Some(s.to_owned())),
                _ => None,
            }
        };
        Some(IpRangeSpec::FromTo {
            from: bound(from)?,
            to: bound(to)?,
        })
    }
}

/// One bucket of a date range aggregation: date math or dates, `None` unbounded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateRangeSpec {
    /// The start, inclusive.
    #[serde(default)]
    pub from: Option<String>,
    /// The end, exclusive.
    #[serde(default)]
    pub to: Option<String>,
}

impl DateRangeSpec {
    /// How the editor writes it: `now-7d/d..now/d`, `..now-7d/d`.
    pub fn text(&self) -> String {
        format!(
            "{}..{}",
            self.from.as_deref().unwrap_or_default(),
            self.to.as_deref().unwrap_or_default()
        )
    }

    /// Reads what [`DateRangeSpec::text`] writes.
    pub fn parse(text: &str) -> Option<DateRangeSpec> {
        let (from, to) = text.trim().split_once("..")?;
        let bound = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        Some(DateRangeSpec {
            from: bound(from),
            to: bound(to),
        })
    }
}

/// The most fields a multi terms split combines.
pub const MAX_MULTI_TERMS: usize = 4;

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
            BucketAgg::MultiTerms { .. } => "multi_terms",
            BucketAgg::Network { .. } => "network",
            BucketAgg::Direction {} => "direction",
            BucketAgg::DateHistogram { .. } => "date_histogram",
            BucketAgg::Histogram { .. } => "histogram",
            BucketAgg::Range { .. } => "range",
            BucketAgg::Filters { .. } => "filters",
            BucketAgg::SignificantTerms { .. } => "significant_terms",
            BucketAgg::IpRange { .. } => "ip_range",
            BucketAgg::IpPrefix { .. } => "ip_prefix",
            BucketAgg::DateRange { .. } => "date_range",
        }
    }

    /// The fields it splits by: one, several for multi terms, none for filters.
    pub fn fields(&self) -> Vec<&str> {
        match self {
            BucketAgg::MultiTerms { fields, .. } => fields.iter().map(String::as_str).collect(),
            BucketAgg::Direction {} => vec!["srcaddr", "dstaddr"],
            agg => agg.field().into_iter().collect(),
        }
    }

    /// The field it splits by; `None` for filters and for multi terms (see [`Self::fields`]).
    pub fn field(&self) -> Option<&str> {
        match self {
            BucketAgg::Terms { field, .. }
            | BucketAgg::DateHistogram { field, .. }
            | BucketAgg::Histogram { field, .. }
            | BucketAgg::Range { field, .. }
            | BucketAgg::SignificantTerms { field, .. }
            | BucketAgg::IpRange { field, .. }
            | BucketAgg::IpPrefix { field, .. }
            | BucketAgg::DateRange { field, .. }
            | BucketAgg::Network { field } => Some(field),
            BucketAgg::Filters { .. } | BucketAgg::MultiTerms { .. } => None,
            // Both addresses: see `fields`.
            BucketAgg::Direction {} => None,
        }
    }

    /// Checks what the types cannot, reporting at `path` (`buckets[1].agg`).
    pub fn validate(&self, path: &str) -> Result<(), ModelError> {
        let agg_path = |field: &str| format!("{path}.{}.{field}", self.type_name());
        if let Some(field) = self.field() {
            if field.trim().is_empty() {
                return Err(ModelError::new(agg_path("field"), "must name a field"));
            }
        }
        match self {
            BucketAgg::MultiTerms { fields, .. }
                if !(2..=MAX_MULTI_TERMS).contains(&fields.len()) =>
            {
                return Err(ModelError::new(
                    agg_path("fields"),
                    format!("needs 2 to {MAX_MULTI_TERMS} fields, not {}", fields.len()),
                ));
            }
            BucketAgg::MultiTerms { fields, .. } if fields.iter().any(|f| f.trim().is_empty()) => {
                return Err(ModelError::new(
                    agg_path("fields"),
                    "must each name a field",
                ));
            }
            BucketAgg::Terms { size, .. }
            | BucketAgg::SignificantTerms { size, .. }
            | BucketAgg::MultiTerms { size, .. }
            | BucketAgg::IpPrefix { size, .. }
                if *size == 0 || *size > 500 =>
            {
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
            BucketAgg::IpRange { ranges, .. } if ranges.is_empty() => {
                return Err(ModelError::new(
                    agg_path("ranges"),
                    "needs at least one range",
                ));
            }
            BucketAgg::IpRange { ranges, .. } => {
                if let Some(bad) = ranges
                    .iter()
                    .find(|r| IpRangeSpec::parse(&r.text()).is_none())
                {
                    return Err(ModelError::new(
                        agg_path("ranges"),
                        format!(
                            "`{}` is neither a CIDR block (10.0.0.0/8) nor a from-to pair of addresses",
                            bad.text()
                        ),
                    ));
                }
            }
            BucketAgg::IpPrefix {
                prefix_length,
                ipv6,
                ..
            } if *prefix_length > if *ipv6 { 128 } else { 32 } => {
                let (family, most) = if *ipv6 { ("IPv6", 128) } else { ("IPv4", 32) };
                return Err(ModelError::new(
                    agg_path("prefix_length"),
                    format!("must be at most {most} for {family} networks, not {prefix_length}"),
                ));
            }
            BucketAgg::DateRange { ranges, .. } if ranges.is_empty() => {
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
        Ok(())
    }

    /// What one of its buckets is, after "per": `1h`, `dstport`, `bytes range`.
    pub fn unit_label(&self) -> String {
        match self {
            BucketAgg::DateHistogram {
                interval: Interval::Fixed(text) | Interval::Calendar(text),
                ..
            } => text.clone(),
            BucketAgg::DateHistogram { .. } => "interval".into(),
            BucketAgg::Terms { field, .. } | BucketAgg::SignificantTerms { field, .. } => {
                field.clone()
            }
            BucketAgg::MultiTerms { fields, .. } => fields.join(" · "),
            BucketAgg::Network { field } => format!("{field} network"),
            BucketAgg::Direction {} => "direction".into(),
            BucketAgg::Histogram { field, interval } => format!("{interval} of {field}"),
            BucketAgg::Range { field, .. }
            | BucketAgg::IpRange { field, .. }
            | BucketAgg::DateRange { field, .. } => format!("{field} range"),
            BucketAgg::IpPrefix {
                field,
                prefix_length,
                ..
            } => format!("/{prefix_length} of {field}"),
            BucketAgg::Filters { .. } => "filter".into(),
        }
    }

    /// A short description for legends and axis titles.
    pub fn label(&self) -> String {
        match self {
            BucketAgg::Terms { field, .. } => field.clone(),
            BucketAgg::MultiTerms { fields, .. } => fields.join(" · "),
            BucketAgg::Network { field } => format!("{field} network"),
            BucketAgg::Direction {} => "Direction".into(),
            BucketAgg::DateHistogram { field, .. } => format!("{field} per interval"),
            BucketAgg::Histogram { field, interval } => format!("{field} by {interval}"),
            BucketAgg::Range { field, .. } => format!("{field} ranges"),
            BucketAgg::Filters { .. } => "Filters".into(),
            BucketAgg::SignificantTerms { field, .. } => format!("{field} (significant)"),
            BucketAgg::IpRange { field, .. } | BucketAgg::DateRange { field, .. } => {
                format!("{field} ranges")
            }
            BucketAgg::IpPrefix {
                field,
                prefix_length,
                ..
            } => format!("{field} /{prefix_length} networks"),
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
    /// The smallest by the metric.
    MetricAsc,
    /// By value, ascending.
    KeyAsc,
    /// By value, descending.
    KeyDesc,
}

/// A date histogram interval: Kibana's "auto" (about 50 buckets for the range), a fixed one
/// (`30s`, `5m`, `1h`) or a calendar one (`1d`, `1w`, `1M`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    /// About 50 buckets over the time range, at a round interval.
    #[default]
    Auto,
    /// A fixed width (`30s`, `5m`, `1h`).
    Fixed(String),
    /// A calendar unit (`1d`, `1w`, `1M`), in the viewer's time zone.
    Calendar(String),
}

/// A numeric range `[from, to)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumberRange {
    /// The lower bound, inclusive; `None` is unbounded.
    #[serde(default)]
    pub from: Option<f64>,
    /// The upper bound, exclusive; `None` is unbounded.
    #[serde(default)]
    pub to: Option<f64>,
}

/// A filters-bucket query with its label.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedFilter {
    /// The bucket's label.
    pub label: String,
    /// The query selecting its flows.
    pub query: QueryText,
}

/// Where a chart's legend goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegendPosition {
    /// Beside the chart.
    #[default]
    Right,
    /// Under the chart.
    Bottom,
    /// No legend.
    Hidden,
}

/// How bars of several series share an x position.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BarMode {
    /// On top of each other.
    #[default]
    Stacked,
    /// Side by side.
    Grouped,
}

/// Presentation options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChartOptions {
    /// A pie with a hole.
    pub donut: bool,
    /// Slice labels on the pie.
    pub show_labels: bool,
    /// Slice shares as percentages.
    pub show_percent: bool,
    /// Where the legend goes.
    pub legend: LegendPosition,
    /// How bars of several series share an x position.
    pub bar_mode: BarMode,
    /// Fixed colours by term (`"REJECT": "#e7664c"`).
    pub colors: BTreeMap<String, String>,
    /// Times on the axis in UTC rather than the viewer's time zone.
    pub utc: bool,
    /// Leaves out the time buckets that stick out of the time range at either end: they hold
    /// only part of their interval's flows, and would be drawn as drops (Kibana's "Drop
    /// partial buckets"; on by default here).
    pub drop_partial_buckets: bool,
    /// Links a click offers besides filtering (a whois page for an address).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drilldowns: Vec<super::drilldown::UrlDrilldown>,
    /// A reference line across line, area and bar charts (Kibana's threshold line): the
    /// value traffic is compared against, such as a reject rate that warrants a look.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<ThresholdLine>,
    /// Draws each series again as it was this long before (`1w`: "compared with a week ago"),
    /// on the same time axis; line, area and bar charts over a date histogram.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_shift: Option<String>,
    /// The axes' titles, where the user named them.
    #[serde(skip_serializing_if = "AxisTitles::is_empty")]
    pub axis_titles: AxisTitles,
}

/// A metric computed along the time axis from the metric's value in each time bucket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ParentPipeline {
    /// The total so far (Elasticsearch's `cumulative_sum`).
    CumulativeSum,
    /// The change from the bucket before (`derivative`).
    Derivative,
    /// The mean of the last `window` buckets (`moving_fn` with an unweighted average).
    MovingAverage {
        /// How many buckets, 1 to 100.
        window: u32,
    },
    /// The difference from `lag` buckets before (`serial_diff`).
    SerialDiff {
        /// How many buckets back, 1 to 100.
        lag: u32,
    },
}

impl ParentPipeline {
    /// Its Elasticsearch aggregation over the metric at `path` (a buckets path).
    pub fn agg(&self, path: &str) -> serde_json::Value {
        match self {
            ParentPipeline::CumulativeSum => {
                serde_json::json!({ "cumulative_sum": { "buckets_path": path } })
            }
            ParentPipeline::Derivative => {
                serde_json::json!({ "derivative": { "buckets_path": path } })
            }
            ParentPipeline::MovingAverage { window } => serde_json::json!({ "moving_fn": {
                "buckets_path": path, "window": window,
                "script": "MovingFunctions.unweightedAvg(values)" } }),
            ParentPipeline::SerialDiff { lag } => {
                serde_json::json!({ "serial_diff": { "buckets_path": path, "lag": lag } })
            }
        }
    }

    /// What it makes of a metric's label: `Cumulative sum of Sum of bytes`.
    pub fn label(&self, metric: &str) -> String {
        match self {
            ParentPipeline::CumulativeSum => format!("Cumulative sum of {metric}"),
            ParentPipeline::Derivative => format!("Derivative of {metric}"),
            ParentPipeline::MovingAverage { window } => {
                format!("Moving average of {metric} over {window}")
            }
            ParentPipeline::SerialDiff { lag } => {
                format!("Serial difference of {metric}, lag {lag}")
            }
        }
    }
}

/// A reference line at a value of the metric, with an optional label.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdLine {
    /// Where the line is, in the metric's units.
    pub value: f64,
    /// What it stands for (`SLO`, `alert`); the value is shown beside it either way.
    #[serde(default)]
    pub label: String,
}

/// The longest threshold label.
pub const MAX_THRESHOLD_LABEL: usize = 60;

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
            drilldowns: Vec::new(),
            threshold: None,
            time_shift: None,
            axis_titles: AxisTitles::default(),
        }
    }
}

/// A visualization that cannot be used, naming the field at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ModelError {
    /// Where in the JSON: `buckets[1].agg.field`.
    pub path: String,
    /// What is wrong with it.
    pub reason: String,
}

impl ModelError {
    /// An error at `path`.
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
        Visualization::from_value(super::from_json_with_path(json)?)
    }

    /// The same from a JSON value, of this version or an older one.
    pub fn from_value(mut value: serde_json::Value) -> Result<Visualization, ModelError> {
        Visualization::migrate(&mut value);
        let vis: Visualization = super::from_value_with_path(value)?;
        vis.validate()?;
        Ok(vis)
    }

    /// Brings visualization JSON of an older version to this one's form.
    pub fn migrate(value: &mut serde_json::Value) {
        super::measure::migrate_single_metric(value);
    }

    /// The first metric: what orders terms, sizes slices and colours heatmap cells.
    pub fn metric(&self) -> &Metric {
        static COUNT: Metric = Metric::Count;
        self.metrics.first().map_or(&COUNT, |m| &m.metric)
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
        let drilldowns = &self.options.drilldowns;
        if drilldowns.len() > super::drilldown::MAX_DRILLDOWNS {
            return Err(ModelError::new(
                "options.drilldowns",
                format!(
                    "at most {} drilldowns, not {}",
                    super::drilldown::MAX_DRILLDOWNS,
                    drilldowns.len()
                ),
            ));
        }
        for (index, drilldown) in drilldowns.iter().enumerate() {
            drilldown.validate(&format!("options.drilldowns[{index}]"))?;
        }
        if let Some(threshold) = &self.options.threshold {
            if !threshold.value.is_finite() {
                return Err(ModelError::new(
                    "options.threshold.value",
                    "must be a number",
                ));
            }
            if threshold.label.chars().count() > MAX_THRESHOLD_LABEL {
                return Err(ModelError::new(
                    "options.threshold.label",
                    format!("at most {MAX_THRESHOLD_LABEL} characters"),
                ));
            }
        }
        if let Some(shift) = &self.options.time_shift {
            if super::time::parse_duration_ms(shift).is_none() {
                return Err(ModelError::new(
                    "options.time_shift",
                    format!("`{shift}` is not a duration such as 1h, 1d or 1w"),
                ));
            }
            if !self.takes_time_shift() {
                return Err(ModelError::new(
                    "options.time_shift",
                    "needs a line, area or bar chart over a date histogram",
                ));
            }
        }
        self.validate_metrics()?;
        let allowed: &[BucketRole] = match self.kind {
            ChartKind::Pie => &[BucketRole::SplitSlices],
            kind if kind.is_xy() => &[BucketRole::XAxis, BucketRole::SplitSeries],
            ChartKind::Table => &[BucketRole::Rows],
            ChartKind::Sankey => &[BucketRole::Nodes],
            _ => &[],
        };
        for (index, bucket) in self.buckets.iter().enumerate() {
            let path = |field: &str| format!("buckets[{index}].{field}");
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
            bucket.agg.validate(&format!("buckets[{index}].agg"))?;
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
                    "line, area, bar and heatmap charts take one x axis and at most one split series",
                ));
            }
        }
        if self.kind == ChartKind::Pie && self.buckets.len() > 4 {
            return Err(ModelError::new("buckets", "a pie takes at most 4 rings"));
        }
        // Time buckets make no nodes anyone follows, and every outer bucket holds all of them.
        let by_time = self
            .buckets
            .iter()
            .position(|b| matches!(b.agg, BucketAgg::DateHistogram { .. }));
        if let Some(index) = by_time.filter(|_| self.kind == ChartKind::Sankey) {
            return Err(ModelError::new(
                format!("buckets[{index}].agg.date_histogram"),
                "a Sankey's columns are terms, networks or ranges, not time: draw time with a line or bar chart",
            ));
        }
        if self.kind == ChartKind::Sankey && !(2..=4).contains(&self.buckets.len()) {
            return Err(ModelError::new(
                "buckets",
                format!(
                    "a Sankey links 2 to 4 levels of buckets, not {}",
                    self.buckets.len()
                ),
            ));
        }
        self.validate_prefix_levels()
    }

    /// An IP prefix split holds every network until the largest are kept, each with what is
    /// inside it: histogram buckets in each (a line per network over time) would pass the
    /// cluster's bucket limit at a few thousand networks.
    fn validate_prefix_levels(&self) -> Result<(), ModelError> {
        // Outside in, as the request nests them: an xy chart's split series holds its x axis.
        let mut levels: Vec<(usize, &BucketAgg)> =
            self.buckets.iter().map(|b| &b.agg).enumerate().collect();
        if self.kind.is_xy() {
            levels.sort_by_key(|(index, _)| self.buckets[*index].role != BucketRole::SplitSeries);
        }
        let prefix = levels
            .iter()
            .position(|(_, agg)| matches!(agg, BucketAgg::IpPrefix { .. }));
        let histogram_inside = prefix.is_some_and(|at| {
            levels[at + 1..].iter().any(|(_, agg)| {
                matches!(
                    agg,
                    BucketAgg::DateHistogram { .. } | BucketAgg::Histogram { .. }
                )
            })
        });
        if let Some(at) = prefix.filter(|_| histogram_inside) {
            return Err(ModelError::new(
                format!("buckets[{}].agg.ip_prefix", levels[at].0),
                "an IP prefix split cannot hold a histogram (it counts every network before keeping the largest): split by terms or IP ranges instead",
            ));
        }
        // The search keeps to each prefix split's address family: two of a field in both
        // families would keep nothing.
        let prefixes: Vec<(usize, &str, bool)> = levels
            .iter()
            .filter_map(|(index, agg)| match agg {
                BucketAgg::IpPrefix { field, ipv6, .. } => Some((*index, field.as_str(), *ipv6)),
                _ => None,
            })
            .collect();
        let both = prefixes.iter().find(|(_, field, ipv6)| {
            *ipv6 && prefixes.iter().any(|(_, other, v6)| !v6 && other == field)
        });
        match both {
            Some((index, field, _)) => Err(ModelError::new(
                format!("buckets[{index}].agg.ip_prefix.ipv6"),
                format!("`{field}` is split by IPv4 networks already: an address is of one family"),
            )),
            None => Ok(()),
        }
    }

    /// Checks the metrics, each at its path (`metrics[1].rate`), and the axis titles.
    fn validate_metrics(&self) -> Result<(), ModelError> {
        if self.metrics.is_empty() {
            return Err(ModelError::new("metrics", "needs at least one metric"));
        }
        if self.metrics.len() > MAX_METRICS {
            return Err(ModelError::new(
                "metrics",
                format!("at most {MAX_METRICS} metrics, not {}", self.metrics.len()),
            ));
        }
        // A pie's slices, a heatmap's cells and a Sankey's links have room for one value each.
        let one_only = matches!(
            self.kind,
            ChartKind::Pie | ChartKind::Heatmap | ChartKind::Sankey
        );
        if self.metrics.len() > 1 && one_only {
            return Err(ModelError::new(
                "metrics",
                format!("a {} chart shows one metric", self.kind.label()),
            ));
        }
        for (index, measure) in self.metrics.iter().enumerate() {
            let path = |field: &str| format!("metrics[{index}].{field}");
            let metric = &measure.metric;
            if let Some(field) = metric.field() {
                if field.trim().is_empty() {
                    return Err(ModelError::new(path("metric.field"), "must name a field"));
                }
            }
            if let Metric::Percentile { percent, .. } = metric {
                if !(0.0..=100.0).contains(percent) {
                    return Err(ModelError::new(
                        path("metric.percent"),
                        "must be between 0 and 100",
                    ));
                }
            }
            // A node is as wide as the links into it and out of it: only totals add up so.
            if self.kind == ChartKind::Sankey {
                if !matches!(metric, Metric::Count | Metric::Sum { .. }) {
                    return Err(ModelError::new(
                        path("metric"),
                        format!(
                            "a Sankey's links add up, so they measure a count or a sum, not {}",
                            metric.label()
                        ),
                    ));
                }
                if measure.rate.is_some() {
                    return Err(ModelError::new(
                        path("rate"),
                        "a Sankey's links are totals over the time range, not rates",
                    ));
                }
            }
            if let Metric::PercentileRank { value, .. } = metric {
                if !value.is_finite() {
                    return Err(ModelError::new(path("metric.value"), "must be a number"));
                }
            }
            if let Metric::TopHit {
                field,
                size,
                sort_field,
                combine,
                ..
            } = metric
            {
                if !(1..=MAX_TOP_HITS).contains(size) {
                    return Err(ModelError::new(
                        path("metric.size"),
                        format!("must be between 1 and {MAX_TOP_HITS} flows"),
                    ));
                }
                if sort_field.trim().is_empty() {
                    return Err(ModelError::new(
                        path("metric.sort_field"),
                        "must name a field",
                    ));
                }
                let numbers = crate::model::flow::document_field_type(source_field(field))
                    .is_none_or(|kind| kind.is_number());
                if *combine != TopHitCombine::Concat && !numbers {
                    return Err(ModelError::new(
                        path("metric.combine"),
                        format!(
                            "{} takes numbers, and {field} holds none: concatenate its values",
                            combine.label()
                        ),
                    ));
                }
                if metric.may_be_text()
                    && !matches!(self.kind, ChartKind::Table | ChartKind::Metric)
                {
                    return Err(ModelError::new(
                        path("metric"),
                        format!(
                            "{} is text, which only a data table or a metric chart shows",
                            metric.label()
                        ),
                    ));
                }
                if measure.pipeline.is_some() {
                    return Err(ModelError::new(
                        path("pipeline"),
                        "runs over the buckets' numbers, and a top hit is a flow's value",
                    ));
                }
            }
            if let Metric::OverBuckets { per, of, .. } = metric {
                per.validate(&path("metric.over_buckets.per"))?;
                if matches!(**of, Metric::TopHit { .. }) {
                    return Err(ModelError::new(
                        path("metric.over_buckets.of"),
                        "must be a number per bucket, not a top hit",
                    ));
                }
                if matches!(**of, Metric::OverBuckets { .. }) {
                    return Err(ModelError::new(
                        path("metric.over_buckets.of"),
                        "must be a metric of the flows, not another statistic over buckets",
                    ));
                }
                if measure.pipeline.is_some() {
                    return Err(ModelError::new(
                        path("pipeline"),
                        "does not run over a statistic over buckets; choose one or the other",
                    ));
                }
            }
            if let Some(pipeline) = &measure.pipeline {
                if !self.takes_time_shift() {
                    return Err(ModelError::new(
                        path("pipeline"),
                        "needs a line, area or bar chart over a date histogram",
                    ));
                }
                if let ParentPipeline::MovingAverage { window: n }
                | ParentPipeline::SerialDiff { lag: n } = pipeline
                {
                    if !(1..=100).contains(n) {
                        return Err(ModelError::new(
                            path("pipeline"),
                            "the window or lag must be between 1 and 100 buckets",
                        ));
                    }
                }
            }
            // A pipeline runs over the buckets' totals on the cluster; dividing its output by
            // a bucket's length would be a rate of a running total, not a running total of rates.
            if measure.rate.is_some() && measure.pipeline.is_some() {
                return Err(ModelError::new(
                    path("rate"),
                    "does not combine with a pipeline over time; choose one or the other",
                ));
            }
            if measure.rate.is_some() && !measure.takes_rate() {
                return Err(ModelError::new(
                    path("rate"),
                    format!(
                        "{} has no rate: only counts and sums add up over time",
                        metric.label()
                    ),
                ));
            }
            if measure.axis == ValueAxis::Right
                && !matches!(
                    self.kind,
                    ChartKind::Line | ChartKind::Area | ChartKind::Bar
                )
            {
                return Err(ModelError::new(
                    path("axis"),
                    "a right axis needs a line, area or vertical bar chart",
                ));
            }
            if measure.label.chars().count() > MAX_LABEL_CHARS {
                return Err(ModelError::new(
                    path("label"),
                    format!("at most {MAX_LABEL_CHARS} characters"),
                ));
            }
        }
        let titles = &self.options.axis_titles;
        for (name, title) in [
            ("x", &titles.x),
            ("left", &titles.left),
            ("right", &titles.right),
        ] {
            if title.chars().count() > MAX_LABEL_CHARS {
                return Err(ModelError::new(
                    format!("options.axis_titles.{name}"),
                    format!("at most {MAX_LABEL_CHARS} characters"),
                ));
            }
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

    /// Whether the chart can draw a time-shifted copy: line, area and bar charts over time.
    pub fn takes_time_shift(&self) -> bool {
        self.kind.is_xy()
            && self.kind != ChartKind::Heatmap
            && matches!(self.x_axis(), Some(BucketAgg::DateHistogram { .. }))
    }

    /// How far back the time-shifted copy of the series is, in milliseconds, if there is one.
    pub fn time_shift_ms(&self) -> Option<i64> {
        self.options
            .time_shift
            .as_deref()
            .and_then(super::time::parse_duration_ms)
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
            metrics: vec![Measure::from(Metric::Count)],
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
            metrics: vec![Measure::from(Metric::Count)],
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
    fn address_and_date_ranges_read_what_they_write() {
        for text in [
            "10.0.0.0/8",
            "10.0.0.1-10.0.0.9",
            "-10.0.0.9",
            "2001:db8::1-",
        ] {
            let range = IpRangeSpec::parse(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(IpRangeSpec::parse(&range.text()), Some(range));
        }
        assert_eq!(
            IpRangeSpec::parse(" -10.0.0.9 "),
            Some(IpRangeSpec::FromTo {
                from: None,
                to: Some("10.0.0.9".into())
            })
        );
        for bad in ["10.0.0.0/x", "ten-eleven", "10.0.0.0"] {
            assert_eq!(IpRangeSpec::parse(bad), None, "{bad}");
        }
        let range = DateRangeSpec::parse("now-7d/d..").unwrap();
        assert_eq!(
            range,
            DateRangeSpec {
                from: Some("now-7d/d".into()),
                to: None
            }
        );
        assert_eq!(DateRangeSpec::parse(&range.text()), Some(range));

        // A range that is no address range is named.
        let mut vis = Visualization::example_action_port_pie();
        vis.kind = ChartKind::Table;
        vis.buckets = vec![Bucket {
            role: BucketRole::Rows,
            agg: BucketAgg::IpRange {
                field: "srcaddr".into(),
                ranges: vec![
                    IpRangeSpec::Mask("10.0.0.0/8".into()),
                    IpRangeSpec::Mask("ten".into()),
                ],
            },
        }];
        let error = vis.validate().unwrap_err();
        assert!(
            error.to_string().contains("`ten` is neither a CIDR block"),
            "{error}"
        );
    }

    #[test]
    fn several_metrics_where_a_chart_has_room_for_them() {
        use crate::model::measure::{Measure, RateUnit, ValueAxis};
        let bytes = || Metric::Sum {
            field: "bytes".into(),
        };
        let mut line = Visualization::example_flows_over_time();
        line.metrics.push(Measure {
            rate: Some(RateUnit::Second),
            axis: ValueAxis::Right,
            ..bytes().into()
        });
        line.validate().unwrap();
        // Slices and cells hold one value.
        let mut pie = Visualization::example_action_port_pie();
        pie.metrics.push(bytes().into());
        assert_eq!(pie.validate().unwrap_err().path, "metrics");
        // An average has no rate; a table has no right axis.
        let mut bad = line.clone();
        bad.metrics[1].metric = Metric::Avg {
            field: "bytes".into(),
        };
        assert_eq!(bad.validate().unwrap_err().path, "metrics[1].rate");
        let mut table = line.clone();
        table.kind = ChartKind::Table;
        for bucket in &mut table.buckets {
            bucket.role = BucketRole::Rows;
        }
        assert_eq!(table.validate().unwrap_err().path, "metrics[1].axis");
        table.metrics[1].axis = ValueAxis::Left;
        table.validate().unwrap();
        let mut none = line.clone();
        none.metrics.clear();
        assert_eq!(none.validate().unwrap_err().path, "metrics");
        let mut titled = line.clone();
        titled.options.axis_titles.right = "x".repeat(81);
        assert_eq!(
            titled.validate().unwrap_err().path,
            "options.axis_titles.right"
        );
        // The form round-trips.
        let json = serde_json::to_string(&line).unwrap();
        assert_eq!(Visualization::from_json(&json).unwrap(), line);
    }

    #[test]
    fn top_hits_show_text_only_where_text_can_be_shown() {
        use crate::model::measure::Measure;
        let top = |field: &str, size: u32, combine: TopHitCombine| Metric::TopHit {
            field: field.into(),
            size,
            sort_field: "@timestamp".into(),
            descending: true,
            combine,
        };
        let with = |kind: ChartKind, metric: Metric| {
            let mut vis = Visualization::example_action_port_pie();
            vis.kind = kind;
            for bucket in &mut vis.buckets {
                bucket.role = if kind == ChartKind::Table {
                    BucketRole::Rows
                } else {
                    BucketRole::SplitSlices
                };
            }
            vis.metrics = vec![Measure::from(metric)];
            vis.validate()
        };
        // A number per slice: one flow's bytes, or several flows' combined.
        with(ChartKind::Pie, top("bytes", 1, TopHitCombine::Concat)).unwrap();
        with(ChartKind::Pie, top("bytes", 5, TopHitCombine::Max)).unwrap();
        // Addresses, or several values listed, are text: a table's.
        let error = with(ChartKind::Pie, top("srcaddr", 1, TopHitCombine::Concat)).unwrap_err();
        assert_eq!(error.path, "metrics[0].metric");
        assert!(
            error.to_string().contains("Last srcaddr is text"),
            "{error}"
        );
        assert_eq!(
            with(ChartKind::Pie, top("bytes", 3, TopHitCombine::Concat))
                .unwrap_err()
                .path,
            "metrics[0].metric"
        );
        with(ChartKind::Table, top("srcaddr", 3, TopHitCombine::Concat)).unwrap();
        // Addresses do not add up; sizes are bounded; a sort names its field.
        let error = with(ChartKind::Table, top("srcaddr", 3, TopHitCombine::Sum)).unwrap_err();
        assert_eq!(error.path, "metrics[0].metric.combine");
        for size in [0, MAX_TOP_HITS + 1] {
            let error = with(ChartKind::Table, top("bytes", size, TopHitCombine::Sum)).unwrap_err();
            assert_eq!(error.path, "metrics[0].metric.size");
        }
        let mut unsorted = top("bytes", 1, TopHitCombine::Sum);
        if let Metric::TopHit { sort_field, .. } = &mut unsorted {
            sort_field.clear();
        }
        assert_eq!(
            with(ChartKind::Table, unsorted).unwrap_err().path,
            "metrics[0].metric.sort_field"
        );
        // Nothing runs over a top hit's buckets.
        let over = Metric::OverBuckets {
            stat: BucketStat::Max,
            per: Box::new(terms_bucket(BucketRole::Rows, "srcaddr", 5).agg),
            of: Box::new(top("bytes", 1, TopHitCombine::Concat)),
        };
        assert_eq!(
            with(ChartKind::Table, over).unwrap_err().path,
            "metrics[0].metric.over_buckets.of"
        );
        let mut line = Visualization::example_flows_over_time();
        line.metrics[0] = Measure {
            pipeline: Some(ParentPipeline::Derivative),
            ..top("bytes", 1, TopHitCombine::Concat).into()
        };
        assert_eq!(line.validate().unwrap_err().path, "metrics[0].pipeline");
        // Made drawable on a chart: a number, the largest of several; kept as it is in a table.
        let mut address = top("srcaddr", 3, TopHitCombine::Concat);
        address.fit_to_chart(ChartKind::Table);
        assert_eq!(address, top("srcaddr", 3, TopHitCombine::Concat));
        address.fit_to_chart(ChartKind::Line);
        assert_eq!(address, top("bytes", 3, TopHitCombine::Max));
        let mut keyword = top("action.keyword", 1, TopHitCombine::Concat);
        assert!(keyword.may_be_text());
        keyword.fit_to_chart(ChartKind::Pie);
        assert_eq!(keyword, top("bytes", 1, TopHitCombine::Concat));
        // The form round-trips.
        let json = serde_json::to_string(&top("bytes", 3, TopHitCombine::Avg)).unwrap();
        assert_eq!(
            json,
            r#"{"top_hit":{"field":"bytes","size":3,"sort_field":"@timestamp","descending":true,"combine":"avg"}}"#
        );
    }

    #[test]
    fn top_hit_values_combine_as_kibana_combines_them() {
        use serde_json::json;
        let values = [json!(3), json!("x"), json!(5.5), json!(1)];
        assert_eq!(TopHitCombine::Sum.apply(&values), Some(json!(9.5)));
        assert_eq!(TopHitCombine::Avg.apply(&values), Some(json!(9.5 / 3.0)));
        assert_eq!(TopHitCombine::Min.apply(&values), Some(json!(1.0)));
        assert_eq!(TopHitCombine::Max.apply(&values), Some(json!(5.5)));
        assert_eq!(
            TopHitCombine::Concat.apply(&values),
            Some(json!("3, x, 5.5, 1"))
        );
        // One value stays as it is; none is no value.
        assert_eq!(TopHitCombine::Concat.apply(&[json!(443)]), Some(json!(443)));
        for combine in TopHitCombine::ALL {
            assert_eq!(combine.apply(&[]), None);
            assert_eq!(
                TopHitCombine::from_kibana_name(combine.kibana_name()),
                Some(combine)
            );
        }
        assert_eq!(TopHitCombine::Sum.apply(&[json!("a")]), None);
        // Numbers indexed as text add up too.
        assert_eq!(
            TopHitCombine::Sum.apply(&[json!("1500"), json!(300)]),
            Some(json!(1800.0))
        );
    }

    #[test]
    fn version_1_json_reads_with_its_metric_and_pipeline() {
        let mut old = serde_json::to_value(Visualization::example_flows_over_time()).unwrap();
        let object = old.as_object_mut().unwrap();
        object.remove("metrics");
        object.insert("version".into(), serde_json::json!(1));
        object.insert(
            "metric".into(),
            serde_json::json!({ "sum": { "field": "bytes" } }),
        );
        old["options"]["pipeline"] = serde_json::json!({ "moving_average": { "window": 3 } });
        let vis = Visualization::from_value(old).unwrap();
        assert_eq!(
            vis.metric(),
            &Metric::Sum {
                field: "bytes".into()
            }
        );
        assert_eq!(
            vis.metrics[0].pipeline,
            Some(ParentPipeline::MovingAverage { window: 3 })
        );
        // Inside a dashboard too.
        let board = serde_json::json!({ "title": "Old", "panels": [{ "id": "a",
            "grid": { "x": 0, "y": 0, "w": 24, "h": 15 },
            "visualization": { "title": "Flows", "kind": "metric", "index_pattern": "cwl-*",
                "metric": "count" } }] });
        let board = crate::model::dashboard::Dashboard::from_value(board).unwrap();
        let crate::model::dashboard::PanelSource::Inline(vis) = &board.panels[0].source else {
            panic!("an inline visualization");
        };
        assert_eq!(vis.metric(), &Metric::Count);
    }

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

        let mut value = serde_json::to_value(Visualization::example_flows_over_time()).unwrap();
        value["options"]["threshold"] = serde_json::json!({ "value": 10, "label": "x".repeat(61) });
        assert_eq!(
            Visualization::from_value(value).unwrap_err().path,
            "options.threshold.label"
        );
    }

    #[test]
    fn heatmaps_and_thresholds_round_trip() {
        let mut vis = Visualization::example_flows_over_time();
        vis.kind = ChartKind::Heatmap;
        vis.options.threshold = Some(ThresholdLine {
            value: 12.5,
            label: "alert".into(),
        });
        let json = serde_json::to_string(&vis).unwrap();
        assert!(json.contains("\"heatmap\""), "{json}");
        assert_eq!(Visualization::from_json(&json).unwrap(), vis);
        // A heatmap takes one x axis and one y axis (its split), as line charts do.
        vis.buckets
            .push(terms_bucket(BucketRole::SplitSeries, "dstport", 5));
        assert_eq!(vis.validate().unwrap_err().path, "buckets");
        vis.buckets.pop();
        vis.buckets[1].role = BucketRole::SplitSlices;
        assert_eq!(vis.validate().unwrap_err().path, "buckets[1].role");
    }
}
