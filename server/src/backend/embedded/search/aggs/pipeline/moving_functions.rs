//! `moving_fn`'s scripts: the `MovingFunctions` Elasticsearch provides, called on the
//! window's `values` (`MovingFunctions.unweightedAvg(values)`, as Kibana's moving average
//! sends). Painless itself is not run; any other script is refused by name.

use serde_json::Value as Json;

use super::super::super::SearchError;

/// One of Elasticsearch's moving functions, with its parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum MovingFunction {
    Max,
    Min,
    Sum,
    UnweightedAvg,
    LinearWeightedAvg,
    Ewma {
        alpha: f64,
    },
    Holt {
        alpha: f64,
        beta: f64,
    },
    /// The standard deviation around the window's unweighted average.
    StdDev,
}

impl MovingFunction {
    /// Reads `script`: a string, or an object with its `source`.
    pub fn parse(script: Option<&Json>) -> Result<MovingFunction, SearchError> {
        let source = match script {
            Some(Json::String(source)) => source.as_str(),
            Some(Json::Object(o)) => o
                .get("source")
                .or_else(|| o.get("inline"))
                .and_then(Json::as_str)
                .ok_or_else(|| SearchError::parsing("[moving_fn] [script] needs a [source]"))?,
            _ => {
                return Err(SearchError::illegal(
                    "[script] must be set for [moving_fn]".to_owned(),
                ))
            }
        };
        let refuse = || {
            SearchError::unsupported(format!(
                "moving_fn script [{source}] is not supported by the embedded engine: it runs MovingFunctions.max, min, sum, unweightedAvg, linearWeightedAvg, ewma, holt and stdDev(values, MovingFunctions.unweightedAvg(values)) only"
            ))
        };
        let text: String = source.chars().filter(|c| !c.is_whitespace()).collect();
        let text = text.strip_prefix("return").unwrap_or(&text);
        let text = text.strip_suffix(';').unwrap_or(text);
        let call = text.strip_prefix("MovingFunctions.").ok_or_else(refuse)?;
        let (name, args) = call.split_once('(').ok_or_else(refuse)?;
        let args = args.strip_suffix(')').ok_or_else(refuse)?;
        let (first, rest) = args.split_once(',').unwrap_or((args, ""));
        if first != "values" {
            return Err(refuse());
        }
        let numbers = || -> Result<Vec<f64>, SearchError> {
            rest.split(',')
                .filter(|a| !a.is_empty())
                .map(|a| a.parse::<f64>().map_err(|_| refuse()))
                .collect()
        };
        Ok(match (name, numbers().as_deref()) {
            ("max", Ok([])) => MovingFunction::Max,
            ("min", Ok([])) => MovingFunction::Min,
            ("sum", Ok([])) => MovingFunction::Sum,
            ("unweightedAvg", Ok([])) => MovingFunction::UnweightedAvg,
            ("linearWeightedAvg", Ok([])) => MovingFunction::LinearWeightedAvg,
            ("ewma", Ok([alpha])) => MovingFunction::Ewma { alpha: *alpha },
            ("holt", Ok([alpha, beta])) => MovingFunction::Holt {
                alpha: *alpha,
                beta: *beta,
            },
            ("stdDev", _) if rest == "MovingFunctions.unweightedAvg(values)" => {
                MovingFunction::StdDev
            }
            _ => return Err(refuse()),
        })
    }

    /// The function over a window of values (NaN for none, where Elasticsearch's is).
    pub fn apply(&self, values: &[f64]) -> f64 {
        let average = |values: &[f64]| {
            if values.is_empty() {
                f64::NAN
            } else {
                values.iter().sum::<f64>() / values.len() as f64
            }
        };
        match self {
            MovingFunction::Max => values.iter().copied().reduce(f64::max).unwrap_or(f64::NAN),
            MovingFunction::Min => values.iter().copied().reduce(f64::min).unwrap_or(f64::NAN),
            MovingFunction::Sum => values.iter().sum(),
            MovingFunction::UnweightedAvg => average(values),
            MovingFunction::LinearWeightedAvg => {
                // Weights 1, 2, 3… from the oldest.
                let (weighted, weights) = values
                    .iter()
                    .enumerate()
                    .fold((0.0, 0.0), |(sum, weights), (i, v)| {
                        (sum + v * (i + 1) as f64, weights + (i + 1) as f64)
                    });
                if weights == 0.0 {
                    f64::NAN
                } else {
                    weighted / weights
                }
            }
            MovingFunction::Ewma { alpha } => values
                .iter()
                .copied()
                .reduce(|avg, v| v * alpha + avg * (1.0 - alpha))
                .unwrap_or(f64::NAN),
            MovingFunction::Holt { alpha, beta } => {
                let Some((&first, rest)) = values.split_first() else {
                    return f64::NAN;
                };
                // Level and trend; the forecast one step on is the level.
                let (mut level, mut trend) = (first, 0.0);
                for &v in rest {
                    let last_level = level;
                    level = alpha * v + (1.0 - alpha) * (last_level + trend);
                    trend = beta * (level - last_level) + (1.0 - beta) * trend;
                }
                level
            }
            MovingFunction::StdDev => {
                let avg = average(values);
                if values.is_empty() {
                    f64::NAN
                } else {
                    let variance =
                        values.iter().map(|v| (v - avg).powi(2)).sum::<f64>() / values.len() as f64;
                    variance.sqrt()
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn scripts_name_their_function_and_the_functions_compute_as_elasticsearch_does() {
        let parse = |s: &str| MovingFunction::parse(Some(&json!(s))).unwrap();
        let window = [1.0, 2.0, 4.0, 8.0];
        assert_eq!(
            parse("MovingFunctions.unweightedAvg(values)").apply(&window),
            3.75
        );
        assert_eq!(
            parse("return MovingFunctions.max(values);").apply(&window),
            8.0
        );
        assert_eq!(parse("MovingFunctions.min(values)").apply(&window), 1.0);
        assert_eq!(parse("MovingFunctions.sum(values)").apply(&window), 15.0);
        assert_eq!(parse("MovingFunctions.sum(values)").apply(&[]), 0.0);
        assert!(parse("MovingFunctions.unweightedAvg(values)")
            .apply(&[])
            .is_nan());
        // (1·1 + 2·2 + 4·3 + 8·4) / (1 + 2 + 3 + 4)
        assert_eq!(
            parse("MovingFunctions.linearWeightedAvg(values)").apply(&window),
            4.9
        );
        // 1 → 0.5·2 + 0.5·1 = 1.5 → 0.5·4 + 0.5·1.5 = 2.75 → 0.5·8 + 0.5·2.75 = 5.375
        assert_eq!(
            parse("MovingFunctions.ewma(values, 0.5)").apply(&window),
            5.375
        );
        let std_dev =
            parse("MovingFunctions.stdDev(values, MovingFunctions.unweightedAvg(values))");
        assert!((std_dev.apply(&window) - 2.680_951_323_690_902).abs() < 1e-12);
        // Holt with beta 0 and alpha 1 follows the last value.
        assert_eq!(
            parse("MovingFunctions.holt(values, 1, 0)").apply(&window),
            8.0
        );
        for refused in [
            "params.x * 2",
            "MovingFunctions.holtWinters(values, 0.3, 0.1, 0.1, 2, false)",
        ] {
            let error = MovingFunction::parse(Some(&json!(refused))).unwrap_err();
            assert!(error.to_string().contains("not supported"), "{error}");
        }
    }
}
