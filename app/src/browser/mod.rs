//! Browser-only glue (compiled with the `hydrate` feature): HTTP from the page, canvas
//! drawing, resize observation. Components call into here; logic stays in plain modules.

pub mod canvas;
pub mod http;
