use plotters::prelude::*;
use serde_json::json;

use super::*;
use crate::model::time::Resolved;
use crate::model::visualization::Visualization;
use crate::result::{chart_data, ChartData};

fn svg(data: &ChartData, size: (u32, u32)) -> (String, ChartLayout) {
    let mut text = String::new();
    let layout = draw(
        SVGBackend::with_string(&mut text, size),
        data,
        &DrawOptions::default(),
    )
    .unwrap();
    (text, layout)
}

/// "Flows over time by action" (per minute from 0 to 2 minutes) answering `doc_count`s per
/// (action, minute).
pub(crate) fn flows_by_action(counts: &[(&str, &[(i64, u64)])]) -> ChartData {
    let buckets: Vec<serde_json::Value> = counts
        .iter()
        .map(|(action, points)| {
            let times: Vec<serde_json::Value> = points
                .iter()
                .map(|(minute, count)| json!({ "key": minute * 60_000, "doc_count": count }))
                .collect();
            json!({ "key": action, "3": { "buckets": times } })
        })
        .collect();
    chart_data(
        &Visualization::example_flows_over_time(),
        &json!({ "aggregations": { "2": { "buckets": buckets } } }),
        Resolved {
            from_ms: 0,
            to_ms: 120_000,
        },
        120_000,
        &Default::default(),
    )
    .unwrap()
}

pub(crate) fn seed_pie() -> ChartData {
    let response = json!({ "aggregations": { "2": { "sum_other_doc_count": 0, "buckets": [
        { "key": "ACCEPT", "doc_count": 80, "3": { "sum_other_doc_count": 0, "buckets": [ { "key": 443, "doc_count": 60 }, { "key": 53, "doc_count": 20 } ] } },
        { "key": "REJECT", "doc_count": 20, "3": { "sum_other_doc_count": 0, "buckets": [ { "key": 22, "doc_count": 20 } ] } }
    ] } } });
    chart_data(
        &Visualization::example_action_port_pie(),
        &response,
        Resolved {
            from_ms: 0,
            to_ms: 1,
        },
        1,
        &Default::default(),
    )
    .unwrap()
}

#[test]
fn pies_draw_rings_labels_and_a_grouped_legend() {
    let (text, layout) = svg(&seed_pie(), (640, 360));
    assert!(
        text.contains("#54B399") || text.contains("#54b399"),
        "ACCEPT is green"
    );
    assert!(
        text.contains("#E7664C") || text.contains("#e7664c"),
        "REJECT is red"
    );
    for label in ["action", "dstport", "ACCEPT", "REJECT", "443", "ACCEPT 80%"] {
        assert!(text.contains(label), "{label} missing");
    }
    let ChartLayout::Pie { center, rings, .. } = layout else {
        panic!("{layout:?}")
    };
    assert_eq!(rings.len(), 2);
    let ChartData::Pie(pie) = seed_pie() else {
        panic!()
    };
    // Straight above the centre, in the outer ring: the first outer slice (443).
    let r = (rings[1].0 + rings[1].1) / 2.0;
    assert_eq!(
        pie::hit(
            &pie,
            center,
            &rings,
            center.0 as f64 + 1.0,
            center.1 as f64 - r
        ),
        Some((1, 0))
    );
    // At nine tenths of a turn, in the inner ring: REJECT (0.8-1.0).
    let r = (rings[0].0 + rings[0].1) / 2.0;
    let angle = 0.9 * std::f64::consts::TAU - std::f64::consts::FRAC_PI_2;
    let (x, y) = (
        center.0 as f64 + r * angle.cos(),
        center.1 as f64 + r * angle.sin(),
    );
    assert_eq!(pie::hit(&pie, center, &rings, x, y), Some((0, 1)));
    assert_eq!(
        pie::hit(&pie, center, &rings, center.0 as f64, center.1 as f64),
        None,
        "the donut hole"
    );
}

#[test]
fn lines_bars_and_areas_draw_with_time_axes() {
    let response = json!({ "aggregations": { "2": { "buckets": [
        { "key": "ACCEPT", "3": { "buckets": (0..60).map(|i| json!({ "key": i * 60_000, "doc_count": 10 + i % 7 })).collect::<Vec<_>>() } },
        { "key": "REJECT", "3": { "buckets": (0..60).map(|i| json!({ "key": i * 60_000, "doc_count": i % 3 })).collect::<Vec<_>>() } }
    ] } } });
    for kind in [
        crate::model::visualization::ChartKind::Line,
        crate::model::visualization::ChartKind::Area,
        crate::model::visualization::ChartKind::Bar,
        crate::model::visualization::ChartKind::HorizontalBar,
    ] {
        let mut vis = Visualization::example_flows_over_time();
        vis.kind = kind;
        let data = chart_data(
            &vis,
            &response,
            Resolved {
                from_ms: 0,
                to_ms: 3_600_000,
            },
            3_600_000,
            &Default::default(),
        )
        .unwrap();
        let (text, layout) = svg(&data, (640, 300));
        assert!(
            text.contains("ACCEPT") && text.contains("REJECT"),
            "{kind:?} legend"
        );
        assert!(
            text.contains("00:10") && text.contains("00:50"),
            "{kind:?} round time ticks"
        );
        let ChartLayout::Xy { x_range, .. } = layout else {
            panic!()
        };
        assert_eq!(x_range, (0.0, 3_600_000.0));
    }
}

#[test]
fn empty_and_metric_charts_say_something() {
    let empty = ChartData::Pie(Default::default());
    assert!(svg(&empty, (300, 200)).0.contains("No results"));
    let metric = ChartData::Metric(crate::result::MetricData {
        values: vec![crate::result::MetricValue {
            label: "Count".into(),
            value: Some(12_345.0),
            text: None,
            format: Default::default(),
        }],
    });
    let (text, _) = svg(&metric, (300, 200));
    assert!(text.contains("12.3k") && text.contains("Count"));
    // A top hit's text is shown as it is, and cut where the panel ends.
    let sources = |text: &str| {
        ChartData::Metric(crate::result::MetricData {
            values: vec![crate::result::MetricValue {
                label: "Last 3 srcaddr".into(),
                value: None,
                text: Some(text.into()),
                format: Default::default(),
            }],
        })
    };
    let (drawn, _) = svg(&sources("10.0.1.5"), (300, 200));
    assert!(drawn.contains("10.0.1.5") && drawn.contains("Last 3 srcaddr"));
    let long = ["10.0.1.5"; 20].join(", ");
    let (drawn, _) = svg(&sources(&long), (300, 200));
    assert!(drawn.contains("10.0.1.5, 10.0.1.5") && drawn.contains('…'));
    assert!(!drawn.contains(&long));
}

#[test]
fn hits_name_what_is_under_the_pointer_and_what_a_click_filters() {
    let data = seed_pie();
    let (_, layout) = svg(&data, (640, 360));
    let ChartLayout::Pie { center, rings, .. } = &layout else {
        panic!()
    };
    let r = (rings[1].0 + rings[1].1) / 2.0;
    let hit = hit::hit_test(
        &data,
        &layout,
        center.0 as f64 + 1.0,
        center.1 as f64 - r,
        0,
    )
    .unwrap();
    assert_eq!(hit.title, "ACCEPT › 443 (https)");
    assert_eq!(hit.rows[0], ("Count".to_owned(), "60".to_owned()));
    assert_eq!(hit.filters.len(), 2);
    let items = hit::items(&data, 0);
    assert_eq!(
        items.len(),
        5,
        "2 inner + 3 outer slices, for keyboard users"
    );
    assert_eq!(items[1].title, "REJECT");
}

/// The texts of an SVG with their x positions.
fn svg_texts(svg: &str) -> Vec<(f64, String)> {
    svg.split("<text")
        .skip(1)
        .filter_map(|part| {
            let x = part.split("x=\"").nth(1)?.split('"').next()?.parse().ok()?;
            let text = part.split('>').nth(1)?.split('<').next()?.trim().to_owned();
            Some((x, text))
        })
        .collect()
}

#[test]
fn address_labels_on_an_x_axis_are_whole_and_never_overlap() {
    use crate::model::visualization::BarMode;
    use crate::result::{Series, XAxis, XyData, XyStyle};
    let labels: Vec<String> = (1..=24)
        .map(|i| format!("10.100.{i}.{}", 200 + i))
        .collect();
    let data = ChartData::Xy(XyData {
        x: XAxis::Categories {
            labels: labels.clone(),
        },
        style: XyStyle::Bar,
        bar_mode: BarMode::Stacked,
        series: vec![Series {
            label: "Count".into(),
            points: (0..labels.len())
                .map(|i| (i as f64, 10.0 + i as f64))
                .collect(),
            filters: Some(Vec::new()),
            axis: Default::default(),
            term: None,
            format: Default::default(),
        }],
        metric_label: "Count".into(),
        right_label: None,
        utc: false,
        category_filters: Vec::new(),
        x_title: "srcaddr".into(),
        threshold: None,
        left_format: Default::default(),
        right_format: Default::default(),
        x_format: Default::default(),
    });
    let (text, _) = svg(&data, (640, 320));
    // Axis titles: the bucket's field along the bottom.
    assert!(
        svg_texts(&text).iter().any(|(_, t)| t == "srcaddr"),
        "x title"
    );
    let mut shown: Vec<(f64, String)> = svg_texts(&text)
        .into_iter()
        .filter(|(_, t)| labels.contains(t))
        .collect();
    shown.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(shown.len() >= 3, "{shown:?}");
    for pair in shown.windows(2) {
        let room = pair[1].0 - pair[0].0;
        // Centred labels: neighbours are at least the width of the longer one apart.
        let width = pair[0].1.len().max(pair[1].1.len()) as f64 * 6.0;
        assert!(
            room >= width,
            "{} and {} overlap ({room} px apart)",
            pair[0].1,
            pair[1].1
        );
    }
}

#[test]
fn ports_in_a_legend_are_never_cut_short() {
    let response = json!({ "aggregations": { "2": { "sum_other_doc_count": 0, "buckets": [
        { "key": "REJECT", "doc_count": 40, "3": { "sum_other_doc_count": 0, "buckets": [
            { "key": 3306, "doc_count": 20 }, { "key": 3389, "doc_count": 20 } ] } }
    ] } } });
    let pie = chart_data(
        &Visualization::example_action_port_pie(),
        &response,
        Resolved {
            from_ms: 0,
            to_ms: 1,
        },
        1,
        &Default::default(),
    )
    .unwrap();
    // Narrow enough that the legend goes to the bottom, in tight columns.
    let (text, _) = svg(&pie, (300, 300));
    let texts: Vec<String> = svg_texts(&text).into_iter().map(|(_, t)| t).collect();
    assert!(
        texts.iter().any(|t| t == "3306 (mysql)") && texts.iter().any(|t| t == "3389 (rdp)"),
        "{texts:?}"
    );
    assert!(
        !texts.iter().any(|t| t.contains('…') && t.starts_with("33")),
        "{texts:?}"
    );
}

/// The texts of an SVG with their y positions.
fn svg_texts_down(svg: &str) -> Vec<(f64, String)> {
    svg.split("<text")
        .skip(1)
        .filter_map(|part| {
            let y = part.split("y=\"").nth(1)?.split('"').next()?.parse().ok()?;
            let text = part.split('>').nth(1)?.split('<').next()?.trim().to_owned();
            Some((y, text))
        })
        .collect()
}

#[test]
fn horizontal_bars_list_every_address_whole_top_down_and_hit_the_bar_pointed_at() {
    use crate::model::filter::Filter;
    use crate::model::visualization::BarMode;
    use crate::result::{Series, XAxis, XyData, XyStyle};
    let labels: Vec<String> = (1..=12)
        .map(|i| format!("10.100.{i}.{}", 200 + i))
        .collect();
    let data = ChartData::Xy(XyData {
        x: XAxis::Categories {
            labels: labels.clone(),
        },
        style: XyStyle::HorizontalBar,
        bar_mode: BarMode::Stacked,
        series: vec![Series {
            label: "Count".into(),
            points: (0..labels.len())
                .map(|i| (i as f64, 100.0 - i as f64))
                .collect(),
            filters: Some(Vec::new()),
            axis: Default::default(),
            term: None,
            format: Default::default(),
        }],
        metric_label: "Count".into(),
        right_label: None,
        utc: false,
        category_filters: labels
            .iter()
            .map(|l| Some(vec![Filter::phrase("srcaddr", json!(l))]))
            .collect(),
        x_title: "srcaddr".into(),
        threshold: None,
        left_format: Default::default(),
        right_format: Default::default(),
        x_format: Default::default(),
    });
    let (text, layout) = svg(&data, (640, 320));
    let mut shown: Vec<(f64, String)> = svg_texts_down(&text)
        .into_iter()
        .filter(|(_, t)| labels.contains(t))
        .collect();
    assert_eq!(shown.len(), labels.len(), "every address, whole: {shown:?}");
    // In order from the top, and never overlapping (11 px text).
    shown.sort_by(|a, b| a.0.total_cmp(&b.0));
    let order: Vec<&String> = shown.iter().map(|(_, t)| t).collect();
    assert_eq!(order, labels.iter().collect::<Vec<_>>(), "first at the top");
    for pair in shown.windows(2) {
        assert!(pair[1].0 - pair[0].0 >= 12.0, "{pair:?} overlap");
    }
    assert!(
        svg_texts(&text).iter().any(|(_, t)| t == "srcaddr"),
        "bucket title"
    );
    let ChartLayout::Xy {
        plot: (left, top, _, bottom),
        horizontal: true,
        ..
    } = layout
    else {
        panic!("{layout:?}")
    };
    // The pointer on the third bar, near its start.
    let row = (bottom - top) as f64 / labels.len() as f64;
    let hit =
        hit::hit_test(&data, &layout, left as f64 + 5.0, top as f64 + row * 2.5, 0).expect("a bar");
    assert_eq!(hit.title, labels[2]);
    assert_eq!(hit.rows, vec![("Count".to_owned(), "98".to_owned())]);
    assert_eq!(
        hit.filters,
        vec![Filter::phrase("srcaddr", json!(labels[2]))]
    );
    // A series no pills can select (a network nested in a foreign one): its bars filter
    // nothing, since the address alone would select more than the bar.
    let ChartData::Xy(mut unpillable) = data else {
        panic!()
    };
    unpillable.series[0].filters = None;
    let data = ChartData::Xy(unpillable);
    let hit =
        hit::hit_test(&data, &layout, left as f64 + 5.0, top as f64 + row * 2.5, 0).expect("a bar");
    assert_eq!(hit.title, labels[2]);
    assert_eq!(hit.filters, Vec::new());
}

#[test]
fn legend_entries_are_where_they_are_drawn_and_filter_by_their_own_term() {
    use crate::model::filter::Filter;
    // The seed pie: a click on "443" in the legend filters by the port alone, not by the
    // ACCEPT slice it is drawn under; ring headings filter nothing.
    let (text, layout) = svg(&seed_pie(), (640, 360));
    let ChartLayout::Pie { legend, .. } = &layout else {
        panic!("{layout:?}")
    };
    let labels: Vec<&str> = legend.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(
        labels,
        ["ACCEPT", "REJECT", "443 (https)", "53 (dns)", "22 (ssh)"]
    );
    let port = legend.iter().find(|s| s.label == "443 (https)").unwrap();
    assert_eq!(port.filters, vec![Filter::phrase("dstport", json!(443))]);
    let action = legend.iter().find(|s| s.label == "REJECT").unwrap();
    assert_eq!(
        action.filters,
        vec![Filter::phrase("action", json!("REJECT"))]
    );
    // The spot covers the drawn label: the SVG text "443" of the legend sits inside it.
    let (left, top, right, bottom) = port.rect;
    let end = text
        .find(">\n443 (https)\n</text>")
        .expect("the legend's 443");
    let tag = &text[text[..end].rfind("<text ").unwrap()..end];
    let number = |attr: &str| -> f64 {
        tag.split(&format!(" {attr}=\""))
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .and_then(|v| v.parse().ok())
            .unwrap()
    };
    let (x, y) = (number("x"), number("y"));
    assert!(
        x >= left as f64 && x <= right as f64 && y >= top as f64 && y <= bottom as f64,
        "443 at ({x}, {y}) is outside its spot {:?}",
        port.rect
    );
    let (cx, cy) = ((left + right) as f64 / 2.0, (top + bottom) as f64 / 2.0);
    assert_eq!(
        spot_at(legend, cx, cy).map(|s| s.label.as_str()),
        Some("443 (https)")
    );
    assert_eq!(spot_at(legend, 1.0, 1.0), None);

    // A line split by action: each series' entry filters by its action.
    let data = flows_by_action(&[("ACCEPT", &[(0, 3), (1, 4)]), ("REJECT", &[(0, 1), (1, 2)])]);
    let (_, layout) = svg(&data, (640, 300));
    let ChartLayout::Xy { legend, .. } = &layout else {
        panic!("{layout:?}")
    };
    let spots: Vec<(&str, &Vec<Filter>)> = legend
        .iter()
        .map(|s| (s.label.as_str(), &s.filters))
        .collect();
    assert_eq!(
        spots,
        [
            ("ACCEPT", &vec![Filter::phrase("action", json!("ACCEPT"))]),
            ("REJECT", &vec![Filter::phrase("action", json!("REJECT"))])
        ]
    );
    // Text lines say the same, for keyboards and screen readers.
    let lines = legend_lines(&data, &DrawOptions::default());
    assert_eq!(
        lines[1].filters,
        vec![Filter::phrase("action", json!("REJECT"))]
    );
}

#[test]
fn heatmaps_colour_cells_by_band_list_rows_top_down_and_hit_the_cell_pointed_at() {
    use crate::model::filter::Filter;
    use crate::model::visualization::{BucketAgg, ChartKind, Interval};
    let mut vis = Visualization::example_flows_over_time();
    vis.kind = ChartKind::Heatmap;
    vis.buckets[0].agg = BucketAgg::DateHistogram {
        field: "@timestamp".into(),
        interval: Interval::Fixed("1m".into()),
    };
    vis.buckets[1] = crate::model::visualization::terms_bucket(
        crate::model::visualization::BucketRole::SplitSeries,
        "dstport",
        5,
    );
    vis.validate().unwrap();
    let row = |port: u64, cells: &[(i64, u64)]| {
        let times: Vec<serde_json::Value> = cells
            .iter()
            .map(|(minute, count)| json!({ "key": minute * 60_000, "doc_count": count }))
            .collect();
        json!({ "key": port, "doc_count": cells.iter().map(|c| c.1).sum::<u64>(), "3": { "buckets": times } })
    };
    let response = json!({ "aggregations": { "2": { "buckets": [
        row(443, &[(0, 40), (1, 30), (2, 35)]),
        row(22, &[(1, 7)]),
        row(3389, &[(0, 2), (2, 0)]),
    ] } } });
    let data = chart_data(
        &vis,
        &response,
        Resolved {
            from_ms: 0,
            to_ms: 180_000,
        },
        180_000,
        &Default::default(),
    )
    .unwrap();
    assert!(data.labels().is_empty(), "rows take no palette colours");
    let (text, layout) = svg(&data, (640, 320));
    let text_lower = text.to_lowercase();
    // 40 is the top band (of 0–40), 2 the bottom one.
    assert!(
        text_lower.contains("#08519c"),
        "the largest cell is darkest"
    );
    assert!(
        text_lower.contains("#c6dbef"),
        "the smallest cell is lightest"
    );
    // Rows top-down in the answer's order, whole.
    let mut rows: Vec<(f64, String)> = svg_texts_down(&text)
        .into_iter()
        .filter(|(_, t)| ["443 (https)", "22 (ssh)", "3389 (rdp)"].contains(&t.as_str()))
        .collect();
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let order: Vec<&str> = rows.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(order, ["443 (https)", "22 (ssh)", "3389 (rdp)"]);
    // The legend: the metric, then the bands, numbers whole.
    let legend: Vec<String> = legend_text(&data, &DrawOptions::default())
        .into_iter()
        .map(|(label, _)| label)
        .collect();
    assert_eq!(
        legend,
        ["Count", "0 – 8", "8 – 16", "16 – 24", "24 – 32", "32 – 40"]
    );
    let ChartLayout::Heatmap {
        plot: (left, top, right, bottom),
        rows: 3,
        ..
    } = layout
    else {
        panic!("{layout:?}")
    };
    // The middle of the cell of port 22 in minute 1.
    let (cell_w, cell_h) = ((right - left) as f64 / 3.0, (bottom - top) as f64 / 3.0);
    let at = |column: f64, row: f64| {
        hit::hit_test(
            &data,
            &layout,
            left as f64 + cell_w * column,
            top as f64 + cell_h * row,
            0,
        )
    };
    let hit = at(1.5, 1.5).expect("a cell");
    assert_eq!(hit.rows, vec![("22 (ssh)".to_owned(), "7".to_owned())]);
    assert_eq!(hit.filters, vec![Filter::phrase("dstport", json!(22))]);
    assert_eq!(hit.time, Some((60_000, 120_000)));
    // Port 22 had no flows in minute 0, nor 3389 in minute 2: no cell to point at there.
    assert_eq!(at(0.5, 1.5), None);
    assert_eq!(
        at(2.5, 2.5).map(|h| h.rows),
        Some(vec![("3389 (rdp)".to_owned(), "0".to_owned())])
    );
}

#[test]
fn a_threshold_line_is_drawn_labelled_and_raises_the_axis_to_show_it() {
    use crate::model::visualization::ThresholdLine;
    let ChartData::Xy(mut xy) = flows_by_action(&[("ACCEPT", &[(0, 5), (1, 8)])]) else {
        panic!()
    };
    let (plain, _) = svg(&ChartData::Xy(xy.clone()), (640, 320));
    assert!(!plain.to_lowercase().contains("#bd271e"));
    xy.threshold = Some(ThresholdLine {
        value: 25.0,
        label: "alert".into(),
    });
    let data = ChartData::Xy(xy.clone());
    let (text, layout) = svg(&data, (640, 320));
    assert!(text.to_lowercase().contains("#bd271e"), "the line is drawn");
    assert!(
        svg_texts(&text).iter().any(|(_, t)| t == "alert 25"),
        "labelled with its name and value"
    );
    let ChartLayout::Xy { y_range, .. } = layout else {
        panic!("{layout:?}")
    };
    assert!(y_range.1 >= 25.0, "the axis reaches the line: {y_range:?}");

    // Across horizontal bars the line stands upright, at the value.
    xy.style = crate::result::XyStyle::HorizontalBar;
    let (text, _) = svg(&ChartData::Xy(xy), (640, 320));
    assert!(text.to_lowercase().contains("#bd271e"));
}

#[test]
fn a_metric_on_the_right_axis_has_its_own_scale_and_the_pointer_finds_it_as_drawn() {
    use crate::model::measure::ValueAxis;
    let ChartData::Xy(mut xy) = flows_by_action(&[
        ("flows", &[(0, 5), (1, 8)]),
        ("bytes/s", &[(0, 40_000), (1, 90_000)]),
    ]) else {
        panic!()
    };
    xy.series[1].axis = ValueAxis::Right;
    xy.right_label = Some("Bytes per second".into());
    let data = ChartData::Xy(xy);
    let (text, layout) = svg(&data, (640, 320));
    let texts = svg_texts(&text);
    let ChartLayout::Xy {
        plot,
        y_range,
        y2_range: Some(y2_range),
        ..
    } = &layout
    else {
        panic!("two value axes: {layout:?}")
    };
    let (plot, y_range, y2_range) = (*plot, *y_range, *y2_range);
    // Each axis reaches its own series, and the right one is labelled right of the plot.
    assert!(y_range.1 >= 8.0 && y_range.1 < 1000.0, "{y_range:?}");
    assert!(y2_range.1 >= 90_000.0, "{y2_range:?}");
    let right_ticks: Vec<_> = texts.iter().filter(|(x, _)| *x > plot.2 as f64).collect();
    assert!(
        right_ticks
            .iter()
            .any(|(_, t)| t.ends_with('k') || t.contains("000")),
        "right tick labels: {right_ticks:?}"
    );
    assert!(
        text.contains("Bytes per second"),
        "the right axis is titled"
    );
    // Near the top of the plot at minute 1 both series are drawn high (8 of ~10 flows,
    // 90k of ~100k bytes/s): the nearer, as drawn, is the one the pointer is on.
    let (left, top, right, bottom) = plot;
    let x = left as f64 + (right - left) as f64 * 0.75;
    let near = |value: f64, range: (f64, f64)| {
        bottom as f64 - (bottom - top) as f64 * (value - range.0) / (range.1 - range.0)
    };
    for (series, y) in [
        ("bytes/s", near(90_000.0, y2_range)),
        ("flows", near(8.0, y_range)),
    ] {
        let hit = hit::hit_test(&data, &layout, x, y, 0).expect("a bucket");
        assert_eq!(hit.rows.len(), 2);
        let ChartData::Xy(xy) = &data else { panic!() };
        let expected = xy.series.iter().find(|s| s.label == series).unwrap();
        assert_eq!(Some(hit.filters), expected.filters, "pointing at {series}");
    }
}

#[test]
fn several_metrics_of_a_term_share_its_colour_and_later_ones_are_dashed() {
    use crate::model::measure::Measure;
    use crate::model::visualization::Metric;
    let mut vis = Visualization::example_flows_over_time();
    vis.metrics.push(Measure::from(Metric::Sum {
        field: "bytes".into(),
    }));
    let buckets: Vec<serde_json::Value> = ["ACCEPT", "REJECT"]
        .iter()
        .map(|action| {
            let times: Vec<serde_json::Value> = (0..2)
                .map(|m| json!({ "key": m * 60_000, "doc_count": 3, "1-2": { "value": 900.0 } }))
                .collect();
            json!({ "key": action, "3": { "buckets": times } })
        })
        .collect();
    let data = chart_data(
        &vis,
        &json!({ "aggregations": { "2": { "buckets": buckets } } }),
        Resolved {
            from_ms: 0,
            to_ms: 120_000,
        },
        120_000,
        &Default::default(),
    )
    .unwrap();
    let ChartData::Xy(xy) = &data else { panic!() };
    let dashed: Vec<(&str, bool)> = xy
        .series
        .iter()
        .map(|s| (s.label.as_str(), s.dashed()))
        .collect();
    assert_eq!(
        dashed,
        [
            ("ACCEPT: Count", false),
            ("REJECT: Count", false),
            ("ACCEPT: Sum of bytes", true),
            ("REJECT: Sum of bytes", true)
        ]
    );
    // ACCEPT's green and REJECT's red, whatever the metric; a colour is chosen per term.
    let legend = legend_text(&data, &DrawOptions::default());
    assert_eq!(legend[0].1, legend[2].1);
    assert_eq!(legend[1].1, legend[3].1);
    assert_ne!(legend[0].1, legend[1].1);
    let keys: Vec<String> = color_keys(&data, &DrawOptions::default())
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    assert_eq!(keys, ["ACCEPT", "REJECT"]);
    // Dashes are drawn as many short strokes where a solid line is one.
    let strokes = |data: &ChartData| svg(data, (640, 320)).0.matches("<polyline").count();
    let mut solid = xy.clone();
    for series in &mut solid.series {
        series.term = None;
    }
    assert!(strokes(&data) > strokes(&ChartData::Xy(solid)) + 4);
}

#[test]
fn bytes_read_as_bytes_on_axes_tooltips_and_tables_unless_the_pattern_says_otherwise() {
    use crate::model::field_format::{FieldFormat, FieldFormats};
    use crate::model::visualization::{ChartKind, Metric};
    let mut vis = Visualization::example_flows_over_time();
    vis.metrics = vec![Metric::Sum {
        field: "bytes".into(),
    }
    .into()];
    let response = json!({ "aggregations": { "2": { "buckets": [
        { "key": "ACCEPT", "3": { "buckets": [
            { "key": 0, "doc_count": 3, "1": { "value": 36_812_345_678.0 } },
            { "key": 60000, "doc_count": 4, "1": { "value": 12_000_000_000.0 } } ] } }
    ] } } });
    let time = Resolved {
        from_ms: 0,
        to_ms: 120_000,
    };
    let draw_with = |formats: &FieldFormats| {
        let data = chart_data(&vis, &response, time, time.to_ms, formats).unwrap();
        let (text, _) = svg(&data, (640, 320));
        let tooltip = hit::items(&data, 0)[0].rows[0].1.clone();
        (svg_texts(&text), tooltip)
    };
    let (texts, tooltip) = draw_with(&FieldFormats::default());
    assert!(
        texts.iter().any(|(_, t)| t.ends_with(" GB")),
        "y labels in bytes: {texts:?}"
    );
    assert_eq!(tooltip, "36.81 GB");
    // A pattern that says bytes are plain numbers has them grouped.
    let mut plain = FieldFormats::default();
    plain.0.insert("bytes".into(), FieldFormat::Number);
    let (texts, tooltip) = draw_with(&plain);
    assert!(!texts.iter().any(|(_, t)| t.ends_with(" GB")), "{texts:?}");
    assert_eq!(tooltip, "36,812,345,678");

    // A table: the metric column in bytes, an address column linking out.
    let mut table = Visualization::example_action_port_pie();
    table.kind = ChartKind::Table;
    for bucket in &mut table.buckets {
        bucket.role = crate::model::visualization::BucketRole::Rows;
    }
    table.buckets.truncate(1);
    if let crate::model::visualization::BucketAgg::Terms { field, .. } = &mut table.buckets[0].agg {
        *field = "srcaddr".into();
    }
    table.metrics = vis.metrics.clone();
    let response = json!({ "aggregations": { "2": { "buckets": [
        { "key": "10.0.0.1", "doc_count": 3, "1": { "value": 1_500_000.0 } } ] } } });
    let linked = crate::model::field_format::whois_link("srcaddr");
    let ChartData::Table(data) = chart_data(&table, &response, time, time.to_ms, &linked).unwrap()
    else {
        panic!("not a table")
    };
    assert_eq!(data.cell_text(1, &data.rows[0][1]), "1.5 MB");
    assert_eq!(data.cell_text(0, &data.rows[0][0]), "10.0.0.1");
    let filter = data.cell_filters[0][0].clone();
    assert_eq!(
        data.cell_link(0, filter.as_ref()).as_deref(),
        Some("https://whois.example/10.0.0.1")
    );
    assert_eq!(data.cell_link(1, None), None);
    // The flows missing the field, or a range of addresses, are no one address to look up.
    let missing = crate::model::filter::Filter {
        kind: crate::model::filter::FilterKind::Exists,
        negate: true,
        ..crate::model::filter::Filter::phrase("srcaddr", json!(null))
    };
    assert_eq!(data.cell_link(0, Some(&missing)), None);
}

/// Reads `response` for `vis`, over the first millisecond.
fn read_at_1ms(vis: &Visualization, response: &serde_json::Value) -> ChartData {
    chart_data(
        vis,
        response,
        Resolved {
            from_ms: 0,
            to_ms: 1,
        },
        1,
        &Default::default(),
    )
    .unwrap()
}

/// action → dstport → protocol: ACCEPT's 443 under both protocols, a remainder that its
/// port level did not show (flows on as "Other"), and REJECT all on 22.
pub(crate) fn action_port_protocol_sankey() -> ChartData {
    use crate::model::visualization::{terms_bucket, BucketRole, ChartKind};
    let mut vis = Visualization::example_action_port_pie();
    vis.kind = ChartKind::Sankey;
    vis.buckets = ["action", "dstport", "protocol"]
        .map(|field| terms_bucket(BucketRole::Nodes, field, 5))
        .to_vec();
    vis.validate().unwrap();
    let response = json!({ "aggregations": { "2": { "buckets": [
        { "key": "ACCEPT", "doc_count": 90, "3": { "buckets": [
            { "key": 443, "doc_count": 60, "4": { "buckets": [
                { "key": 6, "doc_count": 50 }, { "key": 17, "doc_count": 10 } ] } },
            { "key": 53, "doc_count": 20, "4": { "buckets": [ { "key": 17, "doc_count": 20 } ] } }
        ] } },
        { "key": "REJECT", "doc_count": 30, "3": { "buckets": [
            { "key": 22, "doc_count": 30, "4": { "buckets": [ { "key": 6, "doc_count": 30 } ] } }
        ] } }
    ] } } });
    read_at_1ms(&vis, &response)
}

#[test]
fn a_sankey_adds_up_and_what_a_level_did_not_show_flows_on_as_other() {
    let ChartData::Sankey(data) = action_port_protocol_sankey() else {
        panic!("not a Sankey");
    };
    assert_eq!(data.levels, ["action", "dstport", "protocol"]);
    let named = |level: usize| -> Vec<(String, f64)> {
        data.nodes
            .iter()
            .filter(|n| n.level == level)
            .map(|n| (n.label.clone(), n.value))
            .collect()
    };
    assert_eq!(
        named(0),
        [("ACCEPT".to_owned(), 90.0), ("REJECT".to_owned(), 30.0)]
    );
    // The 10 ACCEPT flows on no port shown are "Other", last in their column.
    assert_eq!(
        named(1),
        [
            ("443 (https)".to_owned(), 60.0),
            ("22 (ssh)".to_owned(), 30.0),
            ("53 (dns)".to_owned(), 20.0),
            ("Other".to_owned(), 10.0)
        ]
    );
    assert_eq!(
        named(2),
        [
            ("6 (tcp)".to_owned(), 80.0),
            ("17 (udp)".to_owned(), 30.0),
            ("Other".to_owned(), 10.0)
        ]
    );
    // Every column holds all the flows, and every node between the first column and the last
    // lets out what it takes in.
    assert_eq!(data.level_totals(), [120.0, 120.0, 120.0]);
    for (node, (inflow, outflow)) in data.nodes.iter().zip(data.flows()) {
        if node.level == 1 {
            assert_eq!(inflow, outflow, "{}", node.label);
        }
    }
    // A link filters by both its ends; one into "Other" does not filter at all.
    let link = |from: &str, to: &str| {
        data.links
            .iter()
            .find(|l| data.nodes[l.source].label == from && data.nodes[l.target].label == to)
            .unwrap_or_else(|| panic!("no link {from} → {to}"))
    };
    let filters: Vec<String> = link("443 (https)", "6 (tcp)")
        .filters
        .iter()
        .map(|f| f.label())
        .collect();
    assert_eq!(filters, ["dstport: 443 (https)", "protocol: 6 (tcp)"]);
    assert_eq!(link("ACCEPT", "Other").value, 10.0);
    assert!(link("ACCEPT", "Other").filters.is_empty());
    assert_eq!(link("Other", "Other").value, 10.0);
}

#[test]
fn a_sankey_keeps_its_largest_nodes_and_groups_the_small_ones() {
    use crate::model::visualization::{terms_bucket, BucketRole, ChartKind};
    use crate::result::MAX_NODES_PER_LEVEL;
    let mut vis = Visualization::example_action_port_pie();
    vis.kind = ChartKind::Sankey;
    vis.buckets = ["action", "dstport"]
        .map(|field| terms_bucket(BucketRole::Nodes, field, 30))
        .to_vec();
    // 20 ports of 100 flows each, and one of a single flow: too thin to draw.
    let mut ports: Vec<serde_json::Value> = (0..20)
        .map(|p| json!({ "key": 1000 + p, "doc_count": 100 }))
        .collect();
    ports.push(json!({ "key": 9, "doc_count": 1 }));
    let response = json!({ "aggregations": { "2": { "buckets": [
        { "key": "ACCEPT", "doc_count": 2001, "3": { "buckets": ports } } ] } } });
    let ChartData::Sankey(data) = read_at_1ms(&vis, &response) else {
        panic!("not a Sankey");
    };
    let ports: Vec<&crate::result::SankeyNode> =
        data.nodes.iter().filter(|n| n.level == 1).collect();
    assert_eq!(ports.len(), MAX_NODES_PER_LEVEL);
    let other = ports.last().unwrap();
    assert!(other.other && other.filters.is_empty());
    assert_eq!(
        other.value,
        2001.0 - 100.0 * (MAX_NODES_PER_LEVEL - 1) as f64
    );
    assert_eq!(data.level_totals(), [2001.0, 2001.0]);
    assert!(!ports.iter().any(|n| n.label.starts_with("9 ")));

    // Under the cap, a node of a thousandth of its column joins "Other" all the same.
    let response = json!({ "aggregations": { "2": { "buckets": [
        { "key": "ACCEPT", "doc_count": 501, "3": { "buckets": [
            { "key": 443, "doc_count": 300 }, { "key": 53, "doc_count": 200 },
            { "key": 9, "doc_count": 1 } ] } } ] } } });
    let ChartData::Sankey(data) = read_at_1ms(&vis, &response) else {
        panic!("not a Sankey");
    };
    let ports: Vec<(&str, f64)> = data
        .nodes
        .iter()
        .filter(|n| n.level == 1)
        .map(|n| (n.label.as_str(), n.value))
        .collect();
    assert_eq!(
        ports,
        [("443 (https)", 300.0), ("53 (dns)", 200.0), ("Other", 1.0)]
    );
}

/// What the first column does not show (flows beyond its top terms) is its "Other", which
/// flows on through every column's: each column holds every flow searched.
#[test]
fn a_sankey_holds_every_flow_searched_in_each_column() {
    use crate::model::visualization::{terms_bucket, BucketRole, ChartKind};
    let ChartData::Sankey(shown) = action_port_protocol_sankey() else {
        panic!()
    };
    let mut vis = Visualization::example_action_port_pie();
    vis.kind = ChartKind::Sankey;
    vis.buckets = ["action", "dstport"]
        .map(|field| terms_bucket(BucketRole::Nodes, field, 1))
        .to_vec();
    let response = json!({ "hits": { "total": { "value": 150, "relation": "eq" } },
        "aggregations": { "2": { "sum_other_doc_count": 50, "buckets": [
            { "key": "ACCEPT", "doc_count": 100, "3": { "buckets": [
                { "key": 443, "doc_count": 70 } ] } } ] } } });
    let ChartData::Sankey(data) = read_at_1ms(&vis, &response) else {
        panic!()
    };
    assert_eq!(data.level_totals(), [150.0, 150.0]);
    let link = |from: &str, to: &str| {
        data.links
            .iter()
            .find(|l| data.nodes[l.source].label == from && data.nodes[l.target].label == to)
            .map(|l| l.value)
    };
    assert_eq!(link("ACCEPT", "443 (https)"), Some(70.0));
    assert_eq!(link("ACCEPT", "Other"), Some(30.0));
    assert_eq!(link("Other", "Other"), Some(50.0));
    assert!(data.is_consistent() && shown.is_consistent());

    // Data that does not hold together (from elsewhere) is an error to draw, and nothing to
    // point at, not a panic.
    let mut broken = shown.clone();
    broken.links[0].target = 99;
    broken.nodes[0].level = 7;
    let broken = ChartData::Sankey(broken);
    let mut text = String::new();
    assert!(draw(
        SVGBackend::with_string(&mut text, (600, 300)),
        &broken,
        &DrawOptions::default()
    )
    .is_err());
    let ChartData::Sankey(data) = &broken else {
        panic!()
    };
    assert!(!data.is_consistent());
    assert_eq!(data.level_totals().len(), 3);
    assert!(hit::items(&broken, 0).len() < data.nodes.len() + data.links.len());
    let _ = crate::inspect::data_table(&broken, 0);
    let _ = legend_text(&broken, &DrawOptions::default());
}

/// The layout: each link leaves and enters inside its nodes, a node is as tall as what flows
/// through it, and pointing at a link's middle names it and filters by both its ends.
#[test]
fn sankey_links_start_and_end_inside_their_nodes_and_are_pointed_at() {
    let data = action_port_protocol_sankey();
    let ChartData::Sankey(sankey) = &data else {
        panic!()
    };
    let (svg, layout) = svg(&data, (900, 400));
    let ChartLayout::Sankey { nodes, links, .. } = &layout else {
        panic!("{layout:?}")
    };
    assert_eq!(
        (nodes.len(), links.len()),
        (sankey.nodes.len(), sankey.links.len())
    );
    for (link, path) in sankey.links.iter().zip(links) {
        let (source, target) = (nodes[link.source], nodes[link.target]);
        assert!(
            (path.x0 - source.2 as f64).abs() <= 1.0 && (path.x1 - target.0 as f64).abs() <= 1.0
        );
        assert!(
            path.y0 >= source.1 as f64 - 1.0 && path.y0 + path.width <= source.3 as f64 + 1.0,
            "{path:?} {source:?}"
        );
        assert!(
            path.y1 >= target.1 as f64 - 1.0 && path.y1 + path.width <= target.3 as f64 + 1.0,
            "{path:?} {target:?}"
        );
    }
    // Heights follow values: ACCEPT (90) is three times REJECT (30).
    let height = |i: usize| (nodes[i].3 - nodes[i].1) as f64;
    assert!((height(0) / height(1) - 3.0).abs() < 0.1, "{nodes:?}");
    // Every link's middle points at it, or at a thinner one crossing it there.
    for (index, path) in links.iter().enumerate() {
        let (x, y) = path.middle();
        let hit = hit::hit_test(&data, &layout, x, y, 0).expect("a link");
        let link = &sankey.links[index];
        let title = format!(
            "{} → {}",
            sankey.nodes[link.source].label, sankey.nodes[link.target].label
        );
        if hit.title != title {
            let other = sankey
                .links
                .iter()
                .find(|l| {
                    format!(
                        "{} → {}",
                        sankey.nodes[l.source].label, sankey.nodes[l.target].label
                    ) == hit.title
                })
                .expect("a link's title");
            assert!(other.value <= link.value, "{} over {title}", hit.title);
        }
    }
    let (x, y) = links[0].middle();
    let hit = hit::hit_test(&data, &layout, x, y, 0).unwrap();
    assert_eq!(hit.rows[0], ("Count".to_owned(), "60".to_owned()));
    // The nodes are named on the diagram, and in the legend under their columns.
    for label in ["ACCEPT", "443 (https)", "6 (tcp)"] {
        assert!(svg.contains(label), "{label}");
    }
    let legend = legend_text(&data, &DrawOptions::default());
    assert_eq!(legend[0], ("action".to_owned(), None));
    // Pointing at a node names it with its share of its column.
    let centre = |r: PlotRect| (f64::from(r.0 + r.2) / 2.0, f64::from(r.1 + r.3) / 2.0);
    let (x, y) = centre(nodes[0]);
    let hit = hit::hit_test(&data, &layout, x, y, 0).unwrap();
    assert_eq!(hit.title, "ACCEPT");
    assert_eq!(
        hit.rows[1],
        ("Share of action".to_owned(), "75.0%".to_owned())
    );
    assert_eq!(hit.filters.len(), 1);
    // The keyboard walks the nodes, then the links.
    assert_eq!(
        hit::items(&data, 0).len(),
        sankey.nodes.len() + sankey.links.len()
    );
}
