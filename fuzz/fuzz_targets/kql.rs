//! Any text as KQL, the query bar's language: turned into the DSL as the browser does, then
//! parsed and compiled as the server does, never a panic or a stack overflow.
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
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(dsl) = app::model::kql::to_dsl(text) else {
        return;
    };
    let schema = schema();
    let context = QueryContext {
        schema,
        now_ms: 1_700_000_000_000,
    };
    let body = serde_json::json!({ "query": dsl });
    if let Ok(parsed) = SearchBody::parse(&body, &context) {
        let _ = compile(&parsed.query, &context);
    }
});
