//! Identical searches in flight at once run once. A dashboard's refresh asks the same dozen
//! searches of every viewer; when they arrive together, the first runs and the others wait
//! for its answer instead of for a place of their own.
//!
//! Searches are identical when their request-cache keys are ([`super::request_cache::key`]):
//! the same request over the same indices in the same state, so an answer is never shared
//! with a search that would have seen other data. The shared search runs in a task of its
//! own: a caller that stops waiting (a closed browser tab) leaves it running for the others.
//! The task leaves the table when it ends, before anyone reads its answer, so no search
//! begun later is answered by it; a later one finds the answer in the request cache instead.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::future::{BoxFuture, FutureExt, Shared};
use serde_json::Value as Json;

use crate::backend::BackendError;

type SharedAnswer = Shared<BoxFuture<'static, Result<Arc<Json>, BackendError>>>;

/// The searches running now, by key.
#[derive(Default)]
pub struct InFlight {
    running: Mutex<HashMap<String, SharedAnswer>>,
    /// Searches answered by another's run.
    joined: AtomicU64,
}

impl InFlight {
    /// The answer of `search`, or of the identical search already running under `key`.
    pub async fn run_once<F>(self: &Arc<Self>, key: String, search: F) -> Result<Json, BackendError>
    where
        F: Future<Output = Result<Json, BackendError>> + Send + 'static,
    {
        let (answer, leader) = {
            let mut running = self.lock();
            match running.get(&key) {
                Some(answer) => {
                    self.joined.fetch_add(1, Ordering::Relaxed);
                    (answer.clone(), None)
                }
                None => {
                    let (send, receive) = tokio::sync::oneshot::channel();
                    let answer = async move {
                        receive.await.unwrap_or_else(|_| {
                            Err(BackendError::Internal("the search task ended early".into()))
                        })
                    }
                    .boxed()
                    .shared();
                    running.insert(key.clone(), answer.clone());
                    (answer, Some(send))
                }
            }
        };
        // Spawned once the table is unlocked: a task the runtime drops at once (it is
        // shutting down) takes its entry out, which needs the lock.
        if let Some(send) = leader {
            let leave = Leave {
                in_flight: self.clone(),
                key,
            };
            tokio::spawn(async move {
                let answer = search.await.map(Arc::new);
                // Out of the table before anyone reads the answer.
                drop(leave);
                let _ = send.send(answer);
            });
        }
        answer.await.map(Arc::unwrap_or_clone)
    }

    /// Searches answered by an identical one's run, since the start.
    pub fn joined(&self) -> u64 {
        self.joined.load(Ordering::Relaxed)
    }

    /// Searches running now.
    pub fn running(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, SharedAnswer>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Takes a search's entry out of the table when its task ends.
struct Leave {
    in_flight: Arc<InFlight>,
    key: String,
}

impl Drop for Leave {
    fn drop(&mut self) {
        self.in_flight.lock().remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use serde_json::json;
    use tokio::sync::oneshot;

    use super::*;

    /// A search that answers `n` once `gate` opens, counting its runs.
    fn gated(
        runs: &Arc<AtomicUsize>,
        gate: oneshot::Receiver<()>,
        n: u64,
    ) -> impl Future<Output = Result<Json, BackendError>> + Send + 'static {
        let runs = runs.clone();
        async move {
            runs.fetch_add(1, Ordering::SeqCst);
            let _ = gate.await;
            Ok(json!({ "n": n }))
        }
    }

    #[tokio::test]
    async fn identical_searches_at_once_run_once() {
        let in_flight = Arc::new(InFlight::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let (open, gate) = oneshot::channel();
        let first = tokio::spawn({
            let in_flight = in_flight.clone();
            let search = gated(&runs, gate, 1);
            async move { in_flight.run_once("k".into(), search).await }
        });
        tokio::task::yield_now().await;
        while in_flight.running() == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // Joins: its own search is never run.
        let (_never, closed) = oneshot::channel();
        let second = tokio::spawn({
            let in_flight = in_flight.clone();
            let search = gated(&runs, closed, 2);
            async move { in_flight.run_once("k".into(), search).await }
        });
        while in_flight.joined() == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        open.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap(), json!({ "n": 1 }));
        assert_eq!(second.await.unwrap().unwrap(), json!({ "n": 1 }));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(in_flight.running(), 0);
    }

    #[tokio::test]
    async fn an_abandoned_search_runs_on_for_the_others_and_answers_no_one_later() {
        let in_flight = Arc::new(InFlight::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let (open, gate) = oneshot::channel();
        // The first caller stops waiting at once; its search keeps running.
        let abandoned = tokio::time::timeout(
            Duration::from_millis(5),
            in_flight.run_once("k".into(), gated(&runs, gate, 1)),
        )
        .await;
        assert!(abandoned.is_err(), "the caller gave up");
        assert_eq!(in_flight.running(), 1);
        let joined = tokio::spawn({
            let in_flight = in_flight.clone();
            let (_never, closed) = oneshot::channel();
            let search = gated(&runs, closed, 2);
            async move { in_flight.run_once("k".into(), search).await }
        });
        while in_flight.joined() == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        open.send(()).unwrap();
        assert_eq!(joined.await.unwrap().unwrap(), json!({ "n": 1 }));
        assert_eq!(in_flight.running(), 0);

        // Begun after that search ended, the same key runs afresh.
        let (open, gate) = oneshot::channel();
        open.send(()).unwrap();
        let later = in_flight.run_once("k".into(), gated(&runs, gate, 3)).await;
        assert_eq!(later.unwrap(), json!({ "n": 3 }));
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn an_error_reaches_every_waiter_and_the_entry_leaves() {
        let in_flight = Arc::new(InFlight::default());
        let failing = async { Err(BackendError::Timeout(5)) };
        let error = in_flight.run_once("k".into(), failing).await.unwrap_err();
        assert_eq!(error, BackendError::Timeout(5));
        assert_eq!(in_flight.running(), 0);
    }
}
