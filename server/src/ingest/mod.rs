//! Flow-log ingestion: any input (text with or without header lines, gzip, CloudWatch Logs
//! subscription payloads) becomes [`FlowDoc`]s for a [`DocSink`]. A bad line is reported with
//! its number and the rest goes on.

pub mod cloudwatch;
pub mod decode;
pub mod demo;
pub mod document;
pub mod format;
pub mod parse;
pub mod remote;
pub mod sources;

use std::io::{BufRead, Read};

use serde::{Deserialize, Serialize};

use self::cloudwatch::{decode_payloads, looks_like_json};
use self::decode::{describe_read_error, maybe_gunzip};
pub use self::document::DocValue;
use self::document::{EventContext, FlowDoc};
use self::format::RecordFormat;
use self::parse::parse_record;

/// Bounds on what one input may cost.
#[derive(Clone, Debug)]
pub struct IngestLimits {
    /// Decompressed bytes one input may expand to (gzip bombs stop here).
    pub max_decompressed_bytes: u64,
    /// A longer line is rejected without being read into memory whole.
    pub max_line_bytes: usize,
    /// Errors listed in a report; the rest are only counted.
    pub max_reported_errors: usize,
}

impl Default for IngestLimits {
    fn default() -> Self {
        IngestLimits {
            max_decompressed_bytes: 4 << 30,
            max_line_bytes: 64 * 1024,
            max_reported_errors: 1000,
        }
    }
}

/// How to read inputs.
#[derive(Clone, Debug, Default)]
pub struct IngestOptions {
    /// The record format of lines before any header line (default: version 2).
    pub format: Option<RecordFormat>,
    /// Bounds on input lines and payloads.
    pub limits: IngestLimits,
}

/// Where documents go. Writes may be buffered; [`DocSink::flush`] makes them durable and says
/// how many were new.
pub trait DocSink {
    /// Takes one document; a sink may buffer it until the next write or flush.
    fn write(&mut self, doc: FlowDoc) -> Result<(), SinkError>;
    /// Makes everything written so far durable and visible.
    fn flush(&mut self) -> Result<SinkOutcome, SinkError>;
}

/// A boxed sink is a sink (a backend's, wrapped).
impl<S: DocSink + ?Sized> DocSink for Box<S> {
    fn write(&mut self, doc: FlowDoc) -> Result<(), SinkError> {
        (**self).write(doc)
    }

    fn flush(&mut self) -> Result<SinkOutcome, SinkError> {
        (**self).flush()
    }
}

/// Counts documents and drops them: for measuring and fuzzing everything up to the store.
#[derive(Debug, Default)]
pub struct CountingSink(pub u64);

impl DocSink for CountingSink {
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

/// What a sink did with the documents written to it since the last flush.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SinkOutcome {
    /// Documents newly stored.
    pub stored: u64,
    /// Already stored under the same `_id`: ingesting the same data twice stores it once.
    pub duplicates: u64,
    /// Refused by the store (a cluster's mapping conflict, say), with the first reasons.
    pub failed: u64,
    /// The first reasons documents were refused.
    pub failures: Vec<String>,
}

impl SinkOutcome {
    /// Adds another flush's outcome to this one.
    pub fn add(&mut self, other: SinkOutcome) {
        self.stored += other.stored;
        self.duplicates += other.duplicates;
        self.failed += other.failed;
        self.failures.extend(other.failures);
    }
}

/// A sink that cannot store what it was given. Reported, never silently dropped.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SinkError(pub String);

/// The outcome of an ingestion (the body of `POST /api/ingest`'s answer).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IngestReport {
    /// Records stored.
    pub accepted: u64,
    /// Lines or events that are not valid records.
    pub rejected: u64,
    /// Records already stored, and CloudWatch control messages.
    pub skipped: u64,
    /// The first rejected lines, with why.
    pub errors: Vec<LineError>,
    /// Errors beyond those listed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub errors_not_listed: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A rejected line (or CloudWatch event), by 1-based number within its input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineError {
    /// The input's name (`-` for stdin), when there are several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The line's 1-based number within its input.
    pub line: u64,
    /// Why the line was rejected.
    pub reason: String,
}

impl IngestReport {
    fn reject(&mut self, source: Option<&str>, line: u64, reason: String, limits: &IngestLimits) {
        self.rejected += 1;
        if self.errors.len() < limits.max_reported_errors {
            self.errors.push(LineError {
                source: source.map(str::to_owned),
                line,
                reason,
            });
        } else {
            self.errors_not_listed += 1;
        }
    }

    /// Adds a sink's outcome.
    pub fn record(&mut self, outcome: SinkOutcome) {
        self.accepted += outcome.stored;
        self.skipped += outcome.duplicates;
        self.rejected += outcome.failed;
        for reason in outcome.failures {
            self.errors.push(LineError {
                source: None,
                line: 0,
                reason,
            });
        }
    }

    /// Folds another report into this one.
    pub fn merge(&mut self, other: IngestReport, limits: &IngestLimits) {
        self.accepted += other.accepted;
        self.rejected += other.rejected;
        self.skipped += other.skipped;
        self.errors_not_listed += other.errors_not_listed;
        for error in other.errors {
            if self.errors.len() < limits.max_reported_errors {
                self.errors.push(error);
            } else {
                self.errors_not_listed += 1;
            }
        }
    }
}

/// Reads one input (flow-log text, gzip of it, or CloudWatch payload JSON) into `sink`,
/// recording rejected lines in `report`. Does not flush the sink. A read error (a truncated
/// gzip, say) ends this input with an error entry; what was read before it is kept.
pub fn ingest_reader(
    source: Option<&str>,
    reader: impl Read,
    options: &IngestOptions,
    sink: &mut dyn DocSink,
    report: &mut IngestReport,
) -> Result<(), SinkError> {
    let limits = &options.limits;
    let mut input = match maybe_gunzip(reader, limits.max_decompressed_bytes) {
        Ok(input) => input,
        Err(error) => {
            report.reject(source, 0, describe_read_error(&error), limits);
            return Ok(());
        }
    };
    let head = match input.fill_buf() {
        Ok(head) => head,
        Err(error) => {
            report.reject(source, 0, describe_read_error(&error), limits);
            return Ok(());
        }
    };
    if looks_like_json(head) {
        ingest_payload_json(source, input, options, sink, report)
    } else {
        ingest_lines(source, input, options, sink, report)
    }
}

/// Flow-log text: header lines switch the format, blank lines are ignored.
fn ingest_lines(
    source: Option<&str>,
    mut input: Box<dyn BufRead + '_>,
    options: &IngestOptions,
    sink: &mut dyn DocSink,
    report: &mut IngestReport,
) -> Result<(), SinkError> {
    let limits = &options.limits;
    let mut format = options
        .format
        .clone()
        .unwrap_or_else(RecordFormat::default_v2);
    let mut buffer = Vec::with_capacity(512);
    let mut spare_values: Vec<parse::Value<'static>> = Vec::with_capacity(format.len());
    let mut number = 0u64;
    loop {
        let mut values = recycle(std::mem::take(&mut spare_values));
        number += 1;
        let line = match read_line_capped(&mut input, &mut buffer, limits.max_line_bytes) {
            Ok(LineRead::End) => return Ok(()),
            Ok(LineRead::TooLong) => {
                let reason = format!("line longer than {} bytes", limits.max_line_bytes);
                report.reject(source, number, reason, limits);
                continue;
            }
            Ok(LineRead::Line) => &buffer,
            Err(error) => {
                report.reject(source, number, describe_read_error(&error), limits);
                return Ok(());
            }
        };
        let Ok(line) = std::str::from_utf8(line) else {
            report.reject(source, number, "not UTF-8 text".into(), limits);
            continue;
        };
        let line = line.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            continue;
        }
        if line.as_bytes()[0].is_ascii_lowercase() {
            if let Some(header) = RecordFormat::from_header(line) {
                format = header;
                continue;
            }
        }
        let parsed = parse_record(&format, line, &mut values)
            .map_err(|e| e.to_string())
            .and_then(|()| {
                FlowDoc::from_record(&format, &values, line, &EventContext::default())
                    .map_err(|e| e.to_string())
            });
        match parsed {
            Ok(doc) => sink.write(doc)?,
            Err(reason) => report.reject(source, number, reason, limits),
        }
        spare_values = recycle(values);
    }
}

/// Reuses a vector's allocation for values borrowing from the next line (an in-place
/// collect: no allocation, no unsafe).
pub fn recycle<'b>(mut values: Vec<parse::Value<'_>>) -> Vec<parse::Value<'b>> {
    values.clear();
    values
        .into_iter()
        .map(|_| unreachable!("the vector is empty"))
        .collect()
}

pub(crate) enum LineRead {
    Line,
    TooLong,
    End,
}

/// Reads one line into `buffer` (newline included) unless it is longer than `max`, in which
/// case the rest of it is skipped without being kept.
pub(crate) fn read_line_capped(
    input: &mut dyn BufRead,
    buffer: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<LineRead> {
    buffer.clear();
    let mut too_long = false;
    loop {
        let available = input.fill_buf()?;
        if available.is_empty() {
            return Ok(match (too_long, buffer.is_empty()) {
                (true, _) => LineRead::TooLong,
                (false, true) => LineRead::End,
                (false, false) => LineRead::Line,
            });
        }
        let (chunk, done) = match memchr(b'\n', available) {
            Some(at) => (&available[..=at], true),
            None => (available, false),
        };
        let used = chunk.len();
        if !too_long {
            if buffer.len() + used > max {
                too_long = true;
                buffer.clear();
            } else {
                buffer.extend_from_slice(chunk);
            }
        }
        input.consume(used);
        if done {
            return Ok(if too_long {
                LineRead::TooLong
            } else {
                LineRead::Line
            });
        }
    }
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

/// The most a CloudWatch Logs payload input (JSON, held in memory whole) and everything
/// decompressed from its records may take together. The Lambda's events are at most 6 MB and
/// Firehose's batches a few MB; a payload of a few records once expanded to gigabytes.
pub const MAX_PAYLOAD_BYTES: u64 = 256 << 20;

/// CloudWatch Logs payloads: one error entry per bad event, numbered by its position.
fn ingest_payload_json(
    source: Option<&str>,
    mut input: Box<dyn BufRead + '_>,
    options: &IngestOptions,
    sink: &mut dyn DocSink,
    report: &mut IngestReport,
) -> Result<(), SinkError> {
    let limits = &options.limits;
    let budget = limits.max_decompressed_bytes.min(MAX_PAYLOAD_BYTES);
    let mut body = Vec::new();
    if let Err(error) = (&mut input).take(budget + 1).read_to_end(&mut body) {
        report.reject(source, 0, describe_read_error(&error), limits);
        return Ok(());
    }
    if body.len() as u64 > budget {
        report.reject(
            source,
            1,
            format!("a CloudWatch Logs payload larger than {} MiB", budget >> 20),
            limits,
        );
        return Ok(());
    }
    let payloads = match decode_payloads(&body, budget.saturating_sub(body.len() as u64)) {
        Ok(payloads) => payloads,
        Err(error) => {
            report.reject(source, 1, error.to_string(), limits);
            return Ok(());
        }
    };
    let format = options
        .format
        .clone()
        .unwrap_or_else(RecordFormat::default_v2);
    let mut number = 0u64;
    for payload in &payloads {
        if payload.is_control() {
            report.skipped += 1;
            continue;
        }
        for event in &payload.log_events {
            number += 1;
            let context = EventContext {
                event_id: Some(&event.id),
                timestamp_ms: Some(event.timestamp),
                owner: payload.owner.as_deref(),
                log_group: payload.log_group.as_deref(),
                log_stream: payload.log_stream.as_deref(),
            };
            let doc = match &event.extracted_fields {
                Some(fields) => FlowDoc::from_extracted_fields(fields, &event.message, &context)
                    .map_err(|e| e.to_string()),
                None => {
                    let mut values = Vec::with_capacity(format.len());
                    parse_record(&format, &event.message, &mut values)
                        .map_err(|e| e.to_string())
                        .and_then(|()| {
                            FlowDoc::from_record(&format, &values, &event.message, &context)
                                .map_err(|e| e.to_string())
                        })
                }
            };
            match doc {
                Ok(doc) => sink.write(doc)?,
                Err(reason) => report.reject(
                    source,
                    number,
                    format!("event {}: {reason}", event.id),
                    limits,
                ),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashSet;

    use super::*;

    /// A sink that keeps documents in memory and deduplicates by `_id`, like the real ones.
    #[derive(Default)]
    pub(crate) struct MemorySink {
        pub docs: Vec<FlowDoc>,
        ids: HashSet<String>,
        pending: SinkOutcome,
    }

    impl DocSink for MemorySink {
        fn write(&mut self, doc: FlowDoc) -> Result<(), SinkError> {
            if self.ids.insert(doc.id.clone()) {
                self.pending.stored += 1;
                self.docs.push(doc);
            } else {
                self.pending.duplicates += 1;
            }
            Ok(())
        }
        fn flush(&mut self) -> Result<SinkOutcome, SinkError> {
            Ok(std::mem::take(&mut self.pending))
        }
    }

    pub(crate) fn ingest(input: &[u8], options: &IngestOptions) -> (IngestReport, MemorySink) {
        let mut sink = MemorySink::default();
        let mut report = IngestReport::default();
        ingest_reader(Some("test"), input, options, &mut sink, &mut report).unwrap();
        report.record(sink.flush().unwrap());
        (report, sink)
    }

    const V2: &str = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK";

    #[test]
    fn malformed_lines_are_reported_and_the_rest_is_ingested() {
        let input = format!("{V2}\nnot a record\n\n{}\n", V2.replace("20641", "20642"));
        let (report, sink) = ingest(input.as_bytes(), &IngestOptions::default());
        assert_eq!(report.accepted, 2);
        assert_eq!(report.rejected, 1);
        assert_eq!(report.errors[0].line, 2);
        assert_eq!(report.errors[0].reason, "expected 14 fields, found 3");
        assert_eq!(sink.docs.len(), 2);
    }

    #[test]
    fn the_same_data_twice_is_stored_once() {
        let input = format!("{V2}\n{V2}\n");
        let (report, _) = ingest(input.as_bytes(), &IngestOptions::default());
        assert_eq!((report.accepted, report.skipped), (1, 1));
    }

    #[test]
    fn header_lines_switch_the_format_mid_stream() {
        let input = "version srcaddr dstaddr action start\n\
                     2 10.0.0.1 10.0.0.2 ACCEPT 1583471220\n\
                     srcaddr version start dstport\n\
                     10.0.0.3 5 1583471280 443\n";
        let (report, sink) = ingest(input.as_bytes(), &IngestOptions::default());
        assert_eq!(report.rejected, 0, "{:?}", report.errors);
        assert_eq!(
            sink.docs[0].get("action"),
            Some(&DocValue::Str("ACCEPT".into()))
        );
        assert_eq!(sink.docs[1].get("dstport"), Some(&DocValue::Int(443)));
        assert_eq!(sink.docs[1].get("version"), Some(&DocValue::Int(5)));
    }

    #[test]
    fn an_explicit_format_applies_to_headerless_input() {
        let options = IngestOptions {
            format: Some(
                RecordFormat::parse_format_string("${start} ${action} ${dstport}").unwrap(),
            ),
            ..Default::default()
        };
        let (report, sink) = ingest(b"1583471220 REJECT 3389\n", &options);
        assert_eq!(report.accepted, 1);
        assert_eq!(sink.docs[0].get("dstport"), Some(&DocValue::Int(3389)));
    }

    #[test]
    fn long_lines_and_binary_are_rejected_not_fatal() {
        let options = IngestOptions {
            limits: IngestLimits {
                max_line_bytes: 200,
                ..Default::default()
            },
            ..Default::default()
        };
        let mut input = "x".repeat(1000).into_bytes();
        input.push(b'\n');
        input.extend_from_slice(&[0xff, 0xfe, b'\n']);
        input.extend_from_slice(V2.as_bytes());
        let (report, sink) = ingest(&input, &options);
        assert_eq!(report.rejected, 2);
        assert_eq!(report.errors[0].reason, "line longer than 200 bytes");
        assert_eq!(report.errors[1].reason, "not UTF-8 text");
        assert_eq!(
            sink.docs.len(),
            1,
            "the last line has no newline and still counts"
        );
    }

    #[test]
    fn cloudwatch_payloads_with_and_without_extracted_fields() {
        use serde_json::json;
        let mut payload = cloudwatch::tests::sample("DATA_MESSAGE");
        let plain = json!({ "awslogs": { "data": cloudwatch::tests::encode(&payload) } });
        payload["logEvents"][0]["id"] = json!("2");
        payload["logEvents"][0]["extractedFields"] = json!({
            "version": "2", "account_id": "123456789012", "srcaddr": "10.0.1.5", "dstaddr": "10.0.2.9",
            "srcport": "443", "dstport": "51000", "protocol": "6", "action": "ACCEPT", "log_status": "OK",
            "start": "1583471220", "end": "1583471280", "interface_id": "eni-0a1b2c3d4e5f60718",
            "packets": "10", "bytes": "840"
        });
        let extracted = json!({ "awslogs": { "data": cloudwatch::tests::encode(&payload) } });
        let control = cloudwatch::tests::sample("CONTROL_MESSAGE");
        let body = format!("{plain}\n{extracted}\n{control}");
        let (report, sink) = ingest(body.as_bytes(), &IngestOptions::default());
        assert_eq!(
            (report.accepted, report.rejected, report.skipped),
            (2, 0, 1)
        );
        for doc in &sink.docs {
            assert_eq!(doc.log_group.as_deref(), Some("vpc-flow-logs"));
            assert_eq!(doc.get("bytes"), Some(&DocValue::Int(840)));
            assert_eq!(doc.index, "cwl-2020.03.06");
        }
        assert_eq!(
            sink.docs[0].id,
            "35689263648391837472973739781728019701390240798247944192"
        );
    }

    #[test]
    fn truncated_gzip_keeps_what_was_read() {
        use std::io::Write;

        use flate2::write::GzEncoder;
        let mut text = String::new();
        for i in 0..20_000 {
            text.push_str(&V2.replace("20641", &i.to_string()));
            text.push('\n');
        }
        let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(text.as_bytes()).unwrap();
        let gz = encoder.finish().unwrap();
        let (report, _) = ingest(&gz[..gz.len() * 3 / 4], &IngestOptions::default());
        assert!(report.accepted > 1000, "{}", report.accepted);
        assert!(report.accepted < 20_000);
        let last = report.errors.last().unwrap();
        assert_eq!(last.reason, "the gzip stream is truncated");
    }
}

#[cfg(test)]
mod proptests;
