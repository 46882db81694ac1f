//! One module per route, and `latest`, which the dashboard and the editor share.

pub mod dashboard;
pub mod discover;
pub mod editor;
pub mod index_patterns;
mod latest;
pub mod objects;
