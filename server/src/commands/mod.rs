//! The `ingest` and `demo` commands (`serve` is [`crate::http::serve`]).

pub mod demo;
pub mod ingest;
mod progress;
