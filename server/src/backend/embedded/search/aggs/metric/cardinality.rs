//! `cardinality`: the distinct values themselves are kept, so the count is exact
//! (Elasticsearch approximates it with HyperLogLog++). A segment keeps its keys (term
//! ordinals, address codes, number bits); harvest turns them into sorted values that merge
//! as runs (see [`DistinctRuns`]).

use std::collections::HashSet;

use super::super::super::columns::Accessor;
use super::super::intermediate::DistinctRuns;

/// The keys a cardinality has seen in a segment.
#[derive(Clone)]
pub enum DistinctKeys {
    Set(HashSet<u128>),
    /// A bit per key of a dense key space (term ordinals, address codes), for a cardinality
    /// that is not under a bucket: over a week of flows a hash set of a million addresses
    /// was most of the search.
    Bits(Vec<u64>),
}

impl DistinctKeys {
    /// A bit per key of a dense key space of `keys` keys.
    pub fn bits(keys: usize) -> DistinctKeys {
        DistinctKeys::Bits(vec![0; keys.div_ceil(64)])
    }

    #[inline]
    pub fn insert(&mut self, key: u128) {
        match self {
            DistinctKeys::Set(set) => {
                set.insert(key);
            }
            DistinctKeys::Bits(bits) => {
                if let Some(word) = bits.get_mut((key / 64) as usize) {
                    *word |= 1 << (key % 64);
                }
            }
        }
    }

    /// The keys, ascending.
    fn into_sorted(self) -> Vec<u128> {
        match self {
            DistinctKeys::Set(set) => {
                let mut keys: Vec<u128> = set.into_iter().collect();
                keys.sort_unstable();
                keys
            }
            DistinctKeys::Bits(bits) => {
                let mut keys = Vec::new();
                for (index, mut word) in bits.into_iter().enumerate() {
                    while word != 0 {
                        keys.push(index as u128 * 64 + u128::from(word.trailing_zeros()));
                        word &= word - 1;
                    }
                }
                keys
            }
        }
    }
}

/// A segment's distinct keys as sorted values: addresses as themselves, strings as 64-bit
/// digests, numbers as their bits.
pub fn harvest(distinct: DistinctKeys, accessor: &Accessor) -> DistinctRuns {
    let keys = distinct.into_sorted();
    let values = match accessor {
        // Address codes decode in order; digests and number bits do not.
        Accessor::IpCode { .. } => accessor.ips_in_order(keys),
        _ => {
            let mut values: Vec<u128> = keys
                .into_iter()
                .map(|raw| match accessor {
                    Accessor::Str { .. } => u128::from(xxhash_rust::xxh3::xxh3_64(
                        accessor.term(raw as u64).unwrap_or_default().as_bytes(),
                    )),
                    _ => accessor.ip(raw),
                })
                .collect();
            values.sort_unstable();
            values.dedup();
            values
        }
    };
    DistinctRuns::from_sorted(values)
}
