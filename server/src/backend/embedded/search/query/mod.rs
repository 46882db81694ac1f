//! The query DSL. Elasticsearch JSON ([`parse`]) and Lucene query strings
//! ([`super::lucene`]) become one typed [`Query`] ([`ast`]); [`compile`] turns it into a
//! tantivy query over the flow schema, with the value tests of [`terms`], which the `@message`
//! search uses too. Anything outside what the engine supports is a 400 naming it.

pub(crate) mod ast;
pub(crate) mod compile;
pub(crate) mod parse;
pub(crate) mod terms;
pub(crate) mod time_bounds;

pub use self::ast::{BoolQuery, MinimumShouldMatch, Query, RangeSpec};
pub(crate) use self::compile::parse_cidr;
pub use self::compile::{compile, QueryContext};
pub(crate) use self::parse::parse_query;
pub(crate) use self::time_bounds::{date_bounds, date_value, half_open, time_bounds};

#[cfg(test)]
mod tests;
