//! The domain model shared by the server and the browser.

pub mod flow;
