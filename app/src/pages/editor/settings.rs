//! The editor's settings panes: the metric, the buckets (and each bucket's
//! aggregation-specific settings), and the chart options.

use leptos::prelude::*;

use crate::model::filter::QueryText;
use crate::model::index_pattern::FieldSpec;
use crate::model::measure::{AxisTitles, ValueAxis, MAX_LABEL_CHARS};
use crate::model::visualization::{
    terms_bucket, BarMode, Bucket, BucketAgg, BucketRole, ChartKind, DateRangeSpec, Interval,
    IpRangeSpec, LegendPosition, Metric, NamedFilter, NumberRange, TermsOrder, ThresholdLine,
    Visualization, MAX_MULTI_TERMS, MAX_THRESHOLD_LABEL,
};

pub(super) fn field_options(
    fields: &[FieldSpec],
    filter: impl Fn(&FieldSpec) -> bool,
    selected: &str,
) -> impl IntoView {
    let mut names: Vec<String> = fields
        .iter()
        .filter(|f| filter(f))
        .map(|f| f.name.clone())
        .collect();
    if !selected.is_empty() && !names.iter().any(|n| n == selected) {
        names.insert(0, selected.to_owned());
    }
    names
        .into_iter()
        .map(|name| {
            let is = name == selected;
            let label = name.clone();
            view! { <option value=name selected=is>{label}</option> }
        })
        .collect_view()
}

pub(super) fn is_numeric(f: &FieldSpec) -> bool {
    f.aggregatable
        && matches!(
            f.field_type.as_str(),
            "long" | "integer" | "short" | "byte" | "double" | "float" | "date"
        )
}

/// The date histogram intervals the editor offers (`auto` first).
const INTERVAL_CHOICES: [&str; 11] = [
    "auto", "1m", "5m", "10m", "30m", "1h", "3h", "12h", "1d", "1w", "1M",
];

/// The interval an [`INTERVAL_CHOICES`] value stands for.
pub(super) fn interval_of_choice(choice: &str) -> Interval {
    match choice {
        "auto" => Interval::Auto,
        v if crate::model::time::is_calendar_interval(v) => Interval::Calendar(v.to_owned()),
        v => Interval::Fixed(v.to_owned()),
    }
}

/// The [`INTERVAL_CHOICES`] value of an interval.
pub(super) fn interval_choice(interval: &Interval) -> String {
    match interval {
        Interval::Auto => "auto".to_owned(),
        Interval::Fixed(t) | Interval::Calendar(t) => t.clone(),
    }
}

pub(super) fn interval_options(current: &str) -> impl IntoView {
    INTERVAL_CHOICES
        .into_iter()
        .map(|v| {
            let is = v == current;
            let label = if v == "auto" { "Auto" } else { v };
            view! { <option value=v selected=is>{label}</option> }
        })
        .collect_view()
}

/// The roles a chart kind's buckets can take.
fn roles(kind: ChartKind) -> &'static [(BucketRole, &'static str)] {
    match kind {
        ChartKind::Pie => &[(BucketRole::SplitSlices, "Split slices")],
        ChartKind::Table => &[(BucketRole::Rows, "Split rows")],
        ChartKind::Sankey => &[(BucketRole::Nodes, "Node column")],
        ChartKind::Metric => &[],
        // A heatmap's split is its rows.
        ChartKind::Heatmap => &[
            (BucketRole::XAxis, "X axis"),
            (BucketRole::SplitSeries, "Y axis"),
        ],
        _ => &[
            (BucketRole::XAxis, "X axis"),
            (BucketRole::SplitSeries, "Split series"),
        ],
    }
}

#[component]
pub(super) fn BucketsEditor(
    vis: RwSignal<Visualization>,
    fields: Memo<Vec<FieldSpec>>,
    time_field: Memo<String>,
) -> impl IntoView {
    let add = move |_| {
        // Read before the update: the time field is derived from `vis`.
        let time_field = time_field.get_untracked();
        vis.update(|v| {
            let role = match v.kind {
                ChartKind::Pie => BucketRole::SplitSlices,
                ChartKind::Table => BucketRole::Rows,
                ChartKind::Sankey => BucketRole::Nodes,
                _ if v.x_axis().is_none() => BucketRole::XAxis,
                _ => BucketRole::SplitSeries,
            };
            let bucket = if role == BucketRole::XAxis {
                Bucket {
                    role,
                    agg: BucketAgg::DateHistogram {
                        field: time_field,
                        interval: Interval::Auto,
                    },
                }
            } else {
                terms_bucket(role, "dstport", 5)
            };
            v.buckets.push(bucket);
        })
    };
    view! {
        <fieldset class="group">
            <legend>"Buckets"</legend>
            {move || {
                let count = vis.with(|v| v.buckets.len());
                (0..count).map(|index| view! { <BucketEditor vis fields time_field index/> }).collect_view()
            }}
            <Show when=move || vis.with(|v| v.kind != ChartKind::Metric)>
                <button type="button" on:click=add>"+ Add bucket"</button>
            </Show>
        </fieldset>
    }
}

#[component]
fn BucketEditor(
    vis: RwSignal<Visualization>,
    fields: Memo<Vec<FieldSpec>>,
    time_field: Memo<String>,
    index: usize,
) -> impl IntoView {
    let bucket = move || vis.with(|v| v.buckets.get(index).cloned());
    let edit = move |change: Box<dyn FnOnce(&mut Bucket)>| edit_bucket(vis, index, change);
    let agg_type = move || bucket().map(|b| b.agg.type_name()).unwrap_or("terms");
    let set_type = move |name: String| {
        // Read before the edit: the time field is derived from `vis`.
        let time_field = time_field.get_untracked();
        edit(Box::new(move |b| {
            let field = b.agg.field().unwrap_or("dstport").to_owned();
            b.agg = match name.as_str() {
                "date_histogram" => BucketAgg::DateHistogram {
                    field: time_field,
                    interval: Interval::Auto,
                },
                "histogram" => BucketAgg::Histogram {
                    field: if field.starts_with('@') {
                        "bytes".into()
                    } else {
                        field
                    },
                    interval: 1000.0,
                },
                "range" => BucketAgg::Range {
                    field: "bytes".into(),
                    ranges: vec![
                        NumberRange {
                            from: None,
                            to: Some(1000.0),
                        },
                        NumberRange {
                            from: Some(1000.0),
                            to: None,
                        },
                    ],
                },
                "filters" => BucketAgg::Filters {
                    filters: vec![NamedFilter {
                        label: "Rejected".into(),
                        query: QueryText::kql("action:REJECT"),
                    }],
                },
                "multi_terms" => {
                    let first = if field.starts_with('@') {
                        "srcaddr".to_owned()
                    } else {
                        field
                    };
                    let second = if first == "dstaddr" {
                        "srcaddr"
                    } else {
                        "dstaddr"
                    };
                    BucketAgg::MultiTerms {
                        fields: vec![first, second.to_owned()],
                        size: 10,
                        order: TermsOrder::MetricDesc,
                    }
                }
                "network" => BucketAgg::Network {
                    field: if field == "dstaddr" {
                        field
                    } else {
                        "srcaddr".into()
                    },
                },
                "direction" => BucketAgg::Direction {},
                "significant_terms" => BucketAgg::SignificantTerms {
                    field: if field.starts_with('@') {
                        "dstport".into()
                    } else {
                        field
                    },
                    size: 5,
                },
                "ip_range" => BucketAgg::IpRange {
                    field: "srcaddr".into(),
                    ranges: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
                        .into_iter()
                        .map(|mask| IpRangeSpec::Mask(mask.into()))
                        .collect(),
                },
                "ip_prefix" => BucketAgg::IpPrefix {
                    field: if field == "dstaddr" {
                        field
                    } else {
                        "srcaddr".into()
                    },
                    prefix_length: 24,
                    ipv6: false,
                    size: 10,
                },
                "date_range" => BucketAgg::DateRange {
                    field: time_field,
                    ranges: vec![
                        DateRangeSpec {
                            from: Some("now-1d/d".into()),
                            to: Some("now/d".into()),
                        },
                        DateRangeSpec {
                            from: Some("now/d".into()),
                            to: None,
                        },
                    ],
                },
                _ => BucketAgg::Terms {
                    field: if field.starts_with('@') {
                        "dstport".into()
                    } else {
                        field
                    },
                    size: 5,
                    order: TermsOrder::MetricDesc,
                    other_bucket: false,
                    missing_bucket: false,
                },
            }
        }))
    };
    let set_field = move |name: String| {
        edit(Box::new(move |b| match &mut b.agg {
            BucketAgg::Terms { field, .. }
            | BucketAgg::DateHistogram { field, .. }
            | BucketAgg::Histogram { field, .. }
            | BucketAgg::Range { field, .. }
            | BucketAgg::SignificantTerms { field, .. }
            | BucketAgg::IpRange { field, .. }
            | BucketAgg::IpPrefix { field, .. }
            | BucketAgg::DateRange { field, .. }
            | BucketAgg::Network { field } => *field = name,
            BucketAgg::Filters { .. } | BucketAgg::MultiTerms { .. } | BucketAgg::Direction {} => {}
        }))
    };
    // A multi terms split's fields: each chosen, removed (down to two) or added (up to four).
    let edit_fields = move |change: FieldsEdit| {
        edit(Box::new(move |b| {
            if let BucketAgg::MultiTerms { fields, .. } = &mut b.agg {
                change(fields);
            }
        }))
    };
    let multi_fields = move || match bucket().map(|b| b.agg) {
        Some(BucketAgg::MultiTerms { fields: chosen, .. }) => {
            let count = chosen.len();
            let rows = chosen
                .into_iter()
                .enumerate()
                .map(|(i, selected)| {
                    let label = format!("Field {}", i + 1);
                    view! {
                        <div class="row">
                            <label class="field">{label.clone()}
                                <select name=format!("bucket{index}_field{i}") on:change:target=move |ev| { let name = ev.target().value(); edit_fields(Box::new(move |f| if let Some(slot) = f.get_mut(i) { *slot = name })) }>
                                    {field_options(&fields.get(), |f| f.aggregatable && f.field_type != "date", &selected)}
                                </select>
                            </label>
                            <button type="button" class="icon" aria-label=format!("Remove {label}") title="Remove field" disabled={count <= 2}
                                on:click=move |_| edit_fields(Box::new(move |f| if f.len() > 2 && i < f.len() { f.remove(i); }))>"✕"</button>
                        </div>
                    }
                })
                .collect_view();
            view! {
                {rows}
                <button type="button" class="secondary" disabled={count >= MAX_MULTI_TERMS}
                    on:click=move |_| edit_fields(Box::new(|f| if f.len() < MAX_MULTI_TERMS { f.push(next_conversation_field(f).to_owned()) }))>"Add field"</button>
            }
            .into_any()
        }
        _ => ().into_any(),
    };
    let role_options = move || {
        let kind = vis.with(|v| v.kind);
        let current = bucket().map(|b| b.role);
        roles(kind)
            .iter()
            .map(|(role, label)| {
                let role = *role;
                view! { <option value=format!("{role:?}") selected=current == Some(role)>{*label}</option> }
            })
            .collect_view()
    };
    view! {
        <div class="bucket" data-bucket=index>
            <div class="bucket-header">
                <select aria-label="Bucket role" on:change:target=move |ev| {
                    let value = ev.target().value();
                    let kind = vis.with_untracked(|v| v.kind);
                    if let Some((role, _)) = roles(kind).iter().find(|(r, _)| format!("{r:?}") == value) {
                        let role = *role;
                        edit(Box::new(move |b| b.role = role));
                    }
                }>{role_options}</select>
                <button type="button" class="icon" aria-label="Move bucket up" title="Move up" disabled=index == 0 on:click=move |_| vis.update(|v| if index > 0 { v.buckets.swap(index, index - 1) })>"↑"</button>
                <button type="button" class="icon" aria-label="Remove bucket" title="Remove" on:click=move |_| vis.update(|v| { if index < v.buckets.len() { v.buckets.remove(index); } })>"✕"</button>
            </div>
            <label class="field">"Aggregation"
                <select name=format!("bucket{index}_type") on:change:target=move |ev| set_type(ev.target().value())>
                    {[("terms", "Terms"), ("multi_terms", "Terms of several fields"), ("network", "Network"), ("direction", "Traffic direction"), ("significant_terms", "Significant terms"), ("date_histogram", "Date histogram"), ("date_range", "Date range"), ("histogram", "Histogram"), ("range", "Range"), ("ip_range", "IP range"), ("ip_prefix", "IP prefix (subnets)"), ("filters", "Filters")]
                        .into_iter().map(|(value, label)| view! { <option value=value selected=move || agg_type() == value>{label}</option> }).collect_view()}
                </select>
            </label>
            {move || bucket().and_then(|b| b.agg.field().map(str::to_owned)).map(|selected| {
                let date_only = matches!(agg_type(), "date_histogram" | "date_range");
                let numeric = matches!(agg_type(), "histogram" | "range");
                let address = matches!(agg_type(), "ip_range" | "ip_prefix" | "network");
                view! {
                    <label class="field">"Field"
                        <select name=format!("bucket{index}_field") on:change:target=move |ev| set_field(ev.target().value())>
                            {field_options(&fields.get(), move |f| if date_only { f.field_type == "date" } else if numeric { is_numeric(f) } else if address { f.field_type == "ip" } else { f.aggregatable }, &selected)}
                        </select>
                    </label>
                }
            })}
            {multi_fields}
            <BucketSettings vis index/>
        </div>
    }
}

/// A change to a multi terms split's fields.
type FieldsEdit = Box<dyn FnOnce(&mut Vec<String>)>;

/// The field a conversation adds next: destination port, then protocol, then whichever of the
/// usual ones is not chosen yet.
fn next_conversation_field(chosen: &[String]) -> &'static str {
    [
        "srcaddr", "dstaddr", "dstport", "protocol", "srcport", "action",
    ]
    .into_iter()
    .find(|f| !chosen.iter().any(|c| c == f))
    .unwrap_or("srcport")
}

/// The settings of bucket `index` that depend on its aggregation: a terms size and order, an
/// interval, ranges, filters.
#[component]
fn BucketSettings(vis: RwSignal<Visualization>, index: usize) -> impl IntoView {
    let bucket = move || vis.with(|v| v.buckets.get(index).cloned());
    let edit = move |change: Box<dyn FnOnce(&mut Bucket)>| edit_bucket(vis, index, change);
    view! {
        {move || match bucket().map(|b| b.agg) {
            Some(agg @ (BucketAgg::Terms { .. } | BucketAgg::MultiTerms { .. })) => {
            let (size, order, one_field) = match agg {
                BucketAgg::Terms { size, order, other_bucket, missing_bucket, .. } => (size, order, Some((other_bucket, missing_bucket))),
                BucketAgg::MultiTerms { size, order, .. } => (size, order, None),
                _ => return ().into_any(),
            };
            // Terms rank by the first metric as the flows give it (before a rate or pipeline):
            // with several, the choice says which. A top hit ranks none: its flows do.
            let by = vis.with(|v| match v.metric() {
                Metric::TopHit { .. } => Some(" by count".to_owned()),
                first => (v.metrics.len() > 1).then(|| format!(" by {}", first.label())),
            }).unwrap_or_default();
            view! {
                <div class="row">
                    <label class="field small">"Size"
                        <input type="number" min="1" max="500" name=format!("bucket{index}_size") prop:value=size.to_string()
                            on:change:target=move |ev| { if let Ok(n) = ev.target().value().parse::<u32>() { edit(Box::new(move |b| if let BucketAgg::Terms { size, .. } | BucketAgg::MultiTerms { size, .. } = &mut b.agg { *size = n })) } }/>
                    </label>
                    <label class="field">"Order"
                        <select on:change:target=move |ev| {
                            let value = ev.target().value();
                            let next = match value.as_str() { "metric_asc" => TermsOrder::MetricAsc, "key_asc" => TermsOrder::KeyAsc, "key_desc" => TermsOrder::KeyDesc, _ => TermsOrder::MetricDesc };
                            edit(Box::new(move |b| if let BucketAgg::Terms { order, .. } | BucketAgg::MultiTerms { order, .. } = &mut b.agg { *order = next }));
                        }>
                            <option value="metric_desc" selected=order == TermsOrder::MetricDesc>{format!("Largest first{by}")}</option>
                            <option value="metric_asc" selected=order == TermsOrder::MetricAsc>{format!("Smallest first{by}")}</option>
                            <option value="key_asc" selected=order == TermsOrder::KeyAsc>"Alphabetical"</option>
                            <option value="key_desc" selected=order == TermsOrder::KeyDesc>"Reverse alphabetical"</option>
                        </select>
                    </label>
                </div>
                {one_field.map(|(other_bucket, missing_bucket)| view! {
                // A Sankey always flows the rest on as "Other".
                <Show when=move || vis.with(|v| v.kind != ChartKind::Sankey)>
                <label class="check"><input type="checkbox" prop:checked=other_bucket on:change:target=move |ev| { let on = ev.target().checked(); edit(Box::new(move |b| if let BucketAgg::Terms { other_bucket, .. } = &mut b.agg { *other_bucket = on })) }/>" Group the rest as “Other”"</label>
                </Show>
                <label class="check"><input type="checkbox" prop:checked=missing_bucket on:change:target=move |ev| { let on = ev.target().checked(); edit(Box::new(move |b| if let BucketAgg::Terms { missing_bucket, .. } = &mut b.agg { *missing_bucket = on })) }/>" Show “Missing” values"</label>
                })}
            }.into_any()
            }
            Some(BucketAgg::DateHistogram { interval, .. }) => {
                let current = interval_choice(&interval);
                view! {
                    <label class="field">"Interval"
                        <select name=format!("bucket{index}_interval") on:change:target=move |ev| {
                            let next = interval_of_choice(&ev.target().value());
                            edit(Box::new(move |b| if let BucketAgg::DateHistogram { interval, .. } = &mut b.agg { *interval = next }));
                        }>
                            {interval_options(&current)}
                        </select>
                    </label>
                }.into_any()
            }
            Some(BucketAgg::Histogram { interval, .. }) => view! {
                <label class="field">"Interval"
                    <input type="number" min="0" step="any" prop:value=interval.to_string()
                        on:change:target=move |ev| { if let Ok(n) = ev.target().value().parse::<f64>() { edit(Box::new(move |b| if let BucketAgg::Histogram { interval, .. } = &mut b.agg { *interval = n })) } }/>
                </label>
            }.into_any(),
            Some(BucketAgg::Range { ranges, .. }) => {
                let text = ranges.iter().map(|r| format!("{}-{}", r.from.map(|v| v.to_string()).unwrap_or_default(), r.to.map(|v| v.to_string()).unwrap_or_default())).collect::<Vec<_>>().join(", ");
                view! {
                    <label class="field">"Ranges (from-to, comma-separated; empty for open)"
                        <input type="text" prop:value=text on:change:target=move |ev| {
                            let parsed: Vec<NumberRange> = ev.target().value().split(',').filter_map(|part| {
                                let (from, to) = part.trim().split_once('-')?;
                                Some(NumberRange { from: from.trim().parse().ok(), to: to.trim().parse().ok() })
                            }).collect();
                            edit(Box::new(move |b| if let BucketAgg::Range { ranges, .. } = &mut b.agg { *ranges = parsed }));
                        }/>
                    </label>
                }.into_any()
            }
            Some(BucketAgg::SignificantTerms { size, .. }) => view! {
                <label class="field small">"Size"
                    <input type="number" min="1" max="500" name=format!("bucket{index}_size") prop:value=size.to_string()
                        on:change:target=move |ev| { if let Ok(n) = ev.target().value().parse::<u32>() { edit(Box::new(move |b| if let BucketAgg::SignificantTerms { size, .. } = &mut b.agg { *size = n })) } }/>
                </label>
            }.into_any(),
            Some(BucketAgg::IpRange { ranges, .. }) => {
                let text = ranges.iter().map(IpRangeSpec::text).collect::<Vec<_>>().join(", ");
                view! {
                    <label class="field">"Ranges (CIDR blocks or from-to addresses, comma-separated)"
                        <input type="text" name=format!("bucket{index}_ranges") prop:value=text on:change:target=move |ev| {
                            // What is no address range is kept as typed, for validation to name it.
                            let parsed: Vec<IpRangeSpec> = ev.target().value().split(',').filter(|p| !p.trim().is_empty())
                                .map(|p| IpRangeSpec::parse(p).unwrap_or_else(|| IpRangeSpec::Mask(p.trim().to_owned()))).collect();
                            edit(Box::new(move |b| if let BucketAgg::IpRange { ranges, .. } = &mut b.agg { *ranges = parsed }));
                        }/>
                    </label>
                }.into_any()
            }
            Some(BucketAgg::IpPrefix { prefix_length, ipv6, size, .. }) => view! {
                <div class="row">
                    <label class="field small">"Prefix length"
                        <input type="number" min="0" max=if ipv6 { "128" } else { "32" } name=format!("bucket{index}_prefix_length") prop:value=prefix_length.to_string()
                            on:change:target=move |ev| {
                                // Past 255 reads as 255, for validation to name it rather than the box to ignore it.
                                if let Ok(n) = ev.target().value().trim().parse::<u32>() {
                                    let n = u8::try_from(n).unwrap_or(u8::MAX);
                                    edit(Box::new(move |b| if let BucketAgg::IpPrefix { prefix_length, .. } = &mut b.agg { *prefix_length = n }))
                                }
                            }/>
                    </label>
                    <label class="field small">"Size"
                        <input type="number" min="1" max="500" name=format!("bucket{index}_size") prop:value=size.to_string()
                            on:change:target=move |ev| { if let Ok(n) = ev.target().value().parse::<u32>() { edit(Box::new(move |b| if let BucketAgg::IpPrefix { size, .. } = &mut b.agg { *size = n })) } }/>
                    </label>
                </div>
                <label class="check"><input type="checkbox" name=format!("bucket{index}_ipv6") prop:checked=ipv6 on:change:target=move |ev| {
                    // Each family's usual subnet: /24 of IPv4, /64 of IPv6.
                    let on = ev.target().checked();
                    edit(Box::new(move |b| if let BucketAgg::IpPrefix { ipv6, prefix_length, .. } = &mut b.agg { *ipv6 = on; *prefix_length = if on { 64 } else { 24 } }))
                }/>" IPv6 networks"</label>
                <p class="hint">"The largest networks of that prefix length by the metric (Elasticsearch 8.1 or later, or the embedded engine)."</p>
            }.into_any(),
            Some(BucketAgg::DateRange { ranges, .. }) => {
                let text = ranges.iter().map(DateRangeSpec::text).collect::<Vec<_>>().join(", ");
                view! {
                    <label class="field">"Ranges (from..to in date math, comma-separated; empty for open)"
                        <input type="text" name=format!("bucket{index}_ranges") prop:value=text on:change:target=move |ev| {
                            let parsed: Vec<DateRangeSpec> = ev.target().value().split(',').filter_map(DateRangeSpec::parse).collect();
                            edit(Box::new(move |b| if let BucketAgg::DateRange { ranges, .. } = &mut b.agg { *ranges = parsed }));
                        }/>
                    </label>
                }.into_any()
            }
            Some(BucketAgg::Filters { filters }) => {
                let text = filters.iter().map(|f| f.query.text.clone()).collect::<Vec<_>>().join("\n");
                view! {
                    <label class="field">"Filters (one KQL query per line)"
                        <textarea rows="3" prop:value=text on:change:target=move |ev| {
                            let parsed: Vec<NamedFilter> = ev.target().value().lines().filter(|l| !l.trim().is_empty())
                                .map(|l| NamedFilter { label: l.trim().to_owned(), query: QueryText::kql(l.trim()) }).collect();
                            edit(Box::new(move |b| if let BucketAgg::Filters { filters } = &mut b.agg { *filters = parsed }));
                        }></textarea>
                    </label>
                }.into_any()
            }
            Some(BucketAgg::Network { .. }) => view! {
                <p class="hint">"Each flow under the most specific of the networks named in "<a href="/management/networks">"Management → Networks"</a>" that holds its address; the rest as “Unnamed”."</p>
            }.into_any(),
            Some(BucketAgg::Direction {}) => view! {
                <p class="hint">"Inbound, outbound, internal or external: an address is yours in a private range or a network named in "<a href="/management/networks">"Management → Networks"</a>" (unless marked external)."</p>
            }.into_any(),
            None => ().into_any(),
        }}
    }
}

/// Changes bucket `index` of the visualization, if it still has one.
fn edit_bucket(vis: RwSignal<Visualization>, index: usize, change: Box<dyn FnOnce(&mut Bucket)>) {
    vis.update(|v| {
        if let Some(b) = v.buckets.get_mut(index) {
            change(b)
        }
    })
}

/// Chart options. `legend` is the preview's legend (label, colour), whose colours can be pinned
/// per term, as in Kibana's legend colour picker; pinned colours travel with the visualization.
#[component]
pub(super) fn OptionsEditor(
    vis: RwSignal<Visualization>,
    legend: Signal<Vec<(String, Option<String>)>>,
) -> impl IntoView {
    let swatches = move || {
        let mut seen = std::collections::BTreeSet::new();
        // A heatmap's colours are its value bands, not terms to pin.
        if vis.with(|v| v.kind == ChartKind::Heatmap) {
            return Vec::new();
        }
        legend
            .get()
            .into_iter()
            .filter_map(|(label, color)| Some((label, color?)))
            .filter(|(label, _)| seen.insert(label.clone()))
            .collect::<Vec<_>>()
    };
    view! {
        <fieldset class="group">
            <legend>"Options"</legend>
            <Show when=move || vis.with(|v| v.kind == ChartKind::Pie)>
                <label class="check"><input type="checkbox" prop:checked=move || vis.with(|v| v.options.donut) on:change:target=move |ev| vis.update(|v| v.options.donut = ev.target().checked())/>" Donut"</label>
                <label class="check"><input type="checkbox" prop:checked=move || vis.with(|v| v.options.show_labels) on:change:target=move |ev| vis.update(|v| v.options.show_labels = ev.target().checked())/>" Labels"</label>
                <label class="check"><input type="checkbox" prop:checked=move || vis.with(|v| v.options.show_percent) on:change:target=move |ev| vis.update(|v| v.options.show_percent = ev.target().checked())/>" Percentages"</label>
            </Show>
            <Show when=move || vis.with(|v| matches!(v.kind, ChartKind::Bar | ChartKind::HorizontalBar))>
                <label class="field">"Bars"
                    <select on:change:target=move |ev| vis.update(|v| v.options.bar_mode = if ev.target().value() == "grouped" { BarMode::Grouped } else { BarMode::Stacked })>
                        <option value="stacked" selected=move || vis.with(|v| v.options.bar_mode == BarMode::Stacked)>"Stacked"</option>
                        <option value="grouped" selected=move || vis.with(|v| v.options.bar_mode == BarMode::Grouped)>"Grouped"</option>
                    </select>
                </label>
            </Show>
            <label class="field">"Legend"
                <select on:change:target=move |ev| vis.update(|v| v.options.legend = match ev.target().value().as_str() { "bottom" => LegendPosition::Bottom, "hidden" => LegendPosition::Hidden, _ => LegendPosition::Right })>
                    <option value="right" selected=move || vis.with(|v| v.options.legend == LegendPosition::Right)>"Right"</option>
                    <option value="bottom" selected=move || vis.with(|v| v.options.legend == LegendPosition::Bottom)>"Bottom"</option>
                    <option value="hidden" selected=move || vis.with(|v| v.options.legend == LegendPosition::Hidden)>"Hidden"</option>
                </select>
            </label>
            <Show when=move || vis.with(|v| v.kind.is_xy())>
                <label class="check"><input type="checkbox" prop:checked=move || vis.with(|v| v.options.utc) on:change:target=move |ev| vis.update(|v| v.options.utc = ev.target().checked())/>" Times in UTC"</label>
                <label class="check"><input type="checkbox" prop:checked=move || vis.with(|v| v.options.drop_partial_buckets) on:change:target=move |ev| vis.update(|v| v.options.drop_partial_buckets = ev.target().checked())/>" Drop partial buckets"</label>
            </Show>
            <Show when=move || vis.with(|v| v.kind.is_xy() && v.kind != ChartKind::Heatmap)>
                <ThresholdEditor vis/>
            </Show>
            <Show when=move || vis.with(|v| v.kind.is_xy())>
                <AxisTitlesEditor vis/>
            </Show>
            // Also shown while set where it does not apply, so that it can be undone.
            <Show when=move || vis.with(|v| v.options.time_shift.is_some() || v.takes_time_shift())>
                <TimeShiftEditor vis/>
            </Show>
            <Show when=move || !legend.with(|l| l.is_empty())>
                <div class="colors" role="group" aria-label="Colours">
                    <span class="field-label">"Colours"</span>
                    <For each=swatches key=|(label, color)| (label.clone(), color.clone()) let((label, color))>
                        {
                            // Pinned by the value alone, so that a port's name or what is known
                            // of an address may change and the colour stay.
                            let key = crate::model::names::without_name(&label).to_owned();
                            let pinned = {
                                let (label, key) = (label.clone(), key.clone());
                                move || vis.with(|v| v.options.colors.contains_key(&label) || v.options.colors.contains_key(&key))
                            };
                            let set = (label.clone(), key.clone());
                            let reset = (label.clone(), key);
                            view! {
                                <div class="color-row">
                                    <input type="color" value=color aria-label=format!("Colour of {label}")
                                        on:change:target=move |ev| { let hex = ev.target().value(); vis.update(|v| { v.options.colors.remove(&set.0); v.options.colors.insert(set.1.clone(), hex); }) }/>
                                    <span class="color-label">{label.clone()}</span>
                                    <Show when=pinned.clone()>
                                        <button class="link" aria-label=format!("Default colour for {label}")
                                            on:click={let reset = reset.clone(); move |_| vis.update(|v| { v.options.colors.remove(&reset.0); v.options.colors.remove(&reset.1); })}>"reset"</button>
                                    </Show>
                                </div>
                            }
                        }
                    </For>
                </div>
            </Show>
        </fieldset>
    }
}

/// A threshold line: a value (empty for none) and its label.
#[component]
fn ThresholdEditor(vis: RwSignal<Visualization>) -> impl IntoView {
    let value = move || {
        vis.with(|v| {
            v.options
                .threshold
                .as_ref()
                .map(|t| t.value.to_string())
                .unwrap_or_default()
        })
    };
    let label = move || {
        vis.with(|v| {
            v.options
                .threshold
                .as_ref()
                .map(|t| t.label.clone())
                .unwrap_or_default()
        })
    };
    let set_value = move |text: String| {
        vis.update(|v| match text.trim().parse::<f64>() {
            Ok(value) if value.is_finite() => {
                let label = v
                    .options
                    .threshold
                    .take()
                    .map(|t| t.label)
                    .unwrap_or_default();
                v.options.threshold = Some(ThresholdLine { value, label });
            }
            _ => v.options.threshold = None,
        })
    };
    let set_label = move |text: String| {
        vis.update(|v| {
            if let Some(threshold) = &mut v.options.threshold {
                threshold.label = text.chars().take(MAX_THRESHOLD_LABEL).collect();
            }
        })
    };
    view! {
        <label class="field">"Threshold line"
            <input type="number" step="any" name="threshold_value" placeholder="none" prop:value=value
                on:change:target=move |ev| set_value(ev.target().value())/>
        </label>
        <label class="field">"Threshold label"
            <input type="text" name="threshold_label" maxlength=MAX_THRESHOLD_LABEL.to_string() prop:value=label
                disabled=move || vis.with(|v| v.options.threshold.is_none())
                on:change:target=move |ev| set_label(ev.target().value())/>
        </label>
    }
}

/// The time shifts offered: none, or the series again as they were this long before.
const TIME_SHIFTS: [(&str, &str); 5] = [
    ("", "Nothing"),
    ("1h", "1 hour ago"),
    ("1d", "1 day ago"),
    ("1w", "1 week ago"),
    ("30d", "30 days ago"),
];

/// The axes' titles; empty ones are made from the data (`@timestamp per minute`, `Count`).
#[component]
fn AxisTitlesEditor(vis: RwSignal<Visualization>) -> impl IntoView {
    let right =
        Memo::new(move |_| vis.with(|v| v.metrics.iter().any(|m| m.axis == ValueAxis::Right)));
    let title = move |name: &'static str,
                      label: &'static str,
                      pick: fn(&mut AxisTitles) -> &mut String| {
        view! {
            <label class="field">{label}
                <input type="text" name=format!("axis_title_{name}") placeholder="automatic" maxlength=MAX_LABEL_CHARS.to_string()
                    prop:value=move || vis.with(|v| { let mut titles = v.options.axis_titles.clone(); pick(&mut titles).clone() })
                    on:change:target=move |ev| { let text: String = ev.target().value().trim().chars().take(MAX_LABEL_CHARS).collect(); vis.update(|v| *pick(&mut v.options.axis_titles) = text) }/>
            </label>
        }
    };
    view! {
        {title("x", "X-axis title", |t| &mut t.x)}
        {title("left", "Y-axis title", |t| &mut t.left)}
        <Show when=move || right.get()>
            {title("right", "Right axis title", |t| &mut t.right)}
        </Show>
    }
}

/// "Compare with": a time-shifted copy of every series.
#[component]
fn TimeShiftEditor(vis: RwSignal<Visualization>) -> impl IntoView {
    let current = move || vis.with(|v| v.options.time_shift.clone().unwrap_or_default());
    let set = move |value: String| {
        vis.update(|v| v.options.time_shift = (!value.is_empty()).then_some(value));
    };
    view! {
        <label class="field">"Compare with"
            <select name="time_shift" on:change:target=move |ev| set(ev.target().value())>
                {TIME_SHIFTS.iter().map(|(value, label)| {
                    let value = *value;
                    view! { <option value=value selected=move || current() == value>{*label}</option> }
                }).collect_view()}
            </select>
        </label>
    }
}
