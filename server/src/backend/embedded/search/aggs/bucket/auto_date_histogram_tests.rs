//! `auto_date_histogram` against the records of the shared fixture (30 hours of flows over two
//! days, so two indices): the interval Elasticsearch's rounding and reduce choose, and each
//! bucket's flows and bytes counted from the records.

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};

use super::super::super::tests::{fixture, int, search, search_error};

/// 2020-03-06T12:00:00Z, where the fixture ends.
const END: i64 = 1_583_496_000_000;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

/// Flows and bytes per bucket of `width` from the first flow's `unit` at or after `from`
/// (and before `to`): what a histogram merged `width / unit` buckets at a time holds.
fn expected(from: i64, to: i64, unit: i64, width: i64) -> Vec<(i64, u64, i64)> {
    let in_range = || {
        fixture()
            .docs
            .iter()
            .filter(move |d| d.timestamp_ms >= from && d.timestamp_ms < to)
    };
    let first = in_range().map(|d| d.timestamp_ms).min().unwrap() / unit * unit;
    let last = in_range().map(|d| d.timestamp_ms).max().unwrap();
    let mut buckets: BTreeMap<i64, (u64, i64)> = BTreeMap::new();
    let mut key = first;
    while key <= last {
        buckets.insert(key, (0, 0));
        key += width;
    }
    for doc in in_range() {
        let key = first + (doc.timestamp_ms - first) / width * width;
        let bucket = buckets.get_mut(&key).unwrap();
        bucket.0 += 1;
        bucket.1 += int(doc, "bytes").unwrap_or(0);
    }
    buckets
        .into_iter()
        .map(|(key, (flows, bytes))| (key, flows, bytes))
        .collect()
}

fn answered(histogram: &Json) -> Vec<(i64, u64, i64)> {
    histogram["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["key"].as_i64().unwrap(),
                b["doc_count"].as_u64().unwrap(),
                b["bytes"]["value"].as_f64().unwrap() as i64,
            )
        })
        .collect()
}

fn auto_histogram(from: i64, to: i64, options: Json) -> Json {
    let mut histogram = json!({ "field": "@timestamp" });
    for (key, value) in options.as_object().unwrap() {
        histogram[key] = value.clone();
    }
    let response = search(json!({
        "size": 0,
        "query": { "range": { "@timestamp": { "gte": from, "lt": to, "format": "epoch_millis" } } },
        "aggs": { "t": { "auto_date_histogram": histogram,
            "aggs": { "bytes": { "sum": { "field": "bytes" } } } } }
    }));
    response["aggregations"]["t"].clone()
}

#[test]
fn thirty_hours_over_two_indices_come_back_as_ten_three_hour_buckets() {
    // Each day's index rounds to hours; 30 hourly buckets are more than 10, and runs of 3 fit.
    let from = END - 30 * HOUR;
    let histogram = auto_histogram(from, END, json!({}));
    assert_eq!(histogram["interval"], "3h", "{histogram}");
    assert_eq!(answered(&histogram), expected(from, END, HOUR, 3 * HOUR));
    assert_eq!(answered(&histogram).len(), 10);
}

#[test]
fn the_last_hour_comes_back_in_ten_minute_buckets() {
    // 60 minutes: runs of 5 give 12 buckets, more than 10; runs of 10 give 6.
    let from = END - HOUR;
    let histogram = auto_histogram(from, END, json!({ "buckets": "10" }));
    assert_eq!(histogram["interval"], "10m", "{histogram}");
    assert_eq!(
        answered(&histogram),
        expected(from, END, MINUTE, 10 * MINUTE)
    );
    // A larger target keeps every minute.
    let histogram = auto_histogram(from, END, json!({ "buckets": 60 }));
    assert_eq!(histogram["interval"], "1m", "{histogram}");
    assert_eq!(answered(&histogram), expected(from, END, MINUTE, MINUTE));
}

#[test]
fn a_minimum_interval_and_a_time_zone_are_kept() {
    let from = END - HOUR;
    let histogram = auto_histogram(from, END, json!({ "minimum_interval": "hour" }));
    assert_eq!(histogram["interval"], "1h", "{histogram}");
    assert_eq!(answered(&histogram), expected(from, END, HOUR, HOUR));

    // Days in Tokyo (+09:00) begin at 15:00 UTC: the 30 hours fall in two of them, and the
    // keys say so in the zone.
    let from = END - 30 * HOUR;
    let histogram = auto_histogram(
        from,
        END,
        json!({ "minimum_interval": "day", "time_zone": "+09:00" }),
    );
    assert_eq!(histogram["interval"], "1d", "{histogram}");
    let keys: Vec<&str> = histogram["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["key_as_string"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "2020-03-05T00:00:00.000+09:00",
            "2020-03-06T00:00:00.000+09:00"
        ]
    );
    let flows: u64 = answered(&histogram).iter().map(|b| b.1).sum();
    assert_eq!(flows as usize, fixture().docs.len());
}

#[test]
fn under_another_aggregation_each_bucket_has_its_own_interval() {
    // Two windows side by side: the last hour in ten-minute buckets, the last 30 hours in
    // three-hour ones, each as it comes back alone.
    let window = |from: i64| json!({ "range": { "@timestamp": { "gte": from, "lt": END, "format": "epoch_millis" } } });
    let response = search(json!({
        "size": 0,
        "aggs": { "w": { "filters": { "filters": {
                "hour": window(END - HOUR), "day_and_more": window(END - 30 * HOUR) } },
            "aggs": { "t": { "auto_date_histogram": { "field": "@timestamp" },
                "aggs": { "bytes": { "sum": { "field": "bytes" } } } } } } }
    }));
    let windows = &response["aggregations"]["w"]["buckets"];
    let hour = &windows["hour"]["t"];
    assert_eq!(hour["interval"], "10m", "{hour}");
    assert_eq!(
        answered(hour),
        expected(END - HOUR, END, MINUTE, 10 * MINUTE)
    );
    let longer = &windows["day_and_more"]["t"];
    assert_eq!(longer["interval"], "3h", "{longer}");
    assert_eq!(
        answered(longer),
        expected(END - 30 * HOUR, END, HOUR, 3 * HOUR)
    );

    // Under terms: each action's histogram is the one a search of that action alone gives.
    let from = END - 30 * HOUR;
    let response = search(json!({
        "size": 0,
        "query": window(from),
        "aggs": { "a": { "terms": { "field": "action.keyword" },
            "aggs": { "t": { "auto_date_histogram": { "field": "@timestamp", "buckets": 4 },
                "aggs": { "bytes": { "sum": { "field": "bytes" } } } } } } }
    }));
    let actions = response["aggregations"]["a"]["buckets"].as_array().unwrap();
    assert_eq!(actions.len(), 2, "{response}");
    for action in actions {
        let alone = search(json!({
            "size": 0,
            "query": { "bool": { "filter": [window(from),
                { "term": { "action.keyword": action["key"] } }] } },
            "aggs": { "t": { "auto_date_histogram": { "field": "@timestamp", "buckets": 4 },
                "aggs": { "bytes": { "sum": { "field": "bytes" } } } } }
        }));
        let alone = &alone["aggregations"]["t"];
        assert_eq!(action["t"]["interval"], alone["interval"], "{action}");
        assert_eq!(answered(&action["t"]), answered(alone), "{action}");
        assert!(answered(alone).len() <= 4, "{alone}");
    }
}

#[test]
fn nothing_matched_is_no_buckets_at_the_finest_interval() {
    let histogram = auto_histogram(END + HOUR, END + 2 * HOUR, json!({}));
    assert_eq!(histogram, json!({ "buckets": [], "interval": "1s" }));
}

#[test]
fn targets_above_elasticsearchs_ceiling_are_refused() {
    // 65,535 buckets over the widest merge of runs, 30 seconds or minutes (7 days from day on).
    for (options, message) in [
        (
            json!({ "buckets": i64::MAX }),
            "buckets must be less than 2184",
        ),
        (json!({ "buckets": 2185 }), "buckets must be less than 2184"),
        (
            json!({ "buckets": 9363, "minimum_interval": "day" }),
            "buckets must be less than 9362",
        ),
    ] {
        let mut histogram = json!({ "field": "@timestamp" });
        for (key, value) in options.as_object().unwrap() {
            histogram[key] = value.clone();
        }
        let error = search_error(
            json!({ "size": 0, "aggs": { "t": { "auto_date_histogram": histogram } } }),
        );
        assert!(error.contains(message), "{error}");
    }
    // The ceiling itself keeps every second of the last minute.
    let from = END - MINUTE;
    let histogram = auto_histogram(from, END, json!({ "buckets": 2184 }));
    assert_eq!(histogram["interval"], "1s", "{histogram}");
    assert_eq!(answered(&histogram), expected(from, END, 1000, 1000));
}

#[test]
fn invalid_or_unsupported_requests_are_refused() {
    let cases = [
        (
            json!({ "t": { "auto_date_histogram": { "field": "@timestamp", "buckets": 0 } } }),
            "buckets must be greater than 0 for [t]",
        ),
        (
            json!({ "t": { "auto_date_histogram": { "field": "@timestamp", "minimum_interval": "week" } } }),
            "minimum_interval must be one of [second, minute, hour, day, month, year]",
        ),
        (
            json!({ "t": { "auto_date_histogram": { "field": "bytes" } } }),
            "bytes",
        ),
    ];
    for (aggs, message) in cases {
        let error = search_error(json!({ "size": 0, "aggs": aggs }));
        assert!(error.contains(message), "{error}");
    }
}
