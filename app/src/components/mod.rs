//! Reusable UI pieces. They wire signals to logic that lives in plain modules.

pub mod account;
pub mod chart_canvas;
pub mod chart_panel;
pub mod latest;
pub mod markdown;
pub mod query_bar;
pub mod saved_queries;
pub mod share;
pub mod time_picker;
