//! `auto_date_histogram`: a date histogram whose interval is chosen so that at most `buckets`
//! buckets come back, as Elasticsearch chooses it.
//!
//! Elasticsearch rounds each shard's values ever coarser while it collects, merges the shards'
//! buckets at the coarsest rounding any shard reached, and on the final reduce coarsens again
//! until the buckets, empty ones filled in, fit the target; last it may merge runs of them
//! (3 hours, 7 days, 10 years…). Here each index is a shard. A first pass finds each index's
//! earliest and latest match, which give the rounding that shard reaches
//! ([`shard_rounding`]); the search then collects a plain date histogram at the coarsest of
//! those, and rendering reduces its buckets as the final reduce does ([`render`]).
//!
//! Under a bucket aggregation each parent bucket has a rounding of its own. There the search
//! collects at the finest rounding allowed, and rendering first coarsens each parent bucket's
//! histogram to the rounding its values reach ([`shard_rounding`] over all its matches, as
//! one shard would), then reduces it as above. With one shard this is Elasticsearch's answer.
//! Across indices Elasticsearch starts from the coarsest index's rounding, and its final
//! reduce then coarsens by the merged span in whole steps, where this measures that span in
//! rough unit lengths (a month as 30 days): they can differ only at such an edge.

use std::sync::OnceLock;

use app::model::flow::FieldType;
use serde_json::{json, Map, Value as Json};

use super::super::super::datemath::{Unit, Zone};
use super::super::super::hits::Direction;
use super::super::super::query::QueryContext;
use super::super::super::{SearchError, MAX_BUCKETS};
use super::super::intermediate::{
    BucketKey, IntermediateAgg, IntermediateBucket, IntermediateMetric,
};
use super::super::metric;
use super::super::options::{bad, field_of, format_option, options, zone_option};
use super::super::order::BucketOrder;
use super::super::response::RenderContext;
use super::super::{AggKind, AggRequest};
use super::date_histogram::{render_entries, AutoInterval, DateHistogramAgg, Interval};

/// One of the roundings Elasticsearch picks from, finest first.
struct Rounding {
    unit: Unit,
    /// How the response's `interval` names the unit.
    abbreviation: &'static str,
    /// The unit's length as Elasticsearch estimates it (a month is 30 days).
    rough_ms: i64,
    /// How many buckets of the unit may be merged into one, in increasing order.
    inner_intervals: &'static [usize],
    /// The `minimum_interval` that starts here.
    name: &'static str,
}

impl Rounding {
    fn max_inner(&self) -> usize {
        self.inner_intervals[self.inner_intervals.len() - 1]
    }
}

const SECOND_MS: i64 = 1000;
const DAY_MS: i64 = 24 * 3600 * SECOND_MS;

const ROUNDINGS: [Rounding; 6] = [
    Rounding {
        unit: Unit::Second,
        abbreviation: "s",
        rough_ms: SECOND_MS,
        inner_intervals: &[1, 5, 10, 30],
        name: "second",
    },
    Rounding {
        unit: Unit::Minute,
        abbreviation: "m",
        rough_ms: 60 * SECOND_MS,
        inner_intervals: &[1, 5, 10, 30],
        name: "minute",
    },
    Rounding {
        unit: Unit::Hour,
        abbreviation: "h",
        rough_ms: 3600 * SECOND_MS,
        inner_intervals: &[1, 3, 12],
        name: "hour",
    },
    Rounding {
        unit: Unit::Day,
        abbreviation: "d",
        rough_ms: DAY_MS,
        inner_intervals: &[1, 7],
        name: "day",
    },
    Rounding {
        unit: Unit::Month,
        abbreviation: "M",
        rough_ms: 30 * DAY_MS,
        inner_intervals: &[1, 3],
        name: "month",
    },
    Rounding {
        unit: Unit::Year,
        abbreviation: "y",
        rough_ms: 365 * DAY_MS,
        inner_intervals: &[1, 5, 10, 20, 50, 100],
        name: "year",
    },
];

const COARSEST: usize = ROUNDINGS.len() - 1;

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
            "buckets",
            "minimum_interval",
            "time_zone",
            "format",
            "missing",
        ],
    )?;
    if o.contains_key("missing") {
        return Err(SearchError::unsupported(
            "[auto_date_histogram] [missing] is not supported by the embedded engine",
        ));
    }
    let field = field_of(name, agg_type, o, context)?;
    field.require(agg_type, &[FieldType::Date])?;
    let target = match o.get("buckets") {
        None => 10,
        // A number, or a string of one, as Elasticsearch reads integers (Kibana sends `"6"`).
        Some(value) => match value
            .as_i64()
            .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
        {
            Some(n) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX),
            Some(_) => {
                return Err(SearchError::illegal(format!(
                    "buckets must be greater than 0 for [{name}]"
                )))
            }
            None => return Err(bad("[buckets] must be an integer")),
        },
    };
    let first = match o.get("minimum_interval") {
        None => 0,
        Some(value) => {
            let text = value.as_str().unwrap_or_default();
            ROUNDINGS
                .iter()
                .position(|r| r.name == text)
                .ok_or_else(|| {
                    SearchError::illegal(format!(
                        "minimum_interval must be one of [{}]",
                        ROUNDINGS.map(|r| r.name).join(", ")
                    ))
                })?
        }
    };
    // Elasticsearch's ceiling: the most buckets whose largest merge of runs (years aside)
    // still fits the bucket limit.
    if let Some(widest) = ROUNDINGS[first..COARSEST]
        .iter()
        .map(Rounding::max_inner)
        .max()
    {
        let ceiling = MAX_BUCKETS / widest;
        if target > ceiling {
            return Err(SearchError::illegal(format!(
                "buckets must be less than {ceiling}"
            )));
        }
    }
    Ok(DateHistogramAgg {
        field,
        interval: Interval::Calendar(ROUNDINGS[first].unit),
        zone: zone_option(o)?,
        offset_ms: 0,
        min_doc_count: 1,
        extended_bounds: None,
        hard_bounds: None,
        format: format_option(o)?,
        keyed: false,
        order: BucketOrder::Key(Direction::Asc),
        auto: Some(AutoInterval {
            target,
            first: (first, ROUNDINGS[first].unit),
            collected: OnceLock::new(),
        }),
    })
}

/// The first pass: a `stats` of each automatic histogram's field, in request order, whose
/// minimum and maximum per index choose the rounding ([`choose_roundings`]). Empty when the
/// search has none.
pub fn probes(
    aggs: &[AggRequest],
    context: &QueryContext<'_>,
) -> Result<Vec<AggRequest>, SearchError> {
    automatic(aggs)
        .map(|(request, histogram)| {
            let body = json!({ "field": histogram.field.name });
            Ok(AggRequest {
                name: request.name.clone(),
                kind: AggKind::Metric(metric::parse(&request.name, "stats", &body, context)?),
                children: Vec::new(),
                meta: None,
            })
        })
        .collect()
}

fn automatic(aggs: &[AggRequest]) -> impl Iterator<Item = (&AggRequest, &DateHistogramAgg)> + '_ {
    aggs.iter().filter_map(|request| match &request.kind {
        AggKind::DateHistogram(histogram) if histogram.auto.is_some() => Some((request, histogram)),
        _ => None,
    })
}

/// Sets each automatic histogram's rounding from the first pass's results, one list per
/// index in the order of [`probes`]: the coarsest any index reaches.
pub fn choose_roundings(aggs: &[AggRequest], per_index: &[Vec<IntermediateAgg>]) {
    for (position, (_, histogram)) in automatic(aggs).enumerate() {
        let Some(auto) = &histogram.auto else {
            continue;
        };
        let rounding = per_index
            .iter()
            .filter_map(|results| match results.get(position) {
                Some(IntermediateAgg::Metric(IntermediateMetric::Stats(stats))) => Some(stats),
                _ => None,
            })
            .filter(|stats| stats.count > 0)
            .map(|stats| {
                shard_rounding(
                    stats.min as i64,
                    stats.max as i64,
                    auto.first.0,
                    auto.target,
                    &histogram.zone,
                )
            })
            .max()
            .unwrap_or(auto.first.0);
        let _ = auto.collected.set((rounding, ROUNDINGS[rounding].unit));
    }
}

/// The rounding one shard reaches, collecting values from `min` to `max`: the first from
/// `first` on whose span between them is within what the target allows. Elasticsearch
/// measures the span between values as rounded when they were collected: with values in time
/// order, the earliest at `first`, the latest at the coarser rounding reached by then. It also
/// coarsens a shard whose distinct buckets outnumber the target: that count is checked on all
/// shards' buckets together when rendering, which gives the same rounding.
fn shard_rounding(min: i64, max: i64, first: usize, target: usize, zone: &Zone) -> usize {
    let start = ROUNDINGS[first].unit.floor(min, zone);
    let mut index = first;
    while index < COARSEST {
        let rounding = &ROUNDINGS[index];
        let span = rounding.unit.floor(max, zone) - start;
        let allowed = (target as i64)
            .saturating_mul(rounding.rough_ms)
            .saturating_mul(rounding.max_inner() as i64);
        if span <= allowed {
            break;
        }
        index += 1;
    }
    index
}

/// The buckets of one reduce step, by key, in key order.
type Keyed = Vec<(i64, IntermediateBucket)>;

/// Renders the histogram: its collected buckets reduced as Elasticsearch's final reduce
/// does, with the `interval` it ends at.
pub fn render(
    request: &AggRequest,
    histogram: &DateHistogramAgg,
    auto: &AutoInterval,
    result: &IntermediateAgg,
    context: &RenderContext<'_>,
) -> Result<Map<String, Json>, SearchError> {
    let zone = &histogram.zone;
    let mut buckets: Keyed = context
        .buckets_of(result)
        .iter()
        .filter(|(_, bucket)| bucket.doc_count > 0)
        .filter_map(|(key, bucket)| match key {
            BucketKey::I64(key) => Some((*key, bucket.clone())),
            _ => None,
        })
        .collect();
    buckets.sort_unstable_by_key(|(key, _)| *key);
    let mut index = auto.rounding().0;
    // The buckets' keys rounded again, at a coarser rounding.
    let round_to = |buckets: Keyed, index: usize| {
        merge_by(buckets, request, |key| {
            ROUNDINGS[index].unit.floor(key, zone)
        })
    };
    // Under another aggregation no first pass chose the rounding: the values collected at the
    // finest choose it, as one shard's would.
    if auto.collected.get().is_none() {
        if let (Some(&(low, _)), Some(&(high, _))) = (buckets.first(), buckets.last()) {
            let reached = shard_rounding(low, high, index, auto.target, zone);
            if reached != index {
                index = reached;
                buckets = round_to(buckets, index);
            }
        }
    }
    let fits = |count: usize, index: usize| {
        count <= auto.target.saturating_mul(ROUNDINGS[index].max_inner())
    };
    let coarsen = |mut buckets: Keyed, mut index: usize| {
        while !fits(buckets.len(), index) && index < COARSEST {
            index += 1;
            buckets = round_to(buckets, index);
        }
        (buckets, index)
    };
    (buckets, index) = coarsen(buckets, index);
    // Empty buckets between the first and the last, at a rounding where they fit.
    if let (Some(&(low, _)), Some(&(high, _))) = (buckets.first(), buckets.last()) {
        let appropriate = appropriate_rounding(low, high, index, auto.target, zone);
        if appropriate != index {
            index = appropriate;
            buckets = round_to(buckets, index);
        }
        buckets = fill_gaps(buckets, ROUNDINGS[index].unit, zone)?;
    }
    (buckets, index) = coarsen(buckets, index);
    // Last, runs of buckets merged into one, at the first inner interval that fits.
    let mut inner = 1;
    if buckets.len() > auto.target {
        if let Some(&chosen) = ROUNDINGS[index]
            .inner_intervals
            .iter()
            .find(|&&i| buckets.len().div_ceil(i) <= auto.target)
        {
            inner = chosen;
            let first_keys: Vec<i64> = buckets.iter().map(|(key, _)| *key).collect();
            let mut position = 0;
            buckets = merge_by(buckets, request, |_| {
                let key = first_keys[position / inner * inner];
                position += 1;
                key
            });
        }
    }
    context.spend(buckets.len())?;
    let entries = buckets.iter().map(|(key, bucket)| (*key, bucket)).collect();
    let mut out = Map::new();
    let rendered = render_entries(request, histogram, entries, context)?;
    out.insert(
        "buckets".into(),
        Json::Array(rendered.into_iter().map(|(_, entry)| entry).collect()),
    );
    out.insert(
        "interval".into(),
        json!(format!("{inner}{}", ROUNDINGS[index].abbreviation)),
    );
    Ok(out)
}

/// Elasticsearch's choice for filling in empty buckets: from `index` on, the first rounding
/// at which stepping from `low` to `high` takes no more steps than the target allows.
/// Counting stops there: the target's ceiling (see [`parse`]) keeps that under 65,536 steps.
fn appropriate_rounding(low: i64, high: i64, index: usize, target: usize, zone: &Zone) -> usize {
    let mut index = index;
    while index < COARSEST {
        let rounding = &ROUNDINGS[index];
        let allowed = target.saturating_mul(rounding.max_inner());
        let mut steps = 0;
        let mut key = low;
        while key < high && steps <= allowed {
            steps += 1;
            key = next_key(rounding.unit, key, zone);
        }
        if steps <= allowed {
            break;
        }
        index += 1;
    }
    index
}

/// The start of the bucket after the one `key` is in.
fn next_key(unit: Unit, key: i64, zone: &Zone) -> i64 {
    let start = unit.floor(key, zone);
    unit.add(start, 1, zone)
        .filter(|next| *next > key)
        .unwrap_or(i64::MAX)
}

/// Merges buckets whose new keys are equal; `new_key` is called once per bucket, in order,
/// and must not decrease. Merged buckets' sub-aggregations are merged again.
fn merge_by(buckets: Keyed, request: &AggRequest, mut new_key: impl FnMut(i64) -> i64) -> Keyed {
    let mut merged: Keyed = Vec::with_capacity(buckets.len());
    let mut runs = 0;
    for (key, bucket) in buckets {
        let key = new_key(key);
        match merged.last_mut() {
            Some((last, into)) if *last == key => {
                into.merge(bucket);
                runs += 1;
            }
            _ => merged.push((key, bucket)),
        }
    }
    if runs > 0 {
        for (_, bucket) in &mut merged {
            for (sub, child) in bucket.subs.iter_mut().zip(&request.children) {
                sub.finish(child);
            }
        }
    }
    merged
}

/// Adds an empty bucket for every `unit` between two buckets.
fn fill_gaps(buckets: Keyed, unit: Unit, zone: &Zone) -> Result<Keyed, SearchError> {
    let mut filled: Keyed = Vec::with_capacity(buckets.len());
    for (key, bucket) in buckets {
        if let Some(&(last, _)) = filled.last() {
            let mut gap = next_key(unit, last, zone);
            while gap < key {
                if filled.len() >= MAX_BUCKETS {
                    return Err(SearchError::TooManyBuckets);
                }
                filled.push((gap, IntermediateBucket::default()));
                gap = next_key(unit, gap, zone);
            }
        }
        filled.push((key, bucket));
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shard_measures_its_span_to_its_latest_value_at_the_rounding_reached() {
        // 2018-01-01 to 2020-06-20: 901 days to the second, but 882 to June 2020's month,
        // within 10 buckets of 3 months (900 rough days): months, as Elasticsearch stays at.
        let (min, max) = (1_514_764_800_000, 1_592_611_200_000);
        assert_eq!(shard_rounding(min, max, 0, 10, &Zone::utc()), 4);
        // A day more than 900 days of months moves on to years.
        assert_eq!(
            shard_rounding(min, max + 20 * DAY_MS, 0, 10, &Zone::utc()),
            5
        );
    }
}
