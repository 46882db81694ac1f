//! Flow documents in the shape the AWS `LogsToElasticsearch` Lambda writes to `cwl-YYYY.MM.DD`:
//! underscore field names, `@timestamp` (the flow start), `@message` (the raw line), `@id`,
//! `@owner`, `@log_group`, `@log_stream`, plus the derived `protocol_name`.

use std::borrow::Cow;
use std::io::Write as _;
use std::net::IpAddr;

use app::model::flow::{document_field_type, protocol_name, FieldType};
use chrono::{DateTime, Datelike, Utc};
use compact_str::CompactString;
use serde_json::{Map, Value as Json};

use super::format::RecordFormat;
use super::parse::{parse_value, Value};

/// A typed field value of a stored document.
#[derive(Clone, Debug, PartialEq)]
pub enum DocValue {
    /// A number (ports, bytes, packets, times).
    Int(i64),
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// Held inline up to 24 bytes, which fits every string field of a flow record (ENI, VPC,
    /// subnet and instance ids, account, action...): a record's strings cost no allocation.
    Str(CompactString),
}

impl DocValue {
    /// The value as `_source` JSON holds it.
    pub fn to_json(&self) -> Json {
        match self {
            DocValue::Int(v) => Json::from(*v),
            DocValue::Ip(ip) => Json::from(ip.to_string()),
            DocValue::Str(s) => Json::from(s.as_str()),
        }
    }
}

/// One document, ready for any sink (the embedded engine, an Elasticsearch cluster).
#[derive(Clone, Debug, PartialEq)]
pub struct FlowDoc {
    /// `_id`: the CloudWatch event id, else a hash of the record format and the line, so the
    /// same data ingested twice is stored once.
    pub id: String,
    /// `_index`: `cwl-YYYY.MM.DD` by the UTC date of `@timestamp` unless the sender chose one.
    pub index: CompactString,
    /// `@timestamp` in epoch milliseconds.
    pub timestamp_ms: i64,
    /// Record fields (and derived ones) by document name; absent values are left out.
    pub fields: Vec<(Cow<'static, str>, DocValue)>,
    /// `@message`, `@id`, `@owner`, `@log_group`, `@log_stream`.
    pub message: Option<String>,
    /// The CloudWatch Logs event id (the document's `_id` when given).
    pub event_id: Option<String>,
    /// The AWS account id of the log group (`@owner`).
    pub owner: Option<String>,
    /// The CloudWatch Logs group (`@log_group`).
    pub log_group: Option<String>,
    /// The CloudWatch Logs stream (`@log_stream`).
    pub log_stream: Option<String>,
    /// The `_source` a client sent (through `_bulk`), returned verbatim by searches.
    pub original_source: Option<Map<String, Json>>,
}

/// Where a record came from, as far as it is known.
#[derive(Clone, Copy, Debug, Default)]
pub struct EventContext<'a> {
    /// The CloudWatch Logs event id.
    pub event_id: Option<&'a str>,
    /// The CloudWatch Logs event timestamp (epoch ms): the record's start.
    pub timestamp_ms: Option<i64>,
    /// The AWS account id of the log group.
    pub owner: Option<&'a str>,
    /// The CloudWatch Logs group.
    pub log_group: Option<&'a str>,
    /// The CloudWatch Logs stream.
    pub log_stream: Option<&'a str>,
}

/// Why a record cannot become a document.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DocError {
    /// Neither `start` nor `end`, nor an event timestamp.
    #[error(
        "the record has no time: neither `start` nor `end` is set and there is no event timestamp"
    )]
    NoTime,
    /// A time no date can hold.
    #[error("time {0} is out of range")]
    TimeOutOfRange(i64),
    /// A field's value does not fit it.
    #[error("field `{field}`: {reason}")]
    BadField {
        /// The field's name.
        field: String,
        /// What is wrong with the value.
        reason: String,
    },
}

/// The daily index of a moment, as the Lambda names it: `cwl-2020.03.06`.
pub fn daily_index(timestamp_ms: i64) -> Result<CompactString, DocError> {
    let time = DateTime::<Utc>::from_timestamp_millis(timestamp_ms)
        .ok_or(DocError::TimeOutOfRange(timestamp_ms))?;
    let (year, month, day) = (time.year(), time.month(), time.day());
    let Ok(year @ 0..=9999) = u32::try_from(year) else {
        return Ok(compact_str::format_compact!(
            "cwl-{year:04}.{month:02}.{day:02}"
        ));
    };
    // Digit by digit: every record gets its index name, and the formatting machinery was a
    // hundredth of an ingest.
    let mut name = *b"cwl-0000.00.00";
    let mut put = |end: usize, mut value: u32, digits: usize| {
        for at in (end - digits..end).rev() {
            name[at] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(8, year, 4);
    put(11, month, 2);
    put(14, day, 2);
    let name = std::str::from_utf8(&name).expect("ASCII digits");
    Ok(CompactString::new(name))
}

/// The `_id` of a record that has no CloudWatch event id.
pub fn record_id(format: &RecordFormat, line: &str) -> String {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(format.header().as_bytes());
    hasher.update(b"\n");
    hasher.update(line.trim_end().as_bytes());
    digest_id(hasher.digest128())
}

/// An `_id` made of a 128-bit digest: 32 lowercase hex digits (`{:032x}`, without the
/// formatting machinery or a character iterator, since every record without an event id gets
/// one).
fn digest_id(digest: u128) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 32];
    for (at, digit) in digits.iter_mut().enumerate() {
        let nibble = (digest >> (124 - 4 * at)) & 0xf;
        *digit = HEX[nibble as usize];
    }
    std::str::from_utf8(&digits).expect("hex digits").to_owned()
}

/// A 64-bit digest of an `_id`, kept as a fast field to find duplicates quickly.
pub fn id_hash(id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(id.as_bytes())
}

impl FlowDoc {
    /// Builds the document of a parsed record.
    pub fn from_record(
        format: &RecordFormat,
        values: &[Value<'_>],
        line: &str,
        context: &EventContext<'_>,
    ) -> Result<FlowDoc, DocError> {
        let mut fields = Vec::with_capacity(values.len() + 1);
        for (column, value) in format.columns().iter().zip(values) {
            let name: Cow<'static, str> = match column {
                super::format::Column::Known(field) => Cow::Borrowed(field.name),
                super::format::Column::Unknown(name) => Cow::Owned(name.clone()),
            };
            if let Some(value) = owned(value) {
                fields.push((name, value));
            }
        }
        let int_at = |position: Option<usize>| match position.map(|p| values[p]) {
            Some(Value::Int(v)) => Some(v),
            _ => None,
        };
        let positions = format.positions;
        if let Some(name) = int_at(positions.protocol).and_then(protocol_name) {
            fields.push((Cow::Borrowed("protocol_name"), DocValue::Str(name.into())));
        }
        let timestamp_ms = match context.timestamp_ms {
            Some(ms) => ms,
            None => int_at(positions.start)
                .or_else(|| int_at(positions.end))
                .ok_or(DocError::NoTime)?
                .checked_mul(1000)
                .ok_or(DocError::NoTime)?,
        };
        let id = match context.event_id {
            Some(id) => id.to_owned(),
            None => record_id(format, line),
        };
        Ok(FlowDoc {
            index: daily_index(timestamp_ms)?,
            id,
            timestamp_ms,
            fields,
            message: Some(line.trim_end().to_owned()),
            event_id: context.event_id.map(str::to_owned),
            owner: context.owner.map(str::to_owned),
            log_group: context.log_group.map(str::to_owned),
            log_stream: context.log_stream.map(str::to_owned),
            original_source: None,
        })
    }

    /// Builds the document of a CloudWatch event whose subscription filter extracted the fields
    /// (`extractedFields`: underscore names to string values).
    pub fn from_extracted_fields(
        extracted: &Map<String, Json>,
        message: &str,
        context: &EventContext<'_>,
    ) -> Result<FlowDoc, DocError> {
        let mut fields = Vec::with_capacity(extracted.len() + 1);
        let mut start = None;
        let mut protocol = None;
        for (name, raw) in extracted {
            let text = match raw {
                Json::String(s) => Cow::Borrowed(s.as_str()),
                Json::Null => continue,
                other => Cow::Owned(other.to_string()),
            };
            // The Lambda drops empty values too.
            if text.is_empty() {
                continue;
            }
            let field_type = document_field_type(name).unwrap_or(FieldType::Keyword);
            let value = parse_value(field_type, &text).ok_or_else(|| DocError::BadField {
                field: name.clone(),
                reason: format!("`{text}` is not a valid {}", field_type.es_type()),
            })?;
            if let Some(value) = owned(&value) {
                match (name.as_str(), &value) {
                    ("start", DocValue::Int(v)) => start = Some(*v),
                    ("protocol", DocValue::Int(v)) => protocol = Some(*v),
                    _ => {}
                }
                fields.push((intern(name), value));
            }
        }
        if let Some(name) = protocol.and_then(protocol_name) {
            fields.push((Cow::Borrowed("protocol_name"), DocValue::Str(name.into())));
        }
        let timestamp_ms = context
            .timestamp_ms
            .or_else(|| start.and_then(|s| s.checked_mul(1000)))
            .ok_or(DocError::NoTime)?;
        let id = match context.event_id {
            Some(id) => id.to_owned(),
            None => {
                let mut hasher = xxhash_rust::xxh3::Xxh3::new();
                hasher.update(message.as_bytes());
                digest_id(hasher.digest128())
            }
        };
        Ok(FlowDoc {
            index: daily_index(timestamp_ms)?,
            id,
            timestamp_ms,
            fields,
            message: Some(message.to_owned()),
            event_id: context.event_id.map(str::to_owned),
            owner: context.owner.map(str::to_owned),
            log_group: context.log_group.map(str::to_owned),
            log_stream: context.log_stream.map(str::to_owned),
            original_source: None,
        })
    }

    /// Builds a document from a client's `_source` (Elasticsearch `_bulk`): known fields are
    /// typed, `@timestamp` (or `start`) places it in time, and the source is kept verbatim.
    pub fn from_source(
        index: &str,
        id: Option<&str>,
        source: Map<String, Json>,
    ) -> Result<FlowDoc, DocError> {
        let mut fields = Vec::new();
        let mut timestamp_ms = None;
        let mut start = None;
        let text = |value: &Json| match value {
            Json::String(s) => Some(s.clone()),
            Json::Number(n) => Some(n.to_string()),
            Json::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        let mut meta: [Option<String>; 5] = Default::default();
        for (name, value) in &source {
            match name.as_str() {
                "@timestamp" => {
                    timestamp_ms = Some(es_date_ms(single(name, value)?).ok_or_else(|| {
                        bad_field(
                            name,
                            "is not a date in strict_date_optional_time or epoch_millis form",
                        )
                    })?)
                }
                "@message" => meta[0] = text(value),
                "@id" => meta[1] = text(value),
                "@owner" => meta[2] = text(value),
                "@log_group" => meta[3] = text(value),
                "@log_stream" => meta[4] = text(value),
                _ => {
                    let Some(field_type) = document_field_type(name) else {
                        continue;
                    };
                    let Some(raw) = text(single(name, value)?) else {
                        continue;
                    };
                    if raw.is_empty() {
                        continue;
                    }
                    let value = parse_value(field_type, &raw)
                        .and_then(|v| owned(&v))
                        .or_else(|| coerce_to_long(field_type, &raw))
                        .ok_or_else(|| {
                            bad_field(
                                name,
                                &format!("`{raw}` is not a valid {}", field_type.es_type()),
                            )
                        });
                    match value {
                        Ok(value) => {
                            if name == "start" {
                                if let DocValue::Int(v) = value {
                                    start = Some(v);
                                }
                            }
                            fields.push((intern(name), value));
                        }
                        // `-` and other non-values of a typed field are left out, as absent.
                        Err(_) if raw == "-" => {}
                        Err(error) => return Err(error),
                    }
                }
            }
        }
        let timestamp_ms = timestamp_ms
            .or_else(|| start.and_then(|s| s.checked_mul(1000)))
            .ok_or(DocError::NoTime)?;
        let id = match id {
            Some(id) => id.to_owned(),
            None => {
                let mut hasher = xxhash_rust::xxh3::Xxh3::new();
                hasher.update(index.as_bytes());
                hasher.update(Json::Object(source.clone()).to_string().as_bytes());
                digest_id(hasher.digest128())
            }
        };
        let [message, event_id, owner, log_group, log_stream] = meta;
        Ok(FlowDoc {
            id,
            index: index.into(),
            timestamp_ms,
            fields,
            message,
            event_id,
            owner,
            log_group,
            log_stream,
            original_source: Some(source),
        })
    }

    /// The value of a field, if set.
    pub fn get(&self, name: &str) -> Option<&DocValue> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The document as Elasticsearch stores it (`_source`).
    pub fn source(&self) -> Map<String, Json> {
        if let Some(source) = &self.original_source {
            return source.clone();
        }
        let mut json = Vec::new();
        self.write_source_json(&mut json);
        serde_json::from_slice(&json).unwrap_or_default()
    }

    /// `_source` as flowdash writes it to a cluster: [`FlowDoc::write_source_json`], with `@id`
    /// there whatever the source (the record's own id when CloudWatch gave none), so that it
    /// always equals `_id`: Elasticsearch 8, which no longer sorts on `_id`, pages on `@id`
    /// instead (`backend::elastic::compat::replace_id_sort`).
    pub fn write_cluster_source_json(&self, out: &mut Vec<u8>) {
        self.write_source_json(out);
        if self.event_id.is_none() && self.original_source.is_none() && out.ends_with(b"}") {
            out.pop();
            out.extend_from_slice(b",\"@id\":");
            let _ = serde_json::to_writer(&mut *out, &self.id);
            out.push(b'}');
        }
    }

    /// Writes `_source` as JSON: record fields in their order, then what the Lambda adds.
    /// Straight into the buffer, since this runs for every ingested record.
    pub fn write_source_json(&self, out: &mut Vec<u8>) {
        if let Some(source) = &self.original_source {
            let _ = serde_json::to_writer(&mut *out, source);
            return;
        }
        out.push(b'{');
        let mut first = true;
        let mut key = |out: &mut Vec<u8>, name: &str| {
            if !first {
                out.push(b',');
            }
            first = false;
            let _ = serde_json::to_writer(&mut *out, name);
            out.push(b':');
        };
        for (name, value) in &self.fields {
            key(out, name);
            match value {
                DocValue::Int(v) => {
                    let _ = write!(out, "{v}");
                }
                DocValue::Ip(ip) => {
                    let _ = write!(out, "\"{ip}\"");
                }
                DocValue::Str(s) => {
                    let _ = serde_json::to_writer(&mut *out, s);
                }
            }
        }
        let text_fields = [("@id", &self.event_id)];
        for (name, value) in text_fields {
            if let Some(value) = value {
                key(out, name);
                let _ = serde_json::to_writer(&mut *out, value);
            }
        }
        if let Some(time) = DateTime::<Utc>::from_timestamp_millis(self.timestamp_ms) {
            key(out, "@timestamp");
            let _ = write!(out, "\"{}\"", time.format("%Y-%m-%dT%H:%M:%S%.3fZ"));
        }
        let text_fields = [
            ("@message", &self.message),
            ("@owner", &self.owner),
            ("@log_group", &self.log_group),
            ("@log_stream", &self.log_stream),
        ];
        for (name, value) in text_fields {
            if let Some(value) = value {
                key(out, name);
                let _ = serde_json::to_writer(&mut *out, value);
            }
        }
        out.push(b'}');
    }
}

/// The one value a flow field holds: `[v]` is `v` and `[]` none (`null`), as Elasticsearch
/// reads them; several values or an object cannot be kept in a flow and are refused, never
/// dropped quietly.
fn single<'a>(name: &str, value: &'a Json) -> Result<&'a Json, DocError> {
    match value {
        Json::Array(items) => match items.as_slice() {
            [] => Ok(&Json::Null),
            [one] => single(name, one),
            many => Err(bad_field(
                name,
                &format!(
                    "holds {} values; a flow field holds one value per flow",
                    many.len()
                ),
            )),
        },
        Json::Object(_) => Err(bad_field(
            name,
            "is an object; a flow field holds one value per flow",
        )),
        other => Ok(other),
    }
}

/// A number with a fraction for a whole-number field, truncated as Elasticsearch's `coerce`
/// does (`1.0` and `"1.9"` are 1).
fn coerce_to_long(field_type: FieldType, raw: &str) -> Option<DocValue> {
    if field_type != FieldType::Long {
        return None;
    }
    let number = raw
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())?
        .trunc();
    // Within i64, where every whole f64 converts exactly.
    (number.abs() < 9.2e18).then_some(DocValue::Int(number as i64))
}

/// A date as Elasticsearch's default format, `strict_date_optional_time||epoch_millis`,
/// reads it, in epoch milliseconds: `2016-01-01`, `2016-01-01T12:30:00.123+01:00`,
/// `1451606400000` (a number or a string). The search side's reader, so that a date
/// that finds flows is one that stores them.
fn es_date_ms(value: &Json) -> Option<i64> {
    use crate::backend::embedded::search::datemath::{DateFormats, Zone};
    match value {
        Json::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|v| v.is_finite() && v.abs() < 9.2e18)
                .map(|v| v.floor() as i64)
        }),
        Json::String(s) => DateFormats::default().parse_date(s, &Zone::utc()).ok(),
        _ => None,
    }
}

fn bad_field(name: &str, reason: &str) -> DocError {
    DocError::BadField {
        field: name.to_owned(),
        reason: reason.to_owned(),
    }
}

fn owned(value: &Value<'_>) -> Option<DocValue> {
    match value {
        Value::Absent => None,
        Value::Int(v) => Some(DocValue::Int(*v)),
        Value::Ip(ip) => Some(DocValue::Ip(*ip)),
        Value::Str(s) => Some(DocValue::Str((*s).into())),
    }
}

/// The static name of a known field, so documents do not carry a copy of every name.
fn intern(name: &str) -> Cow<'static, str> {
    match app::model::flow::record_field(name) {
        Some(field) if field.name == name => Cow::Borrowed(field.name),
        _ => Cow::Owned(name.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::parse::parse_record;

    const LINE: &str = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK";

    fn doc(line: &str, context: &EventContext<'_>) -> FlowDoc {
        let format = RecordFormat::default_v2();
        let mut values = Vec::new();
        parse_record(&format, line, &mut values).unwrap();
        FlowDoc::from_record(&format, &values, line, context).unwrap()
    }

    #[test]
    fn digest_ids_are_the_digest_in_32_lowercase_hex_digits() {
        for digest in [
            0,
            1,
            0xabc,
            u128::MAX,
            0x0123_4567_89ab_cdef_0011_2233_4455_6677,
        ] {
            assert_eq!(digest_id(digest), format!("{digest:032x}"));
        }
    }

    #[test]
    fn daily_index_names_are_the_utc_date_in_four_two_and_two_digits() {
        let day = 86_400_000;
        for timestamp_ms in [
            0,
            -1,
            1_418_530_010_000,
            1_583_452_799_999,
            253_402_300_799_999, // 9999-12-31, the last date written by hand
            253_402_300_800_000, // 10000-01-01
            -62_167_219_200_001, // 1 BC
            -62_135_596_800_000 + 59 * day,
        ] {
            let time = DateTime::<Utc>::from_timestamp_millis(timestamp_ms).unwrap();
            let expected = format!(
                "cwl-{:04}.{:02}.{:02}",
                time.year(),
                time.month(),
                time.day()
            );
            assert_eq!(
                daily_index(timestamp_ms).unwrap(),
                expected,
                "{timestamp_ms}"
            );
        }
        assert_eq!(daily_index(0).unwrap(), "cwl-1970.01.01");
        assert!(daily_index(i64::MAX).is_err());
    }

    #[test]
    fn file_records_are_indexed_by_their_start() {
        let doc = doc(LINE, &EventContext::default());
        assert_eq!(doc.timestamp_ms, 1_418_530_010_000);
        assert_eq!(doc.index, "cwl-2014.12.14");
        assert_eq!(doc.id.len(), 32);
        let source = doc.source();
        assert_eq!(source["account_id"], "123456789010");
        assert_eq!(source["dstport"], 22);
        assert_eq!(source["srcaddr"], "172.31.16.139");
        assert_eq!(source["protocol_name"], "TCP");
        assert_eq!(source["@timestamp"], "2014-12-14T04:06:50.000Z");
        assert_eq!(source["@message"], LINE);
        assert!(!source.contains_key("@log_group"));
    }

    #[test]
    fn ids_are_deterministic() {
        let a = doc(LINE, &EventContext::default());
        let b = doc(&format!("{LINE}\n"), &EventContext::default());
        assert_eq!(a.id, b.id);
        let other = doc(&LINE.replace("20641", "20642"), &EventContext::default());
        assert_ne!(a.id, other.id);
    }

    #[test]
    fn cloudwatch_events_keep_their_id_and_timestamp() {
        let context = EventContext {
            event_id: Some("31953106606966983378809025079804211143289615424298221568"),
            timestamp_ms: Some(1_418_530_010_123),
            owner: Some("123456789010"),
            log_group: Some("vpc-flow-logs"),
            log_stream: Some("eni-1235b8ca123456789-all"),
        };
        let doc = doc(LINE, &context);
        assert_eq!(
            doc.id,
            "31953106606966983378809025079804211143289615424298221568"
        );
        let source = doc.source();
        assert_eq!(source["@timestamp"], "2014-12-14T04:06:50.123Z");
        assert_eq!(source["@log_group"], "vpc-flow-logs");
        assert_eq!(source["@id"], doc.id.as_str());
    }

    #[test]
    fn nodata_records_keep_their_status_without_traffic() {
        let doc = doc(
            "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA",
            &EventContext::default(),
        );
        assert_eq!(doc.get("log_status"), Some(&DocValue::Str("NODATA".into())));
        assert_eq!(doc.get("srcaddr"), None);
        assert_eq!(doc.get("action"), None);
        assert_eq!(doc.index, "cwl-2015.05.10");
    }

    #[test]
    fn extracted_fields_are_typed() {
        let extracted: Map<String, Json> = serde_json::from_str(
            r#"{"version":"2","account_id":"012345678901","interface_id":"eni-1","srcaddr":"10.0.0.1",
                "dstaddr":"10.0.0.2","srcport":"443","dstport":"51000","protocol":"6","packets":"3",
                "bytes":"180","start":"1583471220","end":"1583471280","action":"ACCEPT","log_status":"OK"}"#,
        )
        .unwrap();
        let doc = FlowDoc::from_extracted_fields(
            &extracted,
            "2 012345678901 eni-1 10.0.0.1 10.0.0.2 443 51000 6 3 180 1583471220 1583471280 ACCEPT OK",
            &EventContext { timestamp_ms: Some(1_583_471_220_000), ..Default::default() },
        )
        .unwrap();
        assert_eq!(
            doc.get("account_id"),
            Some(&DocValue::Str("012345678901".into()))
        );
        assert_eq!(doc.get("srcport"), Some(&DocValue::Int(443)));
        assert_eq!(doc.get("protocol_name"), Some(&DocValue::Str("TCP".into())));
        assert_eq!(doc.index, "cwl-2020.03.06");
        let bad: Map<String, Json> = serde_json::from_str(r#"{"srcport":"http"}"#).unwrap();
        assert!(matches!(
            FlowDoc::from_extracted_fields(&bad, "x", &EventContext::default()),
            Err(DocError::BadField { .. })
        ));
    }
}
