//! A panel's chart: the canvas (or an HTML table), a tooltip that follows the pointer or the
//! keyboard cursor, clicks and Enter that turn a slice or series into filters, and dragging
//! across a time axis to narrow the time range.

use leptos::html::{Canvas, Div};
use leptos::prelude::*;

use super::chart_canvas::ChartCanvas;
use crate::charts::hit::{hit_test, items, Hit};
use crate::charts::{spot_at, ChartLayout, DrawOptions, LegendSpot};
use crate::model::filter::Filter;
use crate::result::ChartData;

#[component]
pub fn ChartPanel(
    #[prop(into)] data: Signal<Option<Result<ChartData, String>>>,
    #[prop(into)] options: Signal<DrawOptions>,
    #[prop(into)] label: Signal<String>,
    /// Called with the filters of a clicked slice or series.
    #[prop(optional)]
    on_filter: Option<Callback<Vec<Filter>>>,
    /// Called with a time range dragged across a time axis.
    #[prop(optional)]
    on_brush: Option<Callback<(i64, i64)>>,
    /// Called with the filters of a data table's row, to show that row's flows.
    #[prop(optional)]
    on_view_flows: Option<Callback<Vec<Filter>>>,
    /// The drilldown links (name, address) for a click on the term a filter selects; with
    /// some, a click opens a menu of "Filter for value" and the links instead of filtering.
    #[prop(optional)]
    links: Option<Callback<Filter, Vec<(String, String)>>>,
    /// The address of the server's drawing of this chart, shown until the browser draws its
    /// own: the page is useful before it hydrates, and without JavaScript.
    #[prop(optional, into)]
    server_image: Option<Signal<Option<String>>>,
) -> impl IntoView {
    // On the server, the image's drawing starts as the page is rendered (see
    // `crate::panels::Prerender`); the browser asks for it once it reads the page.
    let prerender = use_context::<crate::panels::Prerender>();
    let layout = RwSignal::new(None::<ChartLayout>);
    let node = NodeRef::<Canvas>::new();
    let frame = NodeRef::<Div>::new();
    let tooltip = RwSignal::new(None::<(Hit, f64, f64)>);
    let cursor = RwSignal::new(None::<usize>);
    let brush = RwSignal::new(None::<(f64, f64)>);
    let drag_start = StoredValue::new(None::<f64>);
    let utc_offset = move || options.with(|o| o.utc_offset_secs);
    // Layouts are in canvas pixels: CSS pixels times the ratio the canvas was last drawn at.
    let scale = move || {
        crate::browser::canvas::drawn_scale(node).unwrap_or_else(|| options.with(|o| o.scale))
    };

    // A clicked legend entry, or chart piece with drilldowns: its filters and links beside it.
    let menu = RwSignal::new(None::<ClickMenu>);
    let links_for = move |filters: &[Filter]| -> Vec<(String, String)> {
        match (links, filters.last()) {
            (Some(links), Some(filter)) => links.run(filter.clone()),
            _ => Vec::new(),
        }
    };
    let over_legend = RwSignal::new(false);
    // New data (a refresh, a filter) makes a shown tooltip stale.
    Effect::new(move |_| {
        data.track();
        tooltip.set(None);
        cursor.set(None);
        menu.set(None);
    });
    let legend_at = move |x_css: f64, y_css: f64| -> Option<LegendSpot> {
        on_filter?;
        let s = scale();
        layout.with(|l| match l {
            Some(
                ChartLayout::Xy { legend, .. }
                | ChartLayout::Pie { legend, .. }
                | ChartLayout::Sankey { legend, .. },
            ) => spot_at(legend, x_css * s, y_css * s).cloned(),
            _ => None,
        })
    };
    let hit_at = move |x_css: f64, y_css: f64| -> Option<Hit> {
        let s = scale();
        data.with(|d| match (d, layout.get()) {
            (Some(Ok(chart)), Some(layout)) => {
                hit_test(chart, &layout, x_css * s, y_css * s, utc_offset())
            }
            _ => None,
        })
    };
    // A click (or Enter) on a piece: filter by it at once, or, when it has drilldowns, offer
    // the filter and the links.
    let filter_or_offer = move |hit: Hit, at: (f64, f64), on_filter: Callback<Vec<Filter>>| {
        if hit.filters.is_empty() {
            return;
        }
        let links = links_for(&hit.filters);
        if links.is_empty() {
            on_filter.run(hit.filters);
            return;
        }
        tooltip.set(None);
        menu.set(Some(ClickMenu {
            title: hit.title,
            filters: hit.filters,
            links,
            at,
        }));
        crate::browser::focus_in(frame, ".click-menu button");
    };
    let on_move = move |ev: leptos::ev::MouseEvent| {
        let (x, y) = (ev.offset_x() as f64, ev.offset_y() as f64);
        if let Some(start) = drag_start.get_value() {
            if (x - start).abs() > 4.0 {
                brush.set(Some((start.min(x), start.max(x))));
            }
        }
        tooltip.set(hit_at(x, y).map(|hit| (hit, x, y)));
        over_legend.set(legend_at(x, y).is_some());
    };
    let on_down = move |ev: leptos::ev::MouseEvent| {
        // Brushing zooms along a time axis drawn across (not down the side of horizontal bars).
        let brushable = |xy: &crate::result::XyData| {
            matches!(xy.x, crate::result::XAxis::Time { .. })
                && xy.style != crate::result::XyStyle::HorizontalBar
        };
        if on_brush.is_some()
            && data.with(|d| matches!(d, Some(Ok(ChartData::Xy(xy))) if brushable(xy)))
        {
            drag_start.set_value(Some(ev.offset_x() as f64));
        }
    };
    let on_up = move |ev: leptos::ev::MouseEvent| {
        let dragged = brush.get_untracked();
        drag_start.set_value(None);
        brush.set(None);
        if let (Some((x0, x1)), Some(callback), Some((plot, x_range))) = (
            dragged,
            on_brush,
            layout.get_untracked().and_then(|l| l.across()),
        ) {
            let s = scale();
            let to_time = |x_css: f64| {
                let px = x_css * s;
                x_range.0
                    + (px - plot.0 as f64) / (plot.2 - plot.0).max(1) as f64
                        * (x_range.1 - x_range.0)
            };
            let (from, to) = (to_time(x0).max(x_range.0), to_time(x1).min(x_range.1));
            if to > from {
                callback.run((from as i64, to as i64));
            }
            return;
        }
        let (x, y) = (ev.offset_x() as f64, ev.offset_y() as f64);
        if let Some(spot) = legend_at(x, y) {
            tooltip.set(None);
            let links = links_for(&spot.filters);
            menu.set(Some(ClickMenu {
                title: spot.label,
                filters: spot.filters,
                links,
                at: (x, y),
            }));
            crate::browser::focus_in(frame, ".click-menu button");
            return;
        }
        menu.set(None);
        if let (Some(hit), Some(callback)) = (hit_at(x, y), on_filter) {
            filter_or_offer(hit, (x, y), callback);
        }
    };
    // Keyboard: arrows move through slices or time buckets, Enter filters by the one shown.
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let all = data.with(|d| match d {
            Some(Ok(chart)) => items(chart, utc_offset()),
            _ => Vec::new(),
        });
        if all.is_empty() {
            return;
        }
        let current = cursor.get_untracked();
        let next = match ev.key().as_str() {
            "ArrowRight" | "ArrowDown" => Some(current.map_or(0, |c| (c + 1) % all.len())),
            "ArrowLeft" | "ArrowUp" => {
                Some(current.map_or(all.len() - 1, |c| (c + all.len() - 1) % all.len()))
            }
            "Enter" | " " => {
                if let (Some(c), Some(callback)) = (current, on_filter) {
                    filter_or_offer(all[c].clone(), (8.0, 8.0), callback);
                }
                ev.prevent_default();
                return;
            }
            "Escape" => {
                // Handled (the cursor put away) only when there was one: otherwise Escape
                // goes on to the page (leaving full screen).
                if cursor.get_untracked().is_some() || tooltip.with_untracked(Option::is_some) {
                    ev.prevent_default();
                }
                cursor.set(None);
                tooltip.set(None);
                return;
            }
            _ => return,
        };
        ev.prevent_default();
        cursor.set(next);
        if let Some(index) = next {
            tooltip.set(Some((all[index].clone(), 8.0, 8.0)));
        }
    };

    // A press anywhere outside an open click menu closes it, whether or not the menu has
    // taken the focus yet (focus leaving it closes it too, below).
    let press = window_event_listener(leptos::ev::pointerdown, move |ev| {
        if menu.with_untracked(Option::is_some)
            && !crate::browser::pressed_within(&ev, ".click-menu")
        {
            menu.set(None);
        }
    });
    on_cleanup(move || press.remove());
    let is_table = move || data.with(|d| matches!(d, Some(Ok(ChartData::Table(_)))));
    view! {
        <div class="chart-frame" node_ref=frame on:mouseleave=move |_| { tooltip.set(None); drag_start.set_value(None); brush.set(None); }>
            <Show when=is_table fallback=move || view! {
                <div class="chart-surface" class:over-legend=move || over_legend.get()
                    on:mousemove=on_move
                    on:mousedown=on_down
                    on:mouseup=on_up
                    on:keydown=on_key
                    on:blur=move |_| cursor.set(None)
                >
                    <ChartCanvas data options layout node label/>
                    {move || brush.get().map(|(x0, x1)| view! {
                        <div class="brush" style=format!("left:{x0}px;width:{}px", x1 - x0)></div>
                    })}
                </div>
            }>
                <DataTable data on_filter on_view_flows/>
            </Show>
            {move || match data.get() {
                None => Some(match server_image.and_then(|src| src.get()) {
                    Some(src) => {
                        if let Some(prerender) = &prerender {
                            prerender.start(&src);
                        }
                        view! { <img class="server-chart" src=src alt=move || label.get() decoding="async"/> }.into_any()
                    }
                    None => view! { <div class="chart-status" aria-live="polite">"Loading…"</div> }.into_any(),
                }),
                Some(Err(error)) => Some(view! { <div class="chart-status chart-error" role="alert">{error}</div> }.into_any()),
                Some(Ok(_)) => None,
            }}
            {move || tooltip.get().map(|(hit, x, y)| view! {
                <div class="tooltip" role="tooltip" style=format!("left:{}px;top:{}px", x + 14.0, y + 14.0)>
                    <div class="tooltip-title">{hit.title.clone()}</div>
                    {hit.rows.iter().map(|(k, v)| view! { <div class="tooltip-row"><span>{k.clone()}</span><b>{v.clone()}</b></div> }).collect_view()}
                    {(!hit.filters.is_empty() && on_filter.is_some()).then(|| {
                        let hint = if links_for(&hit.filters).is_empty() { "Click or Enter to filter" } else { "Click or Enter: filter or follow a link" };
                        view! { <div class="tooltip-hint">{hint}</div> }
                    })}
                </div>
            })}
            {move || menu.get().map(|ClickMenu { title, filters, links, at: (x, y) }| {
                let close = move || menu.set(None);
                let name = format!("Filter by {title}");
                // Escape closes the menu (not the page's full screen) and gives the focus back
                // to the chart; so does choosing an entry. Focus moving elsewhere closes it.
                view! {
                    <div class="click-menu" role="group" aria-label=name style=format!("left:{x}px;top:{y}px")
                        on:keydown=move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Escape" {
                            ev.prevent_default();
                            close();
                            crate::browser::focus_in(frame, "canvas");
                        }
                        on:focusout=move |ev: leptos::ev::FocusEvent| if crate::browser::focus_left(&ev) { close(); }>
                        <div class="click-menu-title">{title.clone()}</div>
                        <LegendFilterButtons label=title.clone() filters on_filter on_done=Callback::new(move |()| { close(); crate::browser::focus_in(frame, "canvas"); })/>
                        {links.into_iter().filter_map(|(name, url)| {
                            let url = crate::markdown::safe_href(&url)?.to_owned();
                            let external = !url.starts_with('/');
                            Some(view! { <a class="drilldown" href=url target=external.then_some("_blank") rel=external.then_some("noopener noreferrer")>{name}" ↗"</a> })
                        }).collect_view()}
                    </div>
                }
            })}
            // The canvas legend again as text, for screen readers and keyboards (it shows when
            // focused; each entry can filter for or against its value), and for tests to read.
            // The list is one tab stop; arrow keys move along its buttons.
            <ul class="visually-hidden chart-legend" aria-label="Legend"
                on:keydown=move |ev: leptos::ev::KeyboardEvent| if crate::browser::arrow_focus(&ev, "button") { ev.prevent_default(); }>
                {move || data.with(|d| match d {
                    Some(Ok(chart)) => options.with(|o| crate::charts::legend_lines(chart, o)),
                    _ => Vec::new(),
                }).into_iter().enumerate().map(|(index, line)| view! {
                    <li data-color=line.color.clone().unwrap_or_default()>{line.label.clone()}
                        {(on_filter.is_some() && !line.filters.is_empty()).then(|| view! {
                            <LegendFilterButtons label=line.label filters=line.filters on_filter on_done=Callback::new(|()| {}) roving=index == 0/>
                        })}
                    </li>
                }).collect_view()}
            </ul>
        </div>
    }
}

/// A click's menu: what was clicked, its filters, its drilldown links, and where (CSS pixels
/// in the chart).
#[derive(Clone)]
struct ClickMenu {
    title: String,
    filters: Vec<Filter>,
    links: Vec<(String, String)>,
    at: (f64, f64),
}

/// "Filter for" and "Filter out" a legend entry's value. With `roving` (in the text legend),
/// the buttons show `+` and `−` (drawn by CSS, so the legend's text stays its labels), name
/// the value, and only the first entry's "+" is a tab stop (`roving` true there); arrow keys
/// reach the rest.
#[component]
fn LegendFilterButtons(
    label: String,
    filters: Vec<Filter>,
    on_filter: Option<Callback<Vec<Filter>>>,
    on_done: Callback<()>,
    #[prop(optional)] roving: Option<bool>,
) -> impl IntoView {
    let glyphs = roving.is_some();
    let (for_tab, out_tab) = match roving {
        None => (0, 0),
        Some(first) => (if first { 0 } else { -1 }, -1),
    };
    let on_filter = on_filter?;
    // Against a value means each of its filters negated; only a single filter negates cleanly.
    let negated: Option<Vec<Filter>> = (filters.len() == 1).then(|| {
        let mut filter = filters[0].clone();
        filter.negate = !filter.negate;
        vec![filter]
    });
    let (for_text, out_text) = if glyphs {
        ("", "")
    } else {
        ("Filter for value", "Filter out value")
    };
    let for_name = format!("Filter for {label}");
    let out_name = format!("Filter out {label}");
    Some(view! {
        <button type="button" class="link legend-filter" tabindex=for_tab data-glyph=glyphs.then_some("+") title=for_name.clone() aria-label=for_name
            on:click=move |_| { on_filter.run(filters.clone()); on_done.run(()); }>{for_text}</button>
        {negated.map(|negated| view! {
            <button type="button" class="link legend-filter" tabindex=out_tab data-glyph=glyphs.then_some("−") title=out_name.clone() aria-label=out_name
                on:click=move |_| { on_filter.run(negated.clone()); on_done.run(()); }>{out_text}</button>
        })}
    })
}

/// A data table chart, as HTML: sortable by column header; a bucket cell filters by its value
/// when clicked, and a row's "View flows" opens its flows in Discover.
#[component]
fn DataTable(
    #[prop(into)] data: Signal<Option<Result<ChartData, String>>>,
    on_filter: Option<Callback<Vec<Filter>>>,
    on_view_flows: Option<Callback<Vec<Filter>>>,
) -> impl IntoView {
    let sort = RwSignal::new(None::<(usize, bool)>);
    let table = move || match data.get() {
        Some(Ok(ChartData::Table(table))) => Some(table),
        _ => None,
    };
    move || {
        table().map(|table| {
            if table.rows.is_empty() {
                return view! { <p class="chart-empty" role="status">"No results in this time range"</p> }.into_any();
            }
            // Rows keep their filters through sorting.
            let mut rows: Vec<TableRow> = (0..table.rows.len())
                .map(|r| TableRow {
                    cells: table.rows[r].clone(),
                    cell_filters: table.cell_filters.get(r).cloned().unwrap_or_default(),
                    filters: table.row_filters(r),
                })
                .collect();
            if let Some((column, descending)) = sort.get() {
                rows.sort_by(|a, b| {
                    let order = compare_cells(a.cells.get(column), b.cells.get(column));
                    if descending { order.reverse() } else { order }
                });
            }
            let columns = table.columns.clone();
            let with_flows = on_view_flows.is_some() && !table.columns.is_empty();
            view! {
                <div class="table-scroll">
                    <table class="data-table">
                        <thead><tr>
                            {columns.into_iter().enumerate().map(|(i, c)| view! {
                                <th><button class="link" on:click=move |_| sort.update(|s| *s = Some((i, s.is_some_and(|(c, d)| c == i && !d))))>{c}</button></th>
                            }).collect_view()}
                            {with_flows.then(|| view! { <th><span class="visually-hidden">"Flows"</span></th> })}
                        </tr></thead>
                        <tbody>
                            {rows.into_iter().map(|TableRow { cells, cell_filters, filters: row_filters }| view! {
                                <tr>
                                    {cells.into_iter().enumerate().map(|(c, cell)| {
                                        let text = table.cell_text(c, &cell);
                                        let filter = cell_filters.get(c).cloned().flatten();
                                        // A field formatted as a link (an address to a whois page) links out beside its filter.
                                        let link = table.cell_link(c, filter.as_ref()).map(|href| view! {
                                            <a class="cell-link" href=href target="_blank" rel="noopener noreferrer" title=format!("Open {text}") aria-label=format!("Open {text}")>"↗"</a>
                                        });
                                        match (filter, on_filter) {
                                            (Some(filter), Some(callback)) => view! {
                                                <td><button class="link cell-filter" title=format!("Filter for {text}") aria-label=format!("Filter for {text}") on:click=move |_| callback.run(vec![filter.clone()])>{text.clone()}</button>{link}</td>
                                            }.into_any(),
                                            _ => view! { <td>{text}{link}</td> }.into_any(),
                                        }
                                    }).collect_view()}
                                    {with_flows.then(|| {
                                        let callback = on_view_flows;
                                        view! {
                                            <td class="row-actions">{row_filters.map(|filters| view! {
                                                <button class="icon" title="View this row's flows in Discover" aria-label="View flows of this row" on:click=move |_| {
                                                    if let Some(callback) = callback { callback.run(filters.clone()) }
                                                }>"☰"</button>
                                            })}</td>
                                        }
                                    })}
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }
            .into_any()
        })
    }
}

/// A data table row as drawn: its cells, each bucket cell's filter, and the row's filters.
struct TableRow {
    cells: Vec<serde_json::Value>,
    cell_filters: Vec<Option<Filter>>,
    filters: Option<Vec<Filter>>,
}

fn compare_cells(
    a: Option<&serde_json::Value>,
    b: Option<&serde_json::Value>,
) -> std::cmp::Ordering {
    // Bucket cells are labels: `8080 (http-alt)` sorts after `443 (https)` by its number.
    let number = |cell: Option<&serde_json::Value>| match cell? {
        serde_json::Value::String(s) => crate::model::names::without_name(s).parse::<f64>().ok(),
        other => other.as_f64(),
    };
    // A total order, which sorting needs: no cell, then numbers, then text. A column may mix
    // numbers and text (a top hit lists several flows' values, or shows one's number).
    let rank = |cell: Option<&serde_json::Value>| match (cell, number(cell)) {
        (None, _) => (0, 0.0, String::new()),
        (Some(_), Some(x)) => (1, x, String::new()),
        (Some(cell), None) => (2, 0.0, crate::discover::cell_text(cell)),
    };
    let ((a_class, a_number, a_text), (b_class, b_number, b_text)) = (rank(a), rank(b));
    a_class
        .cmp(&b_class)
        .then(a_number.total_cmp(&b_number))
        .then(a_text.cmp(&b_text))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::compare_cells;

    #[test]
    fn cells_of_numbers_and_text_sort_in_one_order() {
        // A top hit's column: one flow's number, or several flows' values as text.
        let mut cells = vec![
            Some(json!("1500, 300")),
            Some(json!(10)),
            None,
            Some(json!("443 (https)")),
            Some(json!(9)),
            Some(json!("a")),
        ];
        cells.sort_by(|a, b| compare_cells(a.as_ref(), b.as_ref()));
        assert_eq!(
            cells,
            [
                None,
                Some(json!(9)),
                Some(json!(10)),
                Some(json!("443 (https)")),
                Some(json!("1500, 300")),
                Some(json!("a")),
            ]
        );
    }
}
