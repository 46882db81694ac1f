//! Chart data: what an Elasticsearch response becomes before it is drawn. The chart drawers in
//! [`crate::charts`] take only these types, so the browser and the server draw the same thing.

use serde::{Deserialize, Serialize};

/// One chart's worth of data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChartData {
    /// Values over time (line, area, bar charts).
    TimeSeries(TimeSeries),
}

/// Several named series sharing one time axis.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TimeSeries {
    /// Width of one bucket in milliseconds (the date histogram's interval).
    pub interval_ms: i64,
    /// The requested time range, `[from, to)` in epoch milliseconds; the x axis spans it.
    pub from_ms: i64,
    pub to_ms: i64,
    pub series: Vec<Series>,
}

/// One line: a label and its points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub label: String,
    /// `(bucket start in epoch ms, value)`, in time order.
    pub points: Vec<(i64, f64)>,
}

impl TimeSeries {
    /// The largest value of any point, or 0 when there are none.
    pub fn max_value(&self) -> f64 {
        self.series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .fold(0.0, f64::max)
    }

    /// True when no series has a point.
    pub fn is_empty(&self) -> bool {
        self.series.iter().all(|s| s.points.is_empty())
    }
}

/// A response that does not have the shape its request asked for.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("unexpected search response: {0}")]
pub struct ResultError(pub String);

/// Reads the response of [`crate::query::time_series_request`]: one series per split term.
pub fn time_series_from_response(
    response: &serde_json::Value,
    from_ms: i64,
    to_ms: i64,
    interval_ms: i64,
) -> Result<TimeSeries, ResultError> {
    let buckets = response
        .pointer("/aggregations/over_time/buckets")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| ResultError("no aggregations.over_time.buckets".into()))?;
    let mut series: Vec<Series> = Vec::new();
    for bucket in buckets {
        let time = bucket
            .get("key")
            .and_then(serde_json::Value::as_i64)
            .ok_or_else(|| ResultError("date bucket without a numeric key".into()))?;
        let splits = bucket
            .pointer("/split/buckets")
            .and_then(serde_json::Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for split in splits {
            let label = match split.get("key") {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => continue,
            };
            let count = split
                .get("doc_count")
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(0.0);
            let index = match series.iter().position(|s| s.label == label) {
                Some(index) => index,
                None => {
                    series.push(Series {
                        label,
                        points: Vec::new(),
                    });
                    series.len() - 1
                }
            };
            series[index].points.push((time, count));
        }
    }
    Ok(TimeSeries {
        interval_ms,
        from_ms,
        to_ms,
        series,
    })
}
