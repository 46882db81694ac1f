//! Any bytes as a search body (the query DSL and aggregations, as `/api/search` and `/es`
//! take them): parsed and compiled for tantivy, an error or a query, never a panic or a
//! stack overflow, however deep it nests.
#![no_main]

use libfuzzer_sys::fuzz_target;
use server::backend::embedded::search::query::{compile, QueryContext};
use server::backend::embedded::search::SearchBody;
use server::backend::embedded::FlowSchema;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let schema = FlowSchema::new();
    let context = QueryContext {
        schema: &schema,
        now_ms: 1_700_000_000_000,
    };
    if let Ok(parsed) = SearchBody::parse(&body, &context) {
        let _ = compile(&parsed.query, &context);
    }
});
