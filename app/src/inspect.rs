//! Inspect: the data behind a chart as a table, shown and downloaded as CSV (Kibana's
//! Inspect › Data); the request and response are shown as they were exchanged.

use serde_json::Value;

use crate::charts::format_time_full;
use crate::result::{ChartData, XAxis};

/// One cell: its text, and whether it is text (rather than a number) in a CSV file.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// As shown, and as written to CSV.
    pub text: String,
    /// Text is guarded against spreadsheet formulas in CSV; numbers are written as they are.
    pub is_text: bool,
}

impl Cell {
    fn text(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            is_text: true,
        }
    }

    fn number(value: f64) -> Cell {
        Cell {
            text: number_text(value),
            is_text: false,
        }
    }

    fn empty() -> Cell {
        Cell {
            text: String::new(),
            is_text: false,
        }
    }
}

/// A chart's data as rows under headings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DataTable {
    /// The headings.
    pub columns: Vec<String>,
    /// The cells, row by row, as many as there are headings.
    pub rows: Vec<Vec<Cell>>,
}

impl DataTable {
    /// The table as CSV (RFC 4180, CRLF line ends), headings first.
    pub fn to_csv(&self) -> String {
        let mut out = crate::csv::line(self.columns.iter().map(|c| (c.as_str(), true)));
        for row in &self.rows {
            out.push_str(&crate::csv::line(
                row.iter().map(|cell| (cell.text.as_str(), cell.is_text)),
            ));
        }
        out
    }
}

/// The data a chart draws, as a table:
/// - a pie: a row per slice that has no slices outside it, with the path from the centre
///   (one column per ring) and the metric;
/// - lines, areas and bars: a row per x value, a column per series;
/// - a metric: its one value; a data table: itself;
/// - a Sankey: a row per link.
///
/// Times are in the viewer's zone (`utc_offset_secs`) unless the chart is in UTC.
pub fn data_table(chart: &ChartData, utc_offset_secs: i32) -> DataTable {
    match chart {
        ChartData::Pie(pie) => {
            let mut columns: Vec<String> = pie.rings.iter().map(|r| r.label.clone()).collect();
            columns.push(pie.metric_label.clone());
            let mut rows = Vec::new();
            for (r, ring) in pie.rings.iter().enumerate() {
                let outer = pie.rings.get(r + 1);
                for (s, slice) in ring.slices.iter().enumerate() {
                    let has_outer =
                        outer.is_some_and(|o| o.slices.iter().any(|x| x.parent == Some(s)));
                    if has_outer {
                        continue;
                    }
                    // The path from the centre out, then blanks for the rings it has none in.
                    let mut path = vec![slice.label.clone()];
                    let mut parent = slice.parent;
                    for inner in pie.rings[..r].iter().rev() {
                        let Some(p) = parent else { break };
                        path.insert(0, inner.slices[p].label.clone());
                        parent = inner.slices[p].parent;
                    }
                    let mut row: Vec<Cell> = path.into_iter().map(Cell::text).collect();
                    row.resize(pie.rings.len(), Cell::empty());
                    row.push(Cell::number(slice.value));
                    rows.push(row);
                }
            }
            DataTable { columns, rows }
        }
        ChartData::Xy(xy) => {
            let xs = xy.x_values();
            let offset = if xy.utc { 0 } else { utc_offset_secs };
            let x_heading = if xy.x_title.is_empty() {
                "x".to_owned()
            } else {
                xy.x_title.clone()
            };
            let mut columns = vec![x_heading];
            columns.extend(xy.series.iter().map(|s| s.label.clone()));
            let rows = xs
                .iter()
                .map(|&x| {
                    let mut row = vec![match &xy.x {
                        XAxis::Time { .. } => Cell::text(format_time_full(x as i64, offset)),
                        XAxis::Numeric { .. } => Cell::number(x),
                        XAxis::Categories { labels } => {
                            Cell::text(labels.get(x as usize).cloned().unwrap_or_default())
                        }
                    }];
                    row.extend(xy.series.iter().map(|s| {
                        s.points
                            .iter()
                            .find(|p| p.0 == x)
                            .map_or_else(Cell::empty, |p| Cell::number(p.1))
                    }));
                    row
                })
                .collect();
            DataTable { columns, rows }
        }
        ChartData::Metric(metric) => DataTable {
            columns: metric.values.iter().map(|m| m.label.clone()).collect(),
            rows: vec![metric
                .values
                .iter()
                .map(|m| match (&m.text, m.value) {
                    (Some(text), _) => Cell::text(text.clone()),
                    (None, value) => value.map_or_else(Cell::empty, Cell::number),
                })
                .collect()],
        },
        // A row per link: where it leaves, where it enters, and its value.
        ChartData::Sankey(sankey) => DataTable {
            columns: vec![
                "From".into(),
                "From level".into(),
                "To".into(),
                "To level".into(),
                sankey.metric_label.clone(),
            ],
            rows: sankey
                .links
                .iter()
                .filter_map(|link| {
                    let (from, to) = (
                        sankey.nodes.get(link.source)?,
                        sankey.nodes.get(link.target)?,
                    );
                    let level = |node: &crate::result::SankeyNode| {
                        Cell::text(sankey.levels.get(node.level).cloned().unwrap_or_default())
                    };
                    Some(vec![
                        Cell::text(&from.label),
                        level(from),
                        Cell::text(&to.label),
                        level(to),
                        Cell::number(link.value),
                    ])
                })
                .collect(),
        },
        ChartData::Table(table) => DataTable {
            columns: table.columns.clone(),
            rows: table
                .rows
                .iter()
                .map(|row| row.iter().map(value_cell).collect())
                .collect(),
        },
    }
}

fn value_cell(value: &Value) -> Cell {
    match value {
        Value::Null => Cell::empty(),
        Value::Number(n) => Cell {
            text: n.to_string(),
            is_text: false,
        },
        Value::String(s) => Cell::text(s.clone()),
        other => Cell::text(other.to_string()),
    }
}

/// A number as a spreadsheet reads it: whole numbers without a fraction.
fn number_text(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        value.to_string()
    }
}

/// Statistics of a search answer, as Inspect › Requests lists them: hits and query time.
pub fn answer_statistics(response: &Value) -> Vec<(String, String)> {
    let mut stats = Vec::new();
    let total = response
        .pointer("/hits/total/value")
        .or_else(|| response.pointer("/hits/total"));
    if let Some(total) = total.and_then(Value::as_u64) {
        let relation = response
            .pointer("/hits/total/relation")
            .and_then(Value::as_str);
        let prefix = if relation == Some("gte") { "≥ " } else { "" };
        stats.push(("Hits (total)".into(), format!("{prefix}{total}")));
    }
    if let Some(took) = response.get("took").and_then(Value::as_u64) {
        stats.push(("Query time".into(), format!("{took} ms")));
    }
    if response.get("timed_out").and_then(Value::as_bool) == Some(true) {
        stats.push(("Timed out".into(), "yes: the answer may be partial".into()));
    }
    if let Some(partial) = partial_answer(response) {
        stats.push(("Partial".into(), partial));
    }
    stats
}

/// What an answer lacks, when some of its indices did not answer (Elasticsearch's failed
/// shards; flowdash's days whose flows retention deleted): which, and why, each reason once.
pub fn partial_answer(response: &Value) -> Option<String> {
    const NAMED: usize = 4;
    let shards = response.get("_shards")?;
    let failed = shards
        .get("failed")
        .and_then(Value::as_u64)
        .filter(|&n| n > 0)?;
    let total = shards
        .get("total")
        .and_then(Value::as_u64)
        .unwrap_or(failed);
    let mut indices: Vec<&str> = Vec::new();
    // Each reason once: the same reason for another index reads the same but for its name.
    let mut reasons: Vec<(String, &str)> = Vec::new();
    let failures = shards.get("failures").and_then(Value::as_array);
    for failure in failures.into_iter().flatten() {
        let index = failure.get("index").and_then(Value::as_str).unwrap_or("");
        if !index.is_empty() && !indices.contains(&index) {
            indices.push(index);
        }
        let reason = failure
            .pointer("/reason/reason")
            .or_else(|| failure.pointer("/reason/type"))
            .and_then(Value::as_str);
        if let Some(reason) = reason {
            let general = if index.is_empty() {
                reason.to_owned()
            } else {
                reason.replace(index, "")
            };
            if !reasons.iter().any(|(g, _)| *g == general) {
                reasons.push((general, reason));
            }
        }
    }
    let mut note = format!("{failed} of {total} indices did not answer");
    if !indices.is_empty() {
        let mut named = indices[..indices.len().min(NAMED)].join(", ");
        if indices.len() > NAMED {
            named.push_str(&format!(" and {} more", indices.len() - NAMED));
        }
        note.push_str(&format!(" ({named})"));
    }
    note.push_str(": the chart lacks their data");
    for (_, reason) in reasons.iter().take(3) {
        note.push_str("; ");
        note.push_str(reason);
    }
    Some(note)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn texts(table: &DataTable) -> Vec<Vec<&str>> {
        table
            .rows
            .iter()
            .map(|r| r.iter().map(|c| c.text.as_str()).collect())
            .collect()
    }

    #[test]
    fn an_answer_some_indices_did_not_give_says_so_each_reason_once() {
        let failure = |index: &str| {
            json!({ "shard": 0, "index": index, "reason": { "type": "flows_expired_exception",
                "reason": format!("the flows of {index} were deleted by retention (--retain-days)") } })
        };
        let answer = json!({ "_shards": { "total": 4, "successful": 2, "failed": 2,
            "failures": [failure("cwl-2020.03.05"), failure("cwl-2020.03.06")] } });
        let note = partial_answer(&answer).unwrap();
        assert!(
            note.starts_with("2 of 4 indices did not answer (cwl-2020.03.05, cwl-2020.03.06)"),
            "{note}"
        );
        assert_eq!(
            note.matches("were deleted by retention").count(),
            1,
            "{note}"
        );
        assert!(answer_statistics(&answer)
            .iter()
            .any(|(k, v)| k == "Partial" && *v == note));
        let whole = json!({ "_shards": { "total": 4, "successful": 4, "failed": 0 } });
        assert_eq!(partial_answer(&whole), None);
        assert_eq!(partial_answer(&json!({})), None);
    }

    #[test]
    fn a_nested_pie_is_a_row_per_outer_slice_with_its_path() {
        let chart = crate::charts::tests::seed_pie();
        let table = data_table(&chart, 0);
        assert_eq!(table.columns, ["action", "dstport", "Count"]);
        assert_eq!(
            texts(&table),
            [
                ["ACCEPT", "443 (https)", "60"],
                ["ACCEPT", "53 (dns)", "20"],
                ["REJECT", "22 (ssh)", "20"]
            ]
        );
        assert_eq!(
            table.to_csv(),
            "action,dstport,Count\r\nACCEPT,443 (https),60\r\nACCEPT,53 (dns),20\r\nREJECT,22 (ssh),20\r\n"
        );
    }

    #[test]
    fn series_over_time_are_a_row_per_time_in_the_viewers_zone_and_a_column_per_series() {
        let chart = crate::charts::tests::flows_by_action(&[
            ("ACCEPT", &[(0, 5), (1, 7)]),
            ("REJECT", &[(1, 2)]),
        ]);
        let table = data_table(&chart, 3600);
        assert_eq!(&table.columns[1..], ["ACCEPT", "REJECT"]);
        assert_eq!(
            texts(&table),
            [
                ["1970-01-01 01:00:00", "5", ""],
                ["1970-01-01 01:01:00", "7", "2"]
            ]
        );
    }

    #[test]
    fn text_that_a_spreadsheet_would_run_is_defused_and_numbers_are_not() {
        let table = DataTable {
            columns: vec!["name, with comma".into(), "n".into()],
            rows: vec![vec![Cell::text("=HYPERLINK(\"x\")"), Cell::number(-3.0)]],
        };
        assert_eq!(
            table.to_csv(),
            "\"name, with comma\",n\r\n\"'=HYPERLINK(\"\"x\"\")\",-3\r\n"
        );
    }

    #[test]
    fn statistics_name_hits_and_query_time() {
        let stats = answer_statistics(
            &json!({ "took": 12, "timed_out": false, "hits": { "total": { "value": 10000, "relation": "gte" } } }),
        );
        assert_eq!(
            stats,
            [
                ("Hits (total)".to_owned(), "≥ 10000".to_owned()),
                ("Query time".to_owned(), "12 ms".to_owned())
            ]
        );
    }
}
