//! The embedded engine against answers computed independently from the records themselves,
//! on demo traffic: terms, nested terms, date histograms in several zones and intervals,
//! metrics, filters, query strings with CIDR blocks, hits.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use chrono::{TimeZone, Timelike};
use serde_json::{json, Value as Json};

use super::search_at;
use crate::backend::embedded::{EmbeddedEngine, OnExistingId};
use crate::ingest::demo::{demo_format, generate, DemoConfig};
use crate::ingest::document::{EventContext, FlowDoc};
use crate::ingest::parse::parse_record;
use crate::ingest::{DocSink, DocValue};

/// 2020-03-06T12:00:00Z: the demo traffic ends here, and "now" is here.
const END: i64 = 1_583_496_000_000;

/// 30,000 demo flows over 30 hours, indexed, and the records themselves: the oracle every
/// aggregation's answer is checked against (also by the kinds' own tests).
pub(crate) struct Fixture {
    engine: Arc<EmbeddedEngine>,
    pub(crate) docs: Vec<FlowDoc>,
    _dir: tempfile::TempDir,
}

pub(crate) fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let engine = Arc::new(EmbeddedEngine::open(dir.path()).unwrap());
        let format = demo_format();
        let mut docs = Vec::new();
        generate(
            &DemoConfig {
                flows: 30_000,
                hours: 30,
                end_ms: END,
                seed: 42,
            },
            |line| {
                let mut values = Vec::new();
                parse_record(&format, line, &mut values).unwrap();
                docs.push(
                    FlowDoc::from_record(&format, &values, line, &EventContext::default()).unwrap(),
                );
            },
        );
        let mut sink = engine.sink(OnExistingId::KeepExisting);
        for doc in &docs {
            sink.write(doc.clone()).unwrap();
        }
        let outcome = sink.flush().unwrap();
        assert_eq!(
            outcome.stored as usize,
            docs.len(),
            "demo records are unique"
        );
        engine
            .close_idle_writers(std::time::Duration::ZERO, 0)
            .unwrap();
        Fixture {
            engine,
            docs,
            _dir: dir,
        }
    })
}

/// Searches the fixture; panics on an error.
pub(crate) fn search(body: Json) -> Json {
    search_at(&fixture().engine, "cwl-*", &body, END).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// The error message of a search of the fixture that must fail.
pub(crate) fn search_error(body: Json) -> String {
    match search_at(&fixture().engine, "cwl-*", &body, END) {
        Ok(answer) => panic!("{body} was answered: {answer}"),
        Err(error) => error.to_string(),
    }
}

fn text(doc: &FlowDoc, field: &str) -> Option<String> {
    match doc.get(field)? {
        DocValue::Str(s) => Some(s.to_string()),
        DocValue::Int(v) => Some(v.to_string()),
        DocValue::Ip(ip) => Some(ip.to_string()),
    }
}

pub(crate) fn int(doc: &FlowDoc, field: &str) -> Option<i64> {
    match doc.get(field)? {
        DocValue::Int(v) => Some(*v),
        _ => None,
    }
}

fn in_range(doc: &FlowDoc, from: i64, to: i64) -> bool {
    doc.timestamp_ms >= from && doc.timestamp_ms < to
}

fn range_filter(from: i64, to: i64) -> Json {
    json!({ "range": { "@timestamp": { "gte": from, "lt": to, "format": "epoch_millis" } } })
}

/// Counts by key, sorted like a terms aggregation (count desc, key asc).
fn top_terms(counts: HashMap<String, u64>, size: usize) -> (Vec<(String, u64)>, u64) {
    let mut sorted: Vec<(String, u64)> = counts.into_iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let other = sorted.iter().skip(size).map(|(_, c)| c).sum();
    sorted.truncate(size);
    (sorted, other)
}

fn buckets(value: &Json) -> Vec<(String, u64)> {
    value["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let key = match &b["key"] {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            };
            (key, b["doc_count"].as_u64().unwrap())
        })
        .collect()
}

#[test]
fn the_seed_pie_action_then_destination_port() {
    let from = END - 6 * 3_600_000;
    let response = search(json!({
        "size": 0,
        "query": { "bool": { "filter": [ range_filter(from, END) ] } },
        "aggs": { "2": { "terms": { "field": "action", "order": { "_count": "desc" }, "size": 5 },
            "aggs": { "3": { "terms": { "field": "dstport", "order": { "_count": "desc" }, "size": 5 } } } } }
    }));
    let docs: Vec<&FlowDoc> = fixture()
        .docs
        .iter()
        .filter(|d| in_range(d, from, END))
        .collect();
    assert_eq!(response["hits"]["total"]["value"], docs.len());
    let mut by_action: HashMap<String, u64> = HashMap::new();
    for doc in &docs {
        if let Some(action) = text(doc, "action") {
            *by_action.entry(action).or_default() += 1;
        }
    }
    let (expected, other) = top_terms(by_action, 5);
    let outer = &response["aggregations"]["2"];
    assert_eq!(buckets(outer), expected);
    assert_eq!(outer["sum_other_doc_count"], other);
    assert_eq!(outer["doc_count_error_upper_bound"], 0);
    for bucket in outer["buckets"].as_array().unwrap() {
        let action = bucket["key"].as_str().unwrap();
        let mut ports: HashMap<String, u64> = HashMap::new();
        for doc in docs
            .iter()
            .filter(|d| text(d, "action").as_deref() == Some(action))
        {
            if let Some(port) = int(doc, "dstport") {
                *ports.entry(port.to_string()).or_default() += 1;
            }
        }
        let (expected, other) = top_terms(ports, 5);
        assert_eq!(buckets(&bucket["3"]), expected, "ports under {action}");
        assert_eq!(bucket["3"]["sum_other_doc_count"], other);
        assert!(
            bucket["3"]["buckets"][0]["key"].is_number(),
            "numeric keys stay numbers"
        );
    }
}

#[test]
fn per_minute_accept_reject_over_the_last_hour() {
    let from = END - 3_600_000;
    let response = search(json!({
        "size": 0,
        "query": { "bool": { "filter": [ { "range": { "@timestamp": { "gte": "now-1h", "lte": "now", "format": "strict_date_optional_time" } } } ] } },
        "aggs": { "t": { "date_histogram": { "field": "@timestamp", "fixed_interval": "1m", "min_doc_count": 0,
                "extended_bounds": { "min": "now-1h", "max": "now" } },
            "aggs": { "a": { "terms": { "field": "action.keyword", "size": 3 } } } } }
    }));
    let histogram = response["aggregations"]["t"]["buckets"].as_array().unwrap();
    assert_eq!(
        histogram.len(),
        61,
        "an hour of minutes, both ends included"
    );
    let mut expected: BTreeMap<(i64, String), u64> = BTreeMap::new();
    for doc in fixture()
        .docs
        .iter()
        .filter(|d| d.timestamp_ms >= from && d.timestamp_ms <= END)
    {
        if let Some(action) = text(doc, "action") {
            *expected
                .entry((doc.timestamp_ms / 60_000 * 60_000, action))
                .or_default() += 1;
        }
    }
    let mut seen = 0;
    for bucket in histogram {
        let key = bucket["key"].as_i64().unwrap();
        assert_eq!(
            bucket["key_as_string"],
            super::datemath::format_iso(key, &super::datemath::Zone::utc())
        );
        for (action, count) in buckets(&bucket["a"]) {
            assert_eq!(
                expected.get(&(key, action.clone())),
                Some(&count),
                "{key} {action}"
            );
            seen += count;
        }
    }
    assert_eq!(seen, expected.values().sum::<u64>());
}

#[test]
fn calendar_hours_and_days_in_time_zones() {
    for zone in ["UTC", "Asia/Seoul", "America/New_York", "+05:30"] {
        for (interval, unit_ms) in [("1h", 3_600_000i64), ("1d", 86_400_000)] {
            let response = search(json!({
                "size": 0,
                "aggs": { "t": { "date_histogram": { "field": "@timestamp", "calendar_interval": interval, "time_zone": zone, "min_doc_count": 1 } } }
            }));
            let tz = super::datemath::Zone::parse(zone).unwrap();
            let mut expected: BTreeMap<i64, u64> = BTreeMap::new();
            for doc in &fixture().docs {
                let local = tz.local(doc.timestamp_ms);
                let floored = if unit_ms == 3_600_000 {
                    local.date().and_hms_opt(local.hour(), 0, 0).unwrap()
                } else {
                    local.date().and_hms_opt(0, 0, 0).unwrap()
                };
                *expected.entry(tz.instant(floored)).or_default() += 1;
            }
            let got: BTreeMap<i64, u64> = response["aggregations"]["t"]["buckets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| (b["key"].as_i64().unwrap(), b["doc_count"].as_u64().unwrap()))
                .collect();
            assert_eq!(got, expected, "{interval} in {zone}");
            let first = &response["aggregations"]["t"]["buckets"][0]["key_as_string"];
            if zone == "Asia/Seoul" {
                assert!(first.as_str().unwrap().ends_with("+09:00"), "{first}");
            }
        }
    }
    // A fixed named zone check independent of our own zone code.
    let seoul = chrono_tz::Asia::Seoul
        .with_ymd_and_hms(2020, 3, 6, 0, 0, 0)
        .unwrap()
        .timestamp_millis();
    assert_eq!(
        seoul,
        super::datemath::Zone::parse("Asia/Seoul").unwrap().instant(
            chrono::NaiveDate::from_ymd_opt(2020, 3, 6)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
        )
    );
}

#[test]
fn top_sources_by_sum_of_bytes() {
    let response = search(json!({
        "size": 0,
        "aggs": { "src": { "terms": { "field": "srcaddr", "size": 10, "order": { "bytes": "desc" } },
            "aggs": { "bytes": { "sum": { "field": "bytes" } }, "peak": { "max": { "field": "bytes" } } } } }
    }));
    let mut sums: HashMap<String, (i64, i64, u64)> = HashMap::new();
    for doc in &fixture().docs {
        if let (Some(src), Some(bytes)) = (text(doc, "srcaddr"), int(doc, "bytes")) {
            let entry = sums.entry(src).or_default();
            entry.0 += bytes;
            entry.1 = entry.1.max(bytes);
            entry.2 += 1;
        }
    }
    let mut expected: Vec<(String, (i64, i64, u64))> = sums.into_iter().collect();
    expected.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(&b.0)));
    let got = response["aggregations"]["src"]["buckets"]
        .as_array()
        .unwrap();
    assert_eq!(got.len(), 10);
    for (bucket, (address, (sum, max, count))) in got.iter().zip(&expected) {
        assert_eq!(bucket["key"], json!(address));
        assert_eq!(bucket["doc_count"], json!(count));
        assert_eq!(bucket["bytes"]["value"], json!(*sum as f64));
        assert_eq!(bucket["peak"]["value"], json!(*max as f64));
    }
}

/// Every single-pass statistic per bucket (kept in the buckets' flat statistics), and the same
/// beside a metric that is not single-pass (kept in per-bucket nodes): the same numbers.
#[test]
fn bucket_statistics_flat_and_per_node_agree_with_the_records() {
    let stats_aggs = json!({
        "n": { "value_count": { "field": "dstport" } },
        "avg": { "avg": { "field": "bytes" } },
        "low": { "min": { "field": "packets" } },
        "st": { "stats": { "field": "packets" } }
    });
    let mut mixed = stats_aggs.clone();
    mixed["distinct"] = json!({ "cardinality": { "field": "dstport" } });
    let mut expected: HashMap<String, (u64, i64, u64, i64, i64, i64)> = HashMap::new();
    for doc in &fixture().docs {
        let Some(action) = text(doc, "action") else {
            continue;
        };
        let entry = expected.entry(action).or_insert((0, 0, 0, i64::MAX, 0, 0));
        if int(doc, "dstport").is_some() {
            entry.0 += 1;
        }
        if let Some(bytes) = int(doc, "bytes") {
            entry.1 += bytes;
            entry.2 += 1;
        }
        if let Some(packets) = int(doc, "packets") {
            entry.3 = entry.3.min(packets);
            entry.4 += packets;
            entry.5 += 1;
        }
    }
    for aggs in [stats_aggs, mixed] {
        let response = search(json!({
            "size": 0,
            "aggs": { "action": { "terms": { "field": "action", "size": 10 }, "aggs": aggs } }
        }));
        let got = response["aggregations"]["action"]["buckets"]
            .as_array()
            .unwrap();
        assert_eq!(got.len(), expected.len());
        for bucket in got {
            let key = bucket["key"].as_str().unwrap();
            let (values, bytes_sum, bytes_n, packets_min, packets_sum, packets_n) = expected[key];
            assert_eq!(bucket["n"]["value"], json!(values), "{key}");
            let avg = bucket["avg"]["value"].as_f64().unwrap();
            assert!(
                (avg - bytes_sum as f64 / bytes_n as f64).abs() < 1e-6,
                "{key}"
            );
            assert_eq!(bucket["low"]["value"], json!(packets_min as f64), "{key}");
            assert_eq!(bucket["st"]["count"], json!(packets_n), "{key}");
            assert_eq!(bucket["st"]["sum"], json!(packets_sum as f64), "{key}");
        }
    }
}

#[test]
fn query_string_with_cidr_and_negation() {
    let response = search(json!({
        "size": 0,
        "track_total_hits": true,
        "query": { "query_string": { "query": "srcaddr:10.0.0.0/8 AND NOT dstport:443 AND (action:ACCEPT OR action:REJECT)" } }
    }));
    let ten: ipnet_like::Net = "10.0.0.0/8".parse().unwrap();
    let expected = fixture()
        .docs
        .iter()
        .filter(|d| matches!(d.get("srcaddr"), Some(DocValue::Ip(ip)) if ten.contains(ip)))
        .filter(|d| int(d, "dstport") != Some(443))
        .filter(|d| text(d, "action").is_some())
        .count();
    assert!(expected > 100);
    assert_eq!(response["hits"]["total"]["value"], expected);

    // The same in the DSL, and on the raw message.
    let dsl = search(
        json!({ "size": 0, "track_total_hits": true, "query": { "bool": {
        "filter": [ { "term": { "srcaddr": "10.0.0.0/8" } }, { "terms": { "action": ["ACCEPT", "REJECT"] } } ],
        "must_not": [ { "term": { "dstport": 443 } } ] } } }),
    );
    assert_eq!(dsl["hits"]["total"]["value"], expected);
    let rejects = fixture()
        .docs
        .iter()
        .filter(|d| text(d, "action").as_deref() == Some("REJECT"))
        .count();
    // Words of the raw line match in any case, as Elasticsearch's analyzed `@message` does.
    for word in ["REJECT", "reject", "Reject"] {
        let free_text = search(
            json!({ "size": 0, "track_total_hits": true, "query": { "query_string": { "query": word } } }),
        );
        assert_eq!(free_text["hits"]["total"]["value"], rejects, "{word}");
    }
}

/// Cardinality at the top (a bit per term or address code of each segment) and under a
/// terms aggregation (a set per bucket), for keywords, addresses and numbers: the number of
/// distinct values in the records, exactly.
#[test]
fn cardinality_counts_distinct_values_at_the_top_and_per_bucket() {
    for field in [
        "interface_id",
        "dstaddr",
        "srcaddr",
        "dstport",
        "protocol_name",
    ] {
        let response = search(json!({
            "size": 0,
            "aggs": {
                "all": { "cardinality": { "field": field } },
                "per_action": { "terms": { "field": "action" },
                    "aggs": { "distinct": { "cardinality": { "field": field } } } }
            }
        }));
        let aggs = &response["aggregations"];
        let docs = &fixture().docs;
        let distinct = |action: Option<&str>| {
            docs.iter()
                .filter(|d| action.is_none() || text(d, "action").as_deref() == action)
                .filter_map(|d| text(d, field))
                .collect::<std::collections::HashSet<_>>()
                .len()
        };
        assert!(
            distinct(None) > 1,
            "{field}: the fixture has several values"
        );
        assert_eq!(aggs["all"]["value"], distinct(None), "{field}");
        let buckets = aggs["per_action"]["buckets"].as_array().unwrap();
        assert_eq!(buckets.len(), 2, "{field}");
        for bucket in buckets {
            let action = bucket["key"].as_str().unwrap();
            assert_eq!(
                bucket["distinct"]["value"],
                distinct(Some(action)),
                "{field} under {action}"
            );
        }
    }
}

#[test]
fn filters_on_whether_a_field_has_a_value_count_the_flows_that_have_it() {
    // Read from the column for the documents collected (not listed for the whole segment):
    // at the top, under terms (a block at a time) and with sums below.
    let docs = &fixture().docs;
    for field in ["dstport", "srcaddr", "action", "bytes", "tcp_flags"] {
        let response = search(json!({
            "size": 0,
            "aggs": {
                "has": { "filter": { "exists": { "field": field } } },
                "lacks": { "filter": { "bool": { "must_not": [{ "exists": { "field": field } }] } },
                    "aggs": { "packets": { "sum": { "field": "packets" } } } },
                // No `should` clause, yet one must match: nothing does.
                "none": { "filter": { "bool": { "must_not": [{ "exists": { "field": field } }], "minimum_should_match": 1 } } },
                "per_status": { "terms": { "field": "log_status" },
                    "aggs": { "lacks": { "filter": { "bool": { "must_not": { "exists": { "field": format!("{field}.keyword") } } } } } } }
            }
        }));
        let aggs = &response["aggregations"];
        let has = |d: &&FlowDoc| d.get(field).is_some();
        let with = docs.iter().filter(has).count();
        assert!(with > 0, "{field}: some flows have it");
        assert_eq!(aggs["has"]["doc_count"], with, "{field}");
        assert_eq!(aggs["lacks"]["doc_count"], docs.len() - with, "{field}");
        assert_eq!(aggs["none"]["doc_count"], 0, "{field}");
        let packets: i64 = docs
            .iter()
            .filter(|d| !has(d))
            .filter_map(|d| int(d, "packets"))
            .sum();
        assert_eq!(
            aggs["lacks"]["packets"]["value"].as_f64(),
            Some(packets as f64),
            "{field}"
        );
        for bucket in aggs["per_status"]["buckets"].as_array().unwrap() {
            let status = bucket["key"].as_str().unwrap();
            let lacking = docs
                .iter()
                .filter(|d| text(d, "log_status").as_deref() == Some(status) && !has(d))
                .count();
            assert_eq!(
                bucket["lacks"]["doc_count"], lacking,
                "{field} under {status}"
            );
        }
    }
}

#[test]
fn dates_beyond_what_the_index_stores_bound_at_its_ends() {
    // Stored as nanoseconds, dates reach about 292 years either side of 1970: a bound
    // beyond includes (or leaves out) every flow, where its nanoseconds would wrap.
    let count = |range: Json| {
        search(json!({ "size": 0, "track_total_hits": true, "query": { "range": { "@timestamp": range } } }))
            ["hits"]["total"]["value"]
            .as_u64()
            .unwrap()
    };
    let all = fixture().docs.len() as u64;
    assert_eq!(count(json!({ "lte": i64::MAX })), all);
    assert_eq!(count(json!({ "gt": i64::MIN, "lt": i64::MAX })), all);
    assert_eq!(count(json!({ "gte": i64::MAX })), 0);
    assert_eq!(count(json!({ "lt": i64::MIN })), 0);
}

#[test]
fn metrics_filters_ranges_and_cardinality() {
    let response = search(json!({
        "size": 0,
        "aggs": {
            "stats": { "stats": { "field": "bytes" } },
            "avg": { "avg": { "field": "packets" } },
            "distinct": { "cardinality": { "field": "srcaddr" } },
            "pct": { "percentiles": { "field": "bytes", "percents": [50, 95] } },
            "status": { "filters": { "filters": { "nodata": { "term": { "log_status": "NODATA" } }, "skip": { "match_phrase": { "log_status": "SKIPDATA" } } }, "other_bucket_key": "ok" } },
            "sizes": { "range": { "field": "bytes", "ranges": [ { "to": 1000 }, { "from": 1000, "to": 100000 }, { "from": 100000 } ] } },
            "nets": { "ip_range": { "field": "srcaddr", "ranges": [ { "mask": "10.0.0.0/8" }, { "mask": "0.0.0.0/0" } ] } },
            "probes": { "filter": { "terms": { "dstport": [22, 23, 445, 3389, 1433] } }, "aggs": { "rejected": { "filter": { "term": { "action": "REJECT" } } } } }
        }
    }));
    let aggs = &response["aggregations"];
    let docs = &fixture().docs;
    let bytes: Vec<i64> = docs.iter().filter_map(|d| int(d, "bytes")).collect();
    assert_eq!(aggs["stats"]["count"], bytes.len());
    assert_eq!(
        aggs["stats"]["sum"],
        json!(bytes.iter().sum::<i64>() as f64)
    );
    assert_eq!(
        aggs["stats"]["min"],
        json!(*bytes.iter().min().unwrap() as f64)
    );
    assert_eq!(
        aggs["stats"]["max"],
        json!(*bytes.iter().max().unwrap() as f64)
    );
    let packets: Vec<i64> = docs.iter().filter_map(|d| int(d, "packets")).collect();
    let avg = packets.iter().sum::<i64>() as f64 / packets.len() as f64;
    assert!((aggs["avg"]["value"].as_f64().unwrap() - avg).abs() < 1e-6);
    let distinct: std::collections::HashSet<String> =
        docs.iter().filter_map(|d| text(d, "srcaddr")).collect();
    assert_eq!(aggs["distinct"]["value"], distinct.len());
    let mut sorted = bytes.clone();
    sorted.sort_unstable();
    let median = {
        let rank = 0.5 * (sorted.len() - 1) as f64;
        let (lo, hi) = (
            sorted[rank.floor() as usize] as f64,
            sorted[rank.ceil() as usize] as f64,
        );
        lo + (hi - lo) * (rank - rank.floor())
    };
    assert_eq!(aggs["pct"]["values"]["50.0"], json!(median));
    let count = |status: &str| {
        docs.iter()
            .filter(|d| text(d, "log_status").as_deref() == Some(status))
            .count()
    };
    assert_eq!(
        aggs["status"]["buckets"]["nodata"]["doc_count"],
        count("NODATA")
    );
    assert_eq!(
        aggs["status"]["buckets"]["skip"]["doc_count"],
        count("SKIPDATA")
    );
    assert_eq!(aggs["status"]["buckets"]["ok"]["doc_count"], count("OK"));
    let sizes = aggs["sizes"]["buckets"].as_array().unwrap();
    assert_eq!(sizes[0]["key"], "*-1000.0");
    assert_eq!(sizes[1]["key"], "1000.0-100000.0");
    assert_eq!(sizes[2]["key"], "100000.0-*");
    assert_eq!(
        sizes[0]["doc_count"],
        bytes.iter().filter(|b| **b < 1000).count()
    );
    assert_eq!(
        sizes[2]["doc_count"],
        bytes.iter().filter(|b| **b >= 100_000).count()
    );
    let nets = aggs["nets"]["buckets"].as_array().unwrap();
    assert_eq!(nets[0]["key"], "10.0.0.0/8");
    assert_eq!(nets[0]["from"], "10.0.0.0");
    assert_eq!(nets[0]["to"], "11.0.0.0");
    let ten: ipnet_like::Net = "10.0.0.0/8".parse().unwrap();
    let in_ten = docs
        .iter()
        .filter(|d| matches!(d.get("srcaddr"), Some(DocValue::Ip(ip)) if ten.contains(ip)))
        .count();
    assert_eq!(nets[0]["doc_count"], in_ten);
    let probes: Vec<&FlowDoc> = docs
        .iter()
        .filter(|d| matches!(int(d, "dstport"), Some(22 | 23 | 445 | 3389 | 1433)))
        .collect();
    assert_eq!(aggs["probes"]["doc_count"], probes.len());
    assert_eq!(
        aggs["probes"]["rejected"]["doc_count"],
        probes
            .iter()
            .filter(|d| text(d, "action").as_deref() == Some("REJECT"))
            .count()
    );
}

#[test]
fn hits_sorted_by_time_with_source_filtering() {
    let response = search(json!({
        "size": 5, "from": 2,
        "sort": [ { "@timestamp": { "order": "desc" } }, "_doc" ],
        "_source": ["srcaddr", "action"],
        "query": { "term": { "action": "REJECT" } }
    }));
    let hits = response["hits"]["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 5);
    let mut rejects: Vec<&FlowDoc> = fixture()
        .docs
        .iter()
        .filter(|d| text(d, "action").as_deref() == Some("REJECT"))
        .collect();
    rejects.sort_by_key(|d| std::cmp::Reverse(d.timestamp_ms));
    for (hit, expected) in hits.iter().zip(&rejects[2..]) {
        assert_eq!(hit["sort"][0], json!(expected.timestamp_ms));
        assert_eq!(hit["_source"].as_object().unwrap().len(), 2);
        assert_eq!(hit["_source"]["action"], "REJECT");
        assert!(hit["_id"].as_str().unwrap().len() == 32);
        assert_eq!(hit["_score"], Json::Null);
    }
    let times: Vec<i64> = hits
        .iter()
        .map(|h| h["sort"][0].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]));
    assert_eq!(times[0], rejects[2].timestamp_ms);
}

#[test]
fn ids_exists_prefix_and_message_queries() {
    let doc = &fixture().docs[123];
    let response = search(json!({ "query": { "ids": { "values": [doc.id.clone(), "nope"] } } }));
    assert_eq!(response["hits"]["total"]["value"], 1);
    assert_eq!(response["hits"]["hits"][0]["_id"], json!(doc.id));
    let with_vpc = fixture()
        .docs
        .iter()
        .filter(|d| d.get("vpc_id").is_some())
        .count();
    let response = search(
        json!({ "size": 0, "track_total_hits": true, "query": { "exists": { "field": "vpc_id" } } }),
    );
    assert_eq!(response["hits"]["total"]["value"], with_vpc);
    let eni = text(doc, "interface_id").unwrap();
    let same_eni = fixture()
        .docs
        .iter()
        .filter(|d| text(d, "interface_id").as_deref() == Some(&eni))
        .count();
    let prefix = &eni[..eni.len() - 2];
    let by_prefix = fixture()
        .docs
        .iter()
        .filter(|d| text(d, "interface_id").is_some_and(|e| e.starts_with(prefix)))
        .count();
    let response = search(
        json!({ "size": 0, "track_total_hits": true, "query": { "prefix": { "interface_id": prefix } } }),
    );
    assert_eq!(response["hits"]["total"]["value"], by_prefix);
    // The raw line, searched word by word: an ENI id and an address are single words.
    let response = search(
        json!({ "size": 0, "track_total_hits": true, "query": { "match_phrase": { "@message": eni.clone() } } }),
    );
    assert_eq!(response["hits"]["total"]["value"], same_eni);
    let src = text(doc, "srcaddr").unwrap_or_else(|| "10.10.0.10".into());
    let with_src = fixture()
        .docs
        .iter()
        .filter(|d| d.message.as_deref().unwrap().split(' ').any(|w| w == src))
        .count();
    let response = search(
        json!({ "size": 0, "track_total_hits": true, "query": { "query_string": { "query": format!("\"{src}\"") } } }),
    );
    assert_eq!(response["hits"]["total"]["value"], with_src);
}

#[test]
fn only_the_days_in_range_are_searched() {
    let response =
        search(json!({ "size": 0, "query": { "range": { "@timestamp": { "gte": "now-1h" } } } }));
    let shards = &response["_shards"];
    assert_eq!(shards["total"], 2, "30 hours span two days");
    assert_eq!(shards["skipped"], 1, "the older day is not searched");
}

#[test]
fn unsupported_requests_are_refused_with_a_reason() {
    let engine = &fixture().engine;
    let cases = [
        (
            json!({ "aggs": { "g": { "geohash_grid": { "field": "srcaddr" } } } }),
            "aggregation type [geohash_grid]",
        ),
        (
            json!({ "query": { "script": {} } }),
            "query [script] is not supported",
        ),
        (
            json!({ "sort": [{ "nope": "desc" }] }),
            "No mapping found for [nope] in order to sort on",
        ),
        (
            json!({ "aggs": { "t": { "terms": { "field": "@message" } } } }),
            "Text fields are not optimised",
        ),
        (
            json!({ "aggs": { "t": { "date_histogram": { "field": "@timestamp", "fixed_interval": "1x" } } } }),
            "fixed_interval",
        ),
        (json!({ "suggest": {} }), "search option [suggest]"),
        (json!({ "size": 20000 }), "Result window is too large"),
        (
            json!({ "aggs": { "t": { "date_histogram": { "field": "@timestamp", "fixed_interval": "1s", "min_doc_count": 0 } } } }),
            "too many buckets",
        ),
        (
            json!({ "query": { "query_string": { "query": format!("interface_id:eni-{}", "?*".repeat(150)) } } }),
            "[interface_id] is 304 characters long; at most 256",
        ),
    ];
    for (body, expected) in cases {
        let error = search_at(engine, "cwl-*", &body, END).expect_err(&body.to_string());
        assert_eq!(error.status(), 400, "{body}");
        assert!(
            error
                .to_string()
                .to_lowercase()
                .contains(&expected.to_lowercase()),
            "{error} should mention {expected}"
        );
    }
    let error = search_at(engine, "nope", &json!({}), END).unwrap_err();
    assert_eq!(error.status(), 404);
}

#[test]
fn parameters_elasticsearch_refuses_are_refused_with_its_messages() {
    let metric = |agg: Json| json!({ "size": 0, "aggs": { "m": agg } });
    let cases = [
        (
            metric(json!({ "cardinality": { "field": "srcaddr", "precision_threshold": -1 } })),
            "[precisionThreshold] must be greater than or equal to 0. Found [-1] in [m]",
        ),
        (
            metric(json!({ "percentiles": { "field": "bytes", "tdigest": { "compression": -1 } } })),
            "[compression] must be greater than or equal to 0. Found [-1.0] in [m]",
        ),
        (
            metric(json!({ "percentiles": { "field": "bytes", "percents": [] } })),
            "[percents] must not be empty: [m]",
        ),
        (
            metric(json!({ "percentiles": { "field": "bytes", "hdr": { "number_of_significant_value_digits": 6 } } })),
            "[numberOfSignificantValueDigits] must be between 0 and 5",
        ),
        (
            metric(json!({ "terms": { "field": "srcaddr", "include": "10.*" } })),
            "Aggregation [m] cannot support regular expression style include/exclude settings as they can only be applied to string fields",
        ),
        (
            metric(json!({ "terms": { "field": "dstport", "exclude": "4.*" } })),
            "can only be applied to string fields",
        ),
    ];
    for (body, expected) in cases {
        let error = search_at(&fixture().engine, "cwl-*", &body, END).expect_err(&body.to_string());
        assert_eq!(error.status(), 400, "{body}");
        assert!(
            error.to_string().contains(expected),
            "{error} should say {expected}"
        );
    }
    // What they allow is answered, exactly whatever the method's settings.
    let exact = search(metric(
        json!({ "percentiles": { "field": "bytes", "percents": [50] } }),
    ));
    for method in [
        json!({ "hdr": { "number_of_significant_value_digits": 3 } }),
        json!({ "tdigest": { "compression": 200 } }),
    ] {
        let mut agg = json!({ "field": "bytes", "percents": [50] });
        agg.as_object_mut()
            .unwrap()
            .extend(method.as_object().unwrap().clone());
        let answer = search(metric(json!({ "percentiles": agg })));
        assert_eq!(answer["aggregations"], exact["aggregations"], "{method}");
    }
}

#[test]
fn terms_include_and_exclude_read_values_as_the_field_holds_them() {
    let docs = &fixture().docs;
    let count_where = |field: &str, value: &DocValue| {
        docs.iter().filter(|d| d.get(field) == Some(value)).count() as u64
    };
    let terms = |field: &str, filter: Json| {
        let mut terms = json!({ "field": field, "size": 100 });
        terms
            .as_object_mut()
            .unwrap()
            .extend(filter.as_object().unwrap().clone());
        search(json!({ "size": 0, "aggs": { "t": { "terms": terms } } }))["aggregations"]["t"]
            ["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| (b["key"].clone(), b["doc_count"].as_u64().unwrap()))
            .collect::<Vec<_>>()
    };
    // A date by its ISO form: the bucket of that instant, with the flows starting then.
    let busiest = docs
        .iter()
        .max_by_key(|d| {
            docs.iter()
                .filter(|o| o.timestamp_ms == d.timestamp_ms)
                .count()
        })
        .unwrap()
        .timestamp_ms;
    let expected = docs.iter().filter(|d| d.timestamp_ms == busiest).count() as u64;
    let iso = chrono::Utc
        .timestamp_millis_opt(busiest)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    assert_eq!(
        terms("@timestamp", json!({ "include": [iso] })),
        [(json!(busiest), expected)]
    );
    assert!(!terms("@timestamp", json!({ "exclude": [iso] }))
        .iter()
        .any(|(key, _)| key == &json!(busiest)));
    // An address in another spelling, and a whole number written with a fraction.
    let Some(DocValue::Ip(address)) = docs[0].get("srcaddr").cloned() else {
        panic!("a demo flow has a source address")
    };
    let mapped = match address {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().to_string(),
        IpAddr::V6(v6) => v6.to_string(),
    };
    let expected_from = vec![(
        json!(address.to_string()),
        count_where("srcaddr", &DocValue::Ip(address)),
    )];
    assert_eq!(
        terms("srcaddr", json!({ "include": [mapped] })),
        expected_from
    );
    assert_eq!(
        terms("dstport", json!({ "include": [443.0] })),
        [(json!(443), count_where("dstport", &DocValue::Int(443)))]
    );
}

#[test]
fn a_field_no_index_maps_answers_as_elasticsearch_answers_it() {
    let total = fixture().docs.len() as u64;
    let answer = search(json!({ "size": 0, "track_total_hits": true, "aggs": {
        "terms": { "terms": { "field": "nope" } },
        "terms_missing": { "terms": { "field": "nope", "missing": "N/A" } },
        "avg": { "avg": { "field": "nope" } },
        "avg_missing": { "avg": { "field": "nope", "missing": 5 } },
        "sum": { "sum": { "field": "nope" } },
        "min": { "min": { "field": "nope" } },
        "count": { "value_count": { "field": "nope" } },
        "distinct": { "cardinality": { "field": "nope" } },
        "stats": { "stats": { "field": "nope" } },
        "median": { "percentiles": { "field": "nope", "percents": [50] } },
        "histogram": { "histogram": { "field": "nope", "interval": 10 } },
        "per_hour": { "date_histogram": { "field": "nope", "fixed_interval": "1h" } },
        "ranges": { "range": { "field": "nope", "ranges": [{ "to": 10 }] } },
        // Under a bucket as at the top.
        "by_action": { "terms": { "field": "action" }, "aggs": { "avg": { "avg": { "field": "nope" } } } }
    } }));
    let aggs = &answer["aggregations"];
    assert_eq!(aggs["terms"]["buckets"], json!([]), "{aggs}");
    assert_eq!(
        aggs["terms_missing"]["buckets"],
        json!([{ "key": "N/A", "doc_count": total }])
    );
    assert_eq!(aggs["avg"]["value"], Json::Null);
    assert_eq!(aggs["avg_missing"]["value"], json!(5.0));
    assert_eq!(aggs["sum"]["value"], json!(0.0));
    assert_eq!(aggs["min"]["value"], Json::Null);
    assert_eq!(aggs["count"]["value"], json!(0));
    assert_eq!(aggs["distinct"]["value"], json!(0));
    assert_eq!(aggs["stats"]["count"], json!(0));
    assert_eq!(aggs["stats"]["avg"], Json::Null);
    assert_eq!(aggs["median"]["values"]["50.0"], Json::Null);
    assert_eq!(aggs["histogram"]["buckets"], json!([]));
    assert_eq!(aggs["per_hour"]["buckets"], json!([]));
    assert_eq!(aggs["ranges"]["buckets"][0]["doc_count"], json!(0));
    for bucket in aggs["by_action"]["buckets"].as_array().unwrap() {
        assert_eq!(bucket["avg"]["value"], Json::Null, "{bucket}");
    }
    // Queries on it find nothing, and so their negation finds everything.
    let count = |query: Json| {
        search(json!({ "size": 0, "track_total_hits": true, "query": query }))["hits"]["total"]
            ["value"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(count(json!({ "term": { "nope": 1 } })), 0);
    assert_eq!(count(json!({ "exists": { "field": "nope" } })), 0);
    assert_eq!(count(json!({ "range": { "nope": { "gte": 1 } } })), 0);
    assert_eq!(count(json!({ "query_string": { "query": "nope:x" } })), 0);
    assert_eq!(
        count(json!({ "bool": { "must_not": [{ "term": { "nope": 1 } }] } })),
        total
    );
    // Sorting on it is an error unless `unmapped_type` says how to read it; then every
    // flow lacks it, and the time breaks the tie.
    let error = search_error(json!({ "sort": [{ "nope": "asc" }] }));
    assert!(
        error.contains("No mapping found for [nope] in order to sort on"),
        "{error}"
    );
    let sorted = search(json!({ "size": 3, "sort": [
        { "nope": { "order": "asc", "unmapped_type": "long" } },
        { "@timestamp": "desc" } ] }));
    let hits = sorted["hits"]["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 3);
    let newest = fixture().docs.iter().map(|d| d.timestamp_ms).max().unwrap();
    assert_eq!(hits[0]["sort"][1], json!(newest), "{}", hits[0]);
}

#[test]
fn pipelines_compute_from_the_buckets_as_elasticsearch_does() {
    // Per hour, from the records: flows and bytes.
    let mut hours: BTreeMap<i64, (u64, f64)> = BTreeMap::new();
    for doc in &fixture().docs {
        let hour = doc.timestamp_ms.div_euclid(3_600_000) * 3_600_000;
        let bytes = match doc.get("bytes") {
            Some(DocValue::Int(b)) => *b as f64,
            _ => 0.0,
        };
        let entry = hours.entry(hour).or_default();
        entry.0 += 1;
        entry.1 += bytes;
    }
    let counts: Vec<f64> = hours.values().map(|(c, _)| *c as f64).collect();
    let bytes: Vec<f64> = hours.values().map(|(_, b)| *b).collect();
    let answer = search(json!({ "size": 0, "aggs": {
        "per_hour": {
            "date_histogram": { "field": "@timestamp", "fixed_interval": "1h" },
            "aggs": {
                "bytes": { "sum": { "field": "bytes" } },
                "change": { "derivative": { "buckets_path": "bytes", "unit": "1m" } },
                "running": { "cumulative_sum": { "buckets_path": "_count" } },
                "vs_two_ago": { "serial_diff": { "buckets_path": "bytes", "lag": 2 } },
                "smooth": { "moving_fn": { "buckets_path": "_count", "window": 3,
                                           "script": "MovingFunctions.unweightedAvg(values)" } },
                // Reads another pipeline's output.
                "acceleration": { "derivative": { "buckets_path": "change" } }
            }
        },
        "mean_bytes": { "avg_bucket": { "buckets_path": "per_hour>bytes" } },
        "all_flows": { "sum_bucket": { "buckets_path": "per_hour>_count" } },
        "busiest": { "max_bucket": { "buckets_path": "per_hour>_count" } },
        "flow_stats": { "stats_bucket": { "buckets_path": "per_hour>_count" } },
        "top_hours": { "date_histogram": { "field": "@timestamp", "fixed_interval": "1h" },
            "aggs": { "top": { "bucket_sort": { "sort": [{ "_count": "desc" }], "size": 3 } } } }
    } }));
    let aggs = &answer["aggregations"];
    let buckets = aggs["per_hour"]["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), counts.len(), "every hour has flows");
    let close = |a: &Json, b: f64| (a.as_f64().unwrap() - b).abs() <= 1e-6 * b.abs().max(1.0);
    let mut running = 0.0;
    for (i, bucket) in buckets.iter().enumerate() {
        assert!(close(&bucket["bytes"]["value"], bytes[i]));
        running += counts[i];
        assert!(close(&bucket["running"]["value"], running), "{bucket}");
        if i == 0 {
            assert!(
                bucket.get("change").is_none(),
                "no derivative for the first bucket"
            );
        } else {
            let change = bytes[i] - bytes[i - 1];
            assert!(close(&bucket["change"]["value"], change), "{bucket}");
            // Per minute of the hour between buckets.
            assert!(
                close(&bucket["change"]["normalized_value"], change / 60.0),
                "{bucket}"
            );
        }
        if i >= 2 {
            assert!(close(
                &bucket["vs_two_ago"]["value"],
                bytes[i] - bytes[i - 2]
            ));
            let acceleration = (bytes[i] - bytes[i - 1]) - (bytes[i - 1] - bytes[i - 2]);
            assert!(
                close(&bucket["acceleration"]["value"], acceleration),
                "{bucket}"
            );
        } else {
            assert!(bucket.get("vs_two_ago").is_none());
        }
        // The average of up to three hours before this one; none before the first.
        let window = &counts[i.saturating_sub(3)..i];
        if window.is_empty() {
            assert_eq!(bucket["smooth"]["value"], Json::Null);
        } else {
            let mean = window.iter().sum::<f64>() / window.len() as f64;
            assert!(close(&bucket["smooth"]["value"], mean), "{bucket}");
        }
    }
    let total: f64 = counts.iter().sum();
    assert!(close(&aggs["all_flows"]["value"], total));
    assert!(close(
        &aggs["mean_bytes"]["value"],
        bytes.iter().sum::<f64>() / bytes.len() as f64
    ));
    let most = counts.iter().copied().fold(0.0, f64::max);
    assert!(close(&aggs["busiest"]["value"], most));
    let busiest_hours: Vec<i64> = hours
        .iter()
        .filter(|(_, (c, _))| *c as f64 == most)
        .map(|(h, _)| *h)
        .collect();
    let keys: Vec<i64> = aggs["busiest"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            chrono::DateTime::parse_from_rfc3339(k.as_str().unwrap())
                .unwrap()
                .timestamp_millis()
        })
        .collect();
    assert_eq!(keys, busiest_hours);
    assert_eq!(aggs["flow_stats"]["count"], json!(counts.len()));
    assert!(close(&aggs["flow_stats"]["sum"], total));
    // The three busiest hours, busiest first.
    let mut by_count = counts.clone();
    by_count.sort_by(|a, b| b.total_cmp(a));
    let top: Vec<f64> = aggs["top_hours"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["doc_count"].as_f64().unwrap())
        .collect();
    assert_eq!(top, by_count[..3]);
}

#[test]
fn distribution_pipelines_summarise_the_buckets_as_elasticsearch_does() {
    let mut hours: BTreeMap<i64, f64> = BTreeMap::new();
    for doc in &fixture().docs {
        let hour = doc.timestamp_ms.div_euclid(3_600_000) * 3_600_000;
        *hours.entry(hour).or_default() += int(doc, "bytes").unwrap_or(0) as f64;
    }
    let mut bytes: Vec<f64> = hours.into_values().collect();
    let answer = search(json!({ "size": 0, "aggs": {
        "per_hour": { "date_histogram": { "field": "@timestamp", "fixed_interval": "1h" },
            "aggs": { "bytes": { "sum": { "field": "bytes" } } } },
        "spread": { "extended_stats_bucket": { "buckets_path": "per_hour>bytes", "sigma": 1 } },
        "quantiles": { "percentiles_bucket": { "buckets_path": "per_hour>bytes",
            "percents": [10, 50, 99.9] } },
        "listed": { "percentiles_bucket": { "buckets_path": "per_hour>bytes",
            "percents": [50], "keyed": false } },
        "pairs": { "multi_terms": { "terms": [ { "field": "action" }, { "field": "protocol" } ] } },
        "pair_flows": { "sum_bucket": { "buckets_path": "pairs>_count" } }
    } }));
    let aggs = &answer["aggregations"];
    let close = |a: &Json, b: f64| (a.as_f64().unwrap() - b).abs() <= 1e-6 * b.abs().max(1.0);
    let n = bytes.len() as f64;
    let mean = bytes.iter().sum::<f64>() / n;
    let deviation = (bytes.iter().map(|b| (b - mean).powi(2)).sum::<f64>() / n).sqrt();
    let spread = &aggs["spread"];
    assert_eq!(spread["count"], json!(bytes.len()));
    assert!(close(&spread["avg"], mean), "{spread}");
    assert!(close(&spread["std_deviation"], deviation), "{spread}");
    assert!(close(
        &spread["std_deviation_bounds"]["upper"],
        mean + deviation
    ));
    // Nearest rank, no interpolation: Elasticsearch's percentiles_bucket.
    bytes.sort_by(f64::total_cmp);
    let at = |percent: f64| bytes[((percent / 100.0) * (n - 1.0)).round() as usize];
    let values = &aggs["quantiles"]["values"];
    for (key, percent) in [("10.0", 10.0), ("50.0", 50.0), ("99.9", 99.9)] {
        assert!(close(&values[key], at(percent)), "{key}: {values}");
    }
    assert_eq!(aggs["listed"]["values"][0]["key"], json!(50.0));
    assert!(close(&aggs["listed"]["values"][0]["value"], at(50.0)));
    // Every flow has an action and a protocol, and ten pairs hold them all here or not:
    // the sum of the shown buckets' counts is what the pipeline reports.
    let shown: u64 = aggs["pairs"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["doc_count"].as_u64().unwrap())
        .sum();
    assert!(close(&aggs["pair_flows"]["value"], shown as f64));
}

#[test]
fn bucket_script_and_bucket_selector_compute_from_each_bucket() {
    // Per action and per hour, from the records: flows, bytes, rejected flows.
    let mut hours: BTreeMap<i64, (f64, f64, f64)> = BTreeMap::new();
    for doc in &fixture().docs {
        let hour = doc.timestamp_ms.div_euclid(3_600_000) * 3_600_000;
        let entry = hours.entry(hour).or_default();
        entry.0 += 1.0;
        entry.1 += int(doc, "bytes").unwrap_or(0) as f64;
        if text(doc, "action").as_deref() == Some("REJECT") {
            entry.2 += 1.0;
        }
    }
    let mut counts: Vec<f64> = hours.values().map(|h| h.0).collect();
    counts.sort_by(f64::total_cmp);
    let threshold = counts[counts.len() / 2];
    let answer = search(json!({ "size": 0, "aggs": { "per_hour": {
        "date_histogram": { "field": "@timestamp", "fixed_interval": "1h" },
        "aggs": {
            "bytes": { "sum": { "field": "bytes" } },
            "rejected": { "filter": { "term": { "action": "REJECT" } } },
            "mean_flow": { "bucket_script": {
                "buckets_path": { "volume": "bytes", "flows": "_count" },
                "script": "params.volume / params.flows" } },
            "reject_share": { "bucket_script": {
                "buckets_path": { "rejected": "rejected>_count", "flows": "_count" },
                "script": { "source": "params.rejected * params.scale / params.flows",
                            "params": { "scale": 100 } } } },
            "busy": { "bucket_selector": {
                "buckets_path": { "flows": "_count" },
                "script": { "source": "params.flows >= params.at_least",
                            "params": { "at_least": threshold } } } }
        }
    } } }));
    let buckets = answer["aggregations"]["per_hour"]["buckets"]
        .as_array()
        .unwrap();
    let expected: Vec<(i64, (f64, f64, f64))> = hours
        .into_iter()
        .filter(|(_, (flows, _, _))| *flows >= threshold)
        .collect();
    assert!(!expected.is_empty() && buckets.len() < counts.len());
    assert_eq!(buckets.len(), expected.len(), "the busy hours only");
    let close = |a: &Json, b: f64| (a.as_f64().unwrap() - b).abs() <= 1e-9 * b.abs().max(1.0);
    for (bucket, (hour, (flows, bytes, rejected))) in buckets.iter().zip(&expected) {
        assert_eq!(bucket["key"], *hour);
        assert!(
            close(&bucket["mean_flow"]["value"], bytes / flows),
            "{bucket}"
        );
        assert!(
            close(&bucket["reject_share"]["value"], rejected * 100.0 / flows),
            "{bucket}"
        );
    }
    let error = search_error(json!({ "size": 0, "aggs": { "per_hour": {
        "date_histogram": { "field": "@timestamp", "fixed_interval": "1h" },
        "aggs": { "s": { "bucket_script": { "buckets_path": { "n": "_count" },
            "script": "doc['bytes'].value" } } } } } }));
    assert!(
        error.contains("is not supported by the embedded engine"),
        "{error}"
    );
    let error = search_error(json!({ "size": 0, "aggs": { "per_hour": {
        "date_histogram": { "field": "@timestamp", "fixed_interval": "1h" },
        "aggs": { "s": { "bucket_script": { "buckets_path": { "n": "nothing" },
            "script": "params.n" } } } } } }));
    assert!(
        error.contains("No aggregation found for path [nothing]"),
        "{error}"
    );
}

#[test]
fn pipelines_are_refused_where_elasticsearch_refuses_them() {
    let cases = [
        (
            json!({ "aggs": { "d": { "derivative": { "buckets_path": "_count" } } } }),
            "derivative aggregation [d] must have a histogram, date_histogram or auto_date_histogram as parent",
        ),
        (
            json!({ "aggs": { "h": { "histogram": { "field": "bytes", "interval": 1000 } },
                "p": { "percentiles_bucket": { "buckets_path": "h>_count", "percents": [101] } } } }),
            "[percents] must only contain non-null doubles from 0.0-100.0 inclusive",
        ),
        (
            json!({ "aggs": { "h": { "histogram": { "field": "bytes", "interval": 1000 } },
                "s": { "extended_stats_bucket": { "buckets_path": "h>_count", "sigma": -1 } } } }),
            "[sigma] must be greater than or equal to 0",
        ),
        (
            json!({ "aggs": { "t": { "terms": { "field": "action" },
                "aggs": { "c": { "cumulative_sum": { "buckets_path": "_count" } } } } } }),
            "cumulative_sum aggregation [c] must have a histogram",
        ),
        (
            json!({ "aggs": { "h": { "date_histogram": { "field": "@timestamp", "fixed_interval": "1h" },
                "aggs": { "m": { "moving_fn": { "buckets_path": "_count", "window": 0, "script": "MovingFunctions.sum(values)" } } } } } }),
            "[window] must be a positive integer",
        ),
        (
            json!({ "aggs": { "h": { "date_histogram": { "field": "@timestamp", "fixed_interval": "1h" },
                "aggs": { "m": { "moving_fn": { "buckets_path": "_count", "window": 3, "script": "params.x" } } } } } }),
            "not supported",
        ),
        (
            json!({ "aggs": { "a": { "avg_bucket": { "buckets_path": "nope>_count" } } } }),
            "No aggregation found for path [nope>_count]",
        ),
        (
            json!({ "aggs": { "h": { "date_histogram": { "field": "@timestamp", "fixed_interval": "1h" },
                "aggs": { "s": { "stats": { "field": "bytes" } },
                          "d": { "derivative": { "buckets_path": "s" } } } } } }),
            "contains multiple values",
        ),
        (
            // 54,000 two-second buckets, each reading a window as wide as them all.
            json!({ "size": 0, "aggs": { "h": { "date_histogram": { "field": "@timestamp", "fixed_interval": "2s" },
                "aggs": { "m": { "moving_fn": { "buckets_path": "_count", "window": 100000, "script": "MovingFunctions.max(values)" } } } } } }),
            "moving_fn [m] would read",
        ),
    ];
    for (body, expected) in cases {
        let error = search_at(&fixture().engine, "cwl-*", &body, END).expect_err(&body.to_string());
        assert_eq!(error.status(), 400, "{body}: {error}");
        assert!(
            error.to_string().contains(expected),
            "{error} should say {expected}"
        );
    }
    // Numbers at the ends of their range are answered, not overflowed: a lag past every
    // bucket gives no differences, a shift far back an empty window.
    let answer = search(json!({ "size": 0, "aggs": { "h": {
        "date_histogram": { "field": "@timestamp", "fixed_interval": "1h" },
        "aggs": {
            "d": { "serial_diff": { "buckets_path": "_count", "lag": i64::MAX } },
            "m": { "moving_fn": { "buckets_path": "_count", "window": i64::MAX, "shift": i64::MIN,
                                  "script": "MovingFunctions.sum(values)" } }
        } } } }));
    for bucket in answer["aggregations"]["h"]["buckets"].as_array().unwrap() {
        assert!(bucket.get("d").is_none(), "{bucket}");
        assert_eq!(bucket["m"]["value"], json!(0.0), "{bucket}");
    }
}

#[test]
fn spreads_of_bytes_match_the_records() {
    let docs = &fixture().docs;
    let bytes_of = |action: Option<&str>| -> Vec<f64> {
        docs.iter()
            .filter(|d| action.is_none_or(|a| text(d, "action").as_deref() == Some(a)))
            .filter_map(|d| match d.get("bytes") {
                Some(DocValue::Int(b)) => Some(*b as f64),
                _ => None,
            })
            .collect()
    };
    let answer = search(json!({ "size": 0, "aggs": {
        "spread": { "extended_stats": { "field": "bytes", "sigma": 3 } },
        "ranks": { "percentile_ranks": { "field": "bytes", "values": [1000, 50000] } },
        "mad": { "median_absolute_deviation": { "field": "bytes" } },
        "by_action": { "terms": { "field": "action", "order": { "spread.std_deviation": "desc" } },
            "aggs": { "spread": { "extended_stats": { "field": "bytes" } } } }
    } }));
    let aggs = &answer["aggregations"];
    let close = |a: &Json, b: f64| {
        let a = a.as_f64().unwrap_or(f64::NAN);
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    };
    let all = bytes_of(None);
    let n = all.len() as f64;
    let mean = all.iter().sum::<f64>() / n;
    let variance = all.iter().map(|b| (b - mean).powi(2)).sum::<f64>() / n;
    assert_eq!(aggs["spread"]["count"], json!(all.len()));
    assert!(close(&aggs["spread"]["avg"], mean));
    assert!(
        close(&aggs["spread"]["variance"], variance),
        "{}",
        aggs["spread"]
    );
    assert!(close(&aggs["spread"]["std_deviation"], variance.sqrt()));
    assert!(close(
        &aggs["spread"]["std_deviation_bounds"]["upper"],
        mean + 3.0 * variance.sqrt()
    ));
    for (value, key) in [(1000.0, "1000.0"), (50000.0, "50000.0")] {
        let at_or_below = all.iter().filter(|b| **b <= value).count() as f64;
        assert!(
            close(&aggs["ranks"]["values"][key], at_or_below * 100.0 / n),
            "{key}"
        );
    }
    let median = |values: &mut Vec<f64>| {
        values.sort_by(f64::total_cmp);
        let mid = (values.len() - 1) as f64 / 2.0;
        (values[mid.floor() as usize] + values[mid.ceil() as usize]) / 2.0
    };
    let mid = median(&mut all.clone());
    let mut distances: Vec<f64> = all.iter().map(|b| (b - mid).abs()).collect();
    assert!(close(&aggs["mad"]["value"], median(&mut distances)));
    // Ordered by each action's standard deviation, widest first.
    let deviations: Vec<f64> = aggs["by_action"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let own = bytes_of(b["key"].as_str());
            let mean = own.iter().sum::<f64>() / own.len() as f64;
            let sd =
                (own.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / own.len() as f64).sqrt();
            assert!(close(&b["spread"]["std_deviation"], sd), "{b}");
            sd
        })
        .collect();
    assert!(deviations.len() >= 2);
    assert!(
        deviations.windows(2).all(|w| w[0] >= w[1]),
        "{deviations:?}"
    );
    // What Elasticsearch refuses.
    for (agg, expected) in [
        (
            json!({ "extended_stats": { "field": "bytes", "sigma": -1 } }),
            "[sigma] must be greater than or equal to 0",
        ),
        (
            json!({ "percentile_ranks": { "field": "bytes" } }),
            "[values] must not be null",
        ),
        (
            json!({ "percentile_ranks": { "field": "bytes", "values": [] } }),
            "[values] must not be an empty array",
        ),
    ] {
        let error = search_error(json!({ "size": 0, "aggs": { "m": agg } }));
        assert!(error.contains(expected), "{error}");
    }
}

#[test]
fn response_shape_follows_the_elasticsearch_reference() {
    // The shape of the reference's terms and date_histogram examples, with our values.
    let response = search(json!({
        "size": 0,
        "query": { "bool": { "filter": [ { "term": { "log_status": "SKIPDATA" } } ] } },
        "aggs": {
            "status": { "terms": { "field": "log_status" } },
            "days": { "date_histogram": { "field": "@timestamp", "calendar_interval": "1d", "format": "yyyy-MM-dd" } }
        }
    }));
    let skipped = fixture()
        .docs
        .iter()
        .filter(|d| text(d, "log_status").as_deref() == Some("SKIPDATA"))
        .count();
    assert_eq!(
        response["aggregations"]["status"],
        json!({ "doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": [ { "key": "SKIPDATA", "doc_count": skipped } ] })
    );
    let days = response["aggregations"]["days"]["buckets"]
        .as_array()
        .unwrap();
    assert_eq!(days[0]["key_as_string"], "2020-03-05");
    assert_eq!(days[0]["key"], 1_583_366_400_000i64);
    assert!(response["took"].is_u64());
    assert_eq!(response["timed_out"], false);
    assert_eq!(response["hits"]["hits"], json!([]));
    assert_eq!(response["hits"]["total"]["relation"], "eq");
}

/// A tiny CIDR matcher for the tests, independent of the engine's own.
mod ipnet_like {
    use std::net::IpAddr;

    pub struct Net {
        base: u32,
        mask: u32,
    }

    impl std::str::FromStr for Net {
        type Err = ();
        fn from_str(s: &str) -> Result<Net, ()> {
            let (address, bits) = s.split_once('/').ok_or(())?;
            let address: std::net::Ipv4Addr = address.parse().map_err(|_| ())?;
            let bits: u32 = bits.parse().map_err(|_| ())?;
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            Ok(Net {
                base: u32::from(address) & mask,
                mask,
            })
        }
    }

    impl Net {
        pub fn contains(&self, ip: &IpAddr) -> bool {
            matches!(ip, IpAddr::V4(v4) if u32::from(*v4) & self.mask == self.base)
        }
    }
}

/// Many generated requests (random fields, intervals, zones and time ranges), each checked
/// against counts computed from the records.
#[test]
fn generated_requests_match_independent_counts() {
    let mut seed = 0x9e37_79b9_u64;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let fields = [
        "action",
        "log_status",
        "protocol",
        "dstport",
        "flow_direction",
        "vpc_id",
        "az_id",
        "account_id",
    ];
    let intervals = [
        ("5m", 300_000i64),
        ("15m", 900_000),
        ("1h", 3_600_000),
        ("3h", 10_800_000),
    ];
    let zones = ["UTC", "+09:00", "-03:30"];
    for _ in 0..30 {
        let field = fields[next(fields.len() as u64) as usize];
        let (interval, step) = intervals[next(intervals.len() as u64) as usize];
        let zone = zones[next(zones.len() as u64) as usize];
        let hours = 1 + next(24) as i64;
        let to = END - next(6) as i64 * 3_600_000;
        let from = to - hours * 3_600_000;
        let response = search(json!({
            "size": 0,
            "query": { "bool": { "filter": [ range_filter(from, to) ] } },
            "aggs": { "t": { "date_histogram": { "field": "@timestamp", "fixed_interval": interval, "time_zone": zone, "min_doc_count": 1 },
                "aggs": { "f": { "terms": { "field": field, "size": 1000 } } } } }
        }));
        let offset = super::datemath::Zone::parse(zone).unwrap().offset_secs(0) as i64 * 1000;
        let mut expected: BTreeMap<(i64, String), u64> = BTreeMap::new();
        for doc in fixture().docs.iter().filter(|d| in_range(d, from, to)) {
            if let Some(value) = text(doc, field) {
                let key = (doc.timestamp_ms + offset).div_euclid(step) * step - offset;
                *expected.entry((key, value)).or_default() += 1;
            }
        }
        let mut got: BTreeMap<(i64, String), u64> = BTreeMap::new();
        for bucket in response["aggregations"]["t"]["buckets"].as_array().unwrap() {
            for (value, count) in buckets(&bucket["f"]) {
                got.insert((bucket["key"].as_i64().unwrap(), value), count);
            }
        }
        assert_eq!(
            got, expected,
            "{field} every {interval} in {zone} over {hours}h"
        );
    }
}

/// Terms ranked by count, sum, max and value count, descending, over many keys and days: only
/// the buckets that can be among the best are merged (see `aggs::best`), and the answer, down
/// to `sum_other_doc_count`, is what the records give.
/// What the records give per key: documents, sum and max of bytes, documents with packets.
#[derive(Default)]
struct KeyTotals {
    docs: u64,
    bytes: i64,
    /// Bytes with `missing: -1000`: NODATA and SKIPDATA records have none, so their keys sum
    /// negative values, which the choice of the best buckets must notice.
    bytes_or_debt: i64,
    peak: Option<i64>,
    with_packets: u64,
}

#[test]
fn best_buckets_by_count_sum_max_and_value_count_match_the_records() {
    // (order, size, min_doc_count) and how each key's rank is computed from its documents.
    let cases: [(Json, usize, u64); 8] = [
        (json!({ "_count": "desc" }), 10, 1),
        (json!({ "debt": "asc" }), 2, 1),
        (json!({ "debt": "desc" }), 2, 1),
        (json!({ "b": "desc" }), 10, 1),
        (json!({ "b": "desc" }), 3, 4),
        (json!({ "peak": "desc" }), 7, 1),
        (json!({ "n": "desc" }), 5, 1),
        (json!({ "s.sum": "desc" }), 12, 1),
    ];
    // Protocols span a few values in every segment: their runs merge by value.
    for field in ["srcaddr", "dstaddr", "srcport", "protocol", "interface_id"] {
        for (order, size, min_doc_count) in &cases {
            let (by, direction) = order.as_object().unwrap().iter().next().unwrap();
            let ascending = direction == "asc";
            let metrics = match by.as_str() {
                // A sum alone, the top-talkers table: the smallest rows, read a block at a time.
                "b" => json!({ "b": { "sum": { "field": "bytes" } } }),
                // `missing` makes sums negative; read document by document.
                "debt" => json!({ "debt": { "sum": { "field": "bytes", "missing": -1000 } } }),
                _ => json!({
                    "b": { "sum": { "field": "bytes" } },
                    "peak": { "max": { "field": "bytes" } },
                    "n": { "value_count": { "field": "packets" } },
                    "s": { "stats": { "field": "bytes" } } }),
            };
            let response = search(json!({
                "size": 0,
                "aggs": { "t": { "terms": { "field": field, "size": size, "order": order, "min_doc_count": min_doc_count },
                    "aggs": metrics } }
            }));
            let mut per_key: HashMap<String, KeyTotals> = HashMap::new();
            for doc in &fixture().docs {
                let Some(key) = text(doc, field) else {
                    continue;
                };
                let entry = per_key.entry(key).or_default();
                entry.docs += 1;
                entry.bytes_or_debt += int(doc, "bytes").unwrap_or(-1000);
                if let Some(bytes) = int(doc, "bytes") {
                    entry.bytes += bytes;
                    entry.peak = Some(entry.peak.map_or(bytes, |m| m.max(bytes)));
                }
                if int(doc, "packets").is_some() {
                    entry.with_packets += 1;
                }
            }
            let rank = |v: &KeyTotals| -> Option<i64> {
                match by.as_str() {
                    "_count" => Some(v.docs as i64),
                    "b" | "s.sum" => Some(v.bytes),
                    "debt" => Some(v.bytes_or_debt),
                    "peak" => v.peak,
                    _ => Some(v.with_packets as i64),
                }
            };
            let mut expected: Vec<(String, KeyTotals)> = per_key.into_iter().collect();
            let key_order = |a: &String, b: &String| -> std::cmp::Ordering {
                match (
                    a.parse::<IpAddr>(),
                    b.parse::<IpAddr>(),
                    a.parse::<i64>(),
                    b.parse::<i64>(),
                ) {
                    (_, _, Ok(x), Ok(y)) => x.cmp(&y),
                    (Ok(x), Ok(y), _, _) => x.cmp(&y),
                    _ => a.cmp(b),
                }
            };
            expected.sort_by(|a, b| {
                // By rank; buckets without a value last; then by key.
                match (rank(&a.1), rank(&b.1)) {
                    (Some(x), Some(y)) if ascending => x.cmp(&y),
                    (Some(x), Some(y)) => y.cmp(&x),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                }
                .then_with(|| key_order(&a.0, &b.0))
            });
            let other: u64 = expected
                .iter()
                .filter(|(_, v)| v.docs < *min_doc_count)
                .map(|(_, v)| v.docs)
                .sum::<u64>()
                + expected
                    .iter()
                    .filter(|(_, v)| v.docs >= *min_doc_count)
                    .skip(*size)
                    .map(|(_, v)| v.docs)
                    .sum::<u64>();
            let shown: Vec<(String, u64)> = expected
                .iter()
                .filter(|(_, v)| v.docs >= *min_doc_count)
                .take(*size)
                .map(|(k, v)| (k.clone(), v.docs))
                .collect();
            let terms = &response["aggregations"]["t"];
            assert_eq!(buckets(terms), shown, "{field} by {order} size {size}");
            // And the value each bucket was ranked by.
            let path: Vec<&str> = by.split('.').collect();
            let ranked_by = |bucket: &Json| match path[..] {
                ["_count"] => bucket["doc_count"].as_f64(),
                [metric] => bucket[metric]["value"].as_f64(),
                [metric, property] => bucket[metric][property].as_f64(),
                _ => None,
            };
            let values: Vec<Option<f64>> = terms["buckets"]
                .as_array()
                .unwrap()
                .iter()
                .map(ranked_by)
                .collect();
            let expected_values: Vec<Option<f64>> = expected
                .iter()
                .filter(|(_, v)| v.docs >= *min_doc_count)
                .take(*size)
                .map(|(_, v)| rank(v).map(|r| r as f64))
                .collect();
            assert_eq!(values, expected_values, "{field} by {order} size {size}");
            assert_eq!(
                terms["sum_other_doc_count"],
                json!(other),
                "{field} by {order} size {size}"
            );
        }
    }
}

/// The words of a message as `@message` has them, worked out here on their own: text between
/// whitespace, punctuation trimmed from both ends, lower-cased, shorter than 100 bytes.
fn message_words(message: &str) -> Vec<String> {
    message
        .split_ascii_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| !w.is_empty() && w.len() < 100)
        .collect()
}

#[test]
fn message_words_are_found_whether_the_postings_or_the_columns_hold_them() {
    use crate::ingest::format::RecordFormat;

    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(EmbeddedEngine::open(dir.path()).unwrap());
    let mut docs = Vec::new();
    // Demo records as the 25-field v5 lines and as the 14 fields of the default format.
    let v5 = demo_format();
    let v2 = RecordFormat::default_v2();
    let mut lines = Vec::new();
    generate(
        &DemoConfig {
            flows: 2_000,
            hours: 2,
            end_ms: END,
            seed: 7,
        },
        |line| lines.push(line.to_owned()),
    );
    let add_line = |docs: &mut Vec<FlowDoc>, format: &RecordFormat, line: &str| {
        let mut values = Vec::new();
        parse_record(format, line, &mut values).unwrap();
        docs.push(FlowDoc::from_record(format, &values, line, &EventContext::default()).unwrap());
    };
    for line in &lines {
        add_line(&mut docs, &v5, line);
        let fields: Vec<&str> = line.split(' ').take(14).collect();
        add_line(&mut docs, &v2, &fields.join(" "));
    }
    let demo_docs = docs.len();
    // Numbers and addresses written otherwise than Rust writes them.
    let t = END / 1000 - 600;
    let odd = [
        format!(
            "2 123456789012 eni-0odd1 10.0.0.1 2001:DB8::7 0443 80 6 1 100 {t} {} ACCEPT OK",
            t + 60
        ),
        format!(
            "2 123456789012 eni-0odd2 ::1 10.0.0.2 443 80 6 1 100 {t} {} REJECT OK",
            t + 60
        ),
        format!(
            "2 123456789012 eni-0odd3 FE80::1:2 10.0.0.3 443 80 6 3 300 {t} {} REJECT OK",
            t + 60
        ),
        // Keyword values in another case than the demo records'.
        format!(
            "2 123456789012 eni-0Case1 10.0.0.1 10.0.0.2 443 80 6 1 100 {t} {} accept ok",
            t + 60
        ),
    ];
    for line in &odd {
        add_line(&mut docs, &v2, line);
    }
    // Clients' documents, whose fields need not be in their message.
    let timestamp = "2020-03-06T11:55:00Z";
    let sources = [
        json!({ "@timestamp": timestamp, "@message": "error 404 at 10.9.9.9", "srcaddr": "10.0.0.1", "dstport": 404 }),
        json!({ "@timestamp": timestamp, "@message": "\u{1}starts odd 8080", "dstport": 8080 }),
        json!({ "@timestamp": timestamp, "@message": "\u{2}x 5", "packets": 6 }),
        json!({ "@timestamp": timestamp, "@message": "- --" }),
        // Keyword fields whose values are the message's other words, in another case.
        json!({ "@timestamp": timestamp, "@message": "2 eni-0bulk1 accept 443", "version": 2,
                "interface_id": "eni-0bulk1", "action": "ACCEPT", "dstport": 443 }),
        // A keyword value the message does not have.
        json!({ "@timestamp": timestamp, "@message": "2 ACCEPT 443", "version": 2,
                "action": "ACCEPT", "dstport": 443, "interface_id": "eni-0elsewhere" }),
    ];
    for (i, source) in sources.iter().enumerate() {
        let source = source.as_object().unwrap().clone();
        docs.push(
            FlowDoc::from_source("cwl-2020.03.06", Some(&format!("client-{i}")), source).unwrap(),
        );
    }
    let mut sink = engine.sink(OnExistingId::KeepExisting);
    for doc in &docs {
        sink.write(doc.clone()).unwrap();
    }
    assert_eq!(sink.flush().unwrap().stored as usize, docs.len());
    engine
        .close_idle_writers(std::time::Duration::ZERO, 0)
        .unwrap();

    let words: Vec<Vec<String>> = docs
        .iter()
        .map(|d| message_words(d.message.as_deref().unwrap()))
        .collect();
    let count = |query: Json| -> u64 {
        let body = json!({ "size": 0, "track_total_hits": true, "query": query });
        let response =
            search_at(&engine, "cwl-*", &body, END).unwrap_or_else(|e| panic!("{e}: {body}"));
        response["hits"]["total"]["value"].as_u64().unwrap()
    };
    let expected = |matches: &dyn Fn(&str) -> bool| -> u64 {
        words
            .iter()
            .filter(|ws| ws.iter().any(|w| matches(w)))
            .count() as u64
    };

    // The demo records leave their numbers and addresses to their columns; the odd line with
    // `0443` and the first client document cannot, nor can the one whose `5` no column holds,
    // and the one without words has nothing to leave.
    let with_marker = |word: &str| -> u64 {
        engine
            .indices()
            .iter()
            .map(|stats| {
                let index = engine.index(&stats.name).unwrap();
                let message = index.schema().field("@message").unwrap().field;
                let marker = tantivy::query::TermQuery::new(
                    tantivy::Term::from_field_text(message, word),
                    tantivy::schema::IndexRecordOption::Basic,
                );
                index
                    .searcher()
                    .search(&marker, &tantivy::collector::Count)
                    .unwrap() as u64
            })
            .sum()
    };
    assert_eq!(with_marker("\n"), docs.len() as u64 - 4);
    // Wholly backed, with every other word a record keyword value: the demo records, the
    // odd lines but the one with `0443`, and the client document whose fields are its words.
    assert_eq!(with_marker("\n\n"), demo_docs as u64 + 4);
    // The marker is no word, and a message's first character no search syntax.
    assert_eq!(count(json!({ "term": { "@message": "\n" } })), 0);
    assert_eq!(
        count(json!({ "match": { "@message": "\u{1}443" } })),
        expected(&|w| w == "443")
    );

    // Every word of a sample of the demo records, every word of the odd ones, and words no
    // record has: as many documents as have the word.
    let mut queried: Vec<String> = words[..400]
        .iter()
        .chain(&words[demo_docs..])
        .flatten()
        .cloned()
        .collect();
    queried.extend(
        [
            "9999999",
            "10.99.99.99",
            "2001:db8::99",
            "1",
            "0",
            "fe80::1:2",
            "eni-0elsewhere",
            "tcp",
        ]
        .map(String::from),
    );
    queried.sort();
    queried.dedup();
    assert!(queried.len() > 500, "{}", queried.len());
    for word in &queried {
        let want = expected(&|w| w == word);
        let got = count(json!({ "match_phrase": { "@message": word } }));
        assert_eq!(got, want, "documents with the word [{word}]");
    }
    // Written as users write them: case and punctuation do not matter.
    assert_eq!(
        count(json!({ "query_string": { "query": "\"2001:DB8::7,\"" } })),
        expected(&|w| w == "2001:db8::7")
    );
    assert_eq!(
        count(json!({ "terms": { "@message": ["443", "accept", "10.0.0.2"] } })),
        expected(&|w| w == "443" || w == "accept" || w == "10.0.0.2")
    );
    let both = |a: &str, b: &str| {
        let has = |ws: &Vec<String>, word: &str| ws.iter().any(|w| w == word);
        words.iter().filter(|ws| has(ws, a) && has(ws, b)).count() as u64
    };
    assert_eq!(
        count(json!({ "bool": { "must": [
            { "match": { "@message": "IPv4" } },
            { "match": { "@message": "Ingress" } }
        ] } })),
        both("ipv4", "ingress")
    );
    assert!(both("ipv4", "ingress") > 0);
    // A term is not analyzed: words are lower-case, whatever case their fields' values have.
    assert_eq!(count(json!({ "term": { "@message": "ACCEPT" } })), 0);
    for pattern in [
        "10.0.*",
        "*443",
        "2001:db8:*",
        "fe80:*",
        "eni-*",
        "*.5",
        "1*",
        "*0*",
        "*",
        "acc*",
        "ipv*",
        "*-east-*",
        "use1-az*",
        "i-*",
        "ok",
        "eni-0c*",
        "eni-0e*",
        "4?3",
        "10.0.0.?",
        "eni-0??*",
        "?????",
        "*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*",
        "*a*b*c*d*e*f*",
    ] {
        // The oracle: the pattern as an (undeterminized) regex.
        let regex = pattern
            .chars()
            .map(|c| match c {
                '*' => ".*".to_owned(),
                '?' => ".".to_owned(),
                c => regex::escape(&c.to_string()),
            })
            .collect::<String>();
        let regex = regex::Regex::new(&format!("^(?:{regex})$")).unwrap();
        assert_eq!(
            count(json!({ "wildcard": { "@message": pattern } })),
            expected(&|w| regex.is_match(w)),
            "documents with a word like [{pattern}]"
        );
    }
    assert_eq!(
        count(json!({ "exists": { "field": "@message" } })),
        expected(&|_| true)
    );

    // Messages read back as they were written, whatever they start with.
    for (i, source) in sources.iter().enumerate() {
        let body = json!({ "query": { "ids": { "values": [format!("client-{i}")] } } });
        let response = search_at(&engine, "cwl-*", &body, END).unwrap();
        assert_eq!(
            response["hits"]["hits"][0]["_source"]["@message"],
            source["@message"]
        );
    }
    let body = json!({ "size": 3, "query": { "match_phrase": { "@message": "eni-0odd2" } } });
    let response = search_at(&engine, "cwl-*", &body, END).unwrap();
    assert_eq!(
        response["hits"]["hits"][0]["_source"]["@message"],
        json!(odd[1])
    );
}

/// `ip_prefix` counts each /24 (and /16 of IPv6) of the records' addresses, in address
/// order, with their bytes; a prefix too long, or none, is refused by name.
#[test]
fn ip_prefix_counts_each_network_of_the_records() {
    let response = search(json!({
        "size": 0,
        "aggs": {
            "v4": { "ip_prefix": { "field": "srcaddr", "prefix_length": 24, "append_prefix_length": true },
                "aggs": { "b": { "sum": { "field": "bytes" } } } },
            "v6": { "ip_prefix": { "field": "srcaddr", "prefix_length": 16, "is_ipv6": true } }
        }
    }));
    let mut expected: std::collections::BTreeMap<u32, (u64, i64)> = Default::default();
    for doc in &fixture().docs {
        // As Elasticsearch does, an IPv4 prefix masks any address's last four bytes, an
        // IPv6 address's too.
        let last_four = match text(doc, "srcaddr").and_then(|a| a.parse().ok()) {
            Some(std::net::IpAddr::V4(address)) => u32::from(address),
            Some(std::net::IpAddr::V6(address)) => u128::from(address) as u32,
            None => continue,
        };
        let entry = expected.entry(last_four & 0xffff_ff00).or_default();
        entry.0 += 1;
        entry.1 += int(doc, "bytes").unwrap_or(0);
    }
    assert!(expected.len() > 2, "the fixture has several networks");
    let buckets = response["aggregations"]["v4"]["buckets"]
        .as_array()
        .unwrap();
    let got: Vec<(String, u64, f64)> = buckets
        .iter()
        .map(|b| {
            assert_eq!(b["netmask"], "255.255.255.0");
            assert_eq!(b["prefix_length"], 24);
            let key = b["key"].as_str().unwrap().to_owned();
            (
                key,
                b["doc_count"].as_u64().unwrap(),
                b["b"]["value"].as_f64().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, u64, f64)> = expected
        .into_iter()
        .map(|(network, (count, bytes))| {
            let key = format!("{}/24", std::net::Ipv4Addr::from(network));
            (key, count, bytes as f64)
        })
        .collect();
    assert_eq!(got, want);
    // IPv4 addresses over an IPv6 /16 are all in ::ffff:0:0/96, so in `::`.
    let v6 = response["aggregations"]["v6"]["buckets"]
        .as_array()
        .unwrap();
    assert!(v6
        .iter()
        .all(|b| b.get("netmask").is_none() && b["is_ipv6"] == true));
    for (body, words) in [
        (
            json!({ "field": "srcaddr", "prefix_length": 33 }),
            "must be in range [0, 32]",
        ),
        (json!({ "field": "srcaddr" }), "[prefix_length] is required"),
        (
            json!({ "field": "bytes", "prefix_length": 8 }),
            "not supported for aggregation [ip_prefix]",
        ),
    ] {
        let error = search_error(json!({ "size": 0, "aggs": { "p": { "ip_prefix": body } } }));
        assert!(error.contains(words), "{error}");
    }
}

/// Filters that only ask which ranges an address is in (a split by network) are answered from
/// the address column; they count what the same filters count as queries (beside a filter of
/// another field, which keeps them queries), and what the records say.
#[test]
fn address_filters_count_what_the_same_queries_count() {
    let block = |cidr: &str| json!({ "term": { "srcaddr": cidr } });
    let address_filters = json!({
        "vpc": block("10.10.0.0/16"),
        "vpc_by_keyword": { "term": { "srcaddr.keyword": "10.10.0.0/16" } },
        "vpc_but_apps": { "bool": { "filter": [block("10.10.0.0/16")], "must_not": [block("10.10.10.0/24"), block("10.10.11.0/24")] } },
        "either": { "bool": { "should": [block("10.11.0.0/16"), block("10.20.0.0/16")], "minimum_should_match": 1 } },
        "listed": { "terms": { "srcaddr": ["203.0.113.25", "10.20.0.0/16"] } },
        "not_ours": { "bool": { "must_not": [{ "terms": { "srcaddr": ["10.0.0.0/8", "203.0.113.0/24"] } }] } },
        "nobody": block("192.0.2.0/24"),
        "anyone": block("::/0"),
    });
    let mut as_queries = address_filters.clone();
    as_queries["rejected"] = json!({ "term": { "action": "REJECT" } });
    let answer = |filters: &Json| {
        let split = json!({ "filters": { "filters": filters, "other_bucket_key": "rest" } });
        search(json!({ "size": 0, "aggs": {
            "top": split.clone(),
            "by_action": { "terms": { "field": "action", "size": 5 }, "aggs": { "nets": split } }
        } }))["aggregations"]
            .clone()
    };
    let (columns, queries) = (answer(&address_filters), answer(&as_queries));
    let names: Vec<&String> = address_filters.as_object().unwrap().keys().collect();
    for name in &names {
        assert_eq!(
            columns["top"]["buckets"][name]["doc_count"],
            queries["top"]["buckets"][name]["doc_count"],
            "{name}"
        );
        for (a, q) in columns["by_action"]["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .zip(queries["by_action"]["buckets"].as_array().unwrap())
        {
            assert_eq!(a["key"], q["key"]);
            assert_eq!(
                a["nets"]["buckets"][name]["doc_count"], q["nets"]["buckets"][name]["doc_count"],
                "{name} under {}",
                a["key"]
            );
        }
    }
    // From the records: in the VPC less its app subnets, outside every private range and the
    // office (flows without an address too), and in none of the filters ("rest").
    let docs = &fixture().docs;
    let source = |doc: &FlowDoc| match doc.get("srcaddr") {
        Some(DocValue::Ip(IpAddr::V4(v4))) => Some(v4.octets()),
        _ => None,
    };
    let count =
        |keep: &dyn Fn(Option<[u8; 4]>) -> bool| docs.iter().filter(|d| keep(source(d))).count();
    let vpc_but_apps =
        count(&|a| a.is_some_and(|a| a[..2] == [10, 10] && a[2] != 10 && a[2] != 11));
    let not_ours = count(&|a| !a.is_some_and(|a| a[0] == 10 || a[..3] == [203, 0, 113]));
    let top = &columns["top"]["buckets"];
    assert!(vpc_but_apps > 0 && not_ours > 0);
    assert_eq!(top["vpc_but_apps"]["doc_count"], vpc_but_apps);
    assert_eq!(top["not_ours"]["doc_count"], not_ours);
    assert_eq!(top["nobody"]["doc_count"], 0);
    let with_source = docs.iter().filter(|d| d.get("srcaddr").is_some()).count();
    assert_eq!(top["anyone"]["doc_count"], with_source);
    // Every flow has an address in `anyone`'s range or none, which `not_ours` holds.
    assert_eq!(top["rest"]["doc_count"], 0);
    assert_eq!(top["vpc_by_keyword"], top["vpc"]);
    // Filters no flow is in two of (a split by network), without an "other" bucket: each flow
    // placed in its one filter, those in none left out.
    let apps = json!({ "bool": { "should": [block("10.10.10.0/24"), block("10.10.11.0/24")], "minimum_should_match": 1 } });
    let disjoint = json!({ "filters": { "filters": {
        "vpc_but_apps": address_filters["vpc_but_apps"], "apps": apps, "office": block("203.0.113.0/24") } } });
    let split = search(json!({ "size": 0, "aggs": {
        "top": disjoint.clone(),
        "by_action": { "terms": { "field": "action", "size": 5 }, "aggs": { "nets": disjoint } }
    } }))["aggregations"]
        .clone();
    let apps_count =
        count(&|a| a.is_some_and(|a| a[..2] == [10, 10] && (a[2] == 10 || a[2] == 11)));
    let office = count(&|a| a.is_some_and(|a| a[..3] == [203, 0, 113]));
    assert!(apps_count > 0 && office > 0);
    assert_eq!(
        split["top"]["buckets"],
        json!({ "vpc_but_apps": { "doc_count": vpc_but_apps }, "apps": { "doc_count": apps_count },
            "office": { "doc_count": office } })
    );
    let under_actions: u64 = split["by_action"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|action| {
            action["nets"]["buckets"]["apps"]["doc_count"]
                .as_u64()
                .unwrap()
        })
        .sum();
    assert_eq!(under_actions, apps_count as u64);
    // A long list is left to the query, which searches it in order, and a name the schema
    // does not have counts nothing, as the query counts it.
    let long_list: Vec<String> = std::iter::once("10.10.0.0/16".to_owned())
        .chain((1..100).map(|i| format!("192.0.2.{i}")))
        .collect();
    let odd = search(json!({ "size": 0, "aggs": {
        "long": { "filters": { "filters": { "many": { "terms": { "srcaddr": long_list } } } } },
        "odd": { "filters": { "filters": { "twice": { "term": { "srcaddr.keyword.keyword": "10.10.0.0/16" } } } } }
    } }));
    assert_eq!(odd["aggregations"]["long"]["buckets"]["many"], top["vpc"]);
    assert_eq!(
        odd["aggregations"]["odd"]["buckets"]["twice"]["doc_count"],
        0
    );
    // The column that `srcaddr.keyword` opened is `srcaddr`'s for what comes after.
    let sources =
        search(json!({ "size": 0, "aggs": { "s": { "cardinality": { "field": "srcaddr" } } } }));
    let distinct: std::collections::HashSet<String> = docs
        .iter()
        .filter_map(|d| d.get("srcaddr").map(|v| format!("{v:?}")))
        .collect();
    assert_eq!(sources["aggregations"]["s"]["value"], distinct.len());
}

#[test]
fn collecting_a_block_at_a_time_answers_as_one_document_at_a_time() {
    // Without hits, documents are collected in blocks (columns read once per block, a block
    // sorted into buckets level by level); with hits, one at a time. Both must answer alike
    // for every shape the overview asks: networks then ports (a Sankey), a split of a
    // histogram with bounds, nested terms over ports, conversations, totals.
    let networks = |field: &str| {
        json!({ "filters": { "other_bucket_key": "Unnamed", "filters": {
            "shop": { "term": { (field): "10.10.0.0/16" } },
            "shared": { "term": { (field): "10.11.0.0/16" } },
            "office": { "term": { (field): "203.0.113.0/24" } },
        } } })
    };
    let mut sankey = networks("srcaddr");
    sankey["aggs"] = json!({ "dst": networks("dstaddr") });
    sankey["aggs"]["dst"]["aggs"] =
        json!({ "port": { "terms": { "field": "dstport", "size": 500 } } });
    let from = END - 20 * 3_600_000;
    let requests = [
        json!({ "sankey": sankey }),
        json!({ "direction": { "terms": { "field": "action", "size": 3 }, "aggs": {
            "time": { "date_histogram": { "field": "@timestamp", "fixed_interval": "30m",
                "hard_bounds": { "min": from, "max": END - 3_600_000 } },
                "aggs": { "bytes": { "sum": { "field": "bytes" } } } } } } }),
        json!({ "time": { "date_histogram": { "field": "@timestamp", "fixed_interval": "1h" },
            "aggs": { "action": { "terms": { "field": "action" } } } } }),
        // A filter on whether a field has a value reads the column, a block or a flow at a time.
        json!({ "status": { "terms": { "field": "log_status" }, "aggs": {
            "port": { "filter": { "exists": { "field": "dstport" } } },
            "no_port": { "filter": { "bool": { "must_not": [{ "exists": { "field": "dstport" } }] } },
                "aggs": { "bytes": { "sum": { "field": "bytes", "missing": 1 } } } } } } }),
        // Minutes interleave within a block: runs of a few flows, added from keys and values
        // read once for the block.
        json!({ "time": { "date_histogram": { "field": "@timestamp", "fixed_interval": "1m" },
            "aggs": { "action": { "terms": { "field": "action" } } } } }),
        json!({ "time": { "date_histogram": { "field": "@timestamp", "fixed_interval": "1m" },
            "aggs": { "bytes": { "sum": { "field": "bytes" } }, "fewest": { "min": { "field": "packets" } } } } }),
        json!({ "time": { "date_histogram": { "field": "@timestamp", "fixed_interval": "1m" },
            "aggs": { "action": { "terms": { "field": "action" },
                "aggs": { "bytes": { "sum": { "field": "bytes" } } } } } } }),
        json!({ "time": { "date_histogram": { "field": "@timestamp", "fixed_interval": "1m",
                "hard_bounds": { "min": "2020-03-05T12:00:00Z", "max": "2020-03-05T18:00:00Z" } },
            "aggs": { "action": { "terms": { "field": "action" },
                "aggs": { "bytes": { "sum": { "field": "bytes" } }, "most": { "max": { "field": "packets" } } } } } } }),
        json!({ "action": { "terms": { "field": "action" }, "aggs": {
            "port": { "terms": { "field": "dstport", "size": 20, "order": { "bytes": "desc" } },
                "aggs": { "bytes": { "sum": { "field": "bytes" } } } },
            "protocol": { "terms": { "field": "protocol", "size": 5 } } } } }),
        json!({ "conversations": { "multi_terms": { "size": 20, "order": { "bytes": "desc" },
            "terms": [{ "field": "srcaddr" }, { "field": "dstaddr" }, { "field": "dstport" }, { "field": "protocol" }] },
            "aggs": { "bytes": { "sum": { "field": "bytes" } }, "packets": { "sum": { "field": "packets" } } } } }),
        json!({ "bytes": { "sum": { "field": "bytes" } }, "most": { "max": { "field": "packets" } },
            "with_port": { "value_count": { "field": "dstport" } }, "avg": { "avg": { "field": "bytes" } },
            "sources": { "cardinality": { "field": "srcaddr" } }, "ports": { "cardinality": { "field": "dstport" } },
            "actions": { "cardinality": { "field": "action" } } }),
    ];
    for aggs in requests {
        let in_blocks = search(json!({ "size": 0, "aggs": aggs }));
        let one_by_one = search(json!({ "size": 1, "aggs": aggs }));
        assert_eq!(
            in_blocks["aggregations"], one_by_one["aggregations"],
            "{aggs}"
        );
    }
    // The Sankey against the records: flows from no named network into the shop VPC, by
    // port.
    let answer = search(json!({ "size": 0, "aggs": { "sankey": sankey } }));
    let ports = &answer["aggregations"]["sankey"]["buckets"]["Unnamed"]["dst"]["buckets"]["shop"]
        ["port"]["buckets"];
    let octets = |doc: &FlowDoc, field: &str| match doc.get(field) {
        Some(DocValue::Ip(IpAddr::V4(a))) => Some(a.octets()),
        _ => None,
    };
    let named = |a: Option<[u8; 4]>| {
        a.is_some_and(|a| a[..2] == [10, 10] || a[..2] == [10, 11] || a[..3] == [203, 0, 113])
    };
    let mut expected: HashMap<i64, u64> = HashMap::new();
    for doc in &fixture().docs {
        let into_shop = octets(doc, "dstaddr").is_some_and(|a| a[..2] == [10, 10]);
        if !named(octets(doc, "srcaddr")) && into_shop {
            if let Some(port) = int(doc, "dstport") {
                *expected.entry(port).or_default() += 1;
            }
        }
    }
    assert!(expected.len() > 1, "{expected:?}");
    assert_eq!(counts_by_number(ports), expected);
    // Protocols (1, 6, 17) make a table indexed from the least of them: each count is the
    // records'.
    let answer = search(
        json!({ "size": 0, "aggs": { "action": { "terms": { "field": "action" },
        "aggs": { "protocol": { "terms": { "field": "protocol" } } } } } }),
    );
    for bucket in answer["aggregations"]["action"]["buckets"]
        .as_array()
        .unwrap()
    {
        let action = bucket["key"].as_str().unwrap();
        let mut expected: HashMap<i64, u64> = HashMap::new();
        for doc in &fixture().docs {
            if text(doc, "action").as_deref() == Some(action) {
                if let Some(protocol) = int(doc, "protocol") {
                    *expected.entry(protocol).or_default() += 1;
                }
            }
        }
        assert_eq!(
            counts_by_number(&bucket["protocol"]["buckets"]),
            expected,
            "protocols of {action}"
        );
    }
}

/// The count of each bucket of a list keyed by numbers.
fn counts_by_number(buckets: &Json) -> HashMap<i64, u64> {
    buckets
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["key"].as_i64().unwrap(), b["doc_count"].as_u64().unwrap()))
        .collect()
}

/// Field filters (`term` on a keyword, an integer or an address block) read each segment's
/// column into a set of documents: the flows the records have, whether the index's columns
/// are given (a search) or opened for the query alone, and with flows lacking the field
/// (NODATA records have no addresses or ports) left out.
#[test]
fn field_filters_find_the_flows_the_records_have() {
    use super::query::{compile, parse_query, QueryContext};
    let docs = &fixture().docs;
    fn ip(doc: &FlowDoc, field: &str) -> Option<IpAddr> {
        match doc.get(field) {
            Some(DocValue::Ip(ip)) => Some(*ip),
            _ => None,
        }
    }
    fn to_v6(ip: IpAddr) -> u128 {
        match ip {
            IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
            IpAddr::V6(v6) => u128::from(v6),
        }
    }
    let within = |field: &'static str, cidr: &'static str| {
        let net: ipnet_like::Net = cidr.parse().unwrap();
        move |doc: &FlowDoc| ip(doc, field).is_some_and(|a| net.contains(&a))
    };
    // The fixture's addresses, so that blocks fall on, between and past them.
    let mut sources: Vec<IpAddr> = docs.iter().filter_map(|d| ip(d, "srcaddr")).collect();
    sources.sort_unstable();
    sources.dedup();
    let highest = sources.last().unwrap().to_string();
    let (from, to) = (END - 20 * 3_600_000, END - 2 * 3_600_000);
    type Keep = Box<dyn Fn(&FlowDoc) -> bool>;
    let ports: Vec<i64> = (0..20)
        .map(|i| [22, 443, 3389, 53][i % 4] + (i as i64 / 4) * 1000)
        .collect();
    let blocks: Vec<&str> = ["10.10.0.0/16", "203.0.113.0/24"]
        .into_iter()
        .chain(std::iter::repeat_n("192.0.2.7", 19))
        .collect();
    let cases: Vec<(Json, Keep)> = vec![
        (
            json!({ "term": { "action": "REJECT" } }),
            Box::new(|d| text(d, "action").as_deref() == Some("REJECT")),
        ),
        (
            json!({ "term": { "log_status": "NODATA" } }),
            Box::new(|d| text(d, "log_status").as_deref() == Some("NODATA")),
        ),
        (
            json!({ "term": { "action": "NO-SUCH-ACTION" } }),
            Box::new(|_| false),
        ),
        (
            json!({ "term": { "dstport": 443 } }),
            Box::new(|d| int(d, "dstport") == Some(443)),
        ),
        (
            json!({ "term": { "dstport": "22" } }),
            Box::new(|d| int(d, "dstport") == Some(22)),
        ),
        (
            json!({ "term": { "protocol": 17 } }),
            Box::new(|d| int(d, "protocol") == Some(17)),
        ),
        (
            json!({ "term": { "srcport": 1 } }),
            Box::new(|d| int(d, "srcport") == Some(1)),
        ),
        (
            json!({ "term": { "srcaddr": "10.0.0.0/8" } }),
            Box::new(within("srcaddr", "10.0.0.0/8")),
        ),
        (
            json!({ "term": { "dstaddr": "10.10.10.0/24" } }),
            Box::new(within("dstaddr", "10.10.10.0/24")),
        ),
        (
            json!({ "term": { "srcaddr": sources[1].to_string() } }),
            Box::new({
                let a = sources[1];
                move |d: &FlowDoc| ip(d, "srcaddr") == Some(a)
            }),
        ),
        (
            json!({ "term": { "srcaddr": highest } }),
            Box::new({
                let a = *sources.last().unwrap();
                move |d: &FlowDoc| ip(d, "srcaddr") == Some(a)
            }),
        ),
        // Past every address the segments hold, and a block no flow is in.
        (
            json!({ "term": { "srcaddr": "255.255.255.255" } }),
            Box::new(|d| ip(d, "srcaddr") == Some("255.255.255.255".parse().unwrap())),
        ),
        (
            json!({ "term": { "srcaddr": "192.0.2.0/24" } }),
            Box::new(within("srcaddr", "192.0.2.0/24")),
        ),
        (
            json!({ "term": { "srcaddr": "::/0" } }),
            Box::new(|d| ip(d, "srcaddr").is_some()),
        ),
        // A narrow time range: the filter is asked for the chunks that range reaches.
        (
            json!({ "bool": { "filter": [{ "term": { "action": "REJECT" } }, range_filter(END - 3 * 3_600_000, END - 3 * 3_600_000 + 600_000)] } }),
            Box::new(|d| {
                text(d, "action").as_deref() == Some("REJECT")
                    && in_range(d, END - 3 * 3_600_000, END - 3 * 3_600_000 + 600_000)
            }),
        ),
        // Ranges, and lists long enough to be tested as a set.
        (
            json!({ "range": { "dstport": { "gte": 1024, "lt": 49152 } } }),
            Box::new(|d| int(d, "dstport").is_some_and(|p| (1024..49152).contains(&p))),
        ),
        (
            json!({ "range": { "bytes": { "gt": 1500.5 } } }),
            Box::new(|d| int(d, "bytes").is_some_and(|b| b > 1500)),
        ),
        (
            json!({ "range": { "srcport": { "lte": 1023 } } }),
            Box::new(|d| int(d, "srcport").is_some_and(|p| p <= 1023)),
        ),
        (
            json!({ "range": { "srcaddr": { "gte": "10.0.0.0", "lte": "10.255.255.255" } } }),
            Box::new(within("srcaddr", "10.0.0.0/8")),
        ),
        (
            json!({ "range": { "srcaddr": { "gt": sources[1].to_string() } } }),
            Box::new({
                let a = sources[1];
                move |d: &FlowDoc| ip(d, "srcaddr").is_some_and(|s| to_v6(s) > to_v6(a))
            }),
        ),
        (
            json!({ "terms": { "dstport": ports } }),
            Box::new(|d| {
                int(d, "dstport").is_some_and(|p| {
                    [22, 443, 3389, 53]
                        .iter()
                        .any(|b| (0..5).any(|k| p == b + k * 1000))
                })
            }),
        ),
        (
            json!({ "terms": { "srcaddr": blocks } }),
            Box::new(move |d| {
                within("srcaddr", "10.10.0.0/16")(d)
                    || within("srcaddr", "203.0.113.0/24")(d)
                    || within("srcaddr", "192.0.2.7/32")(d)
            }),
        ),
        (
            json!({ "bool": { "filter": [{ "term": { "srcaddr": "10.0.0.0/8" } }, range_filter(from, to)], "must_not": [{ "term": { "dstport": 443 } }] } }),
            Box::new(move |d| {
                within("srcaddr", "10.0.0.0/8")(d)
                    && in_range(d, from, to)
                    && int(d, "dstport") != Some(443)
            }),
        ),
    ];
    let indices = fixture().engine.resolve("cwl-*").unwrap();
    let schema = fixture().engine.schema();
    for (query, keep) in &cases {
        let expected = docs.iter().filter(|d| keep(d)).count();
        let answer = search(json!({ "size": 0, "track_total_hits": true, "query": query }));
        assert_eq!(answer["hits"]["total"]["value"], expected, "{query}");
        // Without the indices' columns, each segment's is opened for the query.
        let context = QueryContext {
            schema,
            now: super::datemath::Now::at(END),
            columns: Default::default(),
        };
        let compiled = compile(&parse_query(query).unwrap(), &context).unwrap();
        let alone: usize = indices
            .iter()
            .map(|index| {
                index
                    .searcher()
                    .search(&compiled, &tantivy::collector::Count)
                    .unwrap()
            })
            .sum();
        assert_eq!(alone, expected, "{query} without the indices' columns");
    }
    let nodata = docs
        .iter()
        .filter(|d| text(d, "log_status").as_deref() == Some("NODATA"))
        .count();
    assert!(nodata > 0, "the fixture has flows without addresses");
}

#[test]
fn a_search_of_many_segments_holds_the_union_of_their_buckets_not_their_sum() {
    // Two hours of the fixture written sixty times over, each copy on a day of its own: every
    // segment holds the same keys, so the union of their buckets is one copy's, and their sum
    // sixty times that.
    const COPIES: u64 = 60;
    let (_dir, engine) = daily_copies(COPIES);
    let day = last_two_hours();
    // Who talks to whom's shape, with many buckets in every segment: source ports (nearly
    // one per flow) under actions under protocols. The range reads `now`, so no answer is
    // cached.
    let body = json!({ "size": 0, "query": { "range": { "@timestamp": { "lte": "now" } } }, "aggs": { "protocol": {
        "terms": { "field": "protocol", "size": 10 },
        "aggs": { "action": {
            "terms": { "field": "action", "size": 10 },
            "aggs": { "port": { "terms": { "field": "srcport", "size": 6 } } }
        } }
    } } });
    let all_copies = least_budget(&engine, &body);
    let expected = search_at(&engine, "cwl-*", &body, END).unwrap();

    // The same day once, in an engine of its own.
    let one_dir = tempfile::tempdir().unwrap();
    let one = Arc::new(EmbeddedEngine::open(one_dir.path()).unwrap());
    let mut sink = one.sink(OnExistingId::KeepExisting);
    for doc in &day {
        sink.write((*doc).clone()).unwrap();
    }
    sink.flush().unwrap();
    let one_copy = least_budget(&one, &body);
    let once = search_at(&one, "cwl-*", &body, END).unwrap();

    // Each segment's collection tables are given back once it is harvested, and the
    // segments' buckets fold into their union as they come: a few copies' worth at once (a
    // segment being collected on each search thread, results folded, waiting and being
    // compacted): 2.7 times one copy's budget on two threads, where the results held until the
    // end took 41 times.
    let bound = 2 + engine.search_threads().max(2);
    assert!(
        all_copies <= bound * one_copy,
        "{COPIES} copies needed {all_copies} bytes, one copy {one_copy}"
    );
    // And the answer is exact: every count sixty times one copy's.
    let scaled = |answer: &Json| -> Vec<(String, String, String, u64)> {
        let mut rows = Vec::new();
        for protocol in answer["aggregations"]["protocol"]["buckets"]
            .as_array()
            .unwrap()
        {
            for action in protocol["action"]["buckets"].as_array().unwrap() {
                let ports = &action["port"];
                for port in ports["buckets"].as_array().unwrap() {
                    rows.push((
                        protocol["key"].to_string(),
                        action["key"].to_string(),
                        port["key"].to_string(),
                        port["doc_count"].as_u64().unwrap(),
                    ));
                }
                rows.push((
                    protocol["key"].to_string(),
                    action["key"].to_string(),
                    "others".into(),
                    ports["sum_other_doc_count"].as_u64().unwrap(),
                ));
            }
        }
        rows
    };
    let once: Vec<_> = scaled(&once)
        .into_iter()
        .map(|(p, a, k, n)| (p, a, k, n * COPIES))
        .collect();
    assert!(once.len() > 10, "{once:?}");
    assert_eq!(scaled(&expected), once);
}

/// The fixture's last two hours.
fn last_two_hours() -> Vec<&'static FlowDoc> {
    fixture()
        .docs
        .iter()
        .filter(|doc| in_range(doc, END - 2 * 3_600_000, END))
        .collect()
}

/// An engine holding the fixture's last two hours `copies` times over, each copy on a day of
/// its own before the last, in an index of its own.
fn daily_copies(copies: u64) -> (tempfile::TempDir, Arc<EmbeddedEngine>) {
    let day = last_two_hours();
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(EmbeddedEngine::open(dir.path()).unwrap());
    for copy in 0..copies {
        let mut sink = engine.sink(OnExistingId::KeepExisting);
        for doc in &day {
            let mut doc = (*doc).clone();
            doc.id = format!("{}-{copy}", doc.id);
            doc.timestamp_ms -= copy as i64 * 86_400_000;
            doc.index = chrono::Utc
                .timestamp_millis_opt(doc.timestamp_ms)
                .unwrap()
                .format("cwl-%Y.%m.%d")
                .to_string()
                .into();
            sink.write(doc).unwrap();
        }
        sink.flush().unwrap();
    }
    (dir, engine)
}

#[test]
fn the_column_cache_keeps_to_its_budget_and_a_search_longer_than_it_reuses_what_it_kept() {
    const DAYS: u64 = 12;
    let (_dir, engine) = daily_copies(DAYS);
    // Top talkers over every day, and distinct destinations: address columns (their tables
    // of value ranges are most of what is kept, and a distinct count builds a decoding table
    // besides) and a number column per segment. The range reads `now`, so no answer is kept
    // whole.
    let body = json!({ "size": 0, "query": { "range": { "@timestamp": { "lte": "now" } } }, "aggs": {
        "talkers": { "terms": { "field": "srcaddr", "size": 10, "order": { "bytes": "desc" } },
            "aggs": { "bytes": { "sum": { "field": "bytes" } } } },
        "destinations": { "cardinality": { "field": "dstaddr" } }
    } });
    let cache = engine.column_cache();
    cache.set_budget(1 << 30);
    let expected = search_at(&engine, "cwl-*", &body, END).unwrap();
    let all = cache.stats();
    assert!(all.columns as u64 >= 2 * DAYS, "{all:?}");
    assert_eq!(
        search_at(&engine, "cwl-*", &body, END).unwrap()["aggregations"],
        expected["aggregations"]
    );
    assert_eq!(cache.stats().misses, all.misses, "every column was kept");

    // A third of what they take: given back at once, least recently used first.
    let budget = all.bytes / 3;
    cache.set_budget(budget);
    assert!(cache.stats().bytes <= budget);
    // The cache's columns were used by an earlier search, so this one replaces them until it
    // would give back its own; the next search of the same days finds what it kept.
    let mut kept = Vec::new();
    for _ in 0..3 {
        let before = cache.stats();
        let answer = search_at(&engine, "cwl-*", &body, END).unwrap();
        assert_eq!(answer["aggregations"], expected["aggregations"]);
        let after = cache.stats();
        assert!(after.bytes <= budget, "{after:?} over {budget}");
        kept.push((after.reused - before.reused, after.columns));
    }
    // Least recently used alone would reuse nothing: each search would push out the columns
    // the next one reads first. (Small columns of later days fill what the first days' left,
    // and the next search replaces some of them.)
    for &(reused, columns) in &kept[1..] {
        assert!(
            reused as usize * 4 >= columns && columns > 0,
            "{kept:?} (columns reused, columns kept)"
        );
    }

    // A deleted index's columns are forgotten with it.
    let names: Vec<String> = engine
        .resolve("cwl-*")
        .unwrap()
        .iter()
        .map(|index| index.name.clone())
        .collect();
    for name in &names {
        engine.delete_index(name).unwrap();
    }
    assert_eq!(cache.stats().columns, 0);
    assert_eq!(cache.stats().bytes, 0);
}

/// The least memory budget (to within 1/64) with which `engine` answers `body`; the budget is
/// left at 1 GiB.
fn least_budget(engine: &EmbeddedEngine, body: &Json) -> usize {
    let (mut refused, mut answered) = (1usize << 10, 1usize << 30);
    while answered - refused > answered / 64 {
        let middle = refused + (answered - refused) / 2;
        engine.set_collect_budget(middle);
        match search_at(engine, "cwl-*", body, END) {
            Ok(_) => answered = middle,
            Err(_) => refused = middle,
        }
    }
    engine.set_collect_budget(1 << 30);
    answered
}
