//! What a query asks, parsed and typed, before any field is looked up: what the JSON query DSL
//! and Lucene query strings both become.

use serde_json::Value as Json;

/// A parsed query.
#[derive(Clone, Debug, PartialEq)]
pub enum Query {
    MatchAll,
    MatchNone,
    Term {
        field: String,
        value: Json,
    },
    Terms {
        field: String,
        values: Vec<Json>,
    },
    Range(RangeSpec),
    /// `match`: analyzed on text fields, exact elsewhere.
    Match {
        field: String,
        text: String,
        all_terms: bool,
    },
    MatchPhrase {
        field: String,
        text: String,
    },
    Exists {
        field: String,
    },
    Prefix {
        field: String,
        prefix: String,
    },
    /// `*` and `?` wildcards on a keyword field.
    Wildcard {
        field: String,
        pattern: String,
    },
    Ids(Vec<String>),
    Bool(BoolQuery),
    /// A Lucene query string, parsed into a query of its own.
    QueryString(Box<Query>),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct BoolQuery {
    pub must: Vec<Query>,
    pub filter: Vec<Query>,
    pub should: Vec<Query>,
    pub must_not: Vec<Query>,
    pub minimum_should_match: Option<MinimumShouldMatch>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum MinimumShouldMatch {
    Count(i64),
    Percent(i64),
}

/// A range query's bounds, kept as sent until the field's type is known.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RangeSpec {
    pub field: String,
    pub gte: Option<Json>,
    pub gt: Option<Json>,
    pub lte: Option<Json>,
    pub lt: Option<Json>,
    pub format: Option<String>,
    pub time_zone: Option<String>,
}
