//! `/discover`: the raw flows behind every chart. Index pattern, time, query and filters as on
//! dashboards; a histogram of the matches (drag to zoom); a table of flows with chosen columns
//! and sort, paged with `search_after`; a field list with each field's top values; each flow
//! expandable. The whole view lives in the URL, and can be kept as a saved search.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_navigate};
use serde_json::Value;

use crate::api::{ApiError, ObjectsClient, SearchRequest};
use crate::charts::DrawOptions;
use crate::components::chart_panel::ChartPanel;
use crate::components::latest::Latest;
use crate::components::query_bar::{FilterBar, QueryBar, SuggestFrom};
use crate::components::saved_queries::SavedQueries;
use crate::components::share::ShareLinks;
use crate::components::time_picker::{RefreshPicker, TimePicker};
use crate::discover::{page_request, read_page, DiscoverState, FlowPage, PageRequest, PAGE_SIZE};
use crate::model::filter::{Filter, QueryText};
use crate::model::index_pattern::{
    display_only_fields, formats_of, saved_fields_of, time_field_of, FieldSpec, IndexPattern,
};
use crate::model::saved_object::ObjectType;
use crate::model::search::SavedSearch;
use crate::model::time::TimeRange;
use crate::panels::{sendable, ViewInputs};
use crate::result::ChartData;
use crate::state::ViewState;

mod fields;
pub mod flow;
mod table;

use self::fields::FieldList;
use self::table::FlowTable;

/// The saved search a view was opened from: its id, version and content.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OpenedSearch {
    pub id: String,
    pub version: u64,
    pub search: SavedSearch,
}

/// What Discover needs before it can search: the index patterns, and the saved search the
/// URL names.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DiscoverData {
    pub patterns: Vec<IndexPattern>,
    pub opened: Option<OpenedSearch>,
}

async fn load(client: ObjectsClient, search: Option<String>) -> Result<DiscoverData, ApiError> {
    let found = client.find(vec![ObjectType::IndexPattern], None).await?;
    let patterns = found
        .saved_objects
        .into_iter()
        .filter_map(|o| serde_json::from_value(o.attributes).ok())
        .collect();
    let opened = match search {
        Some(id) => {
            let object = client.get(ObjectType::Search, id.clone()).await?;
            let search = SavedSearch::from_value(object.attributes)
                .map_err(|e| ApiError::Decode(e.to_string()))?;
            Some(OpenedSearch {
                id,
                version: object.version,
                search,
            })
        }
        None => None,
    };
    Ok(DiscoverData { patterns, opened })
}

/// The state a saved search opens with, when the URL says nothing else.
pub fn state_of_search(id: &str, search: &SavedSearch, view: ViewState) -> DiscoverState {
    DiscoverState {
        view: ViewState {
            query: search.query.clone(),
            filters: search.filters.clone(),
            ..view
        },
        index: Some(search.index_pattern.clone()),
        columns: search.columns.clone(),
        sort: search.sort.clone(),
        search: Some(id.to_owned()),
    }
}

#[component]
pub fn DiscoverPage() -> impl IntoView {
    let location = use_location();
    let search_id =
        Memo::new(move |_| DiscoverState::from_query_string(&location.search.get()).search);
    let client = ObjectsClient::from_context();
    let data = Resource::new(
        move || search_id.get(),
        move |search| {
            let client = client.clone();
            sendable(async move { load(client, search).await })
        },
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading Discover…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(data) => view! { <DiscoverView data/> }.into_any(),
                    Err(error) => view! {
                        <div class="error-box" role="alert"><h2>"Discover cannot open this search"</h2><p>{error.to_string()}</p><a href="/discover">"A new search"</a></div>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The URL's view, and how to change it (a navigation: back and forward walk through views).
#[derive(Clone, Copy)]
pub(crate) struct DiscoverUrl {
    pub state: Memo<DiscoverState>,
    navigate: Callback<DiscoverState>,
}

impl DiscoverUrl {
    fn new(opened: Option<OpenedSearch>) -> DiscoverUrl {
        let location = use_location();
        let navigate = use_navigate();
        let state = Memo::new(move |_| {
            let state = DiscoverState::from_query_string(&location.search.get());
            // A link to a saved search alone (`?search=id`) opens it as it was saved.
            match &opened {
                Some(o)
                    if state.search.as_deref() == Some(o.id.as_str())
                        && state.index.is_none()
                        && state.columns.is_empty()
                        && state.view.query.text.is_empty()
                        && state.view.filters.is_empty() =>
                {
                    state_of_search(&o.id, &o.search, state.view)
                }
                _ => state,
            }
        });
        let navigate = Callback::new(move |next: DiscoverState| {
            navigate(
                &format!("/discover{}", next.to_query_string()),
                Default::default(),
            )
        });
        DiscoverUrl { state, navigate }
    }

    pub fn change(self, change: impl FnOnce(DiscoverState) -> DiscoverState) {
        self.navigate.run(change(self.state.get_untracked()));
    }

    pub fn change_view(self, change: impl FnOnce(ViewState) -> ViewState) {
        self.change(|s| DiscoverState {
            view: change(s.view.clone()),
            ..s
        })
    }
}

/// The flows of the current view: the page shown, the pages before it (their last rows'
/// sort values), and the state of the request.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Flows {
    pub page: FlowPage,
    /// `search_after` of each page after the first, in order; the page shown is the last.
    pub cursors: Vec<Vec<Value>>,
    pub histogram: Option<Result<ChartData, String>>,
    pub total: Option<u64>,
    pub loading: bool,
    pub error: Option<String>,
}

#[component]
fn DiscoverView(data: DiscoverData) -> impl IntoView {
    let patterns = StoredValue::new(data.patterns.clone());
    let opened = RwSignal::new(data.opened.clone());
    let url = DiscoverUrl::new(data.opened.clone());
    let message = RwSignal::new(None::<String>);
    let tick = RwSignal::new(0u64);
    let flows = RwSignal::new(Flows::default());
    let time_field = Memo::new(move |_| {
        let pattern = url.state.with(|s| s.pattern().to_owned());
        patterns.with_value(|p| time_field_of(p, &pattern).to_owned())
    });
    let formats = Memo::new(move |_| {
        let pattern = url.state.with(|s| s.pattern().to_owned());
        patterns.with_value(|p| formats_of(p, &pattern))
    });
    // The pattern's fields as saved, or as the backend reports them when none were saved.
    let reported = RwSignal::new(Vec::<FieldSpec>::new());
    Effect::new(move |_| {
        let pattern = url.state.with(|s| s.pattern().to_owned());
        if patterns.with_value(|p| saved_fields_of(p, &pattern).is_none()) {
            leptos::task::spawn_local(async move {
                if let Ok(fields) = crate::api::calls::fields(&pattern).await {
                    reported.set(fields);
                }
            });
        }
    });
    let pattern_fields = Signal::derive(move || {
        let pattern = url.state.with(|s| s.pattern().to_owned());
        patterns
            .with_value(|p| saved_fields_of(p, &pattern).map(<[FieldSpec]>::to_vec))
            .unwrap_or_else(|| reported.get())
    });
    // Fields no filter can find have no filter actions.
    let display_only = Memo::new(move |_| display_only_fields(&pattern_fields.get()));
    let time = Memo::new(move |_| {
        url.state
            .with(|s| s.view.time.clone())
            .unwrap_or_else(|| TimeRange::last("15m"))
    });
    // Each refresh resolves `now` again.
    let inputs = Memo::new(move |_| {
        tick.track();
        let state = url.state.get();
        ViewInputs::resolve(
            &time.get(),
            state.view.query,
            state.view.filters,
            chrono::Utc::now().timestamp_millis(),
            crate::browser::utc_offset_secs(),
            Some(crate::browser::time_zone()),
        )
    });
    let fetch = fetch_flows(url, time_field, inputs, tick, flows);
    auto_refresh(url, flows, tick);

    let on_time = Callback::new(move |range: TimeRange| {
        url.change_view(|v| ViewState {
            time: Some(range),
            ..v
        })
    });
    let on_refresh = Callback::new(move |ms: Option<u64>| {
        url.change_view(|v| ViewState {
            refresh_ms: ms,
            ..v
        })
    });
    let on_query = Callback::new(move |q: QueryText| {
        tick.update(|t| *t += 1);
        url.change_view(|v| ViewState { query: q, ..v })
    });
    // A saved query replaces the query and the filters, pinned ones kept.
    let load_query = Callback::new(move |(query, filters): (QueryText, Vec<Filter>)| {
        tick.update(|t| *t += 1);
        url.change_view(|v| ViewState {
            query,
            filters: crate::model::filter::with_pinned(&v.filters, filters),
            ..v
        })
    });
    let on_filters = Callback::new(move |next: Vec<Filter>| {
        url.change_view(|v| ViewState { filters: next, ..v })
    });
    let add_filters =
        Callback::new(move |added: Vec<Filter>| url.change_view(|v| v.with_filters(&added)));
    let brush = Callback::new(move |(from, to): (i64, i64)| {
        url.change_view(|v| ViewState {
            time: Some(TimeRange::absolute(from, to)),
            ..v
        })
    });
    let query = Memo::new(move |_| url.state.with(|s| s.view.query.clone()));
    let filters = Signal::derive(move || url.state.with(|s| s.view.filters.clone()));
    let refresh = Memo::new(move |_| url.state.with(|s| s.view.refresh_ms));
    let pattern_choice = move |title: String| {
        url.change(|s| DiscoverState {
            index: Some(title),
            columns: Vec::new(),
            sort: Vec::new(),
            ..s
        })
    };
    let histogram = Signal::derive(move || flows.with(|f| f.histogram.clone()));
    let hit_count = move || {
        flows.with(|f| match (f.loading, f.total) {
            (true, None) => "Searching…".to_owned(),
            (_, Some(total)) => format!(
                "{} flow{}",
                group_thousands(total),
                if total == 1 { "" } else { "s" }
            ),
            (false, None) => String::new(),
        })
    };
    let title = move || {
        opened.with(|o| {
            o.as_ref()
                .map(|o| o.search.title.clone())
                .unwrap_or_else(|| "Discover".into())
        })
    };

    let suggest = SuggestFrom::for_pattern(
        patterns,
        Signal::derive(move || url.state.with(|s| s.pattern().to_owned())),
        time.into(),
    );
    view! {
        <Title text=move || format!("{} · flowdash", title())/>
        <div class="discover">
            <div class="toolbar">
                <h1 class="title">{title}</h1>
                <div class="toolbar-actions">
                    <label class="pattern-picker">"Index pattern "
                        <select name="index_pattern" aria-label="Index pattern" on:change:target=move |ev| pattern_choice(ev.target().value())>
                            {move || {
                                let current = url.state.with(|s| s.pattern().to_owned());
                                let mut titles: Vec<String> = patterns.with_value(|p| p.iter().map(|p| p.title.clone()).collect());
                                if !titles.contains(&current) {
                                    titles.insert(0, current.clone());
                                }
                                titles.into_iter().map(|t| {
                                    let selected = t == current;
                                    view! { <option value=t.clone() selected=selected>{t.clone()}</option> }
                                }).collect_view()
                            }}
                        </select>
                    </label>
                    <TimePicker value=time on_change=on_time/>
                    <RefreshPicker value=refresh on_change=on_refresh/>
                    <button on:click=move |_| tick.update(|t| *t += 1) title="Search again">"Refresh"</button>
                    <SearchActions url opened message inputs/>
                </div>
            </div>
            <div class="query-row">
                <SavedQueries query filters on_load=load_query/>
                <QueryBar value=query on_submit=on_query suggest/>
            </div>
            <FilterBar filters on_change=on_filters suggest/>
            {move || message.get().map(|m| view! { <p class="message" role="status">{m}<button class="link" aria-label="Dismiss" on:click=move |_| message.set(None)>" ✕"</button></p> })}
            <div class="discover-body">
                <FieldList url patterns pattern_fields formats flows add_filters/>
                <section class="discover-main" aria-label="Flows">
                    <div class="hit-count" role="status" aria-live="polite"
                        data-from=move || inputs.get().map(|i| i.time.from_ms.to_string()).unwrap_or_default()
                        data-to=move || inputs.get().map(|i| i.time.to_ms.to_string()).unwrap_or_default()>{hit_count}</div>
                    {move || flows.with(|f| f.error.clone()).map(|e| view! { <p class="error" role="alert">{e}</p> })}
                    {move || flows.with(|f| f.page.partial.clone()).map(|note| view! { <p class="partial-answer-note" role="note">"⚠ Partial: "{note}</p> })}
                    <div class="discover-histogram">
                        <ChartPanel data=histogram options=Signal::derive(|| DrawOptions { legend: crate::model::visualization::LegendPosition::Hidden, ..DrawOptions::default() }) label=Signal::derive(|| "Flows over time".to_owned()) on_brush=brush/>
                    </div>
                    <FlowTable url flows time_field formats display_only add_filters fetch/>
                </section>
            </div>
        </div>
    }
}

/// `1234567` as `1,234,567`.
pub(crate) fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Which page to show: the first (with count and histogram), the next or the previous.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum PageMove {
    First,
    Next,
    Previous,
}

/// Fetches the first page whenever the view changes or `tick` moves, and answers a callback
/// that moves between pages. A newer fetch supersedes an older one.
fn fetch_flows(
    url: DiscoverUrl,
    time_field: Memo<String>,
    inputs: Memo<Result<ViewInputs, String>>,
    tick: RwSignal<u64>,
    flows: RwSignal<Flows>,
) -> Callback<PageMove> {
    let latest = Latest::new();
    let fetch = Callback::new(move |movement: PageMove| {
        let state = url.state.get_untracked();
        let inputs = match inputs.get_untracked() {
            Ok(inputs) => inputs,
            Err(error) => {
                flows.update(|f| f.error = Some(error));
                return;
            }
        };
        let mut cursors = flows.with_untracked(|f| f.cursors.clone());
        match movement {
            PageMove::First => cursors.clear(),
            PageMove::Next => {
                match flows.with_untracked(|f| f.page.rows.last().map(|r| r.sort.clone())) {
                    Some(after) => cursors.push(after),
                    None => return,
                }
            }
            PageMove::Previous => {
                cursors.pop();
            }
        }
        let first = movement == PageMove::First;
        let page = PageRequest {
            after: cursors.last().cloned(),
            size: PAGE_SIZE,
            histogram: first,
        };
        let pattern = state.pattern().to_owned();
        let time_field = time_field.get_untracked();
        let body = match page_request(&pattern, &time_field, &state.sort, &inputs, &page) {
            Ok(body) => body,
            Err(error) => {
                flows.update(|f| {
                    f.error = Some(error.to_string());
                    f.loading = false;
                });
                return;
            }
        };
        let run = latest.start();
        flows.update(|f| {
            f.loading = true;
            if first {
                f.histogram = None;
                f.total = None;
            }
        });
        leptos::task::spawn_local(async move {
            let request = SearchRequest {
                index: pattern.clone(),
                body,
            };
            let answer = crate::api::calls::search(&request).await;
            if !run.is_current() {
                return;
            }
            flows.update(|f| {
                f.loading = false;
                match answer.map_err(|e| e.to_string()).and_then(|response| {
                    read_page(&pattern, &time_field, &response, &inputs, first)
                        .map_err(|e| e.to_string())
                }) {
                    Ok(page) => {
                        f.error = None;
                        if first {
                            f.total = page.total;
                            f.histogram = page.histogram.clone().map(Ok);
                        }
                        f.page = page;
                        f.cursors = cursors;
                    }
                    Err(error) => {
                        if first {
                            f.histogram = Some(Err(error.clone()));
                        }
                        f.error = Some(error);
                    }
                }
            });
        });
    });
    Effect::new(move |_| {
        url.state.track();
        tick.track();
        inputs.track();
        fetch.run(PageMove::First);
    });
    fetch
}

/// Searches again every refresh interval, unless a search is still running.
fn auto_refresh(url: DiscoverUrl, flows: RwSignal<Flows>, tick: RwSignal<u64>) {
    Effect::new(move |_| {
        if let Some(ms) = url.state.with(|s| s.view.refresh_ms) {
            let handle = set_interval_with_handle(
                move || {
                    if !flows.with_untracked(|f| f.loading) {
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

/// Save (or save as), open saved searches, share, and export the search as CSV.
#[component]
fn SearchActions(
    url: DiscoverUrl,
    opened: RwSignal<Option<OpenedSearch>>,
    message: RwSignal<Option<String>>,
    inputs: Memo<Result<ViewInputs, String>>,
) -> impl IntoView {
    let saving = RwSignal::new(false);
    let title = RwSignal::new(String::new());
    let can_edit = crate::components::account::can_edit();
    let save = move |as_new: bool| {
        let state = url.state.get_untracked();
        let search = SavedSearch {
            title: title.get_untracked().trim().to_owned(),
            description: opened.with_untracked(|o| {
                o.as_ref()
                    .map(|o| o.search.description.clone())
                    .unwrap_or_default()
            }),
            index_pattern: state.pattern().to_owned(),
            query: state.view.query.clone(),
            filters: state.view.filters.clone(),
            columns: state.columns.clone(),
            sort: state.sort.clone(),
        };
        if let Err(error) = search.validate() {
            message.set(Some(format!("Not saved: {error}")));
            return;
        }
        let existing = opened.get_untracked().filter(|_| !as_new);
        leptos::task::spawn_local(async move {
            let attributes = serde_json::to_value(&search).unwrap_or_default();
            let saved = match &existing {
                Some(o) => {
                    crate::api::calls::update(ObjectType::Search, &o.id, o.version, &attributes)
                        .await
                }
                None => crate::api::calls::create(ObjectType::Search, None, &attributes).await,
            };
            match saved {
                Ok(object) => {
                    let id = object.id.clone();
                    opened.set(Some(OpenedSearch {
                        id: id.clone(),
                        version: object.version,
                        search,
                    }));
                    saving.set(false);
                    crate::pages::say_briefly(
                        message,
                        format!("Saved “{}”", title.get_untracked().trim()),
                    );
                    url.change(|s| DiscoverState {
                        search: Some(id),
                        ..s
                    });
                }
                Err(error) => message.set(Some(format!("Not saved: {error}"))),
            }
        });
    };
    // The saved search with its index pattern, as NDJSON that imports back.
    let export = move || {
        let Some(id) = opened.with_untracked(|o| o.as_ref().map(|o| o.id.clone())) else {
            return;
        };
        leptos::task::spawn_local(async move {
            match crate::api::calls::export(&[(ObjectType::Search, id.clone())], true).await {
                Ok(ndjson) => {
                    crate::browser::download(&format!("{id}.ndjson"), &ndjson, "application/ndjson")
                }
                Err(error) => message.set(Some(format!("Export failed: {error}"))),
            }
        });
    };
    // The rows shown, not the range resolved again later: the export's time range is the
    // one this search resolved (`now-15m` as of the last refresh), in absolute times.
    let csv_href = move || {
        let mut state = url.state.get();
        if let Ok(inputs) = inputs.get() {
            state.view.time = Some(TimeRange::absolute(inputs.time.from_ms, inputs.time.to_ms));
        }
        let query = state.to_query_string();
        let separator = if query.is_empty() { "?" } else { "&" };
        format!(
            "/api/discover/export.csv{query}{separator}tz={}",
            crate::browser::utc_offset_secs()
        )
    };
    view! {
        <Show when=move || can_edit.get()>
            <button on:click=move |_| {
                title.set(opened.with_untracked(|o| o.as_ref().map(|o| o.search.title.clone()).unwrap_or_default()));
                saving.set(true);
            }>"Save"</button>
        </Show>
        <a class="button" href="/discover/searches">"Open"</a>
        <Show when=move || opened.with(Option::is_some)>
            <button on:click=move |_| export() title="The saved search and its index pattern, as NDJSON">"Export"</button>
        </Show>
        <a class="button" href=csv_href download="flows.csv" title="The matching flows as CSV, with these columns and this sort">"CSV"</a>
        <ShareLinks link=Callback::new(move |()| format!(
            "{}/discover{}",
            crate::browser::origin(),
            url.state.get_untracked().to_query_string()
        )) message/>
        <Show when=move || saving.get()>
            <form class="save-search" aria-label="Save search" on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); save(false); }>
                <input type="text" name="search_title" aria-label="Search title" placeholder="Title" prop:value=move || title.get() on:input:target=move |ev| title.set(ev.target().value())/>
                <button type="submit" class="primary">"Save search"</button>
                <Show when=move || opened.with(|o| o.is_some())>
                    <button type="button" on:click=move |_| save(true)>"Save as new"</button>
                </Show>
                <button type="button" on:click=move |_| saving.set(false)>"Cancel"</button>
            </form>
        </Show>
    }
}
