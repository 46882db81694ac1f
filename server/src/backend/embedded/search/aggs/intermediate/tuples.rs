//! Keys of several values (`multi_terms`, `composite`) as one segment holds them: fixed-width
//! rows of words in one table, numbered in order of first sight. Top conversations over a
//! day of flows meet as many distinct (source, destination, port, protocol) tuples as flows,
//! millions per segment: a tuple of its own on the heap each, kept twice (by number and in
//! the map), cost about 270 bytes and an allocation, and a day of flows ran out of the
//! search's memory. A row of words and an 8-byte slot in the index cost about 50.
//!
//! A row is a mask of the sources that have a value (bit `i` for source `i`), then each
//! source's segment-local key in its [`KeyCodec::width`] words (zero when missing).

use std::hash::Hasher;
use std::sync::Arc;

use tantivy::columnar::column_values::{CompactHit, CompactSpaceU64Accessor};
use tantivy::columnar::StrColumn;

use super::best::Ranked;
use super::stat_rows::StatRows;
use super::{BucketKey, IntermediateBucket};

/// How one source's segment-local key is held in words, and turned into a value and back.
#[derive(Clone)]
pub enum KeyCodec {
    /// A term ordinal of the segment's dictionary.
    Term(StrColumn),
    /// An address's compact code in the segment's value space.
    AddressCode(Arc<CompactSpaceU64Accessor>),
    /// An address as itself (two words).
    Address,
    /// An integer or a date in epoch milliseconds, as its bits.
    Integer,
    /// A histogram key, `f64::to_bits`.
    Float,
}

impl KeyCodec {
    /// Words a key takes in a row.
    pub fn width(&self) -> usize {
        match self {
            KeyCodec::Address => 2,
            _ => 1,
        }
    }

    /// The value a segment-local key stands for.
    pub fn value(&self, key: u128) -> Option<BucketKey> {
        Some(match self {
            KeyCodec::Term(dict) => {
                let mut text = String::new();
                dict.ord_to_str(key as u64, &mut text).ok()?.then_some(())?;
                BucketKey::Str(text)
            }
            KeyCodec::AddressCode(space) => BucketKey::Ip(space.compact_to_u128(key as u32)),
            KeyCodec::Address => BucketKey::Ip(key),
            KeyCodec::Integer => BucketKey::I64(key as u64 as i64),
            KeyCodec::Float => BucketKey::F64(key as u64),
        })
    }

    /// The segment-local key of a value; `None` when the segment has no such value.
    pub fn local(&self, value: &BucketKey) -> Option<u128> {
        match (self, value) {
            (KeyCodec::Term(dict), BucketKey::Str(text)) => {
                dict.dictionary().term_ord(text).ok()?.map(u128::from)
            }
            (KeyCodec::AddressCode(space), BucketKey::Ip(address)) => {
                match space.u128_to_next_compact(*address) {
                    CompactHit::Exact(code) => Some(u128::from(code)),
                    _ => None,
                }
            }
            (KeyCodec::Address, BucketKey::Ip(address)) => Some(*address),
            (KeyCodec::Integer, BucketKey::I64(value)) => Some(*value as u64 as u128),
            (KeyCodec::Float, BucketKey::F64(bits)) => Some(u128::from(*bits)),
            _ => None,
        }
    }
}

/// The sources of a tuple and where each one's key lies in a row.
#[derive(Clone)]
pub struct TupleLayout {
    codecs: Vec<KeyCodec>,
    /// Where each source's words start.
    starts: Vec<usize>,
    width: usize,
}

impl TupleLayout {
    pub fn new(codecs: Vec<KeyCodec>) -> TupleLayout {
        let mask_words = codecs.len().div_ceil(64).max(1);
        let mut starts = Vec::with_capacity(codecs.len());
        let mut width = mask_words;
        for codec in &codecs {
            starts.push(width);
            width += codec.width();
        }
        TupleLayout {
            codecs,
            starts,
            width,
        }
    }

    /// Words per row.
    pub fn width(&self) -> usize {
        self.width
    }

    /// An empty row: no source has a value yet.
    pub fn clear(&self, row: &mut [u64]) {
        row.fill(0);
    }

    /// Readies a row that every source will set a key in: only its mask is cleared, since
    /// the keys set write every other word, and clearing a row of a few words was a call to
    /// `memset` per document.
    #[inline]
    pub fn clear_mask(&self, row: &mut [u64]) {
        let mask_words = self.starts.first().copied().unwrap_or(self.width);
        row[0] = 0;
        if mask_words > 1 {
            row[1..mask_words].fill(0);
        }
    }

    /// Sets source `source`'s key in a row.
    #[inline]
    pub fn set(&self, row: &mut [u64], source: usize, key: u128) {
        row[source / 64] |= 1 << (source % 64);
        let start = self.starts[source];
        row[start] = key as u64;
        if self.codecs[source].width() == 2 {
            row[start + 1] = (key >> 64) as u64;
        }
    }

    /// Source `source`'s key in a row, if it has one.
    #[inline]
    pub fn get(&self, row: &[u64], source: usize) -> Option<u128> {
        if row[source / 64] & (1 << (source % 64)) == 0 {
            return None;
        }
        let start = self.starts[source];
        let low = u128::from(row[start]);
        Some(match self.codecs[source].width() {
            2 => low | u128::from(row[start + 1]) << 64,
            _ => low,
        })
    }

    /// The values of a row, one per source (`missing[i]` for a source without one); `None`
    /// when a key does not decode, or a missing value has no bucket.
    pub fn values(&self, row: &[u64], missing: &[Option<BucketKey>]) -> Option<BucketKey> {
        let values = (0..self.codecs.len())
            .map(|source| match self.get(row, source) {
                Some(key) => self.codecs[source].value(key),
                None => missing.get(source)?.clone(),
            })
            .collect::<Option<Box<[BucketKey]>>>()?;
        Some(BucketKey::Tuple(values))
    }

    /// The row of a key of values whose every source has a value in this segment.
    pub fn row_of(&self, key: &BucketKey, row: &mut [u64]) -> Option<()> {
        let BucketKey::Tuple(values) = key else {
            return None;
        };
        if values.len() != self.codecs.len() {
            return None;
        }
        self.clear(row);
        for (source, (codec, value)) in self.codecs.iter().zip(values.iter()).enumerate() {
            self.set(row, source, codec.local(value)?);
        }
        Some(())
    }
}

/// Rows of words, each numbered when first held; a number let go keeps its row's words until
/// it is held again.
#[derive(Clone)]
pub struct TupleTable {
    width: usize,
    words: Vec<u64>,
    /// The numbers held, each with its row's hash, found by that hash: growing the table
    /// then reads no row, where reading them (scattered over hundreds of megabytes) was a
    /// tenth of the time of a day's conversations.
    index: HashIndex,
}

impl TupleTable {
    pub fn new(width: usize) -> TupleTable {
        TupleTable {
            width,
            words: Vec::new(),
            index: HashIndex::default(),
        }
    }

    /// How many numbers were given (held or let go).
    pub fn numbered(&self) -> usize {
        self.words.len() / self.width.max(1)
    }

    /// How many rows are held.
    pub fn held(&self) -> usize {
        self.index.len
    }

    /// The numbers held, in no order.
    pub fn held_numbers(&self) -> impl Iterator<Item = u32> + '_ {
        self.index.numbers()
    }

    /// The words of row `number`.
    #[inline]
    pub fn row(&self, number: u32) -> &[u64] {
        let start = number as usize * self.width;
        &self.words[start..start + self.width]
    }

    /// A row's hash, for [`TupleTable::find_hashed`] and [`TupleTable::push_hashed`].
    #[inline]
    pub fn hash(row: &[u64]) -> u32 {
        hash(row)
    }

    /// Asks the cache for where a row with this hash would be looked for: a block of
    /// documents asks for all of its rows' places first, and their misses overlap instead of
    /// coming one after the other.
    #[inline]
    pub fn prefetch(&self, hash: u32) {
        self.index.prefetch(hash);
    }

    /// The number of a held row.
    #[inline]
    pub fn find(&self, row: &[u64]) -> Option<u32> {
        self.find_hashed(row, hash(row))
    }

    /// The number of a held row whose hash is known.
    #[inline]
    pub fn find_hashed(&self, row: &[u64], hash: u32) -> Option<u32> {
        let words = &self.words;
        let width = self.width;
        self.index.find(hash, |number| {
            let start = number as usize * width;
            // Word by word: a call to `memcmp` for a few words cost more than comparing.
            words[start..start + width].iter().eq(row)
        })
    }

    /// Makes room for one more row, the memory it takes first asked of `charge`: the rows
    /// and the index grow by doubling, and what each doubling takes is charged when it is
    /// made. False when `charge` refuses; nothing grew then.
    pub fn make_room(&mut self, charge: impl FnOnce(usize) -> bool) -> bool {
        let words_needed = self.words.len() + self.width;
        let words = (words_needed > self.words.capacity()).then(|| {
            (2 * self.words.capacity())
                .max(words_needed)
                .max(16 * self.width)
        });
        let slots = self.index.slots_for(self.index.len + 1);
        let bytes = words.map_or(0, |words| {
            (words - self.words.capacity()) * std::mem::size_of::<u64>()
        }) + slots.map_or(0, |slots| {
            (slots - self.index.capacity()) * std::mem::size_of::<u64>()
        });
        if bytes > 0 && !charge(bytes) {
            return false;
        }
        if let Some(words) = words {
            self.words.reserve_exact(words - self.words.len());
        }
        if let Some(slots) = slots {
            self.index.resize(slots);
        }
        true
    }

    /// Holds a row that is not held, under a new number.
    pub fn push(&mut self, row: &[u64]) -> u32 {
        self.push_hashed(row, hash(row))
    }

    /// Holds a row that is not held and whose hash is known, under a new number.
    pub fn push_hashed(&mut self, row: &[u64], hash: u32) -> u32 {
        let number = self.numbered() as u32;
        self.words.extend_from_slice(row);
        self.index.insert(number, hash);
        number
    }

    /// Holds a row that is not held, under a number let go.
    pub fn reuse(&mut self, number: u32, row: &[u64]) {
        let start = number as usize * self.width;
        self.words[start..start + self.width].copy_from_slice(row);
        self.index.insert(number, hash(row));
    }

    /// Lets a number go: its row is no longer found.
    pub fn let_go(&mut self, number: u32) {
        self.index.remove(number, hash(self.row(number)));
    }

    /// Lets every row go and forgets the numbers.
    pub fn clear(&mut self) {
        self.words.clear();
        self.index.clear();
    }
}

/// Numbers found by a 32-bit hash: open addressing with linear probing, a slot being a
/// number and its hash in one word (`hash << 32 | number + 1`, 0 when empty). A new tuple
/// (over a day of flows, nearly every one) is a miss, which linear probing answers in the
/// slot's cache line or the next; and a slot's place is known from the hash alone, so it
/// can be asked of the cache ahead of time.
#[derive(Clone, Default)]
struct HashIndex {
    /// A power of two of them, or none.
    slots: Vec<u64>,
    len: usize,
}

impl HashIndex {
    /// The least slots: 16 (two cache lines).
    const MIN_SLOTS: usize = 16;

    fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// The slots to grow to for `held` numbers, if the present ones are too few: at most
    /// three in four are used, so that a miss probes a few slots.
    fn slots_for(&self, held: usize) -> Option<usize> {
        (held * 4 > self.slots.len() * 3).then(|| (2 * self.slots.len()).max(Self::MIN_SLOTS))
    }

    #[inline]
    fn home(&self, hash: u32) -> usize {
        hash as usize & (self.slots.len() - 1)
    }

    #[inline]
    fn prefetch(&self, hash: u32) {
        #[cfg(target_arch = "x86_64")]
        if !self.slots.is_empty() {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let slot = &self.slots[self.home(hash)];
            // SAFETY: a prefetch only hints the cache; it reads nothing and cannot fault, and
            // SSE is part of every x86-64 target.
            unsafe { _mm_prefetch::<_MM_HINT_T0>((slot as *const u64).cast()) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = hash;
    }

    /// The number with this hash that `is_it` accepts.
    #[inline]
    fn find(&self, hash: u32, mut is_it: impl FnMut(u32) -> bool) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut at = self.home(hash);
        loop {
            let slot = self.slots[at];
            if slot == 0 {
                return None;
            }
            let number = (slot as u32).wrapping_sub(1);
            if (slot >> 32) as u32 == hash && is_it(number) {
                return Some(number);
            }
            at = (at + 1) & mask;
        }
    }

    /// Adds a number not held, growing when there is no room (uncharged: tables whose
    /// memory counts make room first).
    fn insert(&mut self, number: u32, hash: u32) {
        if let Some(slots) = self.slots_for(self.len + 1) {
            self.resize(slots);
        }
        self.place(u64::from(hash) << 32 | (u64::from(number) + 1));
        self.len += 1;
    }

    /// Puts an occupied slot's word in the first free slot from its home.
    #[inline]
    fn place(&mut self, word: u64) {
        let mask = self.slots.len() - 1;
        let mut at = self.home((word >> 32) as u32);
        while self.slots[at] != 0 {
            at = (at + 1) & mask;
        }
        self.slots[at] = word;
    }

    /// Moves every number to a table of `slots` slots (a power of two); reads no row.
    fn resize(&mut self, slots: usize) {
        let old = std::mem::replace(&mut self.slots, vec![0; slots]);
        for word in old.into_iter().filter(|&word| word != 0) {
            self.place(word);
        }
    }

    /// Removes a number, shifting back the slots after it that probed past its place, so
    /// that no search stops short of them.
    fn remove(&mut self, number: u32, hash: u32) {
        let Some(mut hole) = self.position(number, hash) else {
            return;
        };
        let mask = self.slots.len() - 1;
        let mut next = (hole + 1) & mask;
        loop {
            let word = self.slots[next];
            if word == 0 {
                break;
            }
            let home = self.home((word >> 32) as u32);
            // The slot may fill the hole when its home is not between the hole and itself.
            if next.wrapping_sub(home) & mask >= next.wrapping_sub(hole) & mask {
                self.slots[hole] = word;
                hole = next;
            }
            next = (next + 1) & mask;
        }
        self.slots[hole] = 0;
        self.len -= 1;
    }

    fn position(&self, number: u32, hash: u32) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let word = u64::from(hash) << 32 | (u64::from(number) + 1);
        let mask = self.slots.len() - 1;
        let mut at = self.home(hash);
        loop {
            match self.slots[at] {
                0 => return None,
                found if found == word => return Some(at),
                _ => at = (at + 1) & mask,
            }
        }
    }

    fn numbers(&self) -> impl Iterator<Item = u32> + '_ {
        self.slots
            .iter()
            .filter(|&&word| word != 0)
            .map(|&word| (word as u32).wrapping_sub(1))
    }

    fn clear(&mut self) {
        self.slots.fill(0);
        self.len = 0;
    }
}

/// One segment's buckets of a `multi_terms` whose sources all have values, with single-pass
/// statistics below: its tuples stay rows, and only the buckets that must be merged (the
/// candidates for the best, see [`super::best`]) are decoded into keys of values.
#[derive(Clone)]
pub struct TupleRun {
    layout: TupleLayout,
    table: TupleTable,
    /// Each bucket's tuple number, ascending.
    numbers: Vec<u32>,
    rows: StatRows,
    pub ranked: Option<Ranked>,
}

impl TupleRun {
    /// Buckets `rows`, the tuple of row `i` being number `numbers[i]` of `table`.
    pub fn new(layout: TupleLayout, table: TupleTable, numbers: Vec<u32>, rows: StatRows) -> Self {
        debug_assert!(numbers.is_sorted());
        TupleRun {
            layout,
            table,
            numbers,
            rows,
            ranked: None,
        }
    }

    pub fn len(&self) -> usize {
        self.numbers.len()
    }

    pub fn rows(&self) -> &StatRows {
        &self.rows
    }

    /// What the run's table, numbers, rows and ranking take on the heap.
    pub fn heap_bytes(&self) -> usize {
        (self.table.words.capacity() + self.table.index.capacity()) * std::mem::size_of::<u64>()
            + self.numbers.capacity() * std::mem::size_of::<u32>()
            + self.rows.heap_bytes()
            + self.ranked.as_ref().map_or(0, Ranked::heap_bytes)
    }

    /// The key of bucket `index`.
    pub fn key(&self, index: usize) -> BucketKey {
        self.layout
            .values(self.table.row(self.numbers[index]), &[])
            // Every tuple held was read from the segment, so every key decodes.
            .unwrap_or(BucketKey::Null)
    }

    /// Where the bucket of `key` is, if the segment has one.
    pub fn find(&self, key: &BucketKey) -> Option<usize> {
        // Only candidates for the best are looked up: fewer than the buckets of a run (see
        // `BestBuckets::merge_candidates`), usually a few hundred.
        let mut row = vec![0; self.layout.width()];
        self.layout.row_of(key, &mut row)?;
        let number = self.table.find(&row)?;
        self.numbers.binary_search(&number).ok()
    }

    /// Every bucket, by key.
    pub fn into_keyed(self) -> Vec<(BucketKey, IntermediateBucket)> {
        let mut keyed: Vec<_> = (0..self.len())
            .map(|index| (self.key(index), self.rows.bucket(index)))
            .collect();
        keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        keyed
    }
}

impl std::fmt::Debug for TupleRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TupleRun({} buckets)", self.len())
    }
}

impl PartialEq for TupleRun {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self.rows == other.rows
            && (0..self.len()).all(|index| self.key(index) == other.key(index))
    }
}

/// A row's 32-bit hash: FxHash's, mixed once more so that every bit of the row reaches the
/// 32 bits kept (Fx's last multiplication leaves its low bits weak).
#[inline]
fn hash(row: &[u64]) -> u32 {
    let mut hasher = rustc_hash::FxHasher::default();
    for word in row {
        hasher.write_u64(*word);
    }
    (hasher.finish().wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_charged_before_it_is_made_and_covers_what_is_held() {
        let width = 3;
        let mut table = TupleTable::new(width);
        let mut charged = 0;
        for i in 0..5000u64 {
            let row = [1, i, i * 7];
            assert!(table.make_room(|bytes| {
                charged += bytes;
                true
            }));
            let (words, slots) = (table.words.capacity(), table.index.capacity());
            table.push(&row);
            assert_eq!(
                (table.words.capacity(), table.index.capacity()),
                (words, slots),
                "a push after making room allocates nothing"
            );
            assert!(
                charged >= table.words.capacity() * 8 + table.index.capacity() * 8,
                "row {i}: {charged} bytes charged"
            );
        }
        // A refusal leaves the table as it was.
        let full_words = table.words.capacity();
        while table.words.len() + width <= table.words.capacity() {
            assert!(table.make_room(|_| true));
            table.push(&[2, table.numbered() as u64, 0]);
        }
        let held = table.held();
        assert!(!table.make_room(|_| false));
        assert_eq!(
            (table.held(), table.words.capacity() >= full_words),
            (held, true)
        );
        assert_eq!(table.words.len(), table.words.capacity(), "still full");
    }

    #[test]
    fn the_index_finds_every_number_held_after_removals_in_crowded_runs() {
        // Hashes sharing their low bits crowd into runs of neighbouring slots, wrapping
        // around the end; removing from the middle of a run must leave the rest findable.
        let mut index = HashIndex::default();
        let hash_of = |number: u32| ((number % 7) << 20) | ((number % 3) * 15);
        let mut held: Vec<u32> = (0..3000).collect();
        for &number in &held {
            index.insert(number, hash_of(number));
        }
        let mut state = 12345u64;
        for round in 0..2000 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let at = (state >> 33) as usize % held.len();
            let gone = held.swap_remove(at);
            index.remove(gone, hash_of(gone));
            assert_eq!(index.find(hash_of(gone), |n| n == gone), None);
            if round % 3 == 0 {
                // A number let go comes back, as a page's numbers do.
                index.insert(gone, hash_of(gone));
                held.push(gone);
            }
        }
        assert_eq!(index.len, held.len());
        for &number in &held {
            assert_eq!(index.find(hash_of(number), |n| n == number), Some(number));
        }
        let mut listed: Vec<u32> = index.numbers().collect();
        listed.sort_unstable();
        held.sort_unstable();
        assert_eq!(listed, held);
        index.clear();
        assert_eq!((index.len, index.numbers().count()), (0, 0));
    }

    #[test]
    fn rows_are_numbered_found_let_go_and_reused() {
        let layout = TupleLayout::new(vec![KeyCodec::Integer, KeyCodec::Address]);
        assert_eq!(layout.width(), 4, "a mask, an integer, an address");
        let mut table = TupleTable::new(layout.width());
        let mut row = vec![0; layout.width()];
        let mut rows = Vec::new();
        for i in 0..1000u128 {
            layout.clear(&mut row);
            layout.set(&mut row, 0, i);
            if i % 3 > 0 {
                layout.set(&mut row, 1, i << 70 | i);
            }
            assert_eq!(table.find(&row), None);
            assert_eq!(table.push(&row), i as u32);
            rows.push(row.clone());
        }
        for (number, row) in rows.iter().enumerate() {
            assert_eq!(table.find(row), Some(number as u32));
            assert_eq!(layout.get(row, 0), Some(number as u128));
            let address = (number % 3 > 0).then_some((number as u128) << 70 | number as u128);
            assert_eq!(layout.get(row, 1), address);
        }
        table.let_go(5);
        assert_eq!(table.find(&rows[5]), None);
        assert_eq!(table.held(), 999);
        let mut fresh = vec![0; layout.width()];
        layout.set(&mut fresh, 0, 5000);
        table.reuse(5, &fresh);
        assert_eq!(table.find(&fresh), Some(5));
        assert_eq!(table.find(&rows[6]), Some(6));
        assert_eq!(table.numbered(), 1000);
        let missing = [None, Some(BucketKey::Null)];
        assert_eq!(
            layout.values(&rows[0], &missing),
            Some(BucketKey::Tuple(
                [BucketKey::I64(0), BucketKey::Null].into()
            ))
        );
        let key = layout.values(&rows[4], &missing).unwrap();
        let mut again = vec![0; layout.width()];
        layout.row_of(&key, &mut again).unwrap();
        assert_eq!(again, rows[4]);
    }
}
