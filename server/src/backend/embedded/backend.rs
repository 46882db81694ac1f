//! The embedded engine behind the [`SearchBackend`] trait. Searches are CPU work: they run on
//! the blocking pool, never on the async workers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures_util::future::{BoxFuture, FutureExt, Shared};
use serde_json::Value;

use super::{EmbeddedEngine, OnExistingId};
use crate::backend::{
    BackendError, BackendKind, ClusterInfo, FieldCaps, IndexSummary, SearchBackend,
};
use crate::ingest::DocSink;

/// The Elasticsearch version the embedded engine's responses follow.
pub const EMULATED_VERSION: &str = "7.10.2";

/// A search's answer, awaited by every request that asked it while it ran.
type SharedAnswer = Shared<BoxFuture<'static, Result<Arc<Value>, BackendError>>>;

/// The embedded engine behind [`SearchBackend`](crate::backend::SearchBackend).
#[derive(Clone)]
pub struct EmbeddedBackend {
    engine: Arc<EmbeddedEngine>,
    /// Searches without hits running now, by index expression and request: one asked again
    /// while it runs waits for that answer instead of running twice (many viewers of one
    /// dashboard refresh together). Finished ones leave; their answers stay in the
    /// engine's request cache.
    in_flight: Arc<Mutex<HashMap<String, SharedAnswer>>>,
}

impl EmbeddedBackend {
    /// A backend over an open engine.
    pub fn new(engine: Arc<EmbeddedEngine>) -> EmbeddedBackend {
        EmbeddedBackend {
            engine,
            in_flight: Arc::default(),
        }
    }

    async fn run_search(&self, index: String, body: Value) -> Result<Value, BackendError> {
        self.engine
            .run_search(move |engine| super::search::search(engine, &index, &body))
            .await
    }

    pub(super) fn in_flight(&self) -> std::sync::MutexGuard<'_, HashMap<String, SharedAnswer>> {
        self.in_flight.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The engine, for what the backend trait does not cover (`/es`, ingestion).
    pub fn engine(&self) -> &Arc<EmbeddedEngine> {
        &self.engine
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, BackendError> + Send + 'static,
) -> Result<T, BackendError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| BackendError::Internal(format!("search task failed: {e}")))?
}

#[async_trait]
impl SearchBackend for EmbeddedBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Embedded
    }

    async fn info(&self) -> Result<ClusterInfo, BackendError> {
        Ok(ClusterInfo {
            version: EMULATED_VERSION.to_owned(),
            distribution: "elasticsearch".to_owned(),
        })
    }

    async fn search(&self, index: &str, body: Value) -> Result<Value, BackendError> {
        // The searches the request cache keeps (no hits, no `now`) are the ones shared.
        let shareable = body.get("size").and_then(Value::as_u64) == Some(0);
        let key = format!("{index}\u{0}{body}");
        if !shareable || key.contains("now") {
            return self.run_search(index.to_owned(), body).await;
        }
        let answer = {
            let mut in_flight = self.in_flight();
            match in_flight.get(&key) {
                Some(running) => running.clone(),
                None => {
                    let backend = self.clone();
                    let (index, own_key) = (index.to_owned(), key.clone());
                    let running = async move {
                        let answer = backend.run_search(index, body).await.map(Arc::new);
                        backend.in_flight().remove(&own_key);
                        answer
                    }
                    .boxed()
                    .shared();
                    in_flight.insert(key, running.clone());
                    running
                }
            }
        };
        answer.await.map(|answer| Value::clone(&answer))
    }

    async fn field_caps(&self, index: &str) -> Result<Vec<FieldCaps>, BackendError> {
        // Every index shares the flow schema; an expression naming no index has no fields.
        let engine = self.engine.clone();
        let index = index.to_owned();
        blocking(move || {
            let indices = engine
                .resolve(&index)
                .map_err(super::search::engine_error)?;
            if indices.is_empty() {
                return Ok(Vec::new());
            }
            let mut fields: Vec<FieldCaps> = engine
                .schema()
                .fields()
                .map(|(name, field)| FieldCaps {
                    name: name.to_owned(),
                    field_type: field.field_type.es_type().to_owned(),
                    searchable: true,
                    aggregatable: field.field_type.aggregatable(),
                })
                .collect();
            fields.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(fields)
        })
        .await
    }

    async fn indices(&self) -> Result<Vec<IndexSummary>, BackendError> {
        Ok(self
            .engine
            .indices()
            .iter()
            .map(|index| IndexSummary {
                name: index.name.clone(),
                docs: index.stats().docs,
            })
            .collect())
    }

    fn ingest_sink(&self) -> Box<dyn DocSink + Send> {
        Box::new(self.engine.sink(OnExistingId::KeepExisting))
    }
}
