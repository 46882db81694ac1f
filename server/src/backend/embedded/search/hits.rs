//! Hits: sorting (by fields, `_score` or `_doc`), `_source` filtering, and rendering hits the
//! way Elasticsearch does.

use std::cmp::Ordering;

use serde_json::{json, Map, Value as Json};
use tantivy::schema::Value as _;
use tantivy::{DocId, Score, SegmentReader, TantivyDocument};

use self::address::HitAddressExt;
use super::columns::Accessor;
use super::SearchError;
use crate::backend::embedded::message_words::column_words::stored_message_text;
use crate::backend::embedded::schema::{from_ipv6, FlowSchema, SchemaField};
use crate::backend::embedded::wildcard_match;

/// Ascending or descending, for sorts and bucket orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

/// Where a document lives: which searched index, segment and doc id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HitAddress {
    pub index: u32,
    pub segment: u32,
    pub doc: u32,
}

/// What hits are sorted by. Empty: `_score` descending, as Elasticsearch does.
#[derive(Clone, Debug, Default)]
pub struct SortSpec {
    pub keys: Vec<SortKeySpec>,
    /// `search_after`: only hits whose sort key comes strictly after this one.
    pub after: Option<SortKey>,
}

#[derive(Clone, Debug)]
pub struct SortKeySpec {
    pub target: SortTarget,
    pub direction: Direction,
    /// Where documents without the field go (`missing`: `_last`, `_first` or a value).
    pub missing: Missing,
}

#[derive(Clone, Debug)]
pub enum SortTarget {
    Score,
    Doc,
    /// `_id`, ordered by its 64-bit digest (the `_id_hash` column): a stable, unique
    /// tiebreaker for `search_after` paging that needs no stored field per document.
    /// Elasticsearch orders the strings instead; within one engine the order is the same
    /// on every page, which is what paging needs.
    Id,
    Field {
        name: String,
        field: SchemaField,
    },
}

/// A sort's `missing` option.
#[derive(Clone, Debug, PartialEq)]
pub enum Missing {
    Last,
    First,
    /// Documents without the field sort as if they had this value.
    Value(SortValue),
}

impl SortSpec {
    pub fn needs_score(&self) -> bool {
        self.keys.is_empty()
            || self
                .keys
                .iter()
                .any(|k| matches!(k.target, SortTarget::Score))
    }

    /// Whether hits carry a `sort` array (Elasticsearch adds it when sorting explicitly).
    pub fn explicit(&self) -> bool {
        !self.keys.is_empty()
    }
}

/// Parses `sort`: `"field"`, `{"field": "desc"}`, `{"field": {"order": "desc"}}`, or a list.
pub fn parse_sort(value: &Json, schema: &FlowSchema) -> Result<SortSpec, SearchError> {
    let items: Vec<&Json> = match value {
        Json::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut keys = Vec::new();
    for item in items {
        let (name, spec) = match item {
            Json::String(name) => (name.as_str(), None),
            Json::Object(o) if o.len() == 1 => {
                let (name, spec) = o.iter().next().expect("one entry");
                (name.as_str(), Some(spec))
            }
            _ => {
                return Err(SearchError::parsing(format!(
                    "unsupported sort entry [{item}]"
                )))
            }
        };
        let direction = match spec {
            None => None,
            Some(Json::String(d)) => Some(d.as_str()),
            Some(Json::Object(o)) => {
                for key in o.keys() {
                    if !matches!(
                        key.as_str(),
                        "order" | "unmapped_type" | "format" | "numeric_type" | "missing"
                    ) {
                        return Err(SearchError::unsupported(format!(
                            "sort option [{key}] is not supported by the embedded engine"
                        )));
                    }
                }
                o.get("order").and_then(Json::as_str)
            }
            Some(other) => {
                return Err(SearchError::parsing(format!(
                    "unsupported sort order [{other}]"
                )))
            }
        };
        let direction = match direction.map(str::to_ascii_lowercase).as_deref() {
            Some("asc") => Direction::Asc,
            Some("desc") => Direction::Desc,
            None if name == "_score" => Direction::Desc,
            None => Direction::Asc,
            Some(other) => {
                return Err(SearchError::parsing(format!(
                    "unknown sort order [{other}]"
                )))
            }
        };
        let target = match name {
            "_score" => SortTarget::Score,
            "_doc" => SortTarget::Doc,
            "_id" => SortTarget::Id,
            field_name => {
                let unmapped_type = spec
                    .and_then(|spec| spec.get("unmapped_type"))
                    .and_then(Json::as_str);
                let field = match (schema.field(field_name), unmapped_type) {
                    (Some(field), _) => field,
                    // Every document lacks a field no index maps, as `unmapped_type` asks.
                    (None, Some(es_type)) => SchemaField::unmapped(field_type_of(es_type)),
                    (None, None) => {
                        return Err(SearchError::illegal(format!(
                            "No mapping found for [{field_name}] in order to sort on"
                        )))
                    }
                };
                if field.field_type == app::model::flow::FieldType::Text {
                    return Err(SearchError::illegal(format!(
                        "cannot sort on text field [{field_name}]"
                    )));
                }
                SortTarget::Field {
                    name: field_name
                        .strip_suffix(".keyword")
                        .unwrap_or(field_name)
                        .to_owned(),
                    field,
                }
            }
        };
        let missing = match spec.and_then(|spec| spec.get("missing")) {
            None => Missing::Last,
            Some(Json::String(m)) if m == "_last" => Missing::Last,
            Some(Json::String(m)) if m == "_first" => Missing::First,
            Some(value) => match &target {
                SortTarget::Field { field, .. } => {
                    Missing::Value(sort_value_from_json(value, Some(field), name)?)
                }
                _ => {
                    return Err(SearchError::illegal(format!(
                        "[missing] is only supported on fields, not on [{name}]"
                    )))
                }
            },
        };
        keys.push(SortKeySpec {
            target,
            direction,
            missing,
        });
    }
    Ok(SortSpec { keys, after: None })
}

/// Parses `search_after` against the sort it continues: one value per sort key, each as the
/// hits' `sort` arrays print it.
pub fn parse_search_after(value: &Json, sort: &SortSpec) -> Result<SortKey, SearchError> {
    let values = value
        .as_array()
        .ok_or_else(|| SearchError::parsing("[search_after] must be an array"))?;
    if sort.keys.is_empty() {
        return Err(SearchError::illegal(
            "Sort must contain at least one field.",
        ));
    }
    if values.len() != sort.keys.len() {
        return Err(SearchError::illegal(format!(
            "search_after has {} value(s) but sort has {}.",
            values.len(),
            sort.keys.len()
        )));
    }
    values
        .iter()
        .zip(&sort.keys)
        .map(|(value, key)| {
            let descending = key.direction == Direction::Desc;
            let missing_first = key.missing == Missing::First;
            let parsed = match &key.target {
                SortTarget::Score => match value.as_f64() {
                    Some(score) => SortValue::Score(score as f32),
                    None => return Err(after_type_error(value, "_score")),
                },
                SortTarget::Doc => match value.as_i64() {
                    Some(doc) => SortValue::I64(doc),
                    None => return Err(after_type_error(value, "_doc")),
                },
                SortTarget::Id => match value.as_str() {
                    Some(id) => SortValue::Id(crate::ingest::document::id_hash(id)),
                    None => return Err(after_type_error(value, "_id")),
                },
                SortTarget::Field { name, field } => {
                    let parsed = sort_value_from_json(value, Some(field), name)?;
                    // The value a missing document printed reads back as missing, so the
                    // next page goes on among the missing ones instead of skipping them all.
                    if parsed == missing_sentinel(descending, missing_first) {
                        SortValue::Missing
                    } else {
                        parsed
                    }
                }
            };
            Ok(SortPart {
                value: parsed,
                descending,
                missing_first,
            })
        })
        .collect()
}

fn after_type_error(value: &Json, name: &str) -> SearchError {
    SearchError::illegal(format!(
        "Failed to parse search_after value [{value}] for field [{name}]"
    ))
}

/// What Elasticsearch prints as the sort value of a document without a numeric field: the
/// value `missing: _last`/`_first` stands for in that direction.
fn missing_sentinel(descending: bool, missing_first: bool) -> SortValue {
    if descending != missing_first {
        SortValue::I64(i64::MIN)
    } else {
        SortValue::I64(i64::MAX)
    }
}

/// A sort value given in a request (`missing`, `search_after`) for a field: numbers and dates
/// as numbers (dates also as date strings), keywords as strings, addresses as strings;
/// `null` is a missing value.
fn sort_value_from_json(
    value: &Json,
    field: Option<&SchemaField>,
    name: &str,
) -> Result<SortValue, SearchError> {
    use app::model::flow::FieldType;
    let wrong = || {
        SearchError::illegal(format!(
            "Failed to parse search_after value [{value}] for field [{name}]"
        ))
    };
    if value.is_null() {
        return Ok(SortValue::Missing);
    }
    let Some(field) = field else {
        return Err(wrong());
    };
    Ok(match field.field_type {
        FieldType::Keyword => match value {
            Json::String(s) => SortValue::Str(s.clone()),
            Json::Number(n) => SortValue::Str(n.to_string()),
            _ => return Err(wrong()),
        },
        FieldType::Ip => {
            let text = value.as_str().ok_or_else(wrong)?;
            let ip: std::net::IpAddr = text.parse().map_err(|_| wrong())?;
            let v6 = match ip {
                std::net::IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                std::net::IpAddr::V6(v6) => v6,
            };
            SortValue::Ip(u128::from(v6))
        }
        FieldType::Date => match value {
            Json::Number(n) => SortValue::I64(n.as_i64().ok_or_else(wrong)?),
            Json::String(s) => SortValue::I64(
                super::datemath::DateFormats::default()
                    .parse_date(s, &super::datemath::Zone::utc())
                    .map_err(|_| wrong())?,
            ),
            _ => return Err(wrong()),
        },
        FieldType::Long => match value {
            Json::Number(n) => SortValue::I64(
                n.as_i64()
                    .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                    .ok_or_else(wrong)?,
            ),
            Json::String(s) => SortValue::I64(s.parse().map_err(|_| wrong())?),
            _ => return Err(wrong()),
        },
        FieldType::Text => return Err(wrong()),
    })
}

/// A value a hit is sorted by. Missing values sort last in either direction.
#[derive(Clone, Debug, PartialEq)]
pub enum SortValue {
    Missing,
    I64(i64),
    Ip(u128),
    Str(String),
    Score(f32),
    /// An `_id`'s digest.
    Id(u64),
}

impl SortValue {
    fn partial(&self, other: &SortValue) -> Ordering {
        match (self, other) {
            (SortValue::I64(a), SortValue::I64(b)) => a.cmp(b),
            (SortValue::Id(a), SortValue::Id(b)) => a.cmp(b),
            (SortValue::Ip(a), SortValue::Ip(b)) => a.cmp(b),
            (SortValue::Str(a), SortValue::Str(b)) => a.cmp(b),
            (SortValue::Score(a), SortValue::Score(b)) => a.total_cmp(b),
            _ => Ordering::Equal,
        }
    }

    /// How Elasticsearch prints it in a hit's `sort` array: a missing number or date as the
    /// extreme value it sorts as (see [`missing_sentinel`]), `_id` as the hit's id.
    fn to_json(&self, part: &SortPart, numeric: bool, id: &str) -> Json {
        match self {
            SortValue::Missing if numeric => {
                missing_sentinel(part.descending, part.missing_first).to_json(part, false, id)
            }
            SortValue::Missing => Json::Null,
            SortValue::I64(v) => json!(v),
            SortValue::Ip(v) => json!(from_ipv6((*v).into()).to_string()),
            SortValue::Str(s) => json!(s),
            SortValue::Score(s) => json!(s),
            SortValue::Id(_) => json!(id),
        }
    }
}

/// One sort component with its direction; orders "better first".
#[derive(Clone, Debug, PartialEq)]
pub struct SortPart {
    pub value: SortValue,
    pub descending: bool,
    /// `missing: _first`: documents without the value come first instead of last.
    pub missing_first: bool,
}

impl Eq for SortPart {}

impl PartialOrd for SortPart {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SortPart {
    fn cmp(&self, other: &Self) -> Ordering {
        let missing = if self.missing_first {
            Ordering::Less
        } else {
            Ordering::Greater
        };
        match (&self.value, &other.value) {
            (SortValue::Missing, SortValue::Missing) => Ordering::Equal,
            (SortValue::Missing, _) => missing,
            (_, SortValue::Missing) => missing.reverse(),
            (a, b) if self.descending => b.partial(a),
            (a, b) => a.partial(b),
        }
    }
}

/// The full sort key of a hit; smaller is better.
pub type SortKey = Vec<SortPart>;

/// Computes sort keys for one segment's documents.
pub struct SegmentSorter {
    parts: Vec<SegmentSortPart>,
    /// `search_after`: keys at or before it are not hits of this page.
    after: Option<SortKey>,
}

struct SegmentSortPart {
    source: SortSource,
    descending: bool,
    missing: Missing,
}

/// Where a sort value comes from in a segment.
enum SortSource {
    Score,
    Doc,
    Id(tantivy::columnar::Column<u64>),
    Field(Accessor),
}

impl SegmentSorter {
    pub fn new(spec: &SortSpec, reader: &SegmentReader) -> Result<SegmentSorter, SearchError> {
        let mut parts = Vec::new();
        if spec.keys.is_empty() {
            parts.push(SegmentSortPart {
                source: SortSource::Score,
                descending: true,
                missing: Missing::Last,
            });
        }
        for key in &spec.keys {
            let source = match &key.target {
                SortTarget::Score => SortSource::Score,
                SortTarget::Doc => SortSource::Doc,
                SortTarget::Id => SortSource::Id(
                    reader
                        .fast_fields()
                        .u64(crate::backend::embedded::schema::ID_HASH)
                        .map_err(|e| SearchError::Internal(e.to_string()))?,
                ),
                SortTarget::Field { name, field } => {
                    SortSource::Field(Accessor::open(reader, name, *field)?)
                }
            };
            parts.push(SegmentSortPart {
                source,
                descending: key.direction == Direction::Desc,
                missing: key.missing.clone(),
            });
        }
        Ok(SegmentSorter {
            parts,
            after: spec.after.clone(),
        })
    }

    /// The document's sort key, or `None` when `search_after` puts it on an earlier page.
    pub fn key(&self, doc: DocId, score: Score, global_doc: i64) -> Option<SortKey> {
        let key: SortKey = self
            .parts
            .iter()
            .map(|part| {
                let value = match &part.source {
                    SortSource::Score => SortValue::Score(score),
                    SortSource::Doc => SortValue::I64(global_doc),
                    SortSource::Id(column) => {
                        column.first(doc).map_or(SortValue::Missing, SortValue::Id)
                    }
                    SortSource::Field(accessor @ Accessor::Str { .. }) => accessor
                        .raw(doc)
                        .and_then(|ord| accessor.term(ord as u64))
                        .map_or(SortValue::Missing, SortValue::Str),
                    SortSource::Field(Accessor::Ip(column)) => column
                        .first(doc)
                        .map_or(SortValue::Missing, |ip| SortValue::Ip(u128::from(ip))),
                    SortSource::Field(accessor) => {
                        accessor.int(doc).map_or(SortValue::Missing, SortValue::I64)
                    }
                };
                let value = match (value, &part.missing) {
                    (SortValue::Missing, Missing::Value(instead)) => instead.clone(),
                    (value, _) => value,
                };
                SortPart {
                    value,
                    descending: part.descending,
                    missing_first: part.missing == Missing::First,
                }
            })
            .collect();
        match &self.after {
            Some(after) if key.as_slice() <= after.as_slice() => None,
            _ => Some(key),
        }
    }
}

/// A bounded "best n" list: keeps the `keep` smallest keys.
#[derive(Debug)]
pub struct TopN {
    pub keep: usize,
    pub entries: Vec<(SortKey, HitAddress)>,
    /// The worst kept key once the list is full: a cheap test before building a key.
    sorted: bool,
}

impl TopN {
    pub fn new(keep: usize) -> TopN {
        TopN {
            keep,
            entries: Vec::new(),
            sorted: true,
        }
    }

    pub fn push(&mut self, key: SortKey, address: HitAddress) {
        if self.keep == 0 {
            return;
        }
        self.entries.push((key, address));
        self.sorted = false;
        // Amortised: compact when twice the size, so pushes stay O(1) on average.
        if self.entries.len() >= self.keep * 2 + 16 {
            self.compact();
        }
    }

    fn compact(&mut self) {
        self.entries
            .sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        self.entries.truncate(self.keep);
        self.sorted = true;
    }

    pub fn into_sorted(mut self) -> Vec<(SortKey, HitAddress)> {
        if !self.sorted {
            self.compact();
        }
        self.entries
    }
}

/// `_source` filtering: `true`, `false`, `"field"`, `["a", "b*"]`, `{includes, excludes}`.
#[derive(Clone, Debug, Default)]
pub struct SourceFilter {
    pub disabled: bool,
    pub includes: Vec<String>,
    pub excludes: Vec<String>,
}

pub fn parse_source_filter(value: &Json) -> Result<SourceFilter, SearchError> {
    let strings = |v: &Json| -> Result<Vec<String>, SearchError> {
        match v {
            Json::String(s) => Ok(vec![s.clone()]),
            Json::Array(items) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| SearchError::parsing("[_source] patterns must be strings"))
                })
                .collect(),
            Json::Null => Ok(Vec::new()),
            _ => Err(SearchError::parsing("[_source] patterns must be strings")),
        }
    };
    Ok(match value {
        Json::Bool(enabled) => SourceFilter {
            disabled: !enabled,
            ..SourceFilter::default()
        },
        Json::String(_) | Json::Array(_) => SourceFilter {
            includes: strings(value)?,
            ..SourceFilter::default()
        },
        Json::Object(o) => SourceFilter {
            disabled: false,
            includes: strings(
                o.get("includes")
                    .or_else(|| o.get("include"))
                    .unwrap_or(&Json::Null),
            )?,
            excludes: strings(
                o.get("excludes")
                    .or_else(|| o.get("exclude"))
                    .unwrap_or(&Json::Null),
            )?,
        },
        _ => {
            return Err(SearchError::parsing(
                "[_source] must be a boolean, a string, an array or an object",
            ))
        }
    })
}

impl SourceFilter {
    pub fn apply(&self, source: Map<String, Json>) -> Option<Map<String, Json>> {
        if self.disabled {
            return None;
        }
        if self.includes.is_empty() && self.excludes.is_empty() {
            return Some(source);
        }
        Some(
            source
                .into_iter()
                .filter(|(key, _)| {
                    self.includes.is_empty() || self.includes.iter().any(|p| wildcard_match(p, key))
                })
                .filter(|(key, _)| !self.excludes.iter().any(|p| wildcard_match(p, key)))
                .collect(),
        )
    }
}

/// The column readers of one segment, by document field.
pub type SegmentColumns = std::rc::Rc<Vec<(&'static str, SchemaField, Accessor)>>;

/// Everything needed to turn hit addresses into hit objects.
pub struct HitRenderer<'a> {
    pub searchers: &'a [(String, tantivy::Searcher)],
    pub schema: &'a FlowSchema,
    /// Column readers per (index, segment), opened once for all hits in them.
    pub columns: std::cell::RefCell<std::collections::HashMap<(u32, u32), SegmentColumns>>,
}

impl<'a> HitRenderer<'a> {
    pub fn new(
        searchers: &'a [(String, tantivy::Searcher)],
        schema: &'a FlowSchema,
    ) -> HitRenderer<'a> {
        HitRenderer {
            searchers,
            schema,
            columns: Default::default(),
        }
    }

    /// `_source` of a document flowdash ingested: its column values and stored `@message`.
    fn rebuild_source(
        &self,
        searcher: &tantivy::Searcher,
        address: HitAddress,
        message: &str,
    ) -> Result<Map<String, Json>, SearchError> {
        let key = (address.index, address.segment);
        let columns = self.columns.borrow().get(&key).cloned();
        let columns = match columns {
            Some(columns) => columns,
            None => {
                let reader = searcher.segment_reader(address.segment);
                let opened = self
                    .schema
                    .source_order()
                    .filter(|(_, field)| field.field_type != app::model::flow::FieldType::Text)
                    .map(|(name, field)| Ok((name, field, Accessor::open(reader, name, field)?)))
                    .collect::<Result<Vec<_>, SearchError>>()?;
                let opened = std::rc::Rc::new(opened);
                self.columns.borrow_mut().insert(key, opened.clone());
                opened
            }
        };
        let doc = address.doc;
        let mut source = Map::new();
        for (name, field, accessor) in columns.iter() {
            if *name == "@message" {
                continue;
            }
            let value = match (field.field_type, accessor) {
                (_, accessor @ Accessor::Str { .. }) => accessor
                    .raw(doc)
                    .and_then(|ord| accessor.term(ord as u64))
                    .map(Json::String),
                (_, Accessor::Ip(column)) => {
                    column.first(doc).map(|ip| json!(from_ipv6(ip).to_string()))
                }
                (app::model::flow::FieldType::Date, accessor) => accessor.int(doc).map(|ms| {
                    json!(super::datemath::format_iso(
                        ms,
                        &super::datemath::Zone::utc()
                    ))
                }),
                (_, accessor) => accessor.int(doc).map(|v| json!(v)),
            };
            if let Some(value) = value {
                source.insert((*name).to_owned(), value);
            }
            if *name == "@timestamp" && !message.is_empty() {
                source.insert("@message".to_owned(), json!(message));
            }
        }
        Ok(source)
    }
    /// One hit as Elasticsearch renders it.
    pub fn render(
        &self,
        address: HitAddress,
        key: &SortKey,
        sort: &SortSpec,
        source: &SourceFilter,
        docvalue_fields: &[String],
    ) -> Result<Json, SearchError> {
        let (index_name, searcher) = &self.searchers[address.index as usize];
        let doc: TantivyDocument = searcher
            .doc(address.doc_address())
            .map_err(|e| SearchError::Internal(e.to_string()))?;
        let text = |field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let id = text(self.schema.id);
        let stored_source = text(self.schema.source);
        let full: Map<String, Json> = if stored_source.is_empty() {
            let message = text(self.schema.message);
            self.rebuild_source(searcher, address, stored_message_text(&message))?
        } else {
            serde_json::from_str(&stored_source).unwrap_or_default()
        };
        let mut hit = Map::new();
        hit.insert("_index".into(), json!(index_name));
        hit.insert("_type".into(), json!("_doc"));
        hit.insert("_id".into(), json!(id));
        let score = key.iter().find_map(|p| match p.value {
            SortValue::Score(s) => Some(s),
            _ => None,
        });
        hit.insert(
            "_score".into(),
            match (sort.explicit(), score) {
                (false, Some(score)) => json!(score),
                _ => Json::Null,
            },
        );
        if !docvalue_fields.is_empty() {
            let mut fields = Map::new();
            for pattern in docvalue_fields {
                for (name, value) in &full {
                    if wildcard_match(pattern, name) {
                        fields.insert(name.clone(), json!([value]));
                    }
                }
            }
            hit.insert("fields".into(), Json::Object(fields));
        }
        if let Some(filtered) = source.apply(full) {
            hit.insert("_source".into(), Json::Object(filtered));
        }
        if sort.explicit() {
            let values: Vec<Json> = key
                .iter()
                .zip(&sort.keys)
                .map(|(part, spec)| {
                    let numeric = matches!(&spec.target, SortTarget::Field { field, .. }
                        if matches!(field.field_type, app::model::flow::FieldType::Date | app::model::flow::FieldType::Long));
                    part.value.to_json(part, numeric, &id)
                })
                .collect();
            hit.insert("sort".into(), Json::Array(values));
        }
        Ok(Json::Object(hit))
    }
}

pub(super) mod address {
    use tantivy::DocAddress;

    use super::HitAddress;

    pub trait HitAddressExt {
        fn doc_address(&self) -> DocAddress;
    }

    impl HitAddressExt for HitAddress {
        fn doc_address(&self) -> DocAddress {
            DocAddress::new(self.segment, self.doc)
        }
    }
}

/// The score-free key of a document in index order (for `_doc` sorts and ties).
pub fn global_doc(index: u32, segment: u32, doc: DocId) -> i64 {
    (i64::from(index) << 42) | (i64::from(segment) << 26) | i64::from(doc)
}

/// The flow field type standing for an Elasticsearch mapping type (`unmapped_type`).
fn field_type_of(es_type: &str) -> app::model::flow::FieldType {
    use app::model::flow::FieldType;
    match es_type {
        "long" | "integer" | "short" | "byte" | "double" | "float" | "half_float"
        | "scaled_float" | "unsigned_long" => FieldType::Long,
        "date" | "date_nanos" => FieldType::Date,
        "ip" => FieldType::Ip,
        _ => FieldType::Keyword,
    }
}
