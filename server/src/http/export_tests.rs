//! The CSV export over real HTTP: every matching flow once, in the view's order and columns,
//! across days and pages; the row limit and what the headers say of it; a bad query is a 400.

use serde_json::json;

use super::tests::TestServer;

/// 2020-03-06T22:00:00Z: the flows run from here over midnight into the next day.
const START: i64 = 1_583_532_000;

/// 5,000 flows over 4 hours across midnight UTC, a third of them rejected.
fn flow_lines() -> String {
    (0..5_000)
        .map(|i| {
            let start = START + i * 3;
            let action = if i % 3 == 0 { "REJECT" } else { "ACCEPT" };
            format!(
                "2 123456789012 eni-0c5v{:04} 10.0.{}.{} 10.1.0.1 {} {} 6 {} {} {start} {} {action} OK\n",
                i % 13,
                i % 7,
                i % 250,
                40_000 + i % 1000,
                [22, 443, 3389, 8080][(i % 4) as usize],
                i % 50 + 1,
                (i % 50 + 1) * 60,
                start + 30,
            )
        })
        .collect()
}

fn view_query(extra: &str) -> String {
    let from = "2020-03-06T21%3A00%3A00Z";
    let to = "2020-03-07T03%3A00%3A00Z";
    format!("/api/discover/export.csv?index=cwl-%2A&from={from}&to={to}&q=action%3AREJECT&columns=srcaddr%2Cdstport&sort=dstport%3Aasc{extra}")
}

#[tokio::test]
async fn csv_exports_every_matching_flow_in_order_and_says_when_cut() {
    let server = TestServer::start().await;
    let (status, report) = server.post("/api/ingest", flow_lines()).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(server.docs_per_index().len(), 2, "two days");

    let (_, counted) = server
        .post_json(
            "/api/search",
            &json!({ "index": "cwl-*", "body": { "size": 0, "track_total_hits": true,
                "query": { "term": { "action": "REJECT" } } } }),
        )
        .await;
    let rejected = counted["hits"]["total"]["value"].as_u64().unwrap() as usize;
    assert_eq!(rejected, 1_667);

    let response = reqwest::get(server.url(&view_query(""))).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert_eq!(response.headers()["x-flowdash-truncated"], "false");
    assert_eq!(
        response.headers()["x-flowdash-total-hits"],
        rejected.to_string().as_str()
    );
    let text = response.text().await.unwrap();
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    assert_eq!(lines[0], "@timestamp,srcaddr,dstport");
    assert_eq!(lines.len() - 1, rejected, "one line per matching flow");
    let rows: Vec<Vec<&str>> = lines[1..].iter().map(|l| l.split(',').collect()).collect();
    let ports: Vec<i64> = rows.iter().map(|r| r[2].parse().unwrap()).collect();
    assert!(ports.windows(2).all(|w| w[0] <= w[1]), "sorted by port");
    // Within a port, newest first; no flow twice (time and address identify these flows).
    let mut seen = std::collections::HashSet::new();
    for row in &rows {
        assert!(seen.insert((row[0], row[1])), "{row:?} twice");
    }
    for pair in rows.windows(2) {
        if pair[0][2] == pair[1][2] {
            assert!(pair[0][0] >= pair[1][0], "{pair:?}");
        }
    }

    // The limit: a smaller `limit=` cuts the file and the headers say so.
    let response = reqwest::get(server.url(&view_query("&limit=2500")))
        .await
        .unwrap();
    assert_eq!(response.headers()["x-flowdash-truncated"], "false");
    let response = reqwest::get(server.url(&view_query("&limit=700")))
        .await
        .unwrap();
    assert_eq!(response.headers()["x-flowdash-truncated"], "true");
    assert_eq!(response.headers()["x-flowdash-row-limit"], "700");
    let text = response.text().await.unwrap();
    assert_eq!(text.split_terminator("\r\n").count(), 701);

    // No columns: time and the whole document, quoted as CSV quotes JSON.
    let response = reqwest::get(server.url(
        "/api/discover/export.csv?from=2020-03-06T21%3A00%3A00Z&to=2020-03-07T03%3A00%3A00Z&q=dstport%3A22&limit=3",
    ))
    .await
    .unwrap();
    let text = response.text().await.unwrap();
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    assert_eq!(lines[0], "@timestamp,_source");
    assert_eq!(lines.len(), 4);
    assert!(lines[1].contains(",\"{\"\""), "{}", lines[1]);

    // A query the engine cannot read is a 400 before any row, and outside the allow-list a 403.
    let response = reqwest::get(server.url("/api/discover/export.csv?q=%28unclosed"))
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let response = reqwest::get(server.url("/api/discover/export.csv?index=secret-%2A"))
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}
