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
        time_bounds(&query, &context),
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
