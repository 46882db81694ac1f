//! The VPC flow overview: the dashboard flowdash opens at `/`, and its visualizations.

use app::model::dashboard::{Dashboard, GridPos, Panel, PanelSource, DASHBOARD_VERSION};
use app::model::filter::{Filter, QueryText};
use app::model::measure::Measure;
use app::model::time::TimeRange;
use app::model::visualization::{
    terms_bucket, Bucket, BucketAgg, BucketRole, ChartKind, ChartOptions, Interval, LegendPosition,
    Metric, TermsOrder, Visualization, VISUALIZATION_VERSION,
};
use serde_json::json;

/// The id of the VPC flow overview dashboard, installed at start.
pub const DASHBOARD_ID: &str = "vpc-flow-overview";

fn vis(title: &str, kind: ChartKind, metric: Metric, buckets: Vec<Bucket>) -> Visualization {
    Visualization {
        version: VISUALIZATION_VERSION,
        title: title.into(),
        description: String::new(),
        kind,
        index_pattern: "cwl-*".into(),
        metrics: vec![metric.into()],
        buckets,
        options: ChartOptions::default(),
        query: QueryText::default(),
        filters: Vec::new(),
        saved_search: None,
    }
}

fn over_time() -> Bucket {
    Bucket {
        role: BucketRole::XAxis,
        agg: BucketAgg::DateHistogram {
            field: "@timestamp".into(),
            interval: Interval::Auto,
        },
    }
}

fn rejected() -> Filter {
    Filter::phrase("action", json!("REJECT"))
}

/// What the GeoIP and ASN databases add at ingest (`--geoip-db`, `--asn-db`): the overview
/// shows rejected traffic by each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GeoPanels {
    /// Flows have `src_country`.
    pub country: bool,
    /// Flows have `src_asn` and `src_as_org`.
    pub asn: bool,
}

impl GeoPanels {
    /// The panels' ids, in the order they are laid out.
    fn ids(self) -> Vec<&'static str> {
        [
            (self.country, "overview-rejected-countries"),
            (self.asn, "overview-rejected-as"),
        ]
        .into_iter()
        .filter_map(|(shown, id)| shown.then_some(id))
        .collect()
    }
}

/// Rejected flows split by a field of their source, as a bar per value.
fn rejected_by(title: &str, field: &str) -> Visualization {
    let mut by = vis(
        title,
        ChartKind::HorizontalBar,
        Metric::Count,
        vec![terms_bucket(BucketRole::XAxis, field, 10)],
    );
    by.filters = vec![rejected()];
    by.options.legend = LegendPosition::Hidden;
    by
}

/// The overview's visualizations, by id: with rejected traffic by source country and AS
/// where ingest adds them.
pub fn visualizations(geo: GeoPanels) -> Vec<(&'static str, Visualization)> {
    let mut all = base_visualizations();
    let geo_panels = [
        (
            "overview-rejected-countries",
            rejected_by("Rejected flows by source country", "src_country"),
        ),
        (
            "overview-rejected-as",
            rejected_by("Rejected flows by source AS", "src_as_org"),
        ),
    ];
    let shown = geo.ids();
    all.extend(geo_panels.into_iter().filter(|(id, _)| shown.contains(id)));
    all
}

fn base_visualizations() -> Vec<(&'static str, Visualization)> {
    let mut rejected_count = vis("Rejected flows", ChartKind::Metric, Metric::Count, vec![]);
    rejected_count.filters = vec![rejected()];
    let mut bytes_by_direction = vis(
        "Bytes over time by direction",
        ChartKind::Area,
        Metric::Sum {
            field: "bytes".into(),
        },
        vec![
            over_time(),
            terms_bucket(BucketRole::SplitSeries, "flow_direction", 3),
        ],
    );
    bytes_by_direction.options.legend = LegendPosition::Bottom;
    let mut top_talkers = vis(
        "Top talkers by bytes",
        ChartKind::HorizontalBar,
        Metric::Sum {
            field: "bytes".into(),
        },
        vec![terms_bucket(BucketRole::XAxis, "srcaddr", 10)],
    );
    top_talkers.options.legend = LegendPosition::Hidden;
    let mut rejected_sources = vis(
        "Top rejected sources",
        ChartKind::Table,
        Metric::Count,
        vec![terms_bucket(BucketRole::Rows, "srcaddr", 10)],
    );
    rejected_sources.filters = vec![rejected()];
    let mut status = vis(
        "Record status (NODATA / SKIPDATA share)",
        ChartKind::Pie,
        Metric::Count,
        vec![terms_bucket(BucketRole::SplitSlices, "log_status", 3)],
    );
    status.description =
        "Share of records that carried no traffic (NODATA) or were skipped (SKIPDATA).".into();
    let mut action_pie = vis(
        "Accepted vs rejected",
        ChartKind::Pie,
        Metric::Count,
        vec![terms_bucket(BucketRole::SplitSlices, "action", 3)],
    );
    action_pie.description =
        "Flow records by the action security groups and network ACLs took.".into();
    let mut port_pie = Visualization::example_action_port_pie();
    if let BucketAgg::Terms { other_bucket, .. } = &mut port_pie.buckets[1].agg {
        *other_bucket = true;
    }
    let mut protocols = vis(
        "Protocol mix",
        ChartKind::Pie,
        Metric::Count,
        vec![terms_bucket(BucketRole::SplitSlices, "protocol_name", 6)],
    );
    protocols.options.donut = false;
    let mut rejected_ports = vis(
        "Rejected destination ports",
        ChartKind::Bar,
        Metric::Count,
        vec![Bucket {
            role: BucketRole::XAxis,
            agg: BucketAgg::Terms {
                field: "dstport".into(),
                size: 10,
                order: TermsOrder::MetricDesc,
                other_bucket: false,
                missing_bucket: false,
            },
        }],
    );
    rejected_ports.filters = vec![rejected()];
    rejected_ports.options.legend = LegendPosition::Hidden;
    vec![
        (
            "overview-flows",
            vis("Flow records", ChartKind::Metric, Metric::Count, vec![]),
        ),
        ("overview-rejected", rejected_count),
        (
            "overview-bytes",
            vis(
                "Bytes",
                ChartKind::Metric,
                Metric::Sum {
                    field: "bytes".into(),
                },
                vec![],
            ),
        ),
        (
            "overview-sources",
            vis(
                "Distinct sources",
                ChartKind::Metric,
                Metric::UniqueCount {
                    field: "srcaddr".into(),
                },
                vec![],
            ),
        ),
        (
            "overview-flows-over-time",
            Visualization::example_flows_over_time(),
        ),
        ("overview-action-pie", action_pie),
        ("overview-action-port-pie", port_pie),
        ("overview-bytes-by-direction", bytes_by_direction),
        ("overview-top-talkers", top_talkers),
        ("overview-rejected-sources", rejected_sources),
        ("overview-rejected-ports", rejected_ports),
        ("overview-protocols", protocols),
        ("overview-log-status", status),
        ("overview-conversations", conversations()),
        ("overview-who-talks", who_talks_to_whom()),
    ]
}

/// Source network → destination network → service, by flows: the named networks
/// (Management → Networks) and the ports they are reached on.
fn who_talks_to_whom() -> Visualization {
    let network = |field: &str| Bucket {
        role: BucketRole::Nodes,
        agg: BucketAgg::Network {
            field: field.into(),
        },
    };
    let mut sankey = vis(
        "Who talks to whom",
        ChartKind::Sankey,
        Metric::Count,
        vec![
            network("srcaddr"),
            network("dstaddr"),
            terms_bucket(BucketRole::Nodes, "dstport", 6),
        ],
    );
    sankey.description = "Flows from source network to destination network to service. Name your address ranges in Management → Networks.".into();
    sankey.options.legend = LegendPosition::Hidden;
    sankey
}

/// The top (source, destination, port, protocol) combinations by bytes, with their packets
/// and flows.
fn conversations() -> Visualization {
    let mut conversations = vis(
        "Top conversations",
        ChartKind::Table,
        Metric::Sum {
            field: "bytes".into(),
        },
        vec![Bucket {
            role: BucketRole::Rows,
            agg: BucketAgg::MultiTerms {
                fields: ["srcaddr", "dstaddr", "dstport", "protocol"]
                    .map(String::from)
                    .to_vec(),
                size: 10,
                order: TermsOrder::MetricDesc,
            },
        }],
    );
    conversations.metrics = [
        (
            "Bytes",
            Metric::Sum {
                field: "bytes".into(),
            },
        ),
        (
            "Packets",
            Metric::Sum {
                field: "packets".into(),
            },
        ),
        ("Flows", Metric::Count),
    ]
    .into_iter()
    .map(|(label, metric)| Measure {
        label: label.into(),
        ..metric.into()
    })
    .collect();
    conversations.description =
        "The source, destination, port and protocol combinations that moved the most bytes.".into();
    conversations
}

/// The overview dashboard: headline numbers, then accept/reject over time and by port, bytes
/// by direction, who talks to whom, talkers, rejected sources and ports, protocols, record
/// health and the top conversations.
///
/// Nearly every flow is a conversation of its own (return traffic goes to ephemeral ports),
/// but the few shown carry most bytes: the engine groups only the flows that can be among
/// them (see `backend/embedded/search/aggs/bucket/sieve.rs`), so the panel's memory follows
/// those flows and not the number of conversations.
pub fn dashboard(geo: GeoPanels) -> Dashboard {
    let mut layout: Vec<(&str, u32, u32, u32, u32)> = vec![
        ("overview-flows", 0, 0, 12, 5),
        ("overview-rejected", 12, 0, 12, 5),
        ("overview-bytes", 24, 0, 12, 5),
        ("overview-sources", 36, 0, 12, 5),
        ("overview-flows-over-time", 0, 5, 32, 14),
        ("overview-action-pie", 32, 5, 16, 14),
        ("overview-action-port-pie", 0, 19, 18, 16),
        ("overview-bytes-by-direction", 18, 19, 30, 16),
        ("overview-who-talks", 0, 35, 48, 18),
        ("overview-top-talkers", 0, 53, 24, 14),
        ("overview-rejected-sources", 24, 53, 24, 14),
        ("overview-rejected-ports", 0, 67, 16, 13),
        ("overview-protocols", 16, 67, 16, 13),
        ("overview-log-status", 32, 67, 16, 13),
        ("overview-conversations", 0, 80, 48, 14),
    ];
    // A row of its own at the bottom, halves or the whole width.
    let geo_ids = geo.ids();
    let width = 48 / geo_ids.len().max(1) as u32;
    for (at, id) in geo_ids.into_iter().enumerate() {
        layout.push((id, at as u32 * width, 94, width, 14));
    }
    Dashboard {
        version: DASHBOARD_VERSION,
        title: "VPC flow overview".into(),
        description: "Who talks to whom in the VPCs, what gets rejected, and when.".into(),
        panels: layout
            .iter()
            .enumerate()
            .map(|(i, (id, x, y, w, h))| Panel {
                id: (i + 1).to_string(),
                grid: GridPos {
                    x: *x,
                    y: *y,
                    w: *w,
                    h: *h,
                },
                title: None,
                hide_title: false,
                source: PanelSource::Saved((*id).into()),
            })
            .collect(),
        time: Some(TimeRange::last("24h")),
        refresh_ms: None,
        query: QueryText::default(),
        filters: Vec::new(),
        tags: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_overview_is_valid() {
        let everything = super::GeoPanels {
            country: true,
            asn: true,
        };
        for (id, vis) in super::visualizations(everything) {
            vis.validate().unwrap_or_else(|e| panic!("{id}: {e}"));
        }
        for geo in [
            super::GeoPanels::default(),
            everything,
            super::GeoPanels {
                country: false,
                asn: true,
            },
        ] {
            let dashboard = super::dashboard(geo);
            dashboard.validate().unwrap();
            // Every panel shows one of the visualizations installed with it.
            let installed: Vec<_> = super::visualizations(geo)
                .into_iter()
                .map(|v| v.0)
                .collect();
            for panel in &dashboard.panels {
                let app::model::dashboard::PanelSource::Saved(id) = &panel.source else {
                    panic!("saved panels only")
                };
                assert!(installed.contains(&id.as_str()), "{id}");
            }
            assert_eq!(dashboard.panels.len(), 15 + geo.ids().len());
        }
    }
}
