//! Dashboards: panels of visualizations on a 48-column grid, one time range, one query and
//! filter bar for all of them.

use serde::{Deserialize, Serialize};

use super::control::{validate_controls, InputControl};
use super::filter::{Filter, QueryText};
use super::time::TimeRange;
use super::visualization::{ModelError, Visualization};

/// The dashboard format's version, stored with each dashboard.
pub const DASHBOARD_VERSION: u32 = 1;

/// Columns of the grid, as in Kibana.
pub const GRID_COLUMNS: u32 = 48;

fn current_version() -> u32 {
    DASHBOARD_VERSION
}

/// A saved dashboard: panels on a grid, and the query, filters and (optionally) time it opens with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dashboard {
    /// The format's version ([`DASHBOARD_VERSION`]).
    #[serde(default = "current_version")]
    pub version: u32,
    /// Its name, as the list and the tab show it.
    pub title: String,
    /// Free text under the title.
    #[serde(default)]
    pub description: String,
    /// The panels and their places.
    #[serde(default)]
    pub panels: Vec<Panel>,
    /// A time range stored with the dashboard, used when it is opened.
    #[serde(default)]
    pub time: Option<TimeRange>,
    /// Auto-refresh interval stored with the dashboard.
    #[serde(default)]
    pub refresh_ms: Option<u64>,
    /// The query it opens with.
    #[serde(default)]
    pub query: QueryText,
    /// The filters it opens with, negated and disabled ones included.
    #[serde(default)]
    pub filters: Vec<Filter>,
    /// Words that group dashboards ("prod", "security"); the list's search finds them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// Most tags a dashboard has.
pub const MAX_TAGS: usize = 20;

/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 40;

/// Reads tags as typed: separated by commas, trimmed, empty ones and repeats dropped.
pub fn parse_tags(text: &str) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for tag in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if !tags.iter().any(|t| t.eq_ignore_ascii_case(tag)) {
            tags.push(tag.to_owned());
        }
    }
    tags
}

/// A panel's place: `x`, `w` in columns (of 48), `y`, `h` in rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridPos {
    /// Column of the left edge (0–47).
    pub x: u32,
    /// Row of the top edge.
    pub y: u32,
    /// Width, in columns.
    pub w: u32,
    /// Height, in rows.
    pub h: u32,
}

impl GridPos {
    /// Whether the two places share a cell.
    pub fn overlaps(&self, other: &GridPos) -> bool {
        self.x < other.x + other.w
            && other.x < self.x + self.w
            && self.y < other.y + other.h
            && other.y < self.y + self.h
    }
}

/// One panel of a dashboard: a visualization or a saved search, placed on the grid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Panel {
    /// Unique within the dashboard.
    pub id: String,
    /// Where it sits.
    pub grid: GridPos,
    /// Replaces the visualization's title on this dashboard.
    #[serde(default)]
    pub title: Option<String>,
    /// The title bar shows no title (Kibana's "Hide panel title"); the panel's actions stay.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hide_title: bool,
    /// What it shows.
    #[serde(flatten)]
    pub source: PanelSource,
}

/// What a panel shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PanelSource {
    /// A saved visualization, by id (exported with the dashboard as a reference).
    #[serde(rename = "visualization_id")]
    Saved(String),
    /// A visualization stored in the dashboard itself.
    #[serde(rename = "visualization")]
    Inline(Box<Visualization>),
    /// A saved search shown as its flow table, by id (exported as a reference).
    #[serde(rename = "search_id")]
    Search(String),
    /// Notes in Markdown (`crate::markdown`), stored in the dashboard.
    #[serde(rename = "markdown")]
    Markdown(String),
    /// Input controls that set the dashboard's filters, stored in the dashboard.
    #[serde(rename = "controls")]
    Controls(Vec<InputControl>),
}

impl Dashboard {
    /// An empty dashboard called `title`.
    pub fn new(title: impl Into<String>) -> Dashboard {
        Dashboard {
            version: DASHBOARD_VERSION,
            title: title.into(),
            description: String::new(),
            panels: Vec::new(),
            time: None,
            refresh_ms: None,
            query: QueryText::default(),
            filters: Vec::new(),
            tags: Vec::new(),
        }
    }

    /// The dashboard saving the view its page shows: the query and filters always, the time
    /// range and refresh only when `time` is given (Kibana's "Store time with dashboard"),
    /// cleared otherwise. Panel titles are kept trimmed.
    pub fn with_view(
        &self,
        query: QueryText,
        filters: Vec<Filter>,
        time: Option<(TimeRange, Option<u64>)>,
    ) -> Dashboard {
        let (time, refresh_ms) = match time {
            Some((range, refresh)) => (Some(range), refresh),
            None => (None, None),
        };
        let mut saved = Dashboard {
            query,
            filters,
            time,
            refresh_ms,
            ..self.clone()
        };
        // Titles are edited as typed, spaces and all; what is kept is trimmed.
        for panel in &mut saved.panels {
            panel.title = panel
                .title
                .take()
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty());
        }
        saved
    }

    /// Reads and checks a dashboard; errors name the field at fault.
    pub fn from_json(json: &str) -> Result<Dashboard, ModelError> {
        Dashboard::from_value(super::from_json_with_path(json)?)
    }

    /// Reads and checks a dashboard held as JSON; the visualizations stored in it may be of
    /// an older version.
    pub fn from_value(mut value: serde_json::Value) -> Result<Dashboard, ModelError> {
        if let Some(panels) = value
            .get_mut("panels")
            .and_then(serde_json::Value::as_array_mut)
        {
            for inline in panels.iter_mut().filter_map(|p| p.get_mut("visualization")) {
                Visualization::migrate(inline);
            }
        }
        let dashboard: Dashboard = super::from_value_with_path(value)?;
        dashboard.validate()?;
        Ok(dashboard)
    }

    /// Checks what serde cannot: a title, unique panel ids, panels inside the grid and not
    /// overlapping, valid inline visualizations, notes and input controls of bounded size.
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.title.trim().is_empty() {
            return Err(ModelError::new("title", "must not be empty"));
        }
        if self.tags.len() > MAX_TAGS {
            return Err(ModelError::new(
                "tags",
                format!("at most {MAX_TAGS} tags, not {}", self.tags.len()),
            ));
        }
        for (i, tag) in self.tags.iter().enumerate() {
            if tag.trim().is_empty() || tag.contains(',') {
                return Err(ModelError::new(
                    format!("tags[{i}]"),
                    "must be a word or words without commas",
                ));
            }
            if tag.chars().count() > MAX_TAG_CHARS {
                return Err(ModelError::new(
                    format!("tags[{i}]"),
                    format!("must be at most {MAX_TAG_CHARS} characters"),
                ));
            }
        }
        for (i, panel) in self.panels.iter().enumerate() {
            let path = |f: &str| format!("panels[{i}].{f}");
            let g = panel.grid;
            if g.w == 0 || g.h == 0 {
                return Err(ModelError::new(
                    path("grid"),
                    "width and height must be at least 1",
                ));
            }
            if g.x + g.w > GRID_COLUMNS {
                return Err(ModelError::new(
                    path("grid"),
                    format!("x + w must be at most {GRID_COLUMNS}"),
                ));
            }
            if self.panels[..i].iter().any(|p| p.id == panel.id) {
                return Err(ModelError::new(
                    path("id"),
                    format!("`{}` is used by another panel", panel.id),
                ));
            }
            if let Some(other) = self.panels[..i].iter().find(|p| p.grid.overlaps(&g)) {
                return Err(ModelError::new(
                    path("grid"),
                    format!("overlaps panel `{}`", other.id),
                ));
            }
            if let PanelSource::Markdown(text) = &panel.source {
                let chars = text.chars().count();
                if chars > crate::markdown::MAX_MARKDOWN_CHARS {
                    return Err(ModelError::new(
                        path("markdown"),
                        format!(
                            "is {chars} characters; at most {} fit a panel",
                            crate::markdown::MAX_MARKDOWN_CHARS
                        ),
                    ));
                }
            }
            if let PanelSource::Controls(controls) = &panel.source {
                validate_controls(controls, &path("controls"))?;
            }
            if let PanelSource::Inline(vis) = &panel.source {
                vis.validate().map_err(|e| {
                    ModelError::new(format!("panels[{i}].visualization.{}", e.path), e.reason)
                })?;
            }
        }
        Ok(())
    }
}

/// Grid placement helpers for the editor: where a new panel goes, and moves that never overlap.
pub mod layout {
    use super::{GridPos, Panel, GRID_COLUMNS};

    /// The first free spot for a `w`×`h` panel, scanning rows top to bottom.
    pub fn free_spot(panels: &[Panel], w: u32, h: u32) -> GridPos {
        let w = w.min(GRID_COLUMNS);
        for y in 0.. {
            for x in 0..=(GRID_COLUMNS - w) {
                let candidate = GridPos { x, y, w, h };
                if !panels.iter().any(|p| p.grid.overlaps(&candidate)) {
                    return candidate;
                }
            }
        }
        unreachable!("there is always room below")
    }

    /// Moves or resizes panel `index` to `target` (clamped to the grid), then lays the panels
    /// out as Kibana's grid does: top to bottom, each pushed below what it would overlap and
    /// floated up into any empty rows above it. The moved panel goes first among panels that
    /// start on its row, so moving it to another panel's row puts it there.
    pub fn place(panels: &mut [Panel], index: usize, target: GridPos) {
        let mut target = target;
        target.w = target.w.clamp(1, GRID_COLUMNS);
        target.h = target.h.max(1);
        target.x = target.x.min(GRID_COLUMNS - target.w);
        panels[index].grid = target;
        settle(panels, Some(index));
    }

    /// Lays the panels out with no overlap and no empty rows above any panel (Kibana's vertical
    /// compaction), after a removal for example.
    pub fn compact(panels: &mut [Panel]) {
        settle(panels, None);
    }

    fn settle(panels: &mut [Panel], moved: Option<usize>) {
        let mut order: Vec<usize> = (0..panels.len()).collect();
        order.sort_by_key(|&i| (panels[i].grid.y, Some(i) != moved, panels[i].grid.x));
        for (placed, &i) in order.iter().enumerate() {
            let above = &order[..placed];
            let collides = |grid: &GridPos| {
                above
                    .iter()
                    .filter(|&&j| panels[j].grid.overlaps(grid))
                    .map(|&j| panels[j].grid.y + panels[j].grid.h)
                    .max()
            };
            let mut grid = panels[i].grid;
            while let Some(bottom) = collides(&grid) {
                grid.y = bottom;
            }
            while grid.y > 0 {
                let higher = GridPos {
                    y: grid.y - 1,
                    ..grid
                };
                if collides(&higher).is_some() {
                    break;
                }
                grid = higher;
            }
            panels[i].grid = grid;
        }
    }

    /// Where a panel goes when moved one step up or down with the keyboard: onto the row of the
    /// nearest panel above it (taking its place), or just past the top of the nearest one below
    /// (going under it). Empty rows float away, so a step into them would go nowhere.
    pub fn step_row(panels: &[Panel], index: usize, down: bool) -> u32 {
        let grid = panels[index].grid;
        let beside = |other: &GridPos| grid.x < other.x + other.w && other.x < grid.x + grid.w;
        let others = panels
            .iter()
            .enumerate()
            .filter(|(j, p)| *j != index && beside(&p.grid))
            .map(|(_, p)| p.grid.y);
        if down {
            others
                .filter(|y| *y > grid.y)
                .min()
                .map_or(grid.y, |y| y + 1)
        } else {
            others.filter(|y| *y < grid.y).max().unwrap_or(grid.y)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::layout::{compact, free_spot, place, step_row};
    use super::*;

    #[test]
    fn saving_the_view_keeps_the_time_only_when_asked() {
        let mut dashboard = dashboard(vec![panel("a", 0, 0, 24, 10)]);
        dashboard.time = Some(TimeRange::last("7d"));
        dashboard.refresh_ms = Some(60_000);
        let query = QueryText {
            text: "dstport:22".into(),
            ..QueryText::default()
        };
        let filters = vec![Filter::phrase("action", serde_json::json!("REJECT"))];
        let stored = dashboard.with_view(
            query.clone(),
            filters.clone(),
            Some((TimeRange::last("1h"), None)),
        );
        assert_eq!(stored.query, query);
        assert_eq!(stored.filters, filters);
        assert_eq!(stored.time, Some(TimeRange::last("1h")));
        assert_eq!(stored.refresh_ms, None);
        assert_eq!(stored.panels, dashboard.panels);
        let without_time = dashboard.with_view(query, filters.clone(), None);
        assert_eq!((without_time.time, without_time.refresh_ms), (None, None));
        assert_eq!(without_time.filters, filters);
    }

    fn panel(id: &str, x: u32, y: u32, w: u32, h: u32) -> Panel {
        Panel {
            id: id.into(),
            grid: GridPos { x, y, w, h },
            title: None,
            hide_title: false,
            source: PanelSource::Saved(format!("vis-{id}")),
        }
    }

    fn dashboard(panels: Vec<Panel>) -> Dashboard {
        Dashboard {
            panels,
            ..Dashboard::new("d")
        }
    }

    #[test]
    fn text_panels_and_tags_round_trip_and_are_bounded() {
        let mut notes = panel("n", 0, 0, 12, 6);
        notes.source = PanelSource::Markdown("## Notes".into());
        notes.hide_title = true;
        let mut board = dashboard(vec![notes]);
        board.tags = parse_tags(" prod, security ,, PROD ");
        assert_eq!(board.tags, ["prod", "security"]);
        let json = serde_json::to_string(&board).unwrap();
        assert!(json.contains(r###""markdown":"## Notes""###), "{json}");
        assert_eq!(Dashboard::from_json(&json).unwrap(), board);
        // A panel without hide_title or a dashboard without tags stores neither.
        let plain = serde_json::to_string(&dashboard(vec![panel("a", 0, 0, 4, 4)])).unwrap();
        assert!(
            !plain.contains("hide_title") && !plain.contains("tags"),
            "{plain}"
        );

        board.panels[0].source =
            PanelSource::Markdown("x".repeat(crate::markdown::MAX_MARKDOWN_CHARS + 1));
        assert_eq!(board.validate().unwrap_err().path, "panels[0].markdown");
        board.panels[0].source = PanelSource::Markdown(String::new());
        board.tags = (0..=MAX_TAGS).map(|i| format!("t{i}")).collect();
        assert_eq!(board.validate().unwrap_err().path, "tags");
        board.tags = vec!["a,b".into()];
        assert_eq!(board.validate().unwrap_err().path, "tags[0]");
    }

    #[test]
    fn grids_are_validated() {
        assert!(
            dashboard(vec![panel("a", 0, 0, 24, 10), panel("b", 24, 0, 24, 10)])
                .validate()
                .is_ok()
        );
        let error = dashboard(vec![panel("a", 0, 0, 24, 10), panel("b", 20, 5, 24, 10)])
            .validate()
            .unwrap_err();
        assert_eq!(error.path, "panels[1].grid");
        assert!(error.reason.contains("overlaps"));
        assert_eq!(
            dashboard(vec![panel("a", 40, 0, 24, 10)])
                .validate()
                .unwrap_err()
                .path,
            "panels[0].grid"
        );
        let json = serde_json::to_string(&dashboard(vec![panel("a", 0, 0, 24, 10)])).unwrap();
        assert!(json.contains("\"visualization_id\":\"vis-a\""), "{json}");
        assert_eq!(
            Dashboard::from_json(&json).unwrap().panels[0].source,
            PanelSource::Saved("vis-a".into())
        );
    }

    #[test]
    fn panels_float_up_into_empty_rows() {
        // b sits below an empty band; c is under a, beside the band.
        let mut panels = vec![
            panel("a", 0, 0, 24, 10),
            panel("b", 24, 12, 24, 6),
            panel("c", 0, 10, 24, 8),
        ];
        compact(&mut panels);
        let at = |panels: &[Panel], id: &str| {
            let grid = panels.iter().find(|p| p.id == id).unwrap().grid;
            (grid.x, grid.y)
        };
        assert_eq!(at(&panels, "a"), (0, 0));
        assert_eq!(at(&panels, "b"), (24, 0));
        assert_eq!(at(&panels, "c"), (0, 10));
        // Moving a far down leaves no hole at the top: c, then a, float up.
        place(
            &mut panels,
            0,
            GridPos {
                x: 0,
                y: 30,
                w: 24,
                h: 10,
            },
        );
        assert_eq!(at(&panels, "c"), (0, 0));
        assert_eq!(at(&panels, "a"), (0, 8));
        // A step up takes the place of the panel above; a step down goes under the one below.
        let a = panels.iter().position(|p| p.id == "a").unwrap();
        let up = step_row(&panels, a, false);
        assert_eq!(up, 0);
        let target = GridPos {
            y: up,
            ..panels[a].grid
        };
        place(&mut panels, a, target);
        assert_eq!((at(&panels, "a"), at(&panels, "c")), ((0, 0), (0, 10)));
        let down = step_row(&panels, a, true);
        let target = GridPos {
            y: down,
            ..panels[a].grid
        };
        place(&mut panels, a, target);
        assert_eq!((at(&panels, "c"), at(&panels, "a")), ((0, 0), (0, 8)));
        // Nothing below: a step down stays.
        assert_eq!(step_row(&panels, a, true), 8);
        assert_eq!(at(&panels, "b"), (24, 0));
    }

    #[test]
    fn placement_never_overlaps() {
        let mut panels = vec![
            panel("a", 0, 0, 24, 10),
            panel("b", 24, 0, 24, 10),
            panel("c", 0, 10, 48, 8),
        ];
        assert_eq!(
            free_spot(&panels, 24, 10),
            GridPos {
                x: 0,
                y: 18,
                w: 24,
                h: 10
            }
        );
        // Widen a over b: b is pushed below.
        place(
            &mut panels,
            0,
            GridPos {
                x: 0,
                y: 0,
                w: 40,
                h: 10,
            },
        );
        for i in 0..panels.len() {
            for j in 0..i {
                assert!(
                    !panels[i].grid.overlaps(&panels[j].grid),
                    "{:?} {:?}",
                    panels[i],
                    panels[j]
                );
            }
        }
        assert_eq!(panels[0].grid.w, 40);
        // Off the right edge is clamped.
        place(
            &mut panels,
            1,
            GridPos {
                x: 45,
                y: 0,
                w: 10,
                h: 5,
            },
        );
        assert_eq!(panels[1].grid.x + panels[1].grid.w, GRID_COLUMNS);
    }
}
