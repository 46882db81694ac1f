//! The tantivy schema of flow documents: every field one filters or aggregates on is a fast
//! field (addresses as IP fields, numbers as i64, strings raw), `@timestamp` at millisecond
//! precision, `@message` full text, and `_source` stored for hits.

use std::net::{IpAddr, Ipv6Addr};

use app::model::flow::{FieldType, META_FIELDS, RECORD_FIELDS};
use tantivy::schema::{
    DateOptions, DateTimePrecision, Field, IpAddrOptions, NumericOptions, Schema,
    TextFieldIndexing, TextOptions, FAST, STORED,
};
use tantivy::{DateTime, TantivyDocument};

use super::column_words::{stored_message, write_stored_message, ColumnWords};
use crate::ingest::document::FlowDoc;
use crate::ingest::DocValue;

/// `_id`: indexed for lookups, stored for hits.
pub const ID: &str = "_id";
/// A 64-bit digest of `_id`, read in bulk to find duplicates.
pub const ID_HASH: &str = "_id_hash";
/// The document as sent or built, returned by searches.
pub const SOURCE: &str = "_source";
/// The time field.
pub const TIMESTAMP: &str = "@timestamp";
/// The tokenizer of `@message`: words between spaces with punctuation trimmed, lower-cased
/// (see [`super::tokenizer`]), so `10.0.0.5`, `eni-0a1b2c3d` and `reject` are single tokens.
pub const MESSAGE_TOKENIZER: &str = "flow_words";

/// The analyzer registered as [`MESSAGE_TOKENIZER`]: indexes stored messages, backed ones
/// included (see [`super::column_words`]).
pub fn message_analyzer() -> tantivy::tokenizer::TextAnalyzer {
    tantivy::tokenizer::TextAnalyzer::from(
        super::tokenizer::FlowWordsTokenizer::for_stored_messages(),
    )
}

/// The words of text searched on `@message`: the same words, whatever the text starts with.
pub fn query_analyzer() -> tantivy::tokenizer::TextAnalyzer {
    tantivy::tokenizer::TextAnalyzer::from(super::tokenizer::FlowWordsTokenizer::default())
}

/// A document field and how it is stored.
#[derive(Clone, Copy, Debug)]
pub struct SchemaField {
    pub field: Field,
    pub field_type: FieldType,
}

/// The schema and quick access to its fields by document name.
#[derive(Clone, Debug)]
pub struct FlowSchema {
    pub schema: Schema,
    pub id: Field,
    pub id_hash: Field,
    pub source: Field,
    pub timestamp: Field,
    /// Looked up for every value of every ingested document: a fast hash.
    fields: rustc_hash::FxHashMap<&'static str, SchemaField>,
}

impl FlowSchema {
    pub fn new() -> FlowSchema {
        let mut builder = Schema::builder();
        // `_id` is only stored; lookups and deletes go through its digest's fast field, which
        // spares the indexer a unique term per document.
        let id = builder.add_text_field(ID, STORED);
        let id_hash = builder.add_u64_field(ID_HASH, NumericOptions::default().set_fast());
        let source = builder.add_text_field(SOURCE, STORED);
        let mut fields = rustc_hash::FxHashMap::default();
        let all = RECORD_FIELDS
            .iter()
            .map(|f| (f.name, f.field_type))
            .chain(META_FIELDS.iter().copied());
        for (name, field_type) in all {
            // Everything but `@message` is a fast field only: term, range, prefix and wildcard
            // queries run on the columns, so indexing builds no inverted index for them.
            let field = match field_type {
                FieldType::Keyword => builder.add_text_field(name, FAST),
                FieldType::Long => builder.add_i64_field(name, FAST),
                FieldType::Ip => {
                    builder.add_ip_addr_field(name, IpAddrOptions::default().set_fast())
                }
                FieldType::Date => builder.add_date_field(
                    name,
                    DateOptions::default()
                        .set_fast()
                        .set_precision(DateTimePrecision::Milliseconds),
                ),
                // Words and the documents they occur in; no positions (they would double the
                // cost of ingesting), so phrases of several words are refused at search time.
                FieldType::Text => builder.add_text_field(
                    name,
                    TextOptions::default()
                        .set_indexing_options(
                            TextFieldIndexing::default()
                                .set_tokenizer(MESSAGE_TOKENIZER)
                                .set_index_option(tantivy::schema::IndexRecordOption::Basic),
                        )
                        .set_stored(),
                ),
            };
            fields.insert(name, SchemaField { field, field_type });
        }
        let schema = builder.build();
        let timestamp = fields[TIMESTAMP].field;
        FlowSchema {
            schema,
            id,
            id_hash,
            source,
            timestamp,
            fields,
        }
    }

    /// The field a document name refers to. `action.keyword` is `action`: the engine stores
    /// strings as keywords, so the `.keyword` sub-field of a dynamic mapping is the field.
    pub fn field(&self, name: &str) -> Option<SchemaField> {
        let name = name.strip_suffix(".keyword").unwrap_or(name);
        self.fields.get(name).copied()
    }

    /// All document fields, by name.
    pub fn fields(&self) -> impl Iterator<Item = (&'static str, SchemaField)> + '_ {
        self.fields.iter().map(|(n, f)| (*n, *f))
    }

    /// A converter of flow documents into tantivy documents of this schema.
    pub fn tantivy_docs(&self) -> TantivyDocs<'_> {
        TantivyDocs {
            schema: self,
            words: ColumnWords::default(),
            message: String::new(),
            fields: Vec::new(),
        }
    }

    /// Document fields in the order `_source` lists them when it is rebuilt: record fields,
    /// then what flowdash derives, then what the Lambda adds.
    pub fn source_order(&self) -> impl Iterator<Item = (&'static str, SchemaField)> + '_ {
        RECORD_FIELDS
            .iter()
            .map(|f| f.name)
            .chain([
                "protocol_name",
                "@id",
                "@timestamp",
                "@message",
                "@owner",
                "@log_group",
                "@log_stream",
            ])
            .filter_map(|name| self.fields.get(name).map(|field| (name, *field)))
    }
}

impl Default for FlowSchema {
    fn default() -> Self {
        FlowSchema::new()
    }
}

/// Turns flow documents into tantivy documents. Every ingested record goes through here, on
/// the thread that parses, so it keeps its buffers from one document to the next, and the
/// schema field of each field name of the last document: documents of one format name the
/// same fields in the same order.
pub struct TantivyDocs<'a> {
    schema: &'a FlowSchema,
    words: ColumnWords,
    /// The stored `@message`, marked or escaped.
    message: String,
    /// The last document's field names, in order, and their schema fields.
    fields: Vec<(String, Option<SchemaField>)>,
}

impl TantivyDocs<'_> {
    /// The tantivy document of a flow document whose `_id` has digest `id_hash`.
    pub fn convert<'d>(&mut self, doc: &'d FlowDoc, id_hash: u64) -> TantivyDocument {
        let schema = self.schema;
        // Sized to the document (8 bytes a number, 16 an address, strings with a length)
        // rather than tantivy's default of 1 KiB: glibc serves a request that large from its
        // large bins, consolidating its fast bins first, which was a seventieth of an ingest.
        let message_len = doc.message.as_ref().map_or(0, String::len);
        let capacity = doc.id.len() + message_len + 16 * (doc.fields.len() + 4);
        let mut out = TantivyDocument::with_capacity(capacity);
        out.add_text(schema.id, &doc.id);
        out.add_u64(schema.id_hash, id_hash);
        out.add_date(
            schema.timestamp,
            DateTime::from_timestamp_millis(doc.timestamp_ms),
        );
        self.words.clear();
        for (position, (name, value)) in doc.fields.iter().enumerate() {
            if let Some(field) = self.field_at(position, name) {
                add_value(&mut out, field, value, &mut self.words);
            }
        }
        let meta = [
            ("@id", &doc.event_id),
            ("@owner", &doc.owner),
            ("@log_group", &doc.log_group),
            ("@log_stream", &doc.log_stream),
        ];
        // Fields looked up only for values a document has: most have none of these.
        let with_field =
            |value: &'d Option<String>, name| Some((value.as_ref()?, schema.field(name)?));
        for (name, value) in meta {
            if let Some((value, field)) = with_field(value, name) {
                self.words.add_keyword(value);
                out.add_text(field.field, value);
            }
        }
        // Last, when every column it could be backed by is known.
        if let Some((message, field)) = with_field(&doc.message, "@message") {
            let backed = self.words.back(message);
            write_stored_message(&mut self.message, message, backed);
            out.add_text(field.field, &self.message);
        }
        // A client's own `_source` is kept as sent; flowdash's documents are rebuilt from
        // their columns and the stored `@message` when a search returns them.
        if doc.original_source.is_some() {
            let mut source = Vec::with_capacity(512);
            doc.write_source_json(&mut source);
            out.add_text(schema.source, String::from_utf8(source).unwrap_or_default());
        }
        out
    }

    /// The schema field of a document's `position`th field, `name`: looked up only when the
    /// last document named another field there.
    fn field_at(&mut self, position: usize, name: &str) -> Option<SchemaField> {
        match self.fields.get(position) {
            Some((known, field)) if known == name => *field,
            _ => {
                let field = self.schema.field(name);
                self.fields.truncate(position);
                self.fields.push((name.to_owned(), field));
                field
            }
        }
    }
}

/// Adds a value in the field's own type; values of another type are converted when that is
/// lossless (a number into a keyword), and otherwise kept only in `_source`.
/// The column words of what is added go to `words`.
fn add_value(
    out: &mut TantivyDocument,
    field: SchemaField,
    value: &DocValue,
    words: &mut ColumnWords,
) {
    let mut add_long = |v: i64| {
        out.add_i64(field.field, v);
        words.add_long(v);
    };
    match (field.field_type, value) {
        (FieldType::Long, DocValue::Int(v)) => add_long(*v),
        (FieldType::Long, DocValue::Str(s)) => {
            if let Ok(v) = s.parse::<i64>() {
                add_long(v)
            }
        }
        (FieldType::Ip, value) => {
            let ip = match value {
                DocValue::Ip(ip) => Some(*ip),
                DocValue::Str(s) => s.parse::<IpAddr>().ok(),
                DocValue::Int(_) => None,
            };
            if let Some(ip) = ip.map(to_ipv6) {
                out.add_ip_addr(field.field, ip);
                words.add_address(ip);
            }
        }
        (FieldType::Keyword | FieldType::Text, value) => {
            let text = match value {
                DocValue::Str(s) => std::borrow::Cow::Borrowed(s.as_str()),
                DocValue::Int(v) => v.to_string().into(),
                DocValue::Ip(ip) => ip.to_string().into(),
            };
            if field.field_type == FieldType::Keyword {
                words.add_keyword(&text);
                out.add_text(field.field, text);
            } else {
                // A message among the fields (from `extractedFields`): never backed.
                out.add_text(field.field, stored_message(&text, false));
            }
        }
        (FieldType::Date, DocValue::Int(v)) => {
            out.add_date(field.field, DateTime::from_timestamp_millis(*v))
        }
        _ => {}
    }
}

/// IP fields hold IPv6; IPv4 is stored mapped (`::ffff:a.b.c.d`).
pub fn to_ipv6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// The address as users write it: IPv4-mapped addresses shown as IPv4.
pub fn from_ipv6(ip: Ipv6Addr) -> IpAddr {
    match ip.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(ip),
    }
}

#[cfg(test)]
mod tests {
    use tantivy::schema::Value as _;

    use super::*;
    use crate::ingest::document::{EventContext, FlowDoc};
    use crate::ingest::format::RecordFormat;
    use crate::ingest::parse::parse_record;

    fn record(format: &RecordFormat, line: &str) -> FlowDoc {
        let mut values = Vec::new();
        parse_record(format, line, &mut values).unwrap();
        FlowDoc::from_record(format, &values, line, &EventContext::default()).unwrap()
    }

    #[test]
    fn one_converter_puts_every_value_in_its_field_whatever_the_last_document_named() {
        let schema = FlowSchema::new();
        let v2 = RecordFormat::default_v2();
        let reordered = RecordFormat::from_header("dstport srcport start action").unwrap();
        let docs = [
            record(&v2, "2 123456789010 eni-1 10.0.0.1 10.0.0.2 1000 443 6 1 40 1600000000 1600000060 ACCEPT OK"),
            // Absent values shift the fields after them.
            record(&v2, "2 123456789010 eni-1 - - - - - - - 1600000000 1600000060 - NODATA"),
            record(&reordered, "22 5000 1600000000 REJECT"),
            record(&v2, "2 123456789010 eni-2 10.0.0.3 10.0.0.4 2000 53 17 1 80 1600000000 1600000060 ACCEPT OK"),
        ];
        let mut converter = schema.tantivy_docs();
        let long = |doc: &TantivyDocument, name: &str| {
            doc.get_first(schema.field(name).unwrap().field)
                .and_then(|v| v.as_i64())
        };
        let text = |doc: &TantivyDocument, name: &str| {
            doc.get_first(schema.field(name).unwrap().field)
                .and_then(|v| v.as_str().map(str::to_owned))
        };
        let converted: Vec<TantivyDocument> =
            docs.iter().map(|doc| converter.convert(doc, 7)).collect();
        assert_eq!(long(&converted[0], "dstport"), Some(443));
        assert_eq!(text(&converted[0], "action").as_deref(), Some("ACCEPT"));
        assert_eq!(long(&converted[1], "dstport"), None);
        assert_eq!(long(&converted[1], "start"), Some(1_600_000_000));
        assert_eq!(text(&converted[1], "log_status").as_deref(), Some("NODATA"));
        assert_eq!(long(&converted[2], "dstport"), Some(22));
        assert_eq!(long(&converted[2], "srcport"), Some(5000));
        assert_eq!(text(&converted[2], "action").as_deref(), Some("REJECT"));
        assert_eq!(long(&converted[3], "dstport"), Some(53));
        assert_eq!(long(&converted[3], "srcport"), Some(2000));
        assert_eq!(
            text(&converted[3], "interface_id").as_deref(),
            Some("eni-2")
        );
        // Each converted the same as a converter of its own would.
        for (doc, converted) in docs.iter().zip(&converted) {
            let alone = schema.tantivy_docs().convert(doc, 7);
            assert_eq!(&alone, converted);
        }
    }
}
