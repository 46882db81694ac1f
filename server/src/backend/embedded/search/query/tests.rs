use serde_json::json;

use super::*;
use crate::backend::embedded::schema::FlowSchema;
use crate::backend::embedded::search::datemath::Now;

#[test]
fn parses_the_kibana_pie_query() {
    let query = parse_query(&json!({
        "bool": {
            "must": [],
            "filter": [
                { "match_all": {} },
                { "range": { "@timestamp": { "gte": "2020-03-06T04:00:00.000Z", "lte": "2020-03-06T05:00:00.000Z", "format": "strict_date_optional_time" } } }
            ],
            "should": [],
            "must_not": [ { "match_phrase": { "action": "REJECT" } } ]
        }
    }))
    .unwrap();
    let schema = FlowSchema::new();
    let context = QueryContext {
        schema: &schema,
        now: Now::at(0),
        columns: Default::default(),
    };
    assert_eq!(
        time_bounds(&query, &context.now),
        (Some(1_583_467_200_000), Some(1_583_470_800_000))
    );
    compile(&query, &context).unwrap();
}

#[test]
fn unsupported_and_malformed_queries_say_what() {
    let error = parse_query(&json!({ "geo_distance": {} })).unwrap_err();
    assert_eq!(
        error.to_string(),
        "query [geo_distance] is not supported by the embedded engine"
    );
    let error = parse_query(&json!({ "term": { "a": 1 }, "match": { "b": 2 } })).unwrap_err();
    assert!(error.to_string().contains("more than one query"));
    let error = parse_query(&json!({ "bool": { "mustt": [] } })).unwrap_err();
    assert_eq!(error.to_string(), "[bool] query does not support [mustt]");
    let schema = FlowSchema::new();
    let context = QueryContext {
        schema: &schema,
        now: Now::at(0),
        columns: Default::default(),
    };
    // A field no flow has finds nothing, as an unmapped field does in Elasticsearch.
    assert!(compile(
        &parse_query(&json!({ "term": { "nope": 1 } })).unwrap(),
        &context,
    )
    .is_ok());
    let error = compile(
        &parse_query(&json!({ "term": { "dstport": "http" } })).unwrap(),
        &context,
    )
    .err()
    .unwrap();
    assert_eq!(
        error.to_string(),
        "field [dstport] of type [long]: [\"http\"] is not a whole number"
    );
}

#[test]
fn cidr_blocks() {
    let (low, high) = parse_cidr("10.0.0.0/8").unwrap();
    assert_eq!(
        super::super::super::schema::from_ipv6(low).to_string(),
        "10.0.0.0"
    );
    assert_eq!(
        super::super::super::schema::from_ipv6(high).to_string(),
        "10.255.255.255"
    );
    let (low, high) = parse_cidr("10.1.2.3").unwrap();
    assert_eq!(low, high);
    let (low, high) = parse_cidr("2001:db8::/32").unwrap();
    assert_eq!(low.to_string(), "2001:db8::");
    assert_eq!(high.to_string(), "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
    assert_eq!(parse_cidr("10.0.0.0/33"), None);
    assert_eq!(parse_cidr("nope"), None);
}

#[test]
fn date_bounds_round_as_elasticsearch_and_read_alike_for_indices_and_rollups() {
    let schema = FlowSchema::new();
    // 2020-03-06T04:30:00Z.
    let context = QueryContext {
        schema: &schema,
        now: Now::at(1_583_469_000_000),
        columns: Default::default(),
    };
    let range = |bounds: serde_json::Value| {
        let mut body = json!({ "range": { "@timestamp": bounds } });
        let Query::Range(range) = parse_query(&body.take()).unwrap() else {
            panic!("a range");
        };
        range
    };
    const HOUR_4: i64 = 1_583_467_200_000;
    const HOUR_5: i64 = HOUR_4 + 3_600_000;
    const NEXT_DAY: i64 = 1_583_539_200_000;
    // `gt` rounds up and excludes: past the end of 04:00-05:00; `lte` rounds up and includes.
    // The span of indices to read keeps an excluded bound's millisecond (conservatively).
    let after_the_hour = range(json!({ "gt": "now/h", "lte": "now/d" }));
    let bounds = date_bounds(&after_the_hour, &context.now).unwrap();
    assert_eq!(half_open(bounds), Some((Some(HOUR_5), Some(NEXT_DAY))));
    assert_eq!(
        time_bounds(&Query::Range(after_the_hour), &context.now),
        (Some(HOUR_5 - 1), Some(NEXT_DAY - 1))
    );
    // `gte` and `lt` round down; `lt` excludes.
    let the_hour = range(json!({ "gte": "now/h", "lt": "now+1h/h" }));
    let bounds = date_bounds(&the_hour, &context.now).unwrap();
    assert_eq!(half_open(bounds), Some((Some(HOUR_4), Some(HOUR_5))));
    assert_eq!(
        time_bounds(&Query::Range(the_hour), &context.now),
        (Some(HOUR_4), Some(HOUR_5))
    );
    // Epoch milliseconds in a time zone's day, and a bound past the end of time.
    let paris = range(json!({ "gte": "2020-03-06", "lte": i64::MAX, "time_zone": "Europe/Paris" }));
    let bounds = date_bounds(&paris, &context.now).unwrap();
    assert_eq!(bounds.0, std::ops::Bound::Included(1_583_449_200_000));
    assert_eq!(half_open(bounds), None, "one past i64::MAX");
    // A bad zone is an error, and bounds nothing.
    let bad = range(json!({ "gte": "now-1h", "time_zone": "Mars/Olympus" }));
    assert!(date_bounds(&bad, &context.now).is_err());
    assert_eq!(time_bounds(&Query::Range(bad), &context.now), (None, None));
}
