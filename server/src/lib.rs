#![recursion_limit = "512"]
//! flowdash's server: the command line, the HTTP API, server-side rendering of the UI, and the
//! server-only parts (search backends, ingestion, the saved-object store).

pub mod auth;
pub mod backend;
pub mod chart_image;
pub mod cli;
pub mod commands;
pub mod defaults;
pub mod es_api;
pub mod geo;
pub mod heap;
pub mod http;
pub mod ingest;
pub mod networks;
pub mod overview;
pub mod redact;
pub mod store;
pub mod telemetry;
pub mod visualizations;

#[global_allocator]
static ALLOCATOR: heap::MeteredAllocator = heap::MeteredAllocator;
