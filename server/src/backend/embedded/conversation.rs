//! A flow's conversation digest: 31 bits of a hash of its source, destination, destination
//! port and protocol, written at ingest into the `_conversation` column. The top
//! conversations' first pass sums flows by digest into a few thousand bins, so that the
//! exact pass groups only the flows of bins that can hold a top conversation (see
//! `search/aggs/bucket/sieve.rs`).
//!
//! The digest is stored: changing how it is computed needs a new column name, or stores
//! written before would be sieved by another function and lose flows.

use std::net::Ipv6Addr;

use rustc_hash::FxHashSet;

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

/// How many bins a set of them holds, a bit per bin (see `search/aggs/bucket/sieve.rs`).
pub fn bin_count(bins: &[u64]) -> usize {
    bins.iter().map(|word| word.count_ones() as usize).sum()
}

/// What the top conversations learnt of a segment's digests (see
/// `search/aggs/bucket/collisions.rs`): the bins checked so far, a bit per bin, and the
/// digests that several conversations share in them.
#[derive(Clone, Debug, Default)]
pub struct DigestCollisions {
    /// A bit per bin; empty before the first check.
    checked: Vec<u64>,
    shared: FxHashSet<u64>,
}

impl DigestCollisions {
    /// The bins of `bins` (a bit per bin) not checked yet; `None` when all were.
    pub fn unchecked(&self, bins: &[u64]) -> Option<Vec<u64>> {
        let unchecked: Vec<u64> = bins
            .iter()
            .enumerate()
            .map(|(word, &bits)| bits & !self.checked.get(word).copied().unwrap_or(0))
            .collect();
        unchecked.iter().any(|&bits| bits != 0).then_some(unchecked)
    }

    /// Records a check of `bins`, which found `shared`.
    pub fn add(&mut self, bins: &[u64], shared: impl IntoIterator<Item = u64>) {
        if self.checked.len() < bins.len() {
            self.checked.resize(bins.len(), 0);
        }
        for (mine, &bits) in self.checked.iter_mut().zip(bins) {
            *mine |= bits;
        }
        self.shared.extend(shared);
    }

    /// Whether several conversations of the segment have this digest (of a checked bin).
    #[inline]
    pub fn is_shared(&self, digest: u64) -> bool {
        self.shared.contains(&digest)
    }
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

    #[test]
    fn bins_checked_are_remembered_with_what_they_share() {
        let mut bins = vec![0u64; 1024];
        bins[0] = 0b1010;
        let mut collisions = DigestCollisions::default();
        assert_eq!(collisions.unchecked(&bins), Some(bins.clone()));
        collisions.add(&bins, [7]);
        assert_eq!(collisions.unchecked(&bins), None);
        assert!(collisions.is_shared(7) && !collisions.is_shared(8));
        // A search of more bins checks only those not checked before.
        bins[0] = 0b1110;
        bins[3] = 1;
        let unchecked = collisions.unchecked(&bins).unwrap();
        assert_eq!((unchecked[0], unchecked[3]), (0b0100, 1));
    }
}
