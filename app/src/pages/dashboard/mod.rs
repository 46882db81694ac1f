//! `/` and `/dashboards/:id`: panels on a 48-column grid, one time range, query and filter bar
//! for all, state in the URL, one multi-search per refresh, editing in place.

use std::collections::{BTreeMap, HashMap, HashSet};

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_navigate, use_params_map};
use serde::{Deserialize, Serialize};

use crate::api::{ApiError, ObjectsClient};
use crate::components::latest::Latest;
use crate::components::query_bar::{FilterBar, QueryBar, SuggestFrom};
use crate::components::saved_queries::SavedQueries;
use crate::components::share::ShareLinks;
use crate::components::time_picker::{RefreshPicker, TimePicker};
use crate::model::control::{ControlValue, InputControl};
use crate::model::dashboard::{Dashboard, GridPos, Panel, PanelSource};
use crate::model::filter::{Filter, QueryText};
use crate::model::saved_object::ObjectType;
use crate::model::time::TimeRange;
use crate::model::visualization::Visualization;
use crate::panels::{sendable, ApiSearch, Library, ViewInputs};
use crate::result::ChartData;
use crate::state::ViewState;

mod controls;
mod details;
mod inspect;
mod panels;
mod picker;
mod search_panel;
mod settings;

use self::details::DashboardDetails;
use self::inspect::InspectDialog;
use self::panels::{panel_visualization, PanelView};
use self::picker::AddPanel;

/// The dashboard `/` opens.
pub const OVERVIEW_ID: &str = "vpc-flow-overview";

/// The question asked before edits are dropped.
const DISCARD: &str = "Discard the unsaved changes to this dashboard?";

/// Where the pinned filters are kept in the browser.
const PINNED_KEY: &str = "flowdash:pinned";

/// A dashboard with the visualizations its panels show, and the index patterns (their time
/// fields) those search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Loaded {
    pub id: String,
    pub version: u64,
    pub dashboard: Dashboard,
    pub visualizations: HashMap<String, Visualization>,
    /// The index patterns and saved searches the visualizations run with.
    pub library: Library,
}

async fn load(client: ObjectsClient, id: String) -> Result<Loaded, ApiError> {
    let object = client.get(ObjectType::Dashboard, id.clone()).await?;
    let dashboard =
        Dashboard::from_value(object.attributes).map_err(|e| ApiError::Decode(e.to_string()))?;
    // Only the visualizations on its panels: the page carries them, not the whole library.
    let mut visualizations = HashMap::new();
    for panel in &dashboard.panels {
        let PanelSource::Saved(vis_id) = &panel.source else {
            continue;
        };
        if visualizations.contains_key(vis_id) {
            continue;
        }
        // A deleted visualization is the panel's error to show, not the dashboard's.
        match client.get(ObjectType::Visualization, vis_id.clone()).await {
            Ok(object) => {
                if let Ok(vis) = Visualization::from_value(object.attributes) {
                    visualizations.insert(vis_id.clone(), vis);
                }
            }
            Err(error) if error.status() == Some(404) => {}
            Err(error) => return Err(error),
        }
    }
    let library = client.library().await?;
    Ok(Loaded {
        id,
        version: object.version,
        dashboard,
        visualizations,
        library,
    })
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| {
        params
            .read()
            .get("id")
            .unwrap_or_else(|| OVERVIEW_ID.to_owned())
    });
    // When this is the server's page being hydrated, the moment the server rendered it: its
    // panel images and the browser's first searches then resolve the time range alike, and
    // the server answers the browser from its request cache. None for a page the browser
    // builds later.
    // Only for the dashboard the server rendered: once the route leads to another one (a
    // link on it), the browser's own `now` serves.
    let first_paint_now = StoredValue::new(crate::browser::first_paint().then(|| {
        SharedValue::new_str(|| {
            crate::model::time::shared_now(chrono::Utc::now().timestamp_millis())
        })
        .into_inner()
    }));
    let first_id = id.get_untracked();
    Effect::new(move |_| {
        if id.get() != first_id {
            first_paint_now.set_value(None);
        }
    });
    let client = ObjectsClient::from_context();
    let loaded = Resource::new(
        move || id.get(),
        move |id| {
            let client = client.clone();
            sendable(async move { load(client, id).await })
        },
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading dashboard…"</p> }>
            {move || Suspend::new(async move {
                match loaded.await {
                    Ok(loaded) => {
                        let first_paint_now = first_paint_now.get_value();
                        view! { <DashboardView loaded first_paint_now/> }.into_any()
                    }
                    Err(error) => view! {
                        <div class="error-box" role="alert"><h2>"This dashboard cannot be shown"</h2><p>{error.to_string()}</p><a href="/dashboards">"All dashboards"</a></div>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Row height of the grid, in CSS pixels (gaps included), for dragging.
const ROW_PX: f64 = 28.0;

/// The dashboard's view: what the URL says, over the dashboard's own time, refresh, query
/// and filters. Changing it is a navigation, and the URL change is the refresh.
#[derive(Clone, Copy)]
struct UrlView {
    state: Memo<ViewState>,
    path: Memo<String>,
    time: Memo<TimeRange>,
    refresh: Memo<Option<u64>>,
    query: Memo<QueryText>,
    /// The dashboard's filters, then the URL's.
    filters: Memo<Vec<Filter>>,
    /// Shows a view: `scroll` to the top, or keeping the scroll position.
    navigate: Callback<(ViewState, bool)>,
}

impl UrlView {
    fn new(dashboard: RwSignal<Dashboard>) -> UrlView {
        let location = use_location();
        let navigate = use_navigate();
        let state = Memo::new(move |_| ViewState::from_query_string(&location.search.get()));
        let path = location.pathname;
        let time = Memo::new(move |_| {
            state
                .get()
                .time
                .or_else(|| dashboard.with(|d| d.time.clone()))
                .unwrap_or_default()
        });
        let refresh = Memo::new(move |_| {
            state
                .get()
                .refresh_ms
                .or_else(|| dashboard.with(|d| d.refresh_ms))
        });
        let query = Memo::new(move |_| {
            let state = state.get();
            if state.query.text.is_empty() {
                dashboard.with(|d| d.query.clone())
            } else {
                state.query
            }
        });
        let filters = Memo::new(move |_| {
            let mut all = dashboard.with(|d| d.filters.clone());
            let own = all.len();
            for filter in state.get().filters {
                // A link made before the dashboard saved its filters names them again.
                if !all[..own].contains(&filter) {
                    all.push(filter);
                }
            }
            all
        });
        let navigate = Callback::new(move |(next, scroll): (ViewState, bool)| {
            navigate(
                &format!("{}{}", path.get_untracked(), next.to_query_string()),
                leptos_router::NavigateOptions {
                    scroll,
                    ..Default::default()
                },
            )
        });
        UrlView {
            state,
            path,
            time,
            refresh,
            query,
            filters,
            navigate,
        }
    }

    /// Shows the view `change` makes of the current one.
    /// A new view of the same page keeps the scroll position: a filter set from a panel low
    /// on the page leaves that panel in view.
    fn change(self, change: impl FnOnce(ViewState) -> ViewState) {
        self.navigate
            .run((change(self.state.get_untracked()), false));
    }

    /// Takes the filter bar's new list (the dashboard's filters, then the URL's): a change to
    /// the URL's part is a navigation; a change to the dashboard's own filters (negated,
    /// disabled, removed) changes them in this view, until saved or cancelled.
    fn change_filters(self, dashboard: RwSignal<Dashboard>, next: Vec<Filter>) {
        let own = dashboard.with_untracked(|d| d.filters.clone());
        let shown = self.filters.with_untracked(Vec::len);
        match split_filters(&own, shown, next) {
            FilterEdit::Url(filters) => self.change(|s| ViewState { filters, ..s }),
            FilterEdit::Own(filters) => dashboard.update(|d| d.filters = filters),
        }
    }

    /// The dashboard as the page shows it: its query and filters (the dashboard's, then the
    /// URL's), and, when `store_time`, the time range and refresh (cleared otherwise).
    fn merged_into(self, dashboard: &Dashboard, store_time: bool) -> Dashboard {
        dashboard.with_view(
            self.query.get_untracked(),
            self.filters.get_untracked(),
            store_time.then(|| (self.time.get_untracked(), self.refresh.get_untracked())),
        )
    }

    /// This view's address on this server.
    fn link(self) -> String {
        format!(
            "{}{}{}",
            crate::browser::origin(),
            self.path.get_untracked(),
            self.state.get_untracked().to_query_string()
        )
    }
}

/// Where a change in the filter bar goes.
#[derive(Debug, PartialEq)]
enum FilterEdit {
    /// The URL's filters, the dashboard's own left as they are.
    Url(Vec<Filter>),
    /// The dashboard's own filters, the URL's left as they are.
    Own(Vec<Filter>),
}

/// Splits the filter bar's new list `next` (it showed the dashboard's `own` filters, then the
/// URL's, `shown` in all): while it starts with `own` unchanged, the rest is the URL's (an
/// added filter, one of the URL's changed or removed); otherwise one of the dashboard's own
/// was changed or removed, and the URL's are the list's last ones as before.
fn split_filters(own: &[Filter], shown: usize, next: Vec<Filter>) -> FilterEdit {
    if next.len() >= own.len() && next[..own.len()] == *own {
        return FilterEdit::Url(next[own.len()..].to_vec());
    }
    let url_part = shown.saturating_sub(own.len());
    let kept = next.len().saturating_sub(url_part);
    FilterEdit::Own(next[..kept].to_vec())
}

/// Panel charts by panel id; `None` while a panel's first answer is on its way.
type Charts = HashMap<String, Option<Result<ChartData, String>>>;

/// Each panel's last answered search and its answer, by panel id, for Inspect.
type Exchanges = HashMap<String, (crate::api::SearchRequest, serde_json::Value)>;

/// One colour per term across the dashboard (Kibana's synced colours): the labels of all
/// panels, assigned together; each panel takes them where they do not clash inside it.
fn synced_colors(charts: &Charts) -> BTreeMap<String, String> {
    let labels = charts
        .values()
        .flatten()
        .filter_map(|chart| chart.as_ref().ok())
        .flat_map(ChartData::labels);
    crate::charts::assign_colors(labels, &BTreeMap::new(), &BTreeMap::new()).to_hex_map()
}

/// What a panel says when its error is the one all failed panels share, said once above.
const SAID_ABOVE: &str = "Not drawn: see the error under the query bar";

/// The error that every failed panel shares, when two or more failed alike: a query that
/// does not parse, an index the server refuses. It is said once, under the query bar.
fn shared_error(charts: &Charts) -> Option<String> {
    let mut errors = charts.values().filter_map(|chart| match chart {
        Some(Err(error)) => Some(error),
        _ => None,
    });
    let first = errors.next()?;
    let mut count = 1;
    for error in errors {
        if error != first {
            return None;
        }
        count += 1;
    }
    (count >= 2).then(|| first.clone())
}

#[component]
fn DashboardView(loaded: Loaded, first_paint_now: Option<i64>) -> impl IntoView {
    let dashboard = RwSignal::new(loaded.dashboard.clone());
    let visualizations = RwSignal::new(loaded.visualizations.clone());
    let library = StoredValue::new(loaded.library.clone());
    let editing = RwSignal::new(false);
    let message = RwSignal::new(None::<String>);
    let url = UrlView::new(dashboard);
    // Bumped by "Refresh", a submitted query and auto-refresh: refetches the same view.
    let tick = RwSignal::new(0u64);
    let Refreshed {
        charts,
        exchanges,
        partial,
        in_flight,
        control_data,
    } = refresh_charts(
        dashboard,
        visualizations,
        library,
        url,
        tick,
        message,
        first_paint_now,
    );
    auto_refresh(url.refresh, in_flight, tick);
    follow_pinned_filters(url);

    let add_filters =
        Callback::new(move |added: Vec<Filter>| url.change(|s| s.with_filters(&added)));
    let brush = Callback::new(move |(from, to): (i64, i64)| {
        url.change(|s| ViewState {
            time: Some(TimeRange::absolute(from, to)),
            ..s
        })
    });
    let on_query = Callback::new(move |q: QueryText| {
        tick.update(|t| *t += 1);
        url.change(|s| ViewState { query: q, ..s })
    });
    // A saved query replaces the query and the address's filters, pinned ones kept.
    let load_query = Callback::new(move |(query, filters): (QueryText, Vec<Filter>)| {
        tick.update(|t| *t += 1);
        url.change(|s| ViewState {
            query,
            filters: crate::model::filter::with_pinned(&s.filters, filters),
            ..s
        })
    });
    let on_filters = Callback::new(move |next: Vec<Filter>| {
        remember_pinned(&next);
        url.change_filters(dashboard, next)
    });
    // An input control's choice, where the control's filter is (see `InputControl::set_in`).
    let set_control = Callback::new(move |(control, value): (InputControl, ControlValue)| {
        let own = dashboard.with_untracked(|d| d.filters.clone());
        let in_url = url.state.with_untracked(|s| s.filters.clone());
        let (own_next, url_next) = control.set_in(&own, &in_url, value);
        remember_pinned(&[own_next.as_deref().unwrap_or(&own), &url_next[..]].concat());
        if let Some(own_next) = own_next.filter(|next| *next != own) {
            dashboard.update(|d| d.filters = own_next);
        }
        if url_next != in_url {
            url.change(|s| ViewState {
                filters: url_next,
                ..s
            });
        }
    });
    // Full screen is another page's worth of layout: it starts at the top.
    let full_screen = Callback::new(move |panel: Option<String>| {
        let next = ViewState {
            full: panel,
            ..url.state.get_untracked()
        };
        url.navigate.run((next, true))
    });
    let navigate = use_navigate();
    // A panel's flows, narrowed by a data table row's filters when given.
    let view_flows = Callback::new(move |(panel_id, row_filters): (String, Vec<Filter>)| {
        let vis = dashboard.with_untracked(|d| {
            d.panels
                .iter()
                .find(|p| p.id == panel_id)
                .and_then(|p| visualizations.with_untracked(|v| panel_visualization(p, v)))
        });
        let Some(vis) = vis else {
            return;
        };
        match crate::discover::drilldown_state(
            &vis,
            url.time.get_untracked(),
            &url.query.get_untracked(),
            &url.filters.get_untracked(),
        ) {
            Ok(mut state) => {
                state.view.filters.extend(row_filters);
                navigate(
                    &format!("/discover{}", state.to_query_string()),
                    Default::default(),
                )
            }
            Err(error) => message.set(Some(error)),
        }
    });

    // Panels keyed by id: moving or resizing one re-renders none (a drag keeps its element).
    let full_view = Signal::derive(move || url.state.with(|v| v.full.is_some()));
    let panel_ids = move || {
        let full = url.state.with(|v| v.full.clone());
        dashboard.with(|d| {
            d.panels
                .iter()
                .filter(|p| full.as_ref().is_none_or(|f| *f == p.id))
                .map(|p| p.id.clone())
                .collect::<Vec<_>>()
        })
    };
    let search_view = Signal::derive(move || search_panel::SearchView {
        time: url.time.get(),
        query: url.query.get(),
        filters: url.filters.get(),
        tick: tick.get(),
    });
    let synced = Memo::new(move |_| charts.with(synced_colors));
    // The panel being inspected; its data and search are read when Inspect opens.
    let inspecting = RwSignal::new(None::<String>);
    let inspect = Callback::new(move |panel_id: String| inspecting.set(Some(panel_id)));
    let close_inspect = Callback::new(move |()| {
        if let Some(panel_id) = inspecting.get_untracked() {
            inspecting.set(None);
            crate::browser::focus(&format!(
                "section.grid-panel[data-panel=\"{panel_id}\"] button[aria-label=\"Inspect\"]"
            ));
        }
    });
    let inspect_dialog = move || {
        let panel_id = inspecting.get()?;
        let title = dashboard.with_untracked(|d| {
            let panel = d.panels.iter().find(|p| p.id == panel_id)?;
            panel.title.clone().or_else(|| {
                visualizations.with_untracked(|v| panel_visualization(panel, v).map(|v| v.title))
            })
        });
        let chart = charts.with_untracked(|c| c.get(&panel_id).cloned().flatten());
        let exchange = exchanges.with_untracked(|e| e.get(&panel_id).cloned());
        Some(
            view! { <InspectDialog title=title.unwrap_or_default() chart exchange on_close=close_inspect/> },
        )
    };
    let first_paint_panels = StoredValue::new(match first_paint_now {
        Some(_) => dashboard.with_untracked(|d| d.panels.iter().map(|p| p.id.clone()).collect()),
        None => HashSet::new(),
    });
    let grid = move || {
        view! {
            <For each=panel_ids key=|id| id.clone() let:panel_id>
                {
                    // Only the panels the server drew: a panel added later draws without an
                    // image.
                    let first_paint_now = first_paint_now
                        .filter(|_| first_paint_panels.with_value(|ids| ids.contains(&panel_id)));
                    view! { <PanelView panel_id visualizations dashboard charts partial control_data set_control synced editing add_filters brush full_screen full_view view_flows inspect library search_view message first_paint_now/> }
                }
            </For>
        }
    };
    // The query bar suggests from the pattern the first chart searches.
    let patterns = StoredValue::new(library.with_value(|l| l.patterns.clone()));
    let first_pattern = Signal::derive(move || {
        dashboard.with(|d| {
            d.panels
                .iter()
                .find_map(|p| match &p.source {
                    PanelSource::Controls(controls) => {
                        controls.first().map(|c| c.index_pattern.clone())
                    }
                    _ => visualizations
                        .with(|v| panel_visualization(p, v))
                        .map(|v| v.index_pattern),
                })
                .unwrap_or_else(|| crate::discover::DEFAULT_PATTERN.to_owned())
        })
    });
    let suggest = SuggestFrom::for_pattern(patterns, first_pattern, url.time.into());
    // Kiosk mode: the dashboard alone; Escape (or the button) brings the bars back.
    let kiosk = Memo::new(move |_| url.state.with(|s| s.kiosk));
    let leave_kiosk = move || url.change(|s| ViewState { kiosk: false, ..s });
    let escape = window_event_listener(leptos::ev::keydown, move |ev| {
        // An Escape that closed something smaller (a menu, panel settings) is not for the
        // page. Those handlers may run after this one, so look once the event is done.
        if ev.key() == "Escape" && kiosk.get_untracked() && inspecting.get_untracked().is_none() {
            crate::browser::after(0, move || {
                if !ev.default_prevented() {
                    leave_kiosk();
                }
            });
        }
    });
    on_cleanup(move || escape.remove());
    let full_class = move || {
        if full_view.get() {
            "grid full-screen"
        } else {
            "grid"
        }
    };

    view! {
        <Title text=move || format!("{} · flowdash", dashboard.with(|d| d.title.clone()))/>
        <div class="dashboard" class:kiosk=move || kiosk.get()>
            <Show when=move || kiosk.get()>
                <button class="exit-kiosk" title="Show the bars again (Escape)" on:click=move |_| leave_kiosk()>"Exit full screen"</button>
            </Show>
            <DashboardToolbar id=loaded.id version=loaded.version dashboard editing message url tick/>
            <DashboardDetails dashboard editing/>
            <div class="query-row">
                <SavedQueries query=url.query filters=url.filters on_load=load_query/>
                <QueryBar value=url.query on_submit=on_query error=Signal::derive(move || charts.with(shared_error)) suggest/>
            </div>
            <FilterBar filters=url.filters on_change=on_filters suggest/>
            {move || message.get().map(|m| view! { <p class="message" role="status">{m}<button class="link" on:click=move |_| message.set(None)>" ✕"</button></p> })}
            <Show when=move || editing.get()>
                <AddPanel dashboard visualizations library message/>
            </Show>
            {move || url.state.get().full.map(|_| view! { <button class="exit-full" on:click=move |_| full_screen.run(None)>"Exit full screen"</button> })}
            <div class=full_class data-editing=move || editing.get().to_string()>{grid}</div>
            {inspect_dialog}
        </div>
    }
}

/// How long the server's `now` stays the browser's first: past it, the first searches take the
/// browser's own.
const FIRST_PAINT_NOW_MS: i64 = 60_000;

/// What [`refresh_charts`] keeps up to date.
struct Refreshed {
    /// Each chart panel's chart.
    charts: RwSignal<Charts>,
    /// The searches and answers behind them, for Inspect.
    exchanges: RwSignal<Exchanges>,
    /// What each chart panel's answer lacks, when some indices did not answer.
    partial: RwSignal<HashMap<String, String>>,
    /// Whether a refresh is in flight.
    in_flight: RwSignal<bool>,
    /// What input controls offer, by [`controls::data_key`].
    control_data: RwSignal<Charts>,
}

/// Keeps the panels' charts and what input controls offer up to date: one multi-search
/// whenever what the panels show, the view or `tick` changes. A refresh supersedes the one
/// in flight (its answers are dropped).
fn refresh_charts(
    dashboard: RwSignal<Dashboard>,
    visualizations: RwSignal<HashMap<String, Visualization>>,
    library: StoredValue<Library>,
    url: UrlView,
    tick: RwSignal<u64>,
    message: RwSignal<Option<String>>,
    first_paint_now: Option<i64>,
) -> Refreshed {
    // The first searches take the server's `now` (see `DashboardPage`), unless the bundle took
    // so long to arrive that it is no longer recent.
    let first_now = StoredValue::new(first_paint_now);
    let charts = RwSignal::new(Charts::new());
    let control_data = RwSignal::new(Charts::new());
    let exchanges = RwSignal::new(Exchanges::new());
    let partial = RwSignal::new(HashMap::new());
    let in_flight = RwSignal::new(false);
    let latest = Latest::new();
    // What the panels search, not where they are or what they are called: moving a panel,
    // or typing its title, a control's label or notes, refetches nothing.
    let sources = Memo::new(move |_| {
        dashboard.with(|d| {
            d.panels
                .iter()
                .map(|p| Panel {
                    grid: GridPos {
                        x: 0,
                        y: 0,
                        w: 0,
                        h: 0,
                    },
                    title: None,
                    source: match &p.source {
                        PanelSource::Markdown(_) => PanelSource::Markdown(String::new()),
                        PanelSource::Controls(controls) => PanelSource::Controls(
                            controls.iter().map(InputControl::searched).collect(),
                        ),
                        other => other.clone(),
                    },
                    ..p.clone()
                })
                .collect::<Vec<_>>()
        })
    });
    Effect::new(move |_| {
        tick.track();
        let panels = sources.get();
        let vis_map = visualizations.get();
        let now = chrono::Utc::now().timestamp_millis();
        let now = first_now
            .try_update_value(Option::take)
            .flatten()
            .filter(|first| (now - first).abs() <= FIRST_PAINT_NOW_MS)
            .unwrap_or_else(|| crate::model::time::shared_now(now));
        let inputs = match ViewInputs::resolve(
            &url.time.get(),
            url.query.get(),
            url.filters.get(),
            now,
            crate::browser::utc_offset_secs(),
            Some(crate::browser::time_zone()),
        ) {
            Ok(inputs) => inputs,
            Err(error) => {
                message.set(Some(error));
                return;
            }
        };
        let mut ids = Vec::new();
        let mut list = Vec::new();
        let mut missing = Vec::new();
        // Input controls' searches, each in its own view (without its own filter).
        let mut control_keys = Vec::new();
        let mut control_runs = Vec::new();
        for panel in &panels {
            match &panel.source {
                PanelSource::Search(_) | PanelSource::Markdown(_) => {}
                PanelSource::Controls(controls) => {
                    for (key, vis, view) in controls::searches(&panel.id, controls, &inputs) {
                        control_keys.push(key);
                        control_runs.push((vis, view));
                    }
                }
                PanelSource::Saved(_) | PanelSource::Inline(_) => {
                    match panel_visualization(panel, &vis_map) {
                        Some(vis) => {
                            ids.push(panel.id.clone());
                            list.push(vis);
                        }
                        None => missing.push(panel.id.clone()),
                    }
                }
            }
        }
        // Answers for controls no longer there, or since edited, go.
        if control_data.with_untracked(|c| c.keys().any(|key| !control_keys.contains(key))) {
            control_data.update(|c| c.retain(|key, _| control_keys.contains(key)));
        }
        charts.update(|c| {
            for id in &ids {
                c.entry(id.clone()).or_insert(None);
            }
            for id in &missing {
                c.insert(
                    id.clone(),
                    Some(Err("The visualization of this panel was deleted".into())),
                );
            }
        });
        // Panels removed, or whose visualization was deleted, lack nothing.
        if partial.with_untracked(|p| p.keys().any(|id| !ids.contains(id))) {
            partial.update(|p| p.retain(|id, _| ids.contains(id)));
        }
        let run = latest.start();
        in_flight.set(true);
        leptos::task::spawn_local(async move {
            let library = library.get_value();
            let runs: Vec<_> = list
                .iter()
                .map(|vis| (vis, &inputs))
                .chain(control_runs.iter().map(|(vis, view)| (vis, view)))
                .collect();
            crate::panels::run_in_views(&ApiSearch, &runs, &library, |index, result, exchange| {
                if !run.is_current() {
                    return;
                }
                if let Some(offset) = index.checked_sub(ids.len()) {
                    if let Some(key) = control_keys.get(offset) {
                        control_data.update(|c| {
                            c.insert(key.clone(), Some(result));
                        });
                    }
                } else {
                    let id = ids[index].clone();
                    let lacks =
                        exchange.and_then(|(_, response)| crate::inspect::partial_answer(response));
                    if partial.with_untracked(|p| p.get(&id) != lacks.as_ref()) {
                        partial.update(|p| match lacks {
                            Some(note) => {
                                p.insert(id.clone(), note);
                            }
                            None => {
                                p.remove(&id);
                            }
                        });
                    }
                    exchanges.update_untracked(|e| match exchange {
                        Some((request, response)) => {
                            e.insert(id.clone(), (request.clone(), response.clone()));
                        }
                        None => {
                            e.remove(&id);
                        }
                    });
                    charts.update(|c| {
                        c.insert(id, Some(result));
                    });
                }
            })
            .await;
            if run.is_current() {
                in_flight.set(false);
            }
        });
    });
    Refreshed {
        charts,
        exchanges,
        partial,
        in_flight,
        control_data,
    }
}

/// Bumps `tick` every `refresh` milliseconds, skipping while a refresh is still running.
fn auto_refresh(refresh: Memo<Option<u64>>, in_flight: RwSignal<bool>, tick: RwSignal<u64>) {
    Effect::new(move |_| {
        if let Some(ms) = refresh.get() {
            let handle = set_interval_with_handle(
                move || {
                    if !in_flight.get_untracked() {
                        tick.update(|t| *t += 1)
                    }
                },
                std::time::Duration::from_millis(ms),
            );
            if let Ok(handle) = handle {
                on_cleanup(move || handle.clear());
            }
        }
    });
}

/// Keeps the pinned ones of `filters` (all the view's) for the next dashboard opened.
fn remember_pinned(filters: &[Filter]) {
    let pinned: Vec<&Filter> = filters.iter().filter(|f| f.pinned).collect();
    crate::browser::storage_set(
        PINNED_KEY,
        &serde_json::to_string(&pinned).unwrap_or_default(),
    );
}

/// Pinned filters follow the user to every dashboard: a view opened without filters gets
/// the pinned ones.
fn follow_pinned_filters(url: UrlView) {
    Effect::new(move |first: Option<()>| {
        if first.is_none() && url.state.with_untracked(|s| s.filters.is_empty()) {
            if let Some(pinned) = crate::browser::storage_get(PINNED_KEY)
                .and_then(|t| serde_json::from_str::<Vec<Filter>>(&t).ok())
            {
                if !pinned.is_empty() {
                    url.change(|s| s.with_filters(&pinned));
                }
            }
        }
    });
}

/// The title, the time and refresh pickers, and what can be done with the dashboard: edit,
/// save or cancel, share, export.
#[component]
fn DashboardToolbar(
    id: String,
    version: u64,
    dashboard: RwSignal<Dashboard>,
    editing: RwSignal<bool>,
    message: RwSignal<Option<String>>,
    url: UrlView,
    tick: RwSignal<u64>,
) -> impl IntoView {
    let id = StoredValue::new(id);
    let version = RwSignal::new(version);
    // What "Cancel" goes back to.
    let saved = RwSignal::new(dashboard.get_untracked());
    // Kibana's "Store time with dashboard": on when the dashboard has a time of its own.
    let store_time = RwSignal::new(saved.with_untracked(|d| d.time.is_some()));
    // Edits that leaving would lose: the panels, title, description and tags (the view's
    // query, filters and time are in the address).
    let dirty = Memo::new(move |_| {
        editing.get()
            && dashboard.with(|d| {
                saved.with(|s| {
                    d.panels != s.panels
                        || d.title != s.title
                        || d.description != s.description
                        || d.tags != s.tags
                })
            })
    });
    crate::browser::warn_before_leaving(DISCARD, dirty.into());
    let can_edit = crate::components::account::can_edit();
    let save = move || {
        let current = dashboard.with_untracked(|d| url.merged_into(d, store_time.get_untracked()));
        if let Err(error) = current.validate() {
            message.set(Some(error.to_string()));
            return;
        }
        leptos::task::spawn_local(async move {
            let attributes = serde_json::to_value(&current).unwrap_or_default();
            let id = id.get_value();
            match crate::api::calls::update(
                ObjectType::Dashboard,
                &id,
                version.get_untracked(),
                &attributes,
            )
            .await
            {
                Ok(object) => {
                    version.set(object.version);
                    dashboard.set(current.clone());
                    saved.set(current);
                    editing.set(false);
                    crate::pages::say_briefly(message, "Saved".into());
                    // The dashboard holds the view now: its plain address shows what was saved.
                    url.navigate.run((ViewState::default(), true));
                }
                Err(error) => message.set(Some(format!("Not saved: {error}"))),
            }
        });
    };
    // "Save as new" (the edited dashboard) and "Clone" (the saved one): a new dashboard with
    // the view shown, under a title of its own; the original stays as it was saved.
    let save_copy = move |source: Dashboard, store_time: bool| {
        let mut copy = url.merged_into(&source, store_time);
        if copy.title.trim() == saved.with_untracked(|s| s.title.trim().to_owned()) {
            copy.title = format!("{} (copy)", copy.title.trim());
        }
        if let Err(error) = copy.validate() {
            message.set(Some(error.to_string()));
            return;
        }
        leptos::task::spawn_local(async move {
            let attributes = serde_json::to_value(&copy).unwrap_or_default();
            match crate::api::calls::create(ObjectType::Dashboard, None, &attributes).await {
                Ok(object) => {
                    // Nothing of the original is lost: it keeps what it had saved.
                    dashboard.set(saved.get_untracked());
                    editing.set(false);
                    // A new page load: the dashboard page is built for the dashboard it opened.
                    crate::api::http::go_to(&format!("/dashboards/{}", object.id));
                }
                Err(error) => message.set(Some(format!("Not saved: {error}"))),
            }
        });
    };
    let save_as_new =
        Callback::new(move |()| save_copy(dashboard.get_untracked(), store_time.get_untracked()));
    let clone = Callback::new(move |()| {
        let original = saved.get_untracked();
        let had_time = original.time.is_some();
        save_copy(original, had_time)
    });
    let cancel = move || {
        if dirty.get_untracked() && !crate::browser::confirm(DISCARD) {
            return;
        }
        dashboard.set(saved.get_untracked());
        editing.set(false);
    };
    let edit = move || {
        store_time.set(saved.with_untracked(|d| d.time.is_some()));
        editing.set(true);
    };
    let export = move || {
        let id = id.get_value();
        leptos::task::spawn_local(async move {
            match crate::api::calls::export(&[(ObjectType::Dashboard, id.clone())], true).await {
                Ok(ndjson) => {
                    crate::browser::download(&format!("{id}.ndjson"), &ndjson, "application/ndjson")
                }
                Err(error) => message.set(Some(format!("Export failed: {error}"))),
            }
        });
    };
    let on_time = Callback::new(move |range: TimeRange| {
        url.change(|s| ViewState {
            time: Some(range),
            ..s
        })
    });
    let on_refresh = Callback::new(move |ms: Option<u64>| {
        url.change(|s| ViewState {
            refresh_ms: ms,
            ..s
        })
    });
    view! {
        <div class="toolbar">
            <h1 class="title">{move || dashboard.with(|d| d.title.clone())}</h1>
            <Show when=move || dirty.get()>
                <span class="unsaved">"Unsaved changes"</span>
            </Show>
            <div class="toolbar-actions">
                <TimePicker value=url.time on_change=on_time/>
                <RefreshPicker value=url.refresh on_change=on_refresh/>
                <button on:click=move |_| tick.update(|t| *t += 1) title="Refresh now">"Refresh"</button>
                <Show when=move || !editing.get() fallback=move || view! {
                    <label class="check" title="Save the current time range and refresh with the dashboard">
                        <input type="checkbox" name="store_time" prop:checked=move || store_time.get() on:change:target=move |ev| store_time.set(ev.target().checked())/>
                        "Store time with dashboard"
                    </label>
                    <button class="primary" on:click=move |_| save()>"Save"</button>
                    <button title="Save the edited dashboard under a new title, and leave this one as it was" on:click=move |_| save_as_new.run(())>"Save as new"</button>
                    <button on:click=move |_| cancel()>"Cancel"</button>
                }>
                    <Show when=move || can_edit.get()>
                        <button on:click=move |_| edit()>"Edit"</button>
                        <button title="Make a copy of this dashboard and open it" on:click=move |_| clone.run(())>"Clone"</button>
                    </Show>
                </Show>
                <button on:click=move |_| export()>"Export"</button>
                <button title="The dashboard alone, for a wall screen (Escape leaves)" on:click=move |_| url.change(|s| ViewState { kiosk: true, ..s })>"Full screen"</button>
                <ShareLinks link=Callback::new(move |()| url.link()) message/>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_error_every_failed_panel_shares_is_said_once() {
        let failed = |e: &str| Some(Err::<ChartData, String>(e.to_owned()));
        let drawn = Some(Ok(ChartData::Metric(crate::result::MetricData {
            values: vec![crate::result::MetricValue {
                label: "Count".into(),
                value: Some(1.0),
                text: None,
                format: Default::default(),
            }],
        })));
        let charts = |entries: Vec<Option<Result<ChartData, String>>>| -> Charts {
            entries
                .into_iter()
                .enumerate()
                .map(|(i, chart)| (i.to_string(), chart))
                .collect()
        };
        let query = "Expected a value at 8 in action:(";
        assert_eq!(
            shared_error(&charts(vec![
                failed(query),
                drawn.clone(),
                failed(query),
                None
            ])),
            Some(query.to_owned())
        );
        // One failure is the panel's own; different failures are each their panel's.
        assert_eq!(shared_error(&charts(vec![failed(query), drawn])), None);
        assert_eq!(
            shared_error(&charts(vec![failed(query), failed("no field [x]")])),
            None
        );
    }

    #[test]
    fn the_filter_bar_changes_the_url_or_the_dashboards_own_filters() {
        let own = vec![Filter::phrase("action", json!("REJECT"))];
        let url = Filter::phrase("dstport", json!(22));
        let added = Filter::phrase("protocol", json!(6));
        // Added after the URL's: the URL's part.
        let next = vec![own[0].clone(), url.clone(), added.clone()];
        assert_eq!(
            split_filters(&own, 2, next),
            FilterEdit::Url(vec![url.clone(), added])
        );
        // The URL's removed.
        assert_eq!(
            split_filters(&own, 2, own.clone()),
            FilterEdit::Url(Vec::new())
        );
        // The dashboard's own negated, or removed: the URL's stay.
        let mut negated = own[0].clone();
        negated.negate = true;
        assert_eq!(
            split_filters(&own, 2, vec![negated.clone(), url.clone()]),
            FilterEdit::Own(vec![negated])
        );
        assert_eq!(
            split_filters(&own, 2, vec![url]),
            FilterEdit::Own(Vec::new())
        );
        // Without own filters everything is the URL's.
        assert_eq!(
            split_filters(&[], 0, Vec::new()),
            FilterEdit::Url(Vec::new())
        );
    }
}
