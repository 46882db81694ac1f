//! Pipeline aggregations: computed from other aggregations' answers rather than from
//! documents, as Elasticsearch computes them in its final reduce. They read the response as
//! it is rendered, so a pipeline sees exactly the numbers a client would.
//!
//! - **Parent** pipelines ([`parent`]) sit under a multi-bucket aggregation and add a value
//!   to each of its buckets (`derivative`, `cumulative_sum`, `serial_diff`, `moving_fn`,
//!   `bucket_script`), or reorder, cut or filter them (`bucket_sort`, `bucket_selector`).
//!   The scripts of `bucket_script` and `bucket_selector` are expressions ([`script`]).
//! - **Sibling** pipelines ([`sibling`]) sit beside a multi-bucket aggregation and summarise
//!   one value across its buckets (`avg_bucket`, `sum_bucket`, `min_bucket`, `max_bucket`,
//!   `stats_bucket`, `extended_stats_bucket`, `percentiles_bucket`).
//!
//! A pipeline collects nothing: it travels through collection as a state of no size
//! ([`NoState`]) so that the aggregation tree keeps one shape.

mod moving_functions;
mod parent;
mod script;
mod sibling;

use serde_json::{Map, Value as Json};
use tantivy::DocId;

use self::moving_functions::MovingFunction;
use self::script::Script;
use super::super::SearchError;
use super::intermediate::custom::MergeState;
use super::kind::SegmentState;
use super::options::{bad, options};
use super::{AggKind, AggRequest};

/// A parsed pipeline aggregation.
#[derive(Debug)]
pub struct Pipeline {
    name: String,
    kind: PipelineKind,
    /// `buckets_path`, split at `>`.
    path: BucketsPath,
    gap_policy: GapPolicy,
}

#[derive(Debug)]
enum PipelineKind {
    Derivative {
        unit_ms: Option<f64>,
    },
    CumulativeSum,
    SerialDiff {
        lag: usize,
    },
    MovingFn {
        window: usize,
        shift: i64,
        function: MovingFunction,
    },
    BucketSort {
        sort: Vec<(BucketsPath, bool)>,
        from: usize,
        size: Option<usize>,
    },
    /// A value per bucket computed by a script from named values of the bucket.
    BucketScript {
        vars: Vec<(String, BucketsPath)>,
        script: Script,
    },
    /// The buckets for which a script of named values of the bucket is true.
    BucketSelector {
        vars: Vec<(String, BucketsPath)>,
        script: Script,
    },
    AvgBucket,
    SumBucket,
    MinBucket,
    MaxBucket,
    StatsBucket,
    ExtendedStatsBucket {
        sigma: f64,
    },
    PercentilesBucket {
        percents: Vec<f64>,
        keyed: bool,
    },
}

impl Pipeline {
    /// Whether it must sit under a histogram (the parent pipelines that read buckets in order).
    fn needs_histogram_parent(&self) -> bool {
        matches!(
            self.kind,
            PipelineKind::Derivative { .. }
                | PipelineKind::CumulativeSum
                | PipelineKind::SerialDiff { .. }
                | PipelineKind::MovingFn { .. }
        )
    }

    fn is_parent(&self) -> bool {
        self.needs_histogram_parent()
            || matches!(
                self.kind,
                PipelineKind::BucketSort { .. }
                    | PipelineKind::BucketScript { .. }
                    | PipelineKind::BucketSelector { .. }
            )
    }

    /// Every path it reads: one, or a script's named ones.
    fn paths(&self) -> Vec<&BucketsPath> {
        match &self.kind {
            PipelineKind::BucketScript { vars, .. } | PipelineKind::BucketSelector { vars, .. } => {
                vars.iter().map(|(_, path)| path).collect()
            }
            _ => vec![&self.path],
        }
    }

    fn agg_type(&self) -> &'static str {
        match self.kind {
            PipelineKind::Derivative { .. } => "derivative",
            PipelineKind::CumulativeSum => "cumulative_sum",
            PipelineKind::SerialDiff { .. } => "serial_diff",
            PipelineKind::MovingFn { .. } => "moving_fn",
            PipelineKind::BucketSort { .. } => "bucket_sort",
            PipelineKind::BucketScript { .. } => "bucket_script",
            PipelineKind::BucketSelector { .. } => "bucket_selector",
            PipelineKind::AvgBucket => "avg_bucket",
            PipelineKind::SumBucket => "sum_bucket",
            PipelineKind::MinBucket => "min_bucket",
            PipelineKind::MaxBucket => "max_bucket",
            PipelineKind::StatsBucket => "stats_bucket",
            PipelineKind::ExtendedStatsBucket { .. } => "extended_stats_bucket",
            PipelineKind::PercentilesBucket { .. } => "percentiles_bucket",
        }
    }
}

/// The aggregation types that are pipelines.
pub const TYPES: [&str; 14] = [
    "derivative",
    "bucket_script",
    "bucket_selector",
    "cumulative_sum",
    "serial_diff",
    "moving_fn",
    "bucket_sort",
    "avg_bucket",
    "sum_bucket",
    "min_bucket",
    "max_bucket",
    "stats_bucket",
    "extended_stats_bucket",
    "percentiles_bucket",
];

/// What a pipeline does with a bucket that has no value (Elasticsearch's `gap_policy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GapPolicy {
    /// The bucket is left out of the computation.
    Skip,
    /// The bucket counts as 0.
    InsertZeros,
}

/// A `buckets_path`: aggregation names separated by `>`, the last maybe with a `.value` or
/// `[key]` of a multi-value metric; `_count` and `_key` name a bucket's own count and key.
#[derive(Clone, Debug, PartialEq)]
struct BucketsPath {
    text: String,
    steps: Vec<String>,
    /// `stats.avg`, `percentiles[99.0]`, `percentiles.99`: the value of a multi-value metric.
    property: Option<String>,
}

impl BucketsPath {
    fn parse(text: &str) -> Result<BucketsPath, SearchError> {
        let mut steps: Vec<String> = text.split('>').map(str::to_owned).collect();
        let last = steps.pop().unwrap_or_default();
        let (name, property) = if let Some((name, rest)) = last.split_once('[') {
            let key = rest
                .strip_suffix(']')
                .ok_or_else(|| bad(format!("invalid buckets_path [{text}]")))?;
            (name.to_owned(), Some(key.to_owned()))
        } else if let Some((name, property)) = last.split_once('.') {
            (name.to_owned(), Some(property.to_owned()))
        } else {
            (last, None)
        };
        steps.push(name);
        if steps.iter().any(String::is_empty) {
            return Err(bad(format!("invalid buckets_path [{text}]")));
        }
        Ok(BucketsPath {
            text: text.to_owned(),
            steps,
            property,
        })
    }

    /// The path without its first step (a sibling pipeline's path inside each bucket).
    fn rest(&self) -> BucketsPath {
        BucketsPath {
            text: self.text.clone(),
            steps: self.steps[1..].to_vec(),
            property: self.property.clone(),
        }
    }

    /// The number the path names in a rendered bucket, `None` when it has none (a metric of
    /// no documents), with Elasticsearch's gap policy applied: in an empty bucket, a metric
    /// is a gap whatever its value; `_count` never is.
    fn value_in(
        &self,
        bucket: &Map<String, Json>,
        gap: GapPolicy,
    ) -> Result<Option<f64>, SearchError> {
        let raw = self.raw_value(bucket)?;
        let is_count = self.steps == ["_count"] && self.property.is_none();
        let doc_count = bucket.get("doc_count").and_then(Json::as_f64);
        let is_gap = raw.is_none_or(|v| !v.is_finite()) || (doc_count == Some(0.0) && !is_count);
        Ok(match (is_gap, gap) {
            (false, _) => raw,
            (true, GapPolicy::InsertZeros) => Some(0.0),
            (true, GapPolicy::Skip) => None,
        })
    }

    fn raw_value(&self, bucket: &Map<String, Json>) -> Result<Option<f64>, SearchError> {
        let mut at = bucket;
        let (last, inner) = self.steps.split_last().expect("a path has a step");
        for step in inner {
            at = at
                .get(step)
                .and_then(Json::as_object)
                .filter(|agg| agg.contains_key("doc_count") && !agg.contains_key("buckets"))
                .ok_or_else(|| {
                    self.error(&format!("[{step}] is not a single-bucket aggregation"))
                })?;
        }
        match last.as_str() {
            "_count" => return Ok(at.get("doc_count").and_then(Json::as_f64)),
            "_key" => return Ok(at.get("key").and_then(Json::as_f64)),
            _ => {}
        }
        // The path's names were checked when parsed: one missing here is a pipeline's output
        // that this bucket has none of (a derivative's first bucket).
        let Some(agg) = at.get(last).and_then(Json::as_object) else {
            return Ok(None);
        };
        if agg.contains_key("buckets") {
            return Err(self.error(&format!("[{last}] is a multi-bucket aggregation")));
        }
        let number = |v: Option<&Json>| match v {
            Some(Json::Null) => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| self.error(&format!("[{last}] is not a number"))),
            None => Err(self.error(&format!(
                "[{last}] contains multiple values. Please specify which to use"
            ))),
        };
        match &self.property {
            None if agg.contains_key("value") => number(agg.get("value")),
            None => number(None),
            Some(property) => {
                if let Some(value) = agg.get(property.as_str()) {
                    return number(Some(value));
                }
                // Percentiles: `99` and `99.0` both name the key `99.0`.
                let values = agg.get("values").and_then(Json::as_object);
                let as_double = property.parse::<f64>().ok().map(|p| format!("{p:?}"));
                let found = values.and_then(|values| {
                    values
                        .get(property.as_str())
                        .or_else(|| as_double.and_then(|key| values.get(&key)))
                });
                match found {
                    Some(value) => number(Some(value)),
                    None => Err(self.error(&format!("[{last}] has no value [{property}]"))),
                }
            }
        }
    }

    fn error(&self, why: &str) -> SearchError {
        SearchError::illegal(format!(
            "buckets_path [{}] must reference either a number value or a single value numeric metric aggregation: {why}",
            self.text
        ))
    }
}

/// Parses a pipeline aggregation of type `agg_type` (one of [`TYPES`]).
pub fn parse(name: &str, agg_type: &str, value: &Json) -> Result<AggKind, SearchError> {
    let allowed: &[&str] = match agg_type {
        "derivative" => &["buckets_path", "gap_policy", "unit", "format"],
        "cumulative_sum" => &["buckets_path", "format"],
        "serial_diff" => &["buckets_path", "gap_policy", "lag", "format"],
        "moving_fn" => &[
            "buckets_path",
            "gap_policy",
            "window",
            "shift",
            "script",
            "format",
        ],
        "bucket_sort" => &["sort", "from", "size", "gap_policy"],
        "bucket_script" => &["buckets_path", "script", "gap_policy", "format"],
        "bucket_selector" => &["buckets_path", "script", "gap_policy"],
        "extended_stats_bucket" => &["buckets_path", "gap_policy", "format", "sigma"],
        "percentiles_bucket" => &["buckets_path", "gap_policy", "format", "percents", "keyed"],
        _ => &["buckets_path", "gap_policy", "format"],
    };
    let o = options(name, agg_type, value, allowed)?;
    if o.contains_key("format") {
        return Err(SearchError::unsupported(format!(
            "[format] of [{agg_type}] aggregation [{name}] is not supported by the embedded engine"
        )));
    }
    let gap_policy = match o.get("gap_policy").map(|g| g.as_str()) {
        None => GapPolicy::Skip,
        Some(Some("skip")) => GapPolicy::Skip,
        Some(Some("insert_zeros")) => GapPolicy::InsertZeros,
        Some(other) => {
            return Err(bad(format!(
                "[gap_policy] must be [skip] or [insert_zeros], not [{}]",
                other.unwrap_or("a string")
            )))
        }
    };
    let scripted = matches!(agg_type, "bucket_script" | "bucket_selector");
    let vars = if scripted {
        named_paths(name, o.get("buckets_path"))?
    } else {
        Vec::new()
    };
    let path = match o.get("buckets_path") {
        _ if scripted => vars[0].1.clone(),
        Some(Json::String(path)) => BucketsPath::parse(path)?,
        None if agg_type == "bucket_sort" => BucketsPath::parse("_count")?,
        Some(_) => {
            return Err(SearchError::unsupported(format!(
                "[buckets_path] of [{agg_type}] aggregation [{name}] must be one path; several are not supported by the embedded engine"
            )))
        }
        None => {
            return Err(SearchError::illegal(format!(
                "[buckets_path] must be set for aggregation [{name}]"
            )))
        }
    };
    let positive = |key: &str, default: Option<u64>| -> Result<usize, SearchError> {
        match o.get(key).map(Json::as_i64) {
            None => default.map(|d| d as usize).ok_or_else(|| {
                SearchError::illegal(format!("[{key}] must be set for aggregation [{name}]"))
            }),
            Some(Some(n)) if n > 0 => Ok(n as usize),
            Some(_) => Err(SearchError::illegal(format!(
                "[{key}] must be a positive integer: [{name}]"
            ))),
        }
    };
    let kind = match agg_type {
        "derivative" => PipelineKind::Derivative {
            unit_ms: match o.get("unit").and_then(Json::as_str) {
                None => None,
                Some(unit) => Some(parent::unit_ms(unit)?),
            },
        },
        "cumulative_sum" => PipelineKind::CumulativeSum,
        "serial_diff" => PipelineKind::SerialDiff {
            lag: positive("lag", Some(1))?,
        },
        "moving_fn" => PipelineKind::MovingFn {
            window: positive("window", None)?,
            shift: o.get("shift").and_then(Json::as_i64).unwrap_or(0),
            function: MovingFunction::parse(o.get("script"))?,
        },
        "bucket_sort" => parent::parse_bucket_sort(name, o)?,
        "bucket_script" => PipelineKind::BucketScript {
            script: Script::parse(agg_type, o.get("script"))?,
            vars,
        },
        "bucket_selector" => PipelineKind::BucketSelector {
            script: Script::parse(agg_type, o.get("script"))?,
            vars,
        },
        "avg_bucket" => PipelineKind::AvgBucket,
        "sum_bucket" => PipelineKind::SumBucket,
        "min_bucket" => PipelineKind::MinBucket,
        "max_bucket" => PipelineKind::MaxBucket,
        "extended_stats_bucket" => sibling::parse_extended_stats_bucket(name, o)?,
        "percentiles_bucket" => sibling::parse_percentiles_bucket(name, o)?,
        _ => PipelineKind::StatsBucket,
    };
    Ok(AggKind::Pipeline(Box::new(Pipeline {
        name: name.to_owned(),
        kind,
        path,
        gap_policy,
    })))
}

/// A scripted pipeline's `buckets_path`: an object of paths by variable name, or one path
/// (`_value0`) or an array of them (`_value0`, `_value1`…).
fn named_paths(
    name: &str,
    value: Option<&Json>,
) -> Result<Vec<(String, BucketsPath)>, SearchError> {
    let named: Vec<(String, &Json)> = match value {
        Some(Json::Object(paths)) => paths.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Some(Json::Array(paths)) => paths
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("_value{i}"), v))
            .collect(),
        Some(path @ Json::String(_)) => vec![("_value0".to_owned(), path)],
        _ => Vec::new(),
    };
    if named.is_empty() {
        return Err(SearchError::illegal(format!(
            "[buckets_path] must be set for aggregation [{name}]"
        )));
    }
    named
        .into_iter()
        .map(|(var, path)| {
            let path = path
                .as_str()
                .ok_or_else(|| bad(format!("[buckets_path] of [{name}] must name paths")))?;
            Ok((var, BucketsPath::parse(path)?))
        })
        .collect()
}

/// Refuses pipelines placed where Elasticsearch refuses them: one that reads buckets in order
/// anywhere but under a histogram, a parent pipeline at the top, a sibling one under a bucket
/// it cannot see beside.
pub fn check_placement(
    parent: Option<&AggKind>,
    children: &[AggRequest],
) -> Result<(), SearchError> {
    for child in children {
        let AggKind::Pipeline(pipeline) = &child.kind else {
            continue;
        };
        let histogram = matches!(
            parent,
            Some(AggKind::Histogram(_) | AggKind::DateHistogram(_))
        );
        let multi_bucket = histogram
            || matches!(
                parent,
                Some(
                    AggKind::Terms(_)
                        | AggKind::SignificantTerms(_)
                        | AggKind::MultiTerms(_)
                        | AggKind::Composite(_)
                        | AggKind::Range(_)
                        | AggKind::Filters(_)
                        | AggKind::IpPrefix(_)
                )
            );
        if pipeline.needs_histogram_parent() && !histogram {
            return Err(SearchError::illegal(format!(
                "{} aggregation [{}] must have a histogram, date_histogram or auto_date_histogram as parent",
                pipeline.agg_type(),
                pipeline.name
            )));
        }
        if pipeline.is_parent() && !multi_bucket {
            return Err(SearchError::illegal(format!(
                "{} aggregation [{}] must be declared inside of another aggregation",
                pipeline.agg_type(),
                pipeline.name
            )));
        }
        // Each path's first step names a bucket's own count or key (parents), or an
        // aggregation declared beside the pipeline.
        let found = pipeline.paths().iter().all(|path| {
            let first = &path.steps[0];
            let own = pipeline.is_parent() && (first == "_count" || first == "_key");
            own || children
                .iter()
                .any(|c| &c.name == first && c.name != pipeline.name)
        });
        let sorts_known = match &pipeline.kind {
            PipelineKind::BucketSort { sort, .. } => sort.iter().all(|(path, _)| {
                let first = &path.steps[0];
                first == "_count" || first == "_key" || children.iter().any(|c| &c.name == first)
            }),
            _ => true,
        };
        if !found || !sorts_known {
            return Err(SearchError::illegal(format!(
                "No aggregation found for path [{}] of [{}] aggregation [{}]",
                pipeline.path.text,
                pipeline.agg_type(),
                pipeline.name
            )));
        }
    }
    Ok(())
}

/// Applies the parent pipelines among `request`'s children to its rendered buckets, those
/// that read others' output after them.
pub fn apply_parents(request: &AggRequest, out: &mut Map<String, Json>) -> Result<(), SearchError> {
    let pipelines: Vec<&Pipeline> = request
        .children
        .iter()
        .filter_map(|child| match &child.kind {
            AggKind::Pipeline(p) if p.is_parent() => Some(p.as_ref()),
            _ => None,
        })
        .collect();
    for pipeline in in_dependency_order(&pipelines) {
        let Some(buckets) = out.get_mut("buckets") else {
            continue;
        };
        parent::apply(pipeline, buckets)?;
    }
    Ok(())
}

/// Adds the sibling pipelines among `children` to `out`, where their siblings are rendered.
pub fn apply_siblings(
    children: &[AggRequest],
    out: &mut Map<String, Json>,
) -> Result<(), SearchError> {
    let pipelines: Vec<&Pipeline> = children
        .iter()
        .filter_map(|child| match &child.kind {
            AggKind::Pipeline(p) if !p.is_parent() => Some(p.as_ref()),
            _ => None,
        })
        .collect();
    for pipeline in in_dependency_order(&pipelines) {
        let rendered = sibling::render(pipeline, out)?;
        out.insert(pipeline.name.clone(), Json::Object(rendered));
    }
    Ok(())
}

/// Pipelines that read another's output come after it.
fn in_dependency_order<'a>(pipelines: &[&'a Pipeline]) -> Vec<&'a Pipeline> {
    let mut ordered: Vec<&Pipeline> = Vec::with_capacity(pipelines.len());
    let mut left: Vec<&Pipeline> = pipelines.to_vec();
    while !left.is_empty() {
        let ready = left.iter().position(|p| {
            !left.iter().any(|other| {
                other.name != p.name
                    && p.paths()
                        .iter()
                        .any(|path| path.steps.first() == Some(&other.name))
            })
        });
        // A cycle is applied as declared; its paths then find nothing and say so.
        ordered.push(left.remove(ready.unwrap_or(0)));
    }
    ordered
}

/// The rendered buckets of a multi-bucket answer, in order (arrays and keyed objects alike).
fn buckets_in_order(buckets: &mut Json) -> Vec<&mut Map<String, Json>> {
    match buckets {
        Json::Array(items) => items.iter_mut().filter_map(Json::as_object_mut).collect(),
        Json::Object(keyed) => keyed.values_mut().filter_map(Json::as_object_mut).collect(),
        _ => Vec::new(),
    }
}

/// `{"value": v}`, `null` for no value, as Elasticsearch renders a single value.
fn simple_value(value: Option<f64>) -> Json {
    let mut out = Map::new();
    out.insert("value".into(), number(value));
    Json::Object(out)
}

fn number(value: Option<f64>) -> Json {
    value
        .filter(|v| v.is_finite())
        .and_then(serde_json::Number::from_f64)
        .map_or(Json::Null, Json::Number)
}

/// A pipeline's state while documents are collected: nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct NoState;

impl MergeState for NoState {
    fn merge(&mut self, _other: Self) {}
}

impl SegmentState for NoState {
    type State = NoState;

    #[inline]
    fn collect(&mut self, _doc: DocId) {}

    fn harvest(self) -> NoState {
        NoState
    }
}
