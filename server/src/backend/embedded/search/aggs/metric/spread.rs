//! Metrics of a distribution computed from every value (as `percentiles` is), so exactly:
//! `extended_stats` (Kibana's "Std deviation"), `percentile_ranks` and
//! `median_absolute_deviation`.

use serde_json::{json, Map, Value as Json};

use super::super::super::SearchError;
use super::super::options::bad;
use super::super::response::double_text;
use super::percentiles::percentile;
use super::MetricKind;

/// `extended_stats`' `sigma` (2 unless given; never negative).
pub fn parse_extended_stats(name: &str, o: &Map<String, Json>) -> Result<MetricKind, SearchError> {
    let sigma = match o.get("sigma") {
        None => 2.0,
        Some(value) => value
            .as_f64()
            .ok_or_else(|| bad(format!("[sigma] of [{name}] must be a number")))?,
    };
    if sigma < 0.0 {
        return Err(SearchError::illegal(format!(
            "[sigma] must be greater than or equal to 0. Found [{}] in [{name}]",
            double_text(sigma)
        )));
    }
    Ok(MetricKind::ExtendedStats { sigma })
}

/// `percentile_ranks`' `values`: the values whose rank is asked.
pub fn parse_percentile_ranks(
    name: &str,
    o: &Map<String, Json>,
) -> Result<MetricKind, SearchError> {
    let values = match o.get("values") {
        None | Some(Json::Null) => {
            return Err(SearchError::illegal(format!(
                "[values] must not be null: [{name}]"
            )))
        }
        Some(Json::Array(values)) if values.is_empty() => {
            return Err(SearchError::illegal(format!(
                "[values] must not be an empty array: [{name}]"
            )))
        }
        Some(Json::Array(values)) => values
            .iter()
            .map(|v| {
                v.as_f64()
                    .ok_or_else(|| bad(format!("[values] of [{name}] must be numbers")))
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(bad(format!("[values] of [{name}] must be an array"))),
    };
    Ok(MetricKind::PercentileRanks {
        values,
        keyed: o.get("keyed").and_then(Json::as_bool).unwrap_or(true),
    })
}

fn number(value: Option<f64>) -> Json {
    value
        .filter(|v| v.is_finite())
        .map_or(Json::Null, |v| json!(v))
}

/// Count, sum, min, max and average, with the sum of squares, variances and standard
/// deviations (population and sample) and the bounds `sigma` deviations around the mean.
pub fn render_extended_stats(sigma: f64, values: &[f64]) -> Map<String, Json> {
    let count = values.len();
    let n = count as f64;
    let sum: f64 = values.iter().sum();
    let has = count > 0;
    let avg = has.then(|| sum / n);
    // Around the mean, which is steadier than Σx² − (Σx)²/n for large values.
    let squared_deviations: f64 =
        avg.map_or(0.0, |avg| values.iter().map(|v| (v - avg).powi(2)).sum());
    let population = has.then(|| (squared_deviations / n).max(0.0));
    let sample = (count > 1).then(|| (squared_deviations / (n - 1.0)).max(0.0));
    let deviation = |variance: Option<f64>| variance.map(f64::sqrt);
    let bound = |variance: Option<f64>, sign: f64| match (avg, deviation(variance)) {
        (Some(avg), Some(std)) => Some(avg + sign * sigma * std),
        _ => None,
    };
    let mut out = Map::new();
    out.insert("count".into(), json!(count));
    out.insert(
        "min".into(),
        number(values.iter().copied().reduce(f64::min)),
    );
    out.insert(
        "max".into(),
        number(values.iter().copied().reduce(f64::max)),
    );
    out.insert("avg".into(), number(avg));
    out.insert("sum".into(), json!(sum));
    out.insert(
        "sum_of_squares".into(),
        number(has.then(|| values.iter().map(|v| v * v).sum())),
    );
    out.insert("variance".into(), number(population));
    out.insert("variance_population".into(), number(population));
    out.insert("variance_sampling".into(), number(sample));
    out.insert("std_deviation".into(), number(deviation(population)));
    out.insert(
        "std_deviation_population".into(),
        number(deviation(population)),
    );
    out.insert("std_deviation_sampling".into(), number(deviation(sample)));
    out.insert(
        "std_deviation_bounds".into(),
        json!({
            "upper": number(bound(population, 1.0)),
            "lower": number(bound(population, -1.0)),
            "upper_population": number(bound(population, 1.0)),
            "lower_population": number(bound(population, -1.0)),
            "upper_sampling": number(bound(sample, 1.0)),
            "lower_sampling": number(bound(sample, -1.0)),
        }),
    );
    out
}

/// The percentage of values at or below each of `asked`.
pub fn render_percentile_ranks(asked: &[f64], keyed: bool, values: &[f64]) -> Map<String, Json> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = |x: f64| {
        (!sorted.is_empty()).then(|| {
            let at_or_below = sorted.partition_point(|v| *v <= x);
            at_or_below as f64 * 100.0 / sorted.len() as f64
        })
    };
    let mut out = Map::new();
    out.insert(
        "values".into(),
        if keyed {
            Json::Object(
                asked
                    .iter()
                    .map(|x| (double_text(*x), number(rank(*x))))
                    .collect(),
            )
        } else {
            Json::Array(
                asked
                    .iter()
                    .map(|x| json!({ "key": x, "value": number(rank(*x)) }))
                    .collect(),
            )
        },
    );
    out
}

/// The median of the values' distances from their median.
pub fn render_median_absolute_deviation(values: &[f64]) -> Map<String, Json> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let deviation = percentile(&sorted, 50.0).and_then(|median| {
        let mut distances: Vec<f64> = sorted.iter().map(|v| (v - median).abs()).collect();
        distances.sort_by(f64::total_cmp);
        percentile(&distances, 50.0)
    });
    let mut out = Map::new();
    out.insert("value".into(), number(deviation));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_of_a_known_distribution() {
        let values = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let stats = render_extended_stats(2.0, &values);
        assert_eq!(stats["count"], json!(8));
        assert_eq!(stats["avg"], json!(5.0));
        assert_eq!(stats["sum_of_squares"], json!(232.0));
        assert_eq!(stats["variance"], json!(4.0));
        assert_eq!(stats["std_deviation"], json!(2.0));
        assert_eq!(stats["std_deviation_bounds"]["upper"], json!(9.0));
        assert_eq!(stats["std_deviation_bounds"]["lower"], json!(1.0));
        assert_eq!(stats["variance_sampling"], json!(32.0 / 7.0));
        let empty = render_extended_stats(2.0, &[]);
        assert_eq!(empty["count"], json!(0));
        assert_eq!(empty["avg"], Json::Null);
        assert_eq!(empty["std_deviation"], Json::Null);
        assert_eq!(empty["sum"], json!(0.0));

        let ranks = render_percentile_ranks(&[4.0, 6.0, 1.0], true, &values);
        assert_eq!(
            ranks["values"],
            json!({ "4.0": 50.0, "6.0": 75.0, "1.0": 0.0 })
        );
        // Median 4.5; distances 2.5 .5 .5 .5 .5 .5 2.5 4.5; their median 0.5.
        assert_eq!(
            render_median_absolute_deviation(&values)["value"],
            json!(0.5)
        );
        assert_eq!(render_median_absolute_deviation(&[])["value"], Json::Null);
    }
}
