//! Per-segment access to a field's fast-field column, whatever its type.

use std::fmt::Debug;
use std::net::Ipv6Addr;
use std::sync::{Arc, OnceLock};

use app::model::flow::FieldType;
use tantivy::columnar::column_values::{ColumnValues, CompactSpaceU64Accessor};
use tantivy::columnar::{Column, ColumnIndex, ColumnType, MonotonicallyMappableToU64, StrColumn};
use tantivy::{DateTime, DocId, SegmentReader};

use super::SearchError;
use crate::backend::embedded::schema::SchemaField;

/// A column of one segment. A field no document of the segment has reads as missing.
#[derive(Clone)]
pub enum Accessor {
    Str {
        ords: FastColumn<u64>,
        dict: StrColumn,
    },
    I64(FastColumn<i64>),
    Date(FastColumn<DateTime>),
    Ip(FastColumn<Ipv6Addr>),
    /// An address column read as its order-preserving compact codes (a bit-packed read), for
    /// bucket keys: decoding every document's address is a search in the segment's value
    /// ranges, which dominated terms aggregations on addresses.
    IpCode {
        codes: FastColumn<u64>,
        space: Arc<CompactSpaceU64Accessor>,
        /// Built on first use by [`Accessor::ips_in_order`], then kept with the column.
        ranges: Arc<OnceLock<CodeRanges>>,
    },
    Missing,
}

impl Accessor {
    /// Opens a field's column for reading a few documents (hits, sorting). Aggregations open
    /// theirs through [`super::column_cache::SegmentColumns`], with
    /// [`Accessor::open_indexed`].
    pub fn open(
        reader: &SegmentReader,
        name: &str,
        field: SchemaField,
    ) -> Result<Accessor, SearchError> {
        Accessor::open_with(reader, name, field, Rows::Lookup)
    }

    fn open_with(
        reader: &SegmentReader,
        name: &str,
        field: SchemaField,
        rows: Rows,
    ) -> Result<Accessor, SearchError> {
        let fast = reader.fast_fields();
        let internal = |e: tantivy::TantivyError| SearchError::Internal(e.to_string());
        Ok(match field.field_type {
            FieldType::Keyword => match fast.str(name).map_err(internal)? {
                Some(dict) => Accessor::Str {
                    ords: FastColumn::new(dict.ords().clone(), rows),
                    dict,
                },
                None => Accessor::Missing,
            },
            FieldType::Long => match fast.column_opt::<i64>(name).map_err(internal)? {
                Some(column) => {
                    let stored = stored_values(reader, name, ColumnType::I64, rows)?;
                    Accessor::I64(FastColumn::new(column, rows).with_stored(stored))
                }
                None => Accessor::Missing,
            },
            FieldType::Date => match fast.column_opt::<DateTime>(name).map_err(internal)? {
                Some(column) => {
                    let stored = stored_values(reader, name, ColumnType::DateTime, rows)?;
                    Accessor::Date(FastColumn::new(column, rows).with_stored(stored))
                }
                None => Accessor::Missing,
            },
            FieldType::Ip => match fast.column_opt::<Ipv6Addr>(name).map_err(internal)? {
                Some(column) => Accessor::Ip(FastColumn::new(column, rows)),
                None => Accessor::Missing,
            },
            FieldType::Text => Accessor::Missing,
        })
    }

    /// A column opened for aggregations, which read every matching document: with a
    /// [`RowIndex`] when optional, and addresses as compact codes when `codes` is set.
    pub fn open_indexed(
        reader: &SegmentReader,
        name: &str,
        field: SchemaField,
        codes: bool,
    ) -> Result<Accessor, SearchError> {
        if codes {
            Accessor::open_keys(reader, name, field, Rows::Indexed)
        } else {
            Accessor::open_with(reader, name, field, Rows::Indexed)
        }
    }

    /// The bytes of the table an address column builds to decode its codes in order (see
    /// [`Accessor::ips_in_order`]), once built.
    pub fn decoding_table_bytes(&self) -> usize {
        match self {
            Accessor::IpCode { ranges, .. } => ranges.get().map_or(0, CodeRanges::bytes),
            _ => 0,
        }
    }

    /// Like [`Accessor::open_with`], but addresses come as compact codes (see
    /// [`Accessor::IpCode`]); [`Accessor::ip`] turns a code back into the address.
    fn open_keys(
        reader: &SegmentReader,
        name: &str,
        field: SchemaField,
        rows: Rows,
    ) -> Result<Accessor, SearchError> {
        if field.field_type != FieldType::Ip {
            return Accessor::open_with(reader, name, field, rows);
        }
        Ok(match address_codes(reader, name)? {
            Some(AddressCodes {
                codes,
                space: Some(space),
            }) => Accessor::IpCode {
                codes: FastColumn::new(codes, rows),
                space,
                ranges: Arc::default(),
            },
            Some(AddressCodes { space: None, .. }) => {
                Accessor::open_with(reader, name, field, rows)?
            }
            None => Accessor::Missing,
        })
    }

    /// The address a key of an address column stands for.
    #[inline]
    pub fn ip(&self, key: u128) -> u128 {
        match self {
            Accessor::IpCode { space, .. } => space.compact_to_u128(key as u32),
            _ => key,
        }
    }

    /// The addresses of keys in ascending order ([`Accessor::ip`] of each). Address codes
    /// decode along the segment's value ranges in one pass instead of a search each: a
    /// cardinality over a day of sources decodes a quarter of a million codes, and the search
    /// in tantivy's table of ranges took half of its time.
    pub fn ips_in_order(&self, keys: Vec<u128>) -> Vec<u128> {
        let Accessor::IpCode {
            codes,
            space,
            ranges,
        } = self
        else {
            return keys;
        };
        let ranges = ranges.get_or_init(|| {
            CodeRanges::build(space, codes.min_value() as u32, codes.max_value() as u32)
        });
        let mut at = 0;
        keys.into_iter()
            .map(|key| ranges.decode_ascending(key as u32, &mut at))
            .collect()
    }

    /// A segment-local key: the term ordinal for strings, the compact code for addresses
    /// opened with [`Accessor::open_keys`], the value's bits otherwise.
    #[inline]
    pub fn raw(&self, doc: DocId) -> Option<u128> {
        match self {
            Accessor::Str { ords, .. } => ords.first(doc).map(u128::from),
            Accessor::I64(column) => column.first(doc).map(|v| v as u64 as u128),
            Accessor::Date(column) => column
                .first(doc)
                .map(|v| v.into_timestamp_millis() as u64 as u128),
            Accessor::Ip(column) => column.first(doc).map(u128::from),
            Accessor::IpCode { codes, .. } => codes.first(doc).map(u128::from),
            Accessor::Missing => None,
        }
    }

    /// [`Accessor::raw`] of each document of `docs` (ascending) into `out`, a column read for
    /// the whole block, where the key fits a word (term ordinals, address codes, integers).
    /// False, with nothing read, for other columns.
    pub fn read_raw_block(
        &self,
        docs: &[DocId],
        scratch: &mut RawBlockScratch,
        out: &mut Vec<Option<u64>>,
    ) -> bool {
        match self {
            Accessor::Str { ords: column, .. } | Accessor::IpCode { codes: column, .. } => {
                column.read_block(docs, &mut scratch.words, out);
            }
            Accessor::I64(column) => {
                column.read_block_as(docs, &mut scratch.ints, out, |value| value as u64);
            }
            _ => return false,
        }
        true
    }

    /// What tells a column read by [`Accessor::read_raw_block`] from the segment's others,
    /// the same for its copies (one per bucket above the aggregation reading it): where its
    /// values are.
    pub fn identity(&self) -> Option<usize> {
        match self {
            Accessor::Str { ords: column, .. } | Accessor::IpCode { codes: column, .. } => {
                Some(column.identity())
            }
            Accessor::I64(column) => Some(column.identity()),
            _ => None,
        }
    }

    /// The value as a number (integers and dates in epoch ms).
    #[inline]
    pub fn number(&self, doc: DocId) -> Option<f64> {
        match self {
            Accessor::I64(column) => column.first(doc).map(|v| v as f64),
            Accessor::Date(column) => column.first(doc).map(|v| v.into_timestamp_millis() as f64),
            _ => None,
        }
    }

    /// The value as an integer (integers, and dates in epoch ms).
    #[inline]
    pub fn int(&self, doc: DocId) -> Option<i64> {
        match self {
            Accessor::I64(column) => column.first(doc),
            Accessor::Date(column) => column.first(doc).map(|v| v.into_timestamp_millis()),
            _ => None,
        }
    }

    /// Whether no document of the segment has a negative value, counting `missing` (the value
    /// of documents without one).
    pub fn never_negative(&self, missing: Option<f64>) -> bool {
        let column_min = match self {
            Accessor::I64(column) => column.min_value() as f64,
            Accessor::Missing => 0.0,
            _ => return false,
        };
        column_min >= 0.0 && missing.is_none_or(|missing| missing >= 0.0)
    }

    /// The string of a term ordinal.
    pub fn term(&self, ord: u64) -> Option<String> {
        match self {
            Accessor::Str { dict, .. } => {
                let mut text = String::new();
                dict.ord_to_str(ord, &mut text).ok()?.then_some(text)
            }
            _ => None,
        }
    }

    /// Every term of the segment's dictionary (for `min_doc_count: 0`).
    pub fn all_terms(&self) -> Vec<String> {
        match self {
            Accessor::Str { dict, .. } => (0..dict.num_terms() as u64)
                .filter_map(|ord| self.term(ord))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Where the codes of an address column change value range: within a range, consecutive
/// codes are consecutive addresses. tantivy keeps the same table, but only answers one code
/// at a time.
pub struct CodeRanges {
    /// The first code of each range, ascending, and the address it stands for.
    codes: Vec<u32>,
    addresses: Vec<u128>,
}

impl CodeRanges {
    /// Finds the ranges of codes `low..=high` by halving: an interval whose end codes lie as
    /// far apart as their addresses lies within one range.
    fn build(space: &CompactSpaceU64Accessor, low: u32, high: u32) -> CodeRanges {
        let mut ranges = CodeRanges {
            codes: Vec::new(),
            addresses: Vec::new(),
        };
        if low > high {
            return ranges;
        }
        let decode = |code: u32| space.compact_to_u128(code);
        let mut pending = vec![(low, decode(low), high, decode(high))];
        while let Some((low, low_ip, high, high_ip)) = pending.pop() {
            if high_ip - low_ip == u128::from(high - low) || high - low <= 1 {
                ranges.push(low, low_ip);
                ranges.push(high, high_ip);
                continue;
            }
            let middle = low + (high - low) / 2;
            let middle_ip = decode(middle);
            // The lower half first: ranges are found in ascending order.
            pending.push((middle, middle_ip, high, high_ip));
            pending.push((low, low_ip, middle, middle_ip));
        }
        ranges
    }

    fn bytes(&self) -> usize {
        self.codes.capacity() * std::mem::size_of::<u32>()
            + self.addresses.capacity() * std::mem::size_of::<u128>()
    }

    /// Adds a code and its address, unless it continues the last range.
    fn push(&mut self, code: u32, address: u128) {
        if let (Some(&last_code), Some(&last_address)) = (self.codes.last(), self.addresses.last())
        {
            let continues = matches!(
                (code.checked_sub(last_code), address.checked_sub(last_address)),
                (Some(codes), Some(addresses)) if u128::from(codes) == addresses
            );
            if continues {
                return;
            }
        }
        self.codes.push(code);
        self.addresses.push(address);
    }

    /// The address of `code`, for codes asked in ascending order; `at` is the range of the
    /// previous one.
    #[inline]
    fn decode_ascending(&self, code: u32, at: &mut usize) -> u128 {
        while *at + 1 < self.codes.len() && self.codes[*at + 1] <= code {
            *at += 1;
        }
        match (self.codes.get(*at), self.addresses.get(*at)) {
            (Some(&start), Some(&address)) if start <= code => address + u128::from(code - start),
            _ => 0,
        }
    }
}

/// The ordinals of a keyword column's terms that satisfy `keep`: keywords are columns, not
/// an inverted index, so a pattern reads each segment's dictionary once.
pub fn terms_where(
    column: &StrColumn,
    keep: impl FnMut(&str) -> bool,
) -> std::io::Result<tantivy::BitSet> {
    terms_between(column, None, keep)
}

/// [`terms_where`], among the terms within `bounds` only, when given: the lowest and the
/// highest, as bytes, both included.
pub fn terms_between(
    column: &StrColumn,
    bounds: Option<(&[u8], &[u8])>,
    mut keep: impl FnMut(&str) -> bool,
) -> std::io::Result<tantivy::BitSet> {
    let mut kept = tantivy::BitSet::with_max_value(column.num_terms() as u32);
    let mut terms = match bounds {
        Some((low, high)) => column.dictionary().range().ge(low).le(high).into_stream()?,
        None => column.dictionary().stream()?,
    };
    while terms.advance() {
        if std::str::from_utf8(terms.key()).is_ok_and(&mut keep) {
            kept.insert(terms.term_ord() as u32);
        }
    }
    Ok(kept)
}

/// An address column as its compact codes (see [`Accessor::IpCode`]).
pub struct AddressCodes {
    pub codes: Column<u64>,
    /// What decodes them, when the column is stored that way.
    pub space: Option<Arc<CompactSpaceU64Accessor>>,
}

/// A segment's address column as codes; `None` when no document of the segment has the field.
pub fn address_codes(
    reader: &SegmentReader,
    name: &str,
) -> Result<Option<AddressCodes>, SearchError> {
    let internal = |e: tantivy::TantivyError| SearchError::Internal(e.to_string());
    let compact = reader
        .fast_fields()
        .u64_lenient_for_type(Some(&[ColumnType::IpAddr]), name)
        .map_err(internal)?;
    Ok(compact.map(|(codes, _)| {
        let space = codes
            .values
            .clone()
            .downcast_arc::<CompactSpaceU64Accessor>()
            .ok();
        AddressCodes { codes, space }
    }))
}

/// The codes of an address column whose addresses satisfy `keep`, as a set of codes: decoded
/// in one ascending pass, so a pattern over a segment's addresses costs one test per address
/// instead of a decode per document. `None` when the codes outnumber the column's values (and
/// 65 536): going through them would cost more than going through the documents.
pub fn address_codes_where(
    codes: &Column<u64>,
    space: &CompactSpaceU64Accessor,
    mut keep: impl FnMut(Ipv6Addr) -> bool,
) -> Option<tantivy::BitSet> {
    let low = u32::try_from(codes.min_value()).ok()?;
    let high = u32::try_from(codes.max_value()).ok()?;
    if high.saturating_sub(low) > codes.values.num_vals().max(1 << 16) {
        return None;
    }
    let ranges = CodeRanges::build(space, low, high);
    let mut kept = tantivy::BitSet::with_max_value(high.checked_add(1)?);
    let mut at = 0;
    for code in low..=high {
        if keep(Ipv6Addr::from(ranges.decode_ascending(code, &mut at))) {
            kept.insert(code);
        }
    }
    Some(kept)
}

/// How a column finds the row of a document's value.
#[derive(Clone, Copy, PartialEq)]
enum Rows {
    /// Through the column's own index: nothing to build, for reading a few documents.
    Lookup,
    /// Through a [`RowIndex`] built when the column is opened, for columns every matching
    /// document is read from.
    Indexed,
}

/// Which documents of a segment have a value in an optional column (a bit each), and how
/// many values come before each word of bits: a document's row is one load and a popcount.
/// tantivy's own optional index decodes a block header for every lookup, which took as much
/// time as reading the value itself. Costs a quarter of a byte per document.
pub struct RowIndex {
    /// `(bits, values before these bits)` per 64 documents.
    words: Vec<(u64, u32)>,
}

impl RowIndex {
    fn build(index: &tantivy::columnar::column_index::OptionalIndex) -> RowIndex {
        let mut words = vec![(0u64, 0u32); (index.num_docs() as usize).div_ceil(64)];
        for doc in index.iter_non_null_docs() {
            words[doc as usize / 64].0 |= 1 << (doc % 64);
        }
        let mut before = 0;
        for (bits, rank) in &mut words {
            *rank = before;
            before += bits.count_ones();
        }
        RowIndex { words }
    }

    /// The row of a document's value, if it has one.
    #[inline]
    pub fn row(&self, doc: DocId) -> Option<u32> {
        self.has_value(doc).then(|| self.values_before(doc))
    }

    /// The rows of those of `docs` that have a value, into `rows`, and their places in `docs`
    /// into `positions`. A row is a count of the bits below the document's, one `popcnt`
    /// instruction where the CPU has it; the portable count, a dozen instructions, was about
    /// half of the time a Sankey spent reading its networks' addresses.
    fn rows_of(&self, docs: &[DocId], rows: &mut Vec<u32>, positions: &mut Vec<u32>) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU has the one instruction the function is compiled to add.
            unsafe { self.rows_of_by_popcnt(docs, rows, positions) };
            return;
        }
        self.rows_of_portable(docs, rows, positions);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn rows_of_by_popcnt(
        &self,
        docs: &[DocId],
        rows: &mut Vec<u32>,
        positions: &mut Vec<u32>,
    ) {
        self.rows_of_portable(docs, rows, positions);
    }

    #[inline(always)]
    fn rows_of_portable(&self, docs: &[DocId], rows: &mut Vec<u32>, positions: &mut Vec<u32>) {
        rows.clear();
        positions.clear();
        rows.reserve(docs.len());
        positions.reserve(docs.len());
        for (position, &doc) in docs.iter().enumerate() {
            if let Some(row) = self.row(doc) {
                rows.push(row);
                positions.push(position as u32);
            }
        }
    }

    #[inline]
    fn has_value(&self, doc: DocId) -> bool {
        self.words
            .get(doc as usize / 64)
            .is_some_and(|(bits, _)| bits >> (doc % 64) & 1 == 1)
    }

    /// Appends to `out` the values of the consecutive documents `first..=last` (`values`
    /// holds those that have one, in order), each through `map`, and `None` for the others,
    /// a word of documents at a time: a few documents without a value (NODATA records) are in
    /// nearly every block, and a bit test per document cost more than reading the values.
    fn spread<T: Copy, U>(
        &self,
        first: DocId,
        last: DocId,
        values: &[T],
        out: &mut Vec<Option<U>>,
        map: impl Fn(T) -> U,
    ) {
        let mut values = values.iter();
        let mut doc = first;
        while doc <= last {
            let word_end = ((doc / 64 + 1) * 64).min(last + 1);
            let width = word_end - doc;
            let all = u64::MAX >> (64 - width);
            let bits = self
                .words
                .get(doc as usize / 64)
                .map_or(0, |(bits, _)| bits >> (doc % 64))
                & all;
            if bits == all {
                out.extend(
                    values
                        .by_ref()
                        .take(width as usize)
                        .map(|&value| Some(map(value))),
                );
            } else {
                for position in 0..width {
                    let value = if bits >> position & 1 == 1 {
                        values.next()
                    } else {
                        None
                    };
                    out.push(value.map(|&value| map(value)));
                }
            }
            doc = word_end;
        }
    }

    /// How many documents before `doc` have a value: the row of the next value.
    #[inline]
    fn values_before(&self, doc: DocId) -> u32 {
        match self.words.get(doc as usize / 64) {
            Some((bits, before)) => before + (bits & ((1 << (doc % 64)) - 1)).count_ones(),
            None => self
                .words
                .last()
                .map_or(0, |(bits, before)| before + bits.count_ones()),
        }
    }
}

/// A column with a faster way to its values when opened for aggregations: a [`RowIndex`] for
/// optional columns, and blocks of documents read at once ([`FastColumn::read_block`]).
#[derive(Clone)]
pub struct FastColumn<T> {
    column: Column<T>,
    rows: Option<Arc<RowIndex>>,
    /// The same values as tantivy stores them, for reading runs of rows (integers).
    stored: Option<StoredValues<T>>,
}

/// A column's values as tantivy stores them, `u64`s in an order-preserving mapping, and the
/// mapping back. tantivy reads a run of a mapped column's rows one value at a time, through
/// two dynamic calls each; the stored codec is read without them (a bit-packed one unpacks
/// the run at once), and the mapping back is one loop over the run.
struct StoredValues<T> {
    values: Arc<dyn ColumnValues<u64>>,
    decode: fn(&[u64], &mut [T]),
}

impl<T> Clone for StoredValues<T> {
    fn clone(&self) -> Self {
        StoredValues {
            values: self.values.clone(),
            decode: self.decode,
        }
    }
}

/// tantivy's mapping to `u64`s, undone.
fn decode<T: MonotonicallyMappableToU64>(stored: &[u64], out: &mut [T]) {
    for (out, &stored) in out.iter_mut().zip(stored) {
        *out = T::from_u64(stored);
    }
}

/// A column's stored values, for a column opened for aggregations (which read runs of rows).
fn stored_values<T: MonotonicallyMappableToU64>(
    reader: &SegmentReader,
    name: &str,
    column_type: ColumnType,
    rows: Rows,
) -> Result<Option<StoredValues<T>>, SearchError> {
    if rows != Rows::Indexed {
        return Ok(None);
    }
    let stored = reader
        .fast_fields()
        .u64_lenient_for_type(Some(&[column_type]), name)
        .map_err(|e| SearchError::Internal(e.to_string()))?;
    Ok(stored.map(|(column, _)| StoredValues {
        values: column.values,
        decode: decode::<T>,
    }))
}

impl<T> FastColumn<T> {
    /// See [`Accessor::identity`].
    fn identity(&self) -> usize {
        Arc::as_ptr(&self.column.values).cast::<()>() as usize
    }

    /// Whether a document can hold several values (flows hold one per field).
    pub fn multivalued(&self) -> bool {
        matches!(self.column.index, ColumnIndex::Multivalued(_))
    }
}

/// Buffers for [`FastColumn::read_block`], reused from block to block.
#[derive(Clone)]
pub struct BlockScratch<T> {
    rows: Vec<u32>,
    positions: Vec<u32>,
    values: Vec<T>,
    /// Values as stored, before [`StoredValues::decode`].
    stored: Vec<u64>,
    /// Values as tantivy reads them, for a column without a faster way.
    firsts: Vec<Option<T>>,
}

/// Buffers for [`Accessor::read_raw_block`], reused from block to block.
#[derive(Clone, Default)]
pub struct RawBlockScratch {
    words: BlockScratch<u64>,
    ints: BlockScratch<i64>,
}

impl<T> Default for BlockScratch<T> {
    fn default() -> Self {
        BlockScratch {
            rows: Vec::new(),
            positions: Vec::new(),
            values: Vec::new(),
            stored: Vec::new(),
            firsts: Vec::new(),
        }
    }
}

impl<T: PartialOrd + Copy + Debug + Send + Sync + 'static> FastColumn<T> {
    fn new(column: Column<T>, rows: Rows) -> FastColumn<T> {
        let rows = match (&column.index, rows) {
            (ColumnIndex::Optional(index), Rows::Indexed) => Some(Arc::new(RowIndex::build(index))),
            _ => None,
        };
        FastColumn {
            column,
            rows,
            stored: None,
        }
    }

    fn with_stored(mut self, stored: Option<StoredValues<T>>) -> FastColumn<T> {
        self.stored = stored;
        self
    }

    /// The values of `rows` (ascending).
    #[inline]
    fn values_of(&self, rows: &[u32], out: &mut [T], stored: &mut Vec<u64>) {
        match &self.stored {
            Some(StoredValues { values, decode }) => {
                stored.resize(out.len(), 0);
                values.get_vals(rows, stored);
                decode(stored, out);
            }
            None => self.column.values.get_vals(rows, out),
        }
    }

    /// The values of `out.len()` rows from `start` on.
    #[inline]
    fn values_from(&self, start: u32, out: &mut [T], stored: &mut Vec<u64>) {
        match &self.stored {
            Some(StoredValues { values, decode }) => {
                stored.resize(out.len(), 0);
                values.get_range(u64::from(start), stored);
                decode(stored, out);
            }
            None => self.column.values.get_range(u64::from(start), out),
        }
    }

    /// The document's value (its first, for a multi-valued column).
    #[inline]
    pub fn first(&self, doc: DocId) -> Option<T> {
        match &self.rows {
            Some(rows) => rows.row(doc).map(|row| self.column.values.get_val(row)),
            None => self.column.first(doc),
        }
    }

    pub fn max_value(&self) -> T {
        self.column.max_value()
    }

    pub fn min_value(&self) -> T {
        self.column.min_value()
    }

    /// The value of each document of `docs` (ascending) into `out`. Documents without a gap
    /// between them have their values in consecutive rows, which are unpacked together
    /// instead of one by one; blocks of a time range over a day's segment are all like that.
    pub fn read_block(
        &self,
        docs: &[DocId],
        scratch: &mut BlockScratch<T>,
        out: &mut Vec<Option<T>>,
    ) where
        T: Default,
    {
        self.read_block_as(docs, scratch, out, |value| value);
    }

    /// [`FastColumn::read_block`], each value through `map` as it is put in `out`: one pass
    /// over the block instead of a second one converting it.
    pub fn read_block_as<U>(
        &self,
        docs: &[DocId],
        scratch: &mut BlockScratch<T>,
        out: &mut Vec<Option<U>>,
        map: impl Fn(T) -> U,
    ) where
        T: Default,
    {
        out.clear();
        let (Some(&first), Some(&last)) = (docs.first(), docs.last()) else {
            return;
        };
        let BlockScratch {
            rows,
            positions,
            values,
            stored,
            firsts,
        } = scratch;
        // Buffers are resized without clearing: every value in them is written over.
        let consecutive = (last - first) as usize + 1 == docs.len();
        match (&self.column.index, &self.rows) {
            (ColumnIndex::Full, _) if consecutive => {
                values.resize(docs.len(), T::default());
                self.values_from(first, values, stored);
                out.extend(values.iter().map(|&value| Some(map(value))));
            }
            // A document's row is its number.
            (ColumnIndex::Full, _) => {
                values.resize(docs.len(), T::default());
                self.values_of(docs, values, stored);
                out.extend(values.iter().map(|&value| Some(map(value))));
            }
            // The values of consecutive documents are consecutive rows: two counts of the
            // values before, then (when some document has none) spread a word at a time.
            (ColumnIndex::Optional(_), Some(index)) if consecutive => {
                let low = index.values_before(first);
                let count = (index.values_before(last + 1) - low) as usize;
                values.resize(count, T::default());
                self.values_from(low, values, stored);
                if count == docs.len() {
                    out.extend(values.iter().map(|&value| Some(map(value))));
                } else {
                    index.spread(first, last, values, out, map);
                }
            }
            (ColumnIndex::Optional(_), Some(index)) => {
                index.rows_of(docs, rows, positions);
                values.resize(rows.len(), T::default());
                self.values_of(rows, values, stored);
                out.resize_with(docs.len(), || None);
                for (&position, &value) in positions.iter().zip(values.iter()) {
                    out[position as usize] = Some(map(value));
                }
            }
            _ => {
                firsts.clear();
                firsts.resize(docs.len(), None);
                self.column.first_vals(docs, firsts);
                out.extend(firsts.iter().map(|value| value.map(&map)));
            }
        }
    }

    /// Tests the values of the documents of one chunk of [`CHUNK_DOCS`] (`chunk` counts
    /// them), setting in `matches` a bit per document with a value that passes `keep` (any
    /// value, for a multi-valued column). A column opened for aggregations walks its
    /// [`RowIndex`] beside the chunk's unpacked values, a word of documents at a time;
    /// tantivy's range queries find each matching row's document with a search in the
    /// column's own index, which took half of a filter's time.
    pub fn chunk_where(
        &self,
        chunk: DocId,
        max_doc: DocId,
        keep: &impl Fn(T) -> bool,
        (values, stored): (&mut Vec<T>, &mut Vec<u64>),
        matches: &mut [u64; CHUNK_DOCS / 64],
    ) {
        *matches = [0; CHUNK_DOCS / 64];
        let first = chunk * CHUNK_DOCS as DocId;
        let end = (first + CHUNK_DOCS as DocId).min(max_doc);
        if first >= end {
            return;
        }
        // Any value will do to fill the buffer the values are unpacked into.
        values.resize(CHUNK_DOCS, self.column.min_value());
        let mut set = |doc: DocId| matches[(doc - first) as usize / 64] |= 1 << (doc % 64);
        match (&self.column.index, &self.rows) {
            (ColumnIndex::Empty { .. }, _) => {}
            (ColumnIndex::Full, _) => {
                let end = end.min(self.column.values.num_vals());
                if first >= end {
                    return;
                }
                let values = &mut values[..(end - first) as usize];
                self.values_from(first, values, stored);
                for (doc, value) in (first..).zip(values.iter()) {
                    if keep(*value) {
                        set(doc);
                    }
                }
            }
            (ColumnIndex::Optional(_), Some(index)) => {
                let word_range = first as usize / 64..(end as usize).div_ceil(64);
                let Some(words) = index
                    .words
                    .get(word_range.start..word_range.end.min(index.words.len()))
                else {
                    return;
                };
                let Some(&(_, first_row)) = words.first() else {
                    return;
                };
                let count: u32 = words.iter().map(|(bits, _)| bits.count_ones()).sum();
                let values = &mut values[..count as usize];
                self.values_from(first_row, values, stored);
                let mut next = values.iter();
                for (word, (bits, _)) in (first / 64..).zip(words) {
                    let mut bits = *bits;
                    while bits != 0 {
                        let doc = word * 64 + bits.trailing_zeros();
                        bits &= bits - 1;
                        if next.next().is_some_and(|value| keep(*value)) && doc < end {
                            set(doc);
                        }
                    }
                }
            }
            // Multi-valued columns, and optional ones opened without a row index.
            _ => {
                for doc in first..end {
                    if self.column.values_for_doc(doc).any(keep) {
                        set(doc);
                    }
                }
            }
        }
    }
}

/// Documents a filter tests at once ([`FastColumn::chunk_where`]): as many as a block of the
/// aggregations, so that a filter read alongside a narrow time range reads only the chunks the
/// range reaches.
pub const CHUNK_DOCS: usize = 1024;

#[cfg(test)]
mod tests {
    use tantivy::schema::{Schema, FAST};
    use tantivy::{Index, TantivyDocument};

    use super::*;

    /// A segment of one integer column, `values[doc]` for each document (`None`: no value).
    fn segment_of(values: &[Option<i64>]) -> (Index, SchemaField) {
        let mut schema = Schema::builder();
        let field = schema.add_i64_field("n", FAST);
        let index = Index::create_in_ram(schema.build());
        let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for value in values {
            let mut doc = TantivyDocument::default();
            if let Some(value) = value {
                doc.add_i64(field, *value);
            }
            writer.add_document(doc).unwrap();
        }
        writer.commit().unwrap();
        let field = SchemaField {
            field,
            field_type: FieldType::Long,
            of_record: false,
        };
        (index, field)
    }

    #[test]
    fn blocks_read_the_values_documents_read_one_by_one() {
        // Words of documents all with a value, some without, none with: a full column, and an
        // optional one (NODATA records have no port).
        let optional: Vec<Option<i64>> = (0..700i64)
            .map(|doc| match doc {
                64..=127 => Some(doc * 7 - 300),
                200..=263 => None,
                _ if doc % 5 == 2 => None,
                _ => Some(doc * doc - 5_000),
            })
            .collect();
        let full: Vec<Option<i64>> = (0..700i64).map(|doc| Some(3 * doc - 90)).collect();
        for values in [optional, full] {
            let (index, field) = segment_of(&values);
            let searcher = index.reader().unwrap().searcher();
            let reader = searcher.segment_reader(0);
            let column = Accessor::open_with(reader, "n", field, Rows::Indexed).unwrap();
            let mut scratch = RawBlockScratch::default();
            let mut out = Vec::new();
            // Buffers are reused from a longer block to shorter ones and back: nothing of an
            // earlier block may show in a later one.
            let blocks: [Vec<DocId>; 6] = [
                (0..700).collect(),
                (70..75).collect(),
                (5..390).step_by(3).collect(),
                (190..300).collect(),
                vec![3, 64, 200, 201, 699],
                (1..699).filter(|doc| doc % 7 != 0).collect(),
            ];
            for docs in blocks {
                assert!(column.read_raw_block(&docs, &mut scratch, &mut out));
                let expected: Vec<Option<u64>> = docs
                    .iter()
                    .map(|&doc| values[doc as usize].map(|value| value as u64))
                    .collect();
                assert_eq!(out, expected, "{docs:?}");
                let one_by_one: Vec<Option<u64>> = docs
                    .iter()
                    .map(|&doc| column.int(doc).map(|value| value as u64))
                    .collect();
                assert_eq!(out, one_by_one);
            }
        }
    }
}
