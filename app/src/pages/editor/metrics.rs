//! The editor's metrics: one or more, each with its aggregation and field, its name, its
//! value axis, and optionally a rate or a pipeline along the time axis.

use leptos::prelude::*;

use super::settings::{
    field_options, interval_choice, interval_of_choice, interval_options, is_numeric,
};
use crate::model::index_pattern::FieldSpec;
use crate::model::measure::{Measure, RateUnit, ValueAxis, MAX_LABEL_CHARS, MAX_METRICS};
use crate::model::visualization::{
    terms_bucket, BucketAgg, BucketRole, BucketStat, ChartKind, Interval, Metric, ParentPipeline,
    TopHitCombine, Visualization, MAX_TOP_HITS,
};

/// One metric of the visualization being edited, by its place in the list.
#[derive(Clone, Copy)]
struct MeasureAt {
    vis: RwSignal<Visualization>,
    index: usize,
}

impl MeasureAt {
    /// Reads the metric (a default one if it was just removed).
    fn with<T>(&self, read: impl FnOnce(&Measure) -> T) -> T {
        let index = self.index;
        self.vis.with(|v| match v.metrics.get(index) {
            Some(measure) => read(measure),
            None => read(&Measure::default()),
        })
    }

    /// Changes the metric, keeping it one the chart draws: a top hit is a number on charts, and
    /// runs through no pipeline.
    fn update(&self, change: impl FnOnce(&mut Measure)) {
        let index = self.index;
        self.vis.update(|v| {
            if let Some(measure) = v.metrics.get_mut(index) {
                change(measure);
                measure.metric.fit_to_chart(v.kind);
                if matches!(measure.metric, Metric::TopHit { .. }) {
                    measure.pipeline = None;
                }
            }
        })
    }
}

/// Whether a chart kind draws several metrics.
fn takes_several(kind: ChartKind) -> bool {
    !matches!(
        kind,
        ChartKind::Pie | ChartKind::Heatmap | ChartKind::Sankey
    )
}

/// Every metric, and a button to add one where the chart draws several.
#[component]
pub(super) fn MetricsEditor(
    vis: RwSignal<Visualization>,
    fields: Memo<Vec<FieldSpec>>,
    time_field: Memo<String>,
) -> impl IntoView {
    // Re-drawn when a metric comes or goes, not while one is typed in.
    let count = Memo::new(move |_| vis.with(|v| v.metrics.len()));
    let can_add =
        Memo::new(move |_| vis.with(|v| takes_several(v.kind) && v.metrics.len() < MAX_METRICS));
    let add = move |_| {
        vis.update(|v| {
            // A new metric starts as the traffic's volume, on its own axis on line charts.
            let mut measure = Measure::from(Metric::Sum {
                field: "bytes".into(),
            });
            if matches!(v.kind, ChartKind::Line | ChartKind::Area | ChartKind::Bar) {
                measure.axis = ValueAxis::Right;
            }
            v.metrics.push(measure);
        })
    };
    view! {
        {move || (0..count.get()).map(|index| view! {
            <MeasureEditor measure=MeasureAt { vis, index } count fields time_field/>
        }).collect_view()}
        <Show when=move || can_add.get()>
            <button type="button" class="add-metric" on:click=add>"+ Add metric"</button>
        </Show>
    }
}

/// One metric's settings.
#[component]
fn MeasureEditor(
    measure: MeasureAt,
    count: Memo<usize>,
    fields: Memo<Vec<FieldSpec>>,
    time_field: Memo<String>,
) -> impl IntoView {
    let vis = measure.vis;
    let index = measure.index;
    let title = move || {
        if count.get() > 1 {
            format!("Metric {}", index + 1)
        } else {
            "Metric".to_owned()
        }
    };
    let kind = move || measure.with(|m| metric_kind(&m.metric));
    let set_kind = move |name: String| {
        let time_field = time_field.get_untracked();
        measure.update(|m| {
            m.metric = metric_of_kind(&m.metric, &name, &time_field);
            // Only counts and sums have a rate.
            if !m.takes_rate() {
                m.rate = None;
            }
        })
    };
    let set_field = move |name: String| {
        let numbers =
            fields.with_untracked(|all| all.iter().any(|f| f.name == name && f.is_number()));
        measure.update(|m| {
            set_metric_field(&mut m.metric, name);
            // Only numbers add up: a top hit of text lists its values.
            if let Metric::TopHit { combine, .. } = &mut m.metric {
                if !numbers {
                    *combine = TopHitCombine::Concat;
                }
            }
        })
    };
    let remove = move |_| {
        vis.update(|v| {
            if v.metrics.len() > 1 && index < v.metrics.len() {
                v.metrics.remove(index);
            }
        })
    };
    // The first metric ranks terms: moving one up is how another comes to rank them.
    let move_up = move |_| {
        vis.update(|v| {
            if index > 0 && index < v.metrics.len() {
                v.metrics.swap(index - 1, index);
            }
        })
    };
    let chart = Memo::new(move |_| vis.with(|v| (v.kind, v.takes_time_shift())));
    // The parts below are re-drawn when what they show changes, not on every edit of the
    // visualization: an input re-drawn while typed in would lose the focus.
    let field_choice = Memo::new(move |_| {
        let shows_text = matches!(chart.get().0, ChartKind::Table | ChartKind::Metric);
        measure.with(|m| {
            let field = m.metric.field()?.to_owned();
            let offered = match &m.metric {
                Metric::UniqueCount { .. } => Offered::Aggregatable,
                Metric::OverBuckets { of, .. } if matches!(**of, Metric::UniqueCount { .. }) => {
                    Offered::Aggregatable
                }
                // A flow's value of any field is shown as text where text can be shown.
                Metric::TopHit { .. } if shows_text => Offered::Any,
                Metric::TopHit { .. } => Offered::Numbers,
                _ => Offered::NumbersOrDates,
            };
            // Beside a split's own field, this one says whose it is.
            let over_buckets = matches!(m.metric, Metric::OverBuckets { .. });
            Some((field, offered, over_buckets))
        })
    });
    let percent = Memo::new(move |_| {
        measure.with(|m| match m.metric {
            Metric::Percentile { percent, .. } => Some(percent),
            _ => None,
        })
    });
    let rank_value = Memo::new(move |_| {
        measure.with(|m| match m.metric {
            Metric::PercentileRank { value, .. } => Some(value),
            _ => None,
        })
    });
    view! {
        <fieldset class="group metric" aria-label=title>
            <legend>{title}</legend>
            <Show when=move || { count.get() > 1 }>
                <div class="metric-actions">
                    <Show when=move || { index > 0 }>
                        <button type="button" class="link" aria-label=move || format!("Move metric {} up", index + 1) title="Move up: the first metric ranks the terms" on:click=move_up>"↑ Up"</button>
                    </Show>
                    <button type="button" class="link" aria-label=move || format!("Remove metric {}", index + 1) on:click=remove>"Remove"</button>
                </div>
            </Show>
            <label class="field">"Aggregation"
                <select name="metric" on:change:target=move |ev| set_kind(ev.target().value())>
                    {METRIC_KINDS.into_iter().map(|(value, label)| view! { <option value=value selected=move || kind() == value>{label}</option> }).collect_view()}
                    <optgroup label="Per bucket">
                        {BucketStat::ALL.into_iter().map(|stat| view! { <option value=stat.agg_type() selected=move || kind() == stat.agg_type()>{format!("{} bucket", stat.label())}</option> }).collect_view()}
                    </optgroup>
                </select>
            </label>
            <OverBucketsEditor measure fields time_field/>
            {move || field_choice.get().map(|(selected, offered, over_buckets)| view! {
                <label class="field">{if over_buckets { "Of field" } else { "Field" }}
                    <select name="metric_field" on:change:target=move |ev| set_field(ev.target().value())>
                        {field_options(&fields.get(), move |f| offered.admits(f), &selected)}
                    </select>
                </label>
            })}
            <TopHitEditor measure fields/>
            <Show when=move || percent.get().is_some()>
                <label class="field">"Percent"
                    <input type="number" min="0" max="100" step="1" name="percent"
                        prop:value=move || percent.get().map(|p| p.to_string()).unwrap_or_default()
                        on:input:target=move |ev| { if let Ok(p) = ev.target().value().parse::<f64>() { measure.update(|m| if let Metric::Percentile { percent, .. } = &mut m.metric { *percent = p }) } }/>
                </label>
            </Show>
            <Show when=move || rank_value.get().is_some()>
                <label class="field">"Value"
                    <input type="number" step="any" name="rank_value"
                        prop:value=move || rank_value.get().map(|v| v.to_string()).unwrap_or_default()
                        on:input:target=move |ev| { if let Ok(x) = ev.target().value().parse::<f64>() { measure.update(|m| if let Metric::PercentileRank { value, .. } = &mut m.metric { *value = x }) } }/>
                </label>
            </Show>
            // Also shown while set where it does not apply, so that it can be undone.
            <Show when=move || measure.with(|m| m.takes_rate() || m.rate.is_some())>
                <label class="field">"Rate"
                    <select name="rate" on:change:target=move |ev| { let unit = RateUnit::from_word(&ev.target().value()); measure.update(|m| { m.rate = unit; if unit.is_some() { m.pipeline = None } }) }>
                        <option value="" selected=move || measure.with(|m| m.rate.is_none())>"Total per bucket"</option>
                        {RateUnit::ALL.into_iter().map(|unit| view! {
                            <option value=unit.word() selected=move || measure.with(|m| m.rate == Some(unit))>{format!("Per {}", unit.word())}</option>
                        }).collect_view()}
                    </select>
                </label>
            </Show>
            // A top hit is a flow's value: no pipeline runs over it.
            <Show when=move || measure.with(|m| m.pipeline.is_some() || (chart.get().1 && !matches!(m.metric, Metric::TopHit { .. })))>
                <PipelineEditor measure/>
            </Show>
            <Show when=move || measure.with(|m| m.axis == ValueAxis::Right) || matches!(chart.get().0, ChartKind::Line | ChartKind::Area | ChartKind::Bar)>
                <label class="field small">"Axis"
                    <select name="metric_axis" on:change:target=move |ev| { let right = ev.target().value() == "right"; measure.update(|m| m.axis = if right { ValueAxis::Right } else { ValueAxis::Left }) }>
                        <option value="left" selected=move || measure.with(|m| m.axis == ValueAxis::Left)>"Left"</option>
                        <option value="right" selected=move || measure.with(|m| m.axis == ValueAxis::Right)>"Right"</option>
                    </select>
                </label>
            </Show>
            <label class="field">"Custom label"
                <input type="text" name="metric_label" maxlength=MAX_LABEL_CHARS.to_string()
                    placeholder=move || measure.with(|m| Measure { label: String::new(), ..m.clone() }.label())
                    prop:value=move || measure.with(|m| m.label.clone())
                    on:change:target=move |ev| { let text = ev.target().value(); measure.update(|m| m.label = text.trim().chars().take(MAX_LABEL_CHARS).collect()) }/>
            </label>
        </fieldset>
    }
}

/// Which fields a metric's field list offers.
#[derive(Clone, Copy, PartialEq)]
enum Offered {
    /// Numbers and dates.
    NumbersOrDates,
    /// Numbers only: a flow's `_source` holds a date as text.
    Numbers,
    /// Any a terms split takes.
    Aggregatable,
    /// Every field the indices hold.
    Any,
}

impl Offered {
    fn admits(self, field: &FieldSpec) -> bool {
        match self {
            Offered::NumbersOrDates => is_numeric(field),
            Offered::Numbers => field.is_number(),
            Offered::Aggregatable => field.aggregatable,
            // Not one a cluster cannot search: it is added to a search's hits, not to a
            // top hit's.
            Offered::Any => field.searchable,
        }
    }
}

/// A change to a top hit's size, sort field, order and way of combining.
type TopHitChange = Box<dyn FnOnce(&mut u32, &mut String, &mut bool, &mut TopHitCombine)>;

/// A top hit's own settings: how many flows, sorted how, their values combined how.
#[component]
fn TopHitEditor(measure: MeasureAt, fields: Memo<Vec<FieldSpec>>) -> impl IntoView {
    let settings = Memo::new(move |_| {
        measure.with(|m| match &m.metric {
            Metric::TopHit {
                field,
                size,
                sort_field,
                descending,
                combine,
            } => Some((
                field.clone(),
                *size,
                sort_field.clone(),
                *descending,
                *combine,
            )),
            _ => None,
        })
    });
    let edit = move |change: TopHitChange| {
        measure.update(|m| {
            if let Metric::TopHit {
                size,
                sort_field,
                descending,
                combine,
                ..
            } = &mut m.metric
            {
                change(size, sort_field, descending, combine)
            }
        })
    };
    let shows_text = Memo::new(move |_| {
        measure
            .vis
            .with(|v| matches!(v.kind, ChartKind::Table | ChartKind::Metric))
    });
    move || {
        let (field, size, sort_field, descending, combine) = settings.get()?;
        let numbers = fields.with(|all| all.iter().any(|f| f.name == field && f.is_number()));
        // Several flows' values listed are text, which charts other than tables cannot draw.
        let lists = shows_text.get() || size == 1;
        Some(view! {
            <label class="field">"Aggregate with"
                <select name="top_hit_combine" on:change:target=move |ev| { let next = TopHitCombine::from_kibana_name(&ev.target().value()).unwrap_or_default(); edit(Box::new(move |_, _, _, combine| *combine = next)) }>
                    {TopHitCombine::ALL.into_iter().filter(|c| *c == combine || if *c == TopHitCombine::Concat { lists } else { numbers }).map(|c| view! { <option value=c.kibana_name() selected=c == combine>{c.label()}</option> }).collect_view()}
                </select>
            </label>
            <label class="field small">"Size"
                <input type="number" min="1" max=MAX_TOP_HITS.to_string() name="top_hit_size" prop:value=size.to_string()
                    on:change:target=move |ev| { if let Ok(n) = ev.target().value().parse::<u32>() { edit(Box::new(move |size, _, _, _| *size = n.clamp(1, MAX_TOP_HITS))) } }/>
            </label>
            <label class="field">"Sort on"
                <select name="top_hit_sort" on:change:target=move |ev| { let name = ev.target().value(); edit(Box::new(move |_, sort_field, _, _| *sort_field = name)) }>
                    {field_options(&fields.get(), |f| f.aggregatable, &sort_field)}
                </select>
            </label>
            <label class="field small">"Sort order"
                <select name="top_hit_order" on:change:target=move |ev| { let down = ev.target().value() == "desc"; edit(Box::new(move |_, _, descending, _| *descending = down)) }>
                    <option value="desc" selected=descending>"Descending"</option>
                    <option value="asc" selected=!descending>"Ascending"</option>
                </select>
            </label>
        })
    }
}

/// The metrics the editor offers, by its name for them.
const METRIC_KINDS: [(&str, &str); 11] = [
    ("count", "Count"),
    ("sum", "Sum"),
    ("avg", "Average"),
    ("min", "Min"),
    ("max", "Max"),
    ("median", "Median"),
    ("std_deviation", "Std deviation"),
    ("unique_count", "Unique count"),
    ("percentile", "Percentile"),
    ("percentile_rank", "Percentile rank"),
    ("top_hit", "Top hit"),
];

/// The editor's name for a metric's kind; a statistic over buckets goes by its aggregation
/// (`max_bucket`).
fn metric_kind(metric: &Metric) -> &'static str {
    match metric {
        Metric::Count => "count",
        Metric::Sum { .. } => "sum",
        Metric::Avg { .. } => "avg",
        Metric::Min { .. } => "min",
        Metric::Max { .. } => "max",
        Metric::UniqueCount { .. } => "unique_count",
        Metric::Percentile { .. } => "percentile",
        Metric::Median { .. } => "median",
        Metric::StdDeviation { .. } => "std_deviation",
        Metric::PercentileRank { .. } => "percentile_rank",
        Metric::TopHit { .. } => "top_hit",
        Metric::OverBuckets { stat, .. } => stat.agg_type(),
    }
}

/// `metric` made of kind `name`, keeping its field. A statistic over buckets starts as one of
/// the metric so far per time interval.
fn metric_of_kind(metric: &Metric, name: &str, time_field: &str) -> Metric {
    if let Some(stat) = BucketStat::from_agg_type(name) {
        return match metric {
            Metric::OverBuckets { per, of, .. } => Metric::OverBuckets {
                stat,
                per: per.clone(),
                of: of.clone(),
            },
            // A statistic over buckets takes a number per bucket: their flows.
            Metric::TopHit { .. } => Metric::OverBuckets {
                stat,
                per: Box::new(BucketAgg::DateHistogram {
                    field: time_field.to_owned(),
                    interval: Interval::Auto,
                }),
                of: Box::new(Metric::Count),
            },
            other => Metric::OverBuckets {
                stat,
                per: Box::new(BucketAgg::DateHistogram {
                    field: time_field.to_owned(),
                    interval: Interval::Auto,
                }),
                of: Box::new(other.clone()),
            },
        };
    }
    let field = metric
        .field()
        .map(str::to_owned)
        .unwrap_or_else(|| "bytes".into());
    match name {
        "sum" => Metric::Sum { field },
        "avg" => Metric::Avg { field },
        "min" => Metric::Min { field },
        "max" => Metric::Max { field },
        "unique_count" => Metric::UniqueCount {
            field: if field == "bytes" {
                "srcaddr".into()
            } else {
                field
            },
        },
        "percentile" => Metric::Percentile {
            field,
            percent: 95.0,
        },
        "median" => Metric::Median { field },
        "std_deviation" => Metric::StdDeviation { field },
        "percentile_rank" => Metric::PercentileRank {
            field,
            value: 1500.0,
        },
        // The latest flow's value.
        "top_hit" => Metric::TopHit {
            field,
            size: 1,
            sort_field: match time_field {
                "" => "@timestamp".into(),
                time_field => time_field.to_owned(),
            },
            descending: true,
            combine: TopHitCombine::Concat,
        },
        _ => Metric::Count,
    }
}

/// Points the metric (or, for a statistic over buckets, its inner metric) at `name`.
fn set_metric_field(metric: &mut Metric, name: String) {
    match metric {
        Metric::Sum { field }
        | Metric::Avg { field }
        | Metric::Min { field }
        | Metric::Max { field }
        | Metric::UniqueCount { field }
        | Metric::Percentile { field, .. }
        | Metric::Median { field }
        | Metric::StdDeviation { field }
        | Metric::PercentileRank { field, .. }
        | Metric::TopHit { field, .. } => *field = name,
        Metric::OverBuckets { of, .. } => set_metric_field(of, name),
        Metric::Count => {}
    }
}

/// A change to a statistic over buckets: to its split and its inner metric.
type OverBucketsChange = Box<dyn FnOnce(&mut BucketAgg, &mut Metric)>;

/// A statistic over buckets' own settings: the metric in each bucket, and the split that
/// makes the buckets (time intervals, or the top values of a field).
#[component]
fn OverBucketsEditor(
    measure: MeasureAt,
    fields: Memo<Vec<FieldSpec>>,
    time_field: Memo<String>,
) -> impl IntoView {
    // Re-drawn when the split or its metric changes, not on every edit.
    let over = Memo::new(move |_| {
        measure.with(|m| match &m.metric {
            Metric::OverBuckets { per, of, .. } => Some(((**per).clone(), metric_kind(of))),
            _ => None,
        })
    });
    let edit = move |change: OverBucketsChange| {
        measure.update(|m| {
            if let Metric::OverBuckets { per, of, .. } = &mut m.metric {
                change(per, of)
            }
        })
    };
    move || {
        let (per, of_kind) = over.get()?;
        let per_kind = if matches!(per, BucketAgg::Terms { .. }) {
            "terms"
        } else {
            "time"
        };
        let details = match per {
            BucketAgg::Terms { field, size, .. } => view! {
                <label class="field">"Per field"
                    <select name="per_field" on:change:target=move |ev| { let name = ev.target().value(); edit(Box::new(move |per, _| if let BucketAgg::Terms { field, .. } = per { *field = name })) }>
                        {field_options(&fields.get(), |f| f.aggregatable, &field)}
                    </select>
                </label>
                <label class="field">"Size"
                    <input type="number" min="1" max="500" name="per_size" prop:value=size.to_string()
                        on:change:target=move |ev| { if let Ok(n) = ev.target().value().parse::<u32>() { edit(Box::new(move |per, _| if let BucketAgg::Terms { size, .. } = per { *size = n.clamp(1, 500) })) } }/>
                </label>
            }.into_any(),
            BucketAgg::DateHistogram { interval, .. } => {
                let current = interval_choice(&interval);
                view! {
                    <label class="field">"Interval"
                        <select name="per_interval" on:change:target=move |ev| { let next = interval_of_choice(&ev.target().value()); edit(Box::new(move |per, _| if let BucketAgg::DateHistogram { interval, .. } = per { *interval = next })) }>
                            {interval_options(&current)}
                        </select>
                    </label>
                }.into_any()
            }
            // Imported splits of other kinds are kept as they are.
            other => view! { <p class="hint">{format!("Per {}", other.unit_label())}</p> }.into_any(),
        };
        Some(view! {
            <label class="field">"Of"
                <select name="bucket_metric" on:change:target=move |ev| { let name = ev.target().value(); edit(Box::new(move |_, of| *of = metric_of_kind(of, &name, ""))) }>
                    {METRIC_KINDS.into_iter().filter(|(value, _)| !matches!(*value, "percentile" | "percentile_rank" | "top_hit")).map(|(value, label)| view! { <option value=value selected=value == of_kind>{label}</option> }).collect_view()}
                </select>
            </label>
            <label class="field">"Per"
                <select name="per" on:change:target=move |ev| {
                    let terms = ev.target().value() == "terms";
                    let time_field = time_field.get_untracked();
                    edit(Box::new(move |per, _| *per = if terms { terms_bucket(BucketRole::Rows, "srcaddr", 10).agg } else { BucketAgg::DateHistogram { field: time_field, interval: Interval::Auto } }))
                }>
                    <option value="time" selected=per_kind == "time">"Time interval"</option>
                    <option value="terms" selected=per_kind == "terms">"Top values of a field"</option>
                </select>
            </label>
            {details}
        })
    }
}

/// "Over time": the metric as a running total, a change, a moving average or a difference
/// (Kibana's parent pipeline metrics), with the window or lag they take.
#[component]
fn PipelineEditor(measure: MeasureAt) -> impl IntoView {
    let kind = Memo::new(move |_| {
        measure.with(|m| match &m.pipeline {
            None => "",
            Some(ParentPipeline::CumulativeSum) => "cumulative_sum",
            Some(ParentPipeline::Derivative) => "derivative",
            Some(ParentPipeline::MovingAverage { .. }) => "moving_average",
            Some(ParentPipeline::SerialDiff { .. }) => "serial_diff",
        })
    });
    let set_kind = move |value: String| {
        measure.update(|m| {
            // A pipeline runs over totals: a rate of the metric is dropped (see validation).
            if !value.is_empty() {
                m.rate = None;
            }
            m.pipeline = match value.as_str() {
                "cumulative_sum" => Some(ParentPipeline::CumulativeSum),
                "derivative" => Some(ParentPipeline::Derivative),
                "moving_average" => Some(ParentPipeline::MovingAverage { window: 5 }),
                "serial_diff" => Some(ParentPipeline::SerialDiff { lag: 1 }),
                _ => None,
            }
        })
    };
    let buckets = Memo::new(move |_| {
        measure.with(|m| match m.pipeline {
            Some(
                ParentPipeline::MovingAverage { window: n } | ParentPipeline::SerialDiff { lag: n },
            ) => Some(n),
            _ => None,
        })
    });
    view! {
        <label class="field">"Over time"
            <select name="pipeline" on:change:target=move |ev| set_kind(ev.target().value())>
                {[("", "As is"), ("cumulative_sum", "Cumulative sum"), ("derivative", "Derivative"), ("moving_average", "Moving average"), ("serial_diff", "Serial difference")]
                    .into_iter().map(|(value, label)| view! { <option value=value selected=move || kind.get() == value>{label}</option> }).collect_view()}
            </select>
        </label>
        {move || buckets.get().map(|n| view! {
            <label class="field small">{if kind.get() == "moving_average" { "Window (buckets)" } else { "Lag (buckets)" }}
                <input type="number" min="1" max="100" name="pipeline_buckets" prop:value=n.to_string()
                    on:change:target=move |ev| { if let Ok(n) = ev.target().value().parse::<u32>() { measure.update(|m| if let Some(ParentPipeline::MovingAverage { window: b } | ParentPipeline::SerialDiff { lag: b }) = &mut m.pipeline { *b = n }) } }/>
            </label>
        })}
    }
}
