//! The passes of a search whose top conversations are sieved (see [`super::sieve`]): which
//! `multi_terms` a sieve serves, its first pass, the bins it first groups, and the check
//! of its answer that may widen them.

use serde_json::Value as Json;

use super::super::super::query::QueryContext;
use super::super::super::SearchError;
use super::super::intermediate::best::Rank;
use super::super::intermediate::IntermediateAgg;
use super::super::metric::MetricKind;
use super::super::order::{BucketOrder, MetricPath};
use super::super::{parse_agg, AggKind, AggRequest};
use super::multi_key::{Missing, SourceKind};
use super::multi_terms::MultiTermsAgg;
use super::sieve::{probe, Admitted, ProbeRank};
use crate::backend::embedded::conversation;
use app::model::flow::FieldType;

/// The rank a sieve can serve the `multi_terms` with, when it can serve it.
fn probe_rank(request: &AggRequest, multi: &MultiTermsAgg) -> Option<ProbeRank> {
    let mut names: Vec<&str> = multi
        .sources
        .iter()
        .filter(|source| {
            matches!(source.kind, SourceKind::Terms)
                && matches!(source.missing, Missing::Skip)
                && !source.field.unmapped
        })
        .map(|source| source.field.name.as_str())
        .collect();
    names.sort_unstable();
    let mut digested = conversation::FIELDS;
    digested.sort_unstable();
    if names != digested || multi.min_doc_count > 1 {
        return None;
    }
    match request.best_buckets()?.ranked_by() {
        Rank::Count => Some(ProbeRank::Count),
        Rank::Sum(position) => {
            let AggKind::Metric(metric) = &request.children.get(position)?.kind else {
                return None;
            };
            let missing = match metric.missing {
                None => 0,
                Some(m) if m >= 0.0 && m.fract() == 0.0 && m < 2f64.powi(53) => m as u64,
                Some(_) => return None,
            };
            let summed = matches!(metric.kind, MetricKind::Sum | MetricKind::Stats);
            (summed && metric.field.field_type() == FieldType::Long && !metric.field.unmapped).then(
                || ProbeRank::Sum {
                    field: metric.field.field,
                    name: metric.field.name.clone(),
                    missing,
                },
            )
        }
        Rank::ValueCount(_) | Rank::Max(_) => None,
    }
}

/// The `multi_terms` of the request a sieve serves, with their ranks.
fn sieved(aggs: &[AggRequest]) -> impl Iterator<Item = (&AggRequest, &MultiTermsAgg, ProbeRank)> {
    aggs.iter().filter_map(|request| match &request.kind {
        AggKind::MultiTerms(multi) => Some((request, multi, probe_rank(request, multi)?)),
        _ => None,
    })
}

/// The first pass: a probe per sieved `multi_terms`, in request order. Empty when the
/// request has none.
pub fn probes(aggs: &[AggRequest]) -> Vec<AggRequest> {
    sieved(aggs)
        .map(|(request, _, rank)| AggRequest {
            name: request.name.clone(),
            kind: probe(rank),
            children: Vec::new(),
            meta: None,
        })
        .collect()
}

/// Chooses each sieved `multi_terms`' first bins from the first pass's results (in the order
/// of [`probes`]); says whether one leaves flows out.
pub fn admit(aggs: &[AggRequest], probed: &[IntermediateAgg]) -> bool {
    let mut any = false;
    for ((_, multi, _), result) in sieved(aggs).zip(probed) {
        let admitted = Admitted::first_bins(result, multi.size);
        any |= admitted.is_some();
        multi.sieve.set(admitted);
    }
    any
}

/// Settles each sieved `multi_terms`' bins from its answer (merged and finished): if every
/// bin left out totals less than the `size`-th best conversation found, `L`, the answer is
/// exact. Otherwise its bins are widened to those totalling at least `L`, which hold every
/// conversation reaching it, and it must be collected again. Returns the positions of those.
pub fn settle(aggs: &[AggRequest], results: &[IntermediateAgg]) -> Result<Vec<usize>, SearchError> {
    let mut again = Vec::new();
    for (position, (request, result)) in aggs.iter().zip(results).enumerate() {
        let (AggKind::MultiTerms(multi), IntermediateAgg::Buckets(buckets)) =
            (&request.kind, result)
        else {
            continue;
        };
        let Some(admitted) = multi.sieve.admitted() else {
            continue;
        };
        let metric = match multi.order.first() {
            Some(BucketOrder::Metric { path, .. }) => Some(MetricPath::resolve(request, path)?),
            _ => None,
        };
        let mut values = Vec::with_capacity(buckets.iter().len());
        for (_, bucket) in buckets.iter() {
            values.push(match &metric {
                Some(path) => path.value(bucket)?.unwrap_or(0.0),
                None => bucket.doc_count as f64,
            });
        }
        // The `size`-th best found: the best conversations reach it at least.
        let least = if values.len() < multi.size {
            0.0
        } else {
            let (_, least, _) =
                values.select_nth_unstable_by(multi.size - 1, |a, b| b.total_cmp(a));
            *least
        };
        if let Some(widened) = admitted.widened_for(least) {
            multi.sieve.set(widened);
            again.push(position);
        }
    }
    Ok(again)
}

/// The `multi_terms` at `positions`, parsed again from the request's `body` to be collected
/// alone, with their widened bins.
pub fn copies(
    aggs: &[AggRequest],
    positions: &[usize],
    body: &Json,
    context: &QueryContext<'_>,
) -> Result<Vec<AggRequest>, SearchError> {
    let requested = body.get("aggs").or_else(|| body.get("aggregations"));
    positions
        .iter()
        .map(|&position| {
            let request = &aggs[position];
            let agg = requested
                .and_then(|aggs| aggs.get(&request.name))
                .ok_or_else(|| SearchError::Internal(format!("no [{}] to copy", request.name)))?;
            let copy = parse_agg(&request.name, agg, context)?;
            if let (AggKind::MultiTerms(copied), AggKind::MultiTerms(multi)) =
                (&copy.kind, &request.kind)
            {
                copied.sieve.set_shared(multi.sieve.admitted());
            }
            Ok(copy)
        })
        .collect()
}
