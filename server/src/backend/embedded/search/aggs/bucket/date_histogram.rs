//! `date_histogram`: a bucket per fixed or calendar interval of a date field, in a time
//! zone, with an offset; empty buckets filled between the bounds when `min_doc_count` is 0.

use std::sync::OnceLock;

use app::model::flow::FieldType;
use app::model::time::{fixed_unit_ms, split_time_value};
use serde_json::{json, Map, Value as Json};
use tantivy::{DocId, Score};

use super::super::super::columns::Accessor;
use super::super::super::datemath::{DateFormats, Rounding, Unit, Zone};
use super::super::super::hits::Direction;
use super::super::super::query::{date_value, QueryContext};
use super::super::super::{SearchError, MAX_BUCKETS};
use super::super::buckets::{BlockValues, Buckets, KeySpace, SplitScratch};
use super::super::intermediate::{BucketKey, IntermediateAgg, IntermediateBucket};
use super::super::options::{
    bad, bool_option, field_of, format_option, options, usize_option, zone_option, AggField,
};
use super::super::order::{directed, single_order, BucketOrder};
use super::super::response::{bucket_list, RenderContext};
use super::super::{render_subs, AggRequest, SegmentAgg, SegmentContext};

/// A date histogram's interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Interval {
    Fixed(i64),
    Calendar(Unit),
}

#[derive(Debug)]
pub struct DateHistogramAgg {
    pub field: AggField,
    pub interval: Interval,
    pub zone: Zone,
    pub offset_ms: i64,
    pub min_doc_count: u64,
    pub extended_bounds: Option<(i64, i64)>,
    pub hard_bounds: Option<(Option<i64>, Option<i64>)>,
    pub format: DateFormats,
    pub keyed: bool,
    pub order: BucketOrder,
    /// Set for `auto_date_histogram`, whose interval the search chooses.
    pub auto: Option<AutoInterval>,
}

/// What makes a date histogram automatic: `auto_date_histogram`, whose module chooses the
/// rounding. A rounding is its place among that module's roundings, with its unit.
#[derive(Debug)]
pub struct AutoInterval {
    /// At most this many buckets (`buckets`).
    pub target: usize,
    /// The finest rounding allowed (`minimum_interval`).
    pub first: (usize, Unit),
    /// The rounding the search collects at, once its first pass chose it.
    pub collected: OnceLock<(usize, Unit)>,
}

impl AutoInterval {
    /// The rounding the search collects at: the one chosen, else the finest allowed.
    pub fn rounding(&self) -> (usize, Unit) {
        *self.collected.get().unwrap_or(&self.first)
    }
}

pub fn parse(
    name: &str,
    agg_type: &str,
    value: &Json,
    context: &QueryContext<'_>,
) -> Result<DateHistogramAgg, SearchError> {
    let o = options(
        name,
        agg_type,
        value,
        &[
            "field",
            "fixed_interval",
            "calendar_interval",
            "interval",
            "time_zone",
            "offset",
            "min_doc_count",
            "extended_bounds",
            "hard_bounds",
            "format",
            "keyed",
            "order",
            "missing",
        ],
    )?;
    if o.contains_key("missing") {
        return Err(SearchError::unsupported(
            "[date_histogram] [missing] is not supported by the embedded engine",
        ));
    }
    let field = field_of(name, agg_type, o, context)?;
    field.require("date_histogram", &[FieldType::Date])?;
    let interval = parse_interval(o)?;
    let zone = zone_option(o)?;
    let format = format_option(o)?;
    let date_bound = |v: &Json, rounding| date_value(v, &context.now, &format, &zone, rounding);
    let extended_bounds = match o.get("extended_bounds") {
        Some(bounds) => Some((
            date_bound(
                bounds
                    .get("min")
                    .ok_or_else(|| bad("[extended_bounds] needs [min]"))?,
                Rounding::Down,
            )?,
            date_bound(
                bounds
                    .get("max")
                    .ok_or_else(|| bad("[extended_bounds] needs [max]"))?,
                Rounding::Up,
            )?,
        )),
        None => None,
    };
    let hard_bounds = match o.get("hard_bounds") {
        Some(bounds) => Some((
            bounds
                .get("min")
                .map(|v| date_bound(v, Rounding::Down))
                .transpose()?,
            bounds
                .get("max")
                .map(|v| date_bound(v, Rounding::Up))
                .transpose()?,
        )),
        None => None,
    };
    let offset_ms = match o.get("offset") {
        Some(Json::String(s)) => parse_signed_duration(s)?,
        Some(Json::Number(n)) => n.as_i64().unwrap_or(0),
        _ => 0,
    };
    Ok(DateHistogramAgg {
        field,
        interval,
        zone,
        offset_ms,
        min_doc_count: usize_option(o, "min_doc_count", 0)? as u64,
        extended_bounds,
        hard_bounds,
        format,
        keyed: bool_option(o, "keyed"),
        order: single_order(o)?.unwrap_or(BucketOrder::Key(Direction::Asc)),
        auto: None,
    })
}

/// `fixed_interval` (`30s`, `90m`), `calendar_interval` (`1d`, `month`), or the 6.x
/// `interval`, which is calendar for a single unit and fixed otherwise.
pub fn parse_interval(o: &Map<String, Json>) -> Result<Interval, SearchError> {
    let text = |key: &str| o.get(key).and_then(Json::as_str);
    if let Some(fixed) = text("fixed_interval") {
        return parse_fixed(fixed).map(Interval::Fixed);
    }
    if let Some(calendar) = text("calendar_interval") {
        return parse_calendar(calendar)
            .map(Interval::Calendar)
            .ok_or_else(|| bad(format!("The supplied interval [{calendar}] could not be parsed as a calendar interval.")));
    }
    if let Some(legacy) = o.get("interval") {
        if let Some(ms) = legacy.as_i64() {
            return Ok(Interval::Fixed(ms));
        }
        let legacy = legacy.as_str().unwrap_or_default();
        if let Some(unit) = parse_calendar(legacy) {
            return Ok(Interval::Calendar(unit));
        }
        return parse_fixed(legacy).map(Interval::Fixed);
    }
    Err(bad(
        "[date_histogram] needs [fixed_interval], [calendar_interval] or [interval]",
    ))
}

fn parse_calendar(text: &str) -> Option<Unit> {
    Some(match text {
        "1m" | "minute" => Unit::Minute,
        "1h" | "hour" => Unit::Hour,
        "1d" | "day" => Unit::Day,
        "1w" | "week" => Unit::Week,
        "1M" | "month" => Unit::Month,
        "1q" | "quarter" => Unit::Quarter,
        "1y" | "year" => Unit::Year,
        "1s" | "second" => Unit::Second,
        _ => return None,
    })
}

/// `500ms`, `30s`, `5m`, `12h`, `7d`: a fixed number of milliseconds.
pub fn parse_fixed(text: &str) -> Result<i64, SearchError> {
    let error = || {
        bad(format!("failed to parse setting [fixed_interval] with value [{text}] as a time value: unit is missing or unrecognized"))
    };
    let (digits, unit) = split_time_value(text);
    let amount: i64 = digits.parse().map_err(|_| error())?;
    let scale = fixed_unit_ms(unit).ok_or_else(error)?;
    match amount.checked_mul(scale) {
        Some(ms) if ms > 0 => Ok(ms),
        _ => Err(error()),
    }
}

pub fn parse_signed_duration(text: &str) -> Result<i64, SearchError> {
    let (sign, rest) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text.strip_prefix('+').unwrap_or(text)),
    };
    Ok(sign * parse_fixed(rest)?)
}

/// Turns a date into its bucket's start; remembers the last bucket, since documents arrive
/// roughly in time order.
#[derive(Clone)]
pub struct Rounder {
    interval: Interval,
    zone: Zone,
    offset: i64,
    last: (i64, i64),
}

impl Rounder {
    fn of(request: &DateHistogramAgg) -> Rounder {
        let interval = match &request.auto {
            Some(auto) => Interval::Calendar(auto.rounding().1),
            None => request.interval,
        };
        Rounder::new(interval, request.zone, request.offset_ms)
    }

    pub fn new(interval: Interval, zone: Zone, offset: i64) -> Rounder {
        Rounder {
            interval,
            zone,
            offset,
            last: (0, 0),
        }
    }

    #[inline]
    pub fn key(&mut self, t: i64) -> i64 {
        if t >= self.last.0 && t < self.last.1 {
            return self.last.0;
        }
        let start = self.floor(t);
        let end = self.next(start);
        // A fixed interval floors each time with the zone's offset at that time: across a
        // change of offset, times of one stretch floor apart, so such a bucket is not
        // remembered (documents in another order would be bucketed otherwise).
        let same_offset = match self.interval {
            Interval::Fixed(_) => self.zone.offset_secs(start) == self.zone.offset_secs(end - 1),
            Interval::Calendar(_) => true,
        };
        self.last = if same_offset { (start, end) } else { (0, 0) };
        start
    }

    fn floor(&self, t: i64) -> i64 {
        match self.interval {
            Interval::Fixed(step) => {
                let zone_offset = i64::from(self.zone.offset_secs(t)) * 1000;
                (t + zone_offset - self.offset).div_euclid(step) * step + self.offset - zone_offset
            }
            Interval::Calendar(unit) => unit.floor(t - self.offset, &self.zone) + self.offset,
        }
    }

    /// The start of the bucket after the one starting at `start`.
    fn next(&self, start: i64) -> i64 {
        match self.interval {
            Interval::Fixed(step) => start + step,
            Interval::Calendar(unit) => unit
                .add(start - self.offset, 1, &self.zone)
                .map_or(i64::MAX, |t| t + self.offset),
        }
    }
}

/// A date histogram in one segment.
#[derive(Clone)]
pub struct DateHistogramSegment {
    accessor: Accessor,
    rounder: Rounder,
    /// `hard_bounds`, inclusive.
    bounds: (i64, i64),
    buckets: Buckets,
}

impl DateHistogramSegment {
    pub fn new(
        histogram: &DateHistogramAgg,
        context: &SegmentContext<'_>,
        prototype: std::rc::Rc<Vec<SegmentAgg>>,
    ) -> Result<Self, SearchError> {
        let field = &histogram.field;
        Ok(DateHistogramSegment {
            accessor: context
                .columns
                .open(context.reader, &field.name, field.field)?,
            rounder: Rounder::of(histogram),
            bounds: match histogram.hard_bounds {
                Some((low, high)) => (low.unwrap_or(i64::MIN), high.unwrap_or(i64::MAX)),
                None => (i64::MIN, i64::MAX),
            },
            buckets: Buckets::new(KeySpace::Sparse, prototype, context.guard),
        })
    }

    pub fn buckets(&self) -> &Buckets {
        &self.buckets
    }

    #[inline]
    pub fn collect(&mut self, doc: DocId, score: Score) {
        if let Some(t) = self.accessor.int(doc) {
            if t >= self.bounds.0 && t <= self.bounds.1 {
                let key = self.rounder.key(t);
                self.buckets.collect(key as u64 as u128, doc, score);
            }
        }
    }

    /// Collects a block of documents with one read of the time column: documents come in
    /// time order, so the block falls into a few runs of one bucket each, and each run goes
    /// to its bucket's sub-aggregations at once.
    ///
    /// Flows of neighbouring minutes interleave, so a run of one minute holds about 15 flows
    /// and reading columns for each costs more than the counting. A terms below whose buckets
    /// are rows by key (flows per minute by action; bytes over time by direction), or
    /// statistics alone (bytes over time), have their columns read once for the block
    /// instead, and each run added from them. Where a column cannot be read a block at a
    /// time (a statistic with `missing`), each run reads its own as before.
    pub fn collect_block(&mut self, docs: &[DocId], block: &mut BlockValues) -> bool {
        let DateHistogramSegment {
            accessor,
            rounder,
            bounds,
            buckets,
        } = self;
        let Accessor::Date(column) = accessor else {
            return false;
        };
        let mut scratch = block.take_split();
        let SplitScratch {
            times,
            time_scratch,
            keys_below,
            ..
        } = &mut scratch;
        column.read_block(docs, time_scratch, times);
        // What is read for the whole block below: a terms' rows, or statistics.
        enum Read {
            Rows,
            Stats,
            Nothing,
        }
        let read = match buckets.prototype.as_slice() {
            [SegmentAgg::Terms(terms)]
                if terms.rows_by_key() && terms.read_keys_and_values(docs, block, keys_below) =>
            {
                Read::Rows
            }
            _ if buckets.keeps_stats() && block.read_stats(&buckets.prototype, docs) => Read::Stats,
            _ => Read::Nothing,
        };
        let mut collect = |key: i64, start: usize, end: usize, block: &mut BlockValues| {
            let key = key as u64 as u128;
            match read {
                Read::Rows => {
                    buckets.collect_run_from_read(key, keys_below, &block.values, start..end)
                }
                Read::Stats => buckets.collect_stats_from_read(key, &block.values, start..end),
                Read::Nothing => buckets.collect_run(key, &docs[start..end], block),
            }
        };
        let mut run: Option<(i64, usize)> = None;
        for (position, time) in times.iter().enumerate() {
            let key = time
                .map(|time| time.into_timestamp_millis())
                .filter(|t| *t >= bounds.0 && *t <= bounds.1)
                .map(|t| rounder.key(t));
            if run.map(|(key, _)| key) == key && key.is_some() {
                continue;
            }
            if let Some((key, start)) = run {
                collect(key, start, position, block);
            }
            run = key.map(|key| (key, position));
        }
        if let Some((key, start)) = run {
            collect(key, start, docs.len(), block);
        }
        block.give_back(scratch);
        true
    }

    pub fn harvest(self, request: &AggRequest) -> IntermediateAgg {
        self.buckets
            .harvest(request, |key| Some(BucketKey::I64(key as u64 as i64)))
    }
}

pub fn render(
    request: &AggRequest,
    histogram: &DateHistogramAgg,
    result: &IntermediateAgg,
    context: &RenderContext<'_>,
) -> Result<Map<String, Json>, SearchError> {
    let buckets = context.buckets_of(result);
    let rounder = Rounder::of(histogram);
    let round = |t: i64| {
        let start = rounder.floor(t);
        (start, rounder.next(start))
    };
    let mut keys: Vec<i64> = buckets
        .iter()
        .filter(|(_, b)| b.doc_count >= histogram.min_doc_count.max(1))
        .filter_map(|(k, _)| match k {
            BucketKey::I64(v) => Some(*v),
            _ => None,
        })
        .collect();
    keys.sort_unstable();
    if histogram.min_doc_count == 0 {
        let mut low = keys.first().copied();
        let mut high = keys.last().copied();
        if let Some((min, max)) = histogram.extended_bounds {
            low = Some(low.map_or(round(min).0, |l| l.min(round(min).0)));
            high = Some(high.map_or(round(max).0, |h| h.max(round(max).0)));
        }
        if let Some((hard_low, hard_high)) = histogram.hard_bounds {
            if let (Some(l), Some(hl)) = (low, hard_low) {
                low = Some(l.max(round(hl).0));
            }
            if let (Some(h), Some(hh)) = (high, hard_high) {
                high = Some(h.min(round(hh).0));
            }
        }
        keys.clear();
        if let (Some(low), Some(high)) = (low, high) {
            let mut key = low;
            while key <= high {
                keys.push(key);
                context.spend(0)?;
                if keys.len() > MAX_BUCKETS {
                    return Err(SearchError::TooManyBuckets);
                }
                let (_, next) = round(key);
                if next <= key {
                    break;
                }
                key = round(next).0;
            }
        }
    }
    context.spend(keys.len())?;
    let empty = IntermediateBucket::default();
    let mut entries: Vec<(i64, &IntermediateBucket)> = keys
        .into_iter()
        .map(|key| (key, buckets.get(&BucketKey::I64(key)).unwrap_or(&empty)))
        .collect();
    match histogram.order {
        BucketOrder::Key(Direction::Desc) => entries.reverse(),
        BucketOrder::Count(direction) => entries.sort_by(|a, b| {
            directed(a.1.doc_count.cmp(&b.1.doc_count), direction).then(a.0.cmp(&b.0))
        }),
        _ => {}
    }
    let rendered = render_entries(request, histogram, entries, context)?;
    Ok(bucket_list(rendered, histogram.keyed))
}

/// The buckets' entries, in order, each with its `key_as_string`.
pub fn render_entries(
    request: &AggRequest,
    histogram: &DateHistogramAgg,
    entries: Vec<(i64, &IntermediateBucket)>,
    context: &RenderContext<'_>,
) -> Result<Vec<(String, Json)>, SearchError> {
    let mut rendered = Vec::with_capacity(entries.len());
    for (key, bucket) in entries {
        let mut entry = Map::new();
        let text = histogram.format.format(key, &histogram.zone);
        entry.insert("key_as_string".into(), json!(text));
        entry.insert("key".into(), json!(key));
        entry.insert("doc_count".into(), json!(bucket.doc_count));
        render_subs(request, bucket, &mut entry, context)?;
        rendered.push((text, Json::Object(entry)));
    }
    Ok(rendered)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed interval in a zone whose offset changes: every time gets the bucket its own
    /// offset floors it to, whatever came before it (documents come in any order).
    #[test]
    fn a_fixed_interval_across_a_change_of_offset_buckets_each_time_alike_in_any_order() {
        let berlin = || Zone::parse("Europe/Berlin").unwrap();
        // Around 2024-03-31 01:00 UTC, when Berlin goes from +01:00 to +02:00.
        let change = 1_711_846_800_000;
        let times: Vec<i64> = (-30..30).map(|m| change + m * 3_600_000 + 1).collect();
        let fresh: Vec<i64> = times
            .iter()
            .map(|&t| Rounder::new(Interval::Fixed(86_400_000), berlin(), 0).key(t))
            .collect();
        for order in [times.clone(), times.iter().rev().copied().collect()] {
            let mut rounder = Rounder::new(Interval::Fixed(86_400_000), berlin(), 0);
            for t in order {
                let at = times.iter().position(|&x| x == t).unwrap();
                assert_eq!(rounder.key(t), fresh[at], "{t}");
            }
        }
    }
}
