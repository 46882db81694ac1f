//! HTTP tests over a real socket: the server as users and other programs reach it.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde_json::{json, Value};

use super::*;

/// A running server on 127.0.0.1 with its own data directory.
pub(crate) struct TestServer {
    pub address: SocketAddr,
    pub state: AppState,
    pub client: reqwest::Client,
    _data: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut ServeConfig)) -> TestServer {
        let data = tempfile::tempdir().unwrap();
        let mut config = ServeConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: data.path().to_owned(),
            site_root: PathBuf::from("target/site"),
            max_body_bytes: 8 << 20,
            max_decompressed_bytes: 64 << 20,
            retain_days: None,
            allowed_indices: vec!["cwl-*".into()],
            search_timeout: std::time::Duration::from_secs(30),
            elastic: None,
            es_compat_version: crate::backend::embedded::EMULATED_VERSION.to_owned(),
        };
        adjust(&mut config);
        let state = AppState::new(&config).unwrap();
        let listener = tokio::net::TcpListener::bind(config.listen).await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = build_app(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        TestServer {
            address,
            state,
            client: reqwest::Client::new(),
            _data: data,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    pub async fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let response = self
            .client
            .post(self.url(path))
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Documents per index, straight from the store.
    pub fn docs_per_index(&self) -> Vec<(String, u64)> {
        let engine = self.state.engine.as_ref().unwrap();
        engine
            .indices()
            .iter()
            .map(|i| (i.name.clone(), i.stats().docs))
            .collect()
    }
}

const LINES: &str = "\
2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK
2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK
2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA
this line is broken
";

#[tokio::test]
async fn health_reports_the_backend() {
    let server = TestServer::start().await;
    let (status, body) = server.get("/api/health").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["backend"], "embedded");
}

#[tokio::test]
async fn ingest_text_reports_each_bad_line_and_stores_the_rest() {
    let server = TestServer::start().await;
    let (status, report) = server.post("/api/ingest", LINES).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["accepted"], 3);
    assert_eq!(report["rejected"], 1);
    assert_eq!(report["skipped"], 0);
    assert_eq!(
        report["errors"],
        json!([{ "line": 4, "reason": "expected 14 fields, found 4" }])
    );
    assert_eq!(
        server.docs_per_index(),
        [
            ("cwl-2014.12.14".to_owned(), 2),
            ("cwl-2015.05.10".to_owned(), 1)
        ]
    );
    // Sending it again stores nothing twice.
    let (_, report) = server.post("/api/ingest", LINES).await;
    assert_eq!(
        (report["accepted"].as_u64(), report["skipped"].as_u64()),
        (Some(0), Some(3))
    );
}

#[tokio::test]
async fn ingest_gzip_and_cloudwatch_payloads() {
    use std::io::Write;
    let server = TestServer::start().await;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(LINES.as_bytes()).unwrap();
    let (status, report) = server.post("/api/ingest", encoder.finish().unwrap()).await;
    assert_eq!((status, report["accepted"].as_u64()), (200, Some(3)));

    let payload = crate::ingest::cloudwatch::tests::sample("DATA_MESSAGE");
    let event =
        json!({ "awslogs": { "data": crate::ingest::cloudwatch::tests::encode(&payload) } });
    let (status, report) = server.post_json("/api/ingest", &event).await;
    assert_eq!(
        (status, report["accepted"].as_u64()),
        (200, Some(1)),
        "{report}"
    );
    let (_, report) = server.post_json("/api/ingest", &payload).await;
    assert_eq!(
        report["skipped"], 1,
        "the decoded payload is the same event: {report}"
    );
}

#[tokio::test]
async fn ingest_takes_a_format_for_headerless_text() {
    let server = TestServer::start().await;
    let (status, report) = server
        .post(
            "/api/ingest?format=%24%7Bstart%7D%20%24%7Baction%7D%20%24%7Bdstport%7D",
            "1583471220 REJECT 3389\n",
        )
        .await;
    assert_eq!(
        (status, report["accepted"].as_u64()),
        (200, Some(1)),
        "{report}"
    );
    let (status, error) = server.post("/api/ingest?format=srcaddr", "x").await;
    assert_eq!(status, 400);
    assert_eq!(
        error["error"]["reason"],
        "format: `srcaddr` is not a field name (expected `${field-name}`)"
    );
}

#[tokio::test]
async fn oversized_bodies_and_gzip_bombs_are_refused_in_the_api_error_shape() {
    use std::io::Write;
    let server = TestServer::start_with(|c| {
        c.max_body_bytes = 1 << 20;
        c.max_decompressed_bytes = 4 << 20;
    })
    .await;
    let (status, error) = server.post("/api/ingest", vec![b'x'; 2 << 20]).await;
    assert_eq!(status, 413);
    assert_eq!(error["error"]["type"], "payload_too_large");

    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&vec![b'\n'; 64 << 20]).unwrap();
    let bomb = encoder.finish().unwrap();
    assert!(bomb.len() < 1 << 20);
    let (status, report) = server.post("/api/ingest", bomb).await;
    assert_eq!(status, 200);
    assert_eq!(report["accepted"], 0);
    assert!(
        report["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("limit"),
        "{report}"
    );
}

fn pie_request() -> Value {
    json!({
        "size": 0,
        "aggs": { "2": { "terms": { "field": "action", "order": { "_count": "desc" }, "size": 5 },
            "aggs": { "3": { "terms": { "field": "dstport", "order": { "_count": "desc" }, "size": 5 } } } } }
    })
}

#[tokio::test]
async fn search_answers_in_elasticsearch_format_and_respects_the_allow_list() {
    let server = TestServer::start().await;
    server.post("/api/ingest", LINES).await;
    let (status, response) = server
        .post_json(
            "/api/search",
            &json!({ "index": "cwl-*", "body": pie_request() }),
        )
        .await;
    assert_eq!(status, 200, "{response}");
    let buckets = &response["aggregations"]["2"]["buckets"];
    assert_eq!(buckets[0]["key"], "ACCEPT");
    assert_eq!(buckets[0]["doc_count"], 1);
    assert_eq!(buckets[0]["3"]["buckets"][0]["key"], 22);
    assert_eq!(buckets[1]["key"], "REJECT");
    assert_eq!(buckets[1]["3"]["buckets"][0]["key"], 3389);

    let (status, error) = server
        .post_json(
            "/api/search",
            &json!({ "index": ".flowdash,cwl-*", "body": {} }),
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(error["error"]["type"], "security_exception");
    let (status, _) = server
        .post_json("/api/search", &json!({ "index": "*", "body": {} }))
        .await;
    assert_eq!(status, 403, "a wider pattern than allowed is refused");

    let (status, error) = server
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

    let (status, error) = server.post("/api/search", "{not json").await;
    assert_eq!(status, 400);
    assert_eq!(error["error"]["type"], "parse_exception");
}

#[tokio::test]
async fn msearch_answers_each_search_on_its_own() {
    let server = TestServer::start().await;
    server.post("/api/ingest", LINES).await;
    let (status, response) = server
        .post_json(
            "/api/msearch",
            &json!({ "searches": [
                { "index": "cwl-*", "body": pie_request() },
                { "index": "cwl-*", "body": { "aggs": { "t": { "terms": { "field": "no_such_field" } } } } },
                { "index": "secret", "body": {} },
                { "index": "cwl-*", "body": { "size": 0, "track_total_hits": true } }
            ] }),
        )
        .await;
    assert_eq!(status, 200);
    let responses = response["responses"].as_array().unwrap();
    assert_eq!(responses[0]["status"], 200);
    assert_eq!(
        responses[0]["aggregations"]["2"]["buckets"][0]["key"],
        "ACCEPT"
    );
    assert_eq!(responses[1]["status"], 400);
    assert_eq!(responses[2]["status"], 403);
    assert_eq!(responses[3]["hits"]["total"]["value"], 3);
}

/// What the AWS `LogsToElasticsearch` Lambda (v1.1.2) sends for one CloudWatch event.
fn lambda_bulk() -> String {
    let source = json!({
        "version": 2, "account_id": 123456789012i64, "interface_id": "eni-0a1b2c3d4e5f60718",
        "srcaddr": "10.0.1.5", "dstaddr": "10.0.2.9", "srcport": 443, "dstport": 51000, "protocol": 6,
        "packets": 10, "bytes": 840, "start": 1583471220, "end": 1583471280, "action": "ACCEPT", "log_status": "OK",
        "@id": "35689263648391837472973739781728019701390240798247944192",
        "@timestamp": "2020-03-06T05:07:00.000Z",
        "@message": "2 123456789012 eni-0a1b2c3d4e5f60718 10.0.1.5 10.0.2.9 443 51000 6 10 840 1583471220 1583471280 ACCEPT OK",
        "@owner": "123456789012", "@log_group": "vpc-flow-logs", "@log_stream": "eni-0a1b2c3d4e5f60718-all"
    });
    let action = json!({ "index": { "_index": "cwl-2020.03.06", "_type": "vpc-flow-logs", "_id": "35689263648391837472973739781728019701390240798247944192" } });
    format!("{action}\n{source}\n")
}

#[tokio::test]
async fn the_lambda_bulk_lands_and_searches_like_elasticsearch() {
    let server = TestServer::start().await;
    let (status, response) = server.post("/es/_bulk", lambda_bulk()).await;
    assert_eq!(status, 200, "{response}");
    assert_eq!(response["errors"], false);
    assert_eq!(response["items"][0]["index"]["result"], "created");
    assert_eq!(response["items"][0]["index"]["status"], 201);
    // The Lambda retries whole batches: the same event again replaces, never duplicates.
    let (_, response) = server.post("/es/_bulk", lambda_bulk()).await;
    assert_eq!(response["items"][0]["index"]["result"], "updated");
    assert_eq!(server.docs_per_index(), [("cwl-2020.03.06".to_owned(), 1)]);

    let (status, response) = server
        .get("/es/cwl-*/_search?q=action:ACCEPT&rest_total_hits_as_int=true")
        .await;
    assert_eq!(status, 200);
    assert_eq!(response["hits"]["total"], 1);
    let hit = &response["hits"]["hits"][0];
    assert_eq!(
        hit["_id"],
        "35689263648391837472973739781728019701390240798247944192"
    );
    assert_eq!(
        hit["_source"]["account_id"], 123456789012i64,
        "the source is returned as sent"
    );

    // Kibana-style `.keyword` fields aggregate like the keyword itself.
    let (_, response) = server
        .post_json(
            "/es/cwl-*/_search",
            &json!({ "size": 0, "aggs": { "a": { "terms": { "field": "action.keyword" } } } }),
        )
        .await;
    assert_eq!(response["aggregations"]["a"]["buckets"][0]["key"], "ACCEPT");

    let (_, response) = server.get("/es/_cat/indices?format=json").await;
    assert_eq!(response[0]["index"], "cwl-2020.03.06");
    assert_eq!(response[0]["docs.count"], "1");
    let (_, response) = server.get("/es/").await;
    assert_eq!(
        response["version"]["number"],
        crate::backend::embedded::EMULATED_VERSION
    );
    let (_, count) = server.get("/es/cwl-*/_count").await;
    assert_eq!(count["count"], 1);
}

#[tokio::test]
async fn bulk_items_fail_alone() {
    let server = TestServer::start().await;
    let body = [
        json!({ "create": { "_index": "cwl-2020.03.06", "_id": "a" } }).to_string(),
        json!({ "@timestamp": "2020-03-06T05:07:00Z", "action": "REJECT", "dstport": 22 })
            .to_string(),
        json!({ "create": { "_index": "cwl-2020.03.06", "_id": "a" } }).to_string(),
        json!({ "@timestamp": "2020-03-06T05:07:00Z", "action": "REJECT", "dstport": 22 })
            .to_string(),
        json!({ "index": { "_index": "cwl-2020.03.06", "_id": "b" } }).to_string(),
        json!({ "@timestamp": "2020-03-06T05:07:00Z", "dstport": "ssh" }).to_string(),
        json!({ "index": { "_index": "Bad Index" } }).to_string(),
        json!({ "@timestamp": "2020-03-06T05:07:00Z" }).to_string(),
        json!({ "update": { "_index": "cwl-2020.03.06", "_id": "a" } }).to_string(),
        json!({ "doc": {} }).to_string(),
        json!({ "delete": { "_index": "cwl-2020.03.06", "_id": "a" } }).to_string(),
    ]
    .join("\n");
    let (status, response) = server.post("/es/_bulk", body + "\n").await;
    assert_eq!(status, 200, "{response}");
    assert_eq!(response["errors"], true);
    let statuses: Vec<u64> = response["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            i.as_object().unwrap().values().next().unwrap()["status"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(statuses, [201, 409, 400, 400, 400, 200]);
    assert!(response["items"][2]["index"]["error"]["reason"]
        .as_str()
        .unwrap()
        .contains("dstport"));
    assert_eq!(server.docs_per_index(), [("cwl-2020.03.06".to_owned(), 0)]);
}
