//! Flow documents as tantivy indexes them: the documents of one write converted into one
//! shared buffer ([`DocBatch`]), each handed to the indexing threads as a [`BatchDoc`] that
//! points into it.
//!
//! Why not a `TantivyDocument` each: those are allocated on the parsing thread and freed on an
//! indexing thread, and glibc frees memory of another thread's arena under that arena's lock,
//! the lock the parsing thread takes for its own allocations. Waiting for and waking each other
//! on that lock was a tenth of an ingest's CPU. A batch is one allocation for every document of
//! a write, freed when the last of them is indexed.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Condvar, Mutex};

use app::model::flow::FieldType;
use tantivy::schema::document::{ReferenceValue, ReferenceValueLeaf, Value};
use tantivy::schema::{Document, Field};
use tantivy::DateTime;

use super::message_words::column_words::{write_stored_message, Backing, ColumnWords};
use super::schema::{to_ipv6, FlowSchema, SchemaField};
use crate::ingest::document::FlowDoc;
use crate::ingest::DocValue;

/// The values of the documents of one write, back to back.
#[derive(Debug, Default)]
pub struct DocBatch {
    values: Vec<(Field, Leaf)>,
    /// Every string value, back to back: [`Leaf::Str`] says where.
    text: String,
    /// Where each document's values end in `values`.
    ends: Vec<usize>,
    /// Counts the batch as in flight until it is dropped, when all its documents are indexed.
    in_flight: Option<InFlight>,
}

/// How many documents are handed to the indexing threads and not yet indexed. tantivy's queue
/// holds up to 10 000 hand-offs; a parsing thread faster than the indexers would fill it, so
/// a writer waits here instead, and memory holds a few batches rather than thousands.
#[derive(Debug, Default)]
pub struct DocsInFlight {
    count: Mutex<usize>,
    indexed: Condvar,
}

/// Documents in flight: at most this many, unless one batch alone is more.
const MAX_DOCS_IN_FLIGHT: usize = 2048;

impl DocsInFlight {
    /// Waits until `docs` more documents may be in flight, and counts them.
    fn admit(self: &Arc<Self>, docs: usize) -> InFlight {
        let mut count = self.count.lock().unwrap_or_else(|e| e.into_inner());
        while *count > 0 && *count + docs > MAX_DOCS_IN_FLIGHT {
            count = self.indexed.wait(count).unwrap_or_else(|e| e.into_inner());
        }
        *count += docs;
        InFlight {
            counter: self.clone(),
            docs,
        }
    }
}

/// Documents counted in flight until this is dropped.
#[derive(Debug)]
struct InFlight {
    counter: Arc<DocsInFlight>,
    docs: usize,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut count = self.counter.count.lock().unwrap_or_else(|e| e.into_inner());
        *count -= self.docs;
        self.counter.indexed.notify_one();
    }
}

/// One value, as its field's type stores it.
#[derive(Clone, Copy, Debug)]
enum Leaf {
    /// `text[start..end]`.
    Str {
        start: usize,
        end: usize,
    },
    I64(i64),
    U64(u64),
    Ip(Ipv6Addr),
    Date(DateTime),
}

/// A document of a [`DocBatch`]: what the indexing threads are handed.
#[derive(Clone, Debug)]
pub struct BatchDoc {
    batch: Arc<DocBatch>,
    index: usize,
}

impl BatchDoc {
    fn values(&self) -> &[(Field, Leaf)] {
        let start = match self.index {
            0 => 0,
            i => self.batch.ends[i - 1],
        };
        &self.batch.values[start..self.batch.ends[self.index]]
    }
}

/// A value of a [`BatchDoc`].
#[derive(Clone, Copy, Debug)]
pub struct BatchValue<'a> {
    text: &'a str,
    leaf: Leaf,
}

impl<'a> Value<'a> for BatchValue<'a> {
    type ArrayIter = std::iter::Empty<BatchValue<'a>>;
    type ObjectIter = std::iter::Empty<(&'a str, BatchValue<'a>)>;

    fn as_value(&self) -> ReferenceValue<'a, Self> {
        ReferenceValue::Leaf(match self.leaf {
            Leaf::Str { start, end } => ReferenceValueLeaf::Str(&self.text[start..end]),
            Leaf::I64(v) => ReferenceValueLeaf::I64(v),
            Leaf::U64(v) => ReferenceValueLeaf::U64(v),
            Leaf::Ip(v) => ReferenceValueLeaf::IpAddr(v),
            Leaf::Date(v) => ReferenceValueLeaf::Date(v),
        })
    }
}

/// The fields and values of a [`BatchDoc`].
pub struct BatchDocValues<'a> {
    text: &'a str,
    values: std::slice::Iter<'a, (Field, Leaf)>,
}

impl<'a> Iterator for BatchDocValues<'a> {
    type Item = (Field, BatchValue<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let (field, leaf) = self.values.next()?;
        Some((
            *field,
            BatchValue {
                text: self.text,
                leaf: *leaf,
            },
        ))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.values.size_hint()
    }
}

impl Document for BatchDoc {
    type Value<'a> = BatchValue<'a>;
    type FieldsValuesIter<'a> = BatchDocValues<'a>;

    fn iter_fields_and_values(&self) -> BatchDocValues<'_> {
        BatchDocValues {
            text: &self.batch.text,
            values: self.values().iter(),
        }
    }
}

/// Turns flow documents into a [`DocBatch`]. Every ingested record goes through here, on the
/// thread that parses, so it keeps the schema field of each field name of the last document:
/// documents of one format name the same fields in the same order.
pub struct DocBatchBuilder<'a> {
    schema: &'a FlowSchema,
    batch: DocBatch,
    words: ColumnWords,
    /// The last document's field names, in order, and their schema fields.
    fields: Vec<(String, Option<SchemaField>)>,
}

impl<'a> DocBatchBuilder<'a> {
    /// A builder for `docs` documents.
    pub fn new(schema: &'a FlowSchema, docs: usize) -> DocBatchBuilder<'a> {
        DocBatchBuilder {
            schema,
            batch: DocBatch {
                ends: Vec::with_capacity(docs),
                ..DocBatch::default()
            },
            words: ColumnWords::default(),
            fields: Vec::new(),
        }
    }

    /// Adds a flow document whose `_id` has digest `id_hash`.
    pub fn add<'d>(&mut self, doc: &'d FlowDoc, id_hash: u64) {
        let schema = self.schema;
        self.add_str(schema.id, &doc.id);
        self.push(schema.id_hash, Leaf::U64(id_hash));
        let timestamp = DateTime::from_timestamp_millis(doc.timestamp_ms);
        self.push(schema.timestamp, Leaf::Date(timestamp));
        self.words.clear();
        let fields_start = self.batch.values.len();
        for (position, (name, value)) in doc.fields.iter().enumerate() {
            if let Some(field) = self.field_at(position, name) {
                self.add_value(field, value);
            }
        }
        let digest = self.conversation_digest(fields_start);
        self.push(schema.conversation, Leaf::I64(digest));
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
                self.words.add_keyword(value, false);
                self.add_str(field.field, value);
            }
        }
        // Last, when every column it could be backed by is known.
        if let Some(message) = &doc.message {
            let backing = self.words.back(message);
            let start = self.batch.text.len();
            write_stored_message(&mut self.batch.text, message, backing);
            self.push_str_from(schema.message, start);
        }
        // A client's own `_source` is kept as sent; flowdash's documents are rebuilt from
        // their columns and the stored `@message` when a search returns them.
        if doc.original_source.is_some() {
            let mut source = Vec::with_capacity(512);
            doc.write_source_json(&mut source);
            self.add_str(schema.source, &String::from_utf8_lossy(&source));
        }
        self.batch.ends.push(self.batch.values.len());
        if self.batch.ends.len() == 1 {
            // Room for the rest, sized by the first: the documents of a write are mostly alike,
            // and growing the buffers as they fill would copy them and leave them half empty.
            let rest = self.batch.ends.capacity() - 1;
            self.batch.values.reserve(self.batch.values.len() * rest);
            self.batch.text.reserve(self.batch.text.len() * rest);
        }
    }

    /// The documents added, in order, sharing one batch; counted in `in_flight` (waiting for
    /// room there first) until the last of them is indexed.
    pub fn finish(
        mut self,
        in_flight: &Arc<DocsInFlight>,
    ) -> impl ExactSizeIterator<Item = BatchDoc> {
        let count = self.batch.ends.len();
        self.batch.in_flight = Some(in_flight.admit(count));
        let batch = Arc::new(self.batch);
        (0..count).map(move |index| BatchDoc {
            batch: batch.clone(),
            index,
        })
    }

    /// The conversation digest of the document whose fields were added from `start` on, when
    /// it has each of the conversation's fields once; else what stands for one (see
    /// [`super::conversation::UNDIGESTED`]).
    fn conversation_digest(&self, start: usize) -> i64 {
        let [source, destination, port, protocol] = self.schema.conversation_of;
        let mut seen = [0u8; 4];
        let (mut addresses, mut numbers) = ([Ipv6Addr::UNSPECIFIED; 2], [0i64; 2]);
        for (field, leaf) in &self.batch.values[start..] {
            match *leaf {
                Leaf::Ip(ip) if *field == source => {
                    (addresses[0], seen[0]) = (ip, seen[0].saturating_add(1))
                }
                Leaf::Ip(ip) if *field == destination => {
                    (addresses[1], seen[1]) = (ip, seen[1].saturating_add(1))
                }
                Leaf::I64(v) if *field == port => {
                    (numbers[0], seen[2]) = (v, seen[2].saturating_add(1))
                }
                Leaf::I64(v) if *field == protocol => {
                    (numbers[1], seen[3]) = (v, seen[3].saturating_add(1))
                }
                _ => {}
            }
        }
        if seen.contains(&0) {
            super::conversation::NO_CONVERSATION
        } else if seen == [1; 4] {
            super::conversation::digest(addresses[0], addresses[1], numbers[0], numbers[1])
        } else {
            super::conversation::UNDIGESTED
        }
    }

    fn push(&mut self, field: Field, leaf: Leaf) {
        self.batch.values.push((field, leaf));
    }

    fn add_str(&mut self, field: Field, value: &str) {
        let start = self.batch.text.len();
        self.batch.text.push_str(value);
        self.push_str_from(field, start);
    }

    /// Adds what was written to the text since `start` as a string value.
    fn push_str_from(&mut self, field: Field, start: usize) {
        let end = self.batch.text.len();
        self.push(field, Leaf::Str { start, end });
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

    /// Adds a value in the field's own type; values of another type are converted when that
    /// is lossless (a number into a keyword), and otherwise kept only in `_source`.
    /// The column words of what is added go to `words`.
    fn add_value(&mut self, field: SchemaField, value: &DocValue) {
        match (field.field_type, value) {
            (FieldType::Long, DocValue::Int(v)) => self.add_long(field, *v),
            (FieldType::Long, DocValue::Str(s)) => {
                if let Ok(v) = s.parse::<i64>() {
                    self.add_long(field, v)
                }
            }
            (FieldType::Ip, value) => {
                let ip = match value {
                    DocValue::Ip(ip) => Some(*ip),
                    DocValue::Str(s) => s.parse::<IpAddr>().ok(),
                    DocValue::Int(_) => None,
                };
                if let Some(ip) = ip.map(to_ipv6) {
                    self.push(field.field, Leaf::Ip(ip));
                    self.words.add_address(ip);
                }
            }
            (FieldType::Keyword | FieldType::Text, value) => {
                let text: Cow<str> = match value {
                    DocValue::Str(s) => Cow::Borrowed(s),
                    DocValue::Int(v) => v.to_string().into(),
                    DocValue::Ip(ip) => ip.to_string().into(),
                };
                if field.field_type == FieldType::Keyword {
                    self.words.add_keyword(&text, field.of_record);
                    self.add_str(field.field, &text);
                } else {
                    // A message among the fields (from `extractedFields`): never backed.
                    let start = self.batch.text.len();
                    write_stored_message(&mut self.batch.text, &text, Backing::None);
                    self.push_str_from(field.field, start);
                }
            }
            (FieldType::Date, DocValue::Int(v)) => {
                self.push(field.field, Leaf::Date(DateTime::from_timestamp_millis(*v)))
            }
            _ => {}
        }
    }

    fn add_long(&mut self, field: SchemaField, value: i64) {
        self.push(field.field, Leaf::I64(value));
        // Numbers flowdash adds (an AS number) are no words of the line: they would keep it
        // from being backed by its columns.
        if field.of_record {
            self.words.add_long(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use tantivy::schema::Value as _;
    use tantivy::TantivyDocument;

    use super::*;
    use crate::ingest::document::{EventContext, FlowDoc};
    use crate::ingest::format::RecordFormat;
    use crate::ingest::parse::parse_record;

    fn record(format: &RecordFormat, line: &str) -> FlowDoc {
        let mut values = Vec::new();
        parse_record(format, line, &mut values).unwrap();
        FlowDoc::from_record(format, &values, line, &EventContext::default()).unwrap()
    }

    fn batch(schema: &FlowSchema, docs: &[FlowDoc]) -> Vec<TantivyDocument> {
        let mut builder = DocBatchBuilder::new(schema, docs.len());
        for doc in docs {
            builder.add(doc, 7);
        }
        builder
            .finish(&Arc::default())
            .map(Document::into_tantivy_document)
            .collect()
    }

    #[test]
    fn a_writer_waits_while_too_many_documents_are_in_flight() {
        let in_flight = Arc::new(DocsInFlight::default());
        let first = in_flight.admit(MAX_DOCS_IN_FLIGHT - 1);
        // Room for one more; one batch alone may be more than the limit.
        let second = in_flight.admit(1);
        drop((first, second));
        let alone = in_flight.admit(3 * MAX_DOCS_IN_FLIGHT);
        let (sender, admitted) = std::sync::mpsc::channel();
        let waiting = {
            let in_flight = in_flight.clone();
            std::thread::spawn(move || {
                let more = in_flight.admit(1);
                sender.send(()).unwrap();
                drop(more);
            })
        };
        let wait = std::time::Duration::from_millis(100);
        assert!(admitted.recv_timeout(wait).is_err(), "admitted while full");
        drop(alone);
        admitted
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("admitted once the batch in flight was indexed");
        waiting.join().unwrap();
        assert_eq!(*in_flight.count.lock().unwrap(), 0);
    }

    #[test]
    fn one_batch_puts_every_value_in_its_field_whatever_the_last_document_named() {
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
        let long = |doc: &TantivyDocument, name: &str| {
            doc.get_first(schema.field(name).unwrap().field)
                .and_then(|v| v.as_i64())
        };
        let text = |doc: &TantivyDocument, name: &str| {
            doc.get_first(schema.field(name).unwrap().field)
                .and_then(|v| v.as_str().map(str::to_owned))
        };
        let converted = batch(&schema, &docs);
        assert_eq!(converted.len(), docs.len());
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
        assert_eq!(
            text(&converted[3], "@message").as_deref(),
            Some("\u{3}2 123456789010 eni-2 10.0.0.3 10.0.0.4 2000 53 17 1 80 1600000000 1600000060 ACCEPT OK")
        );
        // Each the same as a batch of its own would have it.
        for (doc, converted) in docs.iter().zip(&converted) {
            let alone = batch(&schema, std::slice::from_ref(doc));
            assert_eq!(&alone[0], converted);
        }
    }
}
