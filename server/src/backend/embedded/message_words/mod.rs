//! `@message` words: the one place that knows how a flow's text line is split into words,
//! which of those words the document's columns already hold, and how a word search finds
//! them in either place.
//!
//! - [`tokenizer`]: the words of a line, and the analyzers registered for `@message`;
//! - [`column_words`]: which words a document leaves to its columns ("backed" messages) and
//!   how a stored message says so;
//! - [`search`]: word, exists and wildcard queries on `@message` that look in the postings
//!   and in the columns.
//!
//! Ingest ([`super::documents`]) writes backed messages, hits ([`super::search::hits`]) read
//! them back as text, and the query compiler calls [`search`] for `@message` terms.

pub mod column_words;
pub mod search;
pub mod tokenizer;

/// Longer words are not indexed (as tantivy's `RemoveLongFilter` has it).
pub const MAX_WORD_BYTES: usize = 100;

/// `run` without what is not alphanumeric at either end; byte by byte when it is ASCII, as
/// nearly every word of a flow log is.
pub fn trim_punctuation(run: &str) -> &str {
    if !run.is_ascii() {
        return run.trim_matches(|c: char| !c.is_alphanumeric());
    }
    let bytes = run.as_bytes();
    let Some(start) = bytes.iter().position(u8::is_ascii_alphanumeric) else {
        return "";
    };
    let end = bytes
        .iter()
        .rposition(u8::is_ascii_alphanumeric)
        .map_or(start, |last| last + 1);
    &run[start..end]
}
