//! `/visualize/new` and `/visualize/:id`: build a visualization from the index pattern's
//! fields, see it redraw as you edit, save it, export it as JSON.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::{ApiError, ObjectsClient};
use crate::charts::DrawOptions;
use crate::components::chart_panel::ChartPanel;
use crate::components::latest::Latest;
use crate::components::query_bar::{FilterBar, QueryBar, SuggestFrom};
use crate::components::saved_queries::SavedQueries;
use crate::components::time_picker::TimePicker;
use crate::model::filter::{Filter, QueryText};
use crate::model::index_pattern::{time_field_of, FieldSpec, IndexPattern};
use crate::model::measure::ValueAxis;
use crate::model::network::Networks;
use crate::model::saved_object::{export_ndjson, ObjectType, Reference, SavedObject};
use crate::model::search::SavedSearches;
use crate::model::time::TimeRange;
use crate::model::visualization::{
    terms_bucket, Bucket, BucketAgg, BucketRole, ChartKind, Interval, Metric, Visualization,
};
use crate::panels::{run_one, sendable, ApiSearch, Library, ViewInputs};
use crate::result::ChartData;

mod drilldowns;
mod metrics;
mod settings;

use self::drilldowns::DrilldownsEditor;
use self::metrics::MetricsEditor;
use self::settings::{BucketsEditor, OptionsEditor};

/// What the editor opens with.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EditorData {
    pub id: Option<String>,
    pub version: u64,
    pub visualization: Visualization,
    pub index_patterns: Vec<IndexPattern>,
    /// Saved searches, for a visualization built on one.
    pub searches: SavedSearches,
    /// The named networks, for splits by network and direction.
    pub networks: Networks,
    /// The saved-object ids of `index_patterns`, in the same order (for exports).
    pub index_pattern_ids: Vec<String>,
}

/// A new visualization started elsewhere: Discover's "Visualize" on a field
/// (`/visualize/new?index=cwl-*&field=dstport`) asks for the field's top values as bars.
#[derive(Clone, Debug, Default, PartialEq)]
struct Start {
    index: Option<String>,
    field: Option<String>,
}

async fn load(
    client: ObjectsClient,
    id: Option<String>,
    start: Start,
) -> Result<EditorData, ApiError> {
    let found = client.find(Library::TYPES.to_vec(), None).await?;
    let (index_pattern_ids, index_patterns): (Vec<String>, Vec<IndexPattern>) = found
        .saved_objects
        .iter()
        .filter(|o| o.object_type == ObjectType::IndexPattern)
        .filter_map(|o| {
            Some((
                o.id.clone(),
                serde_json::from_value(o.attributes.clone()).ok()?,
            ))
        })
        .unzip();
    let Library {
        searches, networks, ..
    } = Library::from_objects(found.saved_objects);
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
                searches,
                networks,
                index_pattern_ids,
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
            if let Some(index) = start.index {
                visualization.index_pattern = index;
            }
            if let Some(field) = start.field {
                // Kibana's "Visualize" from Discover: the top 20 values of the field as bars.
                visualization.title = format!("Top values of {field}");
                visualization.kind = ChartKind::Bar;
                visualization.buckets = vec![crate::model::visualization::terms_bucket(
                    BucketRole::XAxis,
                    &field,
                    20,
                )];
            }
            Ok(EditorData {
                id: None,
                version: 0,
                visualization,
                index_patterns,
                searches,
                networks,
                index_pattern_ids,
            })
        }
    }
}

#[component]
pub fn EditorPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").filter(|id| id != "new"));
    let query = use_query_map();
    let start = Memo::new(move |_| {
        let query = query.read();
        Start {
            index: query.get("index").filter(|i| !i.is_empty()),
            field: query.get("field").filter(|f| !f.is_empty()),
        }
    });
    let client = ObjectsClient::from_context();
    let data = Resource::new(
        move || (id.get(), start.get()),
        move |(id, start)| {
            let client = client.clone();
            sendable(async move { load(client, id, start).await })
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
    // The visualization as last saved (as opened, for a new one): leaving asks when they differ.
    let saved = RwSignal::new(data.visualization.clone());
    let dirty = Memo::new(move |_| vis.with(|v| saved.with(|s| v != s)));
    crate::browser::warn_before_leaving(
        "Discard the unsaved changes to this visualization?",
        dirty.into(),
    );
    let saved_id = RwSignal::new(data.id.clone());
    let patterns = StoredValue::new(data.index_patterns.clone());
    let pattern_ids = StoredValue::new(data.index_pattern_ids.clone());
    let time = RwSignal::new(TimeRange::last("24h"));
    // The visualization's own query and filters, saved with it (the preview applies them as
    // every panel showing it does).
    let query = Signal::derive(move || vis.with(|v| v.query.clone()));
    let filters = Signal::derive(move || vis.with(|v| v.filters.clone()));
    let message = RwSignal::new(None::<String>);
    let fields = live_fields(vis, patterns);
    // New date histograms go on the pattern's time field.
    let time_field = Memo::new(move |_| {
        let title = vis.with(|v| v.index_pattern.clone());
        patterns.with_value(|p| time_field_of(p, &title).to_owned())
    });
    let validation = Memo::new(move |_| vis.with(|v| v.validate().err().map(|e| e.to_string())));
    let searches = StoredValue::new(data.searches.clone());
    let networks = StoredValue::new(data.networks.clone());
    let preview = live_preview(vis, time, patterns, searches, networks);
    let options = Signal::derive(move || {
        vis.with(|v| DrawOptions {
            legend: v.options.legend,
            colors: v.options.colors.clone(),
            ..DrawOptions::default()
        })
    });
    let label = Signal::derive(move || vis.with(|v| v.title.clone()));

    let suggest = SuggestFrom::for_pattern(
        patterns,
        Signal::derive(move || vis.with(|v| v.index_pattern.clone())),
        time.into(),
    );
    view! {
        <Title text=move || format!("{} · flowdash", label.get())/>
        <div class="editor">
            <EditorToolbar vis saved saved_id dirty version=data.version time validation message patterns pattern_ids/>
            <div class="query-row">
                <SavedQueries query filters on_load=Callback::new(move |(q, f): (QueryText, Vec<Filter>)| vis.update(|v| { v.query = q; v.filters = f; }))/>
                <QueryBar value=query on_submit=Callback::new(move |q: QueryText| vis.update(|v| v.query = q)) suggest/>
            </div>
            <FilterBar filters on_change=Callback::new(move |next: Vec<Filter>| vis.update(|v| v.filters = next)) suggest/>
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
                    <MetricsEditor vis fields time_field/>
                    <BucketsEditor vis fields time_field/>
                    <DrilldownsEditor vis/>
                    <OptionsEditor vis legend=Signal::derive(move || preview.with(|p| match p {
                        Some(Ok(chart)) => options.with(|o| crate::charts::color_keys(chart, o)),
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
    patterns: StoredValue<Vec<IndexPattern>>,
    searches: StoredValue<SavedSearches>,
    networks: StoredValue<Networks>,
) -> RwSignal<Option<Result<ChartData, String>>> {
    let preview = RwSignal::new(None::<Result<ChartData, String>>);
    let latest = Latest::new();
    Effect::new(move |_| {
        let current = vis.get();
        let t = time.get();
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
                // The visualization's own query and filters are in `current`.
                let inputs = ViewInputs::resolve(
                    &t,
                    QueryText::default(),
                    Vec::new(),
                    chrono::Utc::now().timestamp_millis(),
                    crate::browser::utc_offset_secs(),
                    Some(crate::browser::time_zone()),
                );
                leptos::task::spawn_local(async move {
                    let result = match inputs {
                        Ok(inputs) => {
                            let library = Library {
                                patterns: patterns.get_value(),
                                searches: searches.get_value(),
                                networks: networks.get_value(),
                            };
                            run_one(&ApiSearch, &current, &library, &inputs).await
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
    saved: RwSignal<Visualization>,
    saved_id: RwSignal<Option<String>>,
    dirty: Memo<bool>,
    version: u64,
    time: RwSignal<TimeRange>,
    validation: Memo<Option<String>>,
    message: RwSignal<Option<String>>,
    patterns: StoredValue<Vec<IndexPattern>>,
    pattern_ids: StoredValue<Vec<String>>,
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
                    crate::pages::say_briefly(message, format!("Saved “{}”", current.title));
                    saved.set(current);
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
            // Not saved yet: the same file, written here (import gives it its id).
            None => {
                let ndjson = patterns.with_value(|patterns| {
                    pattern_ids.with_value(|ids| {
                        unsaved_export(
                            &current,
                            chrono::Utc::now().timestamp_millis(),
                            patterns,
                            ids,
                        )
                    })
                });
                crate::browser::download(
                    &format!("{}.ndjson", slug(&current.title)),
                    &ndjson,
                    "application/ndjson",
                )
            }
        }
    };
    view! {
        <div class="toolbar">
            <h1>{move || if saved_id.get().is_some() { "Edit visualization" } else { "New visualization" }}</h1>
            <Show when=move || dirty.get()>
                <span class="unsaved">"Unsaved changes"</span>
            </Show>
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

/// An unsaved visualization as an export file, the format `_export` writes and import reads:
/// the visualization (its id made of its title and `now_ms`) referencing its index pattern,
/// then the index pattern.
fn unsaved_export(
    vis: &Visualization,
    now_ms: i64,
    patterns: &[IndexPattern],
    pattern_ids: &[String],
) -> String {
    let pattern = patterns
        .iter()
        .zip(pattern_ids)
        .find(|(p, _)| p.title == vis.index_pattern);
    let references = pattern
        .iter()
        .map(|(_, id)| Reference {
            name: "index_pattern".into(),
            object_type: ObjectType::IndexPattern,
            id: (*id).clone(),
        })
        .collect();
    let mut objects = vec![SavedObject {
        id: format!("{}-{now_ms}", slug(&vis.title)),
        object_type: ObjectType::Visualization,
        version: 0,
        updated_at: String::new(),
        attributes: serde_json::to_value(vis).unwrap_or_default(),
        references,
    }];
    objects.extend(pattern.map(|(pattern, id)| SavedObject {
        id: id.clone(),
        object_type: ObjectType::IndexPattern,
        version: 0,
        updated_at: String::new(),
        attributes: serde_json::to_value(pattern).unwrap_or_default(),
        references: Vec::new(),
    }));
    export_ndjson(&objects, &[])
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
    let was_xy = vis.kind.is_xy();
    vis.kind = kind;
    let role = match kind {
        ChartKind::Pie => Some(BucketRole::SplitSlices),
        ChartKind::Table => Some(BucketRole::Rows),
        ChartKind::Sankey => Some(BucketRole::Nodes),
        ChartKind::Metric => None,
        _ => None,
    };
    match (kind, role) {
        (ChartKind::Metric, _) => vis.buckets.clear(),
        (ChartKind::Sankey, _) => sankey_levels(vis),
        (_, Some(role)) => vis.buckets.iter_mut().for_each(|b| b.role = role),
        // Between line, area and bars the x axis and split carry over as they are.
        _ if was_xy && kind.is_xy() => {}
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
    let over_time = vis.takes_time_shift();
    if !over_time {
        vis.options.time_shift = None;
    }
    // What the new kind cannot draw goes: a second metric on a pie or heatmap, a right axis
    // off line, area and vertical bar charts, a pipeline off a time axis.
    if matches!(
        kind,
        ChartKind::Pie | ChartKind::Heatmap | ChartKind::Sankey
    ) {
        vis.metrics.truncate(1);
    }
    // A Sankey's links add up: a count or a sum, as totals.
    if kind == ChartKind::Sankey {
        for measure in &mut vis.metrics {
            let total = matches!(measure.metric, Metric::Count | Metric::Sum { .. });
            if !total || measure.rate.is_some() {
                // Its own label named what it was ("Bytes per second").
                measure.label.clear();
            }
            if !total {
                measure.metric = Metric::Count;
            }
            measure.rate = None;
        }
    }
    let right_axis = matches!(kind, ChartKind::Line | ChartKind::Area | ChartKind::Bar);
    for measure in &mut vis.metrics {
        measure.metric.fit_to_chart(kind);
        if !right_axis {
            measure.axis = ValueAxis::Left;
        }
        if !over_time {
            measure.pipeline = None;
        }
    }
}

/// A Sankey's columns from what the chart split by: its splits other than time, then common
/// flow fields until there are two.
fn sankey_levels(vis: &mut Visualization) {
    vis.buckets
        .retain(|b| !matches!(b.agg, BucketAgg::DateHistogram { .. }));
    vis.buckets.truncate(4);
    for bucket in &mut vis.buckets {
        bucket.role = BucketRole::Nodes;
    }
    for field in ["action", "dstport"] {
        let used = vis
            .buckets
            .iter()
            .any(|b| matches!(&b.agg, BucketAgg::Terms { field: f, .. } if f == field));
        if vis.buckets.len() < 2 && !used {
            vis.buckets.push(terms_bucket(BucketRole::Nodes, field, 5));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switching_between_bar_kinds_keeps_the_x_axis_and_split() {
        let mut vis = Visualization::example_action_port_pie();
        change_kind(&mut vis, ChartKind::Bar, "@timestamp");
        vis.buckets[0].agg =
            crate::model::visualization::terms_bucket(BucketRole::XAxis, "srcaddr", 10).agg;
        let before = vis.buckets.clone();
        change_kind(&mut vis, ChartKind::HorizontalBar, "@timestamp");
        assert_eq!(vis.buckets, before);
        change_kind(&mut vis, ChartKind::Line, "@timestamp");
        assert_eq!(vis.buckets, before);
        // From a pie, the x axis becomes time and the first terms level the split.
        let mut pie = Visualization::example_action_port_pie();
        change_kind(&mut pie, ChartKind::HorizontalBar, "@timestamp");
        assert!(matches!(
            pie.buckets[0].agg,
            BucketAgg::DateHistogram { .. }
        ));
        assert_eq!(pie.buckets[1].role, BucketRole::SplitSeries);
    }

    #[test]
    fn switching_to_a_sankey_keeps_the_splits_and_makes_its_metric_a_total() {
        use crate::model::measure::{Measure, RateUnit};
        // From the seed's pie: action and port become the columns.
        let mut vis = Visualization::example_action_port_pie();
        change_kind(&mut vis, ChartKind::Sankey, "@timestamp");
        assert!(vis.buckets.iter().all(|b| b.role == BucketRole::Nodes));
        assert_eq!(vis.buckets.len(), 2);
        vis.validate().unwrap();
        // From flows over time by action with an average per second: time goes, a port
        // column comes, and the metric is a count again, its label with it.
        let mut over_time = Visualization::example_flows_over_time();
        over_time.metrics = vec![Measure {
            label: "Average bytes per second".into(),
            rate: Some(RateUnit::Second),
            ..Measure::from(Metric::Avg {
                field: "bytes".into(),
            })
        }];
        change_kind(&mut over_time, ChartKind::Sankey, "@timestamp");
        over_time.validate().unwrap();
        assert_eq!(over_time.metrics[0].metric, Metric::Count);
        assert_eq!(over_time.metrics[0].label, "");
        assert_eq!(over_time.metrics[0].rate, None);
        let fields: Vec<Option<&str>> = over_time.buckets.iter().map(|b| b.agg.field()).collect();
        assert_eq!(fields, [Some("action"), Some("dstport")]);
        // A time column is refused by name.
        over_time.buckets[1].agg = BucketAgg::DateHistogram {
            field: "@timestamp".into(),
            interval: Interval::Auto,
        };
        let error = over_time.validate().unwrap_err();
        assert_eq!(error.path, "buckets[1].agg.date_histogram");
    }

    #[test]
    fn switching_kind_drops_what_the_new_kind_cannot_draw() {
        use crate::model::measure::Measure;
        use crate::model::visualization::{Metric, ParentPipeline};
        let mut vis = Visualization::example_flows_over_time();
        let mut bytes = Measure::from(Metric::Sum {
            field: "bytes".into(),
        });
        bytes.axis = ValueAxis::Right;
        bytes.pipeline = Some(ParentPipeline::CumulativeSum);
        vis.metrics.push(bytes);
        vis.validate().unwrap();
        // Horizontal bars: no right axis, and a table has no time axis for a pipeline.
        let mut sideways = vis.clone();
        change_kind(&mut sideways, ChartKind::HorizontalBar, "@timestamp");
        assert_eq!(sideways.metrics[1].axis, ValueAxis::Left);
        sideways.validate().unwrap();
        let mut table = vis.clone();
        change_kind(&mut table, ChartKind::Table, "@timestamp");
        assert_eq!(table.metrics[1].pipeline, None);
        table.validate().unwrap();
        // A pie shows one metric.
        let mut pie = vis;
        change_kind(&mut pie, ChartKind::Pie, "@timestamp");
        assert_eq!(pie.metrics.len(), 1);
        pie.validate().unwrap();
    }

    #[test]
    fn an_unsaved_visualization_exports_as_the_server_exports() {
        let mut vis = Visualization::example_action_port_pie();
        vis.title = "Rejected ports".into();
        let pattern = IndexPattern {
            title: vis.index_pattern.clone(),
            time_field: "@timestamp".into(),
            fields: Vec::new(),
            field_formats: Default::default(),
        };
        let ndjson = unsaved_export(
            &vis,
            1_700_000_000_000,
            std::slice::from_ref(&pattern),
            &["cwl".into()],
        );
        let lines: Vec<serde_json::Value> = ndjson
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        let object: SavedObject = serde_json::from_value(lines[0].clone()).unwrap();
        assert_eq!(object.id, "rejected-ports-1700000000000");
        assert_eq!(object.object_type, ObjectType::Visualization);
        assert_eq!(Visualization::from_value(object.attributes).unwrap(), vis);
        assert_eq!(object.references[0].id, "cwl");
        let pattern_object: SavedObject = serde_json::from_value(lines[1].clone()).unwrap();
        assert_eq!(pattern_object.object_type, ObjectType::IndexPattern);
        assert_eq!(
            serde_json::from_value::<IndexPattern>(pattern_object.attributes).unwrap(),
            pattern
        );
        assert_eq!(lines[2]["exportedCount"], 2);
    }
}
