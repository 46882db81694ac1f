//! A Sankey diagram's nodes and links, read from nested buckets: each bucket level is a
//! column of nodes, and each bucket inside another is a link between their two nodes. Links
//! between the same two nodes under different outer buckets add up (network a → port 22 under
//! every source network is one link).
//!
//! What the buckets leave out flows on as "Other": the part of the search, or of a bucket,
//! that the level inside did not show (a terms size, flows without the field) links to that
//! level's "Other", which links on to the next level's. So each column holds every flow, and
//! every node between the first column and the last lets out what it takes in. (Buckets that
//! overlap, such as filters or ranges, hold a flow in two of them twice.) Nodes too small to
//! see or point at join their column's "Other" too.
//!
//! A node filters by its own bucket, a link by both of its ends: all the flows of those keys,
//! of which a level's top terms under each outer bucket can draw only part.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{bucket_filters, bucket_key, buckets_of, formatted_label, measure_value, Reading};
use crate::model::field_format::ValueFormat;
use crate::model::filter::Filter;
use crate::query::{bucket_name, ordered_buckets};

/// At most this many nodes in a column, "Other" included: the smallest beyond them join it.
pub const MAX_NODES_PER_LEVEL: usize = 12;

/// A node under this share of its column joins "Other": too thin to see or point at.
const MIN_SHARE: f64 = 0.005;

/// Columns of nodes joined by links.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SankeyData {
    /// What each column splits by (`dstport`), left to right.
    pub levels: Vec<String>,
    /// The nodes, column by column, each column's largest first and its "Other" last.
    pub nodes: Vec<SankeyNode>,
    /// The links, by source node, then target node.
    pub links: Vec<SankeyLink>,
    /// What the links measure (`Count`).
    pub metric_label: String,
    /// How their values read (`36.8 GB`).
    #[serde(default)]
    pub value_format: ValueFormat,
}

/// One node: a bucket key in one column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SankeyNode {
    /// Its column.
    pub level: usize,
    /// The bucket's key, as shown.
    pub label: String,
    /// What flows through it: the larger of what comes in and what goes out.
    pub value: f64,
    /// What selects its flows wherever they come from (a click adds them to the dashboard);
    /// empty for "Other" and for buckets no pills can select.
    pub filters: Vec<Filter>,
    /// The column's "Other": what its buckets did not show, and its nodes too small to draw.
    pub other: bool,
}

/// One link: the flows of the source node's bucket that are in the target node's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SankeyLink {
    /// The node it leaves, in the column before the target's.
    pub source: usize,
    /// The node it enters.
    pub target: usize,
    /// The metric over those flows.
    pub value: f64,
    /// Both ends' filters; empty when either end has none.
    pub filters: Vec<Filter>,
}

impl SankeyData {
    /// Whether every node is in a column and every link joins a node to one in the next
    /// column: what the reader makes, and what drawing and pointing rely on (chart data can
    /// also come from elsewhere, deserialized).
    pub fn is_consistent(&self) -> bool {
        self.nodes.iter().all(|n| n.level < self.levels.len())
            && self.links.iter().all(|l| {
                match (self.nodes.get(l.source), self.nodes.get(l.target)) {
                    (Some(from), Some(to)) => to.level == from.level + 1,
                    _ => false,
                }
            })
    }

    /// What flows into and out of each node, by the links.
    pub fn flows(&self) -> Vec<(f64, f64)> {
        node_flows(
            self.nodes.len(),
            self.links.iter().map(|l| (l.source, l.target, l.value)),
        )
    }

    /// The total of each column.
    pub fn level_totals(&self) -> Vec<f64> {
        let mut totals = vec![0.0; self.levels.len()];
        for node in &self.nodes {
            if let Some(total) = totals.get_mut(node.level) {
                *total += node.value;
            }
        }
        totals
    }
}

/// A node while the response is read: its filters are `None` where no pills can say it.
struct Draft {
    level: usize,
    label: String,
    filters: Option<Vec<Filter>>,
    other: bool,
}

/// Nodes by column and key, and the links between them, as the buckets are walked.
#[derive(Default)]
struct Graph {
    nodes: Vec<Draft>,
    /// By column, "Other" or not, and bucket key (as JSON): two keys can read alike
    /// (`1.5 kB`), and each has its own filter.
    by_key: BTreeMap<(usize, bool, String), usize>,
    /// Added up in one order, so that sums come out the same in the browser and the server.
    links: BTreeMap<(usize, usize), f64>,
}

impl Graph {
    fn node(
        &mut self,
        level: usize,
        key: &Value,
        label: String,
        filters: Option<Vec<Filter>>,
    ) -> usize {
        self.intern(level, key.to_string(), label, filters, false)
    }

    fn other(&mut self, level: usize) -> usize {
        self.intern(level, String::new(), "Other".into(), None, true)
    }

    fn intern(
        &mut self,
        level: usize,
        key: String,
        label: String,
        filters: Option<Vec<Filter>>,
        other: bool,
    ) -> usize {
        let next = self.nodes.len();
        let index = *self.by_key.entry((level, other, key)).or_insert(next);
        if index == next {
            self.nodes.push(Draft {
                level,
                label,
                filters,
                other,
            });
        }
        index
    }

    fn link(&mut self, source: usize, target: usize, value: f64) {
        if value > 0.0 {
            *self.links.entry((source, target)).or_insert(0.0) += value;
        }
    }
}

/// Reads a Sankey from nested buckets, outermost level first.
/// `whole` is the metric over every flow searched: what the first column does not show is
/// its "Other".
pub(super) fn sankey(read: &Reading<'_>, aggs: &Value, whole: Option<f64>) -> SankeyData {
    let Reading {
        vis,
        clock,
        formats,
    } = *read;
    let levels = ordered_buckets(vis);
    let measure = vis.metrics.first().cloned().unwrap_or_default();
    let span_ms = clock.elapsed_ms();
    let mut graph = Graph::default();
    // The buckets still to read inside: their container, their node (none for the whole
    // search) and their value.
    let mut frontier: Vec<(&Value, Option<usize>, f64)> =
        vec![(aggs, None, whole.unwrap_or(f64::NAN))];
    // What the column before this one sent to its "Other".
    let mut other_before: Option<(usize, f64)> = None;
    for (level, agg) in levels.iter().enumerate() {
        let mut next = Vec::new();
        let mut other_here = 0.0;
        for (container, parent, parent_value) in frontier {
            let mut shown = 0.0;
            if let Some(level_agg) = container.get(bucket_name(level)) {
                for (name, bucket) in buckets_of(level_agg) {
                    let value = measure_value(0, &measure, bucket, span_ms).unwrap_or(0.0);
                    if !value.is_finite() || value <= 0.0 {
                        continue;
                    }
                    let (label, key) = bucket_key(agg, &name, bucket);
                    let filters = bucket_filters(agg, level_agg, bucket, &key, &label);
                    let label = formatted_label(agg, bucket, &key, label, formats);
                    let node = graph.node(level, &key, label, filters);
                    if let Some(parent) = parent {
                        graph.link(parent, node, value);
                    }
                    shown += value;
                    next.push((bucket, Some(node), value));
                }
            }
            // What this bucket (or the search) holds that its inner level did not show flows
            // on as "Other". Overlapping buckets (filters, ranges) can show more than there
            // is: a flow in two of them is in both nodes.
            let rest = parent_value - shown;
            if rest > parent_value * 1e-9 {
                let other = graph.other(level);
                if let Some(parent) = parent {
                    graph.link(parent, other, rest);
                }
                other_here += rest;
            }
        }
        if let Some((before, value)) = other_before {
            let other = graph.other(level);
            graph.link(before, other, value);
            other_here += value;
        }
        other_before = (other_here > 0.0).then(|| (graph.other(level), other_here));
        frontier = next;
    }
    consolidate(
        graph,
        levels.iter().map(|agg| agg.label()).collect(),
        measure.label(),
        formats.of_measure(&measure),
    )
}

/// What flows into and out of each of `count` nodes, by links `(source, target, value)`.
fn node_flows(count: usize, links: impl Iterator<Item = (usize, usize, f64)>) -> Vec<(f64, f64)> {
    let mut flows = vec![(0.0, 0.0); count];
    for (source, target, value) in links {
        if let Some(into) = flows.get_mut(target) {
            into.0 += value;
        }
        if let Some(out) = flows.get_mut(source) {
            out.1 += value;
        }
    }
    flows
}

/// Orders each column by size, moves the nodes too small to show into its "Other", and adds
/// up the links that then join the same two nodes.
fn consolidate(
    graph: Graph,
    levels: Vec<String>,
    metric_label: String,
    value_format: ValueFormat,
) -> SankeyData {
    let flows = node_flows(
        graph.nodes.len(),
        graph
            .links
            .iter()
            .map(|(&(source, target), &value)| (source, target, value)),
    );
    let size = |index: usize| flows[index].0.max(flows[index].1);
    // Where each drafted node goes: `Some(new index)`, or its column's "Other".
    let mut placed: Vec<Option<usize>> = vec![None; graph.nodes.len()];
    let mut nodes: Vec<SankeyNode> = Vec::new();
    for level in 0..levels.len() {
        let mut column: Vec<usize> = (0..graph.nodes.len())
            .filter(|&i| graph.nodes[i].level == level && !graph.nodes[i].other && size(i) > 0.0)
            .collect();
        column.sort_by(|&a, &b| size(b).total_cmp(&size(a)).then(a.cmp(&b)));
        let total: f64 = (0..graph.nodes.len())
            .filter(|&i| graph.nodes[i].level == level)
            .map(size)
            .sum();
        let has_other = graph
            .nodes
            .iter()
            .enumerate()
            .any(|(i, n)| n.level == level && n.other && size(i) > 0.0);
        // One place is the "Other"'s when there will be one.
        let room = if has_other || column.len() > MAX_NODES_PER_LEVEL {
            MAX_NODES_PER_LEVEL - 1
        } else {
            MAX_NODES_PER_LEVEL
        };
        let mut kept = 0;
        for &index in &column {
            if kept < room && size(index) >= total * MIN_SHARE {
                kept += 1;
                placed[index] = Some(nodes.len());
                let draft = &graph.nodes[index];
                nodes.push(SankeyNode {
                    level,
                    label: draft.label.clone(),
                    value: 0.0,
                    filters: draft.filters.clone().unwrap_or_default(),
                    other: false,
                });
            }
        }
        // The rest, and what the buckets did not show, is one "Other" at the column's end.
        let joined = (0..graph.nodes.len())
            .filter(|&i| graph.nodes[i].level == level && placed[i].is_none() && size(i) > 0.0)
            .collect::<Vec<_>>();
        if !joined.is_empty() {
            let other = nodes.len();
            nodes.push(SankeyNode {
                level,
                label: "Other".into(),
                value: 0.0,
                filters: Vec::new(),
                other: true,
            });
            for index in joined {
                placed[index] = Some(other);
            }
        }
    }
    let mut joined: BTreeMap<(usize, usize), f64> = BTreeMap::new();
    for (&(source, target), &value) in &graph.links {
        if let (Some(source), Some(target)) = (placed[source], placed[target]) {
            *joined.entry((source, target)).or_insert(0.0) += value;
        }
    }
    let links: Vec<SankeyLink> = joined
        .into_iter()
        .map(|((source, target), value)| {
            let (from, to) = (&nodes[source], &nodes[target]);
            let filters = if from.filters.is_empty() || to.filters.is_empty() {
                Vec::new()
            } else {
                from.filters.iter().chain(&to.filters).cloned().collect()
            };
            SankeyLink {
                source,
                target,
                value,
                filters,
            }
        })
        .collect();
    let mut data = SankeyData {
        levels,
        nodes,
        links,
        metric_label,
        value_format,
    };
    let flows = data.flows();
    for (node, (inflow, outflow)) in data.nodes.iter_mut().zip(flows) {
        node.value = inflow.max(outflow);
    }
    data
}
