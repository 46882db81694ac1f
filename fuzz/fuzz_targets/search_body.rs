//! Any bytes as a search body (the query DSL and aggregations, as `/api/search` and `/es`
//! take them): parsed and compiled for tantivy, an error or a query, never a panic or a
//! stack overflow, however deep it nests.
#![no_main]

use libfuzzer_sys::fuzz_target;
use server::backend::embedded::search::query::{compile, QueryContext};
use server::backend::embedded::search::SearchBody;
use server::backend::embedded::FlowSchema;

/// The flow schema, built once: building it is most of an execution's cost otherwise.
fn schema() -> &'static FlowSchema {
    static SCHEMA: std::sync::OnceLock<FlowSchema> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(FlowSchema::new)
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let schema = schema();
    let context = QueryContext {
        schema,
        now_ms: 1_700_000_000_000,
    };
    if let Ok(parsed) = SearchBody::parse(&body, &context) {
        let _ = compile(&parsed.query, &context);
    }
});
