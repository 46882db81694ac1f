//! The traits a kind added in one file implements: its parsed request
//! ([`AggregationKind`]), its state while one segment is collected ([`SegmentState`]), and
//! its merged result ([`MergeState`]). [`super::AggKind::Custom`] and
//! [`super::SegmentAgg::Custom`] carry them type-erased, so the kind needs no variant, no
//! match arm, only its line in [`super::parse_kind`].
//!
//! Collection then costs a virtual call per document, fine for kinds off the dashboards' hot
//! paths; those are enum variants instead. Kinds here take no sub-aggregations (yet).

use std::fmt::Debug;

use serde_json::{Map, Value as Json};
use tantivy::DocId;

use super::super::SearchError;
use super::intermediate::custom::{DynState, MergeState};
use super::SegmentContext;

/// An aggregation kind, parsed from its request.
pub trait AggregationKind: Debug + Send + Sync + 'static {
    /// Its result, merged across segments and indices.
    type State: MergeState;
    /// Its state while one segment is collected.
    type Segment: SegmentState<State = Self::State>;

    fn segment(&self, context: &SegmentContext<'_>) -> Result<Self::Segment, SearchError>;

    /// Its response from the merged result.
    fn render(&self, state: &Self::State) -> Map<String, Json>;
}

/// A kind's state in one segment.
pub trait SegmentState: Clone + 'static {
    type State;

    fn collect(&mut self, doc: DocId);

    /// Collects a block of documents (ascending) at once where it can; says whether it did.
    fn collect_block(&mut self, _docs: &[DocId]) -> bool {
        false
    }

    fn harvest(self) -> Self::State;
}

/// An [`AggregationKind`] of some type.
pub trait DynKind: Debug + Send + Sync {
    fn segment(&self, context: &SegmentContext<'_>) -> Result<Box<dyn DynSegment>, SearchError>;
    fn empty(&self) -> Box<dyn DynState>;
    fn render(&self, state: &dyn DynState) -> Result<Map<String, Json>, SearchError>;
}

impl<K: AggregationKind> DynKind for K {
    fn segment(&self, context: &SegmentContext<'_>) -> Result<Box<dyn DynSegment>, SearchError> {
        Ok(Box::new(AggregationKind::segment(self, context)?))
    }

    fn empty(&self) -> Box<dyn DynState> {
        Box::new(K::State::default())
    }

    fn render(&self, state: &dyn DynState) -> Result<Map<String, Json>, SearchError> {
        let state = state.as_any().downcast_ref::<K::State>().ok_or_else(|| {
            SearchError::Internal(format!("a result of the wrong kind for {self:?}"))
        })?;
        Ok(AggregationKind::render(self, state))
    }
}

/// A [`SegmentState`] of some type.
pub trait DynSegment {
    fn collect(&mut self, doc: DocId);
    fn collect_block(&mut self, docs: &[DocId]) -> bool;
    fn harvest(self: Box<Self>) -> Box<dyn DynState>;
    fn clone_boxed(&self) -> Box<dyn DynSegment>;
}

impl<S> DynSegment for S
where
    S: SegmentState,
    S::State: MergeState,
{
    #[inline]
    fn collect(&mut self, doc: DocId) {
        SegmentState::collect(self, doc);
    }

    fn collect_block(&mut self, docs: &[DocId]) -> bool {
        SegmentState::collect_block(self, docs)
    }

    fn harvest(self: Box<Self>) -> Box<dyn DynState> {
        Box::new(SegmentState::harvest(*self))
    }

    fn clone_boxed(&self) -> Box<dyn DynSegment> {
        Box::new(self.clone())
    }
}

impl Clone for Box<dyn DynSegment> {
    fn clone(&self) -> Self {
        self.clone_boxed()
    }
}

/// A parsed kind as an [`super::AggKind`].
pub fn custom(kind: impl AggregationKind) -> super::AggKind {
    super::AggKind::Custom(Box::new(kind))
}
