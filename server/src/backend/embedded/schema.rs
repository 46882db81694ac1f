//! The tantivy schema of flow documents: every field one filters or aggregates on is a fast
//! field (addresses as IP fields, numbers as i64, strings raw), `@timestamp` at millisecond
//! precision, `@message` full text, and `_source` stored for hits.

use std::net::{IpAddr, Ipv6Addr};

use app::model::flow::{FieldType, META_FIELDS, RECORD_FIELDS};
use tantivy::schema::{
    DateOptions, DateTimePrecision, Field, IpAddrOptions, NumericOptions, Schema,
    TextFieldIndexing, TextOptions, FAST, STORED,
};

/// `_id`: indexed for lookups, stored for hits.
pub const ID: &str = "_id";
/// A 64-bit digest of `_id`, read in bulk to find duplicates.
pub const ID_HASH: &str = "_id_hash";
/// How many flows a rollup document stands for (see [`super::rollup`]). Only rollup indices
/// hold it, and it is no field of the flow schema's: mappings and `@message` searches never
/// list it, and ingest never fills it.
pub const FLOW_COUNT: &str = "_flow_count";
/// A 31-bit digest of a flow's conversation (source, destination, destination port and
/// protocol, see [`super::conversation`]), for the top conversations' first pass. Written at
/// ingest; no field of the flow schema's, like [`ID_HASH`].
pub const CONVERSATION: &str = "_conversation";
/// The document as sent or built, returned by searches.
pub const SOURCE: &str = "_source";
/// The time field.
pub const TIMESTAMP: &str = "@timestamp";
/// The name `@message`'s tokenizer is registered under (see
/// [`super::message_words::tokenizer`]): words between spaces with punctuation trimmed,
/// lower-cased, so `10.0.0.5`, `eni-0a1b2c3d` and `reject` are single tokens.
pub const MESSAGE_TOKENIZER: &str = "flow_words";

/// A document field and how it is stored.
#[derive(Clone, Copy, Debug)]
pub struct SchemaField {
    /// The tantivy field.
    pub field: Field,
    /// How values are stored and searched.
    pub field_type: FieldType,
    /// A field of flow-log records, whose values are words of a record's line (not one that
    /// flowdash derives or the Lambda adds).
    pub of_record: bool,
}

impl SchemaField {
    /// A field that no index maps, read as Elasticsearch reads an unmapped field: no segment
    /// has its column, so every document lacks it (aggregations answer empty buckets, `null`
    /// or 0, or their `missing` value; sorts with `unmapped_type` put every document last).
    /// Columns are opened by name, so its tantivy field is never looked up.
    pub fn unmapped(field_type: FieldType) -> SchemaField {
        SchemaField {
            field: Field::from_field_id(u32::MAX),
            field_type,
            of_record: false,
        }
    }
}

/// The schema and quick access to its fields by document name.
#[derive(Clone, Debug)]
pub struct FlowSchema {
    /// The tantivy schema.
    pub schema: Schema,
    /// `_id`, stored.
    pub id: Field,
    /// A digest of `_id`, for deduplication.
    pub id_hash: Field,
    /// `_source`, the document as stored JSON.
    pub source: Field,
    /// `@timestamp`, the flow start, in epoch ms.
    pub timestamp: Field,
    /// `@message`.
    pub message: Field,
    /// [`FLOW_COUNT`], filled in rollup documents only.
    pub flow_count: Field,
    /// [`CONVERSATION`].
    pub conversation: Field,
    /// The fields it digests, in [`super::conversation::FIELDS`] order.
    pub conversation_of: [Field; 4],
    /// Looked up for every value of every ingested document: a fast hash.
    fields: rustc_hash::FxHashMap<&'static str, SchemaField>,
}

impl FlowSchema {
    /// The flow schema: the record fields, the CloudWatch fields and the derived ones.
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
            .map(|f| (f.name, f.field_type, true))
            .chain(META_FIELDS.iter().map(|(name, t)| (*name, *t, false)));
        for (name, field_type, of_record) in all {
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
            fields.insert(
                name,
                SchemaField {
                    field,
                    field_type,
                    of_record,
                },
            );
        }
        // Last, so that indices made before it get it added (see `index.rs`).
        let flow_count = builder.add_i64_field(FLOW_COUNT, FAST);
        let conversation = builder.add_i64_field(CONVERSATION, FAST);
        let schema = builder.build();
        let conversation_of = super::conversation::FIELDS.map(|name| fields[name].field);
        let timestamp = fields[TIMESTAMP].field;
        let message = fields["@message"].field;
        FlowSchema {
            schema,
            id,
            id_hash,
            source,
            timestamp,
            message,
            flow_count,
            conversation,
            conversation_of,
            fields,
        }
    }

    /// The field a document name refers to. `action.keyword` is `action`: the engine stores
    /// strings as keywords, so the `.keyword` sub-field of a dynamic mapping is the field.
    pub fn field(&self, name: &str) -> Option<SchemaField> {
        let name = name.strip_suffix(".keyword").unwrap_or(name);
        if name == FLOW_COUNT {
            return Some(SchemaField {
                field: self.flow_count,
                field_type: FieldType::Long,
                of_record: false,
            });
        }
        self.fields.get(name).copied()
    }

    /// All document fields, by name.
    pub fn fields(&self) -> impl Iterator<Item = (&'static str, SchemaField)> + '_ {
        self.fields.iter().map(|(n, f)| (*n, *f))
    }

    /// Document fields in the order `_source` lists them when it is rebuilt: record fields,
    /// then what flowdash derives, then what the Lambda adds.
    pub fn source_order(&self) -> impl Iterator<Item = (&'static str, SchemaField)> + '_ {
        RECORD_FIELDS
            .iter()
            .map(|f| f.name)
            .chain(["protocol_name"])
            .chain(app::model::flow::GEO_FIELDS)
            .chain([
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
