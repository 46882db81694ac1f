//! A chart's metrics as it shows them. A visualization has one or more: each is a series of a
//! line chart (or a column of a table, a number of a metric chart), with its own name, value
//! axis, and optionally a rate per unit of time or a pipeline along the time axis.

use serde::{Deserialize, Serialize};

use super::visualization::{Metric, ParentPipeline};

/// The most metrics one chart draws.
pub const MAX_METRICS: usize = 10;

/// The longest custom label of a metric or an axis.
pub const MAX_LABEL_CHARS: usize = 80;

/// One metric of a chart, as drawn.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measure {
    /// What is computed over each bucket's flows.
    pub metric: Metric,
    /// The user's name for it (`Traffic`); empty: named after what it computes
    /// (`Sum of bytes per second`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label: String,
    /// Shown per second, minute or hour: a count or sum divided by the length of its time
    /// bucket (or of the time range, where nothing splits by time). Bytes per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<RateUnit>,
    /// Shown along the time axis as a running total, a change, a moving average or a
    /// difference (Kibana's parent pipeline metrics); line, area and bar charts over a date
    /// histogram. Top-N series still rank by the metric itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<ParentPipeline>,
    /// The value axis it is read on: a second one, on the right, for a metric of another
    /// scale (bytes beside flows).
    #[serde(default, skip_serializing_if = "ValueAxis::is_left")]
    pub axis: ValueAxis,
}

/// A unit of time a rate is given per.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateUnit {
    /// Per second: bytes per second, as link speeds are read.
    Second,
    /// Per minute.
    Minute,
    /// Per hour.
    Hour,
}

impl RateUnit {
    /// Every unit, as the editor offers them.
    pub const ALL: [RateUnit; 3] = [RateUnit::Second, RateUnit::Minute, RateUnit::Hour];

    /// Its length in milliseconds.
    pub fn ms(self) -> f64 {
        match self {
            RateUnit::Second => 1_000.0,
            RateUnit::Minute => 60_000.0,
            RateUnit::Hour => 3_600_000.0,
        }
    }

    /// `second`, `minute`, `hour`.
    pub fn word(self) -> &'static str {
        match self {
            RateUnit::Second => "second",
            RateUnit::Minute => "minute",
            RateUnit::Hour => "hour",
        }
    }

    /// The unit named by [`RateUnit::word`].
    pub fn from_word(word: &str) -> Option<RateUnit> {
        RateUnit::ALL.into_iter().find(|unit| unit.word() == word)
    }
}

/// Which value axis a metric is read on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueAxis {
    /// The chart's own, on the left.
    #[default]
    Left,
    /// A second one, on the right.
    Right,
}

impl ValueAxis {
    fn is_left(&self) -> bool {
        *self == ValueAxis::Left
    }
}

impl From<Metric> for Measure {
    fn from(metric: Metric) -> Measure {
        Measure {
            metric,
            ..Measure::default()
        }
    }
}

impl Measure {
    /// What legends, tooltips, table headings and axes call it: the user's label, or
    /// `Derivative of Sum of bytes per second`.
    pub fn label(&self) -> String {
        if !self.label.trim().is_empty() {
            return self.label.trim().to_owned();
        }
        let mut label = self.metric.label();
        if let Some(rate) = self.rate {
            label = format!("{label} per {}", rate.word());
        }
        match &self.pipeline {
            Some(pipeline) => pipeline.label(&label),
            None => label,
        }
    }

    /// Whether absent values read as 0 rather than as gaps.
    pub fn zero_when_empty(&self) -> bool {
        self.pipeline.is_none() && self.metric.zero_when_empty()
    }

    /// Whether a rate of it means something: flows and sums add up over time, averages and
    /// distinct counts do not.
    pub fn takes_rate(&self) -> bool {
        matches!(self.metric, Metric::Count | Metric::Sum { .. })
    }
}

/// The titles of a chart's axes; an empty one is made from what the axis shows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AxisTitles {
    /// Along the buckets (`Time`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub x: String,
    /// Up the left value axis (`Flows`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub left: String,
    /// Up the right value axis, when a metric is read on it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub right: String,
}

impl AxisTitles {
    /// Whether every title is made from the data.
    pub fn is_empty(&self) -> bool {
        self == &AxisTitles::default()
    }
}

/// Version 1 of the visualization JSON held one `metric` (a count when left out), and its
/// pipeline among the options: both move into `metrics`, and the version becomes 2. JSON
/// without a version is of version 1 only when it has a `metric`; JSON of version 2 or
/// later, with neither, or not an object, is left for the reader to judge (a visualization
/// without metrics is refused naming them, not silently made a count).
pub(crate) fn migrate_single_metric(vis: &mut serde_json::Value) {
    let Some(object) = vis.as_object_mut() else {
        return;
    };
    let version = object.get("version").and_then(serde_json::Value::as_u64);
    let version_1 = match version {
        Some(version) => version == 1,
        None => object.contains_key("metric"),
    };
    if object.contains_key("metrics") || !version_1 {
        return;
    }
    let metric = object
        .remove("metric")
        .unwrap_or_else(|| serde_json::json!("count"));
    if version.is_some() {
        object.insert("version".into(), serde_json::json!(2));
    }
    let mut measure = serde_json::json!({ "metric": metric });
    if let Some(pipeline) = object
        .get_mut("options")
        .and_then(serde_json::Value::as_object_mut)
        .and_then(|options| options.remove("pipeline"))
    {
        measure["pipeline"] = pipeline;
    }
    object.insert("metrics".into(), serde_json::json!([measure]));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_say_the_rate_and_the_pipeline_unless_the_user_names_it() {
        let mut measure = Measure::from(Metric::Sum {
            field: "bytes".into(),
        });
        assert_eq!(measure.label(), "Sum of bytes");
        measure.rate = Some(RateUnit::Second);
        assert_eq!(measure.label(), "Sum of bytes per second");
        measure.pipeline = Some(ParentPipeline::Derivative);
        assert_eq!(measure.label(), "Derivative of Sum of bytes per second");
        measure.label = " Traffic ".into();
        assert_eq!(measure.label(), "Traffic");
    }

    #[test]
    fn version_1_moves_its_metric_and_pipeline_into_metrics() {
        let mut old = serde_json::json!({
            "metric": { "sum": { "field": "bytes" } },
            "options": { "pipeline": "cumulative_sum", "donut": false }
        });
        migrate_single_metric(&mut old);
        assert_eq!(
            old,
            serde_json::json!({
                "metrics": [{ "metric": { "sum": { "field": "bytes" } }, "pipeline": "cumulative_sum" }],
                "options": { "donut": false }
            })
        );
        // Already in the new form: untouched.
        let mut new = old.clone();
        migrate_single_metric(&mut new);
        assert_eq!(new, old);
    }

    #[test]
    fn version_1_without_a_metric_counts_flows() {
        let mut old = serde_json::json!({ "version": 1, "title": "Flows" });
        migrate_single_metric(&mut old);
        assert_eq!(
            old,
            serde_json::json!({ "version": 2, "title": "Flows", "metrics": [{ "metric": "count" }] })
        );
        // Version 2 without metrics is refused by validation, not given one; so is JSON of
        // no version with neither a metric nor metrics.
        for json in [
            serde_json::json!({ "version": 2, "title": "Flows" }),
            serde_json::json!({ "title": "Flows" }),
        ] {
            let mut same = json.clone();
            migrate_single_metric(&mut same);
            assert_eq!(same, json);
        }
    }
}
