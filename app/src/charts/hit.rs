//! What is under the pointer (or the keyboard cursor): the tooltip lines and the filters a
//! click adds. Pure functions of chart data and layout, so they are tested without a browser.

use super::sankey::{self, SankeyItem};
use super::{format_time_full, ChartLayout};
use super::{heatmap, pie};
use crate::model::filter::Filter;
use crate::model::measure::ValueAxis;
use crate::result::{ChartData, SankeyData, XAxis, XyData};

/// A pointed-at piece of a chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    /// Tooltip lines: a title, then `label: value` rows.
    pub title: String,
    /// `label: value` rows under the title, one per series or measure.
    pub rows: Vec<(String, String)>,
    /// Filters a click adds to the dashboard.
    pub filters: Vec<Filter>,
    /// For time axes: the bucket's `[from, to)`, a click can narrow the time range to it.
    pub time: Option<(i64, i64)>,
}

/// The hit at backend pixel `(x, y)`.
pub fn hit_test(
    data: &ChartData,
    layout: &ChartLayout,
    x: f64,
    y: f64,
    utc_offset_secs: i32,
) -> Option<Hit> {
    match (data, layout) {
        (ChartData::Pie(pie_data), ChartLayout::Pie { center, rings, .. }) => {
            let (ring, slice) = pie::hit(pie_data, *center, rings, x, y)?;
            Some(pie_item(pie_data, ring, slice))
        }
        (
            ChartData::Xy(xy),
            ChartLayout::Xy {
                plot,
                x_range,
                y_range,
                y2_range,
                horizontal,
                ..
            },
        ) => {
            let (left, top, right, bottom) = *plot;
            if x < left as f64 || x > right as f64 || y < top as f64 || y > bottom as f64 {
                return None;
            }
            // How far across and how far up the plot the pointer is, from 0 to 1.
            let across = (x - left as f64) / (right - left).max(1) as f64;
            let up = (bottom as f64 - y) / (bottom - top).max(1) as f64;
            // Horizontal bars run their buckets down from the top and their values across.
            let (bucket_share, value_share) = if *horizontal {
                (1.0 - up, across)
            } else {
                (across, up)
            };
            let data_x = x_range.0 + bucket_share * (x_range.1 - x_range.0);
            let bucket = nearest_x(xy, data_x)?;
            let pointer = Pointer {
                height: value_share,
                left: *y_range,
                right: *y2_range,
            };
            Some(xy_item(xy, bucket, Some(pointer), utc_offset_secs))
        }
        (
            ChartData::Xy(xy),
            ChartLayout::Heatmap {
                plot,
                x_range,
                rows,
            },
        ) => {
            let (left, top, right, bottom) = *plot;
            if x < left as f64 || x >= right as f64 || y < top as f64 || y >= bottom as f64 {
                return None;
            }
            let across = (x - left as f64) / (right - left).max(1) as f64;
            let data_x = x_range.0 + across * (x_range.1 - x_range.0);
            let row = ((y - top as f64) / (bottom - top).max(1) as f64 * *rows as f64) as usize;
            heatmap_cell(xy, row, data_x, utc_offset_secs)
        }
        (ChartData::Sankey(data), ChartLayout::Sankey { nodes, links, .. }) => {
            sankey_item(data, sankey::hit(nodes, links, x, y)?)
        }
        _ => None,
    }
}

/// The heatmap cell of row `row` (a series) that holds x `data_x`, if it has a value.
fn heatmap_cell(xy: &XyData, row: usize, data_x: f64, utc_offset_secs: i32) -> Option<Hit> {
    let series = xy.series.get(row)?;
    // Inside a cell only: between buckets, and past the last one's end, there is none.
    let &(x, value) = series.points.iter().find(|p| {
        let (start, end) = heatmap::cell_span(xy, p.0);
        start <= data_x && data_x < end
    })?;
    let (title, time) = bucket_title(xy, x, utc_offset_secs);
    let filters = series_and_category(series.filters.as_deref(), category_filters(xy, x));
    Some(Hit {
        title,
        rows: vec![(series.label.clone(), series.format.exact(value))],
        filters,
        time,
    })
}

/// Every item in keyboard order: slices ring by ring, x buckets left to right, or a Sankey's
/// nodes column by column, then its links.
pub fn items(data: &ChartData, utc_offset_secs: i32) -> Vec<Hit> {
    match data {
        ChartData::Pie(pie_data) => pie_data
            .rings
            .iter()
            .enumerate()
            .flat_map(|(r, ring)| (0..ring.slices.len()).map(move |s| (r, s)))
            .map(|(r, s)| pie_item(pie_data, r, s))
            .collect(),
        ChartData::Xy(xy) => xy
            .x_values()
            .into_iter()
            .map(|x| xy_item(xy, x, None, utc_offset_secs))
            .collect(),
        ChartData::Sankey(data) => (0..data.nodes.len())
            .map(SankeyItem::Node)
            .chain((0..data.links.len()).map(SankeyItem::Link))
            .filter_map(|item| sankey_item(data, item))
            .collect(),
        _ => Vec::new(),
    }
}

/// A node with its share of its column, or a link with its share of the node it leaves;
/// `None` for an item the data does not have (a layout drawn for other data).
fn sankey_item(data: &SankeyData, item: SankeyItem) -> Option<Hit> {
    let share =
        |part: f64, whole: f64| format!("{:.1}%", 100.0 * part / whole.max(f64::MIN_POSITIVE));
    match item {
        SankeyItem::Node(index) => {
            let node = data.nodes.get(index)?;
            let column = *data.level_totals().get(node.level)?;
            Some(Hit {
                title: node.label.clone(),
                rows: vec![
                    (
                        data.metric_label.clone(),
                        data.value_format.exact(node.value),
                    ),
                    (
                        format!("Share of {}", data.levels[node.level]),
                        share(node.value, column),
                    ),
                ],
                filters: node.filters.clone(),
                time: None,
            })
        }
        SankeyItem::Link(index) => {
            let link = data.links.get(index)?;
            let (from, to) = (data.nodes.get(link.source)?, data.nodes.get(link.target)?);
            Some(Hit {
                title: format!("{} → {}", from.label, to.label),
                rows: vec![
                    (
                        data.metric_label.clone(),
                        data.value_format.exact(link.value),
                    ),
                    (
                        format!("Share of {}", from.label),
                        share(link.value, from.value),
                    ),
                ],
                filters: link.filters.clone(),
                time: None,
            })
        }
    }
}

fn pie_item(data: &crate::result::PieData, ring: usize, slice: usize) -> Hit {
    let s = &data.rings[ring].slices[slice];
    // The path from the centre out: ACCEPT › 443.
    let mut path = vec![s.label.clone()];
    let mut parent = s.parent;
    for r in (0..ring).rev() {
        let Some(p) = parent else { break };
        let ps = &data.rings[r].slices[p];
        path.insert(0, ps.label.clone());
        parent = ps.parent;
    }
    Hit {
        title: path.join(" › "),
        rows: vec![
            (data.metric_label.clone(), data.value_format.exact(s.value)),
            ("Share".into(), format!("{:.1}%", (s.end - s.start) * 100.0)),
        ],
        filters: s.filters.clone(),
        time: None,
    }
}

fn nearest_x(xy: &XyData, target: f64) -> Option<f64> {
    xy.series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .min_by(|a, b| (a - target).abs().total_cmp(&(b - target).abs()))
}

/// The bucket at `x` as a tooltip title, and its time span on a time axis.
fn bucket_title(xy: &XyData, x: f64, utc_offset_secs: i32) -> (String, Option<(i64, i64)>) {
    let offset = if xy.utc { 0 } else { utc_offset_secs };
    match &xy.x {
        XAxis::Time { interval_ms, .. } => (
            format_time_full(x as i64, offset),
            Some((x as i64, x as i64 + interval_ms)),
        ),
        XAxis::Numeric { interval } => (
            format!(
                "{} – {}",
                xy.x_format.compact(x),
                xy.x_format.compact(x + interval)
            ),
            None,
        ),
        XAxis::Categories { labels } => (labels.get(x as usize).cloned().unwrap_or_default(), None),
    }
}

/// The filters selecting the category at `x`, on a category axis (an empty list on other
/// axes);
/// `None` when no pills can.
fn category_filters(xy: &XyData, x: f64) -> Option<Vec<Filter>> {
    match xy.x {
        XAxis::Categories { .. } => xy.category_filters.get(x as usize).cloned().flatten(),
        _ => Some(Vec::new()),
    }
}

/// A click's filters: the series' and the category's, or none when either has no pills
/// (one alone would select more than the point clicked).
fn series_and_category(series: Option<&[Filter]>, category: Option<Vec<Filter>>) -> Vec<Filter> {
    match (series, category) {
        (Some(series), Some(category)) => [series.to_vec(), category].concat(),
        _ => Vec::new(),
    }
}

/// Where the pointer is up the value axes.
struct Pointer {
    /// How far up the plot, from 0 at the bottom to 1 at the top.
    height: f64,
    /// The left axis's values at the bottom and top.
    left: (f64, f64),
    /// The right axis's, if there is one.
    right: Option<(f64, f64)>,
}

impl Pointer {
    /// How far up the plot `y` of a series read on `axis` is drawn, from 0 to 1.
    fn height_of(&self, y: f64, axis: ValueAxis) -> f64 {
        let (bottom, top) = match axis {
            ValueAxis::Right => self.right.unwrap_or(self.left),
            ValueAxis::Left => self.left,
        };
        (y - bottom) / (top - bottom).abs().max(f64::MIN_POSITIVE)
    }
}

fn xy_item(xy: &XyData, x: f64, pointer: Option<Pointer>, utc_offset_secs: i32) -> Hit {
    let (title, time) = bucket_title(xy, x, utc_offset_secs);
    let mut rows = Vec::new();
    let mut nearest: Option<(f64, &crate::result::Series)> = None;
    for series in &xy.series {
        if let Some(&(_, y)) = series.points.iter().find(|p| p.0 == x) {
            rows.push((series.label.clone(), series.format.exact(y)));
            // Nearest as drawn: series on two axes compare by height, not by value.
            let distance = pointer
                .as_ref()
                .map_or(0.0, |p| (p.height - p.height_of(y, series.axis)).abs());
            if nearest.is_none_or(|(d, _)| distance < d) {
                nearest = Some((distance, series));
            }
        }
    }
    // A click filters by the series nearest the pointer; on a category axis, by the category.
    let series = nearest.map_or(Some(&[][..]), |(_, s)| s.filters.as_deref());
    let filters = series_and_category(series, category_filters(xy, x));
    Hit {
        title,
        rows,
        filters,
        time,
    }
}
