//! `sort` and `search_after` paging over several daily indices and several segments each,
//! checked against the records: every matching flow once, in order, with ties in time and
//! flows that lack the sort field.

use std::sync::Arc;

use serde_json::{json, Value as Json};

use super::search_at;
use crate::backend::embedded::{EmbeddedEngine, OnExistingId};
use crate::ingest::document::{id_hash, EventContext, FlowDoc};
use crate::ingest::format::RecordFormat;
use crate::ingest::parse::parse_record;
use crate::ingest::{DocSink, DocValue};

/// 2020-03-06T00:00:00Z.
const DAY0: i64 = 1_583_452_800;

/// 3 days × 3 batches (one segment each) of 60 flows, at only 7 distinct seconds per batch, so
/// most flows tie in time; every fifth is a NODATA record, without addresses or ports.
fn engine_with_flows() -> (tempfile::TempDir, Arc<EmbeddedEngine>, Vec<FlowDoc>) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(EmbeddedEngine::open(dir.path()).unwrap());
    let format = RecordFormat::default_v2();
    let mut all = Vec::new();
    for day in 0..3i64 {
        for batch in 0..3i64 {
            let mut sink = engine.sink(OnExistingId::KeepExisting);
            for n in 0..60i64 {
                let start = DAY0 + day * 86_400 + batch * 600 + (n % 7) * 13;
                let line = if n % 5 == 4 {
                    format!(
                        "2 123456789012 eni-{day}{batch}{n:02} - - - - - - - {start} {} - NODATA",
                        start + 60
                    )
                } else {
                    format!(
                        "2 123456789012 eni-{day}{batch}{n:02} 10.0.{batch}.{n} 10.1.0.{day} {} {} 6 {} {} {start} {} {} OK",
                        40_000 + n,
                        [22, 443, 3389][(n % 3) as usize],
                        n + 1,
                        (n + 1) * 100,
                        start + 60,
                        if n % 2 == 0 { "ACCEPT" } else { "REJECT" },
                    )
                };
                let mut values = Vec::new();
                parse_record(&format, &line, &mut values).unwrap();
                let doc = FlowDoc::from_record(&format, &values, &line, &EventContext::default())
                    .unwrap();
                sink.write(doc.clone()).unwrap();
                all.push(doc);
            }
            sink.flush().unwrap();
        }
    }
    engine
        .close_idle_writers(std::time::Duration::ZERO, 0)
        .unwrap();
    (dir, engine, all)
}

fn int(doc: &FlowDoc, field: &str) -> Option<i64> {
    match doc.get(field)? {
        DocValue::Int(v) => Some(*v),
        _ => None,
    }
}

/// Pages through `sort` with `search_after`, `size` hits at a time; returns the ids in order.
fn page_through(engine: &EmbeddedEngine, query: &Json, sort: &Json, size: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after: Option<Json> = None;
    for _ in 0..1000 {
        let mut body =
            json!({ "query": query, "sort": sort, "size": size, "track_total_hits": true });
        if let Some(after) = &after {
            body["search_after"] = after.clone();
        }
        let answer = search_at(engine, "cwl-*", &body, 0).unwrap();
        let hits = answer["hits"]["hits"].as_array().unwrap();
        for hit in hits {
            ids.push(hit["_id"].as_str().unwrap().to_owned());
        }
        if hits.len() < size {
            return ids;
        }
        after = Some(hits.last().unwrap()["sort"].clone());
    }
    panic!("paging did not end")
}

#[test]
fn search_after_returns_every_flow_once_in_order_across_days_segments_and_ties() {
    let (_dir, engine, docs) = engine_with_flows();
    let indices = engine.indices();
    assert_eq!(indices.len(), 3, "three daily indices");
    for index in &indices {
        let segments = index.searcher().segment_readers().len();
        assert!(segments >= 2, "{} has {segments} segment(s)", index.name);
    }

    // Port ascending (NODATA flows last), newest first within a port, then `_id`.
    let sort = json!([{ "dstport": "asc" }, { "@timestamp": "desc" }, { "_id": "asc" }]);
    let mut expected: Vec<&FlowDoc> = docs.iter().collect();
    expected.sort_by(|a, b| {
        let port = |d: &FlowDoc| int(d, "dstport").unwrap_or(i64::MAX);
        port(a)
            .cmp(&port(b))
            .then(b.timestamp_ms.cmp(&a.timestamp_ms))
            .then(id_hash(&a.id).cmp(&id_hash(&b.id)))
    });
    let expected: Vec<String> = expected.iter().map(|d| d.id.clone()).collect();
    for size in [1, 7, 50, 1000] {
        assert_eq!(
            page_through(&engine, &json!({ "match_all": {} }), &sort, size),
            expected,
            "pages of {size}"
        );
    }

    // The flows without a port first, newest first, only rejected ones and NODATA.
    let sort = json!([{ "dstport": { "order": "desc", "missing": "_first" } }, { "@timestamp": "desc" }, { "_id": "desc" }]);
    let query = json!({ "bool": { "must_not": [{ "term": { "action": "ACCEPT" } }] } });
    let mut expected: Vec<&FlowDoc> = docs
        .iter()
        .filter(|d| !matches!(d.get("action"), Some(DocValue::Str(a)) if a == "ACCEPT"))
        .collect();
    expected.sort_by(|a, b| {
        let port = |d: &FlowDoc| int(d, "dstport").unwrap_or(i64::MAX);
        port(b)
            .cmp(&port(a))
            .then(b.timestamp_ms.cmp(&a.timestamp_ms))
            .then(id_hash(&b.id).cmp(&id_hash(&a.id)))
    });
    let expected: Vec<String> = expected.iter().map(|d| d.id.clone()).collect();
    assert_eq!(page_through(&engine, &query, &sort, 9), expected);
}

#[test]
fn time_sorted_pages_come_from_time_windows_and_match_the_records() {
    let (_dir, engine, docs) = engine_with_flows();
    // Newest first and oldest first, then `_id`: the sorts Discover, its CSV export and
    // surrounding flows send, whose hits come from windows of the range (time_window.rs).
    for descending in [true, false] {
        let order = if descending { "desc" } else { "asc" };
        let sort = json!([{ "@timestamp": order }, { "_id": order }]);
        let mut expected: Vec<&FlowDoc> = docs.iter().collect();
        expected.sort_by(|a, b| {
            let by_time = a
                .timestamp_ms
                .cmp(&b.timestamp_ms)
                .then(id_hash(&a.id).cmp(&id_hash(&b.id)));
            if descending {
                by_time.reverse()
            } else {
                by_time
            }
        });
        let expected: Vec<String> = expected.iter().map(|d| d.id.clone()).collect();
        for size in [1, 13, 50, 600] {
            assert_eq!(
                page_through(&engine, &json!({ "match_all": {} }), &sort, size),
                expected,
                "{order}, pages of {size}"
            );
        }
        // Within a range and a query: the first page, and the count of every match.
        let query = json!({ "bool": { "filter": [
            { "range": { "@timestamp": { "gte": (DAY0 + 86_400) * 1000, "lt": (DAY0 + 2 * 86_400) * 1000 } } },
            { "term": { "action": "REJECT" } } ] } });
        let answer = search_at(
            &engine,
            "cwl-*",
            &json!({ "query": query, "sort": sort, "size": 5, "track_total_hits": true }),
            0,
        )
        .unwrap();
        let mut rejected: Vec<&FlowDoc> = docs
            .iter()
            .filter(|d| matches!(d.get("action"), Some(DocValue::Str(a)) if a == "REJECT"))
            .filter(|d| {
                d.timestamp_ms >= (DAY0 + 86_400) * 1000
                    && d.timestamp_ms < (DAY0 + 2 * 86_400) * 1000
            })
            .collect();
        assert_eq!(answer["hits"]["total"]["value"], json!(rejected.len()));
        rejected.sort_by(|a, b| {
            let by_time = a
                .timestamp_ms
                .cmp(&b.timestamp_ms)
                .then(id_hash(&a.id).cmp(&id_hash(&b.id)));
            if descending {
                by_time.reverse()
            } else {
                by_time
            }
        });
        let ids: Vec<&str> = answer["hits"]["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["_id"].as_str().unwrap())
            .collect();
        let want: Vec<&str> = rejected.iter().take(5).map(|d| d.id.as_str()).collect();
        assert_eq!(ids, want, "{order}");
    }
}

#[test]
fn sort_values_print_as_elasticsearch_and_read_back() {
    let (_dir, engine, _docs) = engine_with_flows();
    // A NODATA flow has no port: asc with `_last` prints Long.MAX_VALUE, desc prints MIN.
    let nodata = json!({ "term": { "log_status": "NODATA" } });
    for (order, printed) in [("asc", i64::MAX), ("desc", i64::MIN)] {
        let body =
            json!({ "query": nodata, "size": 1, "sort": [{ "dstport": order }, { "_id": "asc" }] });
        let answer = search_at(&engine, "cwl-*", &body, 0).unwrap();
        let hit = &answer["hits"]["hits"][0];
        assert_eq!(hit["sort"][0], json!(printed), "{order}");
        assert_eq!(hit["sort"][1], hit["_id"]);
    }
    // `missing` as a value: the NODATA flows sort as port 1000, between 443 and 3389.
    let body = json!({ "size": 1000, "sort": [{ "dstport": { "order": "asc", "missing": 1000 } }, { "_id": "asc" }] });
    let answer = search_at(&engine, "cwl-*", &body, 0).unwrap();
    let ports: Vec<i64> = answer["hits"]["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["sort"][0].as_i64().unwrap())
        .collect();
    assert!(ports.windows(2).all(|w| w[0] <= w[1]), "{ports:?}");
    assert!(ports.contains(&1000) && ports.contains(&3389));
    // Dates read back as numbers or as date strings.
    let body = json!({ "size": 1, "sort": [{ "@timestamp": "asc" }, { "_id": "asc" }],
        "search_after": ["2020-03-07T00:00:00Z", ""] });
    let answer = search_at(&engine, "cwl-*", &body, 0).unwrap();
    assert_eq!(
        answer["hits"]["hits"][0]["sort"][0],
        json!((DAY0 + 86_400) * 1000),
        "the first flow of the second day"
    );
}

#[test]
fn search_after_mistakes_are_refused_with_elasticsearch_messages() {
    let (_dir, engine, _docs) = engine_with_flows();
    let error = |body: Json| match search_at(&engine, "cwl-*", &body, 0) {
        Ok(answer) => panic!("{body} was answered: {answer}"),
        Err(error) => error.to_string(),
    };
    assert!(error(json!({ "search_after": [1] })).contains("Sort must contain at least one field"));
    assert!(
        error(json!({ "sort": ["@timestamp", "_id"], "search_after": [1] }))
            .contains("search_after has 1 value(s) but sort has 2")
    );
    assert!(
        error(json!({ "from": 10, "sort": ["@timestamp"], "search_after": [1] }))
            .contains("`from` parameter must be set to 0")
    );
    assert!(
        error(json!({ "sort": ["dstport"], "search_after": ["port"] }))
            .contains("Failed to parse search_after value [\"port\"] for field [dstport]")
    );
    assert!(error(json!({ "sort": [{ "_doc": { "missing": 1 } }] }))
        .contains("[missing] is only supported on fields"));
}
