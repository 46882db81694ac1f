//! What a query asks, parsed and typed, before any field is looked up: what the JSON query DSL
//! and Lucene query strings both become.

use serde_json::Value as Json;

/// A parsed query.
#[derive(Clone, Debug, PartialEq)]
pub enum Query {
    /// `match_all`, and an absent or empty query: every document.
    MatchAll,
    /// `match_none`: no document.
    MatchNone,
    /// `term`: the field holds exactly this value.
    Term {
        /// The field's name in the flow schema.
        field: String,
        /// The value as sent (string, number or boolean), typed when the field is known.
        value: Json,
    },
    /// `terms`: the field holds any one of these values.
    Terms {
        /// The field's name in the flow schema.
        field: String,
        /// The values as sent; at most `MAX_TERMS_COUNT` of them.
        values: Vec<Json>,
    },
    /// `range`: the field's value lies within the bounds.
    Range(RangeSpec),
    /// `match`: analyzed on text fields, exact elsewhere.
    Match {
        /// The field's name in the flow schema.
        field: String,
        /// The text to match, before analysis.
        text: String,
        /// `operator: and`: every term must match; otherwise any one does.
        all_terms: bool,
    },
    /// `match_phrase`: the text's terms, in order, on a text field.
    MatchPhrase {
        /// The field's name in the flow schema.
        field: String,
        /// The phrase, before analysis.
        text: String,
    },
    /// `exists`: the document has a value for the field.
    Exists {
        /// The field's name in the flow schema.
        field: String,
    },
    /// `prefix`: the field's value starts with the prefix.
    Prefix {
        /// The field's name in the flow schema.
        field: String,
        /// The prefix, matched as sent (no analysis).
        prefix: String,
    },
    /// `*` and `?` wildcards on a keyword field.
    Wildcard {
        /// The field's name in the flow schema.
        field: String,
        /// The pattern, with `*` for any run of characters and `?` for one.
        pattern: String,
    },
    /// `ids`: documents with one of these `_id`s.
    Ids(Vec<String>),
    /// `bool`: a combination of queries.
    Bool(BoolQuery),
    /// A Lucene query string, parsed into a query of its own.
    QueryString(Box<Query>),
}

impl Query {
    /// The field a leaf query looks at.
    pub fn field(&self) -> Option<&str> {
        match self {
            Query::Term { field, .. }
            | Query::Terms { field, .. }
            | Query::Match { field, .. }
            | Query::MatchPhrase { field, .. }
            | Query::Exists { field }
            | Query::Prefix { field, .. }
            | Query::Wildcard { field, .. } => Some(field),
            Query::Range(range) => Some(&range.field),
            Query::MatchAll
            | Query::MatchNone
            | Query::Ids(_)
            | Query::Bool(_)
            | Query::QueryString(_) => None,
        }
    }
}

/// A `bool` query's clauses.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BoolQuery {
    /// Clauses every match satisfies, and that score.
    pub must: Vec<Query>,
    /// Clauses every match satisfies, without scoring.
    pub filter: Vec<Query>,
    /// Optional clauses; how many must match is `minimum_should_match`.
    pub should: Vec<Query>,
    /// Clauses no match satisfies.
    pub must_not: Vec<Query>,
    /// How many `should` clauses a match satisfies; `None` is Elasticsearch's default
    /// (one if there are only `should` clauses, else none).
    pub minimum_should_match: Option<MinimumShouldMatch>,
}

/// A `bool` query's `minimum_should_match`, as a count or a share of the `should` clauses.
#[derive(Clone, Debug, PartialEq)]
pub enum MinimumShouldMatch {
    /// This many clauses; a negative count is how many may be missing.
    Count(i64),
    /// This percentage of the clauses, rounded down; a negative one is the share that may be
    /// missing.
    Percent(i64),
}

/// A range query's bounds, kept as sent until the field's type is known.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RangeSpec {
    /// The field's name in the flow schema.
    pub field: String,
    /// Inclusive lower bound (a number, or a date or date-math string on date fields).
    pub gte: Option<Json>,
    /// Exclusive lower bound.
    pub gt: Option<Json>,
    /// Inclusive upper bound.
    pub lte: Option<Json>,
    /// Exclusive upper bound.
    pub lt: Option<Json>,
    /// The date format the bounds are written in (`format`), e.g. `epoch_millis`.
    pub format: Option<String>,
    /// The time zone of bounds without one (`time_zone`), e.g. `+01:00` or `Europe/Paris`.
    pub time_zone: Option<String>,
}
