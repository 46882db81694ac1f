//! Merged aggregation results → Elasticsearch's response JSON, field for field: `key`,
//! `key_as_string`, `doc_count`, `doc_count_error_upper_bound`, `sum_other_doc_count`, empty
//! buckets filled in date histograms, ranges keyed as Elasticsearch keys them. Each kind
//! renders itself ([`super::render_agg`] dispatches); this holds what they share.

use std::cell::Cell;
use std::collections::HashMap;

use serde_json::{Map, Value as Json};

use super::super::hits::HitRenderer;
use super::super::{SearchError, MAX_BUCKETS};
use super::intermediate::{BucketKey, BucketList, IntermediateAgg};
use super::{render_agg, AggKind, AggRequest};
use crate::backend::embedded::schema::from_ipv6;

/// What rendering needs besides the results, and the buckets rendered so far.
pub struct RenderContext<'a> {
    pub hits: &'a HitRenderer<'a>,
    pub buckets: Cell<usize>,
    /// The documents of the bucket whose sub-aggregations are being rendered (the search's
    /// matches at the top): a significant terms aggregation's foreground.
    pub subset_size: Cell<u64>,
    /// The background counts significant terms aggregations compare with.
    pub backgrounds: &'a Backgrounds,
}

/// The background of each significant terms aggregation of a search (see
/// `bucket/significant_terms.rs`): how many flows the set holds, and how many of them hold
/// each term of the field. Counted once per set and field however many aggregations share
/// them.
#[derive(Default)]
pub struct Backgrounds {
    /// By (set name, field).
    pub counts: HashMap<(String, String), Background>,
}

#[derive(Default)]
pub struct Background {
    pub flows: u64,
    pub terms: HashMap<BucketKey, u64>,
}

/// The buckets of a result that has none.
static NO_BUCKETS: BucketList = BucketList::EMPTY;

impl RenderContext<'_> {
    /// Counts `buckets` more rendered buckets against [`MAX_BUCKETS`].
    pub fn spend(&self, buckets: usize) -> Result<(), SearchError> {
        self.buckets.set(self.buckets.get() + buckets);
        if self.buckets.get() > MAX_BUCKETS {
            return Err(SearchError::TooManyBuckets);
        }
        Ok(())
    }

    /// A bucket aggregation's buckets (none for a result of another kind).
    pub fn buckets_of<'r>(&self, result: &'r IntermediateAgg) -> &'r BucketList {
        match result {
            IntermediateAgg::Buckets(buckets) => buckets,
            _ => &NO_BUCKETS,
        }
    }
}

/// Renders the `aggregations` object.
pub fn render_aggs(
    requests: &[AggRequest],
    results: &[IntermediateAgg],
    context: &RenderContext<'_>,
) -> Result<Map<String, Json>, SearchError> {
    let mut out = Map::new();
    for (request, result) in requests.iter().zip(results) {
        if !matches!(request.kind, AggKind::Pipeline(_)) {
            out.insert(request.name.clone(), render_agg(request, result, context)?);
        }
    }
    super::pipeline::apply_siblings(requests, &mut out)?;
    Ok(out)
}

/// `buckets` as an object by key when `keyed`, else as an array.
pub fn bucket_list(rendered: Vec<(String, Json)>, keyed: bool) -> Map<String, Json> {
    let mut out = Map::new();
    out.insert(
        "buckets".into(),
        if keyed {
            Json::Object(rendered.into_iter().collect())
        } else {
            Json::Array(rendered.into_iter().map(|(_, v)| v).collect())
        },
    );
    out
}

/// A bucket key as text (what `include`/`exclude` match).
pub fn key_text(key: &BucketKey) -> String {
    match key {
        BucketKey::Str(s) => s.clone(),
        BucketKey::I64(v) => v.to_string(),
        BucketKey::Ip(ip) => from_ipv6((*ip).into()).to_string(),
        BucketKey::F64(bits) => f64::from_bits(*bits).to_string(),
        BucketKey::Index(i) => i.to_string(),
        BucketKey::Null => "null".to_owned(),
        BucketKey::Tuple(keys) => keys.iter().map(key_text).collect::<Vec<_>>().join("|"),
    }
}

/// `100.0` as Elasticsearch prints doubles in keys.
pub fn double_text(value: f64) -> String {
    format!("{value:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_like_java() {
        assert_eq!(double_text(100.0), "100.0");
        assert_eq!(double_text(0.5), "0.5");
    }
}
