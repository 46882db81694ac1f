//! Making an index's rollup from a snapshot of it: one pass over each segment per cuboid,
//! summing each (hour, dimensions) group, written as rollup indices beside the index and
//! put in place whole.

use std::net::Ipv6Addr;

use rustc_hash::FxHashMap;
use tantivy::columnar::{Cardinality, Column, StrColumn};
use tantivy::schema::Field;
use tantivy::{DateTime, Index, IndexWriter, SegmentReader, TantivyDocument};

use super::{
    dir_of, open_made, segments_of, write_state, Cuboid, Rollup, State, CUBOIDS, STATE_VERSION,
    SUMMED,
};
use crate::backend::embedded::index::FlowIndex;
use crate::backend::embedded::schema::{FlowSchema, MESSAGE_TOKENIZER, TIMESTAMP};
use crate::backend::embedded::EngineError;
use app::model::flow::FieldType;

/// Indexing memory of a rollup writer: rollups are small, and are made beside searches.
const WRITER_BYTES: usize = 32 << 20;

/// Makes `index`'s rollup from its current snapshot and puts it in place. `None` when a
/// field holds several values per flow (a client's documents), whose groups a rollup cannot
/// keep.
pub fn build(index: &FlowIndex) -> Result<Option<Rollup>, EngineError> {
    let searcher = index.searcher();
    let schema = index.shared_schema();
    let final_dir = dir_of(index.path());
    let building = final_dir.with_extension("building");
    if building.exists() {
        std::fs::remove_dir_all(&building)?;
    }
    std::fs::create_dir_all(&building)?;
    for cuboid in CUBOIDS {
        let dir = building.join(cuboid.name);
        std::fs::create_dir_all(&dir)?;
        let rollup = Index::create_in_dir(&dir, schema.schema.clone())?;
        // The schema's `@message` names its tokenizer, which a writer looks up for every
        // segment, though rollup documents have no message.
        rollup.tokenizers().register(
            MESSAGE_TOKENIZER,
            crate::backend::embedded::message_words::tokenizer::message_analyzer(),
        );
        let mut writer: IndexWriter<TantivyDocument> =
            rollup.writer_with_num_threads(1, WRITER_BYTES)?;
        for segment in searcher.segment_readers() {
            let Some(groups) = SegmentGroups::read(segment, cuboid, &schema)? else {
                std::fs::remove_dir_all(&building)?;
                tracing::info!(index = %index.name, "no rollup: a field holds several values per document");
                return Ok(None);
            };
            for document in groups.documents(&schema)? {
                writer.add_document(document)?;
            }
        }
        writer.commit()?;
        writer.wait_merging_threads()?;
    }
    let state = State {
        version: STATE_VERSION,
        segments: segments_of(&searcher),
        raw_expired: None,
    };
    write_state(&building, &state)?;
    if final_dir.exists() {
        std::fs::remove_dir_all(&final_dir)?;
    }
    std::fs::rename(&building, &final_dir)?;
    open_made(&final_dir, index, schema).map(Some)
}

/// A dimension's column in one segment.
enum DimensionColumn {
    Keyword(StrColumn),
    Long(Column<i64>),
    Ip(Column<Ipv6Addr>),
    /// The segment has no values of it.
    Absent,
}

/// What a group of flows sums to.
#[derive(Default)]
struct Sums {
    flows: i64,
    /// Per [`SUMMED`] field: the sum, and whether any flow had a value.
    values: [(i64, bool); 2],
}

/// One segment's flows grouped by hour (or minute) and a cuboid's dimensions.
struct SegmentGroups {
    /// The cuboid's resolution: a group's time is its stretch's number.
    resolution_ms: i64,
    dimensions: Vec<(Field, DimensionColumn)>,
    /// Keys: the hour, a bit per dimension with a value, then the values (a keyword's
    /// ordinal, a number's bits, an address as two words).
    groups: FxHashMap<Box<[u64]>, Sums>,
}

impl SegmentGroups {
    /// Groups the live documents of `segment`; `None` when a column holds several values per
    /// document.
    fn read(
        segment: &SegmentReader,
        cuboid: &Cuboid,
        schema: &FlowSchema,
    ) -> Result<Option<SegmentGroups>, EngineError> {
        let fast = segment.fast_fields();
        let multi = |cardinality: Cardinality| cardinality == Cardinality::Multivalued;
        let mut dimensions = Vec::with_capacity(cuboid.dimensions.len());
        for name in cuboid.dimensions {
            let field = schema
                .field(name)
                .expect("cuboid dimensions are flow fields");
            let column = match field.field_type {
                FieldType::Keyword => fast.str(name)?.map(DimensionColumn::Keyword),
                FieldType::Long => fast.column_opt::<i64>(name)?.map(DimensionColumn::Long),
                FieldType::Ip => fast.column_opt::<Ipv6Addr>(name)?.map(DimensionColumn::Ip),
                FieldType::Date | FieldType::Text => None,
            }
            .unwrap_or(DimensionColumn::Absent);
            let cardinality = match &column {
                DimensionColumn::Keyword(c) => Some(c.ords().get_cardinality()),
                DimensionColumn::Long(c) => Some(c.get_cardinality()),
                DimensionColumn::Ip(c) => Some(c.get_cardinality()),
                DimensionColumn::Absent => None,
            };
            if cardinality.is_some_and(multi) {
                return Ok(None);
            }
            dimensions.push((field.field, column));
        }
        let summed: Vec<Option<Column<i64>>> = SUMMED
            .iter()
            .map(|name| fast.column_opt::<i64>(name))
            .collect::<Result<_, _>>()?;
        if summed.iter().flatten().any(|c| multi(c.get_cardinality())) {
            return Ok(None);
        }
        let time = fast.date(TIMESTAMP)?;
        let mut groups: FxHashMap<Box<[u64]>, Sums> = FxHashMap::default();
        let mut key: Vec<u64> = Vec::with_capacity(2 + 2 * dimensions.len());
        let alive = segment.alive_bitset();
        for doc in 0..segment.max_doc() {
            if alive.is_some_and(|alive| alive.is_deleted(doc)) {
                continue;
            }
            let Some(at) = time.first(doc) else {
                continue;
            };
            key.clear();
            key.push(at.into_timestamp_millis().div_euclid(cuboid.resolution_ms) as u64);
            key.push(0);
            for (position, (_, column)) in dimensions.iter().enumerate() {
                let present = match column {
                    DimensionColumn::Keyword(c) => c.ords().first(doc).map(|ord| key.push(ord)),
                    DimensionColumn::Long(c) => c.first(doc).map(|v| key.push(v as u64)),
                    DimensionColumn::Ip(c) => c.first(doc).map(|ip| {
                        let bits = u128::from(ip);
                        key.push((bits >> 64) as u64);
                        key.push(bits as u64);
                    }),
                    DimensionColumn::Absent => None,
                };
                if present.is_some() {
                    key[1] |= 1 << position;
                }
            }
            let sums = match groups.get_mut(key.as_slice()) {
                Some(sums) => sums,
                None => groups.entry(key.clone().into_boxed_slice()).or_default(),
            };
            sums.flows += 1;
            for (column, (sum, seen)) in summed.iter().zip(sums.values.iter_mut()) {
                if let Some(value) = column.as_ref().and_then(|c| c.first(doc)) {
                    *sum = sum.wrapping_add(value);
                    *seen = true;
                }
            }
        }
        Ok(Some(SegmentGroups {
            resolution_ms: cuboid.resolution_ms,
            dimensions,
            groups,
        }))
    }

    /// A rollup document per group.
    fn documents(self, schema: &FlowSchema) -> Result<Vec<TantivyDocument>, EngineError> {
        let summed: Vec<Field> = SUMMED
            .iter()
            .map(|name| {
                schema
                    .field(name)
                    .expect("summed fields are flow fields")
                    .field
            })
            .collect();
        let mut text = String::new();
        let mut documents = Vec::with_capacity(self.groups.len());
        for (key, sums) in &self.groups {
            let mut document = TantivyDocument::new();
            document.add_date(
                schema.timestamp,
                DateTime::from_timestamp_millis(key[0] as i64 * self.resolution_ms),
            );
            let present = key[1];
            let mut values = key[2..].iter().copied();
            for (position, (field, column)) in self.dimensions.iter().enumerate() {
                if present & (1 << position) == 0 {
                    continue;
                }
                match column {
                    DimensionColumn::Keyword(c) => {
                        let ord = values.next().expect("a keyword's ordinal");
                        text.clear();
                        c.ord_to_str(ord, &mut text)?;
                        document.add_text(*field, &text);
                    }
                    DimensionColumn::Long(_) => {
                        document.add_i64(*field, values.next().expect("a number") as i64)
                    }
                    DimensionColumn::Ip(_) => {
                        let high = u128::from(values.next().expect("an address"));
                        let low = u128::from(values.next().expect("an address"));
                        document.add_ip_addr(*field, Ipv6Addr::from(high << 64 | low));
                    }
                    DimensionColumn::Absent => {
                        unreachable!("no value is read from an absent column")
                    }
                }
            }
            document.add_i64(schema.flow_count, sums.flows);
            for (field, (sum, seen)) in summed.iter().zip(sums.values) {
                if seen {
                    document.add_i64(*field, sum);
                }
            }
            documents.push(document);
        }
        Ok(documents)
    }
}
