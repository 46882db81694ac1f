//! The hostile requests that once took the server down, wrote from a foreign page, leaked a
//! cluster password or redirected off the server, sent over a real socket.

use std::net::SocketAddr;

use axum::response::IntoResponse;
use base64::Engine;
use serde_json::{json, Value};

use super::tests::{cluster_config, TestServer};

const LINES: &str = "\
2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK
2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK
";

async fn still_serving(server: &TestServer) {
    let (status, body) = server.get("/api/health").await;
    assert_eq!(status, 200, "the server still answers: {body}");
}

#[tokio::test]
async fn deeply_nested_queries_are_refused_and_the_server_lives_on() {
    let server = TestServer::start().await;
    server.post("/api/ingest", LINES).await;
    let nested = format!("{}action:ACCEPT{}", "(".repeat(810), ")".repeat(810));
    let negated = format!("{}action:ACCEPT", "-".repeat(3700));
    for text in [nested, negated] {
        let (status, error) = server
            .post_json(
                "/api/search",
                &json!({ "index": "cwl-*", "body": { "query": { "query_string": { "query": text } } } }),
            )
            .await;
        assert_eq!(status, 400, "{error}");
        assert!(
            error["error"]["reason"]
                .as_str()
                .unwrap()
                .contains("nest deeper than"),
            "{error}"
        );
    }
    // Within the limit, groups still work.
    let (status, answer) = server
        .post_json(
            "/api/search",
            &json!({ "index": "cwl-*", "body": { "query": { "query_string": { "query": format!("{}action:REJECT{}", "(".repeat(20), ")".repeat(20)) } } } }),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["hits"]["total"]["value"], 1);

    // A saved visualization whose KQL nests 1 920 groups, drawn by a plain link.
    let mut vis =
        serde_json::to_value(app::model::visualization::Visualization::example_action_port_pie())
            .unwrap();
    vis["query"] = json!({ "language": "kql", "text": format!("{}action:ACCEPT{}", "(".repeat(1920), ")".repeat(1920)) });
    let (status, created) = server
        .post_json(
            "/api/saved_objects/visualization/deep",
            &json!({ "attributes": vis }),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let svg = server
        .client
        .get(server.url("/api/visualizations/deep/render.svg?from=now-15y"))
        .send()
        .await
        .unwrap();
    let svg = svg.text().await.unwrap();
    assert!(
        svg.contains("nest deeper than"),
        "the image says why: {svg}"
    );
    still_serving(&server).await;
}

#[tokio::test]
async fn many_valued_terms_queries_are_bounded_and_exact() {
    let server = TestServer::start().await;
    server.post("/api/ingest", LINES).await;
    let search = |values: Vec<Value>, field: &str| {
        json!({ "index": "cwl-*", "body": { "size": 0, "track_total_hits": true,
            "query": { "terms": { field: values } } } })
    };
    // 20 000 addresses, one of them stored, and a CIDR block holding another.
    let mut addresses: Vec<Value> = (0..20_000)
        .map(|i| json!(format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256)))
        .collect();
    addresses.push(json!("172.31.16.139"));
    addresses.push(json!("172.31.9.0/24"));
    let (status, answer) = server
        .post_json("/api/search", &search(addresses, "srcaddr"))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["hits"]["total"]["value"], 2);
    let ports: Vec<Value> = (3000..23_000).map(|p| json!(p)).collect();
    let (_, answer) = server
        .post_json("/api/search", &search(ports, "dstport"))
        .await;
    assert_eq!(answer["hits"]["total"]["value"], 1, "3389 only");
    let words: Vec<Value> = (0..20_000)
        .map(|i| json!(format!("eni-{i}")))
        .chain([json!("REJECT")])
        .collect();
    let (_, answer) = server
        .post_json("/api/search", &search(words, "action"))
        .await;
    assert_eq!(answer["hits"]["total"]["value"], 1);

    let too_many: Vec<Value> = (0..65_537).map(|p| json!(p)).collect();
    let (status, error) = server
        .post_json("/api/search", &search(too_many, "dstport"))
        .await;
    assert_eq!(status, 400);
    assert_eq!(error["error"]["type"], "illegal_argument_exception");
    assert!(
        error["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("index.max_terms_count"),
        "{error}"
    );
}

#[tokio::test]
async fn a_multi_search_cannot_ask_for_more_hits_than_one_window() {
    let server = TestServer::start().await;
    let searches: Vec<Value> = (0..20)
        .map(|_| json!({ "index": "cwl-*", "body": { "size": 10_000 } }))
        .collect();
    let (status, error) = server
        .post_json("/api/msearch", &json!({ "searches": searches }))
        .await;
    assert_eq!(status, 429, "{error}");
    assert_eq!(error["error"]["type"], "circuit_breaking_exception");
    let body: String = (0..20)
        .map(|_| "{\"index\":\"cwl-*\"}\n{\"size\":10000}\n")
        .collect();
    let response = server
        .client
        .post(server.url("/es/_msearch"))
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
}

/// What a page on another site can make a browser send, without a preflight.
#[tokio::test]
async fn writes_from_foreign_pages_are_refused() {
    let server = TestServer::start().await;
    let import = "{\"type\":\"dashboard\",\"id\":\"vpc-flow-overview\",\"attributes\":{\"title\":\"OWNED by evil.example\",\"panels\":[]}}\n";
    let attempts: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("/api/ingest", vec![("content-type", "text/plain")]),
        (
            "/api/ingest",
            vec![("content-type", "application/x-www-form-urlencoded")],
        ),
        (
            "/api/ingest",
            vec![("content-type", "multipart/form-data; boundary=x")],
        ),
        ("/api/ingest", vec![("origin", "http://evil.example")]),
        (
            "/api/ingest",
            vec![
                ("sec-fetch-site", "cross-site"),
                ("content-type", "application/json"),
            ],
        ),
        (
            "/api/saved_objects/_import?overwrite=true",
            vec![("content-type", "text/plain")],
        ),
        (
            "/api/saved_objects/_import?overwrite=true",
            vec![
                ("origin", "http://evil.example"),
                ("content-type", "application/ndjson"),
            ],
        ),
        ("/es/_bulk", vec![("content-type", "text/plain")]),
    ];
    for (path, headers) in attempts {
        let mut request = server.client.post(server.url(path));
        for (name, value) in &headers {
            request = request.header(*name, *value);
        }
        let body = if path.starts_with("/api/ingest") {
            LINES.to_owned()
        } else {
            import.to_owned()
        };
        let response = request.body(body).send().await.unwrap();
        assert_eq!(response.status(), 403, "{path} {headers:?}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["type"], "security_exception", "{error}");
    }
    assert!(
        server.docs_per_index().iter().all(|(_, docs)| *docs == 0),
        "no flow was injected"
    );
    let (_, overview) = server
        .get("/api/saved_objects/dashboard/vpc-flow-overview")
        .await;
    assert_ne!(overview["attributes"]["title"], "OWNED by evil.example");

    // The same writes from flowdash's own pages, and from programs, pass.
    let own_origin = format!("http://{}", server.address);
    let response = server
        .client
        .post(server.url("/api/ingest"))
        .header("origin", own_origin)
        .header("sec-fetch-site", "same-origin")
        .body(LINES)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = server
        .client
        .post(server.url("/api/ingest"))
        .header("content-type", "text/plain")
        .header("kbn-xsrf", "true")
        .body(LINES)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "a script's write with the anti-CSRF header"
    );
}

#[tokio::test]
async fn foreign_host_names_are_refused_and_pages_carry_security_headers() {
    let server = TestServer::start().await;
    // DNS rebinding: the attacker's name, pointed at this server.
    let response = server
        .client
        .get(server.url("/api/saved_objects/_find?type=dashboard"))
        .header("host", "evil.example:3000")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let allowed =
        TestServer::start_with(|c| c.allowed_hosts = vec!["flowdash.internal".into()]).await;
    for host in ["flowdash.internal", "localhost:3000", "10.1.2.3:3000"] {
        let response = allowed
            .client
            .get(allowed.url("/api/health"))
            .header("host", host)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{host}");
    }
    let response = server
        .client
        .get(server.url("/api/health"))
        .send()
        .await
        .unwrap();
    let headers = response.headers();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'self'"),
        "{csp}"
    );
}

#[tokio::test]
async fn inline_scripts_run_only_with_the_nonce_of_their_answer() {
    let server = TestServer::start().await;
    let (users, _) = server_with_users(std::time::Duration::from_secs(60)).await;
    let mut nonces = Vec::new();
    for (server, path) in [
        (&server, "/"),
        (&server, "/visualize"),
        (&server, "/no-such-page"),
        (&users, "/login"),
    ] {
        let response = server.client.get(server.url(path)).send().await.unwrap();
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        let script_src = csp
            .split(';')
            .find(|d| d.trim().starts_with("script-src"))
            .unwrap();
        assert!(!script_src.contains("unsafe-inline"), "{csp}");
        let nonce = script_src
            .split_whitespace()
            .find_map(|s| s.strip_prefix("'nonce-")?.strip_suffix('\''))
            .unwrap_or_else(|| panic!("{path}: no nonce in {csp}"))
            .to_owned();
        assert!(nonce.len() >= 22, "128 bits: {nonce}");
        let page = response.text().await.unwrap();
        // Every inline script of the page carries this answer's nonce.
        let scripts: Vec<&str> = page.split("<script").skip(1).collect();
        assert!(!scripts.is_empty(), "{path} has scripts");
        for script in scripts {
            let tag = script.split('>').next().unwrap();
            if !tag.contains("src=") {
                assert!(
                    tag.contains(&format!("nonce=\"{nonce}\"")),
                    "{path}: an inline script without the nonce: <script{tag}>"
                );
            }
        }
        nonces.push(nonce);
    }
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 4, "a new nonce for every answer");
}

#[tokio::test]
async fn short_links_lead_only_to_flowdash_pages() {
    let server = TestServer::start().await;
    for target in [
        "/\\evil.example/x",
        "//evil.example/x",
        "/\t/evil.example",
        "/api/saved_objects/_export",
    ] {
        let (status, error) = server
            .post_json("/api/short_urls", &json!({ "url": target }))
            .await;
        assert_eq!(status, 400, "{target}: {error}");
    }
    let (status, link) = server
        .post_json(
            "/api/short_urls",
            &json!({ "url": "/dashboards/vpc-flow-overview?from=now-1h" }),
        )
        .await;
    assert_eq!(status, 200);
    let response = server.get_unfollowed(link["url"].as_str().unwrap()).await;
    assert_eq!(
        response.headers()["location"],
        "/dashboards/vpc-flow-overview?from=now-1h"
    );
    // A target written to the store by other means is checked again when it is followed.
    let id = server
        .state
        .short_urls
        .put("/\\evil.example/x")
        .await
        .unwrap();
    let response = server.get_unfollowed(&format!("/goto/{id}")).await;
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
}

#[tokio::test]
async fn index_names_are_validated_before_the_allow_list() {
    let server = TestServer::start().await;
    for index in [
        "cwl-*/_delete_by_query",
        "cwl-*/../.flowdash",
        "cwl-*,cwl-a:b",
        "CWL-*",
    ] {
        let (status, error) = server
            .post_json("/api/search", &json!({ "index": index, "body": {} }))
            .await;
        assert_eq!(status, 400, "{index}: {error}");
        assert_eq!(
            error["error"]["type"], "invalid_index_name_exception",
            "{error}"
        );
    }
}

#[tokio::test]
async fn control_characters_in_values_leave_the_svg_well_formed() {
    let server = TestServer::start().await;
    let now = chrono::Utc::now();
    let mut bulk = String::new();
    for (i, eni) in ["eni-\u{0}nul", "eni-\u{1b}[31mred", "eni-plain"]
        .iter()
        .enumerate()
    {
        let source = json!({
            "version": 2, "account_id": 123456789012i64, "interface_id": eni,
            "srcaddr": "10.0.1.5", "dstaddr": "10.0.2.9", "srcport": 443, "dstport": 51000, "protocol": 6,
            "packets": 10, "bytes": 840, "action": "ACCEPT", "log_status": "OK",
            "@timestamp": (now - chrono::Duration::minutes(5)).to_rfc3339(),
        });
        bulk.push_str(&format!(
            "{}\n{source}\n",
            json!({ "index": { "_index": format!("cwl-{}", now.format("%Y.%m.%d")), "_id": format!("x{i}") } })
        ));
    }
    let response = server
        .client
        .post(server.url("/es/_bulk?refresh=true"))
        .header("content-type", "application/x-ndjson")
        .body(bulk)
        .send()
        .await
        .unwrap();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["errors"], false, "{answer}");
    let mut vis =
        serde_json::to_value(app::model::visualization::Visualization::example_action_port_pie())
            .unwrap();
    vis["buckets"][1]["agg"]["terms"]["field"] = json!("interface_id");
    let (status, created) = server
        .post_json(
            "/api/saved_objects/visualization/enis",
            &json!({ "attributes": vis }),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let svg = server
        .client
        .get(server.url("/api/visualizations/enis/render.svg?from=now-1h"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(svg.contains("eni-plain"), "{svg}");
    assert!(
        !svg.chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')),
        "no character XML cannot hold"
    );
}

/// A stand-in for a cluster, or a proxy in front of it, that echoes the request headers in
/// its error answers, as some do.
async fn echoing_cluster() -> SocketAddr {
    async fn root() -> axum::Json<Value> {
        axum::Json(
            json!({ "version": { "number": "7.10.2", "distribution": "elasticsearch" }, "tagline": "You Know, for Search" }),
        )
    }
    async fn echo(headers: axum::http::HeaderMap) -> axum::response::Response {
        let echoed: Vec<String> = headers
            .iter()
            .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap_or_default()))
            .collect();
        (
            axum::http::StatusCode::BAD_REQUEST,
            axum::Json(json!({ "error": { "type": "proxy_error", "reason": format!("bad request; you sent {}", echoed.join("; ")) }, "status": 400 })),
        )
            .into_response()
    }
    let app = axum::Router::new()
        .route("/", axum::routing::get(root))
        .fallback(echo);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

#[tokio::test]
async fn cluster_credentials_never_reach_an_answer() {
    const PASSWORD: &str = "S3cretPassA";
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("alice:{PASSWORD}"));
    let leaks = |text: &str| text.contains(PASSWORD) || text.contains(&basic);

    let cluster = echoing_cluster().await;
    let url = format!("http://alice:{PASSWORD}@{cluster}");
    let server = TestServer::start_with(|c| {
        c.elastic = Some(cluster_config(&url));
        c.local_saved_objects = true;
    })
    .await;
    let mut answers = Vec::new();
    let (_, health) = server.get("/api/health").await;
    answers.push(health.to_string());
    let (status, search) = server
        .post_json("/api/search", &json!({ "index": "cwl-*", "body": {} }))
        .await;
    assert_eq!(status, 400, "{search}");
    assert!(
        search["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("you sent"),
        "{search}"
    );
    answers.push(search.to_string());
    let (_, msearch) = server
        .post_json(
            "/api/msearch",
            &json!({ "searches": [{ "index": "cwl-*", "body": {} }] }),
        )
        .await;
    answers.push(msearch.to_string());
    let (_, fields) = server.get("/api/fields?index=cwl-*").await;
    answers.push(fields.to_string());

    // A cluster that cannot be reached: its URL is in the message, its password is not.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let unreachable_url = format!("http://alice:{PASSWORD}@{closed}");
    let unreachable = TestServer::start_with(|c| {
        c.elastic = Some(cluster_config(&unreachable_url));
        c.local_saved_objects = true;
    })
    .await;
    let (_, health) = unreachable.get("/api/health").await;
    assert!(
        health["cluster"]["error"]
            .as_str()
            .unwrap()
            .contains(&closed.to_string()),
        "{health}"
    );
    answers.push(health.to_string());
    let (status, search) = unreachable
        .post_json("/api/search", &json!({ "index": "cwl-*", "body": {} }))
        .await;
    assert_eq!(status, 502, "{search}");
    answers.push(search.to_string());

    for answer in answers {
        assert!(!leaks(&answer), "a secret in an answer: {answer}");
    }
}

/// `flowdash ingest --to URL`: it once panicked on every run ("no reactor running").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ingest_command_sends_to_a_running_server_and_survives_bombs() {
    use std::io::Write;

    use clap::Parser;
    let server = TestServer::start().await;
    let files = tempfile::tempdir().unwrap();
    let text = files.path().join("a.log");
    std::fs::write(&text, LINES).unwrap();
    // A CloudWatch-looking file that expands to 100 MiB.
    let bomb = files.path().join("bomb.json.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder
        .write_all(b"{\"messageType\":\"DATA_MESSAGE\",\"logEvents\":[")
        .unwrap();
    encoder.write_all(&vec![b' '; 100 << 20]).unwrap();
    std::fs::write(&bomb, encoder.finish().unwrap()).unwrap();
    let cli = crate::cli::Cli::try_parse_from([
        "flowdash",
        "ingest",
        "--json",
        "--to",
        &server.url(""),
        bomb.to_str().unwrap(),
        text.to_str().unwrap(),
    ])
    .unwrap();
    let crate::cli::Command::Ingest(args) = cli.command else {
        unreachable!("ingest")
    };
    let config = args.config().unwrap();
    let handle = tokio::runtime::Handle::current();
    let code = tokio::task::spawn_blocking(move || crate::commands::ingest::run(config, &handle))
        .await
        .expect("the command does not panic")
        .unwrap();
    assert_eq!(
        code,
        std::process::ExitCode::from(1),
        "the bomb is one rejected input"
    );
    let stored: u64 = server.docs_per_index().iter().map(|(_, docs)| docs).sum();
    assert_eq!(stored, 2, "the text file still went in");
}

/// Flow lines from `count` distinct sources to `count` distinct destinations, now.
fn distinct_pairs(count: u32) -> String {
    let now = chrono::Utc::now().timestamp();
    (0..count)
        .map(|i| {
            format!(
                "2 123456789010 eni-1 10.{}.{}.{} 172.16.{}.{} 40000 443 6 1 100 {} {} ACCEPT OK\n",
                i >> 16,
                (i >> 8) & 255,
                i & 255,
                (i >> 8) & 255,
                i & 255,
                now - 120,
                now - 60
            )
        })
        .collect()
}

#[tokio::test]
async fn aggregations_past_the_memory_budget_are_refused_while_collected() {
    let server = TestServer::start_with(|c| c.max_search_memory_bytes = 32 << 20).await;
    let (status, report) = server.post("/api/ingest", distinct_pairs(20_000)).await;
    assert_eq!(
        (status, report["accepted"].as_u64()),
        (200, Some(20_000)),
        "{report}"
    );
    let nested = json!({ "index": "cwl-*", "body": { "size": 0, "aggs": {
        "src": { "terms": { "field": "srcaddr", "size": 65535 },
            "aggs": { "dst": { "terms": { "field": "dstaddr", "size": 65535 } } } } } } });
    let (status, error) = server.post_json("/api/search", &nested).await;
    assert_eq!(status, 429, "{error}");
    assert_eq!(error["error"]["type"], "circuit_breaking_exception");
    // One level is well within the budget, and the server goes on answering.
    let single = json!({ "index": "cwl-*", "body": { "size": 0, "aggs": {
        "src": { "terms": { "field": "srcaddr", "size": 65535 } } } } });
    let (status, answer) = server.post_json("/api/search", &single).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["aggregations"]["src"]["buckets"]
            .as_array()
            .unwrap()
            .len(),
        20_000
    );
}

#[tokio::test]
async fn a_search_past_its_deadline_stops_collecting() {
    let server = TestServer::start().await;
    server.post("/api/ingest", distinct_pairs(2_000)).await;
    let engine = server.engine();
    engine.set_search_timeout(std::time::Duration::ZERO);
    let error = crate::backend::embedded::search::search(
        &engine,
        "cwl-*",
        &json!({ "size": 0, "aggs": { "src": { "terms": { "field": "srcaddr" } } } }),
    )
    .expect_err("past its deadline");
    assert_eq!(error.status(), 504, "{error}");
}

#[tokio::test]
async fn a_multi_search_past_its_deadline_answers_each_search_with_no_work_left_running() {
    // Searches of a multi-search that cannot all finish in time: each stops at the deadline
    // (its collectors check it) and answers on its own, and when the answer arrives no search
    // is still running, in either form of the answer. (A multi-search used to run as one
    // piece of work: its answer was a 504 at the deadline while its searches ran on.)
    let timeout = std::time::Duration::from_millis(300);
    let server = TestServer::start_with(|c| c.search_timeout = timeout).await;
    for _ in 0..2 {
        let (status, report) = server.post("/api/ingest", distinct_pairs(50_000)).await;
        assert_eq!(status, 200, "{report}");
    }
    // Collecting is the work (one bucket to harvest): searches stop within it. Every search
    // differs (its `size`), in every round, so that none is answered from the request cache.
    let heavy = |n: usize| {
        json!({ "index": "cwl-*", "body": { "size": 0, "aggs": {
            "ports": { "terms": { "field": "dstport", "size": 10 + n },
                "aggs": { "bytes": { "sum": { "field": "bytes" } } } } } } })
    };
    // Each search in time (all of them take longer than one deadline), then past it.
    let engine = server.engine();
    for (round, (deadline, accept)) in [
        (timeout, "application/json"),
        (timeout, "application/x-ndjson"),
        // 1 ms: on an idle machine a whole search of these 100,000 flows can take less than
        // 20 ms, and then none of them is past its deadline.
        (std::time::Duration::from_millis(1), "application/json"),
        (std::time::Duration::from_millis(1), "application/x-ndjson"),
    ]
    .into_iter()
    .enumerate()
    {
        let searches: Vec<Value> = (0..12).map(|i| heavy(round * 12 + i)).collect();
        engine.set_search_timeout(deadline);
        let response = server
            .client
            .post(server.url("/api/msearch"))
            .header("accept", accept)
            .json(&json!({ "searches": searches }))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert_eq!(engine.searches_running(), 0, "{accept}");
        assert_eq!(status, 200, "{accept}: {text}");
        let answers: Vec<Value> = if accept == "application/json" {
            let body: Value = serde_json::from_str(&text).unwrap();
            body["responses"].as_array().unwrap().clone()
        } else {
            text.lines()
                .map(|line| serde_json::from_str::<Value>(line).unwrap()["response"].clone())
                .collect()
        };
        assert_eq!(answers.len(), 12, "{accept}");
        let mut timed_out = 0;
        for answer in &answers {
            match answer["status"].as_u64() {
                Some(200) => {}
                Some(504) => {
                    assert_eq!(answer["error"]["type"], "search_timeout", "{answer}");
                    timed_out += 1;
                }
                _ => panic!("{deadline:?}, {accept}: {answer}"),
            }
        }
        // Collectors read the clock between segments and every 65,536 documents: a search
        // may finish a little past a deadline this short, but not all of them do.
        assert!(deadline == timeout || timed_out > 0, "{accept}: {text}");
    }
    still_serving(&server).await;
}

#[tokio::test]
async fn wildcard_patterns_the_fuzzers_found_slow_are_answered_within_a_second() {
    // Each of these took seconds to compile into a determinized automaton, inside the search
    // deadline (which counts from the request's start) and before any check of it.
    let server = TestServer::start().await;
    server.post("/api/ingest", LINES).await;
    let engine = server.engine();
    engine.set_search_timeout(std::time::Duration::from_secs(1));
    let slow = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/slow");
    let mut bodies = Vec::new();
    for entry in std::fs::read_dir(slow).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&data).replace('\0', " ");
        bodies.push(match serde_json::from_str::<Value>(&text) {
            // A search body (search_body) or an aggregations object (aggs).
            Ok(body) if body.get("query").is_some() || body.get("size").is_some() => body,
            Ok(aggs) => json!({ "size": 0, "aggs": aggs }),
            // A Lucene query string (lucene).
            Err(_) => json!({ "query": { "query_string": { "query": text } } }),
        });
    }
    assert!(bodies.len() >= 10);
    bodies.push(json!({ "query": { "wildcard": { "@message": format!("*{}*{}*", "?".repeat(100), "a?".repeat(70)) } } }));
    for body in bodies {
        let (status, answer) = server.post_json("/es/cwl-*/_search", &body).await;
        assert!(
            status == 200 || status == 400,
            "{status} {answer} for {body}"
        );
        if status == 400 {
            assert_eq!(
                answer["error"]["type"], "illegal_argument_exception",
                "{answer}"
            );
        }
    }
    still_serving(&server).await;
}

/// A server with `--auth users` and one user of each role; the ingest user's token.
async fn server_with_users(session_ttl: std::time::Duration) -> (TestServer, String) {
    server_with_users_and(session_ttl, |_| {}).await
}

/// [`server_with_users`], configured further by `adjust`.
async fn server_with_users_and(
    session_ttl: std::time::Duration,
    adjust: impl FnOnce(&mut crate::http::ServeConfig),
) -> (TestServer, String) {
    use crate::auth::users::{Secret, UserStore};
    use crate::auth::Role;
    let token = std::sync::Mutex::new(String::new());
    let server = TestServer::start_with(|c| {
        adjust(c);
        let users = UserStore::open(&c.data_dir).unwrap();
        for (name, role) in [
            ("ana", Role::Admin),
            ("eddie", Role::Editor),
            ("vera", Role::Viewer),
        ] {
            users
                .add(name, role, Some(&format!("{name}-password")))
                .unwrap();
        }
        if let Secret::Token(t) = users.add("lambda", Role::Ingest, None).unwrap() {
            *token.lock().unwrap() = t;
        }
        c.auth = crate::auth::AuthConfig {
            mode: crate::auth::AuthMode::Users,
            session_ttl,
            ..crate::auth::AuthConfig::default()
        };
    })
    .await;
    let token = token.into_inner().unwrap();
    (server, token)
}

/// Logs in; answers the `Cookie` header value of the session.
async fn log_in(server: &TestServer, user: &str, password: &str) -> Result<String, u16> {
    let response = server
        .client
        .post(server.url("/api/login"))
        .json(&json!({ "username": user, "password": password }))
        .send()
        .await
        .unwrap();
    if !response.status().is_success() {
        return Err(response.status().as_u16());
    }
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    Ok(cookie.split(';').next().unwrap().to_owned())
}

#[tokio::test]
async fn each_role_may_do_what_it_may_and_nothing_else() {
    let (server, token) = server_with_users(std::time::Duration::from_secs(3600)).await;
    check_the_role_table(&server, &token).await;
}

#[tokio::test]
async fn in_front_of_a_cluster_each_role_may_do_the_same() {
    // The cluster: another flowdash's Elasticsearch surface, as the client is always tested.
    let cluster = TestServer::start().await;
    let url = format!("http://{}/es", cluster.address);
    let (server, token) = server_with_users_and(std::time::Duration::from_secs(3600), |c| {
        c.elastic = Some(cluster_config(&url));
        c.local_saved_objects = true;
    })
    .await;
    assert!(
        server.state.embedded.is_none(),
        "searches go to the cluster"
    );
    check_the_role_table(&server, &token).await;
    // What the ingest user sent went to the cluster.
    let (status, found) = cluster
        .post_json(
            "/es/cwl-*/_search",
            &json!({ "size": 0, "track_total_hits": true }),
        )
        .await;
    assert_eq!(status, 200, "{found}");
    assert!(
        found["hits"]["total"]["value"].as_u64().unwrap() > 0,
        "{found}"
    );
}

/// Every route of the table with every role's credentials, and with none.
async fn check_the_role_table(server: &TestServer, token: &str) {
    let mut credentials = Vec::new();
    for user in ["ana", "eddie", "vera"] {
        let cookie = log_in(server, user, &format!("{user}-password"))
            .await
            .unwrap();
        credentials.push((user, ("cookie", cookie)));
    }
    credentials.push(("lambda", ("authorization", format!("Bearer {token}"))));
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("lambda:{token}"));
    credentials.push(("lambda-basic", ("authorization", format!("Basic {basic}"))));

    let today = chrono::Utc::now().format("%Y.%m.%d").to_string();
    let bulk = format!(
        "{}\n{}\n",
        json!({ "index": { "_index": format!("cwl-{today}"), "_id": "a" } }),
        json!({ "interface_id": "eni-1", "@timestamp": chrono::Utc::now().to_rfc3339(), "action": "ACCEPT" })
    );
    let vis = json!({ "attributes": serde_json::to_value(app::model::visualization::Visualization::example_action_port_pie()).unwrap() });
    let pattern =
        json!({ "attributes": { "title": "cwl-*", "time_field": "@timestamp", "fields": [] } });
    // (method, path, body, who may: ana eddie vera lambda lambda-basic)
    let table: Vec<(&str, &str, Value, [bool; 5])> = vec![
        (
            "GET",
            "/api/saved_objects/_find?type=dashboard",
            Value::Null,
            [true, true, true, false, false],
        ),
        (
            "POST",
            "/api/search",
            json!({ "index": "cwl-*", "body": {} }),
            [true, true, true, false, false],
        ),
        (
            "POST",
            "/api/short_urls",
            json!({ "url": "/dashboards/x" }),
            [true, true, true, false, false],
        ),
        (
            "POST",
            "/api/saved_objects/visualization",
            vis.clone(),
            [true, true, false, false, false],
        ),
        (
            "POST",
            "/api/saved_objects/index-pattern",
            pattern,
            [true, false, false, false, false],
        ),
        (
            "POST",
            "/api/ingest",
            Value::String(LINES.into()),
            [true, false, false, true, true],
        ),
        (
            "POST",
            "/es/_bulk",
            Value::String(bulk),
            [true, false, false, true, true],
        ),
        (
            "GET",
            "/es/.flowdash/_search",
            Value::Null,
            [true, false, false, false, false],
        ),
        (
            "POST",
            "/es/cwl-*/_search",
            json!({}),
            [true, true, true, false, false],
        ),
        ("GET", "/", Value::Null, [true, true, true, false, false]),
    ];
    for (method, path, body, allowed) in &table {
        for ((user, (header, value)), may) in credentials.iter().zip(allowed) {
            let mut request = server
                .client
                .request(method.parse().unwrap(), server.url(path))
                .header(*header, value.as_str());
            request = match body {
                Value::Null => request,
                Value::String(text) => request
                    .header("content-type", "application/x-ndjson")
                    .body(text.clone()),
                other => request.json(other),
            };
            let status = request.send().await.unwrap().status().as_u16();
            if *may {
                assert!(
                    !matches!(status, 401 | 403),
                    "{user} may {method} {path}: {status}"
                );
            } else {
                assert_eq!(status, 403, "{user} may not {method} {path}");
            }
        }
        // No credentials: 401 for the API, the login page for pages.
        let response = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .request(method.parse().unwrap(), server.url(path))
            .send()
            .await
            .unwrap();
        if *path == "/" {
            assert_eq!(response.status(), 303);
            assert!(response.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with("/login?next="));
        } else {
            assert_eq!(
                response.status(),
                401,
                "{method} {path} without credentials"
            );
        }
    }
    let (status, _) = server.get("/api/health").await;
    assert_eq!(status, 200, "health needs no login");
    let response = server
        .client
        .get(server.url("/login"))
        .send()
        .await
        .unwrap();
    assert!(response.text().await.unwrap().contains("Log in"));
}

#[tokio::test]
async fn logins_are_rate_limited_and_sessions_expire() {
    let (server, _) = server_with_users(std::time::Duration::from_secs(1)).await;
    for _ in 0..5 {
        assert_eq!(log_in(&server, "vera", "wrong").await, Err(401));
    }
    assert_eq!(
        log_in(&server, "vera", "vera-password").await,
        Err(429),
        "locked for a minute"
    );
    let cookie = log_in(&server, "ana", "ana-password").await.unwrap();
    let find = |cookie: String| {
        server
            .client
            .get(server.url("/api/me"))
            .header("cookie", cookie)
            .send()
    };
    let me: Value = find(cookie.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(me["role"], "admin");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        find(cookie.clone()).await.unwrap().status(),
        401,
        "the session expired"
    );
    // Logging out ends a session at once.
    let cookie = log_in(&server, "ana", "ana-password").await.unwrap();
    let response = server
        .client
        .post(server.url("/api/logout"))
        .header("cookie", cookie.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(find(cookie).await.unwrap().status(), 401);
}

#[tokio::test]
async fn a_session_outlives_a_restart() {
    let (before, _) = server_with_users(std::time::Duration::from_secs(3600)).await;
    let cookie = log_in(&before, "eddie", "eddie-password").await.unwrap();
    let ended = log_in(&before, "vera", "vera-password").await.unwrap();
    before
        .client
        .post(before.url("/api/logout"))
        .header("cookie", ended.clone())
        .send()
        .await
        .unwrap();
    // A new server with the data directory's users and sessions (the store itself is locked
    // by the first): the upgrade of a running flowdash.
    let old_dir = before.data.path().to_owned();
    let after = TestServer::start_with(|c| {
        for file in ["users.json", "sessions.json"] {
            std::fs::copy(old_dir.join(file), c.data_dir.join(file)).unwrap();
        }
        c.auth = crate::auth::AuthConfig {
            mode: crate::auth::AuthMode::Users,
            ..crate::auth::AuthConfig::default()
        };
    })
    .await;
    let me = |cookie: String| {
        after
            .client
            .get(after.url("/api/me"))
            .header("cookie", cookie)
            .send()
    };
    let response = me(cookie).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["user"], "eddie");
    assert_eq!(
        me(ended).await.unwrap().status(),
        401,
        "logged out stays out"
    );
}

#[tokio::test]
async fn one_address_trying_many_names_is_limited_too() {
    let (server, _) = server_with_users(std::time::Duration::from_secs(3600)).await;
    for attempt in 0..20 {
        assert_eq!(
            log_in(&server, &format!("guess{attempt}"), "password").await,
            Err(401)
        );
    }
    assert_eq!(
        log_in(&server, "ana", "ana-password").await,
        Err(429),
        "twenty failures from one address lock it for a minute, whatever the name"
    );
    let basic = base64::engine::general_purpose::STANDARD.encode("ana:ana-password");
    let response = server
        .client
        .get(server.url("/api/me"))
        .header("authorization", format!("Basic {basic}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        401,
        "Basic authentication is limited alike"
    );
}

#[tokio::test]
async fn user_changes_from_the_command_line_apply_to_a_running_server_at_once() {
    use crate::auth::users::UserStore;
    let (server, _) = server_with_users(std::time::Duration::from_secs(3600)).await;
    let as_basic = |user: &str, password: &str| {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        server
            .client
            .get(server.url("/api/me"))
            .header("authorization", format!("Basic {basic}"))
            .send()
    };
    // The second request is answered from the remembered verification, the same way.
    for _ in 0..2 {
        let response = as_basic("eddie", "eddie-password").await.unwrap();
        assert_eq!(response.status(), 200);
        let me: Value = response.json().await.unwrap();
        assert_eq!(me["role"], "editor");
    }
    let vera = log_in(&server, "vera", "vera-password").await.unwrap();

    // `flowdash users passwd eddie`, `users remove vera` and `users add newbie`, run beside it.
    let users = UserStore::open(server.data.path()).unwrap();
    users.reset("eddie", Some("a-new-password")).unwrap();
    users.remove("vera").unwrap();
    users
        .add("newbie", crate::auth::Role::Viewer, Some("newbie-password"))
        .unwrap();

    assert_eq!(
        as_basic("eddie", "eddie-password").await.unwrap().status(),
        401,
        "the old password no longer works, remembered or not"
    );
    assert_eq!(
        as_basic("eddie", "a-new-password").await.unwrap().status(),
        200
    );
    let me = server
        .client
        .get(server.url("/api/me"))
        .header("cookie", vera)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401, "a removed user's session ends");
    assert!(log_in(&server, "newbie", "newbie-password").await.is_ok());
}

#[tokio::test]
async fn a_server_reachable_from_other_machines_needs_users() {
    let data = tempfile::tempdir().unwrap();
    let mut config = TestServer::config(data.path());
    config.listen = "0.0.0.0:0".parse().unwrap();
    let error = crate::http::serve(config).await.expect_err("refused");
    assert!(error.to_string().contains("--auth users"), "{error}");
    let mut config = TestServer::config(data.path());
    config.auth.mode = crate::auth::AuthMode::Users;
    let error = crate::http::AppState::new(&config)
        .err()
        .expect("no users yet");
    assert!(error.to_string().contains("flowdash users add"), "{error}");
}

#[tokio::test]
async fn https_with_a_certificate_of_our_own() {
    let data = tempfile::tempdir().unwrap();
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let cert = data.path().join("cert.pem");
    let key = data.path().join("key.pem");
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = TestServer::config(&data.path().join("data"));
    config.listen = format!("127.0.0.1:{port}").parse().unwrap();
    config.tls = Some(crate::http::TlsFiles { cert, key });
    let server = tokio::spawn(crate::http::serve(config));
    let client = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).unwrap(),
        )
        .build()
        .unwrap();
    let mut answer = None;
    for _ in 0..100 {
        if let Ok(response) = client
            .get(format!("https://127.0.0.1:{port}/api/health"))
            .send()
            .await
        {
            answer = Some(response.status().as_u16());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(answer, Some(200), "served over HTTPS");
    let plain = reqwest::get(format!("http://127.0.0.1:{port}/api/health")).await;
    assert!(
        plain.is_err() || !plain.unwrap().status().is_success(),
        "no plain HTTP on the TLS port"
    );
    server.abort();

    // A key that does not parse is an error at start-up, not a server that cannot answer.
    let mut config = TestServer::config(&data.path().join("data2"));
    std::fs::write(data.path().join("bad.pem"), "not a key").unwrap();
    config.tls = Some(crate::http::TlsFiles {
        cert: data.path().join("cert.pem"),
        key: data.path().join("bad.pem"),
    });
    let error = crate::http::serve(config).await.expect_err("a bad key");
    assert!(error.to_string().contains("--tls-key"), "{error}");
}

#[tokio::test]
async fn a_trusted_proxy_names_the_user_and_no_one_else_can() {
    use crate::auth::users::UserStore;
    use crate::auth::Role;
    let trusted = TestServer::start_with(|c| {
        UserStore::open(&c.data_dir)
            .unwrap()
            .add("ana@example.com", Role::Admin, Some("ana-password"))
            .unwrap();
        c.auth.mode = crate::auth::AuthMode::Proxy;
        c.auth.proxy.addresses = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let me = |server: &TestServer, user: Option<&'static str>| {
        let mut request = server.client.get(server.url("/api/me"));
        if let Some(user) = user {
            request = request.header("x-forwarded-user", user);
        }
        request.send()
    };
    let answer: Value = me(&trusted, Some("ana@example.com"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["role"], "admin", "a listed user keeps her role");
    let answer: Value = me(&trusted, Some("bo@example.com"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["role"], "viewer", "others get the default role");
    assert_eq!(me(&trusted, None).await.unwrap().status(), 401);

    // The same header from an address that is not the proxy's counts for nothing.
    let untrusted = TestServer::start_with(|c| {
        c.auth.mode = crate::auth::AuthMode::Proxy;
        c.auth.proxy.addresses = vec!["10.9.9.9".parse().unwrap()];
    })
    .await;
    assert_eq!(
        me(&untrusted, Some("ana@example.com"))
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn compressed_payloads_are_bounded_as_a_whole() {
    use std::io::Write;
    let server = TestServer::start().await;
    let gzip = |bytes: &[u8]| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    };
    // Three Firehose records, each 40 MiB once decompressed: 120 MiB together, over the
    // server's 64 MiB.
    let mut record = b"{\"messageType\":\"DATA_MESSAGE\",\"logEvents\":[]".to_vec();
    record.extend(std::iter::repeat_n(b' ', 40 << 20));
    record.push(b'}');
    let data = base64::engine::general_purpose::STANDARD.encode(gzip(&record));
    let firehose = json!({ "records": [ { "data": data }, { "data": data }, { "data": data } ] });
    let (status, report) = server.post("/api/ingest", firehose.to_string()).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["rejected"], 1, "{report}");
    assert!(
        report["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("limit"),
        "{report}"
    );

    // A `_bulk` body that expands past the body limit (8 MiB here).
    let mut bulk = String::new();
    let action = json!({ "index": { "_index": "cwl-2020.03.06" } }).to_string();
    while bulk.len() < 20 << 20 {
        bulk.push_str(&action);
        bulk.push('\n');
        bulk.push_str("{\"interface_id\":\"eni-1\",\"@timestamp\":\"2020-03-06T05:00:00Z\"}\n");
    }
    let response = server
        .client
        .post(server.url("/es/_bulk"))
        .header("content-type", "application/x-ndjson")
        .header("content-encoding", "gzip")
        .body(gzip(bulk.as_bytes()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert!(
        error["error"]["reason"].as_str().unwrap().contains("limit"),
        "{error}"
    );
    still_serving(&server).await;
}
