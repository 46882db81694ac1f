//! Searches of `@message`'s words. A word is in the postings, or, when it is a number or an
//! address the document's columns hold, found in those columns, or, in a wholly backed
//! document, found among its record keyword values (see
//! [`super::column_words`], which says which documents leave which words
//! to their columns).

use std::net::Ipv6Addr;
use std::sync::Arc;

use app::model::flow::FieldType;
use rustc_hash::FxHashMap;
use tantivy::columnar::Column;
use tantivy::query::doc_predicate_query::{
    ConstOrVariableSegmentPredicate, DocPredicate, DocPredicateQuery, SegmentDocPredicate,
};
use tantivy::query::{
    BooleanQuery, EmptyQuery, Occur, Query as TantivyQuery, RegexQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{BitSet, DocId, SegmentReader, Term};

use super::column_words::{
    address_word, is_column_word, keyword_word, lowercases_to, number_word, WordValues,
    BACKED_WORD, WHOLLY_BACKED_WORD,
};
use super::MAX_WORD_BYTES;
use crate::backend::embedded::schema::{FlowSchema, SchemaField};
use crate::backend::embedded::search::columns::{
    address_codes, address_codes_where, terms_between, terms_where, AddressCodes,
};
use crate::backend::embedded::search::error::SearchError;
use crate::backend::embedded::search::query::terms::equal_to;
use crate::backend::embedded::search::wildcard::{glob_match, WildcardTerms};

/// Documents whose `@message` has `word` (a word as the analyzer makes it).
pub fn word_query(schema: &FlowSchema, message: SchemaField, word: &str) -> Box<dyn TantivyQuery> {
    if word.contains(|c: char| c.is_ascii_whitespace()) {
        // No word has whitespace (the marker word is nothing but).
        return Box::new(EmptyQuery);
    }
    let postings = Box::new(TermQuery::new(
        Term::from_field_text(message.field, word),
        IndexRecordOption::Basic,
    ));
    let Some(values) = WordValues::of(word) else {
        let in_keywords = WhollyBackedKeywords::query(schema, message, Like::Word(word));
        return Box::new(BooleanQuery::new(vec![
            (Occur::Should, postings),
            (Occur::Should, in_keywords),
        ]));
    };
    let equal = |term: Term| (Occur::Should, equal_to(term));
    let mut in_columns = Vec::new();
    for (_, column) in schema.fields() {
        match column.field_type {
            // Only the record's own numbers are words of its line (not an AS number).
            FieldType::Long if column.of_record => in_columns.extend(
                values
                    .longs
                    .iter()
                    .map(|v| equal(Term::from_field_i64(column.field, *v))),
            ),
            FieldType::Ip => in_columns.extend(
                values
                    .address
                    .map(|ip| equal(Term::from_field_ip_addr(column.field, ip))),
            ),
            // Keyword columns hold a column word as it is.
            FieldType::Keyword => in_columns.push(equal(Term::from_field_text(column.field, word))),
            FieldType::Long | FieldType::Date | FieldType::Text => {}
        }
    }
    let backed_with_it = BooleanQuery::new(vec![
        (Occur::Must, backed(message.field)),
        (Occur::Must, Box::new(BooleanQuery::new(in_columns))),
    ]);
    Box::new(BooleanQuery::new(vec![
        (Occur::Should, postings),
        (Occur::Should, Box::new(backed_with_it)),
    ]))
}

/// Documents with a word of `@message` matching a wildcard pattern (`*` any run, `?` one
/// character), lower-cased as the words are.
pub fn wildcard_query(
    schema: &FlowSchema,
    message: SchemaField,
    pattern: &str,
) -> Result<Box<dyn TantivyQuery>, SearchError> {
    if pattern.contains(|c: char| c.is_ascii_whitespace()) {
        // No word has whitespace (the marker word is nothing but).
        return Ok(Box::new(EmptyQuery));
    }
    let postings = WildcardTerms::new(message.field, pattern);
    let postings = BooleanQuery::new(vec![
        (Occur::Should, Box::new(postings) as Box<dyn TantivyQuery>),
        (
            Occur::Should,
            WhollyBackedKeywords::query(schema, message, Like::Pattern(pattern)),
        ),
    ]);
    // Which kinds of column word the pattern can match at all: numbers are digits, addresses
    // also have dots, colons and the letters a to f.
    let literals = || pattern.chars().filter(|c| !matches!(c, '*' | '?'));
    let kinds = ColumnKinds {
        numbers: literals().all(|c| c.is_ascii_digit()),
        addresses: literals().all(|c| matches!(c, '0'..='9' | 'a'..='f' | '.' | ':')),
    };
    if !kinds.addresses {
        return Ok(Box::new(postings));
    }
    let columns = schema
        .fields()
        .filter(|(_, f)| match f.field_type {
            FieldType::Long => kinds.numbers && f.of_record,
            FieldType::Ip | FieldType::Keyword => true,
            FieldType::Date | FieldType::Text => false,
        })
        .map(|(name, f)| (name, f.field_type))
        .collect();
    let in_columns = DocPredicateQuery::from(BackedColumnsMatch {
        message: message.field,
        columns,
        pattern: Arc::from(pattern.as_bytes()),
    });
    Ok(Box::new(BooleanQuery::new(vec![
        (Occur::Should, Box::new(postings)),
        (Occur::Should, Box::new(in_columns)),
    ])))
}

struct ColumnKinds {
    numbers: bool,
    addresses: bool,
}

/// What a record keyword value's word is to be.
#[derive(Clone, Copy, Debug)]
enum Like<T> {
    /// This word: the value lower-cased is it.
    Word(T),
    /// Like this wildcard pattern, lower-cased as the words are.
    Pattern(T),
}

/// Wholly backed documents with a record keyword value whose word is as asked: evaluated on
/// the documents of the marker word only.
#[derive(Debug)]
struct WhollyBackedKeywords {
    message: Field,
    columns: Vec<&'static str>,
    like: Like<Arc<[u8]>>,
}

impl WhollyBackedKeywords {
    fn query(schema: &FlowSchema, message: SchemaField, like: Like<&str>) -> Box<dyn TantivyQuery> {
        let like = match like {
            Like::Word(word) => Like::Word(Arc::from(word.as_bytes())),
            Like::Pattern(pattern) => Like::Pattern(Arc::from(pattern.as_bytes())),
        };
        let columns = schema
            .fields()
            .filter(|(_, f)| f.of_record && f.field_type == FieldType::Keyword)
            .map(|(name, _)| name)
            .collect();
        Box::new(DocPredicateQuery::from(WhollyBackedKeywords {
            message: message.field,
            columns,
            like,
        }))
    }

    /// Whether a keyword value's word is as asked.
    fn matches(&self, value: &str) -> bool {
        if !keyword_word(value) {
            return false;
        }
        match &self.like {
            Like::Word(word) => lowercases_to(value.as_bytes(), word),
            Like::Pattern(pattern) => {
                let mut lowered = [0u8; MAX_WORD_BYTES];
                let lowered = &mut lowered[..value.len()];
                lowered.copy_from_slice(value.as_bytes());
                lowered.make_ascii_lowercase();
                glob_match(pattern, lowered)
            }
        }
    }
}

/// A segment's documents with a marker word, if any.
fn marked(
    reader: &SegmentReader,
    message: Field,
    marker: &str,
) -> tantivy::Result<Option<tantivy::postings::SegmentPostings>> {
    let marker = Term::from_field_text(message, marker);
    Ok(reader
        .inverted_index(message)?
        .read_postings(&marker, IndexRecordOption::Basic)?)
}

impl DocPredicate for WhollyBackedKeywords {
    type SegmentDocPredicate = SegmentColumnsMatch;

    fn doc_predicate(
        &self,
        reader: &SegmentReader,
    ) -> tantivy::Result<ConstOrVariableSegmentPredicate<SegmentColumnsMatch>> {
        let Some(wholly) = marked(reader, self.message, WHOLLY_BACKED_WORD)? else {
            return Ok(ConstOrVariableSegmentPredicate::Const(false));
        };
        // The values that lower-case to a word lie between it upper-cased and itself.
        let upper;
        let bounds = match &self.like {
            Like::Word(word) => {
                upper = word.to_ascii_uppercase();
                Some((&upper[..], &word[..]))
            }
            Like::Pattern(_) => None,
        };
        let fast = reader.fast_fields();
        let mut keywords = Vec::new();
        for name in &self.columns {
            let Some(column) = fast.str(name)? else {
                continue;
            };
            let matching = terms_between(&column, bounds, |term| self.matches(term))?;
            if matching.len() > 0 {
                keywords.push((column.ords().clone(), matching));
            }
        }
        if keywords.is_empty() {
            return Ok(ConstOrVariableSegmentPredicate::Const(false));
        }
        Ok(ConstOrVariableSegmentPredicate::Variable {
            predicate: SegmentColumnsMatch {
                // For long and address columns, of which there are none.
                pattern: Arc::from(&[][..]),
                longs: Vec::new(),
                addresses: Vec::new(),
                keywords,
            },
            necessary_condition: Box::new(wholly),
        })
    }
}

/// Documents with any word in `@message`.
pub fn exists_query(message: SchemaField) -> Result<Box<dyn TantivyQuery>, SearchError> {
    let any_word = RegexQuery::from_pattern(".+", message.field)
        .map_err(|e| SearchError::Internal(e.to_string()))?;
    Ok(Box::new(BooleanQuery::new(vec![
        (Occur::Should, Box::new(any_word)),
        (Occur::Should, backed(message.field)),
    ])))
}

/// Documents whose column words are left to their columns.
fn backed(message: Field) -> Box<dyn TantivyQuery> {
    Box::new(TermQuery::new(
        Term::from_field_text(message, BACKED_WORD),
        IndexRecordOption::Basic,
    ))
}

/// Backed documents with a column whose value's word matches a wildcard pattern: evaluated on the
/// documents of the marker word only.
#[derive(Debug)]
struct BackedColumnsMatch {
    message: Field,
    columns: Vec<(&'static str, FieldType)>,
    pattern: Arc<[u8]>,
}

impl DocPredicate for BackedColumnsMatch {
    type SegmentDocPredicate = SegmentColumnsMatch;

    fn doc_predicate(
        &self,
        reader: &SegmentReader,
    ) -> tantivy::Result<ConstOrVariableSegmentPredicate<SegmentColumnsMatch>> {
        let Some(backed) = marked(reader, self.message, BACKED_WORD)? else {
            return Ok(ConstOrVariableSegmentPredicate::Const(false));
        };
        let fast = reader.fast_fields();
        let pattern = &*self.pattern;
        let mut matcher = SegmentColumnsMatch {
            pattern: self.pattern.clone(),
            longs: Vec::new(),
            addresses: Vec::new(),
            keywords: Vec::new(),
        };
        for (name, field_type) in &self.columns {
            match field_type {
                FieldType::Long => matcher.longs.extend(fast.column_opt::<i64>(name)?),
                FieldType::Ip => matcher
                    .addresses
                    .extend(AddressColumn::open(reader, name, pattern)?),
                FieldType::Keyword => {
                    let Some(column) = fast.str(name)? else {
                        continue;
                    };
                    let matching = terms_where(&column, |term| {
                        is_column_word(term) && glob_match(pattern, term.as_bytes())
                    })?;
                    if matching.len() > 0 {
                        matcher.keywords.push((column.ords().clone(), matching));
                    }
                }
                FieldType::Date | FieldType::Text => {}
            }
        }
        Ok(ConstOrVariableSegmentPredicate::Variable {
            predicate: matcher,
            necessary_condition: Box::new(backed),
        })
    }
}

struct SegmentColumnsMatch {
    pattern: Arc<[u8]>,
    longs: Vec<Column<i64>>,
    addresses: Vec<AddressColumn>,
    /// Ordinals, and the ordinals of matching terms.
    keywords: Vec<(Column<u64>, BitSet)>,
}

impl SegmentDocPredicate for SegmentColumnsMatch {
    fn eval(&mut self, doc: DocId) -> bool {
        let pattern = &*self.pattern;
        self.keywords.iter().any(|(ords, matching)| {
            ords.values_for_doc(doc)
                .any(|ord| matching.contains(ord as u32))
        }) || self.longs.iter().any(|column| {
            column
                .values_for_doc(doc)
                .filter_map(number_word)
                .any(|word| glob_match(pattern, word.as_bytes()))
        }) || self
            .addresses
            .iter_mut()
            .any(|column| column.matches(doc, pattern))
    }
}

/// An address column and which of its addresses match.
enum AddressColumn {
    /// As compact codes, with the codes whose address matches: every address of the segment
    /// tested once, up front.
    Codes {
        codes: Column<u64>,
        matching: BitSet,
    },
    /// As addresses, each tested when a document first has it (the codes were too many, or
    /// the column is not stored as codes).
    Values {
        column: Column<Ipv6Addr>,
        answers: FxHashMap<Ipv6Addr, bool>,
    },
}

impl AddressColumn {
    fn open(
        reader: &SegmentReader,
        name: &str,
        pattern: &[u8],
    ) -> tantivy::Result<Option<AddressColumn>> {
        let internal = |e: SearchError| tantivy::TantivyError::InternalError(e.to_string());
        let Some(AddressCodes { codes, space }) = address_codes(reader, name).map_err(internal)?
        else {
            return Ok(None);
        };
        let matching = space.and_then(|space| {
            address_codes_where(&codes, &space, |ip| address_matches(ip, pattern))
        });
        if let Some(matching) = matching {
            return Ok(Some(AddressColumn::Codes { codes, matching }));
        }
        Ok(reader
            .fast_fields()
            .column_opt::<Ipv6Addr>(name)?
            .map(|column| AddressColumn::Values {
                column,
                answers: FxHashMap::default(),
            }))
    }

    fn matches(&mut self, doc: DocId, pattern: &[u8]) -> bool {
        match self {
            AddressColumn::Codes { codes, matching } => codes
                .values_for_doc(doc)
                .any(|code| matching.contains(code as u32)),
            AddressColumn::Values { column, answers } => column.values_for_doc(doc).any(|ip| {
                *answers
                    .entry(ip)
                    .or_insert_with(|| address_matches(ip, pattern))
            }),
        }
    }
}

fn address_matches(ip: Ipv6Addr, pattern: &[u8]) -> bool {
    address_word(ip).is_some_and(|word| glob_match(pattern, word.as_bytes()))
}
