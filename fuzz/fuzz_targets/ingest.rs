//! Any bytes through the ingest pipeline, as `flowdash ingest` and `POST /api/ingest` read
//! them (text in any record format, header lines, gzip, CloudWatch payloads): no panic, and
//! every line is accounted for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use server::ingest::{ingest_reader, CountingSink, DocSink, IngestOptions, IngestReport};

fuzz_target!(|data: &[u8]| {
    let mut sink = CountingSink(0);
    let mut report = IngestReport::default();
    let mut options = IngestOptions::default();
    // Small limits, so the fuzzer reaches them.
    options.limits.max_decompressed_bytes = 1 << 20;
    ingest_reader(Some("fuzz"), data, &options, &mut sink, &mut report).expect("the sink never fails");
    report.record(sink.flush().expect("the sink never fails"));
    assert_eq!(report.accepted, sink.0, "every accepted record reached the sink");
    assert!(report.errors.len() as u64 <= report.rejected, "every listed error is a rejection");
    assert!(report.errors.len() <= options.limits.max_reported_errors);
});
