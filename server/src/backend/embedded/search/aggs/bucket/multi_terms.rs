//! `multi_terms`: a bucket per distinct combination of several fields' values (`action` and
//! `dstport` together), the best `size` of them by the order asked, as `terms` chooses.

use serde_json::{json, Map, Value as Json};

use super::super::super::hits::Direction;
use super::super::super::query::QueryContext;
use super::super::super::SearchError;
use super::super::intermediate::{BucketKey, IntermediateAgg};
use super::super::options::{field_of, options, usize_option};
use super::super::order::{parse_order, BucketOrder, Candidate};
use super::super::response::{key_text, RenderContext};
use super::super::{render_subs, AggRequest};
use super::multi_key::{KeySource, Missing, SourceKind};
use super::terms::{term_key_json, Selection};

#[derive(Debug)]
pub struct MultiTermsAgg {
    pub sources: Vec<KeySource>,
    pub size: usize,
    pub order: Vec<BucketOrder>,
    pub min_doc_count: u64,
    /// Which flows the top conversations group exactly (see [`super::sieve`]).
    pub sieve: super::sieve::Sieve,
}

pub fn parse(
    name: &str,
    agg_type: &str,
    value: &Json,
    context: &QueryContext<'_>,
) -> Result<MultiTermsAgg, SearchError> {
    let o = options(
        name,
        agg_type,
        value,
        &[
            "terms",
            "size",
            "shard_size",
            "order",
            "min_doc_count",
            "shard_min_doc_count",
            "show_term_doc_count_error",
            "collect_mode",
            "format",
        ],
    )?;
    let terms = o.get("terms").and_then(Json::as_array);
    let terms = match terms {
        Some(terms) if terms.len() >= 2 => terms,
        _ => {
            // Elasticsearch's words ("user" for "use" included).
            let single = if terms.is_some_and(|t| t.len() == 1) {
                " For a single field user terms aggregation."
            } else {
                ""
            };
            return Err(SearchError::illegal(format!(
                "The [terms] parameter in the aggregation [{name}] must be present and have at least 2 fields or scripts.{single}"
            )));
        }
    };
    let sources = terms
        .iter()
        .map(|term| {
            let t = options(
                name,
                agg_type,
                term,
                &["field", "missing", "format", "value_type"],
            )?;
            Ok(KeySource {
                field: field_of(name, agg_type, t, context)?,
                kind: SourceKind::Terms,
                missing: match t.get("missing") {
                    Some(value) if !value.is_null() => Missing::Value(value.clone()),
                    _ => Missing::Skip,
                },
            })
        })
        .collect::<Result<Vec<_>, SearchError>>()?;
    let size = usize_option(o, "size", 10)?;
    if size == 0 {
        return Err(SearchError::illegal(format!(
            "[size] must be greater than 0. Found [0] in [{name}]"
        )));
    }
    let min_doc_count = usize_option(o, "min_doc_count", 1)? as u64;
    if min_doc_count == 0 {
        return Err(SearchError::illegal(format!(
            "[minDocCount] must be greater than or equal to 1. Found [0] in [{name}]"
        )));
    }
    Ok(MultiTermsAgg {
        sources,
        size,
        order: match o.get("order") {
            Some(order) => parse_order(order)?,
            None => vec![
                BucketOrder::Count(Direction::Desc),
                BucketOrder::Key(Direction::Asc),
            ],
        },
        min_doc_count,
        sieve: Default::default(),
    })
}

pub fn render(
    request: &AggRequest,
    multi: &MultiTermsAgg,
    result: &IntermediateAgg,
    context: &RenderContext<'_>,
) -> Result<Map<String, Json>, SearchError> {
    let selection = Selection {
        order: &multi.order,
        size: multi.size,
        min_doc_count: multi.min_doc_count,
        max_doc_count: u64::MAX,
    };
    let (chosen, other) =
        selection.choose(request, context.buckets_of(result), |_| true, context)?;
    let mut rendered = Vec::with_capacity(chosen.len());
    for Candidate { key, bucket, .. } in chosen {
        let BucketKey::Tuple(values) = key else {
            continue;
        };
        let mut keys = Vec::with_capacity(values.len());
        let mut texts = Vec::with_capacity(values.len());
        for (value, source) in values.iter().zip(&multi.sources) {
            let (json, text) = match &source.missing {
                Missing::Value(missing) if *value == super::terms::missing_bucket_key(missing) => {
                    (missing.clone(), None)
                }
                // A date prints as a date in the key too, not as epoch milliseconds.
                _ => match term_key_json(&source.field, value) {
                    (_, Some(date)) => (json!(date), Some(date)),
                    (json, None) => (json, None),
                },
            };
            texts.push(text.unwrap_or_else(|| key_text(value)));
            keys.push(json);
        }
        let mut entry = Map::new();
        entry.insert("key".into(), Json::Array(keys));
        entry.insert("key_as_string".into(), json!(texts.join("|")));
        entry.insert("doc_count".into(), json!(bucket.doc_count));
        render_subs(request, bucket, &mut entry, context)?;
        rendered.push(Json::Object(entry));
    }
    let mut out = Map::new();
    out.insert("doc_count_error_upper_bound".into(), json!(0));
    out.insert("sum_other_doc_count".into(), json!(other));
    out.insert("buckets".into(), Json::Array(rendered));
    Ok(out)
}
