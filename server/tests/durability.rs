//! Durability of acknowledged writes: the real `flowdash` binary is killed with SIGKILL while
//! a client ingests over HTTP (`/api/ingest` and `/es/_bulk`), then started again on the same
//! data directory. Every record whose request was answered must be there, and the store must
//! open. Ten trials, each killed at a different moment.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const TRIALS: u32 = 10;
const RECORDS_PER_REQUEST: u32 = 200;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(data: &Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_flowdash"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("flowdash starts")
}

async fn wait_until_up(client: &reqwest::Client, base: &str) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if let Ok(response) = client.get(format!("{base}/api/health")).send().await {
            if response.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("flowdash did not come up at {base}");
}

/// One request's records: flow lines of their own ENI, so each request can be counted.
fn lines(eni: &str, now: i64) -> String {
    (0..RECORDS_PER_REQUEST)
        .map(|i| {
            format!(
                "2 123456789012 {eni} 10.0.{}.{} 10.1.0.1 {} 443 6 1 100 {} {} ACCEPT OK\n",
                i / 256,
                i % 256,
                1024 + i,
                now - 600,
                now - 540
            )
        })
        .collect()
}

/// The same records as `_bulk` actions, as the Lambda sends them.
fn bulk(eni: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    let index = format!("cwl-{}", now.format("%Y.%m.%d"));
    (0..RECORDS_PER_REQUEST)
        .map(|i| {
            let action = json!({ "index": { "_index": index, "_id": format!("{eni}-{i}") } });
            let source = json!({
                "version": 2, "account_id": 123456789012i64, "interface_id": eni,
                "srcaddr": format!("10.0.{}.{}", i / 256, i % 256), "dstaddr": "10.1.0.1",
                "srcport": 1024 + i, "dstport": 443, "protocol": 6, "packets": 1, "bytes": 100,
                "action": "ACCEPT", "log_status": "OK",
                "@timestamp": (now - chrono::Duration::minutes(10)).to_rfc3339(),
            });
            format!("{action}\n{source}\n")
        })
        .collect()
}

/// Sends requests until the server stops answering; returns the ENIs whose request was
/// acknowledged, and counts them in `acknowledged_so_far` as they are.
async fn ingest_until_killed(
    client: &reqwest::Client,
    base: &str,
    trial: u32,
    acknowledged_so_far: &std::sync::atomic::AtomicUsize,
) -> Vec<String> {
    let mut acknowledged = Vec::new();
    for request in 0.. {
        let eni = format!("eni-{trial:02}{request:05}");
        let now = chrono::Utc::now();
        let response = if request % 2 == 0 {
            client
                .post(format!("{base}/api/ingest"))
                .body(lines(&eni, now.timestamp()))
                .send()
                .await
        } else {
            client
                .post(format!("{base}/es/_bulk"))
                .header("content-type", "application/x-ndjson")
                .body(bulk(&eni, now))
                .send()
                .await
        };
        let Ok(response) = response else { break };
        if !response.status().is_success() {
            break;
        }
        let Ok(answer) = response.json::<Value>().await else {
            break;
        };
        let stored = answer["accepted"].as_u64().or_else(|| {
            (answer["errors"] == json!(false)).then_some(u64::from(RECORDS_PER_REQUEST))
        });
        assert_eq!(stored, Some(u64::from(RECORDS_PER_REQUEST)), "{answer}");
        acknowledged.push(eni);
        acknowledged_so_far.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
    acknowledged
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_records_survive_kill_9() {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut total = 0;
    for trial in 0..TRIALS {
        let data = tempfile::tempdir().unwrap();
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let mut server = start(data.path(), port);
        wait_until_up(&client, &base).await;

        // Kill at a different moment each trial, mid-request most of the time; and only once
        // a request was acknowledged, so that a slow (loaded) machine still tests something.
        let kill_after = Duration::from_millis(300 + 170 * u64::from(trial));
        let pid = server.id();
        let acknowledged_so_far = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let first_acknowledged = acknowledged_so_far.clone();
        let killer = tokio::spawn(async move {
            tokio::time::sleep(kill_after).await;
            let patience = std::time::Instant::now() + Duration::from_secs(30);
            while first_acknowledged.load(std::sync::atomic::Ordering::SeqCst) == 0
                && std::time::Instant::now() < patience
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            // SIGKILL: no shutdown, no final commit.
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        });
        let acknowledged = ingest_until_killed(&client, &base, trial, &acknowledged_so_far).await;
        killer.await.unwrap();
        let _ = server.wait();
        assert!(
            !acknowledged.is_empty(),
            "trial {trial}: nothing was acknowledged before the kill"
        );

        let mut server = start(data.path(), port);
        wait_until_up(&client, &base).await;
        let answer: Value = client
            .post(format!("{base}/api/search"))
            .json(
                &json!({ "index": "cwl-*", "body": { "size": 0, "track_total_hits": true,
                "aggs": { "eni": { "terms": { "field": "interface_id", "size": 10000 } } } } }),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let counts: std::collections::HashMap<String, u64> = answer["aggregations"]["eni"]
            ["buckets"]
            .as_array()
            .unwrap_or_else(|| panic!("trial {trial}: {answer}"))
            .iter()
            .map(|b| {
                (
                    b["key"].as_str().unwrap().to_owned(),
                    b["doc_count"].as_u64().unwrap(),
                )
            })
            .collect();
        for eni in &acknowledged {
            assert_eq!(
                counts.get(eni).copied(),
                Some(u64::from(RECORDS_PER_REQUEST)),
                "trial {trial}: the acknowledged records of {eni} after the restart"
            );
        }
        eprintln!(
            "trial {trial}: killed after {kill_after:?}, {} requests ({} records) acknowledged, all present after the restart",
            acknowledged.len(),
            acknowledged.len() as u32 * RECORDS_PER_REQUEST
        );
        total += acknowledged.len();
        server.kill().unwrap();
        let _ = server.wait();
    }
    assert!(total >= TRIALS as usize);
}
