//! Any bytes as an `aggs` object: the aggregation request parser answers an error or a
//! request tree, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use server::backend::embedded::search::aggs::request::parse_aggs;
use server::backend::embedded::search::query::QueryContext;
use server::backend::embedded::FlowSchema;

fuzz_target!(|data: &[u8]| {
    let Ok(aggs) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let schema = FlowSchema::new();
    let context = QueryContext {
        schema: &schema,
        now_ms: 1_700_000_000_000,
    };
    let _ = parse_aggs(&aggs, &context);
});
