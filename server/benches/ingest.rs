//! Parser and ingestion throughput on one core: `cargo bench -p server --bench ingest`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use server::ingest::demo::{demo_format, generate, DemoConfig};
use server::ingest::document::{EventContext, FlowDoc};
use server::ingest::format::RecordFormat;
use server::ingest::parse::parse_record;
use server::ingest::{ingest_reader, CountingSink, IngestOptions, IngestReport};

const RECORDS: u64 = 100_000;

fn demo_lines() -> Vec<String> {
    let mut lines = Vec::with_capacity(RECORDS as usize);
    generate(
        &DemoConfig {
            flows: RECORDS,
            hours: 24,
            end_ms: 1_583_496_000_000,
            seed: 7,
        },
        |l| lines.push(l.to_owned()),
    );
    lines
}

/// The same traffic in the default (version 2) format: the first 14 fields.
fn v2_lines(demo: &[String]) -> Vec<String> {
    demo.iter()
        .map(|l| {
            let mut fields: Vec<&str> = l.split(' ').take(14).collect();
            fields[0] = "2";
            fields.join(" ")
        })
        .collect()
}

fn parsing(c: &mut Criterion) {
    let demo = demo_lines();
    let v2 = v2_lines(&demo);
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(RECORDS));
    let default_format = RecordFormat::default_v2();
    group.bench_function("v2 record", |b| {
        let mut values = Vec::with_capacity(14);
        b.iter(|| {
            for line in &v2 {
                values.clear();
                parse_record(&default_format, line, &mut values).unwrap();
                std::hint::black_box(&values);
            }
        })
    });
    let format = demo_format();
    group.bench_function("v5 record (25 fields)", |b| {
        let mut spare = Vec::new();
        b.iter(|| {
            for line in &demo {
                let mut values = server::ingest::recycle(std::mem::take(&mut spare));
                parse_record(&format, line, &mut values).unwrap();
                std::hint::black_box(&values);
                spare = server::ingest::recycle(values);
            }
        })
    });
    group.bench_function("v2 record to document", |b| {
        b.iter(|| {
            let mut values = Vec::with_capacity(14);
            for line in &v2 {
                values.clear();
                parse_record(&default_format, line, &mut values).unwrap();
                std::hint::black_box(
                    FlowDoc::from_record(&default_format, &values, line, &EventContext::default())
                        .unwrap(),
                );
            }
        })
    });
    let text = v2.join("\n");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("v2 text to documents (ingest pipeline, no store)", |b| {
        b.iter(|| {
            let mut sink = CountingSink(0);
            let mut report = IngestReport::default();
            ingest_reader(
                None,
                text.as_bytes(),
                &IngestOptions::default(),
                &mut sink,
                &mut report,
            )
            .unwrap();
            assert_eq!(sink.0, RECORDS);
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = parsing
}
criterion_main!(benches);
