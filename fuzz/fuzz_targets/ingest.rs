//! Any bytes through the ingest pipeline, as `flowdash ingest` and `POST /api/ingest` read
//! them (text in any record format, header lines, gzip, CloudWatch payloads): no panic, and
//! every line is accounted for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use server::ingest::document::FlowDoc;
use server::ingest::{ingest_reader, DocSink, IngestOptions, IngestReport, SinkError, SinkOutcome};

/// Counts documents instead of storing them.
struct Count(u64);

impl DocSink for Count {
    fn write(&mut self, _doc: FlowDoc) -> Result<(), SinkError> {
        self.0 += 1;
        Ok(())
    }
    fn flush(&mut self) -> Result<SinkOutcome, SinkError> {
        Ok(SinkOutcome {
            stored: self.0,
            ..SinkOutcome::default()
        })
    }
}

fuzz_target!(|data: &[u8]| {
    let mut sink = Count(0);
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
