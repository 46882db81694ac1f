//! `/visualize/new` and `/visualize/:id`: build a visualization from the index pattern's
//! fields, see it redraw as you edit, save it, export it as JSON.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::latest::Latest;
use crate::api::{ApiError, ObjectsClient};
use crate::charts::DrawOptions;
use crate::components::chart_panel::ChartPanel;
use crate::components::query_bar::QueryBar;
use crate::components::time_picker::TimePicker;
use crate::model::filter::QueryText;
use crate::model::index_pattern::{time_field_of, FieldSpec, IndexPattern};
use crate::model::saved_object::ObjectType;
use crate::model::time::TimeRange;
use crate::model::visualization::{
    terms_bucket, BarMode, Bucket, BucketAgg, BucketRole, ChartKind, Interval, LegendPosition,
    Metric, NamedFilter, NumberRange, TermsOrder, Visualization,
};
use crate::panels::{run_one, sendable, ApiSearch, ViewInputs};
use crate::result::ChartData;

/// What the editor opens with.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EditorData {
    pub id: Option<String>,
    pub version: u64,
    pub visualization: Visualization,
    pub index_patterns: Vec<IndexPattern>,
}

async fn load(client: ObjectsClient, id: Option<String>) -> Result<EditorData, ApiError> {
    let patterns = client.find(vec![ObjectType::IndexPattern], None).await?;
    let index_patterns: Vec<IndexPattern> = patterns
        .saved_objects
        .into_iter()
        .filter_map(|o| serde_json::from_value(o.attributes).ok())
        .collect();
    match id {
        Some(id) => {
            let object = client.get(ObjectType::Visualization, id.clone()).await?;
            let visualization = Visualization::from_value(object.attributes)
                .map_err(|e| ApiError::Decode(e.to_string()))?;
            Ok(EditorData {
                id: Some(id),
                version: object.version,
                visualization,
                index_patterns,
            })
        }
        None => {
            // A whole pie of the count: the user splits it from there, as in Kibana.
            let mut visualization = Visualization::example_action_port_pie();
            visualization.title = "New visualization".into();
            visualization.description.clear();
            visualization.buckets.clear();
            if let Some(pattern) = index_patterns.first() {
                visualization.index_pattern = pattern.title.clone();
            }
            Ok(EditorData {
                id: None,
                version: 0,
                visualization,
                index_patterns,
            })
        }
    }
}

#[component]
pub fn EditorPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").filter(|id| id != "new"));
    let client = ObjectsClient::from_context();
    let data = Resource::new(
        move || id.get(),
        move |id| {
            let client = client.clone();
            sendable(async move { load(client, id).await })
        },
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(data) => view! { <Editor data/> }.into_any(),
                    Err(e) => view! { <div class="error-box" role="alert"><h2>"This visualization cannot be opened"</h2><p>{e.to_string()}</p><a href="/visualize">"All visualizations"</a></div> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Editor(data: EditorData) -> impl IntoView {
    let vis = RwSignal::new(data.visualization.clone());
    let saved_id = RwSignal::new(data.id.clone());
    let patterns = StoredValue::new(data.index_patterns.clone());
    let time = RwSignal::new(TimeRange::last("24h"));
    let query = RwSignal::new(QueryText::default());
    let message = RwSignal::new(None::<String>);
    let fields = live_fields(vis, patterns);
    // New date histograms go on the pattern's time field.
    let time_field = Memo::new(move |_| {
        let title = vis.with(|v| v.index_pattern.clone());
        patterns.with_value(|p| time_field_of(p, &title).to_owned())
    });
    let validation = Memo::new(move |_| vis.with(|v| v.validate().err().map(|e| e.to_string())));
    let preview = live_preview(vis, time, query, patterns);
    let options = Signal::derive(move || {
        vis.with(|v| DrawOptions {
            legend: v.options.legend,
            colors: v.options.colors.clone(),
            ..DrawOptions::default()
        })
    });
    let label = Signal::derive(move || vis.with(|v| v.title.clone()));

    view! {
        <div class="editor">
            <EditorToolbar vis saved_id version=data.version time validation message/>
            <QueryBar value=query on_submit=Callback::new(move |q| query.set(q))/>
            {move || message.get().map(|m| view! { <p class="message" role="status">{m}</p> })}
            {move || validation.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <div class="editor-body">
                <aside class="editor-form" aria-label="Visualization settings">
                    <label class="field">"Title"
                        <input type="text" name="title" prop:value=move || vis.with(|v| v.title.clone()) on:input:target=move |ev| vis.update(|v| v.title = ev.target().value())/>
                    </label>
                    <label class="field">"Description"
                        <input type="text" name="description" prop:value=move || vis.with(|v| v.description.clone()) on:input:target=move |ev| vis.update(|v| v.description = ev.target().value())/>
                    </label>
                    <label class="field">"Index pattern"
                        <select name="index_pattern" on:change:target=move |ev| vis.update(|v| v.index_pattern = ev.target().value())>
                            {move || patterns.with_value(|p| p.clone()).into_iter().map(|p| {
                                let title = p.title.clone();
                                view! { <option value=title.clone() selected=move || vis.with(|v| v.index_pattern == title)>{p.title.clone()}</option> }
                            }).collect_view()}
                        </select>
                    </label>
                    <label class="field">"Chart type"
                        <select name="kind" on:change:target=move |ev| {
                            let kind = ChartKind::ALL.into_iter().find(|k| format!("{k:?}") == ev.target().value()).unwrap_or(ChartKind::Pie);
                            // Read before the update: the time field is derived from `vis`.
                            let time_field = time_field.get_untracked();
                            vis.update(|v| change_kind(v, kind, &time_field));
                        }>
                            {ChartKind::ALL.into_iter().map(|k| view! { <option value=format!("{k:?}") selected=move || vis.with(|v| v.kind == k)>{k.label()}</option> }).collect_view()}
                        </select>
                    </label>
                    <MetricEditor vis fields/>
                    <BucketsEditor vis fields time_field/>
                    <OptionsEditor vis legend=Signal::derive(move || preview.with(|p| match p {
                        Some(Ok(chart)) => options.with(|o| crate::charts::legend_text(chart, o)),
                        _ => Vec::new(),
                    }))/>
                </aside>
                <section class="panel preview" aria-label="Preview">
                    <h2>{move || vis.with(|v| v.title.clone())}</h2>
                    <ChartPanel data=preview options label/>
                </section>
            </div>
        </div>
    }
}

/// The fields of the visualization's index pattern as the backend has them now (a saved
/// list may predate the data); the saved list until they arrive.
fn live_fields(
    vis: RwSignal<Visualization>,
    patterns: StoredValue<Vec<IndexPattern>>,
) -> Memo<Vec<FieldSpec>> {
    let live_fields = RwSignal::new(None::<(String, Vec<FieldSpec>)>);
    Effect::new(move |_| {
        let pattern = vis.with(|v| v.index_pattern.clone());
        leptos::task::spawn_local(async move {
            if let Ok(found) = crate::api::calls::fields(&pattern).await {
                live_fields.set(Some((pattern, found)));
            }
        });
    });
    Memo::new(move |_| {
        let title = vis.with(|v| v.index_pattern.clone());
        let live = live_fields.with(|l| {
            l.as_ref()
                .filter(|(p, f)| *p == title && !f.is_empty())
                .map(|(_, f)| f.clone())
        });
        live.unwrap_or_else(|| {
            patterns.with_value(|p| {
                p.iter()
                    .find(|p| p.title == title)
                    .map(|p| p.fields.clone())
                    .unwrap_or_default()
            })
        })
    })
}

/// The preview's chart, redrawn as the user edits: debounced, and an answer to an older
/// edit is dropped.
fn live_preview(
    vis: RwSignal<Visualization>,
    time: RwSignal<TimeRange>,
    query: RwSignal<QueryText>,
    patterns: StoredValue<Vec<IndexPattern>>,
) -> RwSignal<Option<Result<ChartData, String>>> {
    let preview = RwSignal::new(None::<Result<ChartData, String>>);
    let latest = Latest::new();
    Effect::new(move |_| {
        let current = vis.get();
        let (t, q) = (time.get(), query.get());
        let run = latest.start();
        if let Err(error) = current.validate() {
            preview.set(Some(Err(error.to_string())));
            return;
        }
        let handle = set_timeout_with_handle(
            move || {
                if !run.is_current() {
                    return;
                }
                let inputs = ViewInputs::resolve(
                    &t,
                    q,
                    Vec::new(),
                    chrono::Utc::now().timestamp_millis(),
                    crate::browser::utc_offset_secs(),
                    Some(crate::browser::time_zone()),
                );
                leptos::task::spawn_local(async move {
                    let result = match inputs {
                        Ok(inputs) => {
                            let patterns = patterns.get_value();
                            run_one(&ApiSearch, &current, &patterns, &inputs).await
                        }
                        Err(e) => Err(e),
                    };
                    if run.is_current() {
                        preview.set(Some(result));
                    }
                });
            },
            std::time::Duration::from_millis(300),
        );
        if let Ok(handle) = handle {
            on_cleanup(move || handle.clear());
        }
    });
    preview
}

/// The heading, the time picker, and save, save as new and export.
#[component]
fn EditorToolbar(
    vis: RwSignal<Visualization>,
    saved_id: RwSignal<Option<String>>,
    version: u64,
    time: RwSignal<TimeRange>,
    validation: Memo<Option<String>>,
    message: RwSignal<Option<String>>,
) -> impl IntoView {
    let version = RwSignal::new(version);
    let can_edit = crate::components::account::can_edit();
    let save = move |as_new: bool| {
        let current = vis.get_untracked();
        let Ok(()) = current
            .validate()
            .map_err(|error| message.set(Some(error.to_string())))
        else {
            return;
        };
        leptos::task::spawn_local(async move {
            let attributes = serde_json::to_value(&current).unwrap_or_default();
            let result = match (saved_id.get_untracked(), as_new) {
                (Some(id), false) => {
                    crate::api::calls::update(
                        ObjectType::Visualization,
                        &id,
                        version.get_untracked(),
                        &attributes,
                    )
                    .await
                }
                _ => crate::api::calls::create(ObjectType::Visualization, None, &attributes).await,
            };
            match result {
                Ok(object) => {
                    let first = saved_id.get_untracked().as_deref() != Some(object.id.as_str());
                    saved_id.set(Some(object.id.clone()));
                    version.set(object.version);
                    message.set(Some(format!("Saved “{}”", current.title)));
                    if first {
                        crate::browser::replace_url(&format!("/visualize/{}", object.id));
                    }
                }
                Err(error) => message.set(Some(format!("Not saved: {error}"))),
            }
        });
    };
    let export = move |_| {
        let current = vis.get_untracked();
        match saved_id.get_untracked() {
            // Saved: the export carries the visualization and its index pattern, as the API exports them.
            Some(id) => leptos::task::spawn_local(async move {
                match crate::api::calls::export(&[(ObjectType::Visualization, id.clone())], true)
                    .await
                {
                    Ok(ndjson) => crate::browser::download(
                        &format!("{}.ndjson", slug(&current.title)),
                        &ndjson,
                        "application/ndjson",
                    ),
                    Err(e) => message.set(Some(format!("Export failed: {e}"))),
                }
            }),
            None => crate::browser::download(
                &format!("{}.json", slug(&current.title)),
                &serde_json::to_string_pretty(&current).unwrap_or_default(),
                "application/json",
            ),
        }
    };
    view! {
        <div class="toolbar">
            <h1>{move || if saved_id.get().is_some() { "Edit visualization" } else { "New visualization" }}</h1>
            <div class="toolbar-actions">
                <TimePicker value=time on_change=Callback::new(move |t| time.set(t))/>
                <button class="primary" hidden=move || !can_edit.get() on:click=move |_| save(false) disabled=move || validation.get().is_some()>"Save"</button>
                <Show when=move || saved_id.get().is_some()>
                    <button hidden=move || !can_edit.get() on:click=move |_| save(true)>"Save as new"</button>
                </Show>
                <button on:click=export>"Export JSON"</button>
            </div>
        </div>
    }
}

fn slug(title: &str) -> String {
    let slug: String = title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    slug.trim_matches('-').to_owned()
}

/// Switches the chart type, keeping what still fits.
fn change_kind(vis: &mut Visualization, kind: ChartKind, time_field: &str) {
    vis.kind = kind;
    let role = match kind {
        ChartKind::Pie => Some(BucketRole::SplitSlices),
        ChartKind::Table => Some(BucketRole::Rows),
        ChartKind::Metric => None,
        _ => None,
    };
    match (kind, role) {
        (ChartKind::Metric, _) => vis.buckets.clear(),
        (_, Some(role)) => vis.buckets.iter_mut().for_each(|b| b.role = role),
        _ => {
            // Line, area, bar: a date histogram x axis and the first terms bucket as the split.
            let split = vis
                .buckets
                .iter()
                .find(|b| matches!(b.agg, BucketAgg::Terms { .. }))
                .map(|b| b.agg.clone());
            vis.buckets = vec![Bucket {
                role: BucketRole::XAxis,
                agg: BucketAgg::DateHistogram {
                    field: time_field.into(),
                    interval: Interval::Auto,
                },
            }];
            if let Some(agg) = split {
                vis.buckets.push(Bucket {
                    role: BucketRole::SplitSeries,
                    agg,
                });
            }
        }
    }
}

fn field_options(
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

fn is_numeric(f: &FieldSpec) -> bool {
    f.aggregatable
        && matches!(
            f.field_type.as_str(),
            "long" | "integer" | "short" | "byte" | "double" | "float" | "date"
        )
}

#[component]
fn MetricEditor(vis: RwSignal<Visualization>, fields: Memo<Vec<FieldSpec>>) -> impl IntoView {
    let kind = move || match vis.with(|v| v.metric.clone()) {
        Metric::Count => "count",
        Metric::Sum { .. } => "sum",
        Metric::Avg { .. } => "avg",
        Metric::Min { .. } => "min",
        Metric::Max { .. } => "max",
        Metric::UniqueCount { .. } => "unique_count",
        Metric::Percentile { .. } => "percentile",
    };
    let set_kind = move |name: String| {
        vis.update(|v| {
            let field = v
                .metric
                .field()
                .map(str::to_owned)
                .unwrap_or_else(|| "bytes".into());
            v.metric = match name.as_str() {
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
                _ => Metric::Count,
            }
        })
    };
    let set_field = move |name: String| {
        vis.update(|v| match &mut v.metric {
            Metric::Sum { field }
            | Metric::Avg { field }
            | Metric::Min { field }
            | Metric::Max { field }
            | Metric::UniqueCount { field }
            | Metric::Percentile { field, .. } => *field = name,
            Metric::Count => {}
        })
    };
    view! {
        <fieldset class="group">
            <legend>"Metric"</legend>
            <label class="field">"Aggregation"
                <select name="metric" on:change:target=move |ev| set_kind(ev.target().value())>
                    {[("count", "Count"), ("sum", "Sum"), ("avg", "Average"), ("min", "Min"), ("max", "Max"), ("unique_count", "Unique count"), ("percentile", "Percentile")]
                        .into_iter().map(|(value, label)| view! { <option value=value selected=move || kind() == value>{label}</option> }).collect_view()}
                </select>
            </label>
            {move || vis.with(|v| v.metric.field().map(str::to_owned)).map(|selected| {
                let unique = kind() == "unique_count";
                view! {
                    <label class="field">"Field"
                        <select name="metric_field" on:change:target=move |ev| set_field(ev.target().value())>
                            {field_options(&fields.get(), move |f| if unique { f.aggregatable } else { is_numeric(f) }, &selected)}
                        </select>
                    </label>
                }
            })}
            {move || matches!(vis.with(|v| v.metric.clone()), Metric::Percentile { .. }).then(|| view! {
                <label class="field">"Percent"
                    <input type="number" min="0" max="100" step="1" name="percent"
                        prop:value=move || match vis.with(|v| v.metric.clone()) { Metric::Percentile { percent, .. } => percent.to_string(), _ => String::new() }
                        on:input:target=move |ev| { if let Ok(p) = ev.target().value().parse::<f64>() { vis.update(|v| if let Metric::Percentile { percent, .. } = &mut v.metric { *percent = p }) } }/>
                </label>
            })}
        </fieldset>
    }
}

/// The roles a chart kind's buckets can take.
fn roles(kind: ChartKind) -> &'static [(BucketRole, &'static str)] {
    match kind {
        ChartKind::Pie => &[(BucketRole::SplitSlices, "Split slices")],
        ChartKind::Table => &[(BucketRole::Rows, "Split rows")],
        ChartKind::Metric => &[],
        _ => &[
            (BucketRole::XAxis, "X axis"),
            (BucketRole::SplitSeries, "Split series"),
        ],
    }
}

#[component]
fn BucketsEditor(
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
            | BucketAgg::Range { field, .. } => *field = name,
            BucketAgg::Filters { .. } => {}
        }))
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
                    {[("terms", "Terms"), ("date_histogram", "Date histogram"), ("histogram", "Histogram"), ("range", "Range"), ("filters", "Filters")]
                        .into_iter().map(|(value, label)| view! { <option value=value selected=move || agg_type() == value>{label}</option> }).collect_view()}
                </select>
            </label>
            {move || bucket().and_then(|b| b.agg.field().map(str::to_owned)).map(|selected| {
                let date_only = agg_type() == "date_histogram";
                let numeric = matches!(agg_type(), "histogram" | "range");
                view! {
                    <label class="field">"Field"
                        <select name=format!("bucket{index}_field") on:change:target=move |ev| set_field(ev.target().value())>
                            {field_options(&fields.get(), move |f| if date_only { f.field_type == "date" } else if numeric { is_numeric(f) } else { f.aggregatable }, &selected)}
                        </select>
                    </label>
                }
            })}
            <BucketSettings vis index/>
        </div>
    }
}

/// The settings of bucket `index` that depend on its aggregation: a terms size and order, an
/// interval, ranges, filters.
#[component]
fn BucketSettings(vis: RwSignal<Visualization>, index: usize) -> impl IntoView {
    let bucket = move || vis.with(|v| v.buckets.get(index).cloned());
    let edit = move |change: Box<dyn FnOnce(&mut Bucket)>| edit_bucket(vis, index, change);
    view! {
        {move || match bucket().map(|b| b.agg) {
            Some(BucketAgg::Terms { size, order, other_bucket, missing_bucket, .. }) => view! {
                <div class="row">
                    <label class="field small">"Size"
                        <input type="number" min="1" max="500" name=format!("bucket{index}_size") prop:value=size.to_string()
                            on:change:target=move |ev| { if let Ok(n) = ev.target().value().parse::<u32>() { edit(Box::new(move |b| if let BucketAgg::Terms { size, .. } = &mut b.agg { *size = n })) } }/>
                    </label>
                    <label class="field">"Order"
                        <select on:change:target=move |ev| {
                            let value = ev.target().value();
                            let next = match value.as_str() { "metric_asc" => TermsOrder::MetricAsc, "key_asc" => TermsOrder::KeyAsc, "key_desc" => TermsOrder::KeyDesc, _ => TermsOrder::MetricDesc };
                            edit(Box::new(move |b| if let BucketAgg::Terms { order, .. } = &mut b.agg { *order = next }));
                        }>
                            <option value="metric_desc" selected=order == TermsOrder::MetricDesc>"Largest first"</option>
                            <option value="metric_asc" selected=order == TermsOrder::MetricAsc>"Smallest first"</option>
                            <option value="key_asc" selected=order == TermsOrder::KeyAsc>"Alphabetical"</option>
                            <option value="key_desc" selected=order == TermsOrder::KeyDesc>"Reverse alphabetical"</option>
                        </select>
                    </label>
                </div>
                <label class="check"><input type="checkbox" prop:checked=other_bucket on:change:target=move |ev| { let on = ev.target().checked(); edit(Box::new(move |b| if let BucketAgg::Terms { other_bucket, .. } = &mut b.agg { *other_bucket = on })) }/>" Group the rest as “Other”"</label>
                <label class="check"><input type="checkbox" prop:checked=missing_bucket on:change:target=move |ev| { let on = ev.target().checked(); edit(Box::new(move |b| if let BucketAgg::Terms { missing_bucket, .. } = &mut b.agg { *missing_bucket = on })) }/>" Show “Missing” values"</label>
            }.into_any(),
            Some(BucketAgg::DateHistogram { interval, .. }) => {
                let current = match &interval { Interval::Auto => "auto".to_owned(), Interval::Fixed(t) | Interval::Calendar(t) => t.clone() };
                view! {
                    <label class="field">"Interval"
                        <select name=format!("bucket{index}_interval") on:change:target=move |ev| {
                            let value = ev.target().value();
                            let next = match value.as_str() {
                                "auto" => Interval::Auto,
                                v if crate::model::time::is_calendar_interval(v) => Interval::Calendar(v.to_owned()),
                                v => Interval::Fixed(v.to_owned()),
                            };
                            edit(Box::new(move |b| if let BucketAgg::DateHistogram { interval, .. } = &mut b.agg { *interval = next }));
                        }>
                            {["auto", "1m", "5m", "10m", "30m", "1h", "3h", "12h", "1d", "1w", "1M"].into_iter().map(|v| {
                                let is = v == current;
                                view! { <option value=v selected=is>{if v == "auto" { "Auto".to_owned() } else { v.to_owned() }}</option> }
                            }).collect_view()}
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
fn OptionsEditor(
    vis: RwSignal<Visualization>,
    legend: Signal<Vec<(String, Option<String>)>>,
) -> impl IntoView {
    let swatches = move || {
        let mut seen = std::collections::BTreeSet::new();
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
            <Show when=move || vis.with(|v| v.kind == ChartKind::Bar)>
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
            </Show>
            <Show when=move || !legend.with(|l| l.is_empty())>
                <div class="colors" role="group" aria-label="Colours">
                    <span class="field-label">"Colours"</span>
                    <For each=swatches key=|(label, color)| (label.clone(), color.clone()) let((label, color))>
                        {
                            let pinned = {
                                let label = label.clone();
                                move || vis.with(|v| v.options.colors.contains_key(&label))
                            };
                            let set = label.clone();
                            let reset = label.clone();
                            view! {
                                <div class="color-row">
                                    <input type="color" value=color aria-label=format!("Colour of {label}")
                                        on:change:target=move |ev| { let hex = ev.target().value(); vis.update(|v| { v.options.colors.insert(set.clone(), hex); }) }/>
                                    <span class="color-label">{label.clone()}</span>
                                    <Show when=pinned.clone()>
                                        <button class="link" aria-label=format!("Default colour for {label}")
                                            on:click={let reset = reset.clone(); move |_| vis.update(|v| { v.options.colors.remove(&reset); })}>"reset"</button>
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
