//! The time a query can match: the bounds a range sets on a date, read one way for the query
//! compiled, the daily indices selected and the hours read from rollups; and the span a whole
//! query can match, to skip the daily indices outside it.

use std::ops::Bound;

use serde_json::Value as Json;

use super::ast::{Query, RangeSpec};
use crate::backend::embedded::schema::TIMESTAMP;
use crate::backend::embedded::search::datemath::{
    eval_date_math, DateFormats, Now, Rounding, Zone,
};
use crate::backend::embedded::search::SearchError;

/// A date given as epoch millis (a number) or a string in `formats`, with date math.
pub fn date_value(
    value: &Json,
    now: &Now,
    formats: &DateFormats,
    zone: &Zone,
    rounding: Rounding,
) -> Result<i64, SearchError> {
    match value {
        Json::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .ok_or_else(|| SearchError::parsing(format!("failed to parse date field [{n}]"))),
        Json::String(s) => eval_date_math(s, now, formats, zone, rounding)
            .map_err(|e| SearchError::parsing(e.to_string())),
        other => Err(SearchError::parsing(format!(
            "failed to parse date field [{other}]"
        ))),
    }
}

/// A range's time zone and date formats: UTC and Elasticsearch's default formats when it
/// gives none.
pub fn date_reading(range: &RangeSpec) -> Result<(Zone, DateFormats), SearchError> {
    let zone = match &range.time_zone {
        Some(z) => Zone::parse(z).map_err(|e| SearchError::parsing(e.to_string()))?,
        None => Zone::utc(),
    };
    let formats = match &range.format {
        Some(f) => DateFormats::parse(f).map_err(|e| SearchError::parsing(e.to_string()))?,
        None => DateFormats::default(),
    };
    Ok((zone, formats))
}

/// A range's two bounds from its `gte`/`gt` and `lte`/`lt`, each value read by `read` with the
/// rounding Elasticsearch gives date math: down in `gte` and `lt`, up in `gt` and `lte`.
/// `gte` and `lte` include their value, `gt` and `lt` do not.
pub fn range_bounds<T, E>(
    range: &RangeSpec,
    mut read: impl FnMut(&Json, Rounding) -> Result<T, E>,
) -> Result<(Bound<T>, Bound<T>), E> {
    let lower = match (&range.gte, &range.gt) {
        (Some(v), _) => Bound::Included(read(v, Rounding::Down)?),
        (None, Some(v)) => Bound::Excluded(read(v, Rounding::Up)?),
        (None, None) => Bound::Unbounded,
    };
    let upper = match (&range.lte, &range.lt) {
        (Some(v), _) => Bound::Included(read(v, Rounding::Up)?),
        (None, Some(v)) => Bound::Excluded(read(v, Rounding::Down)?),
        (None, None) => Bound::Unbounded,
    };
    Ok((lower, upper))
}

/// The bounds a range on a date field sets, in epoch milliseconds: the query compiled, the
/// daily indices selected and the hours read from rollups all read a range's dates so.
pub fn date_bounds(range: &RangeSpec, now: &Now) -> Result<(Bound<i64>, Bound<i64>), SearchError> {
    let (zone, formats) = date_reading(range)?;
    range_bounds(range, |value, rounding| {
        date_value(value, now, &formats, &zone, rounding)
    })
}

/// Date bounds as the half-open span `[from, to)` (`None`: unbounded on that side); `None`
/// when a bound steps past the ends of an `i64`.
pub fn half_open((lower, upper): (Bound<i64>, Bound<i64>)) -> Option<(Option<i64>, Option<i64>)> {
    let from = match lower {
        Bound::Included(v) => Some(v),
        Bound::Excluded(v) => Some(v.checked_add(1)?),
        Bound::Unbounded => None,
    };
    let to = match upper {
        Bound::Included(v) => Some(v.checked_add(1)?),
        Bound::Excluded(v) => Some(v),
        Bound::Unbounded => None,
    };
    Some((from, to))
}

/// Bounds on `@timestamp` that every matching document satisfies, both inclusive: used to
/// skip indices whose time span cannot match. Conservative: when in doubt, unbounded.
pub fn time_bounds(query: &Query, now: &Now) -> (Option<i64>, Option<i64>) {
    match query {
        Query::Range(range) if range.field == TIMESTAMP => {
            let Ok(bounds) = date_bounds(range, now) else {
                // The query will not compile, and says why: any span will do.
                return (None, None);
            };
            // Conservative: an excluded bound's millisecond stays in the span.
            let inclusive = |bound| match bound {
                Bound::Included(v) | Bound::Excluded(v) => Some(v),
                Bound::Unbounded => None,
            };
            (inclusive(bounds.0), inclusive(bounds.1))
        }
        Query::Bool(b) => {
            let mut bounds = (None, None);
            for clause in b.must.iter().chain(&b.filter) {
                let (low, high) = time_bounds(clause, now);
                bounds.0 = max_option(bounds.0, low);
                bounds.1 = min_option(bounds.1, high);
            }
            bounds
        }
        Query::QueryString(inner) => time_bounds(inner, now),
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
