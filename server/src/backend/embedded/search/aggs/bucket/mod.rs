//! Bucket aggregations: each splits documents into buckets, and runs its sub-aggregations in
//! each. Every kind collects into [`super::buckets::Buckets`].

pub mod date_histogram;
pub mod filters;
pub mod histogram;
pub mod range;
pub mod terms;
