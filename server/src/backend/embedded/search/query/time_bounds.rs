//! The time span a query can match, to skip the daily indices outside it.

use serde_json::Value as Json;

use super::ast::Query;
use super::compile::{date_value, QueryContext};
use crate::backend::embedded::schema::TIMESTAMP;
use crate::backend::embedded::search::datemath::{DateFormats, Rounding, Zone};

/// Bounds on `@timestamp` that every matching document satisfies: used to skip indices whose
/// time span cannot match. Conservative: when in doubt, unbounded.
pub fn time_bounds(query: &Query, context: &QueryContext<'_>) -> (Option<i64>, Option<i64>) {
    match query {
        Query::Range(range) if range.field == TIMESTAMP => {
            let zone = range
                .time_zone
                .as_deref()
                .and_then(|z| Zone::parse(z).ok())
                .unwrap_or_default();
            let formats = range
                .format
                .as_deref()
                .and_then(|f| DateFormats::parse(f).ok())
                .unwrap_or_default();
            let eval = |value: &Option<Json>, rounding| {
                value
                    .as_ref()
                    .and_then(|v| date_value(v, &context.now, &formats, &zone, rounding).ok())
            };
            let low = eval(&range.gte, Rounding::Down).or_else(|| eval(&range.gt, Rounding::Up));
            let high = eval(&range.lte, Rounding::Up).or_else(|| eval(&range.lt, Rounding::Down));
            (low, high)
        }
        Query::Bool(b) => {
            let mut bounds = (None, None);
            for clause in b.must.iter().chain(&b.filter) {
                let (low, high) = time_bounds(clause, context);
                bounds.0 = max_option(bounds.0, low);
                bounds.1 = min_option(bounds.1, high);
            }
            bounds
        }
        Query::QueryString(inner) => time_bounds(inner, context),
        _ => (None, None),
    }
}

fn max_option(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

fn min_option(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
