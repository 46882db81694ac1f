//! Pies and donuts with one ring per split-slices bucket: each outer slice lies inside its
//! parent's angle, labels with percentages where they fit, and a legend grouped by ring.

use std::f64::consts::{FRAC_PI_2, TAU};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::legend::{self, Entry};
use super::{chart_error, draw_message, truncate, ChartError, ChartLayout, DrawOptions};
use crate::result::PieData;

/// Each ring's slice colours: one per label across the rings (port 443 is one colour in every
/// ring), and no ring's colours again in another ([`DrawOptions::colors_for`]).
pub(crate) fn ring_colors(data: &PieData, options: &DrawOptions) -> Vec<Vec<RGBColor>> {
    let colors = options.colors_for(
        data.rings
            .iter()
            .flat_map(|ring| ring.slices.iter().map(|s| s.label.as_str())),
    );
    data.rings
        .iter()
        .map(|ring| ring.slices.iter().map(|s| colors.get(&s.label)).collect())
        .collect()
}

/// The legend lists each ring under its field, each label once.
pub(crate) fn legend_entries(data: &PieData, colors: &[Vec<RGBColor>]) -> Vec<Entry> {
    let mut entries = Vec::new();
    for (ring, ring_colors) in data.rings.iter().zip(colors) {
        if data.rings.len() > 1 {
            entries.push(Entry::heading(ring.label.clone()));
        }
        let mut listed: Vec<&str> = Vec::new();
        for (slice, color) in ring.slices.iter().zip(ring_colors) {
            if !listed.contains(&slice.label.as_str()) {
                listed.push(&slice.label);
                entries.push(Entry {
                    label: slice.label.clone(),
                    color: *color,
                    heading: false,
                    hollow: false,
                    filters: slice.own.clone(),
                });
            }
        }
    }
    entries
}

/// Draws the rings, labels and legend of a pie; answers where the rings went.
pub fn draw_pie<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &PieData,
    options: &DrawOptions,
) -> Result<ChartLayout, ChartError> {
    if data.rings.iter().all(|r| r.slices.is_empty()) {
        draw_message(root, "No results in this time range", options)?;
        return Ok(ChartLayout::Empty);
    }
    let colors = ring_colors(data, options);
    let entries = legend_entries(data, &colors);
    let (area, legend_area) = legend::split(root, &entries, options);
    let (w, h) = area.dim_in_pixel();
    let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
    let outer = (w.min(h) as f64 / 2.0 - options.px(10.0) as f64).max(10.0);
    let hole = if data.donut { outer * 0.36 } else { 0.0 };
    let ring_width = (outer - hole) / data.rings.len() as f64;
    let mut radii = Vec::new();
    for (r, (ring, ring_colors)) in data.rings.iter().zip(&colors).enumerate() {
        let r0 = hole + ring_width * r as f64;
        let r1 = r0 + ring_width - options.px(1.0) as f64;
        radii.push((r0, r1));
        for (slice, color) in ring.slices.iter().zip(ring_colors) {
            if slice.end - slice.start <= 0.0 {
                continue;
            }
            area.draw(&Polygon::new(
                sector(cx, cy, r0, r1, slice.start, slice.end),
                color.filled(),
            ))
            .map_err(chart_error)?;
            if slice.end - slice.start >= 1.0 - 1e-9 {
                continue; // a whole ring has no neighbour to separate from
            }
            // A white edge between neighbouring slices.
            let edge = |f: f64| {
                let angle = f * TAU - FRAC_PI_2;
                vec![
                    (
                        (cx + r0 * angle.cos()) as i32,
                        (cy + r0 * angle.sin()) as i32,
                    ),
                    (
                        (cx + r1 * angle.cos()) as i32,
                        (cy + r1 * angle.sin()) as i32,
                    ),
                ]
            };
            area.draw(&PathElement::new(
                edge(slice.start),
                options
                    .theme
                    .background
                    .stroke_width(options.px(1.0).max(1) as u32),
            ))
            .map_err(chart_error)?;
        }
    }
    if data.show_labels {
        for (ring, &(r0, r1)) in data.rings.iter().zip(&radii) {
            for slice in &ring.slices {
                let fraction = slice.end - slice.start;
                let middle = (r0 + r1) / 2.0;
                let arc = fraction * TAU * middle;
                let text = if data.show_percent {
                    format!("{} {:.0}%", truncate(&slice.label, 12), fraction * 100.0)
                } else {
                    truncate(&slice.label, 14)
                };
                let needed = text.chars().count() as f64 * 6.5 * options.scale;
                if arc < needed.max(options.px(16.0) as f64) || (r1 - r0) < options.px(14.0) as f64
                {
                    continue;
                }
                let angle = (slice.start + fraction / 2.0) * TAU - FRAC_PI_2;
                let (x, y) = (cx + middle * angle.cos(), cy + middle * angle.sin());
                let style = options
                    .font(11.0)
                    .color(&WHITE)
                    .pos(Pos::new(HPos::Center, VPos::Center));
                area.draw_text(&text, &style, (x as i32, y as i32))
                    .map_err(chart_error)?;
            }
        }
    }
    let legend = match legend_area {
        Some(legend_area) => legend::draw(&legend_area, &entries, options)?,
        None => Vec::new(),
    };
    let (x_offset, y_offset) = area.get_base_pixel();
    Ok(ChartLayout::Pie {
        center: (x_offset + cx as i32, y_offset + cy as i32),
        rings: radii,
        legend,
    })
}

/// The outline of a ring sector between fractions `start` and `end` of a turn, clockwise from
/// twelve o'clock.
fn sector(cx: f64, cy: f64, r0: f64, r1: f64, start: f64, end: f64) -> Vec<(i32, i32)> {
    let steps = (((end - start) * 180.0).ceil() as usize).max(2);
    let point = |r: f64, f: f64| {
        let angle = f * TAU - FRAC_PI_2;
        (
            (cx + r * angle.cos()).round() as i32,
            (cy + r * angle.sin()).round() as i32,
        )
    };
    let mut points: Vec<(i32, i32)> = (0..=steps)
        .map(|i| point(r1, start + (end - start) * i as f64 / steps as f64))
        .collect();
    if r0 <= 0.5 {
        points.push((cx.round() as i32, cy.round() as i32));
    } else {
        points.extend(
            (0..=steps)
                .rev()
                .map(|i| point(r0, start + (end - start) * i as f64 / steps as f64)),
        );
    }
    points
}

/// The ring and slice under a point, for tooltips and clicks (`rings` as the layout gives).
pub fn hit(
    data: &PieData,
    center: (i32, i32),
    rings: &[(f64, f64)],
    x: f64,
    y: f64,
) -> Option<(usize, usize)> {
    let (dx, dy) = (x - center.0 as f64, y - center.1 as f64);
    let radius = (dx * dx + dy * dy).sqrt();
    let ring = rings
        .iter()
        .position(|&(r0, r1)| radius >= r0 && radius <= r1 + 1.0)?;
    let fraction = ((dy.atan2(dx) + FRAC_PI_2).rem_euclid(TAU)) / TAU;
    let slice = data
        .rings
        .get(ring)?
        .slices
        .iter()
        .position(|s| fraction >= s.start && fraction < s.end)?;
    Some((ring, slice))
}
