//! The merged state of a kind added through [`crate::backend::embedded::search::aggs::kind`]:
//! any type that merges, carried type-erased in [`super::IntermediateAgg::Custom`].

use std::any::Any;
use std::fmt::Debug;

/// A kind's result that merges across segments and indices.
pub trait MergeState: Any + Clone + Debug + Default + PartialEq + Send + Sync {
    /// Folds `other` (the same aggregation over other documents) into `self`.
    fn merge(&mut self, other: Self);
}

/// A [`MergeState`] of some type.
pub trait DynState: Debug + Send + Sync {
    fn merge_boxed(&mut self, other: Box<dyn DynState>);
    fn clone_boxed(&self) -> Box<dyn DynState>;
    fn eq_dyn(&self, other: &dyn DynState) -> bool;
    fn as_any(&self) -> &dyn Any;
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

impl<T: MergeState> DynState for T {
    fn merge_boxed(&mut self, other: Box<dyn DynState>) {
        // Both come from the same request, so they are of the same type.
        if let Ok(other) = other.into_any().downcast::<T>() {
            self.merge(*other);
        }
    }

    fn clone_boxed(&self) -> Box<dyn DynState> {
        Box::new(self.clone())
    }

    fn eq_dyn(&self, other: &dyn DynState) -> bool {
        other.as_any().downcast_ref::<T>() == Some(self)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

impl Clone for Box<dyn DynState> {
    fn clone(&self) -> Self {
        self.clone_boxed()
    }
}

impl PartialEq for Box<dyn DynState> {
    fn eq(&self, other: &Self) -> bool {
        self.eq_dyn(other.as_ref())
    }
}
