//! Index writers share one memory budget (`--ingest-memory-mb`).
//!
//! An open writer holds its indexing memory (tantivy's arenas, written out as a segment when
//! full) and the set of ids stored in its index. Input spread over many days wants a writer
//! per day; without a budget each took 128 MB and eight could be open at once. Here the
//! writers a batch of documents needs share what the budget leaves after their id sets, and
//! a writer that must open first closes (commits) the least recently used ones until it fits.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::index::WriterFootprint;
use super::{EmbeddedEngine, EngineError, FlowIndex, MAX_OPEN_WRITERS};

/// The budget unless the server or command sets another: eight days at the most each gets,
/// as fast as writers without a budget were. A smaller budget costs speed on input spread
/// over many days (smaller segments, more merging): 256 MB ingested a shuffled week 9 %
/// slower.
pub const DEFAULT_WRITER_MEMORY_BYTES: usize = 1024 << 20;

/// The least indexing memory a writer gets: what one indexing thread needs.
pub const MIN_INDEXING_BYTES: usize = super::index::MIN_THREAD_BYTES;

/// The most indexing memory a writer gets: larger segments stopped paying off.
pub const MAX_INDEXING_BYTES: usize = 128 << 20;

/// How the writers of the next documents are opened and kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriterPlan {
    /// The indexing memory a writer that opens gets.
    pub indexing_bytes: usize,
    /// Whether the writers the documents need stay open while others close to make room:
    /// when even their least indexing memory would not fit in the budget, they close in
    /// turn like the rest, and the budget holds at the cost of more commits.
    pub needed_stay_open: bool,
}

/// The plan for `writers` writers about to be written together: each gets an equal share
/// of what `budget` leaves after their id sets (`id_set_bytes`), between
/// [`MIN_INDEXING_BYTES`] and [`MAX_INDEXING_BYTES`].
pub fn plan(budget: usize, writers: usize, id_set_bytes: usize) -> WriterPlan {
    let writers = writers.max(1);
    WriterPlan {
        indexing_bytes: (budget.saturating_sub(id_set_bytes) / writers)
            .clamp(MIN_INDEXING_BYTES, MAX_INDEXING_BYTES),
        needed_stay_open: writers * MIN_INDEXING_BYTES <= budget,
    }
}

/// An open writer as [`writers_to_close`] sees it.
#[derive(Clone, Copy, Debug)]
pub struct OpenWriter {
    /// What it holds.
    pub footprint: WriterFootprint,
    /// Whether the documents being written need it: such a writer closes only to keep the
    /// count of open writers within [`MAX_OPEN_WRITERS`], since it would open again at once.
    pub needed: bool,
}

/// Which of the `open` writers to close so that another holding `incoming` bytes fits in
/// `budget` and in [`MAX_OPEN_WRITERS`]: writers not needed, least recently used first, until
/// the rest and the newcomer fit; then needed ones while there are too many. Positions in
/// `open`.
pub fn writers_to_close(open: &[OpenWriter], incoming: usize, budget: usize) -> Vec<usize> {
    let mut by_age: Vec<usize> = (0..open.len()).collect();
    by_age.sort_by_key(|&at| (open[at].needed, open[at].footprint.last_used));
    let mut held: usize = open.iter().map(|w| w.footprint.bytes()).sum();
    let mut count = open.len();
    let mut close = Vec::new();
    for at in by_age {
        let over_budget = held + incoming > budget && !open[at].needed;
        if !over_budget && count < MAX_OPEN_WRITERS {
            break;
        }
        held -= open[at].footprint.bytes();
        count -= 1;
        close.push(at);
    }
    close
}

impl EmbeddedEngine {
    /// The memory index writers may hold together.
    pub fn writer_memory(&self) -> usize {
        self.writer_memory.load(Ordering::Relaxed)
    }

    /// Sets the memory index writers may hold together (`--ingest-memory-mb`).
    pub fn set_writer_memory(&self, bytes: usize) {
        self.writer_memory.store(bytes, Ordering::Relaxed);
    }

    /// How writers of these indices, the ones the next documents go to, are opened and kept.
    pub(super) fn plan_writers(&self, indices: &[Arc<FlowIndex>]) -> WriterPlan {
        let id_sets: usize = indices
            .iter()
            .map(|index| match index.writer_footprint() {
                Some(open) => open.id_set_bytes,
                None => index.id_set_bytes_when_opened(),
            })
            .sum();
        plan(self.writer_memory(), indices.len(), id_sets)
    }

    /// What the open writers hold together, and how many they are.
    pub fn writers_held(&self) -> (usize, usize) {
        self.indices()
            .iter()
            .filter_map(|index| index.writer_footprint())
            .fold((0, 0), |(bytes, count), f| (bytes + f.bytes(), count + 1))
    }

    /// Closes writers (see [`writers_to_close`]) until a writer of `index` opening with
    /// `indexing_bytes` fits in the budget; `needed` are the indices the documents being
    /// written go to. Nothing to do when its writer is open.
    pub(super) fn make_room_for(
        &self,
        index: &FlowIndex,
        indexing_bytes: usize,
        needed: &[Arc<FlowIndex>],
    ) -> Result<(), EngineError> {
        if index.writer_footprint().is_some() {
            return Ok(());
        }
        let (indices, open): (Vec<Arc<FlowIndex>>, Vec<OpenWriter>) = self
            .indices()
            .into_iter()
            .filter_map(|index| {
                let footprint = index.writer_footprint()?;
                // A writer opened when fewer days were being written holds more than its
                // share now: it may close, to open again with the share.
                let needed = needed.iter().any(|n| Arc::ptr_eq(n, &index))
                    && footprint.indexing_bytes <= indexing_bytes;
                Some((index, OpenWriter { footprint, needed }))
            })
            .unzip();
        let incoming = indexing_bytes + index.id_set_bytes_when_opened();
        for at in writers_to_close(&open, incoming, self.writer_memory()) {
            indices[at].close_writer()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    const MB: usize = 1 << 20;

    fn writer(age_s: u64, indexing_mb: usize, ids_mb: usize, needed: bool) -> OpenWriter {
        OpenWriter {
            footprint: WriterFootprint {
                last_used: Instant::now() - Duration::from_secs(age_s),
                indexing_bytes: indexing_mb * MB,
                id_set_bytes: ids_mb * MB,
            },
            needed,
        }
    }

    #[test]
    fn one_day_gets_the_most_and_many_days_share_what_the_id_sets_leave() {
        let share = |budget, writers, ids| plan(budget, writers, ids).indexing_bytes;
        assert_eq!(share(256 * MB, 1, 0), MAX_INDEXING_BYTES);
        assert_eq!(share(256 * MB, 8, 0), 32 * MB);
        assert_eq!(share(256 * MB, 8, 96 * MB), 20 * MB);
        // A budget too small for all still gives each writer what tantivy needs.
        assert_eq!(share(64 * MB, 30, 0), MIN_INDEXING_BYTES);
        assert_eq!(share(64 * MB, 1, 200 * MB), MIN_INDEXING_BYTES);
        assert_eq!(share(256 * MB, 0, 0), MAX_INDEXING_BYTES);
    }

    #[test]
    fn needed_writers_stay_open_only_when_their_least_memory_fits() {
        assert!(plan(256 * MB, 16, 0).needed_stay_open);
        // Their id sets do not count: closing a writer frees them only to load them again.
        assert!(plan(256 * MB, 8, 500 * MB).needed_stay_open);
        assert!(!plan(256 * MB, 17, 0).needed_stay_open);
        assert!(!plan(64 * MB, 9, 0).needed_stay_open);
    }

    #[test]
    fn the_least_recently_used_close_until_the_newcomer_fits() {
        let open = [
            writer(5, 64, 10, false),
            writer(50, 64, 10, false),
            writer(1, 64, 10, false),
        ];
        // 222 MB held: 32 more fit in 256, 40 do not.
        assert!(writers_to_close(&open, 32 * MB, 256 * MB).is_empty());
        assert_eq!(writers_to_close(&open, 40 * MB, 256 * MB), vec![1]);
        assert_eq!(writers_to_close(&open, 120 * MB, 256 * MB), vec![1, 0]);
        // A newcomer larger than the budget closes everything and opens alone.
        assert_eq!(writers_to_close(&open, 300 * MB, 256 * MB), vec![1, 0, 2]);
        assert!(writers_to_close(&[], 300 * MB, 256 * MB).is_empty());
    }

    #[test]
    fn writers_the_documents_need_stay_open_for_bytes_but_not_for_count() {
        let open = [
            writer(5, 64, 10, true),
            writer(50, 64, 10, true),
            writer(1, 64, 10, false),
        ];
        // Over budget: the one not needed closes, however recently it wrote; the needed ones
        // would only open again.
        assert_eq!(writers_to_close(&open, 120 * MB, 256 * MB), vec![2]);
        let many: Vec<OpenWriter> = (0..MAX_OPEN_WRITERS as u64)
            .map(|age| writer(age, 16, 0, true))
            .collect();
        assert_eq!(
            writers_to_close(&many, 16 * MB, 256 * MB),
            vec![MAX_OPEN_WRITERS - 1]
        );
    }
}
