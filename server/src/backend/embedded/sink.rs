//! The embedded engine as a [`DocSink`]: documents are batched per index, written under the
//! index's writer, and committed on flush. `flowdash ingest`, `POST /api/ingest` and `_bulk`
//! all write through it; `_bulk` also asks what happened to each document
//! ([`EmbeddedSink::write_item`]).
//!
//! The indices with batches waiting are the ones the input is writing now: a writer that
//! opens shares the memory budget with theirs (see [`super::writers`]).

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
    pending: HashMap<CompactString, Batch>,
    touched: HashMap<String, Arc<FlowIndex>>,
    outcome: SinkOutcome,
    /// What happened to each document given to [`EmbeddedSink::write_item`], in that order:
    /// `None` until its batch is written.
    items: Vec<Option<ItemResult>>,
    /// Adds country and AS fields, when the engine has the databases.
    enricher: Option<crate::geo::Enricher>,
}

/// What happened to one document of [`EmbeddedSink::write_item`]: its result, or why its
/// batch could not be written.
pub type ItemResult = Result<WriteResult, String>;

/// One index's documents waiting to be written, all in one mode.
struct Batch {
    mode: OnExistingId,
    docs: Vec<FlowDoc>,
    /// Each document's place in [`EmbeddedSink::items`] (documents of `write_item` only).
    items: Vec<usize>,
}

impl Batch {
    fn new(mode: OnExistingId) -> Batch {
        Batch {
            mode,
            docs: Vec::with_capacity(BATCH),
            items: Vec::new(),
        }
    }
}

impl EmbeddedSink {
    pub(super) fn new(engine: Arc<EmbeddedEngine>, mode: OnExistingId) -> EmbeddedSink {
        EmbeddedSink {
            enricher: engine.geo_databases().map(crate::geo::Enricher::new),
            engine,
            mode,
            pending: HashMap::new(),
            touched: HashMap::new(),
            outcome: SinkOutcome::default(),
            items: Vec::new(),
        }
    }

    /// Writes one index's batch, counting what happened; the results of `write_item`
    /// documents go to their places, a failure included.
    fn write_batch(&mut self, name: &str, batch: Batch) -> Result<(), SinkError> {
        if batch.docs.is_empty() {
            return Ok(());
        }
        let results = match self.write_docs(name, &batch.docs, batch.mode) {
            Ok(results) => results,
            // A `_bulk` item answers its own failure; ingestion stops on it.
            Err(error) if !batch.items.is_empty() => {
                for &item in &batch.items {
                    self.items[item] = Some(Err(error.0.clone()));
                }
                return Ok(());
            }
            Err(error) => return Err(error),
        };
        for result in &results {
            match result {
                WriteResult::Created | WriteResult::Updated => self.outcome.stored += 1,
                WriteResult::Duplicate => self.outcome.duplicates += 1,
            }
        }
        for (&item, result) in batch.items.iter().zip(results) {
            self.items[item] = Some(Ok(result));
        }
        Ok(())
    }

    /// The index of that name, opened or created, and kept until the flush commits it.
    fn index(&mut self, name: &str) -> Result<Arc<FlowIndex>, SinkError> {
        if let Some(index) = self.touched.get(name) {
            return Ok(index.clone());
        }
        let index = self
            .engine
            .index_or_create(name)
            .map_err(|e| SinkError(e.to_string()))?;
        self.touched.insert(name.to_owned(), index.clone());
        Ok(index)
    }

    /// Writes documents to an index. When its writer must open, it gets its share of the
    /// budget with the writers of the other indices that have batches waiting, and the
    /// writers it needs room from close first.
    fn write_docs(
        &mut self,
        name: &str,
        docs: &[FlowDoc],
        mode: OnExistingId,
    ) -> Result<Vec<WriteResult>, SinkError> {
        let failed = |e: super::EngineError| SinkError(e.to_string());
        let index = self.index(name)?;
        let mut indexing_bytes = super::writers::MIN_INDEXING_BYTES;
        if index.writer_footprint().is_none() {
            let others: Vec<CompactString> = self
                .pending
                .keys()
                .filter(|other| other.as_str() != name)
                .cloned()
                .collect();
            let mut writing: Vec<Arc<FlowIndex>> = vec![index.clone()];
            // A name that cannot be an index is that batch's failure, not this one's.
            writing.extend(others.iter().filter_map(|other| self.index(other).ok()));
            let plan = self.engine.plan_writers(&writing);
            let needed: &[Arc<FlowIndex>] = if plan.needed_stay_open { &writing } else { &[] };
            self.engine
                .make_room_for(&index, plan.indexing_bytes, needed)
                .map_err(failed)?;
            indexing_bytes = plan.indexing_bytes;
        }
        index.write(docs, mode, indexing_bytes).map_err(failed)
    }

    /// Writes the batch waiting for this index, if any.
    fn write_pending_of(&mut self, name: &str) -> Result<(), SinkError> {
        match self.pending.remove(name) {
            Some(batch) => self.write_batch(name, batch),
            None => Ok(()),
        }
    }

    fn write_pending(&mut self) -> Result<(), SinkError> {
        let pending = std::mem::take(&mut self.pending);
        for (name, batch) in pending {
            self.write_batch(&name, batch)?;
        }
        Ok(())
    }

    /// Adds a document, with what the GeoIP and ASN databases know of its addresses, to its
    /// index's batch in `mode`.
    fn add(
        &mut self,
        mut doc: FlowDoc,
        mode: OnExistingId,
        item: Option<usize>,
    ) -> Result<(), SinkError> {
        if let Some(enricher) = &mut self.enricher {
            enricher.enrich(&mut doc);
        }
        self.add_to_batch(doc, mode, item)
    }

    /// Adds a document to its index's batch in `mode`; full batches are written. Documents of
    /// one index are written in the order given: a batch in another mode is written before
    /// this one starts.
    fn add_to_batch(
        &mut self,
        doc: FlowDoc,
        mode: OnExistingId,
        item: Option<usize>,
    ) -> Result<(), SinkError> {
        // Index names are inline strings: the clone costs no allocation.
        let batch = self
            .pending
            .entry(doc.index.clone())
            .or_insert_with(|| Batch::new(mode));
        if batch.mode != mode {
            let other = std::mem::replace(batch, Batch::new(mode));
            self.write_batch(&doc.index.clone(), other)?;
            return self.add_to_batch(doc, mode, item);
        }
        batch.docs.push(doc);
        batch.items.extend(item);
        if batch.docs.len() >= BATCH {
            let full = std::mem::replace(batch, Batch::new(mode));
            let name = full.docs[0].index.clone();
            self.write_batch(&name, full)?;
        }
        Ok(())
    }

    /// Writes a document in `mode`, in its index's batches, and keeps what happens to it for
    /// [`EmbeddedSink::finish_items`] (`_bulk`, whose items each answer on their own).
    pub fn write_item(&mut self, doc: FlowDoc, mode: OnExistingId) -> Result<(), SinkError> {
        self.items.push(None);
        let item = self.items.len() - 1;
        self.add(doc, mode, Some(item))
    }

    /// Deletes the document with this `_id` after the documents given before it. Says whether
    /// it existed; an index that does not exist holds nothing to delete.
    pub fn delete_item(&mut self, index: &str, id: &str) -> Result<bool, SinkError> {
        self.write_pending_of(index)?;
        let target = match self.touched.get(index) {
            Some(target) => target.clone(),
            None => match self.engine.index(index) {
                Some(target) => {
                    self.touched.insert(index.to_owned(), target.clone());
                    target
                }
                None => return Ok(false),
            },
        };
        target.delete(id).map_err(|e| SinkError(e.to_string()))
    }

    /// Writes and commits everything, and answers what happened to each document of
    /// [`EmbeddedSink::write_item`], in order.
    pub fn finish_items(&mut self) -> Result<Vec<ItemResult>, SinkError> {
        self.flush()?;
        Ok(std::mem::take(&mut self.items)
            .into_iter()
            .map(|item| item.unwrap_or_else(|| Err("the document was not written".into())))
            .collect())
    }
}

impl DocSink for EmbeddedSink {
    fn write(&mut self, doc: FlowDoc) -> Result<(), SinkError> {
        self.add(doc, self.mode, None)
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
