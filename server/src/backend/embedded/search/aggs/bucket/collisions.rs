//! Which conversation digests of a segment stand for more than one conversation.
//!
//! The top conversations' exact pass groups the flows of a few heavy bins (see `sieve.rs`),
//! about a third of a day's flows, and reading their four key columns was most of its cost.
//! A flow's digest already tells its conversation apart from nearly every other: within a
//! segment, a digest that only one conversation has stands for that conversation. So the
//! first flow of a digest is grouped by its keys, and the next ones take its bucket by the
//! digest alone, unless the digest is one that several conversations share in this segment.
//!
//! Which are is found by reading the keys of every flow of the segment in the bins a search
//! groups, once: segments do not change, so the answer is kept with the segment's columns
//! (see `column_cache.rs`) and later searches of the same bins read no keys for it.

use rustc_hash::{FxHashMap, FxHashSet};
use tantivy::DocId;

use super::super::super::columns::{Accessor, RawBlockScratch};
use super::sieve::in_bins;
use crate::backend::embedded::conversation::{self, DigestCollisions};

/// Documents read at a time while checking.
const CHECK_BLOCK: u32 = 4096;

/// The most digests a check keeps the keys of (about 90 bytes each): past them, it gives up,
/// and the search groups the segment's flows by their keys.
const MAX_CHECKED_DIGESTS: usize = 1 << 18;

/// The digests that several conversations share among the flows of a segment (all of them,
/// deleted ones too: a superset is as safe) in `bins`, a bit per bin. Each source's keys
/// are read as the grouping reads them (`keys`, in the digested fields' order); a flow
/// without a digest of its own is left out, as its flows are always grouped by their keys.
/// `None` when a column cannot be read a block at a time, or the bins hold more than
/// [`MAX_CHECKED_DIGESTS`] digests: it holds a row of keys per digest of the bins.
pub fn shared_digests(
    max_doc: DocId,
    digests: &Accessor,
    keys: &[&Accessor],
    bins: &[u64],
) -> Option<Vec<u64>> {
    let checked = |digest: u64| digest < conversation::UNDIGESTED as u64 && in_bins(bins, digest);
    let mut scratch = RawBlockScratch::default();
    let (mut block, mut block_digests) = (Vec::new(), Vec::new());
    let (mut picked, mut picked_digests) = (Vec::new(), Vec::new());
    let mut key_columns: Vec<Vec<Option<u64>>> = vec![Vec::new(); keys.len()];
    // Each digest's first keys, `keys.len()` words from its offset in `seen_keys`.
    let mut first: FxHashMap<u64, usize> = FxHashMap::default();
    let mut seen_keys: Vec<Option<u64>> = Vec::new();
    let mut shared = FxHashSet::default();
    let mut start = 0;
    while start < max_doc {
        block.clear();
        block.extend(start..max_doc.min(start.saturating_add(CHECK_BLOCK)));
        start = start.saturating_add(CHECK_BLOCK);
        if !digests.read_raw_block(&block, &mut scratch, &mut block_digests) {
            return None;
        }
        picked.clear();
        picked_digests.clear();
        for (&doc, digest) in block.iter().zip(&block_digests) {
            if let Some(digest) = digest.filter(|&digest| checked(digest)) {
                picked.push(doc);
                picked_digests.push(digest);
            }
        }
        for (column, out) in keys.iter().zip(&mut key_columns) {
            if !column.read_raw_block(&picked, &mut scratch, out) {
                return None;
            }
        }
        for (position, &digest) in picked_digests.iter().enumerate() {
            let flow_keys = key_columns.iter().map(|column| column[position]);
            match first.get(&digest) {
                Some(&offset) => {
                    let seen = &seen_keys[offset..offset + keys.len()];
                    if !flow_keys.eq(seen.iter().copied()) {
                        shared.insert(digest);
                    }
                }
                None if first.len() == MAX_CHECKED_DIGESTS => return None,
                None => {
                    first.insert(digest, seen_keys.len());
                    seen_keys.extend(flow_keys);
                }
            }
        }
    }
    let mut shared: Vec<u64> = shared.into_iter().collect();
    shared.sort_unstable();
    Some(shared)
}

/// A segment's grouping by digest: each digest's bucket number once its first flow was
/// grouped by its keys.
#[derive(Clone, Default)]
pub struct DigestNumbers {
    collisions: DigestCollisions,
    numbers: FxHashMap<u64, u32>,
}

impl DigestNumbers {
    pub fn new(collisions: DigestCollisions) -> DigestNumbers {
        DigestNumbers {
            collisions,
            numbers: FxHashMap::default(),
        }
    }

    /// The bucket of a flow with this digest, if an earlier flow gave it one.
    #[inline]
    pub fn number(&self, digest: u64) -> Option<u32> {
        self.numbers.get(&digest).copied()
    }

    /// Records the bucket a flow with this digest was grouped in by its keys: the next flows
    /// of the digest take it too, unless other conversations share the digest.
    #[inline]
    pub fn learn(&mut self, digest: u64, number: u32) {
        if digest < conversation::UNDIGESTED as u64 && !self.collisions.is_shared(digest) {
            self.numbers.insert(digest, number);
        }
    }
}
