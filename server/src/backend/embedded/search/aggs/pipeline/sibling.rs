//! Sibling pipelines: one value summarised across the buckets of the multi-bucket
//! aggregation the path's first step names (`avg_bucket`, `sum_bucket`, `min_bucket`,
//! `max_bucket`, `stats_bucket`, `extended_stats_bucket`, `percentiles_bucket`). Buckets
//! without a value are left out.

use serde_json::{json, Map, Value as Json};

use super::super::super::SearchError;
use super::super::metric::spread::{parse_extended_stats, render_extended_stats};
use super::super::metric::MetricKind;
use super::super::options::bad;
use super::super::response::double_text;
use super::{buckets_in_order, number, Pipeline, PipelineKind};

/// `extended_stats_bucket`'s `sigma`, read as `extended_stats` reads it.
pub(super) fn parse_extended_stats_bucket(
    name: &str,
    o: &Map<String, Json>,
) -> Result<PipelineKind, SearchError> {
    match parse_extended_stats(name, o)? {
        MetricKind::ExtendedStats { sigma } => Ok(PipelineKind::ExtendedStatsBucket { sigma }),
        _ => Err(SearchError::Internal(
            "sigma parsed as another metric".into(),
        )),
    }
}

/// The percentiles Elasticsearch gives when none are asked.
const DEFAULT_PERCENTS: [f64; 7] = [1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0];

/// `percentiles_bucket`'s `percents` (each within 0..=100) and `keyed`.
pub(super) fn parse_percentiles_bucket(
    name: &str,
    o: &Map<String, Json>,
) -> Result<PipelineKind, SearchError> {
    let percents = match o.get("percents") {
        None | Some(Json::Null) => DEFAULT_PERCENTS.to_vec(),
        Some(Json::Array(items)) => items
            .iter()
            .map(|p| {
                p.as_f64().filter(|p| (0.0..=100.0).contains(p)).ok_or_else(|| {
                    SearchError::illegal(format!(
                        "[percents] must only contain non-null doubles from 0.0-100.0 inclusive: [{name}]"
                    ))
                })
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad(format!("[percents] of [{name}] must be an array"))),
    };
    Ok(PipelineKind::PercentilesBucket {
        percents,
        keyed: o.get("keyed").and_then(Json::as_bool).unwrap_or(true),
    })
}

/// The value at `percent` of ascending `values` as Elasticsearch picks it for
/// `percentiles_bucket`: the nearest rank, no interpolation.
fn nearest_rank(values: &[f64], percent: f64) -> Option<f64> {
    let last = values.len().checked_sub(1)?;
    let index = ((percent / 100.0) * last as f64).round() as usize;
    values.get(index.min(last)).copied()
}

/// The pipeline's answer from its rendered siblings `out`.
pub(super) fn render(
    pipeline: &Pipeline,
    out: &mut Map<String, Json>,
) -> Result<Map<String, Json>, SearchError> {
    let first = &pipeline.path.steps[0];
    let no_sibling = || {
        SearchError::illegal(format!(
            "No aggregation found for path [{}]: the first step of a sibling pipeline's buckets_path must name a multi-bucket aggregation beside it",
            pipeline.path.text
        ))
    };
    if pipeline.path.steps.len() < 2 {
        return Err(no_sibling());
    }
    let buckets = out
        .get_mut(first)
        .and_then(|agg| agg.get_mut("buckets"))
        .ok_or_else(no_sibling)?;
    let inner = pipeline.path.rest();
    let mut values: Vec<(String, f64)> = Vec::new();
    for bucket in buckets_in_order(buckets) {
        if let Some(value) = inner.value_in(bucket, pipeline.gap_policy)? {
            values.push((key_text(bucket), value));
        }
    }
    let count = values.len();
    let sum: f64 = values.iter().map(|(_, v)| v).sum();
    let mut rendered = Map::new();
    match pipeline.kind {
        PipelineKind::AvgBucket => {
            rendered.insert(
                "value".into(),
                number((count > 0).then(|| sum / count as f64)),
            );
        }
        PipelineKind::SumBucket => {
            rendered.insert("value".into(), number(Some(sum)));
        }
        PipelineKind::MinBucket | PipelineKind::MaxBucket => {
            let best = values
                .iter()
                .map(|(_, v)| *v)
                .reduce(|a, b| match pipeline.kind {
                    PipelineKind::MinBucket => a.min(b),
                    _ => a.max(b),
                });
            let keys: Vec<&str> = values
                .iter()
                .filter(|(_, v)| Some(*v) == best)
                .map(|(k, _)| k.as_str())
                .collect();
            rendered.insert("value".into(), number(best));
            rendered.insert("keys".into(), json!(keys));
        }
        PipelineKind::ExtendedStatsBucket { sigma } => {
            let values: Vec<f64> = values.iter().map(|(_, v)| *v).collect();
            rendered = render_extended_stats(sigma, &values);
        }
        PipelineKind::PercentilesBucket {
            ref percents,
            keyed,
        } => {
            let mut sorted: Vec<f64> = values.iter().map(|(_, v)| *v).collect();
            sorted.sort_by(f64::total_cmp);
            let entries = percents
                .iter()
                .map(|&percent| (percent, number(nearest_rank(&sorted, percent))));
            let values = if keyed {
                Json::Object(
                    entries
                        .map(|(percent, value)| (double_text(percent), value))
                        .collect(),
                )
            } else {
                Json::Array(
                    entries
                        .map(|(percent, value)| json!({ "key": percent, "value": value }))
                        .collect(),
                )
            };
            rendered.insert("values".into(), values);
        }
        _ => {
            let min = values.iter().map(|(_, v)| *v).reduce(f64::min);
            let max = values.iter().map(|(_, v)| *v).reduce(f64::max);
            rendered.insert("count".into(), json!(count));
            rendered.insert("min".into(), number(min));
            rendered.insert("max".into(), number(max));
            rendered.insert(
                "avg".into(),
                number((count > 0).then(|| sum / count as f64)),
            );
            rendered.insert("sum".into(), number(Some(sum)));
        }
    }
    Ok(rendered)
}

/// A bucket's key as Elasticsearch's `getKeyAsString` gives it.
fn key_text(bucket: &Map<String, Json>) -> String {
    if let Some(Json::String(text)) = bucket.get("key_as_string") {
        return text.clone();
    }
    match bucket.get("key") {
        Some(Json::String(key)) => key.clone(),
        Some(Json::Number(n)) if n.is_f64() => format!("{:?}", n.as_f64().unwrap_or(0.0)),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}
