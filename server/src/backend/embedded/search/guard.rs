//! What one search may spend: memory for aggregation buckets, and time. Collection cannot
//! return an error (tantivy's collector API), so a search that runs out, or whose segment
//! collector cannot be made, stops collecting, and the search answers the error once its
//! collectors return: Elasticsearch's `circuit_breaking_exception` (429) for memory, a timeout
//! (504) for time, and the [`SearchError`] itself otherwise.
//!
//! Memory is counted while it is held: a segment collects under a [`SearchGuard::scope`] of its
//! own, whose charges are given back when its state is dropped, and what the segment hands on
//! (its harvested buckets, held until every segment is merged) is charged to the search. A
//! month holds hundreds of segments, and counting every segment's tables of buckets as if all
//! were held at once failed searches that held a fraction of the budget.
//!
//! A search past its deadline stops using its thread: every collector checks the guard
//! between blocks of documents.

use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::SearchError;

/// Bytes one search's aggregation buckets may take while they are collected, unless the
/// server sets another budget (Elasticsearch's request circuit breaker). Two nested
/// 65 535-bucket `terms` took 4.7 GB before their 400.
pub const DEFAULT_COLLECT_BYTES: usize = 1 << 30;

const RUNNING: u8 = 0;
const OUT_OF_MEMORY: u8 = 1;
const OUT_OF_TIME: u8 = 2;
const FAILED: u8 = 3;

/// Numbers searches in the order they start (see [`SearchGuard::search`]).
static SEARCHES: AtomicU64 = AtomicU64::new(1);

/// A number no other search of the process has.
pub fn next_search_number() -> u64 {
    SEARCHES.fetch_add(1, Ordering::Relaxed)
}

/// The budget, deadline and state of one search, shared by its scopes.
struct Limits {
    /// The search's number (see [`next_search_number`]).
    search: u64,
    deadline: Instant,
    timeout: Duration,
    budget: usize,
    /// Bytes held now, over every scope.
    used: AtomicUsize,
    /// The most held at once, for the search's log line.
    peak: AtomicUsize,
    state: AtomicU8,
    /// The first error met while collecting, for [`FAILED`].
    failure: Mutex<Option<SearchError>>,
}

/// A search's memory budget and deadline, as seen by one holder of memory: the search itself,
/// or one segment's collection ([`SearchGuard::scope`]). Dropping it gives back what it charged.
pub struct SearchGuard {
    limits: Arc<Limits>,
    /// Bytes charged through this guard and not yet given back.
    held: AtomicUsize,
}

impl std::fmt::Debug for SearchGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchGuard")
            .field("held", &self.held_bytes())
            .finish_non_exhaustive()
    }
}

impl Drop for SearchGuard {
    fn drop(&mut self) {
        self.limits
            .used
            .fetch_sub(*self.held.get_mut(), Ordering::Relaxed);
    }
}

impl SearchGuard {
    /// A guard for a search that may run for `timeout` and collect `budget` bytes.
    pub fn new(timeout: Duration, budget: usize) -> SearchGuard {
        SearchGuard {
            limits: Arc::new(Limits {
                search: next_search_number(),
                deadline: Instant::now() + timeout,
                timeout,
                budget,
                used: AtomicUsize::new(0),
                peak: AtomicUsize::new(0),
                state: AtomicU8::new(RUNNING),
                failure: Mutex::new(None),
            }),
            held: AtomicUsize::new(0),
        }
    }

    /// The search's number: its columns are kept apart from others' (see
    /// [`super::column_cache`]).
    pub fn search(&self) -> u64 {
        self.limits.search
    }

    /// A guard under the same budget and deadline whose charges are given back when it is
    /// dropped: for what one segment's collection holds, and for results until they are
    /// merged.
    pub fn scope(&self) -> SearchGuard {
        SearchGuard {
            limits: self.limits.clone(),
            held: AtomicUsize::new(0),
        }
    }

    /// Takes `bytes` from the budget until this guard is dropped. False once it is spent: the
    /// caller does not allocate, and the search ends with a circuit-breaking error.
    #[inline]
    pub fn charge(&self, bytes: usize) -> bool {
        self.held.fetch_add(bytes, Ordering::Relaxed);
        let used = self.limits.used.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.limits.peak.fetch_max(used, Ordering::Relaxed);
        if used > self.limits.budget {
            self.stop(OUT_OF_MEMORY);
            return false;
        }
        true
    }

    /// Bytes charged through this guard and not yet given back.
    pub fn held_bytes(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// Makes this guard hold `bytes`: charges the growth (false once the budget is spent, as
    /// [`SearchGuard::charge`]) or gives back the rest.
    pub fn recharge(&mut self, bytes: usize) -> bool {
        let held = *self.held.get_mut();
        if bytes >= held {
            return self.charge(bytes - held);
        }
        *self.held.get_mut() = bytes;
        self.limits.used.fetch_sub(held - bytes, Ordering::Relaxed);
        true
    }

    /// Takes over what `other` (a scope of the same search) holds: given back when this guard
    /// is dropped.
    pub fn take_over(&mut self, mut other: SearchGuard) {
        debug_assert!(Arc::ptr_eq(&self.limits, &other.limits));
        *self.held.get_mut() += std::mem::take(other.held.get_mut());
    }

    /// The bytes the search may hold at once.
    pub fn budget(&self) -> usize {
        self.limits.budget
    }

    /// The most bytes the search held at once.
    pub fn peak_bytes(&self) -> usize {
        self.limits.peak.load(Ordering::Relaxed)
    }

    /// Whether collection should stop (out of memory or time); a load, for the hot path.
    #[inline]
    pub fn stopped(&self) -> bool {
        self.limits.state.load(Ordering::Relaxed) != RUNNING
    }

    /// Reads the clock: stops the search once its deadline has passed.
    pub fn check_deadline(&self) -> bool {
        if Instant::now() >= self.limits.deadline {
            self.stop(OUT_OF_TIME);
        }
        self.stopped()
    }

    /// Stops the search with `error`, met where it cannot be returned (making a segment's
    /// collector); the first error wins.
    pub fn fail(&self, error: SearchError) {
        if let Ok(mut failure) = self.limits.failure.lock() {
            failure.get_or_insert(error);
        }
        self.stop(FAILED);
    }

    fn stop(&self, why: u8) {
        let _ =
            self.limits
                .state
                .compare_exchange(RUNNING, why, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// The search's error, if it ran out of memory or time.
    pub fn outcome(&self) -> Result<(), SearchError> {
        let limits = &self.limits;
        match limits.state.load(Ordering::Relaxed) {
            OUT_OF_MEMORY => Err(SearchError::CircuitBreaking(format!(
                "[request] Data too large: the aggregations of this search would take more than {} while collected; ask for fewer buckets (smaller sizes, fewer nested levels) or a shorter time range",
                size_text(limits.budget)
            ))),
            OUT_OF_TIME => Err(SearchError::TimedOut(limits.timeout.as_millis() as u64)),
            FAILED => Err(limits
                .failure
                .lock()
                .ok()
                .and_then(|failure| failure.clone())
                .unwrap_or_else(|| SearchError::Internal("the search failed".into()))),
            _ => Ok(()),
        }
    }
}

/// A budget in the largest unit it fills: `64 MiB`, `512 KiB`.
fn size_text(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spent_budget_or_a_passed_deadline_stops_the_search() {
        let guard = SearchGuard::new(Duration::from_secs(60), 1000);
        assert!(guard.charge(600));
        assert!(!guard.stopped());
        assert!(!guard.charge(600));
        assert!(guard.stopped());
        assert!(matches!(
            guard.outcome(),
            Err(SearchError::CircuitBreaking(_))
        ));

        let guard = SearchGuard::new(Duration::ZERO, 1000);
        assert!(guard.check_deadline());
        assert_eq!(guard.outcome(), Err(SearchError::TimedOut(0)));
    }

    #[test]
    fn a_scope_gives_back_its_memory_when_dropped_and_shares_the_outcome() {
        let search = SearchGuard::new(Duration::from_secs(60), 1000);
        assert!(search.charge(100));
        for _ in 0..20 {
            let segment = search.scope();
            assert!(segment.charge(800));
        }
        assert!(!search.stopped());
        assert_eq!(search.peak_bytes(), 900);

        // What a scope still holds counts against the search, and its failure is the search's.
        let segment = search.scope();
        assert!(segment.charge(500));
        assert!(!search.charge(500));
        assert!(segment.stopped());
        assert!(matches!(
            segment.outcome(),
            Err(SearchError::CircuitBreaking(_))
        ));
        drop(segment);
        assert_eq!(search.limits.used.load(Ordering::Relaxed), 600);

        // Results merged from two scopes hold what the merge left.
        let search = SearchGuard::new(Duration::from_secs(60), 1000);
        let (mut merged, part) = (search.scope(), search.scope());
        assert!(merged.charge(300) && part.charge(400));
        merged.take_over(part);
        assert!(merged.recharge(500));
        assert_eq!(search.limits.used.load(Ordering::Relaxed), 500);
        assert!(!merged.recharge(1200));
        drop(merged);
        assert_eq!(search.limits.used.load(Ordering::Relaxed), 0);
    }
}
