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
    /// The data directory (removed with the server).
    pub data: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// The configuration tests start from: loopback, an empty data directory, the embedded
    /// engine.
    pub fn config(data_dir: &std::path::Path) -> ServeConfig {
        ServeConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: data_dir.to_owned(),
            site_root: PathBuf::from("target/site"),
            max_body_bytes: 8 << 20,
            max_decompressed_bytes: 64 << 20,
            retention: None,
            demo_follow: None,
            allowed_indices: vec!["cwl-*".into()],
            allowed_hosts: Vec::new(),
            networks_file: None,
            auth: crate::auth::AuthConfig::default(),
            insecure_no_auth: false,
            tls: None,
            search_timeout: std::time::Duration::from_secs(30),
            max_search_memory_bytes: 256 << 20,
            column_cache_bytes: 256 << 20,
            rollups: true,
            writer_memory_bytes: crate::backend::embedded::writers::DEFAULT_WRITER_MEMORY_BYTES,
            geo: Default::default(),
            csv_max_rows: 100_000,
            elastic: None,
            local_saved_objects: false,
            es_compat_version: crate::backend::embedded::EMULATED_VERSION.to_owned(),
        }
    }

    pub async fn start_with(adjust: impl FnOnce(&mut ServeConfig)) -> TestServer {
        let data = tempfile::tempdir().unwrap();
        let mut config = TestServer::config(data.path());
        adjust(&mut config);
        let state = AppState::initialize(&config).await.unwrap();
        let listener = tokio::net::TcpListener::bind(config.listen).await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = build_app(state.clone());
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap()
        });
        TestServer {
            address,
            state,
            client: reqwest::Client::new(),
            data,
        }
    }

    /// `GET path` answered as sent: a redirect is not followed.
    pub async fn get_unfollowed(&self, path: &str) -> reqwest::Response {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(self.url(path))
            .send()
            .await
            .unwrap()
    }

    /// The embedded engine the server runs on.
    pub fn engine(&self) -> std::sync::Arc<crate::backend::embedded::EmbeddedEngine> {
        let embedded = self.state.embedded.as_ref();
        embedded.expect("embedded mode").engine.clone()
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
        self.send_json(reqwest::Method::POST, path, body).await
    }

    /// `POST /api/search` of `body` over `cwl-*`.
    pub async fn search_flows(&self, body: Value) -> (u16, Value) {
        self.post_json("/api/search", &json!({ "index": "cwl-*", "body": body }))
            .await
    }

    pub async fn put_json(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send_json(reqwest::Method::PUT, path, body).await
    }

    async fn send_json(&self, method: reqwest::Method, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .request(method, self.url(path))
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

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        let response = self.client.delete(self.url(path)).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The body of `GET path`, whatever its status.
    pub async fn get_body_text(&self, path: &str) -> String {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        response.text().await.unwrap()
    }

    /// Documents per index, straight from the store.
    pub fn docs_per_index(&self) -> Vec<(String, u64)> {
        let engine = self.engine();
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
    // Asked again, the answer is the text the request cache kept, sent as JSON.
    let again = server
        .client
        .post(server.url("/api/search"))
        .json(&json!({ "index": "cwl-*", "body": pie_request() }))
        .send()
        .await
        .unwrap();
    assert_eq!(again.headers()["content-type"], "application/json");
    let mut kept: Value = again.json().await.unwrap();
    let mut first = response.clone();
    for answer in [&mut kept, &mut first] {
        answer["took"] = Value::Null;
    }
    assert_eq!(kept, first);

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
                { "index": "cwl-*", "body": { "aggs": { "t": { "geo_bounds": { "field": "srcaddr" } } } } },
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

    // Streamed: the same answers, one NDJSON line per search, each naming its search.
    let streamed = server
        .client
        .post(server.url("/api/msearch"))
        .header("accept", "application/x-ndjson")
        .json(&json!({ "searches": [
            { "index": "cwl-*", "body": pie_request() },
            { "index": "cwl-*", "body": { "aggs": { "t": { "geo_bounds": { "field": "srcaddr" } } } } },
            { "index": "secret", "body": {} },
            { "index": "cwl-*", "body": { "size": 0, "track_total_hits": true } }
        ] }))
        .send()
        .await
        .unwrap();
    assert_eq!(streamed.headers()["content-type"], "application/x-ndjson");
    let text = streamed.text().await.unwrap();
    let mut lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    lines.sort_by_key(|l| l["index"].as_u64());
    assert_eq!(lines.len(), 4);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["index"], i as u64);
        assert_eq!(line["response"]["status"], responses[i]["status"]);
    }
    assert_eq!(
        lines[0]["response"]["aggregations"],
        responses[0]["aggregations"]
    );
    assert_eq!(lines[3]["response"]["hits"]["total"]["value"], 3);
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

#[tokio::test]
async fn bulk_reads_dates_numbers_and_arrays_as_elasticsearch_does() {
    let server = TestServer::start().await;
    let index = json!({ "index": { "_index": "cwl-2016.01.01" } }).to_string();
    let sources = [
        // The date-only form of `strict_date_optional_time`; `1.0` and `"2.9"` coerced to
        // whole numbers (truncated); a one-value array is its value, an empty one none.
        json!({ "@timestamp": "2016-01-01", "action": "ACCEPT", "dstport": 1.0, "bytes": "2.9",
                "srcport": [443], "packets": [] }),
        // Epoch milliseconds, as a number, a string and a fraction.
        json!({ "@timestamp": 1_451_606_400_000_i64, "action": "ACCEPT", "dstport": 2 }),
        json!({ "@timestamp": "1451606460000", "action": "ACCEPT", "dstport": 2 }),
        json!({ "@timestamp": 1_451_606_520_000.0, "action": "ACCEPT", "dstport": 2 }),
        // Several values, or an object, cannot be kept in a flow: refused, not dropped.
        json!({ "@timestamp": "2016-01-01", "dstport": [22, 23] }),
        json!({ "@timestamp": "2016-01-01", "srcaddr": { "ip": "10.0.0.1" } }),
        json!({ "@timestamp": "2016-13-01" }),
    ];
    let body: String = sources
        .iter()
        .map(|source| format!("{index}\n{source}\n"))
        .collect();
    let (status, response) = server.post("/es/_bulk", body).await;
    assert_eq!(status, 200, "{response}");
    let items = response["items"].as_array().unwrap();
    let statuses: Vec<u64> = items
        .iter()
        .map(|i| i["index"]["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [201, 201, 201, 201, 400, 400, 400], "{response}");
    let reason = |i: usize| {
        items[i]["index"]["error"]["reason"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(
        reason(4).contains("dstport") && reason(4).contains("2 values"),
        "{}",
        reason(4)
    );
    assert!(
        reason(5).contains("srcaddr") && reason(5).contains("object"),
        "{}",
        reason(5)
    );
    assert!(reason(6).contains("@timestamp"), "{}", reason(6));
    server.post("/es/_refresh", "").await;

    let count = |query: Value| {
        let server = &server;
        async move {
            let (status, response) = server
                .post_json("/es/cwl-2016.01.01/_count", &json!({ "query": query }))
                .await;
            assert_eq!(status, 200, "{response}");
            response["count"].as_u64().unwrap()
        }
    };
    assert_eq!(count(json!({ "match_all": {} })).await, 4);
    assert_eq!(count(json!({ "term": { "dstport": 1 } })).await, 1);
    assert_eq!(count(json!({ "term": { "bytes": 2 } })).await, 1);
    assert_eq!(count(json!({ "term": { "srcport": 443 } })).await, 1);
    assert_eq!(count(json!({ "exists": { "field": "packets" } })).await, 0);
    // Every time is read as the instant it names: midnight, then one and two minutes past.
    let at = |from: &str, to: &str| json!({ "range": { "@timestamp": { "gte": from, "lt": to } } });
    assert_eq!(
        count(at("2016-01-01T00:00:00Z", "2016-01-01T00:00:01Z")).await,
        2
    );
    assert_eq!(
        count(at("2016-01-01T00:01:00Z", "2016-01-01T00:01:01Z")).await,
        1
    );
    assert_eq!(
        count(at("2016-01-01T00:02:00Z", "2016-01-01T00:02:01Z")).await,
        1
    );
}

#[tokio::test]
async fn typed_keys_name_each_answer_by_its_type() {
    let server = TestServer::start().await;
    server.post("/api/ingest", LINES).await;
    let body = json!({ "size": 0, "aggs": {
        "by_action": { "terms": { "field": "action" }, "aggs": { "bytes": { "sum": { "field": "bytes" } } } },
        "most": { "max_bucket": { "buckets_path": "by_action>bytes" } }
    } });
    for path in [
        "/es/cwl-*/_search?typed_keys=true",
        "/es/cwl-*/_search?typed_keys",
    ] {
        let (status, answer) = server.post_json(path, &body).await;
        assert_eq!(status, 200, "{answer}");
        let aggs = &answer["aggregations"];
        let buckets = aggs["sterms#by_action"]["buckets"].as_array().unwrap();
        assert!(!buckets.is_empty(), "{answer}");
        assert!(
            buckets.iter().all(|b| b["sum#bytes"]["value"].is_number()),
            "{answer}"
        );
        assert!(
            aggs["bucket_metric_value#most"]["value"].is_number(),
            "{answer}"
        );
    }
    // Without it, names stay as sent.
    let (_, plain) = server.post_json("/es/cwl-*/_search", &body).await;
    assert!(
        plain["aggregations"]["by_action"]["buckets"].is_array(),
        "{plain}"
    );
}

fn vis_json() -> Value {
    serde_json::to_value(app::model::visualization::Visualization::example_action_port_pie())
        .unwrap()
}

#[tokio::test]
async fn saved_objects_are_validated_versioned_and_searchable() {
    let server = TestServer::start().await;
    let (status, created) = server
        .post_json(
            "/api/saved_objects/visualization",
            &json!({ "attributes": vis_json() }),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["version"], 1);
    // The references follow from the attributes: the visualization's index pattern.
    assert_eq!(
        created["references"],
        json!([{ "name": "index_pattern", "type": "index-pattern", "id": "cwl" }])
    );

    let mut bad = vis_json();
    bad["buckets"][1]["agg"]["terms"]["size"] = json!("five");
    let (status, error) = server
        .post_json(
            "/api/saved_objects/visualization",
            &json!({ "attributes": bad }),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        error["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("buckets[1].agg.terms.size"),
        "{error}"
    );

    let mut changed = vis_json();
    changed["title"] = json!("Renamed");
    let url = format!("/api/saved_objects/visualization/{id}");
    let response = server
        .client
        .put(server.url(&url))
        .json(&json!({ "attributes": changed, "version": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = server
        .client
        .put(server.url(&url))
        .json(&json!({ "attributes": changed, "version": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409, "a stale version is refused");

    let (_, found) = server
        .get("/api/saved_objects/_find?type=visualization&search=renamed")
        .await;
    assert_eq!(found["total"], 1);
    let (_, all) = server
        .get("/api/saved_objects/_find?type=visualization,dashboard")
        .await;
    assert!(all["total"].as_u64().unwrap() >= 1);
    let response = server.client.delete(server.url(&url)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let (status, _) = server.get(&url).await;
    assert_eq!(status, 404);
}

/// A Kibana 7.10 export: the cwl-* index pattern, the seed's pie and line, and a dashboard.
fn kibana_export() -> String {
    let pie_state = json!({ "title": "Kibana pie", "type": "pie", "params": { "isDonut": true, "legendPosition": "right", "labels": { "show": true } },
        "aggs": [
            { "id": "1", "enabled": true, "type": "count", "schema": "metric", "params": {} },
            { "id": "2", "enabled": true, "type": "terms", "schema": "segment", "params": { "field": "action.keyword", "size": 5, "order": "desc", "orderBy": "1", "otherBucket": true } },
            { "id": "3", "enabled": true, "type": "terms", "schema": "segment", "params": { "field": "dstport", "size": 5, "order": "desc", "orderBy": "1" } },
            { "id": "4", "enabled": true, "type": "terms", "schema": "split", "params": { "field": "vpc_id", "size": 3 } }
        ] });
    let line_state = json!({ "title": "Kibana line", "type": "line", "params": {},
        "aggs": [
            { "id": "1", "enabled": true, "type": "count", "schema": "metric", "params": {} },
            { "id": "2", "enabled": true, "type": "date_histogram", "schema": "segment", "params": { "field": "@timestamp", "interval": "m" } },
            { "id": "3", "enabled": true, "type": "terms", "schema": "group", "params": { "field": "action.keyword", "size": 3, "order": "desc", "orderBy": "1" } }
        ] });
    let search = json!({ "query": { "query": "", "language": "kuery" }, "filter": [], "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index" }).to_string();
    let index_ref = json!([{ "name": "kibanaSavedObjectMeta.searchSourceJSON.index", "type": "index-pattern", "id": "k-pattern" }]);
    let lines = [
        json!({ "id": "k-pattern", "type": "index-pattern", "attributes": { "title": "cwl-*", "timeFieldName": "@timestamp", "fields": "[]" }, "references": [] }),
        json!({ "id": "k-pie", "type": "visualization", "attributes": { "title": "Kibana pie", "visState": pie_state.to_string(), "uiStateJSON": "{}", "description": "",
            "kibanaSavedObjectMeta": { "searchSourceJSON": search } }, "references": index_ref }),
        json!({ "id": "k-line", "type": "visualization", "attributes": { "title": "Kibana line", "visState": line_state.to_string(), "uiStateJSON": "{}", "description": "",
            "kibanaSavedObjectMeta": { "searchSourceJSON": search } }, "references": index_ref }),
        json!({ "id": "k-dash", "type": "dashboard", "attributes": { "title": "Kibana dashboard", "timeRestore": true, "timeFrom": "now-1h", "timeTo": "now",
            "panelsJSON": json!([
                { "panelIndex": "1", "gridData": { "x": 0, "y": 0, "w": 24, "h": 15, "i": "1" }, "panelRefName": "panel_0", "embeddableConfig": {} },
                { "panelIndex": "2", "gridData": { "x": 24, "y": 0, "w": 24, "h": 15, "i": "2" }, "panelRefName": "panel_1", "embeddableConfig": { "title": "Per minute", "hidePanelTitles": true } }
            ]).to_string(),
            "kibanaSavedObjectMeta": { "searchSourceJSON": json!({ "query": { "query": "action:REJECT", "language": "kuery" }, "filter": [] }).to_string() } },
            "references": [ { "name": "panel_0", "type": "visualization", "id": "k-pie" }, { "name": "panel_1", "type": "visualization", "id": "k-line" } ] }),
        json!({ "exportedCount": 4, "missingRefCount": 0, "missingReferences": [] }),
    ];
    lines
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn kibana_objects_import_and_say_what_did_not_map() {
    let server = TestServer::start().await;
    let (status, report) = server
        .post("/api/saved_objects/_import", kibana_export())
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["success"], true, "{report}");
    assert_eq!(report["successCount"], 4);
    let pie_result = report["successResults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "k-pie")
        .unwrap();
    assert!(
        pie_result["warnings"][0]
            .as_str()
            .unwrap()
            .contains("split charts"),
        "{pie_result}"
    );
    let (_, pie) = server.get("/api/saved_objects/visualization/k-pie").await;
    let vis =
        app::model::visualization::Visualization::from_value(pie["attributes"].clone()).unwrap();
    assert_eq!(vis.kind, app::model::visualization::ChartKind::Pie);
    assert_eq!(vis.buckets.len(), 2);
    assert_eq!(vis.buckets[0].agg.field(), Some("action.keyword"));
    assert_eq!(vis.index_pattern, "cwl-*");
    let (_, line) = server.get("/api/saved_objects/visualization/k-line").await;
    let vis =
        app::model::visualization::Visualization::from_value(line["attributes"].clone()).unwrap();
    assert_eq!(
        vis.x_axis(),
        Some(&app::model::visualization::BucketAgg::DateHistogram {
            field: "@timestamp".into(),
            interval: app::model::visualization::Interval::Fixed("1m".into())
        })
    );
    assert!(vis.split_series().is_some());
    let (_, dashboard) = server.get("/api/saved_objects/dashboard/k-dash").await;
    let dashboard =
        app::model::dashboard::Dashboard::from_value(dashboard["attributes"].clone()).unwrap();
    assert_eq!(dashboard.panels.len(), 2);
    assert_eq!(dashboard.panels[1].title.as_deref(), Some("Per minute"));
    // Kibana's "Hide panel title" comes along; the other panel keeps its title.
    assert!(dashboard.panels[1].hide_title);
    assert!(!dashboard.panels[0].hide_title);
    assert_eq!(dashboard.query.text, "action:REJECT");
    assert_eq!(
        dashboard.time,
        Some(app::model::time::TimeRange::last("1h"))
    );

    // Again without overwrite: conflicts, per object.
    let (_, report) = server
        .post("/api/saved_objects/_import", kibana_export())
        .await;
    assert_eq!(report["success"], false);
    assert_eq!(report["errors"][0]["error"]["type"], "conflict");
    // A visualization whose index pattern is nowhere: a missing reference.
    let orphan = kibana_export()
        .lines()
        .nth(1)
        .unwrap()
        .replace("k-pattern", "nowhere")
        .replace("k-pie", "k-orphan");
    let (_, report) = server.post("/api/saved_objects/_import", orphan).await;
    assert_eq!(report["errors"][0]["error"]["type"], "invalid");
    assert!(report["errors"][0]["error"]["reason"]
        .as_str()
        .unwrap()
        .contains("nowhere"));
}

/// A Kibana 7.10 export built on a saved search: the `k-flows` index pattern (cwl-*), the
/// saved search "Rejected SSH" (`action:REJECT` and a `dstport: 22` filter pill), a pie, a
/// line and a metric built on it, and a dashboard of the three plus the search itself, with
/// filters of each kind.
fn kibana_saved_search_export() -> String {
    let index_ref = json!({ "name": "kibanaSavedObjectMeta.searchSourceJSON.index", "type": "index-pattern", "id": "k-flows" });
    let ssh_filter = json!({ "meta": { "alias": null, "negate": false, "disabled": false, "type": "phrase", "key": "dstport",
            "params": { "query": 22 }, "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.filter[0].meta.index" },
        "query": { "match_phrase": { "dstport": 22 } }, "$state": { "store": "appState" } });
    let search_source = json!({ "query": { "query": "action:REJECT", "language": "kuery" }, "highlightAll": true, "version": true,
        "filter": [ssh_filter], "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index" });
    let filter_ref = json!({ "name": "kibanaSavedObjectMeta.searchSourceJSON.filter[0].meta.index", "type": "index-pattern", "id": "k-flows" });
    let count =
        json!({ "id": "1", "enabled": true, "type": "count", "schema": "metric", "params": {} });
    let on_search = |id: &str, title: &str, mut state: Value| {
        state["title"] = json!(title);
        json!({ "id": id, "type": "visualization", "attributes": { "title": title, "visState": state.to_string(),
            "uiStateJSON": "{}", "description": "", "version": 1, "savedSearchRefName": "search_0",
            "kibanaSavedObjectMeta": { "searchSourceJSON": json!({ "query": { "query": "", "language": "kuery" }, "filter": [] }).to_string() } },
            "references": [ { "name": "search_0", "type": "search", "id": "k-search" } ] })
    };
    let panel = |index: u32, x: u32, y: u32| {
        json!({ "version": "7.10.2", "panelIndex": index.to_string(), "embeddableConfig": {},
            "gridData": { "x": x, "y": y, "w": 24, "h": 15, "i": index.to_string() }, "panelRefName": format!("panel_{}", index - 1) })
    };
    let meta = |filter_type: &str, key: &str, params: Value, negate: bool, disabled: bool| {
        json!({ "alias": null, "negate": negate, "disabled": disabled, "type": filter_type, "key": key, "params": params,
            "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.filter[0].meta.index" })
    };
    let dashboard_filters = json!([
        { "meta": meta("phrase", "protocol", json!({ "query": 17 }), true, false), "query": { "match_phrase": { "protocol": 17 } }, "$state": { "store": "appState" } },
        { "meta": meta("phrases", "dstport", json!([22, 3389]), false, false), "query": { "bool": { "minimum_should_match": 1,
            "should": [ { "match_phrase": { "dstport": 22 } }, { "match_phrase": { "dstport": 3389 } } ] } }, "$state": { "store": "appState" } },
        { "meta": meta("range", "bytes", json!({ "gte": 100, "lt": 100000 }), false, false), "range": { "bytes": { "gte": 100, "lt": 100000 } }, "$state": { "store": "appState" } },
        { "meta": meta("exists", "vpc_id", json!(null), false, true), "exists": { "field": "vpc_id" }, "$state": { "store": "appState" } },
    ]);
    let lines = [
        json!({ "id": "k-flows", "type": "index-pattern", "attributes": { "title": "cwl-*", "timeFieldName": "@timestamp", "fields": "[]" }, "references": [] }),
        json!({ "id": "k-search", "type": "search", "attributes": { "title": "Rejected SSH", "description": "", "hits": 0,
            "columns": ["srcaddr", "dstport"], "sort": [["@timestamp", "desc"]], "version": 1,
            "kibanaSavedObjectMeta": { "searchSourceJSON": search_source.to_string() } },
            "references": [index_ref, filter_ref] }),
        on_search(
            "k-ss-pie",
            "Rejected SSH by source",
            json!({ "type": "pie", "params": { "isDonut": false, "legendPosition": "right" }, "aggs": [count,
                { "id": "2", "enabled": true, "type": "terms", "schema": "segment", "params": { "field": "srcaddr", "size": 10, "order": "desc", "orderBy": "1" } } ] }),
        ),
        on_search(
            "k-ss-line",
            "Rejected SSH over time",
            json!({ "type": "line", "params": {}, "aggs": [count,
                { "id": "2", "enabled": true, "type": "date_histogram", "schema": "segment", "params": { "field": "@timestamp", "interval": "auto" } } ] }),
        ),
        on_search(
            "k-ss-metric",
            "Rejected SSH count",
            json!({ "type": "metric", "params": {}, "aggs": [count] }),
        ),
        json!({ "id": "k-ss-dash", "type": "dashboard", "attributes": { "title": "SSH", "timeRestore": false,
            "panelsJSON": json!([panel(1, 0, 0), panel(2, 24, 0), panel(3, 0, 15), panel(4, 24, 15)]).to_string(),
            "kibanaSavedObjectMeta": { "searchSourceJSON": json!({ "query": { "query": "", "language": "kuery" }, "filter": dashboard_filters }).to_string() } },
            "references": [ { "name": "panel_0", "type": "visualization", "id": "k-ss-pie" }, { "name": "panel_1", "type": "visualization", "id": "k-ss-line" },
                { "name": "panel_2", "type": "visualization", "id": "k-ss-metric" }, { "name": "panel_3", "type": "search", "id": "k-search" } ] }),
        json!({ "exportedCount": 6, "missingRefCount": 0, "missingReferences": [] }),
    ];
    lines
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Flows of the last ten minutes: three REJECTed to port 22 (from 10.0.0.1), and others that
/// the saved search "Rejected SSH" leaves out (REJECT to 3389, ACCEPT to 22, from 10.9.9.x).
async fn ingest_ssh_flows(server: &TestServer) {
    let now = chrono::Utc::now().timestamp();
    let flows = [
        ("10.0.0.1", 22, "REJECT", 3),
        ("10.9.9.1", 3389, "REJECT", 2),
        ("10.9.9.2", 22, "ACCEPT", 4),
        ("10.9.9.3", 443, "ACCEPT", 1),
    ];
    // Source ports differ: the same line twice is one flow.
    let lines: String = flows
        .iter()
        .flat_map(|&(source, port, action, count)| {
            std::iter::repeat_n((source, port, action), count)
        })
        .enumerate()
        .map(|(n, (source, port, action))| {
            let start = now - 600 + n as i64;
            format!(
                "2 123456789012 eni-1 {source} 10.0.1.1 {} {port} 6 5 500 {start} {} {action} OK\n",
                40000 + n,
                start + 60
            )
        })
        .collect();
    let (status, report) = server.post("/api/ingest", lines).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["accepted"], 10, "{report}");
}

/// How many flows of the last hour a KQL query matches, as the engine counts them.
async fn count_matching(server: &TestServer, kql: &str) -> u64 {
    let query = app::model::kql::to_dsl(kql).unwrap();
    let body = json!({ "size": 0, "track_total_hits": true, "query": { "bool": { "filter": [
        query, { "range": { "@timestamp": { "gte": "now-1h" } } } ] } } });
    let (status, response) = server
        .post_json("/api/search", &json!({ "index": "cwl-*", "body": body }))
        .await;
    assert_eq!(status, 200, "{kql}: {response}");
    response["hits"]["total"]["value"].as_u64().unwrap()
}

#[tokio::test]
async fn ports_and_protocols_by_name_find_the_flows_their_numbers_do() {
    let server = TestServer::start().await;
    ingest_ssh_flows(&server).await;
    // From the records: 7 flows to 22, 2 to 3389, 1 to 443, all 10 over TCP.
    for (by_name, by_number, records) in [
        ("dstport:ssh", "dstport:22", 7),
        ("dstport:rdp", "dstport:3389", 2),
        ("dstport:(ssh or rdp)", "dstport:(22 or 3389)", 9),
        (
            "action:ACCEPT and dstport:https",
            "action:ACCEPT and dstport:443",
            1,
        ),
        ("protocol:tcp", "protocol:6", 10),
        ("protocol:udp", "protocol:17", 0),
    ] {
        assert_eq!(count_matching(&server, by_name).await, records, "{by_name}");
        assert_eq!(
            count_matching(&server, by_number).await,
            records,
            "{by_number}"
        );
    }
}

#[tokio::test]
async fn kibana_markdown_visualizations_become_text_panels() {
    let server = TestServer::start().await;
    let state = json!({ "title": "Runbook", "type": "markdown",
        "params": { "markdown": "## On call\n\nRejects on **22** are scanners.", "fontSize": 12 }, "aggs": [] });
    let note = json!({ "type": "visualization", "id": "k-note", "references": [],
        "attributes": { "title": "Runbook", "visState": state.to_string(), "uiStateJSON": "{}",
            "kibanaSavedObjectMeta": { "searchSourceJSON": "{}" } } });
    let panels = json!([
        { "panelIndex": "1", "gridData": { "x": 0, "y": 0, "w": 24, "h": 8, "i": "1" }, "panelRefName": "panel_0" },
        { "panelIndex": "2", "gridData": { "x": 24, "y": 0, "w": 24, "h": 8, "i": "2" }, "panelRefName": "panel_1",
          "embeddableConfig": { "title": "Read me" } }
    ]);
    let dashboard = json!({ "type": "dashboard", "id": "k-notes", "attributes": { "title": "Notes",
            "panelsJSON": panels.to_string(), "optionsJSON": "{}", "timeRestore": false,
            "kibanaSavedObjectMeta": { "searchSourceJSON": "{}" } },
        "references": [
            { "name": "panel_0", "type": "visualization", "id": "k-note" },
            { "name": "panel_1", "type": "visualization", "id": "k-note" }
        ] });
    let (status, report) = server
        .post("/api/saved_objects/_import", format!("{note}\n{dashboard}"))
        .await;
    assert_eq!(status, 200, "{report}");
    // The dashboard imports with its notes; the markdown object says where its text went.
    assert_eq!(report["successCount"], 1, "{report}");
    assert_eq!(report["errors"][0]["id"], "k-note", "{report}");
    assert!(report["errors"][0]["error"]["reason"]
        .as_str()
        .unwrap()
        .contains("text panel"));
    let (status, stored) = server.get("/api/saved_objects/dashboard/k-notes").await;
    assert_eq!(status, 200, "{stored}");
    let panels = &stored["attributes"]["panels"];
    assert_eq!(
        panels[0]["markdown"], "## On call\n\nRejects on **22** are scanners.",
        "{stored}"
    );
    assert_eq!(panels[0]["title"], "Runbook", "{stored}");
    assert_eq!(panels[1]["title"], "Read me", "{stored}");
    assert!(
        stored["references"].as_array().unwrap().is_empty(),
        "{stored}"
    );
}

/// Kibana's input controls become a controls panel: lists with their size and
/// multiselect, ranges, labels, and the index pattern by reference; a control that cannot
/// be shown is named in a warning and the rest import.
#[tokio::test]
async fn kibana_input_controls_become_a_controls_panel() {
    let server = TestServer::start().await;
    let pattern = json!({ "type": "index-pattern", "id": "k-flows", "references": [],
        "attributes": { "title": "cwl-*", "timeFieldName": "@timestamp" } });
    let state = json!({ "title": "Filters", "type": "input_control_vis", "aggs": [],
        "params": { "updateFiltersOnChange": false, "useTimeFilter": false, "pinFilters": false,
            "controls": [
                { "id": "1", "fieldName": "action", "label": "Action", "type": "list", "parent": "",
                  "indexPatternRefName": "control_0_index_pattern",
                  "options": { "type": "terms", "multiselect": false, "dynamicOptions": true, "size": 7, "order": "desc" } },
                { "id": "2", "fieldName": "bytes", "label": "", "type": "range", "parent": "",
                  "indexPatternRefName": "control_1_index_pattern",
                  "options": { "decimalPlaces": 0, "step": 1 } },
                { "id": "3", "fieldName": "", "label": "Nothing", "type": "list",
                  "indexPatternRefName": "control_2_index_pattern", "options": {} }
            ] } });
    let controls = json!({ "type": "visualization", "id": "k-controls",
        "references": [
            { "name": "control_0_index_pattern", "type": "index-pattern", "id": "k-flows" },
            { "name": "control_1_index_pattern", "type": "index-pattern", "id": "k-flows" },
            { "name": "control_2_index_pattern", "type": "index-pattern", "id": "k-flows" }
        ],
        "attributes": { "title": "Filters", "visState": state.to_string(), "uiStateJSON": "{}",
            "kibanaSavedObjectMeta": { "searchSourceJSON": "{}" } } });
    let panels = json!([
        { "panelIndex": "1", "gridData": { "x": 0, "y": 0, "w": 48, "h": 5, "i": "1" }, "panelRefName": "panel_0" }
    ]);
    let dashboard = json!({ "type": "dashboard", "id": "k-controls-board", "attributes": { "title": "With controls",
            "panelsJSON": panels.to_string(), "optionsJSON": "{}", "timeRestore": false,
            "kibanaSavedObjectMeta": { "searchSourceJSON": "{}" } },
        "references": [{ "name": "panel_0", "type": "visualization", "id": "k-controls" }] });
    let (status, report) = server
        .post(
            "/api/saved_objects/_import",
            format!("{pattern}\n{controls}\n{dashboard}"),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        report["successCount"], 2,
        "the pattern and the dashboard: {report}"
    );
    assert!(report["errors"][0]["error"]["reason"]
        .as_str()
        .unwrap()
        .contains("controls panel"));
    let warnings = report["successResults"].to_string();
    assert!(
        warnings.contains("panel 1: control 3 was left out: it names no field"),
        "{report}"
    );
    let (status, stored) = server
        .get("/api/saved_objects/dashboard/k-controls-board")
        .await;
    assert_eq!(status, 200, "{stored}");
    let panel = &stored["attributes"]["panels"][0];
    assert_eq!(panel["title"], "Filters", "{stored}");
    assert_eq!(
        panel["controls"],
        json!([
            { "label": "Action", "index_pattern": "cwl-*", "field": "action",
              "kind": { "options": { "size": 7, "multiselect": false } } },
            { "label": "", "index_pattern": "cwl-*", "field": "bytes", "kind": "range" }
        ]),
        "{stored}"
    );
    assert!(
        warnings.contains("here they follow the dashboard's time range"),
        "Kibana's useTimeFilter: false is said: {report}"
    );

    // Exported without its index pattern: one stored already is found; one in neither the
    // import nor the store leaves its control out, with a warning.
    let state = json!({ "title": "Later", "type": "input_control_vis", "aggs": [],
        "params": { "useTimeFilter": true, "controls": [
            { "id": "1", "fieldName": "srcaddr", "label": "Source", "type": "list",
              "indexPatternRefName": "control_0_index_pattern", "options": { "size": 3 } },
            { "id": "2", "fieldName": "dstaddr", "label": "Gone", "type": "list",
              "indexPatternRefName": "control_1_index_pattern", "options": {} }
        ] } });
    let later = json!({ "type": "visualization", "id": "k-controls-later",
        "references": [
            { "name": "control_0_index_pattern", "type": "index-pattern", "id": "k-flows" },
            { "name": "control_1_index_pattern", "type": "index-pattern", "id": "k-gone" }
        ],
        "attributes": { "title": "Later", "visState": state.to_string(),
            "kibanaSavedObjectMeta": { "searchSourceJSON": "{}" } } });
    let board = json!({ "type": "dashboard", "id": "k-controls-later-board", "attributes": { "title": "Later",
            "panelsJSON": panels.to_string(), "kibanaSavedObjectMeta": { "searchSourceJSON": "{}" } },
        "references": [{ "name": "panel_0", "type": "visualization", "id": "k-controls-later" }] });
    let (status, report) = server
        .post("/api/saved_objects/_import", format!("{later}\n{board}"))
        .await;
    assert_eq!(status, 200, "{report}");
    let warnings = report["successResults"].to_string();
    assert!(
        warnings.contains("control 2 was left out: it references index pattern [k-gone]"),
        "{report}"
    );
    assert!(
        !warnings.contains("all time"),
        "useTimeFilter: true: {report}"
    );
    let (_, stored) = server
        .get("/api/saved_objects/dashboard/k-controls-later-board")
        .await;
    assert_eq!(
        stored["attributes"]["panels"][0]["controls"],
        json!([{ "label": "Source", "index_pattern": "cwl-*", "field": "srcaddr",
            "kind": { "options": { "size": 3, "multiselect": true } } }]),
        "{stored}"
    );
}

#[tokio::test]
async fn kibana_saved_queries_import_and_flowdash_ones_round_trip() {
    let server = TestServer::start().await;
    // Kibana 7's `query` object: its query, its filters (one negated), a stored time range.
    let kibana = json!({ "type": "query", "id": "k-query", "references": [],
        "attributes": { "title": "SSH rejects", "description": "scanners",
            "query": { "query": "dstport:22", "language": "kuery" },
            "filters": [{ "meta": { "key": "action", "negate": true, "type": "phrase", "params": { "query": "ACCEPT" } },
                "query": { "match_phrase": { "action": "ACCEPT" } } }],
            "timefilter": { "from": "now-15m", "to": "now" } } });
    let (status, report) = server
        .post("/api/saved_objects/_import", kibana.to_string())
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["successCount"], 1, "{report}");
    let warnings = report["successResults"][0]["warnings"].to_string();
    assert!(warnings.contains("time range was left out"), "{report}");
    let (status, stored) = server.get("/api/saved_objects/query/k-query").await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["attributes"]["query"]["text"], "dstport:22");
    assert_eq!(stored["attributes"]["filters"][0]["negate"], true);
    assert_eq!(stored["attributes"]["filters"][0]["value"], "ACCEPT");

    // A flowdash saved query is checked when written, and listed by type.
    let (status, answer) = server
        .post_json(
            "/api/saved_objects/query",
            &json!({ "attributes": { "title": "empty" } }),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer.to_string().contains("needs a query or a filter"),
        "{answer}"
    );
    let (status, found) = server.get("/api/saved_objects/_find?type=query").await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["total"], 1, "{found}");
}

#[tokio::test]
async fn kibana_saved_searches_and_the_visualizations_built_on_them_import() {
    use app::model::filter::{Filter, FilterKind, QueryText};
    use app::model::search::{SavedSearch, SortField};
    use app::model::visualization::Visualization;
    let server = TestServer::start().await;
    ingest_ssh_flows(&server).await;
    let both = format!("{}\n{}", kibana_export(), kibana_saved_search_export());
    let (status, report) = server.post("/api/saved_objects/_import", both).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["success"], true, "{report}");
    assert_eq!(report["successCount"], 10, "{report}");
    let results = report["successResults"].as_array().unwrap();
    let result = |id: &str| {
        results
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("no report of {id}: {report}"))
    };
    for id in [
        "k-pattern",
        "k-pie",
        "k-line",
        "k-dash",
        "k-flows",
        "k-search",
        "k-ss-pie",
        "k-ss-line",
        "k-ss-metric",
        "k-ss-dash",
    ] {
        assert_eq!(result(id)["destinationId"], id);
    }
    for id in ["k-search", "k-ss-pie", "k-ss-line", "k-ss-metric"] {
        assert!(result(id).get("warnings").is_none(), "{id}: {report}");
    }
    assert!(result("k-ss-dash").get("warnings").is_none(), "{report}");

    // The saved search, as flowdash keeps it.
    let (status, stored) = server.get("/api/saved_objects/search/k-search").await;
    assert_eq!(status, 200, "{stored}");
    let ssh_filter = Filter::phrase("dstport", json!(22));
    assert_eq!(
        SavedSearch::from_value(stored["attributes"].clone()).unwrap(),
        SavedSearch {
            title: "Rejected SSH".into(),
            description: String::new(),
            index_pattern: "cwl-*".into(),
            query: QueryText::kql("action:REJECT"),
            filters: vec![ssh_filter.clone()],
            columns: vec!["srcaddr".into(), "dstport".into()],
            sort: vec![SortField::desc("@timestamp")],
        }
    );
    assert_eq!(
        stored["references"],
        json!([{ "name": "index_pattern", "type": "index-pattern", "id": "k-flows" }])
    );

    // Each visualization is built on the saved search: it searches the search's index
    // pattern and keeps only its own (empty) query and filters, linked by id.
    for id in ["k-ss-pie", "k-ss-line", "k-ss-metric"] {
        let (_, stored) = server
            .get(&format!("/api/saved_objects/visualization/{id}"))
            .await;
        let vis = Visualization::from_value(stored["attributes"].clone()).unwrap();
        assert_eq!(vis.index_pattern, "cwl-*", "{id}");
        assert_eq!(vis.saved_search.as_deref(), Some("k-search"), "{id}");
        assert_eq!(vis.query, QueryText::default(), "{id}");
        assert!(vis.filters.is_empty(), "{id}");
        assert_eq!(
            stored["references"],
            json!([{ "name": "index_pattern", "type": "index-pattern", "id": "k-flows" },
                   { "name": "search_0", "type": "search", "id": "k-search" }])
        );
    }

    // The dashboard: three panels, and its filters with their negate and disabled.
    let (_, stored) = server.get("/api/saved_objects/dashboard/k-ss-dash").await;
    let dashboard =
        app::model::dashboard::Dashboard::from_value(stored["attributes"].clone()).unwrap();
    // Three visualizations and the saved search's flow table.
    assert_eq!(dashboard.panels.len(), 4);
    assert_eq!(
        dashboard.panels[3].source,
        app::model::dashboard::PanelSource::Search("k-search".into())
    );
    assert!(stored["references"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["type"] == "search" && r["id"] == "k-search"));
    let filter = |field: &str, kind: FilterKind, negate: bool, disabled: bool| Filter {
        field: field.into(),
        kind,
        negate,
        disabled,
        pinned: false,
    };
    assert_eq!(
        dashboard.filters,
        [
            filter(
                "protocol",
                FilterKind::Phrase { value: json!(17) },
                true,
                false
            ),
            filter(
                "dstport",
                FilterKind::Phrases {
                    values: vec![json!(22), json!(3389)]
                },
                false,
                false
            ),
            filter(
                "bytes",
                FilterKind::Range {
                    from: Some(json!(100)),
                    to: Some(json!(100000)),
                    to_inclusive: false,
                },
                false,
                false
            ),
            filter("vpc_id", FilterKind::Exists, false, true),
        ]
    );

    // Drawn by the server, the visualizations count only REJECTed flows to port 22.
    let (_, stored) = server
        .get("/api/saved_objects/visualization/k-ss-metric")
        .await;
    let metric = Visualization::from_value(stored["attributes"].clone()).unwrap();
    let inputs = view_inputs(
        &app::model::time::TimeRange::last("1h"),
        chrono::Utc::now().timestamp_millis(),
        None,
    );
    let data = crate::visualizations::chart_data(&server.state, &metric, &inputs).await;
    let Ok(app::result::ChartData::Metric(count)) = data else {
        panic!("no metric: {data:?}");
    };
    assert_eq!(count.values[0].value, Some(3.0));
    // Editing the search changes the chart: without its port filter, every REJECT counts.
    let (_, search) = server.get("/api/saved_objects/search/k-search").await;
    let mut attributes = search["attributes"].clone();
    attributes["filters"] = json!([]);
    let response = server
        .client
        .put(server.url("/api/saved_objects/search/k-search"))
        .json(&json!({ "attributes": attributes, "version": search["version"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let data = crate::visualizations::chart_data(&server.state, &metric, &inputs).await;
    let Ok(app::result::ChartData::Metric(count)) = data else {
        panic!("no metric: {data:?}");
    };
    assert_eq!(
        count.values[0].value,
        Some(5.0),
        "3 REJECTed to port 22 and 2 to 3389"
    );
    let response = server
        .client
        .put(server.url("/api/saved_objects/search/k-search"))
        .json(&json!({ "attributes": search["attributes"], "version": search["version"].as_u64().unwrap() + 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let svg = server
        .get_body_text("/api/visualizations/k-ss-pie/render.svg?from=now-1h")
        .await;
    assert!(
        svg.contains("10.0.0.1"),
        "the REJECTed source is drawn: {svg}"
    );
    assert!(
        !svg.contains("10.9.9."),
        "only REJECTed flows to port 22: {svg}"
    );

    // flowdash's own saved search (as exported) imports unchanged.
    let exported = server
        .client
        .post(server.url("/api/saved_objects/_export"))
        .json(&json!({ "objects": [ { "type": "search", "id": "k-search" } ] }))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (_, report) = server
        .post("/api/saved_objects/_import?createNewCopies=true", exported)
        .await;
    assert_eq!(report["successCount"], 1, "{report}");
    let copy_id = report["successResults"][0]["destinationId"]
        .as_str()
        .unwrap();
    let (_, copy) = server
        .get(&format!("/api/saved_objects/search/{copy_id}"))
        .await;
    let (_, original) = server.get("/api/saved_objects/search/k-search").await;
    assert_eq!(copy["attributes"], original["attributes"]);

    // A visualization built on a stored saved search takes it from the store; one whose
    // search is nowhere fails alone, saying which.
    let pie = kibana_saved_search_export()
        .lines()
        .nth(2)
        .unwrap()
        .replace("k-ss-pie", "k-ss-pie-again");
    let missing = pie
        .replace("k-ss-pie-again", "k-ss-orphan")
        .replace("k-search", "k-missing");
    let (_, report) = server
        .post("/api/saved_objects/_import", format!("{pie}\n{missing}"))
        .await;
    assert_eq!(report["successCount"], 1, "{report}");
    assert_eq!(report["successResults"][0]["id"], "k-ss-pie-again");
    assert_eq!(report["errors"][0]["id"], "k-ss-orphan");
    let reason = report["errors"][0]["error"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("saved search [k-missing]")
            && reason.contains("neither imported nor stored"),
        "{reason}"
    );
}

#[tokio::test]
async fn export_takes_references_along_and_new_copies_reimport() {
    let server = TestServer::start().await;
    server
        .post("/api/saved_objects/_import", kibana_export())
        .await;
    let (status, ndjson) = {
        let response = server
            .client
            .post(server.url("/api/saved_objects/_export"))
            .json(&json!({ "objects": [ { "type": "dashboard", "id": "k-dash" } ], "includeReferencesDeep": true }))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    };
    assert_eq!(status, 200);
    let lines: Vec<Value> = ndjson
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.len(),
        5,
        "dashboard, two visualizations, the index pattern, the summary"
    );
    assert_eq!(lines[4]["exportedCount"], 4);
    let (_, report) = server
        .post(
            "/api/saved_objects/_import?createNewCopies=true",
            ndjson.clone(),
        )
        .await;
    assert_eq!(report["successCount"], 4, "{report}");
    let new_dash = report["successResults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "dashboard")
        .unwrap();
    let new_id = new_dash["destinationId"].as_str().unwrap();
    assert_ne!(new_id, "k-dash");
    let (_, copy) = server
        .get(&format!("/api/saved_objects/dashboard/{new_id}"))
        .await;
    let panel_vis = copy["attributes"]["panels"][0]["visualization_id"]
        .as_str()
        .unwrap();
    assert_ne!(
        panel_vis, "k-pie",
        "panels point at the copied visualizations"
    );
    let (status, _) = server
        .get(&format!("/api/saved_objects/visualization/{panel_vis}"))
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn visualizations_render_as_svg_and_png() {
    let server = TestServer::start().await;
    let now = chrono::Utc::now().timestamp();
    let lines: String = (0..40)
        .map(|i| {
            format!(
                "2 123456789012 eni-1 10.0.0.{} 10.0.1.1 4000{} {} 6 5 500 {} {} {} OK\n",
                i % 9,
                i % 10,
                if i % 4 == 0 { 22 } else { 443 },
                now - 600 + i,
                now - 540 + i,
                if i % 4 == 0 { "REJECT" } else { "ACCEPT" }
            )
        })
        .collect();
    server.post("/api/ingest", lines).await;
    let (_, created) = server
        .post_json(
            "/api/saved_objects/visualization/seed-pie",
            &json!({ "attributes": vis_json() }),
        )
        .await;
    assert_eq!(created["id"], "seed-pie");
    let svg = server
        .client
        .get(server.url("/api/visualizations/seed-pie/render.svg?from=now-1h&width=600&height=300"))
        .send()
        .await
        .unwrap();
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    let svg = svg.text().await.unwrap();
    assert!(
        svg.contains("ACCEPT") && svg.contains("REJECT") && svg.contains("dstport"),
        "legend in the SVG"
    );
    let png = server
        .client
        .get(server.url("/api/visualizations/seed-pie/render.png?from=now-1h&width=600&height=300"))
        .send()
        .await
        .unwrap();
    assert_eq!(png.headers()["content-type"], "image/png");
    let bytes = png.bytes().await.unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes.to_vec()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((info.width, info.height), (600, 300));
    let red = pixels
        .chunks(3)
        .filter(|p| p[0] > 200 && p[1] < 130 && p[2] < 110)
        .count();
    let green = pixels
        .chunks(3)
        .filter(|p| p[0] < 120 && p[1] > 150 && p[2] > 120)
        .count();
    assert!(
        red > 500 && green > 1500,
        "the REJECT and ACCEPT slices are drawn: red {red}, green {green}"
    );
    // The dashboard's query and filters, as its address writes them, narrow the image.
    let narrowed = |query: &str| {
        let url = server.url(&format!(
            "/api/visualizations/seed-pie/render.svg?from=now-1h&{query}"
        ));
        let client = server.client.clone();
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let rejected = narrowed("q=action%3AREJECT").await;
    assert!(
        rejected.contains("REJECT") && !rejected.contains("ACCEPT"),
        "{rejected}"
    );
    let filters = serde_json::to_string(&[app::model::filter::Filter::phrase(
        "action",
        json!("ACCEPT"),
    )])
    .unwrap();
    let accepted = narrowed(&format!("filters={}", app::api::encode(&filters))).await;
    assert!(
        accepted.contains("ACCEPT") && !accepted.contains("REJECT"),
        "{accepted}"
    );
    let (status, _) = server
        .get("/api/visualizations/seed-pie/render.png?width=100000")
        .await;
    assert_eq!(status, 400);
    let (status, _) = server.get("/api/visualizations/nope/render.svg").await;
    assert_eq!(status, 404);
}

/// Significant terms, address ranges and prefixes, and date ranges, drawn through the
/// browser's request builder and response reader as table rows, against the flows themselves.
#[tokio::test]
async fn significant_terms_address_ranges_and_prefixes_and_date_ranges_draw_as_rows() {
    use app::model::visualization::*;
    use app::result::ChartData;
    let (server, now, docs) = server_with_recent_flows(12).await;
    // Every record's time (NODATA records have no action or address).
    let times: Vec<i64> = docs.iter().map(|doc| doc.timestamp_ms).collect();
    let flows: Vec<(String, std::net::IpAddr, i64)> = docs
        .iter()
        .filter_map(|doc| match (doc.get("action"), doc.get("srcaddr")) {
            (
                Some(crate::ingest::DocValue::Str(action)),
                Some(crate::ingest::DocValue::Ip(src)),
            ) => Some((action.to_string(), *src, doc.timestamp_ms)),
            _ => None,
        })
        .collect();
    let inputs = view_inputs(&app::model::time::TimeRange::last("3h"), now, None);
    let rows = |query: &str, agg: BucketAgg| {
        let mut vis = Visualization::example_action_port_pie();
        vis.kind = ChartKind::Table;
        vis.metrics = vec![Metric::Count.into()];
        vis.query = app::model::filter::QueryText::kql(query);
        vis.buckets = vec![Bucket {
            role: BucketRole::Rows,
            agg,
        }];
        vis.validate().unwrap();
        let state = server.state.clone();
        let inputs = inputs.clone();
        async move {
            match crate::visualizations::chart_data(&state, &vis, &inputs).await {
                Ok(ChartData::Table(table)) => table,
                other => panic!("not a table: {other:?}"),
            }
        }
    };

    // Private blocks: a row per block, counted from the flows' sources.
    let blocks = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];
    let table = rows(
        "",
        BucketAgg::IpRange {
            field: "srcaddr".into(),
            ranges: blocks
                .iter()
                .map(|b| IpRangeSpec::Mask((*b).into()))
                .collect(),
        },
    )
    .await;
    let within = |block: &str, ip: &std::net::IpAddr| {
        let (base, bits) = block.split_once('/').unwrap();
        let (base, bits): (std::net::Ipv4Addr, u32) =
            (base.parse().unwrap(), bits.parse().unwrap());
        match ip {
            std::net::IpAddr::V4(v4) => (u32::from(*v4) ^ u32::from(base)) >> (32 - bits) == 0,
            _ => false,
        }
    };
    let got: Vec<(String, u64)> = table
        .rows
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_owned(),
                r[1].as_f64().unwrap() as u64,
            )
        })
        .collect();
    let expected: Vec<(String, u64)> = blocks
        .iter()
        .map(|b| {
            (
                b.to_string(),
                flows.iter().filter(|f| within(b, &f.1)).count() as u64,
            )
        })
        .collect();
    assert_eq!(got, expected, "{table:?}");
    assert!(expected[0].1 > 0);

    // The three busiest /24 networks of the sources, each counted from the flows, and a
    // click on one filters by its block.
    let table = rows(
        "",
        BucketAgg::IpPrefix {
            field: "srcaddr".into(),
            prefix_length: 24,
            ipv6: false,
            size: 3,
        },
    )
    .await;
    let mut per_network: std::collections::BTreeMap<String, u64> = Default::default();
    for (_, source, _) in &flows {
        if let std::net::IpAddr::V4(v4) = source {
            let network = std::net::Ipv4Addr::from(u32::from(*v4) & 0xffff_ff00);
            *per_network.entry(format!("{network}/24")).or_default() += 1;
        }
    }
    let mut busiest: Vec<u64> = per_network.values().copied().collect();
    busiest.sort_unstable_by(|a, b| b.cmp(a));
    assert!(per_network.len() > 3, "{per_network:?}");
    let got: Vec<(String, u64)> = table
        .rows
        .iter()
        .map(|r| {
            let block = r[0].as_str().unwrap().to_owned();
            (block, r[1].as_f64().unwrap() as u64)
        })
        .collect();
    assert_eq!(
        got.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
        busiest[..3],
        "{got:?}"
    );
    for (block, count) in &got {
        assert_eq!(per_network.get(block), Some(count), "{block}");
    }
    assert_eq!(
        table.cell_filters[0][0],
        Some(app::model::filter::Filter::phrase(
            "srcaddr",
            json!(got[0].0)
        ))
    );
    // Networks of IPv4 sources only: the IPv6 ones, masked as IPv4, would make 0.0.0.0/24
    // networks no IPv4 flow is in.
    assert!(
        flows.iter().any(|f| f.1.is_ipv6()),
        "IPv6 sources to leave out"
    );
    let every = rows(
        "",
        BucketAgg::IpPrefix {
            field: "srcaddr".into(),
            prefix_length: 24,
            ipv6: false,
            size: 500,
        },
    )
    .await;
    let strays: Vec<&Value> = every
        .rows
        .iter()
        .map(|r| &r[0])
        .filter(|block| !per_network.contains_key(block.as_str().unwrap()))
        .collect();
    assert!(
        strays.is_empty(),
        "networks no IPv4 source is in: {strays:?}"
    );

    // The last hour and before it: a row each, split at the same moment as the flows.
    let table = rows(
        "",
        BucketAgg::DateRange {
            field: "@timestamp".into(),
            ranges: vec![
                DateRangeSpec::parse("..now-1h").unwrap(),
                DateRangeSpec::parse("now-1h..").unwrap(),
            ],
        },
    )
    .await;
    let counts: Vec<u64> = table
        .rows
        .iter()
        .map(|r| r[1].as_f64().unwrap() as u64)
        .collect();
    assert_eq!(counts.len(), 2, "{table:?}");
    assert_eq!(counts.iter().sum::<u64>(), times.len() as u64);
    let split = now - 3_600_000;
    let older = times.iter().filter(|t| **t < split).count() as u64;
    // `now` is read by the server a moment after the test read it.
    assert!(
        counts[0] >= older && counts[0] - older <= 5,
        "{counts:?} {older}"
    );

    // Among rejected flows, the sources that stand out: each one rejected more often than
    // flows are overall.
    let table = rows(
        "action:REJECT",
        BucketAgg::SignificantTerms {
            field: "srcaddr".into(),
            size: 5,
        },
    )
    .await;
    assert!(!table.rows.is_empty(), "{table:?}");
    let rejected = flows.iter().filter(|f| f.0 == "REJECT").count() as f64;
    for row in &table.rows {
        let source: std::net::IpAddr = row[0].as_str().unwrap().parse().unwrap();
        let of_source = flows.iter().filter(|f| f.1 == source).count() as f64;
        let rejected_of_source = flows
            .iter()
            .filter(|f| f.1 == source && f.0 == "REJECT")
            .count() as f64;
        assert_eq!(row[1].as_f64().unwrap(), rejected_of_source, "{row:?}");
        assert!(
            rejected_of_source / rejected > of_source / flows.len() as f64,
            "{source} stands out"
        );
    }
}

/// Parent pipelines over time (cumulative sum, derivative, moving average, serial
/// difference), drawn through the browser's request builder and response reader, against
/// the per-minute counts the same chart draws without one.
#[tokio::test]
async fn pipelines_over_time_follow_the_plain_series() {
    use app::model::visualization::*;
    use app::result::ChartData;
    let server = TestServer::start().await;
    let now = chrono::Utc::now().timestamp_millis();
    ingest_demo(
        &server,
        crate::ingest::demo::DemoConfig {
            flows: 2000,
            hours: 1,
            end_ms: now,
            seed: 13,
        },
    )
    .await;
    let inputs = view_inputs(&app::model::time::TimeRange::last("1h"), now, None);
    let series = |pipeline: Option<ParentPipeline>| {
        let mut vis = Visualization::example_action_port_pie();
        vis.kind = ChartKind::Line;
        vis.metrics = vec![Metric::Count.into()];
        vis.buckets = vec![Bucket {
            role: BucketRole::XAxis,
            agg: BucketAgg::DateHistogram {
                field: "@timestamp".into(),
                interval: Interval::Fixed("5m".into()),
            },
        }];
        vis.options.drop_partial_buckets = false;
        vis.metrics[0].pipeline = pipeline;
        vis.validate().unwrap();
        let state = server.state.clone();
        let inputs = inputs.clone();
        async move {
            match crate::visualizations::chart_data(&state, &vis, &inputs).await {
                Ok(ChartData::Xy(xy)) => (xy.series[0].points.clone(), xy.metric_label),
                other => panic!("not a line: {other:?}"),
            }
        }
    };
    let (plain, _) = series(None).await;
    let counts: Vec<f64> = plain.iter().map(|p| p.1).collect();
    assert!(counts.len() >= 12, "{counts:?}");
    // Most of the hour's flows (a few start just before it).
    assert!(counts.iter().sum::<f64>() > 1900.0, "{counts:?}");

    let (total, label) = series(Some(ParentPipeline::CumulativeSum)).await;
    assert_eq!(label, "Cumulative sum of Count");
    let running: Vec<f64> = counts
        .iter()
        .scan(0.0, |sum, c| {
            *sum += c;
            Some(*sum)
        })
        .collect();
    assert_eq!(total.iter().map(|p| p.1).collect::<Vec<_>>(), running);

    // The first bucket has no change: it is a gap, not a zero.
    let (change, _) = series(Some(ParentPipeline::Derivative)).await;
    assert_eq!(change.len(), counts.len() - 1);
    for (point, pair) in change.iter().zip(counts.windows(2)) {
        assert_eq!(point.1, pair[1] - pair[0]);
    }
    let (difference, _) = series(Some(ParentPipeline::SerialDiff { lag: 2 })).await;
    assert_eq!(difference.len(), counts.len() - 2);
    assert_eq!(difference[0].1, counts[2] - counts[0]);

    // A moving average of the three buckets before each one (the bucket itself is not in
    // its window, as Elasticsearch's moving_fn has it).
    let (average, _) = series(Some(ParentPipeline::MovingAverage { window: 3 })).await;
    let at = 5;
    let expected = counts[at - 3..at].iter().sum::<f64>() / 3.0;
    let x = plain[at].0;
    let point = average.iter().find(|p| p.0 == x).unwrap();
    assert!((point.1 - expected).abs() < 1e-9, "{point:?} {expected}");
}

/// Kibana's top hit: a field's values in the first flows by a sort, combined, drawn through
/// the browser's request builder and response reader, against the flows themselves.
#[tokio::test]
async fn top_hits_match_the_flows() {
    use crate::ingest::DocValue;
    use app::model::visualization::*;
    use app::result::ChartData;
    let (server, now, docs) = server_with_recent_flows(12).await;
    let inputs = view_inputs(&app::model::time::TimeRange::last("3h"), now, None);
    let top = |field: &str, size: u32, sort_field: &str, combine| Metric::TopHit {
        field: field.into(),
        size,
        sort_field: sort_field.into(),
        descending: true,
        combine,
    };
    let bytes_of = |doc: &crate::ingest::document::FlowDoc| match doc.get("bytes") {
        Some(DocValue::Int(bytes)) => *bytes,
        other => panic!("bytes {other:?}"),
    };
    // Per action, the three largest flows' bytes, by each way of combining them.
    let mut largest: std::collections::BTreeMap<String, Vec<i64>> = Default::default();
    for doc in &docs {
        // Records of no traffic (NODATA) have no action.
        let Some(DocValue::Str(action)) = doc.get("action") else {
            continue;
        };
        largest
            .entry(action.to_string())
            .or_default()
            .push(bytes_of(doc));
    }
    for values in largest.values_mut() {
        values.sort_unstable_by(|a, b| b.cmp(a));
        values.truncate(3);
    }
    assert_eq!(largest.len(), 2, "{largest:?}");
    let rows = terms_bucket(BucketRole::Rows, "action", 5);
    for (combine, expected) in [
        (
            TopHitCombine::Sum,
            (|v: &[i64]| json!(v.iter().sum::<i64>() as f64)) as fn(&[i64]) -> Value,
        ),
        (TopHitCombine::Max, |v| json!(v[0] as f64)),
        (TopHitCombine::Min, |v| json!(v[2] as f64)),
        (TopHitCombine::Avg, |v| {
            json!(v.iter().sum::<i64>() as f64 / 3.0)
        }),
        (TopHitCombine::Concat, |v| {
            json!(v.iter().map(i64::to_string).collect::<Vec<_>>().join(", "))
        }),
    ] {
        let table = draw_chart(
            &server,
            &inputs,
            ChartKind::Table,
            top("bytes", 3, "bytes", combine),
            vec![rows.clone()],
        )
        .await;
        let ChartData::Table(table) = table else {
            panic!("not a table");
        };
        assert_eq!(table.columns, ["action", "Last 3 bytes"]);
        assert_eq!(table.rows.len(), 2, "{table:?}");
        for row in &table.rows {
            let action = row[0].as_str().unwrap();
            assert_eq!(
                row[1],
                expected(&largest[action]),
                "{combine:?} of {action}"
            );
        }
    }

    // One flow's address is text: a metric chart shows it as it is, and a table cell too.
    let newest = docs.iter().map(|d| d.timestamp_ms).max().unwrap();
    let newest_sources: Vec<String> = docs
        .iter()
        .filter(|d| d.timestamp_ms == newest)
        .map(|d| match d.get("srcaddr") {
            Some(DocValue::Ip(ip)) => ip.to_string(),
            other => panic!("srcaddr {other:?}"),
        })
        .collect();
    let chart = draw_chart(
        &server,
        &inputs,
        ChartKind::Metric,
        top("srcaddr", 1, "@timestamp", TopHitCombine::Concat),
        vec![],
    )
    .await;
    let ChartData::Metric(numbers) = chart else {
        panic!("not a metric: {chart:?}");
    };
    assert_eq!(numbers.values[0].label, "Last srcaddr");
    assert_eq!(numbers.values[0].value, None);
    let text = numbers.values[0].text.clone().unwrap();
    assert!(
        newest_sources.contains(&text),
        "{text} not in {newest_sources:?}"
    );
    // A number of one flow draws as a number: the largest flow's bytes on a pie's slices.
    let pie = draw_chart(
        &server,
        &inputs,
        ChartKind::Pie,
        top("bytes", 1, "bytes", TopHitCombine::Concat),
        vec![terms_bucket(BucketRole::SplitSlices, "action", 5)],
    )
    .await;
    let ChartData::Pie(pie) = pie else {
        panic!("not a pie");
    };
    let mut slices: Vec<(String, f64)> = pie.rings[0]
        .slices
        .iter()
        .map(|s| (s.label.clone(), s.value))
        .collect();
    slices.sort_by(|a, b| a.0.cmp(&b.0));
    let expected: Vec<(String, f64)> = largest
        .iter()
        .map(|(action, v)| (action.clone(), v[0] as f64))
        .collect();
    assert_eq!(slices, expected);
}

/// Kibana's distribution metrics (median, standard deviation, percentile rank), drawn through
/// the browser's request builder and response reader, against the flows' own bytes: as one
/// number, and as table rows ordered by the metric.
#[tokio::test]
async fn distribution_metrics_match_the_flows() {
    use app::model::visualization::*;
    use app::result::ChartData;
    let (server, now, docs) = server_with_recent_flows(11).await;
    let flows: Vec<(String, f64)> = docs
        .iter()
        .filter_map(|doc| match (doc.get("action"), doc.get("bytes")) {
            (
                Some(crate::ingest::DocValue::Str(action)),
                Some(crate::ingest::DocValue::Int(bytes)),
            ) => Some((action.to_string(), *bytes as f64)),
            _ => None,
        })
        .collect();
    let inputs = view_inputs(&app::model::time::TimeRange::last("3h"), now, None);
    let draw = |kind, metric, buckets| draw_chart(&server, &inputs, kind, metric, buckets);
    let mut bytes: Vec<f64> = flows.iter().map(|(_, b)| *b).collect();
    bytes.sort_by(f64::total_cmp);
    let n = bytes.len();
    let field = || "bytes".to_owned();

    let median = value(draw(ChartKind::Metric, Metric::Median { field: field() }, vec![]).await);
    assert!(
        bytes[(n - 1) / 2] <= median && median <= bytes[n / 2],
        "median {median} between the middle flows"
    );
    let deviation = |values: &[f64]| {
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64).sqrt()
    };
    let std = value(
        draw(
            ChartKind::Metric,
            Metric::StdDeviation { field: field() },
            vec![],
        )
        .await,
    );
    assert!((std - deviation(&bytes)).abs() <= 1e-6 * std, "{std}");
    let at = bytes[n / 3];
    let rank = value(
        draw(
            ChartKind::Metric,
            Metric::PercentileRank {
                field: field(),
                value: at,
            },
            vec![],
        )
        .await,
    );
    let share = |pred: &dyn Fn(f64) -> bool| {
        100.0 * bytes.iter().filter(|b| pred(**b)).count() as f64 / n as f64
    };
    assert!(
        share(&|b| b < at) <= rank + 1e-9 && rank <= share(&|b| b <= at) + 1e-9,
        "rank of {at}: {rank}"
    );

    // One row per action, the most spread first.
    let table = draw(
        ChartKind::Table,
        Metric::StdDeviation { field: field() },
        vec![terms_bucket(BucketRole::Rows, "action", 5)],
    )
    .await;
    let ChartData::Table(table) = table else {
        panic!("not a table");
    };
    let mut expected: Vec<(String, f64)> = ["ACCEPT", "REJECT"]
        .into_iter()
        .map(|action| {
            let of: Vec<f64> = flows
                .iter()
                .filter(|(a, _)| a == action)
                .map(|(_, b)| *b)
                .collect();
            (action.to_owned(), deviation(&of))
        })
        .collect();
    expected.sort_by(|a, b| b.1.total_cmp(&a.1));
    assert_eq!(table.rows.len(), expected.len(), "{table:?}");
    for (row, (action, spread)) in table.rows.iter().zip(&expected) {
        assert_eq!(row[0], json!(action), "{table:?}");
        assert!(
            (row[1].as_f64().unwrap() - spread).abs() <= 1e-6 * spread,
            "{table:?}"
        );
    }
    // Ordered by a percentile rank: the path names the value in brackets.
    let table = draw(
        ChartKind::Table,
        Metric::PercentileRank {
            field: field(),
            value: 1500.5,
        },
        vec![terms_bucket(BucketRole::Rows, "action", 5)],
    )
    .await;
    let ChartData::Table(table) = table else {
        panic!("not a table");
    };
    let ranks: Vec<f64> = table.rows.iter().map(|r| r[1].as_f64().unwrap()).collect();
    assert!(ranks.windows(2).all(|w| w[0] >= w[1]), "{ranks:?}");
    // And by a median and a percentile, whose paths also hold a dot in their value.
    for metric in [
        Metric::Median { field: field() },
        Metric::Percentile {
            field: field(),
            percent: 99.5,
        },
    ] {
        let table = draw(
            ChartKind::Table,
            metric,
            vec![terms_bucket(BucketRole::Rows, "action", 5)],
        )
        .await;
        let ChartData::Table(table) = table else {
            panic!("not a table");
        };
        let values: Vec<f64> = table.rows.iter().map(|r| r[1].as_f64().unwrap()).collect();
        assert_eq!(values.len(), 2, "{table:?}");
        assert!(values.windows(2).all(|w| w[0] >= w[1]), "{values:?}");
    }
}

/// Kibana's sibling pipeline metrics (a statistic of a metric over the buckets of an inner
/// split), drawn through the browser's request builder and response reader, against the
/// flows: as one number, and as table rows ordered by the metric over the whole row.
#[tokio::test]
async fn statistics_over_buckets_match_the_flows() {
    use std::collections::BTreeMap;

    use app::model::visualization::*;
    use app::result::ChartData;
    let (server, now, docs) = server_with_recent_flows(12).await;
    let text = |doc: &crate::ingest::document::FlowDoc, field: &str| match doc.get(field) {
        Some(crate::ingest::DocValue::Str(s)) => s.to_string(),
        Some(crate::ingest::DocValue::Int(v)) => v.to_string(),
        _ => String::new(),
    };
    let bytes = |doc: &crate::ingest::document::FlowDoc| match doc.get("bytes") {
        Some(crate::ingest::DocValue::Int(v)) => *v as f64,
        _ => 0.0,
    };
    let inputs = view_inputs(&app::model::time::TimeRange::last("3h"), now, None);
    let draw = |kind, metric, buckets| draw_chart(&server, &inputs, kind, metric, buckets);
    let over = |stat: BucketStat, per: BucketAgg, of: Metric| Metric::OverBuckets {
        stat,
        per: Box::new(per),
        of: Box::new(of),
    };
    let per_field = |field: &str| terms_bucket(BucketRole::Rows, field, 500).agg;
    let sum_bytes = || Metric::Sum {
        field: "bytes".into(),
    };

    // The busier action's bytes.
    let mut bytes_by_action: BTreeMap<String, f64> = BTreeMap::new();
    for doc in docs.iter().filter(|d| !text(d, "action").is_empty()) {
        *bytes_by_action.entry(text(doc, "action")).or_default() += bytes(doc);
    }
    let busiest = bytes_by_action.values().copied().fold(0.0, f64::max);
    let max = value(
        draw(
            ChartKind::Metric,
            over(BucketStat::Max, per_field("action"), sum_bytes()),
            vec![],
        )
        .await,
    );
    assert!((max - busiest).abs() < 1e-6, "{max} {busiest}");

    // Flows per destination port, on average, and the least used port's.
    let mut flows_by_port: BTreeMap<String, f64> = BTreeMap::new();
    let with_port = docs.iter().filter(|d| !text(d, "dstport").is_empty());
    for doc in with_port.clone() {
        *flows_by_port.entry(text(doc, "dstport")).or_default() += 1.0;
    }
    assert!(flows_by_port.len() < 500, "every port is a bucket");
    let average = value(
        draw(
            ChartKind::Metric,
            over(BucketStat::Avg, per_field("dstport"), Metric::Count),
            vec![],
        )
        .await,
    );
    let expected = with_port.count() as f64 / flows_by_port.len() as f64;
    assert!((average - expected).abs() < 1e-9, "{average} {expected}");
    let least = value(
        draw(
            ChartKind::Metric,
            over(BucketStat::Min, per_field("dstport"), Metric::Count),
            vec![],
        )
        .await,
    );
    assert_eq!(
        least,
        flows_by_port.values().copied().fold(f64::MAX, f64::min)
    );

    // Summed over the hours (empty ones count as none), every flow.
    let hourly = BucketAgg::DateHistogram {
        field: "@timestamp".into(),
        interval: Interval::Fixed("1h".into()),
    };
    let total = value(
        draw(
            ChartKind::Metric,
            over(BucketStat::Sum, hourly, Metric::Count),
            vec![],
        )
        .await,
    );
    assert_eq!(total, docs.len() as f64);

    // Rows per action, ordered by the action's flows; each shows its busiest port's flows.
    let table = draw(
        ChartKind::Table,
        over(BucketStat::Max, per_field("dstport"), Metric::Count),
        vec![terms_bucket(BucketRole::Rows, "action", 5)],
    )
    .await;
    let ChartData::Table(table) = table else {
        panic!("not a table");
    };
    let mut expected: Vec<(String, usize, f64)> = bytes_by_action
        .keys()
        .map(|action| {
            let mut ports: BTreeMap<String, f64> = BTreeMap::new();
            let mut flows = 0;
            for doc in docs.iter().filter(|d| text(d, "action") == *action) {
                flows += 1;
                if !text(doc, "dstport").is_empty() {
                    *ports.entry(text(doc, "dstport")).or_default() += 1.0;
                }
            }
            let busiest = ports.values().copied().fold(0.0, f64::max);
            (action.clone(), flows, busiest)
        })
        .collect();
    expected.sort_by_key(|e| std::cmp::Reverse(e.1));
    assert_eq!(table.rows.len(), expected.len(), "{table:?}");
    for (row, (action, _, busiest)) in table.rows.iter().zip(&expected) {
        assert_eq!(row[0], json!(action), "{table:?}");
        assert_eq!(row[1].as_f64(), Some(*busiest), "{table:?}");
    }
}

/// Every panel of the overview dashboard answers on the embedded engine with data, through the
/// same request builder and response reader the browser uses.
#[tokio::test]
async fn every_overview_panel_answers_on_demo_data() {
    use app::result::ChartData;
    let server = TestServer::start().await;
    let now = chrono::Utc::now().timestamp_millis();
    let docs = ingest_demo(
        &server,
        crate::ingest::demo::DemoConfig {
            flows: 4000,
            hours: 2,
            end_ms: now,
            seed: 7,
        },
    )
    .await;
    assert_eq!(docs.len(), 4000);
    let inputs = view_inputs(&app::model::time::TimeRange::last("3h"), now, None);
    for (id, vis) in crate::overview::visualizations(Default::default()) {
        let data = crate::visualizations::chart_data(&server.state, &vis, &inputs)
            .await
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        let has_data = match &data {
            ChartData::Pie(pie) => pie.rings.iter().all(|r| !r.slices.is_empty()),
            ChartData::Xy(xy) => !xy.is_empty(),
            ChartData::Metric(m) => m.values[0].value.is_some_and(|v| v > 0.0),
            ChartData::Table(t) => !t.rows.is_empty(),
            ChartData::Sankey(s) => !s.links.is_empty(),
        };
        assert!(has_data, "{id} has no data: {data:?}");
    }
}

/// Flows of 2020-03-06 at 10:00 UTC (one) and 20:00 UTC (three): one UTC day, but two days
/// at +09:00 (19:00 on the 6th, 05:00 on the 7th).
async fn ingest_flows_across_a_tokyo_midnight(server: &TestServer) {
    const DAY: i64 = 1_583_452_800; // 2020-03-06T00:00:00Z
                                    // Source ports differ: the same line twice is one flow.
    let lines: String = [10, 20, 20, 20]
        .into_iter()
        .enumerate()
        .map(|(i, hour)| {
            let start = DAY + hour * 3600;
            format!(
                "2 123456789012 eni-1 10.0.0.1 10.0.1.1 4000{i} 443 6 5 500 {start} {} ACCEPT OK\n",
                start + 60
            )
        })
        .collect();
    let (status, report) = server.post("/api/ingest", lines).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["accepted"], 4, "{report}");
}

/// Flows per calendar day on `index_pattern`, as a line chart.
fn flows_per_day(index_pattern: &str) -> app::model::visualization::Visualization {
    use app::model::visualization::*;
    Visualization {
        version: VISUALIZATION_VERSION,
        title: "Flows per day".into(),
        description: String::new(),
        kind: ChartKind::Line,
        index_pattern: index_pattern.into(),
        metrics: vec![Metric::Count.into()],
        buckets: vec![Bucket {
            role: BucketRole::XAxis,
            agg: BucketAgg::DateHistogram {
                field: "@timestamp".into(),
                interval: Interval::Calendar("1d".into()),
            },
        }],
        options: ChartOptions::default(),
        query: Default::default(),
        filters: Vec::new(),
        saved_search: None,
    }
}

/// The server draws a visualization as a panel does: calendar days in the viewer's zone
/// (`time_zone`), not in UTC.
#[tokio::test]
async fn server_renders_follow_the_time_zone() {
    use app::result::ChartData;
    let server = TestServer::start().await;
    ingest_flows_across_a_tokyo_midnight(&server).await;
    let vis = flows_per_day("cwl-*");
    let days = |zone: Option<&str>| {
        let inputs = view_inputs(
            &app::model::time::TimeRange {
                from: "2020-03-06T09:00:00Z".into(),
                to: "2020-03-06T21:00:00Z".into(),
            },
            chrono::Utc::now().timestamp_millis(),
            zone.map(str::to_owned),
        );
        let state = server.state.clone();
        let vis = vis.clone();
        async move {
            let Ok(ChartData::Xy(xy)) =
                crate::visualizations::chart_data(&state, &vis, &inputs).await
            else {
                panic!("no line chart");
            };
            xy.series[0]
                .points
                .iter()
                .filter(|(_, count)| *count > 0.0)
                .map(|&(day, count)| (day as i64, count))
                .collect::<Vec<_>>()
        }
    };
    const UTC_DAY_MS: i64 = 1_583_452_800_000;
    const NINE_HOURS_MS: i64 = 9 * 3_600_000;
    assert_eq!(days(None).await, [(UTC_DAY_MS, 4.0)]);
    assert_eq!(
        days(Some("+09:00")).await,
        [
            (UTC_DAY_MS - NINE_HOURS_MS, 1.0),
            (UTC_DAY_MS + 86_400_000 - NINE_HOURS_MS, 3.0)
        ]
    );

    // Over HTTP: the image takes the zone, and refuses one it cannot read.
    let (_, created) = server
        .post_json(
            "/api/saved_objects/visualization/per-day",
            &json!({ "attributes": vis }),
        )
        .await;
    assert_eq!(created["id"], "per-day", "{created}");
    let path =
        "/api/visualizations/per-day/render.svg?from=2020-03-06T09:00:00Z&to=2020-03-06T21:00:00Z";
    let image = |query: &'static str, cookie: Option<&str>| {
        let mut request = server.client.get(server.url(&format!("{path}{query}")));
        if let Some(cookie) = cookie {
            request = request.header(reqwest::header::COOKIE, cookie);
        }
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.text().await.unwrap()
        }
    };
    let tokyo = image("&time_zone=%2B09:00", None).await;
    let utc = image("", None).await;
    assert_ne!(tokyo, utc, "days begin at another hour");
    let (status, error) = server.get(&format!("{path}&time_zone=Mars")).await;
    assert_eq!(status, 400, "{error}");

    // An image on a page: the zone the page told the server in its cookie, as if asked for;
    // a cookie that does not read as an offset is ignored, and the parameter wins.
    let cookie = "other=1; flowdash-utc-offset=+09:00";
    assert_eq!(image("", Some(cookie)).await, tokyo);
    assert_eq!(image("", Some("flowdash-utc-offset=Mars")).await, utc);
    assert_eq!(
        image("&time_zone=%2B00:00", Some(cookie)).await,
        image("&time_zone=%2B00:00", None).await
    );
    // The dark theme chosen on the pages is kept, and so is a dark system's when the pages
    // follow the system; light is the default.
    let is_dark = |svg: String| svg.to_lowercase().contains("#1d1e24");
    assert!(
        is_dark(image("", Some("flowdash-theme=dark")).await),
        "dark panels"
    );
    assert!(!is_dark(utc));
    let dark_system = "flowdash-system-theme=dark";
    assert!(
        is_dark(image("", Some(dark_system)).await),
        "the system's dark"
    );
    assert!(is_dark(
        image("", Some(&format!("flowdash-theme=system; {dark_system}"))).await
    ));
    assert!(!is_dark(
        image("", Some(&format!("flowdash-theme=light; {dark_system}"))).await
    ));
    assert!(!is_dark(
        image("", Some("flowdash-system-theme=light")).await
    ));
}

/// A visualization searches its index pattern's time field, not `@timestamp`: a pattern
/// whose time field is `event_time` gets searched on `event_time`, which the embedded
/// engine's flow documents do not have, and the server's image says so.
#[tokio::test]
async fn server_renders_search_the_index_pattern_time_field() {
    let server = TestServer::start().await;
    ingest_flows_across_a_tokyo_midnight(&server).await;
    let (status, pattern) = server
        .post_json(
            "/api/saved_objects/index-pattern/event-time",
            &json!({ "attributes": { "title": "cwl-2020.03.06", "time_field": "event_time" } }),
        )
        .await;
    assert_eq!(status, 200, "{pattern}");
    for (id, index_pattern) in [("default-time", "cwl-*"), ("event-time", "cwl-2020.03.06")] {
        let (status, created) = server
            .post_json(
                &format!("/api/saved_objects/visualization/{id}"),
                &json!({ "attributes": flows_per_day(index_pattern) }),
            )
            .await;
        assert_eq!(status, 200, "{created}");
    }
    let render = |id: &str| {
        let url = server.url(&format!(
            "/api/visualizations/{id}/render.svg?from=2020-03-06T00:00:00Z&to=2020-03-07T00:00:00Z"
        ));
        let client = server.client.clone();
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    // The default pattern's time field is `@timestamp`: the chart is drawn, its y axis up to
    // the day's count.
    // The other pattern's is `event_time`, which no flow has (unmapped, as in
    // Elasticsearch): searched on it, the chart is empty, its axis at the default 0 to 1.
    let top_number = |svg: &str| {
        svg.lines()
            .filter_map(|line| line.trim().parse::<f64>().ok())
            .fold(0.0, f64::max)
    };
    let drawn = render("default-time").await;
    let on_event_time = render("event-time").await;
    assert!(
        top_number(&drawn) > 1.0 && top_number(&on_event_time) <= 1.0,
        "the search was not on event_time: {on_event_time}"
    );
}

/// With a cluster, saved objects and short links live in its `.flowdash` index: two flowdash
/// servers pointed at the same cluster (here, a third flowdash's /es surface over HTTP) share
/// them, and optimistic concurrency holds across servers.
#[tokio::test]
async fn servers_on_one_cluster_share_saved_objects() {
    for version in ["6.8.23", "7.10.2"] {
        let cluster = TestServer::start_with(|c| c.es_compat_version = version.into()).await;
        let on_cluster =
            |c: &mut ServeConfig| c.elastic = Some(cluster_config(&cluster.url("/es")));
        let first = TestServer::start_with(on_cluster).await;
        let second = TestServer::start_with(on_cluster).await;

        // The defaults were installed once, in the cluster.
        let (status, overview) = second
            .get("/api/saved_objects/dashboard/vpc-flow-overview")
            .await;
        assert_eq!(
            (status, overview["version"].as_u64()),
            (200, Some(1)),
            "{overview}"
        );
        let (status, stored) = cluster
            .get("/es/.flowdash/_doc/dashboard:vpc-flow-overview")
            .await;
        assert_eq!((status, &stored["found"]), (200, &json!(true)), "{stored}");

        let (status, created) = first
            .post_json(
                "/api/saved_objects/visualization/shared",
                &json!({ "attributes": vis_json() }),
            )
            .await;
        assert_eq!(status, 200, "{created}");
        let (_, seen) = second.get("/api/saved_objects/visualization/shared").await;
        assert_eq!(seen["attributes"], created["attributes"]);
        assert_eq!(seen["version"], 1);

        // Both edit version 1 at once: the cluster takes exactly one.
        let mut changed = vis_json();
        changed["title"] = json!("Changed");
        let update = |server: &TestServer| {
            server
                .client
                .put(server.url("/api/saved_objects/visualization/shared"))
                .json(&json!({ "attributes": changed, "version": 1 }))
                .send()
        };
        let (a, b) = tokio::join!(update(&first), update(&second));
        let mut statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "cluster {version}");
        let (_, after) = first.get("/api/saved_objects/visualization/shared").await;
        assert_eq!(
            (
                after["version"].as_u64(),
                after["attributes"]["title"].as_str()
            ),
            (Some(2), Some("Changed"))
        );

        let (status, found) = second
            .get("/api/saved_objects/_find?type=visualization&search=chang")
            .await;
        assert_eq!(status, 200);
        assert_eq!(found["saved_objects"][0]["id"], "shared", "{found}");

        // A short link made on one server opens on the other.
        let (status, short) = first
            .post_json(
                "/api/short_urls",
                &json!({ "url": "/dashboards/vpc-flow-overview?from=now-1h" }),
            )
            .await;
        assert_eq!(status, 200, "{short}");
        let id = short["id"].as_str().unwrap();
        let redirect = second.get_unfollowed(&format!("/goto/{id}")).await;
        assert_eq!(
            redirect.headers()["location"],
            "/dashboards/vpc-flow-overview?from=now-1h"
        );

        let deleted = second
            .client
            .delete(second.url("/api/saved_objects/visualization/shared"))
            .send()
            .await
            .unwrap();
        assert_eq!(deleted.status(), 200);
        let (status, _) = first.get("/api/saved_objects/visualization/shared").await;
        assert_eq!(status, 404);
    }
}

/// "Compared with a week ago" on the real engine: one search matches both weeks, and each
/// series comes again, a week earlier, on the same time axis.
#[tokio::test]
async fn a_time_shifted_chart_draws_last_weeks_series_on_this_weeks_axis() {
    use app::model::visualization::*;
    use app::result::ChartData;
    let server = TestServer::start().await;
    ingest_flows_across_a_tokyo_midnight(&server).await; // 2020-03-06: 10:00, then 3 at 20:00
    const WEEK_BEFORE: i64 = 1_583_452_800 - 7 * 86_400; // 2020-02-28T00:00:00Z
    let lines: String = [(10, "ACCEPT"), (12, "ACCEPT"), (12, "REJECT")]
        .into_iter()
        .enumerate()
        .map(|(i, (hour, action))| {
            let start = WEEK_BEFORE + hour * 3600;
            format!(
                "2 123456789012 eni-1 10.0.0.2 10.0.1.1 5000{i} 22 6 5 500 {start} {} {action} OK\n",
                start + 60
            )
        })
        .collect();
    let (status, report) = server.post("/api/ingest", lines).await;
    assert_eq!(report["accepted"], 3, "{status} {report}");

    let mut vis = flows_per_day("cwl-*");
    vis.buckets[0].agg = BucketAgg::DateHistogram {
        field: "@timestamp".into(),
        interval: Interval::Fixed("1h".into()),
    };
    vis.buckets
        .push(terms_bucket(BucketRole::SplitSeries, "action", 5));
    vis.options.time_shift = Some("1w".into());
    vis.validate().unwrap();
    let inputs = view_inputs(
        &app::model::time::TimeRange {
            from: "2020-03-06T00:00:00Z".into(),
            to: "2020-03-07T00:00:00Z".into(),
        },
        chrono::Utc::now().timestamp_millis(),
        None,
    );
    let Ok(ChartData::Xy(xy)) =
        crate::visualizations::chart_data(&server.state, &vis, &inputs).await
    else {
        panic!("no line chart");
    };
    const DAY_MS: f64 = 1_583_452_800_000.0;
    let hour = |h: f64| DAY_MS + h * 3_600_000.0;
    let series: Vec<(String, Vec<(f64, f64)>)> = xy
        .series
        .iter()
        .map(|s| {
            let points = s.points.iter().copied().filter(|p| p.1 > 0.0).collect();
            (s.label.clone(), points)
        })
        .collect();
    assert_eq!(
        series,
        [
            (
                "ACCEPT".to_owned(),
                vec![(hour(10.0), 1.0), (hour(20.0), 3.0)]
            ),
            (
                "ACCEPT (1 week ago)".to_owned(),
                vec![(hour(10.0), 1.0), (hour(12.0), 1.0)]
            ),
            ("REJECT (1 week ago)".to_owned(), vec![(hour(12.0), 1.0)]),
        ]
    );
    // Both weeks' buckets cover the day, hour by hour: no gap drawn as a missing point.
    assert!(xy.series.iter().all(|s| s.points.len() == 24), "{series:?}");
}

/// A server holding 3,000 demo flows from `seed` over the two hours up to now, the moment
/// they end, and their documents: where the tests of charts against the flows start.
async fn server_with_recent_flows(
    seed: u64,
) -> (TestServer, i64, Vec<crate::ingest::document::FlowDoc>) {
    let server = TestServer::start().await;
    let now = chrono::Utc::now().timestamp_millis();
    let config = crate::ingest::demo::DemoConfig {
        flows: 3000,
        hours: 2,
        end_ms: now,
        seed,
    };
    let docs = ingest_demo(&server, config).await;
    (server, now, docs)
}

/// The cluster settings `flowdash serve --es-url URL` gives: a cluster at `url`, no
/// credentials, the default timeout.
pub(crate) fn cluster_config(url: &str) -> crate::backend::elastic::ElasticConfig {
    use clap::Parser;
    let cli = crate::cli::Cli::try_parse_from(["flowdash", "serve", "--es-url", url]).unwrap();
    let crate::cli::Command::Serve(args) = cli.command else {
        unreachable!("serve")
    };
    args.elastic.config().unwrap().unwrap()
}

/// The browser's way to the server's searches, over HTTP: `/api/msearch`, answered whole.
struct HttpSearch<'a>(&'a TestServer);

impl app::panels::Searcher for HttpSearch<'_> {
    async fn msearch(
        &self,
        searches: &[app::api::SearchRequest],
        mut on_answer: impl FnMut(usize, Result<Value, app::api::ApiError>),
    ) -> Result<(), app::api::ApiError> {
        let (status, answer) = self
            .0
            .post_json("/api/msearch", &json!({ "searches": searches }))
            .await;
        if status != 200 {
            return Err(app::api::ApiError::from_error_value(status, &answer));
        }
        for (i, response) in answer["responses"].as_array().unwrap().iter().enumerate() {
            on_answer(i, Ok(response.clone()));
        }
        Ok(())
    }
}

/// A dashboard of more searches than one multi-search may carry (many panels, range
/// controls with two searches each) is searched in several, and every panel gets its own
/// answer.
#[tokio::test]
async fn more_searches_than_one_request_carries_go_in_several() {
    use app::model::visualization::{ChartKind, Metric};
    let (server, now, docs) = server_with_recent_flows(13).await;
    let inputs = view_inputs(&app::model::time::TimeRange::last("3h"), now, None);
    let mut vis = app::model::visualization::Visualization::example_action_port_pie();
    vis.kind = ChartKind::Metric;
    vis.metrics = vec![Metric::Count.into()];
    vis.buckets.clear();
    // Each panel counts the flows of at least its own number of bytes, so each answer is
    // its own.
    let mut bytes: Vec<i64> = docs
        .iter()
        .filter_map(|doc| match doc.get("bytes") {
            Some(crate::ingest::DocValue::Int(v)) => Some(*v),
            _ => None,
        })
        .collect();
    bytes.sort_unstable();
    let panels = app::api::MAX_MSEARCH_SEARCHES + 30;
    let threshold = |i: usize| bytes[i * bytes.len() / panels];
    let many: Vec<_> = (0..panels)
        .map(|i| {
            let mut vis = vis.clone();
            vis.filters = vec![app::model::filter::Filter {
                field: "bytes".into(),
                kind: app::model::filter::FilterKind::Range {
                    from: Some(json!(threshold(i))),
                    to: None,
                    to_inclusive: false,
                },
                negate: false,
                disabled: false,
                pinned: false,
            }];
            vis
        })
        .collect();
    let library = crate::visualizations::library(&server.state).await.unwrap();
    let mut counts = vec![None; many.len()];
    app::panels::run(
        &HttpSearch(&server),
        &many,
        &library,
        &inputs,
        |i, chart, _| {
            counts[i] = Some(chart.map(value));
        },
    )
    .await;
    for (i, count) in counts.iter().enumerate() {
        let expected = bytes.iter().filter(|b| **b >= threshold(i)).count() as f64;
        assert_eq!(*count, Some(Ok(expected)), "panel {i}");
    }
    assert_ne!(counts[0], counts[panels - 1], "the answers differ");
}

/// Several metrics in one chart, through the browser's request builder and response reader
/// on the embedded engine: flows on the left axis and bytes per second on the right, a series
/// each per action, checked against the flows themselves. A rate divides by the part of the
/// time range its bucket covers, so the cut first bucket is no dip; without a time split it
/// divides by the whole range.
#[tokio::test]
async fn several_metrics_draw_on_two_axes_and_rates_divide_by_their_buckets_time() {
    use app::model::measure::{Measure, RateUnit, ValueAxis};
    use app::model::visualization::*;
    use app::result::ChartData;
    let server = TestServer::start().await;
    let now = chrono::Utc::now().timestamp_millis();
    let docs = ingest_demo(
        &server,
        crate::ingest::demo::DemoConfig {
            flows: 1500,
            hours: 1,
            end_ms: now,
            seed: 21,
        },
    )
    .await;
    let inputs = view_inputs(&app::model::time::TimeRange::last("1h"), now, None);
    let (from, to) = (inputs.time.from_ms, inputs.time.to_ms);
    let action = |doc: &crate::ingest::document::FlowDoc| match doc.get("action") {
        Some(crate::ingest::DocValue::Str(s)) => s.to_string(),
        _ => String::new(),
    };
    let bytes = |doc: &crate::ingest::document::FlowDoc| match doc.get("bytes") {
        Some(crate::ingest::DocValue::Int(v)) => *v as f64,
        _ => 0.0,
    };
    let in_view: Vec<_> = docs
        .iter()
        .filter(|d| (from..=to).contains(&d.timestamp_ms) && !action(d).is_empty())
        .collect();
    let bytes_per_second = Measure {
        label: "Bytes/s".into(),
        rate: Some(RateUnit::Second),
        axis: ValueAxis::Right,
        ..Measure::from(Metric::Sum {
            field: "bytes".into(),
        })
    };
    let mut vis = Visualization::example_flows_over_time();
    vis.metrics = vec![Metric::Count.into(), bytes_per_second];
    vis.buckets[0].agg = BucketAgg::DateHistogram {
        field: "@timestamp".into(),
        interval: Interval::Fixed("5m".into()),
    };
    vis.options.drop_partial_buckets = false;
    vis.validate().unwrap();
    let chart = crate::visualizations::chart_data(&server.state, &vis, &inputs).await;
    let Ok(ChartData::Xy(xy)) = chart else {
        panic!("not a line: {chart:?}");
    };
    assert_eq!(xy.metric_label, "Count");
    assert_eq!(xy.right_label.as_deref(), Some("Bytes/s"));
    const FIVE_MINUTES: i64 = 300_000;
    let mut checked = 0;
    for series in &xy.series {
        let (term, measure) = series.label.split_once(": ").expect("term: metric");
        assert_eq!(
            series.axis,
            if measure == "Bytes/s" {
                ValueAxis::Right
            } else {
                ValueAxis::Left
            },
            "{}",
            series.label
        );
        for &(start, y) in &series.points {
            let start = start as i64;
            let flows: Vec<_> = in_view
                .iter()
                .filter(|d| action(d) == term)
                .filter(|d| (start..start + FIVE_MINUTES).contains(&d.timestamp_ms))
                .collect();
            let expected = match measure {
                "Count" => flows.len() as f64,
                _ => {
                    let covered = (start + FIVE_MINUTES).min(to) - start.max(from);
                    flows.iter().map(|d| bytes(d)).sum::<f64>() / (covered as f64 / 1000.0)
                }
            };
            assert!(
                (y - expected).abs() <= 1e-9 * expected.abs().max(1.0),
                "{} at {start}: {y} != {expected}",
                series.label
            );
            checked += 1;
        }
    }
    let actions: std::collections::BTreeSet<_> = in_view.iter().map(|d| action(d)).collect();
    assert_eq!(xy.series.len(), 2 * actions.len(), "{:?}", xy.series);
    assert!(
        checked >= 2 * 12,
        "every five minutes of the hour: {checked}"
    );

    // A table: a column per metric; bytes per second over the whole hour.
    let mut table = vis.clone();
    table.kind = ChartKind::Table;
    table.metrics[1].axis = ValueAxis::Left;
    table.buckets = vec![terms_bucket(BucketRole::Rows, "action", 5)];
    let chart = crate::visualizations::chart_data(&server.state, &table, &inputs).await;
    let Ok(ChartData::Table(table)) = chart else {
        panic!("not a table: {chart:?}");
    };
    assert_eq!(table.columns, ["action", "Count", "Bytes/s"]);
    for row in &table.rows {
        let term = row[0].as_str().unwrap();
        let flows: Vec<_> = in_view.iter().filter(|d| action(d) == term).collect();
        assert_eq!(row[1].as_f64(), Some(flows.len() as f64), "{row:?}");
        let expected = flows.iter().map(|d| bytes(d)).sum::<f64>() / ((to - from) as f64 / 1000.0);
        let got = row[2].as_f64().unwrap();
        assert!(
            (got - expected).abs() <= 1e-9 * expected,
            "{got} != {expected}"
        );
    }

    // A metric chart: a number per metric.
    let mut numbers = vis.clone();
    numbers.kind = ChartKind::Metric;
    numbers.metrics[1].axis = ValueAxis::Left;
    let chart = crate::visualizations::chart_data(&server.state, &numbers, &inputs).await;
    let Ok(ChartData::Metric(numbers)) = chart else {
        panic!("not a metric: {chart:?}");
    };
    let labels: Vec<_> = numbers.values.iter().map(|m| m.label.as_str()).collect();
    assert_eq!(labels, ["Count", "Bytes/s"]);
    let all_in_view = docs
        .iter()
        .filter(|d| (from..=to).contains(&d.timestamp_ms))
        .count();
    assert_eq!(numbers.values[0].value, Some(all_in_view as f64));

    // A pipeline on the second metric runs over it, not over the first.
    let mut running = Visualization::example_flows_over_time();
    running.buckets = vec![vis.buckets[0].clone()];
    running.options.drop_partial_buckets = false;
    running.metrics = vec![
        Metric::Count.into(),
        Measure {
            pipeline: Some(ParentPipeline::CumulativeSum),
            ..Measure::from(Metric::Sum {
                field: "bytes".into(),
            })
        },
    ];
    let chart = crate::visualizations::chart_data(&server.state, &running, &inputs).await;
    let Ok(ChartData::Xy(running)) = chart else {
        panic!("not a line: {chart:?}");
    };
    let mut total = 0.0;
    for &(start, y) in &running.series[1].points {
        let start = start as i64;
        total += in_view
            .iter()
            .filter(|d| (start..start + FIVE_MINUTES).contains(&d.timestamp_ms))
            .map(|d| bytes(d))
            .sum::<f64>();
        assert_eq!(y, total, "bytes so far at {start}");
    }
    assert!(total > 0.0);
}

/// A chart of the demo visualization made `kind`, with `metric` and `buckets`, drawn by the
/// server's own path (request builder, backend, response reader) in `inputs`' view.
async fn draw_chart(
    server: &TestServer,
    inputs: &app::panels::ViewInputs,
    kind: app::model::visualization::ChartKind,
    metric: app::model::visualization::Metric,
    buckets: Vec<app::model::visualization::Bucket>,
) -> app::result::ChartData {
    let mut vis = app::model::visualization::Visualization::example_action_port_pie();
    vis.kind = kind;
    vis.metrics = vec![metric.into()];
    vis.buckets = buckets;
    vis.validate().unwrap();
    crate::visualizations::chart_data(&server.state, &vis, inputs)
        .await
        .unwrap()
}

/// A metric chart's number.
fn value(data: app::result::ChartData) -> f64 {
    match data {
        app::result::ChartData::Metric(m) => m.values[0].value.unwrap(),
        other => panic!("not a metric: {other:?}"),
    }
}

/// Ingests `config`'s demo flows through `/api/ingest`, all accepted, and gives back the
/// documents they were stored as, so a test can check charts against the flows themselves.
async fn ingest_demo(
    server: &TestServer,
    config: crate::ingest::demo::DemoConfig,
) -> Vec<crate::ingest::document::FlowDoc> {
    let format = crate::ingest::demo::demo_format();
    let mut lines = format!("{}\n", format.header());
    let mut docs = Vec::new();
    crate::ingest::demo::generate(&config, |line| {
        let mut values = Vec::new();
        crate::ingest::parse::parse_record(&format, line, &mut values).unwrap();
        let doc = crate::ingest::document::FlowDoc::from_record(
            &format,
            &values,
            line,
            &Default::default(),
        )
        .unwrap();
        docs.push(doc);
        lines.push_str(line);
        lines.push('\n');
    });
    let (status, report) = server.post("/api/ingest", lines).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["accepted"], docs.len(), "{report}");
    docs
}

/// What a panel is drawn for with no query or filters: a time range, the moment `now`, and
/// the browser's time zone (`None`: UTC).
fn view_inputs(
    range: &app::model::time::TimeRange,
    now: i64,
    zone: Option<String>,
) -> app::panels::ViewInputs {
    app::panels::ViewInputs::resolve(range, Default::default(), Vec::new(), now, 0, zone)
        .expect("a valid time range")
}

/// The bundle as a release build leaves it: a browser that accepts brotli gets the precompressed
/// copy as it is; a content-hashed name is kept for a year, a plain one revalidated; and pages
/// link the hashed names that the site's `hash.txt` gives.
#[tokio::test]
async fn bundle_is_served_precompressed_and_cached_by_name() {
    let site = tempfile::tempdir().unwrap();
    let pkg = site.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    let hash = "Zx3_1-abcdefghijklmnop";
    let wasm = format!("flowdash.{hash}.wasm");
    std::fs::write(pkg.join(&wasm), b"\0asm, as built").unwrap();
    std::fs::write(pkg.join(format!("{wasm}.br")), b"the brotli copy").unwrap();
    std::fs::write(pkg.join("notes.txt"), b"plain name").unwrap();
    std::fs::write(
        site.path().join("hash.txt"),
        format!("js: {hash}\nwasm: {hash}\ncss: {hash}\n"),
    )
    .unwrap();
    let server = TestServer::start_with(|config| config.site_root = site.path().to_owned()).await;
    let fetch = |path: String, encoding: &'static str| {
        let request = server
            .client
            .get(server.url(&path))
            .header("accept-encoding", encoding);
        async move {
            let response = request.send().await.unwrap();
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .map(|v| v.to_str().unwrap().to_owned())
            };
            let (encoding, cache) = (header("content-encoding"), header("cache-control"));
            let status = response.status().as_u16();
            if status == 200 {
                assert_eq!(header("vary").as_deref(), Some("accept-encoding"));
            }
            (status, encoding, cache, response.bytes().await.unwrap())
        }
    };

    let (status, encoding, cache, body) = fetch(format!("/pkg/{wasm}"), "gzip, br").await;
    assert_eq!(status, 200);
    assert_eq!(encoding.as_deref(), Some("br"));
    assert_eq!(&body[..], b"the brotli copy");
    assert_eq!(
        cache.as_deref(),
        Some("public, max-age=31536000, immutable")
    );
    let (status, encoding, _, body) = fetch(format!("/pkg/{wasm}"), "identity").await;
    assert_eq!((status, encoding), (200, None));
    assert_eq!(&body[..], b"\0asm, as built");
    let (status, _, cache, body) = fetch("/pkg/notes.txt".into(), "identity").await;
    assert_eq!(status, 200);
    assert_eq!(cache.as_deref(), Some("no-cache"));
    assert_eq!(&body[..], b"plain name");
    let (status, _, cache, _) = fetch("/pkg/flowdash.js".into(), "identity").await;
    assert_eq!((status, cache), (404, None));

    let page = server.get_body_text("/dashboards").await;
    for file in ["js", "css"] {
        let link = format!("/pkg/flowdash.{hash}.{file}");
        assert!(page.contains(&link), "no {link} in {page}");
    }
    assert!(page.contains(&format!("flowdash.{hash}.wasm")), "{page}");
}

/// A server holding 2,000 demo flows of the hour before now (made from `seed`), and that now.
async fn server_with_the_last_hours_flows(seed: u64) -> (TestServer, i64) {
    let server = TestServer::start().await;
    let now = chrono::Utc::now().timestamp_millis();
    let config = crate::ingest::demo::DemoConfig {
        flows: 2000,
        hours: 1,
        end_ms: now,
        seed,
    };
    ingest_demo(&server, config).await;
    (server, now)
}

/// A dashboard page begins drawing its panels' images as the server renders it: the
/// browser's requests for them take those drawings, searching nothing again, and get what
/// a fresh drawing gives.
#[tokio::test]
async fn a_dashboards_images_begin_drawing_as_its_page_is_rendered() {
    let (server, _) = server_with_the_last_hours_flows(15).await;
    let page = server.get_body_text("/?from=now-1h&to=now").await;
    let images: Vec<String> = page
        .split("src=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|src| src.starts_with("/api/visualizations/"))
        .map(|src| src.replace("&amp;", "&"))
        .collect();
    assert!(images.len() >= 10, "the overview's images: {images:?}");
    let distinct: std::collections::HashSet<&String> = images.iter().collect();
    assert_eq!(server.state.prerenders.begun(), distinct.len());
    // A `HEAD` shares a drawing and leaves it for the `GET`.
    let head = server
        .client
        .head(server.url(&images[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(server.state.prerenders.begun(), distinct.len());
    // Asked for at once, the first waits for its drawing, and takes it.
    let first = server.get_body_text(&images[0]).await;
    assert!(first.starts_with("<svg"), "{first}");
    assert_eq!(server.state.prerenders.begun(), distinct.len() - 1);
    // A viewer whose pages are dark is not given the light drawing: it draws its own.
    let dark = server
        .client
        .get(server.url(&images[1]))
        .header("cookie", format!("{}=dark", app::theme::THEME_COOKIE))
        .send()
        .await
        .unwrap();
    assert_eq!(dark.status(), 200);
    assert_eq!(server.state.prerenders.begun(), distinct.len() - 1);
    server.state.prerenders.drawn().await;
    let cache = server.engine().request_cache().hits_and_misses();
    let mut drawings = vec![first];
    for image in &images[1..] {
        let response = server.client.get(server.url(image)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{image}");
        drawings.push(response.text().await.unwrap());
    }
    assert!(drawings.iter().all(|svg| svg.starts_with("<svg")));
    assert_eq!(
        server.engine().request_cache().hits_and_misses(),
        cache,
        "no image searched"
    );
    assert_eq!(server.state.prerenders.begun(), 0, "each taken once");
    // Asked again, each is drawn afresh, the same.
    for (image, drawing) in images.iter().zip(&drawings).take(3) {
        assert_eq!(&server.get_body_text(image).await, drawing, "{image}");
    }
    assert_ne!(server.engine().request_cache().hits_and_misses(), cache);
}

/// A dashboard panel's server image, drawn for the page's `now`, runs the searches the
/// browser then sends for the same panel: the browser's are answered from the request cache.
#[tokio::test]
async fn an_image_for_the_pages_now_shares_its_searches_with_the_browser() {
    let (server, now) = server_with_the_last_hours_flows(14).await;
    let page_now = app::model::time::shared_now(now);
    let image = server
        .client
        .get(server.url(&format!(
            "/api/visualizations/overview-action-pie/render.svg?from=now-1h&to=now&now={page_now}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(image.status(), 200);
    assert!(image.text().await.unwrap().contains("ACCEPT"));
    let cache = server.engine().request_cache().hits_and_misses();

    // The browser's first searches for that page, as its panels build them.
    let object = server
        .state
        .store
        .get(
            app::model::saved_object::ObjectType::Visualization,
            "overview-action-pie",
        )
        .await
        .unwrap();
    let vis = app::model::visualization::Visualization::from_value(object.attributes).unwrap();
    let range = app::model::time::TimeRange::last("1h");
    let drawn = crate::visualizations::chart_data(
        &server.state,
        &vis,
        &view_inputs(&range, page_now, None),
    )
    .await
    .unwrap();
    assert!(matches!(drawn, app::result::ChartData::Pie(_)));
    let (hits, misses) = server.engine().request_cache().hits_and_misses();
    assert!(
        hits > cache.0,
        "answered from the cache: {cache:?} then {hits}, {misses}"
    );
    assert_eq!(misses, cache.1, "nothing searched again");

    // A second later, the same panel is searched afresh.
    crate::visualizations::chart_data(
        &server.state,
        &vis,
        &view_inputs(&range, page_now + 1_000, None),
    )
    .await
    .unwrap();
    assert!(server.engine().request_cache().hits_and_misses().1 > misses);

    for bad in ["-1", "253402300800000", "soon"] {
        let response = server
            .client
            .get(server.url(&format!(
                "/api/visualizations/overview-action-pie/render.svg?now={bad}"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "now={bad}");
    }
}

#[tokio::test]
async fn a_server_with_geoip_databases_adds_country_and_as_to_what_it_ingests() {
    let db = crate::geo::tests::test_db;
    let server = TestServer::start_with(|config| {
        config.geo = crate::geo::GeoFiles {
            geoip: Some(db("GeoLite2-Country-Test.mmdb")),
            asn: Some(db("GeoLite2-ASN-Test.mmdb")),
        };
    })
    .await;
    // 216.160.83.56/29 is US in the Country test database, 1.128.0.0/11 AS1221.
    let lines = "\
2 123456789010 eni-1 216.160.83.57 10.0.0.5 51000 3389 6 3 180 1700000000 1700000060 REJECT OK
2 123456789010 eni-1 10.0.0.5 1.128.0.1 51001 443 6 9 900 1700000000 1700000060 ACCEPT OK
";
    let (status, report) = server.post("/api/ingest", lines).await;
    assert_eq!(
        (status, report["accepted"].as_u64()),
        (200, Some(2)),
        "{report}"
    );
    // A client's `_bulk` gets them as an ingest pipeline would add them.
    let bulk = concat!(
        r#"{"index":{"_index":"cwl-2023.11.14","_id":"b1"}}"#,
        "\n",
        r#"{"@timestamp":"2023-11-14T22:14:00Z","srcaddr":"216.160.83.58","dstaddr":"10.0.0.6","action":"REJECT"}"#,
        "\n"
    );
    let response = server
        .client
        .post(format!("http://{}/es/_bulk", server.address))
        .header("content-type", "application/x-ndjson")
        .body(bulk)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let body = json!({ "size": 0, "query": { "term": { "action": "REJECT" } },
        "aggs": { "c": { "terms": { "field": "src_country" } } } });
    let (status, answer) = server.search_flows(body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["aggregations"]["c"]["buckets"],
        json!([{ "key": "US", "doc_count": 2 }])
    );
    let (_, hits) = server
        .search_flows(json!({ "query": { "term": { "dst_asn": 1221 } } }))
        .await;
    assert_eq!(hits["hits"]["total"]["value"], 1, "{hits}");
    assert_eq!(
        hits["hits"]["hits"][0]["_source"]["dst_as_org"],
        "Telstra Pty Ltd"
    );
    let (_, fields) = server.get("/api/fields?index=cwl-*").await;
    let names: Vec<&str> = fields["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    for name in ["src_country", "dst_asn", "dst_as_org"] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
}

#[tokio::test]
async fn a_corrupt_geoip_database_stops_the_server_at_start() {
    let data = tempfile::tempdir().unwrap();
    let broken = data.path().join("GeoLite2-City.mmdb");
    std::fs::write(&broken, b"\xab\xcd\xefMaxMind.com").unwrap();
    let mut config = TestServer::config(data.path());
    config.geo.geoip = Some(broken.clone());
    let error = AppState::initialize(&config).await.err().expect("refused");
    let message = format!("{error:#}");
    assert!(
        message.contains(&format!(
            "--geoip-db {}: not a valid MaxMind DB file",
            broken.display()
        )),
        "{message}"
    );
}

/// In front of a cluster, whose documents flowdash did not write, hits get country and AS as
/// they are answered; flows flowdash ingests into the cluster get them stored.
#[tokio::test]
async fn in_front_of_a_cluster_hits_get_country_and_as_at_display_time() {
    let db = crate::geo::tests::test_db;
    let cluster = TestServer::start().await;
    let front = TestServer::start_with(|c| {
        c.elastic = Some(cluster_config(&cluster.url("/es")));
        c.geo = crate::geo::GeoFiles {
            geoip: Some(db("GeoLite2-City-Test.mmdb")),
            asn: Some(db("GeoLite2-ASN-Test.mmdb")),
        };
    })
    .await;
    // No flows yet: no fields, the GeoIP ones included (the index pattern saved at start
    // would otherwise list only them).
    let (_, fields) = front.get("/api/fields?index=cwl-*").await;
    assert_eq!(fields["fields"], json!([]), "{fields}");
    // Written by someone else (the AWS Lambda, say): no GeoIP fields in the cluster.
    let theirs = "2 123456789010 eni-1 89.160.20.200 10.0.0.5 51000 22 6 3 180 1700000000 1700000060 REJECT OK\n";
    let (status, _) = cluster.post("/api/ingest", theirs).await;
    assert_eq!(status, 200);
    let (status, answer) = front
        .search_flows(json!({ "query": { "term": { "srcaddr": "89.160.20.200" } } }))
        .await;
    assert_eq!(status, 200, "{answer}");
    let source = &answer["hits"]["hits"][0]["_source"];
    assert_eq!(
        (
            &source["src_country"],
            &source["src_asn"],
            &source["src_as_org"]
        ),
        (&json!("SE"), &json!(29518), &json!("Bredband2 AB")),
        "{source}"
    );
    assert!(
        source.get("dst_country").is_none(),
        "10.0.0.5 is in no database"
    );
    // A search naming only the country (a CSV export of that column) gets it too; the
    // address it is made from is asked for, then left out again.
    let (status, answer) = front
        .search_flows(json!({ "query": { "term": { "srcaddr": "89.160.20.200" } },
            "_source": ["src_country", "dstport"] }))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["hits"]["hits"][0]["_source"],
        json!({ "src_country": "SE", "dstport": 22 })
    );
    let (_, answer) = front
        .search_flows(json!({ "query": { "term": { "srcaddr": "89.160.20.200" } },
            "_source": { "includes": ["srcaddr", "src_asn"] } }))
        .await;
    assert_eq!(
        answer["hits"]["hits"][0]["_source"],
        json!({ "srcaddr": "89.160.20.200", "src_asn": 29518 })
    );
    // Every other form of `_source`: a single field, an empty list (every field), fields
    // left out.
    let source_of = |source: Value| {
        let front = &front;
        async move {
            let (status, answer) = front
                .search_flows(json!({ "query": { "term": { "srcaddr": "89.160.20.200" } },
                    "_source": source }))
                .await;
            assert_eq!(status, 200, "{answer}");
            answer["hits"]["hits"][0]["_source"].clone()
        }
    };
    assert_eq!(
        source_of(json!("src_country")).await,
        json!({ "src_country": "SE" })
    );
    assert_eq!(
        source_of(json!({ "includes": "src_as_org" })).await,
        json!({ "src_as_org": "Bredband2 AB" })
    );
    let whole = source_of(json!([])).await;
    assert_eq!(
        (&whole["src_country"], &whole["srcaddr"]),
        (&json!("SE"), &json!("89.160.20.200"))
    );
    let less = source_of(json!({ "excludes": ["src_asn", "dstport"] })).await;
    assert_eq!(
        (
            &less["src_country"],
            less.get("src_asn"),
            less.get("dstport")
        ),
        (&json!("SE"), None, None),
        "{less}"
    );
    let (_, stored) = cluster
        .search_flows(json!({ "query": { "exists": { "field": "src_country" } } }))
        .await;
    assert_eq!(
        stored["hits"]["total"]["value"], 0,
        "the cluster's documents are unchanged"
    );

    // Splits by address say what is known of it: beside a pie's slice, a table's cell (its
    // CSV keeps the address alone) and each value of a conversation.
    {
        use app::model::visualization::*;
        use app::result::ChartData;
        let inputs = view_inputs(
            &app::model::time::TimeRange::last("1h"),
            1_700_000_600_000,
            None,
        );
        let draw = |kind: ChartKind, buckets: Vec<Bucket>| {
            let mut vis = Visualization::example_action_port_pie();
            vis.kind = kind;
            vis.buckets = buckets;
            let inputs = &inputs;
            let state = &front.state;
            async move {
                vis.validate().unwrap();
                crate::visualizations::chart_data(state, &vis, inputs)
                    .await
                    .unwrap()
            }
        };
        let known = "89.160.20.200 (SE · AS29518 Bredband2 AB)";
        let ChartData::Pie(pie) = draw(
            ChartKind::Pie,
            vec![terms_bucket(BucketRole::SplitSlices, "srcaddr", 5)],
        )
        .await
        else {
            panic!("not a pie");
        };
        let labels: Vec<&str> = pie.rings[0]
            .slices
            .iter()
            .map(|s| s.label.as_str())
            .collect();
        assert_eq!(labels, [known], "{pie:?}");
        let ChartData::Table(table) = draw(
            ChartKind::Table,
            vec![terms_bucket(BucketRole::Rows, "srcaddr", 5)],
        )
        .await
        else {
            panic!("not a table");
        };
        assert_eq!(table.rows[0][0], json!("89.160.20.200"));
        assert_eq!(table.cell_text(0, &table.rows[0][0]), known);
        let conversation = Bucket {
            role: BucketRole::Rows,
            agg: BucketAgg::MultiTerms {
                fields: vec!["srcaddr".into(), "dstaddr".into()],
                size: 5,
                order: TermsOrder::MetricDesc,
            },
        };
        let ChartData::Table(table) = draw(ChartKind::Table, vec![conversation]).await else {
            panic!("not a table");
        };
        let cells: Vec<String> = (0..2)
            .map(|column| table.cell_text(column, &table.rows[0][column]))
            .collect();
        assert_eq!(cells, [known, "10.0.0.5"], "{table:?}");
    }

    // Listed, but not offered for splits or queries the cluster cannot answer.
    let (_, fields) = front.get("/api/fields?index=cwl-*").await;
    let country = fields["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "src_country")
        .cloned();
    assert_eq!(
        country.map(|f| (f["searchable"].clone(), f["aggregatable"].clone())),
        Some((json!(false), json!(false)))
    );

    // What flowdash ingests into the cluster is stored with them.
    let ours = "2 123456789010 eni-1 10.0.0.5 1.128.0.1 51001 443 6 9 900 1700000100 1700000160 ACCEPT OK\n";
    let (status, report) = front.post("/api/ingest", ours).await;
    assert_eq!(
        (status, report["accepted"].as_u64()),
        (200, Some(1)),
        "{report}"
    );
    let (_, stored) = cluster
        .search_flows(json!({ "query": { "term": { "dst_asn": 1221 } } }))
        .await;
    assert_eq!(stored["hits"]["total"]["value"], 1, "{stored}");
}
