//! Aggregations: request parsing, per-segment collection, merging, and rendering in
//! Elasticsearch's response format.

pub mod best;
pub mod collect;
pub mod intermediate;
pub mod render;
pub mod request;
pub mod rows;
