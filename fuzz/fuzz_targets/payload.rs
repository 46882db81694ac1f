//! Any bytes as a CloudWatch Logs subscription payload (the Lambda event, its decoded JSON,
//! Kinesis and Firehose records): an error or payloads, never a panic, and the decompressed
//! size stays bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use server::ingest::cloudwatch::decode_payloads;

fuzz_target!(|data: &[u8]| {
    let _ = decode_payloads(data, 1 << 20);
});
