//! A dashboard's panels: each panel's chart with its title bar and edit controls, moved and
//! resized on the grid, and the "add a panel" picker.

use std::collections::{BTreeMap, HashMap};

use leptos::prelude::*;

use super::controls::{ControlsPanel, SetControl};
use super::search_panel::{SearchPanel, SearchView};
use super::settings::PanelSettings;
use super::{shared_error, Charts, ROW_PX, SAID_ABOVE};
use crate::charts::DrawOptions;
use crate::components::chart_panel::ChartPanel;
use crate::model::dashboard::{layout, Dashboard, GridPos, Panel, PanelSource};
use crate::model::drilldown::DrilldownContext;
use crate::model::filter::Filter;
use crate::model::visualization::Visualization;
use crate::panels::Library;
use crate::state::ViewState;

/// The visualization a panel shows.
pub(super) fn panel_visualization(
    panel: &Panel,
    saved: &HashMap<String, Visualization>,
) -> Option<Visualization> {
    match &panel.source {
        PanelSource::Saved(id) => saved.get(id).cloned(),
        PanelSource::Inline(vis) => Some((**vis).clone()),
        PanelSource::Search(_) | PanelSource::Markdown(_) | PanelSource::Controls(_) => None,
    }
}

/// The CSS pixels a panel's chart gets on a 1280-pixel-wide page: a grid column is about 26
/// pixels, a row 28, less the panel's title bar.
fn server_image_size(grid: GridPos) -> (u32, u32) {
    let width = (grid.w * 26).clamp(200, 1600);
    let height = (grid.h * ROW_PX as u32).saturating_sub(40).clamp(120, 1200);
    (width, height)
}

#[component]
pub(super) fn PanelView(
    panel_id: String,
    visualizations: RwSignal<HashMap<String, Visualization>>,
    dashboard: RwSignal<Dashboard>,
    charts: RwSignal<Charts>,
    /// What chart panels' answers lack, when some indices did not answer.
    partial: RwSignal<HashMap<String, String>>,
    /// What input controls offer.
    control_data: RwSignal<Charts>,
    /// Sets an input control.
    set_control: SetControl,
    /// The dashboard's colour for each term.
    synced: Memo<BTreeMap<String, String>>,
    editing: RwSignal<bool>,
    add_filters: Callback<Vec<Filter>>,
    brush: Callback<(i64, i64)>,
    full_screen: Callback<Option<String>>,
    full_view: Signal<bool>,
    /// Opens Discover on the flows behind a panel.
    view_flows: Callback<(String, Vec<Filter>)>,
    /// Opens Inspect on a panel.
    inspect: Callback<String>,
    /// Saved searches (for search panels) and index patterns.
    library: StoredValue<Library>,
    /// What search panels show besides their search.
    search_view: Signal<SearchView>,
    /// Says what went wrong (a replacement that cannot be read).
    message: RwSignal<Option<String>>,
    /// The server's `now` when this is its page being hydrated (see `DashboardPage`): the
    /// panel shows the server's image, drawn for that moment, until the browser draws.
    first_paint_now: Option<i64>,
) -> impl IntoView {
    let id = StoredValue::new(panel_id);
    let panel = Memo::new(move |_| {
        dashboard.with(|d| d.panels.iter().find(|p| p.id == id.get_value()).cloned())
    });
    let vis = Memo::new(move |_| {
        panel
            .get()
            .and_then(|p| visualizations.with(|v| panel_visualization(&p, v)))
    });
    // A search panel's saved search; `Err` when it was deleted.
    let search = Memo::new(move |_| match panel.get().map(|p| p.source) {
        Some(PanelSource::Search(search_id)) => Some(
            library
                .with_value(|l| l.searches.get(&search_id).cloned())
                .ok_or(search_id),
        ),
        _ => None,
    });
    // A text panel's Markdown.
    let markdown = Memo::new(move |_| match panel.get().map(|p| p.source) {
        Some(PanelSource::Markdown(text)) => Some(text),
        _ => None,
    });
    // An input-controls panel's controls.
    let controls = Memo::new(move |_| match panel.get().map(|p| p.source) {
        Some(PanelSource::Controls(controls)) => Some(controls),
        _ => None,
    });
    // What the panel shows is called, and what the panel is called (its own title first).
    let source_title = Memo::new(move |_| {
        vis.get()
            .map(|v| v.title)
            .or_else(|| search.get().and_then(|s| s.ok()).map(|s| s.title))
            .or_else(|| markdown.with(Option::is_some).then(|| "Notes".to_owned()))
            .or_else(|| {
                controls
                    .with(Option::is_some)
                    .then(|| "Controls".to_owned())
            })
            .unwrap_or_else(|| "Missing visualization".into())
    });
    // The visualization's drilldown links for a clicked term, in the view shown now.
    let links = Callback::new(move |filter: Filter| -> Vec<(String, String)> {
        let drilldowns = vis.with_untracked(|v| {
            v.as_ref()
                .map(|v| v.options.drilldowns.clone())
                .unwrap_or_default()
        });
        if drilldowns.is_empty() {
            return Vec::new();
        }
        let view = search_view.get_untracked();
        let now = chrono::Utc::now().timestamp_millis();
        let Ok(range) = view.time.resolve(now, crate::browser::utc_offset_secs()) else {
            return Vec::new();
        };
        let context = DrilldownContext::of(&filter, range.from_ms, range.to_ms, &view.query.text);
        drilldowns
            .iter()
            .filter_map(|d| Some((d.name.clone(), d.expand(&context)?)))
            .collect()
    });
    // A saved visualization's editor (inline ones are edited with the dashboard's export).
    let editor_link = move || match panel.get().map(|p| p.source) {
        Some(PanelSource::Saved(vis_id)) => {
            Some(format!("/visualize/{}", crate::api::encode(&vis_id)))
        }
        _ => None,
    };
    // Charts have flows behind them and data to inspect; notes and controls have neither.
    let is_chart = move || {
        search.with(Option::is_none)
            && markdown.with(Option::is_none)
            && controls.with(Option::is_none)
    };
    let has_flows = move || markdown.with(Option::is_none) && controls.with(Option::is_none);
    let title = Memo::new(move |_| {
        panel
            .get()
            .and_then(|p| p.title)
            .map(|t| t.trim().to_owned())
            .unwrap_or_else(|| source_title.get())
    });
    let hide_title = Memo::new(move |_| panel.with(|p| p.as_ref().is_some_and(|p| p.hide_title)));
    let settings_open = RwSignal::new(false);
    let close_settings = Callback::new(move |()| {
        settings_open.set(false);
        crate::browser::focus(&format!(
            "section.grid-panel[data-panel=\"{}\"] button[aria-label=\"Panel settings\"]",
            id.get_value()
        ));
    });
    let data = Signal::derive(move || {
        charts.with(|c| match c.get(&id.get_value()).cloned().flatten() {
            Some(Err(error)) if shared_error(c).as_ref() == Some(&error) => {
                Some(Err(SAID_ABOVE.to_owned()))
            }
            mine => mine,
        })
    });
    let options = Signal::derive(move || {
        let vis = vis.get();
        DrawOptions {
            legend: vis.as_ref().map(|v| v.options.legend).unwrap_or_default(),
            colors: vis.map(|v| v.options.colors).unwrap_or_default(),
            synced: synced.get(),
            ..DrawOptions::default()
        }
    });
    let style = move || {
        panel
            .get()
            .map(|p| {
                format!(
                    "grid-column:{} / span {};grid-row:{} / span {}",
                    p.grid.x + 1,
                    p.grid.w,
                    p.grid.y + 1,
                    p.grid.h
                )
            })
            .unwrap_or_default()
    };
    // Moving and resizing: by dragging (pointer) or by the buttons (keyboard).
    let nudge = move |dx: i32, dy: i32, dw: i32, dh: i32| {
        dashboard.update(|d| {
            if let Some(index) = d.panels.iter().position(|p| p.id == id.get_value()) {
                let g = d.panels[index].grid;
                let target = GridPos {
                    x: (g.x as i32 + dx).max(0) as u32,
                    y: if dy == 0 {
                        g.y
                    } else {
                        layout::step_row(&d.panels, index, dy > 0)
                    },
                    w: (g.w as i32 + dw).max(2) as u32,
                    h: (g.h as i32 + dh).max(2) as u32,
                };
                layout::place(&mut d.panels, index, target);
            }
        })
    };
    let drag = RwSignal::new(None::<(f64, f64, GridPos, bool)>);
    let on_pointer_down = move |resize: bool| {
        move |ev: leptos::ev::PointerEvent| {
            if !editing.get_untracked() || crate::browser::on_control(&ev) {
                return;
            }
            if let Some(p) = panel.get_untracked() {
                drag.set(Some((
                    ev.client_x() as f64,
                    ev.client_y() as f64,
                    p.grid,
                    resize,
                )));
                crate::browser::capture_pointer(&ev);
            }
        }
    };
    let on_pointer_move = move |ev: leptos::ev::PointerEvent| {
        let Some((x0, y0, start, resize)) = drag.get_untracked() else {
            return;
        };
        let column_px = grid_column_px();
        let dx = ((ev.client_x() as f64 - x0) / column_px).round() as i32;
        let dy = ((ev.client_y() as f64 - y0) / ROW_PX).round() as i32;
        dashboard.update(|d| {
            if let Some(index) = d.panels.iter().position(|p| p.id == id.get_value()) {
                let target = if resize {
                    GridPos {
                        w: (start.w as i32 + dx).max(2) as u32,
                        h: (start.h as i32 + dy).max(2) as u32,
                        ..start
                    }
                } else {
                    GridPos {
                        x: (start.x as i32 + dx).max(0) as u32,
                        y: (start.y as i32 + dy).max(0) as u32,
                        ..start
                    }
                };
                if d.panels[index].grid != target {
                    layout::place(&mut d.panels, index, target);
                }
            }
        });
    };
    let on_pointer_up = move |_| drag.set(None);
    let remove = move |_| {
        dashboard.update(|d| {
            d.panels.retain(|p| p.id != id.get_value());
            layout::compact(&mut d.panels);
        })
    };
    let duplicate = move |_| {
        dashboard.update(|d| {
            if let Some(p) = d.panels.iter().find(|p| p.id == id.get_value()).cloned() {
                let grid = layout::free_spot(&d.panels, p.grid.w, p.grid.h);
                let new_id = next_panel_id(&d.panels);
                d.panels.push(Panel {
                    id: new_id,
                    grid,
                    ..p
                });
            }
        })
    };
    // Without JavaScript the server draws the panel: the same view (time, query, filters) at
    // about the size the grid gives it.
    // The server's image stands in for the chart on the page it rendered, until the browser
    // draws; a panel the browser builds later draws without one.
    let render_url = move || {
        let now = first_paint_now?;
        let view = search_view.get();
        let panel = panel.get()?;
        let PanelSource::Saved(vis_id) = &panel.source else {
            return None;
        };
        let state = ViewState {
            time: Some(view.time),
            query: view.query,
            filters: view.filters,
            ..ViewState::default()
        };
        let (width, height) = server_image_size(panel.grid);
        let query = state.to_query_string();
        Some(format!(
            "/api/visualizations/{}/render.svg{query}&width={width}&height={height}&now={now}",
            crate::api::encode(vis_id),
        ))
    };
    view! {
        <section class="panel grid-panel" style=style data-panel=move || id.get_value() aria-label=move || title.get()
            on:pointermove=on_pointer_move on:pointerup=on_pointer_up>
            <header class="panel-header" on:pointerdown=on_pointer_down(false) class:draggable=move || editing.get()>
                // A hidden title stays for screen readers, and shows faintly while editing.
                <h2 class:visually-hidden=move || hide_title.get() && !editing.get() class:hidden-title=move || hide_title.get()>{move || title.get()}</h2>
                <div class="panel-actions">
                    <Show when=move || editing.get()>
                        <button class="icon" title="Panel settings: title, hide title, replace" aria-label="Panel settings" aria-expanded=move || settings_open.get().to_string() on:click=move |_| settings_open.update(|o| *o = !*o)>"⚙"</button>
                        <button class="icon" title="Move left" aria-label="Move left" on:click=move |_| nudge(-1, 0, 0, 0)>"←"</button>
                        <button class="icon" title="Move right" aria-label="Move right" on:click=move |_| nudge(1, 0, 0, 0)>"→"</button>
                        <button class="icon" title="Move up" aria-label="Move up" on:click=move |_| nudge(0, -1, 0, 0)>"↑"</button>
                        <button class="icon" title="Move down" aria-label="Move down" on:click=move |_| nudge(0, 1, 0, 0)>"↓"</button>
                        <button class="icon" title="Wider" aria-label="Wider" on:click=move |_| nudge(0, 0, 2, 0)>"⇔"</button>
                        <button class="icon" title="Narrower" aria-label="Narrower" on:click=move |_| nudge(0, 0, -2, 0)>"⇎"</button>
                        <button class="icon" title="Duplicate" aria-label="Duplicate panel" on:click=duplicate>"❐"</button>
                        <button class="icon" title="Remove" aria-label="Remove panel" on:click=remove>"✕"</button>
                    </Show>
                    {move || partial.with(|p| p.get(&id.get_value()).cloned()).map(|note| view! {
                        <span class="icon partial-answer" role="img" tabindex="0" title=note.clone() aria-label=format!("Partial answer: {note}")>"⚠"</span>
                    })}
                    {move || editor_link().map(|href| view! {
                        <a class="icon button" href=href title="Edit the visualization" aria-label="Edit visualization">"✎"</a>
                    })}
                    <Show when=has_flows>
                        <button class="icon" title="View the flows behind this panel in Discover" aria-label="View flows" on:click=move |_| view_flows.run((id.get_value(), Vec::new()))>"☰"</button>
                    </Show>
                    <Show when=is_chart>
                        <button class="icon" title="Inspect: the data as a table, and the search" aria-label="Inspect" on:click=move |_| inspect.run(id.get_value())>"ℹ"</button>
                    </Show>
                    <Show when=move || !full_view.get() fallback=move || view! { <span></span> }>
                        <button class="icon" title="Full screen" aria-label="Full screen" on:click=move |_| full_screen.run(Some(id.get_value()))>"⤢"</button>
                    </Show>
                </div>
            </header>
            {move || match (search.get(), markdown.get()) {
                (_, Some(text)) => view! { <crate::components::markdown::MarkdownView text/> }.into_any(),
                (None, None) if controls.with(Option::is_some) => {
                    let controls = controls.get().unwrap_or_default();
                    let filters = Signal::derive(move || search_view.with(|v| v.filters.clone()));
                    view! { <ControlsPanel panel_id=id.get_value() controls data=control_data filters set_control/> }.into_any()
                }
                (None, None) => view! { <ChartPanel data options label=title on_filter=add_filters on_brush=brush on_view_flows=Callback::new(move |filters| view_flows.run((id.get_value(), filters))) links server_image=Signal::derive(render_url)/> }.into_any(),
                (Some(Ok(saved)), None) => view! { <SearchPanel search=saved library view=search_view add_filters/> }.into_any(),
                (Some(Err(search_id)), None) => view! { <div class="chart-status chart-error" role="alert">{format!("The saved search [{search_id}] of this panel was deleted")}</div> }.into_any(),
            }}
            <Show when=move || editing.get() && settings_open.get()>
                <PanelSettings panel_id=id.get_value() dashboard visualizations library message source_title on_close=close_settings/>
            </Show>
            <Show when=move || editing.get()>
                <div class="resize-handle" title="Drag to resize" on:pointerdown=on_pointer_down(true)></div>
            </Show>
        </section>
    }
}

/// Width of one of the 48 grid columns, in CSS pixels.
fn grid_column_px() -> f64 {
    let width = crate::browser::element_width(".grid").unwrap_or(1200.0);
    width / f64::from(crate::model::dashboard::GRID_COLUMNS)
}

/// An id no panel of `panels` has: one more than the highest numeric id.
pub(super) fn next_panel_id(panels: &[Panel]) -> String {
    let highest = panels
        .iter()
        .filter_map(|p| p.id.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    (highest + 1).to_string()
}
