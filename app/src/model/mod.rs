//! The domain model shared by the server and the browser.

pub mod dashboard;
pub mod filter;
pub mod flow;
pub mod index_pattern;
pub mod kql;
pub mod saved_object;
pub mod time;
pub mod visualization;
