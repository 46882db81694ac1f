//! Many viewers of the overview dashboard at once, against a running flowdash on this machine:
//! each viewer refreshes the overview as its browser does (one `/api/msearch` of every
//! panel's search, built by the UI's own request builder, with the dashboard's shared `now`),
//! again and again. Prints refreshes per second, the latency percentiles of a refresh, and
//! errors.
//!
//! `FLOWDASH_BENCH_URL=http://127.0.0.1:3199 cargo bench -p server --bench viewers`
//! (`scripts/bench viewers` starts the server over a day of 1M flows). Loopback only; bounded by
//! `FLOWDASH_BENCH_VIEWERS` (200) × `FLOWDASH_BENCH_REFRESHES` (10) refreshes.
//! `FLOWDASH_BENCH_EXACT_NOW=1` takes `now` to the millisecond instead, as a dashboard without
//! a shared `now` would: no two viewers then send the same search.

use std::time::{Duration, Instant};

use app::model::filter::QueryText;
use app::model::time::{shared_now, TimeRange};
use app::query::{build_request, SearchContext};
use serde_json::{json, Value};

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The overview's multi-search over the last 24 hours, as the dashboard sends it at `now_ms`.
fn overview_refresh(now_ms: i64, exact_now: bool) -> Value {
    let now_ms = if exact_now {
        now_ms
    } else {
        shared_now(now_ms)
    };
    let time = TimeRange::last("24h")
        .resolve(now_ms, 0)
        .expect("a relative range");
    let query = QueryText::default();
    let context = SearchContext {
        time,
        time_field: "@timestamp",
        query: &query,
        filters: &[],
        time_zone: None,
        networks: &app::model::network::NO_NETWORKS,
    };
    // The searches of the overview dashboard's panels, as a viewer's browser sends them.
    let on_dashboard: Vec<String> = server::overview::dashboard(Default::default())
        .panels
        .into_iter()
        .filter_map(|panel| match panel.source {
            app::model::dashboard::PanelSource::Saved(id) => Some(id),
            _ => None,
        })
        .collect();
    let searches: Vec<Value> = server::overview::visualizations(Default::default())
        .into_iter()
        .filter(|(id, _)| on_dashboard.iter().any(|panel| panel == id))
        .map(|(_, vis)| {
            let body = build_request(&vis, &context).expect("overview requests build");
            json!({ "index": vis.index_pattern, "body": body })
        })
        .collect();
    json!({ "searches": searches })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((p / 100.0) * (sorted.len() - 1) as f64).round() as usize]
}

#[tokio::main]
async fn main() {
    let Ok(base) = std::env::var("FLOWDASH_BENCH_URL") else {
        eprintln!("viewers: set FLOWDASH_BENCH_URL to a running flowdash (scripts/bench viewers)");
        return;
    };
    let host = reqwest::Url::parse(&base).expect("a URL");
    assert!(
        matches!(host.host_str(), Some("127.0.0.1" | "localhost" | "::1")),
        "the bench only talks to this machine"
    );
    let viewers = env_number("FLOWDASH_BENCH_VIEWERS", 200);
    let refreshes = env_number("FLOWDASH_BENCH_REFRESHES", 10);
    let exact_now = env_number("FLOWDASH_BENCH_EXACT_NOW", 0) == 1;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(viewers)
        .timeout(Duration::from_secs(120))
        .build()
        .expect("a client");
    let searches = overview_refresh(chrono::Utc::now().timestamp_millis(), exact_now)["searches"]
        .as_array()
        .map_or(0, Vec::len);
    let now = if exact_now { "exact" } else { "shared" };
    println!("{viewers} viewers × {refreshes} refreshes of the overview ({searches} searches each), last 24 h, {now} now");
    let started = Instant::now();
    let tasks: Vec<_> = (0..viewers)
        .map(|_| {
            let client = client.clone();
            let url = format!("{base}/api/msearch");
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(refreshes);
                let mut errors = 0usize;
                for _ in 0..refreshes {
                    let body = overview_refresh(chrono::Utc::now().timestamp_millis(), exact_now);
                    let asked = Instant::now();
                    let answer = client.post(&url).json(&body).send().await;
                    let ok = match answer {
                        Ok(response) if response.status().is_success() => {
                            match response.json::<Value>().await {
                                Ok(answer) => answer["responses"]
                                    .as_array()
                                    .is_some_and(|r| r.iter().all(|r| r["status"] == 200)),
                                Err(_) => false,
                            }
                        }
                        _ => false,
                    };
                    latencies.push(asked.elapsed());
                    errors += usize::from(!ok);
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(viewers * refreshes);
    let mut errors = 0;
    for task in tasks {
        let (mine, failed) = task.await.expect("a viewer");
        latencies.extend(mine);
        errors += failed;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    println!(
        "refreshes/s {:.1}   p50 {:?}   p95 {:?}   p99 {:?}   max {:?}   errors {errors}",
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 50.0),
        percentile(&latencies, 95.0),
        percentile(&latencies, 99.0),
        latencies.last().copied().unwrap_or_default(),
    );
}
