//! CloudWatch Logs subscription payloads, in every shape they are delivered: the Lambda event
//! `{"awslogs":{"data":..}}`, the decoded `DATA_MESSAGE` JSON, Kinesis Data Streams and Firehose
//! records carrying it, and Firehose's concatenated objects in S3.

use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::decode::{describe_read_error, gunzip, is_gzip};

/// A decoded subscription payload.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LogsPayload {
    /// `DATA_MESSAGE` (flows) or `CONTROL_MESSAGE` (a subscription check, skipped).
    pub message_type: String,
    /// The AWS account id.
    #[serde(default)]
    pub owner: Option<String>,
    /// The CloudWatch Logs group.
    #[serde(default)]
    pub log_group: Option<String>,
    /// The CloudWatch Logs stream (an interface id for VPC flow logs).
    #[serde(default)]
    pub log_stream: Option<String>,
    /// The subscription filters that sent the payload.
    #[serde(default)]
    pub subscription_filters: Vec<String>,
    /// The log events: one flow record each.
    #[serde(default)]
    pub log_events: Vec<LogEvent>,
}

/// One log event: for VPC flow logs, one record.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LogEvent {
    /// Opaque, about 56 decimal digits.
    pub id: String,
    /// Epoch milliseconds: the record's start.
    pub timestamp: i64,
    /// The record's line.
    pub message: String,
    /// Present when the subscription filter has a space-delimited pattern.
    #[serde(default)]
    pub extracted_fields: Option<Map<String, Json>>,
}

impl LogsPayload {
    /// `CONTROL_MESSAGE`s only check that the destination is reachable: they carry no records.
    pub fn is_control(&self) -> bool {
        self.message_type == "CONTROL_MESSAGE"
    }
}

/// Why a JSON body yields no payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// Not JSON.
    #[error("not JSON: {0}")]
    Json(String),
    /// JSON of another shape.
    #[error("not a CloudWatch Logs subscription payload (expected `awslogs.data`, `messageType`, or Kinesis / Firehose records)")]
    UnknownShape,
    /// `data` is not base64.
    #[error("`data` is not base64: {0}")]
    Base64(String),
    /// `data` does not decompress.
    #[error("`data`: {0}")]
    Decompress(String),
    /// A field is missing or of the wrong type.
    #[error("the payload is invalid: {0}")]
    Invalid(String),
}

/// Whether a body looks like JSON rather than flow-log text.
pub fn looks_like_json(bytes: &[u8]) -> bool {
    matches!(
        bytes.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{') | Some(b'[')
    )
}

/// Every payload in `bytes`: one JSON value or several concatenated ones, each of any
/// supported shape. `limit` bounds all decompressions together: three Firehose records of
/// 1 GiB each once took 3.2 GB.
pub fn decode_payloads(bytes: &[u8], limit: u64) -> Result<Vec<LogsPayload>, PayloadError> {
    let mut payloads = Vec::new();
    let mut budget = Budget {
        remaining: limit,
        depth: 0,
    };
    decode_within(bytes, &mut budget, &mut payloads)?;
    Ok(payloads)
}

/// How many payloads may hold payloads (a Lambda event in a Firehose record is two levels).
const MAX_NESTING: u32 = 4;

/// What the decompressions of one input may still produce, and how deep they are.
struct Budget {
    remaining: u64,
    depth: u32,
}

fn decode_within(
    bytes: &[u8],
    budget: &mut Budget,
    out: &mut Vec<LogsPayload>,
) -> Result<(), PayloadError> {
    let stream = serde_json::Deserializer::from_slice(bytes).into_iter::<Json>();
    for value in stream {
        let value = value.map_err(|e| PayloadError::Json(e.to_string()))?;
        collect(value, budget, out)?;
    }
    Ok(())
}

fn collect(
    value: Json,
    budget: &mut Budget,
    out: &mut Vec<LogsPayload>,
) -> Result<(), PayloadError> {
    match value {
        Json::Array(items) => {
            for item in items {
                collect(item, budget, out)?;
            }
            Ok(())
        }
        Json::Object(mut object) => {
            if object.contains_key("messageType") {
                let payload = serde_json::from_value(Json::Object(object))
                    .map_err(|e| PayloadError::Invalid(e.to_string()))?;
                out.push(payload);
                return Ok(());
            }
            // The Lambda event.
            if let Some(data) = object
                .get("awslogs")
                .and_then(|a| a.get("data"))
                .and_then(Json::as_str)
            {
                return collect_data(data, budget, out);
            }
            // Kinesis Data Streams (`Records[].kinesis.data`) and Firehose (`records[].data`).
            for key in ["Records", "records"] {
                if let Some(Json::Array(records)) = object.remove(key) {
                    for record in records {
                        let data = record
                            .get("kinesis")
                            .and_then(|k| k.get("data"))
                            .or_else(|| record.get("data"))
                            .and_then(Json::as_str)
                            .ok_or(PayloadError::UnknownShape)?;
                        collect_data(data, budget, out)?;
                    }
                    return Ok(());
                }
            }
            Err(PayloadError::UnknownShape)
        }
        _ => Err(PayloadError::UnknownShape),
    }
}

/// A base64 `data` field: gzip of JSON (or, with Firehose decompression on, the JSON itself).
fn collect_data(
    data: &str,
    budget: &mut Budget,
    out: &mut Vec<LogsPayload>,
) -> Result<(), PayloadError> {
    if budget.depth >= MAX_NESTING {
        return Err(PayloadError::Invalid(format!(
            "payloads nested more than {MAX_NESTING} deep"
        )));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|e| PayloadError::Base64(e.to_string()))?;
    let json = if is_gzip(&bytes) {
        let json = gunzip(&bytes, budget.remaining)
            .map_err(|e| PayloadError::Decompress(describe_read_error(&e)))?;
        budget.remaining = budget.remaining.saturating_sub(json.len() as u64);
        json
    } else {
        bytes
    };
    budget.depth += 1;
    let decoded = decode_within(&json, budget, out);
    budget.depth -= 1;
    decoded
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write;

    use flate2::write::GzEncoder;
    use flate2::Compression;
    use serde_json::json;

    use super::*;

    /// Gzip + base64, as CloudWatch Logs encodes `data`.
    pub(crate) fn encode(payload: &Json) -> String {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(payload.to_string().as_bytes()).unwrap();
        base64::engine::general_purpose::STANDARD.encode(encoder.finish().unwrap())
    }

    pub(crate) fn sample(message_type: &str) -> Json {
        json!({
            "messageType": message_type,
            "owner": "123456789012",
            "logGroup": "vpc-flow-logs",
            "logStream": "eni-0a1b2c3d4e5f60718-all",
            "subscriptionFilters": ["to-flowdash"],
            "logEvents": [{
                "id": "35689263648391837472973739781728019701390240798247944192",
                "timestamp": 1583471220000i64,
                "message": "2 123456789012 eni-0a1b2c3d4e5f60718 10.0.1.5 10.0.2.9 443 51000 6 10 840 1583471220 1583471280 ACCEPT OK"
            }]
        })
    }

    #[test]
    fn every_delivery_shape_decodes_to_the_same_payload() {
        let payload = sample("DATA_MESSAGE");
        let data = encode(&payload);
        let shapes = [
            payload.to_string(),
            json!({ "awslogs": { "data": data } }).to_string(),
            json!({ "Records": [{ "kinesis": { "data": data, "partitionKey": "k" } }] })
                .to_string(),
            json!({ "records": [{ "recordId": "1", "data": data }] }).to_string(),
            format!("{payload}{payload}"),
        ];
        for (index, body) in shapes.iter().enumerate() {
            let decoded = decode_payloads(body.as_bytes(), 1 << 20).unwrap();
            assert!(!decoded.is_empty(), "shape {index}");
            for p in &decoded {
                assert_eq!(
                    p.log_group.as_deref(),
                    Some("vpc-flow-logs"),
                    "shape {index}"
                );
                assert_eq!(p.log_events.len(), 1);
                assert_eq!(p.log_events[0].timestamp, 1_583_471_220_000);
            }
        }
    }

    #[test]
    fn control_messages_are_recognised() {
        let decoded =
            decode_payloads(sample("CONTROL_MESSAGE").to_string().as_bytes(), 1 << 20).unwrap();
        assert!(decoded[0].is_control());
    }

    #[test]
    fn bad_payloads_say_why() {
        assert_eq!(
            decode_payloads(b"{\"foo\":1}", 100),
            Err(PayloadError::UnknownShape)
        );
        assert!(matches!(
            decode_payloads(b"{\"awslogs\":{\"data\":\"!!!\"}}", 100),
            Err(PayloadError::Base64(_))
        ));
        assert!(matches!(
            decode_payloads(b"{\"awslogs\":", 100),
            Err(PayloadError::Json(_))
        ));
        // A bomb inside `data`.
        let big =
            json!({ "messageType": "DATA_MESSAGE", "logEvents": [], "pad": "x".repeat(1 << 20) });
        let body = json!({ "awslogs": { "data": encode(&big) } }).to_string();
        assert!(matches!(
            decode_payloads(body.as_bytes(), 64 * 1024),
            Err(PayloadError::Decompress(_))
        ));
    }
}
