//! The Elasticsearch client against flowdash's own Elasticsearch-compatible surface, over real
//! HTTP: the same requests through the client and straight to the embedded engine give the
//! same answers, for clusters that speak 6.x, 7.x and 8.x.

use std::time::Duration;

use serde_json::{json, Value};

use super::auth::Auth;
use super::multi_terms::PAGE_SIZE;
use super::{ElasticBackend, ElasticConfig, ElasticSink};
use crate::backend::SearchBackend;
use crate::http::tests::TestServer;
use crate::ingest::demo::{demo_format, generate, DemoConfig};
use crate::ingest::{ingest_reader, DocSink, IngestOptions, IngestReport};

const END: i64 = 1_583_496_000_000;

fn demo_text(flows: u64, seed: u64) -> String {
    let mut text = demo_format().header().to_owned();
    text.push('\n');
    generate(
        &DemoConfig {
            flows,
            hours: 12,
            end_ms: END,
            seed,
        },
        |line| {
            text.push_str(line);
            text.push('\n');
        },
    );
    text
}

async fn cluster(version: &str) -> TestServer {
    let version = version.to_owned();
    let server = TestServer::start_with(move |c| c.es_compat_version = version).await;
    let (status, report) = server.post("/api/ingest", demo_text(3000, 9)).await;
    assert_eq!(
        (status, report["accepted"].as_u64()),
        (200, Some(3000)),
        "{report}"
    );
    server
}

fn client(server: &TestServer) -> ElasticBackend {
    ElasticBackend::new(&ElasticConfig {
        url: server.url("/es"),
        auth: Auth::None,
        ca_cert: None,
        insecure: false,
        timeout: Duration::from_secs(30),
        allow_scripts: false,
    })
    .unwrap()
}

/// A flowdash server whose backend is `cluster`'s Elasticsearch surface (`--es-url`).
async fn proxy_to(cluster: &TestServer) -> TestServer {
    let url = cluster.url("/es");
    TestServer::start_with(move |c| {
        c.elastic = Some(ElasticConfig {
            url,
            auth: Auth::None,
            ca_cert: None,
            insecure: false,
            timeout: Duration::from_secs(30),
            allow_scripts: false,
        })
    })
    .await
}

fn requests() -> Vec<Value> {
    let range = json!({ "range": { "@timestamp": { "gte": END - 6 * 3_600_000, "lte": END, "format": "epoch_millis" } } });
    vec![
        json!({ "size": 0, "query": { "bool": { "filter": [range] } },
            "aggs": { "2": { "terms": { "field": "action", "size": 5 }, "aggs": { "3": { "terms": { "field": "dstport", "size": 5 } } } } } }),
        // The 6.x form and the 7.x form of a date histogram.
        json!({ "size": 0, "aggs": { "t": { "date_histogram": { "field": "@timestamp", "interval": "30m", "min_doc_count": 0 },
            "aggs": { "a": { "terms": { "field": "action" } } } } } }),
        json!({ "size": 0, "track_total_hits": true, "aggs": { "t": { "date_histogram": { "field": "@timestamp", "calendar_interval": "1h", "time_zone": "Asia/Seoul" } } } }),
        json!({ "size": 0, "aggs": { "s": { "terms": { "field": "srcaddr", "size": 10, "order": { "b": "desc" } }, "aggs": { "b": { "sum": { "field": "bytes" } } } },
            "c": { "cardinality": { "field": "dstaddr" } }, "p": { "percentiles": { "field": "bytes", "percents": [50, 99] } } } }),
        json!({ "size": 7, "sort": [{ "@timestamp": "desc" }, { "bytes": "asc" }], "query": { "query_string": { "query": "srcaddr:10.0.0.0/8 AND action:REJECT" } } }),
    ]
}

/// A response without what legitimately differs between two runs.
fn comparable(mut response: Value) -> Value {
    if let Some(object) = response.as_object_mut() {
        object.remove("took");
    }
    response
}

#[tokio::test]
async fn the_client_gets_what_the_engine_answers_from_6x_7x_and_8x_clusters() {
    for version in ["6.8.23", "7.10.2", "8.11.1"] {
        let server = cluster(version).await;
        let engine = &server.state.backend;
        let client = client(&server);
        assert_eq!(client.info().await.unwrap().version, version);
        for body in requests() {
            let direct = engine
                .search("cwl-*", body.clone())
                .await
                .unwrap_or_else(|e| panic!("{e}: {body}"));
            let through = client
                .search("cwl-*", body.clone())
                .await
                .unwrap_or_else(|e| panic!("{version}: {e}: {body}"));
            let mut expected = comparable(direct);
            if !body.get("track_total_hits").is_some_and(|t| t == true) && version.starts_with('6')
            {
                // A 6.x cluster counts every hit; the client still answers in the 7.x shape.
                expected["hits"]["total"]["relation"] = json!("eq");
            }
            assert_eq!(comparable(through), expected, "{version}: {body}");
        }
        let fields = client.field_caps("cwl-*").await.unwrap();
        let srcaddr = fields.iter().find(|f| f.name == "srcaddr").unwrap();
        assert_eq!(
            (srcaddr.field_type.as_str(), srcaddr.aggregatable),
            ("ip", true)
        );
        let indices = client.indices().await.unwrap();
        assert_eq!(indices.iter().map(|i| i.docs).sum::<u64>(), 3000);
    }
}

/// An aggregation the cluster's version lacks is refused before it is sent, saying which
/// version it needs; a cluster that has it answers as the engine does.
#[tokio::test]
async fn aggregations_newer_than_the_cluster_are_refused_with_the_version_they_need() {
    let pairs = json!({ "size": 0, "aggs": { "by": { "terms": { "field": "action" }, "aggs": {
        "pairs": { "multi_terms": { "terms": [ { "field": "action" }, { "field": "dstport" } ] } } } } } });
    let rare = json!({ "size": 0, "aggs": { "rare": { "rare_terms": { "field": "dstport" } } } });
    let old = cluster("7.10.2").await;
    let error = client(&old)
        .search("cwl-*", pairs.clone())
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "aggregation [multi_terms] (in [pairs]) needs Elasticsearch 7.12 or later, and the cluster runs Elasticsearch 7.10"
    );
    assert!(matches!(
        error,
        crate::backend::BackendError::BadRequest { .. }
    ));
    client(&old).search("cwl-*", rare.clone()).await.unwrap();
    let older = cluster("6.8.23").await;
    let error = client(&older).search("cwl-*", rare).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("needs Elasticsearch 7.3 or later"),
        "{error}"
    );
    let new = cluster("8.11.1").await;
    let through = client(&new).search("cwl-*", pairs.clone()).await.unwrap();
    let direct = new.state.backend.search("cwl-*", pairs).await.unwrap();
    assert_eq!(comparable(through), comparable(direct));
}

/// A cluster without `multi_terms` (Elasticsearch 7.11, which refuses it itself) still answers
/// one at the top of a search: the client ranks the combinations of every composite page, and
/// the answer is the engine's own `multi_terms` answer, by count, by a sub-metric and by key.
#[tokio::test]
async fn multi_terms_is_answered_from_composite_pages_on_a_cluster_without_it() {
    let cluster = cluster("7.11.2").await;
    let conversation = json!([{ "field": "srcaddr" }, { "field": "dstaddr" }, { "field": "dstport" }, { "field": "protocol" }]);
    let (status, refusal) = cluster
        .post_json(
            "/es/cwl-*/_search",
            &json!({ "size": 0, "aggs": { "c": { "multi_terms": { "terms": conversation } } } }),
        )
        .await;
    assert_eq!(status, 400, "{refusal}");
    let client = client(&cluster);
    let engine = &cluster.state.backend;
    let bodies = [
        json!({ "size": 0, "aggs": { "conversations": { "multi_terms": { "terms": conversation, "size": 10 } } } }),
        json!({ "size": 3, "sort": [{ "@timestamp": "desc" }, { "srcport": "asc" }],
            "query": { "query_string": { "query": "action:ACCEPT" } },
            "aggs": {
                "pairs": { "multi_terms": { "terms": [{ "field": "srcaddr" }, { "field": "dstport" }], "size": 5, "order": { "b": "desc" } },
                    "aggs": { "b": { "sum": { "field": "bytes" } }, "p": { "max": { "field": "packets" } } } },
                "actions": { "terms": { "field": "action" } } } }),
        json!({ "size": 0, "aggs": { "ports": { "multi_terms": {
            "terms": [{ "field": "dstport" }, { "field": "protocol" }], "size": 4, "order": { "_key": "asc" }, "min_doc_count": 2 } } } }),
    ];
    for body in bodies {
        let direct = engine.search("cwl-*", body.clone()).await.unwrap();
        let through = client
            .search("cwl-*", body.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}: {body}"));
        assert_eq!(comparable(through), comparable(direct.clone()), "{body}");
    }
    // Every conversation: more than one composite page of them, the whole ranked.
    let every = json!({ "size": 0, "aggs": { "conversations": { "multi_terms": { "terms": conversation, "size": 10_000 } } } });
    let through = client.search("cwl-*", every.clone()).await.unwrap();
    let conversations = through["aggregations"]["conversations"]["buckets"]
        .as_array()
        .unwrap()
        .len();
    assert!(conversations > PAGE_SIZE, "{conversations}");
    let direct = engine.search("cwl-*", every).await.unwrap();
    assert_eq!(comparable(through), comparable(direct));
    // A page of a thousand conversations with a minute histogram of twelve hours each is
    // past the cluster's `search.max_buckets`: smaller pages are asked instead.
    let minutes = json!({ "date_histogram": { "field": "@timestamp", "fixed_interval": "1m", "min_doc_count": 0,
        "extended_bounds": { "min": END - 12 * 3_600_000, "max": END } } });
    let timelines = json!({ "size": 0, "aggs": { "pairs": {
        "multi_terms": { "terms": [{ "field": "srcaddr" }, { "field": "dstaddr" }], "size": 3 },
        "aggs": { "m": minutes.clone() } } } });
    let page = json!({ "size": 0, "aggs": { "pairs": {
        "composite": { "size": PAGE_SIZE, "sources": [{ "a": { "terms": { "field": "srcaddr" } } }, { "b": { "terms": { "field": "dstaddr" } } }] },
        "aggs": { "m": minutes } } } });
    let (status, refusal) = cluster.post_json("/es/cwl-*/_search", &page).await;
    assert_eq!(status, 400, "{refusal}");
    let direct = engine.search("cwl-*", timelines.clone()).await.unwrap();
    let through = client.search("cwl-*", timelines).await.unwrap();
    assert_eq!(comparable(through), comparable(direct));
}

#[tokio::test]
async fn a_server_over_a_cluster_answers_like_the_embedded_server() {
    let cluster = cluster("7.10.2").await;
    let proxy = proxy_to(&cluster).await;
    let (_, health) = proxy.get("/api/health").await;
    assert_eq!(health["backend"], "elasticsearch");
    assert_eq!(health["cluster"]["version"], "7.10.2");
    for body in requests() {
        let request = json!({ "index": "cwl-*", "body": body });
        let (status, direct) = cluster.post_json("/api/search", &request).await;
        let (status_via, via) = proxy.post_json("/api/search", &request).await;
        assert_eq!((status, status_via), (200, 200));
        assert_eq!(comparable(via), comparable(direct), "{body}");
    }
    // The allow-list holds in front of a cluster too: no way to reach other indices.
    let (status, _) = proxy
        .post_json("/api/search", &json!({ "index": ".security", "body": {} }))
        .await;
    assert_eq!(status, 403);
    // Errors of the cluster keep their status and reason.
    let (status, error) = proxy
        .post_json("/api/search", &json!({ "index": "cwl-*", "body": { "aggs": { "x": { "geo_bounds": { "field": "srcaddr" } } } } }))
        .await;
    assert_eq!(status, 400);
    assert!(
        error["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("geo_bounds"),
        "{error}"
    );
    // What the allow-list of indices cannot see is refused before it reaches the cluster:
    // a `terms` lookup reads any index, a script runs code there.
    for body in [
        json!({ "query": { "terms": { "srcaddr": { "index": ".flowdash", "id": "x", "path": "attributes" } } } }),
        json!({ "query": { "script": { "script": { "source": "true" } } } }),
        json!({ "aggs": { "x": { "terms": { "script": { "source": "doc['action'].value" } } } } }),
    ] {
        let (status, error) = proxy
            .post_json("/api/search", &json!({ "index": "cwl-*", "body": body }))
            .await;
        assert_eq!(status, 400, "{body}");
        assert!(
            error["error"]["reason"]
                .as_str()
                .unwrap()
                .contains("--es-allow-scripts"),
            "{error}"
        );
        let (_, answers) = proxy
            .post_json(
                "/api/msearch",
                &json!({ "searches": [
                { "index": "cwl-*", "body": body },
                { "index": "cwl-*", "body": { "size": 0, "track_total_hits": true } }
            ] }),
            )
            .await;
        assert_eq!(answers["responses"][0]["status"], 400, "{answers}");
        assert_eq!(
            answers["responses"][1]["status"], 200,
            "the other search still runs: {answers}"
        );
    }
}

/// A cluster's shards that did not answer (here, flowdash's own surface reporting a day whose
/// flows retention deleted) reach the dashboard through the proxy as they left the cluster,
/// in `_search` and in the dashboard's `_msearch`: the panel's ⚠ reads them from either.
#[tokio::test]
async fn a_clusters_failed_shards_reach_the_dashboard_through_the_proxy() {
    use crate::backend::embedded::{Retained, Retention};

    let cluster = cluster("7.10.2").await;
    let policy = Retention {
        days: 1,
        rollup_days: Some(10),
    };
    let Retained { rolled_up, .. } = cluster
        .engine()
        .enforce_retention(policy, END + 3 * 86_400_000)
        .unwrap();
    assert_eq!(rolled_up, ["cwl-2020.03.06"]);
    let proxy = proxy_to(&cluster).await;
    // Destinations need the flows; counts by action the rollup answers whole.
    let lacking =
        json!({ "size": 0, "aggs": { "d": { "terms": { "field": "dstaddr", "size": 5 } } } });
    let whole = json!({ "size": 0, "aggs": { "a": { "terms": { "field": "action" } } } });
    let request = json!({ "index": "cwl-*", "body": lacking });
    let (status, direct) = cluster.post_json("/api/search", &request).await;
    let (status_via, via) = proxy.post_json("/api/search", &request).await;
    assert_eq!((status, status_via), (200, 200), "{via}");
    assert_eq!(via["_shards"], direct["_shards"]);
    let note = app::inspect::partial_answer(&via).expect("a partial answer");
    assert!(note.contains("cwl-2020.03.06"), "{note}");
    let (status, answers) = proxy
        .post_json(
            "/api/msearch",
            &json!({ "searches": [
                { "index": "cwl-*", "body": lacking },
                { "index": "cwl-*", "body": whole }
            ] }),
        )
        .await;
    assert_eq!(status, 200);
    let responses = answers["responses"].as_array().unwrap();
    assert_eq!(
        app::inspect::partial_answer(&responses[0]).as_deref(),
        Some(note.as_str())
    );
    assert_eq!(
        app::inspect::partial_answer(&responses[1]),
        None,
        "{answers}"
    );
    let (_, direct_whole) = cluster
        .post_json("/api/search", &json!({ "index": "cwl-*", "body": whole }))
        .await;
    assert_eq!(
        responses[1]["aggregations"], direct_whole["aggregations"],
        "{answers}"
    );
}

/// Ingests `text` into the cluster through flowdash's bulk sink, as `flowdash ingest --es-url`.
async fn through_sink(client: ElasticBackend, text: String) -> IngestReport {
    tokio::task::spawn_blocking(move || {
        let mut sink = ElasticSink::new(client, tokio::runtime::Handle::current());
        let mut report = IngestReport::default();
        ingest_reader(
            None,
            text.as_bytes(),
            &IngestOptions::default(),
            &mut sink,
            &mut report,
        )
        .unwrap();
        report.record(sink.flush().unwrap());
        report
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn ingestion_into_a_cluster_writes_what_the_lambda_writes_once() {
    let cluster = TestServer::start().await;
    let client = client(&cluster);
    let text = demo_text(2500, 4);
    let report = through_sink(client.clone(), text.clone()).await;
    assert_eq!(
        (report.accepted, report.skipped, report.rejected),
        (2500, 0, 0),
        "{:?}",
        report.errors
    );
    let stored: u64 = cluster.docs_per_index().iter().map(|(_, n)| n).sum();
    assert_eq!(stored, 2500);
    assert!(cluster
        .docs_per_index()
        .iter()
        .all(|(name, _)| name.starts_with("cwl-2020.03.")));
    // Again: every document is a duplicate (409 on create), nothing is stored twice.
    let report = through_sink(client, text).await;
    assert_eq!((report.accepted, report.skipped), (0, 2500));
}

#[tokio::test]
async fn an_unreachable_cluster_is_a_clear_error() {
    // A port nothing listens on, on this machine.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let client = ElasticBackend::new(&ElasticConfig {
        url: format!("http://127.0.0.1:{port}"),
        auth: Auth::None,
        ca_cert: None,
        insecure: false,
        timeout: Duration::from_secs(5),
        allow_scripts: false,
    })
    .unwrap();
    let error = client.search("cwl-*", json!({})).await.unwrap_err();
    assert_eq!(error.status(), 502);
    assert!(
        error.to_string().contains("cannot reach the cluster"),
        "{error}"
    );
}

/// Discover's pages through Elasticsearch 8, which refuses `_id` sorts: the client sorts on
/// the documents' `@id` instead, and the pages hold every flow once, in Discover's order.
#[tokio::test]
async fn discover_pages_every_flow_once_through_a_cluster_that_refuses_id_sorts() {
    use app::discover::{page_request, PageRequest};
    use app::model::filter::QueryText;
    use app::model::time::Resolved;
    use app::panels::ViewInputs;

    let cluster = TestServer::start_with(|c| c.es_compat_version = "8.11.0".into()).await;
    let client = client(&cluster);
    // Written as flowdash writes to a cluster (and the Lambda does): `@id` equal to `_id`.
    let report = through_sink(client.clone(), demo_text(3000, 9)).await;
    assert_eq!(report.accepted, 3000, "{:?}", report.errors);
    let (status, refusal) = cluster
        .post_json("/es/cwl-*/_search", &json!({ "sort": [{ "_id": "asc" }] }))
        .await;
    assert_eq!(status, 400, "{refusal}");
    assert!(refusal
        .to_string()
        .contains("indices.id_field_data.enabled"));

    let inputs = ViewInputs {
        time: Resolved {
            from_ms: END - 13 * 3_600_000,
            to_ms: END + 3_600_000,
        },
        query: QueryText::kql(""),
        filters: Vec::new(),
        time_zone: None,
        now_ms: END,
    };
    let mut seen: Vec<(String, Value)> = Vec::new();
    let mut after = None;
    loop {
        let page = PageRequest {
            after: after.clone(),
            size: 700,
            histogram: after.is_none(),
        };
        let body = page_request("cwl-*", "@timestamp", &[], &inputs, &page).unwrap();
        let answer = client.search("cwl-*", body).await.unwrap();
        let hits = answer["hits"]["hits"].as_array().unwrap().clone();
        let Some(last) = hits.last() else { break };
        after = Some(last["sort"].as_array().unwrap().clone());
        for hit in &hits {
            let id = hit["_id"].as_str().unwrap().to_owned();
            // The stand-in's sort value is the flow's own id.
            assert_eq!(hit["sort"][1], json!(id), "{hit}");
            seen.push((id, hit["sort"][0].clone()));
        }
    }
    assert_eq!(seen.len(), 3000);
    let mut ids: Vec<&str> = seen.iter().map(|(id, _)| id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 3000, "every flow once");
    // Newest first, and ties on time in id order.
    assert!(seen.windows(2).all(|pair| {
        let (time, next_time) = (pair[0].1.as_i64().unwrap(), pair[1].1.as_i64().unwrap());
        time > next_time || (time == next_time && pair[0].0 < pair[1].0)
    }));
}
