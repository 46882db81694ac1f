//! What one search may spend: memory for aggregation buckets, and time. Collection cannot
//! return an error (tantivy's collector API), so a search that runs out, or whose segment
//! collector cannot be made, stops collecting, and the search answers the error once its
//! collectors return: Elasticsearch's `circuit_breaking_exception` (429) for memory, a timeout
//! (504) for time, and the [`SearchError`] itself otherwise.
//!
//! A search past its deadline stops using its thread: every collector checks the guard
//! between blocks of documents.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Mutex;
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

pub struct SearchGuard {
    deadline: Instant,
    timeout: Duration,
    budget: usize,
    used: AtomicUsize,
    state: AtomicU8,
    /// The first error met while collecting, for [`FAILED`].
    failure: Mutex<Option<SearchError>>,
}

impl SearchGuard {
    /// A guard for a search that may run for `timeout` and collect `budget` bytes.
    pub fn new(timeout: Duration, budget: usize) -> SearchGuard {
        SearchGuard {
            deadline: Instant::now() + timeout,
            timeout,
            budget,
            used: AtomicUsize::new(0),
            state: AtomicU8::new(RUNNING),
            failure: Mutex::new(None),
        }
    }

    /// Takes `bytes` from the budget. False once it is spent: the caller does not allocate,
    /// and the search ends with a circuit-breaking error.
    #[inline]
    pub fn charge(&self, bytes: usize) -> bool {
        let used = self.used.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if used > self.budget {
            self.stop(OUT_OF_MEMORY);
            return false;
        }
        true
    }

    /// Whether collection should stop (out of memory or time); a load, for the hot path.
    #[inline]
    pub fn stopped(&self) -> bool {
        self.state.load(Ordering::Relaxed) != RUNNING
    }

    /// Reads the clock: stops the search once its deadline has passed.
    pub fn check_deadline(&self) -> bool {
        if Instant::now() >= self.deadline {
            self.stop(OUT_OF_TIME);
        }
        self.stopped()
    }

    /// Stops the search with `error`, met where it cannot be returned (making a segment's
    /// collector); the first error wins.
    pub fn fail(&self, error: SearchError) {
        if let Ok(mut failure) = self.failure.lock() {
            failure.get_or_insert(error);
        }
        self.stop(FAILED);
    }

    fn stop(&self, why: u8) {
        let _ = self
            .state
            .compare_exchange(RUNNING, why, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// The search's error, if it ran out of memory or time.
    pub fn outcome(&self) -> Result<(), SearchError> {
        match self.state.load(Ordering::Relaxed) {
            OUT_OF_MEMORY => Err(SearchError::CircuitBreaking(format!(
                "[request] Data too large: the aggregations of this search would take more than {} while collected; ask for fewer buckets (smaller sizes, fewer nested levels) or a shorter time range",
                size_text(self.budget)
            ))),
            OUT_OF_TIME => Err(SearchError::TimedOut(self.timeout.as_millis() as u64)),
            FAILED => Err(self
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
}
