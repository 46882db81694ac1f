//! Sankey diagrams: a column of nodes per bucket level, each node as tall as the flows through
//! it, and links as wide as the flows between two nodes, curving from one column to the next.
//! Links are coloured by the node they leave, nodes by their label (port 443 has one colour in
//! every column), and each column's nodes are listed in the legend under its field.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::legend::{self, Entry};
use super::{chart_error, draw_message, truncate, ChartError, ChartLayout, DrawOptions, PlotRect};
use crate::result::{SankeyData, SankeyLink};

/// Node width and the room around the diagram, in CSS pixels.
const NODE_WIDTH: f64 = 10.0;
const MARGIN: f64 = 8.0;
/// The most room between two nodes of a column, in CSS pixels.
const NODE_GAP: f64 = 10.0;
/// How much of a link's source colour shows: links overlap, and nodes must stand out.
const LINK_OPACITY: f64 = 0.4;

/// Where a link runs, in backend pixels: its top edge leaves its source's right side at
/// `(x0, y0)` and enters its target's left side at `(x1, y1)`, `width` tall all along.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkPath {
    /// Where it leaves: its source's right side.
    pub x0: f64,
    /// Its top there.
    pub y0: f64,
    /// Where it enters: its target's left side.
    pub x1: f64,
    /// Its top there.
    pub y1: f64,
    /// How tall it is: its value, at the diagram's scale.
    pub width: f64,
}

/// A node's rectangle before it is drawn, `(left, top, right, bottom)` in fractional pixels.
pub type NodeRect = (f64, f64, f64, f64);

impl LinkPath {
    /// The top edge's height at `x`: an S curve, flat where it leaves and where it enters.
    fn top_at(&self, x: f64) -> f64 {
        let u = ((x - self.x0) / (self.x1 - self.x0).max(1.0)).clamp(0.0, 1.0);
        self.y0 + (self.y1 - self.y0) * u * u * (3.0 - 2.0 * u)
    }

    /// Whether `(x, y)` is on the link; a hair-thin link is given a couple of pixels.
    pub fn contains(&self, x: f64, y: f64) -> bool {
        if x < self.x0 || x > self.x1 {
            return false;
        }
        let top = self.top_at(x);
        let slack = ((2.0 - self.width) / 2.0).max(0.0);
        y >= top - slack && y <= top + self.width + slack
    }

    /// The outline: along the top edge, then back along the bottom.
    fn outline(&self) -> Vec<(i32, i32)> {
        const STEPS: usize = 24;
        let xs: Vec<f64> = (0..=STEPS)
            .map(|i| self.x0 + (self.x1 - self.x0) * i as f64 / STEPS as f64)
            .collect();
        let mut points: Vec<(i32, i32)> = xs
            .iter()
            .map(|&x| (x.round() as i32, self.top_at(x).round() as i32))
            .collect();
        points.extend(xs.iter().rev().map(|&x| {
            (
                x.round() as i32,
                (self.top_at(x) + self.width.max(1.0)).round() as i32,
            )
        }));
        points
    }

    /// Its middle: a point on it.
    pub fn middle(&self) -> (f64, f64) {
        let x = (self.x0 + self.x1) / 2.0;
        (x, self.top_at(x) + self.width / 2.0)
    }
}

/// Where the nodes and links go in a `width` × `height` area, in its pixels: a rectangle per
/// node and a path per link, in the data's order.
pub fn place(
    data: &SankeyData,
    width: f64,
    height: f64,
    options: &DrawOptions,
) -> (Vec<NodeRect>, Vec<LinkPath>) {
    let margin = options.px(MARGIN) as f64;
    let node_w = options.px(NODE_WIDTH) as f64;
    let columns = data.levels.len().max(2);
    // Never narrower than a node: links run left to right.
    let step = ((width - 2.0 * margin - node_w) / (columns - 1) as f64).max(node_w + 1.0);
    let (top, bottom) = (margin, (height - margin).max(margin + 1.0));
    let room = bottom - top;
    // Each column's gaps shrink where it has many nodes; one scale serves every column, so a
    // flow is as tall in each.
    let counts: Vec<usize> = (0..data.levels.len())
        .map(|level| data.nodes.iter().filter(|n| n.level == level).count())
        .collect();
    let gap_of = |count: usize| {
        let gaps = count.saturating_sub(1) as f64;
        if gaps == 0.0 {
            0.0
        } else {
            (options.px(NODE_GAP) as f64).min(room * 0.3 / gaps)
        }
    };
    let totals = data.level_totals();
    let scale = counts
        .iter()
        .zip(&totals)
        .filter(|(_, &total)| total > 0.0)
        .map(|(&count, &total)| (room - gap_of(count) * count.saturating_sub(1) as f64) / total)
        .fold(f64::INFINITY, f64::min);
    let scale = if scale.is_finite() {
        scale.max(0.0)
    } else {
        0.0
    };
    let mut rects = vec![(0.0, 0.0, 0.0, 0.0); data.nodes.len()];
    for level in 0..data.levels.len() {
        let gap = gap_of(counts[level]);
        let used = totals[level] * scale + gap * counts[level].saturating_sub(1) as f64;
        let mut y = top + (room - used).max(0.0) / 2.0;
        let x = margin + step * level as f64;
        for (index, node) in data.nodes.iter().enumerate() {
            if node.level == level {
                // At least a pixel, to be seen and pointed at.
                let h = (node.value * scale).max(1.0);
                rects[index] = (x, y, x + node_w, y + h);
                y += h + gap;
            }
        }
    }
    // Links leave a node in the order of their targets, and enter in the order of their
    // sources, top down: fewer crossings. Each end is stacked down its node.
    let centre = |node: usize| (rects[node].1 + rects[node].3) / 2.0;
    let stacked = |end: fn(&SankeyLink) -> usize, other_end: fn(&SankeyLink) -> usize| {
        let mut order: Vec<usize> = (0..data.links.len()).collect();
        order.sort_by(|&a, &b| {
            let (a, b) = (&data.links[a], &data.links[b]);
            end(a)
                .cmp(&end(b))
                .then(centre(other_end(a)).total_cmp(&centre(other_end(b))))
        });
        let mut tops = vec![0.0; data.links.len()];
        let mut below = vec![0.0; data.nodes.len()];
        for index in order {
            let node = end(&data.links[index]);
            tops[index] = rects[node].1 + below[node];
            below[node] += data.links[index].value * scale;
        }
        tops
    };
    let leaving = stacked(|link| link.source, |link| link.target);
    let entering = stacked(|link| link.target, |link| link.source);
    let paths: Vec<LinkPath> = data
        .links
        .iter()
        .enumerate()
        .map(|(index, link)| LinkPath {
            x0: rects[link.source].2,
            y0: leaving[index],
            x1: rects[link.target].0,
            y1: entering[index],
            width: link.value * scale,
        })
        .collect();
    (rects, paths)
}

/// Each node's colour, by its label across the columns.
pub(crate) fn node_colors(data: &SankeyData, options: &DrawOptions) -> Vec<RGBColor> {
    let colors = options.colors_for(data.nodes.iter().map(|n| n.label.as_str()));
    data.nodes.iter().map(|n| colors.get(&n.label)).collect()
}

/// The legend lists each column's nodes under its field.
pub(crate) fn legend_entries(data: &SankeyData, colors: &[RGBColor]) -> Vec<Entry> {
    let mut entries = Vec::new();
    for (level, label) in data.levels.iter().enumerate() {
        entries.push(Entry::heading(label.clone()));
        for (node, color) in data.nodes.iter().zip(colors) {
            if node.level == level {
                entries.push(Entry {
                    label: node.label.clone(),
                    color: *color,
                    heading: false,
                    hollow: false,
                    filters: node.filters.clone(),
                });
            }
        }
    }
    entries
}

/// Draws the links, nodes, labels and legend of a Sankey; answers where they went.
pub fn draw_sankey<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &SankeyData,
    options: &DrawOptions,
) -> Result<ChartLayout, ChartError> {
    if !data.is_consistent() {
        return Err(ChartError(
            "a Sankey link joins nodes not in neighbouring columns".into(),
        ));
    }
    if data.links.is_empty() {
        draw_message(root, "No results in this time range", options)?;
        return Ok(ChartLayout::Empty);
    }
    let colors = node_colors(data, options);
    let entries = legend_entries(data, &colors);
    let (area, legend_area) = legend::split(root, &entries, options);
    let (w, h) = area.dim_in_pixel();
    let (rects, paths) = place(data, w as f64, h as f64, options);
    for (link, path) in data.links.iter().zip(&paths) {
        area.draw(&Polygon::new(
            path.outline(),
            colors[link.source].mix(LINK_OPACITY).filled(),
        ))
        .map_err(chart_error)?;
    }
    for (&(x0, y0, x1, y1), color) in rects.iter().zip(&colors) {
        area.draw(&Rectangle::new(
            [(x0 as i32, y0 as i32), (x1 as i32, y1.max(y0 + 1.0) as i32)],
            color.filled(),
        ))
        .map_err(chart_error)?;
    }
    // Labels beside their nodes, inside the diagram: the last column's on its left.
    let last = data.levels.len().saturating_sub(1);
    let columns = data.levels.len().max(2) as f64;
    let char_w = 6.5 * options.scale;
    let max_chars = ((w as f64 / columns - options.px(24.0) as f64) / char_w).max(4.0) as usize;
    let line = options.px(12.0) as f64;
    // A label needs a line's height: one closer to the label above it in its column is left
    // to the tooltip and the legend.
    let mut last_label = vec![f64::NEG_INFINITY; data.levels.len()];
    for (index, node) in data.nodes.iter().enumerate() {
        let (x0, y0, x1, y1) = rects[index];
        let middle = (y0 + y1) / 2.0;
        if middle - last_label[node.level] < line {
            continue;
        }
        last_label[node.level] = middle;
        let (x, anchor) = if node.level == last && last > 0 {
            (x0 - options.px(4.0) as f64, HPos::Right)
        } else {
            (x1 + options.px(4.0) as f64, HPos::Left)
        };
        let style = options.font(11.0).pos(Pos::new(anchor, VPos::Center));
        area.draw_text(
            &truncate(&node.label, max_chars),
            &style,
            (x as i32, middle as i32),
        )
        .map_err(chart_error)?;
    }
    let legend = match legend_area {
        Some(legend_area) => legend::draw(&legend_area, &entries, options)?,
        None => Vec::new(),
    };
    let (dx, dy) = area.get_base_pixel();
    let (dx, dy) = (dx as f64, dy as f64);
    let nodes: Vec<PlotRect> = rects
        .iter()
        .map(|&(x0, y0, x1, y1)| {
            (
                (x0 + dx) as i32,
                (y0 + dy) as i32,
                (x1 + dx) as i32,
                (y1.max(y0 + 1.0) + dy).ceil() as i32,
            )
        })
        .collect();
    let links = paths
        .into_iter()
        .map(|p| LinkPath {
            x0: p.x0 + dx,
            y0: p.y0 + dy,
            x1: p.x1 + dx,
            y1: p.y1 + dy,
            width: p.width,
        })
        .collect();
    Ok(ChartLayout::Sankey {
        nodes,
        links,
        legend,
    })
}

/// What a Sankey has under a point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SankeyItem {
    /// The node of this index.
    Node(usize),
    /// The link of this index.
    Link(usize),
}

/// The node under a point, or else the thinnest link under it (a wide link must not hide
/// a thin one that crosses it).
pub fn hit(nodes: &[PlotRect], links: &[LinkPath], x: f64, y: f64) -> Option<SankeyItem> {
    let node = nodes.iter().position(|&(x0, y0, x1, y1)| {
        x >= x0 as f64 - 1.0 && x <= x1 as f64 + 1.0 && y >= y0 as f64 - 1.0 && y <= y1 as f64 + 1.0
    });
    if let Some(node) = node {
        return Some(SankeyItem::Node(node));
    }
    links
        .iter()
        .enumerate()
        .filter(|(_, link)| link.contains(x, y))
        .min_by(|(_, a), (_, b)| a.width.total_cmp(&b.width))
        .map(|(index, _)| SankeyItem::Link(index))
}
