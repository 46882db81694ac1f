//! Buckets whose sub-aggregations are all single-pass statistics (sum, avg, min, max,
//! value_count, stats), kept as rows of numbers: a terms aggregation over addresses has a
//! million buckets per segment, and a row of numbers each is what can be collected, chosen
//! from and merged without building a million bucket objects.

use std::ops::Range;

use smallvec::SmallVec;

use super::{IntermediateAgg, IntermediateBucket, IntermediateMetric, Stats};

/// The parts of [`Stats`] a single-pass metric keeps per bucket: those its answer reads, and
/// those the choice of the best buckets reads (whether a summed value can be negative).
/// Fewer parts make smaller rows, and rows updated in random order cost their cache misses:
/// a sum over values that cannot be negative keeps the sum alone, which halved the rows of a
/// top-talkers table and took a third off its time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StatLanes {
    /// The count of values; minimum and maximum need it too (is this value the first?).
    count: bool,
    sum: bool,
    min: bool,
    max: bool,
}

impl StatLanes {
    /// A value count's lanes: the count alone.
    pub const COUNT: StatLanes = StatLanes::new(true, false, false, false);
    /// A sum's lanes over values that are never negative: the sum alone.
    pub const UNSIGNED_SUM: StatLanes = StatLanes::new(false, true, false, false);
    /// A sum's lanes over values that may be negative: the choice of the best buckets reads
    /// the minimum to know.
    pub const SIGNED_SUM: StatLanes = StatLanes::new(true, true, true, false);

    /// Lanes keeping the count, sum, minimum and maximum as asked. Without a count, the one
    /// lane kept is the sum.
    pub const fn new(count: bool, sum: bool, min: bool, max: bool) -> StatLanes {
        StatLanes {
            count,
            sum,
            min,
            max,
        }
    }

    pub fn width(self) -> usize {
        [self.count, self.sum, self.min, self.max]
            .into_iter()
            .map(usize::from)
            .sum()
    }

    /// Counts a value into this metric's `width()` numbers.
    #[inline]
    pub fn add(self, lanes: &mut [f64], value: f64) {
        if !self.count {
            lanes[0] += value;
            return;
        }
        let first = lanes[0] == 0.0;
        lanes[0] += 1.0;
        let mut at = 1;
        if self.sum {
            lanes[at] += value;
            at += 1;
        }
        if self.min {
            lanes[at] = if first { value } else { lanes[at].min(value) };
            at += 1;
        }
        if self.max {
            lanes[at] = if first { value } else { lanes[at].max(value) };
        }
    }

    /// Adds the numbers of `from`, another bucket's lanes of this metric, into `into`.
    fn merge(self, into: &mut [f64], from: &[f64]) {
        if !self.count {
            into[0] += from[0];
            return;
        }
        if from[0] == 0.0 {
            return;
        }
        let first = into[0] == 0.0;
        into[0] += from[0];
        let mut at = 1;
        if self.sum {
            into[at] += from[at];
            at += 1;
        }
        let pick_min: fn(f64, f64) -> f64 = f64::min;
        for (kept, pick) in [(self.min, pick_min), (self.max, f64::max)] {
            if kept {
                into[at] = if first {
                    from[at]
                } else {
                    pick(into[at], from[at])
                };
                at += 1;
            }
        }
    }

    /// The statistics of these lanes. Without a count (a sum that is never negative) the count
    /// reads 0, which tells the choice of the best buckets that no value is negative.
    fn stats(self, lanes: &[f64]) -> Stats {
        let mut stats = Stats::default();
        if !self.count {
            stats.sum = lanes[0];
            return stats;
        }
        if lanes[0] == 0.0 {
            return stats;
        }
        stats.count = lanes[0] as u64;
        let mut at = 1;
        if self.sum {
            stats.sum = lanes[at];
            at += 1;
        }
        if self.min {
            stats.min = lanes[at];
            at += 1;
        }
        if self.max {
            stats.max = lanes[at];
        }
        stats
    }
}

/// Rows of numbers, one per bucket: the document count (0 for no bucket yet), then each
/// sub-aggregation's [`StatLanes`]. All zeros at first, so a large table comes from the system
/// untouched and only the pages of buckets that occur are ever written. Counts are exact in
/// an `f64` up to 2^53.
#[derive(Debug)]
pub struct StatRows {
    cells: Vec<f64>,
    /// A bit per row that may have been written to (every row written to has its bit), so
    /// that [`StatRows::compact`] reads those alone: a port's rows number 65,536, and a Sankey
    /// keeps them for each pair of networks, mostly empty. Reading every row was a tenth of
    /// its time. Empty for tables made with fewer than [`TRACKED_ROWS`] rows (those that grow
    /// as buckets are numbered are written through): every row is read, which costs less
    /// than marking each write.
    touched: Vec<u64>,
    /// Each sub-aggregation's lanes and where they start in a row.
    lanes: Vec<(StatLanes, usize)>,
    stride: usize,
}

impl StatRows {
    /// `rows` empty rows.
    pub fn new(rows: usize, lanes: &[StatLanes]) -> StatRows {
        let mut placed = Vec::with_capacity(lanes.len());
        let mut stride = 1;
        for lane in lanes {
            placed.push((*lane, stride));
            stride += lane.width();
        }
        let cells = vec![0.0; rows * stride];
        advise_huge_pages(&cells);
        StatRows {
            cells,
            touched: untouched(rows),
            lanes: placed,
            stride,
        }
    }

    /// `rows` empty rows laid out as these are.
    pub fn empty_like(&self, rows: usize) -> StatRows {
        let lanes: Vec<StatLanes> = self.lanes.iter().map(|(lanes, _)| *lanes).collect();
        StatRows::new(rows, &lanes)
    }

    /// Adds row `from_row` of `from` (laid out as these are) into row `row`.
    pub fn merge_row(&mut self, row: usize, from: &StatRows, from_row: usize) {
        let stride = self.stride;
        let (Some(into), Some(from)) = (
            self.cells.get_mut(row * stride..(row + 1) * stride),
            from.cells.get(from_row * stride..(from_row + 1) * stride),
        ) else {
            return;
        };
        touch(&mut self.touched, row);
        into[0] += from[0];
        for (lanes, at) in &self.lanes {
            let width = lanes.width();
            lanes.merge(&mut into[*at..*at + width], &from[*at..*at + width]);
        }
    }

    /// The memory `rows` rows take.
    pub fn bytes(rows: usize, lanes: &[StatLanes]) -> usize {
        rows * (1 + lanes.iter().map(|l| l.width()).sum::<usize>()) * std::mem::size_of::<f64>()
    }

    /// How many rows there are.
    pub fn row_count(&self) -> usize {
        self.cells.len() / self.stride
    }

    /// Adds empty rows up to `rows`.
    pub fn grow(&mut self, rows: usize) {
        if !self.touched.is_empty() {
            self.touched.resize(rows.div_ceil(64), 0);
        }
        self.cells.resize(rows * self.stride, 0.0);
    }

    /// The memory one row takes.
    pub fn row_bytes(&self) -> usize {
        self.stride * std::mem::size_of::<f64>()
    }

    /// The bytes its cells take.
    pub fn heap_bytes(&self) -> usize {
        self.cells.len() * std::mem::size_of::<f64>() + self.touched.len() * 8
    }

    /// Counts a document into row `row` (out of range: nothing), its sub-aggregations' values
    /// coming from `value(position)`.
    #[inline]
    pub fn add(&mut self, row: usize, mut value: impl FnMut(usize) -> Option<f64>) {
        let Some(cells) = self
            .cells
            .get_mut(row * self.stride..(row + 1) * self.stride)
        else {
            return;
        };
        touch(&mut self.touched, row);
        cells[0] += 1.0;
        for (position, (lanes, at)) in self.lanes.iter().enumerate() {
            if let Some(value) = value(position) {
                lanes.add(&mut cells[*at..*at + lanes.width()], value);
            }
        }
    }

    /// Counts a block of documents: `keys[i]` is document i's row, `values[metric][i]` its
    /// value for each sub-aggregation.
    pub fn add_block(&mut self, keys: &[Option<u64>], values: &[Vec<Option<i64>>]) {
        self.add_run(keys, values, 0..keys.len());
    }

    /// Counts the documents at `run` of a block read as [`StatRows::add_block`] takes it.
    pub fn add_run(
        &mut self,
        keys: &[Option<u64>],
        values: &[Vec<Option<i64>>],
        run: Range<usize>,
    ) {
        let keys = &keys[run.clone()];
        if self.lanes.is_empty() {
            // Counts alone (flows per minute by action): a row is its count.
            for row in keys.iter().flatten() {
                if let Some(count) = self.cells.get_mut(*row as usize) {
                    *count += 1.0;
                    touch(&mut self.touched, *row as usize);
                }
            }
            return;
        }
        // A sum alone (top talkers) is the common case, and its rows the smallest: the loop
        // without the general row's per-lane bookkeeping.
        if let ([(lanes, 1)], [values]) = (&self.lanes[..], values) {
            if *lanes == StatLanes::UNSIGNED_SUM {
                for (key, value) in keys.iter().zip(&values[run]) {
                    let Some(row) = key.map(|key| key as usize) else {
                        continue;
                    };
                    if let Some([count, sum]) = self.cells.get_mut(row * 2..row * 2 + 2) {
                        *count += 1.0;
                        *sum += value.map_or(0.0, |v| v as f64);
                        touch(&mut self.touched, row);
                    }
                }
                return;
            }
        }
        for (position, key) in run.zip(keys) {
            if let Some(key) = key {
                self.add(*key as usize, |metric| {
                    values[metric][position].map(|v| v as f64)
                });
            }
        }
    }

    /// Starts loading a row into the cache: the rows of a block of documents are scattered
    /// over more memory than the caches hold, and asking for all of them first lets their
    /// loads overlap instead of queueing.
    #[inline]
    pub fn prefetch(&self, row: usize) {
        #[cfg(target_arch = "x86_64")]
        if let Some(cell) = self.cells.get(row * self.stride) {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            // SAFETY: a prefetch only hints the cache; it reads nothing and cannot fault, and
            // SSE is part of every x86-64 target.
            unsafe { _mm_prefetch::<_MM_HINT_T0>((cell as *const f64).cast()) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = row;
    }

    pub fn doc_count(&self, row: usize) -> u64 {
        self.cells[row * self.stride] as u64
    }

    /// The statistics of sub-aggregation `position` in row `row`.
    pub fn stats(&self, row: usize, position: usize) -> Option<Stats> {
        let (lanes, at) = self.lanes.get(position)?;
        let start = row * self.stride + at;
        Some(lanes.stats(&self.cells[start..start + lanes.width()]))
    }

    /// Row `row` as a bucket.
    pub fn bucket(&self, row: usize) -> IntermediateBucket {
        IntermediateBucket {
            doc_count: self.doc_count(row),
            subs: (0..self.lanes.len())
                .filter_map(|position| self.stats(row, position))
                .map(|stats| IntermediateAgg::Metric(IntermediateMetric::Stats(stats)))
                .collect::<SmallVec<_>>(),
        }
    }

    /// The rows that have documents, with their positions, in order.
    pub fn compact(mut self) -> (Vec<u32>, StatRows) {
        let mut positions = Vec::new();
        let (stride, rows) = (self.stride, self.row_count());
        // In place: a row only ever moves towards the front.
        let mut kept = 0;
        let mut keep = |cells: &mut Vec<f64>, position: usize| {
            let from = position * stride;
            if cells[from] > 0.0 {
                positions.push(position as u32);
                cells.copy_within(from..from + stride, kept * stride);
                kept += 1;
            }
        };
        if self.touched.is_empty() {
            (0..rows).for_each(|position| keep(&mut self.cells, position));
        } else {
            for (word, &bits) in self.touched.iter().enumerate() {
                let mut bits = bits;
                while bits != 0 {
                    let position = word * 64 + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    if position < rows {
                        keep(&mut self.cells, position);
                    }
                }
            }
        }
        self.cells.truncate(kept * stride);
        self.cells.shrink_to_fit();
        self.touched = untouched(kept);
        self.touched.fill(u64::MAX);
        (positions, self)
    }
}

impl Clone for StatRows {
    /// A copy of rows none of which was written to is made as new ones are, untouched: a
    /// bucket below a split starts from its prototype's rows (a Sankey's port rows, 512 KB),
    /// and copying those zeros was a twentieth of the Sankey's time.
    fn clone(&self) -> StatRows {
        if !self.touched.is_empty() && self.touched.iter().all(|&word| word == 0) {
            return self.empty_like(self.row_count());
        }
        StatRows {
            cells: self.cells.clone(),
            touched: self.touched.clone(),
            lanes: self.lanes.clone(),
            stride: self.stride,
        }
    }
}

impl PartialEq for StatRows {
    /// Rows are equal by their numbers, whichever were written to.
    fn eq(&self, other: &StatRows) -> bool {
        self.cells == other.cells && self.lanes == other.lanes && self.stride == other.stride
    }
}

/// Tables made with at least this many rows keep the bits of those written to (see
/// [`StatRows::touched`]).
const TRACKED_ROWS: usize = 4096;

/// [`StatRows::touched`] for `rows` rows none of which was written to.
fn untouched(rows: usize) -> Vec<u64> {
    if rows >= TRACKED_ROWS {
        vec![0; rows.div_ceil(64)]
    } else {
        Vec::new()
    }
}

/// Marks a row as written to, where the rows keep track.
#[inline]
fn touch(touched: &mut [u64], row: usize) {
    if let Some(word) = touched.get_mut(row / 64) {
        *word |= 1 << (row % 64);
    }
}

/// Asks Linux to back the 2 MiB-aligned part of a large, untouched table with huge pages.
/// Rows of an address aggregation are updated in random order over tens of megabytes: with
/// 4 KiB pages nearly every update misses the TLB, and the first write to each page faults.
fn advise_huge_pages(cells: &[f64]) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = cells.as_ptr() as usize;
        let end = start + std::mem::size_of_val(cells);
        let (first, last) = (start.next_multiple_of(HUGE), end / HUGE * HUGE);
        if last > first {
            // SAFETY: the range lies inside `cells`' allocation, and MADV_HUGEPAGE only changes
            // how the kernel backs those pages, never their contents.
            unsafe {
                libc::madvise(
                    first as *mut libc::c_void,
                    last - first,
                    libc::MADV_HUGEPAGE,
                )
            };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cells;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sum_keeps_its_count_and_minimum_only_when_values_can_be_negative() {
        let signed = [StatLanes::SIGNED_SUM];
        let mut rows = StatRows::new(2, &signed);
        rows.add(1, |_| Some(-3.0));
        rows.add(1, |_| Some(5.0));
        let stats = rows.stats(1, 0).unwrap();
        assert_eq!((stats.count, stats.sum, stats.min), (2, 2.0, -3.0));

        let unsigned = [StatLanes::UNSIGNED_SUM];
        assert_eq!(StatRows::bytes(1, &unsigned), 16, "doc count and sum");
        let mut rows = StatRows::new(2, &unsigned);
        rows.add(1, |_| Some(3.0));
        rows.add(1, |_| None);
        rows.add(1, |_| Some(5.0));
        let stats = rows.stats(1, 0).unwrap();
        assert_eq!(
            (stats.sum, stats.count),
            (8.0, 0),
            "no count: nothing negative"
        );
        assert_eq!(rows.doc_count(1), 3);
        assert_eq!(rows.compact().0, vec![1]);
    }

    #[test]
    fn compacting_keeps_every_row_written_to_in_order_whichever_way_it_was() {
        // Rows across several words of the written-to bits, written by each path: a count
        // alone, a sum alone, a general row, a merge, and rows past a growth; in tables too
        // small to keep the bits, in tables that keep them, and in one that grows to.
        let counted = |rows: &mut StatRows, keys: &[u64]| {
            let keys: Vec<Option<u64>> = keys.iter().map(|&key| Some(key)).collect();
            let values: Vec<Vec<Option<i64>>> = rows
                .lanes
                .iter()
                .map(|_| vec![Some(2); keys.len()])
                .collect();
            rows.add_block(&keys, &values);
        };
        let lanes: [&[StatLanes]; 3] = [
            &[],
            &[StatLanes::UNSIGNED_SUM],
            &[StatLanes::SIGNED_SUM, StatLanes::COUNT],
        ];
        let sizes = [
            (200, 1_000),
            (200, 2 * TRACKED_ROWS),
            (TRACKED_ROWS, 3 * TRACKED_ROWS),
        ];
        for (lanes, (first, grown)) in lanes.into_iter().flat_map(|l| sizes.map(|s| (l, s))) {
            let mut rows = StatRows::new(first, lanes);
            counted(&mut rows, &[130, 3, 64, 130, 199]);
            rows.add(70, |_| Some(1.0));
            let mut other = rows.empty_like(first);
            counted(&mut other, &[5]);
            rows.merge_row(7, &other, 5);
            // A row merged from an empty one has no documents, and is left out.
            rows.merge_row(8, &other, 6);
            rows.grow(grown);
            counted(&mut rows, &[grown as u64 - 100]);
            let before = rows.clone();
            assert_eq!(before, rows, "rows written to are copied");
            let unwritten = StatRows::new(grown, lanes);
            assert_eq!(unwritten.clone(), unwritten);
            let (positions, compacted) = rows.compact();
            let last = grown as u32 - 100;
            assert_eq!(
                positions,
                [3, 7, 64, 70, 130, 199, last],
                "{lanes:?} {grown}"
            );
            for (kept, &position) in positions.iter().enumerate() {
                assert_eq!(
                    compacted.bucket(kept),
                    before.bucket(position as usize),
                    "{lanes:?}"
                );
            }
            assert_eq!(compacted.row_count(), positions.len());
            // Compacted rows compact to themselves.
            assert_eq!(compacted.clone().compact().1, compacted);
        }
    }
}
