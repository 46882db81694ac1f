//! `multi_terms`, `composite` and `rare_terms` against answers computed from the records of
//! the shared fixture (two days of flows, so two indices and several segments to merge).

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use serde_json::{json, Value as Json};

use super::super::super::search_at;
use super::super::super::tests::{fixture, int, search, search_error};
use crate::backend::embedded::{EmbeddedEngine, OnExistingId};
use crate::ingest::document::FlowDoc;
use crate::ingest::DocSink;
use crate::ingest::DocValue;

fn action(doc: &FlowDoc) -> Option<String> {
    match doc.get("action")? {
        DocValue::Str(s) => Some(s.to_string()),
        _ => None,
    }
}

fn address(doc: &FlowDoc, field: &str) -> Option<String> {
    match doc.get(field)? {
        DocValue::Ip(ip) => Some(ip.to_string()),
        _ => None,
    }
}

#[test]
fn multi_terms_counts_each_combination_and_chooses_as_terms_does() {
    let response = search(json!({
        "size": 0,
        "aggs": { "pairs": { "multi_terms": {
            "terms": [ { "field": "action" }, { "field": "dstport", "missing": -1 } ],
            "size": 6
        } } }
    }));
    let mut counts: HashMap<(String, i64), u64> = HashMap::new();
    for doc in &fixture().docs {
        if let Some(action) = action(doc) {
            let port = int(doc, "dstport").unwrap_or(-1);
            *counts.entry((action, port)).or_default() += 1;
        }
    }
    let mut expected: Vec<((String, i64), u64)> = counts.into_iter().collect();
    expected.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let other: u64 = expected[6..].iter().map(|(_, c)| c).sum();
    expected.truncate(6);
    let agg = &response["aggregations"]["pairs"];
    let got: Vec<((String, i64), u64)> = agg["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let key = b["key"].as_array().unwrap();
            assert_eq!(
                b["key_as_string"],
                format!("{}|{}", key[0].as_str().unwrap(), key[1]),
                "{b}"
            );
            (
                (
                    key[0].as_str().unwrap().to_owned(),
                    key[1].as_i64().unwrap(),
                ),
                b["doc_count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, expected);
    assert_eq!(agg["sum_other_doc_count"], other);
    assert_eq!(agg["doc_count_error_upper_bound"], 0);
}

#[test]
fn multi_terms_orders_by_a_sub_aggregation_and_keys_addresses_as_text() {
    let response = search(json!({
        "size": 0,
        "aggs": { "talkers": {
            "multi_terms": {
                "terms": [ { "field": "srcaddr" }, { "field": "action" } ],
                "order": { "volume": "desc" },
                "size": 5
            },
            "aggs": { "volume": { "sum": { "field": "bytes" } } }
        } }
    }));
    let mut sums: HashMap<(String, String), (u64, f64)> = HashMap::new();
    for doc in &fixture().docs {
        if let (Some(source), Some(action)) = (address(doc, "srcaddr"), action(doc)) {
            let entry = sums.entry((source, action)).or_default();
            entry.0 += 1;
            entry.1 += int(doc, "bytes").unwrap_or(0) as f64;
        }
    }
    let mut expected: Vec<_> = sums.into_iter().collect();
    expected.sort_by(|a, b| b.1 .1.total_cmp(&a.1 .1).then(a.0.cmp(&b.0)));
    expected.truncate(5);
    let buckets = response["aggregations"]["talkers"]["buckets"]
        .as_array()
        .unwrap();
    assert_eq!(buckets.len(), 5);
    for (bucket, ((source, action), (count, bytes))) in buckets.iter().zip(&expected) {
        assert_eq!(bucket["key"], json!([source, action]), "{bucket}");
        assert_eq!(bucket["doc_count"], *count);
        assert_eq!(bucket["volume"]["value"].as_f64().unwrap(), *bytes);
    }
}

/// The overview's top conversations: four sources, addresses among them, each segment's
/// tuples kept as rows and only the candidates for the best decoded and merged. The answer
/// must be what merging every bucket gives: the same buckets, sums and other count.
#[test]
fn multi_terms_of_conversations_chooses_the_best_exactly() {
    type Conversation = (String, String, i64, i64);
    let mut all: HashMap<Conversation, (u64, f64, f64)> = HashMap::new();
    for doc in &fixture().docs {
        let (Some(source), Some(destination), Some(port), Some(protocol)) = (
            address(doc, "srcaddr"),
            address(doc, "dstaddr"),
            int(doc, "dstport"),
            int(doc, "protocol"),
        ) else {
            continue;
        };
        let entry =
            all.entry((source, destination, port, protocol))
                .or_insert((0, 0.0, f64::NEG_INFINITY));
        entry.0 += 1;
        let bytes = int(doc, "bytes").map(|b| b as f64);
        entry.1 += bytes.unwrap_or(0.0);
        entry.2 = entry.2.max(bytes.unwrap_or(f64::NEG_INFINITY));
    }
    assert!(all.len() > 100, "enough conversations to choose from");
    // Keys sort as the engine sorts them: addresses by number, then port and protocol.
    let key_order = |(source, destination, port, protocol): &Conversation| {
        let number = |address: &str| match address.parse::<IpAddr>().unwrap() {
            IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
            IpAddr::V6(v6) => u128::from(v6),
        };
        (number(source), number(destination), *port, *protocol)
    };
    let total: u64 = all.values().map(|v| v.0).sum();
    for (order, rank) in [
        (json!({ "_count": "desc" }), 0),
        (json!({ "volume": "desc" }), 1),
        (json!({ "largest": "desc" }), 2),
    ] {
        let response = search(json!({
            "size": 0,
            "aggs": { "conversations": {
                "multi_terms": {
                    "terms": [ { "field": "srcaddr" }, { "field": "dstaddr" },
                               { "field": "dstport" }, { "field": "protocol" } ],
                    "order": [ order.clone(), { "_key": "asc" } ],
                    "size": 7
                },
                "aggs": {
                    "volume": { "sum": { "field": "bytes" } },
                    "largest": { "max": { "field": "bytes" } }
                }
            } }
        }));
        let value = |v: &(u64, f64, f64)| match rank {
            0 => v.0 as f64,
            1 => v.1,
            _ => v.2,
        };
        let mut expected: Vec<_> = all.iter().collect();
        expected.sort_by(|a, b| {
            value(b.1)
                .total_cmp(&value(a.1))
                .then_with(|| key_order(a.0).cmp(&key_order(b.0)))
        });
        let agg = &response["aggregations"]["conversations"];
        let buckets = agg["buckets"].as_array().unwrap();
        assert_eq!(buckets.len(), 7, "{order}");
        let mut shown = 0;
        for (bucket, ((source, destination, port, protocol), (count, bytes, max))) in
            buckets.iter().zip(&expected)
        {
            assert_eq!(
                bucket["key"],
                json!([source, destination, port, protocol]),
                "{order}: {bucket}"
            );
            assert_eq!(bucket["doc_count"], *count, "{order}");
            assert_eq!(bucket["volume"]["value"].as_f64().unwrap(), *bytes);
            assert_eq!(bucket["largest"]["value"].as_f64().unwrap(), *max);
            shown += count;
        }
        assert_eq!(agg["sum_other_doc_count"], total - shown, "{order}");
    }
}

/// A `multi_terms` with no sub-aggregation (rows of counts alone), under each bucket of a
/// `terms`: every action's best (source, port) pairs, as the records give them.
#[test]
fn multi_terms_by_count_alone_under_terms_matches_the_records() {
    let response = search(json!({
        "size": 0,
        "aggs": { "actions": {
            "terms": { "field": "action" },
            "aggs": { "pairs": { "multi_terms": {
                "terms": [ { "field": "srcaddr" }, { "field": "dstport" } ],
                "size": 4
            } } }
        } }
    }));
    let mut counts: BTreeMap<String, HashMap<(IpAddr, i64), u64>> = BTreeMap::new();
    for doc in &fixture().docs {
        if let (Some(action), Some(source), Some(port)) =
            (action(doc), address(doc, "srcaddr"), int(doc, "dstport"))
        {
            *counts
                .entry(action)
                .or_default()
                .entry((source.parse().unwrap(), port))
                .or_default() += 1;
        }
    }
    let actions = response["aggregations"]["actions"]["buckets"]
        .as_array()
        .unwrap();
    assert_eq!(actions.len(), counts.len());
    for bucket in actions {
        let pairs = &counts[bucket["key"].as_str().unwrap()];
        let number = |ip: &IpAddr| match ip {
            IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
            IpAddr::V6(v6) => u128::from(*v6),
        };
        let mut expected: Vec<_> = pairs.iter().collect();
        expected.sort_by(|a, b| {
            b.1.cmp(a.1)
                .then_with(|| (number(&a.0 .0), a.0 .1).cmp(&(number(&b.0 .0), b.0 .1)))
        });
        let got: Vec<(Json, u64)> = bucket["pairs"]["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| (b["key"].clone(), b["doc_count"].as_u64().unwrap()))
            .collect();
        let want: Vec<(Json, u64)> = expected
            .iter()
            .take(4)
            .map(|((source, port), count)| (json!([source.to_string(), port]), **count))
            .collect();
        assert_eq!(got, want, "{}", bucket["key"]);
        let shown: u64 = want.iter().map(|w| w.1).sum();
        let total: u64 = pairs.values().sum();
        assert_eq!(bucket["pairs"]["sum_other_doc_count"], total - shown);
    }
}

/// Pages through a composite aggregation with `after_key` until a page comes back empty.
fn all_pages(composite: Json) -> Vec<Json> {
    all_pages_of(composite, search)
}

fn all_pages_of(composite: Json, search: impl Fn(Json) -> Json) -> Vec<Json> {
    let mut buckets = Vec::new();
    let mut after: Option<Json> = None;
    for _ in 0..10_000 {
        let mut request = composite.clone();
        if let Some(after) = &after {
            request["after"] = after.clone();
        }
        let response = search(json!({ "size": 0, "aggs": { "page": { "composite": request } } }));
        let page = &response["aggregations"]["page"];
        let page_buckets = page["buckets"].as_array().unwrap();
        if page_buckets.is_empty() {
            assert!(page.get("after_key").is_none(), "{page}");
            return buckets;
        }
        assert_eq!(
            page["after_key"],
            page_buckets.last().unwrap()["key"],
            "after_key is the last key of the page"
        );
        assert!(page_buckets.len() <= composite["size"].as_u64().unwrap() as usize);
        after = Some(page["after_key"].clone());
        buckets.extend(page_buckets.iter().cloned());
    }
    panic!("composite paging did not end");
}

/// A composite key in its page order: action ascending, port descending, hour ascending.
type ActionPortHour = (String, Reverse<Option<i64>>, i64);

#[test]
fn composite_pages_through_every_combination_in_key_order() {
    const HOUR: i64 = 3_600_000;
    let buckets = all_pages(json!({
        "size": 7,
        "sources": [
            { "action": { "terms": { "field": "action" } } },
            { "port": { "terms": { "field": "dstport", "order": "desc", "missing_bucket": true } } },
            { "hour": { "date_histogram": { "field": "@timestamp", "fixed_interval": "1h" } } }
        ]
    }));
    // (action asc, port desc with no port last, hour asc) → flows.
    let mut expected: BTreeMap<ActionPortHour, u64> = BTreeMap::new();
    for doc in &fixture().docs {
        if let Some(action) = action(doc) {
            let hour = doc.timestamp_ms.div_euclid(HOUR) * HOUR;
            let port = Reverse(int(doc, "dstport"));
            *expected.entry((action, port, hour)).or_default() += 1;
        }
    }
    let got: Vec<(ActionPortHour, u64)> = buckets
        .iter()
        .map(|b| {
            let key = &b["key"];
            (
                (
                    key["action"].as_str().unwrap().to_owned(),
                    Reverse(key["port"].as_i64()),
                    key["hour"].as_i64().unwrap(),
                ),
                b["doc_count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, expected.into_iter().collect::<Vec<_>>());
}

/// A composite key in its page order: source ascending, port descending, bytes ascending.
type SourcePortBytes = (IpAddr, Reverse<i64>, i64);

#[test]
fn composite_holds_a_few_pages_however_many_combinations_there_are() {
    // The fixture's last 24 hours of flows in an engine of their own, whose searches may
    // take 1 MB: pages of 100 need about half of that (a few pages per segment), every
    // combination at once more than all of it.
    let last = fixture().docs.iter().map(|d| d.timestamp_ms).max().unwrap();
    let since = last - 24 * 3_600_000;
    let flows: Vec<&FlowDoc> = fixture()
        .docs
        .iter()
        .filter(|d| d.timestamp_ms > since)
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(EmbeddedEngine::open(dir.path()).unwrap());
    let mut sink = engine.sink(OnExistingId::KeepExisting);
    for doc in &flows {
        sink.write((*doc).clone()).unwrap();
    }
    sink.flush().unwrap();
    engine.set_collect_budget(1 << 20);
    let run = |body: Json| search_at(&engine, "cwl-*", &body, 0);

    // Nearly every flow is its own (source, source port, bytes): every combination at
    // once does not fit.
    let everything = run(json!({ "size": 0, "aggs": { "all": { "multi_terms": {
        "terms": [ { "field": "srcaddr" }, { "field": "srcport" }, { "field": "bytes" } ],
        "size": 100_000
    } } } }));
    assert!(
        everything.is_err(),
        "the budget is too small for every combination"
    );

    // Pages of 100 are answered, and together they are every combination in key order.
    let sources = json!([
        { "src": { "terms": { "field": "srcaddr" } } },
        { "sport": { "terms": { "field": "srcport", "order": "desc" } } },
        { "bytes": { "terms": { "field": "bytes" } } }
    ]);
    let buckets = all_pages_of(json!({ "size": 100, "sources": sources }), |body| {
        run(body.clone()).unwrap_or_else(|e| panic!("{e}: {body}"))
    });
    let mut expected: BTreeMap<SourcePortBytes, u64> = BTreeMap::new();
    for doc in flows {
        if let (Some(src), Some(sport), Some(bytes)) = (
            address(doc, "srcaddr"),
            int(doc, "srcport"),
            int(doc, "bytes"),
        ) {
            let src: IpAddr = src.parse().unwrap();
            *expected.entry((src, Reverse(sport), bytes)).or_default() += 1;
        }
    }
    assert!(expected.len() > 4_000, "{} combinations", expected.len());
    let got: Vec<(SourcePortBytes, u64)> = buckets
        .iter()
        .map(|b| {
            let key = &b["key"];
            (
                (
                    key["src"].as_str().unwrap().parse().unwrap(),
                    Reverse(key["sport"].as_i64().unwrap()),
                    key["bytes"].as_i64().unwrap(),
                ),
                b["doc_count"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<_> = expected.into_iter().collect();
    if let Some(at) = (0..got.len().min(expected.len())).find(|&i| got[i] != expected[i]) {
        panic!(
            "bucket {at}: got {:?}, expected {:?}",
            &got[at..(at + 3).min(got.len())],
            &expected[at..(at + 3).min(expected.len())]
        );
    }
    assert_eq!(got.len(), expected.len());
}

#[test]
fn composite_histogram_source_with_a_sub_aggregation_and_a_formatted_date() {
    let buckets = all_pages(json!({
        "size": 25,
        "sources": [
            { "day": { "date_histogram": { "field": "@timestamp", "calendar_interval": "1d",
                "format": "yyyy-MM-dd" } } },
            { "size": { "histogram": { "field": "bytes", "interval": 5000 } } }
        ]
    }));
    let mut expected: BTreeMap<(String, i64), u64> = BTreeMap::new();
    for doc in &fixture().docs {
        if let Some(bytes) = int(doc, "bytes") {
            let day = chrono::DateTime::from_timestamp_millis(doc.timestamp_ms)
                .unwrap()
                .format("%Y-%m-%d")
                .to_string();
            *expected
                .entry((day, bytes.div_euclid(5000) * 5000))
                .or_default() += 1;
        }
    }
    let got: Vec<((String, i64), u64)> = buckets
        .iter()
        .map(|b| {
            let size = &b["key"]["size"];
            assert!(size.is_f64(), "histogram keys are doubles: {b}");
            (
                (
                    b["key"]["day"].as_str().unwrap().to_owned(),
                    size.as_f64().unwrap() as i64,
                ),
                b["doc_count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, expected.into_iter().collect::<Vec<_>>());

    // A page asked after a formatted date, with a sum in each bucket.
    let first_day = got[0].0 .0.clone();
    let response = search(json!({ "size": 0, "aggs": { "page": {
        "composite": {
            "size": 3,
            "sources": [ { "day": { "date_histogram": { "field": "@timestamp",
                "calendar_interval": "1d", "format": "yyyy-MM-dd" } } } ],
            "after": { "day": first_day }
        },
        "aggs": { "bytes": { "sum": { "field": "bytes" } } }
    } } }));
    let page = response["aggregations"]["page"]["buckets"]
        .as_array()
        .unwrap();
    assert!(!page.is_empty());
    for bucket in page {
        let day = bucket["key"]["day"].as_str().unwrap();
        assert!(day > first_day.as_str(), "{day} comes after {first_day}");
        let flows: Vec<&FlowDoc> = fixture()
            .docs
            .iter()
            .filter(|d| {
                chrono::DateTime::from_timestamp_millis(d.timestamp_ms)
                    .unwrap()
                    .format("%Y-%m-%d")
                    .to_string()
                    == day
            })
            .collect();
        assert_eq!(bucket["doc_count"], flows.len());
        let bytes: i64 = flows.iter().filter_map(|d| int(d, "bytes")).sum();
        assert_eq!(bucket["bytes"]["value"].as_f64().unwrap(), bytes as f64);
    }
}

#[test]
fn rare_terms_lists_every_term_with_few_flows_rarest_first() {
    let response = search(json!({
        "size": 0,
        "aggs": { "rare": { "rare_terms": { "field": "dstport", "max_doc_count": 2 } } }
    }));
    let mut counts: HashMap<i64, u64> = HashMap::new();
    for doc in &fixture().docs {
        if let Some(port) = int(doc, "dstport") {
            *counts.entry(port).or_default() += 1;
        }
    }
    let mut expected: Vec<(i64, u64)> = counts.into_iter().filter(|(_, c)| *c <= 2).collect();
    expected.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    assert!(!expected.is_empty(), "the demo traffic has rare ports");
    let agg = &response["aggregations"]["rare"];
    let got: Vec<(i64, u64)> = agg["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["key"].as_i64().unwrap(), b["doc_count"].as_u64().unwrap()))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(
        agg.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["buckets"],
        "rare_terms answers buckets only"
    );
}

#[test]
fn malformed_requests_get_elasticsearch_errors() {
    let cases = [
        (
            json!({ "multi_terms": { "terms": [ { "field": "action" } ] } }),
            "must be present and have at least 2 fields or scripts. For a single field user terms aggregation.",
        ),
        (
            json!({ "rare_terms": { "field": "action", "max_doc_count": 101 } }),
            "[max_doc_count] must be smallerthan 100in [x]",
        ),
        (
            json!({ "rare_terms": { "field": "action", "max_doc_count": 0 } }),
            "[max_doc_count] must be greater than 0. Found [0] in [x]",
        ),
        (json!({ "composite": { "size": 3 } }), "Required [sources]"),
        (
            json!({ "composite": { "sources": [] } }),
            "Composite [sources] cannot be null or empty",
        ),
        (
            json!({ "composite": { "sources": [
                { "a": { "terms": { "field": "action" } } },
                { "a": { "terms": { "field": "dstport" } } } ] } }),
            "Composite source names must be unique, found duplicates: [a]",
        ),
        (
            json!({ "composite": {
                "sources": [ { "a": { "terms": { "field": "action" } } } ],
                "after": { "a": "ACCEPT", "b": 1 } } }),
            "[after] has 2 value(s) but [sources] has 1",
        ),
        (
            json!({ "composite": {
                "sources": [ { "a": { "terms": { "field": "action" } } } ],
                "after": { "a": 7 } } }),
            "invalid value, expected string, got Integer",
        ),
        (
            json!({ "composite": { "sources": [
                { "a": { "terms": { "field": "action", "order": -1 } } } ] } }),
            "[order] of source [a] must be [asc] or [desc], found [-1]",
        ),
        (
            json!({ "terms": { "field": "action" }, "aggs": { "inner": { "composite": {
                "sources": [ { "a": { "terms": { "field": "dstport" } } } ] } } } }),
            "[composite] aggregation cannot be used with a parent aggregation of type: [TermsAggregatorFactory]",
        ),
    ];
    for (agg, message) in cases {
        let error = search_error(json!({ "size": 0, "aggs": { "x": agg } }));
        assert!(error.contains(message), "{agg}: {error}");
    }
}
