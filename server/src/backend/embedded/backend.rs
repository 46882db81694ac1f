//! The embedded engine behind the [`SearchBackend`] trait. Searches are CPU work: they run on
//! the blocking pool, never on the async workers.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::{EmbeddedEngine, OnExistingId};
use crate::backend::{
    BackendError, BackendKind, ClusterInfo, FieldCaps, IndexSummary, SearchBackend,
};
use crate::ingest::DocSink;

/// The Elasticsearch version the embedded engine's responses follow.
pub const EMULATED_VERSION: &str = "7.10.2";

/// The embedded engine behind [`SearchBackend`](crate::backend::SearchBackend).
#[derive(Clone)]
pub struct EmbeddedBackend {
    engine: Arc<EmbeddedEngine>,
}

impl EmbeddedBackend {
    /// A backend over an open engine.
    pub fn new(engine: Arc<EmbeddedEngine>) -> EmbeddedBackend {
        EmbeddedBackend { engine }
    }

    /// The engine, for what the backend trait does not cover (`/es`, ingestion).
    pub fn engine(&self) -> &Arc<EmbeddedEngine> {
        &self.engine
    }
}

/// A search's answer: run now, or kept by the request cache as the text it was sent as.
enum Answer {
    Tree(Value),
    /// Its `took` is that of the search that made it.
    Text(Arc<str>),
}

impl EmbeddedBackend {
    /// A search that can be answered from the request cache is, without waiting for a place
    /// among running searches; one identical to a search running now waits for its answer
    /// (search/in_flight.rs); any other runs.
    async fn answer(&self, index: &str, body: Value) -> Result<Answer, BackendError> {
        let engine = self.engine.clone();
        let index = index.to_owned();
        // Finding the key reads the indices' state, which may reload a reader: blocking work.
        let (key, index, body) = blocking(move || {
            let key = super::search::answer_key(&engine, &index, &body);
            Ok((key, index, body))
        })
        .await?;
        let run = {
            let engine = self.engine.clone();
            async move {
                engine
                    .run_search(move |engine| super::search::search(engine, &index, &body))
                    .await
            }
        };
        let Some(key) = key else {
            return run.await.map(Answer::Tree);
        };
        if let Some(text) = self.engine.request_cache().get_text(&key) {
            return Ok(Answer::Text(text));
        }
        self.engine
            .in_flight()
            .run_once(key, run)
            .await
            .map(Answer::Tree)
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
        match self.answer(index, body).await? {
            Answer::Tree(answer) => Ok(answer),
            // Text this engine wrote itself: it reads back.
            Answer::Text(text) => serde_json::from_str(&text)
                .map_err(|e| BackendError::Internal(format!("a kept answer did not read: {e}"))),
        }
    }

    async fn search_text(&self, index: &str, body: Value) -> Result<Arc<str>, BackendError> {
        Ok(match self.answer(index, body).await? {
            Answer::Tree(answer) => answer.to_string().into(),
            Answer::Text(text) => text,
        })
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
                .mapped_fields(&indices)
                .into_iter()
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
                rolled_up: self.engine.rollup_for(index, &index.searcher()).is_some(),
            })
            .collect())
    }

    fn ingest_sink(&self) -> Box<dyn DocSink + Send> {
        Box::new(self.engine.sink(OnExistingId::KeepExisting))
    }
}
