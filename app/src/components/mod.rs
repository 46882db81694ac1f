//! Reusable UI pieces. They wire signals to logic that lives in plain modules.

pub mod chart_canvas;
