//! Kibana visualizations (visState) into flowdash's, on an index pattern or a saved search.

use app::model::filter::{QueryLanguage, QueryText};
use app::model::measure::{AxisTitles, Measure, ValueAxis, MAX_LABEL_CHARS, MAX_METRICS};
use app::model::saved_object::{ObjectType, Reference};
use app::model::search::SavedSearch;
use app::model::visualization::{
    Bucket, BucketAgg, BucketRole, BucketStat, ChartKind, ChartOptions, DateRangeSpec, Interval,
    IpRangeSpec, LegendPosition, Metric, NamedFilter, NumberRange, ParentPipeline, TermsOrder,
    TopHitCombine, Visualization, MAX_TOP_HITS, VISUALIZATION_VERSION,
};
use serde_json::{json, Value};

use super::filters::kibana_filters;
use super::saved_search::base_search;
use super::{kibana_query, search_source, text, ImportContext};

/// A Kibana visualization with its references → flowdash's, and the id of the index pattern
/// it searches when known. One built on a saved search (`savedSearchRefName`) searches that
/// search's index pattern with its query and filters as well as its own.
pub(super) async fn convert_visualization(
    attributes: &Value,
    references: &[Reference],
    context: &ImportContext<'_>,
    warnings: &mut Vec<String>,
) -> Result<(Visualization, Option<String>), String> {
    if let Some(name) = attributes.get("savedSearchRefName").and_then(Value::as_str) {
        let reference = references
            .iter()
            .find(|r| r.name == name && r.object_type == ObjectType::Search)
            .ok_or_else(|| {
                format!("is built on the saved search [{name}], which its references do not name")
            })?;
        let (search, index_id) = base_search(&reference.id, context, warnings).await?;
        let mut vis = kibana_visualization(attributes, &search.index_pattern, warnings)?;
        build_on(&mut vis, &reference.id, &search, warnings);
        return Ok((vis, index_id));
    }
    let index_ref = references
        .iter()
        .find(|r| r.object_type == ObjectType::IndexPattern)
        .ok_or("a Kibana visualization without an index pattern or saved search reference")?;
    let index_title = context.index_pattern_title(&index_ref.id).await?;
    let vis = kibana_visualization(attributes, &index_title, warnings)?;
    Ok((vis, Some(index_ref.id.clone())))
}

/// Links a visualization to the saved search it is built on: it runs with the search's query
/// and filters (`app::model::search::with_saved_search`), so editing the search changes it.
fn build_on(vis: &mut Visualization, id: &str, search: &SavedSearch, warnings: &mut Vec<String>) {
    vis.saved_search = Some(id.to_owned());
    if search.query.and(&vis.query).is_none() {
        warnings.push(format!(
            "the query of saved search {} and the visualization's own are in different languages: it will not draw until one is changed",
            search.title
        ));
    }
}

/// Kibana's visState (pie, line, area, histogram, horizontal_bar, metric, table) → a flowdash
/// visualization.
fn kibana_visualization(
    attributes: &Value,
    index_title: &str,
    warnings: &mut Vec<String>,
) -> Result<Visualization, String> {
    let state: Value = attributes
        .get("visState")
        .and_then(Value::as_str)
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| format!("visState is not JSON: {e}"))?
        .ok_or("no visState")?;
    let kind = match state
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
    {
        "pie" => ChartKind::Pie,
        "line" => ChartKind::Line,
        "area" => ChartKind::Area,
        "histogram" => ChartKind::Bar,
        "horizontal_bar" => ChartKind::HorizontalBar,
        "heatmap" => ChartKind::Heatmap,
        "metric" => ChartKind::Metric,
        "table" => ChartKind::Table,
        other => {
            return Err(format!(
                "Kibana visualization type [{other}] is not supported"
            ))
        }
    };
    let aggs = state
        .get("aggs")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let vis_params = state.get("params").cloned().unwrap_or(json!({}));
    let mut metrics: Vec<Measure> = Vec::new();
    // The Kibana id of each metric, which a terms split names to rank by it.
    let mut metric_ids: Vec<&str> = Vec::new();
    let mut buckets = Vec::new();
    for agg in &aggs {
        let agg_type = agg.get("type").and_then(Value::as_str).unwrap_or_default();
        let schema = agg
            .get("schema")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let params = agg.get("params").cloned().unwrap_or(json!({}));
        let field = params
            .get("field")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if agg.get("enabled").and_then(Value::as_bool) == Some(false) {
            warnings.push(format!(
                "disabled aggregation {agg_type} ({schema}) was left out"
            ));
            continue;
        }
        match schema {
            "metric" => {
                let one_only = matches!(kind, ChartKind::Pie | ChartKind::Heatmap);
                if (one_only && !metrics.is_empty()) || metrics.len() == MAX_METRICS {
                    warnings.push(format!(
                        "a {} chart draws {}; {agg_type} on {} was left out",
                        kind.label(),
                        if one_only {
                            "one metric".to_owned()
                        } else {
                            format!("{MAX_METRICS} metrics")
                        },
                        field.as_deref().unwrap_or("-")
                    ));
                    continue;
                }
                let series = series_params(&vis_params, agg);
                if series.get("show") == Some(&json!(false)) {
                    warnings.push(format!(
                        "{agg_type} on {} is hidden in Kibana and was left out",
                        field.as_deref().unwrap_or("-")
                    ));
                    continue;
                }
                let (base_type, base_params, pipeline) = match parent_pipeline(agg_type, &params) {
                    Some(found) => {
                        let (base_type, base_params) = pipeline_base(&params, &aggs);
                        (base_type, base_params, Some(found))
                    }
                    None => (agg_type.to_owned(), params.clone(), None),
                };
                let axis = match value_axis_of(&vis_params, &series) {
                    Some("right")
                        if matches!(kind, ChartKind::Line | ChartKind::Area | ChartKind::Bar) =>
                    {
                        ValueAxis::Right
                    }
                    _ => ValueAxis::Left,
                };
                // One flowdash cannot compute is left out, its label with it, never drawn as
                // a count under the name of something else.
                let Some(metric) = kibana_metric(&base_type, &base_params, warnings)? else {
                    continue;
                };
                // Kibana draws nothing for text in a chart; flowdash refuses to save such a chart.
                if metric.may_be_text() && !matches!(kind, ChartKind::Table | ChartKind::Metric) {
                    warnings.push(format!(
                        "{} is text, which a {} chart cannot draw; it was left out",
                        metric.label(),
                        kind.label()
                    ));
                    continue;
                }
                if pipeline.is_some() && matches!(metric, Metric::TopHit { .. }) {
                    warnings.push(format!(
                        "{agg_type} of {} runs over numbers, not a flow's value; it was left out",
                        metric.label()
                    ));
                    continue;
                }
                metric_ids.push(agg.get("id").and_then(Value::as_str).unwrap_or_default());
                metrics.push(Measure {
                    metric,
                    label: params
                        .get("customLabel")
                        .and_then(Value::as_str)
                        .map(|label| label.trim().chars().take(MAX_LABEL_CHARS).collect())
                        .unwrap_or_default(),
                    pipeline,
                    axis,
                    rate: None,
                });
            }
            "segment" | "group" | "bucket" => {
                let role = match (kind, schema) {
                    (ChartKind::Pie, _) => BucketRole::SplitSlices,
                    (ChartKind::Table, _) => BucketRole::Rows,
                    (_, "group") => BucketRole::SplitSeries,
                    _ => BucketRole::XAxis,
                };
                let Some(agg) = kibana_bucket(agg_type, &params, warnings)? else {
                    continue;
                };
                buckets.push(Bucket { role, agg });
            }
            "split" => warnings.push(
                "split charts (small multiples) are not supported; the split was left out".into(),
            ),
            other => warnings.push(format!("aggregation schema [{other}] was left out")),
        }
    }
    rank_terms_by(&aggs, &mut metrics, &metric_ids, warnings);
    if metrics.is_empty() {
        warnings.push("no metric could be kept; the chart counts flows".into());
        metrics.push(Measure::default());
    }
    let mut options = ChartOptions {
        axis_titles: axis_titles(&vis_params, &metrics, &buckets),
        ..ChartOptions::default()
    };
    if let Some(donut) = vis_params.get("isDonut").and_then(Value::as_bool) {
        options.donut = donut;
    }
    if let Some(show) = vis_params.pointer("/labels/show").and_then(Value::as_bool) {
        options.show_labels = show;
    }
    // Kibana keeps partial buckets unless the date histogram says `drop_partials`.
    options.drop_partial_buckets = aggs.iter().any(|agg| {
        agg.get("type").and_then(Value::as_str) == Some("date_histogram")
            && agg.pointer("/params/drop_partials") == Some(&json!(true))
    });
    options.legend = match vis_params.get("legendPosition").and_then(Value::as_str) {
        Some("bottom") | Some("top") => LegendPosition::Bottom,
        _ if vis_params.get("addLegend") == Some(&json!(false)) => LegendPosition::Hidden,
        _ => LegendPosition::Right,
    };
    let search = search_source(attributes);
    let query = kibana_query(&search);
    let filters = kibana_filters(search.get("filter"), warnings);
    let vis = Visualization {
        version: VISUALIZATION_VERSION,
        title: text(attributes, "title", "Imported"),
        description: text(attributes, "description", ""),
        kind,
        index_pattern: index_title.to_owned(),
        metrics,
        buckets,
        options,
        query,
        filters,
        saved_search: None,
    };
    vis.validate()
        .map_err(|e| format!("the converted visualization is invalid: {e}"))?;
    Ok(vis)
}

/// A Kibana bucket aggregation of `agg_type` as a flowdash split; `None` (with a warning) for
/// a kind flowdash does not have.
fn kibana_bucket(
    agg_type: &str,
    params: &Value,
    warnings: &mut Vec<String>,
) -> Result<Option<BucketAgg>, String> {
    let field = params
        .get("field")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let size = |default: u64| {
        params
            .get("size")
            .and_then(Value::as_u64)
            .unwrap_or(default)
            .clamp(1, 500) as u32
    };
    Ok(Some(match agg_type {
        "terms" => {
            let order_by = params.get("orderBy").and_then(Value::as_str).unwrap_or("1");
            let ascending = params.get("order").and_then(Value::as_str) == Some("asc");
            BucketAgg::Terms {
                field: field.ok_or("terms without a field")?,
                size: size(5),
                order: match (order_by, ascending) {
                    ("_key", true) => TermsOrder::KeyAsc,
                    ("_key", false) => TermsOrder::KeyDesc,
                    (_, true) => TermsOrder::MetricAsc,
                    (_, false) => TermsOrder::MetricDesc,
                },
                other_bucket: params
                    .get("otherBucket")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                missing_bucket: params
                    .get("missingBucket")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            }
        }
        "date_histogram" => BucketAgg::DateHistogram {
            field: field.unwrap_or_else(|| "@timestamp".into()),
            interval: kibana_interval(params, warnings),
        },
        "histogram" => BucketAgg::Histogram {
            field: field.ok_or("histogram without a field")?,
            interval: params
                .get("interval")
                .and_then(|v| {
                    v.as_f64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                })
                .unwrap_or(1.0),
        },
        "range" => BucketAgg::Range {
            field: field.ok_or("range without a field")?,
            ranges: from_to_list(params, Value::as_f64)
                .map(|(from, to)| NumberRange { from, to })
                .collect(),
        },
        "significant_terms" => BucketAgg::SignificantTerms {
            field: field.ok_or("significant_terms without a field")?,
            size: size(10),
        },
        "ip_range" => BucketAgg::IpRange {
            field: field.ok_or("ip_range without a field")?,
            ranges: kibana_ip_ranges(params),
        },
        "date_range" => BucketAgg::DateRange {
            field: field.unwrap_or_else(|| "@timestamp".into()),
            ranges: from_to_list(params, non_empty_text)
                .map(|(from, to)| DateRangeSpec { from, to })
                .collect(),
        },
        "filters" => BucketAgg::Filters {
            filters: params
                .get("filters")
                .and_then(Value::as_array)
                .map(|filters| {
                    filters
                        .iter()
                        .map(|f| {
                            let text = f
                                .pointer("/input/query")
                                .and_then(Value::as_str)
                                .unwrap_or("*")
                                .to_owned();
                            let language =
                                match f.pointer("/input/language").and_then(Value::as_str) {
                                    Some("lucene") => QueryLanguage::Lucene,
                                    _ => QueryLanguage::Kql,
                                };
                            NamedFilter {
                                label: f
                                    .get("label")
                                    .and_then(Value::as_str)
                                    .filter(|l| !l.is_empty())
                                    .unwrap_or(&text)
                                    .to_owned(),
                                query: QueryText { language, text },
                            }
                        })
                        .collect()
                })
                .unwrap_or_default(),
        },
        other => {
            warnings.push(format!(
                "bucket aggregation [{other}] is not supported and was left out"
            ));
            return Ok(None);
        }
    }))
}

/// A Kibana metric aggregation of `agg_type` as a flowdash metric; `None`, with a warning,
/// for one flowdash does not compute.
fn kibana_metric(
    agg_type: &str,
    params: &Value,
    warnings: &mut Vec<String>,
) -> Result<Option<Metric>, String> {
    let field = params
        .get("field")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let need = || {
        field
            .clone()
            .ok_or_else(|| format!("{agg_type} metric without a field"))
    };
    Ok(Some(match agg_type {
        "count" => Metric::Count,
        "sum" => Metric::Sum { field: need()? },
        "avg" => Metric::Avg { field: need()? },
        "min" => Metric::Min { field: need()? },
        "max" => Metric::Max { field: need()? },
        "cardinality" => Metric::UniqueCount { field: need()? },
        "percentiles" => Metric::Percentile {
            field: need()?,
            percent: first_value(params, "percents", warnings).unwrap_or(50.0),
        },
        "median" => Metric::Median { field: need()? },
        "std_dev" => Metric::StdDeviation { field: need()? },
        "percentile_ranks" => Metric::PercentileRank {
            field: need()?,
            value: first_value(params, "values", warnings)
                .ok_or_else(|| "percentile_ranks metric without a value".to_owned())?,
        },
        "top_hits" => kibana_top_hit(need()?, params, warnings),
        sibling if BucketStat::from_agg_type(sibling).is_some() => {
            return kibana_over_buckets(sibling, params, warnings)
        }
        other => {
            warnings.push(format!(
                "metric [{other}] is not supported and was left out"
            ));
            return Ok(None);
        }
    }))
}

/// Kibana's top hit: `size` flows by `sortField` in `sortOrder`, their values combined by
/// `aggregate` (a name, or an object with its `value`).
fn kibana_top_hit(field: String, params: &Value, warnings: &mut Vec<String>) -> Metric {
    let size = match params.get("size").and_then(Value::as_u64) {
        Some(n) if (1..=u64::from(MAX_TOP_HITS)).contains(&n) => n as u32,
        None | Some(0) => 1,
        Some(n) => {
            warnings.push(format!(
                "a top hit of {n} flows shows {MAX_TOP_HITS} at most; it shows {MAX_TOP_HITS}"
            ));
            MAX_TOP_HITS
        }
    };
    let aggregate = params.get("aggregate").map(|a| a.get("value").unwrap_or(a));
    let combine = match aggregate.and_then(Value::as_str) {
        None => TopHitCombine::Concat,
        Some(name) => TopHitCombine::from_kibana_name(name).unwrap_or_else(|| {
            warnings.push(format!(
                "top hit aggregate [{name}] is not known; its values are concatenated"
            ));
            TopHitCombine::Concat
        }),
    };
    Metric::TopHit {
        field,
        size,
        sort_field: params
            .get("sortField")
            .and_then(Value::as_str)
            .filter(|name| !name.is_empty())
            .unwrap_or("@timestamp")
            .to_owned(),
        descending: params
            .get("sortOrder")
            .map(|order| order.get("value").unwrap_or(order))
            .and_then(Value::as_str)
            != Some("asc"),
        combine,
    }
}

/// Kibana's sibling pipeline metrics (`max_bucket`, …): a statistic of its `customMetric` over
/// the buckets of its `customBucket`.
fn kibana_over_buckets(
    agg_type: &str,
    params: &Value,
    warnings: &mut Vec<String>,
) -> Result<Option<Metric>, String> {
    let stat = BucketStat::from_agg_type(agg_type)
        .ok_or_else(|| format!("[{agg_type}] is not a statistic over buckets"))?;
    let part = |name: &str, default: &str| {
        let part = params.get(name);
        (
            part.and_then(|p| p.get("type"))
                .and_then(Value::as_str)
                .unwrap_or(default)
                .to_owned(),
            part.and_then(|p| p.get("params"))
                .cloned()
                .unwrap_or(json!({})),
        )
    };
    let (bucket_type, bucket_params) = part("customBucket", "date_histogram");
    let per = kibana_bucket(&bucket_type, &bucket_params, warnings)?.ok_or_else(|| {
        format!("{agg_type} over [{bucket_type}] buckets, which flowdash cannot split by")
    })?;
    let (metric_type, metric_params) = part("customMetric", "count");
    let Some(of) = kibana_metric(&metric_type, &metric_params, warnings)? else {
        return Ok(None);
    };
    if matches!(of, Metric::OverBuckets { .. }) {
        return Err(format!("{agg_type} of another statistic over buckets"));
    }
    if matches!(of, Metric::TopHit { .. }) {
        warnings.push(format!(
            "{agg_type} of a top hit is not a number per bucket and was left out"
        ));
        return Ok(None);
    }
    Ok(Some(Metric::OverBuckets {
        stat,
        per: Box::new(per),
        of: Box::new(of),
    }))
}

/// flowdash ranks terms by the first metric: the metric Kibana's terms splits rank by
/// (`orderBy`, a metric's id) moves to the front. What cannot be kept is said.
fn rank_terms_by(
    aggs: &[Value],
    metrics: &mut Vec<Measure>,
    metric_ids: &[&str],
    warnings: &mut Vec<String>,
) {
    let orders: Vec<&str> = aggs
        .iter()
        .filter(|agg| agg.get("type").and_then(Value::as_str) == Some("terms"))
        .filter(|agg| agg.get("enabled").and_then(Value::as_bool) != Some(false))
        .filter_map(|agg| agg.pointer("/params/orderBy").and_then(Value::as_str))
        .filter(|order| *order != "_key")
        .collect();
    let Some(first) = orders.first() else {
        return;
    };
    if let Some(position) = metric_ids.iter().position(|id| id == first) {
        let ranking = metrics.remove(position);
        metrics.insert(0, ranking);
    }
    // None kept: the chart counts flows.
    let ranked_by = metrics.first().cloned().unwrap_or_default().label();
    // The metrics Kibana ranked by that flowdash does not: named as Kibana has them.
    let others: Vec<String> = orders
        .iter()
        .filter(|order| *order != first || !metric_ids.contains(first))
        .map(|order| {
            aggs.iter()
                .find(|agg| agg.get("id").and_then(Value::as_str) == Some(order))
                .map(|agg| {
                    let agg_type = agg.get("type").and_then(Value::as_str).unwrap_or("?");
                    match agg.pointer("/params/field").and_then(Value::as_str) {
                        Some(field) => format!("{agg_type} on {field}"),
                        None => agg_type.to_owned(),
                    }
                })
                .unwrap_or_else(|| format!("metric {order}"))
        })
        .collect();
    if !others.is_empty() {
        warnings.push(format!(
            "terms are ranked by one metric, {ranked_by}; Kibana ranked a split by {}",
            others.join(", ")
        ));
    }
}

/// The `seriesParams` entry of a metric aggregation (its axis, and whether it is shown).
fn series_params(vis_params: &Value, agg: &Value) -> Value {
    let id = agg.get("id").and_then(Value::as_str);
    vis_params
        .get("seriesParams")
        .and_then(Value::as_array)
        .and_then(|all| {
            all.iter()
                .find(|s| s.pointer("/data/id").and_then(Value::as_str) == id)
        })
        .cloned()
        .unwrap_or(Value::Null)
}

/// Where the value axis a series is read on sits: `left` or `right`.
fn value_axis_of<'a>(vis_params: &'a Value, series: &Value) -> Option<&'a str> {
    let id = series.get("valueAxis").and_then(Value::as_str)?;
    vis_params
        .get("valueAxes")
        .and_then(Value::as_array)?
        .iter()
        .find(|axis| axis.get("id").and_then(Value::as_str) == Some(id))?
        .get("position")
        .and_then(Value::as_str)
}

/// The axis titles a user gave in Kibana. Kibana fills them in itself (a value axis with its
/// first metric's label, the x axis with its field and interval): those are left to
/// flowdash to make, so that they follow the chart when it changes.
fn axis_titles(vis_params: &Value, metrics: &[Measure], buckets: &[Bucket]) -> AxisTitles {
    let title = |axis: &Value| {
        axis.pointer("/title/text")
            .and_then(Value::as_str)
            .map(|t| t.trim().chars().take(MAX_LABEL_CHARS).collect::<String>())
            .unwrap_or_default()
    };
    let mut titles = AxisTitles::default();
    let x_field = buckets
        .iter()
        .find(|b| b.role == BucketRole::XAxis)
        .and_then(|b| b.agg.field());
    if let Some(x) = vis_params
        .get("categoryAxes")
        .and_then(Value::as_array)
        .and_then(|axes| axes.first())
        .map(title)
    {
        // Kibana's own titles start with the field (`@timestamp per 30 seconds`,
        // `dstport: Descending`), or are the aggregation's name for splits without one.
        let automatic = match x_field {
            Some(field) => x.starts_with(field),
            None => x.is_empty() || x.eq_ignore_ascii_case("filters"),
        };
        if !automatic {
            titles.x = x;
        }
    }
    for axis in vis_params
        .get("valueAxes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let side = match axis.get("position").and_then(Value::as_str) {
            Some("right") => ValueAxis::Right,
            _ => ValueAxis::Left,
        };
        let text = title(axis);
        // Kibana titles a value axis with the label of its first series, in its own words
        // (`Moving Avg of Count`), which `seriesParams` keeps.
        let id = axis.get("id").and_then(Value::as_str);
        let kibana_labels = vis_params
            .get("seriesParams")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|series| series.get("valueAxis").and_then(Value::as_str) == id)
            .filter_map(|series| series.pointer("/data/label").and_then(Value::as_str))
            .map(str::to_owned);
        let flowdash_labels = metrics
            .iter()
            .filter(|m| m.axis == side)
            .flat_map(|m| [m.label(), m.metric.label()]);
        let automatic = text.is_empty()
            || kibana_labels
                .chain(flowdash_labels)
                .any(|label| label.trim().eq_ignore_ascii_case(&text));
        let slot = match side {
            ValueAxis::Left => &mut titles.left,
            ValueAxis::Right => &mut titles.right,
        };
        if !automatic && slot.is_empty() {
            *slot = text;
        }
    }
    titles
}

/// Kibana's parent pipeline metrics: the pipeline, if `agg_type` is one.
fn parent_pipeline(agg_type: &str, params: &Value) -> Option<ParentPipeline> {
    let buckets = |name: &str, default: u64| {
        params
            .get(name)
            .and_then(Value::as_u64)
            .unwrap_or(default)
            .clamp(1, 100) as u32
    };
    Some(match agg_type {
        "cumulative_sum" => ParentPipeline::CumulativeSum,
        "derivative" => ParentPipeline::Derivative,
        "moving_avg" => ParentPipeline::MovingAverage {
            window: buckets("window", 5),
        },
        "serial_diff" => ParentPipeline::SerialDiff {
            lag: buckets("lag", 1),
        },
        _ => return None,
    })
}

/// The metric a parent pipeline runs over: its `customMetric`, or the aggregation its
/// `metricAgg` names; a count when neither is given.
fn pipeline_base(params: &Value, aggs: &[Value]) -> (String, Value) {
    let of = |agg: &Value| {
        (
            agg.get("type")
                .and_then(Value::as_str)
                .unwrap_or("count")
                .to_owned(),
            agg.get("params").cloned().unwrap_or(json!({})),
        )
    };
    match params.get("metricAgg").and_then(Value::as_str) {
        Some("custom") | None => params
            .get("customMetric")
            .map(of)
            .unwrap_or_else(|| ("count".to_owned(), json!({}))),
        Some(id) => aggs
            .iter()
            .find(|agg| agg.get("id").and_then(Value::as_str) == Some(id))
            .map(of)
            .unwrap_or_else(|| ("count".to_owned(), json!({}))),
    }
}

/// Kibana's IP range: `ipRangeType` chooses between its `fromTo` pairs and its `mask` blocks,
/// both kept in `ranges`.
fn kibana_ip_ranges(params: &Value) -> Vec<IpRangeSpec> {
    let masks = params.get("ipRangeType").and_then(Value::as_str) == Some("mask");
    let list = |name: &str| {
        params
            .pointer(&format!("/ranges/{name}"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let text = |range: &Value, name: &str| range.get(name).and_then(non_empty_text);
    if masks {
        list("mask")
            .iter()
            .filter_map(|range| text(range, "mask").map(IpRangeSpec::Mask))
            .collect()
    } else {
        list("fromTo")
            .iter()
            .map(|range| IpRangeSpec::FromTo {
                from: text(range, "from"),
                to: text(range, "to"),
            })
            .collect()
    }
}

/// The `{from, to}` bounds of a range aggregation's `ranges` list, each read by `bound` (a
/// bound that is missing or does not read is open).
fn from_to_list<'a, T>(
    params: &'a Value,
    bound: impl Fn(&'a Value) -> Option<T> + 'a,
) -> impl Iterator<Item = (Option<T>, Option<T>)> + 'a {
    params
        .get("ranges")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(move |range| {
            let read = |name: &str| range.get(name).and_then(&bound);
            (read("from"), read("to"))
        })
}

/// A string parameter that says something; an empty one is as good as none.
fn non_empty_text(value: &Value) -> Option<String> {
    value.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

/// The first number of a list parameter (`percents`, `values`): a flowdash metric draws one
/// value, so the others are named in a warning rather than dropped unsaid.
fn first_value(params: &Value, list: &str, warnings: &mut Vec<String>) -> Option<f64> {
    let values = params.get(list)?.as_array()?;
    let first = values.first()?.as_f64()?;
    if values.len() > 1 {
        let rest: Vec<String> = values[1..].iter().map(Value::to_string).collect();
        warnings.push(format!(
            "a metric draws one of its [{list}]: {first} is kept, {} left out",
            rest.join(", ")
        ));
    }
    Some(first)
}

/// Kibana's date_histogram interval: `auto`, a unit letter (`m` is one minute), `30s`, or
/// `custom` with `customInterval`.
fn kibana_interval(params: &Value, warnings: &mut Vec<String>) -> Interval {
    let raw = params
        .get("interval")
        .and_then(Value::as_str)
        .unwrap_or("auto");
    let raw = if raw == "custom" {
        params
            .get("customInterval")
            .and_then(Value::as_str)
            .unwrap_or("auto")
    } else {
        raw
    };
    let text = match raw {
        "auto" => return Interval::Auto,
        "ms" | "s" | "m" | "h" | "d" | "w" | "M" | "y" => format!("1{raw}"),
        other => other.to_owned(),
    };
    if app::model::time::parse_duration_ms(&text).is_none() {
        warnings.push(format!("interval [{raw}] is not understood; auto is used"));
        return Interval::Auto;
    }
    if app::model::time::is_calendar_interval(&text) {
        Interval::Calendar(text)
    } else {
        Interval::Fixed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kibana_horizontal_bar_of_top_sources_stays_horizontal() {
        let state = serde_json::json!({ "title": "Top sources", "type": "horizontal_bar", "params": {},
            "aggs": [
                { "id": "1", "enabled": true, "type": "count", "schema": "metric", "params": {} },
                { "id": "2", "enabled": true, "type": "terms", "schema": "segment", "params": { "field": "srcaddr", "size": 10, "order": "desc", "orderBy": "1" } }
            ] });
        let attributes =
            serde_json::json!({ "title": "Top sources", "visState": state.to_string() });
        let mut warnings = Vec::new();
        let vis = kibana_visualization(&attributes, "cwl-*", &mut warnings).unwrap();
        assert_eq!(vis.kind, ChartKind::HorizontalBar);
        assert_eq!(vis.x_axis().and_then(|b| b.field()), Some("srcaddr"));
        assert!(warnings.is_empty(), "{warnings:?}");
        vis.validate().unwrap();
    }

    #[test]
    fn kibana_distribution_metrics_keep_their_kind() {
        let metric = |agg: serde_json::Value| {
            let state = serde_json::json!({ "title": "Bytes", "type": "metric", "params": {},
                "aggs": [ agg ] });
            let attributes = serde_json::json!({ "title": "Bytes", "visState": state.to_string() });
            let mut warnings = Vec::new();
            let vis = kibana_visualization(&attributes, "cwl-*", &mut warnings).unwrap();
            assert!(warnings.is_empty(), "{warnings:?}");
            vis.validate().unwrap();
            vis.metric().clone()
        };
        let field = || "bytes".to_owned();
        assert_eq!(
            metric(
                serde_json::json!({ "id": "1", "enabled": true, "type": "median",
                "schema": "metric", "params": { "field": "bytes", "percents": [50] } })
            ),
            Metric::Median { field: field() }
        );
        assert_eq!(
            metric(
                serde_json::json!({ "id": "1", "enabled": true, "type": "std_dev",
                "schema": "metric", "params": { "field": "bytes", "showBounds": true } })
            ),
            Metric::StdDeviation { field: field() }
        );
        assert_eq!(
            metric(
                serde_json::json!({ "id": "1", "enabled": true, "type": "percentile_ranks",
                "schema": "metric", "params": { "field": "bytes", "values": [1500] } })
            ),
            Metric::PercentileRank {
                field: field(),
                value: 1500.0
            }
        );
    }

    #[test]
    fn kibana_top_hits_import_with_their_sort_size_and_aggregate() {
        let import = |kind: &str, params: serde_json::Value| {
            let state = serde_json::json!({ "title": "Latest", "type": kind, "params": {},
                "aggs": [
                    { "id": "1", "enabled": true, "type": "top_hits", "schema": "metric", "params": params },
                    { "id": "2", "enabled": true, "type": "terms", "schema": "bucket",
                      "params": { "field": "action", "size": 2, "order": "desc", "orderBy": "1" } }
                ] });
            let attributes =
                serde_json::json!({ "title": "Latest", "visState": state.to_string() });
            let mut warnings = Vec::new();
            let vis = kibana_visualization(&attributes, "cwl-*", &mut warnings).unwrap();
            vis.validate().unwrap();
            (vis, warnings)
        };
        // Kibana 7 writes `aggregate` as its name; older exports as an object.
        let (table, warnings) = import(
            "table",
            serde_json::json!({ "field": "srcaddr", "aggregate": "concat", "size": 3,
                "sortField": "start", "sortOrder": "asc" }),
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            table.metric(),
            &Metric::TopHit {
                field: "srcaddr".into(),
                size: 3,
                sort_field: "start".into(),
                descending: false,
                combine: TopHitCombine::Concat,
            }
        );
        assert_eq!(table.metrics[0].label(), "First 3 srcaddr");
        let (pie, warnings) = import(
            "pie",
            serde_json::json!({ "field": "bytes", "aggregate": { "value": "average", "text": "Average" },
                "size": 5, "sortField": "@timestamp", "sortOrder": "desc" }),
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(matches!(
            pie.metric(),
            Metric::TopHit {
                combine: TopHitCombine::Avg,
                size: 5,
                descending: true,
                ..
            }
        ));
        // Without its sort: the latest flow.
        let (table, _) = import("table", serde_json::json!({ "field": "bytes" }));
        assert!(matches!(
            table.metric(),
            Metric::TopHit { size: 1, combine: TopHitCombine::Concat, sort_field, .. } if sort_field == "@timestamp"
        ));

        // Text on a pie is left out, named; an oversized one is cut to what flowdash shows.
        let (pie, warnings) = import(
            "pie",
            serde_json::json!({ "field": "srcaddr", "aggregate": "concat", "size": 1 }),
        );
        assert_eq!(pie.metric(), &Metric::Count);
        assert_eq!(
            warnings,
            [
                "Last srcaddr is text, which a Pie chart cannot draw; it was left out",
                "terms are ranked by one metric, Count; Kibana ranked a split by top_hits on srcaddr",
                "no metric could be kept; the chart counts flows"
            ]
        );
        let (table, warnings) = import(
            "table",
            serde_json::json!({ "field": "bytes", "aggregate": "median", "size": 500 }),
        );
        assert!(matches!(
            table.metric(),
            Metric::TopHit {
                size: MAX_TOP_HITS,
                combine: TopHitCombine::Concat,
                ..
            }
        ));
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        // Kibana's own form of the order; no flows at all is one.
        let (table, _) = import(
            "table",
            serde_json::json!({ "field": "bytes", "size": 0, "sortOrder": { "value": "asc" } }),
        );
        assert!(matches!(
            table.metric(),
            Metric::TopHit {
                size: 1,
                descending: false,
                ..
            }
        ));
    }

    #[test]
    fn significant_terms_and_address_and_date_ranges_import() {
        let state = serde_json::json!({ "title": "Odd", "type": "table", "params": {},
            "aggs": [
                { "id": "1", "enabled": true, "type": "count", "schema": "metric", "params": {} },
                { "id": "2", "enabled": true, "type": "significant_terms", "schema": "bucket",
                  "params": { "field": "dstport", "size": 7 } },
                { "id": "3", "enabled": true, "type": "ip_range", "schema": "bucket",
                  "params": { "field": "srcaddr", "ipRangeType": "mask", "ranges": {
                    "fromTo": [ { "from": "0.0.0.0", "to": "127.255.255.255" } ],
                    "mask": [ { "mask": "10.0.0.0/8" }, { "mask": "192.168.0.0/16" } ] } } },
                { "id": "4", "enabled": true, "type": "ip_range", "schema": "bucket",
                  "params": { "field": "dstaddr", "ipRangeType": "fromTo", "ranges": {
                    "fromTo": [ { "from": "10.0.0.1", "to": "" } ], "mask": [] } } },
                { "id": "5", "enabled": true, "type": "date_range", "schema": "bucket",
                  "params": { "field": "@timestamp", "ranges": [ { "from": "now-1w/w", "to": "now" } ] } }
            ] });
        let attributes = serde_json::json!({ "title": "Odd", "visState": state.to_string() });
        let mut warnings = Vec::new();
        let vis = kibana_visualization(&attributes, "cwl-*", &mut warnings).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        let aggs: Vec<&BucketAgg> = vis.buckets.iter().map(|b| &b.agg).collect();
        assert_eq!(
            aggs,
            [
                &BucketAgg::SignificantTerms {
                    field: "dstport".into(),
                    size: 7
                },
                &BucketAgg::IpRange {
                    field: "srcaddr".into(),
                    ranges: vec![
                        IpRangeSpec::Mask("10.0.0.0/8".into()),
                        IpRangeSpec::Mask("192.168.0.0/16".into())
                    ]
                },
                &BucketAgg::IpRange {
                    field: "dstaddr".into(),
                    ranges: vec![IpRangeSpec::FromTo {
                        from: Some("10.0.0.1".into()),
                        to: None
                    }]
                },
                &BucketAgg::DateRange {
                    field: "@timestamp".into(),
                    ranges: vec![DateRangeSpec {
                        from: Some("now-1w/w".into()),
                        to: Some("now".into())
                    }]
                },
            ]
        );
        vis.validate().unwrap();
    }

    #[test]
    fn kibana_parent_pipelines_keep_their_metric() {
        let line = |metric: serde_json::Value| {
            let state = serde_json::json!({ "title": "Bytes", "type": "line", "params": {},
                "aggs": [ metric,
                    { "id": "2", "enabled": true, "type": "date_histogram", "schema": "segment",
                      "params": { "field": "@timestamp", "interval": "auto" } } ] });
            let attributes = serde_json::json!({ "title": "Bytes", "visState": state.to_string() });
            let mut warnings = Vec::new();
            let vis = kibana_visualization(&attributes, "cwl-*", &mut warnings).unwrap();
            assert!(warnings.is_empty(), "{warnings:?}");
            vis.validate().unwrap();
            (vis.metric().clone(), vis.metrics[0].pipeline.clone())
        };
        assert_eq!(
            line(
                serde_json::json!({ "id": "1", "enabled": true, "type": "cumulative_sum",
                "schema": "metric", "params": { "metricAgg": "custom", "customMetric": {
                    "id": "1-metric", "enabled": true, "type": "sum", "params": { "field": "bytes" } } } })
            ),
            (
                Metric::Sum {
                    field: "bytes".into()
                },
                Some(ParentPipeline::CumulativeSum)
            )
        );
        assert_eq!(
            line(
                serde_json::json!({ "id": "1", "enabled": true, "type": "moving_avg",
                "schema": "metric", "params": { "metricAgg": "custom", "window": 7,
                    "customMetric": { "id": "1-metric", "type": "count", "params": {} } } })
            ),
            (
                Metric::Count,
                Some(ParentPipeline::MovingAverage { window: 7 })
            )
        );
        assert_eq!(
            line(
                serde_json::json!({ "id": "1", "enabled": true, "type": "derivative",
                "schema": "metric", "params": {} })
            ),
            (Metric::Count, Some(ParentPipeline::Derivative))
        );
    }

    #[test]
    fn kibana_metrics_keep_their_labels_axes_and_titles() {
        use app::model::measure::ValueAxis;
        let state = serde_json::json!({ "title": "Traffic", "type": "line",
            "params": {
                "categoryAxes": [{ "id": "CategoryAxis-1", "position": "bottom",
                    "title": { "text": "@timestamp per 30 seconds" } }],
                "valueAxes": [
                    { "id": "ValueAxis-1", "position": "left", "title": { "text": "Flows" } },
                    { "id": "ValueAxis-2", "position": "right", "title": { "text": "Volume" } }
                ],
                "seriesParams": [
                    { "data": { "id": "1", "label": "Flows" }, "valueAxis": "ValueAxis-1", "show": true },
                    { "data": { "id": "3", "label": "Bytes" }, "valueAxis": "ValueAxis-2", "show": true },
                    { "data": { "id": "4", "label": "Max packets" }, "valueAxis": "ValueAxis-1", "show": false }
                ] },
            "aggs": [
                { "id": "1", "enabled": true, "type": "count", "schema": "metric",
                  "params": { "customLabel": "Flows" } },
                { "id": "3", "enabled": true, "type": "sum", "schema": "metric",
                  "params": { "field": "bytes" } },
                { "id": "4", "enabled": true, "type": "max", "schema": "metric",
                  "params": { "field": "packets" } },
                { "id": "2", "enabled": true, "type": "date_histogram", "schema": "segment",
                  "params": { "field": "@timestamp", "interval": "auto" } },
                { "id": "5", "enabled": true, "type": "terms", "schema": "group",
                  "params": { "field": "action", "size": 2, "order": "desc", "orderBy": "3" } }
            ] });
        let attributes = serde_json::json!({ "title": "Traffic", "visState": state.to_string() });
        let mut warnings = Vec::new();
        let vis = kibana_visualization(&attributes, "cwl-*", &mut warnings).unwrap();
        let metrics: Vec<_> = vis.metrics.iter().map(|m| (m.label(), m.axis)).collect();
        assert_eq!(
            metrics,
            [
                // First: the action series rank by the bytes.
                ("Sum of bytes".to_owned(), ValueAxis::Right),
                ("Flows".to_owned(), ValueAxis::Left),
            ]
        );
        assert_eq!(
            warnings,
            ["max on packets is hidden in Kibana and was left out"]
        );
        // The left axis's title is its metric's label, which flowdash makes; the right one
        // was the user's, and so was no x title (Kibana's own names the field).
        assert_eq!(vis.options.axis_titles.left, "");
        assert_eq!(vis.options.axis_titles.right, "Volume");
        assert_eq!(vis.options.axis_titles.x, "");

        // Kibana's own wording of an axis title is its own too; a split ranked by a hidden
        // metric says which; a metric flowdash does not compute is left out with its label.
        let state = serde_json::json!({ "title": "Running", "type": "line",
            "params": {
                "categoryAxes": [{ "id": "CategoryAxis-1", "position": "bottom",
                    "title": { "text": "@timestamp per minute" } }],
                "valueAxes": [{ "id": "ValueAxis-1", "position": "left",
                    "title": { "text": "Moving Avg of Count" } }],
                "seriesParams": [
                    { "data": { "id": "1", "label": "Moving Avg of Count" }, "valueAxis": "ValueAxis-1", "show": true },
                    { "data": { "id": "3", "label": "Max packets" }, "valueAxis": "ValueAxis-1", "show": false }
                ] },
            "aggs": [
                { "id": "1", "enabled": true, "type": "moving_avg", "schema": "metric",
                  "params": { "metricAgg": "custom", "customMetric": { "type": "count", "params": {} } } },
                { "id": "3", "enabled": true, "type": "max", "schema": "metric",
                  "params": { "field": "packets" } },
                { "id": "4", "enabled": true, "type": "top_hits", "schema": "metric",
                  "params": { "field": "srcaddr", "customLabel": "Last source" } },
                { "id": "2", "enabled": true, "type": "date_histogram", "schema": "segment",
                  "params": { "field": "@timestamp", "interval": "auto" } },
                { "id": "5", "enabled": true, "type": "terms", "schema": "group",
                  "params": { "field": "action", "size": 2, "order": "desc", "orderBy": "3" } }
            ] });
        let attributes = serde_json::json!({ "title": "Running", "visState": state.to_string() });
        let mut warnings = Vec::new();
        let vis = kibana_visualization(&attributes, "cwl-*", &mut warnings).unwrap();
        assert!(
            vis.options.axis_titles.is_empty(),
            "{:?}",
            vis.options.axis_titles
        );
        // Kibana titles a Filters x axis `Filters` itself.
        let filters = serde_json::json!({ "title": "Rejects", "type": "histogram",
            "params": { "categoryAxes": [{ "id": "CategoryAxis-1", "position": "bottom",
                "title": { "text": "Filters" } }] },
            "aggs": [
                { "id": "1", "enabled": true, "type": "count", "schema": "metric", "params": {} },
                { "id": "2", "enabled": true, "type": "filters", "schema": "segment",
                  "params": { "filters": [{ "input": { "query": "action:REJECT", "language": "kuery" }, "label": "" }] } }
            ] });
        let attributes = serde_json::json!({ "title": "Rejects", "visState": filters.to_string() });
        let bars = kibana_visualization(&attributes, "cwl-*", &mut Vec::new()).unwrap();
        assert!(
            bars.options.axis_titles.is_empty(),
            "{:?}",
            bars.options.axis_titles
        );
        let labels: Vec<String> = vis.metrics.iter().map(Measure::label).collect();
        assert_eq!(labels, ["Moving average of Count over 5"]);
        assert_eq!(
            warnings,
            [
                "max on packets is hidden in Kibana and was left out",
                "Last srcaddr is text, which a Line chart cannot draw; it was left out",
                "terms are ranked by one metric, Moving average of Count over 5; Kibana ranked a split by max on packets",
            ]
        );

        // A pie draws one metric: the others are named.
        let pie = serde_json::json!({ "title": "Mix", "type": "pie", "params": {},
            "aggs": [
                { "id": "1", "enabled": true, "type": "count", "schema": "metric", "params": {} },
                { "id": "2", "enabled": true, "type": "sum", "schema": "metric", "params": { "field": "bytes" } }
            ] });
        let attributes = serde_json::json!({ "title": "Mix", "visState": pie.to_string() });
        let mut warnings = Vec::new();
        let vis = kibana_visualization(&attributes, "cwl-*", &mut warnings).unwrap();
        assert_eq!(vis.metrics.len(), 1);
        assert_eq!(
            warnings,
            ["a Pie chart draws one metric; sum on bytes was left out"]
        );
    }

    #[test]
    fn kibana_sibling_pipelines_keep_their_split_and_metric() {
        let metric = |agg: serde_json::Value| {
            let state = serde_json::json!({ "title": "Busiest hour", "type": "metric",
                "params": {}, "aggs": [ agg ] });
            let attributes =
                serde_json::json!({ "title": "Busiest hour", "visState": state.to_string() });
            let mut warnings = Vec::new();
            let vis = kibana_visualization(&attributes, "cwl-*", &mut warnings);
            (vis.map(|vis| vis.metric().clone()), warnings)
        };
        let (max, warnings) = metric(serde_json::json!({ "id": "1", "enabled": true,
            "type": "max_bucket", "schema": "metric", "params": {
                "customBucket": { "id": "1-bucket", "enabled": true, "type": "date_histogram",
                    "schema": "bucketAgg", "params": { "field": "@timestamp", "interval": "h" } },
                "customMetric": { "id": "1-metric", "enabled": true, "type": "sum",
                    "schema": "metricAgg", "params": { "field": "bytes" } } } }));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            max.unwrap(),
            Metric::OverBuckets {
                stat: BucketStat::Max,
                per: Box::new(BucketAgg::DateHistogram {
                    field: "@timestamp".into(),
                    interval: Interval::Fixed("1h".into()),
                }),
                of: Box::new(Metric::Sum {
                    field: "bytes".into()
                }),
            }
        );
        let (average, _) = metric(serde_json::json!({ "id": "1", "enabled": true,
            "type": "avg_bucket", "schema": "metric", "params": {
                "customBucket": { "type": "terms", "params": { "field": "srcaddr", "size": 20,
                    "orderBy": "_key", "order": "asc" } },
                "customMetric": { "type": "count", "params": {} } } }));
        let Metric::OverBuckets { stat, per, of } = average.unwrap() else {
            panic!("not a statistic over buckets");
        };
        assert_eq!((stat, *of), (BucketStat::Avg, Metric::Count));
        assert_eq!(per.field(), Some("srcaddr"));
        // A split flowdash does not have fails the object, saying which.
        let (unsupported, _) = metric(serde_json::json!({ "id": "1", "type": "sum_bucket",
            "schema": "metric", "params": { "customBucket": { "type": "geohash_grid",
                "params": { "field": "location" } } } }));
        let error = unsupported.unwrap_err();
        assert!(error.contains("[geohash_grid]"), "{error}");
    }

    #[test]
    fn extra_percentiles_and_ranks_are_named_in_a_warning() {
        for (agg_type, list, kept) in [
            ("percentiles", "percents", 95.0),
            ("percentile_ranks", "values", 1500.0),
        ] {
            let agg = serde_json::json!({ "id": "1", "enabled": true, "type": agg_type,
                "schema": "metric", "params": { "field": "bytes", list: [kept, 99, 5000] } });
            let state = serde_json::json!({ "title": "Bytes", "type": "metric", "params": {},
                "aggs": [ agg ] });
            let attributes = serde_json::json!({ "title": "Bytes", "visState": state.to_string() });
            let mut warnings = Vec::new();
            let vis = kibana_visualization(&attributes, "cwl-*", &mut warnings).unwrap();
            assert_eq!(
                warnings,
                [format!(
                    "a metric draws one of its [{list}]: {kept} is kept, 99, 5000 left out"
                )]
            );
            match vis.metric().clone() {
                Metric::Percentile { percent, .. } => assert_eq!(percent, kept),
                Metric::PercentileRank { value, .. } => assert_eq!(value, kept),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_kibana_heatmap_keeps_its_x_and_y_buckets() {
        let state = serde_json::json!({ "title": "Ports by hour", "type": "heatmap", "params": {},
            "aggs": [
                { "id": "1", "enabled": true, "type": "count", "schema": "metric", "params": {} },
                { "id": "2", "enabled": true, "type": "date_histogram", "schema": "segment", "params": { "field": "@timestamp", "interval": "h" } },
                { "id": "3", "enabled": true, "type": "terms", "schema": "group", "params": { "field": "dstport", "size": 10, "order": "desc", "orderBy": "1" } }
            ] });
        let attributes =
            serde_json::json!({ "title": "Ports by hour", "visState": state.to_string() });
        let mut warnings = Vec::new();
        let vis = kibana_visualization(&attributes, "cwl-*", &mut warnings).unwrap();
        assert_eq!(vis.kind, ChartKind::Heatmap);
        assert_eq!(vis.x_axis().map(|b| b.type_name()), Some("date_histogram"));
        assert_eq!(vis.split_series().and_then(|b| b.field()), Some("dstport"));
        assert!(warnings.is_empty(), "{warnings:?}");
        vis.validate().unwrap();
    }

    #[test]
    fn a_visualization_is_linked_to_its_saved_search() {
        let mut warnings = Vec::new();
        let mut vis = Visualization::example_action_port_pie();
        let search = SavedSearch {
            title: "Rejects".into(),
            index_pattern: "cwl-*".into(),
            query: QueryText::kql("action:REJECT"),
            ..SavedSearch::default()
        };
        build_on(&mut vis, "rejects", &search, &mut warnings);
        assert_eq!(vis.saved_search.as_deref(), Some("rejects"));
        assert!(warnings.is_empty(), "{warnings:?}");
        vis.query = QueryText {
            language: app::model::filter::QueryLanguage::Lucene,
            text: "dstport:22".into(),
        };
        build_on(&mut vis, "rejects", &search, &mut warnings);
        assert!(warnings[0].contains("different languages"), "{warnings:?}");
    }
}
