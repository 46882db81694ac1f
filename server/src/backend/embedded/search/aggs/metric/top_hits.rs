//! `top_hits`: the best documents of a bucket by a sort, rendered as search hits.

use std::rc::Rc;

use serde_json::{json, Map, Value as Json};
use tantivy::{DocId, Score};

use super::super::super::hits::{
    global_doc, parse_sort, parse_source_filter, HitAddress, SegmentSorter, SortKey, SortSpec,
    SourceFilter,
};
use super::super::super::query::QueryContext;
use super::super::super::SearchError;
use super::super::intermediate::{IntermediateAgg, IntermediateTopHits};
use super::super::options::{options, usize_option};
use super::super::response::RenderContext;
use super::super::SegmentContext;

#[derive(Debug)]
pub struct TopHitsAgg {
    pub size: usize,
    pub from: usize,
    pub sort: SortSpec,
    pub source: SourceFilter,
}

pub fn parse(
    name: &str,
    agg_type: &str,
    value: &Json,
    context: &QueryContext<'_>,
) -> Result<TopHitsAgg, SearchError> {
    let o = options(
        name,
        agg_type,
        value,
        &[
            "size",
            "from",
            "sort",
            "_source",
            "version",
            "explain",
            "track_scores",
            "docvalue_fields",
            "stored_fields",
        ],
    )?;
    Ok(TopHitsAgg {
        size: usize_option(o, "size", 3)?.min(100),
        from: usize_option(o, "from", 0)?,
        sort: match o.get("sort") {
            Some(sort) => parse_sort(sort, context.schema)?,
            None => SortSpec::default(),
        },
        source: match o.get("_source") {
            Some(source) => parse_source_filter(source)?,
            None => SourceFilter::default(),
        },
    })
}

/// A bucket's best documents in one segment: kept loosely (up to twice as many, then cut),
/// sorted once at harvest.
#[derive(Clone)]
pub struct TopHitsSegment {
    sorter: Rc<SegmentSorter>,
    list: Vec<(SortKey, HitAddress)>,
    keep: usize,
    total: u64,
    index: u32,
    segment: u32,
}

impl TopHitsSegment {
    pub fn new(top: &TopHitsAgg, context: &SegmentContext<'_>) -> Result<Self, SearchError> {
        Ok(TopHitsSegment {
            sorter: Rc::new(SegmentSorter::new(&top.sort, context.reader)?),
            list: Vec::new(),
            keep: top.from + top.size,
            total: 0,
            index: context.index,
            segment: context.segment,
        })
    }

    #[inline]
    pub fn collect(&mut self, doc: DocId, score: Score) {
        self.total += 1;
        // A `top_hits` sort has no `search_after`, so every document has a key.
        if let Some(key) = self
            .sorter
            .key(doc, score, global_doc(self.index, self.segment, doc))
        {
            self.list.push((
                key,
                HitAddress {
                    index: self.index,
                    segment: self.segment,
                    doc,
                },
            ));
        }
        if self.list.len() >= self.keep * 2 + 16 {
            self.list.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
            self.list.truncate(self.keep);
        }
    }

    pub fn harvest(mut self) -> IntermediateAgg {
        self.list.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        self.list.truncate(self.keep);
        IntermediateAgg::TopHits(IntermediateTopHits {
            total: self.total,
            docs: self.list,
            keep: self.keep,
        })
    }
}

/// The result over no documents.
pub fn empty(top: &TopHitsAgg) -> IntermediateAgg {
    IntermediateAgg::TopHits(IntermediateTopHits {
        keep: top.from + top.size,
        ..IntermediateTopHits::default()
    })
}

pub fn render(
    top: &TopHitsAgg,
    result: &IntermediateAgg,
    context: &RenderContext<'_>,
) -> Result<Map<String, Json>, SearchError> {
    let IntermediateAgg::TopHits(state) = result else {
        return Err(SearchError::Internal(
            "top_hits result of the wrong kind".into(),
        ));
    };
    let sort = &top.sort;
    let hits = state
        .docs
        .iter()
        .skip(top.from)
        .take(top.size)
        .map(|(key, address)| context.hits.render(*address, key, sort, &top.source, &[]))
        .collect::<Result<Vec<_>, _>>()?;
    let max_score = if sort.explicit() {
        Json::Null
    } else {
        hits.first()
            .and_then(|h| h.get("_score").cloned())
            .unwrap_or(Json::Null)
    };
    let mut out = Map::new();
    out.insert(
        "hits".into(),
        json!({
            "total": { "value": state.total, "relation": "eq" },
            "max_score": max_score,
            "hits": hits,
        }),
    );
    Ok(out)
}
