//! Hits sorted by time, found in the latest (or earliest) stretch of the range first.
//!
//! Discover's table, its CSV export and surrounding flows sort by `@timestamp`. Sorting every
//! matching flow to keep the newest 50 costs a key per flow: 2.4 s over 10M flows. But the
//! newest 50 lie in the newest stretch of the range: when a window `[t, high]` holds at least
//! as many hits as are kept, no flow outside it (all older than `t`) can be among them. So
//! the hits are collected in a window sized from the match count (a few times the hits
//! wanted, at the range's average density), widened fourfold until it holds enough, and at
//! the last over the whole query (which also holds flows without a time, sorted last). Counts
//! and aggregations still see every match, in a pass without hits.

use serde_json::json;

use super::hits::{Direction, Missing, SortSpec, SortTarget, SortValue};
use super::query::ast::{BoolQuery, Query, RangeSpec};
use crate::backend::embedded::schema::TIMESTAMP;

/// How many times the wanted hits a first window is sized to hold, at average density.
const FIRST_WINDOW_HITS: u64 = 4;

/// Where the time-sorted hits are looked for, when the sort allows it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct TimeWindows {
    /// Newest first: windows grow down from `high`; else up from `low`.
    descending: bool,
    low: i64,
    high: i64,
    /// The current window's width, ms.
    width: i64,
}

impl TimeWindows {
    /// Windows for this sort, when its first key is `@timestamp` with missing values last and
    /// the span of the searched indices is known: `low`/`high` bound the query's and the
    /// indices' times, `matches` is how many flows match, `keep` how many hits are wanted.
    pub(crate) fn plan(
        sort: &SortSpec,
        low: Option<i64>,
        high: Option<i64>,
        matches: u64,
        keep: usize,
    ) -> Option<TimeWindows> {
        let first = sort.keys.first()?;
        let is_time = matches!(&first.target, SortTarget::Field { name, .. } if name == TIMESTAMP);
        if !is_time || first.missing != Missing::Last || keep == 0 {
            return None;
        }
        let descending = first.direction == Direction::Desc;
        let (mut low, mut high) = (low?, high?);
        // After a page, the next one starts at the last hit's time.
        if let Some(SortValue::I64(after)) = sort
            .after
            .as_ref()
            .and_then(|a| a.first())
            .map(|p| &p.value)
        {
            if descending {
                high = high.min(*after);
            } else {
                low = low.max(*after);
            }
        }
        if high < low {
            return None;
        }
        let span = high - low + 1;
        let wanted = FIRST_WINDOW_HITS.saturating_mul(keep as u64);
        let width = if matches <= wanted {
            span
        } else {
            ((span as f64) * (wanted as f64 / matches as f64)).ceil() as i64
        };
        Some(TimeWindows {
            descending,
            low,
            high,
            width: width.clamp(1, span),
        })
    }

    /// Whether the current window covers the whole span (the last one to try).
    pub(crate) fn covers_all(&self) -> bool {
        self.width > self.high - self.low
    }

    /// The query narrowed to the current window.
    pub(crate) fn narrow(&self, query: &Query) -> Query {
        let (from, to) = if self.descending {
            (self.high - self.width + 1, self.high)
        } else {
            (self.low, self.low + self.width - 1)
        };
        Query::Bool(BoolQuery {
            must: Vec::new(),
            filter: vec![
                query.clone(),
                Query::Range(RangeSpec {
                    field: TIMESTAMP.to_owned(),
                    gte: Some(json!(from)),
                    gt: None,
                    lte: Some(json!(to)),
                    lt: None,
                    format: Some("epoch_millis".to_owned()),
                    time_zone: None,
                }),
            ],
            should: Vec::new(),
            must_not: Vec::new(),
            minimum_should_match: None,
        })
    }

    /// The next, four times wider window.
    pub(crate) fn widen(&mut self) {
        self.width = self.width.saturating_mul(4).min(self.high - self.low + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::embedded::search::hits::{SortKeySpec, SortPart};

    fn time_sort(direction: Direction) -> SortSpec {
        let schema = crate::backend::embedded::schema::FlowSchema::new();
        SortSpec {
            keys: vec![SortKeySpec {
                target: SortTarget::Field {
                    name: TIMESTAMP.into(),
                    field: schema.field(TIMESTAMP).unwrap(),
                },
                direction,
                missing: Missing::Last,
            }],
            after: None,
        }
    }

    #[test]
    fn windows_start_where_the_hits_are_and_grow_to_the_whole_span() {
        let sort = time_sort(Direction::Desc);
        // 1,000,000 matches over 1,000 s, 50 wanted: a window of 0.2 s at average density.
        let mut windows = TimeWindows::plan(&sort, Some(0), Some(999_999), 1_000_000, 50).unwrap();
        assert_eq!(windows.width, 200);
        let Query::Bool(narrowed) = windows.narrow(&Query::MatchAll) else {
            panic!()
        };
        let Query::Range(range) = &narrowed.filter[1] else {
            panic!()
        };
        assert_eq!(
            (range.gte.clone(), range.lte.clone()),
            (Some(json!(999_800)), Some(json!(999_999)))
        );
        while !windows.covers_all() {
            windows.widen();
        }
        assert_eq!(windows.width, 1_000_000);

        // Oldest first after a page: the window starts at the last hit's time.
        let mut sort = time_sort(Direction::Asc);
        sort.after = Some(vec![SortPart {
            value: SortValue::I64(500_000),
            descending: false,
            missing_first: false,
        }]);
        let windows = TimeWindows::plan(&sort, Some(0), Some(999_999), 10, 50).unwrap();
        assert_eq!((windows.low, windows.width), (500_000, 500_000));

        // Not for other sorts, missing values first, or an unbounded span.
        let mut by_port = time_sort(Direction::Desc);
        by_port.keys[0].target = SortTarget::Id;
        assert!(TimeWindows::plan(&by_port, Some(0), Some(9), 10, 5).is_none());
        let mut first = time_sort(Direction::Desc);
        first.keys[0].missing = Missing::First;
        assert!(TimeWindows::plan(&first, Some(0), Some(9), 10, 5).is_none());
        assert!(TimeWindows::plan(&sort, None, Some(9), 10, 5).is_none());
    }
}
