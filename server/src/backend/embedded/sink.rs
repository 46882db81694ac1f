//! The embedded engine as a [`DocSink`]: documents are batched per index, written under the
//! index's writer, and committed on flush.

use std::collections::HashMap;
use std::sync::Arc;

use compact_str::CompactString;

use super::{EmbeddedEngine, FlowIndex, OnExistingId, WriteResult};
use crate::ingest::document::FlowDoc;
use crate::ingest::{DocSink, SinkError, SinkOutcome};

/// Documents buffered per index before they are handed to its writer: enough to take the
/// writer's lock rarely, few enough that a batch is still in cache when it is converted.
const BATCH: usize = 128;

/// Writes ingested documents to the embedded engine: buffers them per index, converts them in
/// batches and hands them to the index writers.
pub struct EmbeddedSink {
    engine: Arc<EmbeddedEngine>,
    mode: OnExistingId,
    pending: HashMap<CompactString, Vec<FlowDoc>>,
    touched: HashMap<String, Arc<FlowIndex>>,
    outcome: SinkOutcome,
}

impl EmbeddedSink {
    pub(super) fn new(engine: Arc<EmbeddedEngine>, mode: OnExistingId) -> EmbeddedSink {
        EmbeddedSink {
            engine,
            mode,
            pending: HashMap::new(),
            touched: HashMap::new(),
            outcome: SinkOutcome::default(),
        }
    }

    /// Writes one index's buffered documents, returning each one's result.
    fn write_index(
        &mut self,
        name: &str,
        docs: Vec<FlowDoc>,
    ) -> Result<Vec<WriteResult>, SinkError> {
        let (index, first_write) = match self.touched.get(name) {
            Some(index) => (index.clone(), false),
            None => {
                let index = self
                    .engine
                    .index_or_create(name)
                    .map_err(|e| SinkError(e.to_string()))?;
                self.touched.insert(name.to_owned(), index.clone());
                (index, true)
            }
        };
        let results = index
            .write(&docs, self.mode)
            .map_err(|e| SinkError(e.to_string()))?;
        if first_write {
            // Input spread over many days must not keep a writer (its threads and memory)
            // open for each of them.
            self.engine
                .limit_open_writers()
                .map_err(|e| SinkError(e.to_string()))?;
        }
        for result in &results {
            match result {
                WriteResult::Created | WriteResult::Updated => self.outcome.stored += 1,
                WriteResult::Duplicate => self.outcome.duplicates += 1,
            }
        }
        Ok(results)
    }

    fn write_pending(&mut self) -> Result<(), SinkError> {
        let pending = std::mem::take(&mut self.pending);
        for (name, docs) in pending {
            if !docs.is_empty() {
                self.write_index(&name, docs)?;
            }
        }
        Ok(())
    }

    /// Writes documents now and says what happened to each (for `_bulk` item results).
    pub fn write_now(&mut self, docs: Vec<FlowDoc>) -> Result<Vec<WriteResult>, SinkError> {
        let mut results = Vec::with_capacity(docs.len());
        for doc in docs {
            let index = doc.index.clone();
            results.extend(self.write_index(&index, vec![doc])?);
        }
        Ok(results)
    }
}

impl DocSink for EmbeddedSink {
    fn write(&mut self, doc: FlowDoc) -> Result<(), SinkError> {
        // Index names are inline strings: the clone costs no allocation.
        let batch = self
            .pending
            .entry(doc.index.clone())
            .or_insert_with(|| Vec::with_capacity(BATCH));
        batch.push(doc);
        if batch.len() >= BATCH {
            let docs = std::mem::replace(batch, Vec::with_capacity(BATCH));
            let name = docs[0].index.clone();
            self.write_index(&name, docs)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<SinkOutcome, SinkError> {
        self.write_pending()?;
        for index in self.touched.values() {
            index.commit().map_err(|e| SinkError(e.to_string()))?;
        }
        self.touched.clear();
        Ok(std::mem::take(&mut self.outcome))
    }
}
