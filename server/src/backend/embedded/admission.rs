//! Admission of searches to the engine: a few run at once, a bounded number wait their turn,
//! and past that a search is refused at once with a 429 (Elasticsearch's
//! `es_rejected_execution_exception`), so overload cannot pile up work no one waits for.
//!
//! A search keeps its place until its work on the blocking pool ends, not until its caller
//! stops waiting: a caller whose deadline passed must not make room for more work while its
//! own still runs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::backend::BackendError;

/// Searches that may wait for a place; Elasticsearch's search queue holds 1000.
pub const MAX_WAITING: usize = 1000;

/// Admission of searches: as many run at once as the engine has search threads, up to
/// [`MAX_WAITING`] wait for a place, and more are refused (a 429).
pub struct SearchAdmission {
    running: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_running: usize,
}

/// One search's place; dropping it lets the next one in.
pub struct Admitted(#[allow(dead_code)] OwnedSemaphorePermit);

impl SearchAdmission {
    /// `max_running` searches at once: each already spreads its segments over every search
    /// thread, so more at once only share the same cores.
    pub fn new(max_running: usize) -> SearchAdmission {
        SearchAdmission {
            running: Arc::new(Semaphore::new(max_running.max(1))),
            waiting: AtomicUsize::new(0),
            max_running: max_running.max(1),
        }
    }

    /// Searches holding a place now.
    pub fn running(&self) -> usize {
        self.max_running - self.running.available_permits()
    }

    /// Waits for a place, or refuses when [`MAX_WAITING`] searches already wait.
    pub async fn admit(&self) -> Result<Admitted, BackendError> {
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::Relaxed);
            }
        }
        if self.waiting.fetch_add(1, Ordering::Relaxed) >= MAX_WAITING {
            self.waiting.fetch_sub(1, Ordering::Relaxed);
            return Err(BackendError::Overloaded(format!(
                "rejected execution: {} searches are running and {MAX_WAITING} are waiting; retry later",
                self.max_running
            )));
        }
        let _waiting = Waiting(&self.waiting);
        let permit = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| BackendError::Internal(e.to_string()))?;
        Ok(Admitted(permit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn searches_past_the_queue_are_refused_and_places_return() {
        let admission = SearchAdmission::new(1);
        let first = admission.admit().await.unwrap();
        // The queue fills with waiters that cannot get in while `first` runs.
        let mut waiters = Vec::new();
        for _ in 0..MAX_WAITING {
            let waiter = Box::pin(admission.admit());
            waiters.push(waiter);
        }
        for waiter in &mut waiters {
            assert!(futures_util::poll!(waiter.as_mut()).is_pending());
        }
        let refused = admission.admit().await.err().expect("the queue is full");
        assert_eq!(refused.status(), 429);
        assert_eq!(refused.kind(), "es_rejected_execution_exception");
        // A waiter that gives up leaves the queue.
        waiters.pop();
        let late = Box::pin(admission.admit());
        drop(first);
        let admitted = waiters.remove(0).await.unwrap();
        drop(admitted);
        drop(late);
    }
}
