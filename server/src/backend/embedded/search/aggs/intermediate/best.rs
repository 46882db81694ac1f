//! The best buckets of a terms or multi_terms aggregation without merging every bucket: one
//! over addresses (top talkers, top conversations) has millions of buckets spread over every
//! segment searched, and only `size` of them are shown. When the order is by count, sum, value count or max, descending, over
//! values that cannot be negative, a bucket can only be among the best if one segment alone
//! gives it a large enough share (the three-phase threshold algorithm, "TPUT", of Cao and Wang):
//!
//! 1. each segment's own best `size` buckets are candidates; their exact totals over all
//!    segments give a value `tau` that the `size`-th best bucket reaches at least;
//! 2. a bucket whose total reaches `tau` over `r` segments has at least `tau / r` in one of
//!    them (for max, `tau` itself), so the buckets reaching that in some segment are the only
//!    ones that can be among the best;
//! 3. those are merged exactly; every other bucket's documents are counted, for
//!    `sum_other_doc_count`.
//!
//! The answer is exact, the same as merging everything.

use super::{BucketKey, IntermediateBucket, SortedRun};

/// What a terms or multi_terms aggregation is ranked by, when it allows choosing candidates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rank {
    Count,
    /// A statistic of the sub-aggregation at this position.
    Sum(usize),
    ValueCount(usize),
    Max(usize),
}

/// How the best buckets of a terms or multi_terms aggregation are chosen.
#[derive(Debug)]
pub struct BestBuckets {
    size: usize,
    min_doc_count: u64,
    rank: Rank,
}

/// A run's buckets ranked for choosing, worked out where the run was collected (on the search
/// threads, one segment each) so that choosing need not read every bucket of every run again.
#[derive(Clone, Debug, PartialEq)]
pub struct Ranked {
    /// The run's best buckets as `(value, index)`, by descending value.
    top: Vec<(f64, usize)>,
    /// No bucket left out of `top` has a greater value (`-inf` when none is left out).
    bound: f64,
    /// The documents of all the run's buckets.
    doc_count: u64,
}

/// The merged candidates, sorted by key, and the documents of the buckets left out.
pub struct Chosen {
    pub buckets: Vec<(BucketKey, IntermediateBucket)>,
    pub other_doc_count: u64,
}

impl Ranked {
    /// What its list of best buckets takes on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.top.capacity() * std::mem::size_of::<(f64, usize)>()
    }
}

impl BestBuckets {
    /// Chooses the best `size` buckets with at least `min_doc_count` documents by `rank`.
    pub fn new(size: usize, min_doc_count: u64, rank: Rank) -> BestBuckets {
        BestBuckets {
            size,
            min_doc_count,
            rank,
        }
    }

    /// What the buckets are ranked by.
    pub fn ranked_by(&self) -> Rank {
        self.rank
    }

    /// The rank of a bucket: `None` when it has no value (it then sorts last), or when the
    /// value could be negative, which the bound of step 2 does not allow.
    fn rank(&self, run: &SortedRun, index: usize) -> Result<Option<f64>, Negative> {
        let stats = |position: usize| run.stats(index, position);
        Ok(match self.rank {
            Rank::Count => Some(run.doc_count(index) as f64),
            Rank::ValueCount(position) => stats(position).map(|s| s.count as f64),
            Rank::Sum(position) => match stats(position) {
                Some(s) if s.count > 0 && s.min < 0.0 => return Err(Negative),
                Some(s) => Some(s.sum),
                None => None,
            },
            Rank::Max(position) => match stats(position) {
                Some(s) if s.count > 0 && s.min < 0.0 => return Err(Negative),
                Some(s) if s.count > 0 => Some(s.max),
                _ => None,
            },
        })
    }

    /// How many of a run's best buckets [`Ranked`] keeps: enough that in the usual case the
    /// bound of step 2 lies above every bucket left out.
    fn ranked_len(&self) -> usize {
        (self.size * 8).max(64)
    }

    /// Ranks a run's buckets; `None` when a value could be negative (choosing is then refused,
    /// as in [`BestBuckets::choose`]).
    pub fn rank_run(&self, run: &SortedRun) -> Option<Ranked> {
        let keep = self.ranked_len();
        let descending = |a: &(f64, usize), b: &(f64, usize)| b.0.total_cmp(&a.0);
        // The best `keep` so far, among up to twice as many candidates; a value below the
        // best one left out is left out at once. A run has a million buckets and only a few
        // hundred are kept, so nearly every bucket costs one comparison.
        let mut top = Vec::with_capacity((2 * keep).min(run.len()));
        let mut least_kept = f64::NEG_INFINITY;
        // The best value left out.
        let mut bound = f64::NEG_INFINITY;
        let keep_best = |top: &mut Vec<(f64, usize)>, bound: &mut f64| {
            if top.len() > keep {
                top.select_nth_unstable_by(keep, descending);
                *bound = bound.max(top[keep].0);
                top.truncate(keep);
            }
        };
        let mut doc_count = 0;
        for index in 0..run.len() {
            doc_count += run.doc_count(index);
            let Some(value) = self.rank(run, index).ok()? else {
                continue;
            };
            if value < least_kept {
                bound = bound.max(value);
                continue;
            }
            top.push((value, index));
            if top.len() == 2 * keep {
                keep_best(&mut top, &mut bound);
                // Every kept value is at least the best one left out.
                least_kept = bound;
            }
        }
        keep_best(&mut top, &mut bound);
        top.sort_unstable_by(descending);
        // Held until the runs are merged: only what is kept.
        top.shrink_to_fit();
        Some(Ranked {
            top,
            bound,
            doc_count,
        })
    }

    /// Chooses and merges the buckets that can be among the best. The runs come back
    /// untouched when choosing cannot help or cannot be done exactly.
    pub fn choose(&self, runs: Vec<SortedRun>) -> Result<Chosen, Vec<SortedRun>> {
        // One run needs no merging, unless it was ranked where it was collected: its buckets
        // are then still to be decoded, and only the candidates need to be.
        if runs.len() < 2 && runs.first().and_then(SortedRun::ranked).is_none() {
            return Err(runs);
        }
        // Runs ranked where they were collected come with their ranking; the others are
        // ranked here.
        let ranked: Option<Vec<Ranked>> = runs
            .iter()
            .map(|run| run.ranked().cloned().or_else(|| self.rank_run(run)))
            .collect();
        let Some(ranked) = ranked else {
            return Err(runs);
        };
        match self.threshold(&runs, &ranked) {
            Some(threshold) => self.merge_candidates(runs, &ranked, threshold),
            None => Err(runs),
        }
    }

    /// Steps 1 and 2: the least value a bucket must reach in one run to be a candidate.
    fn threshold(&self, runs: &[SortedRun], ranked: &[Ranked]) -> Option<f64> {
        // Step 1: every run's best `size` keys.
        let mut candidates: Vec<BucketKey> = Vec::new();
        for (run, ranked) in runs.iter().zip(ranked) {
            candidates.extend(
                ranked
                    .top
                    .iter()
                    .take(self.size)
                    .map(|(_, index)| run.key(*index)),
            );
        }
        candidates.sort_unstable();
        candidates.dedup();
        // Their totals over every run; `tau` is the `size`-th best of those that can be shown.
        let mut totals: Vec<f64> = Vec::with_capacity(candidates.len());
        for key in &candidates {
            let mut doc_count = 0;
            let mut total: Option<f64> = None;
            for run in runs {
                if let Some(index) = run.find(key) {
                    doc_count += run.doc_count(index);
                    if let Some(value) = self.rank(run, index).ok()? {
                        total = Some(match (total, self.rank) {
                            (Some(t), Rank::Max(_)) => t.max(value),
                            (Some(t), _) => t + value,
                            (None, _) => value,
                        });
                    }
                }
            }
            if let Some(total) = total {
                if doc_count >= self.min_doc_count.max(1) {
                    totals.push(total);
                }
            }
        }
        if totals.len() < self.size {
            return None;
        }
        totals.select_nth_unstable_by(self.size - 1, |a, b| b.total_cmp(a));
        let tau = totals[self.size - 1];
        if tau <= 0.0 {
            // Everything would be a candidate.
            return None;
        }
        // Step 2. The margin covers sums added up in another order.
        Some(match self.rank {
            Rank::Max(_) => tau,
            _ => tau / runs.len() as f64 * (1.0 - 1e-9),
        })
    }

    /// Step 3: the candidates merged over every run, and the documents of all others. Runs
    /// of keys come back untouched when so many buckets are candidates that merging every
    /// run costs less: with ports spread evenly (ephemeral ones), the threshold is low, most
    /// buckets reach it, and looking each one up in every run took a Sankey's destination
    /// ports a third of its time where one merge of the runs is linear. Runs still to be
    /// decoded (addresses, tuples) are never merged whole this way: decoding every bucket
    /// costs more than the lookups, and holds every key at once.
    fn merge_candidates(
        &self,
        mut runs: Vec<SortedRun>,
        ranked: &[Ranked],
        threshold: f64,
    ) -> Result<Chosen, Vec<SortedRun>> {
        let mut all_docs = 0u64;
        // Candidates as (run, bucket), decoded once it is known there are few enough.
        let mut candidates: Vec<(usize, usize)> = Vec::new();
        for (at, (run, ranked)) in runs.iter().zip(ranked).enumerate() {
            all_docs += ranked.doc_count;
            if threshold > ranked.bound {
                // No bucket outside the run's best can reach the threshold.
                candidates.extend(
                    ranked
                        .top
                        .iter()
                        .take_while(|(value, _)| *value >= threshold)
                        .map(|(_, index)| (at, *index)),
                );
                continue;
            }
            for index in 0..run.len() {
                if self
                    .rank(run, index)
                    .ok()
                    .flatten()
                    .is_some_and(|value| value >= threshold)
                {
                    candidates.push((at, index));
                }
            }
        }
        // Each candidate is looked up in every run (a search each), where a merge reads each
        // bucket once.
        let buckets: usize = runs.iter().map(SortedRun::len).sum();
        let keyed = runs.iter().all(|run| matches!(run, SortedRun::Keyed(_)));
        if keyed && candidates.len().saturating_mul(runs.len()) > buckets {
            return Err(runs);
        }
        let mut keys: Vec<BucketKey> = candidates
            .into_iter()
            .map(|(at, index)| runs[at].key(index))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let mut buckets = Vec::with_capacity(keys.len());
        let mut chosen_docs = 0u64;
        for key in keys {
            let mut merged: Option<IntermediateBucket> = None;
            for run in &mut runs {
                if let Some(index) = run.find(&key) {
                    let bucket = run.take(index);
                    match &mut merged {
                        Some(merged) => merged.merge(bucket),
                        None => merged = Some(bucket),
                    }
                }
            }
            if let Some(bucket) = merged {
                chosen_docs += bucket.doc_count;
                buckets.push((key, bucket));
            }
        }
        Ok(Chosen {
            buckets,
            other_doc_count: all_docs - chosen_docs,
        })
    }
}

/// A value that could be negative: the bound does not hold.
struct Negative;

#[cfg(test)]
mod tests {
    use super::super::{IntermediateAgg, IntermediateMetric};
    use super::*;
    use crate::backend::embedded::schema::FlowSchema;
    use crate::backend::embedded::search::aggs::{parse_aggs, AggRequest};
    use crate::backend::embedded::search::datemath::Now;
    use crate::backend::embedded::search::query::QueryContext;

    fn request(order: serde_json::Value) -> AggRequest {
        let schema = FlowSchema::new();
        let context = QueryContext {
            schema: &schema,
            now: Now::at(0),
            columns: Default::default(),
        };
        let aggs = serde_json::json!({ "t": { "terms": { "field": "srcport", "size": 3, "order": order },
            "aggs": { "b": { "sum": { "field": "bytes" } } } } });
        parse_aggs(&aggs, &context).unwrap().remove(0)
    }

    /// Three runs of 10 000 keys: a few heavy keys, the rest light. Counts equal sums here.
    fn runs(light: f64) -> Vec<SortedRun> {
        runs_of(light, 1000.0)
    }

    /// Three runs of 10 000 keys, each heavy in one run (1000 apart), light in the others.
    fn runs_of(light: f64, heavy: f64) -> Vec<SortedRun> {
        (0..3)
            .map(|run| {
                let buckets = (0..10_000i64)
                    .map(|key| {
                        let value = if key % 1000 == run { heavy } else { light };
                        let mut stats = super::super::Stats::default();
                        stats.add(value);
                        let bucket = IntermediateBucket {
                            doc_count: value as u64,
                            subs: smallvec::smallvec![IntermediateAgg::Metric(
                                IntermediateMetric::Stats(stats)
                            )],
                        };
                        (BucketKey::I64(key), bucket)
                    })
                    .collect();
                SortedRun::Keyed(buckets)
            })
            .collect()
    }

    #[test]
    fn only_buckets_that_can_be_best_are_merged_and_the_rest_are_counted() {
        for order in [
            serde_json::json!({ "_count": "desc" }),
            serde_json::json!({ "b": "desc" }),
        ] {
            let best = request(order).best_buckets().unwrap();
            let all_docs: u64 = runs(1.0)
                .iter()
                .map(|run| (0..run.len()).map(|i| run.doc_count(i)).sum::<u64>())
                .sum();
            let Ok(chosen) = best.choose(runs(1.0)) else {
                panic!("choosing applies");
            };
            // The 30 heavy keys (1000 in one run) are the only candidates.
            assert_eq!(chosen.buckets.len(), 30);
            assert!(chosen.buckets.is_sorted_by(|a, b| a.0 < b.0));
            let chosen_docs: u64 = chosen.buckets.iter().map(|(_, b)| b.doc_count).sum();
            assert_eq!(chosen_docs, 30 * 1002);
            assert_eq!(chosen.other_doc_count, all_docs - chosen_docs);
        }
    }

    #[test]
    fn negative_values_or_too_few_buckets_merge_everything() {
        let best = request(serde_json::json!({ "b": "desc" }))
            .best_buckets()
            .unwrap();
        assert!(best.choose(runs(-1.0)).is_err(), "sums of negative values");
        assert!(
            best.choose(runs(1.0).into_iter().take(1).collect())
                .is_err(),
            "one run"
        );
        // Every key as large as any other: all are candidates, and one merge costs less than
        // looking each up in every run.
        assert!(best.choose(runs_of(1.0, 1.0)).is_err(), "evenly spread");
        for order in [
            serde_json::json!({ "_count": "asc" }),
            serde_json::json!({ "_key": "desc" }),
            serde_json::json!({ "b": "asc" }),
        ] {
            assert!(request(order).best_buckets().is_none());
        }
    }
}
