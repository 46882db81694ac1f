//! Any bytes as an `aggs` object: the aggregation request parser answers an error or a
//! request tree, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use server::backend::embedded::search::aggs::parse_aggs;
use server::backend::embedded::search::query::QueryContext;
use server::backend::embedded::FlowSchema;

/// The flow schema, built once: building it is most of an execution's cost otherwise.
fn schema() -> &'static FlowSchema {
    static SCHEMA: std::sync::OnceLock<FlowSchema> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(FlowSchema::new)
}

fuzz_target!(|data: &[u8]| {
    let Ok(aggs) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let schema = schema();
    let context = QueryContext {
        schema,
        now_ms: 1_700_000_000_000,
    };
    let _ = parse_aggs(&aggs, &context);
});
