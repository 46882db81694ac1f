//! Bucket aggregations: each splits documents into buckets, and runs its sub-aggregations in
//! each. Every kind collects into [`super::buckets::Buckets`].

pub mod address_sets;
pub mod auto_date_histogram;
pub mod collisions;
pub mod composite;
pub mod date_histogram;
pub mod filters;
pub mod histogram;
pub mod ip_prefix;
pub mod multi_key;
pub mod multi_terms;
pub mod range;
pub mod sieve;
pub mod significant_terms;
pub mod terms;
pub mod top_conversations;

#[cfg(test)]
mod auto_date_histogram_tests;
#[cfg(test)]
mod multi_key_tests;
#[cfg(test)]
mod sieve_tests;
#[cfg(test)]
mod significant_terms_tests;
