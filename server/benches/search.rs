//! Aggregation hot paths on the embedded engine (200 000 demo flows over 24 hours):
//! `cargo bench -p server --bench search`. End-to-end numbers over 10 M flows come from
//! `scripts/bench`.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;
use server::backend::embedded::search::search_at;
use server::backend::embedded::{EmbeddedEngine, OnExistingId};
use server::ingest::demo::{demo_format, generate, DemoConfig};
use server::ingest::document::{EventContext, FlowDoc};
use server::ingest::parse::parse_record;
use server::ingest::DocSink;

const END: i64 = 1_583_496_000_000;

fn engine() -> (Arc<EmbeddedEngine>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(EmbeddedEngine::open(dir.path()).unwrap());
    let format = demo_format();
    let mut sink = engine.sink(OnExistingId::KeepExisting);
    generate(
        &DemoConfig {
            flows: 200_000,
            hours: 24,
            end_ms: END,
            seed: 3,
        },
        |line| {
            let mut values = Vec::new();
            parse_record(&format, line, &mut values).unwrap();
            sink.write(
                FlowDoc::from_record(&format, &values, line, &EventContext::default()).unwrap(),
            )
            .unwrap();
        },
    );
    sink.flush().unwrap();
    engine
        .close_idle_writers(std::time::Duration::ZERO, 0)
        .unwrap();
    (engine, dir)
}

fn searching(c: &mut Criterion) {
    let (engine, _dir) = engine();
    let range = |hours: i64| json!({ "range": { "@timestamp": { "gte": END - hours * 3_600_000, "lte": END, "format": "epoch_millis" } } });
    let cases = [
        (
            "pie action>dstport 24h",
            json!({ "size": 0, "query": { "bool": { "filter": [range(24)] } },
            "aggs": { "a": { "terms": { "field": "action", "size": 5 }, "aggs": { "p": { "terms": { "field": "dstport", "size": 5 } } } } } }),
        ),
        (
            "per-minute by action 1h",
            json!({ "size": 0, "query": { "bool": { "filter": [range(1)] } },
            "aggs": { "t": { "date_histogram": { "field": "@timestamp", "fixed_interval": "1m" }, "aggs": { "a": { "terms": { "field": "action" } } } } } }),
        ),
        (
            "per-30m by action 24h",
            json!({ "size": 0, "query": { "bool": { "filter": [range(24)] } },
            "aggs": { "t": { "date_histogram": { "field": "@timestamp", "fixed_interval": "30m" }, "aggs": { "a": { "terms": { "field": "action" } } } } } }),
        ),
        (
            "top 10 sources by bytes 24h",
            json!({ "size": 0, "query": { "bool": { "filter": [range(24)] } },
            "aggs": { "s": { "terms": { "field": "srcaddr", "size": 10, "order": { "b": "desc" } }, "aggs": { "b": { "sum": { "field": "bytes" } } } } } }),
        ),
        (
            "query_string CIDR count 24h",
            json!({ "size": 0, "track_total_hits": true,
            "query": { "bool": { "filter": [range(24), { "query_string": { "query": "srcaddr:10.0.0.0/8 AND NOT dstport:443" } }] } } }),
        ),
        (
            "@message wildcard eni-0a* 24h",
            json!({ "size": 0, "track_total_hits": true,
            "query": { "bool": { "filter": [range(24), { "wildcard": { "@message": "eni-0a*" } }] } } }),
        ),
        (
            // The shape the fuzzers found: many wildcards, which once meant a costly automaton.
            "@message wildcard with 60 wildcards 24h",
            json!({ "size": 0, "track_total_hits": true,
            "query": { "bool": { "filter": [range(24), { "wildcard": { "@message": format!("*{}*1?", "?*".repeat(29)) } }] } } }),
        ),
        (
            "latest 50 hits",
            json!({ "size": 50, "sort": [{ "@timestamp": "desc" }], "query": { "bool": { "filter": [range(1)] } } }),
        ),
    ];
    let mut group = c.benchmark_group("search");
    for (name, body) in cases {
        group.bench_function(name, |b| {
            b.iter(|| search_at(&engine, "cwl-*", &body, END).unwrap())
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = searching
}
criterion_main!(benches);
