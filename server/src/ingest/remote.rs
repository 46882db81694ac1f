//! `flowdash ingest --to URL`: the same inputs, sent to a running server's `POST /api/ingest`
//! in gzip chunks cut at line boundaries. Each chunk starts with the record format's header
//! line, so the server reads custom formats right; rejected line numbers are mapped back to
//! the input's own.

use std::io::{BufRead, Read, Write};
use std::time::Duration;

use flate2::write::GzEncoder;
use flate2::Compression;
use tokio::runtime::Handle;

use super::cloudwatch::looks_like_json;
use super::decode::{describe_read_error, maybe_gunzip};
use super::format::RecordFormat;
use super::{read_line_capped, IngestOptions, IngestReport, LineError, LineRead};

/// Raw text per request: well under the server's default body limit once gzipped.
const CHUNK_BYTES: usize = 16 << 20;

/// The largest CloudWatch Logs payload sent as one request (it cannot be cut at lines). The
/// Lambda and Firehose deliver at most a few megabytes.
const MAX_JSON_PAYLOAD: u64 = 64 << 20;
const ATTEMPTS: u32 = 4;

/// Why sending to a flowdash server (`--to`) failed.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The server could not be reached, or refused the records.
    #[error("{url}: {reason}")]
    Server {
        /// The server's URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// An input could not be read.
    #[error("cannot read {input}: {reason}")]
    Read {
        /// The input's name.
        input: String,
        /// What went wrong.
        reason: String,
    },
}

/// A client for one server's ingest endpoint.
pub struct RemoteIngest {
    client: reqwest::Client,
    url: String,
}

impl RemoteIngest {
    /// `base` is the server's address, `http://127.0.0.1:3000`.
    pub fn new(base: &str) -> Result<RemoteIngest, RemoteError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(|e| RemoteError::Server {
                url: base.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(RemoteIngest {
            client,
            url: format!("{}/api/ingest", base.trim_end_matches('/')),
        })
    }

    /// Sends one input, merging the server's reports into `report`. `on_lines` is told how
    /// many lines each chunk carried.
    pub fn send(
        &self,
        runtime: &Handle,
        name: &str,
        reader: impl Read,
        options: &IngestOptions,
        report: &mut IngestReport,
        on_lines: &dyn Fn(u64),
    ) -> Result<(), RemoteError> {
        let read_error = |error: std::io::Error| RemoteError::Read {
            input: name.to_owned(),
            reason: describe_read_error(&error),
        };
        let mut input =
            maybe_gunzip(reader, options.limits.max_decompressed_bytes).map_err(read_error)?;
        if looks_like_json(input.fill_buf().map_err(read_error)?) {
            let mut body = Vec::new();
            (&mut input)
                .take(MAX_JSON_PAYLOAD + 1)
                .read_to_end(&mut body)
                .map_err(read_error)?;
            if body.len() as u64 > MAX_JSON_PAYLOAD {
                // The input is refused on its own; the other inputs still go.
                report.merge(
                    IngestReport {
                        rejected: 1,
                        errors: vec![LineError {
                            source: Some(name.to_owned()),
                            line: 1,
                            reason: format!(
                                "a CloudWatch Logs payload (JSON) larger than {} MiB cannot be sent as one request; flow-log text can be any size",
                                MAX_JSON_PAYLOAD >> 20
                            ),
                        }],
                        ..IngestReport::default()
                    },
                    &options.limits,
                );
                return Ok(());
            }
            let chunk_report = self.post(runtime, gzip(&body))?;
            on_lines(chunk_report.accepted + chunk_report.rejected + chunk_report.skipped);
            report.merge(with_source(chunk_report, name, 0, false), &options.limits);
            return Ok(());
        }
        let mut header: Option<String> = options.format.as_ref().map(|f| f.header().to_owned());
        let mut chunk: Vec<u8> = Vec::with_capacity(CHUNK_BYTES + 64 * 1024);
        let mut chunk_lines = 0u64;
        let mut chunk_first_line = 1u64;
        let mut line_number = 0u64;
        let mut buffer = Vec::new();
        let start_chunk = |chunk: &mut Vec<u8>, header: &Option<String>| -> bool {
            chunk.clear();
            match header {
                Some(header) => {
                    chunk.extend_from_slice(header.as_bytes());
                    chunk.push(b'\n');
                    true
                }
                None => false,
            }
        };
        let mut prefixed = start_chunk(&mut chunk, &header);
        loop {
            let read = read_line_capped(&mut input, &mut buffer, options.limits.max_line_bytes);
            let done = match read {
                Ok(LineRead::End) => true,
                Ok(LineRead::Line) => {
                    line_number += 1;
                    if let Some(format) = std::str::from_utf8(&buffer)
                        .ok()
                        .and_then(|l| RecordFormat::from_header(l.trim_end()))
                    {
                        header = Some(format.header().to_owned());
                    }
                    chunk.extend_from_slice(&buffer);
                    if !buffer.ends_with(b"\n") {
                        chunk.push(b'\n');
                    }
                    chunk_lines += 1;
                    false
                }
                Ok(LineRead::TooLong) => {
                    line_number += 1;
                    // Keep numbering aligned: the server rejects the placeholder line.
                    chunk.extend_from_slice(b"(line too long)\n");
                    chunk_lines += 1;
                    false
                }
                Err(error) => {
                    report.merge(
                        IngestReport {
                            rejected: 1,
                            errors: vec![LineError {
                                source: Some(name.to_owned()),
                                line: line_number + 1,
                                reason: describe_read_error(&error),
                            }],
                            ..IngestReport::default()
                        },
                        &options.limits,
                    );
                    true
                }
            };
            if (done && chunk_lines > 0) || chunk.len() >= CHUNK_BYTES {
                let body = gzip(&chunk);
                let chunk_report = self.post(runtime, body)?;
                on_lines(chunk_lines);
                report.merge(
                    with_source(chunk_report, name, chunk_first_line, prefixed),
                    &options.limits,
                );
                chunk_first_line = line_number + 1;
                chunk_lines = 0;
                prefixed = start_chunk(&mut chunk, &header);
            }
            if done {
                return Ok(());
            }
        }
    }

    fn post(&self, runtime: &Handle, body: Vec<u8>) -> Result<IngestReport, RemoteError> {
        let server_error = |reason: String| RemoteError::Server {
            url: self.url.clone(),
            reason,
        };
        let mut delay = Duration::from_millis(250);
        for attempt in 1..=ATTEMPTS {
            let sent = runtime.block_on(self.client.post(&self.url).body(body.clone()).send());
            let retry_reason = match sent {
                Ok(response) if response.status().is_success() => {
                    return runtime
                        .block_on(response.json::<IngestReport>())
                        .map_err(|e| server_error(format!("unexpected answer: {e}")));
                }
                Ok(response) if matches!(response.status().as_u16(), 429 | 502 | 503 | 504) => {
                    format!("HTTP {}", response.status())
                }
                Ok(response) => {
                    let status = response.status();
                    let text = runtime.block_on(response.text()).unwrap_or_default();
                    let reason = app::api::ApiError::from_error_body(status.as_u16(), &text);
                    return Err(server_error(reason.to_string()));
                }
                Err(error) => error.to_string(),
            };
            if attempt == ATTEMPTS {
                return Err(server_error(retry_reason));
            }
            tracing::warn!(attempt, reason = %retry_reason, "ingest request failed, retrying");
            std::thread::sleep(delay);
            delay *= 2;
        }
        unreachable!("the last attempt returns")
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(data.len() / 8), Compression::fast());
    encoder.write_all(data).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

/// Maps a chunk's line numbers back to the input's.
fn with_source(
    mut report: IngestReport,
    name: &str,
    first_line: u64,
    prefixed: bool,
) -> IngestReport {
    for error in &mut report.errors {
        error.source = Some(name.to_owned());
        if first_line > 0 {
            let within = error.line.saturating_sub(u64::from(prefixed));
            error.line = first_line + within.saturating_sub(1);
        }
    }
    report
}
