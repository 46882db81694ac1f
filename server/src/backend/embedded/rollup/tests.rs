//! Rollups answer exactly as the raw flows do, or not at all: each search is asked of the
//! same store with rollups and without, and the two answers must be equal; searches rollups
//! cannot answer must not read them.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value as Json};

use crate::backend::embedded::search::search_at;
use crate::backend::embedded::EmbeddedEngine;
use crate::ingest::demo::DemoConfig;

/// 2020-03-08T09:17:00Z, "now": the flows end here, in the middle of an hour.
const NOW: i64 = 1_583_659_020_000;
const HOUR: i64 = 3_600_000;

/// Demo flows over three days (four daily indices, NODATA and SKIPDATA records among them),
/// with rollups made.
fn store() -> (tempfile::TempDir, Arc<EmbeddedEngine>) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(EmbeddedEngine::open(dir.path()).unwrap());
    let demo = DemoConfig {
        flows: 40_000,
        hours: 62,
        end_ms: NOW,
        seed: 7,
    };
    crate::commands::demo::store(&engine, &demo).unwrap();
    for index in engine.indices() {
        assert!(
            engine.refresh_rollup(&index, Duration::ZERO, 1).unwrap(),
            "{}",
            index.name
        );
    }
    (dir, engine)
}

/// The answer with rollups and without, `took` left out. Each asks with a clause of its own,
/// so that neither is the request cache's answer to the other.
fn both(engine: &EmbeddedEngine, body: &Json) -> (Json, Json, bool) {
    let ask = |rollups: bool| {
        engine.set_rollups_enabled(rollups);
        let mut body = body.clone();
        let query = body
            .get("query")
            .cloned()
            .unwrap_or(json!({ "match_all": {} }));
        body["query"] = json!({ "bool": {
            "filter": [query],
            "must_not": [{ "term": { "action": format!("not-{rollups}") } }]
        }});
        let before = engine.rollup_searches();
        let mut answer =
            search_at(engine, "cwl-*", &body, NOW).unwrap_or_else(|e| panic!("{e}: {body}"));
        answer.as_object_mut().unwrap().remove("took");
        (answer, engine.rollup_searches() > before)
    };
    let (raw, raw_read_rollups) = ask(false);
    assert!(!raw_read_rollups);
    let (rolled, read_rollups) = ask(true);
    engine.set_rollups_enabled(true);
    (raw, rolled, read_rollups)
}

fn range(gte: Json, lte: Json) -> Json {
    json!({ "range": { "@timestamp": { "gte": gte, "lte": lte, "format": "strict_date_optional_time" } } })
}

fn last(hours: i64) -> Json {
    json!({ "range": { "@timestamp": { "gte": format!("now-{hours}h"), "lte": "now" } } })
}

/// Searches rollups answer: the overview's panels and what the editor builds over
/// dimensions, over ranges that start and end inside an hour, across days.
fn answerable() -> Vec<(&'static str, Json)> {
    let over_time = |interval: Json| {
        let mut histogram = json!({ "field": "@timestamp", "min_doc_count": 0 });
        for (k, v) in interval.as_object().unwrap() {
            histogram[k] = v.clone();
        }
        histogram
    };
    vec![
        (
            "count, last 48 h",
            json!({ "size": 0, "track_total_hits": true, "query": last(48) }),
        ),
        (
            "count capped by track_total_hits",
            json!({ "size": 0, "track_total_hits": 100, "query": last(48) }),
        ),
        (
            "rejected flows and bytes, last 7 days",
            json!({ "size": 0, "track_total_hits": true,
                "query": { "bool": { "filter": [last(168), { "match_phrase": { "action": "REJECT" } }] } },
                "aggs": { "bytes": { "sum": { "field": "bytes" } }, "packets": { "sum": { "field": "packets" } } } }),
        ),
        (
            "action pie with ports inside, gt and lt bounds",
            json!({ "size": 0, "query": { "range": { "@timestamp": { "gt": NOW - 40 * HOUR - 1234, "lt": NOW - 3 * HOUR + 77, "format": "epoch_millis" } } },
                "aggs": { "a": { "terms": { "field": "action", "size": 3 },
                    "aggs": { "p": { "terms": { "field": "dstport", "size": 5, "order": { "_count": "desc" } } } } } } }),
        ),
        (
            "flows over time by action, 3-hour buckets",
            json!({ "size": 0, "query": last(60),
                "aggs": { "t": { "date_histogram": over_time(json!({ "fixed_interval": "3h" })),
                    "aggs": { "a": { "terms": { "field": "action", "size": 2 } } } } } }),
        ),
        (
            "bytes by direction per calendar day in Paris",
            json!({ "size": 0, "query": range(json!("2020-03-05T22:40:00+01:00"), json!("2020-03-08T04:10:00+01:00")),
                "aggs": { "t": { "date_histogram": over_time(json!({ "calendar_interval": "1d", "time_zone": "Europe/Paris" })),
                    "aggs": { "d": { "terms": { "field": "flow_direction", "size": 3, "missing": "none" },
                        "aggs": { "b": { "sum": { "field": "bytes" } } } } } } } }),
        ),
        (
            "top interfaces by bytes, with distinct accounts",
            json!({ "size": 0, "query": last(50),
                "aggs": { "i": { "terms": { "field": "interface_id", "size": 4, "order": { "b": "desc" } },
                    "aggs": { "b": { "sum": { "field": "bytes" } }, "c": { "cardinality": { "field": "account_id" } } } } } }),
        ),
        (
            "log status and protocols, query string",
            json!({ "size": 0, "query": { "bool": { "filter": [last(30), { "query_string": { "query": "protocol:6 OR protocol_name:udp" } }] } },
                "aggs": { "s": { "terms": { "field": "log_status", "size": 1 } }, "p": { "terms": { "field": "protocol_name.keyword", "size": 6 } },
                    // NODATA records have no port: they are in no bucket, and not among the others.
                    "port": { "terms": { "field": "dstport", "size": 3 } } } }),
        ),
        (
            "filters, ranges and a histogram of ports",
            json!({ "size": 0, "query": last(72),
                "aggs": {
                    "f": { "filters": { "other_bucket": true, "filters": { "web": { "terms": { "dstport": [80, 443] } }, "ssh": { "term": { "dstport": 22 } } } } },
                    "r": { "range": { "field": "dstport", "ranges": [{ "to": 1024 }, { "from": 1024, "to": 49152 }, { "from": 49152 }] } },
                    "h": { "histogram": { "field": "dstport", "interval": 10000, "min_doc_count": 1 } },
                    "only": { "filter": { "exists": { "field": "dstport" } }, "aggs": { "b": { "sum": { "field": "bytes" } } } }
                } }),
        ),
        (
            "flows from a block of addresses, by action",
            json!({ "size": 0, "track_total_hits": true,
                "query": { "bool": { "filter": [last(50), { "query_string": { "query": "srcaddr:\"10.0.0.0/8\" OR srcaddr:\"203.0.113.0/24\"" } }] } },
                "aggs": { "a": { "terms": { "field": "action" } } } }),
        ),
        (
            "no time range at all",
            json!({ "size": 0, "aggs": { "a": { "terms": { "field": "action" } } } }),
        ),
        // The per-minute cuboid: buckets of minutes, zones off by half an hour, ranges
        // shorter than an hour.
        (
            "per-minute buckets",
            json!({ "size": 0, "query": last(30), "aggs": { "t": { "date_histogram": { "field": "@timestamp", "fixed_interval": "1m" } } } }),
        ),
        (
            "flows per minute by action, rejected bytes by protocol, over a range inside minutes",
            json!({ "size": 0, "query": { "range": { "@timestamp": { "gt": NOW - 26 * HOUR - 12_345, "lt": NOW - 77_777, "format": "epoch_millis" } } },
                "aggs": { "t": { "date_histogram": { "field": "@timestamp", "fixed_interval": "1m", "min_doc_count": 0 },
                    "aggs": { "a": { "terms": { "field": "action", "size": 2 } },
                        "r": { "filter": { "term": { "action": "REJECT" } },
                            "aggs": { "p": { "terms": { "field": "protocol", "size": 3 }, "aggs": { "b": { "sum": { "field": "bytes" } } } } } } } } } }),
        ),
        (
            "30-minute buckets by direction",
            json!({ "size": 0, "query": last(30), "aggs": { "t": { "date_histogram": { "field": "@timestamp", "fixed_interval": "30m" },
                "aggs": { "d": { "terms": { "field": "flow_direction", "missing": "none" } } } } } }),
        ),
        (
            "days in a zone half an hour off",
            json!({ "size": 0, "query": last(60), "aggs": { "t": { "date_histogram": { "field": "@timestamp", "calendar_interval": "1d", "time_zone": "Asia/Kolkata" } } } }),
        ),
        (
            "less than an hour, by calendar minute",
            json!({ "size": 0, "query": { "range": { "@timestamp": { "gte": NOW - HOUR, "lte": NOW, "format": "epoch_millis" } } },
                "aggs": { "t": { "date_histogram": { "field": "@timestamp", "calendar_interval": "minute" },
                    "aggs": { "s": { "terms": { "field": "log_status" } } } } } }),
        ),
    ]
}

/// Searches rollups must leave to the raw flows, each for a reason of its own.
fn unanswerable() -> Vec<(&'static str, Json)> {
    vec![
        (
            "30-second buckets",
            json!({ "size": 0, "query": last(30), "aggs": { "t": { "date_histogram": { "field": "@timestamp", "fixed_interval": "30s" } } } }),
        ),
        (
            "per-minute buckets by interface (the per-minute cuboid has none)",
            json!({ "size": 0, "query": last(30), "aggs": { "t": { "date_histogram": { "field": "@timestamp", "fixed_interval": "1m" },
                "aggs": { "i": { "terms": { "field": "interface_id" } } } } } }),
        ),
        (
            "per-minute buckets filtered by port",
            json!({ "size": 0, "query": { "bool": { "filter": [last(30), { "term": { "dstport": 443 } }] } },
                "aggs": { "t": { "date_histogram": { "field": "@timestamp", "fixed_interval": "5m" } } } }),
        ),
        (
            "the largest flow",
            json!({ "size": 0, "query": last(30), "aggs": { "m": { "max": { "field": "bytes" } } } }),
        ),
        (
            "a field no cuboid keeps",
            json!({ "size": 0, "query": last(30), "aggs": { "p": { "terms": { "field": "srcport" } } } }),
        ),
        (
            "ports and interfaces together",
            json!({ "size": 0, "query": last(30), "aggs": { "p": { "terms": { "field": "dstport" }, "aggs": { "i": { "terms": { "field": "interface_id" } } } } } }),
        ),
        (
            "free text",
            json!({ "size": 0, "query": { "bool": { "filter": [last(30), { "query_string": { "query": "reject" } }] } } }),
        ),
        (
            "a time bound under should",
            json!({ "size": 0, "query": { "bool": { "should": [last(30), { "term": { "action": "REJECT" } }] } } }),
        ),
        (
            "top rejected sources",
            json!({ "size": 0, "query": { "bool": { "filter": [last(50)], "must": [{ "term": { "action": "REJECT" } }] } },
                "aggs": { "s": { "terms": { "field": "srcaddr", "size": 10 } } } }),
        ),
        (
            "distinct sources",
            json!({ "size": 0, "query": last(50), "aggs": { "d": { "cardinality": { "field": "srcaddr" } } } }),
        ),
        (
            "terms leaving some out (their other count counts only the terms let through)",
            json!({ "size": 0, "query": last(30), "aggs": { "a": { "terms": { "field": "action", "exclude": ["REJECT"] } } } }),
        ),
        (
            "hourly buckets bounded inside an hour",
            json!({ "size": 0, "query": last(30), "aggs": { "t": { "date_histogram": { "field": "@timestamp", "fixed_interval": "1h",
                "hard_bounds": { "min": NOW - 20 * HOUR - 1_800_000, "max": NOW - 5 * HOUR - 1_800_000 } } } } }),
        ),
        (
            "hourly buckets ordered by count",
            json!({ "size": 0, "query": last(30), "aggs": { "t": { "date_histogram": { "field": "@timestamp", "fixed_interval": "1h", "order": { "_count": "desc" } } } } }),
        ),
        (
            "a range to the end of time",
            json!({ "size": 0, "query": { "range": { "@timestamp": { "gt": NOW - 30 * HOUR, "lte": i64::MAX } } }, "aggs": { "a": { "terms": { "field": "action" } } } }),
        ),
        (
            "terms with a minimum count",
            json!({ "size": 0, "query": last(30), "aggs": { "a": { "terms": { "field": "action", "min_doc_count": 5 } } } }),
        ),
        (
            "hits",
            json!({ "size": 5, "query": last(30), "sort": [{ "@timestamp": "desc" }] }),
        ),
        (
            "less than a minute",
            json!({ "size": 0, "query": { "range": { "@timestamp": { "gte": NOW - 50_000, "lte": NOW, "format": "epoch_millis" } } }, "aggs": { "a": { "terms": { "field": "action" } } } }),
        ),
    ]
}

#[test]
fn rollups_answer_as_the_raw_flows_do_or_not_at_all() {
    let (_dir, engine) = store();
    assert!(engine.indices().len() >= 3, "the flows span several days");
    for (name, body) in answerable() {
        let (raw, rolled, read_rollups) = both(&engine, &body);
        assert!(read_rollups, "{name}: rollups were not read");
        assert_eq!(rolled, raw, "{name}");
        let flows = raw["hits"]["total"]["value"].as_u64();
        assert!(flows.is_none_or(|n| n > 0), "{name}: nothing matched");
    }
    for (name, body) in unanswerable() {
        let (raw, rolled, read_rollups) = both(&engine, &body);
        assert!(!read_rollups, "{name}: rollups were read");
        assert_eq!(rolled, raw, "{name}");
    }
}

#[test]
fn a_write_to_a_rolled_day_leaves_its_rollup_unread_until_it_is_made_again() {
    let (_dir, engine) = store();
    let body = json!({ "size": 0, "track_total_hits": true, "query": last(48),
        "aggs": { "a": { "terms": { "field": "action" } } } });
    let (_, _, read_rollups) = both(&engine, &body);
    assert!(read_rollups);

    // One more flow, in a whole hour of a rolled day.
    let start = (NOW - 30 * HOUR) / 1000;
    let line = format!(
        "2 123456789012 eni-0abc 10.0.0.1 10.0.1.1 40000 443 6 5 500 {start} {} ACCEPT OK\n",
        start + 60
    );
    let report = crate::backend::embedded::tests::ingest(&engine, &line);
    assert_eq!(report.accepted, 1);
    engine.close_idle_writers(Duration::ZERO, 0).unwrap();

    let (raw, rolled, read_rollups) = both(&engine, &body);
    assert_eq!(rolled, raw);
    let day = engine.index("cwl-2020.03.07").unwrap();
    assert!(engine.rollup_for(&day, &day.searcher()).is_none());
    assert!(read_rollups, "the other days' rollups are still read");

    assert!(engine.refresh_rollup(&day, Duration::ZERO, 1).unwrap());
    let (raw_again, rolled, read_rollups) = both(&engine, &body);
    assert!(read_rollups);
    assert_eq!(rolled, raw_again);
    assert_eq!(raw_again, raw);
}

#[test]
fn rollups_survive_a_restart_and_are_smaller_than_the_flows() {
    let (dir, engine) = store();
    let day = engine.index("cwl-2020.03.07").unwrap();
    let flows = day.stats().docs;
    let rollup = engine.rollup_for(&day, &day.searcher()).unwrap();
    let traffic = rollup.cuboid(0).unwrap().stats().docs;
    // A few hundred flows an hour spread over many interfaces: few share a group. (A day of
    // the bench's store, 1.4M flows, has 300 a document.)
    assert!(
        traffic * 2 < flows,
        "{traffic} rollup documents for {flows} flows"
    );
    drop((rollup, day, engine));

    let engine = Arc::new(EmbeddedEngine::open(dir.path()).unwrap());
    let day = engine.index("cwl-2020.03.07").unwrap();
    assert!(engine.rollup_for(&day, &day.searcher()).is_some());
    let body = answerable()[4].1.clone();
    let (raw, rolled, read_rollups) = both(&engine, &body);
    assert!(read_rollups);
    assert_eq!(rolled, raw);
}

/// Every panel of the overview, its search built as the dashboard builds it (named networks,
/// a viewer's zone, ranges from the last hours to a week): the rollups answer it exactly as
/// the raw flows do, and answer every panel that reads only dimensions.
#[test]
fn every_overview_panel_as_the_dashboard_asks_it_answers_from_rollups_as_from_the_flows() {
    use app::model::network::Networks;
    use app::model::time::TimeRange;
    use app::panels::{panel_request, ViewInputs};

    let (_dir, engine) = store();
    let networks =
        Networks::parse("10.0.0.0/16 = prod-vpc\n10.1.0.0/16 = staging\n0.0.0.0/0 = internet")
            .unwrap();
    let mut rolled_panels = std::collections::BTreeSet::new();
    for (span, zone) in [("6h", None), ("24h", Some("Europe/Paris")), ("7d", None)] {
        let inputs = ViewInputs::resolve(
            &TimeRange::last(span),
            Default::default(),
            Vec::new(),
            NOW,
            0,
            zone.map(String::from),
        )
        .unwrap();
        for (id, vis) in crate::overview::visualizations(Default::default()) {
            let request = panel_request(&vis, "@timestamp", &networks, &inputs)
                .unwrap_or_else(|e| panic!("{id}: {e}"));
            let (raw, rolled, read_rollups) = both(&engine, &request.body);
            assert_eq!(rolled, raw, "{id} over the last {span}");
            let flows = raw["hits"]["total"]["value"].as_u64();
            assert!(flows.is_none_or(|n| n > 0), "{id}: nothing matched");
            if read_rollups {
                rolled_panels.insert(id);
            }
        }
    }
    // The panels over dimensions the rollups keep; those over addresses (top talkers,
    // sources, conversations, who talks to whom) read the flows.
    for id in [
        "overview-flows",
        "overview-rejected",
        "overview-bytes",
        "overview-flows-over-time",
        "overview-action-pie",
        "overview-action-port-pie",
        "overview-bytes-by-direction",
        "overview-rejected-ports",
        "overview-protocols",
        "overview-log-status",
    ] {
        assert!(
            rolled_panels.contains(id),
            "{id} was never answered from rollups: {rolled_panels:?}"
        );
    }
}

/// Past `--retain-days`, a day's raw flows are deleted and its rollup, kept until
/// `--rollup-retain-days`, answers alone: what it can answer is the answer the flows gave;
/// what needs the flows says which days it lacks; a restart keeps it so; a flow written to
/// such a day later is deleted by the next pass, and the rollup is never made again from
/// what is left.
#[test]
fn past_the_flows_retention_their_rollups_answer_alone_until_their_own() {
    use crate::backend::embedded::{Retained, Retention};

    let (dir, engine) = store();
    let expired = ["cwl-2020.03.05", "cwl-2020.03.06"];
    // Whole hours: a day kept only as its rollup has no flows for the part of an hour a
    // range starts or ends in.
    let rollup_answers = [
        json!({ "size": 0, "track_total_hits": true,
            "aggs": { "a": { "terms": { "field": "action", "size": 3 },
                "aggs": { "p": { "terms": { "field": "dstport", "size": 5 } },
                    "b": { "sum": { "field": "bytes" } } } } } }),
        json!({ "size": 0, "query": { "range": { "@timestamp": { "gte": "2020-03-05T20:00:00Z", "lte": "now" } } },
            "aggs": { "t": { "date_histogram": { "field": "@timestamp", "fixed_interval": "1h", "min_doc_count": 0 },
                "aggs": { "a": { "terms": { "field": "action", "size": 2 } } } } } }),
    ];
    let sources = json!({ "size": 0, "track_total_hits": true,
        "aggs": { "s": { "terms": { "field": "srcaddr", "size": 10, "order": { "b": "desc" } },
            "aggs": { "b": { "sum": { "field": "bytes" } } } } } });
    let ask = |engine: &EmbeddedEngine, index: &str, body: &Json| {
        let mut answer = search_at(engine, index, body, NOW).unwrap();
        answer.as_object_mut().unwrap().remove("took");
        answer
    };
    let before: Vec<Json> = rollup_answers
        .iter()
        .map(|body| ask(&engine, "cwl-*", body))
        .collect();
    let kept_days = ask(&engine, "cwl-2020.03.07,cwl-2020.03.08", &sources);
    let raw_bytes = |name: &str| -> u64 {
        let path = dir.path().join("indices").join(name);
        std::fs::read_dir(path)
            .unwrap()
            .map(|entry| entry.unwrap())
            .filter(|entry| entry.file_name() != super::ROLLUP_DIR)
            .map(|entry| entry.metadata().unwrap().len())
            .sum()
    };
    let flow_bytes = raw_bytes(expired[0]);

    let policy = Retention {
        days: 1,
        rollup_days: Some(10),
    };
    let Retained { dropped, rolled_up } = engine.enforce_retention(policy, NOW).unwrap();
    assert!(dropped.is_empty(), "{dropped:?}");
    assert_eq!(rolled_up, expired);
    let check = |engine: &EmbeddedEngine, when: &str| {
        for name in expired {
            let index = engine.index(name).unwrap();
            assert!(index.rolled_up_only(), "{name} {when}");
            assert_eq!(index.searcher().num_docs(), 0, "{name} {when}");
        }
        for (body, before) in rollup_answers.iter().zip(&before) {
            assert_eq!(&ask(engine, "cwl-*", body), before, "{when}: {body}");
        }
        // Top sources need the flows: the answer is the kept days', and says which it lacks.
        let answer = ask(engine, "cwl-*", &sources);
        assert_eq!(answer["aggregations"], kept_days["aggregations"], "{when}");
        assert_eq!(
            answer["hits"]["total"], kept_days["hits"]["total"],
            "{when}"
        );
        assert_eq!(
            answer["_shards"]["failed"], 2,
            "{when}: {}",
            answer["_shards"]
        );
        let lacking: Vec<&str> = answer["_shards"]["failures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["index"].as_str().unwrap())
            .collect();
        assert_eq!(lacking, expired, "{when}");
        assert!(answer["_shards"]["failures"][0]["reason"]["reason"]
            .as_str()
            .unwrap()
            .contains("--retain-days"));
        // Discover's oldest flows are the kept days' first, and the answer says what it lacks.
        let oldest = ask(
            engine,
            "cwl-*",
            &json!({ "size": 2, "sort": [{ "@timestamp": "asc" }] }),
        );
        assert_eq!(oldest["_shards"]["failed"], 2, "{when}");
        assert_eq!(
            oldest["hits"]["hits"][0]["_index"], "cwl-2020.03.07",
            "{when}"
        );
    };
    check(&engine, "after retention");
    // The raw flows' files are gone; the rollup's stay.
    assert!(
        raw_bytes(expired[0]) * 20 < flow_bytes,
        "{} bytes of {flow_bytes} left",
        raw_bytes(expired[0])
    );
    drop(engine);

    let engine = Arc::new(EmbeddedEngine::open(dir.path()).unwrap());
    check(&engine, "after a restart");
    // A late flow of an expired day: the rollup still answers alone and is not made again
    // from it; the next pass deletes it.
    let t = 1_583_442_000;
    let line = format!(
        "2 123456789012 eni-0a1 10.0.0.1 10.0.1.1 40000 443 6 5 500 {t} {} ACCEPT OK\n",
        t + 60
    );
    let report = crate::backend::embedded::tests::ingest(&engine, &line);
    assert_eq!(report.accepted, 1);
    engine.close_idle_writers(Duration::ZERO, 0).unwrap();
    let late = engine.index(expired[0]).unwrap();
    assert_eq!(late.searcher().num_docs(), 1);
    assert!(!engine.refresh_rollup(&late, Duration::ZERO, 1).unwrap());
    for (body, before) in rollup_answers.iter().zip(&before) {
        assert_eq!(&ask(&engine, "cwl-*", body), before, "after a late flow");
    }
    let Retained { dropped, rolled_up } = engine.enforce_retention(policy, NOW).unwrap();
    assert!(dropped.is_empty());
    assert_eq!(rolled_up, [expired[0]]);
    check(&engine, "after the late flow was deleted");

    // Past the rollups' retention, whole days go; the newer days lose their flows.
    let later = NOW + 10 * 24 * HOUR - 12 * HOUR;
    let Retained { dropped, rolled_up } = engine.enforce_retention(policy, later).unwrap();
    assert_eq!(dropped, expired);
    assert_eq!(rolled_up, ["cwl-2020.03.07", "cwl-2020.03.08"]);
    assert!(!dir.path().join("indices").join(expired[0]).exists());
}

/// A rollup made before a cuboid was added opens without it (searches it cannot answer read
/// the day raw), and the refresh makes it again whole.
#[test]
fn a_rollup_lacking_a_newer_cuboid_still_answers_and_is_made_again() {
    let (dir, engine) = store();
    drop(engine);
    let day = "cwl-2020.03.07";
    let minutes = dir
        .path()
        .join("indices")
        .join(day)
        .join(super::ROLLUP_DIR)
        .join("minutes");
    std::fs::remove_dir_all(&minutes).unwrap();

    let engine = Arc::new(EmbeddedEngine::open(dir.path()).unwrap());
    let index = engine.index(day).unwrap();
    let rollup = engine.rollup_for(&index, &index.searcher()).unwrap();
    let minutes_at = super::CUBOIDS
        .iter()
        .position(|c| c.name == "minutes")
        .unwrap();
    assert!(rollup.cuboid(0).is_some() && rollup.cuboid(minutes_at).is_none());
    for (name, body) in answerable() {
        let (raw, rolled, _) = both(&engine, &body);
        assert_eq!(rolled, raw, "{name}");
    }
    assert!(engine.refresh_rollup(&index, Duration::ZERO, 1).unwrap());
    assert!(minutes.exists());
    let rollup = engine.rollup_for(&index, &index.searcher()).unwrap();
    assert!(rollup.cuboid(minutes_at).is_some());
    assert!(!engine.refresh_rollup(&index, Duration::ZERO, 1).unwrap());
}
