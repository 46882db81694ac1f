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
        };
        adjust(&mut config);
        let state = AppState::embedded(&config).unwrap();
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
