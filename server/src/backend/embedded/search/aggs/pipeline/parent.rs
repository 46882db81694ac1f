//! Parent pipelines: a value added to each bucket of the histogram they sit under
//! (`derivative`, `cumulative_sum`, `serial_diff`, `moving_fn`), or the buckets sorted and
//! cut (`bucket_sort`).

use std::cmp::Ordering;
use std::collections::{HashMap, VecDeque};

use serde_json::{Map, Value as Json};

use super::super::super::SearchError;
use super::super::options::{bad, usize_option};
use super::script::{Script, Value};
use super::{
    buckets_in_order, number, simple_value, BucketsPath, GapPolicy, Pipeline, PipelineKind,
};

/// How many window values all of a `moving_fn`'s buckets may read together: a window of a
/// thousand over fifty thousand buckets, far past any chart.
const MAX_WINDOW_READS: usize = 50_000_000;

/// A `derivative`'s `unit` in milliseconds: `1s`, `5m`, `second`, `day`…
pub(super) fn unit_ms(unit: &str) -> Result<f64, SearchError> {
    let named = match unit {
        "second" | "1s" => Some(1_000.0),
        "minute" | "1m" => Some(60_000.0),
        "hour" | "1h" => Some(3_600_000.0),
        "day" | "1d" => Some(86_400_000.0),
        "week" | "1w" => Some(7.0 * 86_400_000.0),
        _ => None,
    };
    if let Some(ms) = named {
        return Ok(ms);
    }
    let digits = unit.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let scale = match &unit[digits.len()..] {
        "ms" => 1.0,
        "s" => 1_000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        _ => return Err(bad(format!("failed to parse derivative [unit] [{unit}]"))),
    };
    digits
        .parse::<f64>()
        .ok()
        .filter(|n| *n > 0.0)
        .map(|n| n * scale)
        .ok_or_else(|| bad(format!("failed to parse derivative [unit] [{unit}]")))
}

pub(super) fn parse_bucket_sort(
    name: &str,
    o: &Map<String, Json>,
) -> Result<PipelineKind, SearchError> {
    let mut sort = Vec::new();
    let entries = match o.get("sort") {
        None => Vec::new(),
        Some(Json::Array(entries)) => entries.clone(),
        Some(one) => vec![one.clone()],
    };
    for entry in entries {
        let (path, descending) = match &entry {
            Json::String(path) => (path.clone(), false),
            Json::Object(spec) if spec.len() == 1 => {
                let (path, order) = spec.iter().next().expect("one entry");
                let order = match order {
                    Json::String(order) => order.as_str(),
                    Json::Object(o) => o.get("order").and_then(Json::as_str).unwrap_or("asc"),
                    _ => "asc",
                };
                match order {
                    "asc" => (path.clone(), false),
                    "desc" => (path.clone(), true),
                    other => return Err(bad(format!("unknown sort order [{other}] in [{name}]"))),
                }
            }
            other => return Err(bad(format!("invalid [sort] entry {other} in [{name}]"))),
        };
        sort.push((BucketsPath::parse(&path)?, descending));
    }
    let size = match o.get("size") {
        None | Some(Json::Null) => None,
        Some(_) => Some(usize_option(o, "size", 0)?),
    };
    if size == Some(0) {
        return Err(SearchError::illegal(format!(
            "[size] must be a positive integer: [{name}]"
        )));
    }
    Ok(PipelineKind::BucketSort {
        sort,
        from: usize_option(o, "from", 0)?,
        size,
    })
}

/// Applies a parent pipeline to its parent's rendered `buckets`.
pub(super) fn apply(pipeline: &Pipeline, buckets: &mut Json) -> Result<(), SearchError> {
    match &pipeline.kind {
        PipelineKind::BucketSort { sort, from, size } => {
            return bucket_sort(pipeline, buckets, sort, *from, *size)
        }
        PipelineKind::BucketScript { vars, script } => {
            return bucket_script(pipeline, buckets, vars, script)
        }
        PipelineKind::BucketSelector { vars, script } => {
            return bucket_selector(pipeline, buckets, vars, script)
        }
        _ => {}
    }
    let mut rows = buckets_in_order(buckets);
    let values = rows
        .iter()
        .map(|bucket| pipeline.path.value_in(bucket, pipeline.gap_policy))
        .collect::<Result<Vec<_>, _>>()?;
    let outputs: Vec<Option<Json>> = match &pipeline.kind {
        PipelineKind::Derivative { unit_ms } => {
            let keys: Vec<Option<f64>> = rows
                .iter()
                .map(|b| b.get("key").and_then(Json::as_f64))
                .collect();
            derivative(&values, &keys, *unit_ms)
        }
        PipelineKind::CumulativeSum => {
            // Gaps add nothing, whatever the policy (Elasticsearch inserts zeros).
            let mut sum = 0.0;
            rows.iter()
                .map(|bucket| {
                    let value = pipeline.path.value_in(bucket, GapPolicy::InsertZeros)?;
                    sum += value.unwrap_or(0.0);
                    Ok(Some(simple_value(Some(sum))))
                })
                .collect::<Result<_, SearchError>>()?
        }
        PipelineKind::SerialDiff { lag } => {
            // The lag is a request's number: the window never holds more than the buckets.
            let mut window: VecDeque<Option<f64>> =
                VecDeque::with_capacity((*lag).min(values.len()));
            values
                .iter()
                .map(|value| {
                    let lagged = if window.len() == *lag {
                        window.pop_front().flatten()
                    } else {
                        None
                    };
                    window.push_back(*value);
                    match (value, lagged) {
                        (Some(v), Some(l)) => Some(simple_value(Some(v - l))),
                        _ => None,
                    }
                })
                .collect()
        }
        PipelineKind::MovingFn {
            window,
            shift,
            function,
        } => {
            // The window runs over the buckets that have a value, before this one (`shift`
            // moves it forward), and buckets without one get nothing.
            let present: Vec<f64> = values.iter().flatten().copied().collect();
            // Each bucket reads its window: bound the work as a search's buckets are bounded.
            let work = present.len().saturating_mul((*window).min(present.len()));
            if work > MAX_WINDOW_READS {
                return Err(SearchError::illegal(format!(
                    "moving_fn [{}] would read {work} values ({} buckets, window {window}); at most {MAX_WINDOW_READS}",
                    pipeline.name,
                    present.len()
                )));
            }
            // `window` and `shift` are a request's numbers: saturate rather than overflow.
            let clamp = |i: i64| i.clamp(0, present.len() as i64) as usize;
            let window = i64::try_from(*window).unwrap_or(i64::MAX);
            let mut index = 0i64;
            values
                .iter()
                .map(|value| {
                    value.map(|_| {
                        let from = clamp(index.saturating_sub(window).saturating_add(*shift));
                        let to = clamp(index.saturating_add(*shift));
                        index += 1;
                        simple_value(Some(function.apply(&present[from..to.max(from)])))
                    })
                })
                .collect()
        }
        _ => return Ok(()),
    };
    for (bucket, output) in rows.iter_mut().zip(outputs) {
        if let Some(output) = output {
            bucket.insert(pipeline.name.clone(), output);
        }
    }
    Ok(())
}

/// Each bucket's change from the one before; none for the first, and `null` across a gap.
fn derivative(
    values: &[Option<f64>],
    keys: &[Option<f64>],
    unit_ms: Option<f64>,
) -> Vec<Option<Json>> {
    let mut outputs = Vec::with_capacity(values.len());
    let mut last: Option<(Option<f64>, Option<f64>)> = None;
    for (value, key) in values.iter().zip(keys) {
        outputs.push(last.map(|(last_value, last_key)| {
            let gradient = match (value, last_value) {
                (Some(v), Some(l)) => Some(v - l),
                _ => None,
            };
            let mut out = Map::new();
            out.insert("value".into(), number(gradient));
            if let (Some(unit), Some(key), Some(last_key)) = (unit_ms, key, last_key) {
                let steps = (key - last_key) / unit;
                out.insert(
                    "normalized_value".into(),
                    number(gradient.map(|g| g / steps)),
                );
            }
            Json::Object(out)
        }));
        last = Some((*value, *key));
    }
    outputs
}

/// Sorts the buckets by the values the paths name (stably, first path first), then keeps
/// `size` of them from `from`. Under `skip`, buckets without a sort value are dropped.
fn bucket_sort(
    pipeline: &Pipeline,
    buckets: &mut Json,
    sort: &[(BucketsPath, bool)],
    from: usize,
    size: Option<usize>,
) -> Result<(), SearchError> {
    /// A bucket's sort values: a number, or a key read as it is.
    type Keys = Vec<Option<Json>>;
    let keys_of = |bucket: &Map<String, Json>| -> Result<Keys, SearchError> {
        sort.iter()
            .map(|(path, _)| {
                if path.steps == ["_key"] && path.property.is_none() {
                    return Ok(bucket.get("key").cloned());
                }
                Ok(path
                    .value_in(bucket, pipeline.gap_policy)?
                    .map(|v| number(Some(v))))
            })
            .collect()
    };
    let compare = |a: &Keys, b: &Keys| -> Ordering {
        for ((x, y), (_, descending)) in a.iter().zip(b).zip(sort) {
            let order = match (x, y) {
                (Some(Json::Number(x)), Some(Json::Number(y))) => x
                    .as_f64()
                    .unwrap_or(0.0)
                    .total_cmp(&y.as_f64().unwrap_or(0.0)),
                (Some(x), Some(y)) => x.to_string().cmp(&y.to_string()),
                (x, y) => x.is_none().cmp(&y.is_none()),
            };
            let order = if *descending { order.reverse() } else { order };
            if order != Ordering::Equal {
                return order;
            }
        }
        Ordering::Equal
    };
    let take = |mut rows: Vec<(Keys, Json)>| -> Vec<(Keys, Json)> {
        if pipeline.gap_policy == GapPolicy::Skip {
            rows.retain(|(keys, _)| keys.iter().all(Option::is_some));
        }
        rows.sort_by(|a, b| compare(&a.0, &b.0));
        rows.into_iter()
            .skip(from)
            .take(size.unwrap_or(usize::MAX))
            .collect()
    };
    match buckets {
        Json::Array(items) => {
            let rows = std::mem::take(items)
                .into_iter()
                .map(|b| Ok((keys_of(b.as_object().unwrap_or(&Map::new()))?, b)))
                .collect::<Result<Vec<_>, SearchError>>()?;
            *items = take(rows).into_iter().map(|(_, b)| b).collect();
        }
        Json::Object(keyed) => {
            let rows = std::mem::take(keyed)
                .into_iter()
                .map(|(k, b)| {
                    let keys = keys_of(b.as_object().unwrap_or(&Map::new()))?;
                    Ok((keys, Json::Array(vec![Json::String(k), b])))
                })
                .collect::<Result<Vec<_>, SearchError>>()?;
            for (_, pair) in take(rows) {
                if let Json::Array(mut pair) = pair {
                    let bucket = pair.pop().unwrap_or(Json::Null);
                    if let Some(Json::String(key)) = pair.pop() {
                        keyed.insert(key, bucket);
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// A bucket's values by a scripted pipeline's variable names: a gap is NaN under `skip` (as
/// Elasticsearch passes it), 0 under `insert_zeros`.
fn script_vars(
    pipeline: &Pipeline,
    bucket: &Map<String, Json>,
    vars: &[(String, BucketsPath)],
) -> Result<HashMap<String, f64>, SearchError> {
    vars.iter()
        .map(|(name, path)| {
            let value = path.value_in(bucket, pipeline.gap_policy)?;
            Ok((name.clone(), value.unwrap_or(f64::NAN)))
        })
        .collect()
}

/// `bucket_script`: the script's number in each bucket; a bucket with a gap under `skip`,
/// or whose script answers null, gets none.
fn bucket_script(
    pipeline: &Pipeline,
    buckets: &mut Json,
    vars: &[(String, BucketsPath)],
    script: &Script,
) -> Result<(), SearchError> {
    for bucket in buckets_in_order(buckets) {
        let values = script_vars(pipeline, bucket, vars)?;
        if pipeline.gap_policy == GapPolicy::Skip && values.values().any(|v| v.is_nan()) {
            continue;
        }
        let value = match script.run(&values)? {
            Value::Null => continue,
            Value::Int(i) => i as f64,
            Value::Double(d) => d,
            Value::Bool(_) => {
                return Err(SearchError::illegal(format!(
                    "series_arithmetic script for reducer [{}] must return a Number",
                    pipeline.name
                )))
            }
        };
        bucket.insert(pipeline.name.clone(), simple_value(Some(value)));
    }
    Ok(())
}

/// `bucket_selector`: keeps the buckets for which the script is true.
fn bucket_selector(
    pipeline: &Pipeline,
    buckets: &mut Json,
    vars: &[(String, BucketsPath)],
    script: &Script,
) -> Result<(), SearchError> {
    let keep = |bucket: &Map<String, Json>| -> Result<bool, SearchError> {
        match script.run(&script_vars(pipeline, bucket, vars)?)? {
            Value::Bool(keep) => Ok(keep),
            // The `expression` language answers numbers: 0 is false.
            Value::Int(n) => Ok(n != 0),
            Value::Double(n) => Ok(n != 0.0),
            other => Err(SearchError::illegal(format!(
                "bucket_selector script for [{}] must return a boolean, not {other:?}",
                pipeline.name
            ))),
        }
    };
    match buckets {
        Json::Array(items) => {
            let mut kept = Vec::with_capacity(items.len());
            for item in std::mem::take(items) {
                if item.as_object().map(keep).transpose()?.unwrap_or(true) {
                    kept.push(item);
                }
            }
            *items = kept;
        }
        Json::Object(keyed) => {
            let mut kept = Map::new();
            for (key, item) in std::mem::take(keyed) {
                if item.as_object().map(keep).transpose()?.unwrap_or(true) {
                    kept.insert(key, item);
                }
            }
            *keyed = kept;
        }
        _ => {}
    }
    Ok(())
}
