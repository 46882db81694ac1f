//! The `ingest`, `demo` and `users` commands (`serve` is [`crate::http::serve`]).

pub mod demo;
pub mod ingest;
mod progress;
pub mod users;
