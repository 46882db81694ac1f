//! One module per route.

pub mod dashboard;
pub mod editor;
pub mod index_patterns;
pub mod objects;
