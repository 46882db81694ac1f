//! `significant_terms` against scores computed from the records of the shared fixture (two
//! days of flows, so two indices): the background is every flow of every index named,
//! whatever the time range of the foreground.

use std::collections::HashMap;

use serde_json::{json, Value as Json};

use super::super::super::tests::{fixture, int, search, search_error};
use crate::ingest::document::FlowDoc;
use crate::ingest::DocValue;

fn action(doc: &FlowDoc) -> Option<&str> {
    match doc.get("action")? {
        DocValue::Str(s) => Some(s),
        _ => None,
    }
}

/// Flows by destination port among `flows`.
fn ports<'a>(flows: impl Iterator<Item = &'a FlowDoc>) -> HashMap<i64, u64> {
    let mut counts = HashMap::new();
    for doc in flows {
        if let Some(port) = int(doc, "dstport") {
            *counts.entry(port).or_default() += 1;
        }
    }
    counts
}

/// Elasticsearch's JLH score, written out here from its definition.
fn jlh(subset_freq: u64, subset_size: u64, superset_freq: u64, superset_size: u64) -> f64 {
    let foreground = subset_freq as f64 / subset_size as f64;
    let background = superset_freq.max(1) as f64 / superset_size as f64;
    if foreground <= background {
        return 0.0;
    }
    (foreground - background) * (foreground / background)
}

/// The buckets Elasticsearch would show: scores above zero of terms with at least
/// `min_doc_count` flows, best first, `size` of them.
fn expected(
    foreground: &HashMap<i64, u64>,
    subset_size: u64,
    background: &HashMap<i64, u64>,
    superset_size: u64,
    score: impl Fn(u64, u64, u64, u64) -> f64,
    size: usize,
) -> Vec<(i64, u64, u64, f64)> {
    let mut buckets: Vec<(i64, u64, u64, f64)> = foreground
        .iter()
        .filter(|(_, &count)| count >= 3)
        .map(|(&port, &count)| {
            let bg = background.get(&port).copied().unwrap_or(0);
            (
                port,
                count,
                bg,
                score(count, subset_size, bg, superset_size),
            )
        })
        .filter(|b| b.3 > 0.0)
        .collect();
    buckets.sort_by(|a, b| {
        b.3.total_cmp(&a.3)
            .then(a.0.to_string().cmp(&b.0.to_string()))
    });
    buckets.truncate(size);
    buckets
}

fn got(agg: &Json) -> Vec<(i64, u64, u64, f64)> {
    agg["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["key"].as_i64().unwrap(),
                b["doc_count"].as_u64().unwrap(),
                b["bg_count"].as_u64().unwrap(),
                b["score"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn assert_same(got: &[(i64, u64, u64, f64)], expected: &[(i64, u64, u64, f64)]) {
    assert_eq!(got.len(), expected.len(), "{got:?}\n{expected:?}");
    for (g, e) in got.iter().zip(expected) {
        assert_eq!((g.0, g.1, g.2), (e.0, e.1, e.2), "{got:?}\n{expected:?}");
        assert!(
            (g.3 - e.3).abs() <= 1e-12 * e.3.abs().max(1.0),
            "{g:?} {e:?}"
        );
    }
}

#[test]
fn ports_significant_in_rejected_flows_against_every_flow_of_every_day() {
    let docs = &fixture().docs;
    let last = docs.iter().map(|d| d.timestamp_ms).max().unwrap();
    let since = last - 6 * 3_600_000;
    // The foreground is the last six hours' rejected flows; the background is both days.
    let response = search(json!({
        "size": 0,
        "track_total_hits": true,
        "query": { "bool": { "filter": [
            { "term": { "action": "REJECT" } },
            { "range": { "@timestamp": { "gt": since, "format": "epoch_millis" } } }
        ] } },
        "aggs": { "odd": { "significant_terms": { "field": "dstport", "size": 5 } } }
    }));
    let foreground: Vec<&FlowDoc> = docs
        .iter()
        .filter(|d| action(d) == Some("REJECT") && d.timestamp_ms > since)
        .collect();
    let agg = &response["aggregations"]["odd"];
    assert_eq!(agg["doc_count"], foreground.len());
    assert_eq!(agg["bg_count"], docs.len(), "every flow of both days");
    let want = expected(
        &ports(foreground.iter().copied()),
        foreground.len() as u64,
        &ports(docs.iter()),
        docs.len() as u64,
        jlh,
        5,
    );
    assert!(!want.is_empty());
    assert_same(&got(agg), &want);
}

#[test]
fn under_a_terms_bucket_the_foreground_is_that_bucket() {
    let docs = &fixture().docs;
    let response = search(json!({
        "size": 0,
        "aggs": { "by_action": { "terms": { "field": "action" },
            "aggs": { "odd": { "significant_terms": { "field": "dstport",
                "percentage": {} } } } } }
    }));
    let background = ports(docs.iter());
    let buckets = response["aggregations"]["by_action"]["buckets"]
        .as_array()
        .unwrap();
    assert_eq!(buckets.len(), 2);
    for bucket in buckets {
        let name = bucket["key"].as_str().unwrap();
        let flows: Vec<&FlowDoc> = docs.iter().filter(|d| action(d) == Some(name)).collect();
        let agg = &bucket["odd"];
        assert_eq!(agg["doc_count"], flows.len(), "{name}");
        let percentage = |f: u64, _: u64, bg: u64, _: u64| {
            if bg == 0 {
                0.0
            } else {
                f as f64 / bg as f64
            }
        };
        let want = expected(
            &ports(flows.iter().copied()),
            flows.len() as u64,
            &background,
            docs.len() as u64,
            percentage,
            10,
        );
        assert_same(&got(agg), &want);
    }
}

#[test]
fn a_background_filter_narrows_what_terms_are_compared_with() {
    let docs = &fixture().docs;
    let response = search(json!({
        "size": 0,
        "query": { "term": { "action": "REJECT" } },
        "aggs": { "odd": { "significant_terms": { "field": "dstport",
            "background_filter": { "term": { "action": "ACCEPT" } },
            "min_doc_count": 10 } } }
    }));
    let rejected: Vec<&FlowDoc> = docs
        .iter()
        .filter(|d| action(d) == Some("REJECT"))
        .collect();
    let accepted: Vec<&FlowDoc> = docs
        .iter()
        .filter(|d| action(d) == Some("ACCEPT"))
        .collect();
    let agg = &response["aggregations"]["odd"];
    assert_eq!(agg["bg_count"], accepted.len());
    let mut want = expected(
        &ports(rejected.iter().copied()),
        rejected.len() as u64,
        &ports(accepted.iter().copied()),
        accepted.len() as u64,
        jlh,
        usize::MAX,
    );
    want.retain(|b| b.1 >= 10);
    want.truncate(10);
    assert_same(&got(agg), &want);

    // That background holds none of the foreground: the heuristics that take it for a
    // superset refuse it, as Elasticsearch does, and score it once told it is not one.
    for heuristic in ["mutual_information", "chi_square", "gnd"] {
        let body = |superset: bool| {
            json!({ "size": 0, "query": { "term": { "action": "REJECT" } },
                "aggs": { "odd": { "significant_terms": { "field": "dstport",
                    "background_filter": { "term": { "action": "ACCEPT" } },
                    heuristic: { "background_is_superset": superset } } } } })
        };
        let error = search_error(body(true));
        assert!(
            error.contains("subsetFreq > supersetFreq, does your background filter not include all documents in the bucket?"),
            "{heuristic}: {error}"
        );
        let scored = search(body(false));
        assert!(
            !got(&scored["aggregations"]["odd"]).is_empty(),
            "{heuristic}: {scored}"
        );
    }
}

#[test]
fn what_it_cannot_take_is_refused_by_name() {
    let cases = [
        (
            json!({ "field": "dstport", "jlh": {}, "chi_square": {} }),
            "Found two significance heuristics",
        ),
        (
            json!({ "field": "dstport", "script_heuristic": { "script": "1" } }),
            "[script_heuristic] is not supported by the embedded engine",
        ),
        (
            json!({ "field": "dstport", "gnd": { "include_negatives": true } }),
            "include_negatives",
        ),
    ];
    for (options, message) in cases {
        let error = search_error(json!({ "size": 0,
            "aggs": { "x": { "significant_terms": options.clone() } } }));
        assert!(error.contains(message), "{options}: {error}");
    }
}
