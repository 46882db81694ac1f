//! Sibling pipelines: one value summarised across the buckets of the multi-bucket
//! aggregation the path's first step names (`avg_bucket`, `sum_bucket`, `min_bucket`,
//! `max_bucket`, `stats_bucket`). Buckets without a value are left out.

use serde_json::{json, Map, Value as Json};

use super::super::super::SearchError;
use super::{buckets_in_order, number, Pipeline, PipelineKind};

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
