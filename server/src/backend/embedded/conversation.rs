//! A flow's conversation digest: 31 bits of a hash of its source, destination, destination
//! port and protocol, written at ingest into the `_conversation` column. The top
//! conversations' first pass sums flows by digest into a few thousand bins, so that the
//! exact pass groups only the flows of bins that can hold a top conversation (see
//! `search/aggs/bucket/sieve.rs`).
//!
//! The digest is stored: changing how it is computed needs a new column name, or stores
//! written before would be sieved by another function and lose flows.

use std::net::Ipv6Addr;

/// The fields digested, in order.
pub const FIELDS: [&str; 4] = ["srcaddr", "dstaddr", "dstport", "protocol"];

/// Written instead of a digest for a flow with several values of a digested field: it is in
/// conversations, but no one digest says which. Above every digest, and with the next one
/// within 32 bits, which the column packs every value in.
pub const UNDIGESTED: i64 = 1 << 31;

/// Written for a flow lacking one of the fields (a NODATA record): it is in no conversation.
/// Every flow gets a value, so one without is known to be older than digests.
pub const NO_CONVERSATION: i64 = UNDIGESTED + 1;

/// The digest of a conversation, from the values as the columns hold them (addresses as
/// IPv6, IPv4 mapped). Below 2^31 (see [`UNDIGESTED`]).
pub fn digest(source: Ipv6Addr, destination: Ipv6Addr, port: i64, protocol: i64) -> i64 {
    let mut bytes = [0u8; 48];
    bytes[..16].copy_from_slice(&source.octets());
    bytes[16..32].copy_from_slice(&destination.octets());
    bytes[32..40].copy_from_slice(&port.to_le_bytes());
    bytes[40..].copy_from_slice(&protocol.to_le_bytes());
    (xxhash_rust::xxh3::xxh3_64(&bytes) >> 33) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_the_stored_one_and_tells_conversations_apart() {
        let a: Ipv6Addr = "::ffff:10.0.0.1".parse().unwrap();
        let b: Ipv6Addr = "::ffff:10.0.0.2".parse().unwrap();
        // Stores hold digests made by earlier builds: this one must never change.
        assert_eq!(digest(a, b, 443, 6), 605_659_575);
        assert!((0..UNDIGESTED).contains(&digest(a, b, 443, 6)));
        assert_ne!(digest(a, b, 443, 6), digest(b, a, 443, 6));
        assert_ne!(digest(a, b, 443, 6), digest(a, b, 443, 17));
        assert_ne!(digest(a, b, 443, 6), digest(a, b, 22, 6));
    }
}
