//! Per-segment access to a field's fast-field column, whatever its type.

use std::collections::HashMap;
use std::net::Ipv6Addr;
use std::sync::{Arc, Mutex};

use app::model::flow::FieldType;
use tantivy::columnar::column_values::CompactSpaceU64Accessor;
use tantivy::columnar::{Column, ColumnType, StrColumn};
use tantivy::index::SegmentId;
use tantivy::schema::Field;
use tantivy::{DateTime, DocId, Searcher, SegmentReader};

use super::SearchError;
use crate::backend::embedded::schema::SchemaField;

/// A column of one segment. A field no document of the segment has reads as missing.
#[derive(Clone)]
pub enum Accessor {
    Str {
        ords: Column<u64>,
        dict: StrColumn,
    },
    I64(Column<i64>),
    Date(Column<DateTime>),
    Ip(Column<Ipv6Addr>),
    /// An address column read as its order-preserving compact codes (a bit-packed read), for
    /// bucket keys: decoding every document's address is a search in the segment's value
    /// ranges, which dominated terms aggregations on addresses.
    IpCode {
        codes: Column<u64>,
        space: Arc<CompactSpaceU64Accessor>,
    },
    Missing,
}

impl Accessor {
    pub fn open(
        reader: &SegmentReader,
        name: &str,
        field: SchemaField,
    ) -> Result<Accessor, SearchError> {
        let fast = reader.fast_fields();
        let internal = |e: tantivy::TantivyError| SearchError::Internal(e.to_string());
        Ok(match field.field_type {
            FieldType::Keyword => match fast.str(name).map_err(internal)? {
                Some(dict) => Accessor::Str {
                    ords: dict.ords().clone(),
                    dict,
                },
                None => Accessor::Missing,
            },
            FieldType::Long => match fast.column_opt::<i64>(name).map_err(internal)? {
                Some(column) => Accessor::I64(column),
                None => Accessor::Missing,
            },
            FieldType::Date => match fast.column_opt::<DateTime>(name).map_err(internal)? {
                Some(column) => Accessor::Date(column),
                None => Accessor::Missing,
            },
            FieldType::Ip => match fast.column_opt::<Ipv6Addr>(name).map_err(internal)? {
                Some(column) => Accessor::Ip(column),
                None => Accessor::Missing,
            },
            FieldType::Text => Accessor::Missing,
        })
    }

    /// Like [`Accessor::open`], but addresses come as compact codes (see [`Accessor::IpCode`]);
    /// [`Accessor::ip`] turns a code back into the address.
    pub fn open_keys(
        reader: &SegmentReader,
        name: &str,
        field: SchemaField,
    ) -> Result<Accessor, SearchError> {
        if field.field_type != FieldType::Ip {
            return Accessor::open(reader, name, field);
        }
        let internal = |e: tantivy::TantivyError| SearchError::Internal(e.to_string());
        let compact = reader
            .fast_fields()
            .u64_lenient_for_type(Some(&[ColumnType::IpAddr]), name)
            .map_err(internal)?;
        Ok(match compact {
            Some((codes, _)) => match codes
                .values
                .clone()
                .downcast_arc::<CompactSpaceU64Accessor>()
            {
                Ok(space) => Accessor::IpCode { codes, space },
                Err(_) => Accessor::open(reader, name, field)?,
            },
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

/// An index's address columns opened as compact codes ([`Accessor::open_keys`]), by segment
/// and field. Opening one reads the segment's whole table of value ranges, which cost as much
/// as collecting a small segment; segments never change, so the open column serves every
/// search until the segment is merged away.
#[derive(Default)]
pub struct KeyColumns(Mutex<HashMap<(SegmentId, Field), Accessor>>);

impl KeyColumns {
    /// Forgets the columns of segments `searcher` no longer has (merged or dropped), whose
    /// files they would keep mapped.
    pub fn retain_segments(&self, searcher: &Searcher) {
        let live: Vec<SegmentId> = searcher
            .segment_readers()
            .iter()
            .map(SegmentReader::segment_id)
            .collect();
        self.lock().retain(|(segment, _), _| live.contains(segment));
    }

    /// [`Accessor::open_keys`], opened once per segment for address fields.
    pub fn open(
        &self,
        reader: &SegmentReader,
        name: &str,
        field: SchemaField,
    ) -> Result<Accessor, SearchError> {
        if field.field_type != FieldType::Ip {
            return Accessor::open_keys(reader, name, field);
        }
        let key = (reader.segment_id(), field.field);
        if let Some(accessor) = self.lock().get(&key) {
            return Ok(accessor.clone());
        }
        let accessor = Accessor::open_keys(reader, name, field)?;
        self.lock().insert(key, accessor.clone());
        Ok(accessor)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(SegmentId, Field), Accessor>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
