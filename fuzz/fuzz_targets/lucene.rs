//! Any text as a Lucene query string (`query_string`): parsed and compiled, never a panic or
//! a stack overflow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use server::backend::embedded::search::lucene::{parse, Options};
use server::backend::embedded::search::query::{compile, QueryContext};
use server::backend::embedded::FlowSchema;

/// The flow schema, built once: building it is most of an execution's cost otherwise.
fn schema() -> &'static FlowSchema {
    static SCHEMA: std::sync::OnceLock<FlowSchema> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(FlowSchema::new)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let schema = schema();
    let context = QueryContext {
        schema,
        now_ms: 1_700_000_000_000,
    };
    for default_and in [false, true] {
        let options = Options {
            default_field: None,
            default_and,
        };
        if let Ok(query) = parse(text, &options) {
            let _ = compile(&query, &context);
        }
    }
});
