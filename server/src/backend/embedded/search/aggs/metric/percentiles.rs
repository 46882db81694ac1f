//! `percentiles`: every value is kept, so percentiles are exact (Elasticsearch approximates
//! the same quantity with a t-digest).

use serde_json::{json, Map, Value as Json};

use super::super::super::SearchError;
use super::super::options::bad;
use super::super::response::double_text;
use super::MetricKind;

/// The percents asked for (Elasticsearch's defaults when none are), and whether the answer
/// is keyed. `tdigest` and `hdr` settings are checked as Elasticsearch checks them, then
/// have nothing to tune: every value is kept, so the answer is exact for either.
pub fn parse(name: &str, o: &Map<String, Json>) -> Result<MetricKind, SearchError> {
    check_method(name, o)?;
    let percents = match o.get("percents") {
        Some(Json::Array(values)) if values.is_empty() => {
            return Err(SearchError::illegal(format!(
                "[percents] must not be empty: [{name}]"
            )))
        }
        Some(Json::Array(values)) => values
            .iter()
            .map(|v| {
                v.as_f64()
                    .filter(|p| (0.0..=100.0).contains(p))
                    .ok_or_else(|| bad("[percents] must be numbers from 0 to 100"))
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => vec![1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0],
        _ => return Err(bad("[percents] must be an array")),
    };
    Ok(MetricKind::Percentiles {
        percents,
        keyed: o.get("keyed").and_then(Json::as_bool).unwrap_or(true),
    })
}

/// `tdigest: { compression }` and `hdr: { number_of_significant_value_digits }`, one of them.
fn check_method(name: &str, o: &Map<String, Json>) -> Result<(), SearchError> {
    let setting = |method: &str, key: &str| -> Result<Option<f64>, SearchError> {
        let Some(settings) = o.get(method) else {
            return Ok(None);
        };
        let settings = settings
            .as_object()
            .ok_or_else(|| bad(format!("[{method}] must be an object")))?;
        if let Some(other) = settings.keys().find(|k| k.as_str() != key) {
            return Err(bad(format!("[{method}] unknown field [{other}]")));
        }
        settings
            .get(key)
            .map(|v| {
                v.as_f64()
                    .ok_or_else(|| bad(format!("[{method}.{key}] must be a number")))
            })
            .transpose()
    };
    let compression = setting("tdigest", "compression")?;
    let digits = setting("hdr", "number_of_significant_value_digits")?;
    if o.contains_key("tdigest") && o.contains_key("hdr") {
        return Err(bad(format!(
            "[{name}] cannot use both [tdigest] and [hdr] methods"
        )));
    }
    if let Some(compression) = compression.filter(|c| *c < 0.0) {
        return Err(SearchError::illegal(format!(
            "[compression] must be greater than or equal to 0. Found [{}] in [{name}]",
            double_text(compression)
        )));
    }
    if let Some(digits) = digits.filter(|d| !(0.0..=5.0).contains(d) || d.fract() != 0.0) {
        return Err(SearchError::illegal(format!(
            "[numberOfSignificantValueDigits] must be between 0 and 5: [{name}]; found [{}]",
            double_text(digits)
        )));
    }
    Ok(())
}

/// Linear interpolation between the closest ranks (exact, unlike Elasticsearch's t-digest,
/// which approximates the same quantity).
pub fn percentile(sorted: &[f64], percent: f64) -> Option<f64> {
    match sorted.len() {
        0 => None,
        1 => Some(sorted[0]),
        n => {
            let rank = percent / 100.0 * (n - 1) as f64;
            let low = rank.floor() as usize;
            let high = rank.ceil() as usize;
            Some(sorted[low] + (sorted[high] - sorted[low]) * (rank - low as f64))
        }
    }
}

pub fn render(percents: &[f64], keyed: bool, values: &[f64]) -> Map<String, Json> {
    let number = |v: Option<f64>| v.map_or(Json::Null, |v| json!(v));
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let entries: Vec<(String, Option<f64>, f64)> = percents
        .iter()
        .map(|p| (double_text(*p), percentile(&sorted, *p), *p))
        .collect();
    let mut out = Map::new();
    out.insert(
        "values".into(),
        if keyed {
            Json::Object(
                entries
                    .into_iter()
                    .map(|(k, v, _)| (k, number(v)))
                    .collect(),
            )
        } else {
            Json::Array(
                entries
                    .into_iter()
                    .map(|(_, v, p)| json!({ "key": p, "value": number(v) }))
                    .collect(),
            )
        },
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_between_ranks() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), Some(50.5));
        assert_eq!(percentile(&values, 0.0), Some(1.0));
        assert_eq!(percentile(&values, 100.0), Some(100.0));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
