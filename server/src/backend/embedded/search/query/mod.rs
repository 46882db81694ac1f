//! The query DSL. Elasticsearch JSON ([`parse`]) and Lucene query strings
//! ([`super::lucene`]) become one typed [`Query`] ([`ast`]); [`compile`] turns it into a
//! tantivy query over the flow schema, with the value tests of [`terms`], which the `@message`
//! search uses too. Anything outside what the engine supports is a 400 naming it.

pub mod ast;
pub mod compile;
pub mod parse;
pub mod terms;
pub mod time_bounds;

pub use self::ast::{BoolQuery, MinimumShouldMatch, Query, RangeSpec};
pub use self::compile::{compile, date_value, parse_cidr, unknown_field, QueryContext};
pub use self::parse::{parse_query, MAX_TERMS_COUNT};
pub use self::time_bounds::time_bounds;

#[cfg(test)]
mod tests;
